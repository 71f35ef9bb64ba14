/*
 * Acceptor threads: the worker loop, the same for every protocol.
 *
 * An acceptor waits in the worker's epoll set, its turn given by the crew
 * (crew.c: one leader at a time, the others idle where no arrival wakes
 * them), for either the shared listen socket or a parked connection that
 * has bytes to read.  A new connection is accept4()ed here (close-on-exec,
 * with SO_RCVTIMEO and SO_SNDTIMEO so no read or write blocks forever).  A
 * connection goes to the protocol (proto_fcgi.c, proto_scgi.c) only once
 * its whole request header is in the socket buffer; until then it waits
 * in the parking lot (park.c), without a thread, so silent and slow peers
 * cannot hold the pool's threads.  The protocol reads the header and sets
 * up the request; the handler answers it; the protocol ends it and says
 * whether the connection carries another request, in which case it is
 * parked again.
 *
 * A stop reaches the acceptors as an event in the same epoll set (the
 * worker's stop eventfd, level-triggered), so it never interrupts a
 * request's I/O and cannot be lost between the look at the worker's state
 * (worker_life.c) and the wait.  No signal is involved.  An acceptor that
 * ends says so on the worker's done eventfd, which the control thread
 * waits on (with a monotonic deadline) before it joins it.
 */
#include "config.h"

#include <sys/param.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

#define ACCEPTOR_STUCK_MS	2000	/* after the cut, before replacing */
#define ACCEPTOR_BATCH		64	/* accepts a turn, with kept conns */
#define REFUSED_LOG_MS		1000	/* one refusal line a worker, at most */

/* What accept_new returns instead of a descriptor. */
#define ACCEPT_DRAINED	(-1)	/* none waits (EAGAIN) */
#define ACCEPT_RETRY	(-2)	/* interrupted, or that one went away */
#define ACCEPT_FAILED	(-3)	/* out of descriptors or memory, backed off */

struct acceptor {
	struct worker		*w;
	size_t			 index;
	pthread_t		 tid;
	/*
	 * The request in hand, published for the control thread's
	 * request_timeout check; guarded by mtx.  Published only while the
	 * connection is certainly open (after the protocol's begin, before
	 * its end), so a shutdown(2) never hits a reused fd number.
	 */
	pthread_mutex_t		 mtx;
	struct pooled_req	*current;
	int			 current_fd;
	int64_t			 started;
	int64_t			 deadline;
	bool			 cut;
	int64_t			 cut_at;
	bool			 stuck;
	bool			 slow_logged;
	bool			 bt_pending;	/* its backtrace is asked for */
	int64_t			 bt_asked_at;
	struct bt_slot		 bt;		/* slow_request_backtrace */
	void			*conn;		/* the protocol's state */
	void			*thread_data;
	_Atomic bool		 ended;		/* acceptor_main is done */
};

/* Prepare the process for acceptor threads: initialise the protocol. */
void
acceptor_init_process(const struct worker *w)
{
	w->proto->init_process(w->pool);
	if (w->pool->slow_request_backtrace)
		(void)bt_init_process();
}

static void
set_timeouts(const struct pool_conf *pc, int fd)
{
	struct timeval	 rtv = { .tv_sec = pc->read_timeout };
	struct timeval	 wtv = { .tv_sec = pc->write_timeout };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wtv, sizeof(wtv)) == -1)
		log_warn("acceptor: setsockopt timeouts");
}

/*
 * Connections refused by allowed_clients, for the log: one line a second
 * at most per worker, whatever a peer does, naming the peer and how many
 * were refused since the line before.  Acceptors race here, so the
 * limiter is two atomics, not a lock: the thread that moves refused_at
 * forward logs; the others only count.
 */
static _Atomic int64_t	 refused_at = INT64_MIN / 2; /* clock_ms of a line */
static _Atomic uint64_t	 refused_unlogged;	/* refused since that line */

/*
 * Close a connection from a peer allowed_clients does not list, before a
 * byte of it is read, and log it within the limit above.
 */
