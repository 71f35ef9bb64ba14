#!/usr/bin/env bash
# 12-concurrency: 200 concurrent requests through nginx to pools of 2
# processes x 4 threads are all answered, and answered right: each echo
# response carries the id of its own request (no cross-talk between
# threads or connections), and every sleep request sleeps and answers.
. "$(dirname "$0")/lib.sh"

N=200

write_pool_conf \
    "$(pool_block echo "$T/echo.sock" echo 'processes = 2' 'threads = 4')" \
    "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 2' \
	'threads = 4' 'module_options = {"ms=20"}')"
start_pooled || bail_out "pooled did not start"
# nginx needs two connections per request (client and upstream), more
# than the default worker_connections 256 for 200 at once.
NGINX_WORKER_CONNECTIONS=2048 start_nginx "/echo=unix:$T/echo.sock" \
    "/sleep=unix:$T/sleep.sock" || bail_out "nginx did not start"
grep -q 'worker_connections 2048;' "$T/nginx/nginx.conf" ||
    bail_out "nginx was not configured with worker_connections 2048"

http_get "/echo/one?id=first"
assert_status "echo answers before the load" 200

# echo: every answer must name its own request.
parallel_get "$N" "$N" "/echo/req?id=req-@ID@-x" "$T/echo"
assert_parallel_status "$N concurrent echo requests: all 200" "$T/echo" \
    "$N" 200
wrong=
for i in $(seq 1 "$N"); do
	if ! grep -q -x -F -e "QUERY_STRING=id=req-$i-x" "$T/echo/$i.body" \
	    2>/dev/null ||
	    ! grep -q -x -F -e "REQUEST_URI=/echo/req?id=req-$i-x" \
	    "$T/echo/$i.body" 2>/dev/null ||
	    [ "$(grep -c '^QUERY_STRING=' "$T/echo/$i.body" 2>/dev/null)" != 1 ]
	then
		wrong="$wrong $i"
	fi
done
assert_eq "every echo answer carries its own id and no other" "" "$wrong"

# sleep: every request sleeps its 20 ms and answers.
parallel_get "$N" "$N" "/sleep/req?n=@ID@" "$T/sleep"
assert_parallel_status "$N concurrent sleep requests: all 200" "$T/sleep" \
    "$N" 200
assert_parallel_bodies "every sleep answer says it slept 20 ms" "$T/sleep" \
    "$N" "slept 20 ms"

http_get "/echo/after?id=last"
assert_status "echo answers after the load" 200
assert_contains "echo after the load: its own id" "$HTTP_BODY" \
    "QUERY_STRING=id=last"
assert_no_log "no request failed in pooled" "answering 5[0-9][0-9]|failed"

stop_nginx
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
