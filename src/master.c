/*
 * The master: one thread, one poll() loop, deadlines instead of sleeps.  It
 * owns the config, the listen sockets and the worker table; it forks
 * workers, reaps them, restarts them with back-off, replaces them, reloads
 * the config, and stops them.  It never handles a request, never loads a
 * module, and never acts on what a worker sends without checking it.
 *
 * Two lifecycles live in their own files: a worker's, as the master sees
 * it (supervisor.c: every slot's state, event and deadline), and a
 * generation's (generation.c: a config with its sockets and scoreboards).
 * This file keeps the loop, the signals, and what ties the two together:
 * a reload (HUP) loads a new generation beside the one that serves; only
 * once every new worker is ready is it committed and are the old workers
 * asked to finish their requests and exit; if the config is invalid or a
 * new worker fails to start, the new generation is released and the old
 * one serves on, untouched.  A worker that asks to be replaced
 * (max_requests, a stuck request) is handled the same way on a small
 * scale: its replacement starts first, and it drains once that is ready.
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

struct master {
	struct generation	 cur;		/* serving; loading at start */
	struct generation	 next;		/* loading, after a HUP */
	uint32_t		 last_gen;	/* ids are never reused */
	const char		*next_failed;	/* why the reload failed */
	bool			 want_reload;
	bool			 reload_deferred_logged;
	struct slot_table	 slots;
	int			 ready_fd;	/* tells the parent we run */
	enum master_stop	 stop;
	int			 exit_code;
	struct pollfd		*pfd;
	size_t			*pfd_slot;	/* index into slots, per pfd */
	size_t			 pfd_cap;
	int64_t			 pm_due;	/* next pm tick */
	int64_t			 no_row_logged;	/* "no free row", at most */
	struct status_srv	*status;	/* status_listen, or NULL */
	char			 last_reload[256];
	int			 procfd;	/* /proc, for reaper.c */
};

/* pfd_slot of a pool's listen socket: PFD_POOL + pool index. */
#define PFD_POOL	((size_t)1 << 40)
/* pfd_slot of a status_listen descriptor. */
#define PFD_STATUS	((size_t)1 << 41)
/* pfd_slot of a worker's output (catch_workers_output): PFD_OUT + slot. */
#define PFD_OUT		((size_t)1 << 42)

static void	master_begin_stop(struct master *, enum master_stop);
static void	retire_kept(struct master *);
static void	spawn(struct master *, struct slot *, int64_t);

/* The generation a slot belongs to, or NULL when it is gone. */
static struct generation *
gen_of(struct master *m, const struct slot *s)
{
	if (m->cur.state != GEN_NONE && s->gen == m->cur.id)
		return &m->cur;
	if (m->next.state != GEN_NONE && s->gen == m->next.id)
		return &m->next;
	return NULL;
}

/*
 * The timeouts that set a slot's deadlines: the serving config's, except
 * that the workers of a loading generation are ready by its deadline.
 */
static struct sup_times
times_of(struct master *m, const struct slot *s, int64_t now)
{
	const struct conf	*c = m->cur.conf;
	const struct generation	*g = gen_of(m, s);
	struct sup_times	 t;

	t.start_ms = c->start_timeout * 1000LL;
	t.graceful_ms = c->graceful_timeout * 1000LL;
	t.kill_ms = c->kill_timeout * 1000LL;
	if (g != NULL && g->state == GEN_LOADING)
		t.start_ms = g->deadline > now ? g->deadline - now : 0;
	return t;
}

/*
 * Move slot s by event ev (supervisor.c decides how) and do what that
 * asks: the only place the master signals or stops a worker.
 */
