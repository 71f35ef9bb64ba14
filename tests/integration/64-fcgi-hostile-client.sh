#!/usr/bin/env bash
# 64-fcgi-hostile-client: what a client talking straight to a pool sends
# that nginx would not.  A CONTENT_LENGTH that is not a decimal
# number is refused 400 before the handler runs (a CGI program's atoi()
# and pooled would read it differently); one whose digits overflow is
# over any max_body: 413.  A param given twice has its last value for
# pooled too, as for a CGI program, so that max_body is checked against
# the CONTENT_LENGTH the handler sees and the log names the URI it runs.
# A request header as large as max_params_size (scgi_header_max) allows,
# 1 MiB, is served over TCP: it used to wait for room the socket's
# receive buffer never had, and was dropped at read_timeout.  A client
# that asks FCGI_GET_VALUES and then sends its request on the same
# connection is served, as libfcgi served it.
. "$(dirname "$0")/lib.sh"

free_port PORT || bail_out "no free port"
free_port BIG || bail_out "no free port"
free_port SCGI || bail_out "no free port"
# conf SIZE: the pools, with the FastCGI pool "big" taking SIZE bytes of
# params (raised by a reload, which keeps its listen socket).
conf()
{
	write_pool_conf "$(pool_block len "127.0.0.1:$PORT" echo \
	    'processes = 1' 'threads = 2' 'max_body = 100000' \
	    'log_repeat_window = 0')" \
	    "$(pool_block big "127.0.0.1:$BIG" echo 'processes = 1' \
	    'threads = 1' "max_params_size = $1" 'read_timeout = 5')" \
	    "$(pool_block bigscgi "127.0.0.1:$SCGI" echo \
	    'protocol = "scgi"' 'processes = 1' 'threads = 1' \
	    'scgi_header_max = 1048576' 'read_timeout = 5')"
}
conf 65536
start_pooled || bail_out "pooled did not start"
WORKER=$(pool_workers len)

# status PARAMS BODY: send one request (PARAMS and BODY are Python bytes
# expressions) and print the first line of its answer, "closed" when
# there is none, and then whether the handler ran (echo's body-bytes).
status()
{
	PYTHONPATH=$LIB_DIR python3 - "$PORT" <<PY 2>&1
import socket, sys
from fcgi_records import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = $2
s.sendall(opening(pair(b"REQUEST_METHOD", b"POST") + $1) +
    b"".join(record(STDIN, body[i:i + 60000])
    for i in range(0, len(body), 60000)) + record(STDIN, b""))
out = stdout_of(read_until_end(s))
print(out.split(b"\r\n")[0].decode() if out else "closed",
    "ran" if b"body-bytes" in out else "not-run")
PY
}
CL() { printf 'pair(b"CONTENT_LENGTH", b"%s")' "$1"; }

assert_eq "CONTENT_LENGTH 5: runs" "Status: 200 OK ran" \
    "$(status "$(CL 5)" 'b"x" * 5')"
assert_eq "CONTENT_LENGTH empty (a GET through nginx): runs" \
    "Status: 200 OK ran" "$(status "$(CL '')" 'b""')"
assert_eq "CONTENT_LENGTH 100000 (max_body): runs" "Status: 200 OK ran" \
    "$(status "$(CL 100000)" 'b"x" * 100000')"
for v in -1 +5 ' 5' '5 ' 0x10 5x; do
	assert_eq "CONTENT_LENGTH '$v': 400, not run" \
	    "Status: 400 Bad Request not-run" \
	    "$(status "$(CL "$v")" 'b"x" * 5')"
done
for v in 18446744073709551616 99999999999999999999999999; do
	assert_eq "CONTENT_LENGTH $v overflows: 413, not run" \
	    "Status: 413 Content Too Large not-run" \
	    "$(status "$(CL "$v")" 'b"x" * 5')"
done

# Twice: the last one counts, as in a CGI program's environment.
assert_eq "CONTENT_LENGTH 5 then 200000: 413, not run" \
    "Status: 413 Content Too Large not-run" \
    "$(status "$(CL 5) + $(CL 200000)" 'b"x" * 5')"
assert_eq "CONTENT_LENGTH 200000 then 5: runs" "Status: 200 OK ran" \
    "$(status "$(CL 200000) + $(CL 5)" 'b"x" * 5')"
log_mark
status 'pair(b"REQUEST_URI", b"/first") + pair(b"REQUEST_URI", b"/last") + '"$(CL 200000)" 'b""' >/dev/null
assert_log "REQUEST_URI twice: the log names the last" \
    'POST /last: CONTENT_LENGTH is larger than max_body'
assert_eq "the worker never died" "$WORKER" "$(pool_workers len)"

# A 1000000-byte cookie, in the params records nginx would send, once
# a reload raised max_params_size to 1 MiB.
conf 1048576
signal_pooled HUP
assert_log "max_params_size raised by a reload" \
    "master: reload done: generation 2 serves" 15
PYTHONPATH=$LIB_DIR python3 - "$BIG" >"$T/big" 2>&1 <<'PY'
import socket, struct, sys
from fcgi_records import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
v = b"c" * 1000000
p = pair(b"REQUEST_METHOD", b"GET") + bytes([11]) + \
    struct.pack(">I", len(v) | 0x80000000) + b"HTTP_COOKIE" + v
s.sendall(record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0)) +
    b"".join(record(PARAMS, p[i:i + 65535])
    for i in range(0, len(p), 65535)) + record(PARAMS, b"") +
    record(STDIN, b""))
out = stdout_of(read_until_end(s, 4 << 20))
print(out.split(b"\r\n")[0].decode() if out else "closed",
    out.count(b"c" * 1000))
PY
assert_eq "a 1 MB FastCGI header over TCP, max_params_size 1 MiB: 200" \
    "Status: 200 OK 1000" "$(cat "$T/big")"
PYTHONPATH=$LIB_DIR python3 - "$SCGI" >"$T/bigscgi" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
b = b"CONTENT_LENGTH\x000\x00SCGI\x001\x00HTTP_COOKIE\x00" + \
    b"c" * 1000000 + b"\x00"
s.sendall(str(len(b)).encode() + b":" + b + b",")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
print(out.split(b"\r\n")[0].decode() if out else "closed",
    out.count(b"c" * 1000))
PY
assert_eq "a 1 MB SCGI header over TCP, scgi_header_max 1 MiB: 200" \
    "Status: 200 OK 1000" "$(cat "$T/bigscgi")"
# FCGI_GET_VALUES, its answer read; then a request on the connection.
PYTHONPATH=$LIB_DIR python3 - "$PORT" >"$T/values" 2>&1 <<'PY'
import socket, sys
from fcgi_records import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(record(GET_VALUES, pair(b"FCGI_MAX_CONNS", b""), 0))
print([(t, pairs(c)) for t, i, c in records(s.recv(4096))])
s.sendall(opening(pair(b"REQUEST_METHOD", b"GET")) + record(STDIN, b""))
out = stdout_of(read_until_end(s))
print(out.split(b"\r\n")[0].decode() if out else "closed")
PY
assert_eq "GET_VALUES answered, then a request on its connection: 200" \
    "[(10, {'FCGI_MAX_CONNS': '2'})]
Status: 200 OK" "$(cat "$T/values")"
done_testing
