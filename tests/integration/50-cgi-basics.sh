#!/usr/bin/env bash
# 50-cgi-basics: handler = "cgi" behind nginx's stock FastCGI setup
# (SCRIPT_FILENAME = $document_root$fastcgi_script_name).  Programs get the
# RFC 3875 environment and nothing of pooled's, the body on stdin, and
# their output relayed; headers are checked; what is outside the root, not
# executable or missing never runs; a hung program is killed at
# cgi_timeout; nothing is left running.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI/sub" "$T/outside"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi env.sh 'printf "Content-Type: text/plain\n\n"; env | sort'
cgi echo.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c "$CONTENT_LENGTH"'
cgi early.sh 'printf "Content-Type: text/plain\n\nearly\n"; head -c 5000000 /dev/zero; cat >/dev/null'
cgi status.sh 'printf "Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n"'
cgi redirect.sh 'printf "Location: http://example.com/there\n\n"'
cgi stderr.sh 'echo "oops on stderr" >&2; printf "Content-Type: text/plain\n\nfine\n"'
cgi big.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c 52428800 /dev/zero'
cgi fds.sh 'printf "Content-Type: text/plain\n\n"; ls -l /proc/$$/fd | grep -c socket'
cgi hang.sh 'sleep 60 & echo $! > '"$W"'/hang.pid; sleep 60'
cgi exit1.sh 'exit 1'
cgi flood.sh 'printf "Content-Type: text/plain\n\nok\n"; yes errflood >&2 & echo $! > '"$W"'/flood.pid; sleep 0.3; exit 0'
cgi running.sh 'echo $$ > '"$W"'/running.pid; printf "Content-Type: text/plain\n\n"; sleep 30'
cgi local.sh 'printf "Location: /cgi/env.sh?redirected=1\n\nignored body\n"'
cgi late.sh 'sleep 30; printf "Content-Type: text/plain\n\nlate\n"'
cgi slow.sh 'echo $$ > '"$W"'/slow.pid; printf "Content-Type: text/plain\n\nstart\n"; sleep 30; echo end'
cgi nph-hello.sh 'printf "HTTP/1.1 203 Non-Authoritative Information\r\nContent-Type: text/plain\r\nX-Nph: yes\r\n\r\nraw body\n"'
cgi nph-bad.sh 'printf "Content-Type: text/plain\n\nno status line\n"'
cgi count.sh 'printf "Content-Type: text/plain\n\n"; wc -c | tr -d " "'
cgi stream.sh 'cat >'"$W"'/stream.out; printf "Content-Type: text/plain\n\nstreamed\n"'
cgi bg.sh 'sleep 30 & echo $! > '"$W"'/bg.pid; printf "Content-Type: text/plain\n\nbg done\n"'
cgi garbage.sh 'printf "this is not a header\n\nbody\n"'
# Its pid, process group and session (fields of /proc/PID/stat).
cgi ids.sh 'printf "Content-Type: text/plain\n\n"; s=$(cat /proc/$$/stat); set -- ${s##*) }; echo "$$ $3 $4 $2"'
cgi sub/in.sh 'printf "Content-Type: text/plain\n\nsub\n"'
# A compiled CGI program: reports the descriptors it was started with.
cat >"$T/fds.c" <<'C'
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d))
			n++;
	}
	printf("Content-Type: text/plain\r\n\r\nextra fds: %d, arg0 %s\n", n,
	    getenv("SCRIPT_FILENAME") ? "set" : "unset");
	return 0;
}
C
if ${CC:-cc} -o "$CGI/fds.cgi" "$T/fds.c" 2>"$T/cc.log"; then
	have_cc=1
else
	have_cc=0
fi
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nnoexec\\n"\n' >"$CGI/noexec.sh"
chmod 644 "$CGI/noexec.sh"
printf '#!/bin/sh\ntouch %s/outside-ran\nprintf "Content-Type: text/plain\\n\\nout\\n"\n' \
    "$T" >"$T/outside/out.sh"
chmod 755 "$T/outside/out.sh"
ln -s "$T/outside/out.sh" "$CGI/link.sh"
# Neither executable nor with a shebang: run by cgi_interpreter.
printf 'print "Content-Type: text/plain\\n\\nperl ran $ENV{SCRIPT_NAME}\\n";\n' \
    >"$CGI/plain.pl"
chmod 644 "$CGI/plain.pl"

