/*
 * A generation: one loaded config, the listen socket of each of its pools
 * and each pool's scoreboard and counters.  The master has at most two:
 * the one that serves and, during a reload, the one that loads beside it.
 *
 *   loading   its workers start; it has a deadline (start_timeout) by
 *             which every one must be ready
 *   serving   it commits: the loading one takes the serving one's place,
 *             and the kept sockets take the new owner, mode and backlog
 *   (none)    released: its sockets that the serving one does not share
 *             are closed, its scoreboards unmapped, its config freed
 *
 * A reload that fails at any point (the config, a socket, a worker) is
 * released without commit and changes nothing of the one serving.  Ids
 * are never reused, so a worker of an aborted reload on its way out never
 * passes for one of the next.
 *
 * A pool's counters outlive its generation: at commit, each pool of the
 * new one takes over the totals of the pool of the same name in the old
 * one, what its reaped workers counted and what its live rows count so
 * far, so that a reload is no restart to Prometheus' rate().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

/*
 * Give each pool of g its scoreboard, sized for every worker it may run
 * at once, replacements and a reload's overlap included.  A pool without
 * one (out of memory) serves, only without status.
 */
static void
init_pools(struct generation *g)
{
	const struct pool_conf	*pc;
	size_t			 i;
	int			 most;

	g->pools = xcalloc(g->conf->npools, sizeof(*g->pools));
	for (i = 0; i < g->conf->npools; i++) {
		pc = &g->conf->pools[i];
		most = pc->processes > pc->max_processes ? pc->processes :
		    pc->max_processes;
		g->pools[i].sb = sb_create((unsigned int)most * 2 + 2,
		    (unsigned int)pc->threads);
		g->pools[i].counters.start_wall_ms = g->start_wall_ms;
		g->pools[i].counters.reload_wall_ms = g->start_wall_ms;
		g->pools[i].counters.queue_peak = -1;
		g->pools[i].access_fd = -1;
		sb_pool_publish(g->pools[i].sb, &g->pools[i].counters);
	}
}

/*
 * Make g the first generation, loading: conf and fds (one open socket per
 * pool, malloc'd) become its own.
 */
void
gen_first(struct generation *g, uint32_t id, struct conf *conf, int *fds,
    int64_t now)
{
	memset(g, 0, sizeof(*g));
	g->id = id;
	g->conf = conf;
	g->fds = fds;
	g->start_wall_ms = clock_wall_ms();
	init_pools(g);
	g->state = GEN_LOADING;
	g->deadline = now + conf->start_timeout * 1000LL;
}

/*
 * The listen socket of cur at the same address as pc, or -1.  Kept across
 * a reload, it never stops accepting; its owner, mode and backlog change
 * once the new generation serves (gen_commit).
 */
static int
shared_socket(const struct generation *cur, const struct pool_conf *pc)
{
	size_t	 i;

	for (i = 0; i < cur->conf->npools; i++)
		if (listen_addr_same(&cur->conf->pools[i].listen,
		    &pc->listen))
			return cur->fds[i];
	return -1;
}

/*
 * Load the config at path as generation id beside cur, which serves: its
 * sockets (cur's where the address is the same, new ones otherwise) and
 * scoreboards.  On success g is loading, with its start deadline; on
 * failure g is untouched, what was opened is closed, and why says what
 * failed (the details are in the log).
 */
