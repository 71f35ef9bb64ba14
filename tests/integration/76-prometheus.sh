#!/usr/bin/env bash
# 76-prometheus: the metrics Prometheus scrapes as they are.  status_listen
# serves every pool's metrics at /metrics, one family per metric
# (promtool check metrics on every exposition, both formats), chosen by
# Accept or ?openmetrics (also as Prometheus' params write it); an
# unknown query word is a 400, on status_listen and on a pool's
# status_path through nginx.  The counters: requests in flight, responses
# by status class, CGI programs running and killed by cgi_timeout,
# restarts by cause, recent requests/s.  Then a real Prometheus (Debian's package) scrapes
# status_listen and a pool's status path through nginx; read back from
# its HTTP API: a histogram quantile, and a requests counter that kept
# rising across a HUP with no reset.  Without the prometheus package
# that last part is skipped.
. "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool || true)
PROMETHEUS=$(command -v prometheus || true)

free_port STATUS_PORT || bail_out "no free port"
CGI=$T/cgi
mkdir -p "$CGI"
chmod 755 "$T" "$CGI"
printf '#!/bin/sh\nexec sleep 30\n' >"$CGI/slow.sh"
chmod 755 "$CGI/slow.sh"

POOLED_CONF_GLOBALS="status_listen = \"127.0.0.1:$STATUS_PORT\""
write_pool_conf \
    "$(pool_block hello "$T/hello.sock" hello 'processes = 1' \
    'status_path = "/pooled-status"')" \
    "$(pool_block sleep "$T/sleep.sock" sleep 'processes = 1')" \
    "$(pool_block recycle "$T/recycle.sock" hello 'processes = 1' \
    'threads = 1' 'max_requests = 3')" \
    "$(cgi_pool_block cgi "$T/cgi.sock" "$CGI" 'processes = 1' \
    'cgi_timeout = 1')"
start_pooled || bail_out "pooled did not start"
NGINX_EXTRA="root $T;
fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;" \
    start_nginx "/hello=unix:$T/hello.sock" \
    "/pooled-status=unix:$T/hello.sock" "/sleep=unix:$T/sleep.sock" \
    "/recycle=unix:$T/recycle.sock" "/cgi/=unix:$T/cgi.sock" ||
    bail_out "nginx did not start"
STATUS_URL=http://127.0.0.1:$STATUS_PORT

# check_metrics NAME FILE: promtool accepts the exposition in FILE.
check_metrics()
{
	local out

	if [ -z "$PROMTOOL" ]; then
		skip "$1 (no promtool)"
		return
	fi
	if out=$("$PROMTOOL" check metrics <"$2" 2>&1); then
		pass "$1"
	else
		fail "$1" "$out"
	fi
}

# check_openmetrics NAME FILE: the OpenMetrics exposition in FILE parses
# with Python's strict OpenMetrics parser (python3-prometheus-client),
# and promtool finds nothing wrong with it but what comes of reading it
# as the 0.0.4 format, the only one it knows: a counter's HELP names the
# family, without _total, so it says "NAME_total no help text".
check_openmetrics()
{
	local out py

	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import prometheus_client.openmetrics.parser' \
		    2>/dev/null; then
			break
		fi
		py=
	done
	if [ -z "$py" ]; then
		skip "$1: OpenMetrics parser (no python3-prometheus-client)"
	elif out=$("$py" -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as p
n = len(list(p(sys.stdin.read())))
assert n > 20, n' <"$2" 2>&1); then
		pass "$1: Python's OpenMetrics parser"
	else
		fail "$1: Python's OpenMetrics parser" "$out"
	fi
	if [ -z "$PROMTOOL" ]; then
		skip "$1: promtool (no promtool)"
		return
	fi
	out=$("$PROMTOOL" check metrics <"$2" 2>&1 | while read -r name rest; do
		if [ "$rest" = "no help text" ] &&
		    grep -q "^# HELP ${name%_total} " "$2" &&
		    grep -q "^# TYPE ${name%_total} counter\$" "$2"; then
			continue
		fi
		printf '%s %s\n' "$name" "$rest"
	done)
	if [ -z "$out" ]; then
		pass "$1: promtool check metrics"
	else
		fail "$1: promtool check metrics" "$out"
	fi
}

# metric NAME{LABELS}: the value of one sample of the last answer.
metric()
{
	printf '%s\n' "$HTTP_BODY" | awk -v s="$1" \
	    'index($0, s " ") == 1 { print $2; exit }'
}

# scrape [CURL_ARG...]: GET status_listen's /metrics.
scrape()
{
	http_get "$STATUS_URL/metrics" "$@"
}

# metric_is SAMPLE VALUE: /metrics has SAMPLE at VALUE now.
metric_is()
{
	scrape
	[ "$(metric "$1")" = "$2" ]
}

# metric_at_least SAMPLE N: /metrics has SAMPLE at N or more.
metric_at_least()
{
	local v

	scrape
	v=$(metric "$1")
	[ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v >= n) }'
}