static void
refuse(struct worker *w, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	char		 peer[INET6_ADDRSTRLEN + 16];
	int64_t		 now = clock_ms(), last;
	uint64_t	 more;
	bool		 mine;

	last = atomic_load(&refused_at);
	mine = now - last >= REFUSED_LOG_MS &&
	    atomic_compare_exchange_strong(&refused_at, &last, now);
	/* Counted before the close: a peer that saw it is in the count. */
	if (!mine)
		atomic_fetch_add(&refused_unlogged, 1);
	close(fd);
	if (!mine)
		return;
	more = atomic_exchange(&refused_unlogged, 0);
	if (!sock_addr_name(ss, sslen, peer, sizeof(peer)))
		snprintf(peer, sizeof(peer), "a peer");
	if (more > 0)
		log_msg(POOLED_LOG_WARNING, "pool %s: refused %s (not in "
		    "allowed_clients); %" PRIu64 " more refused since the "
		    "last such line", w->pool->name, peer, more);
	else
		log_msg(POOLED_LOG_WARNING, "pool %s: refused %s (not in "
		    "allowed_clients)", w->pool->name, peer);
}

/*
 * From the control thread's tick: report the refusals counted since the
 * last line once that line is a second old, so a burst that ends gets
 * its count logged without waiting for the next refusal.
 */
void
acceptor_refused_flush(struct worker *w, int64_t now)
{
	int64_t		 last;
	uint64_t	 more;

	if (atomic_load(&refused_unlogged) == 0)
		return;
	last = atomic_load(&refused_at);
	if (now - last < REFUSED_LOG_MS ||
	    !atomic_compare_exchange_strong(&refused_at, &last, now))
		return;
	if ((more = atomic_exchange(&refused_unlogged, 0)) > 0)
		log_msg(POOLED_LOG_WARNING, "pool %s: %" PRIu64 " more "
		    "refused (not in allowed_clients) since the last such "
		    "line", w->pool->name, more);
}

/*
 * Accept one connection from the listen socket: its fd, or ACCEPT_*.  On
 * TCP the peer's address comes with it and allowed_clients is checked
 * before anything else happens to the connection; a unix socket is
 * guarded by its file's owner and mode, so it pays for no address.
 */
static int
accept_new(struct worker *w)
{
	static _Atomic int64_t	 last_log;
	struct timespec		 pause = { 0, 100 * 1000 * 1000 };
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	int64_t			 now, last;
	int			 fd;

	if (w->pool->listen.kind == LISTEN_UNIX)
		fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	else
		fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
	if (fd != -1) {
		if (w->pool->listen.kind == LISTEN_TCP &&
		    !acl_allows(&w->pool->allowed_clients,
		    (const struct sockaddr *)&ss, sslen)) {
			refuse(w, fd, &ss, sslen);
			return ACCEPT_RETRY;
		}
		set_timeouts(w->pool, fd);
		return fd;
	}
	switch (errno) {
	case EAGAIN:
		/* None left, or another acceptor won it. */
		return ACCEPT_DRAINED;
	case EINTR:
	case ECONNABORTED:
		return ACCEPT_RETRY;
	case EINVAL:
		/* The worker stops and let go of the socket (worker.c). */
		if (wlife_stopping(&w->life))
			return ACCEPT_DRAINED;
		/* FALLTHROUGH */
	default:
		/*
		 * EMFILE, ENFILE, ENOBUFS...: back off rather than spin, and
		 * say so once a second, not once per thread and attempt.
		 */
		now = clock_ms();
		last = atomic_load(&last_log);
		if (now - last >= 1000 &&
		    atomic_compare_exchange_strong(&last_log, &last, now))
			log_warn("acceptor: accept4");
		nanosleep(&pause, NULL);
		return ACCEPT_FAILED;
	}
}

/* When a connection parked now must have sent its request header. */
static int64_t
read_deadline(const struct worker *w)
{
	return clock_ms() + w->pool->read_timeout * 1000LL;
}

/*
 * Judge a connection just accepted or taken from the parking lot: true if
 * its whole request header is there to read; otherwise it is parked until
 * it is, rejected, or closed.
 */
