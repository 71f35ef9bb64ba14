/*
 * crash: a test handler that kills its worker process on demand.
 *
 * A request whose query string contains "crash" dies of SIGSEGV; one
 * with "scribble" first fills its thread's scoreboard slot with garbage
 * (as a compromised module could), then dies; one with "sleep" sleeps
 * five seconds; any other request gets "alive".  Tests use it to check
 * that the master reaps and respawns a crashed worker, that its other
 * workers go on, and that the crash report names the requests in flight
 * and stays bounded whatever the row says.
 */
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooled.h>

/* The null store is the point: keep UBSan builds from reporting it. */
#if defined(__GNUC__) && __GNUC__ >= 8
#define NO_SANITIZE	__attribute__((no_sanitize("undefined")))
#else
#define NO_SANITIZE
#endif

static void NO_SANITIZE
crash(void)
{
	/*
	 * Both the pointer and its target are volatile, so the compiler
	 * neither drops the store nor, seeing the NULL, turns it into a trap
	 * instruction (SIGILL).  A real fault is delivered even while SIGSEGV
	 * is blocked, which raise() is not: pooled's worker threads block
	 * most signals.  raise() and abort() are only fallbacks.
	 */
	volatile int *volatile	 p = NULL;

	*p = 1;
	raise(SIGSEGV);
	abort();
}

/*
 * The layout of pooled's struct sb_thread (src/pooled.h), which a module
 * is not meant to know: uri is at 40, method at 24, start_ms at 8.
 */
#define SLOT_START	8
#define SLOT_METHOD	24
#define SLOT_URI	40
#define SLOT_URI_MAX	256

/*
 * Find uri in a shared writable mapping (the scoreboard) and overwrite
 * the slot around it: an unterminated uri of escapes and high bytes, a
 * method likewise, a start time far in the past.  Other threads write
 * the segment meanwhile, as a hostile module would not care: byte loops
 * through volatile pointers (no memcmp a sanitizer intercepts), and no
 * TSan instrumentation.
 */
#if defined(__GNUC__) && __GNUC__ >= 8
#define NO_TSAN		__attribute__((no_sanitize("thread")))
#else
#define NO_TSAN
#endif

static int NO_TSAN
same(const volatile char *p, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] != s[i])
			return 0;
	return 1;
}

static void NO_TSAN
fill(volatile char *p, int c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (char)c;
}

static void NO_TSAN
scribble(const char *uri)
{
	FILE		*f;
	char		 line[512];
	unsigned long	 lo, hi;
	char		 perms[8];
	size_t		 n = strlen(uri);
	int64_t		 when = INT64_MIN;

	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char	*p, *end;

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strcmp(perms, "rw-s") != 0)
			continue;
		end = (char *)hi;
		for (p = (char *)lo; p + n < end; p++) {
			if (!same(p, uri, n + 1))
				continue;
			fill(p, '\x1b', SLOT_URI_MAX);
			fill(p, 0xff, 8);
			fill(p - SLOT_URI + SLOT_METHOD, '\x7f', 16);
			*(volatile int64_t *)(void *)(p - SLOT_URI +
			    SLOT_START) = when;
		}
	}
	fclose(f);
}

static int
crash_handle(struct pooled_req *req)
{
	const char	*query;

	query = pooled_req_param(req, "QUERY_STRING");
	if (query != NULL && strstr(query, "sleep") != NULL) {
		pooled_req_log(req, POOLED_LOG_NOTICE, "crash: sleeping");
		sleep(5);
	}
	if (query != NULL && strstr(query, "scribble") != NULL &&
	    pooled_req_param(req, "REQUEST_URI") != NULL) {
		scribble(pooled_req_param(req, "REQUEST_URI"));
		pooled_req_log(req, POOLED_LOG_NOTICE, "crash: crashing now");
		crash();
	}
	if (query != NULL && strstr(query, "crash") != NULL) {
		pooled_req_log(req, POOLED_LOG_NOTICE, "crash: crashing now");
		crash();
	}
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "alive\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = crash_handle,
};
