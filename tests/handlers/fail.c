/*
 * fail: a test handler that fails requests on demand.
 *
 * A request whose query string contains "fail" returns -1 without writing
 * anything, and one with "silent" returns 0 without writing anything: in
 * both cases pooled itself must answer 500 and log why.  One with
 * "logflood" writes 100000 log lines, empty ones and ones of control
 * bytes (each four times as long in the log), then answers "flooded".
 * Any other request gets "ok".
 */
#include <string.h>

#include <pooled.h>

static int
fail_handle(struct pooled_req *req)
{
	const char	*query;
	int		 i;

	query = pooled_req_param(req, "QUERY_STRING");
	if (query != NULL && strstr(query, "logflood") != NULL) {
		for (i = 0; i < 100000; i++)
			pooled_req_log(req, POOLED_LOG_WARNING, "%s",
			    i % 2 == 0 ? "" : "\1\1\1\1\1\1\1\1");
		return pooled_req_printf(req, "Status: 200 OK\r\n"
		    "Content-Type: text/plain\r\n\r\n"
		    "flooded\n");
	}
	if (query != NULL && strstr(query, "fail") != NULL)
		return -1;
	if (query != NULL && strstr(query, "silent") != NULL)
		return 0;
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "ok\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = fail_handle,
};
