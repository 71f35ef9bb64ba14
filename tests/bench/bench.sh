#!/usr/bin/env bash
# tests/bench/bench.sh: pooled against its peers, through one nginx, with
# wrk, on loopback.  See tests/bench/README.md.
#
#	tests/bench/bench.sh [--quick | --profile] [--out DIR] [--no-install]
#
# Installs what is missing (Debian packages), builds the peer programs of
# tests/bench/peers/ into a private work directory, starts one nginx of
# its own and, pass after pass, each backend in turn behind it:
#
#	ceiling	nginx answering by itself (return 200)
#	hello	pooled's hello module; the same bytes from libfcgi under
#		spawn-fcgi, a threaded libfcgi program, a one-line PHP-FPM
#	cgi	the same hello as a C CGI program: pooled handler = "cgi"
#		against fcgiwrap; plus the raw posix_spawn rate (spawn_rate)
#	io10ms	pooled's sleep module at 10 ms per request, processes x
#		threads grid, against Little's law and per megabyte
#
# --profile measures instead, for one serving process of pooled and of
# each peer, the system calls per request (strace -c) and, where perf can
# set a uprobe, the malloc() calls per request, into DIR/profile.md.
#
# Progress goes to stderr, the report (Markdown) to stdout and to
# DIR/results.md, with DIR/results.csv (one line per row of the table),
# DIR/raw.csv (one line per measured pass), DIR/chart.png and the
# configurations and logs used in DIR/conf and DIR/logs.  Every process
# it starts is stopped on exit, by pid, also on ^C or an error.
#
# Environment knobs (defaults: full mode / --quick):
#	BENCH_DURATION	seconds per measured wrk run (2 / 3)
#	BENCH_WARMUP	seconds of unrecorded wrk before the first run of
#			each backend and keep-conn setting (1 / 1)
#	BENCH_PASSES	passes; each row is the median over them (3 / 1)
#	BENCH_CONC	concurrencies ("16 64 256" / "64")
#	BENCH_IO_CONC	concurrencies of the io10ms grid ("64 128" / "64")
#	BENCH_ONLY	extended regex: run only the backends it matches
#	BENCH_NGINX_WORKERS	nginx worker_processes (one per core)
#	BENCH_KEEP=1	keep the work directory
#	POOLED		the pooled binary (else $top_builddir/src/pooled,
#			else build/src/pooled, else built by scripts/deps.sh)

# make runs this with $(SHELL), which may be a POSIX sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/../.." && pwd)
T_START=$SECONDS

QUICK=0
PROFILE=0
INSTALL=1
OUT=
while [ "$#" -gt 0 ]; do
	case $1 in
	--quick)
		QUICK=1 ;;
	--profile)
		PROFILE=1 ;;
	--out)
		[ "$#" -ge 2 ] || { echo "bench: --out needs a directory" >&2; exit 64; }
		OUT=$2
		shift ;;
	--out=*)
		OUT=${1#--out=} ;;
	--no-install)
		INSTALL=0 ;;
	-h|--help)
		sed -n '2,/^$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	*)
		echo "bench: unknown argument $1 (--quick, --profile, --out DIR, --no-install)" >&2
		exit 64 ;;
	esac
	shift
done
OUT=${OUT:-bench-results}

if [ "$QUICK" = 1 ]; then
	DURATION=${BENCH_DURATION:-3}
	PASSES=${BENCH_PASSES:-1}
	CONCS=${BENCH_CONC:-64}
	IO_CONCS=${BENCH_IO_CONC:-64}
	MODE=quick
else
	DURATION=${BENCH_DURATION:-2}
	PASSES=${BENCH_PASSES:-3}
	CONCS=${BENCH_CONC:-16 64 256}
	IO_CONCS=${BENCH_IO_CONC:-64 128}
	MODE=full
fi
WARMUP=${BENCH_WARMUP:-1}
# One nginx worker per core, as worker_processes auto: with one worker,
# nginx's own FastCGI path (about 50 us of CPU a request) would cap every
# backend near 20,000 req/s on a single core and hide their differences.
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-$(nproc)}
ONLY=${BENCH_ONLY:-}
KEEPALIVE=16		# nginx upstream keepalive pool, per nginx worker
WRK_TIMEOUT=1s		# a request slower than this counts as a timeout error
			# (it must be under the run time to be seen at all)
SPAWN_SECONDS=2		# each spawn_rate measurement
PROFILE_SECONDS=3	# each traced wrk run of --profile
PROBE_ADDED=0
IO_MS=10

log()
{
	printf '[%4ds] %s\n' $((SECONDS - T_START)) "$*" >&2
}

die()
{
	log "bench: $*"
	exit 1
}

# Processes -----------------------------------------------------------------

PIDS=" "		# every process started here, stopped on exit
NGINX_PID=
WORK=

track()
{
	PIDS="$PIDS$1 "
}

untrack()
{
	PIDS=${PIDS/ $1 / }
}