static enum sup_action
slot_do(struct master *m, struct slot *s, enum sup_event ev, int64_t now)
{
	struct sup_times	 t = times_of(m, s, now);
	enum sup_state		 was = s->state;
	enum sup_action		 a;
	uint32_t		 flags = 0;

	switch ((a = sup_step(s, ev, now, &t))) {
	case SUP_ACT_ILLEGAL:
		log_warnx("pool %s: worker %ld: \"%s\" while %s; ignored",
		    s->name, (long)s->pid, sup_event_name(ev),
		    sup_state_name(was));
		break;
	case SUP_ACT_SPAWN:
		spawn(m, s, now);
		break;
	case SUP_ACT_ASK_DRAIN_CLOSING:
		flags = CHAN_STOP_CLOSING;
		/* FALLTHROUGH */
	case SUP_ACT_ASK_DRAIN:
		if (s->chan != -1)
			(void)chan_send(s->chan, CHAN_STOP_GRACEFUL, &flags,
			    sizeof(flags));
		break;
	case SUP_ACT_TERM:
		if (s->chan != -1)
			(void)chan_send(s->chan, CHAN_STOP_NOW, NULL, 0);
		(void)kill(s->pid, SIGTERM);
		break;
	case SUP_ACT_TERM_LATE:
		/*
		 * Only the signal: a worker past graceful_timeout may have a
		 * thread stuck in its handler, and dies of SIGTERM as it is.
		 */
		(void)kill(s->pid, SIGTERM);
		break;
	case SUP_ACT_KILL_LATE:
		s->kill_cause = RESTART_START_TIMEOUT;
		log_warnx("pool %s: worker %ld not ready after start_timeout "
		    "(%d s); killing it", s->name, (long)s->pid,
		    m->cur.conf->start_timeout);
		/* FALLTHROUGH */
	case SUP_ACT_KILL:
		(void)kill(s->pid, SIGKILL);
		break;
	case SUP_ACT_WARN_LATE:
		log_warnx("pool %s: the replacement of worker %ld is not ready "
		    "after start_timeout (%d s); it serves on meanwhile",
		    s->name, (long)s->pid, m->cur.conf->start_timeout);
		break;
	case SUP_ACT_NONE:
		break;
	}
	return a;
}

/*
 * The scoreboards a new worker must not keep: every one the master has
 * (the child unmaps all but its own).  NULL-ended, malloc'd.
 */
static struct scoreboard **
all_scoreboards(struct master *m)
{
	struct scoreboard	**v;
	size_t			 n = 0;

	v = xcalloc(gen_nscoreboards(&m->cur) + gen_nscoreboards(&m->next) + 1,
	    sizeof(*v));
	gen_scoreboards(&m->cur, v, &n);
	gen_scoreboards(&m->next, v, &n);
	return v;
}

/*
 * Fork the worker of slot s.  Without a free scoreboard row (every one is
 * held by workers still finishing their requests) the start waits: a
 * worker without a row would be invisible to pm and to status, and rows
 * bound how many processes a pool can hold.
 */
static void
spawn(struct master *m, struct slot *s, int64_t now)
{
	struct generation	*g;
	struct worker_spec	 ws;
	pid_t			 pid;
	int			 chan, out;

	if ((g = gen_of(m, s)) == NULL) {
		(void)slot_do(m, s, SUP_EV_DROP, now);
		return;
	}
	memset(&ws, 0, sizeof(ws));
	ws.conf = g->conf;
	ws.pool = s->pool;
	ws.gen = g->id;
	ws.listen_fd = g->fds[s->pool];
	ws.sb = g->pools[s->pool].sb;
	ws.row = sb_row_claim(ws.sb);
	if (ws.sb != NULL && ws.row == -1) {
		if (now - m->no_row_logged >= MASTER_MAX_LOG_MS) {
			log_warnx("pool %s: every status row is held by "
			    "workers still finishing; the next start waits "
			    "for one to exit", s->name);
			m->no_row_logged = now;
		}
		(void)slot_do(m, s, SUP_EV_POSTPONE, now);
		return;
	}
	ws.access_fd = g->pools[s->pool].access_fd;
	ws.drop = all_scoreboards(m);
	pid = proc_spawn_worker(&ws, &chan, &out);
	free(ws.drop);
	if (pid == -1) {
		sb_row_free(ws.sb, ws.row);
		(void)slot_do(m, s, SUP_EV_SPAWN_FAILED, now);
		return;
	}
	sb_row_start(ws.sb, ws.row, pid, g->id, now);
	s->pid = pid;
	s->chan = chan;
	s->sb = ws.sb;
	s->row = ws.row;
	if (out != -1)
		s->out = wout_open(out, s->name, pid);
	(void)slot_do(m, s, SUP_EV_SPAWNED, now);
	log_info("pool %s: started worker %ld", s->name, (long)pid);
}

