#!/usr/bin/env bash
# 61-scgi: protocol = "scgi" pools behind nginx (scgi_pass) and Apache
# (mod_proxy_scgi), over a unix socket and TCP.  The echo module and CGI
# programs, switched from FastCGI to SCGI with no other change, answer
# alike: request parameters, bodies of 0 B, 1 B and 10 MiB back byte for
# byte, a 20 MiB answer, statuses, redirects (a local one too), PATH_INFO
# and program stderr in pooled's log.  A FastCGI pool of the same module
# behind the same nginx is the reference the SCGI answers must match.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI"
# nginx maps /scgi/NAME to DOCUMENT_ROOT + SCRIPT_NAME = $T/scgi/NAME.
ln -s cgi "$T/scgi"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi env.sh 'printf "Content-Type: text/plain\n\n"; env | sort'
cgi echo.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c "${CONTENT_LENGTH:-0}"'
cgi status.sh 'printf "Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n"'
cgi redirect.sh 'printf "Location: http://example.com/there\n\n"'
cgi local.sh 'printf "Location: /scgi/env.sh?redirected=1\n\nignored body\n"'
cgi stderr.sh 'echo "oops on stderr" >&2; printf "Content-Type: text/plain\n\nfine\n"'
cgi big.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c 20971520 /dev/zero'

free_port ECHO_PORT || bail_out "no free port"
free_port CGI_PORT || bail_out "no free port"
SCGI='protocol = "scgi"'
write_pool_conf \
    "$(pool_block echo_fcgi "$T/f.sock" echo)" \
    "$(pool_block echo_scgi "$T/s.sock" echo "$SCGI")" \
    "$(pool_block echo_scgi_tcp "127.0.0.1:$ECHO_PORT" echo "$SCGI")" \
    "$(cgi_pool_block cgi_scgi "$T/cgi.sock" "$CGI" "$SCGI" \
    'env = {"PATH=/usr/bin:/bin"}')" \
    "$(cgi_pool_block cgi_scgi_tcp "127.0.0.1:$CGI_PORT" "$CGI" "$SCGI" \
    'env = {"PATH=/usr/bin:/bin"}')"
start_pooled || bail_out "pooled did not start"
NGINX_SCGI_EXTRA="root $T;" start_nginx "/f/=unix:$T/f.sock" \
    "scgi:/s/=unix:$T/s.sock" "scgi:/t/=127.0.0.1:$ECHO_PORT" \
    "scgi:/scgi/=unix:$T/cgi.sock" || bail_out "nginx did not start"

head -c 1 /dev/urandom >"$T/one"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$T/big"
: >"$T/empty"
[ "$(wc -c <"$T/big")" -eq 10485760 ] || bail_out "could not write $T/big"

# essentials: the echo lines both protocols must agree on.
essentials()
{
	printf '%s\n' "$1" | grep -E '^(REQUEST_METHOD|QUERY_STRING|CONTENT_LENGTH|CONTENT_TYPE|HTTP_X_TEST|body-bytes)[=:]' | sort
}

# assert_same_body NAME FILE: the last answer's body is FILE's bytes.
assert_same_body()
{
	if cmp -s "$2" "$HTTP_BODY_FILE"; then
		pass "$1"
	else
		fail "$1" "sent $(wc -c <"$2") bytes, got" \
		    "$(wc -c <"$HTTP_BODY_FILE")"
	fi
}

# echo_checks SERVER VIA...: the echo module over each VIA prefix.
echo_checks()
{
	local server=$1 via uri

	shift
	for via in "$@"; do
		uri="/$via/params?a=1&b=two"
		http_post "$uri" "@$T/one" -H 'X-Test: abc' \
		    -H 'Content-Type: text/x-test'
		assert_status "$server $via: POST with params: 200" 200
		assert_line "$server $via: SCGI=1" "$HTTP_BODY" SCGI=1
		assert_line "$server $via: REQUEST_URI" "$HTTP_BODY" \
		    "REQUEST_URI=$uri"
		assert_line "$server $via: HTTP_X_TEST" "$HTTP_BODY" \
		    HTTP_X_TEST=abc
		assert_line "$server $via: 1-byte body" "$HTTP_BODY" \
		    "body-bytes: 1"
		assert_eq "$server $via: the params FastCGI gets, alike" \
		    "$FCGI_REF" "$(essentials "$HTTP_BODY")"

		http_get "/$via/get?q=1"
		assert_status "$server $via: GET: 200" 200
		assert_line "$server $via: GET: no body" "$HTTP_BODY" \
		    "body-bytes: 0"

		for size in empty one big; do
			http_post "/$via/raw?raw" "@$T/$size" \
			    -H 'Content-Type: application/octet-stream'
			assert_status "$server $via: raw $size: 200" 200
			assert_same_body "$server $via: raw $size: the body \
comes back byte for byte" "$T/$size"
		done
	done
}

