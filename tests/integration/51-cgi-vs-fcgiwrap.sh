#!/usr/bin/env bash
# 51-cgi-vs-fcgiwrap: pooled's handler = "cgi" as a drop-in replacement for
# fcgiwrap.  One nginx serves the same cgi root twice, with identical
# FastCGI settings: /fw/ goes to fcgiwrap (Debian's, started here), /pd/
# to a pooled cgi pool.  The same requests go to both and the responses
# must match: status, Content-Type, Location, body.  Programs: a shell
# script printing its environment, a POST echo, Status: and Location:
# headers, stderr output, PATH_INFO and query strings with UTF-8 and
# percent-escapes, a compiled C program, a Perl CGI.pm form, php-cgi.
# Where fcgiwrap is broken or insecure (it deadlocks on large bodies, runs
# files outside any root, leaks its environment and descriptors, answers
# 403 for a missing file) pooled is held to the correct behaviour instead
# and fcgiwrap's answer is only shown as a comment.
. "$(dirname "$0")/lib.sh"

FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
if [ ! -x "$FCGIWRAP" ]; then
	# Everything here is a comparison with fcgiwrap.
	printf '1..0 # SKIP %s: fcgiwrap not installed\n' "$TEST_NAME"
	# shellcheck disable=SC2034	# read by lib.sh's exit trap
	T_DONE=1
	exit 0
fi

CGI=$T/cgi
mkdir -p "$CGI" "$T/outside" "$T/res"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi env.sh 'printf "Content-Type: text/plain\n\n"; env | sort'
cgi echo.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c "${CONTENT_LENGTH:-0}"'
cgi status.sh 'case $QUERY_STRING in
404) printf "Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n" ;;
201) printf "Status: 201 Created\nContent-Type: application/json\nX-Extra: 1\n\n{}\n" ;;
*) printf "Status: 418 I am a teapot\nContent-Type: text/plain\n\ntea\n" ;;
esac'
cgi redirect.sh 'case $QUERY_STRING in
abs) printf "Location: http://example.com/there?a=1\n\n" ;;
301) printf "Status: 301 Moved Permanently\nLocation: http://example.com/moved\nContent-Type: text/html\n\n<a href=\"http://example.com/moved\">moved</a>\n" ;;
local) printf "Location: /pd/env.sh?x=1\n\n" ;;
esac'
cgi stderr.sh 'echo "oops on stderr" >&2; printf "Content-Type: text/plain\n\nfine\n"; echo "and after the header" >&2'
cgi big.sh 'printf "Content-Type: application/octet-stream\n\n"; seq 1 400000'
cgi noexec.sh 'printf "Content-Type: text/plain\n\nnoexec\n"'
chmod 644 "$CGI/noexec.sh"
# A program outside the root, and a symlink in the root pointing to it.
cat >"$T/outside/out.sh" <<EOF
#!/bin/sh
touch "$T/outside-ran.\$QUERY_STRING"
printf "Content-Type: text/plain\\n\\nout\\n"
EOF
chmod 755 "$T/outside/out.sh"
ln -s "$T/outside/out.sh" "$CGI/link.sh"

# A Perl CGI.pm form: every parameter, sorted, and for a "file" upload its
# size and MD5.
cat >"$CGI/form.pl" <<'EOF'
#!/usr/bin/perl
use strict;
use warnings;
use CGI;
use Digest::MD5;

my $q = CGI->new;
print $q->header(-type => 'text/plain', -charset => 'utf-8');
print "method=", $q->request_method, "\n";
for my $name (sort $q->param) {
	next if $name eq 'file';
	print "$name=", join(',', $q->multi_param($name)), "\n";
}
if (my $fh = $q->upload('file')) {
	my ($n, $buf) = (0);
	my $md5 = Digest::MD5->new;
	binmode $fh;
	while (my $got = read($fh, $buf, 65536)) {
		$n += $got;
		$md5->add($buf);
	}
	print "file=$n ", $md5->hexdigest, "\n";
}
EOF
chmod 755 "$CGI/form.pl"

