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
 *
 * No lock: each fd has one word, (generation << 32 | state), changed by
 * compare-and-swap.  Whoever moves it to PARKED_NONE owns the fd from then
 * on, to serve it or to close it, so an acceptor taking it, the tick
 * expiring it and a graceful stop closing it never both act on it.  (A
 * mutex here was the one contended lock of keep-conn: 2.4 futex calls a
 * request with 4 threads at c16, the lock held across epoll_ctl.)  While
 * it is being armed a connection is PARKED_ARMING and still its parker's:
 * the tick and a stop leave it alone, and an acceptor whose event fires
 * that early waits the moment until the parker is out of epoll_ctl and
 * publishes it, so nobody closes an fd the parker still uses.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pooled.h"

#define PARK_MAX_FDS	(1 << 20)

enum parked_state {
	PARKED_NONE,
	PARKED_ARMING,
	PARKED_WAITING,
	PARKED_PARTIAL
};

#define WORD(gen, st)	((uint64_t)(gen) << 32 | (uint64_t)(st))
#define WORD_GEN(w)	((uint32_t)((w) >> 32))
#define WORD_STATE(w)	((enum parked_state)((w) & 0xffffffffu))

struct parked {
	_Atomic uint64_t	 word;		/* gen << 32 | state */
	/* Written by the owner before it publishes the word. */
	_Atomic int64_t		 deadline;
	_Atomic bool		 kept;		/* counts against max_kept */
};

struct park {
	int		 epfd;
	int		 max_kept;
	int		 max_waiting;
	_Atomic int64_t	 last_full_log;
	park_ready_fn	*ready;
	_Atomic size_t	 nnew;		/* parked, not kept */
	_Atomic size_t	 nkept;
	_Atomic size_t	 high;		/* highest fd ever parked, + 1 */
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
	k->epfd = epfd;
	k->max_kept = max_kept;
	k->max_waiting = max_waiting;
	k->ready = ready;
	return k;
}

/* Close every parked connection and free the lot; no acceptor runs. */
void
park_free(struct park *k)
{
	size_t	 i, high;

	if (k == NULL)
		return;
	high = atomic_load(&k->high);
	for (i = 0; i < high; i++)
		if (WORD_STATE(atomic_load(&k->fds[i].word)) != PARKED_NONE)
			close((int)i);
	free(k->fds);
	free(k);
}

/* Move p's word from one value to another; true if it was still from. */
static bool
move(struct parked *p, uint64_t from, uint64_t to)
{
	return atomic_compare_exchange_strong(&p->word, &from, to);
}

/* Count a connection out of the lot, by the one that moved it to NONE. */
static void
count_out(struct park *k, struct parked *p)
{
	if (atomic_load_explicit(&p->kept, memory_order_relaxed))
		atomic_fetch_sub(&k->nkept, 1);
	else
		atomic_fetch_sub(&k->nnew, 1);
}

/*
 * Add one to n unless it is at max; false then.  A compare-and-swap, not
 * an add taken back: that would refuse, for a moment, a connection there
 * is room for.
 */
static bool
count_up_to(_Atomic size_t *n, int max)
{
	size_t	 v;

	v = atomic_load(n);
	do {
		if (v >= (size_t)max)
			return false;
	} while (!atomic_compare_exchange_weak(n, &v, v + 1));
	return true;
}

/* Count a connection in, unless its limit is reached; false then. */
static bool
count_in(struct park *k, bool kept)
{
	int64_t	 now, last;

	if (kept) {
		if (count_up_to(&k->nkept, k->max_kept))
			return true;
		log_debug("park: %d kept connections already; closing one",
		    k->max_kept);
		return false;
	}
	if (count_up_to(&k->nnew, k->max_waiting))
		return true;
	/* Many peers that connect and send no request: refuse more. */
	now = clock_ms();
	last = atomic_load(&k->last_full_log);
	if (now - last >= 1000 &&
	    atomic_compare_exchange_strong(&k->last_full_log, &last, now))
		log_warnx("park: %d connections already wait for their "
		    "request header (max_waiting_connections); closing new "
		    "ones", k->max_waiting);
	return false;
}

/*
 * Arm fd, which the caller owns (its word is ARMING), for one event, and
 * publish it as waiting; on failure it is closed.  Only the caller moves
 * an ARMING word.  A descriptor parked before is still registered, only
 * disarmed, and is modified; a new one is added.  fresh says which to
 * try first (a wrong guess costs one epoll_ctl, a call a request when
 * every new connection was tried as registered first).
 */
