/*
 * hello: the smallest useful pooled module.
 *
 * It answers every request with "<greeting>, world".  The greeting is a
 * module option, read once per worker process in process_init:
 *
 *	pool hello {
 *		listen = "/run/pooled/hello.sock"
 *		module = "/usr/local/lib/pooled/hello.so"
 *		module_options = {"greeting=Bonjour"}
 *	}
 *
 * Build it with
 *
 *	cc -shared -fPIC $(pkg-config --cflags pooled) hello.c -o hello.so
 */
#include <pooled.h>

/*
 * Written only by process_init, before any worker thread runs a request;
 * afterwards the threads only read it, so it needs no lock.
 */
static const char	*greeting = "Hello";

static int
hello_init(void)
{
	const char	*s;

	if ((s = pooled_option("greeting")) != NULL)
		greeting = s;
	return 0;
}

/*
 * Called on any of the worker's threads, once per request.  The answer
 * is written as a CGI program writes it: header lines, an empty line,
 * then the body.
 */
static int
hello_handle(struct pooled_req *req)
{
	return pooled_req_printf(req,
	    "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "%s, world\n", greeting);
}

/* The one symbol pooled looks up; unused hooks stay NULL. */
const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = hello_init,
	.handle = hello_handle,
};
