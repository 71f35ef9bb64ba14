#!/usr/bin/env bash
# 27-log-format: log lines carry ISO 8601 time with the UTC offset
# ("2026-12-03T15:40:01.123+00:00"); a daemon's start-up lines ("listening
# on" and the rest) are in error_log as well as on the terminal; under
# systemd, with stderr being the journal's stream (JOURNAL_STREAM), lines
# carry a "<N>" priority and no time, which journald adds.
. "$(dirname "$0")/lib.sh"

ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} '

# A daemon logging to a file.
POOLED_PID_FILE=$T/pooled.pid
POOLED_ERROR_LOG=$T/error.log
write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
log_mark
start_pooled_daemon || bail_out "the daemon did not start"
assert_true "the log file has the start-up lines" \
    grep -q "master\[[0-9]*\]: pool hello: listening on $T/hello.sock" \
    "$T/error.log"
assert_true "... and the start" grep -q "master: pooled .* starting with" \
    "$T/error.log"
assert_true "the terminal had the start-up lines too" \
    log_has "pool hello: listening on $T/hello.sock"
bad=$(grep -c -v -E "$ISO" "$T/error.log")
assert_eq "every line of the file has ISO 8601 time with its offset" 0 \
    "$bad"
stop_pooled QUIT || fail "the daemon stopped"

# Foreground under systemd: stderr is the journal stream.
unset POOLED_ERROR_LOG POOLED_PID_FILE
write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
log_mark
JOURNAL_STREAM=$(stat -c '%d:%i' "$POOLED_LOG") start_pooled ||
    bail_out "pooled did not start"
wait_for 10 log_has "starting with" || true
lines=$(log_since_mark | grep -F "master[$POOLED_PID]")
assert_contains "journal lines have a priority and no time" "$lines" \
    "<6>info master[$POOLED_PID]: pool hello: listening on"
assert_contains "... notice is 5" "$lines" \
    "<5>notice master[$POOLED_PID]: master: pooled"
assert_eq "no line has a time" "" \
    "$(printf '%s\n' "$lines" | grep -E "$ISO")"
stop_pooled || fail "pooled stopped"

# JOURNAL_STREAM naming another file: the plain form.
write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
log_mark
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/error.log") start_pooled ||
    bail_out "pooled did not start"
wait_for 10 log_has "starting with" || true
assert_true "another stream's id: lines keep their time" \
    eval 'log_since_mark | grep -E "$ISO" | grep -q "listening on"'
stop_pooled || fail "pooled stopped"
done_testing
