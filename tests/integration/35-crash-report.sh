#!/usr/bin/env bash
# 35-crash-report: a worker killed by a signal is reported with the
# requests it had in flight (method, URI, thread, time), both of them
# when two threads were busy; a module that scribbled garbage over its
# scoreboard slot before crashing gets a bounded, escaped report.
. "$(dirname "$0")/lib.sh"

ulimit -c 0 2>/dev/null		# no core files from the crashes

write_pool_conf \
    "$(pool_block crash "$T/crash.sock" crash 'processes = 1' \
    'threads = 2')"
start_pooled || bail_out "pooled did not start"
start_nginx "/crash=unix:$T/crash.sock" || bail_out "nginx did not start"
assert_log "the worker started" "all pools started \(1 workers?\)" 10
assert_get "the pool answers" /crash/ alive 1

w="pool crash: worker [0-9]+"
sig11="$w killed by signal 11 \(Segmentation fault\)"

# One request crashes the worker: its line names it.
log_mark
http_get "/crash/?crash&x=1"
assert_status "a crashing request gets 502" 502
assert_log "the crash report names the request" \
    "$sig11 while serving 1 request$" 5
assert_log "... with method, URI, thread and time" \
    "$w: thread [01]: GET /crash/\?crash&x=1 \([0-9]+ ms\)$" 5
assert_log "the replacement starts" "pool crash: started worker" 10
assert_get "the pool serves again" /crash/ alive 1

# Two threads busy: one sleeps, the other crashes; both are listed.
log_mark
curl -s --max-time 15 -o /dev/null "$NGINX_URL/crash/?sleep&y=2" &
track_pid $!
assert_log "one thread sleeps" "crash: sleeping" 5
http_get "/crash/?crash&x=3"
assert_status "the second crashing request gets 502" 502
assert_log "the report counts both requests" \
    "$sig11 while serving 2 requests$" 5
assert_log "the sleeping request is listed" \
    "$w: thread [01]: GET /crash/\?sleep&y=2 \([0-9]+ ms\)$" 5
assert_log "the crashing request is listed" \
    "$w: thread [01]: GET /crash/\?crash&x=3 \([0-9]+ ms\)$" 5
assert_log "the replacement starts" "pool crash: started worker" 10
assert_get "the pool serves again" /crash/ alive 1

# A module overwrites its slot (unterminated URI of escapes, method of
# DEL bytes, start time INT64_MIN), then crashes: the report is one line
# per request, printable, the URI at most 255 bytes, the time no more
# than the worker lived.
log_mark
http_get "/crash/?scribble"
assert_status "the scribbling request gets 502" 502
assert_log "the scribbled crash is reported" \
    "$sig11 while serving 1 request$" 5
line=$(log_since_mark | grep -E "$w: thread" | head -n 1)
uri=$(printf '%s\n' "$line" |
    sed -n 's/.*: thread [01]: [^ ]* \([^ ]*\) ([0-9]* ms)$/\1/p')
ms=$(printf '%s\n' "$line" | sed -n 's/.* (\([0-9]*\) ms)$/\1/p')
assert_ne "the scribbled slot is reported" "" "$uri"
assert_true "its URI is bounded (${#uri} bytes)" [ "${#uri}" -le 255 ]
assert_true "its URI is printable" \
    sh -c '! printf "%s" "$1" | LC_ALL=C grep -q "[^ -~]"' sh "$uri"
assert_true "its time is bounded by the worker's life (${ms:-none} ms)" \
    [ "${ms:-99999999}" -lt 600000 ]
assert_log "the replacement starts" "pool crash: started worker" 10
assert_get "the pool serves again" /crash/ alive 1

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
