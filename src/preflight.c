/*
 * What a config may ask of this process, and what in it is unsafe:
 * checked by `pooled -t`, at start and on every reload, after the file
 * parsed and before any socket is opened or worker started.
 *
 * Errors stop the start (a reload keeps the old config): started as root,
 * a pool with no user runs user code as root, and one with group root
 * (primary, group or supplementary) runs it with root's group, unless it
 * says allow_root; started as anyone else, a pool cannot switch to
 * another user or chroot.  Warnings name what an attacker who controls a
 * pool's user (a bug in a module, a CGI program) could turn into more:
 * programs and modules that user may rewrite.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define PREFLIGHT_WALK_MAX	10000	/* entries looked at per cgi_root */
#define PREFLIGHT_WALK_DEPTH	16

/* Whether the pool's user may write what st describes. */
static bool
writable_by(const struct pool_conf *pc, const struct stat *st)
{
	size_t	 i;

	if (st->st_mode & S_IWOTH)
		return true;
	if (st->st_uid == pc->uid && (st->st_mode & S_IWUSR))
		return true;
	if (!(st->st_mode & S_IWGRP))
		return false;
	if (st->st_gid == pc->gid)
		return true;
	for (i = 0; i < pc->ngroups; i++)
		if (pc->groups[i] == st->st_gid)
			return true;
	return false;
}

/* Who may write it, for a warning: "its user", "group 33", "everyone". */
static const char *
who_writes(const struct pool_conf *pc, const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return "every user";
	if (st->st_uid == pc->uid && (st->st_mode & S_IWUSR))
		return "the pool's user, who owns it";
	return "a group of the pool's user";
}

