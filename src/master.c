/*
 * The master: one thread, one poll() loop, deadlines instead of sleeps.  It
 * owns the config, the listen sockets and the worker table; it forks
 * workers, reaps them, restarts them with back-off, replaces them, reloads
 * the config, and stops them.  It never handles a request, never loads a
 * module, and never acts on what a worker sends without checking it.
 *
 * A reload (HUP) starts a new generation beside the one that serves: the
 * new config, the sockets it shares with the old one (the same fd, so no
 * connection is ever refused) plus any new ones, and its workers.  Only
 * once every new worker is ready are the old ones asked to finish their
 * requests and exit; if the new config is invalid or a new worker fails
 * to start, the new generation is dropped and the old one serves on,
 * untouched.  A worker that asks to be replaced (max_requests, a stuck
 * request) is handled the same way on a small scale: its replacement
 * starts first, and it is stopped once the replacement is ready.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pooled.h"

enum master_stop {
	STOP_NONE,
	STOP_GRACEFUL,
	STOP_NOW
};

#define MASTER_PM_TICK_MS	1000	/* pm decisions, at most this often */
#define MASTER_MAX_LOG_MS	10000	/* "max_processes reached", at most */

/* What the master keeps of one pool of a generation. */
struct pool_state {
	struct scoreboard	*sb;
	struct sb_pool		 counters;	/* published into sb */
	bool			 watch;		/* poll the listen socket */
	bool			 queued;	/* it had a connection waiting */
	int64_t			 watch_after;	/* not sooner: no busy loop */
	int64_t			 max_logged;
};

/* A config, the listen sockets of its pools (one fd each), their state. */
struct generation {
	uint32_t		 id;
	struct conf		*conf;	/* NULL: none */
	int			*fds;
	struct pool_state	*pools;
};

struct master {
	struct generation	 cur;		/* serving */
	struct generation	 next;		/* starting, after a HUP */
	uint32_t		 last_gen;	/* ids are never reused */
	int64_t			 next_deadline;
	const char		*next_failed;	/* why the start failed */
	bool			 want_reload;
	bool			 reload_deferred_logged;
	struct slot_table	 slots;
	int			 ready_fd;	/* tells the parent we run */
	bool			 started;
	int64_t			 start_deadline;
	enum master_stop	 stop;
	int			 exit_code;
	struct pollfd		*pfd;
	size_t			*pfd_slot;	/* index into slots, per pfd */
	size_t			 pfd_cap;
	int64_t			 pm_due;	/* next pm tick */
	struct status_srv	*status;	/* status_listen, or NULL */
	char			 last_reload[256];
	int			 procfd;	/* /proc, for reaper.c */
};

/* pfd_slot of a pool's listen socket: PFD_POOL + pool index. */
#define PFD_POOL	((size_t)1 << 40)
/* pfd_slot of a status_listen descriptor. */
#define PFD_STATUS	((size_t)1 << 41)

static void	master_begin_stop(struct master *, enum master_stop);
static void	retire_kept(struct master *);

/* The generation a slot belongs to, or NULL when it is gone. */
static struct generation *
gen_of(struct master *m, const struct slot *s)
{
	if (m->cur.conf != NULL && s->gen == m->cur.id)
		return &m->cur;
	if (m->next.conf != NULL && s->gen == m->next.id)
		return &m->next;
	return NULL;
}

/*
 * Give each pool of g its scoreboard, sized for every worker it may run
 * at once, replacements and a reload's overlap included.  A pool without
 * one (out of memory) serves, only without status.
 */
static void
gen_init_pools(struct generation *g)
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
		g->pools[i].counters.start_wall_ms = clock_wall_ms();
		sb_pool_publish(g->pools[i].sb, &g->pools[i].counters);
	}
}

/*
 * The scoreboards a new worker must not keep: every one the master has
 * (the child unmaps all but its own).  NULL-ended, malloc'd.
 */
static struct scoreboard **
all_scoreboards(struct master *m)
{
	struct generation	*gens[2] = { &m->cur, &m->next };
	struct scoreboard	**v;
	size_t			 g, i, n = 0;

	v = xcalloc((m->cur.conf != NULL ? m->cur.conf->npools : 0) +
	    (m->next.conf != NULL ? m->next.conf->npools : 0) + 1,
	    sizeof(*v));
	for (g = 0; g < 2; g++)
		for (i = 0; gens[g]->conf != NULL &&
		    i < gens[g]->conf->npools; i++)
			if (gens[g]->pools[i].sb != NULL)
				v[n++] = gens[g]->pools[i].sb;
	return v;
}

/*
 * A slot's worker is gone: add what its row counted to its pool's
 * totals, free the row, and publish.
 */
static void
row_retire(struct master *m, struct slot *s, bool restarted)
{
	struct generation	*g = gen_of(m, s);
	struct pool_state	*ps;
	struct sb_thread	*t;
	struct sb_row		 row;
	unsigned int		 i, n;

	if (g == NULL || s->sb == NULL) {
		s->sb = NULL;
		s->row = -1;
		return;
	}
	ps = &g->pools[s->pool];
	n = sb_threads(s->sb);
	if ((t = calloc(n, sizeof(*t))) != NULL &&
	    sb_read_row(s->sb, s->row, clock_ms(), &row, t)) {
		/* Bounded by sb_read_row; added without wrapping. */
		for (i = 0; i < n; i++)
			ps->counters.accepted_gone = sb_sat_add(
			    ps->counters.accepted_gone, t[i].requests);
		ps->counters.slow_gone = sb_sat_add(ps->counters.slow_gone,
		    row.slow);
		ps->counters.timeouts_gone = sb_sat_add(
		    ps->counters.timeouts_gone, row.timeouts);
	}
	free(t);
	if (restarted)
		ps->counters.restarts++;
	sb_row_free(s->sb, s->row);
	sb_pool_publish(s->sb, &ps->counters);
	s->sb = NULL;
	s->row = -1;
}

