/*
 * status_listen: the status of every pool, served by the master on an
 * address of its own, so it answers when every worker thread is busy,
 * which is when an operator needs it most.  `pooled -s` reads it.
 *
 * The master is single-threaded and must never block, so this is a tiny
 * HTTP/1.0 server driven by the master's poll loop: a few connections at
 * most, each with a deadline, non-blocking reads until the request head
 * is in, one rendered answer written as the socket takes it, then close.
 * Only GET of "/" or "/metrics" (every pool) or "/POOL" is served.
 *
 * On TCP, a peer status_allowed_clients does not list is closed at
 * accept, and one peer (an IP address) holds at most
 * status_max_connections_per_client of the STATUS_CONNS connections, so
 * idle connections from one host cannot lock `pooled -s` out; when all
 * are taken (by many addresses, as any local user has on loopback), a
 * new connection takes the place of the oldest.  A unix
 * socket is 0600 and the master's (root's): whoever can connect may stop
 * pooled anyway, so it gets no per-peer cap, which would only cap that
 * same user's `pooled -s`.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pooled.h"

#define STATUS_CONNS		16
#define STATUS_HEAD_MAX		2048
#define STATUS_DEADLINE_MS	5000
#define STATUS_REFUSED_LOG_MS	1000	/* one refusal line, at most */
#define STATUS_ACCEPT_PAUSE_MS	1000	/* out of descriptors: wait */

struct status_conn {
	int		 fd;		/* -1: free */
	struct sockaddr_storage peer;	/* TCP: who; for the per-peer cap */
	int64_t		 deadline;
	char		 head[STATUS_HEAD_MAX];
	size_t		 headlen;
	char		*out;		/* the answer, once rendered */
	size_t		 outlen;
	size_t		 outoff;
};

struct status_srv {
	int			 fd;
	struct pool_conf	 pc;	/* for sock_open and sock_unlink */
	status_render_fn	*render;
	void			*arg;
	struct status_conn	 conns[STATUS_CONNS];
	/* Set at open: status_listen keeps its address until a restart. */
	struct client_acl	 acl;		/* status_allowed_clients */
	int			 max_per_client;
	int64_t			 refused_at;	/* clock_ms of the last line */
	unsigned long		 refused_unlogged; /* since that line */
	bool			 paused;	/* not polled until accept_after */
	int64_t			 accept_after;
};

/* Append len bytes to a growing malloc'd string; false when out of memory. */
static bool
append(char **buf, size_t *len, const char *add, size_t addlen)
{
	char	*p;

	if ((p = realloc(*buf, *len + addlen + 1)) == NULL)
		return false;
	memcpy(p + *len, add, addlen);
	*len += addlen;
	p[*len] = '\0';
	*buf = p;
	return true;
}

/* A body of its own for an answer that is not 200: the reason. */
static char *
refusal(int code, const char *why, int *status, const char **ctype,
    size_t *len)
{
	char	*body;
	int	 n;

	*status = code;
	*ctype = status_content_type(STATUS_TEXT);
	if ((n = asprintf(&body, "%d %s: %s\n", code, code == 400 ?
	    "Bad Request" : "Error", why)) < 0)
		return NULL;
	*len = (size_t)n;
	return body;
}

/*
 * The metrics of src's pools (those path names), one family per metric
 * for every pool: snapshots of all of them, rendered at once.
 */
static char *
render_metrics_all(const struct status_source *src, const char *path,
    enum status_format fmt, bool full, int *status, size_t *len)
{
	struct snapshot		*snaps;
	struct status_pool	*sps;
	size_t			 i, n = 0;
	char			*out = NULL;
	bool			 all = path[1] == '\0' ||
	    strcmp(path, "/metrics") == 0;

	snaps = calloc(src->conf->npools, sizeof(*snaps));
	sps = calloc(src->conf->npools, sizeof(*sps));
	if (snaps == NULL || sps == NULL)
		goto done;
	for (i = 0; i < src->conf->npools; i++) {
		const struct pool_conf *pc = &src->conf->pools[i];

		if (!all && strcmp(path + 1, pc->name) != 0)
			continue;
		if (src->sbs[i] == NULL ||
		    snapshot_take(&snaps[n], src->sbs[i], pc,
		    src->fds[i]) == -1)
			goto done;
		sps[n] = snaps[n].pool;
		n++;
	}
	if (n == 0 && !all) {
		*status = 404;
		goto done;
	}
	out = status_render_metrics(sps, n, fmt, full, len);
done:
	for (i = 0; snaps != NULL && i < n; i++)
		snapshot_free(&snaps[i]);
	free(snaps);
	free(sps);
	return out;
}

