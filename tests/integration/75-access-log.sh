#!/usr/bin/env bash
# 75-access-log: one access log line per request, after it ended, with the
# status nginx answered, for modules as for CGI programs: 200, 404, 500
# and 502 (a module's malformed header, a program that writes nothing),
# with bytes and a duration; any param by name (%{HTTP_X_REQUEST_ID}e);
# every value escaped and bounded; reopened on USR1; none with
# access_log = off; a bad access_format is refused with file and line.
# A module's malformed header block (a line that is not "Name: value", no
# blank line before the body) reaches nginx as "upstream sent invalid
# header" and a 502: pooled logs it once, with the request.
. "$(dirname "$0")/lib.sh"

ALOG=$T/logs/access.log
mkdir -p "$T/logs" "$T/cgi"

cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$T/cgi/$1"
	chmod 755 "$T/cgi/$1"
}
cgi ok.sh 'printf "Content-Type: text/plain\n\ncgi ok\n"'
cgi missing.sh 'printf "Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n"'
cgi silent.sh 'exit 0'
cgi crash.sh 'kill -SEGV $$'

FMT='%n %s %m %r %B %O %I %D %{ms}T id=%{HTTP_X_REQUEST_ID}e [%t] \"%{HTTP_USER_AGENT}e\" p=%p w=%w L=%L'
write_pool_conf \
    "$(pool_block respond "$T/respond.sock" respond 'processes = 1' \
	'max_params_size = 262144' "access_log = \"$ALOG\"" "access_format = \"$FMT\"")" \
    "$(pool_block echo "$T/echo.sock" echo 'processes = 1' \
	"access_log = \"$ALOG\"" "access_format = \"$FMT\"")" \
    "$(pool_block hello "$T/hello.sock" hello 'processes = 1' \
	"access_log = \"$ALOG\"")" \
    "$(pool_block quiet "$T/quiet.sock" hello 'processes = 1')" \
    "$(cgi_pool_block cgi "$T/cgi.sock" "$T/cgi" 'processes = 1' \
	"access_log = \"$ALOG\"" "access_format = \"$FMT\"" \
	'env = {"PATH=/usr/bin:/bin"}')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/r=unix:$T/respond.sock" "/echo=unix:$T/echo.sock" \
    "/hello=unix:$T/hello.sock" "/quiet=unix:$T/quiet.sock" \
    "/cgi/=unix:$T/cgi.sock" || bail_out "nginx did not start"
assert_log "all workers started" "all pools started" 10

# alog_has REGEX: a line of the access log matches, within 5 s (a line is
# written once the response is out: it may follow curl's return).
alog_has()
{
	wait_for 5 file_has "$ALOG" "$1"
}

assert_alog()
{
	if alog_has "$2"; then
		pass "$1"
	else
		fail "$1" "no line matching /$2/ in the access log:" \
		    "$(tail -n 5 "$ALOG" 2>/dev/null)"
	fi
}

# Statuses, bytes and durations -----------------------------------------

N='[0-9]+'
TIME='\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}\]'

http_get "/r/?status=200" -H 'X-Request-Id: abc-123' -A 'curl-test/1.0'
assert_status "module 200" 200
assert_alog "module 200: status, bytes, duration, request id, time, agent" \
    "^respond 200 GET /r/\?status=200 11 $N 0 $N $N id=abc-123 $TIME \"curl-test/1.0\" p=$N w=$N L=$N$"

http_get "/r/?status=404"
assert_status "module 404" 404
assert_alog "module 404 logged" "^respond 404 GET /r/\?status=404 11 "
http_get "/r/?status=500"
assert_status "module 500" 500
assert_alog "module 500 logged" "^respond 500 GET /r/\?status=500 11 "

http_post "/echo/x" "0123456789"
assert_status "echo 200" 200
assert_alog "echo: the body read is counted in %I" \
    "^echo 200 POST /echo/x $N $N 10 $N "

# The duration is sane: at least the time the handler took, at most the
# test's own bound (split writes of one byte each).
http_get "/r/?split"
assert_status "module 201 written a byte at a time" 201
line=$(grep -E "^respond 201 GET /r/\?split" "$ALOG" | tail -n 1)
us=$(printf '%s\n' "$line" | awk '{ print $8 }')
ms=$(printf '%s\n' "$line" | awk '{ print $9 }')
if [ -n "$us" ] && [ "$us" -gt 0 ] && [ "$us" -lt 10000000 ] &&
    [ "$ms" -eq $((us / 1000)) ]; then
	pass "a duration in us and ms, between 0 and 10 s"