# php-cgi as the script's interpreter (a shebang, not cgi_interpreter).
cat >"$CGI/p.php" <<'EOF'
#!/usr/bin/php-cgi
<?php
header('Content-Type: text/plain');
echo "q=", isset($_GET['q']) ? $_GET['q'] : '(none)', "\n";
echo "script=", $_SERVER['SCRIPT_NAME'], "\n";
EOF
chmod 755 "$CGI/p.php"

# A compiled C program: its query and PATH_INFO, and with the query "fds"
# the descriptors it has open above 2.
HAVE_CC=0
if command -v cc >/dev/null 2>&1; then
	cat >"$T/c.c" <<'EOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	const char *q = getenv("QUERY_STRING"), *pi = getenv("PATH_INFO");
	int fd;

	printf("Content-Type: text/plain\r\n\r\n");
	printf("compiled C\nquery=%s\npath_info=%s\n", q ? q : "(unset)",
	    pi ? pi : "(unset)");
	if (q != NULL && strcmp(q, "fds") == 0)
		for (fd = 3; fd < 1024; fd++)
			if (fcntl(fd, F_GETFD) != -1)
				printf("fd %d\n", fd);
	return 0;
}
EOF
	cc -O -o "$CGI/c.cgi" "$T/c.c" 2>"$T/cc.err" && HAVE_CC=1
	[ "$HAVE_CC" = 1 ] || diag "cc failed: $(cat "$T/cc.err")"
fi

# fcgiwrap, as Debian's fcgiwrap.service would run it: as www-data (when
# root), its socket in a directory it may write to.  Its master does not
# stop its preforked children on TERM, so they are tracked too.
FW_AS=()
if [ "$(id -u)" -eq 0 ]; then
	FW_AS=(setpriv --reuid="$WEB_USER" --regid="$(id -g "$WEB_USER")"
	    --clear-groups)
fi
CGI_PARENT_SECRET=from-fcgiwrap "${FW_AS[@]}" "$FCGIWRAP" -c 2 \
    -s "unix:$W/fcgiwrap.sock" </dev/null >>"$T/fcgiwrap.log" 2>&1 &
FW_PID=$!
track_pid "$FW_PID"
wait_for 10 listening "$W/fcgiwrap.sock" || bail_out "fcgiwrap did not start"
fw_children() { [ "$(count_lines "$(live_children "$FW_PID")")" -ge 2 ]; }
wait_for 10 fw_children || bail_out "fcgiwrap did not prefork 2 children"
for pid in $(live_children "$FW_PID"); do
	track_pid "$pid"
done

write_pool_conf "$(pool_block cgi "$T/cgi.sock" hello \
    'processes = 1' 'threads = 4' 'cgi_timeout = 30')"
# A cgi pool: no module, the root and a PATH of its own.
sed -i -e "/module = /d" -e "s|handler = \"module\"|handler = \"cgi\"\n\tcgi_root = {\"$CGI\"}\n\tenv = {\"PATH=/usr/bin:/bin\"}|" \
    "$POOLED_CONF"
CGI_PARENT_SECRET=from-pooled start_pooled || bail_out "pooled did not start"

# Both locations get the same settings: nginx's stock SCRIPT_FILENAME
# ($document_root$fastcgi_script_name) under "root $CGI", with
# fastcgi_split_path_info taking the /fw or /pd prefix off
# $fastcgi_script_name (so SCRIPT_FILENAME and SCRIPT_NAME are the same
# for both, /env.sh and $CGI/env.sh) and splitting PATH_INFO off after the
# program's extension, the way nginx configs for fcgiwrap do.
# REDIRECT_STATUS is in nginx's stock fastcgi_params, for php-cgi.
NGINX_EXTRA="root $CGI;
fastcgi_split_path_info ^/(?:fw|pd)(/.+?\\.(?:sh|cgi|pl|php))(.*)\$;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
fastcgi_param PATH_INFO \$fastcgi_path_info if_not_empty;
fastcgi_param DOCUMENT_ROOT \$document_root;
fastcgi_param REDIRECT_STATUS 200;" \
    start_nginx "/fw/=unix:$W/fcgiwrap.sock" "/pd/=unix:$T/cgi.sock" ||
    bail_out "nginx did not start"