/*
 * Every slot whose deadline passed: start what is due, kill what is not
 * ready in time, escalate the stops.  One line for the escalations.
 */
static void
deadline_step(struct master *m, int64_t now)
{
	enum sup_state	 was;
	enum sup_action	 a;
	size_t		 i, term = 0, killed = 0;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->deadline > now)
			continue;
		was = s->state;
		a = slot_do(m, s, SUP_EV_DEADLINE, now);
		if (a == SUP_ACT_TERM_LATE)
			term++;
		else if (a == SUP_ACT_KILL && was == SUP_TERMINATING)
			killed++;
	}
	if (term > 0)
		log_warnx("master: graceful_timeout passed; sending SIGTERM "
		    "to %zu workers", term);
	if (killed > 0)
		log_warnx("master: kill_timeout passed; sending SIGKILL to "
		    "%zu workers", killed);
}

/* Add n slots for pool i of generation g, due at once. */
static void
add_slots(struct master *m, const struct generation *g, size_t i, int n,
    int64_t now)
{
	struct slot	*s;

	while (n-- > 0) {
		s = slot_add(&m->slots, i, g->id, now);
		snprintf(s->name, sizeof(s->name), "%s",
		    g->conf->pools[i].name);
	}
}

/* Whether a worker of generation id is still on its way to ready. */
static bool
gen_starting(const struct master *m, uint32_t id)
{
	size_t	 i;

	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == id &&
		    (m->slots.v[i].state == SUP_WAITING ||
		    m->slots.v[i].state == SUP_SPAWNED))
			return true;
	return false;
}

/*
 * The master lets go of generation g (its workers keep their own
 * mappings), keeping what keep shares.
 */
static void
release_gen(struct master *m, struct generation *g,
    const struct generation *keep)
{
	size_t	 i;

	/* Scoreboards keep took over stay: their rows count on. */
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == g->id && (keep == NULL ||
		    !gen_has_sb(keep, m->slots.v[i].sb))) {
			m->slots.v[i].sb = NULL;
			m->slots.v[i].row = -1;
		}
	gen_release(g, keep);
}

/* Drop a generation that failed to start; the serving one stays. */
static void
reload_abort(struct master *m, const char *why, int64_t now)
{
	size_t	 i;

	log_warnx("master: reload failed: %s; still serving generation %u "
	    "with the old configuration", why, m->cur.id);
	snprintf(m->last_reload, sizeof(m->last_reload), "failed: %s", why);
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->next.id)
			(void)slot_do(m, &m->slots.v[i], SUP_EV_TERMINATE, now);
	release_gen(m, &m->next, &m->cur);
	m->next_failed = NULL;
}

/* Every new worker is ready: it serves, the old workers finish. */
static void
reload_commit(struct master *m, int64_t now)
{
	struct generation	 old = m->cur;
	size_t			 i, n = 0;

	m->cur = m->next;
	memset(&m->next, 0, sizeof(m->next));
	gen_commit(&m->cur, &old);
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->gen != old.id)
			continue;
		if (sup_has_process(s))
			n++;
		/* A pool the reload removed: its socket closes. */
		(void)slot_do(m, s, gen_keeps(&m->cur, &old, s->pool) ?
		    SUP_EV_DRAIN : SUP_EV_DRAIN_CLOSING, now);
	}
	release_gen(m, &old, &m->cur);
	log_set_level(m->cur.conf->log_level);
	log_notice("master: reload done: generation %u serves; %zu old "
	    "workers finish their requests", m->cur.id, n);
	snprintf(m->last_reload, sizeof(m->last_reload), "done: generation "
	    "%u", m->cur.id);
}

