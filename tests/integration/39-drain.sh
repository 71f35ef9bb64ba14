#!/usr/bin/env bash
# 39-drain: a worker that stops gracefully loses no request.  Under a
# burst to a slow handler, a reload (HUP) and a max_requests recycle leave
# the waiting connections to the workers that stay, rather than the
# stopping worker taking them all and being killed at graceful_timeout
# with them in hand.
. "$(dirname "$0")/lib.sh"

THREADS=2
BURST=$((8 * THREADS))		# at least 4x the pool's threads
MS=500

# burst_round NAME ACTION: BURST requests of MS ms at once through nginx;
# ACTION (a command) runs while they wait; every one answers 200.
burst_round()
{
	local name=$1 dir=$T/$1 getter

	shift
	rm -rf "$dir"
	parallel_get "$BURST" "$BURST" "/?ms=$MS&n=@ID@" "$dir" &
	getter=$!
	track_pid "$getter"
	sleep 0.3
	"$@"
	reap_pid "$getter" 30 || fail "$name: the burst ends" "still running"
	assert_parallel_status "$name: all $BURST requests answer 200" "$dir" \
	    "$BURST" 200
}

# reload: HUP, then the old worker is gone (a new one serves).
reload()
{
	local old

	old=$(pool_workers sleep)
	signal_pooled HUP
	wait_for 20 workers_replaced "$old" 1 sleep ||
	    diag "reload: the old worker $old still runs"
}

# Part 1: a reload during a burst.  graceful_timeout is well over one
# request and well under the burst's time on the old worker's threads.
POOLED_CONF_GLOBALS='graceful_timeout = 2'
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep \
    'processes = 1' "threads = $THREADS")"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/sleep.sock" || bail_out "nginx did not start"
assert_log "the worker started" "all pools started \(1 workers\)" 10
for i in 1 2 3; do
	burst_round "hup$i" reload
done
assert_no_log "hup: no worker outlived graceful_timeout" \
    "graceful_timeout passed"
stop_pooled TERM 10 || diag "pooled did not stop"

# Part 2: max_requests recycling during a burst: each worker serves a
# few requests, asks to be replaced and drains while the burst waits.
log_mark
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep \
    'processes = 1' "threads = $THREADS" 'max_requests = 5' \
    'max_requests_jitter = 0')"
start_pooled || bail_out "pooled did not start (max_requests)"
for i in 1 2 3; do
	burst_round "recycle$i" true
done
assert_log "recycle: workers were replaced" "served 5 requests" 0
assert_no_log "recycle: no worker outlived graceful_timeout" \
    "graceful_timeout passed"
stop_pooled TERM 10 || diag "pooled did not stop"

done_testing
