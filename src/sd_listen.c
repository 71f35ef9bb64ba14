/*
 * Socket activation, sd_listen_fds(3): systemd opens the listen sockets
 * (pooled.socket) and passes them as descriptors 3 .. 3 + $LISTEN_FDS - 1
 * to the process whose pid is $LISTEN_PID, named by $LISTEN_FDNAMES
 * (FileDescriptorName=).  Each is matched to the pool whose listen
 * address it is bound to (as listen_addr.c parses and compares
 * addresses), else to the pool whose name it bears, and must be a
 * listening stream socket of that pool's address.
 *
 * The inherited descriptors stay here, open, for the life of the master:
 * a pool gets a duplicate (sd_listen_take), which a stop or a reload may
 * close like any other, and a reload that names the address again gets a
 * new duplicate of the same socket, never a new bind.  Their files belong
 * to systemd, so pooled never removes them (sd_listen_owns).
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

#define SD_LISTEN_FDS_START	3
/* More than any sane unit passes; a bound on what is read from env. */
#define SD_LISTEN_MAX		1024

/* has_addr: bound in a family pooled listens on; dev, ino: its dups. */
struct sd_sock {
	int			 fd;
	char			 name[256];	/* "" when unnamed */
	struct listen_addr	 addr;
	bool			 has_addr;
	dev_t			 dev;
	ino_t			 ino;
	bool			 used;
};

static struct sd_sock	*socks;
static size_t		 nsocks;

/* Parse a decimal environment value into *v; -1 when it is not one. */
static int
env_number(const char *name, long long max, long long *v)
{
	const char	*s = getenv(name);
	char		*end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < 0 || *v > max)
		return -1;
	return 0;
}

/*
 * The address socket fd is bound to, as listen_addr_parse would give it
 * from the config, so listen_addr_same compares like with like.  false
 * for a family or name pooled does not listen on (abstract unix names).
 */
static bool
bound_addr(int fd, struct listen_addr *la)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 text[300], host[INET6_ADDRSTRLEN], err[256];
	const struct sockaddr_un *sun;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return false;
	if (ss.ss_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)&ss;
		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] != '/')
			return false;
		snprintf(text, sizeof(text), "unix:%.*s",
		    (int)(len - offsetof(struct sockaddr_un, sun_path)),
		    sun->sun_path);
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host,
		    ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host,
		    ntohs(sin6->sin6_port));
	} else
		return false;
	return listen_addr_parse(text, la, err, sizeof(err)) == 0;
}

/*
 * Take the sockets systemd passed, if $LISTEN_PID is this process, and
 * remove $LISTEN_* from the environment.  Returns -1 (logged) on a
 * malformed $LISTEN_FDS or a descriptor that is not open.
 */
int
sd_listen_init(void)
{
	const char	*names = getenv("LISTEN_FDNAMES");
	long long	 pid, n;
	struct stat	 st;
	size_t		 i, k;
	int		 rc = -1;

	if (getenv("LISTEN_FDS") == NULL)
		return 0;
	if (env_number("LISTEN_PID", INT_MAX, &pid) == -1 ||
	    pid != (long long)getpid()) {
		/* For another process (we were exec'd by it): not ours. */
		rc = 0;
		goto done;
	}
	if (env_number("LISTEN_FDS", SD_LISTEN_MAX, &n) == -1) {
		log_warnx("LISTEN_FDS \"%s\": not a number of descriptors "
		    "from 0 to %d", getenv("LISTEN_FDS"), SD_LISTEN_MAX);
		goto done;
	}
	socks = xcalloc((size_t)n > 0 ? (size_t)n : 1, sizeof(*socks));
	for (i = 0; i < (size_t)n; i++) {
		struct sd_sock *s = &socks[i];

		s->fd = SD_LISTEN_FDS_START + (int)i;
		if (fstat(s->fd, &st) == -1) {
			log_warn("systemd socket %d (LISTEN_FDS=%lld)", s->fd,
			    n);
			goto done;
		}
		/* Not for the CGI programs a worker runs. */
		(void)fcntl(s->fd, F_SETFD, FD_CLOEXEC);
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->has_addr = S_ISSOCK(st.st_mode) && bound_addr(s->fd,
		    &s->addr);
		/* LISTEN_FDNAMES: one name per descriptor, ':' between. */
		if (names != NULL) {
			k = strcspn(names, ":");
			snprintf(s->name, sizeof(s->name), "%.*s", (int)k,
			    names);
			names += names[k] == ':' ? k + 1 : k;
		}
		nsocks++;
	}
	rc = 0;
done:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

/*
 * Whether inherited socket s can serve pool pc: a listening stream
 * socket bound to pc's address.  Logs why not.
 */
static int
check_sock(const struct sd_sock *s, const struct pool_conf *pc)
{
	int		 type = 0, acc = 0;
	socklen_t	 len = sizeof(type);

	if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		log_warnx("pool %s: the socket systemd passed as descriptor "
		    "%d%s%s is not a stream socket (ListenStream=)", pc->name,
		    s->fd, s->name[0] != '\0' ? ", named " : "", s->name);
		return -1;
	}
	len = sizeof(acc);
	if (getsockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 ||
	    acc == 0) {
		log_warnx("pool %s: the socket systemd passed as descriptor "
		    "%d%s%s is not listening (Accept=no is needed)", pc->name,
		    s->fd, s->name[0] != '\0' ? ", named " : "", s->name);
		return -1;
	}
	if (!s->has_addr || !listen_addr_same(&s->addr, &pc->listen)) {
		log_warnx("pool %s: the socket systemd passed as descriptor "
		    "%d, named \"%s\", is bound to %s, but the pool listens on "
		    "%s; make the socket unit's address the pool's listen",
		    pc->name, s->fd, s->name, s->has_addr ? s->addr.text :
		    "an address pooled does not listen on", pc->listen.text);
		return -1;
	}
	return 0;
}