/* Tell the waiting parent (daemon mode) that every pool is up. */
static void
notify_started(struct master *m)
{
	size_t	 i;

	for (i = 0; i < m->slots.n; i++) {
		const struct slot *s = &m->slots.v[i];

		if (s->state == SLOT_WAITING ||
		    (s->state == SLOT_RUNNING && !s->ready))
			return;
	}
	m->started = true;
	log_notice("master: all pools started (%zu workers)",
	    slot_count_live(&m->slots));
	sd_notify_ready(slot_count_live(&m->slots));
	if (m->ready_fd != -1) {
		(void)write(m->ready_fd, "1", 1);
		m->ready_fd = -1;
	}
}

static void
spawn_due(struct master *m, int64_t now)
{
	struct generation	*g;
	struct worker_spec	 ws;
	struct scoreboard	**drop = NULL;
	size_t			 i;
	pid_t			 pid;
	int			 chan;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state != SLOT_WAITING || s->due_ms > now)
			continue;
		if ((g = gen_of(m, s)) == NULL) {
			s->state = SLOT_EMPTY;
			continue;
		}
		if (drop == NULL)
			drop = all_scoreboards(m);
		memset(&ws, 0, sizeof(ws));
		ws.conf = g->conf;
		ws.pool = s->pool;
		ws.gen = g->id;
		ws.listen_fd = g->fds[s->pool];
		ws.sb = g->pools[s->pool].sb;
		ws.row = sb_row_claim(ws.sb);
		ws.drop = drop;
		pid = proc_spawn_worker(&ws, &chan);
		if (pid == -1) {
			sb_row_free(ws.sb, ws.row);
			/* Try again later, as if it had died before ready. */
			s->started_ms = now;
			(void)slot_exited(s, true, now);
			continue;
		}
		sb_row_start(ws.sb, ws.row, pid, g->id, now);
		slot_started(s, pid, chan, now);
		/*
		 * At start-up and in a reload, the whole start has a
		 * deadline; any other start (a respawn, pm, a replacement)
		 * has one of its own.
		 */
		if (m->started && g == &m->cur)
			s->ready_deadline = now +
			    g->conf->start_timeout * 1000LL;
		s->sb = ws.sb;
		s->row = ws.row;
		log_info("pool %s: started worker %ld", s->name, (long)pid);
	}
	free(drop);
}

/*
 * Stop one slot's worker: graceful asks it to finish what it has, now
 * asks it to exit at once and sends SIGTERM.  master_stop_step escalates
 * at the slot's deadline.  A slot waiting for a process is just dropped.
 * closing tells a graceful worker that its pool's socket closes with it,
 * so nobody else will serve the backlog.
 */
static void
slot_stop_as(struct master *m, struct slot *s, bool graceful, bool closing,
    int64_t now)
{
	const struct conf	*c = m->cur.conf;
	uint32_t		 flags = closing ? CHAN_STOP_CLOSING : 0;

	if (s->state != SLOT_RUNNING) {
		s->state = SLOT_EMPTY;
		return;
	}
	if (s->stopping && (graceful || s->phase >= PHASE_TERM))
		return;
	s->stopping = true;
	if (graceful) {
		if (s->chan != -1)
			(void)chan_send(s->chan, CHAN_STOP_GRACEFUL, &flags,
			    sizeof(flags));
		s->phase = PHASE_ASKED;
		s->stop_deadline = now + c->graceful_timeout * 1000LL;
	} else {
		if (s->chan != -1)
			(void)chan_send(s->chan, CHAN_STOP_NOW, NULL, 0);
		(void)kill(s->pid, SIGTERM);
		s->phase = PHASE_TERM;
		s->stop_deadline = now + c->kill_timeout * 1000LL;
	}
}

/* Stop a slot's worker; once pooled stops, its socket closes with it. */
static void
slot_stop(struct master *m, struct slot *s, bool graceful, int64_t now)
{
	slot_stop_as(m, s, graceful, m->stop != STOP_NONE, now);
}

/* Close the sockets of g that the serving generation does not share. */
static void
gen_release(struct master *m, struct generation *g)
{
	size_t	 i, j;
	bool	 shared;

	for (i = 0; i < g->conf->npools; i++) {
		shared = false;
		for (j = 0; m->cur.conf != NULL && g != &m->cur &&
		    j < m->cur.conf->npools; j++)
			if (m->cur.fds[j] == g->fds[i])
				shared = true;
		if (shared || g->fds[i] == -1)
			continue;
		sock_unlink(&g->conf->pools[i], g->fds[i]);
		close(g->fds[i]);
	}
	/* Its workers keep their own mapping; the master lets go of its. */
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == g->id) {
			m->slots.v[i].sb = NULL;
			m->slots.v[i].row = -1;
		}
	for (i = 0; g->pools != NULL && i < g->conf->npools; i++)
		sb_destroy(g->pools[i].sb);
	free(g->pools);
	free(g->fds);
	conf_free(g->conf);
	g->pools = NULL;
	g->fds = NULL;
	g->conf = NULL;
}

