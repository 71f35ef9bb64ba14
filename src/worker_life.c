/*
 * A worker's own life, in one place: the state its control thread drives
 * it through, the one function that moves it on, and the deadline of
 * each state.  worker.c and acceptor.c act; this file decides.
 *
 *	STARTING ---gate opens---> SERVING ---asks to be replaced---> RETIRING
 *	   |                          |                                  |
 *	   |                          +--- STOP_GRACEFUL, master gone ---+
 *	   |                          |                |                 |
 *	   |                          |                v                 |
 *	   |                          |            DRAINING              |
 *	   |                          |                |                 |
 *	   +--------------------------+------------> EXITING <-----------+
 *	      (no thread could init,     (STOP_NOW; drained; drain
 *	       start-up overdue)          overdue)
 *
 * The deadline of each state, from when it is entered:
 *
 *	STARTING  start_timeout: every thread_init must be done by then (the
 *		  master kills a worker not ready at its own, earlier, mark).
 *	SERVING,  none: the master ends them (STOP_GRACEFUL, STOP_NOW), or
 *	RETIRING  its going away does.
 *	DRAINING  with a master, graceful_timeout + kill_timeout: its SIGTERM
 *		  comes at graceful_timeout, so this is reached only if the
 *		  master stalls; without one, graceful_timeout from when it
 *		  was seen gone.
 *	EXITING   WLIFE_EXIT_MS for the threads, which all said they are
 *		  done, to end and be joined.
 *
 * The machine only moves forward.  Asking for a state already reached or
 * passed (a second replacement request, a drain asked twice) is a no-op,
 * since threads race to ask; going back to STARTING or SERVING, or
 * skipping from STARTING to RETIRING or DRAINING, is a bug, logged.
 *
 * The state is read without the lock (acceptors look at it around every
 * wait); a step, the deadline and the facts behind it take the lock, as
 * a replacement request comes from any thread.
 */
#include "config.h"

#include <stdint.h>

#include "pooled.h"

/* Legal steps: from (row) to (bit). */
static const unsigned int wlife_next[] = {
	[WLIFE_STARTING] = 1u << WLIFE_SERVING | 1u << WLIFE_EXITING,
	[WLIFE_SERVING] = 1u << WLIFE_RETIRING | 1u << WLIFE_DRAINING |
	    1u << WLIFE_EXITING,
	[WLIFE_RETIRING] = 1u << WLIFE_DRAINING | 1u << WLIFE_EXITING,
	[WLIFE_DRAINING] = 1u << WLIFE_EXITING,
	[WLIFE_EXITING] = 0
};

/* The name of a state, for the log. */
const char *
wlife_name(enum wlife_state s)
{
	static const char *const	 names[] = {
		[WLIFE_STARTING] = "starting",
		[WLIFE_SERVING] = "serving",
		[WLIFE_RETIRING] = "retiring",
		[WLIFE_DRAINING] = "draining",
		[WLIFE_EXITING] = "exiting"
	};

	if ((unsigned int)s > WLIFE_EXITING)
		return "?";
	return names[s];
}

/* The deadline of state s entered at now; call with the lock held. */
static int64_t
deadline_of(const struct wlife *l, enum wlife_state s, int64_t now)
{
	switch (s) {
	case WLIFE_STARTING:
		return now + l->start_ms;
	case WLIFE_DRAINING:
		return now + (l->master_gone ? l->drain_ms :
		    l->drain_ms + l->kill_ms);
	case WLIFE_EXITING:
		return now + WLIFE_EXIT_MS;
	case WLIFE_SERVING:
	case WLIFE_RETIRING:
	default:
		return INT64_MAX;
	}
}

/* Begin a worker's life at now, STARTING, with conf's timeouts. */
void
wlife_init(struct wlife *l, const struct conf *conf, int64_t now)
{
	pthread_mutex_init(&l->mtx, NULL);
	l->start_ms = conf->start_timeout * 1000LL;
	l->drain_ms = conf->graceful_timeout * 1000LL;
	l->kill_ms = conf->kill_timeout * 1000LL;
	l->closing = false;
	l->master_gone = false;
	l->entered = now;
	l->deadline = deadline_of(l, WLIFE_STARTING, now);
	atomic_store(&l->state, WLIFE_STARTING);
}