static void
arm(struct park *k, int fd, struct parked *p, uint32_t gen, bool fresh)
{
	struct epoll_event	 ev;
	int			 op, other, wrong;

	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
	op = fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
	other = fresh ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	wrong = fresh ? EEXIST : ENOENT;
	if (epoll_ctl(k->epfd, op, fd, &ev) == 0 ||
	    (errno == wrong && epoll_ctl(k->epfd, other, fd, &ev) == 0)) {
		atomic_store(&p->word, WORD(gen, PARKED_WAITING));
		return;
	}
	log_warn("park: epoll_ctl fd %d", fd);
	atomic_store(&p->word, WORD(gen, PARKED_NONE));
	count_out(k, p);
	close(fd);
}

static void
park(struct park *k, int fd, int64_t deadline, enum parked_state state,
    bool kept)
{
	struct parked	*p;
	uint32_t	 gen;
	size_t		 high;

	if (fd < 0 || (size_t)fd >= k->nfds || !count_in(k, kept)) {
		close(fd);
		return;
	}
	p = &k->fds[fd];
	high = atomic_load(&k->high);
	while ((size_t)fd >= high &&
	    !atomic_compare_exchange_weak(&k->high, &high, (size_t)fd + 1))
		;
	atomic_store_explicit(&p->deadline, deadline, memory_order_relaxed);
	atomic_store_explicit(&p->kept, kept, memory_order_relaxed);
	gen = WORD_GEN(atomic_load(&p->word)) + 1;
	if (state == PARKED_PARTIAL) {
		atomic_store(&p->word, WORD(gen, PARKED_PARTIAL));
		return;
	}
	atomic_store(&p->word, WORD(gen, PARKED_ARMING));
	/* Most new connections come straight from accept4. */
	arm(k, fd, p, gen, !kept);
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
	uint64_t	 w;

	if (fd < 0 || (size_t)fd >= k->nfds)
		return -1;
	p = &k->fds[fd];
	for (;;) {
		w = atomic_load(&p->word);
		if (WORD_GEN(w) != gen)
			return -1;
		if (WORD_STATE(w) == PARKED_ARMING) {
			/* Its parker is on its way out of epoll_ctl. */
			sched_yield();
			continue;
		}
		if (WORD_STATE(w) != PARKED_WAITING)
			return -1;
		if (move(p, w, WORD(gen, PARKED_NONE)))
			break;
	}
	count_out(k, p);
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
	struct parked	*p;
	size_t		 i, high, expired = 0, cut = 0;
	uint64_t	 w;
	uint32_t	 gen;

	high = atomic_load(&k->high);
	for (i = 0; i < high; i++) {
		p = &k->fds[i];
		w = atomic_load(&p->word);
		gen = WORD_GEN(w);
		if (WORD_STATE(w) != PARKED_WAITING &&
		    WORD_STATE(w) != PARKED_PARTIAL)
			continue;
		if (atomic_load_explicit(&p->deadline,
		    memory_order_relaxed) > now) {
			/*
			 * Complete, or hopeless: an acceptor judges it.  A
			 * partial connection is mostly a new one (armed
			 * fresh); one a kept connection became is still
			 * registered, which arm() handles.
			 */
			if (WORD_STATE(w) == PARKED_PARTIAL &&
			    k->ready((int)i, &why) != CONN_PARTIAL &&
			    move(p, w, WORD(gen, PARKED_ARMING)))
				arm(k, (int)i, p, gen, true);
			continue;
		}
		/* A deadline read after a re-park fails the exchange. */
		if (!move(p, w, WORD(gen, PARKED_NONE)))
			continue;
		if (WORD_STATE(w) == PARKED_PARTIAL)
			cut++;
		else
			expired++;
		count_out(k, p);
		/* close() also drops it from the epoll set. */
		close((int)i);
	}
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
	struct parked	*p;
	size_t		 i, high;
	uint64_t	 w;

	high = atomic_load(&k->high);
	for (i = 0; i < high; i++) {
		p = &k->fds[i];
		w = atomic_load(&p->word);
		if (WORD_STATE(w) != PARKED_WAITING ||
		    !atomic_load_explicit(&p->kept, memory_order_relaxed) ||
		    !move(p, w, WORD(WORD_GEN(w), PARKED_NONE)))
			continue;
		count_out(k, p);
		close((int)i);
	}
}

/* Number of parked connections that are new or partial, not kept. */
size_t
park_count_new(struct park *k)
{
	return atomic_load(&k->nnew);
}

/* How many more new connections max_waiting_connections lets in. */
size_t
park_room_new(struct park *k)
{
	size_t	 n;

	n = atomic_load(&k->nnew);
	return n < (size_t)k->max_waiting ? (size_t)k->max_waiting - n : 0;
}

/*
 * Number of connections kept idle between requests.  The acceptors look
 * at it once per accept, and a stale answer only changes how many
 * connections one accept turn takes.
 */
size_t
park_count_kept(struct park *k)
{
	return atomic_load_explicit(&k->nkept, memory_order_relaxed);
}
