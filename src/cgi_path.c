/*
 * Which program a CGI request names, and whether it may run.
 *
 * As fcgiwrap does, the file is SCRIPT_FILENAME (nginx's stock
 * "$document_root$fastcgi_script_name"), else DOCUMENT_ROOT + SCRIPT_NAME;
 * when the name runs past a file (/cgi-bin/app.cgi/extra/path), the file
 * is the program and the rest is PATH_INFO.  Unlike fcgiwrap, the
 * program's real path (symlinks and ".." resolved) must lie inside one of
 * the pool's cgi_root directories, be a regular file and be executable;
 * otherwise nothing runs and the caller answers 403 or 404.  In a
 * chroot, both names may be given as seen from outside it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define CGI_PATH_MAX_DEPTH	64

static int
fail(int *status, int code, const char **why, const char *reason)
{
	*status = code;
	*why = reason;
	return -1;
}

/* Is path (a real path) root itself or below it? */
static bool
below(const char *path, const char *root)
{
	size_t	 len = strlen(root);

	if (strcmp(root, "/") == 0)
		return true;
	return strncmp(path, root, len) == 0 &&
	    (path[len] == '/' || path[len] == '\0');
}

/*
 * The interpreter cgi_interpreter maps path's extension to, or NULL.
 * Entries are ".ext=/path", checked by conf.c.
 */
static const char *
interpreter_for(const struct pool_conf *pc, const char *path)
{
	const char	*base = strrchr(path, '/'), *dot, *eq;
	size_t		 i;

	if ((dot = strrchr(base != NULL ? base : path, '.')) == NULL)
		return NULL;
	for (i = 0; i < pc->ncgi_interpreters; i++) {
		eq = strchr(pc->cgi_interpreters[i], '=');
		if ((size_t)(eq - pc->cgi_interpreters[i]) == strlen(dot) &&
		    strncmp(pc->cgi_interpreters[i], dot, strlen(dot)) == 0)
			return eq + 1;
	}
	return NULL;
}

/*
 * Split file into the longest prefix that exists and the rest, which
 * becomes PATH_INFO.  Returns 0 with the prefix in t->path and the rest in
 * t->path_info_buf, or -1 with *status and *why.
 */
