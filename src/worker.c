/*
 * A worker process: its main thread is the control thread, which loads the
 * pool's handler, starts the acceptor threads, then listens to the master
 * on the channel and ticks four times a second for deadlines; it is also
 * the crew's watcher (crew.c), which looks more often while the worker
 * holds arrivals back.  Its life
 * (starting, serving, retiring, draining, exiting) is the state machine of
 * worker_life.c, which decides; this file acts.  A stop moves it to
 * draining and wakes all the acceptors at once through an eventfd in
 * their epoll set; each finishes the request in hand, says so on another
 * eventfd, and is joined.
 */
#include "config.h"

#include <sys/param.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

#define WORKER_TICK_MS	250

/*
 * Exit at once, taking the CGI programs along: in process groups of their
 * own, they would outlive the worker.  The counts of repeated lines still
 * in their window are written first (from the control thread, never a
 * signal handler).
 */
static void POOLED_NORETURN
worker_exit_now(int status)
{
	handler_cgi_kill_all();
	log_peer_flush(INT64_MAX);
	_exit(status);
}

/* SIGTERM: kill the CGI programs, then die of SIGTERM as before. */
static void
term_handler(int signo)
{
	handler_cgi_kill_all();
	signal(signo, SIG_DFL);
	raise(signo);
}

/*
 * Signals in a worker: the master talks over the channel, so terminal
 * signals (a ^C reaches the whole process group) are ignored; SIGTERM
 * ends the process at once, as the master's escalation expects, after
 * killing its CGI programs.  SIGUSR2 woke the acceptors once; nothing
 * sends it now, and a stray one stays as harmless as it was.  (CGI
 * programs start with every signal at its default: cgi_spawn.c.)
 */
static void
worker_signals(void)
{
	static const int	 ignored[] = {
		SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE
	};
	struct sigaction	 sa;
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = term_handler;
	sigaction(SIGTERM, &sa, NULL);
}

/* Publish the worker's resident set size on the scoreboard. */
static void
publish_rss(struct worker *w)
{
	unsigned long long	 size, resident;
	FILE			*f;

	if (w->sb == NULL || (f = fopen("/proc/self/statm", "re")) == NULL)
		return;
	if (fscanf(f, "%llu %llu", &size, &resident) == 2)
		sb_row_set_rss(w->sb, w->row, (uint64_t)resident *
		    (uint64_t)sysconf(_SC_PAGESIZE) / 1024);
	fclose(f);
}

/*
 * Once per tick: deadlines of parked connections and of requests, and
 * about once a second the RSS for the status page.
 */
static void
worker_tick(struct worker *w)
{
	static unsigned int	 ticks;
	int64_t			 now = clock_ms();
	size_t			 i;

	if (ticks++ % (1000 / WORKER_TICK_MS) == 0)
		publish_rss(w);
	park_tick(w->park, now);
	/*
	 * A worker that stopped took its listen event with it: connections
	 * left in the backlog wake nobody until the next arrival.  A leader
	 * waiting here means they are this worker's to take.
	 */
	if (crew_leading(w->crew) && !wlife_stopping(&w->life))
		worker_listen_rearm(w);
	acceptor_refused_flush(w, now);
	log_peer_flush(now);
	for (i = 0; i < w->nacceptors; i++)
		if (w->acceptors[i] != NULL)
			acceptor_check_deadline(w->acceptors[i], now);
}

/*
 * Read one message from the master.  Returns the message type, or 0 when
 * there is none; sets *gone when the master closed the channel.  A
 * graceful stop that says the pool's socket closes with this worker
 * (CHAN_STOP_CLOSING: nobody stays to take its backlog) is noted in its
 * lifecycle.
 */
