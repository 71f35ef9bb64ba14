/*
 * FastCGI, spoken natively: pooled reads every byte a peer sends and
 * writes every byte it answers.
 *
 * The request header (management records, the begin record, the params)
 * was checked by fcgi_ready.c before a thread took the connection; it is
 * read here in one recv(2), usually with the start of the body, and the
 * params become the request's "NAME=VALUE" vector in one allocation
 * (fcgi_envp_build).  The body's records are read and checked by
 * fcgi_stream.c, at the minimum rate of body.c, up to max_body.
 * Management records are answered here, from the thread that writes the
 * response, so an answer never lands inside a response record.  The
 * response's records are fcgi_out.c's.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define FCGI_IN_BUF		16384	/* socket reads, and most headers */
#define FCGI_DRAIN_MAX		65536	/* body left unread, drained at most */
#define FCGI_MGMT_PER_REQ	64	/* management records a request */
#define LENGTH_HUGE		(UINT64_MAX - 1)	/* over any max_body */

/* One acceptor's FastCGI state: the request in hand. */
struct fcgi_conn {
	int			 fd;
	struct pooled_req	*req;
	uint8_t			*buf;		/* bytes read, not used yet */
	size_t			 cap;
	size_t			 off;
	size_t			 len;
	void			*env;		/* the params vector's block */
	size_t			 envcap;
	struct fcgi_stream	 st;
	struct body_clock	 bc;
	uint64_t		 body;		/* body bytes handed out */
	uint64_t		 length;	/* CONTENT_LENGTH, or UINT64_MAX */
	unsigned int		 mgmt;		/* answered for this request */
	size_t			 moutlen;	/* answers not sent yet */
	bool			 nodelay;	/* TCP_NODELAY set for answers */
	uint8_t			 mout[4 * FCGI_MGMT_ANSWER_MAX];
	bool			 keep_conn;	/* FCGI_KEEP_CONN */
	bool			 eof;		/* the body ended */
	bool			 close;		/* not for another request */
	bool			 broken;	/* protocol error: no answer */
	struct fcgi_out		 out;		/* the response */
};

/* The pool's figures: a worker process serves one pool. */
static int		 body_timeout = 20;
static unsigned int	 body_min_rate = 500;
static uint64_t		 max_body;
static unsigned int	 max_conns = 1;
static bool		 linger = true;	/* TCP: see linger_close */

static void
fcgi_init_process(const struct pool_conf *pc)
{
	long	 procs;

	fcgi_ready_limits(pc->max_params_size, pc->max_params);
	body_timeout = pc->body_timeout;
	body_min_rate = pc->body_min_rate;
	max_body = pc->max_body;
	linger = pc->listen.kind == LISTEN_TCP;
	/*
	 * FCGI_MAX_CONNS and FCGI_MAX_REQS for the whole pool: the web
	 * server reaches every worker through the one address it asks.
	 */
	procs = pc->pm == PM_STATIC ? pc->processes : pc->max_processes;
	max_conns = (unsigned int)(procs * pc->threads);
}

static void *
fcgi_conn_new(void)
{
	struct fcgi_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	if ((c->buf = malloc(FCGI_IN_BUF)) == NULL) {
		free(c);
		return NULL;
	}
	c->cap = FCGI_IN_BUF;
	return c;
}

static void
fcgi_conn_free(void *ctx)
{
	struct fcgi_conn	*c = ctx;

	free(c->buf);
	free(c->env);
	fcgi_out_free(&c->out);
	free(c);
}

/* Log a connection closed for what its peer sent, with the peer. */
static void
conn_failed(struct fcgi_conn *c, const char *why)
{
	char	 peer[64];

	sock_peer_name(c->fd, peer, sizeof(peer));
	if (c->req != NULL)
		log_peer_fd(POOLED_LOG_WARNING, c->fd, "%s %s: malformed "
		    "FastCGI request: %s after %llu body bytes; connection "
		    "closed", c->req->log_prefix, peer, why,
		    (unsigned long long)c->body);
	else
		log_peer_fd(POOLED_LOG_WARNING, c->fd, "fastcgi: %s: "
		    "malformed FastCGI request: %s; connection closed", peer,
		    why);
	c->broken = c->close = true;
	if (c->req != NULL)
		c->req->write_failed = true;
}

/*
 * Send the management answers gathered so far, in one write: many small
 * sends would each wait for the peer's delayed ACK (Nagle).  Called
 * before a read waits and before the handler gets body bytes, so that
 * the answers precede any response record.
 */
