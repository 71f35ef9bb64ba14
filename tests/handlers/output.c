/*
 * output: a test handler that writes to its worker's stdout and stderr,
 * as a module or a library it uses might, by the query string:
 *
 *	print	one line to stdout (printf) and one to stderr (fprintf),
 *		with an escape sequence in it
 *	flood	1000 short lines to stderr
 *	long	one line of 5000 bytes to stderr
 *	partial	"partial last words" to stderr, without a newline
 *
 * and answers "written".  Tests use it for catch_workers_output.
 */
#include <stdio.h>
#include <string.h>

#include <pooled.h>

static int
output_handle(struct pooled_req *req)
{
	const char	*q = pooled_req_param(req, "QUERY_STRING");
	char		 line[5001];
	int		 i;

	q = q != NULL ? q : "";
	if (strcmp(q, "print") == 0) {
		printf("hello from stdout\n");
		fprintf(stderr, "hello from stderr \033[2J\n");
	} else if (strcmp(q, "flood") == 0) {
		for (i = 0; i < 1000; i++)
			fprintf(stderr, "flood %d\n", i);
	} else if (strcmp(q, "long") == 0) {
		memset(line, 'L', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\0';
		fprintf(stderr, "%s\nafter the long line\n", line);
	} else if (strcmp(q, "partial") == 0)
		fprintf(stderr, "partial last words");
	fflush(stdout);
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n"
	    "written\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = output_handle,
};