/* Drop a generation that failed to start; the serving one stays. */
static void
reload_abort(struct master *m, const char *why)
{
	int64_t	 now = clock_ms();
	size_t	 i;

	log_warnx("master: reload failed: %s; still serving generation %u "
	    "with the old configuration", why, m->cur.id);
	snprintf(m->last_reload, sizeof(m->last_reload), "failed: %s", why);
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->next.id)
			slot_stop(m, &m->slots.v[i], false, now);
	gen_release(m, &m->next);
	m->next_failed = NULL;
}

/* Every new worker is ready: it serves, the old workers finish. */
static void
reload_commit(struct master *m)
{
	struct generation	 old = m->cur;
	int64_t			 now = clock_ms();
	size_t			 i, j, n = 0;

	m->cur = m->next;
	memset(&m->next, 0, sizeof(m->next));
	/*
	 * The sockets it keeps get their owner, mode and backlog as it
	 * says: not before, as a reload that fails changes nothing.
	 */
	for (i = 0; i < m->cur.conf->npools; i++)
		for (j = 0; j < old.conf->npools; j++)
			if (m->cur.fds[i] == old.fds[j]) {
				(void)sock_apply(&m->cur.conf->pools[i],
				    m->cur.fds[i]);
				(void)listen(m->cur.fds[i],
				    m->cur.conf->pools[i].listen_backlog);
			}
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];
		bool kept = false;

		if (s->gen != old.id)
			continue;
		if (s->state == SLOT_RUNNING)
			n++;
		/* A pool the reload removed: its socket closes. */
		for (j = 0; j < m->cur.conf->npools; j++)
			if (s->pool < old.conf->npools &&
			    m->cur.fds[j] == old.fds[s->pool])
				kept = true;
		slot_stop_as(m, s, true, !kept, now);
	}
	gen_release(m, &old);
	log_set_level(m->cur.conf->log_level);
	log_notice("master: reload done: generation %u serves; %zu old "
	    "workers finish their requests", m->cur.id, n);
	snprintf(m->last_reload, sizeof(m->last_reload), "done: generation "
	    "%u", m->cur.id);
}

/*
 * The listen socket of the serving generation at the same address as pc,
 * or -1.  Kept across a reload, it never stops accepting; its owner, mode
 * and backlog change once the new generation serves (reload_commit).
 */
static int
shared_socket(struct master *m, const struct pool_conf *pc)
{
	const struct listen_addr	*la = &pc->listen;
	size_t				 i;

	for (i = 0; i < m->cur.conf->npools; i++) {
		const struct listen_addr *o = &m->cur.conf->pools[i].listen;

		if (listen_addr_same(o, la))
			return m->cur.fds[i];
	}
	return -1;
}

/*
 * How many workers pool pc of a reload's config starts with: processes,
 * or for a pool pm sizes that serves now under the same name, as many as
 * it runs (within the new max_processes): a reload under load must not
 * drop what pm grew, to grow it again a tick at a time.
 */
static int
reload_size(struct master *m, const struct pool_conf *pc)
{
	size_t	 i, j;
	int	 n = 0;

	if (pc->pm == PM_STATIC)
		return pc->processes;
	for (i = 0; i < m->cur.conf->npools; i++) {
		if (strcmp(m->cur.conf->pools[i].name, pc->name) != 0 ||
		    m->cur.conf->pools[i].pm == PM_STATIC)
			continue;
		for (j = 0; j < m->slots.n; j++) {
			const struct slot *s = &m->slots.v[j];

			if (s->gen == m->cur.id && s->pool == i &&
			    s->state != SLOT_EMPTY && !s->stopping &&
			    !s->retiring)
				n++;
		}
	}
	if (n > pc->max_processes)
		n = pc->max_processes;
	return n > pc->processes ? n : pc->processes;
}

/*
 * HUP: read the config again; if valid, open what sockets it adds and
 * start its workers as the next generation.
 */
