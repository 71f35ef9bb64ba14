#!/usr/bin/env bash
# 17-request-timeout: per-call timeouts alone let a peer that sends a
# byte more often than read_timeout hold a thread forever.  Past
# request_timeout a request's connection is shut down: the trickling peers
# lose their threads, a request through nginx gets one, and the cut is
# logged with the request.
. "$(dirname "$0")/lib.sh"

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf "$(pool_block echo "127.0.0.1:$FCGI_PORT" echo \
    'processes = 1' 'threads = 2' 'read_timeout = 5' 'request_timeout = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "127.0.0.1:$FCGI_PORT" || bail_out "nginx did not start"

# trickle: a valid request announcing a 1000-byte body, then one body
# byte every 0.3 s for at most 12 s.  Prints how it ended.
trickle()
{
	PYTHONPATH=$LIB_DIR python3 - "$FCGI_PORT" <<'PY'
import socket, sys, time
from fcgi_records import STDIN, opening, pair, record

params = pair(b"REQUEST_METHOD", b"POST") + pair(b"CONTENT_LENGTH", b"1000") \
    + pair(b"REQUEST_URI", b"/trickle")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(opening(params))
start = time.time()
try:
    while time.time() - start < 12:
        s.sendall(record(STDIN, b"x"))
        time.sleep(0.3)
        s.setblocking(False)
        try:
            if s.recv(4096) == b"":
                print("closed after %.0f s" % (time.time() - start))
                sys.exit(0)
        except BlockingIOError:
            pass
        s.setblocking(True)
    print("still open")
except (BrokenPipeError, ConnectionResetError):
    print("closed after %.0f s" % (time.time() - start))
PY
}

log_mark
trickle >"$T/t1" & t1=$!
trickle >"$T/t2" & t2=$!
track_pid "$t1"
track_pid "$t2"
sleep 0.5
# Both threads are held by tricklers now; this request needs one of them.
HTTP_TIMEOUT=8 http_get "/?after=trickle"
assert_status "a request gets a thread back from the tricklers" 200
assert_contains "it is answered by echo" "$HTTP_BODY" "QUERY_STRING=after=trickle"
reap_pid "$t1" 15
reap_pid "$t2" 15
assert_contains "trickler 1 was cut" "$(cat "$T/t1")" "closed after"
assert_contains "trickler 2 was cut" "$(cat "$T/t2")" "closed after"
assert_eq "both cuts are logged with the request" 2 \
    "$(log_count 'POST /trickle: still running after request_timeout \(2 s\); shutting its connection down')"
assert_eq "the worker survived" 1 "$(count_lines "$(pooled_workers)")"
done_testing
