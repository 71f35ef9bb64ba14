#!/usr/bin/env bash
# tests/bench/backend.sh: the backends alone, without nginx or wrk, with
# fcgi_load speaking FastCGI straight to each one's socket, to show each
# one's own CPU per request.  See tests/bench/README.md.
#
#	tests/bench/backend.sh [--quick] [--out DIR]
#
# Backends: pooled's hello module at 2x1, 2x4, 4x16 and 1x64 (processes
# x threads); peers/hello_fcgi.c (libfcgi) under spawn-fcgi -F 4;
# peers/hello_fcgi_mt.c (libfcgi, 8 threads) under spawn-fcgi -n; and
# peers/hello.php under PHP-FPM (pm = static, 8 children) when php-fpm
# is installed.  Each with FCGI_KEEP_CONN off and on; passes interleaved
# (pass 1 of every backend, then pass 2 ...), each backend restarted
# for each pass; the table shows the medians.  Nothing is installed:
# what is missing (spawn-fcgi, libfcgi-dev, php-fpm) is skipped, said so.
#
# Environment knobs (defaults: full / --quick):
#	BACKEND_DURATION	seconds per measured run (3 / 1)
#	BACKEND_WARMUP		seconds of unrecorded load before each (1 / 0.5)
#	BACKEND_PASSES		passes; medians over them (3 / 1)
#	BACKEND_CONC		connections (64 / 64)
#	BACKEND_ONLY		extended regex of backend names to run
#	BACKEND_KEEP=1		keep the work directory
#	POOLED, FCGI_LOAD	the binaries (else $top_builddir/..., else
#				build/...)

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$BENCH_DIR/../.." && pwd)
T_START=$SECONDS

QUICK=0
OUT=
while [ "$#" -gt 0 ]; do
	case $1 in
	--quick)
		QUICK=1 ;;
	--out)
		[ "$#" -ge 2 ] || { echo "backend: --out needs a directory" >&2; exit 64; }
		OUT=$2
		shift ;;
	--out=*)
		OUT=${1#--out=} ;;
	-h|--help)
		sed -n '2,/^$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0 ;;
	*)
		echo "backend: unknown argument $1 (--quick, --out DIR)" >&2
		exit 64 ;;
	esac
	shift
done
OUT=${OUT:-bench-results}

if [ "$QUICK" = 1 ]; then
	DURATION=${BACKEND_DURATION:-1}
	WARMUP=${BACKEND_WARMUP:-0.5}
	PASSES=${BACKEND_PASSES:-1}
	MODE=quick
else
	DURATION=${BACKEND_DURATION:-3}
	WARMUP=${BACKEND_WARMUP:-1}
	PASSES=${BACKEND_PASSES:-3}
	MODE=full
fi
CONC=${BACKEND_CONC:-64}
ONLY=${BACKEND_ONLY:-}
TIMEOUT_MS=1000		# a request slower than this is an error

log()
{
	printf '[%4ds] %s\n' $((SECONDS - T_START)) "$*" >&2
}

die()
{
	log "backend: $*"
	exit 1
}

# Processes ------------------------------------------------------------------

PIDS=" "		# every process started here, stopped on exit
WORK=
B_ROOTS=()

