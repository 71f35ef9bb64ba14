#!/usr/bin/env bash
# 33-handler-error: a handler that fails before writing anything gets the
# client a 500 from pooled and one log line naming the request; so does a
# handler that returns success without writing a response (the fail test
# handler's "?silent").  The worker survives both and the next request is
# served normally.
. "$(dirname "$0")/lib.sh"

write_pool_conf "$(pool_block fail "$T/fail.sock" fail 'processes = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/fail=unix:$T/fail.sock" || bail_out "nginx did not start"
assert_log "all workers started" "all pools started" 10
workers_before=$(pooled_workers)

http_get /fail/
assert_status "a normal request: 200" 200
assert_eq "a normal request: body" ok "$HTTP_BODY"

log_mark
http_get "/fail/?fail"
assert_status "a failing GET: 500" 500
assert_eq "a failing GET: pooled's 500 body" "500 Internal Server Error" \
    "$HTTP_BODY"
assert_log "a failing GET: logged with method and URI" \
    "fail\[[0-9]+\]: req [0-9]+: GET /fail/\?fail: the handler failed; answering 500$" 5

log_mark
http_post "/fail/?fail=post" "some body"
assert_status "a failing POST: 500" 500
assert_log "a failing POST: logged with method and URI" \
    "req [0-9]+: POST /fail/\?fail=post: the handler failed; answering 500$" 5

http_get /fail/
assert_status "the next request: 200" 200
assert_eq "the next request: body" ok "$HTTP_BODY"

log_mark
http_get "/fail/?silent"
assert_status "a handler that writes nothing: 500" 500
assert_eq "a handler that writes nothing: pooled's 500 body" \
    "500 Internal Server Error" "$HTTP_BODY"
assert_log "a handler that writes nothing: logged" \
    "fail\[[0-9]+\]: req [0-9]+: GET /fail/\?silent: the handler wrote no response; answering 500$" 5

http_get /fail/
assert_status "the request after the silent one: 200" 200
assert_eq "the request after the silent one: body" ok "$HTTP_BODY"

assert_eq "no worker died" 0 \
    "$(grep -E -c 'worker [0-9]+ (exited|killed)' "$POOLED_LOG")"
assert_eq "the same workers still run" "$workers_before" "$(pooled_workers)"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
