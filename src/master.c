/*
 * The master: one thread, one poll() loop, deadlines instead of sleeps.  It
 * owns the config, the listen sockets and the worker table; it forks
 * workers, reaps them, restarts them with back-off, and stops them.  It
 * never handles a request, never loads a module, and never acts on what a
 * worker sends without checking it.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
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

enum stop_phase {
	PHASE_ASKED,		/* channel message sent */
	PHASE_TERM,		/* SIGTERM sent */
	PHASE_KILL		/* SIGKILL sent */
};

struct master {
	struct conf		*conf;
	const int		*listen_fds;
	struct slot_table	 slots;
	int			 ready_fd;	/* tells the parent we run */
	bool			 started;
	int64_t			 start_deadline;
	enum master_stop	 stop;
	enum stop_phase		 phase;
	int64_t			 stop_deadline;
	int			 exit_code;
	struct pollfd		*pfd;
	struct slot		**pfd_slot;
};

static void	master_begin_stop(struct master *, enum master_stop);

static const char *
pool_name(const struct master *m, const struct slot *s)
{
	return m->conf->pools[s->pool].name;
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
	if (m->ready_fd != -1) {
		(void)write(m->ready_fd, "1", 1);
		m->ready_fd = -1;
	}
}

static void
spawn_due(struct master *m, int64_t now)
{
	size_t	 i;
	pid_t	 pid;
	int	 chan;

	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state != SLOT_WAITING || s->due_ms > now)
			continue;
		pid = proc_spawn_worker(m->conf, s->pool,
		    m->listen_fds[s->pool], &chan);
		if (pid == -1) {
			/* Try again later, as if it had died before ready. */
			s->started_ms = now;
			(void)slot_exited(s, true, now);
			continue;
		}
		slot_started(s, pid, chan, now);
		log_info("pool %s: started worker %ld", pool_name(m, s),
		    (long)pid);
	}
}

static void
reap_one(struct master *m, pid_t pid, int status, int64_t now)
{
	struct slot	*s;
	char		 how[128];
	bool		 abnormal, looping, was_ready;
	size_t		 pool;

	if ((s = slot_by_pid(&m->slots, pid)) == NULL)
		return;		/* not a worker of ours */
	proc_describe_status(status, how, sizeof(how));
	abnormal = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	if (s->stopping || !abnormal)
		log_info("pool %s: worker %ld %s", pool_name(m, s),
		    (long)pid, how);
	else
		log_warnx("pool %s: worker %ld %s", pool_name(m, s),
		    (long)pid, how);
	if (s->chan != -1)
		close(s->chan);
	pool = s->pool;
	was_ready = s->ready;
	looping = slot_exited(s, abnormal, now);
	if (m->stop != STOP_NONE) {
		s->state = SLOT_EMPTY;
		return;
	}
	if (!m->started && !was_ready) {
		log_warnx("pool %s: worker failed during startup; stopping",
		    m->conf->pools[pool].name);
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
		    "retrying in %lld ms", m->conf->pools[pool].name,
		    (long long)(s->due_ms - now));
	else if (looping)
		log_warnx("pool %s: workers keep dying right after start "
		    "(%u times within %d s); restarting with back-off, next "
		    "in %lld ms", m->conf->pools[pool].name, s->early_deaths,
		    SLOT_LOOP_WINDOW_MS / 1000, (long long)(s->due_ms - now));
	else if (s->backoff_ms > 0)
		log_notice("pool %s: restarting worker in %lld ms",
		    m->conf->pools[pool].name, (long long)(s->due_ms - now));
}

static void
master_reap(struct master *m)
{
	pid_t	 pid;
	int	 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		reap_one(m, pid, status, clock_ms());
	}
}

static void
send_all(struct master *m, enum chan_type type)
{
	size_t	 i;

	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].state == SLOT_RUNNING &&
		    m->slots.v[i].chan != -1)
			(void)chan_send(m->slots.v[i].chan, type, NULL, 0);
}

static void
kill_all(struct master *m, int signo)
{
	size_t	 i;

	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].state == SLOT_RUNNING)
			(void)kill(m->slots.v[i].pid, signo);
}

/*
 * Start stopping: graceful asks workers to finish what they have (QUIT),
 * now asks them to exit at once (TERM, INT).  Escalation to SIGTERM and
 * SIGKILL follows from master_stop_step.  A fast stop overrides a graceful
 * one in progress, never the reverse.
 */
static void
master_begin_stop(struct master *m, enum master_stop how)
{
	int64_t	 now = clock_ms();
	size_t	 i;

	if (m->stop == STOP_NOW || m->stop == how)
		return;
	m->stop = how;
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state == SLOT_RUNNING)
			s->stopping = true;
		else
			s->state = SLOT_EMPTY;
	}
	if (how == STOP_GRACEFUL) {
		log_notice("master: graceful stop: workers finish their "
		    "requests (up to %d s)", m->conf->graceful_timeout);
		send_all(m, CHAN_STOP_GRACEFUL);
		m->phase = PHASE_ASKED;
		m->stop_deadline = now + m->conf->graceful_timeout * 1000LL;
	} else {
		log_notice("master: stopping now");
		send_all(m, CHAN_STOP_NOW);
		kill_all(m, SIGTERM);
		m->phase = PHASE_TERM;
		m->stop_deadline = now + m->conf->kill_timeout * 1000LL;
	}
}