alive()
{
	local state

	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

# children PID: the pids whose parent is PID.
children()
{
	local f line
	local -a fld

	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		read -r -a fld <<<"${line##*) }"
		if [ "${fld[1]}" = "$1" ]; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

# stop SECONDS PID...: TERM them and their children, wait up to SECONDS,
# then KILL what is left.
stop()
{
	local secs=$1 pid all="" i

	shift
	for pid in "$@"; do
		all="$all $pid $(children "$pid" | tr '\n' ' ')"
	done
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 1 $((secs * 20))); do
		for pid in $all; do
			alive "$pid" && break
			pid=
		done
		[ -z "$pid" ] && break
		sleep 0.05
	done
	for pid in $all; do
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
		PIDS=${PIDS/ $pid / }
	done
}

cleanup()
{
	local rc=$? pids

	trap - EXIT INT TERM
	# shellcheck disable=SC2086,SC2116	# squeezes the blanks
	pids=$(echo $PIDS)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && stop 3 $pids
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "${BACKEND_KEEP:-0}" = 1 ]; then
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

find_built()
{
	local d

	for d in "${top_builddir:-}" "$SRCDIR/build" "$SRCDIR"; do
		if [ -n "$d" ] && [ -x "$d/$1" ]; then
			echo "$(cd "$(dirname "$d/$1")" && pwd)/$(basename "$1")"
			return 0
		fi
	done
	return 1
}

POOLED=${POOLED:-$(find_built src/pooled)} ||
    die "no src/pooled built (make, or set POOLED)"
FCGI_LOAD=${FCGI_LOAD:-$(find_built tests/bench/fcgi_load)} ||
    die "no tests/bench/fcgi_load built (make, or set FCGI_LOAD)"
MODULE=$(cd "$(dirname "$POOLED")/.." && pwd)/contrib/modules/hello.so
[ -f "$MODULE" ] || die "$MODULE not built"
PHP_FPM=$(find /usr/sbin -maxdepth 1 -name 'php-fpm*' 2>/dev/null |
    sort -V | tail -n 1)

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
# A short directory: unix socket paths must fit in 108 bytes.
WORK=$(mktemp -d /tmp/pooled-backend.XXXXXX) || die "mktemp failed"
mkdir -p "$WORK/s" "$WORK/bin" "$WORK/www" "$WORK/run"
# Run as root, the pools run as nobody, as a deployment runs them.
chmod 0711 "$WORK"
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null || true

HAVE_LIBFCGI=0
if command -v spawn-fcgi >/dev/null 2>&1; then
	P=$BENCH_DIR/peers
	if cc -O2 -o "$WORK/bin/hello_fcgi" "$P/hello_fcgi.c" -lfcgi \
	    2>"$WORK/run/cc.log" &&
	    cc -O2 -pthread -o "$WORK/bin/hello_fcgi_mt" "$P/hello_fcgi_mt.c" \
	    -lfcgi -lpthread 2>>"$WORK/run/cc.log"; then
		HAVE_LIBFCGI=1
	else
		log "libfcgi peers not built (libfcgi-dev missing?): skipped"
	fi
else
	log "spawn-fcgi not installed: the libfcgi peers are skipped"
fi
cp "$BENCH_DIR/peers/hello.php" "$WORK/www/hello.php"
[ -n "$PHP_FPM" ] || log "php-fpm not installed: skipped"

# NAME KIND ARG...: NAME is also the socket $WORK/s/NAME.sock.
# The shapes users configure, many threads included, beside one thread
# per core.
BACKENDS=(
	"pooled-$(nproc)x1 pooled $(nproc) 1"
	"pooled-4x16 pooled 4 16"
	"pooled-1x64 pooled 1 64"
)
[ "$MODE" = full ] && BACKENDS+=("pooled-2x4 pooled 2 4")
if [ "$HAVE_LIBFCGI" = 1 ]; then
	BACKENDS+=("spawn-fcgi-4 spawnfcgi 4")
	[ "$MODE" = full ] && BACKENDS+=("libfcgi-mt-8 fcgimt 8")
fi
[ -n "$PHP_FPM" ] && BACKENDS+=("php-fpm-8 phpfpm 8")
if [ -n "$ONLY" ]; then
	sel=()
	for b in "${BACKENDS[@]}"; do
		[[ ${b%% *} =~ $ONLY ]] && sel+=("$b")
	done
	BACKENDS=("${sel[@]}")
fi
[ "${#BACKENDS[@]}" -gt 0 ] || die "no backend to run"

# Backends -------------------------------------------------------------------

# backend_start LINE: start one and wait until it answers; sets B_NAME,
# B_SOCK, B_ROOTS and B_PIDARGS (fcgi_load's arguments naming its
# processes).  Every backend runs in a session of its own, as daemons do
# (see README.md, "Sessions").
backend_start()
{
	local name kind a1 a2 conf pidf i

	read -r name kind a1 a2 <<<"$1"
	B_NAME=$name
	B_SOCK=$WORK/s/$name.sock
	B_LOG=$WORK/run/$name.log
	B_ROOTS=()
	B_SCRIPT=
	# libfcgi's programs finish the accept() they wait in before a TERM
	# stops them: they have nothing to save, so KILL comes soon.
	B_STOP_SECS=1
	rm -f "$B_SOCK"
	case $kind in
	pooled)
		conf=$WORK/run/$name.conf
		{
			printf 'error_log = "stderr"\nlog_level = "notice"\n'
			[ "$(id -u)" -eq 0 ] && printf 'user = "nobody"\n'
			printf 'pool %s {\n' "${name//[^A-Za-z0-9_.-]/_}"
			printf '\tlisten = "%s"\n' "$B_SOCK"
			printf '\tprocesses = %d\n\tthreads = %d\n' "$a1" "$a2"
			printf '\thandler = "module"\n\tmodule = "%s"\n}\n' \
			    "$MODULE"
		} >"$conf"
		setsid "$POOLED" -F -c "$conf" </dev/null >>"$B_LOG" 2>&1 &
		B_ROOTS=($!)
		B_STOP_SECS=7	# its kill_timeout is 5 s
		# The master and its workers.
		B_PIDARGS=(--pids "$!" --pid-of-children "$!") ;;
	spawnfcgi)
		pidf=$WORK/run/$name.pid
		spawn-fcgi -s "$B_SOCK" -b 1024 -F "$a1" -P "$pidf" -- \
		    "$WORK/bin/hello_fcgi" </dev/null >>"$B_LOG" 2>&1
		mapfile -t B_ROOTS <"$pidf"
		B_PIDARGS=(--pids "$(IFS=,; echo "${B_ROOTS[*]}")") ;;
	fcgimt)
		setsid spawn-fcgi -n -s "$B_SOCK" -b 1024 -- \
		    "$WORK/bin/hello_fcgi_mt" "$a1" </dev/null >>"$B_LOG" 2>&1 &
		B_ROOTS=($!)
		B_PIDARGS=(--pids "$!") ;;
	phpfpm)
		conf=$WORK/run/$name.conf
		{
			printf '[global]\npid = %s/run/%s.pid\n' "$WORK" "$name"
			printf 'error_log = %s\ndaemonize = no\n\n' "$B_LOG"
			printf '[bench]\n'
			[ "$(id -u)" -eq 0 ] && printf 'user = root\ngroup = root\n'
			printf 'listen = %s\nlisten.backlog = 1024\n' "$B_SOCK"
			printf 'pm = static\npm.max_children = %d\n' "$a1"
		} >"$conf"
		if [ "$(id -u)" -eq 0 ]; then
			setsid "$PHP_FPM" -F -R -y "$conf" </dev/null >>"$B_LOG" 2>&1 &
		else
			setsid "$PHP_FPM" -F -y "$conf" </dev/null >>"$B_LOG" 2>&1 &
		fi
		B_ROOTS=($!)
		B_SCRIPT=$WORK/www/hello.php
		B_STOP_SECS=5
		B_PIDARGS=(--pids "$!" --pid-of-children "$!") ;;
	*)
		die "unknown backend kind $kind" ;;
	esac
	for i in "${B_ROOTS[@]}"; do
		PIDS="$PIDS$i "
	done
	# Up to 15 s: until one request is answered with the right body.
	for i in $(seq 1 150); do
		if [ -S "$B_SOCK" ] && load -c 1 -n 1 -t 1000 \
		    >/dev/null 2>&1; then
			return 0
		fi
		for pid in "${B_ROOTS[@]}"; do
			alive "$pid" || break 2
		done
		sleep 0.1
	done
	log "$name: did not answer \"Hello, world\" (log: $B_LOG)"
	return 1
}