/*
 * The answer of status_listen: the status of src's pools, every one for
 * "/" and "/metrics", one for "/NAME", from the master's records and
 * validated scoreboard copies.  The format is the query's word, or else
 * what Accept asks for (OpenMetrics or Prometheus' 0.0.4 text), or else
 * plain text, and 0.0.4 for "/metrics".  Plain text and JSON say which
 * generation serves and how the last reload went.  A malloc'd body, or
 * NULL with *status set; an unknown query word is a 400 with its reason.
 */
char *
status_render_all(const struct status_source *src, const char *path,
    const char *query, const char *accept, int *status, const char **ctype,
    size_t *len)
{
	struct snapshot		 snap;
	enum status_format	 fmt;
	const char		*why;
	char			*out = NULL, *one, head[512];
	size_t			 i, onelen, n = 0;
	bool			 full, metrics = strcmp(path, "/metrics") == 0;
	bool			 all = metrics || strcmp(path, "/") == 0, ok;
	int			 hlen;

	*len = 0;
	fmt = status_accept(accept);
	if (metrics && fmt == STATUS_TEXT)
		fmt = STATUS_PROMETHEUS;
	if (status_parse_query(query, &fmt, &full, &why) == -1)
		return refusal(400, why, status, ctype, len);
	*ctype = status_content_type(fmt);
	if (fmt == STATUS_OPENMETRICS || fmt == STATUS_PROMETHEUS)
		return render_metrics_all(src, path, fmt, full, status, len);
	if (fmt == STATUS_TEXT)
		hlen = snprintf(head, sizeof(head), "generation:           %u\n"
		    "last reload:          %s\n", src->gen, src->last_reload);
	else if (all)
		hlen = snprintf(head, sizeof(head), "{\"generation\":%u,"
		    "\"last_reload\":\"%s\",\"pools\":[", src->gen,
		    src->last_reload);
	else
		hlen = 0;
	ok = append(&out, len, head, hlen > 0 ? (size_t)hlen : 0);
	for (i = 0; ok && i < src->conf->npools; i++) {
		const struct pool_conf *pc = &src->conf->pools[i];

		if (!all && strcmp(path + 1, pc->name) != 0)
			continue;
		if (src->sbs[i] == NULL ||
		    snapshot_take(&snap, src->sbs[i], pc, src->fds[i]) == -1) {
			ok = false;
			break;
		}
		one = status_render(&snap.pool, fmt, full, &onelen);
		snapshot_free(&snap);
		if (one == NULL) {
			ok = false;
			break;
		}
		ok = (fmt != STATUS_JSON || !all || n == 0 ||
		    append(&out, len, ",", 1)) &&
		    (fmt != STATUS_TEXT || append(&out, len, "\n", 1)) &&
		    append(&out, len, one, onelen);
		free(one);
		n++;
	}
	if (ok && fmt == STATUS_JSON && all)
		ok = append(&out, len, "]}\n", 3);
	if (ok && n == 0 && !all) {
		*status = 404;
		ok = false;
	}
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Open conf's status_listen, if it has one (*srv stays NULL otherwise).
 * render makes the answer.  Returns -1 when the address cannot be used.
 */
int
status_srv_open(const struct conf *conf, status_render_fn *render,
    void *arg, struct status_srv **srvp)
{
	struct status_srv	*srv;
	size_t			 i;

	*srvp = NULL;
	if (!conf->has_status_listen)
		return 0;
	srv = xcalloc(1, sizeof(*srv));
	srv->pc.name = (char *)(uintptr_t)"status";
	srv->pc.listen = conf->status_listen;
	/* The master's user and group (root), mode 0600: nobody else's. */
	srv->pc.listen_mode = 0600;
	srv->pc.listen_uid = (uid_t)-1;		/* the master's */
	srv->pc.listen_gid = (gid_t)-1;
	srv->pc.listen_backlog = STATUS_CONNS;
	srv->render = render;
	srv->arg = arg;
	for (i = 0; i < STATUS_CONNS; i++)
		srv->conns[i].fd = -1;
	/* A copy: a reload frees the conf this one came from. */
	srv->acl.any = conf->status_allowed_clients.any;
	srv->acl.n = conf->status_allowed_clients.n;
	if (srv->acl.n > 0) {
		srv->acl.v = xcalloc(srv->acl.n, sizeof(*srv->acl.v));
		memcpy(srv->acl.v, conf->status_allowed_clients.v,
		    srv->acl.n * sizeof(*srv->acl.v));
	}
	srv->max_per_client = conf->status_max_per_client;
	srv->refused_at = INT64_MIN / 2;
	if ((srv->fd = sock_open(&srv->pc)) == -1) {
		acl_free(&srv->acl);
		free(srv);
		return -1;
	}
	*srvp = srv;
	return 0;
}

static void
conn_close(struct status_conn *c)
{
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->headlen = c->outlen = c->outoff = 0;
}

/* Close the status address and its connections, remove its file. */
void
status_srv_close(struct status_srv *srv)
{
	size_t	 i;

	if (srv == NULL)
		return;
	for (i = 0; i < STATUS_CONNS; i++)
		if (srv->conns[i].fd != -1)
			conn_close(&srv->conns[i]);
	sock_unlink(&srv->pc, srv->fd);
	close(srv->fd);
	acl_free(&srv->acl);
	free(srv);
}

/* Add the status fds to a poll set; returns how many were added. */
size_t
status_srv_pollfds(struct status_srv *srv, struct pollfd *pfd)
{
	size_t	 i, n = 0;

	if (srv == NULL)
		return 0;
	if (!srv->paused) {
		pfd[n].fd = srv->fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < STATUS_CONNS; i++) {
		if (srv->conns[i].fd == -1)
			continue;
		pfd[n].fd = srv->conns[i].fd;
		pfd[n++].events = srv->conns[i].out != NULL ? POLLOUT :
		    POLLIN;
	}
	return n;
}

/* The most fds status_srv_pollfds adds. */
size_t
status_srv_maxfds(void)
{
	return STATUS_CONNS + 1;
}

/* The same host: family and address equal, whatever the ports. */
static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(
		    &((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr);
	return false;
}

/*
 * Close a connection at accept and log why, one line a second at most
 * (the master is single-threaded: a timestamp and a count do); the next
 * line, or status_srv_tick, says how many more were refused meanwhile.
 */
static void
refuse(struct status_srv *srv, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen, const char *why, int64_t now)
{
	char	 peer[INET6_ADDRSTRLEN + 16];

	close(fd);
	if (now - srv->refused_at < STATUS_REFUSED_LOG_MS) {
		srv->refused_unlogged++;
		return;
	}
	if (!sock_addr_name(ss, sslen, peer, sizeof(peer)))
		snprintf(peer, sizeof(peer), "a peer");
	if (srv->refused_unlogged > 0)
		log_msg(POOLED_LOG_WARNING, "status_listen: refused %s (%s); "
		    "%lu more refused since the last such line", peer, why,
		    srv->refused_unlogged);
	else
		log_msg(POOLED_LOG_WARNING, "status_listen: refused %s (%s)",
		    peer, why);
	srv->refused_at = now;
	srv->refused_unlogged = 0;
}

static void
accept_one(struct status_srv *srv, int64_t now)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	size_t			 i, free_slot = STATUS_CONNS;
	char			 why[96];
	int			 fd, held = 0;
	bool			 tcp = srv->pc.listen.kind == LISTEN_TCP;

	if ((fd = accept4(srv->fd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		/*
		 * The connection stays queued and the socket readable: polled
		 * on, the master would spin.  It looks again in a while
		 * (status_srv_tick), when a descriptor may be free.
		 */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("status_listen: accept; trying again in %d ms",
			    STATUS_ACCEPT_PAUSE_MS);
			srv->paused = true;
			srv->accept_after = now + STATUS_ACCEPT_PAUSE_MS;
		}
		return;
	}
	if (tcp && !acl_allows(&srv->acl, (const struct sockaddr *)&ss,
	    sslen)) {
		refuse(srv, fd, &ss, sslen, "not in status_allowed_clients",
		    now);
		return;
	}
	for (i = 0; i < STATUS_CONNS; i++) {
		if (srv->conns[i].fd == -1) {
			if (free_slot == STATUS_CONNS)
				free_slot = i;
		} else if (tcp && same_host(&srv->conns[i].peer, &ss))
			held++;
	}
	if (tcp && held >= srv->max_per_client) {
		snprintf(why, sizeof(why), "it holds %d connections already: "
		    "status_max_connections_per_client", held);
		refuse(srv, fd, &ss, sslen, why, now);
		return;
	}
	if (free_slot == STATUS_CONNS) {
		/*
		 * All taken: the oldest goes.  A per-peer cap stops one
		 * address, but every local user has all of 127.0.0.0/8 to
		 * connect from, and 16 idle connections held from four of
		 * them locked `pooled -s` out for good.  Evicting the
		 * oldest instead, a client that sends its request at once
		 * is answered unless 16 newer connections are accepted
		 * before its request is read, one poll round later: the
		 * master accepts one connection a round.
		 */
		for (i = 0; i < STATUS_CONNS; i++)
			if (free_slot == STATUS_CONNS ||
			    srv->conns[i].deadline <
			    srv->conns[free_slot].deadline)
				free_slot = i;
		conn_close(&srv->conns[free_slot]);
	}
	srv->conns[free_slot].fd = fd;
	srv->conns[free_slot].peer = ss;
	srv->conns[free_slot].deadline = now + STATUS_DEADLINE_MS;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Internal Server Error";
	}
}

/*
 * The value of header name in a request head (NUL-terminated), into out
 * (truncated to fit); false when it has none.
 */
static bool
header_value(const char *head, const char *name, char *out, size_t len)
{
	const char	*p = head;
	size_t		 n = strlen(name), v;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		p += n + 1;
		p += strspn(p, " \t");
		v = strcspn(p, "\r\n");
		if (v >= len)
			v = len - 1;
		memcpy(out, p, v);
		out[v] = '\0';
		return true;
	}
	return false;
}

