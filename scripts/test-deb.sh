#!/usr/bin/env bash
# scripts/test-deb.sh: the Debian packages, as an admin meets them on a
# new machine.  Builds pooled and pooled-dev twice with
# scripts/make-deb.sh (revisions 1 and 2, lintian without errors), then
# in a fresh Debian bookworm root (minbase, as
# /work/shared/tools/fresh-debian.sh makes one: debootstrap once, kept as
# a tarball in $TMPDIR, a throw-away copy per run) installs them with
# apt: the config is conffiles in /etc/pooled, the modules in
# /usr/lib/TRIPLET/pooled, the units, logrotate file and nginx snippet in
# place; the shipped config passes "pooled -t"; pooled serves the example
# pool through nginx with the shipped snippet; an upgrade to revision 2
# keeps an edited config; a purge leaves nothing.  Prints TAP; exits 0
# when all passed, 1 otherwise, 77 when it cannot run here (not root, no
# dpkg-buildpackage, no debootstrap nor a cached root).  Takes 1 to 3
# minutes (two package builds, apt in the fresh root).
set -uo pipefail

cd "$(dirname "$0")/.."
top=$PWD

skip() { echo "1..0 # SKIP $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, mounts)"
command -v dpkg-buildpackage >/dev/null || skip "dpkg-dev is missing"
cache=${TMPDIR:-/tmp}/fresh-bookworm.tar
if [ ! -s "$cache" ] && ! command -v debootstrap >/dev/null; then
	skip "debootstrap is missing and no fresh root is cached in $cache"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pooled-test-deb.XXXXXX")
root=$work/root
cleanup()
{
	umount -R "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
	    2>/dev/null
	umount -lR "$root/dev" 2>/dev/null
	if ! mount | grep -q " $root/"; then
		rm -rf "$work"
	fi
}
trap cleanup EXIT

for rev in 1 2; do
	if ! POOLED_DEB_REVISION=$rev scripts/make-deb.sh "$work/debs" \
	    >"$work/make-deb-$rev.log" 2>&1; then
		echo "not ok 1 - make-deb.sh revision $rev"
		sed 's/^/# /' "$work/make-deb-$rev.log" | tail -n 60
		echo "1..1"
		exit 1
	fi
done
echo "ok 1 - pooled and pooled-dev build from the release tarball, lintian without errors"

if [ ! -s "$cache" ]; then
	r=$(mktemp -d)
	mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' \
	    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' \
	    /etc/apt/sources.list 2>/dev/null)
	debootstrap --variant=minbase --include=git,ca-certificates bookworm \
	    "$r" "$mirror" >/dev/null 2>&1 || { echo "Bail out! debootstrap"; exit 1; }
	tar -C "$r" -cf "$cache" . && rm -rf "$r"
fi
mkdir "$root"
tar -C "$root" -xf "$cache"
chmod 755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
	rm -f "$root/etc/apt/sources.list"
	cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
fi
# No service of a package may start in here: the root shares this
# machine's network.  The scenario starts what it tests itself.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t sysfs sys "$root/sys"
mount -t tmpfs tmpfs "$root/tmp"
mkdir "$root/debs"
cp "$work"/debs/*.deb "$root/debs/"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$root/test.sh" <<'INNER'
set -u
export DEBIAN_FRONTEND=noninteractive
port=$1
n=1
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { local name=$1; shift; if "$@" >/tmp/out 2>&1; then ok "$name"; else nok "$name" "$(tail -n 20 /tmp/out)"; fi; }
deb() { ls /debs/"$1"_*"$2"_*.deb; }
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)

apt-get update -q >/tmp/apt.log 2>&1
check "apt installs pooled, pooled-dev, nginx and curl" apt-get install -y -q \
    --no-install-recommends "$(deb pooled 0.1.0-1)" "$(deb pooled-dev 0.1.0-1)" \
    nginx-light curl
conffiles=$(dpkg-query -W -f='${Conffiles}\n' pooled)
for f in /etc/pooled/pooled.conf /etc/pooled/pool.d/hello.conf \
    /etc/logrotate.d/pooled /etc/nginx/snippets/pooled-hello.conf; do
	check "conffile $f" grep -q " $f " <<<"$conffiles"
done
for f in /usr/sbin/pooled "/usr/lib/$triplet/pooled/hello.so" \
    /lib/systemd/system/pooled.service /lib/systemd/system/pooled.socket \
    /usr/include/pooled.h "/usr/lib/$triplet/pkgconfig/pooled.pc" \
    /usr/share/man/man3/pooled-module.3.gz /usr/share/man/man8/pooled.8.gz; do
	check "installed $f" test -f "$f"
done
check "the logrotate file reopens the log" grep -q "pooled -k reopen" \
    /etc/logrotate.d/pooled
check "postinst made the user pooled" id pooled
check "the shipped config passes pooled -t" pooled -t

rm -f /etc/nginx/sites-enabled/default
cat >/etc/nginx/conf.d/test.conf <<EOF
server {
	listen 127.0.0.1:$port;
	include snippets/pooled-hello.conf;
}
EOF
check "pooled starts with the shipped config" pooled
check "nginx starts with the shipped snippet" nginx
body=$(curl -s --max-time 20 "http://127.0.0.1:$port/hello")
check "the example pool answers through nginx: $body" \
    test "$body" = "Hello, world"
check "pooled -k stop" pooled -k stop
nginx -s stop
for i in $(seq 100); do [ -e /run/pooled/pooled.pid ] || break; sleep 0.1; done

sed -i 's/"greeting=Hello"/"greeting=Edited"/' /etc/pooled/pool.d/hello.conf
check "apt upgrades to revision 2" apt-get install -y -q \
    "$(deb pooled 0.1.0-2)" "$(deb pooled-dev 0.1.0-2)"
check "revision 2 is installed" test "$(dpkg-query -W -f='${Version}' pooled)" = 0.1.0-2
check "the upgrade keeps the edited config" grep -q greeting=Edited \
    /etc/pooled/pool.d/hello.conf
check "the edited config still passes -t" pooled -t

check "apt purges pooled and pooled-dev" apt-get purge -y -q pooled pooled-dev
for f in /etc/pooled /var/log/pooled /run/pooled /usr/sbin/pooled \
    "/usr/lib/$triplet/pooled" /lib/systemd/system/pooled.service \
    /etc/logrotate.d/pooled /etc/nginx/snippets/pooled-hello.conf \
    /usr/include/pooled.h; do
	check "purged: $f" test ! -e "$f"
done
check "dpkg knows nothing of pooled" sh -c \
    '! dpkg-query -W -f="\${Status}" pooled 2>/dev/null | grep -q installed'
echo "1..$n"
[ "$failed" -eq 0 ]
INNER

start=$SECONDS
chroot "$root" /usr/bin/env -i HOME=/root \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 /bin/bash /test.sh "$port"
rc=$?
echo "# fresh root: $((SECONDS - start)) s"
exit "$rc"
