/*
 * The master: one thread, one poll() loop, deadlines instead of sleeps.  It
 * owns the config, the listen sockets and the worker table; it forks
 * workers, reaps them, restarts them with back-off, replaces them, reloads
 * the config, and stops them.  It never handles a request, never loads a
 * module, and never acts on what a worker sends without checking it.
 *
 * Its parts: a worker's lifecycle (supervisor.c decides, master_workers.c
 * acts), a generation's (generation.c holds one, master_reload.c runs
 * reloads), pool sizing (pm.c decides, master_pm.c acts).  This file keeps
 * the loop, the signals, the stop and the status answers; each pass of
 * the loop runs every step once, then waits for the next deadline.
 */
#include "config.h"

#include <sys/prctl.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"
#include "master.h"

/*
 * Start stopping: graceful asks workers to finish what they have (QUIT),
 * now asks them to exit at once (TERM, INT).  Escalation to SIGTERM and
 * SIGKILL follows at each slot's deadline.  A fast stop overrides a
 * graceful one in progress, never the reverse.  A reload in progress is
 * dropped.
 */
void
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
		(void)master_slot_do(m, &m->slots.v[i], how == STOP_GRACEFUL ?
		    SUP_EV_DRAIN_CLOSING : SUP_EV_TERMINATE, now);
	if (m->next.state != GEN_NONE)
		master_release_gen(m, &m->next, &m->cur);
	/*
	 * Let go of the listen sockets now, not after the last worker: the
	 * workers let go of theirs as they begin to stop, and then the
	 * kernel refuses new connections at once (a unix socket's file goes
	 * first), so the web server tries elsewhere rather than waiting in a
	 * backlog nobody serves.
	 */
	gen_close_listeners(&m->cur);
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
		master_send_log(m);
		master_send_access_logs(m);
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
		master_add_slots(&m, &m.cur, p,
		    gen_start_size(&m.cur.conf->pools[p], NULL, NULL), now);
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
			master_generation_step(&m, now);
		if (m.stop == STOP_NONE && m.cur.state == GEN_SERVING) {
			if (m.want_reload)
				master_reload(&m, now);
			if (now >= m.pm_due)
				master_pm_step(&m, now);
			sd_notify_reload_settled(m.next.state == GEN_LOADING,
			    slot_count_live(&m.slots));
			sd_status_step(&m, now);
		}
		master_deadlines(&m, now);
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
				master_chan_dispatch(&m, m.pfd_slot[i]);
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
