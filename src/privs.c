/*
 * A worker's privileges: what it gives up, right after fork and before it
 * loads a module, runs process_init or accepts anything.  In this order:
 * the terminal it may have been started from, resource limits (while
 * still root, so a raised hard limit sticks), the chroot (it needs
 * root), the supplementary groups, the group, the user
 * (real, effective and saved: nothing to switch back to), then proof that
 * root is gone for good, then no_new_privs, so that neither the module
 * nor a CGI program gains privileges through a setuid file.
 *
 * With a chroot, the paths of the config are still written as the master
 * sees them, under the chroot; privs_view() gives the worker the same pool
 * with those paths as they are seen from inside.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

/* Set every limit of v, soft and hard alike. */
int
privs_set_rlimits(const struct pool_rlimit *v, size_t n)
{
	struct rlimit	 rl;
	size_t		 i;

	for (i = 0; i < n; i++) {
		rl.rlim_cur = rl.rlim_max = v[i].value;
		if (setrlimit(v[i].resource, &rl) == -1) {
			log_warn("privs: %s", v[i].name);
			return -1;
		}
	}
	return 0;
}

/*
 * Whether the switch to uid and gid took and cannot be undone: every one
 * of the real, effective and saved ids is the pool's, and a try to get
 * root back fails.
 */
static int
verify(uid_t uid, gid_t gid)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		log_warn("privs: getresuid");
		return -1;
	}
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid) {
		log_warnx("privs: ids are %ld/%ld/%ld:%ld/%ld/%ld, not %ld:%ld",
		    (long)ru, (long)eu, (long)su, (long)rg, (long)eg, (long)sg,
		    (long)uid, (long)gid);
		return -1;
	}
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_warnx("privs: root could be regained after the switch");
		return -1;
	}
	if (uid != 0 && gid != 0 && (setgid(0) != -1 || setegid(0) != -1)) {
		log_warnx("privs: group root could be regained");
		return -1;
	}
	return 0;
}

/*
 * Leave the terminal pooled was started from, if any (`pooled -t` or
 * `pooled -F` typed in a root shell): in its session, code of the pool's
 * user could open /dev/tty and push input into root's shell with
 * TIOCSTI, or read what is typed there from an inherited descriptor.
 * So a session of its own, without a controlling terminal, stdin from
 * /dev/null, and a terminal on stdout or stderr (the log, in the
 * foreground) reopened write-only, without becoming a controlling
 * terminal again.  Must run while /proc is reachable (before a chroot).
 */
static int
detach_terminal(void)
{
	char	 proc[32];
	int	 fd, nfd;

	if (setsid() == -1) {
		log_warn("privs: setsid");
		return -1;
	}
	for (fd = 0; fd <= 2; fd++) {
		if (!isatty(fd))
			continue;
		if (fd == STDIN_FILENO)
			nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		else {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			nfd = open(proc, O_WRONLY | O_NOCTTY | O_CLOEXEC);
			if (nfd == -1)
				nfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		}
		/* dup2 clears close-on-exec, as 0, 1 and 2 always had it. */
		if (nfd == -1 || dup2(nfd, fd) == -1) {
			log_warn("privs: fd %d, a terminal", fd);
			if (nfd != -1)
				close(nfd);
			return -1;
		}
		close(nfd);
	}
	return 0;
}

/*
 * Give up what the master had, as pool pc says; logs and returns -1 on
 * any failure, after which the caller must exit (it may be half-way).
 */