/*
 * HUP: read the config again; if valid, open what sockets it adds and
 * start its workers as the next generation.
 */
static void
master_reload(struct master *m, int64_t now)
{
	const char	*why;
	unsigned int	*running;
	size_t		 i;

	if (m->next.state != GEN_NONE) {
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
	/*
	 * A new id even after an aborted reload: the workers of that one
	 * may still be on their way out, and must not pass for this one's.
	 * A load that fails started none, and leaves its id unused.
	 */
	if (gen_load(&m->next, m->last_gen + 1, m->cur.conf->path, &m->cur,
	    now, &why) == -1) {
		log_warnx("master: reload: %s; still serving the old "
		    "configuration", why);
		snprintf(m->last_reload, sizeof(m->last_reload), "failed: %s",
		    why);
		return;
	}
	m->last_gen++;
	running = xcalloc(m->cur.conf->npools, sizeof(*running));
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->cur.id &&
		    sup_staying(&m->slots.v[i]))
			running[m->slots.v[i].pool]++;
	for (i = 0; i < m->next.conf->npools; i++)
		add_slots(m, &m->next, i, gen_start_size(
		    &m->next.conf->pools[i], &m->cur, running), now);
	free(running);
	log_notice("master: reload: starting generation %u (%zu pools)",
	    m->next.id, m->next.conf->npools);
}

/*
 * A loading generation's end: the first one serves once every worker is
 * ready (or pooled stops, past start_timeout); a reload's commits, or is
 * dropped when a new worker failed or start_timeout passed.
 */
static void
generation_step(struct master *m, int64_t now)
{
	if (m->cur.state == GEN_LOADING) {
		if (!gen_starting(m, m->cur.id)) {
			gen_commit(&m->cur, NULL);
			log_notice("master: all pools started (%zu workers)",
			    slot_count_live(&m->slots));
			sd_notify_ready(slot_count_live(&m->slots));
			if (m->ready_fd != -1) {
				(void)write(m->ready_fd, "1", 1);
				m->ready_fd = -1;
			}
		} else if (now >= m->cur.deadline) {
			log_warnx("master: workers not ready after "
			    "start_timeout (%d s); stopping",
			    m->cur.conf->start_timeout);
			m->exit_code = 1;
			master_begin_stop(m, STOP_NOW);
		}
		return;
	}
	if (m->next.state != GEN_LOADING)
		return;
	if (m->next_failed != NULL)
		reload_abort(m, m->next_failed, now);
	else if (!gen_starting(m, m->next.id))
		reload_commit(m, now);
	else if (now >= m->next.deadline)
		reload_abort(m, "the new workers were not ready within "
		    "start_timeout", now);
	else
		return;
	retire_kept(m);
}

