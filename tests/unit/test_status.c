/*
 * Unit tests for status.c: the query string, then each format for a
 * small pool of two processes of two threads, one of them running a
 * request whose URI needs escaping.  JSON goes through Python's parser
 * when python3 is installed; every OpenMetrics line must be a comment or
 * a sample and the last must be "# EOF".  Then the edges: no processes,
 * unknown queue lengths, strings that fill their arrays, huge counters,
 * and a pool large enough to grow the buffer many times.
 */
#include "config.h"

#include <sys/wait.h>

#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

#define T0	1700000000000LL		/* 2023-11-14T22:13:20Z, in ms */

static struct sb_thread		 threads[2][2];
static struct status_proc	 procs[2];
static struct status_pool	 pool;

static void
set_thread(struct sb_thread *t, enum sb_state state, int64_t start_ms,
    uint64_t requests, const char *method, const char *uri)
{
	memset(t, 0, sizeof(*t));
	t->state = state;
	t->start_ms = start_ms;
	t->requests = requests;
	snprintf(t->method, sizeof(t->method), "%s", method);
	snprintf(t->uri, sizeof(t->uri), "%s", uri);
}

/* www: 2 processes x 2 threads; one runs a request, one reads one. */
static int
setup(void **state)
{
	(void)state;
	set_thread(&threads[0][0], SB_RUNNING, T0 + 58500, 4, "GET",
	    "/q?a=\"b\"&c=\\d\001e");
	set_thread(&threads[0][1], SB_IDLE, 0, 6, "", "");
	set_thread(&threads[1][0], SB_READING, T0 + 59990, 1, "POST",
	    "/upload");
	set_thread(&threads[1][1], SB_EMPTY, 0, 0, "", "");
	procs[0] = (struct status_proc){ .pid = 4242, .gen = 3,
	    .started_ms = T0 + 1000, .requests = 10, .rss_kb = 10240,
	    .active = 1, .nthreads = 2, .threads = threads[0] };
	procs[1] = (struct status_proc){ .pid = 4243, .gen = 3,
	    .started_ms = T0 + 2000, .requests = 1, .rss_kb = 8192,
	    .active = 1, .nthreads = 2, .threads = threads[1] };
	pool = (struct status_pool){ .name = "www", .pm = "static",
	    .start_ms = T0, .reload_ms = T0 + 30000, .now_ms = T0 + 60000,
	    .accepted = 12345, .rate10 = 2.5, .rate60 = 1.25,
	    .listen_queue = 0, .listen_backlog = 128, .listen_queue_peak = 7,
	    .in_flight = 1, .active_threads = 2, .idle_threads = 1,
	    .total_threads = 3, .active_processes = 2, .idle_processes = 0,
	    .total_processes = 2, .max_reached = 5, .slow_requests = 6,
	    .timeouts = 7, .restarts = 8, .cgi_running = 2, .cgi_killed = 3,
	    .duration_us = 1500000, .nprocs = 2, .procs = procs };
	pool.hist[0] = 10;		/* up to 1 ms */
	pool.hist[9] = 2;		/* up to 1 s */
	pool.hist[SB_HIST_N - 1] = 1;	/* past 60 s */
	pool.status_class[1] = 12;
	pool.status_class[4] = 1;
	pool.restarts_by[RESTART_CRASH] = 5;
	pool.restarts_by[RESTART_MAX_REQUESTS] = 3;
	return 0;
}

