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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Whether s occurs within the first len bytes of p. */
static bool
strstr_len(const char *p, size_t len, const char *s)
{
	size_t	 n = strlen(s), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (strncasecmp(p + i, s, n) == 0)
			return true;
	return false;
}

/*
 * Which format and detail a status query string asks for: words split on
 * '&' ("json", "openmetrics", "full"), the last format named winning;
 * NULL or "" leaves *fmt as it is (the caller's default).  A word may end
 * in '=' with no value, as Prometheus writes `params: {openmetrics:
 * ['']}`.  An unknown word, or one with a value, is -1 with *why set: a
 * typo would otherwise quietly answer in another format.
 */
int
status_parse_query(const char *query, enum status_format *fmt, bool *full,
    const char **why)
{
	const char	*p;
	size_t		 len, wlen;

	*full = false;
	*why = NULL;
	if (query == NULL)
		return 0;
	if (*query == '?')
		query++;
	for (p = query; *p != '\0'; p += len + (p[len] != '\0')) {
		len = strcspn(p, "&");
		wlen = len > 0 && p[len - 1] == '=' ? len - 1 : len;
		if (len == 0)
			continue;
		if (is_word(p, wlen, "json"))
			*fmt = STATUS_JSON;
		else if (is_word(p, wlen, "openmetrics"))
			*fmt = STATUS_OPENMETRICS;
		else if (is_word(p, wlen, "full"))
			*full = true;
		else {
			*why = memchr(p, '=', len) != NULL ? "a query word "
			    "takes no value (json, openmetrics, full)" :
			    "unknown query word (json, openmetrics, full)";
			return -1;
		}
	}
	return 0;
}

/* Whether a media range names type/subtype (case-insensitive). */
static bool
media_is(const char *p, size_t len, const char *type)
{
	size_t	 n = strlen(type);

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	return len >= n && strncasecmp(p, type, n) == 0 &&
	    (len == n || p[n] == ';' || p[n] == ' ' || p[n] == '\t');
}

/* The q of a media range ("q=0.5"), 1 when it has none. */
static double
media_q(const char *p, size_t len)
{
	char	 num[16];
	size_t	 i, n;

	for (i = 0; i < len; i++) {
		if (p[i] != ';')
			continue;
		while (i + 1 < len && (p[i + 1] == ' ' || p[i + 1] == '\t'))
			i++;
		if (len - i > 3 && (p[i + 1] == 'q' || p[i + 1] == 'Q') &&
		    p[i + 2] == '=') {
			for (n = 0; n < sizeof(num) - 1 && i + 3 + n < len &&
			    p[i + 3 + n] != ';'; n++)
				num[n] = p[i + 3 + n];
			num[n] = '\0';
			return strtod(num, NULL);
		}
	}
	return 1;
}

/*
 * The metrics format an Accept header asks for: OpenMetrics or the
 * Prometheus text format 0.0.4 (text/plain with version=0.0.4), the one
 * with the higher q, OpenMetrics on a tie (Prometheus lists both);
 * STATUS_TEXT when it names neither.
 */
enum status_format
status_accept(const char *accept)
{
	const char	*p;
	size_t		 len;
	double		 q, om = 0, prom = 0;

	if (accept == NULL)
		return STATUS_TEXT;
	for (p = accept; *p != '\0'; p += len + (p[len] != '\0')) {
		len = strcspn(p, ",");
		q = media_q(p, len);
		if (media_is(p, len, "application/openmetrics-text") &&
		    q > om)
			om = q;
		else if (media_is(p, len, "text/plain") &&
		    strstr_len(p, len, "version=0.0.4") && q > prom)
			prom = q;
	}
	if (om > 0 && om >= prom)
		return STATUS_OPENMETRICS;
	return prom > 0 ? STATUS_PROMETHEUS : STATUS_TEXT;
}

