# shellcheck shell=bash
# scripts/deps.sh: sourced by scripts/check.sh and scripts/demo.sh, which
# share these steps: install the Debian packages that are missing, and
# build pooled out of tree in build/.

# What building, testing and the demo need.  nginx stands for any
# installed flavour of the web server (see deps_missing).
POOLED_DEPS=(build-essential autoconf automake pkg-config
    libconfuse-dev libcmocka-dev nginx-light curl iproute2 python3
    fcgiwrap libcgi-pm-perl php-cgi cgit git)
# What only the test suite needs on top: clang with libFuzzer for the
# fuzz run, Apache's server and proxy modules (apache2-bin alone: no
# service of the package is started, the tests run their own), and ps
# (procps, not in a minimal Debian), with which scenarios look at whose
# processes run; systemd for systemd-socket-activate and systemd-analyze
# (socket activation and the units; nothing of it is started);
# prometheus (its server and promtool) and python3-prometheus-client (a
# strict OpenMetrics parser), which scrape and check the metrics in
# 76-prometheus (no service of the package is started: the test runs its
# own).  The test users are made with useradd (passwd, always there).
POOLED_CHECK_DEPS=(clang libclang-rt-dev apache2-bin procps systemd
    prometheus python3-prometheus-client)
# What the Debian packages (scripts/make-deb.sh, make deb) and their test
# in a fresh root (scripts/test-deb.sh) need on top.
POOLED_DEB_DEPS=(dpkg-dev debhelper lintian debootstrap)
# What only the benchmark (make bench, tests/bench/bench.sh) needs on top:
# libfcgi-dev builds the libfcgi peers pooled is measured against (pooled
# itself speaks FastCGI with its own code).
POOLED_BENCH_DEPS=(wrk spawn-fcgi php-fpm gnuplot-nox strace libfcgi-dev)

# The build directory, relative to the top of the source tree.
POOLED_BUILD_DIR=${POOLED_BUILD_DIR:-build}

# deps_missing PACKAGE...: print the packages that are not installed.
deps_missing()
{
	local p

	for p in "$@"; do
		case $p in
		nginx|nginx-*)
			# nginx-light, -core, -full all ship the same binary;
			# installing one would replace another.
			if command -v nginx >/dev/null 2>&1 ||
			    [ -x /usr/sbin/nginx ]; then
				continue
			fi ;;
		esac
		if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q 'install ok installed'; then
			printf '%s\n' "$p"
		fi
	done
}

# deps_install [PACKAGE...]: apt-get install what is missing of the
# packages named, POOLED_DEPS by default.  Does nothing, not even
# apt-get update, when everything is there.
deps_install()
{
	local missing sudo=

	if [ "$#" -eq 0 ]; then
		set -- "${POOLED_DEPS[@]}"
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: not a Debian system; install by hand: $*" >&2
		return 0
	fi
	mapfile -t missing < <(deps_missing "$@")
	[ "${#missing[@]}" -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		sudo=sudo
	fi
	echo "deps: installing ${missing[*]}"
	$sudo apt-get update -q
	$sudo env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build_pooled [CONFIGURE_ARG...]: autogen when configure is missing,
# configure $POOLED_BUILD_DIR when it has no Makefile or was configured
# with other arguments, then make -j2.  Otherwise the rules automake
# generates rerun autoconf and configure as needed.  Run from the top of
# the source tree.
build_pooled()
{
	local top=$PWD dir=$POOLED_BUILD_DIR args="$*"

	if [ ! -x configure ]; then
		./autogen.sh
	fi
	if [ "$dir" != . ] && [ -f config.status ]; then
		echo "build: the source tree is configured in place;" \
		    "run 'make distclean' there first" >&2
		return 1
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] ||
	    [ "$(cat "$dir/.configure-args" 2>/dev/null)" != "$args" ]; then
		(cd "$dir" && "$top/configure" "$@")
		printf '%s\n' "$args" >"$dir/.configure-args"
	fi
	make -C "$dir" --no-print-directory -j2
}
