#!/usr/bin/env bash
# 46-status-listen: the master serves every pool's status on status_listen,
# also while every worker thread is busy, and `pooled -s` prints it: text
# with the generation and the last reload's outcome, JSON, OpenMetrics
# (one # EOF), one pool, a row per thread.  A static pool whose only
# thread is busy while connections wait counts max_reached.  The listen
# queue of a unix socket is known.  A failed reload is reported there.
. "$(dirname "$0")/lib.sh"

POOLED_CONF_GLOBALS="status_listen = \"$T/status.sock\""
write_pool_conf \
    "$(pool_block busy "$T/busy.sock" sleep 'processes = 1' 'threads = 1')" \
    "$(pool_block hello "$T/hello.sock" hello)"
start_pooled || bail_out "pooled did not start"
start_nginx "/busy=unix:$T/busy.sock" "/hello=unix:$T/hello.sock" ||
    bail_out "nginx did not start"
assert_true "the status socket is there" test -S "$T/status.sock"
assert_eq "it is the master's own: mode 0600" 600 \
    "$(stat -c %a "$T/status.sock")"
assert_eq "... and owner: no pool user can connect" "$(id -u):$(id -g)" \
    "$(stat -c %u:%g "$T/status.sock")"

# status [ARG...]: pooled -s with this config.
status()
{
	run_pooled -s -c "$POOLED_CONF" "$@"
}

# The only thread of busy is taken, and a second request waits for it.
HTTP_TIMEOUT=15 http_get "/busy?ms=4000" >/dev/null 2>&1 &
g1=$!
track_pid "$g1"
sleep 0.5
HTTP_TIMEOUT=15 http_get "/busy?ms=10" >/dev/null 2>&1 &
g2=$!
track_pid "$g2"

status
assert_eq "pooled -s: exit 0 while every thread is busy" 0 "$RUN_STATUS"
assert_line "pooled -s: the generation" "$RUN_STDOUT" \
    "generation:           1"
assert_line "pooled -s: no reload yet" "$RUN_STDOUT" \
    "last reload:          none"
assert_line "pooled -s: pool busy" "$RUN_STDOUT" "pool:                 busy"
assert_line "pooled -s: pool hello" "$RUN_STDOUT" \
    "pool:                 hello"
status busy json
assert_eq "pooled -s busy json: exit 0" 0 "$RUN_STATUS"
assert_eq "pooled -s busy json: its one thread is busy" "busy 1 0" \
    "$(json_eval "$RUN_STDOUT" \
    '" ".join(str(v) for v in (s["pool"], s["active_threads"], s["idle_threads"]))')"
status busy full
assert_contains "pooled -s busy full: the request in hand" "$RUN_STDOUT" \
    "/busy?ms=4000"
# busy_counted: the status says busy reached its maximum.
busy_counted()
{
	status busy json
	[ "$(json_eval "$RUN_STDOUT" 's["max_reached"] > 0')" = True ]
}
if wait_for 5 busy_counted; then
	pass "a saturated static pool counts max_reached"
else
	fail "a saturated static pool counts max_reached" "$RUN_STDOUT"
fi
assert_true "... and logs it, as a warning" grep -q -E \
    "warning master\[[0-9]+\]: pool busy: max_processes \(1\) reached" \
    "$POOLED_LOG"
status openmetrics
assert_eq "openmetrics: one # EOF, at the end" "1 # EOF" \
    "$(printf '%s\n' "$RUN_STDOUT" | grep -c '^# EOF') $(printf '%s\n' \
    "$RUN_STDOUT" | tail -n 1)"
assert_contains "openmetrics: both pools" "$RUN_STDOUT" \
    'pooled_accepted_requests_total{pool="hello"}'
status nosuch
assert_eq "pooled -s nosuch: exit 1" 1 "$RUN_STATUS"
assert_contains "pooled -s nosuch: 404" "$RUN_STDERR" "404 Not Found"
got=$(json_eval "$(curl -s --max-time 5 --unix-socket "$T/status.sock" \
    "http://localhost/?json")" \
    'str(s["generation"]) + " " + str(sorted(p["pool"] for p in s["pools"]))')
assert_eq "curl on the status socket: JSON of every pool" \
    "1 ['busy', 'hello']" "$got"
reap_pid "$g1" 20
reap_pid "$g2" 20

# The listen queue of a unix socket (sock_diag): with hello's workers
# stopped, three connections wait in it.
status hello json
assert_eq "unix socket: queue empty, backlog 1024" "0 1024" \
    "$(json_eval "$RUN_STDOUT" '"%s %s" % (s["listen_queue"], s["listen_queue_len"])')"
workers=$(pool_workers hello | xargs)
kill -STOP $workers
got=$(timeout 15 python3 -c 'import json, socket, subprocess, sys
held = []
for i in range(3):
    c = socket.socket(socket.AF_UNIX)
    c.connect(sys.argv[1])
    held.append(c)
out = subprocess.run(sys.argv[2:], capture_output=True, text=True,
    timeout=10).stdout
print(json.loads(out)["listen_queue"])' "$T/hello.sock" \
    "$POOLED" -s -c "$POOLED_CONF" hello json 2>&1)
kill -CONT $workers
assert_eq "unix socket: three connections wait in the queue" 3 "$got"

# A reload whose workers fail is reported.
sed -i "s|module = \"$(module_path hello)\"|module = \"$(module_path failinit)\"|" \
    "$POOLED_CONF"
log_mark
signal_pooled HUP
assert_log "the reload fails" "master: reload failed" 15
status
assert_line "pooled -s: the failed reload" "$RUN_STDOUT" \
    "last reload:          failed: pool hello: a new worker exited 78 (configuration error) before it was ready"
assert_line "pooled -s: generation 1 still serves" "$RUN_STDOUT" \
    "generation:           1"

# Without status_listen, pooled -s says so.
POOLED_CONF_GLOBALS= write_pool_conf "$(pool_block hello "$T/other.sock" hello)"
status
assert_eq "no status_listen: exit 1" 1 "$RUN_STATUS"
assert_contains "no status_listen: says so" "$RUN_STDERR" \
    "sets no status_listen"
done_testing
