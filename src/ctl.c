/*
 * The operator's commands: "pooled -s" (the status of the running
 * master) and "pooled -k reload|stop|quit|reopen" (a signal to it).  Both
 * need one global setting of the config, status_listen or pid_file, and
 * read only that (conf_text.c): no module is loaded and no pool checked,
 * so they work when the file on disk has a broken pool or a missing
 * module, which is when an operator needs them.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define CTL_TITLE	"pooled: master process "

static const struct {
	const char	*name;
	int		 sig;
} ctl_cmds[] = {
	{ "reload",	SIGHUP },
	{ "stop",	SIGTERM },
	{ "quit",	SIGQUIT },
	{ "reopen",	SIGUSR1 },
};

/* The value of setting name in path, or NULL (logged why). */
static char *
conf_global(const char *path, const char *name)
{
	struct conf_text	*ct;
	const char		*v;
	char			*s = NULL;

	if ((ct = conf_text_load(path)) == NULL)
		return NULL;
	if ((v = conf_text_global(ct, name)) == NULL)
		log_warnx("%s sets no %s", path, name);
	else
		s = xstrdup(v);
	conf_text_free(ct);
	return s;
}

/*
 * pooled -s: print the status from addr, or from the status_listen of
 * path.  Returns the exit code.
 */
int
ctl_status(const char *path, const char *addr, const char *pool,
    const char *query)
{
	struct listen_addr	 la;
	char			 err[512], *s = NULL;
	int			 rc;

	if (addr == NULL && (addr = s = conf_global(path,
	    "status_listen")) == NULL)
		return 1;
	if (listen_addr_parse(addr, &la, err, sizeof(err)) == -1) {
		log_warnx("status_listen \"%s\": %s", addr, err);
		free(s);
		return 1;
	}
	rc = status_client(&la, pool, query);
	free(s);
	return rc;
}

/*
 * The pid in the pid file path; -1 (logged) when there is none.  Only a
 * regular file is read: a FIFO or a device in its place would block the
 * command (open and read are non-blocking for that reason).
 */
static pid_t
read_pid(const char *path)
{
	struct stat	 st;
	char		 buf[32], *end;
	ssize_t		 n;
	long		 pid;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			log_warnx("pid_file %s: no such file (is pooled "
			    "running?)", path);
		else
			log_warn("pid_file %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("pid_file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -1) {
		log_warn("pid_file %s", path);
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || errno != 0 ||
	    pid <= 1 || pid > INT_MAX) {
		log_warnx("pid_file %s: no process id in it", path);
		return -1;
	}
	return (pid_t)pid;
}

/*
 * Whether pid is a pooled master, by its title (proctitle.c) and its
 * owner: a pid file left by a master that died may name any process by
 * now, and any user can give a process that title.  The master runs as
 * whoever started it, and only that user (or root, for a root master)
 * signals it.
 */
static int
is_master(pid_t pid, const char *pid_file)
{
	char		 path[64], buf[512];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			log_warnx("pid_file %s: process %ld is not running "
			    "(a stale pid file: pooled is not running)",
			    pid_file, (long)pid);
		else
			log_warn("%s", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n == -1) {
		log_warn("%s", path);
		return -1;
	}
	buf[n] = '\0';
	if (strncmp(buf, CTL_TITLE, strlen(CTL_TITLE)) != 0) {
		log_warnx("pid_file %s: process %ld is not a pooled master "
		    "(it runs \"%.64s\"): a stale pid file", pid_file,
		    (long)pid, buf);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	if (stat(path, &st) == -1) {
		log_warn("%s", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("pid_file %s: process %ld belongs to uid %lu, not to "
		    "uid %lu: not this pooled's master (a stale pid file)",
		    pid_file, (long)pid, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		return -1;
	}
	return 0;
}

/* pooled -k CMD: signal the master named by path's pid_file. */
int
ctl_signal(const char *path, const char *cmd)
{
	char	*pid_file;
	pid_t	 pid;
	size_t	 i;
	int	 rc = 1;

	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(cmd, ctl_cmds[i].name) == 0)
			break;
	if (i == sizeof(ctl_cmds) / sizeof(ctl_cmds[0])) {
		log_warnx("-k %s: not reload, stop, quit or reopen", cmd);
		return 64;	/* EX_USAGE */
	}
	if ((pid_file = conf_global(path, "pid_file")) == NULL)
		return 1;
	if ((pid = read_pid(pid_file)) == -1 || is_master(pid, pid_file) == -1)
		goto done;
	if (kill(pid, ctl_cmds[i].sig) == -1) {
		if (errno == EPERM)
			log_warnx("-k %s: process %ld: permission denied (run "
			    "it as the user pooled runs as)", cmd, (long)pid);
		else
			log_warn("-k %s: process %ld", cmd, (long)pid);
		goto done;
	}
	rc = 0;
done:
	free(pid_file);
	return rc;
}