int
privs_enter(const struct pool_conf *pc)
{
	const char	*dir;
	bool		 dumpable = false;
	size_t		 i;

	if (detach_terminal() == -1)
		return -1;
	if (privs_set_rlimits(pc->rlimits, pc->nrlimits) == -1)
		return -1;
	for (i = 0; i < pc->nrlimits; i++)
		if (pc->rlimits[i].resource == RLIMIT_CORE &&
		    pc->rlimits[i].value > 0)
			dumpable = true;
	if (pc->chroot != NULL) {
		if (chroot(pc->chroot) == -1) {
			log_warn("privs: chroot %s", pc->chroot);
			return -1;
		}
		if (chdir("/") == -1) {
			log_warn("privs: chdir / in the chroot");
			return -1;
		}
	}
	if (pc->has_user && geteuid() == 0) {
		if (setgroups(pc->ngroups, pc->groups) == -1) {
			log_warn("privs: setgroups");
			return -1;
		}
		if (setresgid(pc->gid, pc->gid, pc->gid) == -1) {
			log_warn("privs: setresgid %ld", (long)pc->gid);
			return -1;
		}
		if (setresuid(pc->uid, pc->uid, pc->uid) == -1) {
			log_warn("privs: setresuid %ld", (long)pc->uid);
			return -1;
		}
		if (verify(pc->uid, pc->gid) == -1)
			return -1;
	}
	dir = privs_inside(pc, pc->chdir);
	if (dir != NULL && chdir(dir) == -1) {
		log_warn("privs: chdir %s", dir);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) == -1) {
		log_warn("privs: PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	/*
	 * Not dumpable: the CGI programs, which run as the same user, cannot
	 * ptrace the worker or read its memory.  A pool that asks for core
	 * files (rlimit_core) must be dumpable to get them.
	 */
	if (prctl(PR_SET_DUMPABLE, dumpable ? 1L : 0L, 0L, 0L, 0L) == -1) {
		log_warn("privs: PR_SET_DUMPABLE");
		return -1;
	}
	return 0;
}

/*
 * A path as pool pc's chrooted worker sees it: path with the chroot taken
 * off the front ("/" when they are equal).  Without a chroot, for NULL,
 * or for a path that does not lie under the chroot (conf.c checked those
 * of the config; a web server's may be either), path itself.  The result
 * points into path.
 */
const char *
privs_inside(const struct pool_conf *pc, const char *path)
{
	size_t	 n;

	if (pc->chroot == NULL || path == NULL)
		return path;
	n = strlen(pc->chroot);
	while (n > 0 && pc->chroot[n - 1] == '/')
		n--;
	/* "/srv/jail" holds "/srv/jail/x", not "/srv/jailbreak". */
	if (strncmp(path, pc->chroot, n) != 0 ||
	    (path[n] != '/' && path[n] != '\0'))
		return path;
	return path[n] == '\0' ? "/" : path + n;
}

/*
 * The pool as its worker sees it once chrooted: a copy whose module,
 * cgi_root and cgi_interpreter paths are inside the chroot.  pc itself
 * without a chroot.  The copy lives as long as the process.
 */
const struct pool_conf *
privs_view(const struct pool_conf *pc)
{
	struct pool_conf	*v;
	const char		*eq;
	size_t			 i, n;
	char			*s;

	if (pc->chroot == NULL)
		return pc;
	v = xmalloc(sizeof(*v));
	*v = *pc;
	if (pc->module != NULL)
		v->module = xstrdup(privs_inside(pc, pc->module));
	v->cgi_roots = xcalloc(pc->ncgi_roots + 1, sizeof(char *));
	for (i = 0; i < pc->ncgi_roots; i++)
		v->cgi_roots[i] = xstrdup(privs_inside(pc, pc->cgi_roots[i]));
	v->cgi_interpreters = xcalloc(pc->ncgi_interpreters + 1,
	    sizeof(char *));
	for (i = 0; i < pc->ncgi_interpreters; i++) {
		eq = strchr(pc->cgi_interpreters[i], '=') + 1;
		n = (size_t)(eq - pc->cgi_interpreters[i]);
		s = xmalloc(n + strlen(privs_inside(pc, eq)) + 1);
		memcpy(s, pc->cgi_interpreters[i], n);
		strcpy(s + n, privs_inside(pc, eq));
		v->cgi_interpreters[i] = s;
	}
	return v;
}