# fetch PREFIX PATH [CURL_ARG...]: request /PREFIX/PATH; its status,
# Content-Type, Location and body go to $T/res/PREFIX.*.
fetch()
{
	local p=$1 path=$2

	shift 2
	http_get "/$p/$path" "$@"
	printf '%s\n' "$HTTP_STATUS" >"$T/res/$p.status"
	http_header Content-Type >"$T/res/$p.ctype"
	http_header Location >"$T/res/$p.location"
	cp "$HTTP_BODY_FILE" "$T/res/$p.body"
}

# same NAME STATUS FILTER PATH [CURL_ARG...]: the request through fcgiwrap
# and through pooled gets the same status (and pooled's is STATUS, so two
# equal failures do not pass), Content-Type, Location and body, the
# bodies compared after FILTER (a command reading stdin, "cat" for none).
# The bodies are left in $T/res/{fw,pd}.body, pooled's in PD_BODY too.
same()
{
	local name=$1 status=$2 filter=$3 path=$4 h i

	shift 4
	fetch fw "$path" "$@"
	# fcgiwrap, the reference, fails now and then by itself (a script
	# that does not read the body it is sent races fcgiwrap's write of
	# it: 502, seen in a distcheck run): it is asked again, up to three
	# times, before it is compared.  pooled is asked once.
	for i in 1 2 3; do
		[ "$(cat "$T/res/fw.status")" = "$status" ] && break
		diag "$name: fcgiwrap answered $(cat "$T/res/fw.status");" \
		    "asking it again ($i)"
		fetch fw "$path" "$@"
	done
	fetch pd "$path" "$@"
	assert_eq "$name: pooled answers $status" "$status" \
	    "$(cat "$T/res/pd.status")"
	for h in status ctype location; do
		assert_eq "$name: same $h" "$(cat "$T/res/fw.$h")" \
		    "$(cat "$T/res/pd.$h")"
	done
	"$filter" <"$T/res/fw.body" >"$T/res/fw.cmp"
	"$filter" <"$T/res/pd.body" >"$T/res/pd.cmp"
	if cmp -s "$T/res/fw.cmp" "$T/res/pd.cmp"; then
		pass "$name: same body"
	else
		fail "$name: same body" "--- fcgiwrap, +++ pooled:" \
		    "$(diff -a -u "$T/res/fw.cmp" "$T/res/pd.cmp" |
		    tail -n +3 | head -n 30)"
	fi
	PD_BODY=$(tr -d '\000' <"$T/res/pd.body")
}

# rfc_env: of an environment listing, only the RFC 3875 variables both
# must set from what nginx sends.  Left out, because they legitimately
# differ: SERVER_SOFTWARE, SERVER_*/REMOTE_* addresses and ports
# (REMOTE_PORT changes with every connection), SCRIPT_FILENAME (pooled
# passes the resolved real path), DOCUMENT_ROOT/REQUEST_URI/DOCUMENT_URI
# (nginx's own, not CGI's), REDIRECT_STATUS (pooled adds it when missing),
# FCGI_ROLE (libfcgi's, passed on by fcgiwrap, dropped by pooled), and
# everything from the servers' own environment (PATH, PWD, SHLVL, _:
# fcgiwrap passes its own environment on, pooled only the pool's env).
rfc_env()
{
	grep -a -E '^(REQUEST_METHOD|QUERY_STRING|CONTENT_LENGTH|CONTENT_TYPE|SCRIPT_NAME|PATH_INFO|SERVER_PROTOCOL|GATEWAY_INTERFACE|HTTP_[A-Z0-9_]+)='
}

# Bodies compared as they are.
no_filter()
{
	cat
}

