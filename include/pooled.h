/*
 * pooled.h: the handler module API of pooled.
 *
 * A module is a shared object that exports one symbol,
 *
 *	const struct pooled_handler pooled_handler_v1 = {
 *		.abi_version = POOLED_ABI_VERSION,
 *		.handle = my_handle,
 *	};
 *
 * and is built with
 *
 *	cc -shared -fPIC $(pkg-config --cflags pooled) mymod.c -o mymod.so
 *
 * pooled loads it in every worker process of the pool that names it, after
 * the fork, and calls handle() on one of the worker's threads for each
 * request.  handle() must therefore be thread-safe, and must not keep the
 * request after it returns.  Nothing in this file depends on the protocol
 * the web server speaks: the same module serves FastCGI and SCGI pools.
 */
#ifndef POOLED_H
#define POOLED_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever struct pooled_handler or a function below changes. */
#define POOLED_ABI_VERSION	1

/* The symbol pooled looks up with dlsym(). */
#define POOLED_HANDLER_SYMBOL	"pooled_handler_v1"

#if defined(__GNUC__)
#define POOLED_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#else
#define POOLED_PRINTF(f, a)
#endif

/* One request, owned by pooled; valid only during handle(). */
struct pooled_req;

/*
 * The handler table a module exports.  Only abi_version and handle are
 * required; a NULL hook is skipped.
 *
 * process_init runs once per worker process, after the fork and before
 * the first request; returning -1 makes the worker exit with EX_CONFIG:
 * pooled fails to start, or later retries with back-off (log the reason
 * with pooled_log first).
 * thread_init runs once on each worker thread; what it stores in
 * *thread_data is handed back by pooled_req_thread_data() and to
 * thread_fini.  handle returns 0 when it answered the request, or -1:
 * if it wrote nothing yet, pooled answers 500 and logs the failure; if it
 * wrote part of a response, that part stands and the failure is logged.
 *
 * Read the request body before writing the response: nginx stops sending
 * the body once the response has begun, so a handler that answers while
 * the body is still arriving would wait for bytes that never come.
 */
struct pooled_handler {
	unsigned int	 abi_version;	/* must be POOLED_ABI_VERSION */
	int		(*process_init)(void);
	void		(*process_fini)(void);
	int		(*thread_init)(void **thread_data);
	void		(*thread_fini)(void *thread_data);
	int		(*handle)(struct pooled_req *req);
};

/* What a module defines; declared here so the compiler checks its type. */
extern const struct pooled_handler pooled_handler_v1;

/* Log levels, as in the config file's log_level. */
enum pooled_log_level {
	POOLED_LOG_ERROR = 0,
	POOLED_LOG_WARNING,
	POOLED_LOG_NOTICE,
	POOLED_LOG_INFO,
	POOLED_LOG_DEBUG
};

/*
 * Request parameters: the FastCGI params or SCGI headers, CGI-style
 * (REQUEST_METHOD, QUERY_STRING, CONTENT_LENGTH, HTTP_*, ...).
 * pooled_req_param returns NULL when the parameter is absent, and the
 * last value of a name sent twice.
 * pooled_req_param_next walks all of them: start with *iter = 0, it
 * returns 1 and fills name and value while there are more, then 0.  The
 * name lives in a per-thread buffer valid until the next call; values
 * live as long as the request.
 */
const char	*pooled_req_param(struct pooled_req *req, const char *name);
int		 pooled_req_param_next(struct pooled_req *req, size_t *iter,
		    const char **name, const char **value);

/*
 * The request body, as a stream: returns the number of bytes read, 0 at
 * the end of the body, or -1 on error (the client went away, a timeout).
 */
ssize_t		 pooled_req_read(struct pooled_req *req, void *buf, size_t len);

/*
 * The response: CGI-style header lines ("Status: 404 Not Found",
 * "Content-Type: text/html"), an empty line, then the body, exactly as a
 * CGI program or FastCGI responder writes it.  Return 0 or -1 on error
 * (the client went away, a timeout); after an error, stop writing.
 */
int		 pooled_req_write(struct pooled_req *req, const void *buf,
		    size_t len);
int		 pooled_req_printf(struct pooled_req *req, const char *fmt, ...)
		    POOLED_PRINTF(2, 3);
int		 pooled_req_vprintf(struct pooled_req *req, const char *fmt,
		    va_list ap) POOLED_PRINTF(2, 0);

/* What thread_init stored for the thread running this request, or NULL. */
void		*pooled_req_thread_data(struct pooled_req *req);

/* Log into pooled's error log, tagged with the pool and the request id. */
void		 pooled_req_log(struct pooled_req *req, enum pooled_log_level,
		    const char *fmt, ...) POOLED_PRINTF(3, 4);

/*
 * The pool's module_options, each written "key=value" (or a bare "key")
 * in the config.  pooled_option returns the value of the first option
 * named key ("" for a bare key), or NULL.  pooled_option_at returns the
 * i-th option as written, or NULL past the end.  Both work from
 * process_init on.
 */
const char	*pooled_option(const char *key);
const char	*pooled_option_at(size_t i);

/* Log into pooled's error log, tagged with the pool. */
void		 pooled_log(enum pooled_log_level, const char *fmt, ...)
		    POOLED_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* POOLED_H */
