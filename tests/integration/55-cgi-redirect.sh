#!/usr/bin/env bash
# 55-cgi-redirect: what a CGI program's response header becomes.  A local
# redirect ("Location: /path", no Status) is a 302 by default, as with
# fcgiwrap, so an open redirect in a program cannot reach nginx "internal"
# locations; cgi_local_redirect = "x-accel" makes it an X-Accel-Redirect,
# limited to cgi_x_accel_prefix and never for paths with dot segments or
# "//".  The 302 made of a local redirect stays on this server: a path
# that begins "//host", "/\\host" or "/<tab>/host" (another host to a
# browser) loses the extra slashes.  A header block without Content-Type
# passes (nginx's default_type applies) instead of becoming a 502.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI" "$T/private" "$T/pub"
echo "the secret" >"$T/private/secret.txt"
echo "public file" >"$T/pub/file.txt"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi private.sh 'printf "Location: /private/secret.txt\n\nbody\n"'
cgi public.sh 'printf "Location: /pub/file.txt\n\n"'
cgi dotdot.sh 'printf "Location: /pub/../private/secret.txt\n\n"'
cgi encoded.sh 'printf "Location: /pub/%%2e%%2e/private/secret.txt\n\n"'
cgi dslash.sh 'printf "Location: //private/secret.txt\n\n"'
cgi offsite.sh 'printf "Location: //evil.example/x\n\n"'
cgi backslash.sh 'printf "Location: /\\\\evil.example/x\n\n"'
cgi tab.sh 'printf "Location: /\t/evil.example/x\n\n"'
cgi absolute.sh 'printf "Location: http://example.com/private/secret.txt\n\n"'
cgi status-only.sh 'printf "Status: 200 OK\r\n\r\nbody without a type\n"'
cgi xfoo.sh 'printf "X-Foo: bar\n\nx-foo body\n"'

# pooled_with LINE...: (re)start pooled with one CGI pool and these lines.
pooled_with()
{
	stop_pooled >/dev/null 2>&1
	write_pool_conf "$(cgi_pool_block cgi "$T/cgi.sock" "$CGI" "$@")"
	start_pooled || bail_out "pooled did not start"
}

# redirected NAME SCRIPT PATH: SCRIPT answers 302 to PATH, not the file.
redirected()
{
	http_get "/cgi/$2"
	assert_status "$1: 302" 302
	assert_contains "$1: Location names $3" "$(http_header Location)" "$3"
	assert_not_contains "$1: the secret is not served" "$HTTP_BODY" \
	    "the secret"
}

POOLED_LOG_LEVEL=debug
pooled_with
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
location /private/ {
	internal;
	alias $T/private/;
}
location /pub/ {
	alias $T/pub/;
}" \
    start_nginx "/=unix:$T/cgi.sock" || bail_out "nginx did not start"

# The internal location is one: a client cannot fetch it.
http_get /private/secret.txt
assert_status "internal location: 404 to a client" 404

# Default: a client redirect.
redirected "default" private.sh /private/secret.txt
http_get "$(http_header Location)"
assert_status "default: following the redirect finds no secret" 404
for s in offsite backslash tab; do
	http_get "/cgi/$s.sh"
	assert_status "default, $s: 302" 302
	assert_eq "default, $s: a path on this server" "/evil.example/x" \
	    "$(http_header Location)"
done
redirected "default, absolute URL" absolute.sh \
    "http://example.com/private/secret.txt"
assert_eq "default, absolute URL: Location as given" \
    "http://example.com/private/secret.txt" "$(http_header Location)"

# Missing Content-Type: passed, nginx applies its default type.
log_mark
http_get /cgi/status-only.sh
assert_status "Status and no Content-Type: 200" 200
assert_eq "Status and no Content-Type: body" "body without a type" \
    "$HTTP_BODY"
http_get /cgi/xfoo.sh
assert_status "X-Foo and no Content-Type: 200" 200
assert_eq "X-Foo and no Content-Type: body" "x-foo body" "$HTTP_BODY"
assert_eq "X-Foo and no Content-Type: header passed" bar \
    "$(http_header X-Foo)"
assert_no_log "no Content-Type: no error logged" "malformed response header"
assert_log "no Content-Type: a debug line" \
    "debug .*status-only.sh: no Content-Type"

# x-accel: nginx serves the internal location.
pooled_with 'cgi_local_redirect = "x-accel"'
http_get /cgi/private.sh
assert_status "x-accel: 200" 200
assert_eq "x-accel: the internal file is served" "the secret" "$HTTP_BODY"
assert_eq "x-accel: no Location" "" "$(http_header Location)"
redirected "x-accel, .. segment" dotdot.sh /pub/../private/secret.txt
redirected "x-accel, encoded .. segment" encoded.sh \
    /pub/%2e%2e/private/secret.txt
redirected "x-accel, //" dslash.sh /private/secret.txt
assert_eq "x-accel, //: on this server" /private/secret.txt \
    "$(http_header Location)"
redirected "x-accel, absolute URL" absolute.sh \
    "http://example.com/private/secret.txt"

# x-accel under a prefix that does not cover /private/.
pooled_with 'cgi_local_redirect = "x-accel"' 'cgi_x_accel_prefix = "/pub/"'
redirected "prefix /pub/: /private/ is a client redirect" private.sh \
    /private/secret.txt
http_get /cgi/public.sh
assert_status "prefix /pub/: /pub/ is internal" 200
assert_eq "prefix /pub/: served in place" "public file" "$HTTP_BODY"
redirected "prefix /pub/, .. segment" dotdot.sh /pub/../private/secret.txt

# The prefix must be a plain directory path, used with x-accel only.
check_refused()
{
	{
		printf 'pool bad {\n\tlisten = "%s"\n' "$T/bad.sock"
		printf '\thandler = "cgi"\n\tcgi_root = {"%s"}\n' "$CGI"
		printf '\t%s\n}\n' "$1"
	} >"$T/bad.conf"
	run_pooled -t -c "$T/bad.conf"
	assert_eq "$1: -t exits 1" 1 "$RUN_STATUS"
	assert_contains "$1: -t names file and line" "$RUN_STDERR" \
	    "$T/bad.conf:$2"
}
check_refused 'cgi_local_redirect = "internal"' 5
check_refused 'cgi_x_accel_prefix = "/pub/"' 1
check_refused 'cgi_x_accel_prefix = "/a/../b/"' 5
check_refused 'cgi_x_accel_prefix = "/pub"' 5

done_testing
