#!/usr/bin/env bash
# 36-workers-output: with catch_workers_output = yes, what a module
# writes to stdout and stderr reaches the log line by line, with its pool
# and worker pid, escaped; a very long line is cut; a flood is limited
# with a count of the dropped lines; a last line without a newline is
# logged when the worker exits.  Without the option, fds 1 and 2 stay as
# they were and nothing is logged for them.
. "$(dirname "$0")/lib.sh"

write_pool_conf \
    "$(pool_block caught "$T/caught.sock" output 'processes = 1' \
    'catch_workers_output = yes')" \
    "$(pool_block last "$T/last.sock" output 'processes = 1' \
    'catch_workers_output = yes')" \
    "$(pool_block plain "$T/plain.sock" output 'processes = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/caught=unix:$T/caught.sock" "/last=unix:$T/last.sock" \
    "/plain=unix:$T/plain.sock" || bail_out "nginx did not start"
assert_log "all workers started" "all pools started \(3 workers\)" 10

caught=$(pool_workers caught)
plain=$(pool_workers plain)
assert_contains "the caught worker's stdout is a pipe" \
    "$(readlink "/proc/$caught/fd/1")" "pipe:"
assert_contains "the caught worker's stderr is a pipe" \
    "$(readlink "/proc/$caught/fd/2")" "pipe:"
assert_not_contains "the plain worker's stderr is not" \
    "$(readlink "/proc/$plain/fd/2")" "pipe:"

log_mark
assert_get "caught: print" "/caught/?print" written 1
assert_log "stdout reaches the log with pool and pid" \
    "master\[[0-9]+\]: pool caught: worker $caught: hello from stdout$" 5
assert_log "stderr too, escaped" \
    "pool caught: worker $caught: hello from stderr \\\\x1b\[2J$" 5

log_mark
assert_get "plain: print" "/plain/?print" written 1
assert_no_log "without the option nothing is logged for it" \
    "pool plain: worker [0-9]+: hello"

log_mark
assert_get "caught: a long line" "/caught/?long" written 1
assert_log "the line after the long one is logged" \
    "pool caught: worker $caught: after the long line$" 5
assert_log "a long line is cut at 1024 bytes" \
    "pool caught: worker $caught: L{1024} \[line cut\]$" 1
assert_no_log "nothing past the cut is logged" "L{1025}"

log_mark
assert_get "last: a line without a newline" "/last/?partial" written 1
mark_partial=$LOG_MARK
log_mark
assert_get "caught: a flood" "/caught/?flood" written 1
assert_log "the flood's first line is logged" \
    "pool caught: worker $caught: flood 0$" 5

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
logged=$(log_count "pool caught: worker $caught: flood [0-9]+$")
dropped=$(log_sum "[0-9]+ lines of output dropped")
diag "flood: $logged lines logged, $dropped dropped"
assert_true "the flood is limited to 100 a second ($logged of 1000 logged)" \
    test "$logged" -ge 1 -a "$logged" -le 200
assert_log "the dropped lines are counted" "pool caught: worker $caught: \
[0-9]+ lines of output dropped \(more than 100 a second\)$" 1
assert_true "no more are counted than were written" \
    [ "$((logged + dropped))" -le 1000 ]
LOG_MARK=$mark_partial
assert_log "a last line without a newline is logged at exit" \
    "pool last: worker [0-9]+: partial last words$" 1
done_testing
