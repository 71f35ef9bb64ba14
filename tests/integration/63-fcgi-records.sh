#!/usr/bin/env bash
# 63-fcgi-records: every FastCGI record after the header is read and
# checked by pooled, never by libfcgi.  Management records in a body are
# answered (the FCGI_MAX_CONNS x 8 that overflowed libfcgi's buffer
# included) without the worker dying or growing; a record for another
# request closes the connection with one line; padding withheld, a body
# withheld or trickled under body_min_rate holds no thread for long;
# max_body is answered 413 before a CGI program runs; the params caps
# refuse what no web server sends and pass an 18 KiB cookie.
. "$(dirname "$0")/lib.sh"

free_port PORT || bail_out "no free port"
free_port CGI_PORT || bail_out "no free port"
CGI=$T/cgi
mkdir -p "$CGI" "$T/w"
chmod 755 "$T" "$CGI"
chmod 777 "$T/w"
printf '#!/bin/sh\ntouch %s/w/ran\nprintf "Content-Type: text/plain\\n\\nran\\n"\n' \
    "$T" >"$CGI/touch.sh"
chmod 755 "$CGI/touch.sh"
write_pool_conf "$(pool_block rec "127.0.0.1:$PORT" echo \
    'processes = 1' 'threads = 2' 'body_timeout = 2' 'body_min_rate = 100' \
    'max_body = 100000' 'max_params = 100' 'read_timeout = 20' \
    'log_repeat_window = 0')" \
    "$(cgi_pool_block cgi "127.0.0.1:$CGI_PORT" "$CGI" 'processes = 1' \
    'threads = 1' 'max_body = 1000')"
start_pooled || bail_out "pooled did not start"
start_nginx "127.0.0.1:$PORT" || bail_out "nginx did not start"
WORKER=$(pool_workers rec)

# fcgi NAME PYTHON: run PYTHON with s, a socket to the pool, and the
# helpers of fcgi_records.py; its output goes to $T/NAME.
fcgi()
{
	PYTHONPATH=$LIB_DIR python3 - "$PORT" "$CGI_PORT" >"$T/$1" 2>&1 <<PY
import socket, struct, sys, time
from fcgi_records import *
def conn(port=int(sys.argv[1])):
    return socket.create_connection(("127.0.0.1", port), timeout=15)
P = pair(b"REQUEST_METHOD", b"POST") + pair(b"REQUEST_URI", b"/rec")
s = conn()
$2
PY
}

# FCGI_GET_VALUES alone: the pool's own figures (1 process x 2 threads).
names='pair(b"FCGI_MAX_CONNS", b"") + pair(b"FCGI_MAX_REQS", b"") + pair(b"FCGI_MPXS_CONNS", b"") + pair(b"OTHER", b"")'
fcgi values "
s.sendall(record(GET_VALUES, $names, 0))
r = records(s.recv(4096))
print(r[0][0], r[0][1], sorted(pairs(r[0][2]).items()))
"
assert_eq "GET_VALUES alone: GET_VALUES_RESULT with the pool's figures" \
    "10 0 [('FCGI_MAX_CONNS', '2'), ('FCGI_MAX_REQS', '2'), ('FCGI_MPXS_CONNS', '0')]" \
    "$(cat "$T/values")"

# FCGI_MAX_CONNS 8 times in the middle of a body: libfcgi wrote 8 x 17
# bytes into a 64-byte buffer and the worker died.  Answered once now.
fcgi mid "
s.sendall(opening(P + pair(b'CONTENT_LENGTH', b'10')) + record(STDIN, b'hello'))
s.sendall(record(GET_VALUES, pair(b'FCGI_MAX_CONNS', b'') * 8, 0))
s.sendall(record(STDIN, b'world') + record(STDIN, b''))
r = records(read_until_end(s))
print([t for t, i, c in r if t == GET_VALUES_RESULT],
    [pairs(c) for t, i, c in r if t == GET_VALUES_RESULT])
print(b'body-bytes: 10' in b''.join(c for t, i, c in r if t == STDOUT))
"
assert_eq "GET_VALUES x 8 mid-body: answered once" \
    "[10] [{'FCGI_MAX_CONNS': '2'}]" "$(sed -n 1p "$T/mid")"
assert_eq "GET_VALUES x 8 mid-body: the body still arrives whole" True \
    "$(sed -n 2p "$T/mid")"
http_get "/?innocent=1"
assert_status "an innocent request through nginx: 200" 200
assert_eq "the worker survived" "$WORKER" "$(pool_workers rec)"

# 200,000 management records, 50 in each of 4,000 kept-alive requests:
# each is answered, none is kept.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$WORKER/status"; }
before=$(rss)
fcgi flood "
n = 0
for i in range(4000):
    s.sendall(opening_keep(P + pair(b'CONTENT_LENGTH', b'2')) +
        record(STDIN, b'a') + record(200, b'', 0) * 25 +
        record(GET_VALUES, b'', 0) * 25 + record(STDIN, b'b') +
        record(STDIN, b''))
    r = records(read_until_end(s))
    n += sum(1 for t, i, c in r if t in (UNKNOWN_TYPE, GET_VALUES_RESULT))
print(n)
"
after=$(rss)
assert_eq "200,000 management records: each answered" 200000 \
    "$(cat "$T/flood")"
