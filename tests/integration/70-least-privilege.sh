#!/usr/bin/env bash
# 70-least-privilege: started as root, nothing that runs user code stays
# root.  A pool without user, or with group root, refuses to start (at -t
# and at start) unless it says allow_root; workers and CGI programs run
# with the pool's uid, gid and supplementary groups, no capabilities and
# no_new_privs; a CGI program cannot signal, ptrace or read the master or
# another pool's workers, nor read a 0600 config or the 0640 log; started
# unprivileged, a pool cannot name another user; a module or cgi_root the
# pool's user may write is warned about; after USR1 a worker logs to the
# new file the master reopened for it.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_all "needs root: the point is what root gives up"
fi

RUN_TIMEOUT=10
CGI=$T/cgi
mkdir -p "$CGI"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

# status_field PID FIELD: a line's value from /proc/PID/status.
status_field()
{
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' ' |
	    sed 's/ $//'
}

free_port FCGI_PORT || bail_out "no free port"
uid1=$(id -u "$POOL_USER")
uid2=$(id -u "$POOL_USER2")
gid2=$(id -g "$POOL_USER2")
sup=$(getent group "$POOL_GROUP_EXTRA" | cut -d: -f3)
[ -n "$sup" ] || bail_out "no group $POOL_GROUP_EXTRA"

# --- a pool without user, as root --------------------------------------

POOLED_USER= write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello)"
line=$(grep -n '^pool a' "$POOLED_CONF" | cut -d: -f1)
run_pooled -t -c "$POOLED_CONF"
assert_eq "no user under root: -t exits 1" 1 "$RUN_STATUS"
assert_contains "no user under root: -t names file, line, reason" \
    "$RUN_STDERR" "$POOLED_CONF:$line: pool \"a\": no user set and pooled runs as root"
run_pooled -F -c "$POOLED_CONF"
assert_eq "no user under root: start exits 1" 1 "$RUN_STATUS"
assert_contains "no user under root: start says why" "$RUN_STDERR" \
    "pool \"a\": no user set and pooled runs as root"
assert_not_contains "no user under root: no worker started" "$RUN_STDERR" \
    "started worker"

POOLED_USER= write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello \
    'user = "root"')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "user root without allow_root: -t exits 1" 1 "$RUN_STATUS"
assert_contains "user root without allow_root: says so" "$RUN_STDERR" \
    "user is root"

# Group root reads what root's group may (a 0640 pooled.conf, the log).
write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello \
    'group = "root"')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "group root without allow_root: -t exits 1" 1 "$RUN_STATUS"
assert_contains "group root without allow_root: says so" "$RUN_STDERR" \
    "would run with group root (gid 0)"
write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello \
    'group = "0"' 'allow_root = yes')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "group root with allow_root: -t exits 0" 0 "$RUN_STATUS"
assert_contains "group root with allow_root: -t warns" "$RUN_STDERR" \
    "runs with group root (allow_root)"

POOLED_USER= write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello \
    'allow_root = yes' 'processes = 1')"
run_pooled -t -c "$POOLED_CONF"
assert_eq "allow_root: -t exits 0" 0 "$RUN_STATUS"
assert_contains "allow_root: -t warns" "$RUN_STDERR" \
    "pool \"a\": runs as root (allow_root)"
start_pooled || bail_out "pooled did not start with allow_root"
assert_log "allow_root: the start warns too" 'pool "a": runs as root \(allow_root\)'
w=$(pool_workers a | head -n 1)
assert_eq "allow_root: the worker is root, as asked" 0 \
    "$(status_field "$w" Uid | cut -d' ' -f1)"
stop_pooled

# --- two pools, two users ----------------------------------------------

