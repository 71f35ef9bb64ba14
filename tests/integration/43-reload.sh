#!/usr/bin/env bash
# 43-reload: HUP reloads the config with new workers while the old ones
# finish, and no request fails.  Under load through nginx, every request
# of a reload is answered 200 and the unix socket is the same file (never
# closed, never refused).  A changed option and a rebuilt module take
# effect; a pool added serves and a pool removed stops listening; a
# changed listen opens the new socket.  A broken config is reported with
# file and line, a module that fails to start and a socket that cannot be
# bound make the reload fail: in each case the old workers serve on,
# untouched.
. "$(dirname "$0")/lib.sh"

# A module of our own path, so that it can be rebuilt under pooled.
cp "$(module_path hello)" "$T/app.so"
free_port ECHO_PORT || bail_out "no free port"
free_port EXTRA_PORT || bail_out "no free port"

# conf GREETING [EXTRA_POOL...]: the config, with hello's greeting.
conf()
{
	local greeting=$1

	shift
	write_pool_conf "$(pool_block hello "$T/hello.sock" "$T/app.so" \
	    "module_options = {\"greeting=$greeting\"}")" "$@"
}

conf Hello "$(pool_block echo "127.0.0.1:$ECHO_PORT" echo)"
start_pooled || bail_out "pooled did not start"
start_nginx "/hello=unix:$T/hello.sock" "/echo=127.0.0.1:$ECHO_PORT" \
    "/extra=127.0.0.1:$EXTRA_PORT" || bail_out "nginx did not start"
assert_get "before: hello" /hello "Hello, world"
inode=$(stat -c %i "$T/hello.sock")

# reload [GEN]: HUP, then wait for generation GEN to serve.
reload()
{
	log_mark
	signal_pooled HUP
	assert_log "reload $1: done" \
	    "master: reload done: generation $1 serves" 15
}

# A new greeting, under load: 600 requests, 8 at a time, all answered.
conf Bonjour "$(pool_block echo "127.0.0.1:$ECHO_PORT" echo)"
old=$(pool_workers hello)
parallel_get 600 8 "/hello?n=@ID@" "$T/load" &
loader=$!
track_pid "$loader"
wait_for 10 test -s "$T/load/status" || true
reload 2
reap_pid "$loader" 60
assert_parallel_status "under load, every request of the reload got 200" \
    "$T/load" 600 200
# shellcheck disable=SC2086
if wait_for 10 all_dead $old; then
	pass "the old workers finished and exited"
else
	fail "the old workers finished and exited" "old: $old"
fi
assert_eq "the unix socket is the same one" "$inode" \
    "$(stat -c %i "$T/hello.sock")"
assert_get "the new option took effect" /hello "Bonjour, world"
http_get "/echo?x=1"
assert_status "the unchanged pool serves on" 200
assert_line "... its module" "$HTTP_BODY" "QUERY_STRING=x=1"

# A broken config: reported with file and line, nothing changes.
workers=$(pooled_workers)
cp "$POOLED_CONF" "$T/good.conf"
printf 'pool broken {\n\tlisten = "%s/b.sock"\n\tthreads = many\n}\n' \
    "$T" >>"$POOLED_CONF"
bad_line=$(grep -n 'threads = many' "$POOLED_CONF" | cut -d: -f1)
log_mark
signal_pooled HUP
assert_log "a broken config: file and line" \
    "$POOLED_CONF:$bad_line: .*threads" 5
assert_log "a broken config: the old one serves on" \
    "reload: the configuration is invalid .*still serving the old configuration" 5
assert_eq "a broken config: the same workers" "$workers" "$(pooled_workers)"
assert_get "a broken config: still Bonjour" /hello "Bonjour, world"

# A rebuilt module takes effect (a new file renamed over the old one, as
# make install and package managers do).
cp "$(module_path echo)" "$T/app.so.new"
mv "$T/app.so.new" "$T/app.so"
cp "$T/good.conf" "$POOLED_CONF"
reload 3
http_get "/hello?rebuilt=1"
assert_line "the rebuilt module answers" "$HTTP_BODY" \
    "QUERY_STRING=rebuilt=1"
cp "$(module_path hello)" "$T/app.so.new"
mv "$T/app.so.new" "$T/app.so"

# A pool added serves, a pool removed stops listening, a changed listen
# opens the new socket and removes the old file.
conf Salut "$(pool_block extra "127.0.0.1:$EXTRA_PORT" echo)"
sed -i "s|$T/hello.sock|$T/hello2.sock|" "$POOLED_CONF"
reload 4
http_get "/extra?added=1"
assert_status "an added pool serves" 200
assert_line "an added pool serves its module" "$HTTP_BODY" \
    "QUERY_STRING=added=1"
http_get "/echo"
assert_status "a removed pool is gone" 502
if port_in_use "$ECHO_PORT"; then
	fail "a removed pool's port is closed" "port $ECHO_PORT still listens"
else
	pass "a removed pool's port is closed"
fi
assert_true "a changed listen: the new socket" test -S "$T/hello2.sock"
assert_true "a changed listen: the old file is removed" \
    test ! -e "$T/hello.sock"

# New workers that cannot start: the reload fails, the old ones serve.
workers=$(pooled_workers)
cp "$POOLED_CONF" "$T/good.conf"
sed -i "s|module = \"$T/app.so\"|module = \"$(module_path failinit)\"|" \
    "$POOLED_CONF"
log_mark
signal_pooled HUP
assert_log "a failing module: the reload fails" \
    "reload failed: pool hello: a new worker exited 78 \(configuration error\) before it was ready; still serving generation 4" 15
# The new generation's other workers are stopped; the old ones remain.
if wait_for 10 test "$(pooled_workers)" = "$workers"; then
	pass "a failing module: the same workers, and only them"
else
	fail "a failing module: the same workers, and only them" \
	    "before: $workers, now: $(pooled_workers)"
fi
http_get "/extra?still=1"
assert_status "a failing module: the pools serve on" 200

# A socket that cannot be bound: the reload fails before any worker.
cp "$T/good.conf" "$POOLED_CONF"
free_port BUSY_PORT || bail_out "no free port"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$BUSY_PORT" &
busy=$!
track_pid "$busy"
wait_for 5 port_in_use "$BUSY_PORT" || fail "the busy port listens"
conf Salut "$(pool_block extra "127.0.0.1:$EXTRA_PORT" echo)" \
    "$(pool_block busy "127.0.0.1:$BUSY_PORT" echo)"
sed -i "s|$T/hello.sock|$T/hello2.sock|" "$POOLED_CONF"
log_mark
signal_pooled HUP
assert_log "a busy port: the reload fails" \
    "reload: cannot listen .*still serving the old configuration" 5
assert_log "a busy port: the reason" "pool busy: bind 127.0.0.1:$BUSY_PORT" 0
http_get "/extra?busy=1"
assert_status "a busy port: the pools serve on" 200
stop_pid "$busy" TERM 5

assert_no_log "no worker crashed" "killed by signal|exited [1-9]"
done_testing