static void
reap_one(struct master *m, pid_t pid, int status, int64_t now)
{
	enum restart_cause	 cause;
	struct slot		*s;
	char			 how[128];
	bool			 abnormal, served;

	if ((s = slot_by_pid(&m->slots, pid)) == NULL)
		return;		/* not a worker of ours */
	proc_describe_status(status, how, sizeof(how));
	/* Its last words first, then how it ended. */
	wout_close(s->out, now);
	s->out = NULL;
	abnormal = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	crash_report(!s->respawn || !abnormal ? POOLED_LOG_INFO :
	    POOLED_LOG_ERROR, s->name, pid, how,
	    WIFSIGNALED(status) ? s->sb : NULL, s->row, now);
	if (s->chan != -1)
		close(s->chan);
	s->chan = -1;
	cause = !abnormal || !s->respawn ? RESTART_NONE :
	    s->kill_cause != RESTART_NONE ?
	    (enum restart_cause)s->kill_cause : RESTART_CRASH;
	/* Its row, of the serving generation or one being loaded. */
	if (!gen_row_retire(&m->cur, s->sb, s->row, cause, now))
		(void)gen_row_retire(&m->next, s->sb, s->row, cause, now);
	s->kill_cause = RESTART_NONE;
	s->sb = NULL;
	s->row = -1;
	served = s->served;
	(void)slot_do(m, s, abnormal ? SUP_EV_CRASHED : SUP_EV_EXITED, now);
	if (s->state == SUP_REAPED)
		return;		/* stopped or replaced: expected */
	if (m->next.state == GEN_LOADING && s->gen == m->next.id &&
	    !served) {
		static char	 why[256];

		snprintf(why, sizeof(why), "pool %s: a new worker %s before "
		    "it was ready", s->name, how);
		m->next_failed = why;
		(void)slot_do(m, s, SUP_EV_DROP, now);
		return;
	}
	if (m->cur.state == GEN_LOADING && !served) {
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
		    (long long)(s->deadline - now));
	else if (sup_looping(s))
		log_warnx("pool %s: workers keep dying right after start "
		    "(%u times within %d s); restarting with back-off, next "
		    "in %lld ms", s->name, s->early_deaths,
		    SLOT_LOOP_WINDOW_MS / 1000, (long long)(s->deadline - now));
	else if (s->backoff_ms > 0)
		log_notice("pool %s: restarting worker in %lld ms", s->name,
		    (long long)(s->deadline - now));
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
		if (sup_has_process(&m->slots.v[i]) &&
		    m->slots.v[i].chan != -1)
			(void)chan_send_fd(m->slots.v[i].chan, CHAN_REOPEN_LOG,
			    log_fd());
}

/*
 * Reopen each pool's access log file (USR1), in both generations, and
 * hand it to the pool's workers, which could not open it themselves.
 */
static void
send_access_logs(struct master *m)
{
	struct generation	*gens[2] = { &m->cur, &m->next }, *g;
	struct slot		*s;
	size_t			 i, p;

	for (i = 0; i < 2; i++)
		for (p = 0; gens[i]->state != GEN_NONE &&
		    p < gens[i]->conf->npools; p++)
			(void)access_log_reopen(&gens[i]->conf->pools[p],
			    gens[i]->pools[p].access_fd);
	for (i = 0; i < m->slots.n; i++) {
		s = &m->slots.v[i];
		if (!sup_has_process(s) || s->chan == -1 ||
		    (g = gen_of(m, s)) == NULL ||
		    !access_log_is_file(&g->conf->pools[s->pool]) ||
		    g->pools[s->pool].access_fd == -1)
			continue;
		(void)chan_send_fd(s->chan, CHAN_REOPEN_ACCESS_LOG,
		    g->pools[s->pool].access_fd);
	}
}

