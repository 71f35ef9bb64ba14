/*
 * The worker table: one slot per worker process the config asks for, with
 * the process in it (if any) and when to start the next one.  A worker
 * that dies before it is ready (its handler would not load, process_init
 * crashed) is restarted with exponential back-off; any restart comes no
 * sooner than SLOT_MIN_INTERVAL_MS after the slot's previous start, so a
 * handler that crashes cannot turn the master into a fork loop.  A worker
 * that was serving restarts without back-off: a request that crashes it
 * must not keep the pool down for minutes.  No function
 * here forks or reads the clock: both are the caller's, so the policy is
 * unit-tested without processes.
 *
 * The table grows and shrinks: a reload adds the slots of a new
 * generation, a worker that asks to be replaced gets a new slot for its
 * replacement, and slots whose process is gone for good (stopped,
 * replaced, of an old generation) are dropped by slot_table_compact.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pooled.h"

/* Start an empty table. */
void
slot_table_init(struct slot_table *t)
{
	t->v = NULL;
	t->n = 0;
}

/* Add a slot for pool of generation gen, due at once; returns it. */
struct slot *
slot_add(struct slot_table *t, size_t pool, uint32_t gen)
{
	struct slot	*s;

	if ((t->v = realloc(t->v, (t->n + 1) * sizeof(*t->v))) == NULL)
		fatal("slot_add");
	s = &t->v[t->n++];
	memset(s, 0, sizeof(*s));
	s->state = SLOT_WAITING;
	s->pool = pool;
	s->gen = gen;
	s->pid = -1;
	s->chan = -1;
	s->row = -1;
	s->started_ms = INT64_MIN / 2;
	return s;
}

/* Add one slot per configured worker process of conf, as generation gen. */
void
slot_add_conf(struct slot_table *t, const struct conf *conf, uint32_t gen)
{
	size_t	 i;
	int	 p;

	for (i = 0; i < conf->npools; i++)
		for (p = 0; p < conf->pools[i].processes; p++)
			(void)slot_add(t, i, gen);
}

/* Drop the slots that will never hold a process again. */
void
slot_table_compact(struct slot_table *t)
{
	size_t	 i, k;

	for (i = 0, k = 0; i < t->n; i++)
		if (t->v[i].state != SLOT_EMPTY)
			t->v[k++] = t->v[i];
	t->n = k;
}

/* Release the table (the caller closed the channels). */
void
slot_table_free(struct slot_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* The slot holding process pid, or NULL. */
struct slot *
slot_by_pid(struct slot_table *t, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].state == SLOT_RUNNING && t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

/* Record that a worker process now runs in the slot. */
void
slot_started(struct slot *s, pid_t pid, int chan, int64_t now)
{
	s->state = SLOT_RUNNING;
	s->pid = pid;
	s->chan = chan;
	s->ready = false;
	s->stopping = false;
	s->retiring = false;
	s->retire_pending = 0;
	s->phase = PHASE_NONE;
	s->started_ms = now;
	s->ready_deadline = 0;
	s->last_requests = 0;
	s->idle_since = 0;
}

/*
 * Record that the slot's process is gone and schedule its replacement.
 * abnormal: it died of a signal or a non-zero exit.  Returns true when the
 * slot is in a crash loop (SLOT_LOOP_COUNT deaths before ready within
 * SLOT_LOOP_WINDOW_MS), so the caller can say so loudly.
 */
bool
slot_exited(struct slot *s, bool abnormal, int64_t now)
{
	bool	 early = abnormal && !s->ready;
	int64_t	 due;

	s->pid = -1;
	s->chan = -1;
	s->ready = false;
	s->ready_deadline = 0;
	/* Stopped, or replaced by a slot of its own: gone for good. */
	if (s->stopping || s->retiring) {
		s->state = SLOT_EMPTY;
		return false;
	}
	if (early) {
		if (s->backoff_ms == 0)
			s->backoff_ms = SLOT_MIN_INTERVAL_MS;
		else if (s->backoff_ms < SLOT_BACKOFF_MAX_MS / 2)
			s->backoff_ms *= 2;
		else
			s->backoff_ms = SLOT_BACKOFF_MAX_MS;
		if (s->early_deaths == 0 ||
		    now - s->loop_start_ms > SLOT_LOOP_WINDOW_MS) {
			s->loop_start_ms = now;
			s->early_deaths = 0;
		}
		s->early_deaths++;
	} else {
		s->backoff_ms = 0;
		s->early_deaths = 0;
	}
	due = now + s->backoff_ms;
	if (due < s->started_ms + SLOT_MIN_INTERVAL_MS)
		due = s->started_ms + SLOT_MIN_INTERVAL_MS;
	s->due_ms = due;
	s->state = SLOT_WAITING;
	return s->early_deaths >= SLOT_LOOP_COUNT;
}

enum slot_deadline {
	DEADLINE_RESPAWN,
	DEADLINE_STOP,
	DEADLINE_READY
};

/* Whether s's worker is starting, with a deadline to be ready by. */
static bool
start_timed(const struct slot *s)
{
	return s->state == SLOT_RUNNING && !s->ready && !s->stopping &&
	    s->ready_deadline != 0;
}

/*
 * Milliseconds from now until the earliest deadline of the slots that
 * have one of the kind asked for, or -1.
 */
static int
earliest(const struct slot_table *t, int64_t now, enum slot_deadline kind)
{
	int64_t	 best = -1, d;
	size_t	 i;

	for (i = 0; i < t->n; i++) {
		const struct slot *s = &t->v[i];

		if (kind == DEADLINE_STOP && s->state == SLOT_RUNNING &&
		    s->stopping)
			d = s->stop_deadline - now;
		else if (kind == DEADLINE_RESPAWN &&
		    s->state == SLOT_WAITING)
			d = s->due_ms - now;
		else if (kind == DEADLINE_READY && start_timed(s))
			d = s->ready_deadline - now;
		else
			continue;
		if (d < 0)
			d = 0;
		if (best == -1 || d < best)
			best = d;
	}
	if (best > INT32_MAX)
		best = INT32_MAX;
	return (int)best;
}

/* Milliseconds until the next respawn is due, or -1 when none is. */
int
slot_next_deadline(const struct slot_table *t, int64_t now)
{
	return earliest(t, now, DEADLINE_RESPAWN);
}

/* Number of slots with a live process. */
size_t
slot_count_live(const struct slot_table *t)
{
	size_t	 i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->v[i].state == SLOT_RUNNING)
			n++;
	return n;
}

/*
 * Milliseconds until the next stop escalation of a stopping slot is due,
 * or -1 when none is.
 */
int
slot_next_stop_deadline(const struct slot_table *t, int64_t now)
{
	return earliest(t, now, DEADLINE_STOP);
}

/*
 * A slot whose worker was started with a ready_deadline and is not ready
 * by it (stuck in its handler's process_init, say), or NULL.  The caller
 * kills it; its deadline is cleared, so it is returned once.
 */
struct slot *
slot_start_overdue(struct slot_table *t, int64_t now)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (start_timed(&t->v[i]) && now >= t->v[i].ready_deadline) {
			t->v[i].ready_deadline = 0;
			return &t->v[i];
		}
	return NULL;
}

/*
 * Milliseconds until the next starting worker's ready_deadline, or -1
 * when none has one.
 */
int
slot_next_ready_deadline(const struct slot_table *t, int64_t now)
{
	return earliest(t, now, DEADLINE_READY);
}
