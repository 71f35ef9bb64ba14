/*
 * crash: a test handler that kills its worker process on demand.
 *
 * A request whose query string contains "crash" dies of SIGSEGV; any
 * other request gets "alive".  Tests use it to check that the master
 * reaps and respawns a crashed worker and that its other workers go on.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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

static int
crash_handle(struct pooled_req *req)
{
	const char	*query;

	query = pooled_req_param(req, "QUERY_STRING");
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