write_pool_conf "$(pool_block cgi "$T/cgi.sock" hello \
    'processes = 1' 'threads = 4' 'cgi_timeout = 2' 'cgi_stderr = "both"')"
# A cgi pool: no module, a root and an environment of its own.
sed -i -e "/module = /d" -e "s|handler = \"module\"|handler = \"cgi\"\n\tcgi_root = {\"$CGI\"}\n\tenv = {\"PATH=/usr/bin:/bin\", \"POOL_SET=yes\"}\n\tcgi_interpreter = {\".pl=$(command -v perl)\"}|" \
    "$POOLED_CONF"
POOLED_SECRET=leaked start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
client_max_body_size 128m;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
fastcgi_param DOCUMENT_ROOT \$document_root;
fastcgi_param HTTP_PROXY http://evil.example/;" \
    start_nginx "/cgi/=unix:$T/cgi.sock" || bail_out "nginx did not start"

http_get "/cgi/env.sh?a=1&b=%C3%A9" -H 'X-Test: abc'
assert_status "env: 200" 200
assert_line "env: QUERY_STRING" "$HTTP_BODY" 'QUERY_STRING=a=1&b=%C3%A9'
assert_line "env: REQUEST_METHOD" "$HTTP_BODY" 'REQUEST_METHOD=GET'
assert_line "env: GATEWAY_INTERFACE" "$HTTP_BODY" 'GATEWAY_INTERFACE=CGI/1.1'
assert_line "env: SCRIPT_NAME" "$HTTP_BODY" 'SCRIPT_NAME=/cgi/env.sh'
assert_line "env: SCRIPT_FILENAME is the real path" "$HTTP_BODY" \
    "SCRIPT_FILENAME=$(realpath "$CGI/env.sh")"
assert_line "env: a request header" "$HTTP_BODY" 'HTTP_X_TEST=abc'
assert_line "env: the pool's env" "$HTTP_BODY" 'POOL_SET=yes'
assert_line "env: the pool's PATH" "$HTTP_BODY" 'PATH=/usr/bin:/bin'
assert_not_contains "env: nothing of pooled's environment" "$HTTP_BODY" \
    POOLED_SECRET
assert_not_contains "env: no HTTP_PROXY (httpoxy)" "$HTTP_BODY" HTTP_PROXY
assert_line "env: working directory is the program's" "$HTTP_BODY" \
    "PWD=$(realpath "$CGI")"

http_get "/cgi/env.sh/extra/path"
assert_status "PATH_INFO: 200" 200
assert_line "PATH_INFO split off" "$HTTP_BODY" 'PATH_INFO=/extra/path'
assert_line "PATH_TRANSLATED" "$HTTP_BODY" "PATH_TRANSLATED=$T/extra/path"
assert_line "SCRIPT_NAME without PATH_INFO" "$HTTP_BODY" \
    'SCRIPT_NAME=/cgi/env.sh'

for size in 0 1 10485760; do
	head -c "$size" /dev/urandom >"$T/body.$size"
	http_post "/cgi/echo.sh" "@$T/body.$size" \
	    -H 'Content-Type: application/octet-stream'
	assert_status "POST $size B: 200" 200
	assert_true "POST $size B: the body comes back" \
	    cmp -s "$T/body.$size" "$HTTP_BODY_FILE"
done
http_post "/cgi/early.sh" "@$T/body.10485760"
assert_status "a program answering before reading 10 MiB: 200" 200
assert_eq "its 5 MB answer arrives whole" 5000006 \
    "$(stat -c %s "$HTTP_BODY_FILE")"

http_get "/cgi/nph-hello.sh"
assert_status "nph-: its status line becomes the status" 203
assert_eq "nph-: its headers pass" yes "$(http_header X-Nph)"
assert_eq "nph-: its body passes" "raw body" "$HTTP_BODY"
log_mark
http_get "/cgi/nph-bad.sh"
assert_status "nph- without a status line: 502" 502
assert_log "nph- without a status line: logged" \
    'nph-bad.sh: an nph- program.s output does not start with an HTTP status line'

# cgi_timeout_is N: reload with cgi_timeout = N.  The big transfers below
# get all the time the slowest build on a loaded machine needs; the rest
# of the test relies on 2 s.
cgi_timeout_is()
{
	sed -i "s/cgi_timeout = [0-9]*/cgi_timeout = $1/" "$POOLED_CONF"
	log_mark
	signal_pooled HUP
	wait_for 30 log_has 'master: reload done' ||
	    bail_out "the reload to cgi_timeout = $1 did not finish"
}

