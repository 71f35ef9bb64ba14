/*
 * The worker table: one slot per worker process the master runs or will
 * start, with the process in it (if any) and its lifecycle state, which
 * supervisor.c moves.  The table grows and shrinks: a generation adds its
 * slots, a worker that asks to be replaced gets a new slot for its
 * replacement, pm adds and stops slots, and slots whose process is gone
 * for good are dropped by slot_table_compact.  Nothing here forks or
 * reads the clock.
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

/*
 * Add a slot for pool of generation gen, waiting, its start due at due;
 * returns it.  Pointers into the table are invalid afterwards.
 */
struct slot *
slot_add(struct slot_table *t, size_t pool, uint32_t gen, int64_t due)
{
	struct slot	*s;

	if ((t->v = realloc(t->v, (t->n + 1) * sizeof(*t->v))) == NULL)
		fatal("slot_add");
	s = &t->v[t->n++];
	memset(s, 0, sizeof(*s));
	s->state = SUP_WAITING;
	s->deadline = due;
	s->pool = pool;
	s->gen = gen;
	s->pid = -1;
	s->chan = -1;
	s->row = -1;
	s->started_ms = INT64_MIN / 2;
	return s;
}

/* Drop the slots that will never hold a process again. */
void
slot_table_compact(struct slot_table *t)
{
	size_t	 i, k;

	for (i = 0, k = 0; i < t->n; i++)
		if (t->v[i].state != SUP_REAPED)
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
		if (sup_has_process(&t->v[i]) && t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

/*
 * Milliseconds from now until the earliest deadline of any slot (0 when
 * one has passed), or -1 when no slot has one.
 */
int
slot_next_deadline(const struct slot_table *t, int64_t now)
{
	int64_t	 best = -1, d;
	size_t	 i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].deadline == SUP_NO_DEADLINE)
			continue;
		d = t->v[i].deadline - now;
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
		if (sup_has_process(&t->v[i]))
			n++;
	return n;
}