for i in $(seq 1 10); do
	http_get "/hello?n=$i" >/dev/null
done

# Formats and negotiation.
scrape
assert_status "/metrics: 200" 200
assert_eq "/metrics: Prometheus' text format by default" \
    "text/plain; version=0.0.4; charset=utf-8" "$(http_header Content-Type)"
cp "$HTTP_BODY_FILE" "$T/prom.txt"
check_metrics "/metrics (0.0.4): promtool check metrics" "$T/prom.txt"
assert_eq "0.0.4: one family a metric, for four pools" \
    "1 1 4" "$(grep -c '^# TYPE pooled_accepted_requests_total counter$' \
    "$T/prom.txt") $(grep -c '^# TYPE pooled_request_duration_seconds ' \
    "$T/prom.txt") $(grep -c '^pooled_accepted_requests_total{' \
    "$T/prom.txt")"
assert_not_contains "0.0.4: no # EOF" "$HTTP_BODY" "# EOF"
assert_eq "the requests served" 10 \
    "$(metric 'pooled_accepted_requests_total{pool="hello"}')"
assert_eq "the histogram counts them" 10 \
    "$(metric 'pooled_request_duration_seconds_count{pool="hello"}')"
assert_eq "... all in the +Inf bucket" 10 \
    "$(metric 'pooled_request_duration_seconds_bucket{pool="hello",le="+Inf"}')"
assert_true "the old name for the backlog is gone" \
    test -z "$(metric 'pooled_listen_queue_max{pool="hello"}')"
assert_eq "the backlog, called what it is" 1024 \
    "$(metric 'pooled_listen_backlog{pool="hello"}')"

scrape -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
assert_contains "Accept as Prometheus sends it: OpenMetrics" \
    "$(http_header Content-Type)" "application/openmetrics-text; version=1.0.0"
assert_line "OpenMetrics: ends with # EOF" \
    "$(printf '%s\n' "$HTTP_BODY" | tail -n 1)" "# EOF"
assert_eq "OpenMetrics: one TYPE line a family" 1 \
    "$(printf '%s\n' "$HTTP_BODY" | grep -c '^# TYPE pooled_accepted_requests counter$')"
cp "$HTTP_BODY_FILE" "$T/om.txt"
check_openmetrics "/metrics (OpenMetrics)" "$T/om.txt"
http_get "$STATUS_URL/?openmetrics"
assert_contains "/?openmetrics: OpenMetrics" "$(http_header Content-Type)" \
    "application/openmetrics-text"
cp "$HTTP_BODY_FILE" "$T/om2.txt"
check_openmetrics "/?openmetrics" "$T/om2.txt"
http_get "$STATUS_URL/?openmetrics="
assert_contains "/?openmetrics= (Prometheus' params): OpenMetrics" \
    "$(http_header Content-Type)" "application/openmetrics-text"
