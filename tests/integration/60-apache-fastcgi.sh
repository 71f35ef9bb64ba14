#!/usr/bin/env bash
# 60-apache-fastcgi: pooled behind Apache's mod_proxy_fcgi (Debian's
# apache2, started here with its own config: start_apache) instead of
# nginx, over a unix socket and over TCP.  Module pools: hello answers,
# also 50 requests 10 at a time; echo gets the request parameters
# (method, query string, URI, a request header as HTTP_*) and sends POST
# bodies of 0 bytes, 1 byte and 10 MiB back byte for byte, also a chunked
# one (no CONTENT_LENGTH); sleep answers 400 to a bad parameter.  CGI
# pools, with the SCRIPT_FILENAME start_apache's cgi routes make (the
# decoded name below the root): the environment, PATH_INFO split off at
# the file, a percent-encoded name, POST bodies through a program, a
# chunked one, Status: and Location: headers, a 20 MiB answer, a missing
# program.  Apache must log no proxy error, and with enablereuse=on one
# kept FastCGI connection serves many requests.  A lone absolute
# Location: is a 302, and a local one (which Apache cannot follow for a
# FastCGI backend) a 302 to its path.
. "$(dirname "$0")/lib.sh"

have_apache || skip_all "apache2 with mod_proxy_fcgi not installed"

CGI=$T/cgi
mkdir -p "$CGI"

# cgi NAME BODY: an executable shell CGI program.
cgi()
{
	printf '#!/bin/sh\n%s\n' "$2" >"$CGI/$1"
	chmod 755 "$CGI/$1"
}

cgi env.sh 'printf "Content-Type: text/plain\n\n"; env | sort'
cgi echo.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c "${CONTENT_LENGTH:-0}"'
cgi status.sh 'case $QUERY_STRING in
201) printf "Status: 201 Created\nContent-Type: application/json\nX-Extra: 1\n\n{}\n" ;;
*) printf "Status: 404 Not Found\nContent-Type: text/plain\n\nnope\n" ;;
esac'
cgi redirect.sh 'case $QUERY_STRING in
301) printf "Status: 301 Moved Permanently\nLocation: http://example.com/moved\nContent-Type: text/plain\n\nmoved\n" ;;
*) printf "Location: http://example.com/there?a=1\n\n" ;;
esac'
cgi local.sh 'printf "Location: /cgi/unix/env.sh?redirected=1\n\nignored body\n"'
cgi count.sh 'printf "Content-Type: text/plain\n\n"; echo "CONTENT_LENGTH=${CONTENT_LENGTH-unset}"; wc -c | tr -d " "'
cgi big.sh 'printf "Content-Type: application/octet-stream\n\n"; head -c 20971520 /dev/zero'
cgi "sp ace.sh" 'printf "Content-Type: text/plain\n\nspace in the name\n"'

free_port ECHO_PORT || bail_out "no free port"
free_port CGI_PORT || bail_out "no free port"
write_pool_conf \
    "$(pool_block hello "$T/hello.sock" hello \
    'module_options = {"greeting=Bonjour"}')" \
    "$(pool_block echo_unix "$T/echo.sock" echo)" \
    "$(pool_block echo_tcp "127.0.0.1:$ECHO_PORT" echo)" \
    "$(pool_block sleep "$T/sleep.sock" sleep)" \
    "$(cgi_pool_block cgi_unix "$T/cgi.sock" "$CGI" 'cgi_timeout = 20' \
    'env = {"PATH=/usr/bin:/bin"}')" \
    "$(cgi_pool_block cgi_tcp "127.0.0.1:$CGI_PORT" "$CGI" \
    'cgi_timeout = 20' 'env = {"PATH=/usr/bin:/bin"}')"
start_pooled || bail_out "pooled did not start"
ROUTES=("/hello=unix:$T/hello.sock"
    "fcgi:/unix/=unix:$T/echo.sock"
    "fcgi:/tcp/=tcp:127.0.0.1:$ECHO_PORT"
    "/sleep=unix:$T/sleep.sock"
    "cgi:/cgi/unix/=unix:$T/cgi.sock=$CGI"
    "cgi:/cgi/tcp/=127.0.0.1:$CGI_PORT=$CGI")
start_apache "${ROUTES[@]}" || bail_out "apache did not start"
HTTP_BASE=$APACHE_URL	# http_get and friends go to Apache

