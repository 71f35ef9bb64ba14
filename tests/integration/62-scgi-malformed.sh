#!/usr/bin/env bash
# 62-scgi-malformed: bytes that are not a valid SCGI request, sent straight
# to an SCGI pool's socket.  Each malformed header is answered "Status:
# 400 Bad Request" where the peer can still read it, closed, and logged
# once with the peer and the reason; a body that ends before
# CONTENT_LENGTH is answered 400.  Requests at the limits (a header block
# of exactly scgi_header_max bytes, exactly scgi_max_headers headers,
# CONTENT_LENGTH 0, a body of exactly CONTENT_LENGTH bytes) are served.
# Slow peers: one that sends part of a header holds no thread and is
# closed after read_timeout; one that stalls in its body holds a thread
# until read_timeout, then gets a 408.  After each case the pool still
# answers nginx.
. "$(dirname "$0")/lib.sh"

# Pool s: strict limits, on a unix socket.  Pool t: default limits, two
# threads and a short read_timeout, on TCP, for the slow peers.  (nginx
# sends 18 headers for a plain GET, so scgi_max_headers cannot go far
# below 24.)  log_repeat_window = 0: every case's line is written.
free_port SLOW_PORT || bail_out "no free port"
SOCK=$T/s.sock
write_pool_conf \
    "$(pool_block s "$SOCK" echo 'protocol = "scgi"' 'processes = 1' \
    'threads = 2' 'scgi_header_max = 1024' 'scgi_max_headers = 24' \
    'log_repeat_window = 0')" \
    "$(pool_block t "127.0.0.1:$SLOW_PORT" echo 'protocol = "scgi"' \
    'processes = 1' 'threads = 2' 'read_timeout = 2' \
    'log_repeat_window = 0')"
start_pooled || bail_out "pooled did not start"
start_nginx "scgi:/s/=unix:$SOCK" "scgi:/t/=127.0.0.1:$SLOW_PORT" ||
    bail_out "nginx did not start"
wait_for 10 workers_running 1 s || bail_out "pool s has no worker"
wait_for 10 workers_running 1 t || bail_out "pool t has no worker"
S_WORKER=$(pool_workers s)
T_WORKER=$(pool_workers t)

# scgi.py ADDR MODE EXPR REPLYFILE: connect to ADDR (a unix socket path or
# host:port), send the bytes the Python expression EXPR makes, and read
# what comes back into REPLYFILE.  Prints "peer NAME" (the peer as pooled
# names it: "unix peer pid N" or "127.0.0.1:PORT"), "sent", then "end
# closed" (EOF or reset: the server closed), or "end open" (nothing more
# for the read timeout).  MODE: send (read for 5 s), shut (shutdown(
# SHUT_WR) after sending, read for 5 s), hold (read for 15 s: a slow peer).
cat >"$T/scgi.py" <<'PY'
import os, socket, sys

def h(*pairs):
    """A header block from (name, value) pairs."""
    return b"".join(n + b"\0" + v + b"\0" for n, v in pairs)

def ns(block, tail=b","):
    """The netstring of a block (tail: what follows it)."""
    return str(len(block)).encode() + b":" + block + tail

def std(cl=b"0", uri=b"/raw"):
    """The headers of a good request."""
    return [(b"CONTENT_LENGTH", cl), (b"SCGI", b"1"),
            (b"REQUEST_METHOD", b"GET" if cl == b"0" else b"POST"),
            (b"REQUEST_URI", uri)]

def sized(n, uri=b"/sized"):
    """A good header block of exactly n bytes."""
    base = h(*std(uri=uri))
    return base + h((b"PAD", b"p" * (n - len(base) - len(b"PAD") - 2)))

def many(k):
    """A good header block with k headers in all."""
    hs = std(uri=b"/many")
    return h(*(hs + [(b"X_%d" % i, b"v") for i in range(k - len(hs))]))

