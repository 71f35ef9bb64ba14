#!/usr/bin/env bash
# 13-keepconn-slow-peers: connections that hold no request do not hold a
# thread.  A pool of 1 process x 2 threads behind nginx with
# fastcgi_keep_conn and an upstream keepalive of 64 answers 300 requests
# made 50 at a time (a plain libfcgi program wedges once nginx keeps more
# connections than it has threads); the kept connections are closed after
# keepalive_timeout; and 10 silent peers plus 10 that send only part of a
# FastCGI header neither stop a request through nginx nor outlive
# read_timeout.
. "$(dirname "$0")/lib.sh"

THREADS=2

# established: print how many connections to the pool are established,
# counted on pooled's side.
established()
{
	ss -Htn state established "sport = :$FCGI_PORT" 2>/dev/null |
	    grep -c .
}

# shellcheck disable=SC2317	# called through wait_for
no_established()
{
	[ "$(established)" -eq 0 ]
}

free_port FCGI_PORT || bail_out "no free port"
POOLED_LOG_LEVEL=debug
# The sleep module keeps each request on its thread for 20 ms, so 50
# clients at once make nginx open and keep many more connections than the
# pool has threads.
write_pool_conf "$(pool_block keep "127.0.0.1:$FCGI_PORT" sleep \
    'processes = 1' "threads = $THREADS" 'module_options = {"ms=20"}' \
    'read_timeout = 2' 'keepalive_timeout = 2')"
start_pooled || bail_out "pooled did not start"
NGINX_KEEPCONN=on NGINX_KEEPALIVE=64 start_nginx "127.0.0.1:$FCGI_PORT" ||
    bail_out "nginx did not start"
grep -q 'fastcgi_keep_conn on' "$T/nginx/nginx.conf" ||
    bail_out "nginx was not configured with fastcgi_keep_conn"

# (a) More kept connections than threads.
parallel_get 300 50 "/k?id=k-@ID@-x" "$T/keep"
log_mark
kept=$(established)
assert_parallel_status "keep-conn: 300 requests, 50 at a time: all 200" \
    "$T/keep" 300 200
assert_parallel_bodies "keep-conn: every answer says it slept 20 ms" \
    "$T/keep" 300 "slept 20 ms"
diag "keep-conn: $kept connections kept after the load"
if [ "$kept" -gt "$THREADS" ]; then
	pass "keep-conn: nginx keeps more connections than threads"
else
	fail "keep-conn: nginx keeps more connections than threads" \
	    "$kept established connections to 127.0.0.1:$FCGI_PORT," \
	    "$THREADS threads"
fi

# (c) keepalive_timeout = 2: pooled closes what nginx keeps idle (nginx's
# own upstream keepalive_timeout is 60 s).
if wait_for 8 no_established; then
	pass "keepalive_timeout: idle kept connections are closed"
else
	fail "keepalive_timeout: idle kept connections are closed" \
	    "still $(established) established after 8 s"
fi
assert_log "keepalive_timeout: pooled logs closing idle connections" \
    'park: closed [0-9]+ idle connections'
closed=$(log_sum 'park: closed [0-9]+ idle connections')
if [ "$closed" -ge "$kept" ]; then
	pass "keepalive_timeout: pooled closed all kept connections"
else
	fail "keepalive_timeout: pooled closed all kept connections" \
	    "$kept were kept, pooled logged closing $closed"
fi
http_get "/k?ms=1"
assert_status "keep-conn: a request after the idle close: 200" 200
assert_eq "keep-conn: a request after the idle close: body" \
    "slept 1 ms" "$HTTP_BODY"

# (b) read_timeout = 2: 10 peers that send nothing and 10 that send 12
# bytes of the 16 of a FastCGI begin record (its header and half its
# body).  The helper reports how many of each pooled closed.
cat >"$T/peers.py" <<'EOF'
import select, socket, sys, time

port, n, ready, wait = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    float(sys.argv[4])
# version 1, BEGIN_REQUEST, id 1, length 8, no padding; role RESPONDER,
# flags 0, reserved
begin = bytes([1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
socks = {}
for kind in ("silent", "partial"):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if kind == "partial":
            s.sendall(begin[:12])
        socks[s] = kind
with open(ready, "w") as f:
    f.write("ready\n")
closed = {"silent": 0, "partial": 0}
got = 0
deadline = time.monotonic() + wait
while socks and time.monotonic() < deadline:
    r, _, _ = select.select(list(socks), [], [], 0.2)
    for s in r:
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            got += len(data)
            continue
        closed[socks.pop(s)] += 1
        s.close()
print("silent_closed=%d partial_closed=%d bytes=%d" %
      (closed["silent"], closed["partial"], got))
EOF
log_mark
python3 "$T/peers.py" "$FCGI_PORT" 10 "$T/peers.ready" 12 \
    >"$T/peers.out" 2>&1 &
PEERS_PID=$!
track_pid "$PEERS_PID"
wait_for 10 test -s "$T/peers.ready" ||
    bail_out "slow peers did not connect: $(cat "$T/peers.out")"

HTTP_TIMEOUT=5 http_get "/k?ms=2"
assert_status "slow peers: a request through nginx: 200" 200
assert_eq "slow peers: a request through nginx: body" "slept 2 ms" \
    "$HTTP_BODY"
CUT='park: closed [0-9]+ connections whose request header did not arrive'
CUT="$CUT within read_timeout"
assert_log "slow peers: pooled logs cutting partial headers" "$CUT" 6
reap_pid "$PEERS_PID" 15
result=$(cat "$T/peers.out")
diag "slow peers: $result"
assert_contains "slow peers: all 10 silent connections closed" \
    "$result" "silent_closed=10 "
assert_contains "slow peers: all 10 partial connections closed" \
    "$result" "partial_closed=10 "
assert_eq "slow peers: pooled counts 10 cut partial headers" 10 \
    "$(log_sum "$CUT")"

http_get "/k?ms=3"
assert_status "slow peers: a request afterwards: 200" 200
assert_eq "slow peers: a request afterwards: body" "slept 3 ms" \
    "$HTTP_BODY"

stop_nginx
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