head -c 1 /dev/urandom >"$T/one"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$T/big"
: >"$T/empty"
[ "$(wc -c <"$T/big")" -eq 10485760 ] || bail_out "could not write $T/big"

# assert_same_body NAME FILE: the last answer's body is FILE's bytes.
assert_same_body()
{
	if cmp -s "$2" "$HTTP_BODY_FILE"; then
		pass "$1"
	else
		fail "$1" "sent $(wc -c <"$2") bytes," \
		    "got $(wc -c <"$HTTP_BODY_FILE")" \
		    "$(cmp "$2" "$HTTP_BODY_FILE" 2>&1)"
	fi
}

# local_redirect_done: the last answer followed local.sh's "Location:
# /cgi/unix/env.sh?redirected=1", in place or by a 302, and leaked no
# X-Accel-Redirect.
local_redirect_done()
{
	[ -z "$(http_header X-Accel-Redirect)" ] || return 1
	case $HTTP_STATUS in
	200)
		printf '%s\n' "$HTTP_BODY" |
		    grep -q -x -F QUERY_STRING=redirected=1 ;;
	302)
		[ "$(http_header Location)" = "/cgi/unix/env.sh?redirected=1" ] ;;
	*)
		return 1 ;;
	esac
}

# Modules --------------------------------------------------------------

http_get /hello
assert_status "hello: 200" 200
assert_eq "hello: Content-Type" text/plain "$(http_header Content-Type)"
assert_eq "hello: body" "Bonjour, world" "$HTTP_BODY"
assert_contains "hello: Apache answered" "$(http_header Server)" Apache

parallel_get 50 10 "/hello?n=@ID@" "$T/par"
assert_parallel_status "hello: 50 requests, 10 at a time: all 200" \
    "$T/par" 50 200
assert_parallel_bodies "hello: ... all answered" "$T/par" 50 \
    "Bonjour, world"

http_get "/sleep?ms=abc"
assert_status "a module's 400 passes through" 400

for via in unix tcp; do
	uri="/$via/params?a=1&b=two"
	http_post "$uri" "@$T/one" -H 'X-Something: abc'
	assert_status "$via: POST with params: 200" 200
	assert_line "$via: REQUEST_METHOD" "$HTTP_BODY" REQUEST_METHOD=POST
	assert_line "$via: QUERY_STRING" "$HTTP_BODY" "QUERY_STRING=a=1&b=two"
	assert_line "$via: REQUEST_URI" "$HTTP_BODY" "REQUEST_URI=$uri"
	assert_line "$via: CONTENT_LENGTH" "$HTTP_BODY" CONTENT_LENGTH=1
	assert_line "$via: X-Something header as HTTP_X_SOMETHING" \
	    "$HTTP_BODY" HTTP_X_SOMETHING=abc
	assert_line "$via: 1-byte body counted" "$HTTP_BODY" "body-bytes: 1"

	http_get "/$via/get?q=1"
	assert_status "$via: GET: 200" 200
	assert_line "$via: GET: REQUEST_METHOD" "$HTTP_BODY" REQUEST_METHOD=GET
	assert_line "$via: GET: no body" "$HTTP_BODY" "body-bytes: 0"

	for size in empty one big; do
		case $size in
		empty)	what="0 bytes" ;;
		one)	what="1 byte" ;;
		big)	what="10 MiB" ;;
		esac
		http_post "/$via/back?raw" "@$T/$size"
		assert_status "$via: raw $what: 200" 200
		assert_eq "$via: raw $what: Content-Type" \
		    application/octet-stream "$(http_header Content-Type)"
		assert_same_body "$via: raw $what: the body comes back" \
		    "$T/$size"
	done
	# A chunked request body arrives with no CONTENT_LENGTH: the
	# module reads to the end of FCGI_STDIN.
	http_post "/$via/back?raw" "@$T/big" -H 'Transfer-Encoding: chunked'
	assert_status "$via: raw chunked 10 MiB: 200" 200
	assert_same_body "$via: raw chunked 10 MiB: the body comes back" \
	    "$T/big"
done

# CGI --------------------------------------------------------------------

