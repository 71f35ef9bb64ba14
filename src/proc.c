/*
 * Worker processes, seen from the master: forking one for a pool slot, and
 * describing how one ended.  The master is single-threaded, so fork() here
 * is always safe; the child never returns into master code.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pooled.h"

/* "exited 0", "killed by signal 11 (Segmentation fault)", ... */
void
proc_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited %d%s", WEXITSTATUS(status),
		    WEXITSTATUS(status) == EX_CONFIG ? " (configuration error)"
		    : "");
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	} else
		snprintf(buf, len, "ended with status 0x%x", status);
}

static int
cmp_int(const void *a, const void *b)
{
	int	 x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Close every descriptor above 2 except those in keep, so a worker holds
 * only its own listen socket, channel and log: nothing of other pools or
 * other workers leaks into it (or, later, into a CGI program).
 */
int
proc_close_fds_except(const int *keep, size_t nkeep)
{
	int	 sorted[16];
	int	 lo = 3;
	size_t	 i;

	if (nkeep > sizeof(sorted) / sizeof(sorted[0])) {
		log_warnx("proc_close_fds_except: too many descriptors");
		return -1;
	}
	memcpy(sorted, keep, nkeep * sizeof(*keep));
	qsort(sorted, nkeep, sizeof(*sorted), cmp_int);
	for (i = 0; i < nkeep; i++) {
		if (sorted[i] < lo)
			continue;
		if (sorted[i] > lo && close_range((unsigned int)lo,
		    (unsigned int)sorted[i] - 1, 0) == -1) {
			log_warn("close_range");
			return -1;
		}
		lo = sorted[i] + 1;
	}
	if (close_range((unsigned int)lo, ~0U, 0) == -1) {
		log_warn("close_range");
		return -1;
	}
	return 0;
}

/* Put back the default action of every signal the master handles. */
static void
proc_default_signals(void)
{
	static const int	 handled[] = {
		SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD
	};
	size_t			 i;

	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		signal(handled[i], SIG_DFL);
}

/*
 * Fork a worker for pool index `pool`.  Returns the child's pid and the
 * master's channel end in *chan, or -1.  The child closes every
 * descriptor but its pool's listen socket, its channel end, the log and
 * its pool's access log,
 * unmaps the scoreboards of other pools, then runs worker_main and never
 * returns.
 */
pid_t
proc_spawn_worker(const struct worker_spec *ws, int *chan)
{
	const struct conf	*conf = ws->conf;
	size_t			 pool = ws->pool, i;
	sigset_t		 all, old;
	int			 fds[2], keep[4];
	pid_t			 pid, master;

	if (chan_pair(fds) == -1)
		return -1;
	/*
	 * Fork with every signal blocked: until the child has dropped the
	 * master's handlers, a signal sent to it must not run them (they
	 * would write into the master's self-pipe).
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	master = getpid();
	switch (pid = fork()) {
	case -1:
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_warn("pool %s: fork", conf->pools[pool].name);
		close(fds[0]);
		close(fds[1]);
		return -1;
	case 0:
		proc_default_signals();
		/* Until it serves, it dies with the master (worker_main). */
		if (prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL, 0L, 0L,
		    0L) == -1 || getppid() != master)
			_exit(EX_OSERR);
		sigprocmask(SIG_SETMASK, &old, NULL);
		keep[0] = ws->listen_fd;
		keep[1] = fds[1];
		keep[2] = log_fd();
		keep[3] = ws->access_fd;
		if (proc_close_fds_except(keep, ws->access_fd != -1 ? 4 : 3) ==
		    -1)
			_exit(EX_OSERR);
		/* Other pools' scoreboards are none of its business. */
		for (i = 0; ws->drop != NULL && ws->drop[i] != NULL; i++)
			if (ws->drop[i] != ws->sb)
				sb_destroy(ws->drop[i]);
		log_set_role(conf->pools[pool].name);
		/* Its own config's: a reload's is not the master's yet. */
		log_set_level(conf->log_level);
		worker_main(ws, fds[1]);
		/* NOTREACHED */
	default:
		break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	*chan = fds[0];
	return pid;
}