# load ARG...: fcgi_load on the current backend, checking the body.
load()
{
	local -a script=()

	[ -n "$B_SCRIPT" ] && script=(-f "$B_SCRIPT")
	"$FCGI_LOAD" -b $'Hello, world\n' "${script[@]}" \
	    -u /hello "$@" "$B_SOCK"
}

backend_stop()
{
	[ "${#B_ROOTS[@]}" -gt 0 ] && stop "$B_STOP_SECS" "${B_ROOTS[@]}"
	B_ROOTS=()
	[ -f "$B_LOG" ] && cat "$B_LOG" >>"$OUT/logs/$B_NAME.log"
	rm -f "$B_LOG"
}

# field LINE KEY: the value of KEY=... in an fcgi_load line.
field()
{
	local kv

	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }
	done
	echo -
}

# median VALUE...: of numbers ("-" left out).
median()
{
	printf '%s\n' "$@" | grep -v '^-$' | sort -g |
	    awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2];
		else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The run --------------------------------------------------------------------

rm -rf "$OUT/logs"
mkdir -p "$OUT/logs"
RAW=$OUT/backend-raw.csv
echo "pass,backend,keepconn,requests,errors,seconds,rps,backend_us,machine_us,client_us" >"$RAW"
log "$MODE: ${#BACKENDS[@]} backends x keep-conn off/on x $PASSES passes," \
    "$DURATION s each after $WARMUP s of warm-up, $CONC connections"
