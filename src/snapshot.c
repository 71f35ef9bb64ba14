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

/* Add one validated row to the snapshot, its counts to tot. */
static void
add_proc(struct snapshot *s, const struct sb_row *row,
    struct sb_thread *threads, unsigned int nthreads, int64_t shift,
    struct sb_totals *tot)
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
		if (t->state == SB_RUNNING || t->state == SB_WRITING)
			s->pool.in_flight++;
	}
	if (p->active > 0)
		s->pool.active_processes++;
	else
		s->pool.idle_processes++;
	/* Bounded by the row's threads: the sum cannot wrap. */
	s->pool.cgi_running += (unsigned int)row->cgi_running;
	sb_totals_add_row(tot, row, threads, nthreads);
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
	struct sb_totals tot;
	struct sb_row	 row;
	long		 peak;
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
	s->pool.reload_ms = counters.reload_wall_ms;
	tot = counters.gone;
	for (r = 0; r < rows; r++) {
		struct sb_thread *t = &s->threads[(size_t)r * nthreads];

		if (sb_read_row(sb, (int)r, now, &row, t) && row.pid > 0)
			add_proc(s, &row, t, nthreads, wall - now, &tot);
	}
	s->pool.procs = s->procs;
	s->pool.total_threads = s->pool.active_threads +
	    s->pool.idle_threads;
	s->pool.total_processes = (unsigned int)s->pool.nprocs;
	s->pool.accepted = tot.requests;
	s->pool.slow_requests = tot.slow;
	s->pool.timeouts = tot.timeouts;
	s->pool.cgi_killed = tot.cgi_killed;
	memcpy(s->pool.hist, tot.hist, sizeof(s->pool.hist));
	s->pool.duration_us = tot.duration_us;
	memcpy(s->pool.status_class, tot.status,
	    sizeof(s->pool.status_class));
	memcpy(s->pool.restarts_by, counters.restarts,
	    sizeof(s->pool.restarts_by));
	for (r = 0; r < RESTART_NCAUSES; r++)
		s->pool.restarts = sb_sat_add(s->pool.restarts,
		    counters.restarts[r]);
	s->pool.max_reached = counters.max_reached;
	s->pool.rate10 = (double)counters.rate10_milli / 1000.0;
	s->pool.rate60 = (double)counters.rate60_milli / 1000.0;
	listen_queue(listen_fd, &s->pool.listen_queue,
	    &s->pool.listen_backlog);
	peak = counters.queue_peak < -1 ? -1 : counters.queue_peak;
	s->pool.listen_queue_peak = s->pool.listen_queue > peak ?
	    s->pool.listen_queue : peak;
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