# no_cr: for the error pages the servers write themselves (not a program's
# output): the same text, but fcgiwrap ends its lines with CRLF.
no_cr()
{
	tr -d '\r'
}

# The environment ----------------------------------------------------------
same "env GET" 200 rfc_env "env.sh?a=1&b=%C3%A9t%C3%A9&c=a%2Bb%26c+d&raw=$(printf '\xc3\xa9')" \
    -H 'X-Test: abc' -H "X-Utf8: $(printf 'caf\xc3\xa9')" -H 'Accept-Language: fr'
assert_line "env GET: QUERY_STRING as sent" "$PD_BODY" \
    "QUERY_STRING=a=1&b=%C3%A9t%C3%A9&c=a%2Bb%26c+d&raw=$(printf '\xc3\xa9')"
assert_line "env GET: REQUEST_METHOD" "$PD_BODY" REQUEST_METHOD=GET
assert_line "env GET: GATEWAY_INTERFACE" "$PD_BODY" GATEWAY_INTERFACE=CGI/1.1
assert_line "env GET: SERVER_PROTOCOL" "$PD_BODY" SERVER_PROTOCOL=HTTP/1.1
assert_line "env GET: SCRIPT_NAME" "$PD_BODY" SCRIPT_NAME=/env.sh
assert_line "env GET: a request header" "$PD_BODY" HTTP_X_TEST=abc
assert_line "env GET: a UTF-8 request header" "$PD_BODY" \
    "HTTP_X_UTF8=$(printf 'caf\xc3\xa9')"
# fcgiwrap passes its own environment on to every program; pooled must not.
assert_not_contains "env: nothing of pooled's own environment" "$PD_BODY" \
    CGI_PARENT_SECRET
diag "fcgiwrap passes its environment on: $(grep -a CGI_PARENT_SECRET "$T/res/fw.body" || echo no)"

same "env POST" 200 rfc_env "env.sh?x=y" --data-binary 'k=v' \
    -H 'Content-Type: application/x-www-form-urlencoded'
assert_line "env POST: CONTENT_LENGTH" "$PD_BODY" CONTENT_LENGTH=3
assert_line "env POST: CONTENT_TYPE" "$PD_BODY" \
    CONTENT_TYPE=application/x-www-form-urlencoded

# PATH_INFO, split off by nginx (fastcgi_split_path_info) and sent as a
# param, as in the usual fcgiwrap setups (cgit's, for one): decoded by
# nginx, UTF-8 and an escaped space in it.
same "PATH_INFO" 200 rfc_env "env.sh/extra/%C3%A9t%C3%A9/a%20b?q=%2Fx"
assert_line "PATH_INFO: passed on" "$PD_BODY" \
    "PATH_INFO=/extra/$(printf '\xc3\xa9t\xc3\xa9')/a b"
assert_line "PATH_INFO: SCRIPT_NAME" "$PD_BODY" SCRIPT_NAME=/env.sh
assert_line "PATH_INFO: QUERY_STRING" "$PD_BODY" QUERY_STRING=q=%2Fx

# POST bodies -------------------------------------------------------------
for size in 0 1 102400; do
	head -c "$size" /dev/urandom >"$T/body.$size"
	same "POST echo $size B" 200 no_filter echo.sh \
	    --data-binary "@$T/body.$size" \
	    -H 'Content-Type: application/octet-stream'
	assert_true "POST echo $size B: the body comes back" \
	    cmp -s "$T/body.$size" "$T/res/pd.body"
done

# fcgiwrap deadlocks on an echo of more than about 200 KB (it writes the
# body to the program while the program blocks writing its output), so
# the 10 MiB bodies go to pooled alone.
{
	printf 'name=big&data='
	head -c 7864320 /dev/urandom | base64 -w 0 |
	    sed -e 's/+/%2B/g' -e 's|/|%2F|g' -e 's/=/%3D/g'
} >"$T/body.urlenc"
size=$(stat -c %s "$T/body.urlenc")
assert_true "10 MiB urlencoded body built (${size} B)" \
    test "$size" -ge 10485760