alive()
{
	local state

	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

# proc_scan: read every /proc/PID/stat into PS_PPID[pid] and PS_CPU[pid]
# (utime + stime + cutime + cstime, in clock ticks: the time of children
# the process reaped counts, so CGI programs count for their server).
proc_scan()
{
	local f line pid
	local -a fld

	PS_PPID=()
	PS_CPU=()
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		# "pid (comm) state ppid ...", and comm may hold spaces.
		read -r -a fld <<<"${line##*) }"
		pid=${f#/proc/}
		pid=${pid%/stat}
		PS_PPID[pid]=${fld[1]}
		PS_CPU[pid]=$((fld[11] + fld[12] + fld[13] + fld[14]))
	done
}

# tree ROOT...: print ROOT and its descendants, from the last proc_scan.
tree()
{
	local -a queue=("$@")
	local -A kids=()
	local pid i=0

	for pid in "${!PS_PPID[@]}"; do
		kids[${PS_PPID[pid]}]+="$pid "
	done
	while [ "$i" -lt "${#queue[@]}" ]; do
		pid=${queue[i]}
		i=$((i + 1))
		[ -n "${PS_PPID[pid]+x}" ] || continue
		printf '%s\n' "$pid"
		# shellcheck disable=SC2206	# pids, split on purpose
		[ -n "${kids[$pid]:-}" ] && queue+=(${kids[$pid]})
	done
}

# cpu_ticks ROOT...: CPU ticks of the tree, from the last proc_scan.
cpu_ticks()
{
	local pid sum=0

	for pid in $(tree "$@"); do
		sum=$((sum + ${PS_CPU[pid]:-0}))
	done
	echo "$sum"
}

# busy_ticks: CPU ticks the whole machine spent busy (every CPU, all but
# idle and iowait), from /proc/stat.
busy_ticks()
{
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# pss_kb ROOT...: proportional set size of the tree now, in kB.
pss_kb()
{
	local pid
	local -a files=()

	proc_scan
	for pid in $(tree "$@"); do
		files+=("/proc/$pid/smaps_rollup")
	done
	# One cat for all: a process may be gone meanwhile.
	cat "${files[@]}" 2>/dev/null |
	    awk '$1 == "Pss:" { s += $2 } END { print s + 0 }'
}

# wait_gone TICKS PID...: wait until none of the PIDs is alive; 1 if
# some still is after TICKS times 50 ms.
wait_gone()
{
	local ticks=$1 pid i

	shift
	for i in $(seq 1 "$ticks"); do
		for pid in "$@"; do
			alive "$pid" && break
			pid=
		done
		[ -z "$pid" ] && return 0
		sleep 0.05
	done
	: "$i"
	return 1
}

# stop_tree SECONDS ROOT...: TERM the roots (a master stops its own
# workers) and wait up to SECONDS; then TERM what is left of the
# descendants found before (fcgiwrap leaves its children behind) and
# after another second KILL every one still there.
stop_tree()
{
	local secs=$1 pid all

	shift
	[ "$#" -gt 0 ] || return 0
	proc_scan
	all=$(tree "$@")
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null
	done
	# shellcheck disable=SC2086	# a list of pids
	if ! wait_gone $((secs * 20)) "$@" || ! wait_gone 4 $all; then
		for pid in $all; do
			alive "$pid" && kill -TERM "$pid" 2>/dev/null
		done
		# shellcheck disable=SC2086
		wait_gone 20 $all
		for pid in $all; do
			alive "$pid" && kill -KILL "$pid" 2>/dev/null
		done
	fi
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
		untrack "$pid"
	done
}

cleanup()
{
	local rc=$? pids

	trap - EXIT INT TERM
	backend_stop 2>/dev/null
	[ "$PROBE_ADDED" = 1 ] && perf probe -q -d probe_libc:malloc 2>/dev/null
	# shellcheck disable=SC2086,SC2116	# squeezes the blanks
	pids=$(echo $PIDS)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		stop_tree 3 $pids
	fi
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			log "kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Setup ----------------------------------------------------------------------

# shellcheck source=../../scripts/deps.sh
. "$SRCDIR/scripts/deps.sh"
# What the benchmark needs: scripts/deps.sh may name it
# (POOLED_BENCH_DEPS, on top of POOLED_DEPS).
if [ -n "${POOLED_BENCH_DEPS+x}" ]; then
	BENCH_DEPS=("${POOLED_DEPS[@]}" "${POOLED_BENCH_DEPS[@]}")
else
	BENCH_DEPS=(build-essential libfcgi-dev nginx-light curl wrk
	    spawn-fcgi php-fpm fcgiwrap gnuplot-nox)
fi
if [ "$INSTALL" = 1 ]; then
	deps_install "${BENCH_DEPS[@]}" >&2 || die "installing packages failed"
fi

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PHP_FPM=$(find /usr/sbin -maxdepth 1 -name 'php-fpm*' 2>/dev/null |
    sort -V | tail -n 1)
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
for tool in wrk spawn-fcgi curl cc "$NGINX" "$FCGIWRAP" "$PHP_FPM"; do
	command -v "$tool" >/dev/null 2>&1 ||
	    die "$tool not found (install: ${BENCH_DEPS[*]})"
done
HAVE_GNUPLOT=0
command -v gnuplot >/dev/null 2>&1 && HAVE_GNUPLOT=1

if [ -z "${POOLED:-}" ]; then
	for d in "${top_builddir:-}" "$SRCDIR/${POOLED_BUILD_DIR:-build}" "$SRCDIR"; do
		if [ -n "$d" ] && [ -x "$d/src/pooled" ]; then
			POOLED=$d/src/pooled
			break
		fi
	done
fi
if [ -z "${POOLED:-}" ]; then
	log "no pooled built: building it in ${POOLED_BUILD_DIR:-build}/"
	if [ "$INSTALL" = 1 ]; then
		deps_install >&2 || die "installing packages failed"
	fi
	# shellcheck disable=SC2119	# no configure arguments
	(cd "$SRCDIR" && build_pooled) >&2 || die "building pooled failed"
	POOLED=$SRCDIR/${POOLED_BUILD_DIR:-build}/src/pooled
fi
POOLED=$(cd "$(dirname "$POOLED")" && pwd)/$(basename "$POOLED")
MODULE_DIR=$(cd "$(dirname "$POOLED")/.." && pwd)/contrib/modules
for m in hello sleep; do
	[ -f "$MODULE_DIR/$m.so" ] || die "$MODULE_DIR/$m.so not built"
done

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/conf" "$OUT/logs"
mkdir -p "$OUT/conf" "$OUT/logs"
# A short directory: unix socket paths must fit in 108 bytes.
WORK=$(mktemp -d /tmp/pooled-bench.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK/s" "$WORK/bin" "$WORK/cgi" "$WORK/www" "$WORK/nginx" \
    "$WORK/run"
# Run as root, pooled's pools run as nobody, as a deployment runs them
# (pooled refuses root pools): it must reach the CGI programs here.
chmod 0711 "$WORK"
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true

log "building the peers in $WORK/bin"
P=$BENCH_DIR/peers
CFLAGS_PEER="-O2 -Wall -Wextra"
# shellcheck disable=SC2086
{
	cc $CFLAGS_PEER -o "$WORK/bin/hello_fcgi" "$P/hello_fcgi.c" -lfcgi &&
	cc $CFLAGS_PEER -pthread -o "$WORK/bin/hello_fcgi_mt" \
	    "$P/hello_fcgi_mt.c" -lfcgi -lpthread &&
	cc $CFLAGS_PEER -o "$WORK/cgi/hello.cgi" "$P/hello_cgi.c" &&
	cc $CFLAGS_PEER -o "$WORK/bin/spawn_rate" "$P/spawn_rate.c"
} >&2 || die "building the peers failed"
cp "$P/hello.php" "$WORK/www/hello.php"
cp "$P/hello.sh" "$WORK/cgi/hello.sh"
chmod 755 "$WORK/cgi/hello.sh"
EXPECT=$(printf 'Hello, world\n' | od -An -tx1 | tr -d ' \n')

# Backends -------------------------------------------------------------------
# One line each: NAME SCENARIO KEEPCONNS KIND ARG...  NAME is also the
# nginx location (/b/NAME/off, /b/NAME/on) and the socket $WORK/s/NAME.sock.

# hello's pooled rows: one single-threaded worker per core, the reference,
# and the shapes users configure for their slowest requests, with many
# more threads than cores (2 x 4, 4 x 16, 1 x 64).  A handler that only
# computes gains nothing from the threads; issue 17 asks that it lose
# nothing either (crew.c: while requests are quick, only about as many
# threads as cores serve at once).
HELLO_POOL=$(nproc)
BACKENDS=(
	"nginx-return ceiling - return"
	"pooled-${HELLO_POOL}x1 hello off,on pooled hello $HELLO_POOL 1"
	"pooled-4x16 hello off,on pooled hello 4 16"
	"pooled-1x64 hello off,on pooled hello 1 64"
	"spawn-fcgi-4 hello off,on spawnfcgi 4"
	"libfcgi-mt-8 hello off,on fcgimt 8"
	"php-fpm-8 hello off,on phpfpm 8"
	"pooled-cgi-2x2 cgi off,on pooledcgi 2 2"
)
# 4 x 1: what four processes cost without their threads, beside 4 x 16.
[ "$MODE" = full ] && BACKENDS+=(
	"pooled-2x4 hello off,on pooled hello 2 4"
	"pooled-4x1 hello off,on pooled hello 4 1"
)
# 4 x 4 runs 16 programs at once on two cores: see README.md, "autogroup".
[ "$MODE" = full ] && BACKENDS+=("pooled-cgi-4x4 cgi off pooledcgi 4 4")
BACKENDS+=("fcgiwrap-4 cgi off,on fcgiwrap 4")
[ "$MODE" = full ] && BACKENDS+=("fcgiwrap-8 cgi off fcgiwrap 8")
# The same, as a /bin/sh script.
BACKENDS+=(
	"pooled-cgish-2x2 cgish off pooledcgi 2 2"
	"fcgiwrap-sh-4 cgish off fcgiwrap 4"
)
# The I/O grid: as many threads as concurrent requests, spread three
# ways; the name says processes x threads, whose product is the
# concurrency of the run.
for c in $IO_CONCS; do
	p=$((c / 16))
	[ "$p" -gt 1 ] &&
	    BACKENDS+=("pooled-sleep-${p}x$((c / p)) io10ms off pooled sleep $p $((c / p))")
	BACKENDS+=(
		"pooled-sleep-1x$c io10ms off pooled sleep 1 $c"
		"pooled-sleep-${c}x1 io10ms off pooled sleep $c 1"
	)
done
# The pooled row each scenario's ratios are taken against: for CGI the
# pool running as many programs at once as fcgiwrap -c 4.
REFS="hello=pooled-${HELLO_POOL}x1 cgi=pooled-cgi-2x2 cgish=pooled-cgish-2x2"
# --profile: one serving process each, so one trace sees every request.
if [ "$PROFILE" = 1 ]; then
	MODE=profile
	BACKENDS=(
		"pooled-1x4 hello off,on pooled hello 1 4"
		"spawn-fcgi-1 hello off spawnfcgi 1"
		"php-fpm-1 hello off phpfpm 1"
		"pooled-cgi-1x1 cgi off pooledcgi 1 1"
		"fcgiwrap-1 cgi off fcgiwrap 1"
	)
fi

if [ -n "$ONLY" ]; then
	sel=()
	for b in "${BACKENDS[@]}"; do
		[[ ${b%% *} =~ $ONLY ]] && sel+=("$b")
	done
	BACKENDS=("${sel[@]}")
	[ "${#BACKENDS[@]}" -gt 0 ] || die "BENCH_ONLY=$ONLY matches no backend"
fi

# script_for SCENARIO KIND: the SCRIPT_FILENAME nginx sends for a backend.
script_for()
{
	case $1,$2 in
	*,phpfpm)	echo "$WORK/www/hello.php" ;;
	cgish,*)	echo "$WORK/cgi/hello.sh" ;;
	*)		echo "$WORK/cgi/hello.cgi" ;;
	esac
}

# nginx --------------------------------------------------------------------

nginx_has_module()
{
	! "$NGINX" -V 2>&1 | grep -q -- "--without-http_$1_module"
}

free_port()
{
	local port _

	for _ in $(seq 1 100); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if command -v ss >/dev/null 2>&1; then
			[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ] &&
			    continue
		elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		echo "$port"
		return 0
	done
	return 1
}

write_nginx_conf()
{
	local d=$WORK/nginx b name scen kind rest script

	{
		cat <<EOF
# written by tests/bench/bench.sh
worker_processes $NGINX_WORKERS;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 16384;
EOF
		[ "$(id -u)" -eq 0 ] && printf 'user root;\n'
		cat <<EOF
events {
	worker_connections 8192;
}
http {
	access_log off;
	client_body_temp_path $d/body;
	fastcgi_temp_path $d/fastcgi;
	proxy_temp_path $d/proxy;
EOF
		nginx_has_module scgi && printf '\tscgi_temp_path %s;\n' "$d/scgi"
		nginx_has_module uwsgi && printf '\tuwsgi_temp_path %s;\n' "$d/uwsgi"
		cat <<EOF
	# wrk's connections stay open for the whole run.
	keepalive_requests 1000000;
EOF
		for b in "${BACKENDS[@]}"; do
			read -r name _ _ kind rest <<<"$b"
			[ "$kind" = return ] && continue
			printf '\tupstream up_%s {\n' "${name//-/_}"
			printf '\t\tserver unix:%s/s/%s.sock;\n' "$WORK" "$name"
			printf '\t\tkeepalive %d;\n\t}\n' "$KEEPALIVE"
		done
		cat <<EOF

	server {
		listen 127.0.0.1:$NGINX_PORT backlog=4096;
		server_name localhost;

		location = /return {
			default_type text/plain;
			return 200 "Hello, world\n";
		}
EOF
		for b in "${BACKENDS[@]}"; do
			read -r name scen _ kind rest <<<"$b"
			[ "$kind" = return ] && continue
			script=$(script_for "$scen" "$kind")
			# The same location for every FastCGI backend; only
			# the upstream and the script differ.
			cat <<EOF

		location = /b/$name/off {
			fastcgi_pass unix:$WORK/s/$name.sock;
			include $d/fastcgi.conf;
			fastcgi_param SCRIPT_FILENAME $script;
		}
		location = /b/$name/on {
			fastcgi_pass up_${name//-/_};
			fastcgi_keep_conn on;
			include $d/fastcgi.conf;
			fastcgi_param SCRIPT_FILENAME $script;
		}
EOF
		done
		printf '\t}\n}\n'
	} >"$d/nginx.conf"
	# Debian's fastcgi_params, as every site includes it.
	cat >"$d/fastcgi.conf" <<'EOF'
fastcgi_param QUERY_STRING $query_string;
fastcgi_param REQUEST_METHOD $request_method;
fastcgi_param CONTENT_TYPE $content_type;
fastcgi_param CONTENT_LENGTH $content_length;
fastcgi_param SCRIPT_NAME $fastcgi_script_name;
fastcgi_param REQUEST_URI $request_uri;
fastcgi_param DOCUMENT_URI $document_uri;
fastcgi_param DOCUMENT_ROOT $document_root;
fastcgi_param SERVER_PROTOCOL $server_protocol;
fastcgi_param REQUEST_SCHEME $scheme;
fastcgi_param GATEWAY_INTERFACE CGI/1.1;
fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
fastcgi_param REMOTE_ADDR $remote_addr;
fastcgi_param REMOTE_PORT $remote_port;
fastcgi_param SERVER_ADDR $server_addr;
fastcgi_param SERVER_PORT $server_port;
fastcgi_param SERVER_NAME $server_name;
fastcgi_param REDIRECT_STATUS 200;
EOF
}

start_nginx()
{
	local _ i

	for _ in 1 2 3; do
		NGINX_PORT=$(free_port) || die "no free port"
		write_nginx_conf
		: >"$WORK/nginx/error.log"
		setsid "$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" \
		    -e "$WORK/nginx/error.log" </dev/null \
		    >"$WORK/nginx/stderr.log" 2>&1 &
		NGINX_PID=$!
		track "$NGINX_PID"
		for i in $(seq 1 50); do
			alive "$NGINX_PID" || break
			[ "$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' \
			    "http://127.0.0.1:$NGINX_PORT/return")" = 200 ] &&
			    return 0
			sleep 0.1
		done
		: "$i"
		stop_tree 2 "$NGINX_PID"
		NGINX_PID=
		grep -q 'Address already in use' "$WORK/nginx/error.log" \
		    "$WORK/nginx/stderr.log" 2>/dev/null || break
	done
	cat "$WORK/nginx/stderr.log" "$WORK/nginx/error.log" >&2
	die "nginx did not start"
}

URL_BASE=

# Backend start and stop ---------------------------------------------------

B_NAME=
B_ROOTS=()
B_LOG=
B_STOP_SECS=1		# how long TERM may take before KILL
B_SOCK=

# body_ok URL [HEX]: the answer is exactly the hello body (or the bytes
# HEX, as od -tx1 prints them).
body_ok()
{
	local got

	got=$(curl -s --max-time 2 "$1" | od -An -tx1 | tr -d ' \n')
	[ "$got" = "${2:-$EXPECT}" ]
}

# wait_ready URL SECONDS [HEX]: until URL answers the expected body.
wait_ready()
{
	local i pid

	for i in $(seq 1 $(($2 * 10))); do
		# Probe only once the socket is there: nginx would log
		# every failed connect.
		[ -S "$B_SOCK" ] && body_ok "$1" "${3:-}" && return 0
		for pid in "${B_ROOTS[@]}"; do
			alive "$pid" || return 1
		done
		sleep 0.1
	done
	: "$i"
	return 1
}

pooled_conf()
{
	local name=$1 handler=$2 procs=$3 threads=$4

	printf 'error_log = "stderr"\nlog_level = "info"\n'
	[ "$(id -u)" -eq 0 ] && printf 'user = "nobody"\n'
	printf '\n'
	printf 'pool %s {\n' "${name//[^A-Za-z0-9_.-]/_}"
	printf '\tlisten = "%s/s/%s.sock"\n' "$WORK" "$name"
	printf '\tprocesses = %d\n\tthreads = %d\n' "$procs" "$threads"
	case $handler in
	cgi)
		printf '\thandler = "cgi"\n\tcgi_root = {"%s/cgi"}\n' "$WORK" ;;
	*)
		printf '\thandler = "module"\n\tmodule = "%s/%s.so"\n' \
		    "$MODULE_DIR" "$handler" ;;
	esac
	printf '}\n'
}

# backend_start LINE: start a backend of BACKENDS and wait until it
# answers; sets B_NAME, B_ROOTS (the pids whose process trees are the
# backend) and B_LOG.
#
# nginx and every backend run in a session of their own, as daemons do:
# with the kernel's autogroup scheduling (Debian's default) a session is
# a CPU group, and a backend sharing the script's session would share
# wrk's group, or nginx's.  (spawn-fcgi's children each call setsid()
# themselves, so each is a group of its own, as in production.)  setsid
# execs in place here: a background job of a script leads no process
# group, so $! stays the server's pid.
backend_start()
{
	local name kind a1 a2 a3 sock conf="" pidf secs=15 i expect=""

	read -r name _ _ kind a1 a2 a3 <<<"$1"
	B_NAME=$name
	B_ROOTS=()
	B_LOG=$WORK/run/$name.log
	B_STOP_SECS=1
	sock=$WORK/s/$name.sock
	B_SOCK=$sock
	rm -f "$sock"
	case $kind in
	return)
		return 0 ;;
	pooled|pooledcgi)
		conf=$WORK/run/$name.conf
		if [ "$kind" = pooledcgi ]; then
			pooled_conf "$name" cgi "$a1" "$a2" >"$conf"
		else
			pooled_conf "$name" "$a1" "$a2" "$a3" >"$conf"
			secs=$((15 + a2 / 8))
			[ "$a1" = sleep ] &&
			    expect=$(printf 'slept 0 ms\n' | od -An -tx1 | tr -d ' \n')
		fi
		setsid "$POOLED" -F -c "$conf" </dev/null >>"$B_LOG" 2>&1 &
		B_ROOTS=($!)
		B_STOP_SECS=7 ;;	# kill_timeout is 5 s
	spawnfcgi)
		pidf=$WORK/run/$name.pid
		spawn-fcgi -s "$sock" -b 1024 -F "$a1" -P "$pidf" -- \
		    "$WORK/bin/hello_fcgi" </dev/null >>"$B_LOG" 2>&1
		mapfile -t B_ROOTS <"$pidf" ;;
	fcgimt)
		setsid spawn-fcgi -n -s "$sock" -b 1024 -- \
		    "$WORK/bin/hello_fcgi_mt" "$a1" </dev/null >>"$B_LOG" 2>&1 &
		B_ROOTS=($!) ;;
	phpfpm)
		conf=$WORK/run/$name.conf
		{
			printf '[global]\npid = %s/run/%s.pid\n' "$WORK" "$name"
			printf 'error_log = %s\ndaemonize = no\n\n' "$B_LOG"
			printf '[bench]\n'
			if [ "$(id -u)" -eq 0 ]; then
				printf 'user = root\ngroup = root\n'
			fi
			printf 'listen = %s\nlisten.backlog = 1024\n' "$sock"
			printf 'pm = static\npm.max_children = %d\n' "$a1"
		} >"$conf"
		if [ "$(id -u)" -eq 0 ]; then
			setsid "$PHP_FPM" -F -R -y "$conf" </dev/null >>"$B_LOG" 2>&1 &
		else
			setsid "$PHP_FPM" -F -y "$conf" </dev/null >>"$B_LOG" 2>&1 &
		fi
		B_ROOTS=($!) ;;
	fcgiwrap)
		setsid "$FCGIWRAP" -s "unix:$sock" -c "$a1" </dev/null >>"$B_LOG" 2>&1 &
		B_ROOTS=($!) ;;
	*)
		die "unknown backend kind $kind" ;;
	esac
	for i in "${B_ROOTS[@]}"; do
		track "$i"
	done
	[ -n "$conf" ] && cp "$conf" "$OUT/conf/$name.conf" 2>/dev/null
	if [ "${#B_ROOTS[@]}" -eq 0 ] ||
	    ! wait_ready "$URL_BASE/b/$name/off?ms=0" "$secs" "$expect"; then
		log "$name: did not answer \"Hello, world\" within $secs s"
		return 1
	fi
	return 0
}

