/*
 * Listening sockets, opened by the master before any worker exists and
 * inherited by the workers of the pool.  libfcgi's own opener is IPv4 only
 * and exits on error, so pooled opens every socket itself.
 *
 * A unix socket's file lives in a directory others may reach, so no
 * operation on it goes by path alone: the socket is born with its mode
 * (the umask around bind), and its owner is set, its mode changed on a
 * reload and its file removed only after the path was opened without
 * following a symlink and found to be the very file the kernel says the
 * socket is bound to (sock_diag, unix_diag.c).  Whatever else is there, a
 * symlink to a file of root's, is left alone.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

/*
 * A socket file already at path: replace it if it is stale (nothing
 * accepts on it), refuse it if a live process still listens there.
 */
static int
clear_stale_socket(const struct pool_conf *pc)
{
	const struct listen_addr	*la = &pc->listen;
	struct stat			 st;
	int				 fd, rc;

	if (lstat(la->path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("pool %s: listen %s", pc->name, la->path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("pool %s: listen %s: exists and is not a socket",
		    pc->name, la->path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("pool %s: socket", pc->name);
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)&la->ss, la->sslen);
	close(fd);
	if (rc == 0) {
		log_warnx("pool %s: listen %s: in use by a running process",
		    pc->name, la->path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		log_warn("pool %s: listen %s: probing the old socket",
		    pc->name, la->path);
		return -1;
	}
	if (unlink(la->path) == -1) {
		log_warn("pool %s: unlink stale socket %s", pc->name,
		    la->path);
		return -1;
	}
	log_notice("pool %s: replaced stale socket %s", pc->name, la->path);
	return 0;
}

/* What a file is, for a log line. */
static const char *
file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFSOCK:
		return "another socket";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	default:
		return "a file of unknown type";
	}
}

/*
 * Open what is at pc's socket path, without following a symlink there
 * (O_PATH: nothing is read or written through the descriptor), and check
 * that it is the file socket fd is bound to: a socket with the device and
 * inode the kernel gives.  Returns the descriptor, with its stat in *st,
 * or -1, logged with what was found there and, in refusal, what pooled
 * does not do ("not removing it"); a path that is gone is logged only
 * when !gone_ok.
 */
static int
open_bound_file(const struct pool_conf *pc, int fd, const char *refusal,
    bool gone_ok, struct stat *st)
{
	const char	*path = pc->listen.path;
	char		 target[128] = "";
	dev_t		 dev;
	uint32_t	 ino;
	ssize_t		 n;
	int		 pfd;

	if (unix_diag_vfs(fd, &dev, &ino) == -1) {
		log_warn("pool %s: listen %s: cannot learn from the kernel "
		    "(sock_diag) which file the socket is bound to; %s",
		    pc->name, path, refusal);
		return -1;
	}
	if ((pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT || !gone_ok)
			log_warn("pool %s: listen %s (%s)", pc->name, path,
			    refusal);
		return -1;
	}
	if (fstat(pfd, st) == -1) {
		log_warn("pool %s: listen %s: fstat (%s)", pc->name, path,
		    refusal);
		goto fail;
	}
	/* The kernel gives the low 32 bits of the inode number only. */
	if (S_ISSOCK(st->st_mode) && st->st_dev == dev &&
	    (uint32_t)st->st_ino == ino)
		return pfd;
	if (S_ISLNK(st->st_mode) && (n = readlinkat(pfd, "", target,
	    sizeof(target) - 1)) > 0) {
		target[n] = '\0';
		if ((size_t)n == sizeof(target) - 1)
			snprintf(target + n - 3, 4, "...");
	}
	log_warnx("pool %s: listen %s: the path is %s%s%s (owner %ld, group "
	    "%ld, mode %04o), not the socket pooled bound; %s", pc->name,
	    path, file_kind(st->st_mode), target[0] != '\0' ? " to " : "",
	    target, (long)st->st_uid, (long)st->st_gid,
	    (unsigned int)(st->st_mode & 07777), refusal);
fail:
	close(pfd);
	return -1;
}

/*
 * Give the file of unix socket fd the owner, group and mode pc says,
 * after checking that the file at the path is the socket's.  The owner
 * and group are left as they are where pc sets none.
 */
int
sock_apply(const struct pool_conf *pc, int fd)
{
	const char	*path = pc->listen.path;
	struct stat	 st;
	char		 proc[64];
	int		 pfd, rc = -1;

	if (pc->listen.kind != LISTEN_UNIX)
		return 0;
	if ((pfd = open_bound_file(pc, fd, "not changing its owner or mode",
	    false, &st)) == -1)
		return -1;
	if ((pc->listen_uid != (uid_t)-1 && st.st_uid != pc->listen_uid) ||
	    (pc->listen_gid != (gid_t)-1 && st.st_gid != pc->listen_gid)) {
		if (fchownat(pfd, "", pc->listen_uid, pc->listen_gid,
		    AT_EMPTY_PATH) == -1) {
			log_warn("pool %s: listen %s: chown to uid %ld, gid %ld",
			    pc->name, path, pc->listen_uid == (uid_t)-1 ? -1L :
			    (long)pc->listen_uid, pc->listen_gid == (gid_t)-1 ?
			    -1L : (long)pc->listen_gid);
			goto done;
		}
		log_info("pool %s: listen %s: owner %ld, group %ld", pc->name,
		    path, pc->listen_uid == (uid_t)-1 ? (long)st.st_uid :
		    (long)pc->listen_uid, pc->listen_gid == (gid_t)-1 ?
		    (long)st.st_gid : (long)pc->listen_gid);
	}
	if ((st.st_mode & 07777) != pc->listen_mode) {
		/*
		 * fchmod refuses an O_PATH descriptor; its /proc link leads
		 * to the same inode, whatever the path holds by now.
		 */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		if (chmod(proc, pc->listen_mode) == -1) {
			log_warn("pool %s: listen %s: chmod %04o through %s",
			    pc->name, path, pc->listen_mode, proc);
			goto done;
		}
		log_info("pool %s: listen %s: mode %04o", pc->name, path,
		    pc->listen_mode);
	}
	rc = 0;
done:
	close(pfd);
	return rc;
}

/*
 * Why a directory owned by owner, with mode, may not hold a socket of
 * pc's, when the master runs as root; NULL when it may.  Anyone else who
 * can write to it could swap the socket file for something of theirs.
 */
const char *
sock_dir_problem(uid_t owner, mode_t mode, const struct pool_conf *pc)
{
	if (!S_ISDIR(mode))
		return "it is not a directory";
	if (owner != 0 && !(pc->has_user && owner == pc->uid))
		return "its owner is neither root nor the pool's user";
	if ((mode & (S_IWGRP | S_IWOTH)) != 0 && (mode & S_ISVTX) == 0)
		return "its group or others may write to it, and it has no "
		    "sticky bit";
	return NULL;
}

/*
 * The first directory above dir, as written and as resolved, that users
 * other than root may change (owned by another user, or writable by its
 * group or others without the sticky bit), copied into bad with its stat
 * in *st; false when there is none.  Whoever may change one could move
 * what lies under it away and put a symlink to a directory of their
 * choice in its place, so that root binds, changes and removes sockets
 * there: "/home/app/run/app.sock" with /home/app the pool user's.
 */
static bool
unsafe_ancestor(const char *dir, char *bad, size_t badlen, struct stat *st)
{
	char	 real[PATH_MAX], path[PATH_MAX], *slash;
	int	 k;

	for (k = 0; k < 2; k++) {
		if (k == 0)
			snprintf(path, sizeof(path), "%s", dir);
		else if (realpath(dir, real) == NULL)
			return false;	/* stat(dir) worked: a race */
		else
			snprintf(path, sizeof(path), "%s", real);
		/* Each ancestor, from the parent of dir up to "/". */
		while ((slash = strrchr(path, '/')) != NULL) {
			slash[slash == path ? 1 : 0] = '\0';
			if (stat(path, st) == -1 || !S_ISDIR(st->st_mode) ||
			    st->st_uid != 0 || ((st->st_mode &
			    (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))) {
				snprintf(bad, badlen, "%s", path);
				return true;
			}
			if (slash == path)
				break;
		}
	}
	return false;
}

/*
 * Started as root, refuse a unix socket of pc's in a directory that users
 * other than root and the pool's user may change (sock_dir_problem), or
 * below one that users other than root may change (unsafe_ancestor).
 */
int
sock_check_dir(const struct pool_conf *pc)
{
	char		 dir[sizeof(pc->listen.path)], *slash;
	char		 bad[PATH_MAX];
	const char	*why;
	struct stat	 st;

	if (pc->listen.kind != LISTEN_UNIX || geteuid() != 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", pc->listen.path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;	/* listen_addr_parse: always absolute */
	slash[slash == dir ? 1 : 0] = '\0';
	if (stat(dir, &st) == -1) {
		log_warn("pool %s: listen %s: socket directory %s", pc->name,
		    pc->listen.path, dir);
		return -1;
	}
	if ((why = sock_dir_problem(st.st_uid, st.st_mode, pc)) == NULL) {
		if (!unsafe_ancestor(dir, bad, sizeof(bad), &st))
			return 0;
		log_warnx("pool %s: listen %s: refusing the socket directory "
		    "%s: %s above it (owner %ld, group %ld, mode %04o) may be "
		    "changed by users other than root, who could put another "
		    "directory in its place; make every directory above it "
		    "root's and writable by root alone, or sticky", pc->name,
		    pc->listen.path, dir, bad, (long)st.st_uid,
		    (long)st.st_gid, (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	log_warnx("pool %s: listen %s: refusing the socket directory %s "
	    "(owner %ld, group %ld, mode %04o): %s; make it owned by root "
	    "or the pool's user and writable by them alone, or sticky",
	    pc->name, pc->listen.path, dir, (long)st.st_uid, (long)st.st_gid,
	    (unsigned int)(st.st_mode & 07777), why);
	return -1;
}

/*
 * Started as root, warn once about a unix socket nobody but root can
 * connect to, which is what a pool gets without listen_owner and
 * listen_group unless its mode lets others in: the web server is rarely
 * root.
 */
void
sock_warn_access(const struct pool_conf *pc)
{
	if (pc->listen.kind != LISTEN_UNIX || geteuid() != 0 ||
	    pc->listen_uid != (uid_t)-1 || pc->listen_gid != (gid_t)-1 ||
	    (pc->listen_mode & S_IWOTH) != 0)
		return;
	log_msg(POOLED_LOG_WARNING, "pool %s: listen %s: the socket is "
	    "root's with mode %04o: a web server running as another user "
	    "(such as www-data) cannot connect; set listen_owner or "
	    "listen_group", pc->name, pc->listen.path, pc->listen_mode);
}

/*
 * A TCP listener's receive buffer, for a pool whose largest request
 * header is above the defaults.  A thread takes a connection only once
 * its whole header can be peeked (peek.c), so the header must fit in the
 * socket's receive buffer, which TCP starts at tcp_rmem's 128 KiB and
 * grows only as bytes are read: a 200 KiB header that max_params_size
 * allows never arrived whole and the connection was dropped at
 * read_timeout.  Twice the header leaves room for the kernel's overhead;
 * accepted connections inherit it.  The master is root here, so the
 * limit of net.core.rmem_max does not apply (SO_RCVBUFFORCE); else the
 * kernel caps it.  (A unix socket's queue is bounded by the sender's send
 * buffer instead, net.core.wmem_default for nginx, 208 KiB by default.)
 * Also for a socket a reload keeps, whose pool may have raised it.
 */
void
sock_rcvbuf(const struct pool_conf *pc, int fd)
{
	size_t	 head;
	int	 want;

	if (pc->listen.kind != LISTEN_TCP)
		return;
	if (pc->protocol == PROTO_SCGI)
		head = pc->scgi_header_max;
	else
		head = pc->max_params_size + FCGI_FRAMING_SLACK +
		    FCGI_LEAD_MGMT_MAX * (8 + FCGI_MGMT_MAX + 255);
	if (head <= FCGI_PARAMS_SIZE + 32768)
		return;
	want = (int)(2 * head);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want,
	    sizeof(want)) == -1 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF,
	    &want, sizeof(want)) == -1)
		log_warn("pool %s: SO_RCVBUF %d", pc->name, want);
}

/*
 * Open, bind and listen on a pool's address.  The socket is non-blocking
 * (acceptors wait for it in epoll and race for each connection) and
 * close-on-exec.
 */
int
sock_open(const struct pool_conf *pc)
{
	const struct listen_addr	*la = &pc->listen;
	mode_t				 old_umask = 0;
	int				 fd, rc, on = 1;

	/* A socket systemd opened for the pool (sd_listen.c) comes first. */
	if (sd_listen_take(pc, &fd) == -1)
		return -1;
	if (fd != -1) {
		sock_rcvbuf(pc, fd);
		if (la->kind == LISTEN_UNIX && (pc->listen_uid != (uid_t)-1 ||
		    pc->listen_gid != (gid_t)-1) && sock_apply(pc, fd) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (la->kind == LISTEN_UNIX && (sock_check_dir(pc) == -1 ||
	    clear_stale_socket(pc) == -1))
		return -1;
	fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_warn("pool %s: socket", pc->name);
		return -1;
	}
	if (la->kind == LISTEN_TCP) {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			goto fail_opt;
		if (la->ss.ss_family == AF_INET6 && setsockopt(fd,
		    IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
			goto fail_opt;
		sock_rcvbuf(pc, fd);
	}
	/*
	 * A unix socket is born with mode 0777 & ~umask: with this umask
	 * around bind (the master is single-threaded), that is listen_mode
	 * exactly, from the first instant, with no chmod by path.
	 */
	if (la->kind == LISTEN_UNIX)
		old_umask = umask(~pc->listen_mode & 0777);
	rc = bind(fd, (const struct sockaddr *)&la->ss, la->sslen);
	if (la->kind == LISTEN_UNIX)
		umask(old_umask);
	if (rc == -1) {
		log_warn("pool %s: bind %s", pc->name, la->text);
		goto fail;
	}
	if (la->kind == LISTEN_UNIX && (pc->listen_uid != (uid_t)-1 ||
	    pc->listen_gid != (gid_t)-1) && sock_apply(pc, fd) == -1)
		goto fail_unlink;
	if (listen(fd, pc->listen_backlog) == -1) {
		log_warn("pool %s: listen %s", pc->name, la->text);
		goto fail_unlink;
	}
	log_info("pool %s: listening on %s", pc->name, la->text);
	return fd;

fail_opt:
	log_warn("pool %s: setsockopt", pc->name);
	goto fail;
fail_unlink:
	sock_unlink(pc, fd);
fail:
	close(fd);
	return -1;
}

/*
 * Remove the file of a pool's unix socket fd (before fd is closed), if
 * the path still holds it and systemd did not pass the socket.  Between the check and the unlink only a user
 * who may write to the directory could swap the file, and such a user may
 * remove that name anyway.
 */
void
sock_unlink(const struct pool_conf *pc, int fd)
{
	struct stat	 st;
	int		 pfd;

	/* systemd's socket file: it keeps listening there for the next run. */
	if (pc->listen.kind != LISTEN_UNIX || sd_listen_owns(fd))
		return;
	if ((pfd = open_bound_file(pc, fd, "not removing it", true,
	    &st)) == -1)
		return;
	if (unlink(pc->listen.path) == -1 && errno != ENOENT)
		log_warn("pool %s: unlink %s", pc->name, pc->listen.path);
	close(pfd);
}

/*
 * Describe an address from accept or getpeername for a log line:
 * "ip:port" or "[v6]:port"; false for other families.  No system call.
 */
bool
sock_addr_name(const struct sockaddr_storage *ss, socklen_t sslen, char *buf,
    size_t len)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET && sslen >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		return true;
	}
	if (ss->ss_family == AF_INET6 && sslen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		return true;
	}
	return false;
}

/*
 * Describe the peer of a connected socket for a log line: "ip:port",
 * "[v6]:port", or "unix peer pid N" (from SO_PEERCRED).
 */
void
sock_peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct ucred		 cred;
	socklen_t		 credlen = sizeof(cred);

	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(buf, len, "unknown peer");
		return;
	}
	if (sock_addr_name(&ss, sslen, buf, len))
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) == 0)
		snprintf(buf, len, "unix peer pid %ld", (long)cred.pid);
	else
		snprintf(buf, len, "unix peer");
}

/* Send all of buf on a socket, or -1; never raises SIGPIPE. */
int
sock_send_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
