#!/usr/bin/env bash
# 66-threads-take-turns: a worker's threads take turns at its requests
# (crew.c): while requests are quick only about as many serve at once as
# the pool has CPUs, but none of that holds back requests that wait or
# compute.  Through nginx (as www-data):
# - 8 requests that sleep on a pool of 1 x 8 are all in hand at once;
# - requests that compute for seconds, one per CPU, do not keep a quick
#   one waiting behind them: it is answered while they still run;
# - a burst of quick requests on a 1 x 16 pool is answered whole.
. "$(dirname "$0")/lib.sh"

CPUS=$(nproc)
POOLED_CONF_GLOBALS="status_listen = \"$T/status.sock\""
write_pool_conf \
    "$(pool_block waits "$T/waits.sock" slow 'processes = 1' 'threads = 8')" \
    "$(pool_block computes "$T/computes.sock" slow 'processes = 1' \
	"threads = $((CPUS + 2))")" \
    "$(pool_block quick "$T/quick.sock" hello 'processes = 1' \
	'threads = 16')"
start_pooled || bail_out "pooled did not start"
start_nginx "/waits=unix:$T/waits.sock" "/computes=unix:$T/computes.sock" \
    "/quick=unix:$T/quick.sock" || bail_out "nginx did not start"

# pool_json POOL EXPR: EXPR over the pool's status, as JSON, from the
# master (status_listen): it answers whatever the workers do.
pool_json()
{
	json_eval "$(curl -s --max-time 5 --unix-socket "$T/status.sock" \
	    "http://localhost/$1?json")" "$2"
}

# Requests that sleep: every thread takes one.
HTTP_TIMEOUT=20 parallel_get 8 8 "/waits/r?ms=4000" "$T/waits" &
waits=$!
track_pid "$waits"
all_in_hand()
{
	[ "$(pool_json waits 's["active_threads"]')" = 8 ]
}
if wait_for 4 all_in_hand; then
	pass "8 requests that sleep: all 8 threads serve at once"
else
	fail "8 requests that sleep: all 8 threads serve at once" \
	    "active threads: $(pool_json waits 's["active_threads"]')"
fi
wait "$waits"
assert_parallel_status "... and all 8 are answered 200" "$T/waits" 8 200
assert_parallel_bodies "... with their bodies" "$T/waits" 8 "slept"

# Requests that compute: one per CPU, for 6 s; then a quick one.
HTTP_TIMEOUT=30 parallel_get "$CPUS" "$CPUS" "/computes/r?spin=6000" \
    "$T/spin" &
spins=$!
track_pid "$spins"
spinning()
{
	[ "$(pool_json computes 's["active_threads"]')" = "$CPUS" ]
}
wait_for 3 spinning ||
    fail "the computing requests are in hand" \
	"active: $(pool_json computes 's["active_threads"]')"
HTTP_TIMEOUT=20 http_get "/computes/r?ms=0"
assert_status "a quick request beside $CPUS computing ones: 200" 200
assert_eq "... answered while they still run" "$CPUS" \
    "$(pool_json computes 's["active_threads"]')"
wait "$spins"
assert_parallel_status "... which are all answered 200" "$T/spin" "$CPUS" 200

# A burst of quick requests, more at once than threads.
parallel_get 400 100 "/quick/r?n=@ID@" \
    "$T/quick"
assert_parallel_status "400 quick requests, 100 at once: all 200" \
    "$T/quick" 400 200
assert_parallel_bodies "... each with its body" "$T/quick" 400 \
    "Hello, world"
assert_eq "no error in the log" "" \
    "$(grep -E ' (error|crit|alert|emerg) ' "$POOLED_LOG" | head -n 3)"

stop_nginx
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
