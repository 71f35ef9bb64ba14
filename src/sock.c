/*
 * Listening sockets, opened by the master before any worker exists and
 * inherited by the workers of the pool.  libfcgi's own opener is IPv4 only
 * and exits on error, so pooled opens every socket itself.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

	if (la->kind == LISTEN_UNIX && clear_stale_socket(pc) == -1)
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
	}
	/*
	 * A unix socket is born with the umask's mode; narrow the umask
	 * around bind so it is never more open than listen_mode, not even
	 * until the chmod below (the master is single-threaded).
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
	/* The umask cannot add bits; chmod the path to the exact mode. */
	if (la->kind == LISTEN_UNIX && chmod(la->path, pc->listen_mode) == -1) {
		log_warn("pool %s: chmod %s", pc->name, la->path);
		goto fail_unlink;
	}
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
	if (la->kind == LISTEN_UNIX)
		unlink(la->path);
fail:
	close(fd);
	return -1;
}

/* Remove a pool's unix socket file at shutdown. */
void
sock_unlink(const struct pool_conf *pc)
{
	if (pc->listen.kind == LISTEN_UNIX && unlink(pc->listen.path) == -1 &&
	    errno != ENOENT)
		log_warn("pool %s: unlink %s", pc->name, pc->listen.path);
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
