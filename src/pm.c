/*
 * How many workers a dynamic or ondemand pool should run: the policy alone,
 * on a view of the pool the master builds (from its slots and validated
 * copies of the scoreboard), so it is unit-tested without processes.
 *
 * dynamic keeps between min_processes and max_processes, starting workers
 * while fewer than min_spare_threads threads are idle (or a connection
 * waits in the listen queue with no thread idle) and retiring one while
 * more than max_spare_threads are.  ondemand runs none until a connection
 * waits, starts one more whenever connections wait with no thread idle,
 * and retires a worker whose threads all stayed idle for idle_timeout.
 * A static pool is only told when connections wait with no thread idle
 * (max_reached).  Nothing is decided while a started worker is not ready
 * yet: its threads would count as missing, and the pool would overshoot.  The master makes
 * at most one such decision per pool and tick.
 */
#include "config.h"

#include <string.h>

#include "pooled.h"

/* What the policy asks of the master for one pool. */
struct pm_decision
pm_decide(const struct pool_conf *pc, const struct pm_view *v)
{
	struct pm_decision	 d;
	unsigned int		 total = v->procs + v->starting;
	unsigned int		 max = (unsigned int)pc->max_processes;
	unsigned int		 threads = (unsigned int)pc->threads;
	unsigned int		 want = 0;

	memset(&d, 0, sizeof(d));
	if (v->starting > 0)
		return d;
	if (pc->pm == PM_STATIC) {
		/* Nothing to start; only to say the pool is saturated. */
		d.max_reached = v->queued && v->idle_threads == 0;
		return d;
	}
	if (pc->pm == PM_DYNAMIC) {
		if (total < (unsigned int)pc->min_processes)
			want = (unsigned int)pc->min_processes - total;
		else if (v->idle_threads <
		    (unsigned int)pc->min_spare_threads)
			want = ((unsigned int)pc->min_spare_threads -
			    v->idle_threads + threads - 1) / threads;
		else if (v->queued && v->idle_threads == 0)
			want = 1;
		else if (v->idle_threads >
		    (unsigned int)pc->max_spare_threads &&
		    v->procs > (unsigned int)pc->min_processes)
			d.retire = true;
	} else {
		if (v->queued && v->idle_threads == 0)
			want = 1;
		else if (v->procs > 0 &&
		    v->oldest_idle_ms >= pc->idle_timeout * 1000LL)
			d.retire = true;
	}
	if (want > 0 && total >= max)
		d.max_reached = true;
	else if (want > max - total)
		d.start = max - total;
	else
		d.start = want;
	return d;
}