declare -A LINES=()
TARGETS=()
for pass in $(seq 1 "$PASSES"); do
	for b in "${BACKENDS[@]}"; do
		if ! backend_start "$b"; then
			backend_stop
			continue
		fi
		# The keep-conn order alternates from pass to pass.
		if [ $((pass % 2)) = 1 ]; then kcs="off on"; else kcs="on off"; fi
		for kc in $kcs; do
			k=()
			[ "$kc" = on ] && k=(-k)
			line=$(load "${k[@]}" -c "$CONC" -d "$DURATION" \
			    -w "$WARMUP" -t "$TIMEOUT_MS" "${B_PIDARGS[@]}" \
			    2>>"$OUT/logs/$B_NAME.fcgi_load.log")
			log "pass $pass $B_NAME keep-conn $kc: $line"
			LINES[$B_NAME,$kc]+="$line"$'\n'
			printf '%s,%s,%s' "$pass" "$B_NAME" "$kc" >>"$RAW"
			for f in requests errors seconds rps backend_us \
			    machine_us client_us; do
				printf ',%s' "$(field "$line" "$f")" >>"$RAW"
			done
			echo >>"$RAW"
		done
		backend_stop
	done
done

# The table: medians, and each backend's CPU per request over that of
# libfcgi under spawn-fcgi, same keep-conn setting.
{
	echo "# Backend only: fcgi_load straight to each backend's socket"
	echo
	printf -- '- %s mode, %s passes of %s s (medians), %s s warm-up, %s connections, timeout %s ms; %s\n' \
	    "$MODE" "$PASSES" "$DURATION" "$WARMUP" "$CONC" "$TIMEOUT_MS" \
	    "$(nproc) CPUs, $(uname -r)"
	echo "- backend µs/req: utime + stime of the backend's processes (threads included) over the run, per answered request; machine: every CPU's busy time, the client's included"
	echo
	echo "| backend | keep-conn | req/s | backend µs/req | ÷ spawn-fcgi-4 | machine µs/req | client µs/req | errors |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	for b in "${BACKENDS[@]}"; do
		name=${b%% *}
		for kc in off on; do
			[ -n "${LINES[$name,$kc]:-}" ] || continue
			declare -A med=()
			for f in rps backend_us machine_us client_us errors; do
				vals=()
				while IFS= read -r line; do
					[ -n "$line" ] && vals+=("$(field "$line" "$f")")
				done <<<"${LINES[$name,$kc]}"
				med[$f]=$(median "${vals[@]}")
			done
			ref=-
			if [ -n "${LINES[spawn-fcgi-4,$kc]:-}" ]; then
				vals=()
				while IFS= read -r line; do
					[ -n "$line" ] && vals+=("$(field "$line" backend_us)")
				done <<<"${LINES[spawn-fcgi-4,$kc]}"
				ref=$(median "${vals[@]}")
			fi
			ratio=$(awk -v a="${med[backend_us]}" -v r="$ref" \
			    'BEGIN { if (a == "-" || r == "-" || r <= 0) print "-";
				else printf "%.2f\n", a / r }')
			printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
			    "$name" "$kc" "${med[rps]}" "${med[backend_us]}" \
			    "$ratio" "${med[machine_us]}" "${med[client_us]}" \
			    "${med[errors]}"
			[[ $name == pooled-* ]] && [ "$ratio" != - ] &&
			    TARGETS+=("$name $kc $ratio")
			unset med
		done
	done
	echo
	echo "Errors are the median count per run. libfcgi and PHP-FPM hold a process (or thread) on every kept connection, so with keep-conn on and more connections than processes the rest wait (timeouts): their req/s there is not a usable figure, their µs/req is that of the requests served."
	if [ "${#TARGETS[@]}" -gt 0 ]; then
		echo
		echo "| target (issue 17): pooled's CPU per request ÷ libfcgi's (spawn-fcgi 4) | measured | verdict |"
		echo "|---|---:|---|"
		for t in "${TARGETS[@]}"; do
			read -r name kc ratio <<<"$t"
			max=0.6
			[ "$kc" = on ] && max=0.4
			printf '| %s, keep-conn %s: ≤ %s | %s | %s |\n' "$name" \
			    "$kc" "$max" "$ratio" "$(awk -v r="$ratio" \
			    -v m="$max" 'BEGIN { print (r <= m ? "met" : "not met") }')"
		done
	fi
} | tee "$OUT/backend.md"
log "done: $OUT/backend.md, $RAW"
