#!/usr/bin/env bash
# 19-socket-ownership: who may reach a pool's unix socket, and what pooled,
# started as root, does to the files around it.  (a) listen_owner =
# www-data with listen_mode 0660 gives a www-data 0660 socket, and a pool
# with neither owner nor group gets a warning; (b) www-data connects and
# is answered, nobody gets EACCES; (c) the symlink swap: with the socket
# moved away and a symlink to a root 0600 file in its place, a HUP that
# changes listen_mode leaves the file alone and says why, a stop does not
# remove the link, and with the socket back a reload changes its mode and
# group; (d) a socket directory others may write to, owned by another
# user or below a directory users other than root may change, is refused
# at start and by -t, a sticky or the pool user's one is not; (e) a pid_file or error_log that is a symlink, and a pid_file that
# is a FIFO, another user's file or a hard link, are refused and the files
# behind them untouched; with the log's directory writable by the pool's
# user, a USR1 refuses a log that user made a file of theirs or a FIFO,
# and the master does not hang on it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (socket owners, other users)"
# Each pool here says who owns its socket, or that no one does.
POOLED_LISTEN_OWNER=
for u in www-data nobody; do
	getent passwd "$u" >/dev/null || skip_all "no user $u"
done
command -v setpriv >/dev/null 2>&1 || skip_all "no setpriv"
# A python3 that other users can run (not one under /root).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# as_user USER COMMAND...: run COMMAND as USER, with USER's group only.
as_user()
{
	local user=$1

	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$@"
}
as_user www-data "$PY" -c pass 2>/dev/null ||
    skip_all "$PY cannot run as www-data"

# fcgi_as USER SOCKET: as USER, send one FastCGI GET to SOCKET and print
# the answer's body, or "connect: ERRNO" when the connection is refused.
# USER imports fcgi_records.py from a copy it can read.
mkdir -m 0755 "$T/py"
install -m 0644 "$LIB_DIR/fcgi_records.py" "$T/py/"
FCGI_CLIENT='import errno, socket, sys
from fcgi_records import opening, pair, record, stdout_of, STDIN
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect: " + errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(0)
s.sendall(opening(pair(b"REQUEST_METHOD", b"GET") +
                  pair(b"SCRIPT_NAME", b"/") + pair(b"REQUEST_URI", b"/")) +
          record(STDIN, b""))
a = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    a += d
print(stdout_of(a).split(b"\r\n\r\n", 1)[-1].decode(errors="replace"))'
fcgi_as()
{
	PYTHONPATH=$T/py as_user "$1" timeout 10 "$PY" -c "$FCGI_CLIENT" "$2" \
	    2>&1
}

HELLO="Hello, world"
# Other users reach sockets below $T through it, never write to it.
chmod 0711 "$T"
RUN=$T/run
mkdir -m 0755 "$RUN"
SECRET=$T/secret
printf 'root only\n' >"$SECRET"
chmod 0600 "$SECRET"

# (a) owner and mode at start ----------------------------------------------
WEB_LINES=('processes = 1' 'threads = 2' 'listen_owner = "www-data"'
    'listen_mode = "0660"')
write_pool_conf \
    "$(pool_block web "$RUN/web.sock" hello "${WEB_LINES[@]}")" \
    "$(pool_block plain "$RUN/plain.sock" hello 'processes = 1' \
	'threads = 2')"
start_pooled || bail_out "pooled did not start"
assert_eq "listen_owner www-data, 0660: the socket's owner, group, mode" \
    "www-data:root 660" "$(stat -c '%U:%G %a' "$RUN/web.sock")"
assert_eq "no listen_owner: root's socket, mode 0660" "root:root 660" \
    "$(stat -c '%U:%G %a' "$RUN/plain.sock")"
assert_log "no owner or group, no access for others: warned" \
    "warning .*pool plain: listen $RUN/plain\.sock: the socket is root's with mode 0660: a web server running as another user \(such as www-data\) cannot connect; set listen_owner or listen_group"
assert_no_log "listen_owner set: no such warning" \
    "pool web: .*cannot connect"

# (b) who can connect --------------------------------------------------------
assert_eq "www-data connects to its socket and is answered" "$HELLO" \
    "$(fcgi_as www-data "$RUN/web.sock")"
assert_eq "nobody cannot connect to a www-data 0660 socket" \
    "connect: EACCES" "$(fcgi_as nobody "$RUN/web.sock")"