static int
split_path_info(const char *file, struct cgi_target *t, int *status,
    const char **why)
{
	struct stat	 st;
	char		*cut;
	int		 depth;

	if (strlen(file) >= sizeof(t->path))
		return fail(status, 404, why, "path too long");
	strcpy(t->path, file);
	t->path_info_buf[0] = '\0';
	for (depth = 0; depth < CGI_PATH_MAX_DEPTH; depth++) {
		if (stat(t->path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				return t->path_info_buf[0] == '\0' ?
				    fail(status, 403, why, "is a directory") :
				    fail(status, 404, why, "no such file");
			return 0;
		}
		if (errno == EACCES)
			return fail(status, 403, why, "permission denied");
		if (errno != ENOENT && errno != ENOTDIR)
			return fail(status, 404, why, strerror(errno));
		/* Move the last component over to PATH_INFO. */
		if ((cut = strrchr(t->path, '/')) == NULL || cut == t->path)
			return fail(status, 404, why, "no such file");
		if (strlen(cut) + strlen(t->path_info_buf) >=
		    sizeof(t->path_info_buf))
			return fail(status, 404, why, "path too long");
		memmove(t->path_info_buf + strlen(cut), t->path_info_buf,
		    strlen(t->path_info_buf) + 1);
		memcpy(t->path_info_buf, cut, strlen(cut));
		*cut = '\0';
	}
	return fail(status, 404, why, "path too deep");
}

/*
 * Open the checked file's directory and make sure it is the one the
 * file's real path names and that it still holds that very file.  A
 * script is run by its name in this directory (handler_cgi.c), so no
 * rename of a directory above it can swap it; only a writer of that
 * directory, inside the cgi_root, could.
 */
static int
pin_directory(struct cgi_target *t, const struct stat *file)
{
	char		 proc[64], real[PATH_MAX];
	struct stat	 st;
	ssize_t		 n;

	if ((t->dirfd = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->dirfd);
	if ((n = readlink(proc, real, sizeof(real) - 1)) <= 0)
		return -1;
	real[n] = '\0';
	if (strcmp(real, t->dir) != 0 ||
	    fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_dev != file->st_dev || st.st_ino != file->st_ino)
		return -1;
	return 0;
}

/*
 * Resolve the program a request names.  params are the web server's; roots
 * the pool's cgi_root real paths.  Returns 0 with t filled, or -1 with the
 * HTTP status to answer (403, 404, 500) and a reason for the log; *file is
 * set to the name the request asked for, for that log line.
 */
int
cgi_path_resolve(char *const *params, const struct pool_conf *pc,
    struct cgi_target *t, const char **file, int *status, const char **why)
{
	char *const	*roots = pc->cgi_roots;
	const char	*sf = req_envp_get(params, "SCRIPT_FILENAME");
	const char	*sn = req_envp_get(params, "SCRIPT_NAME");
	const char	*dr = req_envp_get(params, "DOCUMENT_ROOT");
	char		 joined[PATH_MAX], real[PATH_MAX], *slash;
	char		 proc[64], magic[2];
	struct stat	 st;
	size_t		 i, snlen, pilen;
	ssize_t		 n;
	int		 rfd;

	memset(t, 0, sizeof(*t));
	t->fd = t->dirfd = -1;
	/*
	 * Apache's mod_proxy_scgi, and mod_proxy_fcgi unless told
	 * otherwise, send "proxy:scheme://host/path": no file name at all.
	 */
	if (sf != NULL && strncmp(sf, "proxy:", 6) == 0)
		sf = NULL;
	/*
	 * A chrooted worker sees its files without the chroot in front, but
	 * the web server names them as seen from outside (nginx's stock
	 * "$document_root$fastcgi_script_name"): take it off, as privs_view
	 * did for cgi_root.  The program gets that DOCUMENT_ROOT too.
	 */
	sf = privs_inside(pc, sf);
	if (dr != NULL && privs_inside(pc, dr) != dr)
		dr = t->document_root = privs_inside(pc, dr);
	if (sf != NULL && *sf != '\0')
		*file = sf;
	else if (dr != NULL && sn != NULL) {
		if ((size_t)snprintf(joined, sizeof(joined), "%s%s", dr, sn) >=
		    sizeof(joined)) {
			*file = sn;
			return fail(status, 404, why, "path too long");
		}
		*file = joined;
	} else {
		*file = "-";
		return fail(status, 500, why, "the web server sent neither "
		    "SCRIPT_FILENAME nor DOCUMENT_ROOT and SCRIPT_NAME");
	}
	if (**file != '/')
		return fail(status, 403, why, "not an absolute path");
	if (split_path_info(*file, t, status, why) == -1)
		return -1;
	/*
	 * Open the file, then judge what was opened: where it really is
	 * (from /proc/self/fd, whatever was renamed since the name was
	 * resolved), its type and mode.  The program run is that open file
	 * (see handler_cgi.c), not whatever the name means by then.
	 */
	if ((t->fd = open(t->path, O_PATH | O_CLOEXEC)) == -1)
		return fail(status, errno == EACCES ? 403 : 404, why,
		    errno == EACCES ? "permission denied" : "no such file");
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	if ((n = readlink(proc, real, sizeof(real) - 1)) <= 0 ||
	    (size_t)n >= sizeof(t->path)) {
		cgi_path_release(t);
		return fail(status, 500, why, "cannot read /proc/self/fd");
	}
	real[n] = '\0';
	for (i = 0; roots[i] != NULL; i++)
		if (below(real, roots[i]))
			break;
	if (roots[i] == NULL) {
		cgi_path_release(t);
		return fail(status, 403, why, "outside every cgi_root");
	}
	if (fstat(t->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cgi_path_release(t);
		return fail(status, 403, why, "not a regular file");
	}
	t->interpreter = interpreter_for(pc, real);
	if (t->interpreter == NULL &&
	    faccessat(t->fd, "", X_OK, AT_EMPTY_PATH) == -1) {
		cgi_path_release(t);
		return fail(status, 403, why, "not executable");
	}
	/* An exec-only file cannot be read: then it is no script. */
	if ((rfd = open(proc, O_RDONLY | O_CLOEXEC)) != -1) {
		t->script = pread(rfd, magic, 2, 0) == 2 &&
		    memcmp(magic, "#!", 2) == 0;
		close(rfd);
	}
	strcpy(t->path, real);
	strcpy(t->dir, real);
	slash = strrchr(t->dir, '/');
	slash[slash == t->dir ? 1 : 0] = '\0';
	t->base = strrchr(t->path, '/') + 1;
	if (pin_directory(t, &st) == -1) {
		cgi_path_release(t);
		return fail(status, 403, why, "renamed while it was checked");
	}

	/* SCRIPT_NAME names the program; the rest went to PATH_INFO. */
	pilen = strlen(t->path_info_buf);
	if (pilen > 0) {
		t->path_info = t->path_info_buf;
		if (dr != NULL && (size_t)snprintf(t->path_translated,
		    sizeof(t->path_translated), "%s%s", dr, t->path_info) >=
		    sizeof(t->path_translated))
			t->path_translated[0] = '\0';
	}
	if (sn != NULL) {
		snlen = strlen(sn);
		if (pilen > 0 && snlen >= pilen &&
		    strcmp(sn + snlen - pilen, t->path_info_buf) == 0)
			snlen -= pilen;
		if (snlen >= sizeof(t->script_name_buf))
			snlen = sizeof(t->script_name_buf) - 1;
		memcpy(t->script_name_buf, sn, snlen);
		t->script_name_buf[snlen] = '\0';
		t->script_name = t->script_name_buf;
	}
	return 0;
}

/* Close what cgi_path_resolve opened. */
void
cgi_path_release(struct cgi_target *t)
{
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
	if (t->dirfd != -1) {
		close(t->dirfd);
		t->dirfd = -1;
	}
}
