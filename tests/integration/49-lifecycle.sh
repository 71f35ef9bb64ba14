#!/usr/bin/env bash
# 49-lifecycle: the master's supervision of its workers in every state.
# An only-ondemand config (no worker at start) is started at once: its
# first request is answered and a daemon's command returns, well before
# start_timeout.  A worker of a reload's new generation that asks to be
# replaced (max_requests) before the reload commits is replaced once it
# does.  A respawn that never becomes ready is killed after
# start_timeout and started again with back-off, not left to hold a slot,
# and a reload after a failed one gets a new generation id.
# A worker stuck at start dies with a killed master and leaves the port.
# A reload's new workers log at the new log_level.  A reload keeps the
# size a dynamic pool grew to.  A failed reload leaves a kept socket's
# backlog as it was.  The master out of descriptors does not spin on the
# status socket.
. "$(dirname "$0")/lib.sh"

# Only ondemand: nothing to wait for at start.  start_timeout = 60 is
# longer than the client waits (HTTP_TIMEOUT, 10 s) and than the daemon's
# command is given (POOLED_START_TIMEOUT + 10 s).
POOLED_CONF_GLOBALS='start_timeout = 60'
POOLED_PID_FILE=$T/pooled.pid
write_pool_conf "$(pool_block od "$T/od.sock" hello 'pm = "ondemand"' \
    'max_processes = 2' 'idle_timeout = 30')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/od.sock" || bail_out "nginx did not start"
HTTP_TIMEOUT=10 http_get /
assert_status "ondemand only: the first request is answered" 200
log_mark
signal_pooled HUP
if wait_for 10 log_has 'master: reload done'; then
	pass "ondemand only: a HUP is acted on"
else
	fail "ondemand only: a HUP is acted on"
fi
stop_pooled || fail "ondemand only: pooled stops"
start_pooled_daemon
assert_eq "ondemand only: the daemon's command returns 0" 0 \
    "$POOLED_STATUS"
HTTP_TIMEOUT=10 http_get /
assert_status "ondemand only: the daemon answers" 200
stop_pooled || fail "ondemand only: the daemon stops"
stop_nginx

# max_requests before a reload commits.  The reload's hanginit worker
# hangs while $T/hang exists, so the new mr worker serves, and asks to
# be replaced, while the reload is still in flight.
POOLED_CONF_GLOBALS='start_timeout = 60
graceful_timeout = 5'
write_pool_conf "$(pool_block mr "$T/mr.sock" sleep 'processes = 1' \
    'threads = 1' 'max_requests = 3')" \
    "$(pool_block hang "$T/hang.sock" hanginit 'processes = 1' \
    'threads = 1' "module_options = {\"hang_if=$T/hang\"}")"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/mr.sock" || bail_out "nginx did not start"
touch "$T/hang"
log_mark
signal_pooled HUP
wait_for 10 log_has 'hanginit: hanging in process_init' ||
    fail "reload: the new hanginit worker hangs"
# Four at a time, 50 ms each: both mr workers, old and new, serve.
parallel_get 40 4 "/?ms=50&n=@ID@" "$T/mrload"
assert_parallel_status "reload in flight: every request got 200" \
    "$T/mrload" 40 200
rm -f "$T/hang"
if wait_for 10 log_has 'master: reload done'; then
	pass "reload: commits once the hanginit worker starts"
else
	fail "reload: commits once the hanginit worker starts"
fi
asked=$(log_since_mark | sed -n \
    's/.*mr\[\([0-9]*\)\]: worker: served 3 requests.*/\1/p' | sort -u)
assert_ne "reload in flight: workers asked to be replaced" "" "$asked"
# shellcheck disable=SC2086	# one pid per word
if wait_for 10 all_dead $asked; then
	pass "reload in flight: every worker that asked is replaced"
else
	fail "reload in flight: every worker that asked is replaced" \
	    "asked: $(echo $asked), now: $(pool_workers mr)"
fi
http_get /
assert_status "reload in flight: the pool serves after" 200
stop_pooled || fail "reload in flight: pooled stops"
stop_nginx

# A respawn stuck in process_init.
POOLED_CONF_GLOBALS='start_timeout = 2
kill_timeout = 1'
write_pool_conf "$(pool_block hang "$T/hang.sock" hanginit 'processes = 2' \
    'threads = 1' "module_options = {\"hang_if=$T/hang\"}")"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/hang.sock" || bail_out "nginx did not start"