cgi_timeout_is 600
HTTP_TIMEOUT=300 http_get "/cgi/big.sh"
assert_eq "50 MiB output arrives whole" 52428800 "$(stat -c %s "$HTTP_BODY_FILE")"

# Neither a 100 MiB upload nor the 50 MiB answer above is held in the
# worker's memory: its peak resident size stays far below them.
head -c 104857600 /dev/zero >"$T/body.100m"
HTTP_TIMEOUT=300 http_post "/cgi/count.sh" "@$T/body.100m"
assert_eq "a 100 MiB upload reaches the program whole" 104857600 \
    "$(tail -n 1 "$HTTP_BODY_FILE")"
rm -f "$T/body.100m"
if ldd "$POOLED" 2>/dev/null | grep -q 'lib[at]san'; then
	# Sanitizers map shadow memory: resident sizes say nothing there.
	skip "worker memory stays small" "sanitizer build"
else
	for w in $(pooled_workers); do
		hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' \
		    "/proc/$w/status")
		assert_true "worker $w peaked at ${hwm} kB, under 32 MiB" \
		    test "${hwm:-999999}" -lt 32768
	done
fi
cgi_timeout_is 2
http_get "/cgi/status.sh"
assert_status "Status: header" 404
assert_eq "Status: body" nope "$HTTP_BODY"
# A local redirect is a client redirect by default, as with fcgiwrap
# (X-Accel-Redirect would reach internal locations: 55-cgi-redirect).
http_get "/cgi/local.sh"
assert_status "a local redirect is a 302" 302
assert_contains "... to the path the program named" \
    "$(http_header Location)" '/cgi/env.sh?redirected=1'
assert_not_contains "... without the program's body" \
    "$HTTP_BODY" "ignored body"
http_get "/cgi/redirect.sh"
assert_status "Location: is a redirect" 302
assert_eq "Location: passed on" "http://example.com/there" \
    "$(http_header Location)"
log_mark
http_get "/cgi/stderr.sh"
assert_eq "stderr: the answer" fine "$HTTP_BODY"
assert_log "stderr goes to the log, with pool and program" \
    "cgi\[[0-9]+\]: req [0-9]+: $(realpath "$CGI")/stderr.sh: stderr: oops on stderr"
# cgi_stderr = "both": nginx gets it too, as FCGI_STDERR (as fcgiwrap does).
if wait_for 5 grep -q 'FastCGI sent in stderr: "oops on stderr"' \
    "$T/nginx/error.log"; then
	pass "cgi_stderr both: the line reaches nginx's error log"
else
	fail "cgi_stderr both: the line reaches nginx's error log" \
	    "$(tail -n 3 "$T/nginx/error.log")"
fi
http_get "/cgi/fds.sh"
assert_eq "no socket of pooled's reaches the program" 0 "$HTTP_BODY"
if [ "$have_cc" = 1 ]; then
	http_get "/cgi/fds.cgi"
	assert_status "a compiled program: 200" 200
	assert_eq "it starts with only fds 0, 1 and 2" \
	    "extra fds: 0, arg0 set" "$HTTP_BODY"
else
	skip "a compiled program" "no C compiler: $(cat "$T/cc.log")"
fi
http_get "/cgi/plain.pl"
assert_status "cgi_interpreter: a .pl file runs through perl" 200
assert_eq "cgi_interpreter: its output" "perl ran /cgi/plain.pl" "$HTTP_BODY"
http_get "/cgi/sub/in.sh"
assert_eq "a program in a subdirectory" sub "$HTTP_BODY"

log_mark
http_get "/cgi/exit1.sh"
assert_status "exit before a header: 502" 502
assert_log "exit before a header: logged with the status" \
    'exit1.sh: exited 1 before a complete response header'
http_get "/cgi/garbage.sh"
assert_status "malformed header: 502" 502
assert_log "malformed header: logged" 'garbage.sh: malformed response header'

log_mark
http_get "/cgi/noexec.sh"
assert_status "not executable: 403" 403
assert_log "not executable: logged" 'noexec.sh: not executable'
http_get "/cgi/link.sh"
assert_status "symlink out of the root: 403" 403
assert_log "symlink out of the root: logged" 'link.sh: outside every cgi_root'
assert_true "the outside program never ran" test ! -e "$T/outside-ran"
http_get "/cgi/missing.sh"
assert_status "missing: 404" 404
http_get "/cgi/sub"
assert_status "a directory: 403" 403

