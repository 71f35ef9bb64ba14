/*
 * Finding a process's children, to kill those nobody started on purpose.
 *
 * A worker of a CGI pool and the master are child subreapers
 * (PR_SET_CHILD_SUBREAPER): a process whose parent dies is handed to the
 * nearest living subreaper above it rather than to init, so whatever a
 * CGI program leaves behind, even after setsid() or a double fork, comes
 * back to its worker, and what a dead worker leaves comes back to the
 * master.  The kernel tells nobody of the hand-over, so both look for
 * such children once in a while (handler_cgi.c at the end of a request,
 * the master after a reap) and kill them.
 *
 * The children of a thread are listed in /proc/PID/task/TID/children
 * where the kernel has CONFIG_PROC_CHILDREN; elsewhere every
 * /proc/N/stat is read for its parent pid.  /proc is opened once, before
 * a chroot, so a chrooted worker needs none inside.
 *
 * Killing a child alone is not enough: its own children are handed over
 * as it dies, still running, and a process that forks and exits in a
 * loop stays a step ahead of any number of sweeps that way.  So, where
 * the children files are, a child's whole tree is stopped from the top
 * down before any of it is killed (kill_tree).
 */
#include "config.h"

#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

/* Open /proc for reaper_kill_children; -1 (logged) when there is none. */
int
reaper_open(void)
{
	int	 fd;

	if ((fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		log_warn("reaper: /proc");
	return fd;
}

/* A decimal pid from a string; 0 for anything else. */
static pid_t
parse_pid(const char *s, char **end)
{
	char		*e;
	long		 v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (e == s || errno != 0 || v <= 0 || v > INT32_MAX)
		return 0;
	if (end != NULL)
		*end = e;
	else if (*e != '\0')
		return 0;
	return (pid_t)v;
}

/* Open dir (relative to procfd) for reading; NULL when it cannot be. */
static DIR *
open_dir(int procfd, const char *dir)
{
	DIR	*d;
	int	 fd;

	if ((fd = openat(procfd, dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* Read at most len - 1 bytes of path (relative to procfd), NUL-ended. */
static ssize_t
read_small(int procfd, const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(procfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, buf, len - 1)) == -1 && errno == EINTR)
		;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* How deep kill_tree follows children; deeper ones wait for a round. */
#define REAPER_DEPTH	16

/* The children kill_tree takes of one process; the rest likewise. */
#define REAPER_FANOUT	128

static int
send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* The parent pid in /proc/PID/stat; -1 when it cannot be read. */
static long
parent_of(int procfd, pid_t pid)
{
	char	 path[64], buf[512], *p;
	long	 ppid;

	snprintf(path, sizeof(path), "%ld/stat", (long)pid);
	if (read_small(procfd, path, buf, sizeof(buf)) <= 0)
		return -1;
	/* "pid (comm) state ppid ...": comm may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return -1;
	return ppid;
}

/* The children of every thread of pid, at most max of them. */
static size_t
children_list(int procfd, pid_t pid, pid_t *kids, size_t max)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[64], buf[4096], *p, *e;
	pid_t		 tid, kid;
	size_t		 n = 0;

	snprintf(path, sizeof(path), "%ld/task", (long)pid);
	if ((d = open_dir(procfd, path)) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		if ((tid = parse_pid(de->d_name, NULL)) == 0)
			continue;
		snprintf(path, sizeof(path), "%ld/task/%ld/children",
		    (long)pid, (long)tid);
		if (read_small(procfd, path, buf, sizeof(buf)) <= 0)
			continue;
		for (p = buf; n < max && (kid = parse_pid(p, &e)) != 0; p = e)
			kids[n++] = kid;
	}
	closedir(d);
	return n;
}

/*
 * Stop the process pidfd refers to (pid), then everything below it, then
 * kill it.  A signal pending makes fork() fail and start again, so once
 * SIGSTOP is sent the process has every child it will have, and the
 * children read after are all of them; a stopped parent reaps none, so a
 * child's pid is still that child's when it is opened (checked by its
 * parent pid, then held by its pidfd).  At REAPER_DEPTH the children are
 * only stopped: handed to the caller as their parent dies, they wait,
 * unable to fork, for its next round.  Only children past REAPER_FANOUT
 * are handed over running.
 */
static void
kill_tree(int procfd, int pidfd, pid_t pid, int depth)
{
	pid_t	 kids[REAPER_FANOUT];
	size_t	 i, n;
	int	 fd;

	if (send_signal(pidfd, SIGSTOP) == -1)
		return;
	n = children_list(procfd, pid, kids, REAPER_FANOUT);
	for (i = 0; i < n; i++) {
		if ((fd = pidfd_open(kids[i], 0)) == -1)
			continue;
		if (parent_of(procfd, kids[i]) == (long)pid) {
			if (depth < REAPER_DEPTH)
				kill_tree(procfd, fd, kids[i], depth + 1);
			else
				(void)send_signal(fd, SIGSTOP);
		}
		close(fd);
	}
	(void)send_signal(pidfd, SIGKILL);
}

/*
 * Kill one child, and all below it, unless keep says it is wanted; count
 * it.  The caller makes sure it is still a child (not reaped, so its pid
 * not reused).  Without a pidfd, the child alone.
 */
static void
consider(int procfd, pid_t pid, reaper_keep_fn *keep, void *arg,
    size_t *n)
{
	int	 fd;

	if (keep != NULL && keep(pid, arg))
		return;
	if ((fd = pidfd_open(pid, 0)) == -1) {
		if (kill(pid, SIGKILL) == 0)
			(*n)++;
		return;
	}
	kill_tree(procfd, fd, pid, 0);
	close(fd);
	(*n)++;
}

/* The children files of every thread of self; -1 if there are none. */
static int
by_children_files(int procfd, pid_t self, reaper_keep_fn *keep,
    void *arg, size_t *n)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[64], buf[4096], *p, *e;
	pid_t		 pid, tid;
	ssize_t		 len;
	bool		 any = false;

	snprintf(path, sizeof(path), "%ld/task", (long)self);
	if ((d = open_dir(procfd, path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if ((tid = parse_pid(de->d_name, NULL)) == 0)
			continue;
		snprintf(path, sizeof(path), "%ld/task/%ld/children",
		    (long)self, (long)tid);
		/*
		 * A thread that just exited has no file any more; one with
		 * more children than the buffer holds shows the rest to the
		 * next sweep.
		 */
		if ((len = read_small(procfd, path, buf, sizeof(buf))) == -1) {
			if (errno == ENOENT && !any)
				break;
			continue;
		}
		any = true;
		for (p = buf; (pid = parse_pid(p, &e)) != 0; p = e)
			consider(procfd, pid, keep, arg, n);
	}
	closedir(d);
	return any ? 0 : -1;
}

/* Every /proc/N/stat whose parent is self. */
static int
by_stat_files(int procfd, pid_t self, reaper_keep_fn *keep,
    void *arg, size_t *n)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[64], buf[512], *p;
	pid_t		 pid;
	long		 ppid;

	if ((d = open_dir(procfd, ".")) == NULL) {
		log_warn("reaper: /proc");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((pid = parse_pid(de->d_name, NULL)) == 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "%ld/stat", (long)pid);
		if (read_small(procfd, path, buf, sizeof(buf)) <= 0)
			continue;
		/* "pid (comm) state ppid ...": comm may hold anything. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &ppid) != 1)
			continue;
		/* No children files: kill_tree finds nothing below. */
		if (ppid == (long)self)
			consider(procfd, pid, keep, arg, n);
	}
	closedir(d);
	return 0;
}

/*
 * SIGKILL every child of process self (seen through procfd, from
 * reaper_open) for which keep (may be NULL) returns false, and all its
 * descendants.  The caller holds off reaping and forking while this
 * runs, so that a pid seen is still that child when it is killed.
 * Returns how many children were signalled (zombies included), or 0 when
 * procfd is -1.
 */
size_t
reaper_kill_children(int procfd, pid_t self, reaper_keep_fn *keep,
    void *arg)
{
	size_t	 n = 0;

	if (procfd == -1)
		return 0;
	if (by_children_files(procfd, self, keep, arg, &n) == -1)
		(void)by_stat_files(procfd, self, keep, arg, &n);
	return n;
}