backend_stop()
{
	[ "${#B_ROOTS[@]}" -gt 0 ] || return 0
	stop_tree "$B_STOP_SECS" "${B_ROOTS[@]}"
	B_ROOTS=()
	if [ -n "$B_LOG" ] && [ -f "$B_LOG" ]; then
		cat "$B_LOG" >>"$OUT/logs/$B_NAME.log"
		rm -f "$B_LOG"
	fi
}

# log_problems FILE: the lines of a backend's or nginx's log that tell
# of a problem: levels warning and above (pooled's "warning", nginx's
# "[warn]", php-fpm's "WARNING:"), timeouts, crashes.  Not counted:
# info and notice lines (a worker "killed by signal 15" at the stop);
# pooled's "the handler wrote no response; answering 500" for a request
# whose client went away (wrk closing its connections at the end of a
# run), which only follows the notice saying so; and pooled's
# "max_processes (N) reached with no thread idle; requests wait", the
# saturation every benchmark of a static pool reaches.
log_problems()
{
	awk '
	$5 == "req" && /the client went away/ { gone[$4 " " $6] = 1 }
	$5 == "req" && /wrote no response/ && (($4 " " $6) in gone) { next }
	/ (debug|info|notice) |NOTICE:|reached with no thread idle/ { next }
	tolower($0) ~ /warn|error|crit|alert|emerg|fatal|timed out|signal|core dumped/
	' "$1"
}

