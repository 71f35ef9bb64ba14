#!/usr/bin/env bash
# 41-signals: what each signal does, sent to the master and to a worker
# (pooled(8), SIGNALS).  TERM and INT stop at once with exit 0; HUP is
# logged and ignored; USR1 reopens the log file of a daemon, in the master
# and in the workers, and nothing more goes to the renamed file.  A worker
# ignores INT, QUIT, HUP and USR1, and dies of TERM, to be replaced.
. "$(dirname "$0")/lib.sh"

ERR_LOG=$T/err.log

HELLO="Hello, world"

# stop_now SIGNAL: the master exits 0 on SIGNAL within 5 s, and its
# workers are gone.
stop_now()
{
	local sig=$1 workers

	workers=$(pooled_workers)
	assert_eq "$sig: two workers before" 2 "$(count_lines "$workers")"
	log_mark
	if stop_pooled "$sig" 5; then
		pass "$sig: the master exits within 5 s"
	else
		fail "$sig: the master exits within 5 s"
	fi
	assert_eq "$sig: exit status 0" 0 "$POOLED_STATUS"
	# shellcheck disable=SC2086
	if wait_for 5 all_dead $workers; then
		pass "$sig: its workers are gone"
	else
		fail "$sig: its workers are gone"
	fi
	assert_log "$sig: logged as a fast stop" "master: stopping now" 0
	assert_true "$sig: the socket file is removed" \
	    test ! -e "$T/hello.sock"
}

write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$T/hello.sock" || bail_out "nginx did not start"
assert_log "the workers started" "all pools started \(2 workers\)" 10
workers=$(pooled_workers)
w1=$(printf '%s\n' "$workers" | head -n 1)
w2=$(printf '%s\n' "$workers" | tail -n 1)
assert_eq "two workers" 2 "$(count_lines "$workers")"

# Terminal signals sent to a worker alone are ignored.
log_mark
for sig in INT QUIT HUP USR1; do
	kill -s "$sig" "$w1"
done
sleep 1
assert_true "a worker ignores INT, QUIT, HUP and USR1" pid_alive "$w1"
assert_no_log "the master saw no worker end" "worker [0-9]+ (exited|killed)"
assert_eq "the same workers run" "$workers" "$(pooled_workers)"
assert_get "the pool serves after signals to a worker" / "$HELLO"

# TERM ends only that worker, which is replaced.
kill -s TERM "$w1"
assert_log "TERM to a worker kills it" \
    "pool hello: worker $w1 killed by signal 15" 5
if wait_for 10 workers_replaced "$w1" 2; then
	pass "the worker is replaced"
else
	fail "the worker is replaced" "workers: $(pooled_workers)"
fi
assert_true "the other worker lives on" pid_alive "$w2"
assert_eq "only one worker ended" 1 "$(log_count 'worker [0-9]+ (exited|killed)')"
assert_get "the pool serves after a worker's TERM" / "$HELLO"

# HUP to the master: a reload, with new workers (43-reload.sh has more).
workers=$(pooled_workers)
log_mark
signal_pooled HUP
assert_log "HUP reloads" \
    "master\[$POOLED_PID\]: master: SIGHUP: reloading" 5
assert_log "the reload completes" \
    "master: reload done: generation 2 serves; 2 old workers" 10
assert_true "the master survives HUP" pid_alive "$POOLED_PID"
# shellcheck disable=SC2086
if wait_for 10 all_dead $workers; then
	pass "HUP replaces the workers"
else
	fail "HUP replaces the workers" "old: $workers, now: $(pooled_workers)"
fi
assert_eq "... with as many new ones" 2 "$(count_lines "$(pooled_workers)")"
assert_get "the pool serves after HUP" / "$HELLO"

stop_now TERM

start_pooled || bail_out "pooled did not start again"
assert_log "the workers started again" "all pools started \(2 workers\)" 10
assert_get "the pool serves again" / "$HELLO"
stop_now INT

# USR1 in a daemon logging to a file: rotate the file and ask for a
# reopen; the master and its workers write to a new file of that name.
POOLED_PID_FILE=$T/pooled.pid
POOLED_ERROR_LOG=$ERR_LOG
write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
assert_eq "the daemon's config logs to a file" 1 \
    "$(grep -c -F "error_log = \"$ERR_LOG\"" "$POOLED_CONF")"
start_pooled_daemon
assert_eq "the daemon starts" 0 "$POOLED_STATUS"
if pid_alive "$POOLED_PID"; then
	pass "the daemon runs"
else
	bail_out "the daemon runs"
fi
master=$POOLED_PID
workers=$(pooled_workers)
assert_eq "the daemon runs two workers" 2 "$(count_lines "$workers")"
assert_true "the daemon logs to its file" \
    file_has "$ERR_LOG" "master\[$master\]: master: all pools started"
assert_get "the daemon serves" / "$HELLO"

# Whatever reaches the old file from here on was written after the rename.
old_size=$(wc -c <"$ERR_LOG")
mv "$ERR_LOG" "$ERR_LOG.1"
signal_pooled USR1
if wait_for 5 test -e "$ERR_LOG"; then
	pass "USR1: the master creates a new log file"
else
	fail "USR1: the master creates a new log file"
fi
# The notice is logged after the reopen, so it starts the new file.
REOPENED="master\[$master\]: master: SIGUSR1: reopened the log file"
if wait_for 5 file_has "$ERR_LOG" "$REOPENED"; then
	pass "USR1: the master logs the reopen in the new file"
else
	fail "USR1: the master logs the reopen in the new file" \
	    "new file: $(cat "$ERR_LOG" 2>/dev/null)" \
	    "old file: $(tail -n 5 "$ERR_LOG.1")"
fi
if head -n 1 "$ERR_LOG" | grep -E -q -e "$REOPENED"; then
	pass "USR1: the notice is the new file's first line"
else
	fail "USR1: the notice is the new file's first line" \
	    "new file: $(head -n 3 "$ERR_LOG" 2>/dev/null)"
fi
if file_has "$ERR_LOG.1" "SIGUSR1"; then
	fail "USR1: the notice is not in the old file" \
	    "$(grep -F SIGUSR1 "$ERR_LOG.1")"
else
	pass "USR1: the notice is not in the old file"
fi
# The master's next lines go to the new file: HUP makes one.
signal_pooled HUP
if wait_for 5 file_has "$ERR_LOG" \
    "master\[$master\]: master: SIGHUP: reloading"; then
	pass "USR1: the master writes to the new file"
else
	fail "USR1: the master writes to the new file" \
	    "new file: $(cat "$ERR_LOG" 2>/dev/null)" \
	    "old file: $(tail -n 3 "$ERR_LOG.1")"
fi
assert_get "the daemon serves after USR1 and HUP" / "$HELLO"

# The workers log when they stop gracefully: into the new file too.
signal_pooled QUIT
if wait_pooled_exit 10; then
	pass "QUIT stops the daemon"
else
	fail "QUIT stops the daemon"
fi
for pid in $workers; do
	if file_has "$ERR_LOG" "hello\[$pid\]: worker: graceful stop"; then
		pass "USR1: worker $pid writes to the new file"
	else
		fail "USR1: worker $pid writes to the new file" \
		    "new file: $(cat "$ERR_LOG" 2>/dev/null)" \
		    "old file: $(tail -n 5 "$ERR_LOG.1")"
	fi
done
assert_eq "nothing was written to the old file after the rename" "" \
    "$(tail -c "+$((old_size + 1))" "$ERR_LOG.1")"
assert_true "the pid file is removed" test ! -e "$POOLED_PID_FILE"

done_testing
