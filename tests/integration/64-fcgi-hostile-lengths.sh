#!/usr/bin/env bash
# 64-fcgi-hostile-lengths: what a hostile client talking straight to a
# FastCGI pool sends as lengths.  A CONTENT_LENGTH that is not a decimal
# number is refused 400 before the handler runs (a CGI program's atoi()
# and pooled would read it differently); one whose digits overflow is
# over any max_body: 413.  A param given twice has its last value for
# pooled too, as for a CGI program, so that max_body is checked against
# the CONTENT_LENGTH the handler sees and the log names the URI it runs.
. "$(dirname "$0")/lib.sh"

free_port PORT || bail_out "no free port"
write_pool_conf "$(pool_block len "127.0.0.1:$PORT" echo \
    'processes = 1' 'threads = 2' 'max_body = 100000' \
    'log_repeat_window = 0')"
start_pooled || bail_out "pooled did not start"
WORKER=$(pool_workers len)

# status PARAMS BODY: send one request (PARAMS and BODY are Python bytes
# expressions) and print the first line of its answer, "closed" when
# there is none, and then whether the handler ran (echo's body-bytes).
status()
{
	PYTHONPATH=$LIB_DIR python3 - "$PORT" <<PY 2>&1
import socket, sys
from fcgi_records import *
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = $2
s.sendall(opening(pair(b"REQUEST_METHOD", b"POST") + $1) +
    b"".join(record(STDIN, body[i:i + 60000])
    for i in range(0, len(body), 60000)) + record(STDIN, b""))
out = stdout_of(read_until_end(s))
print(out.split(b"\r\n")[0].decode() if out else "closed",
    "ran" if b"body-bytes" in out else "not-run")
PY
}
CL() { printf 'pair(b"CONTENT_LENGTH", b"%s")' "$1"; }

assert_eq "CONTENT_LENGTH 5: runs" "Status: 200 OK ran" \
    "$(status "$(CL 5)" 'b"x" * 5')"
assert_eq "CONTENT_LENGTH empty (a GET through nginx): runs" \
    "Status: 200 OK ran" "$(status "$(CL '')" 'b""')"
assert_eq "CONTENT_LENGTH 100000 (max_body): runs" "Status: 200 OK ran" \
    "$(status "$(CL 100000)" 'b"x" * 100000')"
for v in -1 +5 ' 5' '5 ' 0x10 5x; do
	assert_eq "CONTENT_LENGTH '$v': 400, not run" \
	    "Status: 400 Bad Request not-run" \
	    "$(status "$(CL "$v")" 'b"x" * 5')"
done
for v in 18446744073709551616 99999999999999999999999999; do
	assert_eq "CONTENT_LENGTH $v overflows: 413, not run" \
	    "Status: 413 Content Too Large not-run" \
	    "$(status "$(CL "$v")" 'b"x" * 5')"
done

# Twice: the last one counts, as in a CGI program's environment.
assert_eq "CONTENT_LENGTH 5 then 200000: 413, not run" \
    "Status: 413 Content Too Large not-run" \
    "$(status "$(CL 5) + $(CL 200000)" 'b"x" * 5')"
assert_eq "CONTENT_LENGTH 200000 then 5: runs" "Status: 200 OK ran" \
    "$(status "$(CL 200000) + $(CL 5)" 'b"x" * 5')"
log_mark
status 'pair(b"REQUEST_URI", b"/first") + pair(b"REQUEST_URI", b"/last") + '"$(CL 200000)" 'b""' >/dev/null
assert_log "REQUEST_URI twice: the log names the last" \
    'POST /last: CONTENT_LENGTH is larger than max_body'
assert_eq "the worker never died" "$WORKER" "$(pool_workers len)"
done_testing
