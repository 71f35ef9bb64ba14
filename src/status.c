/*
 * The status page: one pool's counters and the scoreboard copies of its
 * processes and threads, as plain "key: value" text (the layout of
 * php-fpm's status page), one JSON object, or OpenMetrics text for
 * Prometheus.  The query string picks the format and the per-thread
 * detail the way php-fpm's does ("json&full").
 *
 * The input is display data and is not trusted for sizes: the strings
 * copied from the scoreboard are read within their arrays whether or not
 * they end in NUL, states out of range are skipped, and every string is
 * escaped for its format (JSON \u00XX, OpenMetrics label escapes, '?' for
 * what plain text cannot show).  The output grows in a malloc'd buffer
 * with no fixed limit; the input's size bounds it (rows x threads).  No
 * state outlives a call.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pooled.h"

#define STATUS_BUF_MIN	4096

/* The output being built; after a failure every append is a no-op. */
struct buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	bool		 failed;
};

static const char *const state_names[SB_NSTATES] = {
	[SB_EMPTY] = "empty",
	[SB_IDLE] = "idle",
	[SB_READING] = "reading",
	[SB_RUNNING] = "running",
	[SB_WRITING] = "writing"
};

static void	 buf_printf(struct buf *, const char *, ...)
		    POOLED_PRINTFLIKE(2, 3);

