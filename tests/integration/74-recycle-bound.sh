#!/usr/bin/env bash
# 74-recycle-bound: recycling cannot pile up processes.  Each worker asks
# to be replaced after one request (max_requests = 1) while it still
# holds long ones, so every second a new worker starts and the old ones
# drain for seconds.  A pool holds at most as many processes as its
# status has rows (2 x max_processes + 2): a start beyond that waits for
# a draining worker to exit, and the worker it replaces serves on
# meanwhile.  Before, the pool grew past its rows, and the workers
# without one were invisible to pm and to the status page.  Every
# request is answered all the same.
. "$(dirname "$0")/lib.sh"

ROWS=4			# processes = max_processes = 1: 2 x 1 + 2
LONG_MS=4000
ROUNDS=16		# a long request every 500 ms, shorts between

POOLED_CONF_GLOBALS='graceful_timeout = 60'
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep \
    'processes = 1' 'threads = 2' 'max_requests = 1' \
    'max_requests_jitter = 0')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/sleep.sock" || bail_out "nginx did not start"

# get ID MS: one request through nginx, its status in $T/st/ID.
get()
{
	curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
	    "$NGINX_URL/?ms=$2&n=$1" >"$T/st/$1"
}

# all_answered: every request of the load has its status.
all_answered()
{
	[ "$(find "$T/st" -type f -size +0 | wc -l)" -eq $((2 * ROUNDS)) ]
}

mkdir -p "$T/st"
log_mark
for i in $(seq 1 "$ROUNDS"); do
	get "long$i" "$LONG_MS" &
	get "short$i" 20 &
	sleep 0.5
done &
loader=$!
track_pid "$loader"

# Sample the pool's size while the load runs (bounded: 60 s).
most=0
for _ in $(seq 1 300); do
	n=$(count_lines "$(pool_workers sleep)")
	[ "$n" -gt "$most" ] && most=$n
	kill -0 "$loader" 2>/dev/null || break
	sleep 0.2
done
reap_pid "$loader" 10 || fail "the load ends" "still running"
# The loader's curls are its children: wait for their files.
wait_for 70 all_answered || diag "not every request finished"
diag "the pool held at most $most workers (rows: $ROWS)"

if [ "$most" -le "$ROWS" ]; then
	pass "the pool never held more workers than its rows"
else
	fail "the pool never held more workers than its rows" \
	    "$most workers at once, $ROWS rows"
fi
assert_log "a start waited for a row, and the log says so" \
    "pool sleep: every status row is held by workers still finishing" 0
ok=$(cat "$T"/st/* 2>/dev/null | grep -c '^200$' || true)
assert_eq "every request answered 200" "$((2 * ROUNDS))" "$ok"
assert_no_log "no worker was killed" \
    "pool sleep: worker [0-9]+ (killed|exited [1-9])|graceful_timeout passed"
if wait_for 20 workers_running 1 sleep; then
	pass "the pool is back to one worker"
else
	fail "the pool is back to one worker" "$(pool_workers sleep)"
fi
assert_get "it serves after" "/?ms=1" "slept 1 ms"
stop_pooled TERM 10 || diag "pooled did not stop"
done_testing
