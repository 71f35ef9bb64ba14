/*
 * initcrash: a test handler whose process_init dies of SIGSEGV, unlike
 * failinit which refuses cleanly.  Swapped in under a running pool's
 * module path, it makes every replacement worker die young, so tests can
 * watch the master's restart back-off grow.
 */
#include <signal.h>
#include <stdlib.h>

#include <pooled.h>

/* The null store is the point: keep UBSan builds from reporting it. */
#if defined(__GNUC__) && __GNUC__ >= 8
#define NO_SANITIZE	__attribute__((no_sanitize("undefined")))
#else
#define NO_SANITIZE
#endif

static int NO_SANITIZE
initcrash_process_init(void)
{
	volatile int *volatile	 p = NULL;

	pooled_log(POOLED_LOG_NOTICE, "initcrash: crashing in process_init");
	*p = 1;
	raise(SIGSEGV);
	abort();
}

static int
initcrash_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nunreachable\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = initcrash_process_init,
	.handle = initcrash_handle,
};
