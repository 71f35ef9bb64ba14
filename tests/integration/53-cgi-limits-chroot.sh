#!/usr/bin/env bash
# 53-cgi-limits-chroot: what a pool's programs are held to, and pools in a
# chroot.  A CGI program gets the pool's cgi_rlimit_* limits, soft and
# hard, while its worker keeps its own (rlimit_*); a program that goes
# past them (memory, processes, CPU) fails alone and the pool serves on;
# a failed exec is answered 500 with its errno; a limit the worker could
# not set is refused by -t; programs and modules run as the pool's user
# with no way back to root (a module's setuid(0) fails); a chrooted
# module pool and a chrooted static CGI program serve through nginx's
# stock SCRIPT_FILENAME (a path as seen from outside the chroot); a
# chrooted CGI pool without /proc inside is refused, with the reason.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: users, limits above pooled's own, chroot, mount"
fi

CGI=$T/cgi
mkdir -p "$CGI"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# limit_of TEXT NAME: the soft and hard values of the line NAME ("Max cpu
# time") of a /proc/PID/limits TEXT, as "SOFT HARD".
limit_of()
{
	printf '%s\n' "$1" | awk -v n="$2" 'index($0, n) == 1 {
		split(substr($0, length(n) + 1), f, " ")
		print f[1], f[2]
	}'
}

cgi limits.sh 'printf "Content-Type: text/plain\n\n"; cat /proc/$$/limits'
# Past cgi_rlimit_as: python3 cannot get 300 MB (any shell would abort).
cgi hog.sh 'printf "Content-Type: text/plain\n\n"
python3 -c "b = bytearray(300 * 1024 * 1024)" 2>&1 &&
    echo "allocated 300 MB" || echo "allocation failed"'
# Past cgi_rlimit_nproc: the shell stops at the first fork refused.
cgi forks.sh 'printf "Content-Type: text/plain\n\n"
i=0
while [ $i -lt 60 ]; do
	sleep 30 & echo $! >>'"$W/forks.pids"'; i=$((i + 1)); echo "started $i"
done
echo "all started"'
mkdir -p "$T/cpu"
printf '#!/bin/sh\nwhile :; do :; done\n' >"$T/cpu/burn.sh"
chmod 755 "$T/cpu/burn.sh"
cgi ids.sh 'printf "Content-Type: text/plain\n\n"; id -u; id -g
grep -E "^(NoNewPrivs|CapEff):" /proc/$$/status
grep -E "^Sig(Ign|Blk):" /proc/self/status'
# What a hostile program would try against the master ($QUERY_STRING).
cgi try.sh 'printf "Content-Type: text/plain\n\n"
kill -0 "$QUERY_STRING" 2>&1 && echo "signal master: yes"
cat /proc/"$QUERY_STRING"/environ 2>&1 >/dev/null && echo "master environ: yes"
cat /proc/"$QUERY_STRING"/mem 2>&1 >/dev/null && echo "master mem: yes"
echo end'
printf '#!/nonexistent/interpreter\n' >"$CGI/badinterp.sh"
chmod 755 "$CGI/badinterp.sh"

# --- limits, users ------------------------------------------------------

# TCP listeners: nginx's user reaches them whatever the sockets' owner.
for v in LIM_PORT CPU_PORT MOD_PORT JCGI_PORT; do
	free_port "$v" || bail_out "no free port"
done
write_pool_conf \
    "$(cgi_pool_block lim "127.0.0.1:$LIM_PORT" "$CGI" \
    'user = "nobody"' 'processes = 1' 'threads = 2' \
    'env = {"PATH=/usr/bin:/bin"}' 'cgi_rlimit_cpu = 7' \
    'cgi_rlimit_as = "256M"' 'cgi_rlimit_nproc = 50' \
    'rlimit_files = 333' 'rlimit_nproc = 4096')" \
    "$(cgi_pool_block cpu "127.0.0.1:$CPU_PORT" "$T/cpu" 'user = "nobody"' \
    'processes = 1' 'threads = 1' 'cgi_rlimit_cpu = 1' 'cgi_timeout = 30')" \
    "$(pool_block mod "127.0.0.1:$MOD_PORT" setuid 'user = "nobody"' \
    'processes = 1' 'threads = 1')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=127.0.0.1:$LIM_PORT" "/cpu/=127.0.0.1:$CPU_PORT" \
    "/mod/=127.0.0.1:$MOD_PORT" || bail_out "nginx did not start"

