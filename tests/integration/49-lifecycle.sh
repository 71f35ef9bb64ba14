#!/usr/bin/env bash
# 49-lifecycle: the master's supervision of its workers in every state.
# An only-ondemand config (no worker at start) is started at once: its
# first request is answered and a daemon's command returns, well before
# start_timeout.
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
done_testing
