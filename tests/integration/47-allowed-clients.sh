#!/usr/bin/env bash
# 47-allowed-clients: who may talk to a TCP listener.  A pool with
# allowed_clients = {"127.0.0.1"} serves nginx and a direct client from
# 127.0.0.1, and closes a client bound to 127.0.0.2 at accept, sending
# nothing back, with one log line naming the peer; a burst of refusals is
# logged a line a second at most, with the count of the others.  ::1
# follows the list.  The default list is loopback only: "*:port" without
# allowed_clients warns at start and at -t, serves 127.0.0.x and refuses
# the host's own non-loopback address.  status_listen on TCP has
# status_allowed_clients (loopback by default) and a per-peer cap, so idle
# connections from one host do not lock `pooled -s` out, nor, since a new
# connection takes the oldest one's place, from many loopback addresses.
. "$(dirname "$0")/lib.sh"

HELLO="Hello, world"

# The kernel may run without IPv6, or without ::1 on lo.
have_ipv6_loopback()
{
	command -v ip >/dev/null 2>&1 &&
	    ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'
}

# One IPv4 address of this host that is not loopback, or nothing.
GLOBAL_V4=$(ip -4 -o addr show scope global 2>/dev/null |
    awk '{ sub(/\/.*/, "", $4); print $4; exit }')

