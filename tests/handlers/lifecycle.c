/*
 * lifecycle: a test handler that logs its thread_fini and process_fini,
 * so tests can tell a worker that stopped cleanly from one killed, and
 * whose thread_init fails in the first fail_threads threads (a module
 * option, default 0), so tests can see the worker go on without them.
 * Each request answers "thread N", N the order its thread_init ran in.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <pooled.h>

static atomic_int	 inited;
static int		 fail_threads;

static int
lifecycle_process_init(void)
{
	const char	*v;

	if ((v = pooled_option("fail_threads")) != NULL)
		fail_threads = atoi(v);
	return 0;
}

static void
lifecycle_process_fini(void)
{
	pooled_log(POOLED_LOG_NOTICE, "lifecycle: process_fini");
}

static int
lifecycle_thread_init(void **data)
{
	int	 n = atomic_fetch_add(&inited, 1) + 1;

	if (n <= fail_threads) {
		pooled_log(POOLED_LOG_NOTICE, "lifecycle: thread_init %d "
		    "fails", n);
		return -1;
	}
	*data = (void *)(intptr_t)n;
	return 0;
}

static void
lifecycle_thread_fini(void *data)
{
	(void)data;
	pooled_log(POOLED_LOG_NOTICE, "lifecycle: thread_fini");
}

static int
lifecycle_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nthread %d\n",
	    (int)(intptr_t)pooled_req_thread_data(req));
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = lifecycle_process_init,
	.process_fini = lifecycle_process_fini,
	.thread_init = lifecycle_thread_init,
	.thread_fini = lifecycle_thread_fini,
	.handle = lifecycle_handle,
};
