/*
 * badabi: a test handler built for an ABI version pooled does not speak.
 * Apart from abi_version it is a valid handler, so the only reason to
 * refuse it is the version check right after dlsym().
 */
#include <pooled.h>

static int
badabi_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "badabi loaded anyway\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION + 998,
	.handle = badabi_handle,
};