static bool
admit(struct worker *w, int fd)
{
	const char		*why;
	char			 peer[64];

	switch (w->proto->ready(fd, &why)) {
	case CONN_READY:
		return true;
	case CONN_INVALID:
		/* A client can send these as fast as it connects. */
		sock_peer_name(fd, peer, sizeof(peer));
		log_peer_fd(POOLED_LOG_ERROR, fd, "acceptor: %s: malformed "
		    "%s request: %s; connection closed", peer, w->proto->name,
		    why);
		w->proto->reject(fd);
		break;
	case CONN_EMPTY:
		park_waiting(w->park, fd, read_deadline(w));
		break;
	case CONN_PARTIAL:
		park_partial(w->park, fd, read_deadline(w));
		break;
	case CONN_CLOSED:
		close(fd);
		break;
	}
	return false;
}

/*
 * Accept up to n connections.  The first whose request header is in goes
 * to *mine, if mine is not NULL; the others that are ready are parked, to
 * be taken in their turn.
 */
static void
accept_some(struct worker *w, size_t n, int *mine)
{
	size_t	 i;
	int	 fd;

	n = MIN(n, park_room_new(w->park) + (mine != NULL ? 1 : 0));
	for (i = 0; i < n; i++) {
		if ((fd = accept_new(w)) == ACCEPT_DRAINED ||
		    fd == ACCEPT_FAILED)
			return;
		if (fd == ACCEPT_RETRY || !admit(w, fd))
			continue;
		if (mine != NULL && *mine == -1)
			*mine = fd;
		else
			park_waiting(w->park, fd, read_deadline(w));
	}
}

/*
 * A stopping worker's last look at the listen socket: accept up to n of
 * the connections that wait and park them, to be served with the
 * connections in hand.
 */
void
acceptor_take_backlog(struct worker *w, size_t n)
{
	accept_some(w, n, NULL);
}

/*
 * The listen socket's turn: a connection, served if its request header
 * is in (else parked by admit).  The socket is level-triggered (worker.c,
 * listen_add): with one leader in the epoll set, nobody else is woken by
 * its staying readable, and the next leader's epoll_wait finds the
 * connections still waiting.  But the socket is one event in the set
 * however many wait behind it: while the web server keeps connections
 * open (fastcgi_keep_conn), each with a request is an event of its own,
 * and one new connection a turn left the others in the backlog while
 * kept ones were served again and again (CGI 2 x 2 at c256: p99 560 ms
 * and timeouts, against 320 ms and none).  Then a turn takes up to
 * ACCEPTOR_BATCH, and parks those it does not serve, each an event in
 * its turn.  Returns the fd to serve, or -1.
 */
static int
accept_turn(struct worker *w)
{
	int	 mine = -1;

	accept_some(w, park_count_kept(w->park) > 0 ? ACCEPTOR_BATCH : 1,
	    &mine);
	return mine;
}

/*
 * A new leader takes a connection straight from the listen socket when
 * nothing is parked (parked connections' events come first, in order):
 * under load one waits, and the accept is one call where a turn through
 * epoll is two.  Not once the worker stops.  Returns its fd, or -1 to
 * wait in the epoll set.
 */
static int
accept_first(struct worker *w)
{
	if (wlife_stopping(&w->life) || park_count_new(w->park) != 0 ||
	    park_count_kept(w->park) != 0)
		return -1;
	return accept_turn(w);
}

/*
 * Wait for the next connection with a whole request header to read;
 * returns its fd, or -1 when the worker stops.  served: the thread's
 * request before is over, for the crew.  Connections that are not
 * ready yet are parked on the way.  The thread waits in the epoll set
 * only as the crew's leader (crew.c), and, taking a connection, hands
 * the lead on.
 */
