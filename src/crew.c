/*
 * A worker's acceptor threads taking turns: who waits for the next
 * request, and how many serve at once.
 *
 * One thread at a time, the leader, waits in the worker's epoll set; the
 * other idle ones wait each on a condition of its own, in a LIFO, where
 * no arrival reaches them.  A leader that takes a connection leaves to
 * serve it and makes the idle thread that went idle last (its stack and
 * caches the warmest) the next leader.  With every thread in epoll_wait,
 * an arrival woke one of them, a connection handed on woke another, and
 * each thread served one request and slept: 1.6 sleeps and wake-ups a
 * request at 4 x 16 where 2 x 1, with no idle thread at all, had 0.4.
 *
 * A thread that finishes a request while a leader waits takes a look at
 * the epoll set without waiting first, when fewer than the limit are in
 * hand: with fastcgi_keep_conn a kept connection's next request is often
 * there, and the look is one call where going idle is a sleep and a
 * wake-up.
 *
 * Only as many threads as there is work serve at once.  While requests
 * are quick, a worker serves at most `base` of them at a time (the CPUs
 * shared out among the pool's processes): a leader that takes one when
 * that many are in hand names no successor, and the next thread to finish
 * a request leads, finds the connections that arrived meanwhile waiting
 * and takes one without sleeping, as a single-threaded worker does.
 * Meanwhile the listen socket wakes the other workers' leaders, not this
 * worker's idle threads.
 *
 * Requests that wait (a handler sleeping on a database, a CGI program)
 * need the threads.  One request in CREW_SAMPLE is asked whether its
 * thread slept while serving it (a voluntary context switch: it waited
 * for something; a thread preempted by a busier one did not); and the
 * watcher (the control thread, which looks every CREW_LOOK_MS while the
 * worker holds arrivals back) sees a request in hand for CREW_STUCK_MS
 * whose thread sleeps (its state in /proc: a thread preempted by a busier
 * one, or computing, is runnable), or any for CREW_LONG_MS: a request
 * that computes that long must not keep quick ones waiting behind it,
 * and beside it a wake-up costs nothing.  Either way every thread may
 * serve again, and does until no request waited for CREW_OPEN_MS.  Wall time
 * alone would not tell: on a busy machine one quick request in a hundred
 * takes a millisecond, preempted, and some ten.
 * The watcher is woken (an eventfd) only when a hold begins, not once a
 * request.
 *
 * A stopping worker needs every thread in the epoll set (the stop is an
 * event there, worker.c): crew_stop lets them all in.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define CREW_SAMPLE	4	/* one request in this many is asked */
#define CREW_STUCK_MS	10	/* in hand this long and asleep: waits */
#define CREW_LONG_MS	100	/* in hand this long: all threads */
#define CREW_LOOK_MS	1	/* the watcher's look while holding back */
#define CREW_OPEN_MS	1000	/* all threads, after the last wait */

struct crew_member {
	pthread_cond_t	 cond;
	bool		 queued;	/* in idle[] */
	bool		 promoted;	/* made leader while idle */
	bool		 serving;
	int64_t		 since;		/* clock_ms of its request's start */
	pid_t		 tid;
	/* The thread's own, unlocked: */
	unsigned int	 count;		/* requests, for the sampling */
	long		 nvcsw;		/* sleeps before the sampled one */
};

struct crew {
	pthread_mutex_t		 mtx;
	size_t			 threads;
	size_t			 base;		/* serving at once when quick */
	size_t			 limit;		/* base, or threads */
	size_t			 serving;
	size_t			 active;	/* not idle in the LIFO */
	size_t			 nidle;
	size_t			*idle;		/* members, LIFO */
	struct crew_member	*m;
	bool			 leader;	/* someone leads */
	bool			 stopping;
	bool			 watching;	/* the watcher looks often */
	int64_t			 slow_at;	/* the last slow request */
	int			 wake_fd;	/* the watcher's eventfd */
};

