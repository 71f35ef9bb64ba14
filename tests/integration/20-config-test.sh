#!/usr/bin/env bash
# 20-config-test: "pooled -t" accepts a good config and rejects broken
# ones with exit 1 and "FILE:LINE: reason" naming the right line; a start
# (-F) on the same broken config fails the same way without starting a
# worker; -v, -h, an unknown option and a missing file behave as
# documented in pooled(8).
. "$(dirname "$0")/lib.sh"

# Every run of pooled here is bounded by 10 s.
RUN_TIMEOUT=10

# line_of FILE FIXED: the number of the first line of FILE holding FIXED.
line_of()
{
	grep -n -F -e "$2" "$1" | head -n 1 | cut -d: -f1
}

# check_broken NAME CONF LINE MESSAGE: -t and -F both exit 1 and print
# "CONF:LINE: MESSAGE"; -F never gets as far as starting the master.
check_broken()
{
	local name=$1 conf=$2 line=$3 msg=$4

	if [ -z "$line" ]; then
		fail "$name: test setup: no line found in $conf"
		return
	fi
	run_pooled -t -c "$conf"
	assert_eq "$name: -t exits 1" 1 "$RUN_STATUS"
	assert_contains "$name: -t names file, line and reason" "$RUN_STDERR" \
	    "$conf:$line: $msg"
	assert_not_contains "$name: -t does not call it successful" \
	    "$RUN_STDOUT" "successful"

	run_pooled -F -c "$conf"
	assert_eq "$name: -F exits 1" 1 "$RUN_STATUS"
	assert_contains "$name: -F names file, line and reason" "$RUN_STDERR" \
	    "$conf:$line: $msg"
	assert_not_contains "$name: -F starts no master" "$RUN_STDERR" \
	    "starting with"
	assert_not_contains "$name: -F starts no worker" "$RUN_STDERR" \
	    "started worker"
}

free_port FCGI_PORT || bail_out "no free port"

# The good config: two pools, unix and TCP.
POOLED_CONF=$T/good.conf write_pool_conf \
    "$(pool_block a "$T/a.sock" hello)" \
    "$(pool_block b "127.0.0.1:$FCGI_PORT" hello 'threads = 4')"
run_pooled -t -c "$T/good.conf"
assert_eq "good config: -t exits 0" 0 "$RUN_STATUS"
assert_contains "good config: -t says so" "$RUN_STDOUT" \
    "configuration file $T/good.conf test is successful"
assert_eq "good config: -t prints no error" "" "$RUN_STDERR"
assert_true "good config: -t opens no socket" test ! -e "$T/a.sock"

# Unknown key.
c=$T/unknown-key.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block bad "$T/bad.sock" hello 'bogus_key = 1')"
check_broken "unknown key" "$c" "$(line_of "$c" bogus_key)" \
    "pool \"bad\": no such option 'bogus_key'"

# Wrong type.
c=$T/wrong-type.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block bad "$T/bad.sock" hello 'threads = "x"')"
check_broken "threads = \"x\"" "$c" "$(line_of "$c" 'threads = "x"')" \
    'pool "bad": threads: invalid integer "x"'

# Impossible value.
c=$T/zero-threads.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block bad "$T/bad.sock" hello 'threads = 0')"
check_broken "threads = 0" "$c" "$(line_of "$c" 'threads = 0')" \
    'pool "bad": threads: 0 is out of range (1..4096)'

# The same listen address in two pools: reported at the second pool,
# naming the first one and its line.
c=$T/dup-unix.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block first "$T/same.sock" hello)" \
    "$(pool_block second "$T/same.sock" hello)"
check_broken "duplicate unix listen" "$c" \
    "$(line_of "$c" 'pool second {')" \
    "pool \"second\": listen \"$T/same.sock\" conflicts with listen \"$T/same.sock\" of pool \"first\" (line $(line_of "$c" 'pool first {'))"

# A wildcard TCP address conflicts with a specific one on the same port.
c=$T/dup-tcp.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block first "127.0.0.1:$FCGI_PORT" hello)" \
    "$(pool_block second "*:$FCGI_PORT" hello)"
check_broken "duplicate tcp listen" "$c" \
    "$(line_of "$c" 'pool second {')" \
    "pool \"second\": listen \"*:$FCGI_PORT\" conflicts with listen \"127.0.0.1:$FCGI_PORT\" of pool \"first\""

# Missing module file.
c=$T/missing-module.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block bad "$T/bad.sock" "$T/no-such-module.so")"
check_broken "missing module" "$c" "$(line_of "$c" 'module = ')" \
    "pool \"bad\": module \"$T/no-such-module.so\": No such file or directory"

# A listen address without a port.
c=$T/no-port.conf
POOLED_CONF=$c write_pool_conf "$(pool_block bad 127.0.0.1 hello)"
check_broken "listen without port" "$c" "$(line_of "$c" 'listen = ')" \
    'pool "bad": listen "127.0.0.1": missing port'

# A protocol pooled does not speak.
c=$T/uwsgi.conf
POOLED_CONF=$c write_pool_conf \
    "$(pool_block bad "$T/bad.sock" hello 'protocol = "uwsgi"')"
check_broken "protocol uwsgi" "$c" "$(line_of "$c" 'protocol = ')" \
    'pool "bad": unknown protocol "uwsgi" (fastcgi or scgi)'

# An unclosed brace: reported where the section opens.
c=$T/unclosed.conf
POOLED_CONF=$c write_pool_conf "$(pool_block bad "$T/bad.sock" hello)"
sed -i '$d' "$c"
assert_eq "unclosed brace: test setup removed the brace" "" \
    "$(grep -F '}' "$c")"
check_broken "unclosed brace" "$c" "$(line_of "$c" 'pool bad {')" \
    '"{" is never closed'

assert_true "no broken config left a socket behind" \
    test ! -e "$T/bad.sock" -a ! -e "$T/same.sock"

# A missing config file is named.
for mode in -t -F; do
	run_pooled "$mode" -c "$T/no-such.conf"
	assert_eq "missing config ($mode): exits 1" 1 "$RUN_STATUS"
	assert_contains "missing config ($mode): names the path" "$RUN_STDERR" \
	    "$T/no-such.conf: No such file or directory"
done

# -v: the version configure was given.
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
    "$top_builddir/config.h" 2>/dev/null)
[ -n "$version" ] || version=0.1.0
run_pooled -v
assert_eq "-v exits 0" 0 "$RUN_STATUS"
assert_eq "-v prints the version" "pooled $version" "$RUN_STDOUT"

run_pooled -h
assert_eq "-h exits 0" 0 "$RUN_STATUS"
assert_contains "-h prints the usage" "$RUN_STDOUT" \
    "usage: pooled [-Fhtv] [-c file]"
assert_eq "-h writes nothing to stderr" "" "$RUN_STDERR"

run_pooled -Z -c "$T/good.conf"
assert_eq "unknown option exits 64" 64 "$RUN_STATUS"
assert_contains "unknown option prints the usage" "$RUN_STDERR" "usage: pooled"

run_pooled -t -c "$T/good.conf" extra
assert_eq "extra argument exits 64" 64 "$RUN_STATUS"

done_testing