static int
next_connection(struct acceptor *a, bool served)
{
	struct worker		*w = a->w;
	struct epoll_event	 ev;
	uint64_t		 drop;
	bool			 leading = false, looking = false, looked = false;
	int			 n, fd;

	for (;;) {
		/*
		 * Stopping, the connections this worker accepted already are
		 * still served; kept ones were closed (worker_drain).
		 */
		if (wlife_stopping(&w->life) && park_count_new(w->park) == 0)
			return -1;
		if (!leading && !looking) {
			if (crew_lead(w->crew, a->index, served, looked,
			    clock_ms()) == CREW_LOOK)
				looking = true;
			else
				leading = true;
			served = looked = false;
			if ((fd = accept_first(w)) != -1)
				break;
			continue;
		}
		n = epoll_wait(w->epfd, &ev, 1, looking ? 0 : -1);
		if (n == -1 && errno != EINTR) {
			/* EBADF or EINVAL: a bug; acceptors never exit(). */
			log_warn("acceptor: epoll_wait");
			abort();
		}
		/* A look found nothing to serve: next, a turn. */
		looked = looking;
		looking = false;
		if (n <= 0)
			continue;
		/*
		 * The stop broadcast (worker.c, raise_stop): exit at the top
		 * of the loop, unless a new connection was parked since it
		 * was raised; then lower it, so the threads that stay to
		 * serve that one do not spin on it, until the next tick.
		 */
		if (ev.data.u64 == PARK_STOP_TOKEN) {
			if (park_count_new(w->park) != 0)
				(void)read(w->stop_fd, &drop, sizeof(drop));
			continue;
		}
		/* A listen event is this worker's to take, stopping or not. */
		if (ev.data.u64 == PARK_LISTEN_TOKEN)
			fd = accept_turn(w);
		else if ((fd = park_take(w->park, ev.data.u64)) != -1 &&
		    !admit(w, fd))
			fd = -1;
		if (fd != -1)
			break;
	}
	crew_serve(w->crew, a->index, leading, clock_ms());
	return fd;
}

/* Park a connection kept for its next request, unless stopping. */
static void
repark(struct acceptor *a, int fd)
{
	struct worker	*w = a->w;

	if (wlife_stopping(&w->life)) {
		close(fd);
		return;
	}
	park_kept(w->park, fd, clock_ms() + w->pool->keepalive_timeout *
	    1000LL);
	/*
	 * A stop that began since the check above may have closed the kept
	 * connections before this one was parked: close them again.
	 */
	if (wlife_stopping(&w->life))
		park_close_kept(w->park);
}

/*
 * A request is over: its response was sent and its connection released
 * or kept.  Whatever watches requests (the access log, metrics) looks
 * here, once a request, on the thread that served it; req (its params,
 * status, bytes and duration: req_end) is still valid.
 */
static void
request_done(struct acceptor *a, struct pooled_req *req)
{
	req_end(req);
	/* Observers of finished requests: one call each, below. */
	access_log_write(req, a->index);
	/* Back to idle, the request counted with its status and duration. */
	sb_thread_done(a->w->sb, a->w->row, (unsigned int)a->index,
	    req_status(req), req->duration_us);
}

static void
serve(struct acceptor *a, int fd)
{
	struct worker		*w = a->w;
	const struct pool_conf	*pc = w->pool;
	struct pooled_req	 req;
	const char		*method, *uri;
	bool			 keep;
	int			 rc;

	sb_thread_set(w->sb, w->row, (unsigned int)a->index, SB_READING,
	    clock_ms(), NULL, NULL);
	rc = w->proto->begin(a->conn, fd, &req,
	    atomic_fetch_add(&w->next_req_id, 1) + 1, a->thread_data);
	if (rc != 0) {
		sb_thread_set(w->sb, w->row, (unsigned int)a->index, SB_IDLE,
		    0, NULL, NULL);
		/* Only answered: its request may follow, as with libfcgi. */
		if (rc == 1)
			repark(a, fd);
		return;
	}
	pthread_mutex_lock(&a->mtx);
	a->current = &req;
	a->current_fd = fd;
	a->started = clock_ms();
	/* Looked up once: the scoreboard shows them twice a request. */
	method = pooled_req_param(&req, "REQUEST_METHOD");
	uri = pooled_req_param(&req, "REQUEST_URI");
	sb_thread_set(w->sb, w->row, (unsigned int)a->index, SB_RUNNING,
	    a->started, method, uri);
	a->deadline = a->started + pc->request_timeout * 1000LL;
	a->cut = false;
	a->stuck = false;
	a->slow_logged = false;
	a->bt_pending = false;
	pthread_mutex_unlock(&a->mtx);

	/* A body refused from its header (max_body) runs nothing. */
	rc = req.body_status != 0 || status_page_serve(w, &req) ? 0 :
	    w->backend->handle(&req);
	/* A client that went away gets no error page (the handler said). */
	if (req.write_failed && req.bytes_out == 0)
		;
	else if (req.bytes_out == 0 && req.body_status != 0)
		req_respond_error(&req, req.body_status, req.body_why != NULL ?
		    req.body_why : "the request body was cut short");
	else if (rc != 0 && req.bytes_out == 0)
		req_respond_error(&req, 500, "the handler failed");
	else if (rc != 0)
		pooled_req_log(&req, POOLED_LOG_ERROR, "the handler failed "
		    "after sending %zu bytes%s", req.bytes_out,
		    req.write_failed ? " (writing to the client failed)" : "");
	else if (req.bytes_out == 0)
		req_respond_error(&req, 500, "the handler wrote no response");
	/* Still published: request_timeout also bounds the body's drain. */
	pthread_mutex_lock(&a->mtx);
	keep = !a->cut;
	sb_thread_set(w->sb, w->row, (unsigned int)a->index, SB_WRITING,
	    a->started, method, uri);
	pthread_mutex_unlock(&a->mtx);
	w->proto->finish(a->conn, &req, keep);

	pthread_mutex_lock(&a->mtx);
	a->current = NULL;
	a->current_fd = -1;
	keep = !a->cut;
	pthread_mutex_unlock(&a->mtx);
	fd = w->proto->end(a->conn, &req, keep);
	request_done(a, &req);
	worker_request_done(w);
	if (fd != -1)
		repark(a, fd);
}

