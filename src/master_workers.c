/*
 * The workers, as the master acts on them: every event of a slot goes
 * through master_slot_do, which asks supervisor.c where the slot goes and
 * does what that takes (fork, a channel message, a signal); the deadline
 * step, the reaping of exited workers and of what they left behind, a
 * worker's replacement (max_requests, a stuck request) and the messages
 * workers send.  Nothing a worker sends is acted on unchecked.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pooled.h"
#include "master.h"

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
enum sup_action
master_slot_do(struct master *m, struct slot *s, enum sup_event ev,
    int64_t now)
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
		(void)master_slot_do(m, s, SUP_EV_DROP, now);
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
		(void)master_slot_do(m, s, SUP_EV_POSTPONE, now);
		return;
	}
	ws.access_fd = g->pools[s->pool].access_fd;
	ws.drop = all_scoreboards(m);
	pid = proc_spawn_worker(&ws, &chan, &out);
	free(ws.drop);
	if (pid == -1) {
		sb_row_free(ws.sb, ws.row);
		(void)master_slot_do(m, s, SUP_EV_SPAWN_FAILED, now);
		return;
	}
	sb_row_start(ws.sb, ws.row, pid, g->id, now);
	s->pid = pid;
	s->chan = chan;
	s->sb = ws.sb;
	s->row = ws.row;
	if (out != -1)
		s->out = wout_open(out, s->name, pid);
	(void)master_slot_do(m, s, SUP_EV_SPAWNED, now);
	log_info("pool %s: started worker %ld", s->name, (long)pid);
}

/*
 * Every slot whose deadline passed: start what is due, kill what is not
 * ready in time, escalate the stops.  One line for the escalations.
 */
void
master_deadlines(struct master *m, int64_t now)
{
	enum sup_state	 was;
	enum sup_action	 a;
	size_t		 i, term = 0, killed = 0;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->deadline > now)
			continue;
		was = s->state;
		a = master_slot_do(m, s, SUP_EV_DEADLINE, now);
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
void
master_add_slots(struct master *m, const struct generation *g, size_t i,
    int n, int64_t now)
{
	struct slot	*s;

	while (n-- > 0) {
		s = slot_add(&m->slots, i, g->id, now);
		snprintf(s->name, sizeof(s->name), "%s",
		    g->conf->pools[i].name);
	}
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
	(void)master_slot_do(m, s, abnormal ? SUP_EV_CRASHED : SUP_EV_EXITED,
	    now);
	if (s->state == SUP_REAPED)
		return;		/* stopped or replaced: expected */
	if (m->next.state == GEN_LOADING && s->gen == m->next.id &&
	    !served) {
		static char	 why[256];

		snprintf(why, sizeof(why), "pool %s: a new worker %s before "
		    "it was ready", s->name, how);
		m->next_failed = why;
		(void)master_slot_do(m, s, SUP_EV_DROP, now);
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
void
master_sweep(struct master *m)
{
	size_t	 n;

	if ((n = reaper_kill_children(m->procfd, getpid(), is_worker, m)) > 0)
		log_notice("master: killed %zu processes that workers left "
		    "behind", n);
}

/* Reap every exited worker (SIGCHLD), then what the dead ones left. */
void
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
void
master_send_log(struct master *m)
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
void
master_send_access_logs(struct master *m)
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
	(void)master_slot_do(m, s, SUP_EV_REPLACE, clock_ms());
	memcpy(name, s->name, sizeof(name));
	r = slot_add(&m->slots, pool, gen, due);  /* s is invalid from here */
	r->replaces = pid;
	memcpy(r->name, name, sizeof(r->name));
	gen_count_restart(&m->cur, pool, cause);
	log_notice("pool %s: replacing worker %ld: %s", name, (long)pid, why);
}

/* A worker is ready; if it replaces one, that one may go now. */
static void
ready(struct master *m, struct slot *s)
{
	struct slot	*old;
	uint32_t	 reason;
	int64_t		 now = clock_ms();

	if (master_slot_do(m, s, SUP_EV_READY, now) == SUP_ACT_ILLEGAL)
		return;
	log_debug("pool %s: worker %ld ready", s->name, (long)s->pid);
	/* The one it replaces, if that pid is still the replacing worker. */
	if (s->replaces > 0 &&
	    (old = slot_by_pid(&m->slots, s->replaces)) != NULL &&
	    old->state == SUP_REPLACING) {
		log_info("pool %s: worker %ld replaces worker %ld, which "
		    "finishes its requests", s->name, (long)s->pid,
		    (long)s->replaces);
		(void)master_slot_do(m, old, SUP_EV_DRAIN, now);
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
void
master_retire_kept(struct master *m)
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
	(void)master_slot_do(m, s, SUP_EV_KILL, clock_ms());
	close(s->chan);
	s->chan = -1;
}

/* Act on one message from a worker; the slot says who sent it. */
void
master_chan_dispatch(struct master *m, size_t idx)
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
