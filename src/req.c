/*
 * The request object handlers see, whatever the protocol: params as a
 * "NAME=VALUE" vector, the body as a stream, and a response writer.  The
 * protocol side supplies a struct req_io (FastCGI in acceptor.c); nothing
 * here knows which protocol it is.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

/* Set up req for one request read through io. */
void
req_init(struct pooled_req *req, const struct req_io *io, void *ctx,
    char **envp, uint64_t id, void *thread_data)
{
	memset(req, 0, sizeof(*req));
	req->io = io;
	req->ctx = ctx;
	req->envp = envp;
	req->id = id;
	req->thread_data = thread_data;
	snprintf(req->log_prefix, sizeof(req->log_prefix), "req %llu:",
	    (unsigned long long)id);
	resp_head_init(&req->head);
	req->start_us = clock_us();
	req->start_wall_us = clock_wall_us();
}

/*
 * The value of name in a "NAME=VALUE" vector (may be NULL), or NULL.  Of
 * a name sent twice, the last, as in a CGI program's environment
 * (cgi_env.c) and in php-fpm: what pooled acts on (the script, the body's
 * length) is what the program is told.
 */
const char *
req_envp_get(char *const *envp, const char *name)
{
	const char	*v = NULL;
	size_t		 len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			v = *envp + len + 1;
	return v;
}

/* The value of param name, or NULL. */
const char *
pooled_req_param(struct pooled_req *req, const char *name)
{
	return req_envp_get(req->envp, name);
}

/*
 * Walk the params.  The name is handed out from a small per-thread buffer
 * because the vector stores "NAME=VALUE" in one string; it stays valid
 * until the next call on the same thread.
 */
int
pooled_req_param_next(struct pooled_req *req, size_t *iter,
    const char **name, const char **value)
{
	static __thread char	 namebuf[1024];
	const char		*e, *eq;
	size_t			 len;

	if (req->envp == NULL)
		return 0;
	for (;;) {
		if ((e = req->envp[*iter]) == NULL)
			return 0;
		(*iter)++;
		if ((eq = strchr(e, '=')) == NULL)
			continue;
		len = (size_t)(eq - e);
		if (len >= sizeof(namebuf))
			continue;	/* absurd name: not a CGI variable */
		memcpy(namebuf, e, len);
		namebuf[len] = '\0';
		*name = namebuf;
		*value = eq + 1;
		return 1;
	}
}

/* Read up to len bytes of the request body; 0 at its end, -1 on error. */
ssize_t
pooled_req_read(struct pooled_req *req, void *buf, size_t len)
{
	ssize_t	 n;

	if (len == 0)
		return 0;
	if ((n = req->io->read(req->ctx, buf, len)) > 0)
		req->bytes_in += (uint64_t)n;
	return n;
}

/*
 * The response header went out malformed: the web server answers 502
 * with only "upstream sent invalid header" in its own log, so say here
 * which request and what was wrong.  Not counted against
 * request_log_max: one line a request at most.
 */
static void
head_bad(struct pooled_req *req)
{
	const char	*method = pooled_req_param(req, "REQUEST_METHOD");
	const char	*uri = pooled_req_param(req, "REQUEST_URI");

	log_msg(POOLED_LOG_ERROR, "%s %s %s: the handler's response header "
	    "is malformed: %s; the web server answers 502", req->log_prefix,
	    method != NULL ? method : "-", uri != NULL ? uri : "-",
	    req->head.why);
}

/* Write len bytes of response. */
int
pooled_req_write(struct pooled_req *req, const void *buf, size_t len)
{
	if (req->write_failed)
		return -1;
	if (len == 0)
		return 0;
	if (req->io->write(req->ctx, buf, len) == -1) {
		req->write_failed = true;
		return -1;
	}
	if (resp_head_feed(&req->head, buf, len))
		head_bad(req);
	req->bytes_out += len;
	return 0;
}

/*
 * Send one line to the web server's error log (FastCGI's FCGI_STDERR), when
 * the protocol has such a stream; SCGI has none.  Failures are ignored:
 * the line went to pooled's log, or was only a copy.
 */
void
req_write_stderr(struct pooled_req *req, const char *line, size_t len)
{
	char	 buf[1024];

	if (req->io->write_err == NULL || req->write_failed)
		return;
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\n';
	(void)req->io->write_err(req->ctx, buf, len + 1);
}

