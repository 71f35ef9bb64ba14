#!/usr/bin/env bash
# 18-waiting-cap: connections that never send a request cannot pile up
# without bound.  Past max_waiting_connections a worker closes further
# new connections at once and says so (once a second at most); requests
# through nginx are still served.
. "$(dirname "$0")/lib.sh"

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf "$(pool_block hello "127.0.0.1:$FCGI_PORT" hello \
    'processes = 1' 'threads = 2' 'read_timeout = 30' \
    'max_waiting_connections = 5')"
start_pooled || bail_out "pooled did not start"
start_nginx "127.0.0.1:$FCGI_PORT" || bail_out "nginx did not start"

# silent N: open N connections that send nothing, wait, print how many
# the server closed within 3 s.
silent()
{
	python3 - "$FCGI_PORT" "$1" <<'PY'
import select, socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
         for _ in range(int(sys.argv[2]))]
closed, deadline = set(), time.time() + 3
while time.time() < deadline and len(closed) < len(socks):
    r, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.2)
    for s in r:
        try:
            if s.recv(1) == b"":
                closed.add(s)
        except ConnectionResetError:
            closed.add(s)
print(len(closed))
PY
}

log_mark
assert_eq "12 silent peers: the 7 past the cap are closed at once" 7 \
    "$(silent 12)"
assert_log "the cap is logged" \
    'park: 5 connections already wait for their request header \(max_waiting_connections\); closing new ones'
assert_eq "logged once, not per connection" 1 \
    "$(log_count 'closing new ones')"
assert_get "requests through nginx are served" / "Hello, world"
done_testing