http_get "$STATUS_URL/hello" -H 'Accept: text/plain;version=0.0.4'
assert_eq "/hello with Accept 0.0.4: one pool's metrics" \
    "text/plain; version=0.0.4; charset=utf-8 1" \
    "$(http_header Content-Type) $(printf '%s\n' "$HTTP_BODY" |
    grep -c '^pooled_accepted_requests_total{')"
http_get "$STATUS_URL/"
assert_contains "/ with no Accept: the text page" "$HTTP_BODY" \
    "pool:                 hello"
http_get "$STATUS_URL/?bogus"
assert_status "/?bogus: 400" 400
assert_contains "... saying why" "$HTTP_BODY" "unknown query word"
http_get "$STATUS_URL/metrics?json=1"
assert_status "/metrics?json=1: 400" 400

# The pool's own status path, through nginx.
http_get "/pooled-status" -H 'Accept: application/openmetrics-text'
assert_contains "status_path with Accept: OpenMetrics" \
    "$(http_header Content-Type)" "application/openmetrics-text"
cp "$HTTP_BODY_FILE" "$T/pool-om.txt"
check_openmetrics "status_path (OpenMetrics)" "$T/pool-om.txt"
http_get "/pooled-status" -H 'Accept: text/plain;version=0.0.4'
assert_contains "status_path with Accept 0.0.4: Prometheus' format" \
    "$(http_header Content-Type)" "text/plain; version=0.0.4"
cp "$HTTP_BODY_FILE" "$T/pool-prom.txt"
check_metrics "status_path (0.0.4): promtool check metrics" \
    "$T/pool-prom.txt"
http_get "/pooled-status?openmetrics="
assert_contains "status_path?openmetrics=: OpenMetrics" \
    "$(http_header Content-Type)" "application/openmetrics-text"
http_get "/pooled-status?nope"
assert_status "status_path?nope: 400" 400
assert_contains "... saying why" "$HTTP_BODY" "unknown query word"

# A request in hand, a CGI program running, then killed by cgi_timeout.
HTTP_TIMEOUT=15 http_get "/sleep?ms=4000" >/dev/null 2>&1 &
sleeper=$!
track_pid "$sleeper"
HTTP_TIMEOUT=15 http_get "/cgi/slow.sh" >"$T/slow.out" 2>&1 &
slow=$!
track_pid "$slow"
if wait_for 5 metric_is 'pooled_requests_in_flight{pool="sleep"}' 1; then
	pass "a request in flight"
else
	fail "a request in flight" "$(grep in_flight <<<"$HTTP_BODY")"
fi
if wait_for 5 metric_is 'pooled_cgi_running{pool="cgi"}' 1; then
	pass "a CGI program running"
else
	fail "a CGI program running" "$(grep cgi_ <<<"$HTTP_BODY")"
fi
if wait_for 10 metric_is 'pooled_cgi_killed_total{pool="cgi"}' 1; then
	pass "a CGI program killed by cgi_timeout"
else
	fail "a CGI program killed by cgi_timeout" \
	    "$(grep cgi_ <<<"$HTTP_BODY")"
fi
assert_eq "... and none running" 0 \
    "$(metric 'pooled_cgi_running{pool="cgi"}')"
assert_eq "... answered 504: a 5xx response" "0 1" \
    "$(metric 'pooled_responses_total{pool="cgi",code="2xx"}') $(metric 'pooled_responses_total{pool="cgi",code="5xx"}')"
# hello: 10 pages, 3 status pages (200) and one 400 (?nope).
assert_eq "responses by status class" "0 13 0 1 0" \
    "$(for c in 1 2 3 4 5; do metric "pooled_responses_total{pool=\"hello\",code=\"${c}xx\"}"; done | xargs)"
