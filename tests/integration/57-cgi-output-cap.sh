#!/usr/bin/env bash
# 57-cgi-output-cap: output a program writes before the request body is
# in is held up to cgi_hold_max, in memory and then in a file in
# cgi_spill_dir, never in /tmp; past the cap the program is left blocked
# on its stdout, and once the body is in it goes on and the response is
# complete.  A spill directory anyone may write to and not sticky is
# refused by -t.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
SPILL=$T/spill
CAP=1048576
mkdir -p "$CGI" "$SPILL"
if [ "$(id -u)" -eq 0 ]; then
	chown "$POOL_USER" "$SPILL"
fi
chmod 700 "$SPILL"

# Far more than the cap, before it reads its stdin.  The body comes a
# byte at a time, every read of it a chance for pooled to read the
# program's stdout too (900 KB of 1-byte records held 400 MB before).
cat >"$CGI/flood.sh" <<EOF
#!/bin/sh
printf 'Content-Type: text/plain\n\n'
seq 1 1000000
: >$W/wrote
cat >/dev/null
EOF
chmod 755 "$CGI/flood.sh"

write_pool_conf "$(cgi_pool_block c "$T/cgi.sock" "$CGI" 'processes = 1' \
    'threads = 1' "cgi_hold_max = $CAP" "cgi_spill_dir = \"$SPILL\"")"
start_pooled || bail_out "pooled did not start"
wait_for 10 workers_running 1 c || bail_out "no worker"
w=$(pool_workers c | head -n 1)

got=$(PYTHONPATH=$LIB_DIR python3 - "$T/cgi.sock" "$CGI/flood.sh" "$w" \
    "$CAP" "$W/wrote" "$SPILL" <<'PY'
import os, socket, sys, time
from fcgi_records import STDIN, opening, pair, record, stdout_of

sock, script, worker, cap, marker, spill = sys.argv[1:7]
cap = int(cap)


def held():
    """The deleted files the worker holds open: (largest size, dirs)."""
    size, dirs = 0, set()
    d = "/proc/%s/fd" % worker
    for fd in os.listdir(d):
        try:
            link = os.readlink(os.path.join(d, fd))
            if not link.endswith(" (deleted)"):
                continue
            st = os.stat(os.path.join(d, fd))
        except OSError:
            continue
        dirs.add(os.path.dirname(link))
        size = max(size, st.st_size)
    return size, dirs


s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sock)
params = pair(b"REQUEST_METHOD", b"POST") + \
    pair(b"SCRIPT_FILENAME", script.encode()) + \
    pair(b"CONTENT_LENGTH", b"1000")
s.sendall(opening(params))
# One byte of body at a time: each lets pooled read the program again.
# Until the file holds about what the cap leaves past memory (256 KiB,
# and one 64 KiB read short), then 20 bytes more.
sent, most, dirs, after = 0, 0, set(), 0
while sent < 900 and after < 20:
    s.sendall(record(STDIN, b"x"))
    sent += 1
    time.sleep(0.02)
    size, d = held()
    most, dirs = max(most, size), dirs | d
    if most >= cap - 320 * 1024:
        after += 1
blocked = not os.path.exists(marker)
s.sendall(record(STDIN, b"y" * (1000 - sent)) + record(STDIN, b""))
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
body = stdout_of(out).split(b"\n\n", 1)[-1].split(b"\r\n\r\n", 1)[-1]
want = "".join("%d\n" % i for i in range(1, 1000001)).encode()
print("reached=%s" % (most >= cap - 320 * 1024))
print("within=%s" % (most <= cap))
print("tmp=%s" % ("/tmp" in dirs))
print("spill=%s" % (dirs == {spill}))
print("blocked=%s" % blocked)
print("complete=%s" % (body == want))
print("most=%d" % most)
PY
)
diag "$(printf '%s\n' "$got" | grep most=)"
assert_line "held output reaches the spill file" "$got" "reached=True"
assert_line "held output never exceeds cgi_hold_max (and the body)" "$got" \
    "within=True"
assert_line "no file in /tmp" "$got" "tmp=False"
assert_line "the file is in cgi_spill_dir" "$got" "spill=True"
assert_line "past the cap the program waits on its stdout" "$got" \
    "blocked=True"
assert_line "once the body is in, the response is complete" "$got" \
    "complete=True"
assert_true "then the program finished" test -e "$W/wrote"

# A spill directory where anyone may replace files is refused.
mkdir -m 777 "$T/open"
chmod 777 "$T/open"
write_pool_conf "$(cgi_pool_block c "$T/cgi2.sock" "$CGI" \
    "cgi_spill_dir = \"$T/open\"")"
run_pooled -t -c "$POOLED_CONF"
assert_true "-t refuses a world-writable, not sticky cgi_spill_dir" \
    test "$RUN_STATUS" -ne 0
assert_contains "... and says why" "$RUN_STDERR" \
    "writable by anyone and not sticky"

done_testing
