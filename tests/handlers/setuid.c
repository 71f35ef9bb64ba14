/*
 * setuid: a test handler that tries to become root again, as a module
 * with a bug an attacker controls would.
 *
 * Each request calls setuid(0), then seteuid(0), and answers with what
 * came of each and the ids the worker has afterwards:
 *
 *	setuid(0): Operation not permitted
 *	seteuid(0): Operation not permitted
 *	uid 65534 euid 65534
 *
 * A worker that dropped its privileges must answer that both failed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <pooled.h>

static int
setuid_handle(struct pooled_req *req)
{
	const char	*r1, *r2;

	r1 = setuid(0) == 0 ? "succeeded" : strerror(errno);
	r2 = seteuid(0) == 0 ? "succeeded" : strerror(errno);
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "setuid(0): %s\nseteuid(0): %s\nuid %ld euid %ld\n", r1, r2,
	    (long)getuid(), (long)geteuid());
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = setuid_handle,
};