cgi id.sh 'printf "Content-Type: text/plain\n\n"; id -u; id -g; id -G
grep -E "^(NoNewPrivs|CapEff|CapPrm):" /proc/self/status'
# try.sh: what a hostile program would try, one result a line.
cgi try.sh 'printf "Content-Type: text/plain\n\n"
m=$(printf "%s" "$QUERY_STRING" | cut -d, -f1)
o=$(printf "%s" "$QUERY_STRING" | cut -d, -f2)
kill -0 "$m" 2>/dev/null && echo "signal master: yes" || echo "signal master: no"
kill -TERM "$m" 2>/dev/null && echo "TERM master: yes" || echo "TERM master: no"
kill -0 "$o" 2>/dev/null && echo "signal other pool: yes" || echo "signal other pool: no"
head -c 1 /proc/"$m"/environ >/dev/null 2>&1 && echo "master environ: yes" || echo "master environ: no"
dd if=/proc/"$m"/mem bs=1 count=1 skip=4194304 >/dev/null 2>&1 && echo "master mem: yes" || echo "master mem: no"
cat '"$T"'/pooled.conf >/dev/null 2>&1 && echo "config: yes" || echo "config: no"
cat '"$T"'/logs/pooled.log >/dev/null 2>&1 && echo "log: yes" || echo "log: no"
echo "to the log, after rotation" >&2'

mkdir -m 0755 "$T/logs"
# A daemon: with -F pooled logs to stderr, not to error_log.
POOLED_PID_FILE=$T/pooled.pid POOLED_ERROR_LOG=$T/logs/pooled.log \
    write_pool_conf \
    "$(pool_block a "127.0.0.1:$FCGI_PORT" hello 'processes = 1')" \
    "$(cgi_pool_block b "$T/b.sock" "$CGI" 'processes = 1' \
    "user = \"$POOL_USER2\"" 'env = {"PATH=/usr/bin:/bin"}')"
chmod 0600 "$POOLED_CONF"
start_pooled_daemon || bail_out "pooled did not start two pools"
wait_for 10 workers_running 2 || fail "two workers did not start"
wa=$(pool_workers a | head -n 1)
wb=$(pool_workers b | head -n 1)
assert_eq "pool a's worker runs as $POOL_USER" \
    "$uid1 $uid1 $uid1 $uid1" "$(status_field "$wa" Uid)"
assert_eq "pool b's worker runs as $POOL_USER2" \
    "$uid2 $uid2 $uid2 $uid2" "$(status_field "$wb" Uid)"
assert_eq "pool b's worker has its group" \
    "$gid2 $gid2 $gid2 $gid2" "$(status_field "$wb" Gid)"
assert_contains "pool b's worker has its supplementary group" \
    " $(status_field "$wb" Groups) " " $sup "
assert_eq "ps names pool b's worker's user" "$POOL_USER2" \
    "$(ps -o user= -p "$wb" | tr -d ' ')"
assert_eq "workers have no capabilities" 0000000000000000 \
    "$(status_field "$wa" CapEff)"
assert_eq "workers have no_new_privs" 1 "$(status_field "$wa" NoNewPrivs)"
assert_eq "the master is not dumpable: its /proc files are root's" \
    "root 600" "$(stat -c '%U %a' "/proc/$POOLED_PID/mem")"
assert_eq "the log pooled created is 0640" 640 \
    "$(stat -c %a "$T/logs/pooled.log")"

NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/cgi/=unix:$T/b.sock" "/=127.0.0.1:$FCGI_PORT" ||
    bail_out "nginx did not start"
assert_eq "nginx's workers run as $WEB_USER" "$WEB_USER" \
    "$(ps -o user= --ppid "$NGINX_PID" | head -n 1 | tr -d ' ')"

http_get /
assert_status "pool a serves as $POOL_USER" 200

http_get /cgi/id.sh
assert_status "a CGI program answers" 200
assert_eq "a CGI program's uid, gid and groups are the pool's" \
    "$uid2 $gid2 $(id -G "$POOL_USER2" | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
    "$(printf '%s\n' "$HTTP_BODY" | sed -n '1,2p' | tr '\n' ' ')$(printf '%s\n' "$HTTP_BODY" | sed -n 3p | tr ' ' '\n' | sort -n | tr '\n' ' ')"
