#!/usr/bin/env bash
# 22-systemd-notify: pooled speaks sd_notify(3) to the datagram socket
# $NOTIFY_SOCKET names, as systemd's Type=notify expects: READY=1 once
# every pool serves, with a STATUS= line of workers and requests;
# RELOADING=1 with MONOTONIC_USEC at a HUP, then READY=1 once the new
# generation serves, and also after a reload that fails; STOPPING=1 at a
# stop.  An abstract socket name ("@name") works as well.  A listener
# made here stands in for systemd.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null 2>&1 || skip_all "python3 is missing"
MSGS=$T/notify.msgs

# listen ADDRESS: start the stand-in for systemd, reading ADDRESS.
listen()
{
	: >"$MSGS"
	python3 "$LIB_DIR/notify_listener.py" "$1" "$MSGS" &
	track_pid "$!"
	LISTENER=$!
	case $1 in
	@*) wait_for 10 grep -q "@${1#@}" /proc/net/unix ;;
	*) wait_for 10 test -S "$1" ;;
	esac || bail_out "the notify listener did not start"
}
# count_msgs TEXT: how many datagrams so far contain a line TEXT.
count_msgs()
{
	grep -c -x -e "$1" "$MSGS"
}
# msgs_at_least N TEXT: at least N datagrams contain a line TEXT.
msgs_at_least()
{
	[ "$(count_msgs "$2")" -ge "$1" ]
}

write_pool_conf "$(pool_block hello "$T/hello.sock" hello)"
listen "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock start_pooled || bail_out "pooled did not start"
assert_true "READY=1 once every pool serves" \
    wait_for 15 msgs_at_least 1 "READY=1"
assert_true "with a STATUS= line of workers" \
    grep -q -x "STATUS=serving, 2 workers" "$MSGS"
assert_true "READY=1 follows all pools started" \
    log_has "all pools started"
assert_eq "nothing before READY=1 but READY=1" "READY=1" "$(head -n 1 "$MSGS")"

start_nginx "unix:$T/hello.sock" || bail_out "nginx did not start"
for i in 1 2 3; do
	http_get "/?n=$i"
	assert_status "request $i" 200
done
# The STATUS= line comes every 10 s; wait for one that counts the three.
assert_true "STATUS= counts workers and requests" wait_for 30 grep -q -E \
    "^STATUS=serving, 2 workers, 3 requests, [0-9.]+ req/s$" "$MSGS"

# A reload: RELOADING=1 with the monotonic clock, then READY=1.
: >"$MSGS"
log_mark
signal_pooled HUP
assert_log "the reload is done" "reload done: generation 2 serves" 15
assert_true "READY=1 after the reload" wait_for 15 msgs_at_least 1 "READY=1"
first=$(sed -n '1,/^--$/p' "$MSGS")
assert_contains "RELOADING=1 first" "$first" "RELOADING=1"
usec=$(printf '%s\n' "$first" | sed -n 's/^MONOTONIC_USEC=//p')
assert_true "with MONOTONIC_USEC, the monotonic clock in microseconds" \
    test "${usec:-0}" -gt 0
up=$(awk '{ printf "%.0f", $1 * 1000000 }' /proc/uptime)
assert_true "close to the uptime ($usec against $up)" \
    test "$(( (up > usec ? up - usec : usec - up) / 1000000 ))" -lt 600
assert_true "READY=1 comes after RELOADING=1" test \
    "$(grep -n -x READY=1 "$MSGS" | head -n 1 | cut -d: -f1)" -gt \
    "$(grep -n -x RELOADING=1 "$MSGS" | head -n 1 | cut -d: -f1)"
http_get /
assert_status "the new generation serves" 200

# A reload that fails (a broken config) also ends in READY=1.
cp "$POOLED_CONF" "$T/good.conf"
echo "nonsense" >>"$POOLED_CONF"
: >"$MSGS"
log_mark
signal_pooled HUP
assert_log "the broken reload is refused" "configuration is invalid" 15
assert_true "RELOADING=1 then READY=1 after a failed reload" \
    wait_for 15 msgs_at_least 1 "READY=1"
assert_eq "one RELOADING=1" 1 "$(count_msgs RELOADING=1)"
cp "$T/good.conf" "$POOLED_CONF"

: >"$MSGS"
stop_pooled TERM
assert_eq "pooled stops" 0 "$POOLED_STATUS"
assert_true "STOPPING=1 at the stop" msgs_at_least 1 "STOPPING=1"
stop_pid "$LISTENER" TERM 5

# An abstract name, as systemd may give.
name=@pooled-test-notify-$$
listen "$name"
NOTIFY_SOCKET=$name start_pooled || bail_out "pooled did not start again"
assert_true "READY=1 on an abstract socket" \
    wait_for 15 msgs_at_least 1 "READY=1"
stop_pooled TERM
done_testing