/*
 * Start stopping: graceful asks workers to finish what they have (QUIT),
 * now asks them to exit at once (TERM, INT).  Escalation to SIGTERM and
 * SIGKILL follows at each slot's deadline.  A fast stop overrides a
 * graceful one in progress, never the reverse.  A reload in progress is
 * dropped.
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
	/* Nobody else will serve a backlog: each worker serves its own. */
	for (i = 0; i < m->slots.n; i++)
		(void)slot_do(m, &m->slots.v[i], how == STOP_GRACEFUL ?
		    SUP_EV_DRAIN_CLOSING : SUP_EV_TERMINATE, now);
	if (m->next.state != GEN_NONE)
		release_gen(m, &m->next, &m->cur);
	/*
	 * Let go of the listen sockets now, not after the last worker: the
	 * workers let go of theirs as they begin to stop, and then the
	 * kernel refuses new connections at once (a unix socket's file goes
	 * first), so the web server tries elsewhere rather than waiting in a
	 * backlog nobody serves.
	 */
	gen_close_listeners(&m->cur);
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
	enum restart_cause cause;
	pid_t		 pid = s->pid;
	size_t		 pool = s->pool;
	uint32_t	 gen = s->gen;
	int64_t		 due = s->started_ms + SLOT_MIN_INTERVAL_MS;
	char		 name[sizeof(s->name)];

	switch (reason) {
	case RETIRE_MAX_REQUESTS:
		why = "it served max_requests";
		cause = RESTART_MAX_REQUESTS;
		break;
	case RETIRE_STUCK:
		why = "a request outlived request_timeout";
		cause = RESTART_STUCK;
		break;
	case RETIRE_LISTEN:
		why = "it could not watch its listen socket";
		cause = RESTART_LISTEN;
		break;
	default:
		log_warnx("pool %s: worker %ld asked to be replaced for an "
		    "unknown reason %u; ignored", s->name, (long)pid, reason);
		return;
	}
	if (s->state == SUP_SPAWNED) {
		s->retire_pending = reason;	/* see ready() */
		return;
	}
	/* Stopping or replaced anyway: no need. */
	if (s->state != SUP_READY || m->stop != STOP_NONE)
		return;
	/*
	 * A reload is in flight: which generation serves on is not known
	 * yet.  The worker asks only once, so the master keeps the request
	 * and acts on it when the reload commits or aborts (retire_kept).
	 */
	if (m->next.state != GEN_NONE) {
		s->retire_pending = reason;
		return;
	}
	if (gen != m->cur.id)
		return;		/* of a generation being replaced */
	(void)slot_do(m, s, SUP_EV_REPLACE, clock_ms());
	memcpy(name, s->name, sizeof(name));
	r = slot_add(&m->slots, pool, gen, due);  /* s is invalid from here */
	r->replaces = pid;
	memcpy(r->name, name, sizeof(r->name));
	gen_count_restart(&m->cur, pool, cause);
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
		(void)slot_do(m, r, SUP_EV_DRAIN, now);
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

