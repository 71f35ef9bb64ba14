#!/usr/bin/env bash
# 38-process-titles: ps and /proc/PID/cmdline tell the master from the
# workers and one pool and generation from another: "pooled: master
# process CONF" and "pooled: pool NAME (generation N)", as nginx and
# PHP-FPM show theirs.  A reload's workers show the new generation.
. "$(dirname "$0")/lib.sh"

free_port ECHO_PORT || bail_out "no free port"

# cmdline PID: the first string of /proc/PID/cmdline.
cmdline()
{
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1
}

# titles_are TITLE PID...: every PID shows TITLE; for wait_for.
titles_are()
{
	local title=$1 pid

	shift
	[ "$#" -gt 0 ] || return 1
	for pid in "$@"; do
		[ "$(cmdline "$pid")" = "$title" ] || return 1
	done
}

write_pool_conf "$(pool_block hello "$T/hello.sock" hello)" \
    "$(pool_block echo "127.0.0.1:$ECHO_PORT" echo)"
start_pooled || bail_out "pooled did not start"
wait_for 10 workers_running 4 || bail_out "the workers did not start"

assert_eq "the master's title" "pooled: master process $POOLED_CONF" \
    "$(cmdline "$POOLED_PID")"
assert_contains "ps shows it" "$(ps -o args= -p "$POOLED_PID")" \
    "pooled: master process $POOLED_CONF"
# shellcheck disable=SC2046
assert_true "hello's workers: pool hello (generation 1)" \
    titles_are "pooled: pool hello (generation 1)" $(pool_workers hello)
# shellcheck disable=SC2046
assert_true "echo's workers: pool echo (generation 1)" \
    titles_are "pooled: pool echo (generation 1)" $(pool_workers echo)
pid=$(pool_workers hello | head -n 1)
assert_eq "comm stays short for top and pkill -x" "pooled:hello" \
    "$(cat "/proc/$pid/comm")"

log_mark
signal_pooled HUP
assert_log "the reload is done" "master: reload done: generation 2 serves" 15
# shellcheck disable=SC2016
if wait_for 10 eval 'titles_are "pooled: pool hello (generation 2)" \
    $(pool_workers hello)'; then
	pass "after HUP: pool hello (generation 2)"
else
	fail "after HUP: pool hello (generation 2)" \
	    "$(for p in $(pool_workers hello); do cmdline "$p"; done)"
fi
assert_eq "the master's title is unchanged" \
    "pooled: master process $POOLED_CONF" "$(cmdline "$POOLED_PID")"

stop_pooled || fail "pooled stopped"
done_testing
