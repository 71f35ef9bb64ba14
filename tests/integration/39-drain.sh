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

# slow_get NAME PATH: GET PATH through nginx in the background; status in
# $T/NAME.status, body in $T/NAME.body; its pid in $SLOW_PID.
slow_get()
{
	curl -s -o "$T/$1.body" -w '%{http_code}' --max-time 20 \
	    "$NGINX_URL$2" >"$T/$1.status" 2>/dev/null &
	SLOW_PID=$!
	track_pid "$SLOW_PID"
}

# Part 3: QUIT closes the listen sockets at once, unix and TCP: a new
# connection is refused (nginx fails over at once) while the requests in
# flight finish.
stop_nginx
free_port TCP_PORT || bail_out "no free port"
log_mark
POOLED_CONF_GLOBALS='graceful_timeout = 10'
write_pool_conf \
    "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 1')" \
    "$(pool_block tcp "127.0.0.1:$TCP_PORT" sleep 'processes = 1')"
start_pooled || bail_out "pooled did not start (quit)"
start_nginx "unix:$T/sleep.sock" "/tcp=127.0.0.1:$TCP_PORT" ||
    bail_out "nginx did not start (quit)"
assert_eq "quit: the unix pool accepts before" accepted \
    "$(connect_result "$T/sleep.sock")"
slow_get unix "/?ms=3000"
unix_pid=$SLOW_PID
slow_get tcp "/tcp/?ms=3000"
tcp_pid=$SLOW_PID
sleep 1
signal_pooled QUIT
assert_log "quit: QUIT starts a graceful stop" "master: graceful stop" 5
sleep 0.5
got=$(connect_result "$T/sleep.sock")
case $got in
ECONNREFUSED|ENOENT)
	pass "quit: a new connection to the unix socket is refused" ;;
*)
	fail "quit: a new connection to the unix socket is refused" "$got" ;;
esac
assert_eq "quit: a new connection to the TCP socket is refused" \
    ECONNREFUSED "$(connect_result "127.0.0.1:$TCP_PORT")"
reap_pid "$unix_pid" 20 || fail "quit: the unix request ends"
reap_pid "$tcp_pid" 20 || fail "quit: the TCP request ends"
assert_eq "quit: the unix request in flight gets 200" 200 \
    "$(cat "$T/unix.status")"
assert_eq "quit: the TCP request in flight gets 200" 200 \
    "$(cat "$T/tcp.status")"
if wait_pooled_exit 15; then
	pass "quit: pooled exits"
else
	fail "quit: pooled exits"
fi
assert_no_log "quit: no worker outlived graceful_timeout" \
    "graceful_timeout passed"

# Part 4: a reload that removes a pool closes its socket at once too.
log_mark
write_pool_conf \
    "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 1')" \
    "$(pool_block tcp "127.0.0.1:$TCP_PORT" sleep 'processes = 1')"
start_pooled || bail_out "pooled did not start (removed)"
slow_get removed "/tcp/?ms=3000"
removed_pid=$SLOW_PID
sleep 1
write_pool_conf "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 1')"
signal_pooled HUP
assert_log "removed: the reload is done" "master: reload done" 10
sleep 0.5
assert_eq "removed: a new connection to the removed pool is refused" \
    ECONNREFUSED "$(connect_result "127.0.0.1:$TCP_PORT")"
assert_eq "removed: the pool that stays accepts" accepted \
    "$(connect_result "$T/sleep.sock")"
reap_pid "$removed_pid" 20 || fail "removed: the request ends"
assert_eq "removed: the request in flight gets 200" 200 \
    "$(cat "$T/removed.status")"
stop_pooled TERM 10 || diag "pooled did not stop"

# Part 5: a worker of many threads drains at once.  A connection that
# has sent nothing yet is parked in the worker (and one nginx keeps
# open); on QUIT the acceptors wait for it, and once it goes away every
# thread must stop well within graceful_timeout, so thread_fini and
# process_fini run (the lifecycle module logs them) and no SIGTERM is
# needed.
stop_nginx
log_mark
POOLED_CONF_GLOBALS='graceful_timeout = 5'
write_pool_conf "$(pool_block life "$T/life.sock" lifecycle \
    'processes = 1' 'threads = 64')"
start_pooled || bail_out "pooled did not start (many threads)"
NGINX_KEEPCONN=on start_nginx "unix:$T/life.sock" ||
    bail_out "nginx did not start (many threads)"
http_get /
assert_status "threads: the pool answers" 200
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
time.sleep(1.5)
s.close()
' "$T/life.sock" &
idle_pid=$!
track_pid "$idle_pid"
sleep 0.5
signal_pooled QUIT
if wait_pooled_exit 15; then
	pass "threads: pooled exits after QUIT"
else
	fail "threads: pooled exits after QUIT"
fi
reap_pid "$idle_pid" 10 || diag "the idle client did not end"
assert_no_log "threads: no SIGTERM was needed" "graceful_timeout passed"
assert_log "threads: the worker stopped by itself" "worker: stopped" 0
assert_eq "threads: thread_fini ran on all 64 threads" 64 \
    "$(log_since_mark | grep -c 'lifecycle: thread_fini')"
assert_log "threads: process_fini ran" "lifecycle: process_fini" 0

# Part 6: a thread whose thread_init fails ends; the worker serves with
# its other threads (pooled-module(3)), and stops them cleanly.  When it
# fails in every thread, the worker cannot serve and the pool fails.
stop_nginx
log_mark
write_pool_conf "$(pool_block life "$T/life.sock" lifecycle \
    'processes = 1' 'threads = 3' 'module_options = {"fail_threads=1"}')"
if start_pooled; then
	pass "thread_init: the pool starts when one thread fails"
else
	fail "thread_init: the pool starts when one thread fails"
fi
start_nginx "unix:$T/life.sock" || bail_out "nginx did not start (init)"
assert_log "thread_init: the pool is up" "all pools started" 10
assert_log "thread_init: the failure is logged" \
    "thread_init failed in 1 of 3 threads" 0
http_get /
assert_status "thread_init: the other threads serve" 200
case $HTTP_BODY in
"thread 2"|"thread 3")
	pass "thread_init: a thread that did start answers" ;;
*)
	fail "thread_init: a thread that did start answers" "$HTTP_BODY" ;;
esac
signal_pooled QUIT
wait_pooled_exit 15 || fail "thread_init: pooled exits after QUIT"
assert_eq "thread_init: thread_fini on the 2 threads that started" 2 \
    "$(log_since_mark | grep -c 'lifecycle: thread_fini')"
assert_log "thread_init: the worker stopped cleanly" "lifecycle: process_fini" 0

log_mark
write_pool_conf "$(pool_block life "$T/life.sock" lifecycle \
    'processes = 1' 'threads = 3' 'module_options = {"fail_threads=3"}')"
run_pooled -F -c "$POOLED_CONF"
assert_eq "thread_init: failing in every thread, pooled exits 1" 1 \
    "$RUN_STATUS"
assert_log "thread_init: ... and says why" \
    "thread_init failed in all 3 threads" 0

done_testing