if ldd "$POOLED" 2>/dev/null | grep -q 'lib[at]san'; then
	# ASan's quarantine holds freed memory: resident sizes say nothing.
	skip "the worker's RSS stays flat" "sanitizer build"
else
	assert_true "the worker's RSS stays flat ($before kB -> $after kB)" \
	    test "$after" -le $((before + 4096))
fi
assert_eq "the worker survived the flood" "$WORKER" "$(pool_workers rec)"

# A record for another request id in the middle of a body.
log_mark
fcgi other "
s.sendall(opening(P + pair(b'CONTENT_LENGTH', b'10')) + record(STDIN, b'hello'))
s.sendall(record(STDIN, b'x', 2))
print('closed' if read_until_end(s) == b'' else 'answered')
"
assert_eq "another request id mid-body: closed, unanswered" closed \
    "$(cat "$T/other")"
assert_log "another request id mid-body: one line with the peer" \
    '127\.0\.0\.1:[0-9]+: malformed FastCGI request: a record for another request id'
assert_eq "... only one" 1 "$(log_since_mark | grep -c 'another request id')"

# Withheld bytes: four connections each (2 threads): end-of-params
# padding announced and never sent; a body withheld; a body trickled.
hold()
{
	PYTHONPATH=$LIB_DIR python3 - "$PORT" "$1" >"$T/hold.$2" 2>&1 <<'PY' &
import socket, sys, time
from fcgi_records import *
P = pair(b"REQUEST_METHOD", b"POST") + pair(b"REQUEST_URI", b"/hold") + \
    pair(b"CONTENT_LENGTH", b"100")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
begin = record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))
if sys.argv[2] == "padding":
    s.sendall(begin + record(PARAMS, P) + padded(PARAMS, b"", 1, 8, False))
elif sys.argv[2] == "withheld":
    s.sendall(opening(P))
else:
    s.sendall(opening(P))
    try:
        for i in range(60):
            s.sendall(record(STDIN, b"x"))
            time.sleep(0.5)
    except OSError:
        pass
try:
    data = s.recv(4096)
    print("answered" if data else "closed", stdout_of(data)[:30])
except OSError:
    print("closed")
PY
	track_pid $!
	HOLDERS+=($!)
}
log_mark
HOLDERS=()
for i in 1 2 3 4; do
	hold padding "p$i"
	hold withheld "w$i"
	hold trickle "t$i"
done
sleep 0.5
HTTP_TIMEOUT=20 http_get "/?while=held"
assert_status "a request through nginx while 12 peers withhold bytes" 200
wait_for 20 all_dead "${HOLDERS[@]}"
for i in 1 2 3 4; do
	assert_contains "withheld body $i: answered 408" \
	    "$(cat "$T/hold.w$i")" "408 Request Timeout"
	assert_contains "trickled body $i: answered 408" \
	    "$(cat "$T/hold.t$i")" "408 Request Timeout"
done
assert_eq "every body cut is logged, with the peer and the bytes" 8 \
    "$(log_since_mark | grep -cE '127\.0\.0\.1:[0-9]+: FastCGI request body: slower than body_min_rate after [0-9]+ bytes')"

# max_body: a CONTENT_LENGTH over it is answered 413 before the CGI runs.
PYTHONPATH=$LIB_DIR python3 - "$CGI_PORT" "$CGI/touch.sh" >"$T/big" 2>&1 <<'PY'
import socket, sys
from fcgi_records import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(opening(pair(b"REQUEST_METHOD", b"POST") +
    pair(b"SCRIPT_FILENAME", sys.argv[2].encode()) +
    pair(b"CONTENT_LENGTH", b"5000")))
print(stdout_of(read_until_end(s)).split(b"\r\n")[0].decode())
PY
assert_eq "CONTENT_LENGTH over max_body: 413" "Status: 413 Content Too Large" \
    "$(cat "$T/big")"
assert_true "... before the CGI program ran" test ! -e "$T/w/ran"

# A streamed body (no CONTENT_LENGTH) past max_body is cut.
log_mark
fcgi stream "
s.sendall(opening(P))
try:
    for i in range(30):
        s.sendall(record(STDIN, b'z' * 8000))
    s.sendall(record(STDIN, b''))
except OSError:
    pass
print(stdout_of(read_until_end(s)).split(b'\r\n')[0].decode())
"
assert_log "a streamed body over max_body: cut and logged" \
    'FastCGI request body: the body is larger than max_body'

# max_params: 101 params are refused with a line; a 16 KiB cookie passes.
log_mark
fcgi many "
s.sendall(opening(b''.join(pair(b'P%d' % i, b'v') for i in range(101))))
print('closed' if read_until_end(s) == b'' else 'answered')
"
assert_eq "101 params: closed" closed "$(cat "$T/many")"
assert_log "101 params: logged" 'more params than max_params'
# (nginx takes a header line of 8 KiB at most by default: three of them)
c=$(head -c 6000 /dev/zero | tr '\0' c)
http_get "/?cookie=1" -H "Cookie: a=$c" -H "X-Pad1: $c" -H "X-Pad2: $c"
assert_status "an 18 KiB request header through nginx: 200" 200
assert_contains "... arrives whole" "$HTTP_BODY" "HTTP_X_PAD2=$c"
assert_eq "the worker never died" "$WORKER" "$(pool_workers rec)"
assert_no_log "no worker restarted" 'started worker'
done_testing