/* printf into the response. */
int
pooled_req_vprintf(struct pooled_req *req, const char *fmt, va_list ap)
{
	char	 small[1024], *big;
	va_list	 ap2;
	int	 n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return -1;
	}
	if ((size_t)n < sizeof(small)) {
		va_end(ap2);
		return pooled_req_write(req, small, (size_t)n);
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		va_end(ap2);
		pooled_req_log(req, POOLED_LOG_ERROR, "printf: out of memory");
		return -1;
	}
	vsnprintf(big, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	rc = pooled_req_write(req, big, (size_t)n);
	free(big);
	return rc;
}

/* printf into the response. */
int
pooled_req_printf(struct pooled_req *req, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = pooled_req_vprintf(req, fmt, ap);
	va_end(ap);
	return rc;
}

/* The thread's data from thread_init. */
void *
pooled_req_thread_data(struct pooled_req *req)
{
	return req->thread_data;
}

/*
 * The request whose module handle() runs on this thread, if any: its
 * pooled_req_log lines are counted.  Per thread, so pooled's own lines
 * about it from the control thread (slow, timed out) never are.
 */
static __thread struct pooled_req	*log_capped;

/* Count this thread's log lines for req against max bytes from now. */
void
req_log_cap(struct pooled_req *req, size_t max)
{
	req->log_left = max;
	req->log_dropped = 0;
	log_capped = req;
}

/* Stop counting req's lines, and say how many bytes were dropped. */
void
req_log_uncap(struct pooled_req *req)
{
	log_capped = NULL;
	if (req->log_dropped > 0)
		log_msg(POOLED_LOG_WARNING, "%s module log lines truncated at "
		    "request_log_max: %zu bytes dropped", req->log_prefix,
		    req->log_dropped);
}

/*
 * What a line costs the log besides its text (escaped) and the request's
 * prefix: time, level, role and pid.
 */
#define REQ_LOG_LINE_COST	48

/*
 * Log a line tagged with the request id.  A counted line costs what it
 * adds to the log, so that neither empty lines nor control bytes (four
 * bytes each once escaped) take more than request_log_max.
 */
void
pooled_req_log(struct pooled_req *req, enum pooled_log_level level,
    const char *fmt, ...)
{
	char	 line[2048], esc[sizeof(line) * 4];
	va_list	 ap;
	size_t	 cost;
	int	 n;

	if (req != log_capped || !log_enabled((int)level)) {
		va_start(ap, fmt);
		log_vmsg((int)level, req->log_prefix, fmt, ap);
		va_end(ap);
		return;
	}
	/* Once a line was dropped, all are: the log shows no holes. */
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	cost = log_escape(esc, sizeof(esc), line, strlen(line)) +
	    strlen(req->log_prefix) + REQ_LOG_LINE_COST;
	if (req->log_dropped > 0 || cost > req->log_left) {
		req->log_dropped += (size_t)n + 1;
		req->log_left = 0;
		return;
	}
	req->log_left -= cost;
	log_msg((int)level, "%s %s", req->log_prefix, line);
}

static const char *
status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Internal Server Error";
	}
}

/*
 * Answer with an error status when nothing was sent yet, and log why,
 * naming the request.
 */
int
req_respond_error(struct pooled_req *req, int status, const char *reason)
{
	const char	*method = pooled_req_param(req, "REQUEST_METHOD");
	const char	*uri = pooled_req_param(req, "REQUEST_URI");

	pooled_req_log(req, POOLED_LOG_ERROR, "%s %s: %s; answering %d",
	    method ? method : "-", uri ? uri : "-", reason, status);
	return pooled_req_printf(req, "Status: %d %s\r\n"
	    "Content-Type: text/plain\r\n\r\n%d %s\n", status,
	    status_text(status), status, status_text(status));
}

/*
 * The request is over, its response sent: fix its duration, and judge a
 * header block that never ended (logged as head_bad says).
 */
void
req_end(struct pooled_req *req)
{
	req->duration_us = clock_us() - req->start_us;
	/* Cut short by a failed write, it is the client's doing. */
	if (!req->write_failed && resp_head_end(&req->head))
		head_bad(req);
}

/*
 * The status the web server answers with: the response header's, 502
 * for a malformed one, 0 when no whole header was sent (the client went
 * away; nginx logs 499 or 502 then).
 */
int
req_status(const struct pooled_req *req)
{
	return resp_head_status(&req->head);
}