for via in unix tcp; do
	http_get "/cgi/$via/env.sh?a=1&b=%C3%A9" -H 'X-Something: abc'
	assert_status "cgi $via: env: 200" 200
	assert_eq "cgi $via: env: Content-Type" text/plain \
	    "$(http_header Content-Type)"
	assert_line "cgi $via: REQUEST_METHOD" "$HTTP_BODY" REQUEST_METHOD=GET
	assert_line "cgi $via: QUERY_STRING" "$HTTP_BODY" \
	    'QUERY_STRING=a=1&b=%C3%A9'
	assert_line "cgi $via: HTTP_X_SOMETHING" "$HTTP_BODY" \
	    HTTP_X_SOMETHING=abc
	assert_line "cgi $via: SCRIPT_NAME" "$HTTP_BODY" \
	    "SCRIPT_NAME=/cgi/$via/env.sh"
	assert_line "cgi $via: SCRIPT_FILENAME is the real path" \
	    "$HTTP_BODY" "SCRIPT_FILENAME=$(realpath "$CGI/env.sh")"
	assert_line "cgi $via: the pool's PATH, not Apache's" "$HTTP_BODY" \
	    PATH=/usr/bin:/bin
	assert_not_contains "cgi $via: no PATH_INFO without one" \
	    "$HTTP_BODY" PATH_INFO=

	# Apache sends the whole decoded path as SCRIPT_NAME and no
	# PATH_INFO; pooled splits it at the file.
	http_get "/cgi/$via/env.sh/extra/p%20q?z=1"
	assert_status "cgi $via: PATH_INFO: 200" 200
	assert_line "cgi $via: PATH_INFO split off, decoded" "$HTTP_BODY" \
	    'PATH_INFO=/extra/p q'
	assert_line "cgi $via: PATH_TRANSLATED" "$HTTP_BODY" \
	    "PATH_TRANSLATED=$T/extra/p q"
	assert_line "cgi $via: SCRIPT_NAME without PATH_INFO" "$HTTP_BODY" \
	    "SCRIPT_NAME=/cgi/$via/env.sh"
	assert_line "cgi $via: QUERY_STRING with PATH_INFO" "$HTTP_BODY" \
	    QUERY_STRING=z=1

	http_get "/cgi/$via/sp%20ace.sh"
	assert_status "cgi $via: a percent-encoded name: 200" 200
	assert_eq "cgi $via: ... runs that program" "space in the name" \
	    "$HTTP_BODY"

	for size in empty one big; do
		case $size in
		empty)	what="0 bytes" ;;
		one)	what="1 byte" ;;
		big)	what="10 MiB" ;;
		esac
		http_post "/cgi/$via/echo.sh" "@$T/$size" \
		    -H 'Content-Type: application/octet-stream'
		assert_status "cgi $via: POST $what: 200" 200
		assert_same_body "cgi $via: POST $what: the body comes back" \
		    "$T/$size"
	done

	http_get "/cgi/$via/status.sh"
	assert_status "cgi $via: Status: 404" 404
	assert_eq "cgi $via: Status: 404: Content-Type" text/plain \
	    "$(http_header Content-Type)"
	assert_eq "cgi $via: Status: 404: the program's body" nope \
	    "$HTTP_BODY"
	http_get "/cgi/$via/status.sh?201"
	assert_status "cgi $via: Status: 201" 201
	assert_eq "cgi $via: Status: 201: Content-Type" application/json \
	    "$(http_header Content-Type)"
	assert_eq "cgi $via: Status: 201: other headers pass" 1 \
	    "$(http_header X-Extra)"
	assert_eq "cgi $via: Status: 201: body" "{}" "$HTTP_BODY"

	http_get "/cgi/$via/redirect.sh?301"
	assert_status "cgi $via: Status: 301 with Location:" 301
	assert_eq "cgi $via: Status: 301: Location: passed on" \
	    http://example.com/moved "$(http_header Location)"
	http_get "/cgi/$via/redirect.sh"
	assert_eq "cgi $via: Location: alone: passed on" \
	    "http://example.com/there?a=1" "$(http_header Location)"
	# RFC 3875 6.2.3: the server answers such a client redirect with
	# 302.  nginx does by itself; mod_proxy_fcgi keeps the status it
	# is given, so pooled gives 302.
	assert_status "cgi $via: Location: alone: 302" 302
	# RFC 3875 6.2.2: "Location: /path" alone is a local redirect.
	# Apache does not know nginx's X-Accel-Redirect, so pooled answers
	# a server that is not nginx with a client redirect to the path.
	http_get "/cgi/$via/local.sh"
	assert_not_contains "cgi $via: local Location: not the program's body" \
	    "$HTTP_BODY" "ignored body"
	assert_true "cgi $via: local Location: a 302 to the path, no \
X-Accel-Redirect" local_redirect_done

	# A chunked request body: mod_proxy_fcgi streams it and sends no
	# CONTENT_LENGTH; the program reads its stdin to the end.
	http_post "/cgi/$via/count.sh" "@$T/big" \
	    -H 'Transfer-Encoding: chunked'
	assert_status "cgi $via: chunked 10 MiB POST: 200" 200
	assert_eq "cgi $via: chunked 10 MiB POST: read whole" \
	    "$(printf 'CONTENT_LENGTH=unset\n10485760')" "$HTTP_BODY"

	http_get "/cgi/$via/big.sh"
	assert_status "cgi $via: 20 MiB answer: 200" 200
	assert_eq "cgi $via: 20 MiB answer arrives whole" \
	    "$(head -c 20971520 /dev/zero | sha256sum)" \
	    "$(sha256sum <"$HTTP_BODY_FILE")"

	# pooled's own 404, not Apache's HTML page.
	log_mark
	http_get "/cgi/$via/missing.sh"
	assert_status "cgi $via: missing program: 404" 404
	assert_eq "cgi $via: missing program: pooled answered" \
	    "404 Not Found" "$HTTP_BODY"
	assert_log "cgi $via: missing program: logged" \
	    "GET /cgi/$via/missing.sh: .*answering 404"
