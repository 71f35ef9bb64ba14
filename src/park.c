/*
 * The parking lot: connections that wait without a thread.  libfcgi would
 * pin a thread in read() to every connection; pooled lets a thread take a
 * connection only when a whole request header is there to parse.  Until
 * then it is parked here, in one of two ways:
 *
 * - waiting: nothing to read yet (a new connection, or one nginx keeps
 *   open between requests with fastcgi_keep_conn).  It sits armed in the
 *   worker's epoll set (EPOLLONESHOT); the first bytes wake one acceptor.
 * - partial: some bytes, not yet a whole header (a slow or malicious
 *   sender).  It is not armed, since epoll would report it readable at
 *   once; the control thread re-checks it every tick and arms it when the
 *   header is complete.
 *
 * Each has a deadline; park_tick closes those past it.  The epoll data of
 * a parked fd is a token, (generation << 32 | fd), so a stale event for an
 * fd closed, and perhaps reused, in between is recognised and dropped.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pooled.h"

#define PARK_MAX_FDS	(1 << 20)

enum parked_state {
	PARKED_NONE,
	PARKED_WAITING,
	PARKED_PARTIAL
};

struct parked {
	uint32_t		 gen;
	enum parked_state	 state;
	bool			 kept;		/* counts against max_kept */
	int64_t			 deadline;
};

struct park {
	pthread_mutex_t	 mtx;
	int		 epfd;
	int		 max_kept;
	int		 max_waiting;
	int64_t		 last_full_log;
	park_ready_fn	*ready;
	size_t		 count;
	_Atomic size_t	 nkept;		/* written with mtx held */
	size_t		 nfds;
	struct parked	*fds;		/* indexed by descriptor number */
};

/* Create the parking lot of a worker's epoll set. */
struct park *
park_new(int epfd, int max_kept, int max_waiting, park_ready_fn *ready)
{
	struct park	*k;
	struct rlimit	 rl;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY
	    || rl.rlim_cur > PARK_MAX_FDS)
		rl.rlim_cur = PARK_MAX_FDS;
	k->nfds = (size_t)rl.rlim_cur;
	/* calloc: pages for fd numbers never used are never touched. */
	if ((k->fds = calloc(k->nfds, sizeof(*k->fds))) == NULL) {
		free(k);
		return NULL;
	}
	pthread_mutex_init(&k->mtx, NULL);
	k->epfd = epfd;
	k->max_kept = max_kept;
	k->max_waiting = max_waiting;
	k->ready = ready;
	return k;
}

/* Close every parked connection and free the lot. */
void
park_free(struct park *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nfds && k->count > 0; i++) {
		if (k->fds[i].state != PARKED_NONE) {
			close((int)i);
			k->count--;
		}
	}
	pthread_mutex_destroy(&k->mtx);
	free(k->fds);
	free(k);
}

/* Arm fd in the epoll set for one event; call with the lock held. */
static int
arm(struct park *k, int fd, struct parked *p)
{
	struct epoll_event	 ev;

	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)p->gen << 32 | (uint32_t)fd;
	/* A descriptor parked before is still registered, only disarmed. */
	if (epoll_ctl(k->epfd, EPOLL_CTL_MOD, fd, &ev) == -1 &&
	    (errno != ENOENT ||
	    epoll_ctl(k->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)) {
		log_warn("park: epoll_ctl fd %d", fd);
		return -1;
	}
	return 0;
}

static void
park(struct park *k, int fd, int64_t deadline, enum parked_state state,
    bool kept)
{
	struct parked	*p;
	int64_t		 now;
	bool		 logit;

	if (fd < 0 || (size_t)fd >= k->nfds) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&k->mtx);
	if (kept && k->nkept >= (size_t)k->max_kept) {
		pthread_mutex_unlock(&k->mtx);
		log_debug("park: %d kept connections already; closing one",
		    k->max_kept);
		close(fd);
		return;
	}
	if (!kept && k->count - k->nkept >= (size_t)k->max_waiting) {
		/* Many peers that connect and send no request: refuse more. */
		now = clock_ms();
		logit = now - k->last_full_log >= 1000;
		if (logit)
			k->last_full_log = now;
		pthread_mutex_unlock(&k->mtx);
		if (logit)
			log_warnx("park: %d connections already wait for their "
			    "request header (max_waiting_connections); "
			    "closing new ones", k->max_waiting);
		close(fd);
		return;
	}
	p = &k->fds[fd];
	p->gen++;
	p->state = state;
	p->kept = kept;
	p->deadline = deadline;
	k->count++;
	k->nkept += kept;
	if (state == PARKED_WAITING && arm(k, fd, p) == -1) {
		p->state = PARKED_NONE;
		k->count--;
		k->nkept -= kept;
		pthread_mutex_unlock(&k->mtx);
		close(fd);
		return;
	}
	pthread_mutex_unlock(&k->mtx);
}

