/*
 * respond: a test handler that answers what its query string asks for.
 *
 * "status=NNN" answers with "Status: NNN" and a short body; "noblank"
 * writes a header line and then the body with no blank line between;
 * "badline" writes a line that is not "Name: value" in its header;
 * "split" writes a valid header one byte a write; "headonly" writes a
 * header with no blank line and nothing else.  Anything else gets 200.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pooled.h>

static int
respond_handle(struct pooled_req *req)
{
	static const char	 split[] = "Status: 201 Created\r\n"
	    "Content-Type: text/plain\r\n\r\nsplit\n";
	const char		*q, *s;
	size_t			 i;
	int			 status;

	if ((q = pooled_req_param(req, "QUERY_STRING")) == NULL)
		q = "";
	if ((s = strstr(q, "status=")) != NULL) {
		status = atoi(s + 7);
		return pooled_req_printf(req, "Status: %d Test\r\n"
		    "Content-Type: text/plain\r\n\r\nstatus %d\n", status,
		    status);
	}
	if (strstr(q, "noblank") != NULL)
		return pooled_req_printf(req, "Content-Type: text/plain\r\n"
		    "no blank line before this body\n");
	if (strstr(q, "badline") != NULL)
		return pooled_req_printf(req, "Content-Type: text/plain\r\n"
		    "this is not a header\r\n\r\nbody\n");
	if (strstr(q, "headonly") != NULL)
		return pooled_req_printf(req, "Content-Type: text/plain\r\n");
	if (strstr(q, "split") != NULL) {
		for (i = 0; i < sizeof(split) - 1; i++)
			if (pooled_req_write(req, split + i, 1) == -1)
				return -1;
		return 0;
	}
	return pooled_req_printf(req, "Content-Type: text/plain\r\n\r\nok\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = respond_handle,
};
