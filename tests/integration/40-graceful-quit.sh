#!/usr/bin/env bash
# 40-graceful-quit: QUIT lets a request in flight finish, then pooled
# exits 0 and removes its socket; a request that outlasts
# graceful_timeout is cut off by SIGTERM and pooled still exits.
. "$(dirname "$0")/lib.sh"

# sleepers PID: how many threads of worker PID sleep in nanosleep (the
# sleep module's; acceptors wait in epoll, the control thread in poll,
# but a sanitizer's own thread may sleep there too).
sleepers()
{
	# One file per thread, without a newline: count files, not lines.
	grep -l nanosleep /proc/"$1"/task/*/wchan 2>/dev/null | wc -l
}

# sleepers_at_rest PID: the most sleepers of 5 looks 50 ms apart, before
# any request: a sanitizer's thread wakes now and then.
sleepers_at_rest()
{
	local i n most=0

	for i in 1 2 3 4 5; do
		n=$(sleepers "$1")
		[ "$n" -gt "$most" ] && most=$n
		sleep 0.05
	done
	echo "$most"
}

# in_handler PID BEFORE: more threads of PID sleep than BEFORE did.
in_handler()
{
	[ "$(sleepers "$1")" -gt "$2" ]
}

# slow_request QUERY SECONDS: GET /?QUERY in the background through nginx,
# bounded by SECONDS; status in $T/slow.status, body in $T/slow.body.
slow_request()
{
	SLEEPERS=$(sleepers_at_rest "$(pooled_workers | head -n 1)")
	rm -f "$T/slow.status" "$T/slow.body"
	curl -s -o "$T/slow.body" -w '%{http_code}' --max-time "$2" \
	    "$NGINX_URL/?$1" >"$T/slow.status" 2>/dev/null &
	SLOW_PID=$!
	track_pid "$SLOW_PID"
}

# wait_in_flight NAME: the request slow_request started reached the
# handler of the only worker (SLEEPERS: its sleepers before).
wait_in_flight()
{
	local worker

	worker=$(pooled_workers | head -n 1)
	if wait_for 5 in_handler "$worker" "$SLEEPERS"; then
		pass "$1"
	elif ! cat /proc/"$worker"/task/*/wchan 2>/dev/null |
	    grep -q '[a-z]'; then
		# Kernels that hide wait channels show "0": wait instead.
		skip "$1" "no wait channel names here; waited 0.5 s instead"
		sleep 0.5
	else
		fail "$1" "wait channels of $worker:" \
		    "$(cat /proc/"$worker"/task/*/wchan 2>/dev/null)"
	fi
}

# Part 1: the request in flight finishes.
POOLED_CONF_GLOBALS='graceful_timeout = 10'
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep \
    'processes = 1' 'threads = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/sleep.sock" || bail_out "nginx did not start"
assert_log "the worker started" "all pools started \(1 workers\)" 10

slow_request ms=2000 20
wait_in_flight "a 2 s request is in flight"
log_mark
signal_pooled QUIT
assert_log "QUIT starts a graceful stop" "master: graceful stop" 5
if reap_pid "$SLOW_PID" 15; then
	pass "the request in flight ends"
else
	fail "the request in flight ends"
fi
assert_eq "the request in flight gets 200" 200 "$(cat "$T/slow.status")"
assert_eq "the request in flight is answered in full" "slept 2000 ms" \
    "$(cat "$T/slow.body" 2>/dev/null)"
if wait_pooled_exit 15; then
	pass "pooled exits after QUIT"
else
	fail "pooled exits after QUIT"
fi
assert_eq "pooled exits 0 after QUIT" 0 "$POOLED_STATUS"
assert_log "the worker exits by itself" "pool sleep: worker [0-9]+ exited 0" 0
assert_no_log "no escalation was needed" "graceful_timeout passed"
assert_true "the socket file is removed" test ! -e "$T/sleep.sock"

# Part 2: a request longer than graceful_timeout.  The worker does not
# give up on its own while the master is there: the master sends it
# SIGTERM after graceful_timeout and exits without waiting for the
# request (20 s, well past the bound below).
POOLED_CONF_GLOBALS='graceful_timeout = 1
kill_timeout = 1'
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep \
    'processes = 1' 'threads = 2')"
log_mark
start_pooled || bail_out "pooled did not start again"
assert_log "the worker started again" "all pools started \(1 workers\)" 10

slow_request ms=20000 30
wait_in_flight "a 20 s request is in flight"
log_mark
signal_pooled QUIT
if wait_pooled_exit 10; then
	pass "pooled exits long before the request would end"
else
	fail "pooled exits long before the request would end"
fi
assert_eq "pooled exits 0 after an escalated QUIT" 0 "$POOLED_STATUS"
assert_log "the master escalates" \
    "master: graceful_timeout passed; sending SIGTERM to 1 workers" 0
assert_log "the worker dies of SIGTERM" \
    "pool sleep: worker [0-9]+ killed by signal 15" 0
if reap_pid "$SLOW_PID" 10; then
	pass "the cut-off request ends"
else
	fail "the cut-off request ends"
fi
assert_eq "the cut-off request gets 502" 502 "$(cat "$T/slow.status")"
assert_true "the socket file is removed" test ! -e "$T/sleep.sock"

done_testing