assert_eq "www-data cannot connect to root's 0660 socket" \
    "connect: EACCES" "$(fcgi_as www-data "$RUN/plain.sock")"

# (c) the symlink swap on HUP --------------------------------------------
mv "$RUN/web.sock" "$RUN/web.moved"
ln -s "$SECRET" "$RUN/web.sock"
WEB_LINES=('processes = 1' 'threads = 2' 'listen_owner = "www-data"'
    'listen_group = "www-data"' 'listen_mode = "0666"')
write_pool_conf \
    "$(pool_block web "$RUN/web.sock" hello "${WEB_LINES[@]}")" \
    "$(pool_block plain "$RUN/plain.sock" hello 'processes = 1' \
	'threads = 2')"
log_mark
signal_pooled HUP
assert_log "symlink swap: the reload is done" "master: reload done" 15
assert_log "symlink swap: the refusal is logged, naming what is there" \
    "pool web: listen $RUN/web\.sock: the path is a symbolic link to $SECRET \(owner 0, group 0, mode 0777\), not the socket pooled bound; not changing its owner or mode"
assert_eq "symlink swap: the target's owner and mode did not change" \
    "root:root 600" "$(stat -c '%U:%G %a' "$SECRET")"
assert_eq "symlink swap: the target's content did not change" \
    "root only" "$(cat "$SECRET")"
assert_true "symlink swap: the symlink is still there" test -L "$RUN/web.sock"
assert_eq "symlink swap: the real socket kept its old settings" \
    "www-data:root 660" "$(stat -c '%U:%G %a' "$RUN/web.moved")"

# With the socket back, the same change reaches it.
rm "$RUN/web.sock"
mv "$RUN/web.moved" "$RUN/web.sock"
log_mark
signal_pooled HUP
assert_log "socket back: the reload is done" "master: reload done" 15
assert_eq "socket back: the reload set its group and mode" \
    "www-data:www-data 666" "$(stat -c '%U:%G %a' "$RUN/web.sock")"
assert_no_log "socket back: no refusal" "not the socket pooled bound"
assert_eq "socket back: now nobody connects too" "$HELLO" \
    "$(fcgi_as nobody "$RUN/web.sock")"

# A stop does not remove a symlink found at the socket's path.
mv "$RUN/web.sock" "$RUN/web.moved"
ln -s "$SECRET" "$RUN/web.sock"
log_mark
stop_pooled
assert_eq "stop: pooled exits 0" 0 "$POOLED_STATUS"
assert_true "stop: the symlink at the path is not removed" \
    test -L "$RUN/web.sock"
assert_true "stop: its target neither" test -f "$SECRET"
assert_log "stop: the refusal is logged" \
    "pool web: listen $RUN/web\.sock: the path is a symbolic link to $SECRET .*not removing it"
assert_true "stop: the other pool's socket is removed" \
    test ! -e "$RUN/plain.sock"
rm -f "$RUN/web.sock" "$RUN/web.moved"

# (d) the socket directory ---------------------------------------------------
# refused DIR MODE OWNER NAME REASON: a pool in DIR (chmod MODE, chown
# OWNER) is refused by -t and at start, with REASON in the log.
refused()
{
	local dir=$1 name=$4 why=$5 conf=$T/dir.conf

	mkdir -p "$dir"
	chmod "$2" "$dir"
	chown "$3" "$dir"
	POOLED_CONF=$conf write_pool_conf \
	    "$(pool_block d "$dir/d.sock" hello 'processes = 1' \
		'threads = 2')"
	run_pooled -t -c "$conf"
	assert_eq "$name: -t exits 1" 1 "$RUN_STATUS"
	assert_contains "$name: -t says why" "$RUN_STDERR" \
	    "pool d: listen $dir/d.sock: refusing the socket directory $dir ($(stat -c 'owner %u, group %g' "$dir"), mode $(stat -c %04a "$dir")): $why"
	run_pooled -F -c "$conf"
	assert_eq "$name: start exits 1" 1 "$RUN_STATUS"
	assert_contains "$name: start says why" "$RUN_STDERR" \
	    "refusing the socket directory $dir "
	assert_true "$name: no socket was made" test ! -e "$dir/d.sock"
}
refused "$T/ww" 0777 root "world-writable directory" \
    "its group or others may write to it, and it has no sticky bit"
refused "$T/gw" 0775 root "group-writable directory" \
    "its group or others may write to it, and it has no sticky bit"
refused "$T/other" 0755 nobody "directory of another user" \
    "its owner is neither root nor the pool's user"