int
gen_load(struct generation *g, uint32_t id, const char *path,
    const struct generation *cur, int64_t now, const char **why)
{
	struct generation	 n;
	size_t			 i;

	memset(&n, 0, sizeof(n));
	n.id = id;
	if ((n.conf = conf_load(path)) == NULL ||
	    preflight_check(n.conf) == -1) {
		conf_free(n.conf);
		*why = "the configuration is invalid (see the log)";
		return -1;
	}
	acl_warn_wildcard(n.conf);
	n.fds = xcalloc(n.conf->npools, sizeof(*n.fds));
	for (i = 0; i < n.conf->npools; i++)
		n.fds[i] = -1;
	for (i = 0; i < n.conf->npools; i++) {
		/* A kept socket's directory must pass as a new one's. */
		if ((n.fds[i] = shared_socket(cur, &n.conf->pools[i])) != -1) {
			if (sock_check_dir(&n.conf->pools[i]) == 0) {
				sock_rcvbuf(&n.conf->pools[i], n.fds[i]);
				continue;
			}
		} else if ((n.fds[i] = sock_open(&n.conf->pools[i])) != -1)
			continue;
		n.fds[i] = -1;
		gen_release(&n, cur);
		*why = "cannot listen (see the log)";
		return -1;
	}
	n.start_wall_ms = cur->start_wall_ms;
	init_pools(&n);
	if (gen_open_access_logs(&n) == -1) {
		gen_release(&n, cur);
		*why = "cannot open an access log (see the log)";
		return -1;
	}
	n.state = GEN_LOADING;
	n.deadline = now + n.conf->start_timeout * 1000LL;
	*g = n;
	return 0;
}

/*
 * Open the access log of each pool of g that has one, in the master
 * before its workers are forked (they inherit it: as the pool's user they
 * could not open it).  -1 when one cannot be opened (logged).
 */
int
gen_open_access_logs(struct generation *g)
{
	size_t	 i;

	for (i = 0; i < g->conf->npools; i++)
		if (access_log_open(&g->conf->pools[i],
		    &g->pools[i].access_fd) == -1)
			return -1;
	return 0;
}

/* Whether pool oldpool of old keeps its socket in g. */
bool
gen_keeps(const struct generation *g, const struct generation *old,
    size_t oldpool)
{
	size_t	 i;

	if (oldpool >= old->conf->npools || old->fds[oldpool] == -1)
		return false;
	for (i = 0; i < g->conf->npools; i++)
		if (g->fds[i] == old->fds[oldpool])
			return true;
	return false;
}

/* Add what the live rows of sb counted to out. */
static void
add_rows(const struct scoreboard *sb, int64_t now, struct sb_totals *out)
{
	struct sb_thread	*t;
	struct sb_row		 r;
	unsigned int		 i, n;

	if (sb == NULL)
		return;
	n = sb_threads(sb);
	if ((t = calloc(n, sizeof(*t))) == NULL)
		return;
	for (i = 0; i < sb_rows(sb); i++)
		if (sb_read_row(sb, (int)i, now, &r, t) && r.pid > 0)
			sb_totals_add_row(out, &r, t, n);
	free(t);
}

/* Keep sb, of a pool to replaces, until its last worker is reaped. */
static void
adopt(struct pool_state *to, struct scoreboard *sb)
{
	if (sb == NULL)
		return;
	if (!sb_rows_in_use(sb)) {
		sb_destroy(sb);
		return;
	}
	to->old_sbs = xreallocarray(to->old_sbs, to->nold_sbs + 1,
	    sizeof(*to->old_sbs));
	to->old_sbs[to->nold_sbs++] = sb;
}

/*
 * What pool p of g counted: its reaped workers' totals (and those carried
 * over reloads) and its live rows', validated and saturated.
 */
static void
pool_totals(const struct generation *g, size_t p, int64_t now,
    struct sb_totals *out)
{
	const struct pool_state	*ps = &g->pools[p];
	size_t			 k;

	*out = ps->counters.gone;
	add_rows(ps->sb, now, out);
	for (k = 0; k < ps->nold_sbs; k++)
		add_rows(ps->old_sbs[k], now, out);
}

/*
 * Pool `to` of a committing generation takes over the counters of `from`,
 * the pool of the same name it replaces, and its scoreboards: the old
 * workers' rows count on as they drain, each until it is reaped
 * (gen_row_retire), so what they finish after the reload is counted too.
 */