/* The head is in: render the answer for its request line. */
static void
answer(struct status_srv *srv, struct status_conn *c)
{
	char		 target[256], accept[512], *query, *body;
	const char	*ctype = "text/plain; charset=utf-8";
	size_t		 blen = 0;
	int		 status = 200, n;

	c->head[c->headlen] = '\0';
	if (sscanf(c->head, "GET %255s HTTP/1.", target) != 1) {
		status = strncmp(c->head, "GET ", 4) == 0 ? 400 : 405;
		body = NULL;
	} else {
		if ((query = strchr(target, '?')) != NULL)
			*query++ = '\0';
		body = srv->render(srv->arg, target, query,
		    header_value(c->head, "Accept", accept, sizeof(accept)) ?
		    accept : NULL, &status, &ctype, &blen);
	}
	if (body == NULL) {
		if (status == 200)
			status = 500;
		n = asprintf(&body, "%d %s\n", status, reason(status));
		blen = n < 0 ? 0 : (size_t)n;
		ctype = "text/plain; charset=utf-8";
	}
	n = asprintf(&c->out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n%.*s", status, reason(status), ctype,
	    blen, (int)blen, body != NULL ? body : "");
	free(body);
	if (n < 0) {
		c->out = NULL;
		conn_close(c);
		return;
	}
	c->outlen = (size_t)n;
}