# A background child keeps stdout open after the program exited: the
# response must end with the program, not with the child.
log_mark
http_get "/cgi/bg.sh"
assert_status "a background child does not hold the response" 200
assert_eq "the program's answer" "bg done" "$HTTP_BODY"
assert_no_log "... and it did not take cgi_timeout" 'bg.sh: killed after'
bgpid=$(cat "$W/bg.pid" 2>/dev/null)
if [ -n "$bgpid" ] && wait_for 5 pid_dead "$bgpid"; then
	pass "... and it is killed once the program is done"
else
	fail "... and it is killed once the program is done" "pid: $bgpid"
fi

# One that floods stderr from the background after the program exited
# cannot keep the request (and the log) going.
http_get "/cgi/flood.sh"
assert_status "a background stderr flood: the answer comes" 200
assert_eq "a background stderr flood: the body" ok "$HTTP_BODY"
flood=$(cat "$W/flood.pid" 2>/dev/null)
if [ -n "$flood" ] && wait_for 5 pid_dead "$flood"; then
	pass "a background stderr flood: the flooder is killed"
else
	fail "a background stderr flood: the flooder is killed" "pid: $flood"
fi

# fcgi_raw SCRIPT_FILENAME [BODY_BYTES [CONTENT_LENGTH]]: one FastCGI
# request straight to the pool's socket; prints the response's stdout.
# Without CONTENT_LENGTH none is sent and the body is ended; with one, it
# is announced and the body is left unfinished after BODY_BYTES (a stall).
fcgi_raw()
{
	PYTHONPATH=$LIB_DIR python3 - "$T/cgi.sock" "$1" "${2:-0}" "${3:-}" <<'PY'
import socket, sys
from fcgi_records import STDIN, opening, pair, record, stdout_of

s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
params = pair(b"REQUEST_METHOD", b"POST") + \
    pair(b"SCRIPT_FILENAME", sys.argv[2].encode())
body, announced = int(sys.argv[3]), sys.argv[4]
if announced:
    params += pair(b"CONTENT_LENGTH", announced.encode())
s.sendall(opening(params))
for off in range(0, body, 32768):
    s.sendall(record(STDIN, b"x" * min(32768, body - off)))
if not announced:
    s.sendall(record(STDIN, b""))
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.write(stdout_of(out).decode(errors="replace"))
PY
}

# A body sent without CONTENT_LENGTH (nginx streams chunked uploads so
# with fastcgi_request_buffering off) is read to the end of FCGI_STDIN.
got=$(fcgi_raw "$CGI/count.sh" 4234 | tail -n 1)
assert_eq "a body without CONTENT_LENGTH is read to its end" 4234 "$got"

# A streamed upload (nginx with fastcgi_request_buffering off) reaches the
# program as it arrives: the first 100 bytes are there before the rest is
# sent, not held back until 64 KiB have come.
got=$(PYTHONPATH=$LIB_DIR python3 - "$T/cgi.sock" "$CGI/stream.sh" \
    "$W/stream.out" <<'PY'
import os, socket, sys, time
from fcgi_records import STDIN, opening, pair, record

s = socket.socket(socket.AF_UNIX)
s.settimeout(15)
s.connect(sys.argv[1])
params = pair(b"REQUEST_METHOD", b"POST") + \
    pair(b"SCRIPT_FILENAME", sys.argv[2].encode())
s.sendall(opening(params) + record(STDIN, b"a" * 100))
early = "no"
for _ in range(100):
    if os.path.exists(sys.argv[3]) and os.path.getsize(sys.argv[3]) == 100:
        early = "yes"
        break
    time.sleep(0.1)
s.sendall(record(STDIN, b"b" * 1000) + record(STDIN, b""))
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
print("early=%s size=%d answered=%s" % (early, os.path.getsize(sys.argv[3]),
    b"streamed" in out))
PY
)
assert_eq "a streamed upload reaches the program as it arrives" \
    "early=yes size=1100 answered=True" "$got"

# A client that goes away: nginx closes the connection, pooled kills
# the program (not waiting for cgi_timeout, which is 2 s here: the client
# gives up after 1 s, and the program is gone well before 30 s).
log_mark
HTTP_TIMEOUT=1 http_get "/cgi/slow.sh"
assert_eq "the client gave up" 000 "$HTTP_STATUS"
assert_log "the client going away is logged" \
    'slow.sh: the client went away; program killed' 5