addr, mode, expr, out = sys.argv[1:5]
data = eval(expr)
if addr.startswith("/"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(addr)
    peer = "unix peer pid %d" % os.getpid()
else:
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    peer = "%s:%d" % s.getsockname()[:2]
print("peer", peer, flush=True)
s.settimeout(15 if mode == "hold" else 5)
s.sendall(data)
if mode == "shut":
    s.shutdown(socket.SHUT_WR)
print("sent", flush=True)
reply = b""
end = "closed"
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        reply += d
except ConnectionResetError:
    pass
except socket.timeout:
    end = "open"
with open(out, "wb") as f:
    f.write(reply)
print("end", end, flush=True)
PY

RAW_N=0

# raw ADDR MODE EXPR: run scgi.py; sets RAW_PEER, RAW_END and RAW_REPLY
# (the reply, NULs dropped).
raw()
{
	local o

	RAW_N=$((RAW_N + 1))
	o=$(timeout -k 2 25 python3 "$T/scgi.py" "$1" "$2" "$3" \
	    "$T/reply.$RAW_N" 2>"$T/raw.err")
	RAW_PEER=$(printf '%s\n' "$o" | sed -n 's/^peer //p')
	RAW_END=$(printf '%s\n' "$o" | sed -n 's/^end //p')
	RAW_REPLY=$(tr -d '\000' <"$T/reply.$RAW_N" 2>/dev/null)
	if [ -s "$T/raw.err" ]; then
		diag "scgi.py: $(cat "$T/raw.err")"
	fi
}

# log_fixed_count STRING: how many lines since log_mark contain STRING.
log_fixed_count()
{
	log_since_mark | grep -F -c -e "$1"
}

log_fixed_has()
{
	[ "$(log_fixed_count "$1")" -ge 1 ]
}

# assert_one_log NAME STRING [SECONDS]: within SECONDS (5), one line since
# log_mark contains STRING, and it is the only "malformed SCGI request"
# line.
assert_one_log()
{
	local got

	wait_for "${3:-5}" log_fixed_has "$2"
	got="$(log_fixed_count "$2") $(log_fixed_count 'malformed SCGI request')"
	if [ "$got" = "1 1" ]; then
		pass "$1"
	else
		fail "$1" "expected one line with: $2" \
		    "(lines with it, malformed lines: $got)" \
		    "$(log_since_mark | tail -n 10)"
	fi
}

# assert_prefix NAME TEXT PREFIX: TEXT starts with PREFIX.
assert_prefix()
{
	case $2 in
	"$3"*)
		pass "$1" ;;
	*)
		fail "$1" "expected to start with: $3" "got: ${2:0:300}" ;;
	esac
}

GOOD_N=0

# assert_good NAME PREFIX: a GET through nginx to PREFIX (/s/ or /t/) is
# answered 200 by echo.
assert_good()
{
	GOOD_N=$((GOOD_N + 1))
	http_get "$2x?good=$GOOD_N"
	assert_eq "$1" "200 QUERY_STRING=good=$GOOD_N" \
	    "$HTTP_STATUS $(printf '%s\n' "$HTTP_BODY" | grep '^QUERY_STRING=')"
}

BAD_REPLY=$'Status: 400 Bad Request\r\n'

# refused NAME EXPR WHY: the bytes EXPR makes, sent to pool s, are
# answered 400, closed, logged once with the peer and WHY; nginx is still
# answered.
refused()
{
	local name=$1

	log_mark
	raw "$SOCK" send "$2"
	assert_prefix "$name: answered 400" "$RAW_REPLY" "$BAD_REPLY"
	assert_eq "$name: the connection is closed" closed "$RAW_END"
	assert_one_log "$name: logged once with the peer and the reason" \
	    "acceptor: $RAW_PEER: malformed SCGI request: $3; connection closed"
	assert_good "$name: nginx is answered after it" /s/
}

# The netstring length.
refused "a length with a letter" 'b"4x:" + h(*std()) + b","' \
    "a netstring length that is not a number"
refused "a missing ':'" 'str(len(h(*std()))).encode() + h(*std()) + b","' \
    "a netstring length that is not a number"
refused "an empty length" 'b":" + h(*std()) + b","' \
    "a netstring length that is not a number"
refused "a negative length" 'b"-5:" + h(*std()) + b","' \
    "a netstring length that is not a number"
refused "a length with a leading zero" 'b"0" + ns(h(*std()))' \
    "a netstring length with a leading zero"
refused "a zero length" 'b"0:,"' "an empty header block"
refused "a block one byte past scgi_header_max" 'ns(sized(1025))' \
    "a header block larger than scgi_header_max"
# Refused from the digits alone: no block is sent, none is waited for.
refused "a length of 30 digits" 'b"9" * 30 + b":"' \
    "a header block larger than scgi_header_max"
refused "a length past SIZE_MAX" 'b"18446744073709551616:"' \
    "a header block larger than scgi_header_max"
