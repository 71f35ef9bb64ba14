#!/usr/bin/env bash
# 37-burst-supervision: reload, recycle, stuck-handler replacement and
# graceful stop lose no request under bursts to a slow handler.  Each is
# done five times while a burst of four or eight times the pool's threads
# waits on a 300 ms handler, through nginx, and every request of every
# burst must answer 200.  graceful_timeout is shorter than the burst
# takes: a stopping worker that took the waiting connections for itself
# would be killed with them in hand.  How long each drain took (from the
# event to the last answer or to the old workers' exit, whichever is
# later) is printed beside the bound it should come near, backlog x
# handler time / threads, for the record: machines are too noisy for it
# to decide pass or fail.
. "$(dirname "$0")/lib.sh"

MS=300			# the handler's time
ROUNDS=5
SOCK=$T/p.sock

# load OUT STREAMS COUNT [QUERY]: COUNT requests to whoami at once, ms=$MS
# unless QUERY says otherwise, in the background (http_load.py); its pid
# in $LOAD_PID.  Waits up to 5 s until every stream has sent its request.
load()
{
	local out=$1 streams=$2 count=$3 query=${4:-ms=$MS}

	rm -f "$out" "$out.sent"
	python3 "$LIB_DIR/http_load.py" "$NGINX_URL/?$query&id=@ID@" "$out" \
	    "$streams" "$count" &
	LOAD_PID=$!
	track_pid "$LOAD_PID"
	wait_for 5 test -e "$out.sent" || diag "load $out: not all sent in 5 s"
}

# burst NAME: a burst of BURST requests into $T/NAME.out.
burst()
{
	load "$T/$1.out" "$BURST" "$BURST"
	BURST_PID=$LOAD_PID
}

# burst_end NAME: wait for the burst (bounded) and check every request got
# 200.
burst_end()
{
	reap_pid "$BURST_PID" 30 || fail "$1: the burst ends" "still running"
	assert_eq "$1: all $BURST requests answer 200" "$BURST" \
	    "$(awk '$2 == 200 { n++ } END { print n + 0 }' "$T/$1.out" \
	    2>/dev/null)" || diag "$(awk '$2 != 200' "$T/$1.out" | head -n 5)"
}

# now: the wall clock as http_load.py writes it.
now()
{
	printf '%s\n' "$EPOCHREALTIME"
}

# drain_report NAME EVENT GONE THREADS [OLD...]: one diag line on round
# NAME: the requests still unanswered at EVENT (the backlog), how long
# after EVENT the last answer came and the old workers (OLD, pids) were
# gone (GONE), and the bound backlog x $MS / THREADS.  With OLD, how many
# of the backlog the old workers answered; then the answers per worker.
drain_report()
{
	local name=$1 event=$2 gone=$3 threads=$4

	shift 4
	awk -v ev="$event" -v gone="$gone" -v thr="$threads" -v ms="$MS" \
	    -v name="$name" -v old=" $* " '
	$4 > ev { backlog++; if (index(old, " " $5 " ")) byold++ }
	$4 > last { last = $4 }
	{ bypid[$5]++ }
	END {
		for (p in bypid)
			per = per " " p ":" bypid[p]
		drain = (last > gone ? last : gone) - ev
		printf "# %s: %d requests unanswered at the event (%d of them " \
		    "answered by the old workers); last answer +%d ms, old " \
		    "workers gone +%d ms: drain %d ms; bound %d x %d ms / %d " \
		    "threads = %d ms; answers by worker:%s\n", name, backlog,
		    byold, (last - ev) * 1000, (gone - ev) * 1000,
		    drain * 1000, backlog, ms, thr, backlog * ms / thr, per
	}' "$T/$name.out"
}

# Part 1: reload.  2 processes x 2 threads, bursts of 32 (2.4 s of work
# for the pool); HUP once the burst waits, then the old workers finish
# what they have in hand while the new ones take the rest of the backlog.
POOLED_CONF_GLOBALS='graceful_timeout = 1'
THREADS=4
BURST=$((8 * THREADS))
write_pool_conf "$(pool_block p "$SOCK" whoami 'processes = 2' 'threads = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "unix:$SOCK" || bail_out "nginx did not start"
assert_log "hup: the workers started" "all pools started \(2 workers\)" 10
for i in $(seq 1 "$ROUNDS"); do
	old=$(pool_workers p)
	burst "hup$i"
	sleep 0.2
	event=$(now)
	signal_pooled HUP
	# shellcheck disable=SC2086	# one argument a pid
	wait_for 15 all_dead $old || fail "hup$i: the old workers exit" "$old"
	gone=$(now)
	burst_end "hup$i"
	# shellcheck disable=SC2086
	drain_report "hup$i" "$event" "$gone" "$THREADS" $old
	wait_for 10 workers_running 2 p || diag "hup$i: not 2 workers again"
done
assert_no_log "hup: no worker outlived graceful_timeout" \
    "graceful_timeout passed"
stop_pooled TERM 10 || diag "pooled did not stop"

# Part 2: max_requests.  2 processes x 2 threads, each worker recycled
# after 6 requests: every burst of 32 recycles both workers at least once
# while the rest waits.
log_mark
POOLED_CONF_GLOBALS='graceful_timeout = 2'
THREADS=4
BURST=$((8 * THREADS))
write_pool_conf "$(pool_block p "$SOCK" whoami 'processes = 2' \
    'threads = 2' 'max_requests = 6' 'max_requests_jitter = 0')"
