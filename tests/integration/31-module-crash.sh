#!/usr/bin/env bash
# 31-module-crash: a handler that crashes takes its worker down; the
# client gets 502 from nginx, the master logs the signal and replaces the
# worker, the pool serves again, and another pool is not disturbed.
. "$(dirname "$0")/lib.sh"

ulimit -c 0 2>/dev/null		# no core files from the crash

write_pool_conf \
    "$(pool_block crash "$T/crash.sock" crash 'processes = 2')" \
    "$(pool_block hello "$T/hello.sock" hello 'processes = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "/crash=unix:$T/crash.sock" "/hello=unix:$T/hello.sock" ||
    bail_out "nginx did not start"
assert_log "all workers started" "all pools started \(4 workers\)" 10

crash_before=$(pool_workers crash)
hello_before=$(pool_workers hello)
assert_eq "crash pool has 2 workers" 2 "$(count_lines "$crash_before")"
assert_eq "hello pool has 2 workers" 2 "$(count_lines "$hello_before")"

assert_get "crash pool answers before the crash" /crash/ alive 3
assert_get "hello pool answers before the crash" /hello/ "Hello, world" 3

log_mark
http_get "/crash/?crash"
assert_status "a crashing request gets 502" 502
assert_log "the handler's last words are logged" \
    "crash\[[0-9]+\]: req [0-9]+: crash: crashing now" 5
assert_log "the master logs the signal" \
    "pool crash: worker [0-9]+ killed by signal 11" 5
victim=$(log_since_mark |
    sed -n 's/.*pool crash: worker \([0-9]*\) killed by signal 11.*/\1/p' |
    head -n 1)
assert_eq "the crashed worker was one of the crash pool" "${victim:-none}" \
    "$(printf '%s\n' "$crash_before" | grep -x -e "${victim:-none}")"

# Meanwhile, and while the replacement waits for its back-off, the other
# worker of the pool serves.
assert_get "hello pool serves right after the crash" /hello/ "Hello, world" 5

if wait_for 10 workers_replaced "${victim:-none}" 2 crash; then
	pass "the crashed worker is replaced"
else
	fail "the crashed worker is replaced" "workers: $(pool_workers crash)"
fi
assert_log "the replacement is logged" "pool crash: started worker" 1

assert_get "20 requests to the crash pool all answer alive" /crash/ alive 20
assert_get "hello pool serves after the crash" /hello/ "Hello, world" 5
assert_eq "hello pool kept its workers" "$hello_before" \
    "$(pool_workers hello)"
assert_eq "exactly one worker ended" 1 "$(log_count 'worker [0-9]+ (killed|exited)')"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