/*
 * Move to state to at now.  Returns 0 when it did, 1 when the worker is
 * there or past it already (a late or repeated request: nothing to do),
 * -1 for a step the machine does not have (logged).
 */
int
wlife_to(struct wlife *l, enum wlife_state to, int64_t now)
{
	enum wlife_state	 from;
	int			 rc;

	pthread_mutex_lock(&l->mtx);
	from = (enum wlife_state)atomic_load(&l->state);
	if ((unsigned int)to <= WLIFE_EXITING &&
	    (wlife_next[from] & 1u << to) != 0) {
		l->entered = now;
		l->deadline = deadline_of(l, to, now);
		atomic_store(&l->state, to);
		rc = 0;
	} else if ((unsigned int)to <= WLIFE_EXITING && to <= from &&
	    to != WLIFE_STARTING && to != WLIFE_SERVING)
		rc = 1;
	else
		rc = -1;
	pthread_mutex_unlock(&l->mtx);
	if (rc == 0)
		log_debug("worker: %s -> %s", wlife_name(from),
		    wlife_name(to));
	else if (rc == -1)
		log_warnx("worker: no step from %s to %s in the worker's "
		    "lifecycle; staying %s", wlife_name(from), wlife_name(to),
		    wlife_name(from));
	return rc;
}

/* The current state; from any thread, without the lock. */
enum wlife_state
wlife_state(const struct wlife *l)
{
	return (enum wlife_state)atomic_load(&l->state);
}

/*
 * Whether the worker stops: accepts no more and keeps no connection for
 * a next request.  From any thread, without the lock.
 */
bool
wlife_stopping(const struct wlife *l)
{
	return atomic_load(&l->state) >= WLIFE_DRAINING;
}

/* The deadline of the current state (clock_ms); INT64_MAX: none. */
int64_t
wlife_deadline(struct wlife *l)
{
	int64_t	 d;

	pthread_mutex_lock(&l->mtx);
	d = l->deadline;
	pthread_mutex_unlock(&l->mtx);
	return d;
}

/* Whether the current state is past its deadline at now. */
bool
wlife_overdue(struct wlife *l, int64_t now)
{
	return now >= wlife_deadline(l);
}

/*
 * The master's graceful stop said the pool's socket closes with this
 * worker (CHAN_STOP_CLOSING): nobody stays to take its backlog.
 */
void
wlife_set_closing(struct wlife *l)
{
	pthread_mutex_lock(&l->mtx);
	l->closing = true;
	pthread_mutex_unlock(&l->mtx);
}

/*
 * The master closed the channel.  A drain under way gets graceful_timeout
 * from now, if that is sooner: nobody will send SIGTERM.
 */
void
wlife_set_master_gone(struct wlife *l, int64_t now)
{
	pthread_mutex_lock(&l->mtx);
	l->master_gone = true;
	if (atomic_load(&l->state) == WLIFE_DRAINING &&
	    now + l->drain_ms < l->deadline)
		l->deadline = now + l->drain_ms;
	pthread_mutex_unlock(&l->mtx);
}

/* Whether the master is still there to talk to. */
bool
wlife_has_master(struct wlife *l)
{
	bool	 gone;

	pthread_mutex_lock(&l->mtx);
	gone = l->master_gone;
	pthread_mutex_unlock(&l->mtx);
	return !gone;
}

/*
 * Whether nobody stays on the listen socket once this worker lets go of
 * it (the socket closes, or no master starts others): then the backlog
 * is this worker's to serve.
 */
bool
wlife_alone(struct wlife *l)
{
	bool	 alone;

	pthread_mutex_lock(&l->mtx);
	alone = l->closing || l->master_gone;
	pthread_mutex_unlock(&l->mtx);
	return alone;
}