/* A worker is ready; if it replaces one, that one may go now. */
static void
ready(struct master *m, struct slot *s)
{
	struct slot	*old;
	uint32_t	 reason;
	int64_t		 now = clock_ms();

	if (slot_do(m, s, SUP_EV_READY, now) == SUP_ACT_ILLEGAL)
		return;
	log_debug("pool %s: worker %ld ready", s->name, (long)s->pid);
	/* The one it replaces, if that pid is still the replacing worker. */
	if (s->replaces > 0 &&
	    (old = slot_by_pid(&m->slots, s->replaces)) != NULL &&
	    old->state == SUP_REPLACING) {
		log_info("pool %s: worker %ld replaces worker %ld, which "
		    "finishes its requests", s->name, (long)s->pid,
		    (long)s->replaces);
		(void)slot_do(m, old, SUP_EV_DRAIN, now);
	}
	s->replaces = 0;
	/* It asked to be replaced before it was ready (max_requests). */
	if (s->retire_pending != 0 && s->state == SUP_READY) {
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

		if (s->gen != m->cur.id || s->state != SUP_READY ||
		    s->retire_pending == 0)
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
chan_violation(struct master *m, struct slot *s, const char *what)
{
	log_warnx("pool %s: worker %ld %s; killing it", s->name,
	    (long)s->pid, what);
	s->kill_cause = RESTART_PROTOCOL;
	/* Kill first: on the channel's end-of-file the worker exits 0. */
	(void)slot_do(m, s, SUP_EV_KILL, clock_ms());
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
			chan_violation(m, s, "sent a malformed message");
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
	chan_violation(m, s, what);
}

static nfds_t
build_pollset(struct master *m)
{
	nfds_t	 n = 0;
	size_t	 i;

	if (m->pfd_cap < 2 * m->slots.n + m->cur.conf->npools +
	    status_srv_maxfds() + 1) {
		m->pfd_cap = 2 * m->slots.n + m->cur.conf->npools +
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

		if (wout_fd(s->out) != -1) {
			m->pfd[n].fd = wout_fd(s->out);
			m->pfd[n].events = POLLIN;
			m->pfd_slot[n++] = PFD_OUT + i;
		}
		if (!sup_has_process(s) || s->chan == -1)
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

/* Until the loop must wake, in ms for poll: the earliest deadline. */
static int
next_timeout(struct master *m, int64_t now)
{
	int64_t	 ms, d;

	ms = slot_next_deadline(&m->slots, now);
	if (m->stop == STOP_NONE && m->cur.state == GEN_LOADING) {
		/* Clamped first: -1 means no deadline at all. */
		d = m->cur.deadline - now;
		ms = earlier(ms, d < 0 ? 0 : d);
	}
	if (m->next.state == GEN_LOADING) {
		d = m->next.deadline - now;
		ms = earlier(ms, d < 0 ? 0 : d);
	}
	ms = earlier(ms, status_srv_tick(m->status, now));
	if (m->stop == STOP_NONE && m->cur.state == GEN_SERVING) {
		d = m->pm_due - now;
		ms = earlier(ms, d < 0 ? 0 : d);
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
		send_access_logs(m);
	}
}

/*
 * status_listen's answer: the serving generation's pools, as the master
 * sees them (status_listen.c renders it).
 */
static char *
status_page(void *arg, const char *path, const char *query,
    const char *accept, int *status, const char **ctype, size_t *len)
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
	page = status_render_all(&src, path, query, accept, status, ctype,
	    len);
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
	now = clock_ms();
	m.last_gen = 1;
	gen_first(&m.cur, m.last_gen, *confp, listen_fds, now);
	m.ready_fd = ready_fd;
	m.stop = STOP_NONE;
	m.no_row_logged = INT64_MIN / 2;
	slot_table_init(&m.slots);
	for (p = 0; p < m.cur.conf->npools; p++)
		add_slots(&m, &m.cur, p, gen_start_size(&m.cur.conf->pools[p],
		    NULL, NULL), now);
	snprintf(m.last_reload, sizeof(m.last_reload), "none");
	if (status_srv_open(m.cur.conf, status_page, &m, &m.status) == -1) {
		log_warnx("master: cannot open status_listen; stopping");
		m.exit_code = 1;
		master_begin_stop(&m, STOP_NOW);
	} else if (gen_open_access_logs(&m.cur) == -1) {
		log_warnx("master: cannot open an access log; stopping");
		m.exit_code = 1;
		master_begin_stop(&m, STOP_NOW);
	}

	for (;;) {
		/*
		 * Every step, after every wake: a generation's end first (its
		 * deadline is its workers'), then what the signals asked,
		 * then each slot's deadline.
		 */
		now = clock_ms();
		if (m.stop == STOP_NONE)
			generation_step(&m, now);
		if (m.stop == STOP_NONE && m.cur.state == GEN_SERVING) {
			if (m.want_reload)
				master_reload(&m, now);
			if (now >= m.pm_due)
				pm_step(&m, now);
			sd_notify_reload_settled(m.next.state == GEN_LOADING,
			    slot_count_live(&m.slots));
			sd_status_step(&m, now);
		}
		deadline_step(&m, now);
		slot_table_compact(&m.slots);
		if (m.stop != STOP_NONE && slot_count_live(&m.slots) == 0)
			break;
		n = build_pollset(&m);
		if (poll(m.pfd, n, next_timeout(&m, clock_ms())) == -1 &&
		    errno != EINTR)
			fatal("master: poll");
		mask = sig_drain();
		for (i = 1; i < n; i++) {
			if ((m.pfd[i].revents & (POLLIN | POLLOUT | POLLHUP |
			    POLLERR)) == 0)
				continue;
			if (m.pfd_slot[i] >= PFD_OUT) {
				p = m.pfd_slot[i] - PFD_OUT;
				if (p < m.slots.n)
					(void)wout_read(m.slots.v[p].out,
					    clock_ms());
			} else if (m.pfd_slot[i] == PFD_STATUS)
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
	}

	/* No worker is left: neither may anything they started be. */
	master_sweep(&m);
	if (m.procfd != -1)
		close(m.procfd);
	status_srv_close(m.status);
	*confp = gen_release_conf(&m.cur);
	log_notice("master: stopped");
	free(m.pfd);
	free(m.pfd_slot);
	slot_table_free(&m.slots);
	return m.exit_code;
}
