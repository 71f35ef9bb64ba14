#!/usr/bin/env bash
# 24-install: a distribution admin's path from the source tree.  A build
# configured with Debian's directories installs into a DESTDIR: the
# config and its example pool in /etc/pooled, modules and pooled.pc in
# the multiarch libdir, the configured paths in the binary and the
# config.  A second "make install" keeps an edited config.  Configured
# again with another prefix, the same build rebuilds the binary's default
# config path; installed there for real, the shipped config passes its
# own "pooled -t" (no -c), its systemd units pass "systemd-analyze
# verify", and it starts as a daemon as installed, creating
# its runtime and log directories (root's, 0755), and serves its example
# pool through nginx.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "the installed config runs pools as root"
triplet=$(gcc -print-multiarch 2>/dev/null)
[ -n "$triplet" ] || triplet=x86_64-linux-gnu
# The example pool runs as "pooled", which the Debian package's postinst
# makes; a source install leaves that to the admin, as here.
if ! id -u pooled >/dev/null 2>&1; then
	(flock -w 60 9 && { id -u pooled >/dev/null 2>&1 ||
	    useradd --system --user-group --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin pooled; }) \
	    9>/tmp/pooled-test-users.lock || bail_out "cannot add user pooled"
fi

b=$T/build
mkdir -p "$b"
# configure ARG...: configure $b from the source tree, quietly.
configure()
{
	(cd "$b" && "$top_srcdir/configure" -q "$@") >"$T/configure.log" 2>&1
}
# build: make in $b; the log goes to $T/make.log.
build()
{
	make -C "$b" -j2 >"$T/make.log" 2>&1
}

if ! configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
    --runstatedir=/run --libdir="/usr/lib/$triplet" || ! build; then
	fail "configure and build" "$(tail -n 20 "$T/configure.log" \
	    "$T/make.log")"
	done_testing
fi
d=$T/dest
make -C "$b" install DESTDIR="$d" >"$T/install.log" 2>&1
assert_eq "make install DESTDIR" 0 "$?"
for f in etc/pooled/pooled.conf etc/pooled/pool.d/hello.conf \
    "usr/lib/$triplet/pkgconfig/pooled.pc" \
    "usr/lib/$triplet/pooled/hello.so" usr/sbin/pooled \
    usr/include/pooled.h usr/lib/systemd/system/pooled.service \
    usr/lib/systemd/system/pooled.socket; do
	assert_true "installed /$f" test -f "$d/$f"
done
assert_true "pooled.pc not in /usr/lib/pkgconfig" \
    test ! -e "$d/usr/lib/pkgconfig/pooled.pc"
conf=$d/etc/pooled/pooled.conf
assert_true "the config includes pool.d" \
    grep -q '^include = "pool.d/\*.conf"' "$conf"
assert_true "the log is in /var/log/pooled" \
    grep -q '^error_log = "/var/log/pooled/error.log"' "$conf"
assert_true "the pid file is in /run/pooled" \
    grep -q '^pid_file = "/run/pooled/pooled.pid"' "$conf"
assert_true "the example module is in the multiarch pkglibdir" grep -q \
    "module = \"/usr/lib/$triplet/pooled/hello.so\"" \
    "$d/etc/pooled/pool.d/hello.conf"
assert_true "no @variable@ is left" \
    test -z "$(grep -rl '@[a-z]*@' "$d/etc/pooled")"
assert_contains "the binary's default config" \
    "$("$d/usr/sbin/pooled" -h)" "default /etc/pooled/pooled.conf"
assert_true "the unit runs /usr/sbin/pooled" grep -q -x \
    "ExecStart=/usr/sbin/pooled -F" "$d/usr/lib/systemd/system/pooled.service"
assert_true "the socket unit listens on /run/pooled/hello.sock" grep -q -x \
    "ListenStream=/run/pooled/hello.sock" \
    "$d/usr/lib/systemd/system/pooled.socket"

echo "# edited" >>"$conf"
echo "# edited" >>"$d/etc/pooled/pool.d/hello.conf"
make -C "$b" install DESTDIR="$d" >"$T/install2.log" 2>&1
assert_eq "a second make install" 0 "$?"
assert_eq "it keeps the edited pooled.conf" "# edited" "$(tail -n 1 "$conf")"
assert_eq "it keeps the edited pool.d/hello.conf" "# edited" \
    "$(tail -n 1 "$d/etc/pooled/pool.d/hello.conf")"
assert_true "and says so" grep -q "keeping the existing .*pooled.conf" \
    "$T/install2.log"

# Another prefix, the same build directory: make alone must notice.
p=$T/p
if ! configure --prefix="$p" --localstatedir="$p/var" \
    --runstatedir="$p/run" || ! build; then
	fail "configure again and build" "$(tail -n 20 "$T/configure.log" \
	    "$T/make.log")"
	done_testing
fi
assert_contains "the rebuilt binary's default config" \
    "$("$b/src/pooled" -h)" "default $p/etc/pooled/pooled.conf"
make -C "$b" install >"$T/install3.log" 2>&1
assert_eq "make install into $p" 0 "$?"
# What /run and /var/log are on a real system; pooled makes pooled/ in them.
mkdir -p "$p/run" "$p/var/log"
chmod 755 "$T" "$p" "$p/run" "$p/var" "$p/var/log"

# systemd-analyze verify wants the binaries the units name: these exist.
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify --man=no \
	    "$p/lib/systemd/system/pooled.service" \
	    "$p/lib/systemd/system/pooled.socket" 2>&1)
	assert_eq "systemd-analyze verify passes on the units" "0:" "$?:$out"
else
	skip "systemd-analyze verify" "systemd-analyze is missing"
fi

POOLED=$p/sbin/pooled
run_pooled -t
assert_eq "the installed config passes its own -t" 0 "$RUN_STATUS"
assert_contains "-t reads the installed default config" "$RUN_STDOUT" \
    "$p/etc/pooled/pooled.conf test is successful"
assert_true "-t creates nothing" test ! -e "$p/run/pooled"

mv "$p/var/log" "$p/var/log.away"
run_pooled -t
assert_eq "-t fails when the log's parent is missing" 1 "$RUN_STATUS"
assert_contains "-t names the directory" "$RUN_STDERR" \
    "directory $p/var/log/pooled"
mv "$p/var/log.away" "$p/var/log"

start_pooled_daemon "$p/etc/pooled/pooled.conf"
assert_eq "the installed config starts as a daemon" 0 "$POOLED_STATUS"
for dir in "$p/run/pooled" "$p/var/log/pooled"; do
	assert_eq "pooled made $dir, root's, 0755" "0:0:755" \
	    "$(stat -c %u:%g:%a "$dir" 2>&1)"
done
assert_true "the log is written" grep -q "all pools started" \
    "$p/var/log/pooled/error.log"
start_nginx "unix:$p/run/pooled/hello.sock" || bail_out "nginx did not start"
http_get /
assert_status "the example pool answers through nginx" 200
assert_contains "with its greeting" "$HTTP_BODY" "Hello"
stop_pooled
assert_true "the daemon stopped" pid_dead "$POOLED_PID"
done_testing