static int
mgmt_flush(struct fcgi_conn *c)
{
	size_t	 n = c->moutlen;
	int	 one = 1;

	c->moutlen = 0;
	if (n == 0)
		return 0;
	/*
	 * The response follows these answers in a write of its own, which
	 * Nagle would hold until the peer's delayed ACK of them: 40 ms a
	 * request.  Only a connection with management records pays the
	 * call (it fails harmlessly on a unix socket).
	 */
	if (!c->nodelay) {
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		c->nodelay = true;
	}
	if (sock_send_all(c->fd, c->mout, n) == 0)
		return 0;
	c->broken = c->close = true;
	if (c->req != NULL)
		c->req->write_failed = true;
	return -1;
}

/*
 * Answer a management record, at most FCGI_MGMT_PER_REQ for a request
 * (with the FCGI_LEAD_MGMT_MAX that may come before it).
 */
static int
mgmt_answer(struct fcgi_conn *c, const struct fcgi_event *ev)
{
	if (++c->mgmt > FCGI_MGMT_PER_REQ) {
		conn_failed(c, "too many management records");
		return -1;
	}
	if (sizeof(c->mout) - c->moutlen < FCGI_MGMT_ANSWER_MAX &&
	    mgmt_flush(c) == -1)
		return -1;
	c->moutlen += fcgi_mgmt_answer(ev->type, ev->data, ev->len,
	    max_conns, max_conns, c->mout + c->moutlen);
	return 0;
}

/* A body that failed: log it with the peer; answer status if still can. */
static void
body_failed(struct fcgi_conn *c, int status, const char *what)
{
	char	 peer[64];

	sock_peer_name(c->fd, peer, sizeof(peer));
	log_peer_fd(POOLED_LOG_WARNING, c->fd, "%s %s: FastCGI request "
	    "body: %s after %llu bytes; connection closed", c->req->log_prefix,
	    peer, what, (unsigned long long)body_received(&c->bc));
	c->req->body_status = status;
	c->close = true;
}

/*
 * Bring more bytes from the socket into c->buf, which is used up: 0, or
 * -1 when the body cannot go on (logged, the request marked).
 */
static int
fill(struct fcgi_conn *c)
{
	ssize_t	 n;

	n = body_recv(c->fd, c->buf, c->cap, &c->bc);
	if (n > 0) {
		c->off = 0;
		c->len = (size_t)n;
		return 0;
	}
	if (n == 0)
		body_failed(c, 400, "the connection closed inside the body");
	else if (errno == ETIMEDOUT)
		body_failed(c, 408, "slower than body_min_rate");
	else if (errno == EAGAIN)
		body_failed(c, 408, "no byte within read_timeout");
	else {
		/* Gone, or shut down at request_timeout: nobody to tell. */
		c->close = true;
		c->req->write_failed = true;
	}
	return -1;
}

/*
 * Read records until some body bytes are in out[0..len), the body ends
 * (0) or fails (-1).  Management records are answered on the way.
 */
static ssize_t
read_body(struct fcgi_conn *c, uint8_t *out, size_t len)
{
	struct fcgi_event	 ev;
	size_t			 got = 0;

	while (got < len && !c->eof) {
		if (c->close)
			return -1;
		if (c->off == c->len) {
			if (got > 0)
				break;
			if (mgmt_flush(c) == -1 || fill(c) == -1)
				return -1;
		}
		c->off += fcgi_stream_next(&c->st, c->buf + c->off,
		    c->len - c->off, len - got, &ev);
		switch (ev.kind) {
		case FCGI_EV_NONE:
			break;
		case FCGI_EV_DATA:
			memcpy(out + got, ev.data, ev.len);
			got += ev.len;
			break;
		case FCGI_EV_EOF:
			c->eof = true;
			break;
		case FCGI_EV_MGMT:
			if (mgmt_answer(c, &ev) == -1)
				return -1;
			break;
		case FCGI_EV_ABORT:
			/* The client went away: no answer, no next request. */
			pooled_req_log(c->req, POOLED_LOG_INFO, "the web "
			    "server aborted the request");
			c->close = true;
			c->req->write_failed = true;
			return -1;
		case FCGI_EV_ERROR:
			conn_failed(c, ev.why);
			return -1;
		}
	}
	if (mgmt_flush(c) == -1)
		return -1;
	c->body += got;
	if (max_body > 0 && c->body > max_body) {
		body_failed(c, 413, "the body is larger than max_body");
		return -1;
	}
	return (ssize_t)got;
}

/*
 * req_io for FastCGI: the body is FCGI_STDIN.  A read returns what has
 * arrived, as read(2) does, waiting only when nothing has.
 */
