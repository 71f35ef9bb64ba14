#!/usr/bin/env bash
# 71-no-terminal: `pooled -t` and `pooled -F`, typed in a root shell, run
# the pools' code (the module probe, the workers) as the pools' users;
# none of it may reach root's terminal.  Left in root's session, it could
# open /dev/tty and push a command into root's shell with TIOCSTI, or read
# what is typed there from an inherited descriptor.  Each runs here under
# a pseudo-terminal of its own, as in a login shell, with a module that
# reports, when loaded and in process_init, whether it has a controlling
# terminal and a terminal descriptor it may read.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: the point is root's terminal"
fi
command -v python3 >/dev/null 2>&1 || skip_all "needs python3 (pty)"

RUN_TIMEOUT=20

# on_tty OUT MARKER CMD...: run CMD in a new session whose controlling
# terminal is a new pseudo-terminal, its output into OUT.  Once MARKER
# shows up in the output (or at once for an empty MARKER) CMD gets
# SIGTERM, then SIGKILL if it is still there 10 s later; at most
# RUN_TIMEOUT seconds in all.  Returns CMD's exit status.
on_tty()
{
	local out=$1 marker=$2

	shift 2
	timeout -k 2 "$RUN_TIMEOUT" python3 - "$marker" "$@" >"$out" 2>&1 \
	    <<'PY'
import os, pty, select, signal, sys, time
marker = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out, stop_at, killed = b"", time.time() + 15, False
status = None
while status is None:
    if not killed and (marker and marker in out or time.time() > stop_at):
        os.kill(pid, signal.SIGTERM)
        killed, stop_at = True, time.time() + 10
    elif killed and time.time() > stop_at:
        os.kill(pid, signal.SIGKILL)
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            pass
    p, st = os.waitpid(pid, os.WNOHANG)
    if p == pid:
        status = st
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
PY
}

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" tty 'processes = 1')"

# --- pooled -t: the module probe ----------------------------------------

on_tty "$T/t.out" "" "$POOLED" -t -c "$POOLED_CONF"
status=$?
cat "$T/t.out" >>"$POOLED_LOG"
assert_eq "-t on a terminal: exits 0" 0 "$status"
assert_contains "-t: the module was loaded" "$(cat "$T/t.out")" \
    "tty-report load"
assert_not_contains "-t: the module has no controlling terminal" \
    "$(cat "$T/t.out")" "ctty yes"
assert_contains "-t: the module reads no terminal descriptor" \
    "$(cat "$T/t.out")" "readable terminal fds: none"

# --- pooled -F: the workers ---------------------------------------------

on_tty "$T/f.out" "all pools started" "$POOLED" -F -c "$POOLED_CONF"
cat "$T/f.out" >>"$POOLED_LOG"
out=$(cat "$T/f.out")
assert_contains "-F on a terminal: the pool started" "$out" \
    "all pools started"
assert_contains "-F: the worker loaded the module" "$out" \
    "tty-report load"
assert_contains "-F: the worker ran process_init" "$out" \
    "tty-report init"
assert_not_contains "-F: no worker has a controlling terminal" "$out" \
    "ctty yes"
assert_eq "-F: no worker reads a terminal descriptor" 2 \
    "$(printf '%s\n' "$out" | grep -c 'readable terminal fds: none')"
assert_contains "-F: the log still reaches the terminal" "$out" \
    "pool a: started worker"

done_testing