# fcgi_try SRC DST PORT [N]: N (1) connections, one after the other, from
# source address SRC to DST:PORT, each sending a whole FastCGI GET request
# and reading until the server closes (10 s at most).  Prints a word per
# connection: "answered" (its stdout has the hello body), "closed" (EOF or
# reset with not a byte), "timeout", or "other".
fcgi_try()
{
	PYTHONPATH=$LIB_DIR timeout 120 python3 - "$@" <<'PY'
import socket, sys
from fcgi_records import STDIN, opening, pair, record, stdout_of

src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
params = pair(b"REQUEST_METHOD", b"GET") + pair(b"REQUEST_URI", b"/") + \
    pair(b"SCRIPT_NAME", b"/") + pair(b"QUERY_STRING", b"")
req = opening(params) + record(STDIN, b"")
for _ in range(n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    got = b""
    try:
        s.bind((src, 0))
        s.connect((dst, port))
        s.sendall(req)
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        word = "closed" if got == b"" else "other"
    except socket.timeout:
        word = "timeout"
    except (ConnectionResetError, BrokenPipeError):
        word = "closed" if got == b"" else "other"
    if word == "other" and b"Hello, world" in stdout_of(got):
        word = "answered"
    print(word)
    s.close()
PY
}

# more_sum REGEX: the sum of the "N more refused" counts in the lines
# since log_mark that match REGEX.
more_sum()
{
	log_since_mark | grep -E -e "$1" | grep -E -o '[0-9]+ more refused' |
	    awk '{ n += $1 } END { print n + 0 }'
}

free_port ONLY_PORT || bail_out "no free port"
free_port WILD_PORT || bail_out "no free port"
free_port STATUS_PORT || bail_out "no free port"
blocks=("$(pool_block only "127.0.0.1:$ONLY_PORT" hello 'processes = 1' \
    'allowed_clients = {"127.0.0.1"}')"
    "$(pool_block wild "*:$WILD_PORT" hello 'processes = 1')")
routes=("/only=127.0.0.1:$ONLY_PORT" "/wild=127.0.0.1:$WILD_PORT")
if have_ipv6_loopback; then
	HAVE_V6=1
	free_port V6OK_PORT || bail_out "no free port"
	free_port V6NO_PORT || bail_out "no free port"
	blocks+=("$(pool_block v6ok "[::1]:$V6OK_PORT" hello 'processes = 1' \
	    'allowed_clients = {"::1"}')"
	    "$(pool_block v6no "[::1]:$V6NO_PORT" hello 'processes = 1' \
	    'allowed_clients = {"127.0.0.1"}')")
	routes+=("/v6ok=[::1]:$V6OK_PORT" "/v6no=[::1]:$V6NO_PORT")
else
	HAVE_V6=0
fi
POOLED_CONF_GLOBALS="status_listen = \"*:$STATUS_PORT\""
write_pool_conf "${blocks[@]}"

# -t: the wildcard listeners without a list are named, the others not.
run_pooled -t -c "$POOLED_CONF"
assert_eq "-t: exit 0 (a warning is no error)" 0 "$RUN_STATUS"
assert_contains "-t: pool wild on *:port without allowed_clients warns" \
    "$RUN_STDERR" "pool \"wild\": listens on all interfaces (*:$WILD_PORT) but only loopback clients are accepted: allowed_clients defaults to 127.0.0.0/8, ::1; set allowed_clients"
assert_contains "-t: status_listen on *:port warns too" "$RUN_STDERR" \
    "status_listen listens on all interfaces (*:$STATUS_PORT) but only loopback clients are accepted"
assert_not_contains "-t: pool only has a list: no warning" "$RUN_STDERR" \
    "pool \"only\": listens on all"
assert_eq "-t: one warning a listener" 2 \
    "$(printf '%s\n' "$RUN_STDERR" | grep -c 'listens on all interfaces')"

log_mark
start_pooled || bail_out "pooled did not start"
start_nginx "${routes[@]}" || bail_out "nginx did not start"
assert_log "start: pool wild warns" \
    "pool \"wild\": listens on all interfaces \(\*:$WILD_PORT\) but only loopback clients are accepted"
assert_log "start: status_listen warns" \
    "status_listen listens on all interfaces \(\*:$STATUS_PORT\)"

# (a) allowed_clients = {"127.0.0.1"}
assert_get "only: nginx from 127.0.0.1 is served" /only/ "$HELLO"
assert_eq "only: a direct client from 127.0.0.1 is answered" answered \
    "$(fcgi_try 127.0.0.1 127.0.0.1 "$ONLY_PORT")"
log_mark
assert_eq "only: a client from 127.0.0.2 is closed with no answer" closed \
    "$(fcgi_try 127.0.0.2 127.0.0.1 "$ONLY_PORT")"
assert_log "only: the refusal is logged, naming the peer and the list" \
    "warning only\[[0-9]+\]: pool only: refused 127\.0\.0\.2:[0-9]+ \(not in allowed_clients\)$"
assert_get "only: nginx is still served after it" /only/ "$HELLO"

# A burst of 50: far fewer lines, and every refusal counted, in a line
# naming a peer or in the "N more refused" of a later one (the worker's
# tick reports the last of them a second after the line before).
sleep 1.1	# past the last line's second, so the burst starts a line
log_mark
got=$(fcgi_try 127.0.0.2 127.0.0.1 "$ONLY_PORT" 50 | sort | uniq -c | xargs)
assert_eq "burst: all 50 closed with no answer" "50 closed" "$got"
refusals_counted()
{
	[ $(($(log_count 'pool only: refused 127\.0\.0\.2:') +
	    $(more_sum 'pool only:'))) -ge 50 ]
}
wait_for 5 refusals_counted
lines=$(log_count 'pool only: (refused 127\.0\.0\.2:|[0-9]+ more refused)')
named=$(log_count 'pool only: refused 127\.0\.0\.2:')
more=$(more_sum 'pool only:')
assert_eq "burst: lines naming a peer + the counts = 50" 50 \
    $((named + more))
if [ "$named" -ge 1 ] && [ "$lines" -le 10 ]; then
	pass "burst: $lines log lines for 50 refusals"
else
	fail "burst: rate-limited log lines" "named $named, lines $lines" \
	    "$(log_since_mark | tail -n 12)"
fi
assert_true "burst: the count is in the log" log_has \
    "pool only: ([0-9]+ more refused \(not in allowed_clients\) since the last such line|refused 127\.0\.0\.2:[0-9]+ \(not in allowed_clients\); [0-9]+ more refused since the last such line)"

# (b) ::1 follows the list.
if [ "$HAVE_V6" = 1 ]; then
	assert_get "v6ok: allowed_clients ::1, nginx from ::1 is served" \
	    /v6ok/ "$HELLO"
	assert_eq "v6ok: a direct client from ::1 is answered" answered \
	    "$(fcgi_try ::1 ::1 "$V6OK_PORT")"
	log_mark
	assert_eq "v6no: allowed_clients 127.0.0.1 only, ::1 is closed" \
	    closed "$(fcgi_try ::1 ::1 "$V6NO_PORT")"
	assert_log "v6no: the refusal names [::1]" \
	    "pool v6no: refused \[::1\]:[0-9]+ \(not in allowed_clients\)"
	http_get /v6no/
	assert_status "v6no: nginx over ::1 gets a 502" 502
else
	skip "::1 per the list" "no ::1 on lo"
fi

# (c) the default: loopback only.
assert_get "wild: nginx from 127.0.0.1 is served" /wild/ "$HELLO"
assert_eq "wild: 127.0.0.2 is loopback (127.0.0.0/8): answered" answered \
    "$(fcgi_try 127.0.0.2 127.0.0.1 "$WILD_PORT")"
if [ -n "$GLOBAL_V4" ]; then
	log_mark
	assert_eq "wild: this host's $GLOBAL_V4 is not loopback: closed" \
	    closed "$(fcgi_try "$GLOBAL_V4" "$GLOBAL_V4" "$WILD_PORT")"
	assert_log "wild: the refusal names $GLOBAL_V4" \
	    "pool wild: refused ${GLOBAL_V4//./\\.}:[0-9]+ \(not in allowed_clients\)"
else
	skip "wild: a non-loopback client is refused" \
	    "no global IPv4 address"
fi

# status [ARG...]: pooled -s with this config.
status()
{
	run_pooled -s -c "$POOLED_CONF" "$@"
}

# status_try SRC PORT: an HTTP GET of / on status_listen from SRC; prints
# "answered" (an HTTP status line came back) or "closed".
status_try()
{
	timeout 30 python3 - "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(10)
got = b""
try:
    s.bind((sys.argv[1], 0))
    s.connect(("127.0.0.1", int(sys.argv[2])))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (ConnectionResetError, BrokenPipeError):
    pass
except socket.timeout:
    print("timeout")
    sys.exit(0)
print("answered" if got.startswith(b"HTTP/1.0 200") else
      "closed" if got == b"" else "other")
PY
}

# (d) status_listen, default status_allowed_clients.
status
assert_eq "status (*:port, default list): pooled -s answers" 0 "$RUN_STATUS"
assert_eq "status: 127.0.0.2 is loopback: answered" answered \
    "$(status_try 127.0.0.2 "$STATUS_PORT")"
if [ -n "$GLOBAL_V4" ]; then
	log_mark
	assert_eq "status: $GLOBAL_V4 is not loopback: closed" closed \
	    "$(status_try "$GLOBAL_V4" "$STATUS_PORT")"
	assert_log "status: the refusal is logged" \
	    "status_listen: refused ${GLOBAL_V4//./\\.}:[0-9]+ \(not in status_allowed_clients\)"
else
	skip "status: a non-loopback client is refused" \
	    "no global IPv4 address"
fi

# (e) status_listen with a list, and the per-peer cap (default 4).
# status_listen keeps its settings until a restart: restart pooled.
stop_pooled
POOLED_CONF_GLOBALS="status_listen = \"127.0.0.1:$STATUS_PORT\"
status_allowed_clients = {\"127.0.0.1\", \"127.0.0.3\"}"
write_pool_conf "${blocks[@]}"
log_mark
start_pooled || bail_out "pooled did not restart"
status
assert_eq "status: pooled -s from 127.0.0.1 answers" 0 "$RUN_STATUS"
assert_eq "status: 127.0.0.3 is listed: answered" answered \
    "$(status_try 127.0.0.3 "$STATUS_PORT")"
log_mark
assert_eq "status: 127.0.0.2 is not listed: closed" closed \
    "$(status_try 127.0.0.2 "$STATUS_PORT")"
assert_log "status: the refusal names 127.0.0.2" \
    "status_listen: refused 127\.0\.0\.2:[0-9]+ \(not in status_allowed_clients\)"

# 16 idle connections from 127.0.0.3 (STATUS_CONNS is 16, all of them
# without the cap), then `pooled -s` from 127.0.0.1 while they are held.
# The master accepts in order, so once it answered, it had judged the
# 16: those still open (held) and those closed (EOF) are counted right
# after.  A held one is closed by its 5 s deadline only, far later.
sleep 1.1	# past the last refusal line's second
log_mark
got=$(timeout 60 python3 - "$STATUS_PORT" "$POOLED" "$POOLED_CONF" <<'PY'
import select, socket, subprocess, sys
port = int(sys.argv[1])
held = []
for _ in range(16):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.3", 0))
    s.connect(("127.0.0.1", port))
    held.append(s)
r = subprocess.run(sys.argv[2:3] + ["-s", "-c", sys.argv[3]],
    capture_output=True, text=True, timeout=20)
closed = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print(r.returncode, "generation:" in r.stdout, closed, 16 - closed)
PY
)
assert_eq "cap: pooled -s answers, 12 of 16 idle connections closed, 4 held" \
    "0 True 12 4" "$got"
cap_counted()
{
	[ $(($(log_count 'status_listen: refused 127\.0\.0\.3:') +
	    $(more_sum 'status_listen:'))) -ge 12 ]
}
wait_for 5 cap_counted
assert_true "cap: the refusal names 127.0.0.3 and the cap" log_has \
    "status_listen: refused 127\.0\.0\.3:[0-9]+ \(it holds 4 connections already: status_max_connections_per_client\)"
assert_eq "cap: lines naming a peer + the counts = 12" 12 \
    $(($(log_count 'status_listen: refused 127\.0\.0\.3:') +
    $(more_sum 'status_listen:')))
assert_true "cap: the master still runs" pid_alive "$POOLED_PID"

# (f) The cap is per address, and every local user has all of
# 127.0.0.0/8: with the default list, 4 idle connections from each of
# 127.0.0.2 to 127.0.0.5 take all 16.  `pooled -s` still answers: a new
# connection takes the oldest one's place.
stop_pooled
POOLED_CONF_GLOBALS="status_listen = \"127.0.0.1:$STATUS_PORT\""
write_pool_conf "${blocks[@]}"
start_pooled || bail_out "pooled did not start (status, default list)"
got=$(timeout 60 python3 - "$STATUS_PORT" "$POOLED" "$POOLED_CONF" <<'PY'
import socket, subprocess, sys
port = int(sys.argv[1])
held = []
for host in range(2, 6):
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.%d" % host, 0))
        s.connect(("127.0.0.1", port))
        held.append(s)
r = subprocess.run(sys.argv[2:3] + ["-s", "-c", sys.argv[3]],
    capture_output=True, text=True, timeout=20)
closed = 0
for s in held:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print(r.returncode, "generation:" in r.stdout, closed, 16 - closed)
PY
)
assert_eq "many addresses: pooled -s answers, the oldest of 16 idle goes" \
    "0 True 1 15" "$got"
done_testing
