#!/usr/bin/env bash
# 56-cgi-contain: nothing a CGI program starts outlives its request.  A
# program that leaves a setsid'd child and a double-forked one (in a
# session of its own too, out of its process group) answers, and both
# are gone after the response; a worker killed with SIGKILL mid-request
# leaves no process of that request behind; a program that forks until
# cgi_rlimit_nproc stops it fails alone, what it started goes, and the
# pool's next program can fork again.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: pool users, cgi_rlimit_nproc"
fi

CGI=$T/cgi
mkdir -p "$CGI"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# all_alive PID...: every PID runs.
all_alive()
{
	local pid

	for pid in "$@"; do
		pid_alive "$pid" || return 1
	done
	return 0
}

# wait_file FILE: the program wrote FILE (a pid), for wait_for.
wait_file()
{
	[ -s "$1" ]
}

# The pids go to files before the answer, so they are there when it is.
# Each child writes its own pid, whether setsid(1) forked or not.
cgi escape.sh "setsid sh -c 'echo \$\$ >$W/setsid.pid; exec sleep 301' \
    </dev/null >/dev/null 2>&1 &
( setsid sh -c 'echo \$\$ >$W/double.pid; exec sleep 302' \
    </dev/null >/dev/null 2>&1 & ) &
i=0
while { [ ! -s $W/double.pid ] || [ ! -s $W/setsid.pid ]; } && [ \$i -lt 100 ]
do sleep 0.05; i=\$((i + 1)); done
printf 'Content-Type: text/plain\n\nescaped\n'"
cgi long.sh "sleep 303 </dev/null >/dev/null 2>&1 &
echo \$! >$W/long-child.pid
setsid sh -c 'echo \$\$ >$W/long-setsid.pid; exec sleep 304' \
    </dev/null >/dev/null 2>&1 &
echo \$\$ >$W/long.pid
sleep 305 </dev/null >/dev/null 2>&1 &
echo \$! >$W/long-sleep.pid
printf 'Content-Type: text/plain\n\n'
wait"
# Forks until refused: its children run in sessions of their own, and
# count against cgi_rlimit_nproc for as long as they live.
cgi bomb.sh "printf 'Content-Type: text/plain\n\n'
i=0
while [ \$i -lt 200 ]; do
	setsid sleep 60 </dev/null >/dev/null 2>&1 || exit 1 &
	i=\$((i + 1))
done
echo done"
cgi fork.sh 'printf "Content-Type: text/plain\n\n"
i=0
while [ $i -lt 10 ]; do (exit 0) || exit 1; i=$((i + 1)); done
echo "forked $i"'
mkdir -p "$T/bomb"
mv "$CGI/bomb.sh" "$T/bomb/"
cp "$CGI/fork.sh" "$T/bomb/"

free_port PORT || bail_out "no free port"
free_port BPORT || bail_out "no free port"
write_pool_conf \
    "$(cgi_pool_block c "127.0.0.1:$PORT" "$CGI" 'processes = 1' \
    'threads = 2' 'cgi_timeout = 30')" \
    "$(cgi_pool_block b "127.0.0.1:$BPORT" "$T/bomb" 'user = "nobody"' \
    'processes = 1' 'threads = 1' 'cgi_rlimit_nproc = 40' \
    'cgi_timeout = 30')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=127.0.0.1:$PORT" "/bomb/=127.0.0.1:$BPORT" ||
    bail_out "nginx did not start"
wait_for 10 workers_running 1 c || bail_out "no worker"

# --- setsid and a double fork -------------------------------------------

log_mark
http_get /cgi/escape.sh
assert_status "a program that leaves children answers" 200
assert_eq "... with its body" "escaped" "$HTTP_BODY"
s=$(cat "$W/setsid.pid" 2>/dev/null)
d=$(cat "$W/double.pid" 2>/dev/null)
assert_true "the program wrote both pids" test -n "$s" -a -n "$d"
assert_true "the setsid'd child is gone after the response" \
    wait_for 5 pid_dead "$s"
assert_true "the double-forked child is gone after the response" \
    wait_for 5 pid_dead "$d"
assert_log "what was killed is logged, with a count" \
    'escape\.sh: killed [0-9]+ processes left behind'
http_get /cgi/fork.sh
assert_status "the pool serves on" 200

# --- a worker killed mid-request ----------------------------------------

w=$(pool_workers c | head -n 1)
curl -sS --max-time 20 -o /dev/null "$NGINX_URL/cgi/long.sh" 2>/dev/null &
cpid=$!
track_pid "$cpid"
wait_for 10 wait_file "$W/long-sleep.pid" || bail_out "long.sh did not start"
wait_for 10 wait_file "$W/long-setsid.pid" ||
    bail_out "long.sh did not start its children"
long=$(cat "$W/long.pid")
lc=$(cat "$W/long-child.pid")
ls=$(cat "$W/long-setsid.pid")
lw=$(cat "$W/long-sleep.pid")
assert_true "the program and its children run" all_alive "$long" "$lc" "$ls"
kill -KILL "$w"
assert_true "worker killed: the program is gone" wait_for 5 pid_dead "$long"
assert_true "... its child too" wait_for 5 pid_dead "$lc"
assert_true "... and its setsid'd child" wait_for 5 pid_dead "$ls"
assert_true "... and what it waits for" wait_for 5 pid_dead "$lw"
reap_pid "$cpid" 20
wait_for 10 workers_running 1 c || bail_out "no new worker"
http_get /cgi/fork.sh
assert_status "the new worker serves" 200

# --- forking up to cgi_rlimit_nproc -------------------------------------

log_mark
http_get /bomb/bomb.sh
assert_true "past cgi_rlimit_nproc: an answer" test "$HTTP_STATUS" != 000
assert_true "... and what it started is killed, sessions and all" \
    wait_for 5 sh -c "! pgrep -u nobody -f '^sleep 60\$' >/dev/null"
http_get /bomb/fork.sh
assert_status "the pool's next program runs" 200
assert_eq "... and can fork ten times" "forked 10" "$HTTP_BODY"

done_testing
