#!/usr/bin/env bash
# 23-socket-activation: pooled under systemd-socket-activate (systemd's
# tool for what pooled.socket does) takes the sockets passed in
# LISTEN_FDS: a unix socket matched to its pool by name
# (FileDescriptorName=, --fdname) and a TCP one by address.  The first
# request, sent before pooled runs, is served once it starts; both pools
# serve through nginx (as www-data; the pool's listen_mode applies to
# systemd's socket) before and after a HUP, on the same socket, never
# bound again; at the stop pooled leaves the socket file to systemd.  A
# socket bound elsewhere than its pool's listen, or one that is not a
# stream socket, stops the start with a clear error.
. "$(dirname "$0")/lib.sh"

SA=$(command -v systemd-socket-activate) ||
    skip_all "systemd-socket-activate (Debian package systemd) is missing"
free_port ECHO_PORT || bail_out "no free port"

write_pool_conf "$(pool_block hello "$T/hello.sock" hello)" \
    "$(pool_block echo "127.0.0.1:$ECHO_PORT" echo)"

# activate SA_ARG...: run pooled -F under systemd-socket-activate, which
# opens the sockets now and starts pooled at the first connection.
activate()
{
	diag "starting $SA $* $POOLED -F -c $POOLED_CONF"
	"$SA" "$@" -E ASAN_OPTIONS -E UBSAN_OPTIONS -E TSAN_OPTIONS \
	    "$POOLED" -F -c "$POOLED_CONF" </dev/null >>"$POOLED_LOG" 2>&1 &
	POOLED_PID=$!
	POOLED_STATUS=
	POOLED_DAEMON=0
	track_pid "$POOLED_PID"
}
# poke ADDR: connect to a unix socket (or, with -d, send a datagram).
poke()
{
	python3 - "$@" <<'PY'
import socket, sys
if sys.argv[1] == "-d":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"x", sys.argv[2])
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
PY
}

activate -l "$T/hello.sock" -l "127.0.0.1:$ECHO_PORT" --fdname=hello:other
wait_for 10 test -S "$T/hello.sock" || bail_out "no socket from $SA"
inode=$(stat -c %i "$T/hello.sock")
# What SocketUser=www-data and SocketMode=0600 in pooled.socket would do.
chown "$WEB_USER" "$T/hello.sock"
chmod 0600 "$T/hello.sock"
start_nginx "/hello=unix:$T/hello.sock" "/echo=127.0.0.1:$ECHO_PORT" ||
    bail_out "nginx did not start"
# This connection starts pooled, and waits in the backlog until it serves.
http_get /hello
assert_status "the first request, sent before pooled ran, is served" 200
assert_eq "by hello" "Hello, world" "$HTTP_BODY"
assert_log "the unix socket is matched by name" \
    "pool hello: listening on .*hello.sock \\(socket from systemd, named hello\\)"
assert_log "the TCP socket by address" \
    "pool echo: listening on 127.0.0.1:$ECHO_PORT \\(socket from systemd, named other\\)"
assert_no_log "pooled binds nothing" "bind "
assert_eq "the pool's listen_mode applies to systemd's socket" \
    "$WEB_USER:660" "$(stat -c %U:%a "$T/hello.sock")"
http_get /echo
assert_status "echo serves" 200

log_mark
signal_pooled HUP
assert_log "a HUP reloads" "reload done: generation 2 serves" 15
for i in 1 2 3; do
	http_get /hello
	assert_status "hello serves after the HUP ($i)" 200
	http_get /echo
	assert_status "echo serves after the HUP ($i)" 200
done
assert_eq "the same socket file" "$inode" "$(stat -c %i "$T/hello.sock")"
assert_no_log "nothing is bound at the reload" "bind |listening on"

stop_pooled TERM
assert_eq "pooled stops" 0 "$POOLED_STATUS"
assert_true "the socket file stays, systemd's" test -S "$T/hello.sock"
stop_nginx
rm -f "$T/hello.sock"

# A socket named after the pool but bound elsewhere.
log_mark
activate -l "$T/other.sock" --fdname=hello
wait_for 10 test -S "$T/other.sock" || bail_out "no socket from $SA"
poke "$T/other.sock"
assert_true "a socket bound elsewhere stops the start" wait_pooled_exit 15
assert_eq "with exit status 1" 1 "$POOLED_STATUS"
assert_log "and says where it is bound" \
    "pool hello: the socket systemd passed as descriptor 3, named \"hello\", is bound to unix:$T/other.sock, but the pool listens on"

# A datagram socket.
log_mark
activate -d -l "$T/hello.sock" --fdname=hello
wait_for 10 test -S "$T/hello.sock" || bail_out "no socket from $SA"
poke -d "$T/hello.sock"
assert_true "a datagram socket stops the start" wait_pooled_exit 15
assert_eq "with exit status 1" 1 "$POOLED_STATUS"
assert_log "and says it is no stream socket" \
    "pool hello: the socket systemd passed as descriptor 3, named hello is not a stream socket"
done_testing
