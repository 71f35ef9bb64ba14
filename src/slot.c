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
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pooled.h"

/* Build one slot per configured worker process, all due at once. */
void
slot_table_init(struct slot_table *t, const struct conf *conf)
{
	size_t	 i, n = 0, k;
	int	 p;

	for (i = 0; i < conf->npools; i++)
		n += (size_t)conf->pools[i].processes;
	t->v = xcalloc(n, sizeof(*t->v));
	t->n = n;
	for (i = 0, k = 0; i < conf->npools; i++) {
		for (p = 0; p < conf->pools[i].processes; p++, k++) {
			t->v[k].state = SLOT_WAITING;
			t->v[k].pool = i;
			t->v[k].pid = -1;
			t->v[k].chan = -1;
			t->v[k].started_ms = INT64_MIN / 2;
		}
	}
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
	s->started_ms = now;
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
	if (s->stopping) {
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

/* Milliseconds until the next respawn is due, or -1 when none is. */
int
slot_next_deadline(const struct slot_table *t, int64_t now)
{
	int64_t	 best = -1, d;
	size_t	 i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].state != SLOT_WAITING)
			continue;
		d = t->v[i].due_ms - now;
		if (d < 0)
			d = 0;
		if (best == -1 || d < best)
			best = d;
	}
	if (best > INT32_MAX)
		best = INT32_MAX;
	return (int)best;
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