# log_problem_count FILE: how many such lines FILE has (0 if none).
log_problem_count()
{
	if [ -f "$1" ]; then
		log_problems "$1" | wc -l
	else
		echo 0
	fi
}

# Measuring ----------------------------------------------------------------

# to_ms VALUE: wrk's "1.23ms", "456.00us", "1.20s", "2.00m" in ms.
to_ms()
{
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.3f", n
	}'
}

# wrk_run URL CONC SECONDS OUTFILE: run wrk in the background (WRK_PID);
# OUTFILE gets wrk's output, OUTFILE.times the CPU time wrk used.
wrk_run()
{
	(
		wrk -t1 -c"$2" -d"${3}s" --timeout "$WRK_TIMEOUT" --latency \
		    "$1" >"$4" 2>&1
		times >"$4.times"
	) &
	WRK_PID=$!
	track "$WRK_PID"
}

wrk_wait()
{
	wait "$WRK_PID" 2>/dev/null
	untrack "$WRK_PID"
	WRK_PID=
}

RAW=$WORK/raw.tsv
: >"$RAW"

# measure PASS SCENARIO BACKEND KEEP CONC URL PSS_REST WARMUP: a warm-up
# of WARMUP seconds (none if 0), then one measured wrk run; appends a
# line to $RAW.
measure()
{
	local pass=$1 scen=$2 name=$3 keep=$4 conc=$5 url=$6 rest=$7 warm=$8
	local f=$WORK/run/wrk.out t0 t1 n0 n1 b0 b1 a0 a1 load=0 half
	local rps req p50 p99 non2xx ec er ew et cpu_wrk line errlines0 bl0

	if [ "$warm" != 0 ]; then
		wrk_run "$url" "$conc" "$warm" "$f"
		wrk_wait
	fi
	errlines0=$(wc -l <"$WORK/nginx/error.log")
	bl0=$(log_problem_count "$B_LOG")
	proc_scan
	n0=$(cpu_ticks "$NGINX_PID")
	b0=0
	[ "${#B_ROOTS[@]}" -gt 0 ] && b0=$(cpu_ticks "${B_ROOTS[@]}")
	a0=$(busy_ticks)
	t0=$(date +%s.%N)
	wrk_run "$url" "$conc" "$DURATION" "$f"
	half=$(awk -v d="$DURATION" 'BEGIN { printf "%.2f", d / 2 }')
	sleep "$half"
	[ "${#B_ROOTS[@]}" -gt 0 ] && load=$(pss_kb "${B_ROOTS[@]}")
	wrk_wait
	t1=$(date +%s.%N)
	a1=$(busy_ticks)
	proc_scan
	n1=$(cpu_ticks "$NGINX_PID")
	b1=0
	[ "${#B_ROOTS[@]}" -gt 0 ] && b1=$(cpu_ticks "${B_ROOTS[@]}")
	rps=$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' "$f")
	req=$(sed -n 's/^[[:space:]]*\([0-9]*\) requests in .*/\1/p' "$f")
	p50=$(awk '$1 == "50%" { print $2 }' "$f")
	p99=$(awk '$1 == "99%" { print $2 }' "$f")
	non2xx=$(sed -n 's/.*Non-2xx or 3xx responses:[[:space:]]*\([0-9]*\).*/\1/p' "$f")
	line=$(grep 'Socket errors:' "$f")
	ec=$(sed -n 's/.*connect \([0-9]*\).*/\1/p' <<<"$line")
	er=$(sed -n 's/.*read \([0-9]*\).*/\1/p' <<<"$line")
	ew=$(sed -n 's/.*write \([0-9]*\).*/\1/p' <<<"$line")
	et=$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' <<<"$line")
	# times: the subshell's own line, then its children's (wrk).
	cpu_wrk=$(tail -n 1 "$f.times" 2>/dev/null | awk '{
		s = 0
		for (i = 1; i <= 2; i++) {
			split($i, a, "m"); sub("s", "", a[2])
			s += a[1] * 60 + a[2]
		}
		print s }')
	if [ -z "$rps" ] || [ -z "$req" ]; then
		log "$name $keep c$conc: wrk gave no result:"
		sed 's/^/    /' "$f" >&2
		rps=0 req=0
	fi
	printf '%s\t' "$pass" "$scen" "$name" "$keep" "$conc" "$rps" \
	    "$(to_ms "${p50:-0}")" "$(to_ms "${p99:-0}")" "$req" \
	    "${non2xx:-0}" "${ec:-0}" "${er:-0}" "${ew:-0}" "${et:-0}" \
	    "${cpu_wrk:-0}" \
	    "$(awk -v a="$n0" -v b="$n1" -v h="$CLK_TCK" 'BEGIN { print (b - a) / h }')" \
	    "$(awk -v a="$b0" -v b="$b1" -v h="$CLK_TCK" 'BEGIN { print (b - a) / h }')" \
	    "$rest" "$load" \
	    "$(($(wc -l <"$WORK/nginx/error.log") - errlines0))" \
	    "$(($(log_problem_count "$B_LOG") - bl0))" \
	    "$(awk -v a="$a0" -v b="$a1" -v h="$CLK_TCK" 'BEGIN { print (b - a) / h }')" \
	    >>"$RAW"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }' >>"$RAW"
	log "$(printf '%-16s %-3s c%-4s %9s req/s  p50 %8s  p99 %8s  errors %s' \
	    "$name" "$keep" "$conc" "$rps" "${p50:-?}" "${p99:-?}" \
	    "$(( ${non2xx:-0} + ${ec:-0} + ${er:-0} + ${ew:-0} + ${et:-0} ))")"
}

