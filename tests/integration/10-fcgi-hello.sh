#!/usr/bin/env bash
# 10-fcgi-hello: the hello module answers through nginx, over a unix
# socket and over TCP, with the greeting from its module_options.
. "$(dirname "$0")/lib.sh"

free_port FCGI_PORT || bail_out "no free port"
write_pool_conf \
    "$(pool_block hello_unix "$T/hello.sock" hello \
	'module_options = {"greeting=hi"}')" \
    "$(pool_block hello_tcp "127.0.0.1:$FCGI_PORT" hello \
	'module_options = {"greeting=hi"}')"
start_pooled || bail_out "pooled did not start"
start_nginx "/unix=unix:$T/hello.sock" "/tcp=127.0.0.1:$FCGI_PORT" ||
    bail_out "nginx did not start"

for via in unix tcp; do
	http_get "/$via/"
	assert_status "$via: status 200" 200
	assert_eq "$via: body" "hi, world" "$HTTP_BODY"
	assert_eq "$via: content type" text/plain \
	    "$(http_header Content-Type)"
done

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
