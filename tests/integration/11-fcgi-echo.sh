#!/usr/bin/env bash
# 11-fcgi-echo: the echo module through nginx over a unix socket, TCP on
# 127.0.0.1 and TCP on [::1]: the request parameters arrive (method, query
# string, URI, content length, a request header as HTTP_*, one of 6 KB),
# and POST bodies of 0 bytes, 1 byte and 10 MiB are counted in params
# mode and come back byte for byte in raw mode.
. "$(dirname "$0")/lib.sh"

# The kernel may run without IPv6, or without ::1 on lo.
have_ipv6_loopback()
{
	command -v ip >/dev/null 2>&1 &&
	    ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'
}

free_port TCP_PORT || bail_out "no free port"
VIAS="unix tcp"
blocks=("$(pool_block echo_unix "$T/echo.sock" echo)"
    "$(pool_block echo_tcp "127.0.0.1:$TCP_PORT" echo)")
routes=("/unix=unix:$T/echo.sock" "/tcp=127.0.0.1:$TCP_PORT")
if have_ipv6_loopback; then
	free_port V6_PORT || bail_out "no free port"
	VIAS="$VIAS v6"
	blocks+=("$(pool_block echo_v6 "[::1]:$V6_PORT" echo)")
	routes+=("/v6=[::1]:$V6_PORT")
else
	skip "v6: echo over [::1]" "no ::1 on lo"
fi
write_pool_conf "${blocks[@]}"
start_pooled || bail_out "pooled did not start"
start_nginx "${routes[@]}" || bail_out "nginx did not start"

head -c 1 /dev/urandom >"$T/one"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$T/big"
: >"$T/empty"
[ "$(wc -c <"$T/big")" -eq 10485760 ] || bail_out "could not write $T/big"

for via in $VIAS; do
	# Every parameter the scenario controls, with a 1-byte body.
	uri="/$via/params?a=1&b=two"
	http_post "$uri" "@$T/one" -H 'X-Test: abc'
	assert_status "$via: POST with params: status 200" 200
	assert_line "$via: REQUEST_METHOD" "$HTTP_BODY" REQUEST_METHOD=POST
	assert_line "$via: QUERY_STRING" "$HTTP_BODY" "QUERY_STRING=a=1&b=two"
	assert_line "$via: REQUEST_URI" "$HTTP_BODY" "REQUEST_URI=$uri"
	assert_line "$via: CONTENT_LENGTH" "$HTTP_BODY" CONTENT_LENGTH=1
	assert_line "$via: X-Test header as HTTP_X_TEST" "$HTTP_BODY" \
	    HTTP_X_TEST=abc
	assert_line "$via: 1-byte body counted" "$HTTP_BODY" "body-bytes: 1"

	# A header past the first 4 KiB look (a big cookie): peeked again,
	# whole, and served.
	big_value=$(head -c 6000 /dev/zero | tr '\0' 'c')
	http_get "/$via/params?big=1" -H "X-Big: $big_value"
	assert_status "$via: a 6 KB request header: status 200" 200
	assert_line "$via: ... arrives whole" "$HTTP_BODY" \
	    "HTTP_X_BIG=$big_value"

	http_get "/$via/get?q=1"
	assert_status "$via: GET: status 200" 200
	assert_line "$via: GET: REQUEST_METHOD" "$HTTP_BODY" REQUEST_METHOD=GET
	assert_line "$via: GET: no body" "$HTTP_BODY" "body-bytes: 0"

	# Params mode counts the body; raw mode sends it back.
	for size in empty one big; do
		bytes=$(wc -c <"$T/$size")
		case $size in
		empty)	what="0 bytes" ;;
		one)	what="1 byte" ;;
		big)	what="10 MiB" ;;
		esac
		http_post "/$via/count" "@$T/$size"
		assert_status "$via: POST $what: status 200" 200
		assert_line "$via: POST $what: CONTENT_LENGTH" \
		    "$HTTP_BODY" "CONTENT_LENGTH=$bytes"
		assert_line "$via: POST $what: counted" "$HTTP_BODY" \
		    "body-bytes: $bytes"

		http_post "/$via/back?raw" "@$T/$size"
		assert_status "$via: raw $what: status 200" 200
		assert_eq "$via: raw $what: content type" \
		    application/octet-stream "$(http_header Content-Type)"
		if cmp -s "$T/$size" "$HTTP_BODY_FILE"; then
			pass "$via: raw $what: the body comes back identical"
		else
			fail "$via: raw $what: the body comes back identical" \
			    "sent $bytes bytes," \
			    "got $(wc -c <"$HTTP_BODY_FILE")" \
			    "$(cmp "$T/$size" "$HTTP_BODY_FILE" 2>&1)"
		fi
	done
done

stop_nginx
stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
