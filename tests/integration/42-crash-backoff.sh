#!/usr/bin/env bash
# 42-crash-backoff: a pool whose workers die in process_init, again and
# again, is restarted with growing delays (1 s, 2 s, 4 s), not in a fork
# loop; the master and a healthy pool beside it are not affected.
#
# The pool starts with a copy of hello.so; once it serves, initcrash.so
# is renamed over that copy (the running worker keeps its mapping) and the
# worker is killed, so every replacement loads initcrash.so.
. "$(dirname "$0")/lib.sh"

ulimit -c 0 2>/dev/null		# no core files from the crashes

WINDOW=10			# seconds watched after the kill
MAX_STARTS=6			# starts allowed in that window

# first_line REGEX: number of the first line since log_mark matching.
first_line()
{
	log_since_mark | grep -E -n -e "$1" | head -n 1 | cut -d: -f1
}

cp "$(module_path hello)" "$T/mod.so" || bail_out "cannot copy hello.so"
write_pool_conf \
    "$(pool_block crashy "$T/crashy.sock" "$T/mod.so" 'processes = 1')" \
    "$(pool_block healthy "$T/healthy.sock" hello 'processes = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/crashy=unix:$T/crashy.sock" "/healthy=unix:$T/healthy.sock" ||
    bail_out "nginx did not start"
assert_log "both pools started" "all pools started \(2 workers\)" 10

http_get /crashy/
assert_status "the crashy pool serves hello at first" 200
victim=$(pool_workers crashy)
healthy=$(pool_workers healthy)
assert_eq "the crashy pool has one worker" 1 "$(count_lines "$victim")"
assert_eq "the healthy pool has one worker" 1 "$(count_lines "$healthy")"

# Install the crashing module the safe way: a new file, renamed over.
if ! cp "$(module_path initcrash)" "$T/mod.so.new" ||
    ! mv -f "$T/mod.so.new" "$T/mod.so"; then
	bail_out "cannot install initcrash.so"
fi
http_get /crashy/
assert_status "the running worker still serves its old module" 200
assert_eq "the running worker still answers hello" "Hello, world" "$HTTP_BODY"

log_mark
diag "killing worker $victim of the crashy pool"
kill -s KILL "$victim"
start=$SECONDS
healthy_ok=0
healthy_n=0
while [ $((SECONDS - start)) -lt "$WINDOW" ] && [ "$healthy_n" -lt 100 ]; do
	http_get /healthy/
	healthy_n=$((healthy_n + 1))
	if [ "$HTTP_STATUS" = 200 ] && [ "$HTTP_BODY" = "Hello, world" ]; then
		healthy_ok=$((healthy_ok + 1))
	fi
	sleep 0.5
done

assert_log "the kill is logged" "pool crashy: worker $victim killed by signal 9" 0
assert_log "replacements crash in process_init" \
    "crashy\[[0-9]+\]: module: initcrash: crashing in process_init" 0
crashes=$(log_count 'pool crashy: worker [0-9]+ killed by signal 11')
assert_true "replacements die of SIGSEGV, again ($crashes times)" \
    test "$crashes" -ge 2
l1=$(first_line 'pool crashy: restarting worker in 1000 ms')
l2=$(first_line 'pool crashy: restarting worker in 2000 ms')
l4=$(first_line 'pool crashy: restarting worker in 4000 ms')
assert_true "restart delay 1000 ms is logged" test -n "$l1"
assert_true "restart delay 2000 ms is logged" test -n "$l2"
assert_true "restart delay 4000 ms is logged" test -n "$l4"
assert_true "the delays grow in that order" \
    test "${l1:-0}" -lt "${l2:-0}" -a "${l2:-0}" -lt "${l4:-0}"
starts=$(log_count 'pool crashy: started worker')
diag "$starts crashy workers started in ${WINDOW} s"
assert_true "no fork storm: at most $MAX_STARTS starts in $WINDOW s" \
    test "$starts" -le "$MAX_STARTS"
assert_true "the pool was restarted at all" test "$starts" -ge 2
assert_no_log "the crashy pool is not marked broken" "pool crashy: broken"

assert_true "the master stays alive" pid_alive "$POOLED_PID"
assert_eq "the healthy pool answered every request meanwhile" \
    "$healthy_n" "$healthy_ok"
assert_eq "the healthy pool kept its worker" "$healthy" \
    "$(pool_workers healthy)"
assert_no_log "no healthy worker ended" "pool healthy: worker"

stop_pooled TERM 10
assert_eq "pooled exits 0 on TERM while a pool crash-loops" 0 \
    "$POOLED_STATUS"
done_testing
