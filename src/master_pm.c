/*
 * Sizing the pools, once a tick: each pool's view from its slots and the
 * scoreboard (validated copies: they steer the size only within the
 * config's bounds), pm.c's decision, and acting on it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"
#include "master.h"

/*
 * Look at one serving worker for pm: its idle threads (validated copies
 * from the scoreboard: they only steer the pool's size, within the
 * config's bounds), and since when every thread has been idle.
 */
static unsigned int
pm_look(struct slot *s, struct sb_thread *t, unsigned int n, int64_t now)
{
	struct sb_row	 row;
	unsigned int	 i, idle = 0;
	uint64_t	 served = 0;

	if (s->sb == NULL || !sb_read_row(s->sb, s->row, now, &row, t))
		return 0;
	for (i = 0; i < n; i++) {
		served += t[i].requests;
		if (t[i].state == SB_IDLE)
			idle++;
	}
	if (idle < n || served != s->last_requests)
		s->idle_since = 0;
	else if (s->idle_since == 0)
		s->idle_since = now;
	s->last_requests = served;
	return idle;
}

/* Act on pm's decision for pool i of the serving generation. */
static void
pm_apply(struct master *m, size_t i, const struct pm_view *v,
    const struct pm_decision *d, size_t idlest, int64_t now)
{
	const struct pool_conf	*pc = &m->cur.conf->pools[i];
	struct pool_state	*ps = &m->cur.pools[i];
	struct slot		*r;
	unsigned int		 k;

	if (d->max_reached) {
		ps->counters.max_reached++;
		sb_pool_publish(ps->sb, &ps->counters);
		if (now - ps->max_logged >= MASTER_MAX_LOG_MS) {
			/* A warning: for a static pool it is how load peaks. */
			log_msg(POOLED_LOG_WARNING, "pool %s: max_processes "
			    "(%d) reached with no thread idle; requests wait "
			    "(%llu times so far)",
			    pc->name, pc->max_processes,
			    (unsigned long long)ps->counters.max_reached);
			ps->max_logged = now;
		}
	}
	if (d->start > 0)
		log_notice("pool %s: %u idle threads%s: starting %u worker%s "
		    "(%u running)", pc->name, v->idle_threads, v->queued ?
		    ", connections waiting" : "", d->start, d->start > 1 ?
		    "s" : "", v->procs);
	for (k = 0; k < d->start; k++) {
		r = slot_add(&m->slots, i, m->cur.id, now);
		snprintf(r->name, sizeof(r->name), "%s", pc->name);
	}
	if (d->retire && idlest != SIZE_MAX) {
		r = &m->slots.v[idlest];
		if (pc->pm == PM_ONDEMAND)
			log_notice("pool %s: worker %ld idle for %lld ms "
			    "(idle_timeout %d s): stopping it", pc->name,
			    (long)r->pid, (long long)v->oldest_idle_ms,
			    pc->idle_timeout);
		else
			log_notice("pool %s: %u idle threads, more than "
			    "max_spare_threads (%d): stopping worker %ld",
			    pc->name, v->idle_threads, pc->max_spare_threads,
			    (long)r->pid);
		(void)master_slot_do(m, r, SUP_EV_DRAIN, now);
	}
}

/*
 * Size the pools: build each one's view from the slots and the
 * scoreboard, let pm_decide choose (a static pool is only counted when
 * saturated), act on it, and say whether to watch the listen socket for
 * connections that wait.
 */
void
master_pm_step(struct master *m, int64_t now)
{
	const struct pool_conf	*pc;
	struct pm_decision	 d;
	struct pm_view		 v;
	struct sb_thread	*t;
	size_t			 i, k, idlest;

	gen_sample(&m->cur, now);
	for (i = 0; i < m->cur.conf->npools; i++) {
		pc = &m->cur.conf->pools[i];
		memset(&v, 0, sizeof(v));
		idlest = SIZE_MAX;
		t = xcalloc((size_t)pc->threads, sizeof(*t));
		for (k = 0; k < m->slots.n; k++) {
			struct slot *s = &m->slots.v[k];
			unsigned int idle;

			if (s->gen != m->cur.id || s->pool != i ||
			    !sup_staying(s))
				continue;
			if (s->state != SUP_READY) {
				v.starting++;
				continue;
			}
			v.procs++;
			idle = pm_look(s, t, (unsigned int)pc->threads, now);
			v.idle_threads += idle;
			if (idlest == SIZE_MAX ||
			    (s->idle_since != 0 && (m->slots.v[idlest].
			    idle_since == 0 || s->idle_since <
			    m->slots.v[idlest].idle_since)))
				idlest = k;
			if (s->idle_since != 0 &&
			    now - s->idle_since > v.oldest_idle_ms)
				v.oldest_idle_ms = now - s->idle_since;
		}
		free(t);
		v.queued = m->cur.pools[i].queued;
		d = pm_decide(pc, &v);
		pm_apply(m, i, &v, &d, idlest, now);
		m->cur.pools[i].queued = false;
		/*
		 * A waiting connection matters only with no thread idle;
		 * after one was seen, not again before the next tick, as a
		 * saturated pool's socket stays readable.
		 */
		m->cur.pools[i].watch = v.starting == 0 && d.start == 0 &&
		    v.idle_threads == 0 && now >= m->cur.pools[i].watch_after;
	}
	m->pm_due = now + MASTER_PM_TICK_MS;
}