wait_for 10 workers_running 2 hang || fail "respawn: the pool starts"
victim=$(pool_workers hang | head -n 1)
touch "$T/hang"
log_mark
kill -9 "$victim"
wait_for 10 log_has 'hanginit: hanging in process_init' ||
    fail "respawn: the respawned worker hangs"
stuck=$(log_since_mark | sed -n 's/.*pool hang: started worker \([0-9]*\).*/\1/p' |
    head -n 1)
if wait_for 10 log_has \
    "pool hang: worker $stuck not ready after start_timeout \\(2 s\\); killing it"; then
	pass "respawn: a worker stuck at start is given up on"
else
	fail "respawn: a worker stuck at start is given up on"
fi
if wait_for 5 pid_dead "$stuck"; then
	pass "respawn: the stuck worker is gone"
else
	fail "respawn: the stuck worker is gone" "$stuck still runs"
fi
assert_log "respawn: it is restarted with back-off" \
    'pool hang: .*(retrying|restarting).* in [0-9]+ ms'
rm -f "$T/hang"
if wait_for 20 workers_replaced "$stuck" 2 hang; then
	pass "respawn: the pool is whole again"
else
	fail "respawn: the pool is whole again" "$(pool_workers hang)"
fi
http_get /
assert_status "respawn: the pool serves" 200
# A reload that fails, then one that works: generation ids are not reused.
touch "$T/hang"
log_mark
signal_pooled HUP
if wait_for 10 log_has 'master: reload failed: .*start_timeout'; then
	pass "generations: a reload whose worker hangs fails"
else
	fail "generations: a reload whose worker hangs fails"
fi
rm -f "$T/hang"
log_mark
signal_pooled HUP
wait_for 10 log_has 'master: reload done' ||
    fail "generations: the next reload is done"
assert_log "generations: the next reload has a new id" \
    'master: reload done: generation 3 serves'
stop_pooled || fail "respawn: pooled stops"
stop_nginx

# The master killed while a worker hangs in process_init.
free_port PORT || bail_out "no free port"
POOLED_CONF_GLOBALS='start_timeout = 60'
write_pool_conf "$(pool_block hang "127.0.0.1:$PORT" hanginit \
    'processes = 1' 'threads = 1' "module_options = {\"hang_if=$T/hang\"}")"
touch "$T/hang"
log_mark
start_pooled || bail_out "pooled did not start"
wait_for 10 log_has 'hanginit: hanging in process_init' ||
    fail "master killed: the worker hangs"
stuck=$(pool_workers hang)
[ -n "$stuck" ] && track_pid "$stuck"
kill -9 "$POOLED_PID"
wait_pooled_exit 5 || fail "master killed: the master is gone"
if wait_for 5 pid_dead "$stuck"; then
	pass "master killed: the worker stuck at start is gone"
else
	fail "master killed: the worker stuck at start is gone" \
	    "$stuck still runs"
fi
rm -f "$T/hang"
log_mark
if start_pooled; then
	pass "master killed: a new pooled listens on the port"
else
	fail "master killed: a new pooled listens on the port" \
	    "$(log_since_mark | tail -n 3)"
fi
stop_pooled || fail "master killed: the new pooled stops"

# log_level changed by a reload: the new workers use it at once.
POOLED_CONF_GLOBALS=
write_pool_conf "$(pool_block lv "$T/lv.sock" hello 'processes = 1')"
start_pooled || bail_out "pooled did not start"
POOLED_LOG_LEVEL=debug write_pool_conf \
    "$(pool_block lv "$T/lv.sock" hello 'processes = 1')"
log_mark
signal_pooled HUP
wait_for 10 log_has 'master: reload done' ||
    fail "log_level: the reload is done"
assert_log "log_level: the new worker logs at debug" \
    'lv\[[0-9]+\]: worker: serving with 2 threads'
stop_pooled || fail "log_level: pooled stops"

# A dynamic pool grown under load keeps its size across a reload.
dyn_block="$(pool_block dyn "$T/dyn.sock" sleep 'pm = "dynamic"' \
    'processes = 1' 'min_processes = 1' 'max_processes = 4' 'threads = 1' \
    'min_spare_threads = 1' 'max_spare_threads = 8')"
