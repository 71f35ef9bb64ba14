/*
 * SCGI, spoken natively (libfcgi does not know it).
 *
 * A request is one netstring of headers (scgi_parse.c), then exactly
 * CONTENT_LENGTH bytes of body; the response is written raw, CGI-style
 * headers first, and ends when the connection closes, so every request
 * has a connection of its own.  The header is judged by peeking, like
 * FastCGI's, so a connection reaches a thread only once it is complete.
 * The body is read straight from the socket, never past what was
 * announced, at the minimum rate of body.c; a body that ends early,
 * falls under body_min_rate or stalls past read_timeout fails the read,
 * is logged with the peer, and is answered 400 or 408 if the handler had
 * not answered yet.  A CONTENT_LENGTH over max_body is answered 413
 * before the handler runs.  The response is buffered in the
 * acceptor's state and written in large pieces.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define SCGI_OUT_BUF	16384
#define SCGI_DIGITS	8	/* "1048576:" and the ',': room to peek */
#define SCGI_DRAIN_MAX	65536	/* body left unread, drained at most */

/* One acceptor's SCGI state: the request in hand. */
struct scgi_conn {
	int			 fd;
	char			*head;		/* the netstring, as read */
	char		       **envp;
	size_t			 envcap;
	uint64_t		 length;	/* CONTENT_LENGTH */
	uint64_t		 left;		/* body not read yet */
	struct body_clock	 bc;
	struct pooled_req	*req;
	size_t			 outlen;
	char			 out[SCGI_OUT_BUF];
};

/* The pool's limits: a worker process serves one pool. */
static size_t		 scgi_header_max = SCGI_HEADER_MAX;
static unsigned int	 scgi_max_headers = SCGI_MAX_HEADERS;
static int		 body_timeout = 20;
static unsigned int	 body_min_rate = 500;
static uint64_t		 max_body;

static void
scgi_init_process(const struct pool_conf *pc)
{
	scgi_header_max = pc->scgi_header_max;
	scgi_max_headers = pc->scgi_max_headers;
	body_timeout = pc->body_timeout;
	body_min_rate = pc->body_min_rate;
	max_body = pc->max_body;
}

static enum conn_readiness
judge(const char *buf, size_t len, const char **why)
{
	struct scgi_head	 h;

	return scgi_head_parse(buf, len, scgi_header_max, scgi_max_headers,
	    &h, why);
}

/* Whether fd holds a whole, valid SCGI header netstring. */
static enum conn_readiness
scgi_ready(int fd, const char **why)
{
	/* The parser refuses a longer one from its length prefix. */
	return peek_judge(fd, scgi_header_max + SCGI_DIGITS + 1, judge,
	    "a header block larger than scgi_header_max", why);
}

static void *
scgi_conn_new(void)
{
	struct scgi_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	return c;
}

static void
scgi_conn_free(void *ctx)
{
	struct scgi_conn	*c = ctx;

	free(c->head);
	free(c->envp);
	free(c);
}

/* Log a body that failed, with the peer, and say how to answer it. */
static void
body_failed(struct scgi_conn *c, int status, const char *what)
{
	char	 peer[64];

	sock_peer_name(c->fd, peer, sizeof(peer));
	log_peer_fd(POOLED_LOG_WARNING, c->fd, "%s %s: malformed SCGI "
	    "request: %s after %llu of %llu body bytes", c->req->log_prefix,
	    peer, what,
	    (unsigned long long)(c->length - c->left),
	    (unsigned long long)c->length);
	c->req->body_status = status;
}

/* req_io for SCGI: the body is the rest of the announced length. */
static ssize_t
scgi_read(void *ctx, void *buf, size_t len)
{
	struct scgi_conn	*c = ctx;
	ssize_t			 n;

	if (c->left == 0 || len == 0)
		return 0;
	if (len > c->left)
		len = (size_t)c->left;
	n = body_recv(c->fd, buf, len, &c->bc);
	if (n > 0) {
		c->left -= (uint64_t)n;
		return n;
	}
	if (n == 0)
		body_failed(c, 400, "the body ended");
	else if (errno == ETIMEDOUT)
		body_failed(c, 408, "slower than body_min_rate");
	else if (errno == EAGAIN)
		body_failed(c, 408, "the body stalled");
	else
		body_failed(c, 400, strerror(errno));
	return -1;
}

static int
flush(struct scgi_conn *c)
{
	int	 rc;

	rc = sock_send_all(c->fd, c->out, c->outlen);
	c->outlen = 0;
	return rc;
}

static int
scgi_write(void *ctx, const void *buf, size_t len)
{
	struct scgi_conn	*c = ctx;

	if (c->outlen + len <= sizeof(c->out)) {
		memcpy(c->out + c->outlen, buf, len);
		c->outlen += len;
		return 0;
	}
	if (flush(c) == -1)
		return -1;
	if (len >= sizeof(c->out))
		return sock_send_all(c->fd, buf, len);
	memcpy(c->out, buf, len);
	c->outlen = len;
	return 0;
}

