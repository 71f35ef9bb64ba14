#!/usr/bin/env bash
# 44-recycle: workers are replaced without losing capacity.  After
# max_requests (plus up to max_requests_jitter more) a worker asks to be
# replaced; its replacement starts first, then it finishes its requests
# and exits: under load every request gets 200.  A module request that
# outlives request_timeout has its connection cut; if the handler is
# still stuck in it, the worker is replaced while the others serve on,
# and stopped (SIGTERM after graceful_timeout).  slow_request logs a
# request slower than the threshold while it runs.
. "$(dirname "$0")/lib.sh"

POOLED_CONF_GLOBALS='graceful_timeout = 2'
write_pool_conf \
    "$(pool_block hello "$T/hello.sock" hello 'max_requests = 25')" \
    "$(pool_block jitter "$T/jitter.sock" hello 'processes = 1' \
    'max_requests = 10' 'max_requests_jitter = 10')" \
    "$(pool_block sleep "$T/sleep.sock" sleep 'threads = 1' \
    'request_timeout = 1' 'slow_request = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/hello=unix:$T/hello.sock" "/jitter=unix:$T/jitter.sock" \
    "/sleep=unix:$T/sleep.sock" || bail_out "nginx did not start"

# max_requests, under load.
first=$(pool_workers hello)
log_mark
parallel_get 300 4 "/hello?n=@ID@" "$T/load"
assert_parallel_status "max_requests: under load every request got 200" \
    "$T/load" 300 200
assert_log "max_requests: a worker says it served them" \
    "hello\[[0-9]+\]: worker: served 25 requests \(max_requests\); asking to be replaced" 5
assert_log "max_requests: the master replaces it" \
    "pool hello: replacing worker [0-9]+: it served max_requests" 5
assert_log "max_requests: the replacement comes first" \
    "pool hello: worker [0-9]+ replaces worker [0-9]+, which finishes its requests" 5
# Which worker reaches max_requests first depends on which one the
# kernel wakes: a cold one may serve none of the load.  Every worker that
# asked must be gone, and at least one of the first ones asked.
asked=$(log_since_mark | sed -n \
    's/.*hello\[\([0-9]*\)\]: worker: served 25 requests.*/\1/p' |
    sort -u | tr '\n' ' ')
first_asked=$(printf '%s\n' $asked | grep -Fxf <(printf '%s\n' $first) || true)
assert_ne "max_requests: one of the first workers asked" "" "$first_asked"
# shellcheck disable=SC2086
if wait_for 10 all_dead $asked; then
	pass "max_requests: every worker that asked is replaced"
else
	fail "max_requests: every worker that asked is replaced" \
	    "asked: $asked, first: $first, now: $(pool_workers hello)"
fi
if wait_for 10 workers_running 2 hello; then
	pass "max_requests: the pool is back to 2 workers"
else
	fail "max_requests: the pool is back to 2 workers" \
	    "$(pool_workers hello)"
fi
assert_no_log "max_requests: no worker was killed" \
    "pool hello: worker [0-9]+ (killed|exited [1-9])"

# Jitter: each worker goes after 10 to 20 requests.
parallel_get 120 2 "/jitter?n=@ID@" "$T/jload"
assert_parallel_status "jitter: every request got 200" "$T/jload" 120 200
counts=$(log_since_mark | sed -n \
    's/.*jitter\[[0-9]*\]: worker: served \([0-9]*\) requests.*/\1/p')
assert_ne "jitter: workers were replaced" "" "$counts"
bad=$(printf '%s\n' "$counts" | awk '$1 < 10 || $1 > 20')
assert_eq "jitter: each after 10 to 20 requests" "" "$bad"

# A stuck module request: cut, then the worker replaced and stopped.
log_mark
HTTP_TIMEOUT=20 http_get "/sleep?ms=30000" >/dev/null 2>&1 &
getter=$!
track_pid "$getter"
assert_log "stuck: slow_request logs it while it runs" \
    "slow request: GET /sleep\?ms=30000: running for [0-9]+ ms on thread 0 \(slow_request 1 s\)" 5
assert_log "stuck: request_timeout cuts its connection" \
    "GET /sleep\?ms=30000: still running after request_timeout \(1 s\); shutting its connection down \(thread 0" 5
assert_log "stuck: the handler is found stuck" \
    "GET /sleep\?ms=30000: the handler is stuck: still running [0-9]+ ms after its connection was shut down" 10
stuck=$(log_since_mark | sed -n \
    's/.*pool sleep: replacing worker \([0-9]*\): a request outlived request_timeout.*/\1/p' |
    head -n 1)
assert_ne "stuck: the worker is replaced" "" "$stuck"
http_get "/sleep?ms=10"
assert_status "stuck: the pool serves meanwhile" 200
assert_log "stuck: after graceful_timeout the worker gets SIGTERM" \
    "pool sleep: worker $stuck killed by signal 15" 15
if wait_for 10 workers_running 2 sleep; then
	pass "stuck: the pool is back to 2 workers"
else
	fail "stuck: the pool is back to 2 workers" "$(pool_workers sleep)"
fi
reap_pid "$getter" 25
http_get "/sleep?ms=10"
assert_status "stuck: the pool serves after" 200
done_testing
