#!/usr/bin/env bash
# 48-hostile-channel: what a worker's code (a module, or whoever took the
# process over) can make the master do through the worker's channel.  A
# message the protocol does not have, or a malformed one, costs one log
# line and the worker: the master kills it and starts another, which
# serves.  A worker that asks to be replaced before it is ready, as each
# of its replacements does again, gets one replacement at a time, each
# started no sooner than a second after the one it replaces: the master
# does not fork as fast as a module asks.  A worker whose module closes
# its channel exits and is replaced, with one log line.
. "$(dirname "$0")/lib.sh"

# fcgi_get PORT QUERY: one FastCGI GET to 127.0.0.1:PORT; prints the
# body of the answer (nothing when the connection closed without one).
fcgi_get()
{
	PYTHONPATH=$LIB_DIR timeout 20 python3 - "$@" <<'PY'
import socket, sys
from fcgi_records import STDIN, opening, pair, record, stdout_of

port, query = int(sys.argv[1]), sys.argv[2].encode()
params = pair(b"REQUEST_METHOD", b"GET") + pair(b"REQUEST_URI", b"/") + \
    pair(b"SCRIPT_NAME", b"/") + pair(b"QUERY_STRING", query)
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(opening(params) + record(STDIN, b""))
got = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionResetError):
    pass
out = stdout_of(got)
sys.stdout.write(out.split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
PY
}

# start_gaps POOL: the milliseconds between consecutive "started worker"
# lines of POOL logged since log_mark, one a line (timestamps of the same
# day).
start_gaps()
{
	log_since_mark | grep -E "master\[[0-9]+\]: pool $1: started worker" |
	    awk '{ split(substr($1, 12, 12), t, ":")
		ms = (t[1] * 3600 + t[2] * 60 + t[3]) * 1000
		if (NR > 1) printf "%d\n", ms - prev; prev = ms }'
}

free_port JUNK_PORT || bail_out "no free port"

# --- messages the protocol does not have -------------------------------

write_pool_conf "$(pool_block junk "127.0.0.1:$JUNK_PORT" chan \
    'processes = 1')"
start_pooled || bail_out "pooled did not start"
w=$(pool_workers junk)
assert_eq "junk: the worker serves" "chan" "$(fcgi_get "$JUNK_PORT" "")"

log_mark
fcgi_get "$JUNK_PORT" junk >/dev/null
assert_log "junk: the master kills the worker that sent it" \
    "pool junk: worker $w sent an unexpected message \(type 99, 4 bytes\); killing it" 10
assert_log "junk: it dies of SIGKILL" \
    "pool junk: worker $w killed by signal 9" 10
assert_eq "junk: one line for 1000 messages" 1 \
    "$(log_count 'sent an unexpected message')"
wait_for 10 workers_running 1 junk
assert_eq "junk: a new worker serves" "chan" "$(fcgi_get "$JUNK_PORT" "")"

w=$(pool_workers junk)
log_mark
fcgi_get "$JUNK_PORT" short >/dev/null
assert_log "short: a malformed message costs the worker too" \
    "pool junk: worker $w sent a malformed message; killing it" 10
wait_for 10 workers_running 1 junk
assert_eq "short: a new worker serves" "chan" "$(fcgi_get "$JUNK_PORT" "")"

# A module that closes the worker's end of the channel: the worker can
# no longer hear the master, so it finishes and exits as if the master
# were gone, and its slot starts another.  Before, its control thread
# polled the closed descriptor in a loop, a log line a turn, at 100% CPU.
# Under ThreadSanitizer the attack itself is a data race (the module
# closes a descriptor the control thread is reading): TSan reports it and
# ends the worker with its own exit code, so the case runs elsewhere.
if ldd "$POOLED" 2>/dev/null | grep -q 'libtsan'; then
	skip "close: the worker that lost its channel exits" \
	    "ThreadSanitizer build: the module's close races by design"
	skip "close: one line says why" "ThreadSanitizer build"
	skip "close: a new worker serves" "ThreadSanitizer build"
else
	w=$(pool_workers junk)
	log_mark
	fcgi_get "$JUNK_PORT" close >/dev/null
	assert_log "close: the worker that lost its channel exits" \
	    "pool junk: worker $w exited 0" 10
	assert_eq "close: one line says why" 1 \
	    "$(log_since_mark | grep -c 'chan_recv_fd')"
	wait_for 10 workers_running 1 junk
	assert_eq "close: a new worker serves" "chan" \
	    "$(fcgi_get "$JUNK_PORT" "")"
fi
assert_true "master alive after all three" pid_alive "$POOLED_PID"
stop_pooled

# --- a replacement asked for before ready, again and again ---------------

write_pool_conf "$(pool_block retire "127.0.0.1:$JUNK_PORT" chan \
    'processes = 1' 'threads = 1' 'module_options = {"retire_in_init"}')"
log_mark
start_pooled || bail_out "pooled did not start (retire)"
if wait_for 15 eval '[ "$(log_count "pool retire: started worker")" -ge 4 ]'
then
	pass "retire: replaced again and again"
else
	fail "retire: replaced again and again" "$(tail -n 20 "$POOLED_LOG")"
fi
stop_pooled
gaps=$(start_gaps retire | head -n 3)
diag "retire: ms between starts: $(echo $gaps)"
assert_eq "retire: three gaps between the first four starts" 3 \
    "$(printf '%s\n' "$gaps" | grep -c .)"
# The master's clock allows 1000 ms; the log's wall clock may differ by
# a little.  Without the limit the gaps are a fraction of a millisecond.
assert_eq "retire: no replacement sooner than a second after the last" \
    "" "$(printf '%s\n' "$gaps" | awk '$1 < 950')"
assert_log "retire: asked before ready, acted on once ready" \
    "pool retire: replacing worker [0-9]+: it served max_requests"

done_testing