else
	fail "a duration in us and ms, between 0 and 10 s" "line: $line"
fi

# Malformed module headers: a 502 from nginx, one error line each -------

log_mark
http_get "/r/?badline"
assert_status "a bad header line: nginx answers 502" 502
assert_log "a bad header line: logged with the request" \
    "req [0-9]+: GET /r/\?badline: the handler's response header is malformed: a header name that is not a token; the web server answers 502$" 5
assert_eq "a bad header line: logged once" 1 "$(log_count 'badline')"
assert_alog "a bad header line: 502 in the access log" \
    "^respond 502 GET /r/\?badline 0 "

log_mark
http_get "/r/?noblank"
assert_status "no blank line: nginx answers 502" 502
assert_log "no blank line: logged with the request" \
    "req [0-9]+: GET /r/\?noblank: the handler's response header is malformed: a header name that is not a token" 5
assert_alog "no blank line: 502 in the access log" \
    "^respond 502 GET /r/\?noblank "

log_mark
http_get "/r/?headonly"
assert_status "a header never ended: nginx answers 502" 502
assert_log "a header never ended: logged when the request ends" \
    "req [0-9]+: GET /r/\?headonly: the handler's response header is malformed: no blank line ends the header block" 5
assert_alog "a header never ended: 502 in the access log" \
    "^respond 502 GET /r/\?headonly "

log_mark
http_get "/r/?status=404"
assert_no_log "valid headers: nothing logged as malformed" "malformed"

# CGI ----------------------------------------------------------------------

http_get "/cgi/ok.sh"
assert_status "CGI 200" 200
assert_alog "CGI 200 logged" "^cgi 200 GET /cgi/ok.sh 7 $N 0 $N $N "
http_get "/cgi/missing.sh?x=1"
assert_status "CGI Status: 404" 404
assert_alog "CGI 404 logged" "^cgi 404 GET /cgi/missing.sh\?x=1 5 "
http_get "/cgi/silent.sh"
assert_status "CGI that writes nothing: 502" 502
assert_alog "CGI that writes nothing: 502 logged" \
    "^cgi 502 GET /cgi/silent.sh $N "
http_get "/cgi/crash.sh"
assert_status "CGI that crashes: 502" 502
assert_alog "CGI that crashes: 502 logged" "^cgi 502 GET /cgi/crash.sh "
http_get "/cgi/nothere.sh"
assert_status "CGI program missing: 404" 404
assert_alog "CGI program missing: 404 logged" "^cgi 404 GET /cgi/nothere.sh "

# The default format: nginx's combined, and the duration -----------------

http_get "/hello/a?b=c" -A 'agent "x"' -e 'http://ref.example/'
assert_status "hello 200" 200
assert_alog "the default format: combined plus us" \
    "^127\.0\.0\.1 - - $TIME \"GET /hello/a\?b=c HTTP/1\.1\" 200 $N \"http://ref\.example/\" \"agent \\\\x22x\\\\x22\" $N$"

# Hostile values: escaped, bounded ----------------------------------------

# fcgi_get URI ID: send a GET of URI (bytes as Python writes them) with
# X-Request-Id ID straight to the respond pool's socket, as no web server
# would pass it; print the status line of the answer.
fcgi_get()
{
	PYTHONPATH=$LIB_DIR timeout 10 python3 - "$T/respond.sock" "$1" "$2" <<'PY'
import ast, socket, struct, sys
from fcgi_records import record, BEGIN_REQUEST, PARAMS, STDIN, stdout_of

def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)

def pair(name, value):
    return length(len(name)) + length(len(value)) + name + value

uri = ast.literal_eval("b'" + sys.argv[2] + "'")
params = pair(b"REQUEST_METHOD", b"GET") + pair(b"REQUEST_URI", uri) + \
    pair(b"QUERY_STRING", b"status=200") + \
    pair(b"HTTP_X_REQUEST_ID", sys.argv[3].encode())
data = record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))
for i in range(0, len(params), 65535):
    data += record(PARAMS, params[i:i + 65535])