/* Bounded walk of a cgi_root: the first writable directory or program. */
static int
walk(const struct pool_conf *pc, int dirfd,
    char *path, size_t len, int depth, unsigned int *seen)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n;
	int		 fd, found = 0;

	if ((d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return 0;
	}
	while (found == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++*seen > PREFLIGHT_WALK_MAX)
			break;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		n = strlen(path);
		if (n + 1 + strlen(de->d_name) >= len)
			continue;
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
			continue;
		if (writable_by(pc, &st)) {
			snprintf(path + n, len - n, "/%s", de->d_name);
			log_warnx("%s:%d: pool \"%s\": cgi_root: %s is writable "
			    "by %s: whoever runs as %s can change the programs "
			    "it runs", pc->file, pc->line, pc->name, path,
			    who_writes(pc, &st), pc->has_user ? pc->user :
			    "the pool");
			found = 1;
			break;
		}
		if (!S_ISDIR(st.st_mode) || depth >= PREFLIGHT_WALK_DEPTH)
			continue;
		if ((fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		snprintf(path + n, len - n, "/%s", de->d_name);
		found = walk(pc, fd, path, len, depth + 1, seen);
		if (found == 0)
			path[n] = '\0';
	}
	closedir(d);
	return found;
}

/* Warn about what the pool's user could rewrite to change the code run. */
static void
warn_writable(const struct pool_conf *pc)
{
	struct stat	 st;
	char		 path[PATH_MAX], dir[PATH_MAX], *slash;
	unsigned int	 seen = 0;
	size_t		 i;
	int		 fd;

	if (pc->module != NULL && stat(pc->module, &st) == 0 &&
	    writable_by(pc, &st))
		log_warnx("%s:%d: pool \"%s\": module %s is writable by %s: "
		    "the pool could change its own code", pc->file, pc->line,
		    pc->name, pc->module, who_writes(pc, &st));
	if (pc->module != NULL) {
		snprintf(dir, sizeof(dir), "%s", pc->module);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
			*slash = '\0';
		if (stat(dir, &st) == 0 && writable_by(pc, &st) &&
		    !(st.st_mode & S_ISVTX))
			log_warnx("%s:%d: pool \"%s\": the directory of module "
			    "%s is writable by %s: the pool could replace the "
			    "module", pc->file, pc->line, pc->name,
			    pc->module, who_writes(pc, &st));
	}
	for (i = 0; i < pc->ncgi_roots; i++) {
		if (stat(pc->cgi_roots[i], &st) == -1)
			continue;
		if (writable_by(pc, &st)) {
			log_warnx("%s:%d: pool \"%s\": cgi_root %s is writable "
			    "by %s: whoever runs as %s can add programs to it",
			    pc->file, pc->line, pc->name, pc->cgi_roots[i],
			    who_writes(pc, &st), pc->has_user ? pc->user :
			    "the pool");
			continue;
		}
		if ((fd = open(pc->cgi_roots[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			continue;
		snprintf(path, sizeof(path), "%s", pc->cgi_roots[i]);
		(void)walk(pc, fd, path, sizeof(path), 0, &seen);
	}
}

/* A chroot: a root-owned directory the pool cannot write; /proc for CGI. */
static int
check_chroot(const struct pool_conf *pc)
{
	struct stat	 st;
	char		 proc[PATH_MAX];

	if (stat(pc->chroot, &st) == -1) {
		log_warn("%s:%d: pool \"%s\": chroot %s", pc->file, pc->line,
		    pc->name, pc->chroot);
		return -1;
	}
	if (st.st_uid != 0 || writable_by(pc, &st)) {
		log_warnx("%s:%d: pool \"%s\": chroot %s must belong to root "
		    "and not be writable by the pool's user", pc->file,
		    pc->line, pc->name, pc->chroot);
		return -1;
	}
	/* cgi_path.c judges each program by its /proc/self/fd link. */
	snprintf(proc, sizeof(proc), "%s/proc/self/fd", pc->chroot);
	if (pc->handler == HANDLER_CGI && access(proc, F_OK) == -1) {
		log_warnx("%s:%d: pool \"%s\": a CGI pool in chroot %s needs "
		    "/proc mounted inside it (%s/proc: mount -t proc proc "
		    "%s/proc)", pc->file, pc->line, pc->name, pc->chroot,
		    pc->chroot, pc->chroot);
		return -1;
	}
	return 0;
}

/* A limit for a message: "unlimited" or the number. */
static const char *
rlimit_str(rlim_t v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/*
 * The cgi_rlimit_* a worker could not set: it no longer runs as root when
 * it starts a program, so none may be above its own hard limit, which is
 * its rlimit_* or else the one it inherits from this process.
 */
static int
check_cgi_rlimits(const struct pool_conf *pc,
    uid_t euid)
{
	const struct pool_rlimit	*cl;
	struct rlimit			 rl;
	char				 a[32], b[32];
	size_t				 i, j;
	int				 rc = 0;

	if (pc->handler != HANDLER_CGI || (pc->has_user ? pc->uid : euid) == 0)
		return 0;
	for (i = 0; i < pc->ncgi_rlimits; i++) {
		cl = &pc->cgi_rlimits[i];
		if (getrlimit(cl->resource, &rl) == -1)
			continue;
		for (j = 0; j < pc->nrlimits; j++)
			if (pc->rlimits[j].resource == cl->resource)
				rl.rlim_max = pc->rlimits[j].value;
		if (cl->value <= rl.rlim_max)
			continue;
		log_warnx("%s:%d: pool \"%s\": %s %s is above the workers' "
		    "hard limit, %s: an unprivileged worker cannot raise it, "
		    "and no program would start", pc->file, pc->line,
		    pc->name, cl->name, rlimit_str(cl->value, a, sizeof(a)),
		    rlimit_str(rl.rlim_max, b, sizeof(b)));
		rc = -1;
	}
	return rc;
}

/*
 * Whether the pool's group or one of its supplementary groups is root's
 * (gid 0): files of group root, such as pooled.conf at 0640 and the log,
 * are root's secrets.
 */
static bool
group_root(const struct pool_conf *pc)
{
	size_t	 i;

	if (pc->gid == 0)
		return true;
	for (i = 0; i < pc->ngroups; i++)
		if (pc->groups[i] == 0)
			return true;
	return false;
}

/* Who one pool runs as, against who this process is. */
static int
check_runas(const struct pool_conf *pc, uid_t euid)
{
	int	 line = pc->user_line > 0 ? pc->user_line : pc->line;

	if (euid == 0) {
		if (pc->has_user && pc->uid != 0 && !group_root(pc))
			return 0;
		if (!pc->allow_root && pc->has_user && pc->uid != 0) {
			log_warnx("%s:%d: pool \"%s\": user \"%s\" would run "
			    "with group root (gid 0), which may read what "
			    "root's group may (pooled.conf at 0640, the log); "
			    "set group, or take the user out of group root, "
			    "or, to run it so anyway, allow_root = yes",
			    pc->file, line, pc->name, pc->user);
			return -1;
		}
		if (!pc->allow_root) {
			log_warnx("%s:%d: pool \"%s\": %s: its module or CGI "
			    "programs would run as root; set user (a user of "
			    "its own, not www-data) or, to run it as root "
			    "anyway, allow_root = yes", pc->file, line,
			    pc->name, pc->has_user ? "user is root" :
			    "no user set and pooled runs as root");
			return -1;
		}
		if (pc->has_user && pc->uid != 0) {
			log_warnx("%s:%d: pool \"%s\": runs with group root "
			    "(allow_root): whoever breaks its module or CGI "
			    "programs reads what root's group may",
			    pc->file, line, pc->name);
			return 0;
		}
		log_warnx("%s:%d: pool \"%s\": runs as root (allow_root): "
		    "whoever breaks its module or CGI programs owns the "
		    "machine", pc->file, line, pc->name);
		return 0;
	}
	if (pc->has_user && pc->uid != euid) {
		log_warnx("%s:%d: pool \"%s\": user \"%s\": pooled runs as uid "
		    "%ld and cannot switch to uid %ld; start it as root, or "
		    "remove user", pc->file, line, pc->name, pc->user,
		    (long)euid, (long)pc->uid);
		return -1;
	}
	if (pc->chroot != NULL) {
		log_warnx("%s:%d: pool \"%s\": chroot needs pooled to start as "
		    "root", pc->file, pc->line, pc->name);
		return -1;
	}
	return 0;
}

/*
 * Check conf against this process: who may run what, chroots, and the
 * warnings above.  Returns 0, or -1 when it must not start (logged as
 * "file:line: reason").
 */
int
preflight_check(const struct conf *conf)
{
	const struct pool_conf	*pc;
	uid_t			 euid = geteuid();
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < conf->npools; i++) {
		pc = &conf->pools[i];
		if (check_runas(pc, euid) == -1) {
			rc = -1;
			continue;
		}
		if (pc->chroot != NULL && check_chroot(pc) == -1) {
			rc = -1;
			continue;
		}
		if (check_cgi_rlimits(pc, euid) == -1) {
			rc = -1;
			continue;
		}
		/* Root may write anything: its warning was the one above. */
		if (pc->uid != 0)
			warn_writable(pc);
	}
	return rc;
}
