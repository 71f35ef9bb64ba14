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
	    .start_ms = T0, .now_ms = T0 + 60000, .accepted = 12345,
	    .requests_per_sec = 2.5, .listen_queue = 0,
	    .listen_queue_max = 7, .active_threads = 2, .idle_threads = 1,
	    .total_threads = 3, .active_processes = 2, .idle_processes = 0,
	    .total_processes = 2, .max_reached = 5, .slow_requests = 6,
	    .timeouts = 7, .restarts = 8, .nprocs = 2, .procs = procs };
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

static void
test_parse_query(void **state)
{
	enum status_format	 fmt;
	bool			 full;

	(void)state;
	status_parse_query(NULL, &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_false(full);
	status_parse_query("", &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_false(full);
	status_parse_query("json", &fmt, &full);
	assert_int_equal(fmt, STATUS_JSON);
	assert_false(full);
	status_parse_query("openmetrics", &fmt, &full);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	status_parse_query("full", &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_true(full);
	status_parse_query("json&full", &fmt, &full);
	assert_int_equal(fmt, STATUS_JSON);
	assert_true(full);
	status_parse_query("full&openmetrics", &fmt, &full);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	assert_true(full);
	status_parse_query("?json", &fmt, &full);
	assert_int_equal(fmt, STATUS_JSON);
	/* Unknown words are ignored; the last format named wins. */
	status_parse_query("html&xml&x=1&&full&", &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_true(full);
	status_parse_query("json&openmetrics", &fmt, &full);
	assert_int_equal(fmt, STATUS_OPENMETRICS);
	/* Whole words only. */
	status_parse_query("jsonp&fullish&JSON", &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
	assert_false(full);
	status_parse_query("&", &fmt, &full);
	assert_int_equal(fmt, STATUS_TEXT);
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
	assert_has(s, "requests per second:  2.500\n");
	assert_has(s, "listen queue:         0\n");
	assert_has(s, "max listen queue:     7\n");
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
	assert_has(s, "\"requests_per_second\":2.500,");
	assert_has(s, "\"listen_queue\":0,\"max_listen_queue\":7,");
	assert_has(s, "\"max_reached\":5,\"slow_requests\":6,"
	    "\"timeouts\":7,\"restarts\":8,");
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
	assert_has(s, "\npooled_start_time_seconds{pool=\"www\"} "
	    "1700000000.000\n");
	assert_has(s, "\npooled_threads{pool=\"www\",state=\"active\"} 2\n");
	assert_has(s, "\npooled_threads{pool=\"www\",state=\"idle\"} 1\n");
	assert_has(s, "\npooled_processes{pool=\"www\",state=\"active\"} 2\n");
	assert_has(s, "\npooled_listen_queue{pool=\"www\"} 0\n");
	assert_has(s, "\npooled_listen_queue_max{pool=\"www\"} 7\n");
	assert_has(s, "# TYPE pooled_max_reached counter\n"
	    "# HELP pooled_max_reached ");
	assert_has(s, "\npooled_max_reached_total{pool=\"www\"} 5\n");
	assert_has(s, "\npooled_slow_requests_total{pool=\"www\"} 6\n");
	assert_has(s, "\npooled_timeouts_total{pool=\"www\"} 7\n");
	assert_has(s, "\npooled_restarts_total{pool=\"www\"} 8\n");
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
	pool.listen_queue_max = -1;
	pool.start_ms = -5;
	pool.requests_per_sec = -HUGE_VAL;
	s = render(STATUS_TEXT, true);
	assert_has(s, "listen queue:         -\n");
	assert_has(s, "max listen queue:     -\n");
	assert_has(s, "start time:           -\n");
	assert_has(s, "start since:          0\n");
	assert_has(s, "requests per second:  0.000\n");
	free(s);
	s = render(STATUS_JSON, true);
	assert_json(s);
	assert_has(s, "\"listen_queue\":null,\"max_listen_queue\":null,");
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
	pool.requests_per_sec = 1e300;
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
	for (fmt = STATUS_TEXT; fmt <= STATUS_OPENMETRICS; fmt++) {
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