struct crew *
crew_new(size_t threads, size_t base)
{
	struct crew		*c;
	pthread_mutexattr_t	 ma;
	size_t			 i;

	c = xcalloc(1, sizeof(*c));
	c->m = xcalloc(threads, sizeof(*c->m));
	c->idle = xcalloc(threads, sizeof(*c->idle));
	/*
	 * Held for a few instructions: spinning a moment beats sleeping in
	 * futex(2), which would also count as a wait of the request's.
	 */
	pthread_mutexattr_init(&ma);
	(void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&c->mtx, &ma);
	pthread_mutexattr_destroy(&ma);
	for (i = 0; i < threads; i++)
		pthread_cond_init(&c->m[i].cond, NULL);
	c->threads = threads;
	c->active = threads;
	c->base = base < 1 ? 1 : base > threads ? threads : base;
	c->limit = c->base;
	c->slow_at = INT64_MIN / 2;
	if ((c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("crew: eventfd");
	return c;
}

/* The eventfd the watcher polls: readable when a hold begins. */
int
crew_wake_fd(const struct crew *c)
{
	return c->wake_fd;
}

/* The voluntary context switches of the calling thread so far, or -1. */
static long
sleeps(void)
{
	struct rusage	 ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : -1;
}

/* Make the warmest idle thread the leader; false if none is idle. */
static bool
promote(struct crew *c)
{
	struct crew_member	*p;

	if (c->nidle == 0)
		return false;
	p = &c->m[c->idle[--c->nidle]];
	p->queued = false;
	p->promoted = true;
	c->active++;
	c->leader = true;
	pthread_cond_signal(&p->cond);
	return true;
}

/* Let every thread serve; an idle one leads if nobody does. */
static void
open_all(struct crew *c, int64_t now)
{
	c->slow_at = now;
	c->limit = c->threads;
	if (!c->leader)
		(void)promote(c);
}

/*
 * Thread who is done with its request, if it had one (done), and waits
 * for its turn at the epoll set: CREW_LEAD to wait there (it leads, or
 * the worker stops: then all may), CREW_LOOK to look without waiting
 * (not if it just did: looked).  One lock for both, as they come
 * together each time.
 */
enum crew_turn
crew_lead(struct crew *c, size_t who, bool done, bool looked, int64_t now)
{
	enum crew_turn		 turn = CREW_LEAD;
	struct crew_member	*me = &c->m[who];
	bool			 waited;

	waited = done && me->nvcsw != -1 && sleeps() > me->nvcsw;
	pthread_mutex_lock(&c->mtx);
	if (me->tid == 0)
		me->tid = gettid();
	if (done) {
		me->serving = false;
		c->serving--;
		if (waited)
			open_all(c, now);
	}
	for (;;) {
		if (c->stopping)
			break;
		if (me->promoted) {
			me->promoted = false;
			break;
		}
		if (!c->leader) {
			c->leader = true;
			break;
		}
		if (!looked && !me->queued && c->serving < c->limit) {
			turn = CREW_LOOK;
			break;
		}
		if (!me->queued) {
			c->idle[c->nidle++] = who;
			me->queued = true;
			c->active--;
		}
		pthread_cond_wait(&me->cond, &c->mtx);
	}
	pthread_mutex_unlock(&c->mtx);
	return turn;
}

/*
 * Thread who took a connection to serve, leading or from a look.  The
 * leader hands the lead on if
 * nobody else will take it soon: every other thread that is not idle is
 * serving (one that just finished a request is on its way to lead), and
 * fewer than limit requests are in hand; with limit in hand it holds
 * arrivals back until one ends.
 */
void
crew_serve(struct crew *c, size_t who, bool leading, int64_t now)
{
	struct crew_member	*me = &c->m[who];
	uint64_t		 one = 1;
	bool			 wake = false;

	pthread_mutex_lock(&c->mtx);
	me->serving = true;
	me->since = now;
	c->serving++;
	if (leading && !c->stopping && !(c->serving < c->limit &&
	    c->active == c->serving && promote(c))) {
		c->leader = false;
		if (c->serving >= c->limit && c->limit < c->threads &&
		    !c->watching)
			wake = c->watching = true;
	}
	pthread_mutex_unlock(&c->mtx);
	/* After the lock: a wait for it is no wait of the request's. */
	me->nvcsw = ++me->count % CREW_SAMPLE == 0 ? sleeps() : -1;
	if (wake && write(c->wake_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_warn("crew: cannot wake the watcher");
}

/*
 * Whether thread tid of this process sleeps (waits for something), from
 * its state in /proc; false if that cannot be read.
 */
static bool
thread_sleeps(pid_t tid)
{
	char		 path[64], buf[512], *p;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "tid (comm) S ...": comm may hold anything, ')' too. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return false;
	return p[2] == 'S' || p[2] == 'D';
}

/*
 * The watcher's look (the control thread): while arrivals are held back
 * behind requests that turn out slow, let every thread serve.  Returns
 * the milliseconds until the next look is due, or -1 for none.
 */
int
crew_watch(struct crew *c, int64_t now)
{
	uint64_t	 n;
	size_t		 i;
	bool		 held;

	(void)read(c->wake_fd, &n, sizeof(n));
	pthread_mutex_lock(&c->mtx);
	held = !c->stopping && !c->leader && c->serving >= c->limit &&
	    c->limit < c->threads;
	for (i = 0; held && i < c->threads; i++)
		if (c->m[i].serving && (now - c->m[i].since >= CREW_LONG_MS ||
		    (now - c->m[i].since >= CREW_STUCK_MS &&
		    c->m[i].tid != 0 && thread_sleeps(c->m[i].tid)))) {
			open_all(c, now);
			held = false;
		}
	if (c->limit > c->base && now - c->slow_at >= CREW_OPEN_MS)
		c->limit = c->base;
	c->watching = held;
	pthread_mutex_unlock(&c->mtx);
	return held ? CREW_LOOK_MS : -1;
}

/* How many threads wait for work, the leader included. */
size_t
crew_idle(struct crew *c)
{
	size_t	 n;

	pthread_mutex_lock(&c->mtx);
	n = c->nidle + (c->leader ? 1 : 0);
	pthread_mutex_unlock(&c->mtx);
	return n;
}

/* Whether a leader waits (or is about to) in the epoll set. */
bool
crew_leading(struct crew *c)
{
	bool	 l;

	pthread_mutex_lock(&c->mtx);
	l = c->leader;
	pthread_mutex_unlock(&c->mtx);
	return l;
}

/* Thread who will not serve (its thread_init failed): not one to wait for. */
void
crew_leave(struct crew *c)
{
	pthread_mutex_lock(&c->mtx);
	c->active--;
	pthread_mutex_unlock(&c->mtx);
}

/* The worker stops: every thread may wait in the epoll set now. */
void
crew_stop(struct crew *c)
{
	pthread_mutex_lock(&c->mtx);
	c->stopping = true;
	while (c->nidle > 0)
		(void)promote(c);
	pthread_mutex_unlock(&c->mtx);
}

/* Free the crew; no thread uses it any more. */
void
crew_free(struct crew *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->threads; i++)
		pthread_cond_destroy(&c->m[i].cond);
	pthread_mutex_destroy(&c->mtx);
	close(c->wake_fd);
	free(c->idle);
	free(c->m);
	free(c);
}
