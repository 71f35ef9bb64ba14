#!/usr/bin/env bash
# 14-listen-sockets: how pooled opens and removes its listen sockets.  A
# unix socket gets listen_mode (0660 by default); a stale socket file is
# replaced and a live one refused; a TCP port in use, or a file that is not
# a socket at the path, stop a second pooled with exit 1 while the first
# goes on serving; a TERM stop removes the socket files.
. "$(dirname "$0")/lib.sh"

HELLO="Hello, world"

free_port TCP_PORT || bail_out "no free port"

# A stale socket: bound, never listened on, left behind by its process.
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/stale.sock" ||
    bail_out "could not create a stale socket"
[ -S "$T/stale.sock" ] || bail_out "$T/stale.sock is not a socket"

write_pool_conf \
    "$(pool_block mode600 "$T/m600.sock" hello 'processes = 1' \
	'listen_mode = "0600"')" \
    "$(pool_block default "$T/def.sock" hello 'processes = 1')" \
    "$(pool_block stale "unix:$T/stale.sock" hello 'processes = 1')" \
    "$(pool_block tcp "127.0.0.1:$TCP_PORT" hello 'processes = 1')"
start_pooled || bail_out "pooled did not start"
ROUTES=("/m600=unix:$T/m600.sock" "/def=unix:$T/def.sock"
    "/stale=unix:$T/stale.sock" "/tcp=127.0.0.1:$TCP_PORT")
start_nginx "${ROUTES[@]}" || bail_out "nginx did not start"

# (a) listen_mode
assert_eq "listen_mode 0600: socket mode" 600 "$(stat -c %a "$T/m600.sock")"
assert_eq "default listen_mode: socket mode 660" 660 \
    "$(stat -c %a "$T/def.sock")"
assert_get "listen_mode 0600: serves" /m600/ "$HELLO"
assert_get "default listen_mode: serves" /def/ "$HELLO"

# (b) the stale socket file was replaced
assert_log "stale socket: replacement logged" \
    "pool stale: replaced stale socket .*/stale\.sock"
assert_get "stale socket: replaced and serving" /stale/ "$HELLO"

# (c) a socket a running pooled listens on is refused.  The second pooled
# (run_pooled: a bounded run next to the first, which start_pooled runs)
# opens a fresh socket first, and must remove that one, not the live one.
POOLED_CONF=$T/live.conf write_pool_conf \
    "$(pool_block fresh "$T/fresh.sock" hello 'processes = 1')" \
    "$(pool_block again "$T/def.sock" hello 'processes = 1')"
run_pooled -F -c "$T/live.conf"
assert_eq "live socket: second pooled exits 1" 1 "$RUN_STATUS"
assert_contains "live socket: second pooled says why" "$RUN_STDERR" \
    "pool again: listen $T/def.sock: in use by a running process"
assert_true "live socket: the socket file is still there" test -S "$T/def.sock"
assert_true "live socket: the second pooled removed its own fresh socket" \
    test ! -e "$T/fresh.sock"
assert_get "live socket: the first pooled still serves" /def/ \
    "$HELLO"

# (d) a TCP port a running pooled listens on
POOLED_CONF=$T/port.conf write_pool_conf \
    "$(pool_block again "127.0.0.1:$TCP_PORT" hello 'processes = 1')"
run_pooled -F -c "$T/port.conf"
assert_eq "TCP port in use: second pooled exits 1" 1 "$RUN_STATUS"
assert_contains "TCP port in use: bind error" "$RUN_STDERR" \
    "bind 127.0.0.1:$TCP_PORT"
assert_contains "TCP port in use: address in use" "$RUN_STDERR" \
    "Address already in use"
assert_get "TCP port in use: the first pooled still serves" /tcp/ \
    "$HELLO"

# (e) something other than a socket at the path
printf 'not a socket\n' >"$T/regular"
POOLED_CONF=$T/regular.conf write_pool_conf \
    "$(pool_block regular "$T/regular" hello 'processes = 1')"
run_pooled -F -c "$T/regular.conf"
assert_eq "regular file: pooled exits 1" 1 "$RUN_STATUS"
assert_contains "regular file: pooled says why" "$RUN_STDERR" \
    "regular: exists and is not a socket"
assert_eq "regular file: left as it was" "not a socket" "$(cat "$T/regular")"

# (f) a TERM stop removes the socket files
stop_nginx
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
left=
for f in m600.sock def.sock stale.sock; do
	[ -e "$T/$f" ] && left="$left $f"
done
assert_eq "TERM stop removes the socket files" "" "$left"
done_testing