refused "no ',' after the block" 'ns(h(*std()), tail=b";")' \
    "a netstring without its closing ','"
refused "a body where the ',' belongs" \
    'ns(h(*std(cl=b"3")), tail=b"abc")' \
    "a netstring without its closing ','"

# CONTENT_LENGTH.
refused "no CONTENT_LENGTH" \
    'ns(h((b"SCGI", b"1"), (b"REQUEST_METHOD", b"GET")))' \
    "CONTENT_LENGTH missing or not the first header"
refused "CONTENT_LENGTH second" \
    'ns(h((b"SCGI", b"1"), (b"CONTENT_LENGTH", b"0")))' \
    "CONTENT_LENGTH missing or not the first header"
refused "a longer name starting CONTENT_LENGTH first" \
    'ns(h((b"CONTENT_LENGTHS", b"0"), (b"SCGI", b"1")))' \
    "CONTENT_LENGTH missing or not the first header"
refused "CONTENT_LENGTH twice" \
    'ns(h(*std(), (b"CONTENT_LENGTH", b"0")))' \
    "a second CONTENT_LENGTH header"
refused "CONTENT_LENGTH -1" 'ns(h(*std(cl=b"-1")))' \
    "a CONTENT_LENGTH that is not a number"
refused "CONTENT_LENGTH 12a" 'ns(h(*std(cl=b"12a")))' \
    "a CONTENT_LENGTH that is not a number"
refused "CONTENT_LENGTH empty" 'ns(h(*std(cl=b"")))' \
    "a CONTENT_LENGTH that is not a number"
refused "CONTENT_LENGTH with a blank" 'ns(h(*std(cl=b" 1")))' \
    "a CONTENT_LENGTH that is not a number"
refused "CONTENT_LENGTH INT64_MAX + 1" \
    'ns(h(*std(cl=b"9223372036854775808")))' \
    "a CONTENT_LENGTH that is too large"
refused "CONTENT_LENGTH of 30 digits" 'ns(h(*std(cl=b"9" * 30)))' \
    "a CONTENT_LENGTH that is too large"

# The other headers.
refused "a value without its NUL" 'ns(h(*std()) + b"X\0y")' \
    "a header without its NUL"
refused "a name without its NUL" 'ns(h(*std()) + b"XY")' \
    "a header without its NUL"
refused "a name without its value" 'ns(h(*std()) + b"X\0")' \
    "a header name without its value"
refused "no SCGI header" \
    'ns(h((b"CONTENT_LENGTH", b"0"), (b"REQUEST_METHOD", b"GET")))' \
    "no SCGI header"
refused "SCGI 2" 'ns(h((b"CONTENT_LENGTH", b"0"), (b"SCGI", b"2")))' \
    "an SCGI header whose value is not 1"
refused "SCGI 10" 'ns(h((b"CONTENT_LENGTH", b"0"), (b"SCGI", b"10")))' \
    "an SCGI header whose value is not 1"
refused "SCGI empty" 'ns(h((b"CONTENT_LENGTH", b"0"), (b"SCGI", b"")))' \
    "an SCGI header whose value is not 1"
refused "25 headers, scgi_max_headers 24" 'ns(many(25))' \
    "more headers than scgi_max_headers"
refused "a name with '='" 'ns(h(*std(), (b"A=B", b"c")))' \
    "a header name with '='"
refused "an empty name" 'ns(h(*std(), (b"", b"v")))' \
    "an empty header name"

# A body shorter than CONTENT_LENGTH: the peer sends 40 of 100 bytes and
# shuts its side down.
log_mark
raw "$SOCK" shut 'ns(h(*std(cl=b"100", uri=b"/short"))) + b"b" * 40'
assert_prefix "a short body: answered 400" "$RAW_REPLY" "$BAD_REPLY"
assert_eq "a short body: the connection is closed" closed "$RAW_END"
assert_one_log "a short body: logged once with the peer and the counts" \
    "$RAW_PEER: malformed SCGI request: the body ended after 40 of 100 \
body bytes"
assert_eq "a short body: the answer is logged with the request" 1 \
    "$(log_fixed_count \
    'POST /short: the request body was cut short; answering 400')"
assert_good "a short body: nginx is answered after it" /s/

# CONTENT_LENGTH INT64_MAX is a number the parser takes; it is over
# max_body (1 GiB by default), so it is answered 413 before echo runs.
log_mark
raw "$SOCK" shut \
    'ns(h(*std(cl=b"9223372036854775807", uri=b"/max"))) + b"b" * 5'