data += record(PARAMS, b"") + record(STDIN, b"")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(data)
answer = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    answer += b
print(stdout_of(answer).split(b"\r\n")[0].decode())
PY
}

assert_eq "a hostile URI is answered" "Status: 200 Test" \
    "$(fcgi_get '/r/?q="x"\\y\x1b[31m\nforged line\r\x7f\xff' hostile1)"
assert_alog "quotes, backslash, ESC, LF, CR, DEL, bad UTF-8 escaped" \
    '^respond 200 GET /r/\?q=\\x22x\\x22\\x5cy\\x1b\[31m\\x0aforged line\\x0d\\x7f\\xff 11 .* id=hostile1 '
assert_eq "no line of the access log starts with what a request sent" 0 \
    "$(grep -c -v -E '^(respond|echo|cgi) |^127\.0\.0\.1 ' "$ALOG")"

assert_eq "a 64 KiB URI is answered" "Status: 200 Test" \
    "$(fcgi_get "/r/?$(head -c 65536 /dev/zero | tr '\0' 'a')" long1)"
max=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$ALOG")
if [ "$max" -le 4096 ]; then
	pass "a 64 KiB URI: the line is bounded ($max bytes)"
else
	fail "a 64 KiB URI: the line is bounded" "longest line: $max bytes"
fi
assert_alog "a 64 KiB URI: the fields after it are still on its line" \
    "^respond 200 GET /r/\\?a{1000,} 11 .* id=long1 "

# USR1: the next lines go to the new file ---------------------------------

mv "$ALOG" "$ALOG.1"
log_mark
signal_pooled USR1
assert_log "USR1 reopened the logs" "SIGUSR1: reopened" 5
wait_for 5 test -e "$ALOG"
http_get "/r/?status=200" -H 'X-Request-Id: after-usr1'
http_get "/cgi/ok.sh" -H 'X-Request-Id: after-usr1-cgi'
assert_alog "after USR1, a module's line is in the new file" "id=after-usr1 "
assert_alog "after USR1, a CGI pool's line is in the new file" \
    "id=after-usr1-cgi "
assert_eq "after USR1, nothing more in the old file" 0 \
    "$(grep -c 'after-usr1' "$ALOG.1")"
assert_eq "the new file is root's, not the pool user's" 0 \
    "$(stat -c %u "$ALOG")"

# access_log = off (the default): nothing ----------------------------------

# fds_to FILE PID: how many descriptors of PID are open on FILE.
fds_to()
{
	find "/proc/$2/fd" -lname "$1*" 2>/dev/null | wc -l
}

http_get "/quiet/" -H 'X-Request-Id: quiet-one'
assert_status "a pool without access log answers" 200
quiet=$(pool_workers quiet)
hello=$(pool_workers hello)
assert_eq "a pool with access_log holds it open" 1 "$(fds_to "$ALOG" "$hello")"
assert_eq "a pool without access log holds none open" 0 \
    "$(fds_to "$T/logs/" "$quiet")"
assert_eq "a pool without access log writes no line" 0 \
    "$(cat "$ALOG" "$ALOG.1" | grep -c -E 'GET /quiet/')"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"

# A bad access_format or access_log: refused, with file and line ----------

RUN_TIMEOUT=10
printf 'pool bad {\n\tlisten = "%s"\n\tmodule = "%s"\n\taccess_format = "%%a %%Z"\n}\n' \
    "$T/bad.sock" "$(module_path hello)" >"$T/bad.conf"
run_pooled -t -c "$T/bad.conf"
assert_eq "an unknown escape: -t exits 1" 1 "$RUN_STATUS"
assert_contains "an unknown escape: file, line and escape named" \
    "$RUN_STDERR" "$T/bad.conf:4: pool \"bad\": access_format: unknown escape %Z"
printf 'pool bad {\n\tlisten = "%s"\n\tmodule = "%s"\n\taccess_log = "rel/path"\n}\n' \
    "$T/bad.sock" "$(module_path hello)" >"$T/bad2.conf"
run_pooled -t -c "$T/bad2.conf"
assert_eq "a relative access_log: -t exits 1" 1 "$RUN_STATUS"
assert_contains "a relative access_log: file and line named" \
    "$RUN_STDERR" "$T/bad2.conf:4: pool \"bad\": access_log \"rel/path\""
done_testing