http_get /cgi/limits.sh
assert_status "a program's limits: 200" 200
assert_eq "cgi_rlimit_cpu: soft and hard" "7 7" \
    "$(limit_of "$HTTP_BODY" "Max cpu time")"
assert_eq "cgi_rlimit_as: soft and hard" "268435456 268435456" \
    "$(limit_of "$HTTP_BODY" "Max address space")"
assert_eq "cgi_rlimit_nproc: soft and hard" "50 50" \
    "$(limit_of "$HTTP_BODY" "Max processes")"
assert_eq "the program inherits the worker's rlimit_files" "333 333" \
    "$(limit_of "$HTTP_BODY" "Max open files")"

w=$(pool_workers lim | head -n 1)
wl=$(cat "/proc/$w/limits" 2>/dev/null)
assert_eq "rlimit_files on the worker: soft and hard" "333 333" \
    "$(limit_of "$wl" "Max open files")"
assert_eq "rlimit_nproc on the worker" "4096 4096" \
    "$(limit_of "$wl" "Max processes")"
assert_eq "the worker has no CPU limit of its programs'" \
    "unlimited unlimited" "$(limit_of "$wl" "Max cpu time")"
assert_eq "the worker has no address-space limit of its programs'" \
    "unlimited unlimited" "$(limit_of "$wl" "Max address space")"

http_get /cgi/hog.sh
assert_status "past cgi_rlimit_as: the program still answers" 200
assert_contains "past cgi_rlimit_as: 300 MB cannot be had" "$HTTP_BODY" \
    "allocation failed"
assert_contains "past cgi_rlimit_as: python says why" "$HTTP_BODY" \
    "MemoryError"
http_get /cgi/limits.sh
assert_status "after it, the pool serves the next request" 200
assert_eq "... from the same worker" "$w" "$(pool_workers lim | head -n 1)"

# RLIMIT_NPROC counts all of nobody's tasks: the pools' workers and
# threads here, and whatever else runs as nobody.
others=$(ps -L -u nobody -o lwp= | wc -l)
http_get /cgi/forks.sh
assert_status "past cgi_rlimit_nproc: 200" 200
if [ "$others" -lt 40 ]; then
	assert_contains "past cgi_rlimit_nproc: some children start" \
	    "$HTTP_BODY" "started 1"
else
	skip "past cgi_rlimit_nproc: some children start" \
	    "nobody has $others tasks already"
fi
assert_not_contains "past cgi_rlimit_nproc: not all 60" "$HTTP_BODY" \
    "all started"
# By pid, as other scenarios run programs as nobody at the same time;
# gone, not only dead: a zombie still counts against RLIMIT_NPROC, and
# the next programs here run as nobody.
pids_gone()
{
	local pid

	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 1
	done
	return 0
}
# shellcheck disable=SC2046
assert_true "... and what did start is killed with its group" \
    wait_for 5 pids_gone $(cat "$W/forks.pids")

log_mark
http_get /cpu/burn.sh
assert_status "past cgi_rlimit_cpu: 502" 502
assert_log "past cgi_rlimit_cpu: killed by the kernel, not by cgi_timeout" \
    'burn\.sh: killed by signal 9 .*before a complete response header'
assert_no_log "... not by cgi_timeout" 'killed after cgi_timeout'

log_mark
http_get /cgi/badinterp.sh
assert_status "an exec that fails: 500" 500
assert_log "an exec that fails: logged with its errno" \
    'badinterp\.sh: cannot run: No such file or directory'
http_get /cgi/limits.sh
assert_status "... and the pool serves on" 200

