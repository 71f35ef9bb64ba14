#!/usr/bin/env bash
# 45-pm-status: the status page and ping, answered by the workers of any
# pool; dynamic pools growing under load up to max_processes (and saying
# so when they reach it) and shrinking back when idle; ondemand pools
# starting a worker for the first connection and stopping it after
# idle_timeout.
. "$(dirname "$0")/lib.sh"

free_port HELLO_PORT || bail_out "no free port"
STATUS='status_path = "/pooled-status"'
write_pool_conf \
    "$(pool_block hello "127.0.0.1:$HELLO_PORT" hello "$STATUS" \
    'ping_path = "/ping"')" \
    "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 1' \
    'status_path = "/sleep-status"')" \
    "$(pool_block dyn "$T/dyn.sock" sleep 'pm = "dynamic"' \
    'processes = 1' 'min_processes = 1' 'max_processes = 3' \
    'min_spare_threads = 1' 'max_spare_threads = 3' \
    'status_path = "/dyn-status"')" \
    "$(pool_block od "$T/od.sock" hello 'pm = "ondemand"' \
    'max_processes = 2' 'threads = 1' 'idle_timeout = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "/hello=127.0.0.1:$HELLO_PORT" "/ping=127.0.0.1:$HELLO_PORT" \
    "/pooled-status=127.0.0.1:$HELLO_PORT" "/sleep=unix:$T/sleep.sock" \
    "/sleep-status=unix:$T/sleep.sock" \
    "/dyn=unix:$T/dyn.sock" "/dyn-status=unix:$T/dyn.sock" \
    "/od=unix:$T/od.sock" ||
    bail_out "nginx did not start"

# json EXPR: evaluate a Python expression on the last answer, as JSON (s).
json()
{
	json_eval "$HTTP_BODY" "$1"
}

http_get /ping
assert_status "ping: 200" 200
assert_eq "ping: pong" pong "$HTTP_BODY"

parallel_get 20 4 "/hello?n=@ID@" "$T/par"
assert_parallel_status "20 requests" "$T/par" 20 200
http_get /pooled-status
assert_status "status: 200" 200
assert_eq "status: text" "text/plain; charset=utf-8" \
    "$(http_header Content-Type)"
assert_line "status: the pool" "$HTTP_BODY" "pool:                 hello"
assert_line "status: its pm" "$HTTP_BODY" "process manager:      static"
assert_contains "status: the listen queue of a TCP socket" "$HTTP_BODY" \
    "max listen queue:     "
http_get "/pooled-status?json"
assert_eq "json: application/json" application/json \
    "$(http_header Content-Type)"
assert_eq "json: the pool" hello "$(json 's["pool"]')"
assert_eq "json: every request counted (20 + ping + status)" True \
    "$(json 's["accepted_requests"] >= 22')"
assert_eq "json: processes" 2 "$(json 's["total_processes"]')"
assert_eq "json: threads" 4 "$(json 's["total_threads"]')"
assert_eq "json: the workers' pids" "$(pool_workers hello | sort -n | xargs)" \
    "$(json '" ".join(sorted(str(p["pid"]) for p in s["processes"]))')"
assert_eq "json: their RSS" True \
    "$(json 'all(p["rss_kb"] > 0 for p in s["processes"])')"
assert_eq "json: the backlog of the TCP socket" 1024 \
    "$(json 's["listen_queue_len"]')"
http_get "/pooled-status?full&json"
assert_eq "full: the status request itself runs on a thread" \
    "GET /pooled-status?full&json" \
    "$(json '[t["method"] + " " + t["uri"] for p in s["processes"] for t in p["threads"] if t["state"] == "running"][0]')"
http_get "/pooled-status?openmetrics"
assert_contains "openmetrics: its content type" \
    "$(http_header Content-Type)" "application/openmetrics-text"
assert_line "openmetrics: ends with # EOF" "$(printf '%s\n' "$HTTP_BODY" |
    tail -n 1)" "# EOF"
assert_contains "openmetrics: accepted requests" "$HTTP_BODY" \
    'pooled_accepted_requests_total{pool="hello"}'

# A request in hand shows on its pool's page, with its URI and duration.
HTTP_TIMEOUT=10 http_get "/sleep?ms=3000" >/dev/null 2>&1 &
getter=$!
track_pid "$getter"
# running_sleep: the sleep pool's page shows the request running.
running_sleep()
{
	http_get "/sleep-status?full&json"
	[ "$(json '[t["duration_ms"] > 0 for p in s["processes"] for t in p["threads"] if t["uri"] == "/sleep?ms=3000" and t["state"] == "running"]')" = "[True]" ]
}
if wait_for 5 running_sleep; then
	pass "full: a running request, its URI and how long it runs"
else
	fail "full: a running request, its URI and how long it runs" \
	    "$HTTP_BODY"
fi
reap_pid "$getter" 15

# A dynamic pool grows under load, up to max_processes, then shrinks.
log_mark
parallel_get 12 12 "/dyn?ms=2500&n=@ID@" "$T/dload" &
loader=$!
track_pid "$loader"
if wait_for 10 workers_running 3 dyn; then
	pass "dynamic: it grows to max_processes under load"
else
	fail "dynamic: it grows to max_processes under load" \
	    "$(pool_workers dyn)"
fi
assert_log "dynamic: the growth is logged" \
    "pool dyn: 0 idle threads: starting [0-9]+ worker" 0
assert_log "dynamic: reaching max_processes is logged" \
    "pool dyn: max_processes \(3\) reached with no thread idle" 10
reap_pid "$loader" 30
assert_parallel_status "dynamic: every request of the load got 200" \
    "$T/dload" 12 200
if wait_for 15 workers_running 1 dyn; then
	pass "dynamic: idle, it shrinks back to min_processes"
else
	fail "dynamic: idle, it shrinks back to min_processes" \
	    "$(pool_workers dyn)"
fi
assert_log "dynamic: the shrinking is logged" \
    "pool dyn: [0-9]+ idle threads, more than max_spare_threads \(3\): stopping worker" 0
http_get "/dyn-status?json"
assert_eq "dynamic: its page says dynamic" dynamic \
    "$(json 's["process_manager"]')"
assert_eq "dynamic: and counts max reached" True \
    "$(json 's["max_reached"] > 0')"

# An ondemand pool starts with no worker, and gets one for a request.
assert_eq "ondemand: no worker at start" "" "$(pool_workers od)"
log_mark
http_get "/od?first"
assert_status "ondemand: the first request is answered" 200
assert_log "ondemand: a worker started for it" \
    "pool od: 0 idle threads, connections waiting: starting 1 worker" 0
assert_eq "ondemand: one worker" 1 "$(count_lines "$(pool_workers od)")"
assert_log "ondemand: stopped after idle_timeout" \
    "pool od: worker [0-9]+ idle for [0-9]+ ms \(idle_timeout 2 s\): stopping it" 10
if wait_for 5 test -z "$(pool_workers od)"; then
	pass "ondemand: no worker left"
else
	fail "ondemand: no worker left" "$(pool_workers od)"
fi
http_get "/od?again"
assert_status "ondemand: answered again" 200
assert_no_log "no worker crashed" "killed by signal|exited [1-9]"
done_testing