CLK_TCK=$(getconf CLK_TCK)
LOADAVG_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
CMD="tests/bench/bench.sh"
[ "$QUICK" = 1 ] && CMD="$CMD --quick"
[ "$PROFILE" = 1 ] && CMD="$CMD --profile"

# Run ----------------------------------------------------------------------

ncells=0
ngroups=0
for b in "${BACKENDS[@]}"; do
	read -r _ scen keeps _ <<<"$b"
	nk=1
	[ "$keeps" = off,on ] && nk=2
	if [ "$scen" = io10ms ]; then
		ncells=$((ncells + 1))
	else
		ncells=$((ncells + nk * $(wc -w <<<"$CONCS")))
	fi
	ngroups=$((ngroups + nk))
done
if [ "$PROFILE" = 1 ]; then
	log "pooled profile: ${#BACKENDS[@]} backends, ${PROFILE_SECONDS}s traced" \
	    "each, about $(( ngroups * (PROFILE_SECONDS + 3) + 5 )) s"
else
	log "pooled bench, $MODE mode: ${#BACKENDS[@]} backends, $ncells rows," \
	    "$PASSES pass(es) of ${DURATION}s each, ${WARMUP}s warm-up per backend" \
	    "and keep-conn: about" \
	    "$(( (ncells * DURATION + ngroups * WARMUP + ${#BACKENDS[@]}) * PASSES + 2 * SPAWN_SECONDS + 5)) s"
fi
log "pooled $POOLED, results in $OUT"

start_nginx
URL_BASE=http://127.0.0.1:$NGINX_PORT
cp "$WORK/nginx/nginx.conf" "$WORK/nginx/fastcgi.conf" "$OUT/conf/"
log "nginx $NGINX_PID on $URL_BASE, $NGINX_WORKERS worker(s)"

machine()
{
	local model

	model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo |
	    head -n 1)
	printf -- '- machine: %s cores, %s, %s GiB RAM\n' "$(nproc)" \
	    "${model:-unknown CPU}" \
	    "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
	printf -- '- system: Linux %s (sched_autogroup_enabled %s), Debian %s\n' \
	    "$(uname -r)" \
	    "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '-')" \
	    "$(cat /etc/debian_version 2>/dev/null || echo '?')"
	printf -- '- pooled %s (%s); %s; wrk %s; %s; spawn-fcgi %s; fcgiwrap %s\n' \
	    "$("$POOLED" -v 2>&1 | head -n 1 | awk '{ print $NF }')" \
	    "$(git -C "$SRCDIR" describe --always --dirty 2>/dev/null || echo '?')" \
	    "$("$NGINX" -v 2>&1 | sed 's/.*: //')" \
	    "$(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }')" \
	    "$("$PHP_FPM" -v 2>/dev/null | head -n 1 | awk '{ print $1, $2 }')" \
	    "$(dpkg-query -W -f='${Version}' spawn-fcgi 2>/dev/null)" \
	    "$(dpkg-query -W -f='${Version}' fcgiwrap 2>/dev/null)"
}

# Profile --------------------------------------------------------------------
# --profile: system calls per request (strace -c, every thread and child of
# the process that serves) and, where perf can set uprobes, malloc calls
# per request, for one serving process of each backend at c16.

# trace_pid KIND: the process that serves the requests of the backend
# started: pooled's only worker and PHP-FPM's only child, else the root
# itself (spawn-fcgi -F 1's process; fcgiwrap -c 1 serves in its own).
trace_pid()
{
	case $1 in
	pooled|pooledcgi|phpfpm)
		pgrep -P "${B_ROOTS[0]}" | head -n 1 ;;
	*)
		echo "${B_ROOTS[0]}" ;;
	esac
}

# profile_one NAME KEEP KIND: strace -c (and perf stat on malloc) of the
# serving process during a wrk run; appends "NAME/KEEP syscall per-request"
# lines to $WORK/profile.dat.
profile_one()
{
	local name=$1 keep=$2 kind=$3 pid url f=$WORK/run/wrk.out st n sp

	url=$URL_BASE/b/$name/$keep
	pid=$(trace_pid "$kind")
	[ -n "$pid" ] || { log "$name: no serving process"; return 1; }
	wrk_run "$url" 16 1 "$f"
	wrk_wait
	st=$WORK/run/strace.$name.$keep
	strace -c -f -q -o "$st" -p "$pid" &
	sp=$!
	track "$sp"
	sleep 0.5
	if [ "$MALLOC_PROBE" = 1 ]; then
		perf stat -x, -e probe_libc:malloc -p "$pid" \
		    -o "$WORK/run/perf.$name.$keep" -- \
		    wrk -t1 -c16 -d"${PROFILE_SECONDS}s" "$url" >"$f" 2>&1
	else
		wrk -t1 -c16 -d"${PROFILE_SECONDS}s" "$url" >"$f" 2>&1
	fi
	sleep 0.2
	kill -INT "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	untrack "$sp"
	n=$(sed -n 's/^[[:space:]]*\([0-9]*\) requests in .*/\1/p' "$f")
	[ "${n:-0}" -gt 0 ] || { log "$name $keep: wrk gave no result"; return 1; }
	# strace -c: "% time seconds usecs/call calls [errors] syscall".
	awk -v b="$name/$keep" -v n="$n" '
	    $1 ~ /^[0-9.]+$/ && NF >= 5 { printf "%s %s %.3f\n", b, $NF, $4 / n }' \
	    "$st" >>"$WORK/profile.dat"
	if [ -s "$WORK/run/perf.$name.$keep" ]; then
		awk -F, -v b="$name/$keep" -v n="$n" '
		    $3 == "probe_libc:malloc" { printf "%s malloc() %.3f\n", b, $1 / n }' \
		    "$WORK/run/perf.$name.$keep" >>"$WORK/profile.dat"
	fi
	log "$(printf '%-16s %-3s %7d requests traced' "$name" "$keep" "$n")"
}