http_get /cgi/ids.sh
assert_status "ids: 200" 200
assert_eq "a program runs as nobody, group nobody's" \
    "$NOBODY_UID $NOBODY_GID" \
    "$(printf '%s\n' "$HTTP_BODY" | sed -n '1,2p' | tr '\n' ' ' | sed 's/ $//')"
assert_line "a program has no_new_privs" "$HTTP_BODY" "NoNewPrivs:	1"
assert_line "a program has no capabilities" "$HTTP_BODY" \
    "CapEff:	0000000000000000"
# The worker ignores SIGPIPE, SIGINT and others: its programs must not.
assert_line "a program ignores no signal" "$HTTP_BODY" \
    "SigIgn:	0000000000000000"
assert_line "a program blocks no signal" "$HTTP_BODY" \
    "SigBlk:	0000000000000000"

http_get "/cgi/try.sh?$POOLED_PID"
assert_status "the hostile program runs" 200
assert_contains "it cannot signal the master" "$HTTP_BODY" \
    "Operation not permitted"
assert_not_contains "... at all" "$HTTP_BODY" "signal master: yes"
assert_contains "it cannot read the master's environment or memory" \
    "$HTTP_BODY" "/proc/$POOLED_PID/environ: Permission denied"
assert_contains "... nor its memory" "$HTTP_BODY" \
    "/proc/$POOLED_PID/mem: Permission denied"
assert_line "... and ran to its end" "$HTTP_BODY" "end"
assert_true "the master survived" pid_alive "$POOLED_PID"

http_get /mod/
assert_status "a module's setuid(0): 200" 200
assert_line "a module cannot setuid(0)" "$HTTP_BODY" \
    "setuid(0): Operation not permitted"
assert_line "a module cannot seteuid(0)" "$HTTP_BODY" \
    "seteuid(0): Operation not permitted"
assert_line "... and stays nobody" "$HTTP_BODY" \
    "uid $NOBODY_UID euid $NOBODY_UID"
stop_nginx
stop_pooled

# A limit the unprivileged worker could not set is refused up front.
write_pool_conf "$(cgi_pool_block lim "127.0.0.1:$LIM_PORT" "$CGI" \
    'user = "nobody"' 'rlimit_nproc = 100' 'cgi_rlimit_nproc = 200')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "cgi_rlimit_nproc above rlimit_nproc: -t exits 1" 1 "$RUN_STATUS"
assert_contains "... and says why" "$RUN_STDERR" \
    "cgi_rlimit_nproc 200 is above the workers' hard limit, 100"

# --- chroot -------------------------------------------------------------

# The jail: root's directories, 0755; the module; a static CGI program.
JAIL=$T/jail
mkdir -m 0755 "$JAIL" "$JAIL/lib" "$JAIL/cgi-bin" "$JAIL/proc"
cp "$(module_path hello)" "$JAIL/lib/hello.so"
chmod 0644 "$JAIL/lib/hello.so"
cat >"$T/where.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL ? v : "-";
}

int
main(void)
{
	char	 cwd[256];

	printf("Content-Type: text/plain\r\n\r\n");
	printf("SCRIPT_FILENAME=%s\n", env("SCRIPT_FILENAME"));
	printf("DOCUMENT_ROOT=%s\n", env("DOCUMENT_ROOT"));
	printf("cwd=%s\n", getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "-");
	printf("uid=%ld\n", (long)getuid());
	printf("/etc/passwd: %s\n", access("/etc/passwd", F_OK) == 0 ?
	    "visible" : "absent");
	return 0;
}
C
have_static=0
if ${CC:-cc} -static -o "$JAIL/cgi-bin/where.cgi" "$T/where.c" \
    2>"$T/cc.log"; then
	have_static=1
	chmod 0755 "$JAIL/cgi-bin/where.cgi"
	# Executable, but outside cgi_root as the worker sees it.
	cp "$JAIL/cgi-bin/where.cgi" "$JAIL/lib/where.cgi"
	ln -s ../lib/where.cgi "$JAIL/cgi-bin/out.cgi"