/*
 * Say that this thread is done, for the control thread's join: the flag
 * tells which one, the eventfd wakes it.  Nothing of a is touched after.
 */
static void
ended(struct acceptor *a)
{
	struct worker	*w = a->w;
	uint64_t	 one = 1;

	atomic_store(&a->ended, true);
	if (write(w->done_fd, &one, sizeof(one)) == -1)
		log_warn("acceptor: cannot say it ended");
}

static void *
acceptor_main(void *arg)
{
	struct acceptor	*a = arg;
	struct worker	*w = a->w;
	bool		 ok, served = false;
	int		 fd;

	if (w->pool->slow_request_backtrace)
		bt_thread_set(&a->bt);
	ok = w->backend->thread_init == NULL ||
	    w->backend->thread_init(&a->thread_data) == 0;
	if (!ok)
		log_warnx("acceptor %zu: thread_init failed", a->index);
	if (worker_thread_inited(w, ok)) {
		sb_thread_set(w->sb, w->row, (unsigned int)a->index, SB_IDLE,
		    0, NULL, NULL);
		while ((fd = next_connection(a, served)) != -1) {
			serve(a, fd);
			served = true;
		}
		if (w->backend->thread_fini != NULL)
			w->backend->thread_fini(a->thread_data);
	} else
		crew_leave(w->crew);
	ended(a);
	return NULL;
}

/* Start acceptor thread number index. */
struct acceptor *
acceptor_start(struct worker *w, size_t index)
{
	struct acceptor	*a;
	pthread_attr_t	 attr;
	int		 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("acceptor_start");
		return NULL;
	}
	a->w = w;
	a->index = index;
	pthread_mutex_init(&a->mtx, NULL);
	a->current_fd = -1;
	if ((a->conn = w->proto->conn_new()) == NULL) {
		log_warn("acceptor_start");
		pthread_mutex_destroy(&a->mtx);
		free(a);
		return NULL;
	}
	pthread_attr_init(&attr);
	rc = pthread_create(&a->tid, &attr, acceptor_main, a);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		log_warn("acceptor_start: pthread_create");
		w->proto->conn_free(a->conn);
		pthread_mutex_destroy(&a->mtx);
		free(a);
		return NULL;
	}
	return a;
}

/*
 * The slow request's stack, once its thread answered (the next tick,
 * usually): one line per frame, the signal handler's own left out.  A
 * thread that has not answered within a second is given up on (it may
 * be blocked in something that holds signals off).
 */
static void
log_backtrace(struct acceptor *a, int64_t now)
{
	void	*frames[BT_FRAMES];
	char	 desc[512];
	int	 i, n;

	if ((n = bt_take(&a->bt, frames)) == -1) {
		if (now - a->bt_asked_at < 1000)
			return;
		pooled_req_log(a->current, POOLED_LOG_WARNING, "slow request: "
		    "thread %zu did not answer for its backtrace", a->index);
		a->bt_pending = false;
		return;
	}
	a->bt_pending = false;
	pooled_req_log(a->current, POOLED_LOG_WARNING, "slow request: "
	    "backtrace of thread %zu (%d frames):", a->index, n - 1);
	for (i = 1; i < n; i++) {
		bt_describe(frames[i], desc, sizeof(desc));
		pooled_req_log(a->current, POOLED_LOG_WARNING, "slow request: "
		    "  #%d %s", i - 1, desc);
	}
}

