/*
 * failinit: a test handler whose process_init fails, so its worker must
 * exit with EX_CONFIG and the pool be marked broken.  The log line lets
 * tests check that the module's own reason reached the error log.
 */
#include <pooled.h>

static int
failinit_init(void)
{
	pooled_log(POOLED_LOG_ERROR, "failinit: refusing to start");
	return -1;
}

static int
failinit_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "failinit served a request\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = failinit_init,
	.handle = failinit_handle,
};