reap_pid "$sleeper" 20
reap_pid "$slow" 20
scrape
assert_eq "the sleep request is counted once done" 1 \
    "$(metric 'pooled_request_duration_seconds_count{pool="sleep"}')"
# 4 s: in the bucket up to 5 s, not in the one up to 2.5 s.
assert_eq "... in the bucket of its duration" "0 1" \
    "$(metric 'pooled_request_duration_seconds_bucket{pool="sleep",le="2.5"}') $(metric 'pooled_request_duration_seconds_bucket{pool="sleep",le="5.0"}')"

# Restarts by cause: max_requests, and a crash.
for i in $(seq 1 8); do
	http_get "/recycle?n=$i" >/dev/null
done
if wait_for 10 metric_at_least \
    'pooled_restarts_total{pool="recycle",cause="max_requests"}' 1; then
	pass "restarts: max_requests"
else
	fail "restarts: max_requests" "$(grep restarts <<<"$HTTP_BODY")"
fi
assert_eq "... no crash there" 0 \
    "$(metric 'pooled_restarts_total{pool="recycle",cause="crash"}')"
assert_eq "... and its requests all counted" 8 \
    "$(metric 'pooled_accepted_requests_total{pool="recycle"}')"
kill -KILL "$(pool_workers sleep | head -n 1)"
if wait_for 10 metric_is 'pooled_restarts_total{pool="sleep",cause="crash"}' 1
then
	pass "restarts: a crash"
else
	fail "restarts: a crash" "$(grep restarts <<<"$HTTP_BODY")"
fi

# Recent requests a second, over 10 s and 60 s, in the JSON page.
# rate_seen: more requests, and the JSON shows a rate over 10 s.
rate_seen()
{
	http_get "/hello?rate" >/dev/null
	http_get "$STATUS_URL/hello?json"
	[ "$(json_eval "$HTTP_BODY" 's["requests_per_second_10s"] > 0 and s["requests_per_second_60s"] > 0')" = True ]
}
if wait_for 10 rate_seen; then
	pass "json: requests/s over 10 s and 60 s"
else
	fail "json: requests/s over 10 s and 60 s" "$HTTP_BODY"
fi

# A HUP does not reset the counters (without Prometheus too).
scrape
before=$(metric 'pooled_accepted_requests_total{pool="hello"}')
hist_before=$(metric 'pooled_request_duration_seconds_count{pool="hello"}')
start_before=$(metric pooled_start_time_seconds)
log_mark
signal_pooled HUP
assert_log "the reload is done" "master: reload done" 20
scrape
after=$(metric 'pooled_accepted_requests_total{pool="hello"}')
assert_true "requests after HUP >= before ($after >= $before)" \
    test "${after:-0}" -ge "${before:-1}"
assert_true "the histogram too" test \
    "$(metric 'pooled_request_duration_seconds_count{pool="hello"}')" \
    -ge "${hist_before:-1}"
assert_eq "the start time is pooled's, not the reload's" "$start_before" \
    "$(metric pooled_start_time_seconds)"
assert_true "the last reload is after it" awk -v a="$(metric \
    pooled_last_reload_timestamp_seconds)" -v b="$start_before" \
    'BEGIN { exit !(a > b) }'
assert_eq "the restarts carried over" 1 \
    "$(metric 'pooled_restarts_total{pool="sleep",cause="crash"}')"

# A request an old worker finishes after the reload took effect counts:
# the old worker's scoreboard is kept until it is reaped.
scrape
done_before=$(metric 'pooled_request_duration_seconds_count{pool="sleep"}')
old=$(pool_workers sleep)
HTTP_TIMEOUT=20 http_get "/sleep?ms=2500" >/dev/null 2>&1 &
inflight=$!
track_pid "$inflight"
sleep 0.5
log_mark
signal_pooled HUP
assert_log "in flight: the reload is done" "master: reload done" 20
reap_pid "$inflight" 20 || diag "the request in flight did not end"
wait_for 20 all_dead $old || diag "the old worker $old is still running"
if wait_for 10 metric_is \
    'pooled_request_duration_seconds_count{pool="sleep"}' \
    "$((done_before + 1))"; then
	pass "in flight: the old worker's request counts after it is reaped"