/* Park a new connection until its first bytes arrive or deadline. */
void
park_waiting(struct park *k, int fd, int64_t deadline)
{
	park(k, fd, deadline, PARKED_WAITING, false);
}

/*
 * Park a connection the web server keeps open between requests.  When the
 * worker keeps max_kept of them already, fd is closed instead: the web
 * server opens a new one when it needs it.
 */
void
park_kept(struct park *k, int fd, int64_t deadline)
{
	park(k, fd, deadline, PARKED_WAITING, true);
}

/* Park fd, which holds part of a request, until the rest or deadline. */
void
park_partial(struct park *k, int fd, int64_t deadline)
{
	park(k, fd, deadline, PARKED_PARTIAL, false);
}

/*
 * Claim the parked connection an epoll event names.  Returns its fd, now
 * owned by the caller, or -1 if the event is stale.
 */
int
park_take(struct park *k, uint64_t token)
{
	int		 fd = (int)(uint32_t)token;
	uint32_t	 gen = (uint32_t)(token >> 32);
	struct parked	*p;

	if (fd < 0 || (size_t)fd >= k->nfds)
		return -1;
	pthread_mutex_lock(&k->mtx);
	p = &k->fds[fd];
	if (p->state != PARKED_WAITING || p->gen != gen) {
		pthread_mutex_unlock(&k->mtx);
		return -1;
	}
	p->state = PARKED_NONE;
	k->count--;
	k->nkept -= p->kept;
	pthread_mutex_unlock(&k->mtx);
	return fd;
}

/*
 * Once per control-thread tick: close connections past their deadline,
 * and arm partial ones whose request header is now complete.
 */
void
park_tick(struct park *k, int64_t now)
{
	const char	*why;
	size_t		 i, seen = 0, expired = 0, cut = 0;

	pthread_mutex_lock(&k->mtx);
	for (i = 0; i < k->nfds && seen < k->count; i++) {
		struct parked *p = &k->fds[i];

		if (p->state == PARKED_NONE)
			continue;
		seen++;
		if (p->state == PARKED_PARTIAL && p->deadline > now) {
			switch (k->ready((int)i, &why)) {
			case CONN_READY:
			case CONN_INVALID:
			case CONN_CLOSED:
				/* An acceptor takes it (and judges it). */
				p->state = PARKED_WAITING;
				if (arm(k, (int)i, p) == 0)
					continue;
				break;
			default:
				continue;
			}
		} else if (p->deadline > now)
			continue;
		if (p->state == PARKED_PARTIAL)
			cut++;
		else
			expired++;
		p->state = PARKED_NONE;
		k->nkept -= p->kept;
		/* close() also drops it from the epoll set. */
		close((int)i);
	}
	k->count -= expired + cut;
	pthread_mutex_unlock(&k->mtx);
	if (cut > 0)
		log_warnx("park: closed %zu connections whose request header "
		    "did not arrive within read_timeout", cut);
	if (expired > 0)
		log_debug("park: closed %zu idle connections", expired);
}

/*
 * A graceful stop: close the connections kept idle between requests (the
 * web server opens a new one, to another worker, for its next request);
 * those that are new or partial stay, to be served.
 */
void
park_close_kept(struct park *k)
{
	size_t	 i;

	pthread_mutex_lock(&k->mtx);
	for (i = 0; i < k->nfds; i++) {
		struct parked *p = &k->fds[i];

		if (p->state == PARKED_NONE || !p->kept)
			continue;
		p->state = PARKED_NONE;
		k->count--;
		k->nkept--;
		close((int)i);
	}
	pthread_mutex_unlock(&k->mtx);
}

/* Number of parked connections that are new or partial, not kept. */
size_t
park_count_new(struct park *k)
{
	size_t	 n;

	pthread_mutex_lock(&k->mtx);
	n = k->count - k->nkept;
	pthread_mutex_unlock(&k->mtx);
	return n;
}

/* How many more new connections max_waiting_connections lets in. */
size_t
park_room_new(struct park *k)
{
	size_t	 n, room;

	pthread_mutex_lock(&k->mtx);
	n = k->count - k->nkept;
	room = n < (size_t)k->max_waiting ? (size_t)k->max_waiting - n : 0;
	pthread_mutex_unlock(&k->mtx);
	return room;
}

/*
 * Number of connections kept idle between requests, without the lock:
 * the acceptors look at it once per accept, and a stale answer only
 * changes how many connections one accept turn takes.
 */
size_t
park_count_kept(struct park *k)
{
	return atomic_load_explicit(&k->nkept, memory_order_relaxed);
}

/* Number of parked connections. */
size_t
park_count(struct park *k)
{
	size_t	 n;

	pthread_mutex_lock(&k->mtx);
	n = k->count;
	pthread_mutex_unlock(&k->mtx);
	return n;
}
