#!/usr/bin/env bash
# 65-fcgi-load: tests/bench/fcgi_load, the backend-only load generator of
# tests/bench/backend.sh, talks FastCGI to pooled correctly (unix and
# TCP, keep-conn off and on, the backend's processes found) and counts
# what is wrong as errors: a peer that closes every connection, a body
# other than the one expected.  Request counts bound every run, but the
# first, which lasts 1 s.
. "$(dirname "$0")/lib.sh"

LOAD=${FCGI_LOAD:-$top_builddir/tests/bench/fcgi_load}
[ -x "$LOAD" ] || bail_out "$LOAD not built"

# field LINE KEY: the value of KEY=... in fcgi_load's line.
field()
{
	local kv

	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { printf '%s\n' "${kv#*=}"; return; }
	done
}

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf \
    "$(pool_block hello "$T/hello.sock" hello)" \
    "$(pool_block hello_tcp "127.0.0.1:$FCGI_PORT" hello 'processes = 1')"
start_pooled || bail_out "pooled did not start"
wait_for 10 workers_running 3 || bail_out "the workers did not start"

# 1 s at 4 connections, a connection per request, the hello pool's
# workers (2, the TCP pool's is 1) measured.
line=$("$LOAD" -c 4 -d 1 -t 5000 -b $'Hello, world\n' \
    --pid-of-children "$POOLED_PID" "unix:$T/hello.sock" 2>>"$T/err")
rc=$?
diag "$line"
assert_eq "keep-conn off: exit 0" 0 "$rc"
assert_eq "keep-conn off: no errors" 0 "$(field "$line" errors)"
assert_true "keep-conn off: requests answered" \
    test "$(field "$line" requests)" -gt 0
assert_eq "the master's 3 workers (both pools) measured" 3 \
    "$(field "$line" backend_pids)"
assert_true "backend CPU per request is a number" \
    grep -Eq '^[0-9]+\.[0-9]$' <<<"$(field "$line" backend_us)"

line=$("$LOAD" -k -c 4 -n 400 -t 5000 -b $'Hello, world\n' \
    "$T/hello.sock" 2>>"$T/err")
diag "$line"
assert_eq "keep-conn on: 400 requests" 400 "$(field "$line" requests)"
assert_eq "keep-conn on: no errors" 0 "$(field "$line" errors)"

line=$("$LOAD" -c 2 -n 100 -t 5000 -b $'Hello, world\n' \
    "127.0.0.1:$FCGI_PORT" 2>>"$T/err")
diag "$line"
assert_eq "TCP: 100 requests" 100 "$(field "$line" requests)"
assert_eq "TCP: no errors" 0 "$(field "$line" errors)"

line=$("$LOAD" -c 2 -n 10 -t 5000 -b 'Bonjour' "$T/hello.sock" 2>>"$T/err")
rc=$?
diag "$line"
assert_eq "another body: exit 1" 1 "$rc"
assert_eq "another body: 10 body errors" 10 "$(field "$line" err_body)"

# A "FastCGI app" that closes every connection it accepts.
python3 - "$T/closer.sock" >"$T/closer.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
while True:
    s.accept()[0].close()
PY
CLOSER=$!
track_pid "$CLOSER"
wait_for 10 test -S "$T/closer.sock" || bail_out "the closer did not start"
line=$("$LOAD" -c 2 -n 20 -t 5000 "$T/closer.sock" 2>>"$T/err")
rc=$?
diag "$line"
assert_eq "closing app: exit 1" 1 "$rc"
assert_eq "closing app: nothing answered" 0 "$(field "$line" requests)"
assert_true "closing app: errors counted" \
    test "$(field "$line" errors)" -gt 0
stop_pid "$CLOSER"
# Its own errors (a sanitizer's report, say) would hide behind exit 1.
assert_eq "fcgi_load said nothing but its request errors" "" \
    "$(grep -v '^fcgi_load: connection [0-9]*: ' "$T/err")"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