assert_prefix "CONTENT_LENGTH INT64_MAX: over max_body, answered 413" \
    "$RAW_REPLY" $'Status: 413 Content Too Large\r\n'
wait_for 5 log_fixed_has "POST /max: CONTENT_LENGTH is larger"
assert_eq "CONTENT_LENGTH INT64_MAX: logged once with the request" 1 \
    "$(log_fixed_count \
    'POST /max: CONTENT_LENGTH is larger than max_body; answering 413')"

# Good requests, sent raw: answered 200 by echo, then closed.
# good_raw NAME ADDR EXPR LINE...: each LINE is a line of the answer.
good_raw()
{
	local name=$1 addr=$2 expr=$3 line

	shift 3
	log_mark
	raw "$addr" send "$expr"
	assert_prefix "$name: answered 200" "$RAW_REPLY" $'Status: 200 OK\r\n'
	assert_eq "$name: then closed" closed "$RAW_END"
	for line in "$@"; do
		assert_line "$name: $line" "$(tr -d '\r' <"$T/reply.$RAW_N")" \
		    "$line"
	done
	assert_eq "$name: nothing logged as malformed" 0 \
	    "$(log_fixed_count 'malformed SCGI request')"
}

good_raw "a body of CONTENT_LENGTH bytes" "$SOCK" \
    '(ns(h(*std(cl=b"1000", uri=b"/body"))) + bytes(range(256)) * 3 +
    b"z" * 232)' \
    "CONTENT_LENGTH=1000" "REQUEST_URI=/body" "SCGI=1" "body-bytes: 1000"
good_raw "CONTENT_LENGTH 0" "$SOCK" 'ns(h(*std(uri=b"/zero")))' \
    "CONTENT_LENGTH=0" "REQUEST_URI=/zero" "body-bytes: 0"
good_raw "a block of exactly scgi_header_max bytes" "$SOCK" \
    'ns(sized(1024))' "REQUEST_URI=/sized" "body-bytes: 0"
good_raw "exactly scgi_max_headers (24) headers" "$SOCK" 'ns(many(24))' \
    "X_19=v" "REQUEST_URI=/many" "body-bytes: 0"
# Pool t has the default scgi_header_max, 65536: a header past the 4 KiB
# the acceptor peeks at first, up to the limit, and one byte past it.
# sized(): the four headers of std() take 62 bytes, "PAD" and its NULs 5.
good_raw "a 65536-byte block (default scgi_header_max)" \
    "127.0.0.1:$SLOW_PORT" 'ns(sized(65536))' \
    "PAD=$(head -c $((65536 - 62 - 5)) /dev/zero | tr '\0' p)" \
    "body-bytes: 0"
log_mark
raw "127.0.0.1:$SLOW_PORT" send 'ns(sized(65537))'
assert_prefix "a 65537-byte block: answered 400" "$RAW_REPLY" "$BAD_REPLY"
assert_one_log "a 65537-byte block: logged with the TCP peer" \
    "acceptor: $RAW_PEER: malformed SCGI request: a header block larger \
than scgi_header_max; connection closed"
case $RAW_PEER in
127.0.0.1:[0-9]*)
	pass "the TCP peer is named by address and port" ;;
*)
	fail "the TCP peer is named by address and port" "got: $RAW_PEER" ;;
esac

# Part of a header, then the peer shuts its side down: the rest can never
# come, so the connection is closed at once, not at read_timeout (30 s).
raw "$SOCK" shut 'b"100:CONTENT_LENGTH\0" + b"1"'
assert_eq "a half-closed partial header: closed at once, no answer" \
    "closed:" "$RAW_END:$RAW_REPLY"

# Slow peers, pool t (two threads, read_timeout 2 s).
# hold NAME EXPR: a background scgi.py in hold mode, its output in
# $T/NAME.out.
HOLD_PIDS=()
hold()
{
	timeout -k 2 25 python3 "$T/scgi.py" "127.0.0.1:$SLOW_PORT" hold \
	    "$2" "$T/$1.reply" >"$T/$1.out" 2>"$T/$1.err" &
	track_pid "$!"
	HOLD_PIDS+=("$!")
}

# all_have WORD NAME...: each $T/NAME.out has a line starting with WORD.
all_have()
{
	local w=$1 n

	shift
	for n in "$@"; do
		grep -q "^$w" "$T/$n.out" 2>/dev/null || return 1
	done
}