static void
master_reload(struct master *m)
{
	struct conf	*conf;
	size_t		 i;
	int		*fds, k;

	if (m->next.conf != NULL) {
		if (!m->reload_deferred_logged)
			log_notice("master: SIGHUP: a reload is starting "
			    "already; this one follows it");
		m->reload_deferred_logged = true;
		return;
	}
	m->want_reload = false;
	m->reload_deferred_logged = false;
	log_notice("master: SIGHUP: reloading %s", m->cur.conf->path);
	sd_notify_reloading();
	if ((conf = conf_load(m->cur.conf->path)) == NULL ||
	    preflight_check(conf) == -1) {
		conf_free(conf);
		log_warnx("master: reload: the configuration is invalid (see "
		    "above); still serving the old one");
		snprintf(m->last_reload, sizeof(m->last_reload), "failed: "
		    "the configuration is invalid (see the log)");
		return;
	}
	acl_warn_wildcard(conf);
	fds = xcalloc(conf->npools, sizeof(*fds));
	for (i = 0; i < conf->npools; i++) {
		/* A kept socket's directory must pass as a new one's. */
		if ((fds[i] = shared_socket(m, &conf->pools[i])) != -1 &&
		    sock_check_dir(&conf->pools[i]) == 0) {
			sock_rcvbuf(&conf->pools[i], fds[i]);
			continue;
		}
		if (fds[i] != -1 ||
		    (fds[i] = sock_open(&conf->pools[i])) == -1) {
			while (++i < conf->npools)
				fds[i] = -1;
			m->next = (struct generation){ ++m->last_gen, conf,
			    fds, NULL };
			gen_release(m, &m->next);
			log_warnx("master: reload: cannot listen (see "
			    "above); still serving the old configuration");
			snprintf(m->last_reload, sizeof(m->last_reload),
			    "failed: cannot listen (see the log)");
			return;
		}
	}
	/*
	 * A new id even after an aborted reload: the workers of that one
	 * may still be on their way out, and must not pass for this one's.
	 */
	m->next = (struct generation){ ++m->last_gen, conf, fds, NULL };
	gen_init_pools(&m->next);
	m->next_deadline = clock_ms() + conf->start_timeout * 1000LL;
	for (i = 0; i < conf->npools; i++)
		for (k = reload_size(m, &conf->pools[i]); k > 0; k--)
			(void)slot_add(&m->slots, i, m->next.id);
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->next.id)
			snprintf(m->slots.v[i].name, sizeof(m->slots.v[i].name),
			    "%s", conf->pools[m->slots.v[i].pool].name);
	log_notice("master: reload: starting generation %u (%zu pools)",
	    m->next.id, conf->npools);
}

/*
 * Kill the workers not ready by their ready_deadline.  Reaped as a death
 * before ready, each is started again with the slot's back-off; until it
 * serves, pm leaves the pool alone, so it must not wait forever.
 */
static void
start_overdue_step(struct master *m, int64_t now)
{
	struct slot	*s;

	while ((s = slot_start_overdue(&m->slots, now)) != NULL) {
		log_warnx("pool %s: worker %ld not ready after start_timeout "
		    "(%d s); killing it", s->name, (long)s->pid,
		    m->cur.conf->start_timeout);
		(void)kill(s->pid, SIGKILL);
	}
}

/* Commit or abort a reload whose workers are starting. */
static void
reload_step(struct master *m, int64_t now)
{
	size_t	 i;

	if (m->next.conf == NULL)
		return;
	if (m->next_failed != NULL) {
		reload_abort(m, m->next_failed);
		retire_kept(m);
		return;
	}
	for (i = 0; i < m->slots.n; i++) {
		const struct slot *s = &m->slots.v[i];

		if (s->gen == m->next.id && (s->state != SLOT_RUNNING ||
		    !s->ready))
			break;
	}
	if (i == m->slots.n)
		reload_commit(m);
	else if (now >= m->next_deadline)
		reload_abort(m, "the new workers were not ready within "
		    "start_timeout");
	else
		return;
	retire_kept(m);
}

static void
reap_one(struct master *m, pid_t pid, int status, int64_t now)
{
	struct slot	*s;
	char		 how[128];
	bool		 abnormal, looping, was_ready;

	if ((s = slot_by_pid(&m->slots, pid)) == NULL)
		return;		/* not a worker of ours */
	proc_describe_status(status, how, sizeof(how));
	abnormal = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (s->stopping || s->retiring || !abnormal)
		log_info("pool %s: worker %ld %s", s->name, (long)pid, how);
	else
		log_warnx("pool %s: worker %ld %s", s->name, (long)pid, how);
	if (s->chan != -1)
		close(s->chan);
	row_retire(m, s, abnormal && !s->stopping && !s->retiring &&
	    m->stop == STOP_NONE);
	was_ready = s->ready;
	looping = slot_exited(s, abnormal, now);
	if (m->stop != STOP_NONE) {
		s->state = SLOT_EMPTY;
		return;
	}
	if (s->state == SLOT_EMPTY)
		return;		/* stopped or replaced: expected */
	if (m->next.conf != NULL && s->gen == m->next.id && !was_ready) {
		static char	 why[256];

		snprintf(why, sizeof(why), "pool %s: a new worker %s before "
		    "it was ready", s->name, how);
		m->next_failed = why;
		s->state = SLOT_EMPTY;
		return;
	}
	if (!m->started && !was_ready) {
		log_warnx("pool %s: worker failed during startup; stopping",
		    s->name);
		m->exit_code = 1;
		master_begin_stop(m, STOP_NOW);
		return;
	}
	/*
	 * After start-up a handler that will not load (a module being
	 * redeployed, a database down for process_init) is retried with
	 * back-off, like any worker that dies before it is ready, rather
	 * than leaving the pool to shrink to nothing.
	 */
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG)
		log_warnx("pool %s: worker could not start its handler; "
		    "retrying in %lld ms", s->name,
		    (long long)(s->due_ms - now));
	else if (looping)
		log_warnx("pool %s: workers keep dying right after start "
		    "(%u times within %d s); restarting with back-off, next "
		    "in %lld ms", s->name, s->early_deaths,
		    SLOT_LOOP_WINDOW_MS / 1000, (long long)(s->due_ms - now));
	else if (s->backoff_ms > 0)
		log_notice("pool %s: restarting worker in %lld ms", s->name,
		    (long long)(s->due_ms - now));
}

