#!/usr/bin/env bash
# 58-cgi-hostile: CGI programs that try to outlive their request.  One
# moves itself into the worker's process group (setpgid), out of the
# group pooled kills: it is killed at cgi_timeout all the same, and its
# thread serves on.  One starts a chain of processes that fork and exit
# in a loop, each in a session of its own, racing the sweep at the end
# of the request and, in a second run, the master's after a kill -9 of
# the worker: no link of the chain survives either.  Nor does any of a
# tree 300 processes deep, each waiting for the next.  A program that
# exited is reaped only once what it left in its process group was
# killed: a process of another request that got its pid meanwhile (the
# kernel is told to hand it out next) and leads a group of that id
# survives the end of the first request.
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
# A tree 300 deep: each level waits for the next, the last sleeps.
cat >"$T/level.sh" <<EOF
#!/bin/sh
if [ \$1 -gt 0 ]; then
	$T/level.sh \$((\$1 - 1)) &
	wait
else
	echo \$\$ >$W/deep.pid
	exec sleep 30
fi
EOF
cat >"$CGI/deep.sh" <<EOF
#!/bin/sh
setsid $T/level.sh 300 </dev/null >/dev/null 2>&1 &
i=0
while [ ! -s $W/deep.pid ] && [ \$i -lt 200 ]; do
	sleep 0.05
	i=\$((i + 1))
done
printf 'Content-Type: text/plain\\n\\ndeep\\n'
EOF
chmod 755 "$T/level.sh" "$CGI/deep.sh"
# Answers without reading its input and exits, leaving its pid behind.
printf '#!/bin/sh\necho $$ >%s/quick.pid\nprintf "Content-Type: text/plain\\n\\nquick\\n"\nsleep 0.5\n' \
    "$W" >"$CGI/quick.sh"
chmod 755 "$CGI/quick.sh"
# Once told to (go), starts a child that leads a process group of its
# own, then answers when told to (done); each wait bounded.
pycgi victim.py "import os, sys, time
def wait(name):
    for i in range(20000):
        if os.path.exists('$W/' + name):
            return
        time.sleep(0.001)
open('$W/victim.ready', 'w').close()
wait('go')
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    fd = os.open('/dev/null', os.O_RDWR)
    for i in range(3):
        os.dup2(fd, i)
    time.sleep(30)
    os._exit(0)
open('$W/victim.pid', 'w').write(str(pid))
wait('done')
sys.stdout.write('Content-Type: text/plain\n\nvictim\n')"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok\\n"\n' >"$CGI/ok.sh"
chmod 755 "$CGI/ok.sh"
# Pool r's, under nginx's /r/.
mkdir -p "$T/r"
mv "$CGI/quick.sh" "$CGI/victim.py" "$T/r/"

# chain_gone: no link of the chain runs, seen twice a little apart (a
# link may be between its fork and its parent's listing).
chain_gone()
{
	! pgrep -u "$POOL_USER" -f 'chain\.py' >/dev/null &&
	    sleep 0.2 && ! pgrep -u "$POOL_USER" -f 'chain\.py' >/dev/null
}

# slow_body PORT: a direct request for quick.sh with a body of 70003
# bytes, more than a pipe holds, of which the last 3 come once a.finish
# exists; prints the program's output.  pooled sees the program exit
# while it waits to write the body, and then waits for the rest of it.
slow_body()
{
	PYTHONPATH=$LIB_DIR python3 - "$1" "$T/r" "$W" <<'PY'
import os, socket, sys, time
from fcgi_records import STDIN, opening, pair, record, stdout_of
port, root, w = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
params = (pair(b"REQUEST_METHOD", b"POST") +
          pair(b"CONTENT_LENGTH", b"70003") +
          pair(b"SCRIPT_NAME", b"/quick.sh") +
          pair(b"SCRIPT_FILENAME", root + b"/quick.sh"))
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(opening(params) + record(STDIN, b"a" * 60000) +
          record(STDIN, b"b" * 10000))
for i in range(2000):
    if os.path.exists(w + "/a.finish"):
        break
    time.sleep(0.01)
s.sendall(record(STDIN, b"bcd") + record(STDIN, b""))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(stdout_of(data).decode("ascii", "replace"))
PY
}

free_port PORT || bail_out "no free port"
free_port RPORT || bail_out "no free port"
write_pool_conf \
    "$(cgi_pool_block c "127.0.0.1:$PORT" "$CGI" 'processes = 1' \
    'threads = 1' 'cgi_timeout = 5')" \
    "$(cgi_pool_block r "127.0.0.1:$RPORT" "$T/r" 'processes = 1' \
    'threads = 2' 'cgi_timeout = 60')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=127.0.0.1:$PORT" "/r/=127.0.0.1:$RPORT" ||
    bail_out "nginx did not start"
wait_for 10 workers_running 1 c || bail_out "no worker"
wait_for 10 workers_running 1 r || bail_out "no worker in pool r"

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

# --- a tree 300 deep ------------------------------------------------------

http_get /cgi/deep.sh
assert_status "the tree's program answers" 200
d=$(cat "$W/deep.pid" 2>/dev/null)
assert_true "the tree's last level started" test -n "$d"
assert_true "... and is gone after the request" wait_for 5 pid_dead "$d"
assert_true "... and so is every level" \
    wait_for 5 sh -c "! pgrep -u $POOL_USER -f '/level\.sh' >/dev/null"

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

# --- the pid of a program that exited --------------------------------------

slow_body "$RPORT" >"$T/slow.out" 2>&1 &
spid=$!
track_pid "$spid"
wait_for 10 test -s "$W/quick.pid" || bail_out "quick.sh did not run"
q=$(cat "$W/quick.pid")
wait_for 10 pid_dead "$q" || bail_out "quick.sh did not exit"
curl -sS --max-time 30 -o "$T/victim.out" "$NGINX_URL/r/victim.py" \
    2>/dev/null &
vpid=$!
track_pid "$vpid"
wait_for 10 test -e "$W/victim.ready" || bail_out "victim.py did not start"
# The next pid the kernel hands out is quick.sh's, if it is free; this
# shell forks nothing until the other program has forked (a bounded
# loop of builtins, not wait_for, whose sleep would take the pid).
if echo $((q - 1)) 2>/dev/null >/proc/sys/kernel/ns_last_pid; then
	: >"$W/go"
	for ((i = 0; i < 1000000; i++)); do
		[ -s "$W/victim.pid" ] && break
	done
	wait_for 10 test -s "$W/victim.pid" || bail_out "no victim child"
	v=$(cat "$W/victim.pid")
	diag "quick.sh was $q, the other request's group leader is $v"
	: >"$W/a.finish"
	reap_pid "$spid" 20 || diag "the slow client did not end"
	assert_contains "the slow request is answered" \
	    "$(cat "$T/slow.out")" "quick"
	assert_true "another request's group leader survives its end" \
	    pid_alive "$v"
else
	skip "another request's group leader survives its end" \
	    "cannot set ns_last_pid"
	: >"$W/go"
	: >"$W/a.finish"
	reap_pid "$spid" 20
fi
: >"$W/done"
reap_pid "$vpid" 30 || diag "victim.py did not answer"
assert_eq "... and its request is answered" "victim" \
    "$(cat "$T/victim.out" 2>/dev/null)"

done_testing
