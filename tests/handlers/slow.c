/*
 * slow: a test handler whose requests take a while in a function with a
 * name a backtrace can show: slow_module_sleeps is exported (not static),
 * so dladdr(3) resolves it, as it resolves any module function that is
 * not static.  "?ms=N" sleeps N ms (at most 10000; default 3000),
 * carrying on after a signal with the time that remained.  "?spin=N"
 * computes for N ms instead (a busy loop, at most 10000), as a handler
 * with heavy work does.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pooled.h>

void	slow_module_sleeps(long ms);

/* Not inlined, so it has a frame of its own. */
__attribute__((noinline)) void
slow_module_sleeps(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		continue;
}

/* Compute, without sleeping, for ms milliseconds. */
static void
slow_module_spins(long ms)
{
	struct timespec	 t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 +
	    (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static int
slow_handle(struct pooled_req *req)
{
	const char	*q = pooled_req_param(req, "QUERY_STRING");
	long		 ms = 3000;

	if (q != NULL && strncmp(q, "spin=", 5) == 0) {
		ms = strtol(q + 5, NULL, 10);
		slow_module_spins(ms < 0 || ms > 10000 ? 3000 : ms);
		return pooled_req_printf(req, "Status: 200 OK\r\n"
		    "Content-Type: text/plain\r\n\r\n"
		    "spun\n");
	}
	if (q != NULL && strncmp(q, "ms=", 3) == 0)
		ms = strtol(q + 3, NULL, 10);
	if (ms < 0 || ms > 10000)
		ms = 3000;
	slow_module_sleeps(ms);
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "slept\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = slow_handle,
};