static int
scgi_conn_fd(void *ctx)
{
	struct scgi_conn	*c = ctx;

	return c->fd;
}

static const struct req_io scgi_io = {
	.read = scgi_read,
	.write = scgi_write,
	.conn_fd = scgi_conn_fd,
	.write_err = NULL	/* SCGI has no stream for the server's log */
};

static int
scgi_begin(void *ctx, int fd, struct pooled_req *req, uint64_t id,
    void *thread_data)
{
	struct scgi_conn	*c = ctx;
	struct scgi_head	 h;
	const char		*why = "a header shorter than peeked";
	char			*head;
	ssize_t			 n;

	/*
	 * Peek once more for the netstring's length, then read exactly it:
	 * the body stays in the socket for the handler.
	 */
	if ((head = realloc(c->head, scgi_header_max + SCGI_DIGITS + 1)) ==
	    NULL) {
		log_warn("scgi: realloc");
		close(fd);
		return -1;
	}
	c->head = head;
	n = recv(fd, head, scgi_header_max + SCGI_DIGITS + 1,
	    MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0 || scgi_head_parse(head, (size_t)n, scgi_header_max,
	    scgi_max_headers, &h, &why) != CONN_READY ||
	    recv(fd, head, h.total, MSG_WAITALL) != (ssize_t)h.total) {
		log_warnx("scgi: a request header could not be read again: "
		    "%s; connection closed", why);
		close(fd);
		return -1;
	}
	if (c->envcap < (size_t)h.nheaders + 1) {
		free(c->envp);
		c->envcap = 0;
		if ((c->envp = calloc((size_t)h.nheaders + 1,
		    sizeof(*c->envp))) == NULL) {
			log_warn("scgi: calloc");
			close(fd);
			return -1;
		}
		c->envcap = (size_t)h.nheaders + 1;
	}
	scgi_envp_fill(head + h.block_off, h.block_len, c->envp);
	c->fd = fd;
	c->length = c->left = h.content_length;
	c->outlen = 0;
	c->req = req;
	body_clock_start(&c->bc, body_timeout, body_min_rate);
	req_init(req, &scgi_io, c, c->envp, id, thread_data);
	if (max_body > 0 && c->length > max_body) {
		/* The acceptor answers it without running the handler. */
		req->body_status = 413;
		req->body_why = "CONTENT_LENGTH is larger than max_body";
	}
	return 0;
}

/*
 * Send the rest of the response, tell the peer it is complete (SCGI ends
 * a response by closing), then read what the handler left of the body
 * so the close does not reset the response away, when that is cheap:
 * SCGI_DRAIN_MAX bytes at most.  nginx closes its end
 * once the response is complete, so that read ends at once.
 */
static void
scgi_finish(void *ctx, struct pooled_req *req, bool keep)
{
	struct scgi_conn	*c = ctx;
	char			 buf[8192];
	ssize_t			 n;

	if (!req->write_failed && c->outlen > 0 && flush(c) == -1)
		req->write_failed = true;
	(void)shutdown(c->fd, SHUT_WR);
	if (req->write_failed || !keep || req->body_status != 0 ||
	    c->left > SCGI_DRAIN_MAX)
		return;
	while (c->left > 0) {
		n = body_recv(c->fd, buf, c->left < sizeof(buf) ?
		    (size_t)c->left : sizeof(buf), &c->bc);
		if (n <= 0)
			break;
		c->left -= (uint64_t)n;
	}
}

/* Every SCGI connection carries one request. */
static int
scgi_end(void *ctx, struct pooled_req *req, bool keep)
{
	struct scgi_conn	*c = ctx;

	(void)req;
	(void)keep;
	close(c->fd);
	c->fd = -1;
	c->req = NULL;
	return -1;
}

/* A malformed header: say so, if the peer still listens, and close. */
static void
scgi_reject(int fd)
{
	static const char	 bad[] = "Status: 400 Bad Request\r\n"
	    "Content-Type: text/plain\r\n\r\n400 Bad Request\n";
	char			 buf[8192];
	int			 i;

	(void)send(fd, bad, sizeof(bad) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	/* Unread bytes would turn the close into a reset that loses it. */
	for (i = 0; i < 8; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

const struct proto proto_scgi = {
	.name = "SCGI",
	.init_process = scgi_init_process,
	.ready = scgi_ready,
	.conn_new = scgi_conn_new,
	.conn_free = scgi_conn_free,
	.begin = scgi_begin,
	.finish = scgi_finish,
	.end = scgi_end,
	.reject = scgi_reject
};
