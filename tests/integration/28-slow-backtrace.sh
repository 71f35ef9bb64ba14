#!/usr/bin/env bash
# 28-slow-backtrace: with slow_request_backtrace = yes a request past
# slow_request is logged once with its thread's native backtrace, which
# names the module's (exported) function it is in; without it, the slow
# request line alone.  The backtrace signal sent to every thread of the
# worker when nobody asked (idle, and during a request) does nothing.
. "$(dirname "$0")/lib.sh"

write_pool_conf \
    "$(pool_block traced "$T/traced.sock" slow 'processes = 1' \
    'slow_request = 1' 'slow_request_backtrace = yes')" \
    "$(pool_block plain "$T/plain.sock" slow 'processes = 1' \
    'slow_request = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/traced=unix:$T/traced.sock" "/plain=unix:$T/plain.sock" ||
    bail_out "nginx did not start"
assert_log "all workers started" "all pools started \(2 workers\)" 10
traced=$(pool_workers traced)

log_mark
assert_get "a slow request answers" "/traced/?ms=2500" slept 1
assert_log "the slow request is logged" \
    "traced\[$traced\]: req [0-9]+: slow request: GET /traced/\?ms=2500" 1
slow="traced\[$traced\]: req [0-9]+: slow request:"
assert_log "with a backtrace" \
    "$slow backtrace of thread [01] \([0-9]+ frames\):$" 1
assert_log "that names the module's function" \
    "$slow   #[0-9]+ slow_module_sleeps\+0x[0-9a-f]+ \(slow\.so\)$" 1
assert_eq "one backtrace for the request" 1 \
    "$(log_count 'slow request: backtrace of thread')"

log_mark
assert_get "plain: a slow request answers" "/plain/?ms=1600" slept 1
assert_log "plain: the slow request is logged" \
    "req [0-9]+: slow request: GET /plain/\?ms=1600" 1
assert_no_log "plain: no backtrace" "slow request: backtrace"

# tgkill(2) each thread of the traced worker with the backtrace signal,
# unasked: while idle, then while a request runs.
sig=$(($(kill -l SIGRTMIN) + 3))
poke()
{
	local tid

	for tid in $(ls "/proc/$traced/task" 2>/dev/null); do
		python3 -c 'import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(234, int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))' \
		    "$traced" "$tid" "$sig"
	done
}
log_mark
poke
assert_get "the worker serves after unasked signals" "/traced/?ms=10" slept 1
curl -s --max-time 10 -o "$T/bg.body" "$NGINX_URL/traced/?ms=600" &
bg=$!
track_pid "$bg"
sleep 0.2
poke
wait "$bg"
untrack_pid "$bg"
assert_eq "a request during unasked signals completes" slept \
    "$(cat "$T/bg.body")"
assert_eq "the worker is the same" "$traced" "$(pool_workers traced)"
assert_no_log "no backtrace was logged unasked" "slow request: backtrace"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
