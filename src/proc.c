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
#include <fcntl.h>
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
 * In the child: the write end of the output pipe becomes stdout and
 * stderr (non-blocking, as pipe2 made it: a full pipe loses output rather
 * than stopping a thread), and stdout is line-buffered so that a module's
 * printf lines reach the log as they are written, not at a buffer's end.
 */
static int
catch_output(int fd)
{
	if (log_leave_stderr() == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1 || dup2(fd, STDERR_FILENO) == -1) {
		log_warn("catch_workers_output");
		return -1;
	}
	close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return 0;
}

/*
 * Fork a worker for pool index `pool`.  Returns the child's pid and the
 * master's channel end in *chan, or -1; with catch_workers_output, the
 * read end of the worker's stdout and stderr in *out (else -1).  The
 * child closes every descriptor but its pool's listen socket, its
 * channel end, the log, its pool's access log and its output pipe,
 * unmaps the scoreboards of other pools, then runs worker_main and
 * never returns.
 */
pid_t
proc_spawn_worker(const struct worker_spec *ws, int *chan, int *out)
{
	const struct conf	*conf = ws->conf;
	size_t			 pool = ws->pool, i;
	sigset_t		 all, old;
	int			 fds[2], keep[5], nkeep, ofd[2] = { -1, -1 };
	pid_t			 pid, master;

	*out = -1;
	if (conf->pools[pool].catch_workers_output &&
	    pipe2(ofd, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("pool %s: catch_workers_output: pipe",
		    conf->pools[pool].name);
		return -1;
	}
	if (chan_pair(fds) == -1) {
		if (ofd[0] != -1) {
			close(ofd[0]);
			close(ofd[1]);
		}
		return -1;
	}
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
		if (ofd[0] != -1) {
			close(ofd[0]);
			close(ofd[1]);
		}
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
		nkeep = 3;
		if (ws->access_fd != -1)
			keep[nkeep++] = ws->access_fd;
		if (ofd[1] != -1)
			keep[nkeep++] = ofd[1];
		if (proc_close_fds_except(keep, (size_t)nkeep) == -1)
			_exit(EX_OSERR);
		if (ofd[1] != -1 && catch_output(ofd[1]) == -1)
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
	if (ofd[0] != -1) {
		close(ofd[1]);
		*out = ofd[0];
	}
	return pid;
}