static void
carry(struct pool_state *to, struct generation *old, size_t from)
{
	struct pool_state	*ps = &old->pools[from];
	unsigned int		 i;
	size_t			 k;

	sb_totals_add(&to->counters.gone, &ps->counters.gone);
	adopt(to, ps->sb);
	ps->sb = NULL;
	for (k = 0; k < ps->nold_sbs; k++)
		adopt(to, ps->old_sbs[k]);
	free(ps->old_sbs);
	ps->old_sbs = NULL;
	ps->nold_sbs = 0;
	for (i = 0; i < RESTART_NCAUSES; i++)
		to->counters.restarts[i] = sb_sat_add(to->counters.restarts[i],
		    ps->counters.restarts[i]);
	to->counters.max_reached = sb_sat_add(to->counters.max_reached,
	    ps->counters.max_reached);
	if (ps->counters.queue_peak > to->counters.queue_peak)
		to->counters.queue_peak = ps->counters.queue_peak;
	to->counters.rate10_milli = ps->counters.rate10_milli;
	to->counters.rate60_milli = ps->counters.rate60_milli;
	/* The samples are of totals that carry on from here. */
	memcpy(to->rate_n, ps->rate_n, sizeof(to->rate_n));
	memcpy(to->rate_ms, ps->rate_ms, sizeof(to->rate_ms));
	to->rate_next = ps->rate_next;
}

/*
 * Loading g serves in old's place: the sockets it keeps get their owner,
 * mode and backlog as it says, and its pools take over the counters of
 * old's pools of the same name; not before, as a reload that fails
 * changes nothing.  The caller releases old.
 */
void
gen_commit(struct generation *g, struct generation *old)
{
	int64_t	 wall = clock_wall_ms();
	size_t	 i, j;

	for (i = 0; old != NULL && i < g->conf->npools; i++) {
		for (j = 0; j < old->conf->npools; j++)
			if (strcmp(g->conf->pools[i].name,
			    old->conf->pools[j].name) == 0)
				carry(&g->pools[i], old, j);
		g->pools[i].counters.reload_wall_ms = wall;
		sb_pool_publish(g->pools[i].sb, &g->pools[i].counters);
	}

	for (i = 0; old != NULL && i < g->conf->npools; i++)
		for (j = 0; j < old->conf->npools; j++)
			if (g->fds[i] != -1 && g->fds[i] == old->fds[j]) {
				(void)sock_apply(&g->conf->pools[i], g->fds[i]);
				(void)listen(g->fds[i],
				    g->conf->pools[i].listen_backlog);
			}
	g->state = GEN_SERVING;
	g->deadline = SUP_NO_DEADLINE;
}

/*
 * Release g: close (and unlink) the sockets keep does not share, unmap
 * its scoreboards (its workers keep their own mappings), and return its
 * config for the caller to free.
 */
static struct conf *
release(struct generation *g, const struct generation *keep)
{
	struct conf	*conf = g->conf;
	size_t		 i, j;
	bool	 shared;

	for (i = 0; g->fds != NULL && i < g->conf->npools; i++) {
		shared = false;
		for (j = 0; keep != NULL && keep != g && keep->conf != NULL &&
		    j < keep->conf->npools; j++)
			if (keep->fds[j] == g->fds[i])
				shared = true;
		if (shared || g->fds[i] == -1)
			continue;
		sock_unlink(&g->conf->pools[i], g->fds[i]);
		close(g->fds[i]);
	}
	for (i = 0; g->pools != NULL && i < g->conf->npools; i++) {
		sb_destroy(g->pools[i].sb);
		for (j = 0; j < g->pools[i].nold_sbs; j++)
			sb_destroy(g->pools[i].old_sbs[j]);
		free(g->pools[i].old_sbs);
		if (g->pools[i].access_fd != -1)
			close(g->pools[i].access_fd);
	}
	free(g->pools);
	free(g->fds);
	memset(g, 0, sizeof(*g));
	g->state = GEN_NONE;
	return conf;
}

/*
 * Release g as above and free its config.  keep (the generation that
 * serves on) may be NULL or g itself: nothing is shared then.
 */
void
gen_release(struct generation *g, const struct generation *keep)
{
	conf_free(release(g, keep));
}

/* Release g, sharing nothing, but return its config: pooled stops. */
struct conf *
gen_release_conf(struct generation *g)
{
	return release(g, NULL);
}

/*
 * Close g's listen sockets now, removing the files of unix ones, so that
 * the kernel refuses new connections at once: a stop.
 */