done

# Apache found nothing wrong with what pooled sent.
assert_true "apache logged no proxy errors" \
    test -z "$(grep -E '\[(proxy[a-z_]*|core):(error|crit|alert|emerg)\]' \
    "$T/apache/error.log")"

# Kept connections ---------------------------------------------------------
# With enablereuse=on, mod_proxy_fcgi asks for FCGI_KEEP_CONN and keeps
# the connection for the next request.

# fcgi_conns ADDR: print an id (inode, port) of each established
# connection to pooled's ADDR, sorted.
fcgi_conns()
{
	case $1 in
	/*)
		ss -Hx state established 2>/dev/null |
		    awk -v p="$1" '$(NF - 3) == p { print $(NF - 2) }' ;;
	*)
		ss -Htn state established "dport = :${1##*:}" 2>/dev/null |
		    awk '{ print $(NF - 1) }' ;;
	esac | sort
}

stop_apache
APACHE_PROXY_PARAMS="enablereuse=on" start_apache "${ROUTES[@]}" ||
    bail_out "apache did not start again"
HTTP_BASE=$APACHE_URL
for via in unix tcp; do
	case $via in
	unix)	addr=$T/echo.sock ;;
	tcp)	addr=127.0.0.1:$ECHO_PORT ;;
	esac
	if ! command -v ss >/dev/null 2>&1; then
		skip "reuse $via: one connection serves 20 requests" "no ss"
		continue
	fi
	http_post "/$via/back?raw" "@$T/one"
	first=$(fcgi_conns "$addr")
	ok=0
	for _ in $(seq 1 20); do
		http_post "/$via/back?raw" "@$T/one" &&
		    [ "$HTTP_STATUS" = 200 ] &&
		    cmp -s "$T/one" "$HTTP_BODY_FILE" && ok=$((ok + 1))
	done
	assert_eq "reuse $via: 20 more requests answered" 20 "$ok"
	assert_ne "reuse $via: a connection is kept" "" "$first"
	# A request may start before the one before it gave its
	# connection back, and then opens another: a few, not 20.
	now=$(fcgi_conns "$addr")
	assert_eq "reuse $via: ... and stays open" "" \
	    "$(comm -23 <(printf '%s\n' "$first") <(printf '%s\n' "$now"))"
	assert_true "reuse $via: ... as one of at most 4 for 20 requests" \
	    test "$(count_lines "$now")" -le 4
done
http_get "/cgi/unix/env.sh?kept"
assert_status "reuse: a cgi pool: 200" 200
assert_line "reuse: a cgi pool: QUERY_STRING" "$HTTP_BODY" \
    QUERY_STRING=kept
assert_true "reuse: apache logged no proxy errors" \
    test -z "$(grep -E '\[(proxy[a-z_]*|core):(error|crit|alert|emerg)\]' \
    "$T/apache/error.log")"

stop_apache
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