static ssize_t
fcgi_read(void *ctx, void *buf, size_t len)
{
	struct fcgi_conn	*c = ctx;

	if (len == 0 || c->eof)
		return 0;
	return read_body(c, buf, len);
}

static int
fcgi_write(void *ctx, const void *buf, size_t len)
{
	struct fcgi_conn	*c = ctx;

	return fcgi_out_put(&c->out, FCGI_OUT_STDOUT, buf, len);
}

static int
fcgi_write_err(void *ctx, const void *buf, size_t len)
{
	struct fcgi_conn	*c = ctx;

	return fcgi_out_put(&c->out, FCGI_OUT_STDERR, buf, len);
}

static int
fcgi_conn_fd(void *ctx)
{
	struct fcgi_conn	*c = ctx;

	return c->fd;
}

static const struct req_io fcgi_io = {
	.read = fcgi_read,
	.write = fcgi_write,
	.conn_fd = fcgi_conn_fd,
	.write_err = fcgi_write_err
};

/*
 * Read the request header fcgi_ready.c found whole, with whatever of the
 * body came along: one recv(2) unless the header is larger than the
 * buffer.  Returns READY with *h set, or INVALID with *why.
 */
static enum conn_readiness
read_head(struct fcgi_conn *c, struct fcgi_head *h, const char **why)
{
	enum conn_readiness	 rc;
	size_t			 max = fcgi_header_max();
	uint8_t			*big;
	ssize_t			 n;

	c->off = c->len = 0;
	for (;;) {
		n = recv(c->fd, c->buf + c->len, c->cap - c->len,
		    c->len == 0 ? 0 : MSG_DONTWAIT);
		if (n <= 0) {
			*why = "a request header shorter than peeked";
			return CONN_INVALID;
		}
		c->len += (size_t)n;
		rc = fcgi_head_read(c->buf, c->len, h, why);
		if (rc != CONN_PARTIAL)
			return rc;
		if (c->len < c->cap)
			continue;
		if (c->cap >= max) {
			*why = "a request header larger than max_params_size";
			return CONN_INVALID;
		}
		/* Rare: a header beyond 16 KiB (big cookies). */
		if ((big = realloc(c->buf, max)) == NULL) {
			*why = "out of memory for a large header";
			return CONN_INVALID;
		}
		c->buf = big;
		c->cap = max;
	}
}

/*
 * Answer the management records before the begin record, buf[0..end).
 * fcgi_ready.c checked them already.
 */
static int
lead_mgmt(struct fcgi_conn *c, size_t end)
{
	struct fcgi_event	 ev;
	struct fcgi_stream	*st = &c->st;

	fcgi_stream_init(st, 0);
	while (c->off < end) {
		c->off += fcgi_stream_next(st, c->buf + c->off, end - c->off,
		    0, &ev);
		if (ev.kind == FCGI_EV_ERROR) {
			conn_failed(c, ev.why);
			return -1;
		}
		if (ev.kind == FCGI_EV_MGMT && mgmt_answer(c, &ev) == -1)
			return -1;
	}
	return mgmt_flush(c);
}

/*
 * The body length CONTENT_LENGTH announces: true with *len set, UINT64_MAX
 * when absent or empty (a GET through nginx), LENGTH_HUGE when its digits
 * overflow (larger than any max_body); false when it is not a decimal
 * number ("-1", "+5", " 5", "0x10"), which no web server sends and which
 * a CGI program's atoi() and pooled's reading would take differently.
 */
static bool
content_length(char *const *envp, uint64_t *len)
{
	const char	*s = req_envp_get(envp, "CONTENT_LENGTH");
	uint64_t	 v = 0;

	*len = UINT64_MAX;
	if (s == NULL || *s == '\0')
		return true;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (LENGTH_HUGE - 9) / 10)
			v = LENGTH_HUGE;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0')
		return false;
	*len = v;
	return true;
}