http_get /pd/echo.sh --data-binary "@$T/body.urlenc" \
    -H 'Content-Type: application/x-www-form-urlencoded'
assert_status "10 MiB urlencoded echo: 200" 200
assert_true "10 MiB urlencoded echo: the body comes back" \
    cmp -s "$T/body.urlenc" "$HTTP_BODY_FILE"

head -c 10485760 /dev/urandom >"$T/upload.bin"
up_md5=$(md5sum <"$T/upload.bin" | cut -d' ' -f1)
http_get /pd/form.pl -F name=upload -F "file=@$T/upload.bin"
assert_status "10 MiB multipart to CGI.pm: 200" 200
assert_line "10 MiB multipart to CGI.pm: the file arrives whole" \
    "$HTTP_BODY" "file=10485760 $up_md5"
assert_line "10 MiB multipart to CGI.pm: the other field" "$HTTP_BODY" \
    name=upload
http_get /pd/echo.sh -F name=upload -F "file=@$T/upload.bin"
assert_status "10 MiB multipart echo: 200" 200
assert_true "10 MiB multipart echo: the upload is in what comes back" \
    test "$(stat -c %s "$HTTP_BODY_FILE")" -gt 10485760
assert_eq "10 MiB multipart echo: ends with the closing boundary" \
    "$(head -n 1 "$HTTP_BODY_FILE" | tr -d '\r')--" \
    "$(tail -c 100 "$HTTP_BODY_FILE" | tail -n 1 | tr -d '\r')"

# Output ------------------------------------------------------------------
same "3 MB of output" 200 no_filter big.sh
assert_eq "3 MB of output: all of it" "$(seq 1 400000 | wc -c)" \
    "$(stat -c %s "$T/res/pd.body")"
same "Status: 404" 404 no_filter "status.sh?404"
assert_eq "Status: 404: body" nope "$PD_BODY"
same "Status: 201" 201 no_filter "status.sh?201"
assert_eq "Status: 201: another header passes" 1 "$(http_header X-Extra)"
same "Status: 418" 418 no_filter "status.sh?418"
same "Location: absolute" 302 no_filter "redirect.sh?abs"
assert_eq "Location: absolute: passed on" "http://example.com/there?a=1" \
    "$(cat "$T/res/pd.location")"
same "Location: with Status: 301" 301 no_filter "redirect.sh?301"
assert_eq "Location: with Status: 301: passed on" \
    "http://example.com/moved" "$(cat "$T/res/pd.location")"
# A local redirect (RFC 3875 6.2.2: only "Location: /path"): fcgiwrap
# passes it on and nginx makes it a 302; so does pooled by default (an
# X-Accel-Redirect would reach internal locations: 55-cgi-redirect).
same "Location: local" 302 no_filter "redirect.sh?local"
assert_contains "Location: local: to the path" \
    "$(cat "$T/res/pd.location")" "/pd/env.sh?x=1"

log_mark
same "stderr" 200 no_filter stderr.sh
assert_eq "stderr: the answer" fine "$PD_BODY"
assert_log "stderr: pooled logs the line, with pool and program" \
    "cgi\[[0-9]+\]: req [0-9]+: $CGI/stderr.sh: stderr: oops on stderr"
assert_log "stderr: and the line written after the header" \
    "$CGI/stderr.sh: stderr: and after the header"
diag "fcgiwrap's stderr: $(grep -c 'oops on stderr' "$T/fcgiwrap.log") line(s)"

# Real programs -----------------------------------------------------------
if [ "$HAVE_CC" = 1 ]; then
	same "compiled C" 200 no_filter "c.cgi?x=%C3%A9+1"
	assert_line "compiled C: its query" "$PD_BODY" "query=x=%C3%A9+1"
	same "compiled C with PATH_INFO" 200 no_filter "c.cgi/a/b"
	assert_line "compiled C: its PATH_INFO" "$PD_BODY" "path_info=/a/b"
	# fcgiwrap leaves descriptors of its own open in the program.
	http_get "/pd/c.cgi?fds"
	assert_status "compiled C, fds: 200" 200
	assert_not_contains "no descriptor above 2 reaches the program" \
	    "$HTTP_BODY" "fd "
	http_get "/fw/c.cgi?fds"
	diag "fcgiwrap leaves open in its programs: $(printf '%s\n' "$HTTP_BODY" | grep '^fd ' | tr '\n' ' ')"