slow=$(cat "$W/slow.pid" 2>/dev/null)
if [ -n "$slow" ] && wait_for 5 pid_dead "$slow"; then
	pass "the program of a client that went away is killed"
else
	fail "the program of a client that went away is killed" "pid: $slow"
fi
assert_no_log "... not by cgi_timeout" 'slow.sh: killed after cgi_timeout'

# Gone before the program wrote a byte: no error page is made for nobody.
log_mark
HTTP_TIMEOUT=1 http_get "/cgi/late.sh"
assert_log "a client gone before any output: logged" \
    'late.sh: the client went away; program killed' 5
assert_no_log "... and no 500 is made up for it" 'GET /cgi/late.sh: .*answering'


# Traversal in SCRIPT_FILENAME itself (nginx normalises URIs, but any
# FastCGI client can send anything): resolved, found outside, refused.
log_mark
got=$(fcgi_raw "$CGI/../outside/out.sh")
assert_contains "SCRIPT_FILENAME with ..: 403" "$got" "Status: 403"
assert_log "SCRIPT_FILENAME with ..: logged" \
    'cgi/\.\./outside/out\.sh: outside every cgi_root'
assert_true "SCRIPT_FILENAME with ..: nothing ran" test ! -e "$T/outside-ran"
HTTP_TIMEOUT=5 http_get "/cgi/%2e%2e/outside/out.sh" --path-as-is
assert_ne "%2e%2e through nginx: not served" 200 "$HTTP_STATUS"
assert_true "%2e%2e through nginx: nothing ran" test ! -e "$T/outside-ran"

# A body that stalls half-way: cgi_timeout still ends the request, with a
# 504 (read_timeout, 30 s here, would come much later).
log_mark
got=$(fcgi_raw "$CGI/count.sh" 131072 1000000)
assert_contains "a stalled body: 504 at cgi_timeout" "$got" "Status: 504"
assert_log "a stalled body: logged" 'count.sh: killed after cgi_timeout \(2 s\)'

log_mark
http_get "/cgi/hang.sh"
assert_status "hung program: 504" 504
assert_log "hung program: killed at cgi_timeout" \
    'hang.sh: killed after cgi_timeout \(2 s\)'
bg=$(cat "$W/hang.pid" 2>/dev/null)
if [ -n "$bg" ] && wait_for 5 pid_dead "$bg"; then
	pass "its background child was killed too"
else
	fail "its background child was killed too" "pid: $bg"
fi

# 50 concurrent programs: all answered, none left over.
parallel_get 50 50 "/cgi/env.sh?n=@ID@" "$T/par"
assert_parallel_status "50 concurrent programs" "$T/par" 50 200
workers=$(pooled_workers)
# shellcheck disable=SC2086
assert_eq "no zombie or leftover child under the worker" "" \
    "$(for w in $workers; do children_of "$w"; done)"

# A program leads a process group of its own (so cgi_timeout and a stop
# kill what it started too), but stays in the worker's session: a session
# of its own is a scheduler autogroup of its own, a whole CPU share each.
http_get "/cgi/ids.sh"
read -r prog_pid prog_pgrp prog_sid prog_ppid <<<"$HTTP_BODY"
assert_eq "a program leads its own process group" "$prog_pid" "$prog_pgrp"
worker_stat=$(cat "/proc/$prog_ppid/stat" 2>/dev/null)
read -r -a worker_fields <<<"${worker_stat##*) }"
assert_eq "a program's parent is a worker" "pooled:cgi" \
    "$(cat "/proc/$prog_ppid/comm" 2>/dev/null)"
assert_eq "a program stays in its worker's session" "${worker_fields[3]:-}" \
    "$prog_sid"

# A fast stop while a program runs: the worker takes it along, though it
# runs in a process group of its own and would outlive the worker.
rm -f "$W/running.pid"
HTTP_TIMEOUT=20 http_get "/cgi/running.sh" >/dev/null 2>&1 &
getter=$!
track_pid "$getter"
if wait_for 5 test -s "$W/running.pid"; then
	running=$(cat "$W/running.pid")
	stop_pooled TERM
	if wait_for 5 pid_dead "$running"; then
		pass "a fast stop kills the programs that run"
	else
		fail "a fast stop kills the programs that run" "pid $running"
	fi
else
	fail "the long program started"
fi
reap_pid "$getter" 25
done_testing