static int
fcgi_begin(void *ctx, int fd, struct pooled_req *req, uint64_t id,
    void *thread_data)
{
	struct fcgi_conn	*c = ctx;
	struct fcgi_head	 h;
	const char		*why;
	char		       **envp;
	void			*env;
	bool			 ok;

	c->fd = fd;
	c->req = NULL;
	c->mgmt = 0;
	c->moutlen = 0;
	c->nodelay = false;
	c->close = c->broken = c->eof = false;
	if (read_head(c, &h, &why) != CONN_READY) {
		conn_failed(c, why);
		goto fail;
	}
	if (lead_mgmt(c, h.begin_off) == -1)
		goto fail;
	if (!h.request) {
		/*
		 * Management records alone, answered: the connection waits
		 * for a request, as libfcgi's did (a client may ask
		 * FCGI_MAX_CONNS before it sends one).
		 */
		c->fd = -1;
		return 1;
	}
	if (c->envcap < h.env_size) {
		if ((env = malloc(h.env_size)) == NULL) {
			log_warn("fastcgi: params");
			goto fail;
		}
		free(c->env);
		c->env = env;
		c->envcap = h.env_size;
	}
	envp = fcgi_envp_build(c->buf, &h, c->env);
	if (fcgi_out_start(&c->out, fd, h.req_id) == -1) {
		log_warn("fastcgi: response buffer");
		goto fail;
	}
	c->off = h.len;
	c->keep_conn = h.keep_conn;
	c->body = 0;
	ok = content_length(envp, &c->length);
	fcgi_stream_init(&c->st, h.req_id);
	body_clock_start(&c->bc, body_timeout, body_min_rate);
	c->bc.got = c->len - c->off;
	req_init(req, &fcgi_io, c, envp, id, thread_data);
	c->req = req;
	if (!ok) {
		/* The acceptor answers it without running the handler. */
		req->body_status = 400;
		req->body_why = "a CONTENT_LENGTH that is not a number";
		c->close = true;
	} else if (max_body > 0 && c->length != UINT64_MAX &&
	    c->length > max_body) {
		/* The acceptor answers it without running the handler. */
		req->body_status = 413;
		req->body_why = "CONTENT_LENGTH is larger than max_body";
		c->close = true;
	}
	return 0;
fail:
	close(fd);
	c->fd = -1;
	return -1;
}

/*
 * Read what the handler left of the body, so the connection can carry
 * the next request, but only when that is cheap: FCGI_DRAIN_MAX bytes at
 * most (often just the empty FCGI_STDIN of a GET, read with the header).
 * A remainder CONTENT_LENGTH says is larger closes the connection at
 * once; one that turns out larger closes it too.
 */
static void
fcgi_finish(void *ctx, struct pooled_req *req, bool keep)
{
	struct fcgi_conn	*c = ctx;
	uint8_t			 buf[4096];
	uint64_t		 drained = 0;
	ssize_t			 n;

	if (req->write_failed || !keep || c->close || c->eof)
		return;
	if (c->length != UINT64_MAX && c->length >= c->body &&
	    c->length - c->body > FCGI_DRAIN_MAX) {
		c->close = true;
		return;
	}
	while (!c->eof && drained <= FCGI_DRAIN_MAX) {
		if ((n = read_body(c, buf, sizeof(buf))) <= 0)
			break;
		drained += (uint64_t)n;
	}
	if (!c->eof)
		c->close = true;
}

/*
 * Close a connection whose response is complete.  On TCP, a close with
 * bytes unread turns into a reset that can lose the response on its way;
 * reading (without waiting) a little of what the peer still sends first
 * avoids it, when anything may be left: two system calls a request, paid
 * only then.  A unix socket delivers what was sent whatever is unread.
 */
static void
linger_close(const struct fcgi_conn *c, int fd)
{
	char	 buf[4096];
	int	 i;

	if (!linger || (c->eof && c->off == c->len)) {
		close(fd);
		return;
	}
	(void)shutdown(fd, SHUT_WR);
	for (i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

/* End the response; returns the connection when the web server keeps it. */
static int
fcgi_end(void *ctx, struct pooled_req *req, bool keep)
{
	struct fcgi_conn	*c = ctx;
	int			 fd = c->fd;
	bool			 again;

	(void)req;
	/* Bytes beyond the request (pipelining) were read: not reusable. */
	again = keep && c->keep_conn && !c->close && c->eof &&
	    c->off == c->len;
	/* A protocol error gets no end: the peer sees the connection cut. */
	if (c->broken)
		(void)shutdown(fd, SHUT_RDWR);
	else
		(void)fcgi_out_end(&c->out, 0);
	c->req = NULL;
	c->fd = -1;
	if (c->cap > FCGI_IN_BUF) {
		free(c->buf);
		c->cap = 0;
		if ((c->buf = malloc(FCGI_IN_BUF)) != NULL)
			c->cap = FCGI_IN_BUF;
	}
	if (c->broken || fcgi_out_failed(&c->out)) {
		close(fd);
		return -1;
	}
	if (!again || c->buf == NULL) {
		linger_close(c, fd);
		return -1;
	}
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