write_pool_conf "$dyn_block"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/dyn.sock" || bail_out "nginx did not start"
parallel_get 40 4 "/?ms=300&n=@ID@" "$T/dynload"
grown=$(count_lines "$(pool_workers dyn)")
if [ "$grown" -gt 1 ]; then
	pass "dynamic: the pool grew under load"
else
	fail "dynamic: the pool grew under load" "$grown workers"
fi
log_mark
signal_pooled HUP
wait_for 10 log_has 'master: reload done' ||
    fail "dynamic: the reload is done"
if wait_for 10 workers_running "$grown" dyn; then
	pass "dynamic: the reload keeps the $grown workers"
else
	fail "dynamic: the reload keeps the $grown workers" \
	    "$(count_lines "$(pool_workers dyn)") run"
fi
stop_pooled || fail "dynamic: pooled stops"
stop_nginx

# listen_backlog of a kept socket: changed by a reload that works only.
# backlog_of PATH: the backlog ss shows for the unix socket at PATH.
backlog_of()
{
	ss -Hxl 2>/dev/null | awk -v p="$1" '$5 == p { print $4 }'
}
POOLED_CONF_GLOBALS='start_timeout = 2
kill_timeout = 1'
hang_block="$(pool_block hang "$T/hang.sock" hanginit 'processes = 1' \
    'threads = 1' "module_options = {\"hang_if=$T/hang\"}")"
write_pool_conf "$(pool_block bl "$T/bl.sock" hello 'listen_backlog = 16')" \
    "$hang_block"
start_pooled || bail_out "pooled did not start"
assert_eq "backlog: as configured" 16 "$(backlog_of "$T/bl.sock")"
write_pool_conf "$(pool_block bl "$T/bl.sock" hello 'listen_backlog = 32')" \
    "$hang_block"
touch "$T/hang"
log_mark
signal_pooled HUP
wait_for 10 log_has 'master: reload failed' ||
    fail "backlog: the reload fails"
assert_eq "backlog: a failed reload leaves it" 16 \
    "$(backlog_of "$T/bl.sock")"
rm -f "$T/hang"
log_mark
signal_pooled HUP
wait_for 10 log_has 'master: reload done' ||
    fail "backlog: the next reload is done"
assert_eq "backlog: a reload that works changes it" 32 \
    "$(backlog_of "$T/bl.sock")"
stop_pooled || fail "backlog: pooled stops"

# status_listen at the master's descriptor limit.
# cpu_ticks PID: user + system clock ticks PID used so far.
cpu_ticks()
{
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
POOLED_CONF_GLOBALS="status_listen = \"$T/status.sock\""
write_pool_conf "$(pool_block em "$T/em.sock" hello 'processes = 1')"
start_pooled || bail_out "pooled did not start"
wait_for 10 workers_running 1 em || fail "emfile: the pool starts"
nfds=$(ls "/proc/$POOLED_PID/fd" | wc -l)
# Room for one connection more, then accept fails with EMFILE.
prlimit --pid "$POOLED_PID" --nofile=$((nfds + 1)):$((nfds + 1)) ||
    fail "emfile: prlimit"
log_mark
python3 -c '
import socket, sys, time
held = []
for _ in range(4):
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	held.append(s)
time.sleep(4)
' "$T/status.sock" &
holder=$!
track_pid "$holder"
sleep 1
before=$(cpu_ticks "$POOLED_PID")
sleep 2
used=$(($(cpu_ticks "$POOLED_PID") - before))
diag "emfile: the master used $used ticks in 2 s; fds: $(ls "/proc/$POOLED_PID/fd" | tr '\n' ' ')"
assert_log "emfile: accept fails, and the log says so" \
    'status_listen: accept.*Too many open files'
hz=$(getconf CLK_TCK)
# Spinning, it takes what CPU it can get; waiting, next to none.
if [ "$used" -lt $((hz / 2)) ]; then
	pass "emfile: the master does not spin"
else
	fail "emfile: the master does not spin" "$used ticks in 2 s"
fi
reap_pid "$holder"
prlimit --pid "$POOLED_PID" --nofile=1024:1024
run_pooled -s -c "$POOLED_CONF"
assert_eq "emfile: pooled -s answers after" 0 "$RUN_STATUS"
stop_pooled || fail "emfile: pooled stops"
done_testing
