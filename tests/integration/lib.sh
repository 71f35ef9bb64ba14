# shellcheck shell=bash
# shellcheck disable=SC2034	# HTTP_BODY and friends are for the scenarios
# tests/integration/lib.sh: what every integration scenario shares.
#
# A scenario is tests/integration/NN-name.sh.  Its first command sources
# this file (POSIX syntax: automake runs the script with $(SHELL), which may
# be dash, and this file re-executes it under bash):
#
#	. "$(dirname "$0")/lib.sh"
#
#	write_pool_conf "$(pool_block hello "$T/hello.sock" hello \
#	    'module_options = {"greeting=hi"}')"
#	start_pooled || bail_out "pooled did not start"
#	start_nginx "unix:$T/hello.sock" || bail_out "nginx did not start"
#	http_get /
#	assert_status "hello answers" 200
#	assert_eq "hello body" "hi, world" "$HTTP_BODY"
#	done_testing
#
# Each scenario gets a private directory $T, removed on exit (kept when
# KEEP_TMP=1).  pooled runs in the foreground (-F, start_pooled), as a
# daemon (start_pooled_daemon) or once to its exit status (run_pooled),
# with its log in $POOLED_LOG; nginx runs with its own prefix in $T/nginx
# on a free loopback port.  On exit only the pids started here are
# stopped: TERM, then KILL after a bounded wait.  Every wait is bounded in
# time.
#
# Output is TAP, run through automake's tap-driver: one "ok - NAME" or
# "not ok - NAME" line per assertion and the plan at the end.  The script
# exits 0 when all passed, 1 otherwise; it is skipped ("1..0 # SKIP")
# when nginx or curl is missing, and exits 99 on a broken setup.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
# Clients that import fcgi_records.py leave no __pycache__ in the source.
export PYTHONDONTWRITEBYTECODE=1

# Run by automake, top_srcdir and top_builddir come from
# AM_TESTS_ENVIRONMENT; run by hand, the build is build/ (scripts/check.sh)
# or the source tree itself.
: "${top_srcdir:=$(cd "$LIB_DIR/../.." && pwd)}"
if [ -z "${top_builddir:-}" ]; then
	if [ -x "$top_srcdir/build/src/pooled" ]; then
		top_builddir=$top_srcdir/build
	else
		top_builddir=$top_srcdir
	fi
fi
POOLED=${POOLED:-$top_builddir/src/pooled}
MODULE_DIR=$top_builddir/contrib/modules
HANDLER_DIR=$top_builddir/tests/handlers
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
APACHE=${APACHE:-$(command -v apache2 || echo /usr/sbin/apache2)}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

# Started as root, pools run as these users and nginx as www-data, as in
# production: a scenario that only passes with root in front would hide
# what users meet first.  Unprivileged, everything runs as the caller.
POOL_USER=${POOL_USER:-pooled-test}
POOL_USER2=${POOL_USER2:-pooled-test2}
POOL_GROUP_EXTRA=${POOL_GROUP_EXTRA:-pooled-test-extra}
WEB_USER=${WEB_USER:-www-data}

T_PASS=0
T_FAIL=0
T_DONE=0
_LIB_PIDS=" "			# pids started here, stopped on exit
_LIB_PORTS=" "			# ports handed out by free_port

POOLED_PID=
POOLED_STATUS=
POOLED_DAEMON=0			# 1: POOLED_PID is a daemon, not our child
RUN_STATUS=
RUN_STDOUT=
RUN_STDERR=
NGINX_PID=
NGINX_PORT=${NGINX_PORT:-}
NGINX_URL=
APACHE_PID=
APACHE_PORT=${APACHE_PORT:-}
APACHE_URL=
HTTP_STATUS=
HTTP_BODY=
LOG_MARK=0

# Reporting ------------------------------------------------------------

# diag MESSAGE...: a comment line in the test output.
diag()
{
	printf '# %s\n' "$*"
}

# pass NAME: count a passed assertion.
pass()
{
	T_PASS=$((T_PASS + 1))
	printf 'ok - %s\n' "$1"
}

# fail NAME [DETAIL...]: count a failed assertion; details become comments.
fail()
{
	local name=$1 line

	shift
	T_FAIL=$((T_FAIL + 1))
	printf 'not ok - %s\n' "$name"
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
	return 1
}

# skip NAME REASON: an assertion that cannot run here (no ::1, no wait
# channels): counted, and shown as skipped by the TAP driver.
skip()
{
	T_PASS=$((T_PASS + 1))
	printf 'ok - %s # SKIP %s\n' "$1" "$2"
}

# bail_out REASON: fail and end the scenario now (the exit trap cleans up).
bail_out()
{
	fail "$1"
	done_testing
}

# done_testing: print the tally and exit 0 if every assertion passed.
done_testing()
{
	T_DONE=1
	_lib_stop_all
	_lib_check_sanitizers
	if [ "$T_PASS" -eq 0 ] && [ "$T_FAIL" -eq 0 ]; then
		fail "no assertion ran"
	fi
	# The TAP plan comes last, so an early exit shows as a missing plan.
	printf '1..%d\n' $((T_PASS + T_FAIL))
	printf '# %s: %d passed, %d failed\n' "$TEST_NAME" "$T_PASS" "$T_FAIL"
	if [ "$T_FAIL" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

# Assertions -------------------------------------------------------------
# Each returns 0 when it passed and 1 when it failed, so scenarios can
# branch on them; none of them exits.

# assert_eq NAME EXPECTED ACTUAL
assert_eq()
{
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "got:      $3"
	fi
}

# assert_ne NAME UNEXPECTED ACTUAL
assert_ne()
{
	if [ "$2" != "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected anything but: $2"
	fi
}

# assert_contains NAME HAYSTACK NEEDLE: NEEDLE is a fixed string.
assert_contains()
{
	case $2 in
	*"$3"*)
		pass "$1" ;;
	*)
		fail "$1" "expected to contain: $3" "got: ${2:0:2000}" ;;
	esac
}

# assert_not_contains NAME HAYSTACK NEEDLE
assert_not_contains()
{
	case $2 in
	*"$3"*)
		fail "$1" "expected not to contain: $3" "got: ${2:0:2000}" ;;
	*)
		pass "$1" ;;
	esac
}

# json_eval TEXT EXPR: print the Python expression EXPR, evaluated with s
# the JSON document TEXT (a status page, pooled -s ... json); a parse
# error is printed instead, for the assertion to show.
json_eval()
{
	printf '%s' "$1" | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2" 2>&1
}

# assert_line NAME TEXT LINE: TEXT has a line that is exactly LINE.
assert_line()
{
	if printf '%s\n' "$2" | grep -q -x -F -e "$3"; then
		pass "$1"
	else
		fail "$1" "expected a line: $3" "got: ${2:0:2000}"
	fi
}

# assert_status NAME EXPECTED: the status of the last http_get/http_post.
assert_status()
{
	assert_eq "$1" "$2" "$HTTP_STATUS"
}

# assert_true NAME COMMAND [ARG...]: passes when the command succeeds.
assert_true()
{
	local name=$1

	shift
	if "$@"; then
		pass "$name"
	else
		fail "$name" "command failed: $*"
	fi
}