static void
conn_event(struct status_srv *srv, struct status_conn *c)
{
	ssize_t	 n;

	if (c->out == NULL) {
		n = recv(c->fd, c->head + c->headlen, sizeof(c->head) - 1 -
		    c->headlen, 0);
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				conn_close(c);
			return;
		}
		c->headlen += (size_t)n;
		c->head[c->headlen] = '\0';
		if (strstr(c->head, "\r\n\r\n") != NULL ||
		    strstr(c->head, "\n\n") != NULL ||
		    c->headlen == sizeof(c->head) - 1)
			answer(srv, c);
		return;
	}
	n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n > 0)
		c->outoff += (size_t)n;
	if (n <= 0 || c->outoff == c->outlen)
		conn_close(c);
}

/* fd had revents: accept, read or write; close what is past its deadline. */
void
status_srv_event(struct status_srv *srv, int fd, int64_t now)
{
	size_t	 i;

	if (srv == NULL)
		return;
	if (fd == srv->fd) {
		accept_one(srv, now);
		return;
	}
	for (i = 0; i < STATUS_CONNS; i++)
		if (srv->conns[i].fd == fd) {
			conn_event(srv, &srv->conns[i]);
			return;
		}
}

/*
 * Close the connections past their deadline, log the refusals not logged
 * yet once the last line is a second old, poll the socket again after a
 * pause; ms to the next, or -1.
 */
int
status_srv_tick(struct status_srv *srv, int64_t now)
{
	int64_t	 next = -1;
	size_t	 i;

	if (srv != NULL && srv->paused) {
		if (now >= srv->accept_after) {
			srv->paused = false;
			next = 0;	/* poll the socket again at once */
		} else
			next = srv->accept_after - now;
	}
	if (srv != NULL && srv->refused_unlogged > 0) {
		if (now - srv->refused_at >= STATUS_REFUSED_LOG_MS) {
			log_msg(POOLED_LOG_WARNING, "status_listen: %lu more "
			    "refused since the last such line",
			    srv->refused_unlogged);
			srv->refused_at = now;
			srv->refused_unlogged = 0;
		} else if (next == -1 || srv->refused_at +
		    STATUS_REFUSED_LOG_MS - now < next)
			next = srv->refused_at + STATUS_REFUSED_LOG_MS - now;
	}
	for (i = 0; srv != NULL && i < STATUS_CONNS; i++) {
		if (srv->conns[i].fd == -1)
			continue;
		if (now >= srv->conns[i].deadline) {
			conn_close(&srv->conns[i]);
			continue;
		}
		if (next == -1 || srv->conns[i].deadline - now < next)
			next = srv->conns[i].deadline - now;
	}
	return (int)next;
}
