#!/usr/bin/env bash
# 30-worker-kill: a worker killed with SIGKILL under load is logged and
# replaced, and the pool goes on serving; when the master itself is
# killed, its workers stop within graceful_timeout and nothing accepts on
# the socket any more.
. "$(dirname "$0")/lib.sh"

not_listening()
{
	! listening "$1"
}

# load SECONDS MAX: GET / until $T/load.stop exists, SECONDS passed or MAX
# requests were sent; one status per line in $T/load.out.
load()
{
	local deadline=$((SECONDS + $1)) n=0

	while [ ! -e "$T/load.stop" ] && [ "$SECONDS" -lt "$deadline" ] &&
	    [ "$n" -lt "$2" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
		    "$NGINX_URL/" 2>/dev/null
		n=$((n + 1))
	done >"$T/load.out"
}

POOLED_CONF_GLOBALS='graceful_timeout = 3'
write_pool_conf "$(pool_block hello "$T/hello.sock" hello \
    'processes = 2' 'threads = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/hello.sock" || bail_out "nginx did not start"
assert_log "all workers started" "all pools started \(2 workers\)" 10
wait_for 10 workers_running 2
before=$(pooled_workers)
assert_eq "two workers run" 2 "$(count_lines "$before")"
victim=$(printf '%s\n' "$before" | head -n 1)
other=$(printf '%s\n' "$before" | tail -n 1)

http_get /
assert_status "serves before the kill" 200

# Load in the background, bounded in time and count.
load 30 2000 &
LOAD_PID=$!
track_pid "$LOAD_PID"
wait_for 5 test -s "$T/load.out"

log_mark
diag "killing worker $victim with SIGKILL"
kill -s KILL "$victim"
assert_log "the master logs the kill" \
    "pool hello: worker $victim killed by signal 9" 5
if wait_for 10 workers_replaced "$victim" 2; then
	pass "a new worker replaces the killed one"
else
	fail "a new worker replaces the killed one" "workers: $(pooled_workers)"
fi
after=$(pooled_workers)
assert_ne "the worker pids changed" "$before" "$after"
assert_eq "the other worker was left alone" "$other" \
    "$(printf '%s\n' "$after" | grep -x -e "$other")"
assert_log "the replacement was started" "pool hello: started worker" 1

assert_get "20 requests after the kill all succeed" / "Hello, world" 20

touch "$T/load.stop"
reap_pid "$LOAD_PID" 10
total=$(grep -c . "$T/load.out")
good=$(grep -c '^200$' "$T/load.out")
diag "background load: $good of $total requests answered 200"
assert_true "the background load was served" test "$good" -gt 0
# Only what the killed worker had in hand can fail: at most its threads.
assert_true "the kill lost at most 2 requests of the load" \
    test $((total - good)) -le 2

# The master dies: its workers notice (EOF on their channel), finish and
# exit within graceful_timeout, and nothing accepts on the socket.
workers=$(pooled_workers)
for pid in $workers; do
	track_pid "$pid"	# in case they outlive the master
done
log_mark
diag "killing the master $POOLED_PID with SIGKILL"
kill -s KILL "$POOLED_PID"
wait_pooled_exit 5
assert_eq "the master died of SIGKILL" 137 "$POOLED_STATUS"
# shellcheck disable=SC2086
if wait_for 5 all_dead $workers; then
	pass "the workers are gone within graceful_timeout"
else
	fail "the workers are gone within graceful_timeout" \
	    "still alive: $(for p in $workers; do pid_alive "$p" && echo "$p"; done)"
fi
for pid in $workers; do
	assert_log "worker $pid saw the master go" \
	    "hello\[$pid\]: worker: master went away" 1
	pid_alive "$pid" || untrack_pid "$pid"
done
if wait_for 5 not_listening "$T/hello.sock"; then
	pass "the socket no longer accepts"
else
	fail "the socket no longer accepts"
fi
http_get /
assert_status "nginx answers 502 without pooled" 502

done_testing
