#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build, and run pooled with the
# example modules and CGI programs behind nginx on http://127.0.0.1:8080/.
#
#	scripts/demo.sh		(re)start the demo
#	scripts/demo.sh stop	stop it
#
# What the demo writes is in run/: the generated pooled.conf and
# nginx.conf (from conf/demo.conf and contrib/nginx/demo.conf.in), logs
# and pid files.  DEMO_PORT (8080) and DEMO_ECHO_PORT (9001) choose the
# TCP ports.
#
# Run as root, it runs as a production setup would: the pools as the
# system user "pooled" (created if missing, as a package would), nginx's
# workers as Debian's www-data, the sockets 0660 owned by www-data.  The
# sockets, the modules and the CGI programs then live in /run/pooled-demo
# (root's, 0755): a clone under /root is out of those users' reach.  Run
# as anyone else, everything runs as that user from run/.
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/deps.sh

TOP=$PWD
RUN=$TOP/run
# What the pools' and nginx's users must reach (see above).
SHARED=$RUN
POOL_USER=pooled
WEB_USER=www-data
if [ "$(id -u)" -eq 0 ]; then
	SHARED=/run/pooled-demo
fi
PORT=${DEMO_PORT:-8080}
ECHOPORT=${DEMO_ECHO_PORT:-9001}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# stop_pidfile NAME FILE: TERM the pid in FILE, KILL it after 10 s.
stop_pidfile()
{
	local name=$1 file=$2 pid _

	[ -s "$file" ] || return 0
	pid=$(cat "$file")
	if ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$file"
		return 0
	fi
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "demo: $name ($pid) still runs after 10 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$file"
	echo "demo: stopped $name ($pid)"
}

demo_stop()
{
	stop_pidfile nginx "$RUN/nginx.pid"
	stop_pidfile pooled "$RUN/pooled.pid"
	if [ "$SHARED" != "$RUN" ]; then
		rm -rf "$SHARED"
	fi
}

port_busy()
{
	[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# wait_until SECONDS COMMAND...: retry every 0.1 s, at most SECONDS.
wait_until()
{
	local tries=$(($1 * 10))

	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

pooled_up()
{
	[ -S "$SHARED/hello.sock" ] && [ -S "$SHARED/sleep.sock" ] &&
	    port_busy "$ECHOPORT"
}

nginx_up()
{
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"
}

# Replace the @NAME@ markers of a template; not run as root, drop the
# lines that name users (everything runs as the caller).
fill()
{
	local drop='/@POOLUSER@\|@WEBUSER@/d'

	if [ "$SHARED" != "$RUN" ]; then
		drop=
	fi
	sed -e "$drop" -e "s|@RUNDIR@|$RUN|g" -e "s|@SHAREDIR@|$SHARED|g" \
	    -e "s|@POOLUSER@|$POOL_USER|g" -e "s|@WEBUSER@|$WEB_USER|g" \
	    -e "s|@PORT@|$PORT|g" -e "s|@ECHOPORT@|$ECHOPORT|g" "$1"
}

# Root's setup: the pools' user, and what it and www-data must reach,
# copied out of the clone: root's, readable, not writable by them.
share()
{
	if ! id -u "$POOL_USER" >/dev/null 2>&1; then
		echo "demo: creating the system user $POOL_USER"
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    "$POOL_USER"
	fi
	rm -rf "$SHARED"
	install -d -m 0755 "$SHARED" "$SHARED/modules" "$SHARED/www" \
	    "$SHARED/nginx-tmp"
	install -m 0644 "$POOLED_BUILD_DIR"/contrib/modules/*.so \
	    "$SHARED/modules/"
	cp -R contrib/cgi-bin "$SHARED/www/"
	chmod -R go-w "$SHARED/www"
}

demo_start()
{
	local m p

	deps_install
	build_pooled
	demo_stop

	for p in "$PORT" "$ECHOPORT"; do
		if port_busy "$p"; then
			echo "demo: port $p is in use; choose others with" \
			    "DEMO_PORT=... DEMO_ECHO_PORT=..." >&2
			exit 1
		fi
	done

	mkdir -p "$RUN"
	if [ "$SHARED" != "$RUN" ]; then
		share
	else
		mkdir -p "$RUN/modules" "$RUN/www" "$RUN/nginx-tmp"
		cp "$POOLED_BUILD_DIR"/contrib/modules/*.so "$RUN/modules/"
		rm -rf "$RUN/www/cgi-bin"
		cp -R contrib/cgi-bin "$RUN/www/"
	fi
	fill conf/demo.conf >"$RUN/pooled.conf"
	fill contrib/nginx/demo.conf.in >"$RUN/nginx.conf"
	# Debian's lighter nginx flavours may lack some modules.
	for m in scgi uwsgi; do
		if "$NGINX" -V 2>&1 | grep -q -e "--without-http_${m}_module"; then
			sed -i "/${m}_temp_path/d" "$RUN/nginx.conf"
		fi
	done

	"$POOLED_BUILD_DIR/src/pooled" -t -c "$RUN/pooled.conf"
	# pooled runs in the foreground (-F) in its own session, so that it
	# outlives this script and a ^C in this terminal.
	setsid "$POOLED_BUILD_DIR/src/pooled" -F -c "$RUN/pooled.conf" \
	    </dev/null >>"$RUN/pooled.log" 2>&1 &
	echo $! >"$RUN/pooled.pid"
	if ! wait_until 10 pooled_up; then
		echo "demo: pooled did not start; see $RUN/pooled.log:" >&2
		tail -n 20 "$RUN/pooled.log" >&2
		demo_stop
		exit 1
	fi

	if ! "$NGINX" -p "$RUN/" -c "$RUN/nginx.conf" \
	    -e "$RUN/nginx-error.log" || ! wait_until 10 nginx_up; then
		echo "demo: nginx did not start; see $RUN/nginx-error.log:" >&2
		tail -n 20 "$RUN/nginx-error.log" >&2
		demo_stop
		exit 1
	fi

	cat <<EOF

pooled demo running on http://127.0.0.1:$PORT/

  curl http://127.0.0.1:$PORT/hello
  curl 'http://127.0.0.1:$PORT/echo?a=1' -d 'some body'
  curl --data-binary @conf/demo.conf 'http://127.0.0.1:$PORT/echo?raw'
  curl 'http://127.0.0.1:$PORT/sleep?ms=500'
  curl 'http://127.0.0.1:$PORT/cgi-bin/hello.cgi/a/b?x=1' -d 'a body'
  curl 'http://127.0.0.1:$PORT/sleep/status?full'
  $POOLED_BUILD_DIR/src/pooled -s -c run/pooled.conf

logs:  $RUN/pooled.log, $RUN/nginx-error.log
stop:  scripts/demo.sh stop
EOF
}

case ${1:-start} in
start)
	demo_start ;;
stop)
	demo_stop ;;
*)
	echo "usage: scripts/demo.sh [start | stop]" >&2
	exit 64 ;;
esac