/* Room for more bytes and a NUL. */
static bool
buf_reserve(struct buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->failed)
		return false;
	if (b->cap > b->len && more < b->cap - b->len)
		return true;
	if (more >= SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	cap = b->cap == 0 ? STATUS_BUF_MIN : b->cap;
	while (cap - b->len <= more)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void
buf_put(struct buf *b, const char *s, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static bool
is_word(const char *p, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(p, word, len) == 0;
}

/*
 * Which format and detail a status query string asks for: words split on
 * '&' ("json", "openmetrics", "full"), the last format named winning,
 * unknown words ignored; NULL or "" is plain text.
 */
void
status_parse_query(const char *query, enum status_format *fmt, bool *full)
{
	const char	*p;
	size_t		 len;

	*fmt = STATUS_TEXT;
	*full = false;
	if (query == NULL)
		return;
	if (*query == '?')
		query++;
	for (p = query; *p != '\0'; p += len + (p[len] != '\0')) {
		len = strcspn(p, "&");
		if (is_word(p, len, "json"))
			*fmt = STATUS_JSON;
		else if (is_word(p, len, "openmetrics"))
			*fmt = STATUS_OPENMETRICS;
		else if (is_word(p, len, "full"))
			*full = true;
	}
}

/* from..to in ms, 0 when either is nonsense or to is earlier. */
static int64_t
elapsed_ms(int64_t from, int64_t to)
{
	if (from < 0 || to < from)
		return 0;
	return to - from;
}

/* ms since the epoch as ISO 8601 UTC; false when it cannot be one. */
static bool
iso_time(int64_t ms, char *out, size_t len)
{
	struct tm	 tm;
	time_t		 t;

	if (ms < 0)
		return false;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return false;
	return true;
}

/* A rate to show: finite and not negative. */
static double
rate(double r)
{
	return isfinite(r) && r > 0 ? r : 0;
}

static uint64_t
rss_bytes(uint64_t kb)
{
	return kb > UINT64_MAX / 1024 ? UINT64_MAX : kb * 1024;
}

/* The name of a state worth a line, or NULL (empty, out of range). */
static const char *
shown_state(uint32_t state)
{
	if (state == SB_EMPTY || state >= SB_NSTATES)
		return NULL;
	return state_names[state];
}

/*
 * Plain text, "-" when empty, padded with blanks to width: what is not
 * printable ASCII becomes '?'.
 */
static void
text_string(struct buf *b, const char *s, size_t max, size_t width)
{
	size_t		 i, n;
	unsigned char	 c;

	n = s == NULL ? 0 : strnlen(s, max);
	if (n == 0)
		buf_putc(b, '-');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		buf_putc(b, c < 0x20 || c > 0x7e ? '?' : (char)c);
	}
	for (i = n == 0 ? 1 : n; i < width; i++)
		buf_putc(b, ' ');
}

/* A JSON string; bytes outside printable ASCII as \u00XX. */
static void
json_string(struct buf *b, const char *s, size_t max)
{
	size_t		 i, n;
	unsigned char	 c;

	n = s == NULL ? 0 : strnlen(s, max);
	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
		} else if (c < 0x20 || c > 0x7e)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

/*
 * An OpenMetrics label value, quotes included: backslash, double quote
 * and newline escaped as the format says; other control bytes and
 * non-ASCII (which may not be valid UTF-8) become '?'.
 */
static void
om_label(struct buf *b, const char *s, size_t max)
{
	size_t		 i, n;
	unsigned char	 c;

	n = s == NULL ? 0 : strnlen(s, max);
	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\\')
			buf_put(b, "\\\\", 2);
		else if (c == '"')
			buf_put(b, "\\\"", 2);
		else if (c == '\n')
			buf_put(b, "\\n", 2);
		else if (c < 0x20 || c > 0x7e)
			buf_putc(b, '?');
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void
text_line_u64(struct buf *b, const char *key, uint64_t v)
{
	buf_printf(b, "%-22s%" PRIu64 "\n", key, v);
}

static void
text_line_queue(struct buf *b, const char *key, long v)
{
	if (v < 0)
		buf_printf(b, "%-22s-\n", key);
	else
		buf_printf(b, "%-22s%ld\n", key, v);
}

static void
render_text(struct buf *b, const struct status_pool *sp, bool full)
{
	const struct status_proc	*pr;
	const struct sb_thread		*t;
	const char			*state;
	char				 when[32];
	size_t				 i;
	unsigned int			 j;

	buf_printf(b, "%-22s", "pool:");
	text_string(b, sp->name, SIZE_MAX, 0);
	buf_printf(b, "\n%-22s", "process manager:");
	text_string(b, sp->pm, SIZE_MAX, 0);
	buf_printf(b, "\n%-22s%s\n", "start time:",
	    iso_time(sp->start_ms, when, sizeof(when)) ? when : "-");
	buf_printf(b, "%-22s%" PRId64 "\n", "start time unix:",
	    sp->start_ms < 0 ? 0 : sp->start_ms / 1000);
	buf_printf(b, "%-22s%" PRId64 "\n", "start since:",
	    elapsed_ms(sp->start_ms, sp->now_ms) / 1000);
	text_line_u64(b, "accepted requests:", sp->accepted);
	buf_printf(b, "%-22s%.3f\n", "requests per second:",
	    rate(sp->requests_per_sec));
	text_line_queue(b, "listen queue:", sp->listen_queue);
	text_line_queue(b, "max listen queue:", sp->listen_queue_max);
	text_line_u64(b, "active threads:", sp->active_threads);
	text_line_u64(b, "idle threads:", sp->idle_threads);
	text_line_u64(b, "total threads:", sp->total_threads);
	text_line_u64(b, "active processes:", sp->active_processes);
	text_line_u64(b, "idle processes:", sp->idle_processes);
	text_line_u64(b, "total processes:", sp->total_processes);
	text_line_u64(b, "max reached:", sp->max_reached);
	text_line_u64(b, "slow requests:", sp->slow_requests);
	text_line_u64(b, "timeouts:", sp->timeouts);
	text_line_u64(b, "restarts:", sp->restarts);

	buf_printf(b, "\n%-10s %-10s %-20s %-12s %-12s %s\n", "pid",
	    "generation", "start time", "requests", "rss kB", "active");
	for (i = 0; i < sp->nprocs; i++) {
		pr = &sp->procs[i];
		buf_printf(b, "%-10ld %-10" PRIu32 " %-20s %-12" PRIu64
		    " %-12" PRIu64 " %u\n", (long)pr->pid, pr->gen,
		    iso_time(pr->started_ms, when, sizeof(when)) ? when : "-",
		    pr->requests, pr->rss_kb, pr->active);
	}
	if (!full)
		return;

	buf_printf(b, "\n%-10s %-6s %-8s %-11s %-8s %s\n", "pid", "thread",
	    "state", "duration ms", "method", "uri");
	for (i = 0; i < sp->nprocs; i++) {
		pr = &sp->procs[i];
		for (j = 0; pr->threads != NULL && j < pr->nthreads; j++) {
			t = &pr->threads[j];
			if ((state = shown_state(t->state)) == NULL)
				continue;
			buf_printf(b, "%-10ld %-6u %-8s ", (long)pr->pid, j,
			    state);
			if (t->state == SB_IDLE) {
				buf_printf(b, "%-11s %-8s -\n", "-", "-");
				continue;
			}
			buf_printf(b, "%-11" PRId64 " ",
			    elapsed_ms(t->start_ms, sp->now_ms));
			text_string(b, t->method, sizeof(t->method), 8);
			buf_putc(b, ' ');
			text_string(b, t->uri, sizeof(t->uri), 0);
			buf_putc(b, '\n');
		}
	}
}

static void
json_key(struct buf *b, const char *key, bool first)
{
	buf_printf(b, "%s\"%s\":", first ? "" : ",", key);
}

static void
json_u64(struct buf *b, const char *key, uint64_t v)
{
	json_key(b, key, false);
	buf_printf(b, "%" PRIu64, v);
}

static void
json_time(struct buf *b, const char *key, const char *key_unix, int64_t ms)
{
	char	 when[32];

	json_key(b, key, false);
	if (iso_time(ms, when, sizeof(when)))
		json_string(b, when, sizeof(when));
	else
		buf_put(b, "null", 4);
	json_key(b, key_unix, false);
	buf_printf(b, "%" PRId64, ms < 0 ? 0 : ms / 1000);
}

static void
json_queue(struct buf *b, const char *key, long v)
{
	json_key(b, key, false);
	if (v < 0)
		buf_put(b, "null", 4);
	else
		buf_printf(b, "%ld", v);
}

static void
json_threads(struct buf *b, const struct status_pool *sp,
    const struct status_proc *pr)
{
	const struct sb_thread	*t;
	const char		*state;
	unsigned int		 j;
	bool			 first = true;

	json_key(b, "threads", false);
	buf_putc(b, '[');
	for (j = 0; pr->threads != NULL && j < pr->nthreads; j++) {
		t = &pr->threads[j];
		if ((state = shown_state(t->state)) == NULL)
			continue;
		buf_printf(b, "%s{\"thread\":%u,\"state\":\"%s\"",
		    first ? "" : ",", j, state);
		first = false;
		if (t->state == SB_IDLE) {
			buf_printf(b, ",\"duration_ms\":null,\"method\":null,"
			    "\"uri\":null}");
			continue;
		}
		buf_printf(b, ",\"duration_ms\":%" PRId64,
		    elapsed_ms(t->start_ms, sp->now_ms));
		json_key(b, "method", false);
		json_string(b, t->method, sizeof(t->method));
		json_key(b, "uri", false);
		json_string(b, t->uri, sizeof(t->uri));
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

static void
render_json(struct buf *b, const struct status_pool *sp, bool full)
{
	const struct status_proc	*pr;
	size_t				 i;

	buf_putc(b, '{');
	json_key(b, "pool", true);
	json_string(b, sp->name, SIZE_MAX);
	json_key(b, "process_manager", false);
	json_string(b, sp->pm, SIZE_MAX);
	json_time(b, "start_time", "start_time_unix", sp->start_ms);
	json_key(b, "start_since", false);
	buf_printf(b, "%" PRId64, elapsed_ms(sp->start_ms, sp->now_ms) / 1000);
	json_u64(b, "accepted_requests", sp->accepted);
	json_key(b, "requests_per_second", false);
	buf_printf(b, "%.3f", rate(sp->requests_per_sec));
	json_queue(b, "listen_queue", sp->listen_queue);
	json_queue(b, "max_listen_queue", sp->listen_queue_max);
	json_u64(b, "active_threads", sp->active_threads);
	json_u64(b, "idle_threads", sp->idle_threads);
	json_u64(b, "total_threads", sp->total_threads);
	json_u64(b, "active_processes", sp->active_processes);
	json_u64(b, "idle_processes", sp->idle_processes);
	json_u64(b, "total_processes", sp->total_processes);
	json_u64(b, "max_reached", sp->max_reached);
	json_u64(b, "slow_requests", sp->slow_requests);
	json_u64(b, "timeouts", sp->timeouts);
	json_u64(b, "restarts", sp->restarts);
	json_key(b, "processes", false);
	buf_putc(b, '[');
	for (i = 0; i < sp->nprocs; i++) {
		pr = &sp->procs[i];
		buf_printf(b, "%s{\"pid\":%ld", i == 0 ? "" : ",",
		    (long)pr->pid);
		json_u64(b, "generation", pr->gen);
		json_time(b, "start_time", "start_time_unix", pr->started_ms);
		json_u64(b, "requests", pr->requests);
		json_u64(b, "rss_kb", pr->rss_kb);
		json_u64(b, "active_threads", pr->active);
		if (full)
			json_threads(b, sp, pr);
		buf_putc(b, '}');
	}
	buf_put(b, "]}\n", 3);
}

/* "# TYPE" and "# HELP" of a metric family. */
static void
om_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

/* The start of a sample: name{pool="..." */
static void
om_sample(struct buf *b, const struct status_pool *sp, const char *name)
{
	buf_printf(b, "%s{pool=", name);
	om_label(b, sp->name, SIZE_MAX);
}

/* A pool-wide sample with one value. */
static void
om_pool_u64(struct buf *b, const struct status_pool *sp, const char *name,
    uint64_t v)
{
	om_sample(b, sp, name);
	buf_printf(b, "} %" PRIu64 "\n", v);
}

/* A sample in seconds from ms, with the ms as a fraction. */
static void
om_seconds(struct buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	buf_printf(b, "%" PRId64 ".%03d\n", ms / 1000, (int)(ms % 1000));
}

static void
om_proc_sample(struct buf *b, const struct status_pool *sp,
    const char *name, const struct status_proc *pr)
{
	om_sample(b, sp, name);
	buf_printf(b, ",pid=\"%ld\"} ", (long)pr->pid);
}

static void
om_threads(struct buf *b, const struct status_pool *sp)
{
	static const char		 name[] =
	    "pooled_thread_request_duration_seconds";
	const struct status_proc	*pr;
	const struct sb_thread		*t;
	const char			*state;
	size_t				 i;
	unsigned int			 j;

	om_family(b, name, "gauge",
	    "How long the request in hand has been running.");
	for (i = 0; i < sp->nprocs; i++) {
		pr = &sp->procs[i];
		for (j = 0; pr->threads != NULL && j < pr->nthreads; j++) {
			t = &pr->threads[j];
			state = shown_state(t->state);
			if (state == NULL || t->state == SB_IDLE)
				continue;
			om_sample(b, sp, name);
			buf_printf(b, ",pid=\"%ld\",thread=\"%u\","
			    "state=\"%s\",method=", (long)pr->pid, j, state);
			om_label(b, t->method, sizeof(t->method));
			buf_put(b, ",uri=", 5);
			om_label(b, t->uri, sizeof(t->uri));
			buf_put(b, "} ", 2);
			om_seconds(b, elapsed_ms(t->start_ms, sp->now_ms));
		}
	}
}

static void
render_openmetrics(struct buf *b, const struct status_pool *sp, bool full)
{
	const struct status_proc	*pr;
	size_t				 i;

	om_family(b, "pooled_start_time_seconds", "gauge",
	    "When the pool started, in seconds since the epoch.");
	om_sample(b, sp, "pooled_start_time_seconds");
	buf_put(b, "} ", 2);
	om_seconds(b, sp->start_ms);
	om_family(b, "pooled_uptime_seconds", "gauge",
	    "Seconds since the pool started.");
	om_pool_u64(b, sp, "pooled_uptime_seconds",
	    (uint64_t)elapsed_ms(sp->start_ms, sp->now_ms) / 1000);
	om_family(b, "pooled_accepted_requests", "counter",
	    "Requests accepted since the pool started.");
	om_pool_u64(b, sp, "pooled_accepted_requests_total", sp->accepted);
	om_family(b, "pooled_requests_per_second", "gauge",
	    "Recent requests per second.");
	om_sample(b, sp, "pooled_requests_per_second");
	buf_printf(b, "} %.3f\n", rate(sp->requests_per_sec));
	if (sp->listen_queue >= 0) {
		om_family(b, "pooled_listen_queue", "gauge",
		    "Connections waiting to be accepted.");
		om_pool_u64(b, sp, "pooled_listen_queue",
		    (uint64_t)sp->listen_queue);
	}
	if (sp->listen_queue_max >= 0) {
		om_family(b, "pooled_listen_queue_max", "gauge",
		    "Most connections ever waiting to be accepted.");
		om_pool_u64(b, sp, "pooled_listen_queue_max",
		    (uint64_t)sp->listen_queue_max);
	}
	om_family(b, "pooled_threads", "gauge", "Threads by state.");
	om_sample(b, sp, "pooled_threads");
	buf_printf(b, ",state=\"active\"} %u\n", sp->active_threads);
	om_sample(b, sp, "pooled_threads");
	buf_printf(b, ",state=\"idle\"} %u\n", sp->idle_threads);
	om_family(b, "pooled_total_threads", "gauge", "Threads.");
	om_pool_u64(b, sp, "pooled_total_threads", sp->total_threads);
	om_family(b, "pooled_processes", "gauge", "Processes by state.");
	om_sample(b, sp, "pooled_processes");
	buf_printf(b, ",state=\"active\"} %u\n", sp->active_processes);
	om_sample(b, sp, "pooled_processes");
	buf_printf(b, ",state=\"idle\"} %u\n", sp->idle_processes);
	om_family(b, "pooled_total_processes", "gauge", "Processes.");
	om_pool_u64(b, sp, "pooled_total_processes", sp->total_processes);
	om_family(b, "pooled_max_reached", "counter",
	    "Times every thread was busy.");
	om_pool_u64(b, sp, "pooled_max_reached_total", sp->max_reached);
	om_family(b, "pooled_slow_requests", "counter", "Slow requests.");
	om_pool_u64(b, sp, "pooled_slow_requests_total", sp->slow_requests);
	om_family(b, "pooled_timeouts", "counter", "Requests timed out.");
	om_pool_u64(b, sp, "pooled_timeouts_total", sp->timeouts);
	om_family(b, "pooled_restarts", "counter", "Worker restarts.");
	om_pool_u64(b, sp, "pooled_restarts_total", sp->restarts);

	if (sp->nprocs > 0) {
		om_family(b, "pooled_process_start_time_seconds", "gauge",
		    "When the process started, in seconds since the epoch.");
		for (i = 0; i < sp->nprocs; i++) {
			pr = &sp->procs[i];
			om_proc_sample(b, sp,
			    "pooled_process_start_time_seconds", pr);
			om_seconds(b, pr->started_ms);
		}
		om_family(b, "pooled_process_generation", "gauge",
		    "The configuration generation the process runs.");
		for (i = 0; i < sp->nprocs; i++) {
			om_proc_sample(b, sp, "pooled_process_generation",
			    &sp->procs[i]);
			buf_printf(b, "%" PRIu32 "\n", sp->procs[i].gen);
		}
		om_family(b, "pooled_process_requests", "counter",
		    "Requests the process has served.");
		for (i = 0; i < sp->nprocs; i++) {
			om_proc_sample(b, sp, "pooled_process_requests_total",
			    &sp->procs[i]);
			buf_printf(b, "%" PRIu64 "\n", sp->procs[i].requests);
		}
		om_family(b, "pooled_process_rss_bytes", "gauge",
		    "Resident set size of the process.");
		for (i = 0; i < sp->nprocs; i++) {
			om_proc_sample(b, sp, "pooled_process_rss_bytes",
			    &sp->procs[i]);
			buf_printf(b, "%" PRIu64 "\n",
			    rss_bytes(sp->procs[i].rss_kb));
		}
		om_family(b, "pooled_process_active_threads", "gauge",
		    "Threads of the process not idle.");
		for (i = 0; i < sp->nprocs; i++) {
			om_proc_sample(b, sp, "pooled_process_active_threads",
			    &sp->procs[i]);
			buf_printf(b, "%u\n", sp->procs[i].active);
		}
	}
	if (full)
		om_threads(b, sp);
	buf_put(b, "# EOF\n", 6);
}

/*
 * Render one pool's status; returns a malloc'd NUL-terminated string (its
 * length in *len), or NULL when out of memory.
 */
char *
status_render(const struct status_pool *sp, enum status_format fmt,
    bool full, size_t *len)
{
	struct buf	 b = { NULL, 0, 0, false };

	switch (fmt) {
	case STATUS_JSON:
		render_json(&b, sp, full);
		break;
	case STATUS_OPENMETRICS:
		render_openmetrics(&b, sp, full);
		break;
	case STATUS_TEXT:
	default:
		render_text(&b, sp, full);
		break;
	}
	if (b.failed || b.p == NULL) {
		free(b.p);
		log_warnx("status_render: out of memory");
		return NULL;
	}
	*len = b.len;
	return b.p;
}