static uint32_t
read_master(struct worker *w, bool *gone)
{
	struct chan_msg	 msg;
	uint32_t	 flags;
	bool		 eof;
	int		 fd;

	if (chan_recv_fd(w->chan_fd, &msg, &eof, &fd) == -1) {
		*gone = eof;
		return 0;
	}
	*gone = false;
	if (fd != -1 && msg.type != CHAN_REOPEN_LOG &&
	    msg.type != CHAN_REOPEN_ACCESS_LOG) {
		close(fd);
		fd = -1;
	}
	switch (msg.type) {
	case CHAN_REOPEN_LOG:
		if (fd != -1)
			(void)log_adopt(fd);
		return 0;
	case CHAN_REOPEN_ACCESS_LOG:
		if (fd != -1)
			(void)access_log_adopt(fd);
		return 0;
	case CHAN_STOP_GRACEFUL:
		flags = 0;
		if (msg.len == sizeof(flags))
			memcpy(&flags, msg.payload, sizeof(flags));
		if ((flags & CHAN_STOP_CLOSING) != 0)
			wlife_set_closing(&w->life);
		return msg.type;
	case CHAN_STOP_NOW:
		return msg.type;
	default:
		log_warnx("worker: unknown message type %u", msg.type);
		return 0;
	}
}

/*
 * Let go of the listen socket: once every process holding it has, the
 * kernel refuses new connections (ECONNREFUSED) and the web server tries
 * another upstream at once, where a socket left open would take them into
 * a backlog nobody serves.  The descriptor's number is filled with a
 * socket that does not listen, so an acceptor still on its way to
 * accept4 gets EINVAL rather than a connection reusing the number.
 */
static void
listen_release(struct worker *w)
{
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    dup3(fd, w->listen_fd, O_CLOEXEC) == -1)
		log_warn("worker: cannot let go of the listen socket");
	if (fd != -1)
		close(fd);
}

/*
 * Tell every acceptor at once that it may exit: the stop eventfd, level-
 * triggered in the epoll set, wakes each thread waiting there in turn
 * (epoll wakes the next waiter while an event stays ready), where a
 * signal to one thread at a time cost up to a tick a thread.  Raised
 * while no new connection waits to be served; an acceptor that finds one
 * still parked lowers it (acceptor.c), and the next tick raises it again.
 */
