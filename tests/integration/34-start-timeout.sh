#!/usr/bin/env bash
# 34-start-timeout: a module whose process_init never returns does not
# keep pooled starting forever.  After start_timeout the master logs why,
# kills the stuck workers and exits 1, in the foreground and as a daemon;
# nothing is left running, no socket file and no pid file remain.
. "$(dirname "$0")/lib.sh"

# logged_worker_pids: pids of the workers the last run started.
logged_worker_pids()
{
	log_since_mark | sed -n 's/.*started worker \([0-9]*\).*/\1/p'
}

POOLED_CONF_GLOBALS='start_timeout = 2
kill_timeout = 1'
POOLED_PID_FILE=$T/pooled.pid
write_pool_conf "$(pool_block stuck "$T/stuck.sock" hanginit)" \
    "$(pool_block fine "$T/fine.sock" hello)"

for mode in foreground daemon; do
	if [ "$mode" = foreground ]; then
		run_pooled -F -c "$POOLED_CONF"
	else
		run_pooled -c "$POOLED_CONF"
	fi
	assert_eq "$mode: exits 1" 1 "$RUN_STATUS"
	assert_log "$mode: the module was stuck in process_init" \
	    'hanginit: hanging in process_init'
	assert_log "$mode: the master says why it gives up" \
	    'master: workers not ready after start_timeout \(2 s\); stopping'
	pids=$(logged_worker_pids)
	assert_eq "$mode: both pools' workers were started" 4 \
	    "$(count_lines "$pids")"
	# shellcheck disable=SC2086	# one pid per word
	if wait_for 5 all_dead $pids; then
		pass "$mode: no worker is left running"
	else
		fail "$mode: no worker is left running" "alive of: $pids"
	fi
	assert_true "$mode: no socket file is left" \
	    test ! -e "$T/stuck.sock" -a ! -e "$T/fine.sock"
	assert_true "$mode: no pid file is left" test ! -e "$POOLED_PID_FILE"
done
# The last run was the daemon's: its waiting parent reports the failure.
assert_contains "daemon: the waiting command says it failed" \
    "$RUN_STDERR" "pooled: failed to start"
done_testing