profile_run()
{
	local b name kind keeps keep libc

	# A uprobe on libc's malloc, unless perf or uprobes are missing.
	MALLOC_PROBE=0
	libc=$(ldd "$POOLED" | awk '$1 ~ /^libc\.so/ { print $3 }')
	if ! command -v perf >/dev/null 2>&1 || [ -z "$libc" ]; then
		:
	elif perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc '; then
		MALLOC_PROBE=1
	elif perf probe -q -x "$libc" -a malloc >/dev/null 2>&1; then
		MALLOC_PROBE=1
		PROBE_ADDED=1
	fi
	: >"$WORK/profile.dat"
	for b in "${BACKENDS[@]}"; do
		read -r name _ keeps kind _ <<<"$b"
		backend_start "$b" || { backend_stop; continue; }
		for keep in ${keeps//,/ }; do
			profile_one "$name" "$keep" "$kind"
		done
		backend_stop
	done
	# One column per backend, one row per call made at least 0.05 times
	# a request by one of them.
	awk '
	{ if (!($1 in C)) { C[$1] = 1; CO[++nc] = $1 }
	  if ($2 == "total" || $2 == "malloc()") { X[$1, $2] = $3; next }
	  if (!($2 in R)) { R[$2] = 0; RO[++nr] = $2 }
	  V[$1, $2] = $3; if ($3 + 0 > R[$2]) R[$2] = $3 + 0 }
	END {
		printf "| per request |"; for (i = 1; i <= nc; i++) printf " %s |", CO[i]; printf "\n|---|"
		for (i = 1; i <= nc; i++) printf "---:|"; printf "\n"
		for (j = 1; j <= nr; j++) {
			if (R[RO[j]] < 0.05) continue
			printf "| %s |", RO[j]
			for (i = 1; i <= nc; i++) printf " %s |", ((CO[i], RO[j]) in V) ? sprintf("%.2f", V[CO[i], RO[j]]) : "-"
			printf "\n"
		}
		printf "| **all system calls** |"
		for (i = 1; i <= nc; i++) printf " **%s** |", ((CO[i], "total") in X) ? sprintf("%.2f", X[CO[i], "total"]) : "-"
		printf "\n"
		printf "| malloc() calls |"
		for (i = 1; i <= nc; i++) printf " %s |", ((CO[i], "malloc()") in X) ? sprintf("%.1f", X[CO[i], "malloc()"]) : "-"
		printf "\n"
	}' "$WORK/profile.dat" >"$WORK/profile.md"
	# shellcheck disable=SC2016	# backquotes for Markdown
	{
		printf '# pooled profile: system calls and allocations per request\n\n'
		machine
		printf -- '- %s s of wrk -t1 -c16 per backend and keep-conn setting, through nginx, after 1 s of warm-up; `strace -c -f` on the one process that serves (pooled'"'"'s only worker with its threads; spawn-fcgi'"'"'s only process; PHP-FPM'"'"'s only child; fcgiwrap and the CGI pools with the programs they run)%s\n' \
		    "$PROFILE_SECONDS" \
		    "$([ "$MALLOC_PROBE" = 1 ] && echo '; malloc() counted with a perf uprobe on libc')"
		printf -- '- `%s`\n\n' "$CMD"
		cat "$WORK/profile.md"
	} >"$OUT/profile.md"
	cat "$OUT/profile.md"
}

if [ "$PROFILE" = 1 ]; then
	profile_run
	log "done in $((SECONDS - T_START)) s: $OUT/profile.md"
	exit 0
fi

# The raw spawn rate of the CGI program, one at a time and one per core.
NPROC=$(nproc)
SPAWN1=0
SPAWNN=0
if [ -z "$ONLY" ] || [[ pooled-cgi =~ $ONLY ]]; then
	SPAWN1=$("$WORK/bin/spawn_rate" "$WORK/cgi/hello.cgi" "$SPAWN_SECONDS" 1 |
	    awk '{ print $6 }')
	SPAWNN=$("$WORK/bin/spawn_rate" "$WORK/cgi/hello.cgi" "$SPAWN_SECONDS" "$NPROC" |
	    awk '{ print $6 }')
	log "spawn_rate hello.cgi: $SPAWN1 runs/s one at a time, $SPAWNN with $NPROC at once"
fi
SPAWNN_SH=0
if [ -z "$ONLY" ] || [[ pooled-cgish =~ $ONLY ]]; then
	SPAWNN_SH=$("$WORK/bin/spawn_rate" "$WORK/cgi/hello.sh" "$SPAWN_SECONDS" "$NPROC" |
	    awk '{ print $6 }')
	log "spawn_rate hello.sh: $SPAWNN_SH runs/s with $NPROC at once"
fi

FAILED=
for pass in $(seq 1 "$PASSES"); do
	log "pass $pass of $PASSES"
	for b in "${BACKENDS[@]}"; do
		read -r name scen keeps kind _ <<<"$b"
		if ! backend_start "$b"; then
			FAILED="$FAILED $name"
			backend_stop
			continue
		fi
		rest=0
		[ "${#B_ROOTS[@]}" -gt 0 ] && rest=$(pss_kb "${B_ROOTS[@]}")
		if [ "$kind" = return ]; then
			w=$WARMUP
			for c in $CONCS; do
				measure "$pass" "$scen" "$name" - "$c" \
				    "$URL_BASE/return" "$rest" "$w"
				w=0
			done
		elif [ "$scen" = io10ms ]; then
			g=${name##*-}
			measure "$pass" "$scen" "$name" off \
			    $((${g%x*} * ${g#*x})) \
			    "$URL_BASE/b/$name/off?ms=$IO_MS" "$rest" "$WARMUP"
		else
			for keep in ${keeps//,/ }; do
				if ! body_ok "$URL_BASE/b/$name/$keep"; then
					log "$name keep-conn $keep: wrong answer"
					FAILED="$FAILED $name/$keep"
				fi
				# The warm-up starts each backend and keep-conn.
				w=$WARMUP
				for c in $CONCS; do
					measure "$pass" "$scen" "$name" "$keep" \
					    "$c" "$URL_BASE/b/$name/$keep" "$rest" "$w"
					w=0
				done
			done
		fi
		backend_stop
	done
done
cp "$WORK/nginx/error.log" "$OUT/logs/nginx-error.log"
T_RUN=$((SECONDS - T_START))

# The backends alone, without nginx and wrk (backend.sh, issue 17), in the
# same run: their own CPU per request.  BENCH_BACKEND=0 leaves it out.
rm -f "$OUT/backend.md"
if [ "$MODE" != profile ] && [ "${BENCH_BACKEND:-1}" != 0 ]; then
	barg=()
	[ "$QUICK" = 1 ] && barg=(--quick)
	POOLED=$POOLED FCGI_LOAD=$(dirname "$POOLED")/../tests/bench/fcgi_load \
	    bash "$BENCH_DIR/backend.sh" "${barg[@]}" --out "$OUT" >/dev/null ||
	    log "backend.sh failed: no backend-only table"
fi

# Report -------------------------------------------------------------------

# shellcheck disable=SC2016	# an awk program
REPORT_AWK='
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n == 0) return 0
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(k, i, v) { L[k, i] = L[k, i] (L[k, i] == "" ? "" : " ") v }
function mb(kb) { return kb > 0 ? sprintf("%.1f", kb / 1024) : "-" }
function ms(v) { return v >= 100 ? sprintf("%.0f", v) : (v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v)) }
function grid(name, a) { return match(name, /[0-9]+x[0-9]+$/) ? substr(name, RSTART, RLENGTH) : "" }
function threads(name,   g, a) { g = grid(name); split(g, a, "x"); return a[1] * a[2] }
function verdict(ok) { return ok ? "met" : "**missed**" }
# A target row "a makes at least min times the req/s of b": printed, and
# 1, when both rows were measured.
function rps_target(text, a, b, min,   r) {
	if (!(a in RPS) || !(b in RPS)) return 0
	r = RPS[a] / RPS[b]
	printf "| %s | %.2f × (%.0f vs %.0f req/s) | %s |\n", text, r, RPS[a], RPS[b], verdict(r >= min) >tgt
	return 1
}
BEGIN {
	FS = "\t"
	n = split(refs, rr, " ")
	for (i = 1; i <= n; i++) { split(rr[i], kv, "="); REF[kv[1]] = kv[2] }
}
{
	k = $2 SUBSEP $3 SUBSEP $4 SUBSEP $5
	if (!(k in SEEN)) { SEEN[k] = 1; ORDER[++nk] = k }
	add(k, "rps", $6)
	if ($9 > 0) {
		add(k, "p50", $7); add(k, "p99", $8)
		add(k, "cw", $15 / $9 * 1e6); add(k, "cn", $16 / $9 * 1e6)
		add(k, "cb", $17 / $9 * 1e6); add(k, "ca", $22 / $9 * 1e6)
	} else
		ST[k]++		# nothing answered in the whole run
	add(k, "rest", $18); add(k, "load", $19)
	N2[k] += $10; EC[k] += $11; ER[k] += $12; EW[k] += $13; ET[k] += $14
	NE[k] += $20; BL[k] += $21; NP[k]++
	RAW = RAW sprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.3f,%.3f,%.3f,%s,%s,%s,%s,%.3f,%s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
}
END {
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]; split(k, f, SUBSEP)
		RPS[k] = median(L[k, "rps"])
		ERR[k] = N2[k] + EC[k] + ER[k] + EW[k] + ET[k]
	}
	print "| scenario | backend | keep-conn | c | req/s | p50 ms | p99 ms | errors | CPU µs/req wrk/nginx/backend/all | PSS rest MB | PSS load MB | pooled ÷ this |" >md
	print "|---|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|" >md
	print "scenario,backend,keepconn,concurrency,passes,rps,p50_ms,p99_ms,errors,non2xx,connect_errors,read_errors,write_errors,timeouts,cpu_wrk_us_per_req,cpu_nginx_us_per_req,cpu_backend_us_per_req,cpu_all_us_per_req,pss_rest_mb,pss_load_mb,pooled_ref,pooled_ref_over_this,rps_passes,nginx_error_lines,backend_log_problems,stalled_passes" >csv
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]; split(k, f, SUBSEP)
		s = f[1]; b = f[2]; kc = f[3]; c = f[4]
		ratio = "-"; ref = ""
		if (s in REF) {
			ref = REF[s]; rk = s SUBSEP ref SUBSEP kc SUBSEP c
			if ((rk in RPS) && RPS[k] > 0)
				ratio = sprintf("%.2f", RPS[rk] / RPS[k])
		}
		e = ERR[k] ""
		if (ERR[k] > 0) {
			d = ""
			if (N2[k]) d = d " non-2xx " N2[k]
			if (EC[k]) d = d " connect " EC[k]
			if (ER[k]) d = d " read " ER[k]
			if (EW[k]) d = d " write " EW[k]
			if (ET[k]) d = d " timeout " ET[k]
			e = e " (" substr(d, 2) ")"
		}
		if (ST[k] > 0)
			e = e sprintf(" · **stalled %d/%d**", ST[k], NP[k])
		if (NE[k] + BL[k] > 0)
			e = e sprintf(" · log %d", NE[k] + BL[k])
		cpu = sprintf("%.0f/%.0f/%s/%.0f", median(L[k, "cw"]), median(L[k, "cn"]), b == "nginx-return" ? "-" : sprintf("%.0f", median(L[k, "cb"])), median(L[k, "ca"]))
		printf "| %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", s, b, kc, c, RPS[k], ms(median(L[k, "p50"])), ms(median(L[k, "p99"])), e, cpu, mb(median(L[k, "rest"])), mb(median(L[k, "load"])), ratio >md
		printf "%s,%s,%s,%s,%d,%.1f,%.3f,%.3f,%d,%d,%d,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%.2f,%.2f,%s,%s,%s,%d,%d,%d\n", s, b, kc, c, NP[k], RPS[k], median(L[k, "p50"]), median(L[k, "p99"]), ERR[k], N2[k], EC[k], ER[k], EW[k], ET[k], median(L[k, "cw"]), median(L[k, "cn"]), median(L[k, "cb"]), median(L[k, "ca"]), median(L[k, "rest"]) / 1024, median(L[k, "load"]) / 1024, ref, ratio, L[k, "rps"], NE[k], BL[k], ST[k] >csv
		if (c == 64 && s != "io10ms") {
			lab = b
			if (!(lab in CH)) { CH[lab] = 1; CHO[++nch] = lab }
			if (kc == "on") CHON[lab] = RPS[k]; else CHOFF[lab] = RPS[k]
		}
	}
	printf "pass,scenario,backend,keepconn,concurrency,rps,p50_ms,p99_ms,requests,non2xx,connect_errors,read_errors,write_errors,timeouts,cpu_wrk_s,cpu_nginx_s,cpu_backend_s,pss_rest_kb,pss_load_kb,nginx_error_lines,backend_log_problems,cpu_all_s,seconds\n%s", RAW >rawcsv
	for (i = 1; i <= nch; i++)
		printf "\"%s\" %s %s\n", CHO[i], (CHO[i] in CHOFF) ? CHOFF[CHO[i]] : "-", (CHO[i] in CHON) ? CHON[CHO[i]] : "-" >chart

	# The I/O grid against Little'"'"'s law.
	ng = 0
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]; split(k, f, SUBSEP)
		if (f[1] != "io10ms") continue
		if (!ng++) {
			print "| pool (processes x threads) | c | req/s | bound c/" iosec "s | req/s ÷ bound | p50 ms | p50 ÷ " iosec * 1000 " ms | PSS rest MB | PSS load MB | concurrent requests per MB |" >grd
			print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" >grd
		}
		c = f[4]; cap = threads(f[2]); eff = cap < c ? cap : c
		bound = eff / iosec; p50 = median(L[k, "p50"]); ld = median(L[k, "load"])
		printf "| %s | %s | %.0f | %.0f | %.2f | %s | %.2f | %s | %s | %s |\n", grid(f[2]), c, RPS[k], bound, RPS[k] / bound, ms(p50), p50 / (iosec * 1000), mb(median(L[k, "rest"])), mb(ld), (ld > 0 ? sprintf("%.1f", c / (ld / 1024)) : "-") >grd
		if (!(c in IO_OK)) { IO_OK[c] = 1; P50_OK[c] = 1; IOC[++nioc] = c }
		IO_OK[c] = IO_OK[c] && RPS[k] / bound >= 0.95
		P50_OK[c] = P50_OK[c] && p50 <= iosec * 1000 * 1.10
		IO_TXT[c] = IO_TXT[c] sprintf("%s %.3f, ", grid(f[2]), RPS[k] / bound)
		P50_TXT[c] = P50_TXT[c] sprintf("%s %s ms, ", grid(f[2]), ms(p50))
	}

	# Issue 6 targets.
	print "| target (issue 6) | measured | verdict |" >tgt
	print "|---|---|---|" >tgt
	sf = "hello" SUBSEP "spawn-fcgi-4" SUBSEP "off" SUBSEP 64
	po = "hello" SUBSEP REF["hello"] SUBSEP "off" SUBSEP 64
	pn = "hello" SUBSEP REF["hello"] SUBSEP "on" SUBSEP 64
	if (rps_target("hello, keep-conn off, c64: " REF["hello"] " ≥ 1.25 × spawn-fcgi 4", po, sf, 1.25)) {
		a = median(L[po, "p99"]); bb = median(L[sf, "p99"])
		printf "| … and p99 no worse than spawn-fcgi | %s vs %s ms | %s |\n", ms(a), ms(bb), verdict(a <= bb) >tgt
	}
	if (rps_target("hello, keep-conn on, c64: ≥ 1.5 × spawn-fcgi 4 keep-conn off", pn, sf, 1.5)) {
		a = median(L[pn, "p99"])
		printf "| … p99 under 50 ms, zero timeouts | p99 %s ms, %d timeouts | %s |\n", ms(a), ET[pn], verdict(a < 50 && ET[pn] == 0) >tgt
	}
	ph = "hello" SUBSEP "php-fpm-8" SUBSEP "off" SUBSEP 64
	rps_target("hello, keep-conn off, c64: ≥ 1.5 × PHP-FPM static 8", po, ph, 1.5)
	pc = "cgi" SUBSEP REF["cgi"] SUBSEP "off" SUBSEP 64
	fw = "cgi" SUBSEP "fcgiwrap-4" SUBSEP "off" SUBSEP 64
	rps_target("CGI, keep-conn off, c64: ≥ 1.8 × fcgiwrap -c 4", pc, fw, 1.8)
	if ((pc in RPS) && spawnn > 0) {
		r = RPS[pc] / spawnn
		printf "| CGI, keep-conn off, c64: ≥ 0.8 × the raw spawn rate (%d at once, one per core) | %.2f × (%.0f req/s vs %.0f runs/s; %.2f × the one-at-a-time rate %.0f) | %s |\n", nproc, r, RPS[pc], spawnn, RPS[pc] / spawn1, spawn1, verdict(r >= 0.8) >tgt
	}
	pc = "cgish" SUBSEP REF["cgish"] SUBSEP "off" SUBSEP 64
	fw = "cgish" SUBSEP "fcgiwrap-sh-4" SUBSEP "off" SUBSEP 64
	rps_target("/bin/sh CGI, keep-conn off, c64: the same ratios, ≥ 1.8 × fcgiwrap -c 4", pc, fw, 1.8)
	if ((pc in RPS) && spawnsh > 0) {
		r = RPS[pc] / spawnsh
		printf "| … and ≥ 0.8 × the raw spawn rate of hello.sh (%d at once) | %.2f × (%.0f req/s vs %.0f runs/s) | %s |\n", nproc, r, RPS[pc], spawnsh, verdict(r >= 0.8) >tgt
	}
	for (i = 1; i <= nioc; i++) {
		c = IOC[i]
		printf "| 10 ms handler, c%s: ≥ 0.95 × Little'"'"'s-law bound (processes × threads ≥ c) | %s | %s |\n", c, substr(IO_TXT[c], 1, length(IO_TXT[c]) - 2), verdict(IO_OK[c]) >tgt
		printf "| … p50 within 10%% of %d ms | %s | %s |\n", iosec * 1000, substr(P50_TXT[c], 1, length(P50_TXT[c]) - 2), verdict(P50_OK[c]) >tgt
	}
	m = "hello" SUBSEP "pooled-4x16" SUBSEP "off" SUBSEP 64
	if (m in RPS) {
		a = median(L[m, "rest"]) / 1024; bb = median(L[m, "load"]) / 1024
		printf "| memory: 4 × 16 module pool ≤ 2.5 MB PSS at rest | %.2f MB | %s |\n", a, verdict(a <= 2.5) >tgt
		printf "| … grows ≤ 1 MB per 64 threads under load (c64, keep-conn off) | +%.2f MB | %s |\n", bb - a, verdict(bb - a <= 1) >tgt
	}
	# Issue 17: threads cost nothing.
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]; split(k, f, SUBSEP)
		if (f[1] != "hello" || f[4] != 64 || f[2] !~ /^pooled-/) continue
		if (f[2] != REF["hello"]) {
			rps_target("threads: " f[2] ", keep-conn " f[3] ", c64: ≥ 0.95 × " REF["hello"], k, "hello" SUBSEP REF["hello"] SUBSEP f[3] SUBSEP 64, 0.95)
		}
		if (f[3] == "off")
			rps_target("threads: " f[2] ", keep-conn off, c64: ≥ 1.25 × spawn-fcgi 4", k, sf, 1.25)
	}
	pe = 0; pt = ""
	for (i = 1; i <= nk; i++) {
		k = ORDER[i]; split(k, f, SUBSEP)
		if (f[2] ~ /^pooled/ && ERR[k] + ST[k] > 0) { pe += ERR[k] + ST[k]; pt = pt sprintf("%s %s c%s: %d%s; ", f[2], f[3], f[4], ERR[k], ST[k] ? " and stalled" : "") }
	}
	printf "| zero errors in every pooled row, c256 included | %s | %s |\n", pe ? substr(pt, 1, length(pt) - 2) : "0", verdict(pe == 0) >tgt
}'