# assert_log NAME REGEX [SECONDS]: pooled's log gets a line matching the
# extended REGEX, after the last log_mark, within SECONDS (default 5).
assert_log()
{
	if wait_for "${3:-5}" log_has "$2"; then
		pass "$1"
	else
		fail "$1" "no line matching /$2/ in $POOLED_LOG" \
		    "$(log_since_mark | tail -n 20)"
	fi
}

# assert_no_log NAME REGEX: no line after the last log_mark matches now.
assert_no_log()
{
	if log_has "$2"; then
		fail "$1" "unexpected line matching /$2/:" \
		    "$(log_since_mark | grep -E -e "$2" | head -n 5)"
	else
		pass "$1"
	fi
}

# Logs -------------------------------------------------------------------

# log_mark: later assert_log, assert_no_log and log_has look only at
# lines pooled logs from now on.
log_mark()
{
	LOG_MARK=$(wc -l <"$POOLED_LOG")
}

# log_since_mark: print pooled's log lines written since log_mark.
log_since_mark()
{
	tail -n "+$((LOG_MARK + 1))" "$POOLED_LOG"
}

# log_has REGEX: true when a line since log_mark matches.
log_has()
{
	log_since_mark | grep -E -q -e "$1"
}

# log_count REGEX: print how many lines since log_mark match.
log_count()
{
	log_since_mark | grep -E -c -e "$1"
}

# log_sum REGEX: print the sum of the first number in what REGEX matches
# of each line since log_mark ("park: closed [0-9]+ idle" adds up the
# counts of those lines).
log_sum()
{
	log_since_mark | grep -E -o -e "$1" |
	    awk 'match($0, /[0-9]+/) { n += substr($0, RSTART, RLENGTH) }
		END { print n + 0 }'
}

# file_has FILE REGEX: a line of FILE matches (for logs other than
# $POOLED_LOG, such as a daemon's error_log file).
file_has()
{
	grep -E -q -e "$2" "$1" 2>/dev/null
}

# Processes and waiting --------------------------------------------------

