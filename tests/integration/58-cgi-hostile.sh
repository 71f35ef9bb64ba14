#!/usr/bin/env bash
# 58-cgi-hostile: CGI programs that try to outlive their request.  One
# moves itself into the worker's process group (setpgid), out of the
# group pooled kills: it is killed at cgi_timeout all the same, and its
# thread serves on.  One starts a chain of processes that fork and exit
# in a loop, each in a session of its own, racing the sweep at the end
# of the request and, in a second run, the master's after a kill -9 of
# the worker: no link of the chain survives either.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: pool users"
fi
command -v python3 >/dev/null || skip_all "no python3"

CGI=$T/cgi
mkdir -p "$CGI"

# pycgi NAME BODY: an executable Python CGI program.
pycgi()
{
	printf '#!/usr/bin/python3\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# Into the worker's process group (the worker leads its session), then
# the answer, then 60 s of sleep that only a kill of its own pid ends.
pycgi pgid.py "import os, sys, time
os.setpgid(0, os.getpgid(os.getppid()))
open('$W/pgid.pid', 'w').write(str(os.getpid()))
sys.stdout.write('Content-Type: text/plain\n\nmoved\n')
sys.stdout.flush()
os.close(1)
time.sleep(60)"
# A chain of links, each forking the next and exiting at once; it stops
# by itself after 30 s, or when told by chain.stop.  The program answers
# once the chain runs (HOLD: after that many seconds more).
pycgi chain.py "import os, sys, time
if os.fork() == 0:
    os.setsid()
    fd = os.open('/dev/null', os.O_RDWR)
    for i in range(3):
        os.dup2(fd, i)
    end = time.monotonic() + 30
    n = 0
    while time.monotonic() < end and not os.path.exists('$W/chain.stop'):
        n += 1
        if n == 100:
            open('$W/chain.run', 'w').write('1')
        if os.fork() != 0:
            os._exit(0)
    os._exit(0)
i = 0
while not os.path.exists('$W/chain.run') and i < 100:
    time.sleep(0.05)
    i += 1
time.sleep(float(os.environ.get('QUERY_STRING') or 0))
sys.stdout.write('Content-Type: text/plain\n\nchain\n')"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok\\n"\n' >"$CGI/ok.sh"
chmod 755 "$CGI/ok.sh"

# chain_gone: no link of the chain runs, seen twice a little apart (a
# link may be between its fork and its parent's listing).
chain_gone()
{
	! pgrep -u "$POOL_USER" -f 'chain\.py' >/dev/null &&
	    sleep 0.2 && ! pgrep -u "$POOL_USER" -f 'chain\.py' >/dev/null
}

free_port PORT || bail_out "no free port"
write_pool_conf \
    "$(cgi_pool_block c "127.0.0.1:$PORT" "$CGI" 'processes = 1' \
    'threads = 1' 'cgi_timeout = 5')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=127.0.0.1:$PORT" || bail_out "nginx did not start"
wait_for 10 workers_running 1 c || bail_out "no worker"

# --- out of its process group ------------------------------------------

http_get /cgi/pgid.py
p=$(cat "$W/pgid.pid" 2>/dev/null)
assert_true "the program wrote its pid" test -n "$p"
assert_true "a program that left its group is killed at cgi_timeout" \
    wait_for 10 pid_dead "$p"
http_get /cgi/ok.sh
assert_status "... and its thread serves the next request" 200

# --- a chain of forks, at the end of the request -----------------------

http_get "/cgi/chain.py?1"
assert_status "the chain's program answers" 200
assert_true "no link of the chain survives the request" \
    wait_for 5 chain_gone
touch "$W/chain.stop"
wait_for 5 chain_gone || bail_out "the chain does not stop"
rm -f "$W/chain.stop" "$W/chain.run"

# --- a chain of forks, the worker killed ---------------------------------

w=$(pool_workers c | head -n 1)
curl -sS --max-time 20 -o /dev/null "$NGINX_URL/cgi/chain.py?15" \
    2>/dev/null &
cpid=$!
track_pid "$cpid"
wait_for 10 test -e "$W/chain.run" || bail_out "the chain did not start"
kill -KILL "$w"
assert_true "worker killed: no link of the chain survives" \
    wait_for 5 chain_gone
touch "$W/chain.stop"
wait_for 5 chain_gone || bail_out "the chain does not stop"
reap_pid "$cpid" 20
wait_for 10 workers_running 1 c || bail_out "no new worker"
http_get /cgi/ok.sh
assert_status "the new worker serves" 200

done_testing