assert_line "a CGI program has no_new_privs" "$HTTP_BODY" "NoNewPrivs:	1"
assert_line "a CGI program has no capabilities" "$HTTP_BODY" \
    "CapEff:	0000000000000000"

# Rotate the log: the worker cannot reopen root's file itself.
mv "$T/logs/pooled.log" "$T/logs/pooled.log.1"
signal_pooled USR1
wait_for 5 test -s "$T/logs/pooled.log" ||
    fail "the master did not reopen the log"
http_get "/cgi/try.sh?$POOLED_PID,$wa"
assert_status "the hostile program runs" 200
assert_line "a CGI program cannot signal the master" "$HTTP_BODY" \
    "signal master: no"
assert_line "a CGI program cannot TERM the master" "$HTTP_BODY" \
    "TERM master: no"
assert_line "a CGI program cannot signal another pool's worker" \
    "$HTTP_BODY" "signal other pool: no"
assert_line "a CGI program cannot read the master's environment" \
    "$HTTP_BODY" "master environ: no"
assert_line "a CGI program cannot read the master's memory" "$HTTP_BODY" \
    "master mem: no"
assert_line "a CGI program cannot read the 0600 config" "$HTTP_BODY" \
    "config: no"
assert_line "a CGI program cannot read the log" "$HTTP_BODY" "log: no"
assert_true "the master survived" pid_alive "$POOLED_PID"
assert_true "after USR1 the worker logs to the new file" \
    wait_for 5 grep -q "to the log, after rotation" "$T/logs/pooled.log"
assert_true "... not to the rotated one" \
    sh -c "! grep -q 'to the log, after rotation' '$T/logs/pooled.log.1'"
stop_nginx
stop_pooled

# --- what the pool's user can write ------------------------------------

mkdir -p "$T/mods" "$CGI/uploads"
cp "$(module_path hello)" "$T/mods/hello.so"
chown "$POOL_USER" "$T/mods/hello.so"
chown "$POOL_USER2" "$CGI/uploads"
write_pool_conf \
    "$(pool_block a "127.0.0.1:$FCGI_PORT" "$T/mods/hello.so")" \
    "$(cgi_pool_block b "$T/b.sock" "$CGI" "user = \"$POOL_USER2\"")"
run_pooled -t -c "$POOLED_CONF"
assert_eq "writable module and cgi_root: -t still passes" 0 "$RUN_STATUS"
assert_contains "a module the pool's user can write is warned about" \
    "$RUN_STDERR" "module $T/mods/hello.so is writable by the pool's user"
assert_contains "a directory in cgi_root the pool's user can write too" \
    "$RUN_STDERR" "cgi_root: $CGI/uploads is writable by the pool's user"
chown root "$T/mods/hello.so" "$CGI/uploads"
run_pooled -t -c "$POOLED_CONF"
assert_not_contains "root's module and cgi_root: no warning" \
    "$RUN_STDERR" "is writable"

# --- started unprivileged ----------------------------------------------

if command -v setpriv >/dev/null 2>&1; then
	write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" hello)"
	chmod 0644 "$POOLED_CONF"
	timeout 10 setpriv --reuid="$uid2" --regid="$gid2" --clear-groups \
	    "$POOLED" -t -c "$POOLED_CONF" >"$T/unpriv.out" 2>&1
	assert_eq "unprivileged with another user: -t exits 1" 1 "$?"
	assert_contains "unprivileged with another user: says why" \
	    "$(cat "$T/unpriv.out")" \
	    "user \"$POOL_USER\": pooled runs as uid $uid2 and cannot switch"
	POOLED_USER= write_pool_conf "$(pool_block a "127.0.0.1:$FCGI_PORT" \
	    hello)"
	chmod 0644 "$POOLED_CONF"
	timeout 10 setpriv --reuid="$uid2" --regid="$gid2" --clear-groups \
	    "$POOLED" -t -c "$POOLED_CONF" >"$T/unpriv.out" 2>&1
	assert_eq "unprivileged without user: -t exits 0" 0 "$?"
else
	skip "unprivileged start" "no setpriv"
fi

done_testing