# count_have WORD NAME...: print how many $T/NAME.out have such a line.
count_have()
{
	local w=$1 n c=0

	shift
	for n in "$@"; do
		grep -q "^$w" "$T/$n.out" 2>/dev/null && c=$((c + 1))
	done
	printf '%d\n' "$c"
}

# parked_closed: print how many connections the parking lot closed for
# their header since log_mark; parked_closed_at_least N, for wait_for.
PARKED_CLOSED='closed [0-9]+ connections whose request header did not arrive'
PARKED_CLOSED+=' within read_timeout'
parked_closed()
{
	log_sum "$PARKED_CLOSED"
}

parked_closed_at_least()
{
	[ "$(parked_closed)" -ge "$1" ]
}

reap_holders()
{
	local pid

	for pid in "${HOLD_PIDS[@]}"; do
		reap_pid "$pid" 25
	done
	HOLD_PIDS=()
}

# (a) Five peers send part of a header, then nothing.
PARTIAL=(p1 p2 p3 p4 p5)
log_mark
for n in "${PARTIAL[@]}"; do
	hold "$n" 'ns(h(*std()))[:30]'
done
wait_for 10 all_have sent "${PARTIAL[@]}" ||
    diag "not every partial peer sent its bytes"
sleep 0.3
http_get "/t/x?while=partial"
assert_eq "5 partial headers hold no thread: nginx is answered" \
    "200 QUERY_STRING=while=partial" \
    "$HTTP_STATUS $(printf '%s\n' "$HTTP_BODY" | grep '^QUERY_STRING=')"
# Answered while they were all still there, not after they were closed.
assert_eq "... while the 5 partial peers were still connected" "0 0" \
    "$(count_have end "${PARTIAL[@]}") $(parked_closed)"
wait_for 10 all_have end "${PARTIAL[@]}"
assert_eq "the 5 partial peers are closed after read_timeout" 5 \
    "$(count_have 'end closed' "${PARTIAL[@]}")"
wait_for 5 parked_closed_at_least 5
assert_eq "their closing is logged by the parking lot" 5 "$(parked_closed)"
assert_eq "a partial header is not logged as malformed" 0 \
    "$(log_fixed_count 'malformed SCGI request')"
reap_holders
assert_good "nginx is answered after the partial peers" /t/

# (b) Two peers send a whole header announcing 1000 body bytes, 10 of
# them, then nothing: each holds one of the two threads until its read
# times out (read_timeout), and is answered 408.
STALL=(b1 b2)
log_mark
for n in "${STALL[@]}"; do
	hold "$n" 'ns(h(*std(cl=b"1000", uri=b"/stall"))) + b"s" * 10'
done
wait_for 10 all_have sent "${STALL[@]}" ||
    diag "not every stalling peer sent its bytes"
sleep 0.3
HTTP_TIMEOUT=20 http_get "/t/x?while=stall"
assert_eq "a request sent while both threads stall is answered" \
    "200 QUERY_STRING=while=stall" \
    "$HTTP_STATUS $(printf '%s\n' "$HTTP_BODY" | grep '^QUERY_STRING=')"
# It waited for a thread: a stalled read had timed out before.
STALLED='malformed SCGI request: the body stalled after 10 of 1000 body bytes'
stalled_lines=$(log_fixed_count "$STALLED")
assert_true "... only once a stalled body had freed a thread" \
    test "$stalled_lines" -ge 1
wait_for 10 all_have end "${STALL[@]}"
for n in "${STALL[@]}"; do
	peer=$(sed -n 's/^peer //p' "$T/$n.out")
	assert_prefix "stalled peer $n: answered 408" \
	    "$(tr -d '\000' <"$T/$n.reply")" $'Status: 408 Request Timeout\r\n'
	assert_eq "stalled peer $n: then closed" "end closed" \
	    "$(grep '^end' "$T/$n.out")"
	assert_eq "stalled peer $n: logged once with its peer" 1 \
	    "$(log_fixed_count "$peer: $STALLED")"
done
assert_eq "both answers are logged with the request" 2 \
    "$(log_fixed_count \
    'POST /stall: the request body was cut short; answering 408')"
reap_holders
assert_good "nginx is answered after the stalled peers" /t/

assert_eq "pool s: the worker never changed" "$S_WORKER" "$(pool_workers s)"
assert_eq "pool t: the worker never changed" "$T_WORKER" "$(pool_workers t)"
done_testing
