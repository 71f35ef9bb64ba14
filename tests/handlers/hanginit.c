/*
 * hanginit: a test handler whose process_init never returns, standing for
 * a module stuck at start (a database that does not answer).  pooled must
 * give up after start_timeout instead of waiting forever.
 */
#include <unistd.h>

#include <pooled.h>

static int
hanginit_process_init(void)
{
	pooled_log(POOLED_LOG_NOTICE, "hanginit: hanging in process_init");
	for (;;)
		pause();
	/* NOTREACHED */
	return -1;
}

static int
hanginit_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nunreachable\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = hanginit_process_init,
	.handle = hanginit_handle,
};