start_pooled || bail_out "pooled did not start (max_requests)"
for i in $(seq 1 "$ROUNDS"); do
	before=$(log_count 'replacing worker [0-9]+: it served max_requests')
	event=$(now)
	burst "recycle$i"
	burst_end "recycle$i"
	wait_for 10 workers_running 2 p || diag "recycle$i: not 2 workers again"
	after=$(log_count 'replacing worker [0-9]+: it served max_requests')
	assert_true "recycle$i: workers were recycled during the burst" \
	    test "$after" -gt "$before"
	# Here the event is the burst itself: all of it is backlog.
	drain_report "recycle$i" "$event" "$event" "$THREADS"
	# The last replacements, asked for at the end of the burst, settle.
	wait_for 5 workers_running 2 p
	sleep 1
done
assert_no_log "recycle: no worker outlived graceful_timeout" \
    "graceful_timeout passed"
stop_pooled TERM 10 || diag "pooled did not stop"

# stuck_logged N: more than N "handler is stuck" lines since log_mark, for
# wait_for.
stuck_logged()
{
	[ "$(log_count 'handler is stuck')" -gt "$1" ]
}

# Part 3: a stuck handler.  1 process x 2 threads, request_timeout = 1: a
# request of 4 s is cut after 1 s and taken as stuck 2 s later, and the
# worker is replaced; the burst of 16, sent just before, waits on the
# other thread and must all be served, by the old worker or its
# replacement.  (The stuck request itself fails: that is what the cut is
# for.)  The stuck worker ends with its 4 s request, before
# graceful_timeout.
log_mark
POOLED_CONF_GLOBALS='graceful_timeout = 2'
THREADS=2
BURST=$((8 * THREADS))
write_pool_conf "$(pool_block p "$SOCK" whoami 'processes = 1' \
    'threads = 2' 'request_timeout = 1')"
start_pooled || bail_out "pooled did not start (stuck)"
for i in $(seq 1 "$ROUNDS"); do
	wait_for 10 workers_running 1 p || diag "stuck$i: no worker"
	old=$(pool_workers p)
	stuck=$(log_count 'handler is stuck')
	HTTP_TIMEOUT=15 load "$T/stuck$i-slow.out" 1 1 "ms=4000"
	slow_pid=$LOAD_PID
	sleep 2.6
	burst "stuck$i"
	wait_for 5 stuck_logged "$stuck" ||
	    fail "stuck$i: the handler is taken as stuck"
	event=$(now)
	wait_for 15 all_dead "$old" || fail "stuck$i: the stuck worker exits"
	gone=$(now)
	burst_end "stuck$i"
	drain_report "stuck$i" "$event" "$gone" "$THREADS" "$old"
	reap_pid "$slow_pid" 20 || fail "stuck$i: the stuck request ends"
	diag "stuck$i: the stuck request got $(cut -d' ' -f2 \
	    "$T/stuck$i-slow.out" 2>/dev/null)"
done
assert_eq "stuck: each round replaced the worker" "$ROUNDS" \
    "$(log_count 'replacing worker [0-9]+: a request outlived request_timeout')"
assert_no_log "stuck: no worker outlived graceful_timeout" \
    "graceful_timeout passed"
stop_pooled TERM 10 || diag "pooled did not stop"

# refused: a connect() to the pool's socket is refused now (or the socket
# is gone), for wait_for.
refused()
{
	case $(connect_result "$SOCK") in
	ECONNREFUSED|ENOENT)
		return 0 ;;
	esac
	return 1
}

# Part 4: QUIT.  2 processes x 2 threads; the burst waits when QUIT comes:
# a new connection is refused at once, every request of the burst is
# served, then pooled exits.
POOLED_CONF_GLOBALS='graceful_timeout = 10'
THREADS=4
BURST=$((4 * THREADS))
write_pool_conf "$(pool_block p "$SOCK" whoami 'processes = 2' 'threads = 2')"
for i in $(seq 1 "$ROUNDS"); do
	log_mark
	start_pooled || bail_out "pooled did not start (quit$i)"
	wait_for 10 log_has "all pools started" ||
	    diag "quit$i: the pool did not say it started"
	old=$(pool_workers p)
	burst "quit$i"
	sleep 0.2
	event=$(now)
	signal_pooled QUIT
	if wait_for 2 refused; then
		pass "quit$i: a new connection is refused at once"
	else
		fail "quit$i: a new connection is refused at once" \
		    "$(connect_result "$SOCK")"
	fi
	refused_at=$(now)
	wait_pooled_exit 20 || fail "quit$i: pooled exits"
	gone=$(now)
	burst_end "quit$i"
	# shellcheck disable=SC2086
	drain_report "quit$i" "$event" "$gone" "$THREADS" $old
	diag "quit$i: refused +$(awk -v a="$event" -v b="$refused_at" \
	    'BEGIN { printf "%d", (b - a) * 1000 }') ms after QUIT"
	assert_no_log "quit$i: no worker outlived graceful_timeout" \
	    "graceful_timeout passed"
done

done_testing