# A root directory below one of the pool's user: that user could move it
# away and put a symlink to any directory in its place, where root would
# then bind, chmod and remove sockets (and replace a stale one).
mkdir -m 0755 "$T/pa" "$T/pa/run" "$T/victim"
chown "$POOL_USER" "$T/pa"
POOLED_CONF=$T/dir.conf write_pool_conf \
    "$(pool_block d "$T/pa/run/d.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -t -c "$T/dir.conf"
assert_eq "below the pool user's directory: -t exits 1" 1 "$RUN_STATUS"
assert_contains "below the pool user's directory: -t says why" \
    "$RUN_STDERR" "refusing the socket directory $T/pa/run: $T/pa above it (owner $(id -u "$POOL_USER"), group 0, mode 0755) may be changed by users other than root"
as_user "$POOL_USER" sh -c "mv $T/pa/run $T/pa/old && ln -s $T/victim $T/pa/run"
run_pooled -F -c "$T/dir.conf"
assert_eq "... swapped for a symlink: start exits 1" 1 "$RUN_STATUS"
assert_true "... swapped for a symlink: no socket in the directory it names" \
    test ! -e "$T/victim/d.sock"

# accepted DIR MODE OWNER NAME [LINE...]: -t passes for a pool in DIR.
accepted()
{
	local dir=$1 name=$4 conf=$T/dir.conf

	mkdir -p "$dir"
	chmod "$2" "$dir"
	chown "$3" "$dir"
	shift 4
	POOLED_CONF=$conf write_pool_conf \
	    "$(pool_block d "$dir/d.sock" hello 'processes = 1' \
		'threads = 2' "$@")"
	run_pooled -t -c "$conf"
	assert_eq "$name: -t exits 0" 0 "$RUN_STATUS"
	assert_not_contains "$name: -t refuses nothing" "$RUN_STDERR" \
	    "refusing the socket directory"
}
accepted "$T/sticky" 1777 root "sticky world-writable directory"
accepted "$T/mine" 0755 www-data "the pool user's directory" \
    'user = "www-data"'

# A refused directory on reload: the old configuration serves on.
mkdir -m 0755 "$T/rl"
write_pool_conf \
    "$(pool_block rl "$T/rl/rl.sock" hello 'processes = 1' \
	'threads = 2' 'listen_owner = "www-data"')"
start_pooled || bail_out "pooled did not start for the reload check"
chmod 0777 "$T/rl"
log_mark
signal_pooled HUP
assert_log "reload, directory now world-writable: refused" \
    "pool rl: listen $T/rl/rl\.sock: refusing the socket directory $T/rl .*mode 0777"
assert_log "reload, directory now world-writable: old config serves" \
    "reload: cannot listen .*still serving the old configuration"
assert_eq "reload refused: still answering" "$HELLO" \
    "$(fcgi_as www-data "$T/rl/rl.sock")"
chmod 0755 "$T/rl"
stop_pooled
assert_eq "reload refused: pooled exits 0 on TERM" 0 "$POOLED_STATUS"

# (e) pid file and error log -------------------------------------------------
printf 'keep\n' >"$T/pid.target"
chmod 0600 "$T/pid.target"
ln -s "$T/pid.target" "$T/pid.link"
POOLED_PID_FILE=$T/pid.link write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -F -c "$POOLED_CONF"
assert_eq "pid_file symlink: pooled exits 1" 1 "$RUN_STATUS"
assert_contains "pid_file symlink: says why" "$RUN_STDERR" \
    "pid_file $T/pid.link: is a symbolic link; pooled does not write through one"
assert_eq "pid_file symlink: its target is untouched" "keep" \
    "$(cat "$T/pid.target")"
assert_true "pid_file symlink: the socket is removed again" \
    test ! -e "$RUN/p.sock"

mkfifo "$T/pid.fifo"
POOLED_PID_FILE=$T/pid.fifo write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
RUN_TIMEOUT=10 run_pooled -F -c "$POOLED_CONF"
assert_eq "pid_file FIFO: pooled exits 1 (and does not wait)" 1 \
    "$RUN_STATUS"
assert_contains "pid_file FIFO: says why" "$RUN_STDERR" \
    "pid_file $T/pid.fifo: is not a regular file; pooled does not write into it"