# cgi_checks SERVER PREFIX: the CGI programs over PREFIX.
cgi_checks()
{
	local server=$1 p=$2 size

	http_get "/$p/env.sh/extra/path?a=1&b=%C3%A9" -H 'X-Test: abc'
	assert_status "$server cgi: env: 200" 200
	assert_line "$server cgi: QUERY_STRING" "$HTTP_BODY" \
	    'QUERY_STRING=a=1&b=%C3%A9'
	assert_line "$server cgi: GATEWAY_INTERFACE" "$HTTP_BODY" \
	    GATEWAY_INTERFACE=CGI/1.1
	assert_line "$server cgi: SCRIPT_NAME" "$HTTP_BODY" \
	    "SCRIPT_NAME=/$p/env.sh"
	assert_line "$server cgi: PATH_INFO split off" "$HTTP_BODY" \
	    PATH_INFO=/extra/path
	assert_line "$server cgi: SCRIPT_FILENAME is the real path" \
	    "$HTTP_BODY" "SCRIPT_FILENAME=$(realpath "$CGI/env.sh")"
	assert_line "$server cgi: a request header" "$HTTP_BODY" \
	    HTTP_X_TEST=abc
	for size in empty one big; do
		http_post "/$p/echo.sh" "@$T/$size"
		assert_status "$server cgi: POST $size: 200" 200
		assert_same_body "$server cgi: POST $size: the body comes \
back" "$T/$size"
	done
	http_get "/$p/status.sh"
	assert_status "$server cgi: Status: 404" 404
	assert_eq "$server cgi: Status: 404: body" nope "$HTTP_BODY"
	http_get "/$p/redirect.sh"
	assert_status "$server cgi: Location: alone is a 302" 302
	assert_eq "$server cgi: Location: passed on" \
	    http://example.com/there "$(http_header Location)"
	http_get "/$p/big.sh"
	assert_eq "$server cgi: a 20 MiB answer arrives whole" \
	    "$(head -c 20971520 /dev/zero | sha256sum)" \
	    "$(sha256sum <"$HTTP_BODY_FILE")"
	log_mark
	http_get "/$p/stderr.sh"
	assert_eq "$server cgi: stderr: the answer" fine "$HTTP_BODY"
	assert_log "$server cgi: stderr goes to pooled's log" \
	    "stderr.sh: stderr: oops on stderr"
	log_mark
	http_get "/$p/missing.sh"
	assert_status "$server cgi: a missing program: 404" 404
	assert_log "$server cgi: a missing program: logged" \
	    "missing.sh.*: no such file"
}

# The reference: the same request to the FastCGI pool, through nginx.
http_post "/f/params?a=1&b=two" "@$T/one" -H 'X-Test: abc' \
    -H 'Content-Type: text/x-test'
assert_status "FastCGI reference: 200" 200
FCGI_REF=$(essentials "$HTTP_BODY")
assert_eq "FastCGI reference: all 6 lines" 6 "$(count_lines "$FCGI_REF")"
echo_checks nginx s t
cgi_checks nginx scgi
http_get "/scgi/local.sh"
assert_status "nginx cgi: a local redirect becomes a 302" 302
assert_contains "nginx cgi: ... to the path" "$(http_header Location)" \
    "/scgi/env.sh?redirected=1"

if ! have_apache; then
	skip "Apache: mod_proxy_scgi" "apache2 not installed"
	done_testing
fi
# Apache sends DOCUMENT_ROOT (its DocumentRoot, $T) and the whole path as
# SCRIPT_NAME, and "proxy:scgi://..." as SCRIPT_FILENAME, which names no
# file: the CGI pool goes by the first two.
start_apache "scgi:/s/=unix:$T/s.sock" "scgi:/t/=tcp:127.0.0.1:$ECHO_PORT" \
    "scgi:/scgi/=tcp:127.0.0.1:$CGI_PORT" || bail_out "apache did not start"
HTTP_BASE=$APACHE_URL
http_get "/s/get"
assert_contains "Apache answered" "$(http_header Server)" Apache
echo_checks apache s t
cgi_checks apache scgi
http_get "/scgi/local.sh"
assert_status "apache cgi: a local redirect becomes a 302" 302
assert_eq "apache cgi: ... to the path" "/scgi/env.sh?redirected=1" \
    "$(http_header Location)"
assert_true "Apache logged no proxy errors" \
    test -z "$(grep -E '\[(proxy[a-z_]*|core):(error|crit|alert|emerg)\]' \
    "$T/apache/error.log")"
done_testing