static void
raise_stop(struct worker *w)
{
	uint64_t	 one = 1;

	if (park_count_new(w->park) == 0 &&
	    write(w->stop_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("worker: cannot wake the acceptors");
}

/*
 * Join the acceptors that ended.  Returns how many are left; *running
 * says how many of those are still serving (not yet done).
 */
static size_t
join_ended(struct worker *w, size_t *running)
{
	size_t	 i, left = 0;

	*running = 0;
	for (i = 0; i < w->nacceptors; i++) {
		if (w->acceptors[i] == NULL)
			continue;
		if (acceptor_try_join(w->acceptors[i])) {
			w->acceptors[i] = NULL;		/* freed */
			continue;
		}
		left++;
		if (!acceptor_ended(w->acceptors[i]))
			(*running)++;
	}
	return left;
}

/*
 * Wait until the done eventfd or the channel (when watched) is readable,
 * or for ms; consume what the done eventfd counted.  Returns true if
 * the channel has something.  poll's timeout is on the monotonic clock.
 */
static bool
wait_ended(struct worker *w, bool channel, int64_t ms)
{
	struct pollfd	 pfd[2];
	uint64_t	 n;

	pfd[0].fd = w->done_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = channel ? w->chan_fd : -1;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (poll(pfd, 2, (int)MAX(0, MIN(ms, WORKER_TICK_MS))) == -1 &&
	    errno != EINTR)
		fatal("worker: poll");
	if (pfd[0].revents != 0)
		(void)read(w->done_fd, &n, sizeof(n));
	return pfd[1].revents != 0;
}

/*
 * Stop accepting, let every acceptor finish its request, then exit.  While
 * the master is there it decides when a drain has taken too long
 * (graceful_timeout, then SIGTERM); the worker keeps listening to it for
 * STOP_NOW.  Without a master, the worker gives itself graceful_timeout.
 * The deadlines are the lifecycle's (worker_life.c): draining until every
 * acceptor is done, then exiting while their threads are joined.  When
 * nobody stays on the listen socket (QUIT, a pool a reload removed, no
 * master), the backlog is this worker's to serve.
 */
static void POOLED_NORETURN
worker_drain(struct worker *w)
{
	struct wlife	*l = &w->life;
	int64_t		 now, next_tick;
	size_t		 running;
	bool		 gone;

	log_info("worker: %s: finishing requests in flight",
	    wlife_has_master(l) ? "graceful stop" : "master went away");
	/* Other workers keep accepting; this one stops competing. */
	pthread_mutex_lock(&w->listen_mtx);
	(void)wlife_to(l, WLIFE_DRAINING, clock_ms());
	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
	pthread_mutex_unlock(&w->listen_mtx);
	/*
	 * A connection that arrived just before may have woken this worker
	 * alone, and its event gone with the listen socket: take what its
	 * idle acceptors can serve now, no more.  The rest of the backlog
	 * stays in the shared socket for the workers that stay (their tick
	 * looks at it, worker_tick), where, taken here, it would wait for
	 * this worker's few threads and die at graceful_timeout.  When
	 * the socket closes, there is nobody else: take all of it.
	 */
	acceptor_take_backlog(w, wlife_alone(l) ? SIZE_MAX :
	    crew_idle(w->crew));
	listen_release(w);
	park_close_kept(w->park);
	/* Every thread into the epoll set, where the stop is an event. */
	crew_stop(w->crew);
	raise_stop(w);
	next_tick = clock_ms() + WORKER_TICK_MS;
	while (join_ended(w, &running) > 0) {
		now = clock_ms();
		if (running == 0)
			(void)wlife_to(l, WLIFE_EXITING, now);
		if (wlife_overdue(l, now)) {
			if (wlife_state(l) == WLIFE_EXITING)
				log_warnx("worker: a thread done serving did "
				    "not end within %d ms; exiting",
				    WLIFE_EXIT_MS);
			else if (wlife_has_master(l))
				log_warnx("worker: requests still running "
				    "after graceful_timeout (%d s) and "
				    "kill_timeout (%d s), and no SIGTERM from "
				    "the master; exiting",
				    w->conf->graceful_timeout,
				    w->conf->kill_timeout);
			else
				log_warnx("worker: requests still running "
				    "after graceful_timeout (%d s) without a "
				    "master; exiting",
				    w->conf->graceful_timeout);
			(void)wlife_to(l, WLIFE_EXITING, now);
			worker_exit_now(EX_SOFTWARE);
		}
		/* Once all are done, their ends are a moment away. */
		if (wait_ended(w, wlife_has_master(l), running == 0 ? 1 :
		    MIN(next_tick, wlife_deadline(l)) - now)) {
			if (read_master(w, &gone) == CHAN_STOP_NOW) {
				(void)wlife_to(l, WLIFE_EXITING, clock_ms());
				worker_exit_now(0);
			}
			if (gone)
				wlife_set_master_gone(l, clock_ms());
		}
		if ((now = clock_ms()) >= next_tick) {
			worker_tick(w);
			raise_stop(w);
			next_tick = now + WORKER_TICK_MS;
		}
	}
	(void)wlife_to(l, WLIFE_EXITING, clock_ms());
	park_free(w->park);
	crew_free(w->crew);
	if (w->backend->process_fini != NULL)
		w->backend->process_fini();
	/* The counts of bursts still in their window. */
	log_peer_flush(INT64_MAX);
	log_info("worker: stopped");
	exit(0);
}

/*
 * The control thread: the master's messages, the tick, and the crew's
 * looks, every CREW_LOOK_MS while it holds arrivals back (its eventfd
 * says when that begins).
 */
static void POOLED_NORETURN
worker_control(struct worker *w)
{
	struct pollfd	 pfd[2];
	int64_t		 now, next_tick = clock_ms() + WORKER_TICK_MS;
	int		 look = -1;
	bool		 gone;

	pfd[0].fd = w->chan_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = crew_wake_fd(w->crew);
	pfd[1].events = POLLIN;
	for (;;) {
		now = clock_ms();
		if (poll(pfd, 2, (int)MAX(0, look == -1 ? next_tick - now :
		    MIN(look, next_tick - now))) == -1 && errno != EINTR)
			fatal("worker: poll");
		now = clock_ms();
		look = crew_watch(w->crew, now);
		if (now >= next_tick) {
			worker_tick(w);
			next_tick = now + WORKER_TICK_MS;
		}
		if (pfd[0].revents == 0)
			continue;
		switch (read_master(w, &gone)) {
		case CHAN_STOP_GRACEFUL:
			worker_drain(w);
			/* NOTREACHED */
		case CHAN_STOP_NOW:
			(void)wlife_to(&w->life, WLIFE_EXITING, clock_ms());
			worker_exit_now(0);
		default:
			if (gone) {
				wlife_set_master_gone(&w->life, clock_ms());
				worker_drain(w);
			}
			break;
		}
	}
}

/*
 * Register the listen socket in the worker's epoll set: exclusive, so a
 * new connection wakes one worker (the first, in the socket's wait queue,
 * whose leader waits), and level-triggered: only the crew's leader waits
 * in the set (crew.c), so its staying readable wakes nobody else, and the
 * next leader finds the connections still waiting.  Call with listen_mtx
 * held, or before the threads start.
 */
static int
listen_add(struct worker *w)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.u64 = PARK_LISTEN_TOKEN;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen_fd, &ev);
}