printf 'keep\n' >"$T/log.target"
chmod 0600 "$T/log.target"
ln -s "$T/log.target" "$T/log.link"
POOLED_ERROR_LOG=$T/log.link POOLED_PID_FILE=$T/p.pid write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -c "$POOLED_CONF"
# Should it have started after all, the exit trap stops it.
[ -s "$T/p.pid" ] && track_pid "$(cat "$T/p.pid")"
assert_eq "error_log symlink: the daemon does not start" 1 "$RUN_STATUS"
assert_contains "error_log symlink: says why" "$RUN_STDERR" \
    "log_open: $T/log.link: is a symbolic link; pooled does not log through one"
assert_eq "error_log symlink: its target is untouched" "keep" \
    "$(cat "$T/log.target")"
assert_true "error_log symlink: no pid file" test ! -e "$T/p.pid"

# A pid file someone else made (they could write another pid in it for
# root to kill), or with a second link (root would truncate that file).
mkdir -m 0755 "$T/theirs"
chown "$POOL_USER" "$T/theirs"
su -s /bin/sh "$POOL_USER" -c "touch $T/theirs/p.pid" ||
    bail_out "cannot create a file as $POOL_USER in $T/theirs"
POOLED_PID_FILE=$T/theirs/p.pid write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -F -c "$POOLED_CONF"
assert_eq "pid_file of another user: pooled exits 1" 1 "$RUN_STATUS"
assert_contains "pid_file of another user: says why" "$RUN_STDERR" \
    "pid_file $T/theirs/p.pid: belongs to another user"
assert_eq "pid_file of another user: left empty" "" \
    "$(cat "$T/theirs/p.pid")"
ln "$T/pid.target" "$T/pid.hard"
POOLED_PID_FILE=$T/pid.hard write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -F -c "$POOLED_CONF"
assert_eq "pid_file hard link: pooled exits 1" 1 "$RUN_STATUS"
assert_contains "pid_file hard link: says why" "$RUN_STDERR" \
    "pid_file $T/pid.hard: has more than one link"
assert_eq "pid_file hard link: the other name's file is untouched" "keep" \
    "$(cat "$T/pid.target")"

# The log's directory writable by the pool's user (a mistake, but one
# made): on USR1 the master reopens the path, which that user may have
# made a file of theirs (to read every pool's log) or a FIFO (the open
# would wait for a reader, and the master with it).
mkdir -m 0755 "$T/ulog"
chown "$POOL_USER" "$T/ulog"
POOLED_ERROR_LOG=$T/ulog/pooled.log POOLED_PID_FILE=$T/u.pid \
    write_pool_conf \
    "$(pool_block p "$RUN/p.sock" hello 'processes = 1' 'threads = 2')"
run_pooled -c "$POOLED_CONF"
assert_eq "log dir of the pool's user: the daemon starts" 0 "$RUN_STATUS"
master=$(cat "$T/u.pid" 2>/dev/null)
[ -n "$master" ] || bail_out "no pid file from the daemon"
track_pid "$master"
su -s /bin/sh "$POOL_USER" -c "cd $T/ulog && mv pooled.log old.log &&
    touch pooled.log && chmod 0666 pooled.log"
kill -USR1 "$master"
if wait_for 10 file_has "$T/ulog/old.log" \
    "log_reopen: $T/ulog/pooled.log: belongs to uid $(id -u "$POOL_USER"), not to pooled's user"
then
	pass "USR1, the log now the pool user's file: refused, said"
else
	fail "USR1, the log now the pool user's file: refused, said" \
	    "$(tail -n 5 "$T/ulog/old.log")"
fi
assert_eq "USR1, the log now the pool user's file: nothing written to it" \
    "" "$(cat "$T/ulog/pooled.log")"
su -s /bin/sh "$POOL_USER" -c "cd $T/ulog && rm pooled.log &&
    mkfifo pooled.log"
kill -USR1 "$master"
if wait_for 10 file_has "$T/ulog/old.log" \
    "log_reopen: $T/ulog/pooled.log: No such device or address"; then
	pass "USR1, the log now a FIFO: refused at once, said"
else
	fail "USR1, the log now a FIFO: refused at once, said" \
	    "$(tail -n 5 "$T/ulog/old.log")"
fi
kill -TERM "$master"
if wait_for 10 pid_dead "$master"; then
	pass "USR1, the log now a FIFO: the master still stops on TERM"
	untrack_pid "$master"
else
	fail "USR1, the log now a FIFO: the master still stops on TERM" \
	    "wchan: $(cat "/proc/$master/wchan" 2>/dev/null)"
fi
done_testing
