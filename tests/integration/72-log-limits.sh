#!/usr/bin/env bash
# 72-log-limits: what clients and programs write cannot forge log lines
# or fill the disk.  Control bytes from a CGI program's stderr, from a
# request URI sent through nginx (%1b) and from raw params sent by a
# direct FastCGI client reach the log as \xHH, never raw; 2000 malformed
# connections over the unix socket and over TCP cost a handful of lines
# and a count that adds up, while nginx is still served; a program writing
# 20 MB to stderr adds at most request_log_max and a few KB to the log,
# and its answer is still 200; so does a module that logs 100000 lines.
. "$(dirname "$0")/lib.sh"

CGI=$T/cgi
mkdir -p "$CGI"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi ok.sh 'printf "Content-Type: text/plain\n\nok\n"'
cgi esc.sh 'printf "\033[2J\r\nFAKE: line\n" >&2; printf "Content-Type: text/plain\n\nesc\n"'
# 20 MB of 100-byte lines on stderr, then the answer.
cgi flood.sh 'yes "$(printf "%099d" 0)" | head -c 20000000 >&2; printf "Content-Type: text/plain\n\nflooded\n"'

# Windows of an hour: nothing but the stop writes the counts, so how many
# lines the flood costs does not depend on how long it takes.
free_port TCP_PORT || bail_out "no free port"
write_pool_conf \
    "$(cgi_pool_block u "$T/u.sock" "$CGI" 'processes = 1' 'threads = 4' \
    'log_repeat_window = 3600')" \
    "$(cgi_pool_block t "127.0.0.1:$TCP_PORT" "$CGI" 'processes = 1' \
    'threads = 2' 'log_repeat_window = 3600')" \
    "$(pool_block m "$T/m.sock" fail 'processes = 1')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=unix:$T/u.sock" "/mod=unix:$T/m.sock" ||
    bail_out "nginx did not start"
wait_for 10 workers_running 1 u || bail_out "pool u has no worker"
wait_for 10 workers_running 1 t || bail_out "pool t has no worker"

# raw_esc: a direct FastCGI request whose params carry raw control bytes;
# prints the answer's status line.
raw_esc()
{
	PYTHONPATH=$LIB_DIR python3 - "$TCP_PORT" "$CGI" <<'PY'
import socket, sys
from fcgi_records import STDIN, opening, pair, record, stdout_of
port, root = int(sys.argv[1]), sys.argv[2].encode()
bad = b"/raw\x1b[2J\r\nFAKE: raw\x07"
params = (pair(b"REQUEST_METHOD", b"GET") + pair(b"REQUEST_URI", bad) +
          pair(b"SCRIPT_NAME", bad) +
          pair(b"SCRIPT_FILENAME", root + bad) + pair(b"QUERY_STRING", b""))
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(opening(params) + record(STDIN, b""))
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(stdout_of(data).split(b"\r\n")[0].decode("ascii", "replace"))
PY
}

# (a) Control bytes are escaped, whoever sent them.
log_mark
http_get /cgi/esc.sh
assert_status "esc: the program is served" 200
http_get "/cgi/nope%1b%5b2J%0d%0aFAKE:%20uri.sh"
assert_status "uri with %1b: 404" 404
assert_contains "raw params: answered" "$(raw_esc)" "404"
wait_for 10 log_has 'raw.x1b' || diag "raw request not logged yet"
assert_true "stderr: ESC logged as \\x1b" log_has 'esc\.sh: stderr: \\x1b\[2J\\x0d$'
assert_true "uri: ESC logged as \\x1b" log_has 'nope\\x1b\[2J\\x0d\\x0aFAKE: uri\.sh'
assert_true "raw params: ESC logged as \\x1b" \
    log_has 'raw\\x1b\[2J\\x0d\\x0aFAKE: raw\\x07'
assert_eq "no raw ESC, CR or BEL in the log" 0 \
    "$(log_since_mark | grep -c "$(printf '[\033\r\007]')")"
assert_eq "no forged line starts with FAKE" 0 "$(log_count '^FAKE')"