/*
 * Connections may wait in the backlog while this worker's leader sleeps:
 * an arrival wakes only one worker, and one that stopped took its wake-up
 * along.  If they do, register the listen socket anew (an exclusive one
 * cannot be modified): epoll then looks at it again and reports it while
 * it is readable, so they are not left for the next arrival.  Not once
 * the worker stops.  A worker that cannot register it again would never
 * accept again: it asks to be replaced.
 */
void
worker_listen_rearm(struct worker *w)
{
	struct pollfd	 pfd = { .fd = w->listen_fd, .events = POLLIN };
	bool		 lost = false;

	if (poll(&pfd, 1, 0) != 1)
		return;		/* none waits: the next arrival is an edge */
	pthread_mutex_lock(&w->listen_mtx);
	if (!wlife_stopping(&w->life)) {
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
		if (listen_add(w) == -1 && listen_add(w) == -1) {
			log_warn("worker: epoll_ctl: cannot watch the listen "
			    "socket again");
			lost = true;
		}
	}
	pthread_mutex_unlock(&w->listen_mtx);
	if (lost)
		worker_ask_retire(w, RETIRE_LISTEN);
}

/*
 * Ask the master, once, to replace this worker; it serves on (retiring)
 * until the master stops it, which it does once the replacement is ready.
 * A worker already stopping does not ask.  Called from any thread (one
 * datagram on the channel is atomic).
 */
void
worker_ask_retire(struct worker *w, enum retire_reason reason)
{
	uint32_t	 r = reason;

	if (wlife_to(&w->life, WLIFE_RETIRING, clock_ms()) != 0)
		return;
	if (chan_send(w->chan_fd, CHAN_RETIRE, &r, sizeof(r)) == -1)
		log_warnx("worker: cannot ask the master to replace it");
}

/* An acceptor finished a request: count it against max_requests. */
void
worker_request_done(struct worker *w)
{
	uint64_t	 n = atomic_fetch_add(&w->served, 1) + 1;

	if (w->max_requests == 0 || n != w->max_requests)
		return;
	log_info("worker: served %llu requests (max_requests); asking to be "
	    "replaced", (unsigned long long)n);
	worker_ask_retire(w, RETIRE_MAX_REQUESTS);
}

/*
 * Called by each acceptor after its thread_init: ok says whether it
 * worked.  Blocks while the worker is starting, so no thread serves a
 * request before the worker knows whether it serves at all.  Returns true
 * when the thread may serve, false when it failed or the worker gives
 * up.
 */
bool
worker_thread_inited(struct worker *w, bool ok)
{
	bool	 go;

	pthread_mutex_lock(&w->gate_mtx);
	w->threads_inited++;
	if (!ok)
		w->threads_failed++;
	pthread_cond_broadcast(&w->gate_cond);
	while (wlife_state(&w->life) == WLIFE_STARTING)
		pthread_cond_wait(&w->gate_cond, &w->gate_mtx);
	go = wlife_state(&w->life) != WLIFE_EXITING && ok;
	pthread_mutex_unlock(&w->gate_mtx);
	return go;
}

/*
 * Wait for the acceptors that end at once on a closed gate, and join
 * them, so none is left running at exit; exiting's deadline bounds it.
 */
static void
join_all(struct worker *w)
{
	size_t	 running;
	int64_t	 now;

	while (join_ended(w, &running) > 0) {
		now = clock_ms();
		if (wlife_overdue(&w->life, now))
			worker_exit_now(EX_CONFIG);
		(void)wait_ended(w, false, running == 0 ? 1 :
		    wlife_deadline(&w->life) - now);
	}
}