else
	diag "cc -static failed: $(head -n 3 "$T/cc.log")"
fi

# jail_conf: a chrooted module pool and a chrooted CGI pool.
jail_conf()
{
	write_pool_conf \
	    "$(pool_block jmod "127.0.0.1:$MOD_PORT" "$JAIL/lib/hello.so" \
	    'user = "nobody"' 'processes = 1' "chroot = \"$JAIL\"")" \
	    "$(cgi_pool_block jcgi "127.0.0.1:$JCGI_PORT" "$JAIL/cgi-bin" \
	    'user = "nobody"' 'processes = 1' "chroot = \"$JAIL\"")"
}

jail_conf
run_pooled -t -c "$POOLED_CONF"
assert_eq "a chrooted CGI pool without /proc inside: -t exits 1" 1 \
    "$RUN_STATUS"
assert_contains "... and says what to mount" "$RUN_STDERR" \
    "pool \"jcgi\": a CGI pool in chroot $JAIL needs /proc mounted inside it"

# The proc mount goes on every exit, before lib.sh removes $T.
jail_umount()
{
	if mountpoint -q "$JAIL/proc"; then
		umount "$JAIL/proc" || umount -l "$JAIL/proc"
	fi
}
jail_exit()
{
	local rc=$?

	jail_umount
	(exit "$rc")		# lib.sh's exit handler reads the status
	_lib_exit
}
trap jail_exit EXIT
if ! mount -t proc proc "$JAIL/proc" 2>"$T/mount.log"; then
	skip "a chrooted CGI pool" "mount -t proc failed: $(cat "$T/mount.log")"
	# The module pool alone, then.
	write_pool_conf \
	    "$(pool_block jmod "127.0.0.1:$MOD_PORT" "$JAIL/lib/hello.so" \
	    'user = "nobody"' 'processes = 1' "chroot = \"$JAIL\"")"
fi
run_pooled -t -c "$POOLED_CONF"
assert_eq "the chrooted pools: -t exits 0" 0 "$RUN_STATUS"
start_pooled || bail_out "pooled did not start the chrooted pools"
NGINX_EXTRA="root $JAIL;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
fastcgi_param DOCUMENT_ROOT \$document_root;" \
    start_nginx "/cgi-bin/=127.0.0.1:$JCGI_PORT" "/=127.0.0.1:$MOD_PORT" ||
    bail_out "nginx did not start"

w=$(pool_workers jmod | head -n 1)
assert_eq "the module pool's worker is in the chroot" "$JAIL" \
    "$(readlink "/proc/$w/root")"
http_get /
assert_status "a chrooted module pool: 200" 200
assert_eq "a chrooted module pool: the module's answer" "Hello, world" \
    "$HTTP_BODY"

if ! mountpoint -q "$JAIL/proc"; then
	:
elif [ "$have_static" = 1 ]; then
	w=$(pool_workers jcgi | head -n 1)
	assert_eq "the CGI pool's worker is in the chroot" "$JAIL" \
	    "$(readlink "/proc/$w/root")"
	http_get /cgi-bin/where.cgi
	assert_status "a chrooted static CGI program: 200" 200
	assert_line "nginx's SCRIPT_FILENAME, as seen inside" "$HTTP_BODY" \
	    "SCRIPT_FILENAME=/cgi-bin/where.cgi"
	assert_line "DOCUMENT_ROOT, as seen inside" "$HTTP_BODY" \
	    "DOCUMENT_ROOT=/"
	assert_line "it runs in its directory in the chroot" "$HTTP_BODY" \
	    "cwd=/cgi-bin"
	assert_line "it runs as nobody" "$HTTP_BODY" "uid=$NOBODY_UID"
	assert_line "the host's files are out of its reach" "$HTTP_BODY" \
	    "/etc/passwd: absent"
	http_get /cgi-bin/out.cgi
	assert_status "a link out of cgi_root, inside the chroot: 403" 403
else
	skip "a chrooted static CGI program" "cc -static failed"
fi
stop_nginx
stop_pooled

done_testing
