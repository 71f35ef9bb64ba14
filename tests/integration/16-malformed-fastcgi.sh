#!/usr/bin/env bash
# 16-malformed-fastcgi: bytes that are not a FastCGI request header, sent
# straight to a pool's socket, get the connection closed and one log line
# naming the peer and the reason; the pool goes on answering nginx.
# (log_repeat_window = 0: every case's line is written; 72-log-limits
# tests the aggregation.)
. "$(dirname "$0")/lib.sh"

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf "$(pool_block hello "127.0.0.1:$FCGI_PORT" hello \
    'processes = 1' 'threads = 2' 'log_repeat_window = 0')"
start_pooled || bail_out "pooled did not start"
start_nginx "127.0.0.1:$FCGI_PORT" || bail_out "nginx did not start"

# send_raw HEX: connect, send the bytes, print what came back (if
# anything) and whether the server closed the connection.
send_raw()
{
	python3 - "$FCGI_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes.fromhex(sys.argv[2]))
try:
    data = s.recv(4096)
    print("closed" if data == b"" else "answered")
except ConnectionResetError:
    print("closed")		# closed with our bytes unread: a reset
except socket.timeout:
    print("open")
PY
}

hex_of() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# An HTTP request sent to the FastCGI port: a common misconfiguration.
log_mark
assert_eq "HTTP on the FastCGI socket: closed" closed \
    "$(send_raw "$(hex_of $'GET / HTTP/1.0\r\n\r\n')")"
assert_log "HTTP on the FastCGI socket: logged with peer and reason" \
    'malformed FastCGI request: not FastCGI version 1; connection closed'
assert_log "the peer is named" \
    'acceptor: 127\.0\.0\.1:[0-9]+: malformed FastCGI request'

# version 1, but params before any begin record
log_mark
assert_eq "params first: closed" closed \
    "$(send_raw 0104000100050000616263646500000000)"
assert_log "params first: logged" \
    'malformed FastCGI request: the first record is not FCGI_BEGIN_REQUEST'

# a begin record, then stdin before the params ended
log_mark
assert_eq "stdin inside the header: closed" closed \
    "$(send_raw 0101000100080000000100000000000001050001000100000078)"
assert_log "stdin inside the header: logged" \
    'a record other than FCGI_PARAMS before the params ended'

# Name and value lengths of 0x7ffffffe: libfcgi's parser would sum them
# in an int, overflow, and abort the worker.  Refused before it sees them.
begin=01010001000800000001000000000000
log_mark
assert_eq "param lengths beyond the params: closed" closed \
    "$(send_raw "${begin}0104000100120000fffffffefffffffe$(printf '61%.0s' $(seq 10))0104000100000000")"
assert_log "param lengths beyond the params: logged" \
    'malformed FastCGI request: a param length beyond the params'

# A management record (request id 0) alone: pooled answers it itself
# (libfcgi leaked memory on each); FCGI_UNKNOWN_TYPE, which only an
# application sends, closes the connection.
assert_eq "FCGI_GET_VALUES alone: answered" answered \
    "$(send_raw 0109000000000000)"
log_mark
assert_eq "FCGI_UNKNOWN_TYPE from the peer: closed" closed \
    "$(send_raw 010b0000000800000000000000000000)"
assert_log "FCGI_UNKNOWN_TYPE from the peer: logged" \
    "malformed FastCGI request: a request's record type with request id 0"

# params for another request id: libfcgi would wait for ours forever.
log_mark
assert_eq "params of another request: closed" closed \
    "$(send_raw "${begin}0104000200000000")"
assert_log "params of another request: logged" \
    'malformed FastCGI request: params for another request id'

for i in 1 2 3; do
	http_get "/?after=$i"
	assert_status "nginx request $i after the garbage" 200
done
assert_eq "the one worker never died" 1 "$(pooled_workers | wc -l)"
assert_no_log "no worker restarted" 'started worker'
done_testing
