/*
 * FastCGI, through libfcgi: the only file that sees it.
 *
 * pooled owns the connection and lets libfcgi only parse.  The request is
 * initialised with FCGX_InitRequest(r, -1, 0), so libfcgi never accepts by
 * itself: with r.ipcFd set to a connection the acceptor took and
 * r.keepConnection = 1, FCGX_Accept_r only reads the begin record and the
 * params.  When that fails libfcgi closes the connection and returns
 * -EBADF from its attempt to accept on fd -1.  After FCGX_Finish_r, a
 * connection the web server keeps goes back to the acceptor, to be parked
 * until its next request.
 */
#include "config.h"

#include <fcgiapp.h>
#include <stdlib.h>
#include <unistd.h>

#include "pooled.h"

static void
fcgi_init_process(const struct pool_conf *pc)
{
	(void)pc;
	if (FCGX_Init() != 0)
		fatalx("fastcgi: FCGX_Init failed");
}

static void *
fcgi_conn_new(void)
{
	FCGX_Request	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	FCGX_InitRequest(r, -1, 0);
	return r;
}

static void
fcgi_conn_free(void *ctx)
{
	FCGX_Request	*r = ctx;

	FCGX_Free(r, 1);
	free(r);
}

/*
 * req_io for FastCGI: the body is FCGI_STDIN, the response FCGI_STDOUT.
 *
 * A read returns what has arrived, as read(2) does: FCGX_GetStr alone
 * would wait until len bytes are in, so with nginx's request buffering
 * off a program would see nothing of a slow upload until 64 KiB of it had
 * come.  When libfcgi holds nothing, one byte is asked for, which makes
 * it read one more record; the rest of that record is then taken from its
 * buffer without waiting.
 */
static ssize_t
fcgi_read(void *ctx, void *buf, size_t len)
{
	FCGX_Request	*r = ctx;
	FCGX_Stream	*in = r->in;
	size_t		 held;
	int		 n, more;

	if (len == 0)
		return 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	held = (size_t)(in->stop - in->rdNext);
	if (held == 0) {
		if ((n = FCGX_GetStr(buf, 1, in)) <= 0)
			return FCGX_GetError(in) != 0 ? -1 : 0;
		held = (size_t)(in->stop - in->rdNext);
		if (held > len - 1)
			held = len - 1;
		more = held > 0 ?
		    FCGX_GetStr((char *)buf + 1, (int)held, in) : 0;
		return 1 + more;
	}
	n = FCGX_GetStr(buf, (int)(held < len ? held : len), in);
	if (n == 0 && FCGX_GetError(in) != 0)
		return -1;
	return n;
}

static int
fcgi_write(void *ctx, const void *buf, size_t len)
{
	FCGX_Request	*r = ctx;
	const char	*p = buf;
	int		 chunk;

	while (len > 0) {
		chunk = len > INT32_MAX ? INT32_MAX : (int)len;
		if (FCGX_PutStr(p, chunk, r->out) != chunk)
			return -1;
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

static int
fcgi_write_err(void *ctx, const void *buf, size_t len)
{
	FCGX_Request	*r = ctx;

	if (len > INT32_MAX)
		return -1;
	return FCGX_PutStr(buf, (int)len, r->err) == (int)len ? 0 : -1;
}

static int
fcgi_conn_fd(void *ctx)
{
	FCGX_Request	*r = ctx;

	return r->ipcFd;
}

static const struct req_io fcgi_io = {
	.read = fcgi_read,
	.write = fcgi_write,
	.conn_fd = fcgi_conn_fd,
	.write_err = fcgi_write_err
};

static int
fcgi_begin(void *ctx, int fd, struct pooled_req *req, uint64_t id,
    void *thread_data)
{
	FCGX_Request	*r = ctx;
	int		 rc;

	r->ipcFd = fd;
	r->keepConnection = 1;
	/* Plain close(2): pooled drains the body itself, see fcgi_finish. */
	r->detached = 1;
	if ((rc = FCGX_Accept_r(r)) < 0) {
		/*
		 * The whole header was there, so libfcgi found it malformed
		 * (bad name-value lengths, an unknown role) and closed the
		 * connection; it does not say why.
		 */
		log_warnx("fastcgi: libfcgi rejected a request header "
		    "(error %d); connection closed", rc);
		r->ipcFd = -1;
		return -1;
	}
	req_init(req, &fcgi_io, r, r->envp, id, thread_data);
	return 0;
}

/*
 * Read what the handler left of the body, so the connection can carry the
 * next request and a close does not reset the response away.
 */
static void
fcgi_finish(void *ctx, struct pooled_req *req, bool keep)
{
	FCGX_Request	*r = ctx;
	char		 buf[1024];	/* small: see PEEK_SMALL */

	if (!req->write_failed && keep)
		while (FCGX_GetStr(buf, sizeof(buf), r->in) > 0)
			;
}

/* End the response; returns the connection when the web server keeps it. */
static int
fcgi_end(void *ctx, struct pooled_req *req, bool keep)
{
	FCGX_Request	*r = ctx;
	int		 fd;

	(void)req;
	if (!keep)
		r->keepConnection = 0;
	FCGX_Finish_r(r);
	if (r->ipcFd < 0)
		return -1;
	fd = r->ipcFd;
	r->ipcFd = -1;
	return fd;
}

/* Nothing can be answered without a request id: just close. */
static void
fcgi_reject(int fd)
{
	close(fd);
}

const struct proto proto_fcgi = {
	.name = "FastCGI",
	.init_process = fcgi_init_process,
	.ready = fcgi_request_ready,
	.conn_new = fcgi_conn_new,
	.conn_free = fcgi_conn_free,
	.begin = fcgi_begin,
	.finish = fcgi_finish,
	.end = fcgi_end,
	.reject = fcgi_reject
};