awk -v md="$WORK/table.md" -v csv="$OUT/results.csv" -v rawcsv="$OUT/raw.csv" \
    -v chart="$WORK/chart.dat" -v grd="$WORK/grid.md" -v tgt="$WORK/targets.md" \
    -v refs="$REFS" -v iosec="$(awk -v m="$IO_MS" 'BEGIN { print m / 1000 }')" \
    -v spawn1="$SPAWN1" -v spawnn="$SPAWNN" -v spawnsh="$SPAWNN_SH" \
    -v nproc="$NPROC" \
    "$REPORT_AWK" "$RAW" || die "report failed"

if [ "$HAVE_GNUPLOT" = 1 ] && [ -s "$WORK/chart.dat" ]; then
	gnuplot >"$WORK/gnuplot.log" 2>&1 <<EOF || log "gnuplot failed: $(cat "$WORK/gnuplot.log")"
set terminal pngcairo size 1100,560 font ",10"
set output "$OUT/chart.png"
set title "pooled bench ($MODE): hello and CGI at concurrency 64, $(nproc) cores"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "-"
set logscale y
set yrange [100:*]
set ylabel "requests per second (log scale)"
set grid ytics
set xtics rotate by -25 scale 0
set key top right
plot "$WORK/chart.dat" using 2:xtic(1) title "keep-conn off", \
     "" using 3 title "keep-conn on"
