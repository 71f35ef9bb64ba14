/*
 * The two directories pooled makes for itself: its runtime directory
 * (POOLED_RUNDIR, for sockets and the pid file) and its log directory
 * (POOLED_LOGDIR).  /run is a tmpfs, so after a boot the first start as
 * root would fail on "bind ...: No such file or directory"; under
 * systemd, RuntimeDirectory= and LogsDirectory= make the same ones.
 * Only these two, only their last component, and only when the config
 * puts something there: creating arbitrary directories as root, along
 * paths others may have a say in, is how symlink tricks start.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pooled.h"
#include "paths.h"

/* The directory of path, into buf; false if path has no slash. */
static bool
dir_of(const char *path, char *buf, size_t len)
{
	const char	*slash;

	if (path == NULL || path[0] != '/' ||
	    (slash = strrchr(path, '/')) == NULL)
		return false;
	snprintf(buf, len, "%.*s", (int)(slash == path ? 1 : slash - path),
	    path);
	return true;
}

/* Whether dir is one that pooled creates. */
static bool
is_own_dir(const char *dir)
{
	return strcmp(dir, POOLED_RUNDIR) == 0 ||
	    strcmp(dir, POOLED_LOGDIR) == 0;
}

/* Whether the parent of dir exists as a directory. */
static bool
parent_exists(const char *dir)
{
	char		 parent[PATH_MAX];
	struct stat	 st;

	return dir_of(dir, parent, sizeof(parent)) &&
	    stat(parent, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether path lies in a directory pooled will create at start. */
bool
rundir_creates(const char *path)
{
	char		 dir[PATH_MAX];
	struct stat	 st;

	return dir_of(path, dir, sizeof(dir)) && is_own_dir(dir) &&
	    stat(dir, &st) == -1 && errno == ENOENT && parent_exists(dir);
}

/*
 * The files of conf outside the pools' sockets (which sock_check_dir
 * checks) whose directory must exist: pid file, error log, status
 * socket.  Fills v, returns how many.
 */
static size_t
conf_files(const struct conf *conf, const char *v[3])
{
	size_t	 n = 0;

	if (conf->pid_file != NULL)
		v[n++] = conf->pid_file;
	if (conf->error_log != NULL && conf->error_log[0] == '/')
		v[n++] = conf->error_log;
	if (conf->has_status_listen &&
	    conf->status_listen.kind == LISTEN_UNIX)
		v[n++] = conf->status_listen.path;
	return n;
}

/*
 * -t: report each directory of the pid file, error log and status socket
 * that does not exist and that a start would not create.
 */
int
rundir_check(const struct conf *conf)
{
	const char	*v[3];
	char		 dir[PATH_MAX];
	struct stat	 st;
	size_t		 i, n = conf_files(conf, v);
	int		 rc = 0;

	for (i = 0; i < n; i++) {
		if (!dir_of(v[i], dir, sizeof(dir)) || stat(dir, &st) == 0 ||
		    rundir_creates(v[i]))
			continue;
		log_warn("%s: directory %s (pooled creates only %s and %s)",
		    v[i], dir, POOLED_RUNDIR, POOLED_LOGDIR);
		rc = -1;
	}
	return rc;
}

/* Create dir, mode 0755, owned by whoever runs pooled (root). */
static int
make_dir(const char *dir)
{
	if (mkdir(dir, 0755) == -1) {
		if (errno == EEXIST)
			return 0;
		log_warn("mkdir %s", dir);
		return -1;
	}
	/* Not the umask's choice: the web server must reach the sockets. */
	if (chmod(dir, 0755) == -1) {
		log_warn("chmod %s", dir);
		return -1;
	}
	log_notice("master: created directory %s (mode 0755)", dir);
	return 0;
}

/*
 * At start, before the sockets and the log are opened: create
 * POOLED_RUNDIR and POOLED_LOGDIR where conf puts a socket, the pid file
 * or the log in one of them and it is missing.
 */
int
rundir_create(const struct conf *conf)
{
	const char	*v[3];
	char		 dir[PATH_MAX];
	size_t		 i, n = conf_files(conf, v);

	for (i = 0; i < n + conf->npools; i++) {
		const char *path = i < n ? v[i] :
		    conf->pools[i - n].listen.kind == LISTEN_UNIX ?
		    conf->pools[i - n].listen.path : NULL;

		if (rundir_creates(path) && dir_of(path, dir, sizeof(dir)) &&
		    make_dir(dir) == -1)
			return -1;
	}
	return 0;
}