static char *
render(enum status_format fmt, bool full)
{
	char	*s;
	size_t	 len = 0;

	s = status_render(&pool, fmt, full, &len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

/*
 * The NULL checks are for GCC, which under -fsanitize=address cannot see
 * that render() never returns NULL and warns about fail_msg's "%s".
 */
static void
assert_has(const char *s, const char *what)
{
	if (s == NULL || strstr(s, what) == NULL)
		fail_msg("missing \"%s\" in:\n%s", what,
		    s == NULL ? "(null)" : s);
}

static void
assert_lacks(const char *s, const char *what)
{
	if (s == NULL || strstr(s, what) != NULL)
		fail_msg("unexpected \"%s\" in:\n%s", what,
		    s == NULL ? "(null)" : s);
}

/* s parses as JSON, if python3 is there to say so. */
static void
assert_json(const char *s)
{
	FILE	*p;
	int	 status;
	void	(*old)(int);

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		print_message("# python3 not found: JSON not parsed\n");
		return;
	}
	old = signal(SIGPIPE, SIG_IGN);
	p = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
	assert_non_null(p);
	fputs(s, p);
	status = pclose(p);
	signal(SIGPIPE, old);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("invalid JSON:\n%s", s);
}

/* Every line a comment or a sample; "# EOF" last. */
static void
assert_openmetrics(const char *s)
{
	regex_t		 re;
	const char	*p, *nl, *last = NULL;
	char		 line[4096];
	size_t		 len;

	assert_int_equal(regcomp(&re,
	    "^[a-z_]+(\\{[^}]*\\})? [0-9.e+-]+$", REG_EXTENDED | REG_NOSUB),
	    0);
	for (p = s; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);	/* every line ends */
		len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (line[0] != '#' && regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("not a sample: \"%s\"", line);
		last = p;
	}
	regfree(&re);
	assert_non_null(last);
	assert_string_equal(last, "# EOF\n");
}

/* Parse q with fmt starting as start; its result, and *fmt, *full. */
static int
parse(const char *q, enum status_format start, enum status_format *fmt,
    bool *full)
{
	const char	*why = NULL;
	int		 rc;

	*fmt = start;
	rc = status_parse_query(q, fmt, full, &why);
	assert_true(rc == 0 ? why == NULL : why != NULL);
	return rc;
}

static void
test_parse_query(void **state)
{
	enum status_format	 fmt;
	bool			 full;

	(void)state;
	assert_int_equal(parse(NULL, STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_false(full);
	/* No word: the caller's default (Accept, /metrics) stays. */
	assert_int_equal(parse("", STATUS_PROMETHEUS, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_PROMETHEUS);
	assert_false(full);
	assert_int_equal(parse("json", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_JSON);
	assert_false(full);
	assert_int_equal(parse("openmetrics", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	assert_int_equal(parse("full", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_true(full);
	assert_int_equal(parse("json&full", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_JSON);
	assert_true(full);
	assert_int_equal(parse("full&openmetrics", STATUS_TEXT, &fmt, &full),
	    0);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	assert_true(full);
	assert_int_equal(parse("?json", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_JSON);
	/* Prometheus' params: {openmetrics: ['']} sends "openmetrics=". */
	assert_int_equal(parse("openmetrics=", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	assert_int_equal(parse("json&openmetrics", STATUS_TEXT, &fmt, &full),
	    0);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	assert_int_equal(parse("&&full&", STATUS_TEXT, &fmt, &full), 0);
	assert_true(full);
	assert_int_equal(parse("&", STATUS_TEXT, &fmt, &full), 0);
	assert_int_equal(fmt, STATUS_TEXT);
	/* Unknown words, values, near misses: refused, not ignored. */
	assert_int_equal(parse("html", STATUS_TEXT, &fmt, &full), -1);
	assert_int_equal(parse("json&x=1", STATUS_TEXT, &fmt, &full), -1);
	assert_int_equal(parse("json=1", STATUS_TEXT, &fmt, &full), -1);
	assert_int_equal(parse("jsonp", STATUS_TEXT, &fmt, &full), -1);
	assert_int_equal(parse("fullish", STATUS_TEXT, &fmt, &full), -1);
	assert_int_equal(parse("JSON", STATUS_TEXT, &fmt, &full), -1);
}

static void
test_accept(void **state)
{
	(void)state;
	assert_int_equal(status_accept(NULL), STATUS_TEXT);
	assert_int_equal(status_accept("*/*"), STATUS_TEXT);
	assert_int_equal(status_accept("text/html,application/xhtml+xml,"
	    "*/*;q=0.8"), STATUS_TEXT);
	assert_int_equal(status_accept("text/plain"), STATUS_TEXT);
	assert_int_equal(status_accept("application/openmetrics-text"),
	    STATUS_OPENMETRICS);
	assert_int_equal(status_accept("text/plain;version=0.0.4"),
	    STATUS_PROMETHEUS);
	assert_int_equal(status_accept("text/plain; version=0.0.4; "
	    "charset=utf-8"), STATUS_PROMETHEUS);
	/* What Prometheus 2.42 sends. */
	assert_int_equal(status_accept("application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;"
	    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
	    STATUS_OPENMETRICS);
	/* The higher q wins; q=0 is a refusal. */
	assert_int_equal(status_accept("application/openmetrics-text;q=0.2, "
	    "text/plain;version=0.0.4;q=0.9"), STATUS_PROMETHEUS);
	assert_int_equal(status_accept("application/openmetrics-text;q=0"),
	    STATUS_TEXT);
	assert_int_equal(status_accept("APPLICATION/OpenMetrics-Text"),
	    STATUS_OPENMETRICS);
	assert_int_equal(status_accept("application/openmetrics-textual"),
	    STATUS_TEXT);
	assert_string_equal(status_content_type(STATUS_PROMETHEUS),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(status_content_type(STATUS_OPENMETRICS),
	    "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

static void
test_text(void **state)
{
	char	*s;

	(void)state;
	s = render(STATUS_TEXT, false);
	assert_has(s, "pool:                 www\n");
	assert_has(s, "process manager:      static\n");
	assert_has(s, "start time:           2023-11-14T22:13:20Z\n");
	assert_has(s, "start time unix:      1700000000\n");
	assert_has(s, "start since:          60\n");
	assert_has(s, "accepted requests:    12345\n");
	assert_has(s, "last reload:          2023-11-14T22:13:50Z\n");
	assert_has(s, "requests/s (10 s):    2.500\n");
	assert_has(s, "requests/s (60 s):    1.250\n");
	assert_has(s, "requests in flight:   1\n");
	assert_has(s, "listen queue:         0\n");
	assert_has(s, "max listen queue:     7\n");
	assert_has(s, "listen queue len:     128\n");
	assert_has(s, "cgi running:          2\n");
	assert_has(s, "cgi killed:           3\n");
	assert_has(s, "responses:            1xx 0, 2xx 12, 3xx 0, 4xx 0, "
	    "5xx 1\n");
	assert_has(s, "restarts by cause:    crash 5, start_timeout 0, "
	    "max_requests 3, stuck 0, listen 0, protocol 0\n");
	assert_has(s, "active threads:       2\n");
	assert_has(s, "idle threads:         1\n");
	assert_has(s, "total threads:        3\n");
	assert_has(s, "active processes:     2\n");
	assert_has(s, "idle processes:       0\n");
	assert_has(s, "total processes:      2\n");
	assert_has(s, "max reached:          5\n");
	assert_has(s, "slow requests:        6\n");
	assert_has(s, "timeouts:             7\n");
	assert_has(s, "restarts:             8\n");
	assert_has(s, "4242       3          2023-11-14T22:13:21Z "
	    "10           10240        1\n");
	assert_has(s, "4243       3");
	assert_lacks(s, "/upload");	/* threads only with full */
	free(s);

	s = render(STATUS_TEXT, true);
	assert_has(s, "4242       0      running  1500        GET      "
	    "/q?a=\"b\"&c=\\d?e\n");
	assert_has(s, "4242       1      idle     -           -        -\n");
	assert_has(s, "4243       0      reading  10          POST     "
	    "/upload\n");
	assert_lacks(s, "4243       1 ");	/* SB_EMPTY */
	assert_lacks(s, "\001");
	free(s);
}

static void
test_json(void **state)
{
	char	*s;

	(void)state;
	s = render(STATUS_JSON, false);
	assert_json(s);
	assert_has(s, "{\"pool\":\"www\",\"process_manager\":\"static\",");
	assert_has(s, "\"start_time\":\"2023-11-14T22:13:20Z\","
	    "\"start_time_unix\":1700000000,\"start_since\":60,");
	assert_has(s, "\"accepted_requests\":12345,");
	assert_has(s, "\"last_reload\":\"2023-11-14T22:13:50Z\","
	    "\"last_reload_unix\":1700000030,");
	assert_has(s, "\"requests_per_second_10s\":2.500,"
	    "\"requests_per_second_60s\":1.250,\"requests_in_flight\":1,");
	assert_has(s, "\"listen_queue\":0,\"max_listen_queue\":7,"
	    "\"listen_queue_len\":128,");
	assert_has(s, "\"max_reached\":5,\"slow_requests\":6,"
	    "\"timeouts\":7,\"restarts\":8,\"cgi_running\":2,"
	    "\"cgi_killed\":3,\"responses\":{\"1xx\":0,\"2xx\":12,"
	    "\"3xx\":0,\"4xx\":0,\"5xx\":1},\"restarts_by_cause\":"
	    "{\"crash\":5,\"start_timeout\":0,\"max_requests\":3,"
	    "\"stuck\":0,\"listen\":0,\"protocol\":0},");
	assert_has(s, "\"processes\":[{\"pid\":4242,\"generation\":3,");
	assert_has(s, "\"requests\":10,\"rss_kb\":10240,"
	    "\"active_threads\":1}");
	assert_lacks(s, "\"threads\"");
	free(s);

	s = render(STATUS_JSON, true);
	assert_json(s);
	assert_has(s, "\"threads\":[{\"thread\":0,\"state\":\"running\","
	    "\"duration_ms\":1500,\"method\":\"GET\","
	    "\"uri\":\"/q?a=\\\"b\\\"&c=\\\\d\\u0001e\"},");
	assert_has(s, "{\"thread\":1,\"state\":\"idle\",\"duration_ms\":null");
	assert_has(s, "\"threads\":[{\"thread\":0,\"state\":\"reading\","
	    "\"duration_ms\":10,\"method\":\"POST\",\"uri\":\"/upload\"}]}");
	assert_lacks(s, "empty");
	free(s);
}

static void
test_openmetrics(void **state)
{
	char	*s;

	(void)state;
	s = render(STATUS_OPENMETRICS, false);
	assert_openmetrics(s);
	assert_has(s, "# TYPE pooled_accepted_requests counter\n");
	assert_has(s, "\npooled_accepted_requests_total{pool=\"www\"} 12345\n");
	assert_has(s, "\npooled_start_time_seconds 1700000000.000\n");
	assert_has(s, "\npooled_last_reload_timestamp_seconds "
	    "1700000030.000\n");
	assert_has(s, "\npooled_requests_in_flight{pool=\"www\"} 1\n");
	assert_has(s, "# TYPE pooled_request_duration_seconds histogram\n");
	assert_has(s, "\npooled_request_duration_seconds_bucket{pool=\"www\","
	    "le=\"0.001\"} 10\n");
	assert_has(s, "\npooled_request_duration_seconds_bucket{pool=\"www\","
	    "le=\"0.5\"} 10\n");
	assert_has(s, "\npooled_request_duration_seconds_bucket{pool=\"www\","
	    "le=\"1.0\"} 12\n");
	assert_has(s, "\npooled_request_duration_seconds_bucket{pool=\"www\","
	    "le=\"60.0\"} 12\n");
	assert_has(s, "\npooled_request_duration_seconds_bucket{pool=\"www\","
	    "le=\"+Inf\"} 13\n");
	assert_has(s, "\npooled_request_duration_seconds_count{pool=\"www\"} "
	    "13\n");
	assert_has(s, "\npooled_request_duration_seconds_sum{pool=\"www\"} "
	    "1.500000\n");
	assert_has(s, "\npooled_responses_total{pool=\"www\",code=\"2xx\"} "
	    "12\n");
	assert_has(s, "\npooled_responses_total{pool=\"www\",code=\"5xx\"} "
	    "1\n");
	assert_has(s, "\npooled_requests_per_second{pool=\"www\","
	    "window=\"10s\"} 2.500\n");
	assert_has(s, "\npooled_requests_per_second{pool=\"www\","
	    "window=\"60s\"} 1.250\n");
	assert_has(s, "\npooled_cgi_running{pool=\"www\"} 2\n");
	assert_has(s, "\npooled_cgi_killed_total{pool=\"www\"} 3\n");
	assert_has(s, "\npooled_listen_backlog{pool=\"www\"} 128\n");
	assert_has(s, "\npooled_listen_queue_peak{pool=\"www\"} 7\n");
	assert_has(s, "\npooled_threads{pool=\"www\",state=\"active\"} 2\n");
	assert_has(s, "\npooled_threads{pool=\"www\",state=\"idle\"} 1\n");
	assert_has(s, "\npooled_processes{pool=\"www\",state=\"active\"} 2\n");
	assert_has(s, "\npooled_listen_queue{pool=\"www\"} 0\n");
	assert_lacks(s, "pooled_listen_queue_max");
	assert_has(s, "# HELP pooled_max_reached Times every thread was "
	    "busy at max_processes.\n# TYPE pooled_max_reached counter\n");
	assert_has(s, "\npooled_max_reached_total{pool=\"www\"} 5\n");
	assert_has(s, "\npooled_slow_requests_total{pool=\"www\"} 6\n");
	assert_has(s, "\npooled_timeouts_total{pool=\"www\"} 7\n");
	assert_has(s, "\npooled_restarts_total{pool=\"www\",cause=\"crash\"} "
	    "5\n");
	assert_has(s, "\npooled_restarts_total{pool=\"www\","
	    "cause=\"max_requests\"} 3\n");
	assert_has(s, "\npooled_process_rss_bytes{pool=\"www\",pid=\"4242\"} "
	    "10485760\n");
	assert_has(s, "\npooled_process_requests_total{pool=\"www\","
	    "pid=\"4243\"} 1\n");
	assert_lacks(s, "/upload");
	free(s);

	s = render(STATUS_OPENMETRICS, true);
	assert_openmetrics(s);
	assert_has(s, "\npooled_thread_request_duration_seconds{pool=\"www\","
	    "pid=\"4242\",thread=\"0\",state=\"running\",method=\"GET\","
	    "uri=\"/q?a=\\\"b\\\"&c=\\\\d?e\"} 1.500\n");
	assert_has(s, "state=\"reading\",method=\"POST\","
	    "uri=\"/upload\"} 0.010\n");
	assert_lacks(s, "thread=\"1\"");	/* idle and empty */
	free(s);
}

/*
 * One family per metric: every "# TYPE" name once, and each sample in
 * the family typed last (its name, or the name and a histogram's or a
 * counter's suffix).  In 0.0.4 a counter's family ends in _total.
 */
static void
assert_families(const char *s, bool total)
{
	char		 names[128][96], family[96], type[16], line[4096];
	const char	*p, *nl;
	size_t		 n = 0, i, len, flen;

	family[0] = '\0';
	for (p = s; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (sscanf(line, "# TYPE %95s %15s", family, type) == 2) {
			for (i = 0; i < n; i++)
				if (strcmp(names[i], family) == 0)
					fail_msg("second TYPE line for %s",
					    family);
			assert_true(n < 128);
			snprintf(names[n++], sizeof(names[0]), "%s", family);
			flen = strlen(family);
			if (strcmp(type, "counter") == 0)
				assert_int_equal(total, flen > 6 &&
				    strcmp(family + flen - 6, "_total") == 0);
			continue;
		}
		if (line[0] == '#')
			continue;
		flen = strlen(family);
		if (flen == 0 || strncmp(line, family, flen) != 0 ||
		    (line[flen] != '{' && line[flen] != ' ' &&
		    line[flen] != '_'))
			fail_msg("sample out of its family %s: %s", family,
			    line);
	}
	assert_true(n > 20);
}

/* Two pools: one family each metric, a sample each pool in it. */
static void
test_families(void **state)
{
	struct status_pool	 two[2];
	char			*s;
	size_t			 len;

	(void)state;
	two[0] = pool;
	two[1] = pool;
	two[1].name = "api";
	s = status_render_metrics(two, 2, STATUS_OPENMETRICS, true, &len);
	assert_non_null(s);
	assert_openmetrics(s);
	assert_families(s, false);
	assert_has(s, "\npooled_accepted_requests_total{pool=\"www\"} 12345\n"
	    "pooled_accepted_requests_total{pool=\"api\"} 12345\n");
	assert_has(s, "le=\"+Inf\"} 13\npooled_request_duration_seconds_count"
	    "{pool=\"www\"} 13\n");
	free(s);
	s = status_render_metrics(two, 2, STATUS_PROMETHEUS, true, &len);
	assert_non_null(s);
	assert_families(s, true);
	assert_has(s, "# TYPE pooled_accepted_requests_total counter\n");
	assert_has(s, "# TYPE pooled_request_duration_seconds histogram\n");
	assert_lacks(s, "# EOF");
	free(s);
}

/* The pool's own strings are escaped too, in every format. */
static void
test_escaped_pool_name(void **state)
{
	char	*s;

	(void)state;
	pool.name = "a\"b\\c\nd";
	pool.pm = "\t";
	s = render(STATUS_OPENMETRICS, true);
	assert_openmetrics(s);
	assert_has(s, "\npooled_accepted_requests_total"
	    "{pool=\"a\\\"b\\\\c\\nd\"} 12345\n");
	free(s);
	s = render(STATUS_JSON, true);
	assert_json(s);
	assert_has(s, "{\"pool\":\"a\\\"b\\\\c\\u000ad\","
	    "\"process_manager\":\"\\u0009\",");
	free(s);
	s = render(STATUS_TEXT, true);
	assert_has(s, "pool:                 a\"b\\c?d\n");
	free(s);
	pool.name = NULL;
	pool.pm = NULL;
	s = render(STATUS_JSON, false);
	assert_json(s);
	assert_has(s, "{\"pool\":\"\",\"process_manager\":\"\",");
	free(s);
	s = render(STATUS_TEXT, false);
	assert_has(s, "pool:                 -\n");
	free(s);
}

/* No processes, unknown queue, nonsense times and rate. */
static void
test_empty_pool(void **state)
{
	char	*s;

	(void)state;
	pool.nprocs = 0;
	pool.procs = NULL;
	pool.listen_queue = -1;
	pool.listen_queue_peak = -1;
	pool.listen_backlog = -1;
	pool.start_ms = -5;
	pool.rate10 = -HUGE_VAL;
	pool.rate60 = NAN;
	s = render(STATUS_TEXT, true);
	assert_has(s, "listen queue:         -\n");
	assert_has(s, "max listen queue:     -\n");
	assert_has(s, "listen queue len:     -\n");
	assert_has(s, "start time:           -\n");
	assert_has(s, "start since:          0\n");
	assert_has(s, "requests/s (10 s):    0.000\n");
	assert_has(s, "requests/s (60 s):    0.000\n");
	free(s);
	s = render(STATUS_JSON, true);
	assert_json(s);
	assert_has(s, "\"listen_queue\":null,\"max_listen_queue\":null,"
	    "\"listen_queue_len\":null,");
	assert_has(s, "\"start_time\":null,");
	assert_has(s, "\"processes\":[]}\n");
	free(s);
	s = render(STATUS_OPENMETRICS, true);
	assert_openmetrics(s);
	assert_lacks(s, "pooled_listen_queue");
	assert_lacks(s, "pooled_process_");
	free(s);
}

/* Strings that fill their arrays with no NUL; the largest numbers. */
static void
test_huge_values(void **state)
{
	struct sb_thread	*t = &threads[0][0];
	char			*s;
	static const enum status_format fmts[] = {
		STATUS_TEXT, STATUS_JSON, STATUS_OPENMETRICS
	};
	size_t			 i;

	(void)state;
	memset(t->uri, '"', sizeof(t->uri));
	memset(t->method, '\\', sizeof(t->method));
	t->state = SB_WRITING;
	t->start_ms = INT64_MIN;
	threads[0][1].state = 0xdeadbeef;	/* out of range: skipped */
	procs[0].rss_kb = UINT64_MAX;
	procs[0].requests = UINT64_MAX;
	procs[0].started_ms = INT64_MAX;
	pool.accepted = UINT64_MAX;
	pool.now_ms = INT64_MAX;
	pool.start_ms = INT64_MIN;
	pool.rate10 = 1e300;
	pool.duration_us = UINT64_MAX;
	pool.hist[0] = UINT64_MAX;
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		s = render(fmts[i], true);
		assert_lacks(s, "deadbeef");
		assert_lacks(s, "3735928559");
		if (fmts[i] == STATUS_JSON)
			assert_json(s);
		if (fmts[i] == STATUS_OPENMETRICS) {
			assert_openmetrics(s);
			assert_has(s, "pid=\"4242\"} 18446744073709551615\n");
		}
		free(s);
	}
	s = render(STATUS_JSON, true);
	/* All of the array and nothing past it, each '"' escaped. */
	assert_non_null(strstr(s, "\"uri\":\""));
	assert_int_equal(strspn(strstr(s, "\"uri\":\"") + 7, "\\\""),
	    2 * SB_URI_MAX + 1);	/* and the closing quote */
	assert_has(s, "\"accepted_requests\":18446744073709551615,");
	free(s);
}

/* Enough processes and threads to grow the buffer many times. */
static void
test_large_pool(void **state)
{
	enum { NPROCS = 200, NTHREADS = 64 };
	struct status_proc	*pp;
	struct sb_thread	*tt;
	char			*s, uri[SB_URI_MAX];
	size_t			 i, len;
	enum status_format	 fmt;

	(void)state;
	pp = calloc(NPROCS, sizeof(*pp));
	tt = calloc((size_t)NPROCS * NTHREADS, sizeof(*tt));
	assert_non_null(pp);
	assert_non_null(tt);
	memset(uri, 'x', sizeof(uri) - 1);
	uri[0] = '/';
	uri[sizeof(uri) - 1] = '\0';
	for (i = 0; i < (size_t)NPROCS * NTHREADS; i++)
		set_thread(&tt[i], SB_RUNNING, T0, 1, "GET", uri);
	for (i = 0; i < NPROCS; i++) {
		pp[i].pid = (pid_t)(1000 + i);
		pp[i].nthreads = NTHREADS;
		pp[i].threads = &tt[i * NTHREADS];
		pp[i].active = NTHREADS;
	}
	pool.nprocs = NPROCS;
	pool.procs = pp;
	for (fmt = STATUS_TEXT; fmt <= STATUS_PROMETHEUS; fmt++) {
		s = status_render(&pool, fmt, true, &len);
		assert_non_null(s);
		assert_int_equal(strlen(s), len);
		assert_true(len > (size_t)NPROCS * NTHREADS * (SB_URI_MAX - 1));
		assert_has(s, "1199");
		if (fmt == STATUS_JSON)
			assert_json(s);
		if (fmt == STATUS_OPENMETRICS)
			assert_openmetrics(s);
		free(s);
	}
	free(tt);
	free(pp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_query),
		cmocka_unit_test(test_accept),
		cmocka_unit_test_setup(test_families, setup),
		cmocka_unit_test_setup(test_text, setup),
		cmocka_unit_test_setup(test_json, setup),
		cmocka_unit_test_setup(test_openmetrics, setup),
		cmocka_unit_test_setup(test_escaped_pool_name, setup),
		cmocka_unit_test_setup(test_empty_pool, setup),
		cmocka_unit_test_setup(test_huge_values, setup),
		cmocka_unit_test_setup(test_large_pool, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
