#!/usr/bin/env bash
# 32-module-load-errors: a module built for another ABI, one without the
# handler symbol, one whose process_init fails and a file that is no
# shared object at all: pooled refuses each with exit 1 and a log line
# naming the file and the reason, in the foreground, with -t and as a
# daemon, and leaves no process behind.  A good config as a daemon
# returns 0 once it serves and stops on TERM sent via its pid file.
. "$(dirname "$0")/lib.sh"

# Every config here names a pid file.
POOLED_PID_FILE=$T/pooled.pid

# logged_pids: every pid in a "role[pid]:" prefix since log_mark.
logged_pids()
{
	log_since_mark | sed -n 's/^[^[]*\[\([0-9][0-9]*\)\]: .*/\1/p' |
	    sort -nu
}

# nothing_left NAME: no process this run logged survives, no pid file
# and no socket file remain (bounded waits).
nothing_left()
{
	local pids

	pids=$(logged_pids)
	assert_true "$1: it logged its pids" test -n "$pids"
	# shellcheck disable=SC2086
	if wait_for 5 all_dead $pids; then
		pass "$1: no process left behind"
	else
		fail "$1: no process left behind" "alive: $(for p in $pids; do
		    pid_alive "$p" && ps -o pid=,args= -p "$p"; done)"
	fi
	if wait_for 5 test ! -e "$POOLED_PID_FILE"; then
		pass "$1: no pid file left"
	else
		fail "$1: no pid file left" \
		    "$POOLED_PID_FILE holds $(cat "$POOLED_PID_FILE")"
	fi
	assert_true "$1: no socket file left" test ! -e "$T/bad.sock"
}

printf 'this is not a shared object\n' >"$T/notelf.so"

# module|reason in the log
cases="
badabi|built for module ABI version
nosym|no symbol pooled_handler_v1
failinit|process_init failed
$T/notelf.so|cannot load
"

while IFS='|' read -r mod reason; do
	[ -n "$mod" ] || continue
	[ -n "$reason" ] || bail_out "test setup: no reason for $mod"
	path=$(module_path "$mod")
	NAME=$(basename "$path" .so)
	conf=$T/$NAME.conf
	POOLED_CONF=$conf write_pool_conf \
	    "$(pool_block bad "$T/bad.sock" "$path" 'processes = 1')"
	pool_line=$(grep -n -F 'pool bad {' "$conf" | cut -d: -f1)

	# In the foreground.
	run_pooled -F -c "$conf"
	assert_eq "$NAME: -F exits 1" 1 "$RUN_STATUS"
	assert_log "$NAME: -F logs the file and the reason" \
	    "handler_so: $path: $reason" 0
	assert_log "$NAME: -F says the pool did not start" \
	    "pool bad: worker failed during startup; stopping" 0
	assert_no_log "$NAME: -F never reports a start" "all pools started"
	if [ "$NAME" = failinit ]; then
		assert_log "failinit: its own reason reaches the log" \
		    "module: failinit: refusing to start" 0
	fi
	nothing_left "$NAME -F"

	# The config test loads the module, but does not call process_init.
	run_pooled -t -c "$conf"
	if [ "$NAME" = failinit ]; then
		assert_eq "failinit: -t exits 0 (process_init is not run)" \
		    0 "$RUN_STATUS"
		assert_log "failinit: -t says the test is successful" \
		    "test is successful" 0
	else
		assert_eq "$NAME: -t exits 1" 1 "$RUN_STATUS"
		assert_log "$NAME: -t logs the file and the reason" \
		    "handler_so: $path: $reason" 0
		assert_log "$NAME: -t names config file, line, pool and module" \
		    "$conf:$pool_line: pool \"bad\": module $path cannot be used" 0
		assert_no_log "$NAME: -t does not call it successful" \
		    "successful"
	fi
done <<EOF
$cases
EOF

# As a daemon: the command waits for the outcome and exits 1.
for NAME in badabi failinit; do
	run_pooled -c "$T/$NAME.conf"
	assert_eq "$NAME: daemon mode exits 1" 1 "$RUN_STATUS"
	assert_log "$NAME: daemon mode says it failed" \
	    "pooled: failed to start; see the log above" 0
	case $NAME in
	badabi)
		assert_log "badabi: daemon mode logs the reason" \
		    "handler_so: $(module_path badabi): built for module ABI version" 0 ;;
	failinit)
		assert_log "failinit: daemon mode logs the reason" \
		    "handler_so: $(module_path failinit): process_init failed" 0 ;;
	esac
	nothing_left "$NAME daemon"
done

# A good config as a daemon: exit 0 once it serves, its pid in the file.
write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
log_mark
start_pooled_daemon
assert_eq "good config: daemon mode exits 0" 0 "$POOLED_STATUS"
if pid_alive "$POOLED_PID"; then
	pass "good config: the pid file names a live process"
else
	fail "good config: the pid file names a live process" \
	    "pid file: ${POOLED_PID:-missing}"
	done_testing
fi
assert_log "good config: the pid file holds the master's pid" \
    "master\[$POOLED_PID\]: master: all pools started" 0
assert_eq "good config: the master runs the two workers" 2 \
    "$(count_lines "$(pooled_workers)")"
start_nginx "unix:$T/hello.sock" || bail_out "nginx did not start"
http_get /
assert_status "good config: the daemon serves" 200
assert_eq "good config: the daemon's answer" "Hello, world" "$HTTP_BODY"

log_mark
kill -s TERM "$(cat "$POOLED_PID_FILE")"
if wait_pooled_exit 10; then
	pass "good config: TERM via the pid file stops the daemon"
else
	fail "good config: TERM via the pid file stops the daemon"
fi
assert_log "good config: the daemon logs its stop" "master: stopped" 0
assert_true "good config: the pid file is removed" \
    test ! -e "$POOLED_PID_FILE"
assert_true "good config: the socket file is removed" \
    test ! -e "$T/hello.sock"

done_testing