/*
 * Wait for every acceptor's thread_init, until the start-up deadline.  A
 * thread whose thread_init failed ends (pooled-module(3)), its scoreboard
 * slot left empty; the worker serves with the others.  With none left, or
 * one still in thread_init at the deadline, it cannot serve: exit with
 * EX_CONFIG, so the master fails the start or backs off.
 */
static void
open_gate(struct worker *w)
{
	struct wlife	*l = &w->life;
	struct timespec	 ts;
	int64_t		 deadline = wlife_deadline(l);
	size_t		 failed, inited;
	bool		 late = false;

	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000;
	pthread_mutex_lock(&w->gate_mtx);
	while (w->threads_inited < w->nacceptors && !late)
		late = pthread_cond_timedwait(&w->gate_cond, &w->gate_mtx,
		    &ts) == ETIMEDOUT && w->threads_inited < w->nacceptors;
	failed = w->threads_failed;
	inited = w->threads_inited;
	(void)wlife_to(l, late || failed == w->nacceptors ? WLIFE_EXITING :
	    WLIFE_SERVING, clock_ms());
	pthread_cond_broadcast(&w->gate_cond);
	pthread_mutex_unlock(&w->gate_mtx);
	if (late) {
		log_warnx("worker: thread_init still running in %zu of %zu "
		    "threads after start_timeout (%d s); exiting",
		    w->nacceptors - inited, w->nacceptors,
		    w->conf->start_timeout);
		worker_exit_now(EX_CONFIG);
	}
	if (failed == w->nacceptors) {
		log_warnx("worker: thread_init failed in all %zu threads",
		    w->nacceptors);
		/* Each ends at once on the closed gate; do not leak them. */
		join_all(w);
		exit(EX_CONFIG);
	}
	if (failed > 0)
		log_warnx("worker: thread_init failed in %zu of %zu threads; "
		    "serving with the other %zu", failed, w->nacceptors,
		    w->nacceptors - failed);
}

/*
 * Until the worker is ready it does not watch the channel, so a master
 * that dies would leave it to hang on in its handler's process_init,
 * holding the listen socket: the kernel kills it instead.  proc.c asks for
 * that right after the fork; a change of credentials (privs_enter)
 * cancels it, so it is asked for again.  on: false once the worker
 * serves: from then on a master that goes away is seen on the channel,
 * and the worker finishes its requests (worker_drain).
 */
static void
tie_to_master(pid_t master, bool on)
{
	if (prctl(PR_SET_PDEATHSIG, on ? (unsigned long)SIGKILL : 0UL, 0L,
	    0L, 0L) == -1)
		fatal("worker: prctl PR_SET_PDEATHSIG");
	if (on && getppid() != master)
		_exit(EX_OSERR);	/* it died before the call */
}

/*
 * How many requests a worker serves at once while they are quick (crew.c):
 * the CPUs it may run on, shared out among the pool's processes.
 */
static size_t
quick_base(const struct pool_conf *pc)
{
	cpu_set_t	 set;
	long		 cpus = 1, procs = pc->processes > 0 ? pc->processes : 1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	return (size_t)((cpus + procs - 1) / procs);
}

/*
 * Run one worker process as ws describes; never returns.
 * Exits with EX_CONFIG when the handler cannot be loaded or initialised:
 * the master then fails the start, or retries with back-off.
 */