/* Whether pid is one of the workers, for reaper_kill_children. */
static bool
is_worker(pid_t pid, void *arg)
{
	struct master	*m = arg;

	return slot_by_pid(&m->slots, pid) != NULL;
}

/*
 * Kill every child that is not a worker.  The master is a subreaper, so
 * what a dead worker left (its CGI programs, their children) is handed
 * to it, before the worker's own exit is reported; killing them hands
 * their children over in turn, and each of those deaths brings the
 * master back here.  Only the master reaps its children, so the pids
 * seen are still its own when they are killed.
 */
static void
master_sweep(struct master *m)
{
	size_t	 n;

	if ((n = reaper_kill_children(m->procfd, getpid(), is_worker, m)) > 0)
		log_notice("master: killed %zu processes that workers left "
		    "behind", n);
}

static void
master_reap(struct master *m)
{
	pid_t	 pid;
	int	 status;
	bool	 any = false;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		/* Not a worker: something a worker left, killed below. */
		reap_one(m, pid, status, clock_ms());
		any = true;
	}
	if (any)
		master_sweep(m);
}

/*
 * Hand every worker the log the master just reopened: a worker that is
 * not root could not open it (root's, 0640) itself.  Logging to stderr,
 * there is nothing to hand.
 */
static void
send_log(struct master *m)
{
	size_t	 i;

	if (log_fd() == STDERR_FILENO)
		return;
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].state == SLOT_RUNNING &&
		    m->slots.v[i].chan != -1)
			(void)chan_send_fd(m->slots.v[i].chan, CHAN_REOPEN_LOG,
			    log_fd());
}

/*
 * Start stopping: graceful asks workers to finish what they have (QUIT),
 * now asks them to exit at once (TERM, INT).  Escalation to SIGTERM and
 * SIGKILL follows from master_stop_step.  A fast stop overrides a graceful
 * one in progress, never the reverse.  A reload in progress is dropped.
 */
static void
master_begin_stop(struct master *m, enum master_stop how)
{
	int64_t	 now = clock_ms();
	size_t	 i;

	if (m->stop == STOP_NOW || m->stop == how)
		return;
	m->stop = how;
	sd_notify_stopping();
	if (how == STOP_GRACEFUL)
		log_notice("master: graceful stop: workers finish their "
		    "requests (up to %d s)", m->cur.conf->graceful_timeout);
	else
		log_notice("master: stopping now");
	for (i = 0; i < m->slots.n; i++)
		slot_stop(m, &m->slots.v[i], how == STOP_GRACEFUL, now);
	if (m->next.conf != NULL)
		gen_release(m, &m->next);
	/*
	 * Let go of the listen sockets now, not after the last worker: the
	 * workers let go of theirs as they begin to stop, and then the
	 * kernel refuses new connections at once (a unix socket's file goes
	 * first), so the web server tries elsewhere rather than waiting in a
	 * backlog nobody serves.
	 */
	for (i = 0; i < m->cur.conf->npools; i++) {
		if (m->cur.fds[i] == -1)
			continue;
		sock_unlink(&m->cur.conf->pools[i], m->cur.fds[i]);
		close(m->cur.fds[i]);
		m->cur.fds[i] = -1;
	}
}

/*
 * Escalate the stops whose deadline passed: a worker asked to finish gets
 * SIGTERM after graceful_timeout, one sent SIGTERM gets SIGKILL after
 * kill_timeout.
 */
static void
master_stop_step(struct master *m, int64_t now)
{
	size_t	 i, term = 0, killed = 0;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state != SLOT_RUNNING || !s->stopping ||
		    now < s->stop_deadline)
			continue;
		switch (s->phase) {
		case PHASE_ASKED:
			(void)kill(s->pid, SIGTERM);
			s->phase = PHASE_TERM;
			s->stop_deadline = now +
			    m->cur.conf->kill_timeout * 1000LL;
			term++;
			break;
		case PHASE_TERM:
			(void)kill(s->pid, SIGKILL);
			s->phase = PHASE_KILL;
			s->stop_deadline = now + 1000;
			killed++;
			break;
		default:
			s->stop_deadline = now + 1000;
			break;
		}
	}
	if (term > 0)
		log_warnx("master: graceful_timeout passed; sending SIGTERM "
		    "to %zu workers", term);
	if (killed > 0)
		log_warnx("master: kill_timeout passed; sending SIGKILL to "
		    "%zu workers", killed);
}

/*
 * A worker asks to be replaced: start its replacement in a slot of its
 * own; the worker serves on until the replacement is ready.  The request
 * is the worker's word, so it buys no more than a crash would: it is
 * acted on once the worker is ready (a module asking from process_init
 * would otherwise have each replacement ask again before it serves, and
 * the master fork thousands of workers a second, as root, past any
 * rlimit_nproc), and the replacement starts no sooner than
 * SLOT_MIN_INTERVAL_MS after the worker did, as a respawn would.
 */