/*
 * The socket systemd passed for pool pc, by address or else by name
 * (FileDescriptorName= the pool's name): *fdp gets a close-on-exec,
 * non-blocking duplicate, or -1 when systemd passed none for it.
 * Returns -1 (logged) when the one it passed cannot serve the pool.
 */
int
sd_listen_take(const struct pool_conf *pc, int *fdp)
{
	struct sd_sock	*s = NULL;
	size_t		 i;
	int		 fd, fl;

	*fdp = -1;
	/*
	 * The address first: FileDescriptorName= names every socket of a
	 * unit, so in a unit with several ListenStream= lines the name
	 * alone cannot tell them apart.  A socket that bears the pool's
	 * name at another address is an error (check_sock says so).
	 */
	for (i = 0; i < nsocks && s == NULL; i++)
		if (socks[i].has_addr &&
		    listen_addr_same(&socks[i].addr, &pc->listen))
			s = &socks[i];
	for (i = 0; i < nsocks && s == NULL; i++)
		if (strcmp(socks[i].name, pc->name) == 0)
			s = &socks[i];
	if (s == NULL)
		return 0;
	if (check_sock(s, pc) == -1)
		return -1;
	if ((fd = fcntl(s->fd, F_DUPFD_CLOEXEC, SD_LISTEN_FDS_START)) == -1) {
		log_warn("pool %s: dup of systemd socket %d", pc->name, s->fd);
		return -1;
	}
	/* Shared with the original: acceptors wait in epoll, never block. */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("pool %s: O_NONBLOCK on systemd socket", pc->name);
		close(fd);
		return -1;
	}
	if (!s->used)
		log_info("pool %s: listening on %s (socket from systemd%s%s)",
		    pc->name, pc->listen.text, s->name[0] != '\0' ?
		    ", named " : "", s->name);
	s->used = true;
	*fdp = fd;
	return 0;
}

/* Whether fd is, or duplicates, a socket systemd passed. */
bool
sd_listen_owns(int fd)
{
	struct stat	 st;
	size_t		 i;

	if (nsocks == 0 || fstat(fd, &st) == -1)
		return false;
	for (i = 0; i < nsocks; i++)
		if (socks[i].dev == st.st_dev && socks[i].ino == st.st_ino)
			return true;
	return false;
}

/* After the start: warn of each socket systemd passed that no pool took. */
void
sd_listen_warn_unused(void)
{
	size_t	 i;

	for (i = 0; i < nsocks; i++)
		if (!socks[i].used)
			log_warnx("systemd passed socket %d%s%s (%s) that no "
			    "pool listens on; it stays open, unused",
			    socks[i].fd, socks[i].name[0] != '\0' ?
			    ", named " : "", socks[i].name, socks[i].has_addr ?
			    socks[i].addr.text : "unknown address");
}
