#!/usr/bin/env bash
# 75-access-log: the status of every request is known where it ends, for
# modules as for CGI programs.  A module's malformed header block (a line
# that is not "Name: value", no blank line before the body) reaches nginx
# as "upstream sent invalid header" and a 502; pooled logs it once, with
# the request.
. "$(dirname "$0")/lib.sh"

write_pool_conf "$(pool_block respond "$T/respond.sock" respond \
    'processes = 1')"
start_pooled || bail_out "pooled did not start"
start_nginx "/r=unix:$T/respond.sock" || bail_out "nginx did not start"
assert_log "all workers started" "all pools started" 10

# Malformed module headers -----------------------------------------------

log_mark
http_get "/r/?badline"
assert_status "a bad header line: nginx answers 502" 502
assert_log "a bad header line: logged with the request" \
    "req [0-9]+: GET /r/\?badline: the handler's response header is malformed: a header name that is not a token; the web server answers 502$" 5
assert_eq "a bad header line: logged once" 1 "$(log_count 'badline')"

log_mark
http_get "/r/?noblank"
assert_status "no blank line: nginx answers 502" 502
assert_log "no blank line: logged with the request" \
    "req [0-9]+: GET /r/\?noblank: the handler's response header is malformed: a header name that is not a token" 5

log_mark
http_get "/r/?headonly"
assert_status "a header never ended: nginx answers 502" 502
assert_log "a header never ended: logged when the request ends" \
    "req [0-9]+: GET /r/\?headonly: the handler's response header is malformed: no blank line ends the header block" 5

log_mark
http_get "/r/?split"
assert_status "a header a byte a write: 201" 201
http_get "/r/?status=404"
assert_status "Status: 404 from a module" 404
assert_no_log "valid headers: nothing logged" "malformed"

stop_pooled
assert_eq "pooled exits 0 on TERM" 0 "$POOLED_STATUS"
done_testing