/* The Content-Type of a format. */
const char *
status_content_type(enum status_format fmt)
{
	switch (fmt) {
	case STATUS_JSON:
		return "application/json";
	case STATUS_OPENMETRICS:
		return "application/openmetrics-text; version=1.0.0; "
		    "charset=utf-8";
	case STATUS_PROMETHEUS:
		return "text/plain; version=0.0.4; charset=utf-8";
	case STATUS_TEXT:
	default:
		return "text/plain; charset=utf-8";
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
	buf_printf(b, "%-22s%s\n", "last reload:",
	    iso_time(sp->reload_ms, when, sizeof(when)) ? when : "-");
	text_line_u64(b, "accepted requests:", sp->accepted);
	buf_printf(b, "%-22s%.3f\n", "requests/s (10 s):", rate(sp->rate10));
	buf_printf(b, "%-22s%.3f\n", "requests/s (60 s):", rate(sp->rate60));
	text_line_u64(b, "requests in flight:", sp->in_flight);
	text_line_queue(b, "listen queue:", sp->listen_queue);
	text_line_queue(b, "max listen queue:", sp->listen_queue_peak);
	text_line_queue(b, "listen queue len:", sp->listen_backlog);
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
	text_line_u64(b, "cgi running:", sp->cgi_running);
	text_line_u64(b, "cgi killed:", sp->cgi_killed);
	buf_printf(b, "%-22s", "responses:");
	for (i = 0; i < SB_STATUS_N; i++)
		buf_printf(b, "%s%zuxx %" PRIu64, i == 0 ? "" : ", ", i + 1,
		    sp->status_class[i]);
	buf_printf(b, "\n%-22s", "restarts by cause:");
	for (i = RESTART_NONE + 1; i < RESTART_NCAUSES; i++)
		buf_printf(b, "%s%s %" PRIu64, i == RESTART_NONE + 1 ? "" :
		    ", ", restart_cause_name((enum restart_cause)i),
		    sp->restarts_by[i]);
	buf_putc(b, '\n');

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
	json_time(b, "last_reload", "last_reload_unix", sp->reload_ms);
	json_u64(b, "accepted_requests", sp->accepted);
	json_key(b, "requests_per_second_10s", false);
	buf_printf(b, "%.3f", rate(sp->rate10));
	json_key(b, "requests_per_second_60s", false);
	buf_printf(b, "%.3f", rate(sp->rate60));
	json_u64(b, "requests_in_flight", sp->in_flight);
	json_queue(b, "listen_queue", sp->listen_queue);
	json_queue(b, "max_listen_queue", sp->listen_queue_peak);
	json_queue(b, "listen_queue_len", sp->listen_backlog);
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
	json_u64(b, "cgi_running", sp->cgi_running);
	json_u64(b, "cgi_killed", sp->cgi_killed);
	json_key(b, "responses", false);
	for (i = 0; i < SB_STATUS_N; i++)
		buf_printf(b, "%s\"%zuxx\":%" PRIu64, i == 0 ? "{" : ",", i + 1,
		    sp->status_class[i]);
	buf_putc(b, '}');
	json_key(b, "restarts_by_cause", false);
	for (i = RESTART_NONE + 1; i < RESTART_NCAUSES; i++)
		buf_printf(b, "%s\"%s\":%" PRIu64, i == RESTART_NONE + 1 ?
		    "{" : ",", restart_cause_name((enum restart_cause)i),
		    sp->restarts_by[i]);
	buf_putc(b, '}');
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

/*
 * Metrics.  Both formats hold one family per metric, every pool a sample
 * in it with its "pool" label (a family may not be split: promtool's
 * "second TYPE line").  They differ in little: a counter's family is
 * named without "_total" in OpenMetrics and with it in 0.0.4, and only
 * OpenMetrics ends in "# EOF".
 */
struct metric_out {
	struct buf		*b;
	enum status_format	 fmt;
	const struct status_pool *sps;
	size_t			 n;
};

/* "# HELP" and "# TYPE" of a family; a counter's samples end in _total. */
static void
m_family(struct metric_out *m, const char *name, const char *type,
    const char *help)
{
	const char	*total = m->fmt == STATUS_PROMETHEUS &&
	    strcmp(type, "counter") == 0 ? "_total" : "";

	buf_printf(m->b, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, total,
	    help, name, total, type);
}

/* The start of a sample: name{pool="..." */
static void
m_sample(struct buf *b, const struct status_pool *sp, const char *name,
    const char *suffix)
{
	buf_printf(b, "%s%s{pool=", name, suffix);
	om_label(b, sp->name, SIZE_MAX);
}

/* A sample in seconds from ms, with the ms as a fraction. */
static void
m_seconds(struct buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	buf_printf(b, "%" PRId64 ".%03d\n", ms / 1000, (int)(ms % 1000));
}

/* A sample in seconds from us. */
static void
m_seconds_us(struct buf *b, uint64_t us)
{
	buf_printf(b, "%" PRIu64 ".%06u\n", us / 1000000,
	    (unsigned int)(us % 1000000));
}

enum m_kind { M_U64, M_UINT };

/* A family with one plain value a pool. */
struct m_simple {
	const char	*name;
	const char	*type;
	const char	*help;
	size_t		 off;		/* in struct status_pool */
	enum m_kind	 kind;
};

#define M_AT(f, k)	offsetof(struct status_pool, f), k

static const struct m_simple m_simples[] = {
	{ "pooled_accepted_requests", "counter",
	    "Requests served since pooled started, reloads included.",
	    M_AT(accepted, M_U64) },
	{ "pooled_requests_in_flight", "gauge",
	    "Requests in hand: their header read, their response not done.",
	    M_AT(in_flight, M_UINT) },
	{ "pooled_total_threads", "gauge", "Threads.",
	    M_AT(total_threads, M_UINT) },
	{ "pooled_total_processes", "gauge", "Worker processes.",
	    M_AT(total_processes, M_UINT) },
	{ "pooled_max_reached", "counter",
	    "Times every thread was busy at max_processes.",
	    M_AT(max_reached, M_U64) },
	{ "pooled_slow_requests", "counter",
	    "Requests that outlived slow_request.",
	    M_AT(slow_requests, M_U64) },
	{ "pooled_timeouts", "counter",
	    "Requests that outlived request_timeout.",
	    M_AT(timeouts, M_U64) },
	{ "pooled_cgi_running", "gauge", "CGI programs running.",
	    M_AT(cgi_running, M_UINT) },
	{ "pooled_cgi_killed", "counter",
	    "CGI programs killed after cgi_timeout.",
	    M_AT(cgi_killed, M_U64) }
};

static uint64_t
m_value(const struct status_pool *sp, const struct m_simple *ms)
{
	const char	*p = (const char *)sp + ms->off;

	if (ms->kind == M_UINT)
		return *(const unsigned int *)(const void *)p;
	return *(const uint64_t *)(const void *)p;
}

static void
m_simple(struct metric_out *m, const struct m_simple *ms)
{
	const char	*suffix = strcmp(ms->type, "counter") == 0 ?
	    "_total" : "";
	size_t		 i;

	m_family(m, ms->name, ms->type, ms->help);
	for (i = 0; i < m->n; i++) {
		m_sample(m->b, &m->sps[i], ms->name, suffix);
		buf_printf(m->b, "} %" PRIu64 "\n", m_value(&m->sps[i], ms));
	}
}

/* The le label of duration bucket i, in seconds, canonical. */
static void
m_le(struct buf *b, unsigned int i)
{
	int64_t	 us;

	if (i >= SB_HIST_BOUNDS) {
		buf_put(b, "+Inf", 4);
		return;
	}
	us = sb_hist_bound_us(i);
	if (us % 1000000 == 0)
		buf_printf(b, "%" PRId64 ".0", us / 1000000);
	else
		buf_printf(b, "%g", (double)us / 1e6);
}

static void
m_histogram(struct metric_out *m)
{
	static const char	 name[] = "pooled_request_duration_seconds";
	const struct status_pool *sp;
	uint64_t		 cum;
	size_t			 i;
	unsigned int		 k;

	m_family(m, name, "histogram", "How long requests took, from their "
	    "header read to their response done.");
	for (i = 0; i < m->n; i++) {
		sp = &m->sps[i];
		cum = 0;
		for (k = 0; k < SB_HIST_N; k++) {
			cum = sb_sat_add(cum, sp->hist[k]);
			m_sample(m->b, sp, name, "_bucket");
			buf_put(m->b, ",le=\"", 5);
			m_le(m->b, k);
			buf_printf(m->b, "\"} %" PRIu64 "\n", cum);
		}
		/* The +Inf bucket is the count: the same sum. */
		m_sample(m->b, sp, name, "_count");
		buf_printf(m->b, "} %" PRIu64 "\n", cum);
		m_sample(m->b, sp, name, "_sum");
		buf_put(m->b, "} ", 2);
		m_seconds_us(m->b, sp->duration_us);
	}
}

static void
m_labelled(struct metric_out *m)
{
	const struct status_pool *sp;
	size_t			 i;
	unsigned int		 k;
	bool			 any;

	m_family(m, "pooled_responses", "counter",
	    "Responses by status class.");
	for (i = 0; i < m->n; i++)
		for (k = 0; k < SB_STATUS_N; k++) {
			m_sample(m->b, &m->sps[i], "pooled_responses",
			    "_total");
			buf_printf(m->b, ",code=\"%uxx\"} %" PRIu64 "\n", k + 1,
			    m->sps[i].status_class[k]);
		}
	m_family(m, "pooled_requests_per_second", "gauge",
	    "Requests per second over the last 10 s and 60 s.");
	for (i = 0; i < m->n; i++) {
		sp = &m->sps[i];
		m_sample(m->b, sp, "pooled_requests_per_second", "");
		buf_printf(m->b, ",window=\"10s\"} %.3f\n", rate(sp->rate10));
		m_sample(m->b, sp, "pooled_requests_per_second", "");
		buf_printf(m->b, ",window=\"60s\"} %.3f\n", rate(sp->rate60));
	}
	m_family(m, "pooled_restarts", "counter",
	    "Workers started in another's place, by cause.");
	for (i = 0; i < m->n; i++)
		for (k = RESTART_NONE + 1; k < RESTART_NCAUSES; k++) {
			m_sample(m->b, &m->sps[i], "pooled_restarts",
			    "_total");
			buf_printf(m->b, ",cause=\"%s\"} %" PRIu64 "\n",
			    restart_cause_name(k), m->sps[i].restarts_by[k]);
		}
	m_family(m, "pooled_threads", "gauge", "Threads by state.");
	for (i = 0; i < m->n; i++) {
		sp = &m->sps[i];
		m_sample(m->b, sp, "pooled_threads", "");
		buf_printf(m->b, ",state=\"active\"} %u\n", sp->active_threads);
		m_sample(m->b, sp, "pooled_threads", "");
		buf_printf(m->b, ",state=\"idle\"} %u\n", sp->idle_threads);
	}
	m_family(m, "pooled_processes", "gauge", "Processes by state.");
	for (i = 0; i < m->n; i++) {
		sp = &m->sps[i];
		m_sample(m->b, sp, "pooled_processes", "");
		buf_printf(m->b, ",state=\"active\"} %u\n",
		    sp->active_processes);
		m_sample(m->b, sp, "pooled_processes", "");
		buf_printf(m->b, ",state=\"idle\"} %u\n", sp->idle_processes);
	}
	/* What the kernel does not say is left out, not made 0. */
	for (i = 0, any = false; i < m->n; i++)
		any = any || m->sps[i].listen_queue >= 0;
	if (any) {
		m_family(m, "pooled_listen_queue", "gauge",
		    "Connections waiting to be accepted now.");
		for (i = 0; i < m->n; i++)
			if (m->sps[i].listen_queue >= 0) {
				m_sample(m->b, &m->sps[i],
				    "pooled_listen_queue", "");
				buf_printf(m->b, "} %ld\n",
				    m->sps[i].listen_queue);
			}
	}
	for (i = 0, any = false; i < m->n; i++)
		any = any || m->sps[i].listen_queue_peak >= 0;
	if (any) {
		m_family(m, "pooled_listen_queue_peak", "gauge",
		    "Most connections the master saw waiting to be "
		    "accepted (sampled once a second).");
		for (i = 0; i < m->n; i++)
			if (m->sps[i].listen_queue_peak >= 0) {
				m_sample(m->b, &m->sps[i],
				    "pooled_listen_queue_peak", "");
				buf_printf(m->b, "} %ld\n",
				    m->sps[i].listen_queue_peak);
			}
	}
	for (i = 0, any = false; i < m->n; i++)
		any = any || m->sps[i].listen_backlog >= 0;
	if (any) {
		m_family(m, "pooled_listen_backlog", "gauge",
		    "The listen socket's backlog: most connections that may "
		    "wait.");
		for (i = 0; i < m->n; i++)
			if (m->sps[i].listen_backlog >= 0) {
				m_sample(m->b, &m->sps[i],
				    "pooled_listen_backlog", "");
				buf_printf(m->b, "} %ld\n",
				    m->sps[i].listen_backlog);
			}
	}
}

static void
m_proc_sample(struct buf *b, const struct status_pool *sp,
    const char *name, const char *suffix, const struct status_proc *pr)
{
	m_sample(b, sp, name, suffix);
	buf_printf(b, ",pid=\"%ld\"} ", (long)pr->pid);
}

static void
m_procs(struct metric_out *m)
{
	const struct status_pool *sp;
	const struct status_proc *pr;
	size_t			 i, j, procs = 0;

	for (i = 0; i < m->n; i++)
		procs += m->sps[i].nprocs;
	if (procs == 0)
		return;
	m_family(m, "pooled_process_start_time_seconds", "gauge",
	    "When the process started, in seconds since the epoch.");
	for (i = 0; i < m->n; i++)
		for (sp = &m->sps[i], j = 0; j < sp->nprocs; j++) {
			pr = &sp->procs[j];
			m_proc_sample(m->b, sp,
			    "pooled_process_start_time_seconds", "", pr);
			m_seconds(m->b, pr->started_ms);
		}
	m_family(m, "pooled_process_generation", "gauge",
	    "The configuration generation the process runs.");
	for (i = 0; i < m->n; i++)
		for (sp = &m->sps[i], j = 0; j < sp->nprocs; j++) {
			m_proc_sample(m->b, sp, "pooled_process_generation",
			    "", &sp->procs[j]);
			buf_printf(m->b, "%" PRIu32 "\n", sp->procs[j].gen);
		}
	m_family(m, "pooled_process_requests", "counter",
	    "Requests the process has served.");
	for (i = 0; i < m->n; i++)
		for (sp = &m->sps[i], j = 0; j < sp->nprocs; j++) {
			m_proc_sample(m->b, sp, "pooled_process_requests",
			    "_total", &sp->procs[j]);
			buf_printf(m->b, "%" PRIu64 "\n",
			    sp->procs[j].requests);
		}
	m_family(m, "pooled_process_rss_bytes", "gauge",
	    "Resident set size of the process.");
	for (i = 0; i < m->n; i++)
		for (sp = &m->sps[i], j = 0; j < sp->nprocs; j++) {
			m_proc_sample(m->b, sp, "pooled_process_rss_bytes",
			    "", &sp->procs[j]);
			buf_printf(m->b, "%" PRIu64 "\n",
			    rss_bytes(sp->procs[j].rss_kb));
		}
	m_family(m, "pooled_process_active_threads", "gauge",
	    "Threads of the process not idle.");
	for (i = 0; i < m->n; i++)
		for (sp = &m->sps[i], j = 0; j < sp->nprocs; j++) {
			m_proc_sample(m->b, sp,
			    "pooled_process_active_threads", "",
			    &sp->procs[j]);
			buf_printf(m->b, "%u\n", sp->procs[j].active);
		}
}

static void
m_threads(struct metric_out *m)
{
	static const char		 name[] =
	    "pooled_thread_request_duration_seconds";
	const struct status_pool	*sp;
	const struct status_proc	*pr;
	const struct sb_thread		*t;
	const char			*state;
	size_t				 i, p;
	unsigned int			 j;

	m_family(m, name, "gauge",
	    "How long the request in hand has been running.");
	for (p = 0; p < m->n; p++) {
		sp = &m->sps[p];
		for (i = 0; i < sp->nprocs; i++) {
			pr = &sp->procs[i];
			for (j = 0; pr->threads != NULL && j < pr->nthreads;
			    j++) {
				t = &pr->threads[j];
				state = shown_state(t->state);
				if (state == NULL || t->state == SB_IDLE)
					continue;
				m_sample(m->b, sp, name, "");
				buf_printf(m->b, ",pid=\"%ld\",thread=\"%u\","
				    "state=\"%s\",method=", (long)pr->pid, j,
				    state);
				om_label(m->b, t->method, sizeof(t->method));
				buf_put(m->b, ",uri=", 5);
				om_label(m->b, t->uri, sizeof(t->uri));
				buf_put(m->b, "} ", 2);
				m_seconds(m->b, elapsed_ms(t->start_ms,
				    sp->now_ms));
			}
		}
	}
}

static void
render_metrics(struct buf *b, const struct status_pool *sps, size_t n,
    enum status_format fmt, bool full)
{
	struct metric_out	 m = { b, fmt, sps, n };
	size_t			 i;

	/* pooled's own, the same in every pool: no pool label. */
	if (n > 0) {
		m_family(&m, "pooled_start_time_seconds", "gauge",
		    "When pooled started, in seconds since the epoch.");
		buf_put(b, "pooled_start_time_seconds ", 26);
		m_seconds(b, sps[0].start_ms);
		m_family(&m, "pooled_last_reload_timestamp_seconds", "gauge",
		    "When the last reload took effect (or pooled started), "
		    "in seconds since the epoch.");
		buf_put(b, "pooled_last_reload_timestamp_seconds ", 37);
		m_seconds(b, sps[0].reload_ms > 0 ? sps[0].reload_ms :
		    sps[0].start_ms);
		m_family(&m, "pooled_uptime_seconds", "gauge",
		    "Seconds since pooled started.");
		buf_printf(b, "pooled_uptime_seconds %" PRId64 "\n",
		    elapsed_ms(sps[0].start_ms, sps[0].now_ms) / 1000);
	}
	for (i = 0; i < sizeof(m_simples) / sizeof(m_simples[0]); i++)
		m_simple(&m, &m_simples[i]);
	m_histogram(&m);
	m_labelled(&m);
	m_procs(&m);
	if (full)
		m_threads(&m);
	if (fmt == STATUS_OPENMETRICS)
		buf_put(b, "# EOF\n", 6);
}

/*
 * Render the metrics of n pools in format fmt (STATUS_OPENMETRICS or
 * STATUS_PROMETHEUS), one family per metric; a malloc'd string (its
 * length in *len), or NULL when out of memory.
 */
char *
status_render_metrics(const struct status_pool *sps, size_t n,
    enum status_format fmt, bool full, size_t *len)
{
	struct buf	 b = { NULL, 0, 0, false };

	render_metrics(&b, sps, n, fmt, full);
	if (b.failed || b.p == NULL) {
		free(b.p);
		log_warnx("status_render: out of memory");
		return NULL;
	}
	*len = b.len;
	return b.p;
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
	case STATUS_PROMETHEUS:
		render_metrics(&b, sp, 1, fmt, full);
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