void
gen_close_listeners(struct generation *g)
{
	size_t	 i;

	for (i = 0; i < g->conf->npools; i++) {
		if (g->fds[i] == -1)
			continue;
		sock_unlink(&g->conf->pools[i], g->fds[i]);
		close(g->fds[i]);
		g->fds[i] = -1;
	}
}

/*
 * Append the scoreboards of g to v, which has room for them, at *n.  A
 * new worker must not keep any but its own (it unmaps the others).
 */
void
gen_scoreboards(const struct generation *g, struct scoreboard **v,
    size_t *n)
{
	size_t	 i, k;

	for (i = 0; g->conf != NULL && i < g->conf->npools; i++) {
		if (g->pools[i].sb != NULL)
			v[(*n)++] = g->pools[i].sb;
		for (k = 0; k < g->pools[i].nold_sbs; k++)
			v[(*n)++] = g->pools[i].old_sbs[k];
	}
}

/* How many scoreboards gen_scoreboards gives for g. */
size_t
gen_nscoreboards(const struct generation *g)
{
	size_t	 i, n = 0;

	for (i = 0; g->conf != NULL && i < g->conf->npools; i++)
		n += 1 + g->pools[i].nold_sbs;
	return n;
}

static const char *const restart_names[RESTART_NCAUSES] = {
	[RESTART_NONE] = "none",
	[RESTART_CRASH] = "crash",
	[RESTART_START_TIMEOUT] = "start_timeout",
	[RESTART_MAX_REQUESTS] = "max_requests",
	[RESTART_STUCK] = "stuck",
	[RESTART_LISTEN] = "listen",
	[RESTART_PROTOCOL] = "protocol"
};

/* The label of a restart cause, for status pages. */
const char *
restart_cause_name(enum restart_cause c)
{
	return (unsigned int)c < RESTART_NCAUSES ? restart_names[c] : "none";
}

/* Count a worker of pool p started in another's place, and publish. */
void
gen_count_restart(struct generation *g, size_t p, enum restart_cause c)
{
	struct pool_state	*ps = &g->pools[p];

	if (c == RESTART_NONE || (unsigned int)c >= RESTART_NCAUSES)
		return;
	ps->counters.restarts[c] = sb_sat_add(ps->counters.restarts[c], 1);
	sb_pool_publish(ps->sb, &ps->counters);
}

/*
 * The pool of g that sb counts for, its own or one it took over at a
 * reload (then *k is its index in old_sbs, else SIZE_MAX); or SIZE_MAX.
 */
static size_t
sb_pool_of(const struct generation *g, const struct scoreboard *sb,
    size_t *k)
{
	const struct pool_state	*ps;
	size_t			 p, i;

	for (p = 0; sb != NULL && g->conf != NULL && p < g->conf->npools;
	    p++) {
		ps = &g->pools[p];
		*k = SIZE_MAX;
		if (ps->sb == sb)
			return p;
		for (i = 0; i < ps->nold_sbs; i++)
			if (ps->old_sbs[i] == sb) {
				*k = i;
				return p;
			}
	}
	return SIZE_MAX;
}

/* Whether sb is one of g's scoreboards, taken over ones included. */
bool
gen_has_sb(const struct generation *g, const struct scoreboard *sb)
{
	size_t	 k;

	return sb_pool_of(g, sb, &k) != SIZE_MAX;
}

/*
 * The worker with row row of sb is gone.  If sb is g's, add what the row
 * counted to its pool's totals, count its restart (cause, or
 * RESTART_NONE), free the row and publish; a scoreboard taken over at a
 * reload goes with its last row.  Only bounded, saturated values are
 * added: the row is the worker's to write.  Returns false when sb is
 * none of g's.
 */
bool
gen_row_retire(struct generation *g, struct scoreboard *sb, int row,
    enum restart_cause cause, int64_t now)
{
	struct pool_state	*ps;
	struct sb_thread	*t;
	struct sb_row		 r;
	unsigned int		 n;
	size_t			 p, k;