# (b) 2000 malformed connections, half over the unix socket, half over
# TCP, each bytes that are no FastCGI record; nginx is served meanwhile.
log_mark
PYTHONPATH=$LIB_DIR python3 - "$T/u.sock" "$TCP_PORT" >"$T/flood.out" \
    2>&1 <<'PY' &
import socket, sys
path, port = sys.argv[1], int(sys.argv[2])
sent = 0
for i in range(2000):
    if i % 2 == 0:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    sent += 1
print("sent", sent)
PY
FLOOD=$!
track_pid "$FLOOD"
http_get /cgi/ok.sh
assert_status "flood: nginx is served meanwhile" 200
assert_eq "flood: the body" "ok" "$HTTP_BODY"
wait_for 120 pid_dead "$FLOOD" || diag "the flood did not end"
reap_pid "$FLOOD"
assert_eq "flood: every connection was made" "sent 2000" "$(cat "$T/flood.out")"
http_get /cgi/ok.sh
assert_status "flood: nginx is served after it" 200

# (c) 20 MB on stderr: the log grows by request_log_max and a few KB.
before=$(wc -c <"$POOLED_LOG")
http_get /cgi/flood.sh
assert_status "stderr flood: 200" 200
assert_eq "stderr flood: the body" "flooded" "$HTTP_BODY"
wait_for 10 log_has 'flood\.sh: stderr truncated at request_log_max' ||
    diag "no truncation line yet"
after=$(wc -c <"$POOLED_LOG")
grown=$((after - before))
diag "the log grew by $grown bytes"
assert_true "stderr flood: the log grew by at most 64 KiB + 8 KiB" \
    [ "$grown" -le $((65536 + 8192)) ]
assert_true "stderr flood: some of it was logged" [ "$grown" -ge 32768 ]
assert_eq "stderr flood: one truncation line" 1 \
    "$(log_count 'flood\.sh: stderr truncated at request_log_max \(65536 bytes\): [0-9]+ bytes dropped')"

# (d) A module's log lines, empty or of control bytes: each costs what
# it adds to the log, prefix and escapes included.
before=$(wc -c <"$POOLED_LOG")
http_get "/mod?logflood"
assert_status "module log flood: 200" 200
assert_eq "module log flood: the body" "flooded" "$HTTP_BODY"
wait_for 10 log_has 'module log lines truncated at request_log_max' ||
    diag "no truncation line yet"
after=$(wc -c <"$POOLED_LOG")
grown=$((after - before))
diag "the log grew by $grown bytes"
assert_true "module log flood: the log grew by at most 64 KiB + 8 KiB" \
    [ "$grown" -le $((65536 + 8192)) ]
assert_true "module log flood: some of it was logged" [ "$grown" -ge 32768 ]

# The counts of the flood come with a graceful stop (its window is an
# hour).
stop_pooled QUIT 30
LINES_U=$(log_count "acceptor: unix peer pid [0-9]+: malformed FastCGI request")
LINES_T=$(log_count "acceptor: 127\.0\.0\.1:[0-9]+: malformed FastCGI request")
MORE_U=$(log_sum "[0-9]+ more like this from unix:$T/u\.sock in the last")
MORE_T=$(log_sum "[0-9]+ more like this from 127\.0\.0\.1 in the last")
diag "unix: $LINES_U lines, $MORE_U more; tcp: $LINES_T lines, $MORE_T more"
assert_eq "flood: unix lines and counts add up to 1000" 1000 \
    $((LINES_U + MORE_U))
assert_eq "flood: tcp lines and counts add up to 1000" 1000 \
    $((LINES_T + MORE_T))
assert_true "flood: a handful of lines" [ $((LINES_U + LINES_T)) -le 4 ]
# Written at the stop, a count still covers the time it counted.
LONGEST=$(sed -n 's/.* more like this from .* in the last \([0-9]*\) s$/\1/p' \
    "$POOLED_LOG" | sort -n | tail -n 1)
assert_true "flood: the counts cover at most the window ($LONGEST s)" \
    [ "${LONGEST:-0}" -le 3600 ]

done_testing