static void
retire(struct master *m, size_t idx, uint32_t reason)
{
	struct slot	*s = &m->slots.v[idx], *r;
	const char	*why;
	pid_t		 pid = s->pid;
	size_t		 pool = s->pool;
	uint32_t	 gen = s->gen;
	int64_t		 due = s->started_ms + SLOT_MIN_INTERVAL_MS;
	char		 name[sizeof(s->name)];

	switch (reason) {
	case RETIRE_MAX_REQUESTS:
		why = "it served max_requests";
		break;
	case RETIRE_STUCK:
		why = "a request outlived request_timeout";
		break;
	case RETIRE_LISTEN:
		why = "it could not watch its listen socket";
		break;
	default:
		log_warnx("pool %s: worker %ld asked to be replaced for an "
		    "unknown reason %u; ignored", s->name, (long)pid, reason);
		return;
	}
	if (!s->ready) {
		s->retire_pending = reason;	/* see ready() */
		return;
	}
	/* Stopping anyway: no need. */
	if (s->stopping || s->retiring || m->stop != STOP_NONE)
		return;
	/*
	 * A reload is in flight: which generation serves on is not known
	 * yet.  The worker asks only once, so the master keeps the request
	 * and acts on it when the reload commits or aborts (retire_kept).
	 */
	if (m->next.conf != NULL) {
		s->retire_pending = reason;
		return;
	}
	if (gen != m->cur.id)
		return;		/* of a generation being replaced */
	s->retiring = true;
	memcpy(name, s->name, sizeof(name));
	r = slot_add(&m->slots, pool, gen);	/* s is invalid from here */
	r->replaces = pid;
	r->due_ms = due;
	memcpy(r->name, name, sizeof(r->name));
	log_notice("pool %s: replacing worker %ld: %s", name, (long)pid, why);
}

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
		r = slot_add(&m->slots, i, m->cur.id);
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
		slot_stop(m, r, true, now);
	}
}

/*
 * Size the pools: build each one's view from the slots and the
 * scoreboard, let pm_decide choose (a static pool is only counted when
 * saturated), act on it, and say whether to watch the listen socket for
 * connections that wait.
 */
static void
pm_step(struct master *m, int64_t now)
{
	const struct pool_conf	*pc;
	struct pm_decision	 d;
	struct pm_view		 v;
	struct sb_thread	*t;
	size_t			 i, k, idlest;

	for (i = 0; i < m->cur.conf->npools; i++) {
		pc = &m->cur.conf->pools[i];
		memset(&v, 0, sizeof(v));
		idlest = SIZE_MAX;
		t = xcalloc((size_t)pc->threads, sizeof(*t));
		for (k = 0; k < m->slots.n; k++) {
			struct slot *s = &m->slots.v[k];
			unsigned int idle;

			if (s->gen != m->cur.id || s->pool != i ||
			    s->stopping || s->retiring ||
			    s->state == SLOT_EMPTY)
				continue;
			if (s->state != SLOT_RUNNING || !s->ready) {
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

/* A worker is ready; if it replaces one, that one may go now. */
static void
ready(struct master *m, struct slot *s)
{
	struct slot	*old;
	uint32_t	 reason;

	s->ready = true;
	log_debug("pool %s: worker %ld ready", s->name, (long)s->pid);
	if (s->replaces > 0 &&
	    (old = slot_by_pid(&m->slots, s->replaces)) != NULL) {
		log_info("pool %s: worker %ld replaces worker %ld, which "
		    "finishes its requests", s->name, (long)s->pid,
		    (long)s->replaces);
		slot_stop(m, old, true, clock_ms());
	}
	s->replaces = 0;
	/* It asked to be replaced before it was ready (max_requests). */
	if (s->retire_pending != 0) {
		reason = s->retire_pending;
		s->retire_pending = 0;
		retire(m, (size_t)(s - m->slots.v), reason);
	}
}

/*
 * A reload committed or aborted: act on what the serving generation's
 * workers asked while it was in flight (retire).
 */
static void
retire_kept(struct master *m)
{
	uint32_t	 reason;
	size_t		 i;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->gen != m->cur.id || s->state != SLOT_RUNNING ||
		    !s->ready || s->retire_pending == 0)
			continue;
		reason = s->retire_pending;
		s->retire_pending = 0;
		retire(m, i, reason);	/* may add a slot: s is stale */
	}
}

/*
 * A worker broke the channel's protocol: pooled's worker code never
 * does, so a module or whoever took the process over did.  Ignoring it
 * would let it fill the master's log, a line per datagram, for as long as
 * it likes; instead the channel is closed and the process killed, like a
 * crash (its slot restarts it, no sooner than SLOT_MIN_INTERVAL_MS after
 * its start).  One line, once.
 */
static void
chan_violation(struct slot *s, const char *what)
{
	log_warnx("pool %s: worker %ld %s; killing it", s->name,
	    (long)s->pid, what);
	/* Kill first: on the channel's end-of-file the worker exits 0. */
	(void)kill(s->pid, SIGKILL);
	close(s->chan);
	s->chan = -1;
}

/* Act on one message from a worker; the slot says who sent it. */
static void
chan_dispatch_one(struct master *m, size_t idx)
{
	struct slot	*s = &m->slots.v[idx];
	struct chan_msg	 msg;
	uint32_t	 reason;
	char		 what[96];
	bool		 eof;

	if (chan_recv(s->chan, &msg, &eof) == -1) {
		if (eof) {
			/* The process is dying; SIGCHLD will follow. */
			close(s->chan);
			s->chan = -1;
		} else if (errno == EPROTO)
			chan_violation(s, "sent a malformed message");
		return;
	}
	switch (msg.type) {
	case CHAN_READY:
		if (msg.len != 0)
			break;
		ready(m, s);
		return;
	case CHAN_RETIRE:
		if (msg.len != sizeof(reason))
			break;
		memcpy(&reason, msg.payload, sizeof(reason));
		if (reason < RETIRE_MAX_REQUESTS || reason > RETIRE_LISTEN)
			break;
		retire(m, idx, reason);
		return;
	default:
		break;
	}
	snprintf(what, sizeof(what), "sent an unexpected message (type %u, "
	    "%u bytes)", msg.type, msg.len);
	chan_violation(s, what);
}

static nfds_t
build_pollset(struct master *m)
{
	nfds_t	 n = 0;
	size_t	 i;

	if (m->pfd_cap < m->slots.n + m->cur.conf->npools +
	    status_srv_maxfds() + 1) {
		m->pfd_cap = m->slots.n + m->cur.conf->npools +
		    status_srv_maxfds() + 16;
		m->pfd = realloc(m->pfd, m->pfd_cap * sizeof(*m->pfd));
		m->pfd_slot = realloc(m->pfd_slot, m->pfd_cap *
		    sizeof(*m->pfd_slot));
		if (m->pfd == NULL || m->pfd_slot == NULL)
			fatal("master: realloc");
	}
	m->pfd[n].fd = sig_fd();
	m->pfd[n].events = POLLIN;
	m->pfd_slot[n++] = SIZE_MAX;
	for (i = status_srv_pollfds(m->status, &m->pfd[n]); i > 0; i--)
		m->pfd_slot[n++] = PFD_STATUS;
	for (i = 0; m->stop == STOP_NONE && i < m->cur.conf->npools; i++) {
		if (!m->cur.pools[i].watch)
			continue;
		m->pfd[n].fd = m->cur.fds[i];
		m->pfd[n].events = POLLIN;
		m->pfd_slot[n++] = PFD_POOL + i;
	}
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state != SLOT_RUNNING || s->chan == -1)
			continue;
		m->pfd[n].fd = s->chan;
		m->pfd[n].events = POLLIN;
		m->pfd_slot[n++] = i;
	}
	return n;
}