	if ((p = sb_pool_of(g, sb, &k)) == SIZE_MAX)
		return false;
	ps = &g->pools[p];
	n = sb_threads(sb);
	if ((t = calloc(n, sizeof(*t))) != NULL &&
	    sb_read_row(sb, row, now, &r, t))
		sb_totals_add_row(&ps->counters.gone, &r, t, n);
	free(t);
	sb_row_free(sb, row);
	if (k != SIZE_MAX && !sb_rows_in_use(sb)) {
		sb_destroy(sb);
		ps->old_sbs[k] = ps->old_sbs[--ps->nold_sbs];
	}
	gen_count_restart(g, p, cause);
	sb_pool_publish(ps->sb, &ps->counters);
	return true;
}

/*
 * Requests a second over the last window ms, from the samples: from the
 * newest one at least window old, or the oldest there is; x 1000.
 */
static uint64_t
rate_milli(const struct pool_state *ps, uint64_t total, int64_t now,
    int64_t window)
{
	unsigned int	 i, k;
	int64_t		 ms = 0, age;
	uint64_t	 n = 0;
	bool		 found = false;

	for (i = 1; i <= GEN_RATE_SAMPLES; i++) {
		k = (ps->rate_next + GEN_RATE_SAMPLES - i) % GEN_RATE_SAMPLES;
		if (ps->rate_ms[k] == 0)
			break;
		ms = ps->rate_ms[k];
		n = ps->rate_n[k];
		found = true;
		if (now - ms >= window)
			break;
	}
	age = now - ms;
	if (!found || age <= 0 || total < n)
		return 0;
	if (total - n > UINT64_MAX / 1000000)
		return UINT64_MAX / 1000;
	return (total - n) * 1000000 / (uint64_t)age;
}

/*
 * A pm tick of the serving generation: sample each pool's requests for
 * the recent rates and its listen queue for its peak, and publish.  The
 * queue is the kernel's word; the counts are validated copies.
 */
void
gen_sample(struct generation *g, int64_t now)
{
	struct pool_state	*ps;
	struct sb_totals	 tot;
	size_t			 i;
	unsigned int		 k;
	long			 q, backlog;

	for (i = 0; g->conf != NULL && i < g->conf->npools; i++) {
		ps = &g->pools[i];
		/* A tick brought forward by a waiting connection: skip. */
		k = (ps->rate_next + GEN_RATE_SAMPLES - 1) % GEN_RATE_SAMPLES;
		if (ps->rate_ms[k] != 0 && now - ps->rate_ms[k] < 1000)
			continue;
		pool_totals(g, i, now, &tot);
		ps->counters.rate10_milli = rate_milli(ps, tot.requests, now,
		    10000);
		ps->counters.rate60_milli = rate_milli(ps, tot.requests, now,
		    60000);
		ps->rate_n[ps->rate_next] = tot.requests;
		ps->rate_ms[ps->rate_next] = now > 0 ? now : 1;
		ps->rate_next = (ps->rate_next + 1) % GEN_RATE_SAMPLES;
		listen_queue(g->fds[i], &q, &backlog);
		if (q > ps->counters.queue_peak)
			ps->counters.queue_peak = q;
		sb_pool_publish(ps->sb, &ps->counters);
	}
}

/*
 * How many workers pool pc of a loading generation starts with:
 * processes, or for a pool pm sizes that serves in cur under the same
 * name with running[i] workers staying, as many (within the new
 * max_processes): a reload under load must not drop what pm grew, to
 * grow it again a tick at a time.  cur may be NULL (the first start).
 */
int
gen_start_size(const struct pool_conf *pc, const struct generation *cur,
    const unsigned int *running)
{
	size_t	 i;
	int	 n = 0;

	if (pc->pm == PM_STATIC || cur == NULL || cur->conf == NULL)
		return pc->processes;
	for (i = 0; i < cur->conf->npools; i++)
		if (strcmp(cur->conf->pools[i].name, pc->name) == 0 &&
		    cur->conf->pools[i].pm != PM_STATIC)
			n += (int)running[i];
	if (n > pc->max_processes)
		n = pc->max_processes;
	return n > pc->processes ? n : pc->processes;
}