static void
master_stop_step(struct master *m, int64_t now)
{
	if (now < m->stop_deadline || slot_count_live(&m->slots) == 0)
		return;
	if (m->phase == PHASE_ASKED) {
		log_warnx("master: graceful_timeout passed; sending SIGTERM to "
		    "%zu workers", slot_count_live(&m->slots));
		kill_all(m, SIGTERM);
		m->phase = PHASE_TERM;
		m->stop_deadline = now + m->conf->kill_timeout * 1000LL;
	} else {
		log_warnx("master: kill_timeout passed; sending SIGKILL to "
		    "%zu workers", slot_count_live(&m->slots));
		kill_all(m, SIGKILL);
		m->phase = PHASE_KILL;
		m->stop_deadline = now + 1000;
	}
}

/* Act on one message from a worker; the slot says who sent it. */
static void
chan_dispatch_one(struct master *m, struct slot *s)
{
	struct chan_msg	 msg;
	bool		 eof;

	if (chan_recv(s->chan, &msg, &eof) == -1) {
		if (eof) {
			/* The process is dying; SIGCHLD will follow. */
			close(s->chan);
			s->chan = -1;
		}
		return;
	}
	switch (msg.type) {
	case CHAN_READY:
		if (msg.len != 0)
			break;
		s->ready = true;
		log_debug("pool %s: worker %ld ready", pool_name(m, s),
		    (long)s->pid);
		return;
	default:
		break;
	}
	log_warnx("pool %s: worker %ld sent an unexpected message (type %u, "
	    "%u bytes); ignored", pool_name(m, s), (long)s->pid, msg.type,
	    msg.len);
}

static nfds_t
build_pollset(struct master *m)
{
	nfds_t	 n = 0;
	size_t	 i;

	m->pfd[n].fd = sig_fd();
	m->pfd[n].events = POLLIN;
	m->pfd_slot[n++] = NULL;
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->state != SLOT_RUNNING || s->chan == -1)
			continue;
		m->pfd[n].fd = s->chan;
		m->pfd[n].events = POLLIN;
		m->pfd_slot[n++] = s;
	}
	return n;
}

static int
next_timeout(struct master *m, int64_t now)
{
	int64_t	 ms, start;

	if (m->stop != STOP_NONE)
		ms = m->stop_deadline - now;
	else {
		ms = slot_next_deadline(&m->slots, now);
		if (!m->started) {
			/* Clamped first: -1 means no deadline at all. */
			start = m->start_deadline - now;
			if (start < 0)
				start = 0;
			if (ms == -1 || start < ms)
				ms = start;
		}
		if (ms == -1)
			return -1;
	}
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
		/* XXX reload lands with the process-manager work. */
		log_notice("master: SIGHUP: reload is not supported yet; "
		    "ignored");
	if (mask & SIG_BIT(SIGUSR1)) {
		/* Logged after the reopen: it starts the new file. */
		if (log_reopen() == 0)
			log_notice("master: SIGUSR1: reopened the log file");
		send_all(m, CHAN_REOPEN_LOG);
	}
}

/*
 * Run the pools until stopped.  listen_fds holds one open socket per pool.
 * ready_fd, when not -1, gets one byte once every pool started; the caller
 * closes it, after cleaning up, so a waiting parent learns of a failed
 * start only when nothing is left behind.  Returns the process exit code:
 * 0 after a requested stop, 1 when a pool failed to start.
 */
int
master_run(struct conf *conf, int *listen_fds, int ready_fd)
{
	struct master	 m;
	uint32_t	 mask;
	nfds_t		 n, i;
	int64_t		 now;
	size_t		 p;

	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.listen_fds = listen_fds;
	m.ready_fd = ready_fd;
	m.stop = STOP_NONE;
	m.start_deadline = clock_ms() + conf->start_timeout * 1000LL;
	slot_table_init(&m.slots, conf);
	m.pfd = xcalloc(m.slots.n + 1, sizeof(*m.pfd));
	m.pfd_slot = xcalloc(m.slots.n + 1, sizeof(*m.pfd_slot));

	for (;;) {
		now = clock_ms();
		if (m.stop == STOP_NONE)
			spawn_due(&m, now);
		n = build_pollset(&m);
		if (poll(m.pfd, n, next_timeout(&m, now)) == -1 &&
		    errno != EINTR)
			fatal("master: poll");
		mask = sig_drain();
		for (i = 1; i < n; i++)
			if (m.pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				chan_dispatch_one(&m, m.pfd_slot[i]);
		if (mask & SIG_BIT(SIGCHLD))
			master_reap(&m);
		handle_signals(&m, mask);
		now = clock_ms();
		if (m.stop != STOP_NONE) {
			if (slot_count_live(&m.slots) == 0)
				break;
			master_stop_step(&m, now);
		} else if (!m.started) {
			notify_started(&m);
			if (!m.started && now >= m.start_deadline) {
				log_warnx("master: workers not ready after "
				    "start_timeout (%d s); stopping",
				    conf->start_timeout);
				m.exit_code = 1;
				master_begin_stop(&m, STOP_NOW);
			}
		}
	}

	for (p = 0; p < conf->npools; p++) {
		close(listen_fds[p]);
		sock_unlink(&conf->pools[p]);
	}
	log_notice("master: stopped");
	free(m.pfd);
	free(m.pfd_slot);
	slot_table_free(&m.slots);
	return m.exit_code;
}