/* The earlier of two deadlines in ms, -1 meaning none. */
static int64_t
earlier(int64_t a, int64_t b)
{
	if (a == -1)
		return b;
	if (b == -1)
		return a;
	return a < b ? a : b;
}

static int
next_timeout(struct master *m, int64_t now)
{
	int64_t	 ms, start;

	ms = earlier(slot_next_stop_deadline(&m->slots, now),
	    m->stop == STOP_NONE ? slot_next_deadline(&m->slots, now) : -1);
	if (m->stop == STOP_NONE && !m->started) {
		/* Clamped first: -1 means no deadline at all. */
		start = m->start_deadline - now;
		ms = earlier(ms, start < 0 ? 0 : start);
	}
	if (m->next.conf != NULL) {
		start = m->next_deadline - now;
		ms = earlier(ms, start < 0 ? 0 : start);
	}
	if (m->stop == STOP_NONE)
		ms = earlier(ms, slot_next_ready_deadline(&m->slots, now));
	ms = earlier(ms, status_srv_tick(m->status, now));
	if (m->stop == STOP_NONE && m->started) {
		start = m->pm_due - now;
		ms = earlier(ms, start < 0 ? 0 : start);
	}
	if (ms == -1)
		return -1;
	return ms < 0 ? 0 : (int)(ms > INT32_MAX ? INT32_MAX : ms);
}

static void
handle_signals(struct master *m, uint32_t mask)
{
	if (mask & (SIG_BIT(SIGTERM) | SIG_BIT(SIGINT)))
		master_begin_stop(m, STOP_NOW);
	if (mask & SIG_BIT(SIGQUIT))
		master_begin_stop(m, STOP_GRACEFUL);
	if ((mask & SIG_BIT(SIGHUP)) && m->stop == STOP_NONE)
		m->want_reload = true;
	if (mask & SIG_BIT(SIGUSR1)) {
		/* Logged after the reopen: it starts the new file. */
		if (log_reopen() == 0)
			log_notice("master: SIGUSR1: reopened the log file");
		send_log(m);
	}
}

/*
 * status_listen's answer: the serving generation's pools, as the master
 * sees them (status_listen.c renders it).
 */
static char *
status_page(void *arg, const char *path, const char *query, int *status,
    const char **ctype, size_t *len)
{
	struct master		*m = arg;
	struct status_source	 src;
	struct scoreboard	**sbs;
	size_t			 i;
	char			*page;

	sbs = xcalloc(m->cur.conf->npools, sizeof(*sbs));
	for (i = 0; i < m->cur.conf->npools; i++)
		sbs[i] = m->cur.pools[i].sb;
	src.gen = m->cur.id;
	src.last_reload = m->last_reload;
	src.conf = m->cur.conf;
	src.sbs = sbs;
	src.fds = m->cur.fds;
	page = status_render_all(&src, path, query, status, ctype, len);
	free(sbs);
	return page;
}

/*
 * systemd's STATUS= line, now and then: the workers, and the requests the
 * serving generation's scoreboards count (display only).
 */
static void
sd_status_step(struct master *m, int64_t now)
{
	struct snapshot	 snap;
	uint64_t	 requests = 0;
	size_t		 i;

	if (!sd_notify_status_due(now))
		return;
	for (i = 0; i < m->cur.conf->npools; i++)
		if (m->cur.pools[i].sb != NULL && snapshot_take(&snap,
		    m->cur.pools[i].sb, &m->cur.conf->pools[i], -1) == 0) {
			requests = sb_sat_add(requests, snap.pool.accepted);
			snapshot_free(&snap);
		}
	sd_notify_status(now, slot_count_live(&m->slots), requests);
}

