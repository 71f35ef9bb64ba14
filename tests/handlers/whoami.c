/*
 * whoami: a test handler that tells which worker ran a request, for the
 * tests that kill or replace workers under load.  Each request logs
 * "whoami: start id=ID" (the id query parameter) as it starts, so the log
 * line's pid names the worker it was in flight on even when that worker
 * is killed before it answers; then it sleeps for ms=N from the query
 * string (default 0, at most 60000) and answers "pid PID id ID".
 */
#define _POSIX_C_SOURCE	200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pooled.h>

#define WHOAMI_MAX_MS	60000
#define WHOAMI_ID_MAX	32

/*
 * Copy the value of key in a query string "a=1&b=2" into buf (at most
 * len - 1 bytes); "-" when it is not there.
 */
static void
query_value(const char *query, const char *key, char *buf, size_t len)
{
	size_t	 klen = strlen(key), n;

	while (query != NULL && *query != '\0') {
		if (strncmp(query, key, klen) == 0 && query[klen] == '=') {
			query += klen + 1;
			n = strcspn(query, "&");
			if (n >= len)
				n = len - 1;
			memcpy(buf, query, n);
			buf[n] = '\0';
			return;
		}
		if ((query = strchr(query, '&')) != NULL)
			query++;
	}
	strcpy(buf, "-");
}

static int
whoami_handle(struct pooled_req *req)
{
	const char	*query = pooled_req_param(req, "QUERY_STRING");
	char		 id[WHOAMI_ID_MAX], ms[WHOAMI_ID_MAX];
	struct timespec	 ts;
	long		 n;

	query_value(query, "id", id, sizeof(id));
	query_value(query, "ms", ms, sizeof(ms));
	pooled_req_log(req, POOLED_LOG_NOTICE, "whoami: start id=%s", id);
	n = strtol(ms, NULL, 10);
	if (n < 0)
		n = 0;
	if (n > WHOAMI_MAX_MS)
		n = WHOAMI_MAX_MS;
	/* Sleep in full, whatever signal pooled sends the thread. */
	ts.tv_sec = n / 1000;
	ts.tv_nsec = (n % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1)
		if (errno != EINTR)
			return -1;
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "pid %ld id %s\n", (long)getpid(), id);
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = whoami_handle,
};
