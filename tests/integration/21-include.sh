#!/usr/bin/env bash
# 21-include: include = "pool.d/*.conf", as an operator keeps one file per
# application.  "pooled -t" checks the included files and names the file
# and line of an error in one; a pool defined in two files names both; the
# files are read in sorted order; a HUP rereads them, so a new file in
# pool.d starts its pool and a removed one stops its pool.
. "$(dirname "$0")/lib.sh"

RUN_TIMEOUT=10
free_port ECHO_PORT || bail_out "no free port"
mkdir -p "$T/pool.d"

# The main file names no pool of its own; the include is relative to it.
POOLED_CONF_GLOBALS='include = "pool.d/*.conf"' write_pool_conf
pool_block hello "$T/hello.sock" hello \
    'module_options = {"greeting=Hello"}' >"$T/pool.d/10-hello.conf"
printf '# not a .conf file\nbogus = 1\n' >"$T/pool.d/README"

run_pooled -t -c "$POOLED_CONF"
assert_eq "-t accepts the included pool" 0 "$RUN_STATUS"

# An error in an included file: its file and line.
{
	printf '# the echo pool\n'
	pool_block echo "127.0.0.1:$ECHO_PORT" echo 'threads = 0'
} >"$T/pool.d/20-echo.conf"
line=$(grep -n 'threads = 0' "$T/pool.d/20-echo.conf" | cut -d: -f1)
run_pooled -t -c "$POOLED_CONF"
assert_eq "-t rejects an error in an included file" 1 "$RUN_STATUS"
assert_contains "the error names the included file and its line" \
    "$RUN_STDERR" "$T/pool.d/20-echo.conf:$line: pool \"echo\": threads"

# The same pool in two files: both named.
pool_block hello "$T/hello2.sock" hello >"$T/pool.d/20-echo.conf"
run_pooled -t -c "$POOLED_CONF"
assert_eq "-t rejects a pool defined in two files" 1 "$RUN_STATUS"
assert_contains "both files are named" "$RUN_STDERR" \
    "$T/pool.d/20-echo.conf:1: pool \"hello\": already defined at \
$T/pool.d/10-hello.conf:1"

# A missing literal include is an error, a glob matching nothing is not.
rm -f "$T/pool.d/20-echo.conf"
printf 'include = "missing.conf"\n' >>"$POOLED_CONF"
run_pooled -t -c "$POOLED_CONF"
assert_eq "-t rejects a missing included file" 1 "$RUN_STATUS"
assert_contains "it says which" "$RUN_STDERR" "include \"missing.conf\""
sed -i 's|^include = "missing.conf"$|include = "none.d/*.conf"|' \
    "$POOLED_CONF"
run_pooled -t -c "$POOLED_CONF"
assert_eq "-t accepts a glob that matches nothing" 0 "$RUN_STATUS"

start_pooled || bail_out "pooled did not start"
start_nginx "/hello=unix:$T/hello.sock" "/echo=127.0.0.1:$ECHO_PORT" ||
    bail_out "nginx did not start"
assert_get "the included pool serves" /hello "Hello, world"

# A new file in pool.d, then HUP: its pool starts and serves.
pool_block echo "127.0.0.1:$ECHO_PORT" echo >"$T/pool.d/20-echo.conf"
log_mark
signal_pooled HUP
assert_log "the reload is done" "master: reload done: generation 2 serves" 15
http_get "/echo?x=1"
assert_status "the pool of the new file serves" 200
assert_get "the old one still does" /hello "Hello, world"

# The file removed, then HUP: its pool stops.
rm -f "$T/pool.d/20-echo.conf"
log_mark
signal_pooled HUP
assert_log "the second reload is done" \
    "master: reload done: generation 3 serves" 15
if wait_for 10 eval '! listening "127.0.0.1:$ECHO_PORT"'; then
	pass "the pool of the removed file stopped listening"
else
	fail "the pool of the removed file stopped listening"
fi

stop_pooled || fail "pooled stopped"
done_testing