# wait_for SECONDS COMMAND [ARG...]: retry COMMAND every 0.1 s until it
# succeeds (0) or SECONDS have passed (1).  COMMAND must itself be quick.
wait_for()
{
	local secs=$1 tries=0 max deadline

	shift
	max=$((secs * 10))
	deadline=$((SECONDS + secs + 1))
	until "$@"; do
		tries=$((tries + 1))
		if [ "$tries" -ge "$max" ] || [ "$SECONDS" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive()
{
	local state

	[ -n "$1" ] || return 1
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$1/status" 2>/dev/null)
	[ "$state" != Z ]
}

# pid_dead PID: the opposite of pid_alive, for wait_for.
pid_dead()
{
	! pid_alive "$1"
}

# all_dead PID...: none of the PIDs is alive, for wait_for.
all_dead()
{
	local pid

	for pid in "$@"; do
		pid_alive "$pid" && return 1
	done
	return 0
}

# track_pid PID: stop PID on exit too (for helpers a scenario starts).
track_pid()
{
	_LIB_PIDS="$_LIB_PIDS$1 "
}

# untrack_pid PID
untrack_pid()
{
	_LIB_PIDS=${_LIB_PIDS/ $1 / }
}

# reap_pid PID [SECONDS]: wait up to SECONDS (10) for PID, a background job
# of this scenario, to end, then collect it and untrack it.  Returns 1 if
# it still runs (it stays tracked, so the exit trap stops it).
reap_pid()
{
	wait_for "${2:-10}" pid_dead "$1" || return 1
	wait "$1" 2>/dev/null
	untrack_pid "$1"
	return 0
}

# stop_pid PID [SIGNAL] [SECONDS]: send SIGNAL (TERM), wait up to SECONDS
# (10) for the process to go, then KILL it; 1 if it had to be killed.
stop_pid()
{
	local pid=$1 sig=${2:-TERM} secs=${3:-10}

	pid_alive "$pid" || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	wait_for "$secs" pid_dead "$pid" && return 0
	diag "pid $pid ignored SIG$sig for $secs s: killing it"
	kill -s KILL "$pid" 2>/dev/null
	wait_for 5 pid_dead "$pid"
	return 1
}

# children_of PID: print the pids of PID's child processes.
children_of()
{
	local f stat fields

	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		# "pid (comm) state ppid ...", and comm may hold spaces.
		read -r -a fields <<<"${stat##*) }"
		if [ "${fields[1]:-}" = "$1" ]; then
			f=${f#/proc/}
			printf '%s\n' "${f%/stat}"
		fi
	done
}

# live_children PID: print PID's children that are alive, sorted; zombies
# (ended, not yet reaped) are left out.
live_children()
{
	local pid

	for pid in $(children_of "$1"); do
		pid_alive "$pid" && printf '%s\n' "$pid"
	done | sort -n
}

# count_lines TEXT: print how many non-empty lines TEXT has (the pids in
# a list from live_children, say).
count_lines()
{
	printf '%s\n' "$1" | grep -c .
}

# Ports ------------------------------------------------------------------

# port_in_use PORT: something listens on PORT (any address).
port_in_use()
{
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# free_port VAR: store in VAR a TCP port nothing listens on and that this
# scenario has not handed out yet.  The ports are below Linux's ephemeral
# range, so outgoing connections do not take them meanwhile.
free_port()
{
	local port _

	for _ in $(seq 1 200); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		case $_LIB_PORTS in
		*" $port "*)
			continue ;;
		esac
		port_in_use "$port" && continue
		_LIB_PORTS="$_LIB_PORTS$port "
		printf -v "$1" '%s' "$port"
		return 0
	done
	diag "free_port: no free port found"
	return 1
}

# pooled -------------------------------------------------------------------

# module_path NAME: NAME.so from contrib/modules or tests/handlers; a NAME
# with a slash is taken as a path.
module_path()
{
	case $1 in
	*/*)
		printf '%s\n' "$1" ;;
	*)
		if [ -e "$MODULE_DIR/$1.so" ]; then
			printf '%s\n' "$MODULE_DIR/$1.so"
		else
			printf '%s\n' "$HANDLER_DIR/$1.so"
		fi ;;
	esac
}

# pool_block NAME LISTEN MODULE [LINE...]: print a pool section.  MODULE
# goes through module_path.  Each LINE ("threads = 8") is written as is;
# protocol, handler, processes (2) and threads (2) get defaults unless a
# LINE sets them.
pool_block()
{
	local name=$1 listen=$2 module kv key line

	module=$(module_path "$3")
	shift 3
	printf 'pool %s {\n' "$name"
	printf '\tlisten = "%s"\n' "$listen"
	for kv in 'protocol = "fastcgi"' 'handler = "module"' \
	    'processes = 2' 'threads = 2'; do
		key=${kv%% *}
		for line in "$@"; do
			case $line in
			"$key"[[:space:]=]*)
				continue 2 ;;
			esac
		done
		printf '\t%s\n' "$kv"
	done
	printf '\tmodule = "%s"\n' "$module"
	for line in "$@"; do
		printf '\t%s\n' "$line"
	done
	printf '}\n'
}

# cgi_pool_block NAME LISTEN ROOT [LINE...]: print a handler = "cgi" pool
# section with cgi_root ROOT; like pool_block, protocol, processes (2)
# and threads (2) get defaults unless a LINE sets them.
cgi_pool_block()
{
	local name=$1 listen=$2 root=$3 kv key line

	shift 3
	printf 'pool %s {\n' "$name"
	printf '\tlisten = "%s"\n' "$listen"
	printf '\thandler = "cgi"\n'
	printf '\tcgi_root = {"%s"}\n' "$root"
	for kv in 'protocol = "fastcgi"' 'processes = 2' 'threads = 2'; do
		key=${kv%% *}
		for line in "$@"; do
			case $line in
			"$key"[[:space:]=]*)
				continue 2 ;;
			esac
		done
		printf '\t%s\n' "$kv"
	done
	for line in "$@"; do
		printf '\t%s\n' "$line"
	done
	printf '}\n'
}

# write_pool_conf BLOCK...: write the pooled config $POOLED_CONF
# ($T/pooled.conf unless changed) from pool_block outputs.  Global
# settings, from the environment:
#	POOLED_ERROR_LOG	error_log ("stderr", which start_pooled
#				sends to $POOLED_LOG)
#	POOLED_LOG_LEVEL	log_level (info)
#	POOLED_PID_FILE		pid_file (none unless set)
#	POOLED_CONF_GLOBALS	lines added as they are
#	POOLED_USER		the file-wide user, run as root ($POOL_USER;
#				empty: none, so each pool must say)
#	POOLED_LISTEN_OWNER	the file-wide listen_owner, run as root
#				($WEB_USER, www-data; empty: none)
write_pool_conf()
{
	local block

	{
		printf '# written by %s\n' "$TEST_NAME"
		printf 'error_log = "%s"\n' "${POOLED_ERROR_LOG:-stderr}"
		printf 'log_level = "%s"\n' "${POOLED_LOG_LEVEL:-info}"
		if [ -n "${POOLED_PID_FILE:-}" ]; then
			printf 'pid_file = "%s"\n' "$POOLED_PID_FILE"
		fi
		if [ "$(id -u)" -eq 0 ]; then
			# File-wide defaults every pool takes unless it sets
			# its own; listen_owner only touches unix sockets.
			[ -n "${POOLED_USER-$POOL_USER}" ] &&
			    printf 'user = "%s"\n' "${POOLED_USER-$POOL_USER}"
			[ -n "${POOLED_LISTEN_OWNER-$WEB_USER}" ] &&
			    printf 'listen_owner = "%s"\n' \
			    "${POOLED_LISTEN_OWNER-$WEB_USER}"
		fi
		if [ -n "${POOLED_CONF_GLOBALS:-}" ]; then
			printf '%s\n' "$POOLED_CONF_GLOBALS"
		fi
		for block in "$@"; do
			printf '\n%s\n' "$block"
		done
	} >"$POOLED_CONF"
}

# conf_values CONF KEY: print the string values KEY has in a pooled
# config, one a line ("conf_values CONF pid_file").
conf_values()
{
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" \
	    "$1"
}

# conf_listens CONF: print the listen addresses a pooled config names.
conf_listens()
{
	conf_values "$1" listen
}

# listening ADDR: a listen address as pooled writes it ("/path",
# "unix:/path", "host:port", "[v6]:port") has a listening socket.
listening()
{
	local addr=${1#unix:}

	case $addr in
	/*)
		if command -v ss >/dev/null 2>&1; then
			ss -Hxl 2>/dev/null | grep -q -F " $addr "
		else
			[ -S "$addr" ]
		fi ;;
	*)
		port_in_use "${addr##*:}" ;;
	esac
}

# connect_result ADDR: try one connect() to ADDR ("/path" or
# "host:port"), bounded by 3 s; print "accepted" or the errno's name
# (ECONNREFUSED once no process listens there any more).
connect_result()
{
	python3 - "$1" <<'PY'
import errno, socket, sys
addr = sys.argv[1]
if addr.startswith("/"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target = addr
else:
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    target = (host, int(port))
s.settimeout(3)
try:
    s.connect(target)
    print("accepted")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
}

# start_pooled [CONF] [ARG...]: run "pooled -F -c CONF ARG..." in the
# background (CONF defaults to $POOLED_CONF), its output appended to
# $POOLED_LOG, and wait up to $POOLED_START_TIMEOUT (10) seconds until
# every listen address in CONF has a listening socket.  Returns 1, with
# POOLED_STATUS set, if pooled exits first.
start_pooled()
{
	local conf=${1:-$POOLED_CONF} secs=${POOLED_START_TIMEOUT:-10} addr

	[ "$#" -gt 0 ] && shift
	if pid_alive "$POOLED_PID"; then
		diag "start_pooled: pooled already runs as $POOLED_PID"
		return 1
	fi
	diag "starting $POOLED -F -c $conf $*"
	"$POOLED" -F -c "$conf" "$@" </dev/null >>"$POOLED_LOG" 2>&1 &
	POOLED_PID=$!
	POOLED_STATUS=
	POOLED_DAEMON=0
	track_pid "$POOLED_PID"
	for addr in $(conf_listens "$conf"); do
		if ! wait_for "$secs" _pooled_listening "$addr"; then
			if pid_alive "$POOLED_PID"; then
				diag "start_pooled: $addr not listening" \
				    "after $secs s"
			else
				_pooled_reap
				diag "start_pooled: pooled exited" \
				    "with $POOLED_STATUS"
			fi
			return 1
		fi
	done
	if pid_dead "$POOLED_PID"; then
		_pooled_reap
		diag "start_pooled: pooled exited with $POOLED_STATUS"
		return 1
	fi
	return 0
}

_pooled_listening()
{
	listening "$1" || pid_dead "$POOLED_PID"
}

# start_pooled_daemon [CONF] [ARG...]: start pooled as a daemon, "pooled
# -c CONF ARG..." without -F (CONF defaults to $POOLED_CONF and must name
# a pid_file: see POOLED_PID_FILE).  The command returns once every pool
# started or one failed, and is bounded by $POOLED_START_TIMEOUT (10) +
# 10 seconds.  Its output, and what the daemon writes to stderr later,
# is appended to $POOLED_LOG.  POOLED_STATUS gets the command's exit
# status and POOLED_PID the pid in the pid file; returns 0 when the status
# is 0 and that pid is alive.  The daemon is then tracked, and
# signal_pooled, wait_pooled_exit, stop_pooled and pooled_workers work on
# it; not being a child of this shell, its exit status is not known
# (they leave POOLED_STATUS empty).
start_pooled_daemon()
{
	local conf=${1:-$POOLED_CONF} pid_file

	[ "$#" -gt 0 ] && shift
	if pid_alive "$POOLED_PID"; then
		diag "start_pooled_daemon: pooled already runs as $POOLED_PID"
		return 1
	fi
	pid_file=$(conf_values "$conf" pid_file | tail -n 1)
	if [ -z "$pid_file" ]; then
		diag "start_pooled_daemon: $conf names no pid_file"
		return 1
	fi
	diag "starting $POOLED -c $conf $* (daemon)"
	timeout -k 2 $((${POOLED_START_TIMEOUT:-10} + 10)) \
	    "$POOLED" -c "$conf" "$@" </dev/null >>"$POOLED_LOG" 2>&1
	POOLED_STATUS=$?
	POOLED_PID=$(cat "$pid_file" 2>/dev/null)
	POOLED_DAEMON=1
	if ! pid_alive "$POOLED_PID"; then
		diag "start_pooled_daemon: exit $POOLED_STATUS," \
		    "no live pid in $pid_file (${POOLED_PID:-empty})"
		return 1
	fi
	track_pid "$POOLED_PID"
	[ "$POOLED_STATUS" -eq 0 ]
}

# run_pooled ARG...: run "pooled ARG..." once, for what ends by itself:
# -t, -v, -h, a start (-F or daemon) that fails.  Bounded by $RUN_TIMEOUT
# (20) seconds, then TERM and 2 s later KILL (timeout(1): the status is
# then 124 or 137).  Sets RUN_STATUS, and RUN_STDOUT and RUN_STDERR
# (without trailing newlines); then makes a log_mark and appends stderr
# and stdout to $POOLED_LOG, so the log assertions see this run.  A daemon
# that is to keep running: start_pooled_daemon.
run_pooled()
{
	diag "running $POOLED $*"
	timeout -k 2 "${RUN_TIMEOUT:-20}" "$POOLED" "$@" </dev/null \
	    >"$T/run.stdout" 2>"$T/run.stderr"
	RUN_STATUS=$?
	RUN_STDOUT=$(cat "$T/run.stdout")
	RUN_STDERR=$(cat "$T/run.stderr")
	log_mark
	cat "$T/run.stderr" "$T/run.stdout" >>"$POOLED_LOG"
}

# Collect pooled's exit status into POOLED_STATUS; 128+N means signal N.
# A daemon is no child of ours: its status stays unknown (empty).
_pooled_reap()
{
	if [ "$POOLED_DAEMON" = 1 ]; then
		POOLED_STATUS=
	else
		wait "$POOLED_PID" 2>/dev/null
		POOLED_STATUS=$?
	fi
	untrack_pid "$POOLED_PID"
}

# wait_pooled_exit [SECONDS]: wait up to SECONDS (10) for pooled to exit
# on its own; sets POOLED_STATUS and returns 0 if it did.
wait_pooled_exit()
{
	wait_for "${1:-10}" pid_dead "$POOLED_PID" || return 1
	_pooled_reap
	return 0
}

# signal_pooled SIGNAL: send SIGNAL (HUP, QUIT, USR1 ...) to the master.
signal_pooled()
{
	kill -s "$1" "$POOLED_PID"
}

# stop_pooled [SIGNAL] [SECONDS]: send SIGNAL (TERM) to the master and
# wait up to SECONDS (10) for it to exit, else KILL it and return 1.
# POOLED_STATUS gets its exit status.
stop_pooled()
{
	local rc=0

	[ -n "$POOLED_PID" ] || return 0
	stop_pid "$POOLED_PID" "${1:-TERM}" "${2:-10}" || rc=1
	_pooled_reap
	return "$rc"
}

# pooled_workers: print the pids of the master's live workers, sorted
# (live_children: a worker that ended is no longer one, even before the
# master reaped it).
pooled_workers()
{
	live_children "$POOLED_PID"
}

# pool_workers POOL: print the pids of the live workers of pool POOL
# (their /proc/PID/comm is "pooled:POOL"), sorted.
pool_workers()
{
	local pid comm

	for pid in $(pooled_workers); do
		comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		[ "$comm" = "pooled:$1" ] && printf '%s\n' "$pid"
	done
}

# workers_running N [POOL]: pooled has N live workers (in pool POOL, if
# given); for wait_for.
workers_running()
{
	if [ -n "${2:-}" ]; then
		[ "$(count_lines "$(pool_workers "$2")")" -eq "$1" ]
	else
		[ "$(count_lines "$(pooled_workers)")" -eq "$1" ]
	fi
}

# workers_replaced OLD N [POOL]: pooled has N live workers (in POOL) and
# OLD is not one of them; for wait_for after OLD was killed.
workers_replaced()
{
	local now

	if [ -n "${3:-}" ]; then
		now=$(pool_workers "$3")
	else
		now=$(pooled_workers)
	fi
	[ "$(count_lines "$now")" -eq "$2" ] || return 1
	! printf '%s\n' "$now" | grep -q -x -e "$1"
}

# nginx ------------------------------------------------------------------

# start_nginx ROUTE...: write $T/nginx/nginx.conf and run nginx on
# 127.0.0.1:$NGINX_PORT (a free port unless set before the call; a port
# set as a prefix, "NGINX_PORT=N start_nginx", is forgotten after it),
# then wait up to 10 s until it answers.  Each ROUTE is "UPSTREAM" (served
# at /) or "/PREFIX=UPSTREAM", with "scgi:" in front for scgi_pass rather
# than fastcgi_pass; UPSTREAM is "unix:/path" or "host:port".
# Sets NGINX_URL.  Knobs, read from the environment:
#	NGINX_KEEPCONN=on	fastcgi_keep_conn on, with "keepalive
#				$NGINX_KEEPALIVE" (8) in each upstream
#	NGINX_REQUEST_BUFFERING=off	stream request bodies to pooled
#	NGINX_EXTRA		lines added to every FastCGI location
#				("fastcgi_read_timeout 5s;")
#	NGINX_WORKER_CONNECTIONS	worker_connections (256); each request
#				takes two, client and upstream
start_nginx()
{
	local _ logged

	if pid_alive "$NGINX_PID"; then
		diag "start_nginx: nginx already runs as $NGINX_PID"
		return 1
	fi
	for _ in 1 2 3; do
		logged=$(wc -c <"$T/nginx/error.log")
		if [ -z "$NGINX_PORT" ]; then
			free_port NGINX_PORT || return 1
		fi
		NGINX_URL=http://127.0.0.1:$NGINX_PORT
		write_nginx_conf "$@" || return 1
		"$NGINX" -p "$T/nginx/" -c "$T/nginx/nginx.conf" \
		    -e "$T/nginx/error.log" </dev/null \
		    >>"$T/nginx/stderr.log" 2>&1 &
		NGINX_PID=$!
		track_pid "$NGINX_PID"
		if wait_for 10 _nginx_ready; then
			pid_alive "$NGINX_PID" && return 0
		fi
		stop_pid "$NGINX_PID" TERM 5
		wait "$NGINX_PID" 2>/dev/null
		untrack_pid "$NGINX_PID"
		NGINX_PID=
		# Someone took the port between free_port and bind: retry.
		if tail -c "+$((logged + 1))" "$T/nginx/error.log" 2>/dev/null |
		    grep -q 'Address already in use'; then
			NGINX_PORT=
			continue
		fi
		break
	done
	diag "start_nginx: nginx did not start"
	_nginx_logs | tail -n 20 | sed 's/^/#   /'
	return 1
}

_nginx_logs()
{
	cat "$T/nginx/stderr.log" "$T/nginx/error.log" 2>/dev/null
}

_nginx_ready()
{
	pid_alive "$NGINX_PID" || return 0
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	    "$NGINX_URL/__lib_ready" 2>/dev/null)" = 204 ]
}

# stop_nginx [SECONDS]: fast shutdown (TERM), KILL after SECONDS (10).
stop_nginx()
{
	local rc=0

	[ -n "$NGINX_PID" ] || return 0
	stop_pid "$NGINX_PID" TERM "${1:-10}" || rc=1
	wait "$NGINX_PID" 2>/dev/null
	untrack_pid "$NGINX_PID"
	NGINX_PID=
	return "$rc"
}

# write_nginx_conf ROUTE...: only write $T/nginx/nginx.conf (see
# start_nginx); scenarios that reload nginx themselves can use it.
write_nginx_conf()
{
	local d=$T/nginx route prefix upstream proto n=0 keep=

	mkdir -p "$d"
	[ "${NGINX_KEEPCONN:-off}" = on ] &&
	    keep="keepalive ${NGINX_KEEPALIVE:-8};"
	{
		cat <<EOF
# written by $TEST_NAME (tests/integration/lib.sh)
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log notice;
EOF
		# Debian's default user for nginx's workers (its own
		# nginx.conf says so; without it nginx would take nobody).
		[ "$(id -u)" -eq 0 ] && printf 'user %s;\n' "$WEB_USER"
		cat <<EOF
events {
	worker_connections ${NGINX_WORKER_CONNECTIONS:-256};
}
http {
	access_log $d/access.log;
	client_body_temp_path $d/body;
	fastcgi_temp_path $d/fastcgi;
	proxy_temp_path $d/proxy;
EOF
		_nginx_has_module scgi && printf '\tscgi_temp_path %s;\n' "$d/scgi"
		_nginx_has_module uwsgi &&
		    printf '\tuwsgi_temp_path %s;\n' "$d/uwsgi"
		cat <<EOF
	client_max_body_size 64m;
	fastcgi_connect_timeout 5s;

EOF
		for route in "$@"; do
			route=${route#scgi:}
			upstream=${route#/*=}
			printf '\tupstream pooled%d {\n' "$n"
			printf '\t\tserver %s;\n' "$upstream"
			[ -n "$keep" ] && printf '\t\t%s\n' "$keep"
			printf '\t}\n'
			n=$((n + 1))
		done
		cat <<EOF

	server {
		listen 127.0.0.1:$NGINX_PORT;
		server_name localhost;

		location = /__lib_ready {
			return 204;
		}
EOF
		n=0
		for route in "$@"; do
			proto=fastcgi
			case $route in
			scgi:*)
				proto=scgi
				route=${route#scgi:} ;;
			esac
			case $route in
			/*=*)
				prefix=${route%%=*} ;;
			*)
				prefix=/ ;;
			esac
			if [ "$proto" = scgi ]; then
				_nginx_scgi_location "$prefix" "pooled$n"
			else
				_nginx_location "$prefix" "pooled$n"
			fi
			n=$((n + 1))
		done
		printf '\t}\n}\n'
	} >"$d/nginx.conf"
}

_nginx_location()
{
	cat <<EOF

		location $1 {
			fastcgi_pass $2;
EOF
	[ "${NGINX_KEEPCONN:-off}" = on ] &&
	    printf '\t\t\tfastcgi_keep_conn on;\n'
	[ "${NGINX_REQUEST_BUFFERING:-on}" = off ] &&
	    printf '\t\t\tfastcgi_request_buffering off;\n'
	cat <<'EOF'
			fastcgi_param GATEWAY_INTERFACE CGI/1.1;
			fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
			fastcgi_param SERVER_PROTOCOL $server_protocol;
			fastcgi_param SERVER_NAME $server_name;
			fastcgi_param SERVER_ADDR $server_addr;
			fastcgi_param SERVER_PORT $server_port;
			fastcgi_param REMOTE_ADDR $remote_addr;
			fastcgi_param REMOTE_PORT $remote_port;
			fastcgi_param REQUEST_METHOD $request_method;
			fastcgi_param REQUEST_URI $request_uri;
			fastcgi_param DOCUMENT_URI $document_uri;
			fastcgi_param SCRIPT_NAME $fastcgi_script_name;
			fastcgi_param QUERY_STRING $query_string;
			fastcgi_param CONTENT_TYPE $content_type;
			fastcgi_param CONTENT_LENGTH $content_length;
EOF
	if [ -n "${NGINX_EXTRA:-}" ]; then
		printf '%s\n' "$NGINX_EXTRA" | sed 's/^/\t\t\t/'
	fi
	printf '\t\t}\n'
}

# _nginx_scgi_location PREFIX UPSTREAM: an SCGI location, with the
# parameters of Debian's scgi_params (nginx adds CONTENT_LENGTH itself,
# first) and those a CGI pool needs; NGINX_SCGI_EXTRA adds lines.
_nginx_scgi_location()
{
	cat <<EOF

		location $1 {
			scgi_pass $2;
EOF
	[ "${NGINX_REQUEST_BUFFERING:-on}" = off ] &&
	    printf '\t\t\tscgi_request_buffering off;\n'
	cat <<'EOF'
			scgi_param REQUEST_METHOD $request_method;
			scgi_param REQUEST_URI $request_uri;
			scgi_param QUERY_STRING $query_string;
			scgi_param CONTENT_TYPE $content_type;
			scgi_param DOCUMENT_URI $document_uri;
			scgi_param DOCUMENT_ROOT $document_root;
			scgi_param SCGI 1;
			scgi_param SERVER_PROTOCOL $server_protocol;
			scgi_param REQUEST_SCHEME $scheme;
			scgi_param REMOTE_ADDR $remote_addr;
			scgi_param REMOTE_PORT $remote_port;
			scgi_param SERVER_PORT $server_port;
			scgi_param SERVER_NAME $server_name;
			scgi_param SCRIPT_NAME $uri;
EOF
	if [ -n "${NGINX_SCGI_EXTRA:-}" ]; then
		printf '%s\n' "$NGINX_SCGI_EXTRA" | sed 's/^/\t\t\t/'
	fi
	printf '\t\t}\n'
}

# Whether this nginx has the http module NAME (Debian's light flavour
# leaves some out, and their directives are then errors).
_nginx_has_module()
{
	! "$NGINX" -V 2>&1 | grep -q -e "--without-http_$1_module"
}

# Apache -----------------------------------------------------------------
# Debian's apache2 in front of pooled, through mod_proxy_fcgi and
# mod_proxy_scgi, started by the scenario with a config of its own in
# $T/apache (the package's service and /etc/apache2 play no part).

# have_apache: apache2 and its proxy modules are installed.
have_apache()
{
	[ -x "$APACHE" ] &&
	    [ -e "$APACHE_MODULES/mod_proxy_fcgi.so" ] &&
	    [ -e "$APACHE_MODULES/mod_proxy_scgi.so" ]
}

# skip_all REASON: skip the whole scenario ("1..0 # SKIP"), for one that
# needs what is missing here (have_apache).  Call it before any
# assertion.
skip_all()
{
	printf '1..0 # SKIP %s: %s\n' "$TEST_NAME" "$1"
	T_DONE=1
	exit 0
}

# start_apache ROUTE...: write $T/apache/httpd.conf and run apache2 in the
# foreground on 127.0.0.1:$APACHE_PORT (a free port unless set before the
# call), then wait up to 10 s until it answers.  Sets APACHE_URL (use it
# as HTTP_BASE to send http_get's paths there) and APACHE_PID.  A ROUTE is
# nginx's (start_nginx), with an optional kind in front:
#
#	[KIND:]UPSTREAM			served at /
#	[KIND:]/PREFIX=UPSTREAM		served at /PREFIX and below
#	cgi:/PREFIX=UPSTREAM=ROOT	FastCGI to a handler = "cgi" pool
#
# UPSTREAM is "unix:/path", "host:port", "[v6]:port" or "tcp:host:port";
# KIND is fcgi (the default: mod_proxy_fcgi), scgi (mod_proxy_scgi) or
# cgi, which is fcgi plus a SCRIPT_FILENAME a CGI pool can use: the
# script's path below ROOT, as with "ScriptAlias /PREFIX ROOT".  As in
# nginx, the longest matching prefix wins.
#
# What mod_proxy_fcgi sends (checked with Apache 2.4.71 of Debian 12): for
# GET /PREFIX/env.sh/extra%20x?q, SCRIPT_NAME is the whole decoded path
# "/PREFIX/env.sh/extra x" and no PATH_INFO is sent (nothing is known to
# be a file behind a proxy; proxy-fcgi-pathinfo would guess one);
# DOCUMENT_ROOT is the DocumentRoot ($APACHE_DOCUMENT_ROOT, $T by default),
# REQUEST_URI the raw path with the query, QUERY_STRING the raw query.
# SCRIPT_FILENAME is the backend URL: "proxy:fcgi://pooledN/env.sh/
# extra%20x" under ProxyFCGIBackendType FPM (Apache's default: php-fpm
# strips the prefix itself), and its still-encoded path "/env.sh/
# extra%20x" under GENERIC, which start_apache sets.  Neither names the
# program for a CGI pool (the GENERIC one would, were the ProxyPass URL
# "...|fcgi://localhost/ROOT/", but percent-encoded), so cgi routes
# replace it with the decoded name below ROOT:
#
#	ProxyFCGISetEnvIf "reqenv('SCRIPT_NAME') =~ m#^/PREFIX(/.*)#" \
#	    SCRIPT_FILENAME "ROOT$1"
#
# (ProxyFCGISetEnvIf runs after the CGI variables are made, and $1 is
# the condition's capture): ROOT/env.sh/extra x, from which pooled splits
# PATH_INFO "/extra x" off at the file and takes it off SCRIPT_NAME, as
# behind nginx's "$document_root$fastcgi_script_name".  mod_proxy_scgi
# sends SCRIPT_FILENAME "proxy:scgi://pooledN/env.sh/extra%20x" and sets
# it after SetEnv and the like, so no setting changes it: a CGI pool
# behind SCGI has only DOCUMENT_ROOT and SCRIPT_NAME to go by (there is
# no scgi flavour of the cgi routes).
#
# Run by root, apache2's children run as $WEB_USER (www-data), Debian's
# default, with its own group: the sockets are theirs through the
# file-wide listen_owner the suite writes (see write_pool_conf).
#
# Knobs, read from the environment:
#	APACHE_PROXY_PARAMS	key=value pairs added to every ProxyPass
#				("enablereuse=on timeout=5")
#	APACHE_EXTRA		lines added to every route's <Location>
#	APACHE_GLOBAL_EXTRA	lines added at the server level
#	APACHE_FCGI_BACKEND_TYPE	GENERIC (default) or FPM
#	APACHE_DOCUMENT_ROOT	DocumentRoot ($T)
#	APACHE_LOG_LEVEL	LogLevel (warn; "warn proxy_fcgi:trace8" to
#				see every FastCGI record)
#	APACHE_TIMEOUT		Timeout and ProxyTimeout (30 s)
# Its logs: $T/apache/error.log, access.log (with %D, the microseconds
# each request took) and stderr.log; a failed scenario shows them.
start_apache()
{
	local _ logged

	if pid_alive "$APACHE_PID"; then
		diag "start_apache: apache already runs as $APACHE_PID"
		return 1
	fi
	if ! have_apache; then
		diag "start_apache: no $APACHE or no proxy modules" \
		    "in $APACHE_MODULES"
		return 1
	fi
	mkdir -p "$T/apache/run"
	touch "$T/apache/error.log" "$T/apache/stderr.log"
	for _ in 1 2 3; do
		logged=$(cat "$T/apache/error.log" "$T/apache/stderr.log" |
		    wc -c)
		if [ -z "$APACHE_PORT" ]; then
			free_port APACHE_PORT || return 1
		fi
		APACHE_URL=http://127.0.0.1:$APACHE_PORT
		write_apache_conf "$@" || return 1
		# -DFOREGROUND: the parent stays our child, and TERM stops
		# it and its children at once.
		"$APACHE" -d "$T/apache" -f "$T/apache/httpd.conf" \
		    -DFOREGROUND </dev/null >>"$T/apache/stderr.log" 2>&1 &
		APACHE_PID=$!
		track_pid "$APACHE_PID"
		if wait_for 10 _apache_ready; then
			pid_alive "$APACHE_PID" && return 0
		fi
		stop_apache 5
		# Someone took the port between free_port and bind: retry.
		if cat "$T/apache/error.log" "$T/apache/stderr.log" |
		    tail -c "+$((logged + 1))" |
		    grep -q 'Address already in use'; then
			APACHE_PORT=
			continue
		fi
		break
	done
	diag "start_apache: apache2 did not start"
	apache_logs | tail -n 20 | sed 's/^/#   /'
	return 1
}

# apache_logs: print what apache2 wrote to stderr and to its error log.
apache_logs()
{
	cat "$T/apache/stderr.log" "$T/apache/error.log" 2>/dev/null
}

_apache_ready()
{
	pid_alive "$APACHE_PID" || return 0
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	    "$APACHE_URL/__lib_ready" 2>/dev/null)" = 204 ]
}

# stop_apache [SECONDS]: stop it (TERM: the parent ends its children and
# exits), KILL after SECONDS (10).
stop_apache()
{
	local rc=0

	[ -n "$APACHE_PID" ] || return 0
	stop_pid "$APACHE_PID" TERM "${1:-10}" || rc=1
	wait "$APACHE_PID" 2>/dev/null
	untrack_pid "$APACHE_PID"
	APACHE_PID=
	return "$rc"
}

# write_apache_conf ROUTE...: only write $T/apache/httpd.conf (see
# start_apache), for scenarios that check or reload it themselves.
write_apache_conf()
{
	local d=$T/apache m=$APACHE_MODULES route mod builtin n=0
	local -a lines=()

	mkdir -p "$d/run"
	builtin=$("$APACHE" -l 2>/dev/null | sed 's/^[[:space:]]*//')
	for route in "$@"; do
		_apache_route_parse "$route" || return 1
		lines+=("${#_AR_PREFIX} $route")
	done
	{
		cat <<EOF
# written by $TEST_NAME (tests/integration/lib.sh)
ServerRoot "$d"
ServerName localhost
Listen 127.0.0.1:$APACHE_PORT
PidFile "$d/apache.pid"
DefaultRuntimeDir "$d/run"
Mutex "file:$d/run" default
ErrorLog "$d/error.log"
LogLevel ${APACHE_LOG_LEVEL:-warn}
Timeout ${APACHE_TIMEOUT:-30}
ProxyTimeout ${APACHE_TIMEOUT:-30}
KeepAlive On
DocumentRoot "${APACHE_DOCUMENT_ROOT:-$T}"

EOF
		# Debian builds unixd and log_config in ("apache2 -l").
		for mod in mpm_event unixd authz_core alias log_config env \
		    setenvif proxy proxy_fcgi proxy_scgi; do
			printf '%s\n' "$builtin" | grep -q -x "mod_$mod.c" &&
			    continue
			printf 'LoadModule %s_module "%s/mod_%s.so"\n' \
			    "$mod" "$m" "$mod"
		done
		if [ "$(id -u)" -eq 0 ]; then
			# As Debian runs it (see start_apache).
			printf '\nUser %s\nGroup %s\n' "$WEB_USER" \
			    "$(id -gn "$WEB_USER")"
		fi
		cat <<EOF

StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 25
MaxSpareThreads 50

LogFormat "%h \"%r\" %>s %B %D" pooled
CustomLog "$d/access.log" pooled

<Directory />
	AllowOverride None
	Require all denied
</Directory>
<Location />
	Require all granted
</Location>

# Ready probe, answered by Apache itself (start_apache).
ProxyPass /__lib_ready !
Redirect 204 /__lib_ready
EOF
		if [ -n "${APACHE_GLOBAL_EXTRA:-}" ]; then
			printf '%s\n' "$APACHE_GLOBAL_EXTRA"
		fi
		# Server-level ProxyPass takes the first match, so the
		# longest prefixes go first; nginx takes the longest too.
		if [ "${#lines[@]}" -gt 0 ]; then
			printf '%s\n' "${lines[@]}" | sort -k1,1nr -s |
			    cut -d ' ' -f 2- >"$d/routes"
		else
			: >"$d/routes"
		fi
		while IFS= read -r route; do
			_apache_route "$route" "$n" || return 1
			n=$((n + 1))
		done <"$d/routes"
	} >"$d/httpd.conf"
}

# Split a start_apache ROUTE into _AR_KIND, _AR_PREFIX, _AR_UPSTREAM and
# _AR_ROOT.
_apache_route_parse()
{
	local r=$1

	_AR_KIND=fcgi
	_AR_ROOT=
	case $r in
	fcgi:*|scgi:*|cgi:*)
		_AR_KIND=${r%%:*}
		r=${r#*:} ;;
	esac
	case $r in
	/*=*)
		_AR_PREFIX=${r%%=*}
		r=${r#*=} ;;
	*)
		_AR_PREFIX=/ ;;
	esac
	if [ "$_AR_KIND" = cgi ]; then
		case $r in
		*=/*)
			_AR_ROOT=${r##*=}
			r=${r%=*} ;;
		*)
			diag "start_apache: $1: a cgi route needs =ROOT"
			return 1 ;;
		esac
	fi
	_AR_UPSTREAM=${r#tcp:}
	if [ -z "$_AR_UPSTREAM" ]; then
		diag "start_apache: $1: no upstream"
		return 1
	fi
}

# _apache_route ROUTE N: print ROUTE's ProxyPass and <Location>.  Each
# route's backend gets its own host name (pooledN), so unix sockets never
# share a mod_proxy worker.
_apache_route()
{
	local scheme=fcgi prefix url re

	_apache_route_parse "$1" || return 1
	prefix=$_AR_PREFIX
	[ "$_AR_KIND" = scgi ] && scheme=scgi
	case $_AR_UPSTREAM in
	unix:*)
		url="$_AR_UPSTREAM|$scheme://pooled$2" ;;
	*)
		url="$scheme://$_AR_UPSTREAM" ;;
	esac
	# ProxyPass wants a trailing slash on both or on neither.
	case $prefix in
	*/)
		url=$url/ ;;
	esac
	printf '\n# route %s\n' "$1"
	printf 'ProxyPass "%s" "%s"' "$prefix" "$url"
	[ -n "${APACHE_PROXY_PARAMS:-}" ] &&
	    printf ' %s' "$APACHE_PROXY_PARAMS"
	printf '\n<Location "%s">\n' "$prefix"
	if [ "$scheme" = fcgi ]; then
		printf '\tProxyFCGIBackendType %s\n' \
		    "${APACHE_FCGI_BACKEND_TYPE:-GENERIC}"
	fi
	if [ "$_AR_KIND" = cgi ]; then
		# The path below the prefix, under ROOT (see start_apache).
		re=$(printf '%s' "${prefix%/}" |
		    sed 's/[][\\.^$*+?(){}|#]/\\&/g')
		printf '\tProxyFCGISetEnvIf "reqenv('"'"'SCRIPT_NAME'"'"') =~ m#^%s(/.*)#" SCRIPT_FILENAME "%s$1"\n' \
		    "$re" "${_AR_ROOT%/}"
	fi
	if [ -n "${APACHE_EXTRA:-}" ]; then
		printf '%s\n' "$APACHE_EXTRA" | sed 's/^/\t/'
	fi
	printf '</Location>\n'
}

# HTTP -------------------------------------------------------------------
# Both set HTTP_STATUS ("000" when curl got no answer), HTTP_BODY (the
# body without trailing newlines and NUL bytes, empty past 1 MiB),
# HTTP_BODY_FILE and HTTP_HEADERS_FILE (the raw body and headers), and
# return curl's exit status.  A PATH starting with / goes to nginx, or to
# $HTTP_BASE when set ("HTTP_BASE=$APACHE_URL").  Every request is
# bounded by --max-time $HTTP_TIMEOUT (10).

# http_get PATH|URL [CURL_ARG...]
http_get()
{
	local url=$1

	shift
	_http "$url" "$@"
}

# http_post PATH|URL DATA [CURL_ARG...]: DATA as curl --data-binary takes
# it, so "@file" sends a file.
http_post()
{
	local url=$1 data=$2

	shift 2
	_http "$url" --data-binary "$data" "$@"
}

_http()
{
	local url=$1 rc

	shift
	case $url in
	/*)
		url=${HTTP_BASE:-$NGINX_URL}$url ;;
	esac
	HTTP_BODY_FILE=$T/http.body
	HTTP_HEADERS_FILE=$T/http.headers
	: >"$HTTP_BODY_FILE"
	: >"$HTTP_HEADERS_FILE"
	HTTP_STATUS=$(curl -sS --max-time "${HTTP_TIMEOUT:-10}" \
	    -o "$HTTP_BODY_FILE" -D "$HTTP_HEADERS_FILE" \
	    -w '%{http_code}' "$@" "$url" 2>"$T/http.err")
	rc=$?
	[ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
	if [ "$rc" -ne 0 ]; then
		diag "curl $url: exit $rc: $(cat "$T/http.err")"
	fi
	if [ "$(wc -c <"$HTTP_BODY_FILE")" -le 1048576 ]; then
		HTTP_BODY=$(tr -d '\000' <"$HTTP_BODY_FILE")
	else
		HTTP_BODY=
	fi
	return "$rc"
}

# http_header NAME: print the value of response header NAME of the last
# request (case-insensitive name, CR stripped).
http_header()
{
	tr -d '\r' <"$HTTP_HEADERS_FILE" |
	    sed -n "s/^$1:[[:space:]]*//Ip" | tail -n 1
}

# assert_get NAME PATH BODY [COUNT]: COUNT (1) GETs of PATH all answer 200
# with exactly BODY.
assert_get()
{
	local name=$1 path=$2 body=$3 count=${4:-1} ok=0 i
	local -a bad=()

	for i in $(seq 1 "$count"); do
		http_get "$path"
		if [ "$HTTP_STATUS" = 200 ] && [ "$HTTP_BODY" = "$body" ]; then
			ok=$((ok + 1))
		else
			bad+=("GET $path #$i: $HTTP_STATUS ${HTTP_BODY:0:200}")
		fi
	done
	if [ "$ok" -eq "$count" ]; then
		pass "$name"
	else
		fail "$name" "$ok of $count answered 200 \"$body\"" \
		    "${bad[@]:0:5}"
	fi
}

# parallel_get N PARALLEL PATH DIR: GET PATH, where every "@ID@" is
# replaced by the request number 1..N, N times with up to PARALLEL
# requests in flight.  Each answer's body goes to DIR/ID.body, and
# DIR/status gets one "ID STATUS" line per request (to nginx, or to
# $HTTP_BASE when set).  Each curl is bounded
# by --max-time $HTTP_TIMEOUT (10), so the whole run is too.  (For more
# than about 100 at once, raise NGINX_WORKER_CONNECTIONS.)
parallel_get()
{
	local n=$1 par=$2 path=$3 dir=$4

	mkdir -p "$dir"
	# Lines under PIPE_BUF written to a pipe do not interleave.
	seq 1 "$n" | xargs -P "$par" -I @ID@ \
	    curl -s --max-time "${HTTP_TIMEOUT:-10}" -o "$dir/@ID@.body" \
	    -w '@ID@ %{http_code}\n' "${HTTP_BASE:-$NGINX_URL}$path" |
	    cat >"$dir/status"
}

# assert_parallel_status NAME DIR N STATUS: all N requests of a
# parallel_get into DIR got STATUS.
assert_parallel_status()
{
	local got

	got=$(awk -v s="$4" '$2 == s { n++ } END { print n + 0 }' \
	    "$2/status" 2>/dev/null)
	if [ "$got" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "$got of $3 requests got $4; others:" \
		    "$(awk -v s="$4" '$2 != s' "$2/status" 2>/dev/null |
		    head -n 5)"
	fi
}

# assert_parallel_bodies NAME DIR N BODY: the answers to all N requests of
# a parallel_get into DIR are exactly BODY.
assert_parallel_bodies()
{
	local i wrong=

	for i in $(seq 1 "$3"); do
		[ "$(cat "$2/$i.body" 2>/dev/null)" = "$4" ] ||
		    wrong="$wrong $i"
	done
	assert_eq "$1" "" "$wrong"
}

# Setup and cleanup --------------------------------------------------------

# _lib_stop_all: stop nginx and apache, then every pid started here.
_lib_stop_all()
{
	local pid

	# nginx first, so nothing new reaches pooled while it stops.
	if [ -n "$NGINX_PID" ]; then
		stop_pid "$NGINX_PID" TERM 10
	fi
	if [ -n "$APACHE_PID" ]; then
		stop_pid "$APACHE_PID" TERM 10
	fi
	for pid in $_LIB_PIDS; do
		stop_pid "$pid" TERM 10
	done
}

# _lib_check_sanitizers: fail if a sanitizer reported anything in a log
# of this scenario.  Sanitizer builds (./configure --enable-sanitizers)
# write their reports to pooled's stderr, which every scenario logs under
# $T; leak reports come at exit, hence after every process stopped.
_lib_check_sanitizers()
{
	local f

	for f in "$T"/*.log "$T"/*/*.log; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$f"; then
			fail "sanitizer report in ${f#"$T"/}" \
			    "$(grep -E -m 5 -A 8 'Sanitizer|runtime error:' "$f")"
		fi
	done
}

_lib_exit()
{
	local rc=$?

	trap - EXIT INT TERM
	if [ "$T_DONE" -eq 0 ] && [ "$rc" -ne 77 ]; then
		printf 'not ok - %s ended before done_testing (exit %d)\n' \
		    "$TEST_NAME" "$rc"
		T_FAIL=$((T_FAIL + 1))
		rc=1
	fi
	_lib_stop_all
	if [ "$T_FAIL" -gt 0 ] && [ -n "${T:-}" ]; then
		_lib_dump "$POOLED_LOG"
		_lib_dump "$T/nginx/error.log"
		_lib_dump "$T/nginx/stderr.log"
		_lib_dump "$T/apache/error.log"
		_lib_dump "$T/apache/stderr.log"
	fi
	if [ -n "${T:-}" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			diag "kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# _lib_test_users: make sure the unprivileged users the pools run as
# exist: $POOL_USER (every pool, unless a scenario says otherwise) and
# $POOL_USER2 (a second pool's, to show pools cannot touch each other),
# a member of $POOL_GROUP_EXTRA besides its own group.
# System users with no login and no home; scenarios may run in parallel
# (make -j), hence the lock.
_lib_test_users()
{
	local u

	(
		flock -w 60 9 || exit 1
		for u in "$POOL_USER" "$POOL_USER2"; do
			id -u "$u" >/dev/null 2>&1 && continue
			useradd --system --user-group --no-create-home \
			    --home-dir /nonexistent --shell /usr/sbin/nologin \
			    "$u" || exit 1
		done
		getent group "$POOL_GROUP_EXTRA" >/dev/null ||
		    groupadd --system "$POOL_GROUP_EXTRA" || exit 1
		id -nG "$POOL_USER2" | grep -qw -e "$POOL_GROUP_EXTRA" ||
		    usermod -a -G "$POOL_GROUP_EXTRA" "$POOL_USER2" || exit 1
	) 9>/tmp/pooled-test-users.lock
}

_lib_dump()
{
	[ -s "$1" ] || return 0
	diag "--- last lines of $1"
	tail -n 40 "$1" | sed 's/^/#   /'
}

trap _lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _lib_tool in curl "$NGINX"; do
	if ! command -v "$_lib_tool" >/dev/null 2>&1; then
		printf '1..0 # SKIP %s: %s not found\n' "$TEST_NAME" "$_lib_tool"
		exit 0
	fi
done
if [ ! -x "$POOLED" ]; then
	printf 'not ok - %s not built\n' "$POOLED"
	T_DONE=1
	exit 99
fi

# A short base directory: unix socket paths must fit in 108 bytes.
T=$(mktemp -d "${POOLED_TEST_TMPDIR:-/tmp}/pooled-$TEST_NAME.XXXXXX") || {
	T=
	T_DONE=1
	exit 99
}
# Others may pass through, not list: pool users reach their CGI programs
# and modules here, nginx's www-data the sockets.
chmod 0711 "$T"
mkdir -p "$T/nginx"
: >"$T/nginx/error.log"
# Where CGI programs and modules, running as a pool's user, may leave
# files for a scenario to read (pid files, what they were sent).
W=$T/w
mkdir -m 1777 "$W"
if [ "$(id -u)" -eq 0 ]; then
	_lib_test_users || {
		printf 'not ok - cannot create the test users\n'
		T_DONE=1
		exit 99
	}
fi
POOLED_LOG=$T/pooled.log
POOLED_CONF=$T/pooled.conf
HTTP_BODY_FILE=$T/http.body
HTTP_HEADERS_FILE=$T/http.headers
: >"$POOLED_LOG"
diag "$TEST_NAME: pooled $POOLED, temp dir $T"
