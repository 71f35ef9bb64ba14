#!/usr/bin/env bash
# 26-operator-cli: the operator's command line.  "pooled -s" reads only
# status_listen from the config, so it answers while the file on disk has
# a broken pool and a missing module; "-S ADDRESS" needs no config.
# "pooled -k reload|reopen|quit" signals the master named by pid_file,
# and refuses, saying why, a missing pid file, a stale one (a dead pid,
# or a live process that is no pooled master, a FIFO) and an unknown
# command.
. "$(dirname "$0")/lib.sh"

RUN_TIMEOUT=10
POOLED_PID_FILE=$T/pooled.pid
POOLED_CONF_GLOBALS="status_listen = \"$T/status.sock\""
good_conf()
{
	write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
}
good_conf
start_pooled || bail_out "pooled did not start"
wait_for 10 test -s "$POOLED_PID_FILE" || bail_out "no pid file"

# The file on disk broken: a missing module, a pool out of range.
write_pool_conf "$(pool_block hello "$T/hello.sock" "$T/missing.so")" \
    "$(pool_block bad "$T/bad.sock" hello 'threads = 0')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "the broken config fails -t" 1 "$RUN_STATUS"
run_pooled -s -c "$POOLED_CONF"
assert_eq "-s works with a broken pool and a missing module" 0 \
    "$RUN_STATUS"
assert_contains "... and shows the running pool" "$RUN_STDOUT" "hello"
run_pooled -s -c "$T/nonexistent.conf" -S "$T/status.sock" hello
assert_eq "-S ADDRESS needs no config" 0 "$RUN_STATUS"
assert_contains "... and shows the pool asked for" "$RUN_STDOUT" "hello"
run_pooled -S "$T/status.sock"
assert_eq "-S without -s is a usage error" 64 "$RUN_STATUS"

# -k reload: a new generation.
good_conf
run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k reload exits 0" 0 "$RUN_STATUS"
# Not assert_log: run_pooled marks the log after the command.
assert_true "-k reload reloads: generation 2 serves" wait_for 15 \
    grep -q "master: reload done: generation 2 serves" "$POOLED_LOG"
run_pooled -k reopen -c "$POOLED_CONF"
assert_eq "-k reopen exits 0" 0 "$RUN_STATUS"
run_pooled -k restart -c "$POOLED_CONF"
assert_eq "-k with an unknown command: usage error" 64 "$RUN_STATUS"
assert_contains "... saying which ones exist" "$RUN_STDERR" \
    "not reload, stop, quit or reopen"

# Pid files that name no master.
real=$(cat "$POOLED_PID_FILE")
sleep 0 &
dead=$!
wait "$dead"
printf '%s\n' "$dead" >"$POOLED_PID_FILE"
run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k with a dead pid fails" 1 "$RUN_STATUS"
assert_contains "... calling the pid file stale" "$RUN_STDERR" \
    "process $dead is not running (a stale pid file"
printf '%s\n' "$$" >"$POOLED_PID_FILE"
run_pooled -k stop -c "$POOLED_CONF"
assert_eq "-k with another program's pid fails" 1 "$RUN_STATUS"
assert_contains "... and signals nothing" "$RUN_STDERR" \
    "process $$ is not a pooled master"
# Another user's process with the master's title: anyone can forge it.
setpriv --reuid="$(id -u "$POOL_USER")" --regid="$(id -g "$POOL_USER")" \
    --clear-groups bash -c \
    'exec -a "pooled: master process /forged" sleep 30' </dev/null &
forged=$!
track_pid "$forged"
wait_for 5 grep -q 'pooled: master process /forged' "/proc/$forged/cmdline" ||
    diag "the forged title did not appear"
printf '%s\n' "$forged" >"$POOLED_PID_FILE"
run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k with a forged title of another user's fails" 1 "$RUN_STATUS"
assert_contains "... saying whose process it is" "$RUN_STDERR" \
    "process $forged belongs to uid $(id -u "$POOL_USER")"
assert_true "... and signals nothing" kill -0 "$forged"
stop_pid "$forged"
# A FIFO in its place: read, it would block the command for good.
rm -f "$POOLED_PID_FILE"
mkfifo "$POOLED_PID_FILE"
RUN_TIMEOUT=10 run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k with a FIFO for a pid file fails at once" 1 "$RUN_STATUS"
assert_contains "... saying it is no regular file" "$RUN_STDERR" \
    "not a regular file"
rm -f "$POOLED_PID_FILE"
run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k without a pid file fails" 1 "$RUN_STATUS"
assert_contains "... saying so" "$RUN_STDERR" \
    "$POOLED_PID_FILE: no such file (is pooled running?)"
sed -i '/^pid_file/d' "$POOLED_CONF"
run_pooled -k reload -c "$POOLED_CONF"
assert_eq "-k without pid_file in the config fails" 1 "$RUN_STATUS"
assert_contains "... saying so" "$RUN_STDERR" "sets no pid_file"

# -k quit stops the master.
good_conf
printf '%s\n' "$real" >"$POOLED_PID_FILE"
run_pooled -k quit -c "$POOLED_CONF"
assert_eq "-k quit exits 0" 0 "$RUN_STATUS"
if wait_pooled_exit 20; then
	pass "-k quit stops pooled"
else
	fail "-k quit stops pooled"
fi
done_testing