/*
 * Run the pools until stopped.  *confp and listen_fds (one open socket per
 * pool, malloc'd) become the master's: a reload replaces them, and on
 * return *confp is the config last served, for the caller to free, and
 * every socket is closed and its file removed.  ready_fd, when not -1,
 * gets one byte once every pool started; the caller closes it, after
 * cleaning up, so a waiting parent learns of a failed start only when
 * nothing is left behind.  Returns the process exit code: 0 after a
 * requested stop, 1 when a pool failed to start.
 */
int
master_run(struct conf **confp, int *listen_fds, int ready_fd)
{
	struct master	 m;
	uint32_t	 mask;
	nfds_t		 n, i;
	int64_t		 now;
	size_t		 p;

	memset(&m, 0, sizeof(m));
	/*
	 * A subreaper: what a worker leaves when it dies comes to the
	 * master, not to init, and is killed (master_sweep).
	 */
	m.procfd = -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == -1)
		log_warn("master: PR_SET_CHILD_SUBREAPER");
	else
		m.procfd = reaper_open();
	m.last_gen = 1;
	m.cur = (struct generation){ m.last_gen, *confp, listen_fds, NULL };
	gen_init_pools(&m.cur);
	m.ready_fd = ready_fd;
	m.stop = STOP_NONE;
	m.start_deadline = clock_ms() + m.cur.conf->start_timeout * 1000LL;
	slot_table_init(&m.slots);
	slot_add_conf(&m.slots, m.cur.conf, m.cur.id);
	for (p = 0; p < m.slots.n; p++)
		snprintf(m.slots.v[p].name, sizeof(m.slots.v[p].name), "%s",
		    m.cur.conf->pools[m.slots.v[p].pool].name);
	snprintf(m.last_reload, sizeof(m.last_reload), "none");
	if (status_srv_open(m.cur.conf, status_page, &m, &m.status) == -1) {
		log_warnx("master: cannot open status_listen; stopping");
		m.exit_code = 1;
		m.stop = STOP_NOW;
	}

	for (;;) {
		slot_table_compact(&m.slots);
		now = clock_ms();
		if (m.stop == STOP_NONE)
			spawn_due(&m, now);
		/*
		 * Before the poll, not only after an event: with no worker to
		 * start (every pool ondemand) nothing would wake it before
		 * start_timeout.
		 */
		if (m.stop == STOP_NONE && !m.started)
			notify_started(&m);
		n = build_pollset(&m);
		if (poll(m.pfd, n, next_timeout(&m, now)) == -1 &&
		    errno != EINTR)
			fatal("master: poll");
		mask = sig_drain();
		for (i = 1; i < n; i++) {
			if ((m.pfd[i].revents & (POLLIN | POLLOUT | POLLHUP |
			    POLLERR)) == 0)
				continue;
			if (m.pfd_slot[i] == PFD_STATUS)
				status_srv_event(m.status, m.pfd[i].fd,
				    clock_ms());
			else if (m.pfd_slot[i] >= PFD_POOL) {
				/* A connection waits: decide now. */
				p = m.pfd_slot[i] - PFD_POOL;
				m.cur.pools[p].queued = true;
				m.cur.pools[p].watch = false;
				m.cur.pools[p].watch_after = clock_ms() +
				    MASTER_PM_TICK_MS;
				m.pm_due = 0;
			} else
				chan_dispatch_one(&m, m.pfd_slot[i]);
		}
		if (mask & SIG_BIT(SIGCHLD))
			master_reap(&m);
		handle_signals(&m, mask);
		now = clock_ms();
		master_stop_step(&m, now);
		if (m.stop != STOP_NONE) {
			if (slot_count_live(&m.slots) == 0)
				break;
			continue;
		}
		if (!m.started) {
			notify_started(&m);
			if (!m.started && now >= m.start_deadline) {
				log_warnx("master: workers not ready after "
				    "start_timeout (%d s); stopping",
				    m.cur.conf->start_timeout);
				m.exit_code = 1;
				master_begin_stop(&m, STOP_NOW);
			}
			continue;
		}
		start_overdue_step(&m, now);
		if (now >= m.pm_due)
			pm_step(&m, now);
		reload_step(&m, now);
		if (m.want_reload)
			master_reload(&m);
		sd_notify_reload_settled(m.next.conf != NULL,
		    slot_count_live(&m.slots));
		sd_status_step(&m, now);
	}

	/* No worker is left: neither may anything they started be. */
	master_sweep(&m);
	if (m.procfd != -1)
		close(m.procfd);
	for (p = 0; p < m.cur.conf->npools; p++) {
		if (m.cur.fds[p] != -1) {
			sock_unlink(&m.cur.conf->pools[p], m.cur.fds[p]);
			close(m.cur.fds[p]);
		}
		sb_destroy(m.cur.pools[p].sb);
	}
	free(m.cur.pools);
	free(m.cur.fds);
	status_srv_close(m.status);
	*confp = m.cur.conf;
	log_notice("master: stopped");
	free(m.pfd);
	free(m.pfd_slot);
	slot_table_free(&m.slots);
	return m.exit_code;
}