EOF
fi

{
	printf '# pooled benchmark (%s mode)\n\n' "$MODE"
	machine
	printf -- '- load average at start: %s\n' "$LOADAVG_START"
	printf -- '- %s pass(es) of %s s per row, medians (%s s of unrecorded warm-up for each backend and keep-conn setting, each pass); wrk -t1 --timeout %s through nginx (worker_processes %s, access_log off; keep-conn on: fastcgi_keep_conn on and an upstream keepalive pool of %s per worker) on loopback\n' \
	    "$PASSES" "$DURATION" "$WARMUP" "$WRK_TIMEOUT" "$NGINX_WORKERS" "$KEEPALIVE"
	printf -- '- run took %s s; %s\n\n' "$T_RUN" "\`$CMD\`"
	printf '## Results\n\n'
	cat "$WORK/table.md"
	cat <<EOF

- "pooled ÷ this": req/s of the scenario's reference pooled row ($(sed 's/ /, /g; s/=/: /g' <<<"$REFS")) divided by this row's, at the same keep-conn and concurrency: above 1, pooled is faster.
- CPU: microseconds of CPU per request (= ms per 1000 requests) of wrk, nginx (master and workers), the backend (every process of it, and the CGI programs it waited for; fcgiwrap ignores SIGCHLD, so its programs are never counted as its own) and the whole machine ("all", from /proc/stat).
- PSS: summed over the backend's processes, at rest after start and in the middle of the run.
- errors: non-2xx answers and wrk socket errors, summed over the passes; "stalled": passes in which not one request was answered; "log N": lines at warning level or above that nginx and the backend logged during the measured runs (see the end).
EOF
	if [ -s "$WORK/grid.md" ]; then
		printf '\n## 10 ms I/O-bound handler (sleep module, ms=%s)\n\n' "$IO_MS"
		cat "$WORK/grid.md"
	fi
	if [ "$SPAWN1" != 0 ]; then
		printf '\n## CGI ceiling\n\nspawn_rate (posix_spawn hello.cgi, read its stdout to EOF, waitpid): %s runs/s one at a time, %s runs/s with %s at once.\n' \
		    "$SPAWN1" "$SPAWNN" "$NPROC"
	fi
	if [ "$SPAWNN_SH" != 0 ]; then
		printf '\nspawn_rate of hello.sh (/bin/sh, %s): %s runs/s with %s at once.\n' \
		    "$(readlink -f /bin/sh)" "$SPAWNN_SH" "$NPROC"
	fi
	printf '\n## Targets\n\n'
	cat "$WORK/targets.md"
	if [ -s "$OUT/backend.md" ]; then
		printf '\n#'
		cat "$OUT/backend.md"
	fi
	if [ -n "$FAILED" ]; then
		printf '\n**Did not start or answered wrong:**%s (see logs/).\n' "$FAILED"
	fi
	printf '\n## Backend log lines (warnings and errors)\n\n'
	found=0
	for f in "$OUT"/logs/*.log; do
		[ -f "$f" ] || continue
		log_problems "$f" >"$WORK/problems"
		n=$(wc -l <"$WORK/problems")
		[ "$n" -gt 0 ] || continue
		found=1
		printf -- '- %s: %s lines, first ones:\n\n```\n' "${f##*/}" "$n"
		head -n 5 "$WORK/problems" | cut -c 1-200
		printf '```\n'
	done
	[ "$found" = 1 ] || printf 'none\n'
	[ -f "$OUT/chart.png" ] && printf '\n![chart](chart.png)\n'
} >"$OUT/results.md"
cat "$OUT/results.md"
log "done in $((SECONDS - T_START)) s: $OUT/results.md, results.csv, raw.csv$([ -f "$OUT/chart.png" ] && echo ', chart.png')"