void
worker_main(const struct worker_spec *ws, int chan_fd)
{
	struct worker		 w;
	struct epoll_event	 ev;
	pthread_condattr_t	 ca;
	char			 title[16];
	size_t			 i;
	int			 listen_fd = ws->listen_fd;
	pid_t			 master = getppid();	/* see proc.c */

	memset(&w, 0, sizeof(w));
	w.conf = ws->conf;
	wlife_init(&w.life, w.conf, clock_ms());
	w.pool = &ws->conf->pools[ws->pool];
	w.listen_fd = listen_fd;
	w.sb = ws->sb;
	w.row = ws->row;
	sb_self_set(w.sb, w.row);	/* for the CGI handler's counters */
	w.gen = ws->gen;
	/* Jitter, so that the workers of a pool do not all go at once. */
	if (w.pool->max_requests > 0) {
		srandom((unsigned int)getpid() ^ (unsigned int)clock_ms());
		w.max_requests = (uint64_t)w.pool->max_requests +
		    (w.pool->max_requests_jitter > 0 ? (uint64_t)random() %
		    ((uint64_t)w.pool->max_requests_jitter + 1) : 0);
	}
	w.chan_fd = chan_fd;
	access_log_init(w.conf, w.pool, ws->access_fd);
	log_peer_set_window(w.pool->log_repeat_window);
	snprintf(title, sizeof(title), "pooled:%s", w.pool->name);
	(void)prctl(PR_SET_NAME, title, 0, 0, 0);
	proctitle_set("pool %s (generation %u)", w.pool->name,
	    (unsigned int)w.gen);
	/*
	 * Timers as exact as the kernel can: the default 50 us slack, there
	 * to batch wake-ups for power, is added to every timed wait of a
	 * handler (a 10 ms sleep took 10.6 ms at p50 through nginx, 10.4
	 * without).  Threads inherit it.
	 */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	/*
	 * glibc gives each thread an arena of its own, up to 8 per core,
	 * and every arena keeps pages touched: 16 KiB a thread, 1 MB per 64
	 * threads under load.  Small allocations come from a per-thread
	 * cache anyway; before any thread exists, cap the arenas.
	 */
#ifdef M_ARENA_MAX
	/* A malloc of its own (ASan, jemalloc preloaded) may ignore it. */
	if (w.pool->malloc_arena_max > 0 &&
	    mallopt(M_ARENA_MAX, w.pool->malloc_arena_max) != 1)
		log_info("worker: this malloc ignores M_ARENA_MAX; "
		    "malloc_arena_max %d has no effect",
		    w.pool->malloc_arena_max);
#endif
	w.proto = w.pool->protocol == PROTO_SCGI ? &proto_scgi : &proto_fcgi;
	worker_signals();
	if (w.pool->handler == HANDLER_CGI)
		handler_cgi_prepare();
	/* Nothing of the user's runs before this. */
	if (privs_enter(w.pool) == -1)
		exit(EX_CONFIG);
	tie_to_master(master, true);
	w.pool = privs_view(w.pool);
	acceptor_init_process(&w);

	if (w.pool->handler == HANDLER_CGI)
		w.backend = handler_cgi_open(w.pool);
	else {
		handler_so_set_options(w.pool);
		if ((w.backend = handler_so_open(w.pool)) == NULL)
			exit(EX_CONFIG);
	}
	if (w.backend->process_init != NULL && w.backend->process_init() != 0)
		exit(EX_CONFIG);

	if ((w.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("worker: epoll_create1");
	pthread_mutex_init(&w.listen_mtx, NULL);
	if (listen_add(&w) == -1)
		fatal("worker: epoll_ctl listen socket");
	/* Level-triggered and not exclusive: one write wakes them all. */
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = PARK_STOP_TOKEN;
	if ((w.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    epoll_ctl(w.epfd, EPOLL_CTL_ADD, w.stop_fd, &ev) == -1)
		fatal("worker: stop eventfd");
	if ((w.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("worker: done eventfd");
	if ((w.park = park_new(w.epfd, w.pool->max_kept_connections,
	    w.pool->max_waiting_connections, w.proto->ready)) == NULL)
		fatal("worker: park_new");

	pthread_mutex_init(&w.gate_mtx, NULL);
	/* The start-up deadline is on clock_ms's clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.gate_cond, &ca);
	pthread_condattr_destroy(&ca);
	w.crew = crew_new((size_t)w.pool->threads, quick_base(w.pool));
	w.acceptors = xcalloc((size_t)w.pool->threads, sizeof(*w.acceptors));
	for (i = 0; i < (size_t)w.pool->threads; i++) {
		if ((w.acceptors[i] = acceptor_start(&w, i)) == NULL)
			fatalx("worker: cannot start thread %zu", i);
		w.nacceptors++;
	}
	open_gate(&w);
	tie_to_master(master, false);
	publish_rss(&w);
	if (chan_send(chan_fd, CHAN_READY, NULL, 0) == -1)
		fatalx("worker: cannot reach the master");
	log_debug("worker: serving with %d threads", w.pool->threads);
	worker_control(&w);
}