else
	skip "compiled C" "no C compiler"
fi

if perl -MCGI -e 1 2>/dev/null; then
	same "CGI.pm GET" 200 no_filter "form.pl?name=%C3%A9t%C3%A9&n=1&n=2&plus=a%2Bb+c"
	assert_line "CGI.pm GET: UTF-8 param" "$PD_BODY" \
	    "name=$(printf '\xc3\xa9t\xc3\xa9')"
	assert_line "CGI.pm GET: repeated param" "$PD_BODY" "n=1,2"
	assert_line "CGI.pm GET: escapes" "$PD_BODY" "plus=a+b c"
	same "CGI.pm POST urlencoded" 200 no_filter form.pl \
	    --data-binary 'name=caf%C3%A9&x=a%26b'
	assert_line "CGI.pm POST urlencoded: method" "$PD_BODY" method=POST
	assert_line "CGI.pm POST urlencoded: UTF-8 param" "$PD_BODY" \
	    "name=$(printf 'caf\xc3\xa9')"
	assert_line "CGI.pm POST urlencoded: escaped &" "$PD_BODY" "x=a&b"
	head -c 50000 /dev/urandom >"$T/small.bin"
	same "CGI.pm POST multipart" 200 no_filter form.pl -F name=multi \
	    -F "file=@$T/small.bin"
	assert_line "CGI.pm POST multipart: the file" "$PD_BODY" \
	    "file=50000 $(md5sum <"$T/small.bin" | cut -d' ' -f1)"
else
	skip "CGI.pm" "libcgi-pm-perl not installed"
fi

if [ -x /usr/bin/php-cgi ]; then
	same "php-cgi" 200 no_filter "p.php?q=%C3%A9t%C3%A9+%26"
	assert_line "php-cgi: the GET parameter" "$PD_BODY" \
	    "q=$(printf '\xc3\xa9t\xc3\xa9') &"
	assert_line "php-cgi: SCRIPT_NAME" "$PD_BODY" "script=/p.php"
else
	skip "php-cgi" "php-cgi not installed"
fi

# Refusals ----------------------------------------------------------------
# Not executable: both refuse with 403 and the same text.
log_mark
same "not executable" 403 no_cr noexec.sh
assert_log "not executable: pooled logs it" 'noexec.sh: not executable'

# A missing program: fcgiwrap answers 403; pooled 404, and logs it.
http_get /pd/missing.sh
assert_status "missing program: pooled answers 404" 404
assert_log "missing program: pooled logs it" 'missing.sh: no such file'
http_get /fw/missing.sh
diag "fcgiwrap answers $HTTP_STATUS for a missing program"

# A symlink in the root to a program outside it: fcgiwrap runs it, pooled
# refuses with 403 and runs nothing.
http_get "/pd/link.sh?pd"
assert_status "symlink out of the root: pooled answers 403" 403
assert_log "symlink out of the root: pooled logs it" \
    'link.sh: outside every cgi_root'
assert_true "symlink out of the root: pooled ran nothing" \
    test ! -e "$T/outside-ran.pd"
http_get "/fw/link.sh?fw"
diag "fcgiwrap answers $HTTP_STATUS for a symlink out of the root;" \
    "ran it: $([ -e "$T/outside-ran.fw" ] && echo yes || echo no)"

# Nothing left over under pooled's worker.
workers=$(pool_workers cgi)
assert_eq "one cgi worker" 1 "$(count_lines "$workers")"
# shellcheck disable=SC2086
assert_eq "no child left under the worker" "" \
    "$(for w in $workers; do children_of "$w"; done)"
done_testing
