/*
 * A pool's status as a snapshot: validated copies of its scoreboard rows,
 * the counters the master publishes, and what the kernel says of the
 * listen queue, shaped for status.c.  Taken by a worker for its pool's
 * status page; every value in it is display only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "pooled.h"

static const char *const pm_names[] = { "static", "dynamic", "ondemand" };

/* Add one validated row to the snapshot. */
static void
add_proc(struct snapshot *s, const struct sb_row *row,
    struct sb_thread *threads, unsigned int nthreads, int64_t shift)
{
	struct status_proc	*p = &s->procs[s->pool.nprocs++];
	unsigned int		 i;

	memset(p, 0, sizeof(*p));
	p->pid = row->pid;
	p->gen = row->gen;
	p->started_ms = row->started_ms + shift;
	p->rss_kb = row->rss_kb;
	p->nthreads = nthreads;
	p->threads = threads;
	for (i = 0; i < nthreads; i++) {
		struct sb_thread *t = &threads[i];

		p->requests = sb_sat_add(p->requests, t->requests);
		if (t->start_ms != 0)
			t->start_ms += shift;
		if (t->state == SB_IDLE)
			s->pool.idle_threads++;
		else if (t->state != SB_EMPTY) {
			p->active++;
			s->pool.active_threads++;
		}
	}
	if (p->active > 0)
		s->pool.active_processes++;
	else
		s->pool.idle_processes++;
	s->pool.accepted = sb_sat_add(s->pool.accepted, p->requests);
	s->pool.slow_requests = sb_sat_add(s->pool.slow_requests, row->slow);
	s->pool.timeouts = sb_sat_add(s->pool.timeouts, row->timeouts);
}

/*
 * Take a snapshot of pool pc from its scoreboard sb; listen_fd is its
 * socket (-1: unknown).  Returns 0, or -1 when out of memory.
 */
int
snapshot_take(struct snapshot *s, const struct scoreboard *sb,
    const struct pool_conf *pc, int listen_fd)
{
	struct sb_pool	 counters;
	struct sb_row	 row;
	unsigned int	 rows = sb_rows(sb), nthreads = sb_threads(sb), r;
	int64_t		 now = clock_ms(), wall = clock_wall_ms();

	memset(s, 0, sizeof(*s));
	s->procs = calloc(rows, sizeof(*s->procs));
	s->threads = calloc((size_t)rows * nthreads, sizeof(*s->threads));
	if (s->procs == NULL || s->threads == NULL) {
		snapshot_free(s);
		return -1;
	}
	sb_pool_read(sb, &counters);
	s->pool.name = pc->name;
	s->pool.pm = pm_names[pc->pm];
	s->pool.now_ms = wall;
	s->pool.start_ms = counters.start_wall_ms;
	for (r = 0; r < rows; r++) {
		struct sb_thread *t = &s->threads[(size_t)r * nthreads];

		if (sb_read_row(sb, (int)r, now, &row, t) && row.pid > 0)
			add_proc(s, &row, t, nthreads, wall - now);
	}
	s->pool.procs = s->procs;
	s->pool.total_threads = s->pool.active_threads +
	    s->pool.idle_threads;
	s->pool.total_processes = (unsigned int)s->pool.nprocs;
	s->pool.accepted = sb_sat_add(s->pool.accepted, counters.accepted_gone);
	s->pool.slow_requests = sb_sat_add(s->pool.slow_requests,
	    counters.slow_gone);
	s->pool.timeouts = sb_sat_add(s->pool.timeouts,
	    counters.timeouts_gone);
	s->pool.restarts = counters.restarts;
	s->pool.max_reached = counters.max_reached;
	if (wall > s->pool.start_ms + 1000 && s->pool.start_ms > 0)
		s->pool.requests_per_sec = (double)s->pool.accepted /
		    ((double)(wall - s->pool.start_ms) / 1000.0);
	listen_queue(listen_fd, &s->pool.listen_queue,
	    &s->pool.listen_queue_max);
	return 0;
}

/* Release what snapshot_take allocated. */
void
snapshot_free(struct snapshot *s)
{
	free(s->procs);
	free(s->threads);
	s->procs = NULL;
	s->threads = NULL;
}