else
	fail "in flight: the old worker's request counts after it is reaped" \
	    "before $done_before, now $(metric \
	    'pooled_request_duration_seconds_count{pool="sleep"}')"
fi

if [ -z "$PROMETHEUS" ]; then
	skip "Prometheus scrapes (no prometheus: apt-get install prometheus)"
	done_testing
fi

# A real Prometheus on loopback, with its own config and data.
free_port PROM_PORT || bail_out "no free port"
mkdir -p "$T/prom-data"
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pooled
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$STATUS_PORT']
  - job_name: pool
    metrics_path: /pooled-status
    static_configs:
      - targets: ['127.0.0.1:$NGINX_PORT']
EOF
"$PROMETHEUS" --config.file="$T/prometheus.yml" \
    --storage.tsdb.path="$T/prom-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
    >"$T/prometheus.log" 2>&1 &
prom=$!
track_pid "$prom"

# prom_query EXPR: the value of the first series of an instant query.
prom_query()
{
	curl -sS --max-time 5 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	    --data-urlencode "query=$1" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}

# prom_true EXPR: the query has a result (a filter that matched).
prom_true()
{
	[ -n "$(prom_query "$1")" ]
}

if wait_for 30 prom_true 'up{job="pooled"} == 1 and on() up{job="pool"} == 1'
then
	pass "Prometheus scrapes status_listen and the pool's status path"
else
	fail "Prometheus scrapes status_listen and the pool's status path" \
	    "$(tail -n 5 "$T/prometheus.log"; curl -s --max-time 5 \
	    "http://127.0.0.1:$PROM_PORT/api/v1/targets")"
fi
assert_true "Prometheus reads the pool's page: hello's requests" prom_true \
    'pooled_accepted_requests_total{job="pool",pool="hello"} > 0'

for i in $(seq 1 20); do
	http_get "/hello?p=$i" >/dev/null
done
scrape
v1=$(metric 'pooled_accepted_requests_total{pool="hello"}')
if wait_for 15 prom_true \
    "pooled_accepted_requests_total{job=\"pooled\",pool=\"hello\"} >= $v1"
then
	pass "Prometheus has the requests counter ($v1)"
else
	fail "Prometheus has the requests counter ($v1)" \
	    "$(prom_query 'pooled_accepted_requests_total{job="pooled",pool="hello"}')"
fi
q=$(prom_query 'histogram_quantile(0.9, pooled_request_duration_seconds_bucket{job="pooled",pool="hello"})')
assert_true "a histogram quantile from Prometheus: $q s" awk -v q="$q" \
    'BEGIN { exit !(q ~ /^[0-9.e+-]+$/ && q > 0 && q <= 60) }'

log_mark
signal_pooled HUP
assert_log "a second reload is done" "master: reload done" 20
for i in $(seq 1 5); do
	http_get "/hello?after=$i" >/dev/null
done
if wait_for 15 prom_true \
    "pooled_accepted_requests_total{job=\"pooled\",pool=\"hello\"} >= $((v1 + 5))"
then
	pass "the counter kept rising across the HUP"
else
	fail "the counter kept rising across the HUP" \
	    "$(prom_query 'pooled_accepted_requests_total{job="pooled",pool="hello"}')"
fi
assert_eq "Prometheus saw no reset of it" 0 \
    "$(prom_query 'resets(pooled_accepted_requests_total{job="pooled",pool="hello"}[5m])')"
assert_eq "... nor of the histogram" 0 \
    "$(prom_query 'resets(pooled_request_duration_seconds_count{job="pooled",pool="hello"}[5m])')"
stop_pid "$prom"
untrack_pid "$prom"

done_testing
