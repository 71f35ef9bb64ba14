/*
 * sleep: a slow handler, for trying timeouts, graceful stops and how many
 * requests a pool serves at once.
 *
 * Each request sleeps for the "ms" module option (default 10), or for
 * ms=N from the query string, at most 60000, then answers "slept N ms".
 * A bad ms option keeps the pool from starting; a bad ms parameter gets
 * a 400.
 */
#define _POSIX_C_SOURCE	200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pooled.h>

#define SLEEP_DEFAULT_MS	10
#define SLEEP_MAX_MS		60000

static long	 default_ms = SLEEP_DEFAULT_MS;	/* set by process_init */

/*
 * Parse a millisecond count that ends at a NUL or at the '&' before the
 * next query parameter.  Only digits are accepted; large values are
 * capped at SLEEP_MAX_MS.
 */
static int
parse_ms(const char *s, long *ms)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' && *end != '&')
		return -1;
	if (errno == ERANGE || v > SLEEP_MAX_MS)
		v = SLEEP_MAX_MS;
	*ms = v;
	return 0;
}

/* The value of key in a query string "a=1&b=2", or NULL. */
static const char *
query_value(const char *query, const char *key)
{
	size_t	 klen = strlen(key);

	while (query != NULL && *query != '\0') {
		if (strncmp(query, key, klen) == 0 && query[klen] == '=')
			return query + klen + 1;
		if ((query = strchr(query, '&')) != NULL)
			query++;
	}
	return NULL;
}

static int
sleep_init(void)
{
	const char	*s;

	if ((s = pooled_option("ms")) != NULL &&
	    parse_ms(s, &default_ms) == -1) {
		pooled_log(POOLED_LOG_ERROR, "sleep: bad ms option \"%s\"", s);
		return -1;
	}
	return 0;
}

static int
sleep_handle(struct pooled_req *req)
{
	struct timespec	 ts;
	const char	*s;
	long		 ms = default_ms;

	s = query_value(pooled_req_param(req, "QUERY_STRING"), "ms");
	if (s != NULL && parse_ms(s, &ms) == -1)
		return pooled_req_printf(req, "Status: 400 Bad Request\r\n"
		    "Content-Type: text/plain\r\n\r\n"
		    "ms must be a number of milliseconds\n");

	/*
	 * A signal (one the module's host sends, say) interrupts nanosleep;
	 * carry on with the time that remained so every request sleeps in
	 * full.
	 */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		if (errno != EINTR)
			return -1;

	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "slept %ld ms\n", ms);
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = sleep_init,
	.handle = sleep_handle,
};