/*
 * The control thread's look at the request in hand, once a tick.  Past
 * slow_request it is logged once.  Past request_timeout its connection is
 * shut down, so every read and write the handler or the protocol still
 * makes on it fails at once and the thread comes back: a slow or
 * trickling peer holds a thread for request_timeout at most.  A module
 * busy computing is not stopped by failing I/O: if the request is still
 * in hand ACCEPTOR_STUCK_MS after the cut, the worker asks to be
 * replaced, the others serve on, and the master stops it (SIGTERM after
 * graceful_timeout) once its replacement is ready.  (A CGI program is
 * bounded by cgi_timeout.)
 */
void
acceptor_check_deadline(struct acceptor *a, int64_t now)
{
	const struct pool_conf	*pc = a->w->pool;
	const char		*method, *uri;
	bool			 stuck = false;

	pthread_mutex_lock(&a->mtx);
	if (a->current == NULL) {
		pthread_mutex_unlock(&a->mtx);
		return;
	}
	method = pooled_req_param(a->current, "REQUEST_METHOD");
	uri = pooled_req_param(a->current, "REQUEST_URI");
	method = method != NULL ? method : "-";
	uri = uri != NULL ? uri : "-";
	if (pc->slow_request > 0 && !a->slow_logged &&
	    now - a->started >= pc->slow_request * 1000LL) {
		pooled_req_log(a->current, POOLED_LOG_WARNING, "slow request: "
		    "%s %s: running for %lld ms on thread %zu (slow_request "
		    "%d s)", method, uri, (long long)(now - a->started),
		    a->index, pc->slow_request);
		a->slow_logged = true;
		sb_row_count(a->w->sb, a->w->row, false);
		if (pc->slow_request_backtrace && bt_ask(&a->bt, a->tid)) {
			a->bt_pending = true;
			a->bt_asked_at = now;
		}
	}
	if (a->bt_pending)
		log_backtrace(a, now);
	if (!a->cut && now >= a->deadline) {
		pooled_req_log(a->current, POOLED_LOG_ERROR, "%s %s: still "
		    "running after request_timeout (%d s); shutting its "
		    "connection down (thread %zu, %lld ms)", method, uri,
		    pc->request_timeout, a->index,
		    (long long)(now - a->started));
		(void)shutdown(a->current_fd, SHUT_RDWR);
		a->cut = true;
		a->cut_at = now;
		sb_row_count(a->w->sb, a->w->row, true);
	} else if (a->cut && !a->stuck && pc->handler == HANDLER_MODULE &&
	    now - a->cut_at >= ACCEPTOR_STUCK_MS) {
		pooled_req_log(a->current, POOLED_LOG_ERROR, "%s %s: the "
		    "handler is stuck: still running %lld ms after its "
		    "connection was shut down (thread %zu, %lld ms in all); "
		    "replacing the worker", method, uri,
		    (long long)(now - a->cut_at), a->index,
		    (long long)(now - a->started));
		a->stuck = stuck = true;
	}
	pthread_mutex_unlock(&a->mtx);
	if (stuck)
		worker_ask_retire(a->w, RETIRE_STUCK);
}

/* Whether an acceptor is done: its thread is ending, or has ended. */
bool
acceptor_ended(const struct acceptor *a)
{
	return atomic_load(&a->ended);
}

/*
 * Join an acceptor that is done, without waiting: free it and return true
 * if its thread has ended.  The caller waits on the done eventfd, with a
 * monotonic deadline of its own, rather than in a timed join on the wall
 * clock (and pthread_clockjoin_np is unknown to ThreadSanitizer).
 */
bool
acceptor_try_join(struct acceptor *a)
{
	if (!atomic_load(&a->ended) || pthread_tryjoin_np(a->tid, NULL) != 0)
		return false;
	a->w->proto->conn_free(a->conn);
	pthread_mutex_destroy(&a->mtx);
	free(a);
	return true;
}
