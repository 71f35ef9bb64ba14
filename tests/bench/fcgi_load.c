/*
 * fcgi_load: a backend-only FastCGI load generator.
 *
 *	fcgi_load [-k] [-c conns] [-d secs | -n requests] [-w secs]
 *	    [-t ms] [-u uri] [-f script_filename] [-p NAME=VALUE]...
 *	    [-b body] [--pids PID,...] [--pid-of-children PID]... ADDRESS
 *
 * ADDRESS is "unix:/path", "/path" or "host:port".  It speaks FastCGI
 * straight to the backend's socket, without nginx or wrk in between,
 * whose CPU would hide the backend's: one thread, one epoll set, conns
 * connections, each sending the request nginx sends for "GET uri" and
 * validating the answer (FCGI_STDOUT holding a header block with a
 * Status or Content-Type line, a 2xx status if one is given, the body if
 * -b names one, then FCGI_END_REQUEST with protocolStatus 0).  With -k
 * the requests carry FCGI_KEEP_CONN and follow one another on the same
 * connection; without it each request has a connection of its own,
 * closed by us once the answer is in, as nginx does.
 *
 * It prints one line, "key=value" fields: requests and errors in the
 * measured window (after the warm-up), seconds, req/s, the CPU in us per
 * request of the backend (utime + stime of the given processes, threads
 * included, from /proc/PID/stat, before and after the window), of the
 * whole machine (/proc/stat) and of this client, and the errors by kind.
 * Exit status: 0, or 1 when any request failed, 64 on a usage error, 69
 * when the address cannot be used.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_RESPONDER		1
#define FCGI_KEEP_CONN		1
#define FCGI_HEADER_LEN		8
#define REQUEST_ID		1

#define MAX_PARAMS		64
#define REQ_MAX			8192	/* the whole request, framed */
#define OUT_KEEP		4096	/* stdout bytes kept for checking */
#define MAX_PIDS		256
#define SCAN_NS			10000000LL	/* timeout and retry scan */
#define CONNECT_BACKOFF_NS	10000000LL	/* after a failed connect */
#define RETRY_NS		1000000LL	/* unix backlog full */
#define ERR_REPORT		5	/* errors described on stderr */

enum cstate {
	C_IDLE,		/* no socket; (re)connect at "wake" */
	C_CONNECT,	/* non-blocking connect under way */
	C_WRITE,	/* request partly written */
	C_READ,		/* waiting for the answer */
	C_DONE		/* the run is over for it */
};

enum errkind {
	E_CONNECT, E_IO, E_EOF, E_PROTO, E_STATUS, E_BODY, E_TIMEOUT, E_NKIND
};

static const char *const errname[E_NKIND] = {
	"connect", "io", "eof", "proto", "status", "body", "timeout"
};

struct conn {
	int		 fd;
	enum cstate	 state;
	long long	 wake;		/* C_IDLE: when to connect */
	long long	 deadline;	/* C_CONNECT..C_READ */
	size_t		 woff;		/* bytes of the request written */
	unsigned char	 hdr[FCGI_HEADER_LEN];
	size_t		 hlen;		/* header bytes of the record in */
	size_t		 cleft;		/* content bytes still to come */
	size_t		 pleft;		/* padding bytes still to come */
	char		 out[OUT_KEEP];	/* the first stdout bytes */
	size_t		 outlen;
	size_t		 outtotal;
	unsigned char	 end[8];	/* FCGI_END_REQUEST's body */
	size_t		 endlen;
	int		 served;	/* requests done on this socket */
};

struct param {
	const char	*name;
	const char	*value;
};

static struct conn	*conns;
static int		 nconns = 16;
static int		 keepconn;
static double		 duration = 5;
static long long	 count;		/* -n: stop after that many */
static double		 warmup;
static long long	 timeout_ns = 2000000000LL;
static const char	*expect_body;
static int		 epfd = -1;
static struct conn	**ready;	/* closed, to reconnect at once */
static int		 nready;

static struct sockaddr_storage	 addr;
static socklen_t		 addrlen;
static int			 is_unix;

static unsigned char	 reqbuf[REQ_MAX];
static size_t		 reqlen;

static int		 measuring;	/* past the warm-up */
static int		 issuing = 1;	/* new requests may start */
static long long	 issued;	/* requests started while measuring */
static long long	 done;		/* answered and valid, measuring */
static long long	 errs[E_NKIND];
static long long	 retries;	/* unix connect: backlog full */
static int		 reported;
static volatile sig_atomic_t	 interrupted;

static pid_t		 pids[MAX_PIDS];
static int		 npids;
static pid_t		 parents[MAX_PIDS];
static int		 nparents;

static void	usage(void) __attribute__((noreturn));
static void	die(int, const char *, ...)
		    __attribute__((noreturn, format(printf, 2, 3)));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fcgi_load [-k] [-c conns] [-d secs | -n requests] "
	    "[-w secs] [-t ms]\n"
	    "\t[-u uri] [-f script_filename] [-p NAME=VALUE]... [-b body]\n"
	    "\t[--pids PID,...] [--pid-of-children PID]... "
	    "unix:/path | /path | host:port\n");
	exit(64);
}

static void
die(int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("fcgi_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(status);
}

static long long
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted++;
}

/* Addresses and the request ---------------------------------------------- */

static void
parse_address(const char *arg)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&addr;
	struct addrinfo		 hints, *res;
	const char		*path, *colon;
	char			 host[256];
	int			 rc;

	if (strncmp(arg, "unix:", 5) == 0 || arg[0] == '/') {
		path = arg[0] == '/' ? arg : arg + 5;
		if (strlen(path) >= sizeof(sun->sun_path))
			die(64, "%s: path too long", path);
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		addrlen = sizeof(*sun);
		is_unix = 1;
		return;
	}
	if ((colon = strrchr(arg, ':')) == NULL ||
	    (size_t)(colon - arg) >= sizeof(host))
		die(64, "%s: not unix:/path, /path or host:port", arg);
	memcpy(host, arg, colon - arg);
	host[colon - arg] = '\0';
	/* "[::1]:9000" */
	if (host[0] == '[' && colon - arg >= 2 && host[colon - arg - 1] == ']') {
		memmove(host, host + 1, colon - arg - 2);
		host[colon - arg - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
		die(69, "%s: %s", arg, gai_strerror(rc));
	memcpy(&addr, res->ai_addr, res->ai_addrlen);
	addrlen = res->ai_addrlen;
	freeaddrinfo(res);
}

static size_t
put_len(unsigned char *p, size_t len)
{
	if (len < 128) {
		p[0] = (unsigned char)len;
		return 1;
	}
	p[0] = (unsigned char)((len >> 24) | 0x80);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	return 4;
}

static void
put_header(unsigned char *p, int type, size_t clen, size_t plen)
{
	p[0] = FCGI_VERSION_1;
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = REQUEST_ID;
	p[4] = (unsigned char)(clen >> 8);
	p[5] = (unsigned char)clen;
	p[6] = (unsigned char)plen;
	p[7] = 0;
}

/*
 * What nginx sends for a GET with Debian's fastcgi_params: the begin
 * record, the params in one record (padded to 8 bytes, as nginx pads),
 * the empty params record and the empty stdin record, in one write.
 */
static void
build_request(const struct param *pv, int np)
{
	unsigned char	*p = reqbuf, *content;
	size_t		 clen, plen, nl, vl;
	int		 i;

	put_header(p, FCGI_BEGIN_REQUEST, 8, 0);
	p += FCGI_HEADER_LEN;
	memset(p, 0, 8);
	p[1] = FCGI_RESPONDER;
	p[2] = keepconn ? FCGI_KEEP_CONN : 0;
	p += 8;

	content = p + FCGI_HEADER_LEN;
	clen = 0;
	for (i = 0; i < np; i++) {
		nl = strlen(pv[i].name);
		vl = strlen(pv[i].value);
		if (clen + nl + vl + 8 + 3 * FCGI_HEADER_LEN + 16 + 8 >
		    sizeof(reqbuf))
			die(64, "the params do not fit in %zu bytes",
			    sizeof(reqbuf));
		clen += put_len(content + clen, nl);
		clen += put_len(content + clen, vl);
		memcpy(content + clen, pv[i].name, nl);
		clen += nl;
		memcpy(content + clen, pv[i].value, vl);
		clen += vl;
	}
	plen = (8 - clen % 8) % 8;
	put_header(p, FCGI_PARAMS, clen, plen);
	memset(content + clen, 0, plen);
	p = content + clen + plen;
	put_header(p, FCGI_PARAMS, 0, 0);
	p += FCGI_HEADER_LEN;
	put_header(p, FCGI_STDIN, 0, 0);
	p += FCGI_HEADER_LEN;
	reqlen = p - reqbuf;
}

static void
set_param(struct param *pv, int *np, const char *name, const char *value)
{
	int	i;

	for (i = 0; i < *np; i++)
		if (strcmp(pv[i].name, name) == 0) {
			pv[i].value = value;
			return;
		}
	if (*np == MAX_PARAMS)
		die(64, "more than %d params", MAX_PARAMS);
	pv[*np].name = name;
	pv[*np].value = value;
	(*np)++;
}

/* CPU accounting --------------------------------------------------------- */

static int
read_stat(pid_t pid, long long *ppid, long long *ticks)
{
	char	 path[64], buf[1024], *p;
	long long	 v[13];
	ssize_t	 n;
	int	 fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p += 2;
	/* Fields 3 (state) to 15 (stime); "state" is a letter. */
	if (*p == '\0')
		return -1;
	p++;
	for (i = 0; i < 12; i++)
		v[i] = strtoll(p, &p, 10);
	if (ppid != NULL)
		*ppid = v[0];
	if (ticks != NULL)
		*ticks = v[10] + v[11];	/* utime + stime */
	return 0;
}

/*
 * Adds the children of the --pid-of-children processes to the pids, once,
 * when the measured window opens: a worker replaced during the run is
 * not followed.
 */
static void
find_children(void)
{
	DIR		*d;
	struct dirent	*de;
	long long	 ppid;
	pid_t		 pid;
	int		 i;

	if (nparents == 0)
		return;
	if ((d = opendir("/proc")) == NULL)
		die(69, "/proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (read_stat(pid, &ppid, NULL) == -1)
			continue;
		for (i = 0; i < nparents; i++)
			if (ppid == parents[i] && npids < MAX_PIDS)
				pids[npids++] = pid;
	}
	closedir(d);
}

static long long
backend_ticks(void)
{
	long long	t, sum = 0;
	int		i;

	for (i = 0; i < npids; i++)
		if (read_stat(pids[i], NULL, &t) == 0)
			sum += t;
	return sum;
}

/* All but idle and iowait, over every CPU. */
static long long
machine_ticks(void)
{
	FILE		*f;
	long long	 v[8] = { 0 };
	int		 n;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return 0;
	n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 7)
		return 0;
	return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static long long
self_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void
add_pids(char *list, pid_t *to, int *n)
{
	char	*tok, *end;
	long	 v;

	for (tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
		v = strtol(tok, &end, 10);
		if (*end != '\0' || v <= 0 || v > INT_MAX)
			die(64, "%s: not a pid", tok);
		if (*n == MAX_PIDS)
			die(64, "more than %d pids", MAX_PIDS);
		to[(*n)++] = (pid_t)v;
	}
}

/* Connections ------------------------------------------------------------ */

static void
conn_error(struct conn *c, enum errkind kind, const char *what)
{
	if (measuring)
		errs[kind]++;
	if (reported < ERR_REPORT) {
		reported++;
		fprintf(stderr, "fcgi_load: connection %d: %s error: %s%s\n",
		    (int)(c - conns), errname[kind], what,
		    reported == ERR_REPORT ? " (further errors not shown)" : "");
	}
}

static void
conn_close(struct conn *c, long long wake)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->state = issuing ? C_IDLE : C_DONE;
	c->wake = wake;
	/* Reconnected by the loop, not from here: no recursion. */
	if (issuing && wake == 0)
		ready[nready++] = c;
}

static void
conn_fail(struct conn *c, enum errkind kind, const char *what)
{
	conn_error(c, kind, what);
	conn_close(c, kind == E_CONNECT ? now_ns() + CONNECT_BACKOFF_NS : 0);
}

static void	conn_send(struct conn *);

/* A new request on c, which holds a connected socket. */
static void
conn_begin(struct conn *c)
{
	if (!issuing || (count > 0 && measuring && issued >= count)) {
		conn_close(c, 0);
		c->state = C_DONE;
		return;
	}
	if (measuring)
		issued++;
	c->woff = 0;
	c->hlen = c->cleft = c->pleft = 0;
	c->outlen = c->outtotal = c->endlen = 0;
	c->deadline = now_ns() + timeout_ns;
	c->state = C_WRITE;
	conn_send(c);
}

static void
conn_interest(struct conn *c, uint32_t events, int op)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, op, c->fd, &ev) == -1)
		die(1, "epoll_ctl: %s", strerror(errno));
}

static void
conn_connect(struct conn *c)
{
	int	fd, one = 1;

	if (!issuing || (count > 0 && measuring && issued >= count)) {
		c->state = C_DONE;
		return;
	}
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		die(1, "socket: %s", strerror(errno));
	if (!is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->served = 0;
	c->deadline = now_ns() + timeout_ns;
	if (connect(fd, (struct sockaddr *)&addr, addrlen) == 0) {
		conn_interest(c, EPOLLIN, EPOLL_CTL_ADD);
		conn_begin(c);
		return;
	}
	if (errno == EINPROGRESS) {
		c->state = C_CONNECT;
		conn_interest(c, EPOLLOUT, EPOLL_CTL_ADD);
		return;
	}
	if (errno == EAGAIN && is_unix) {
		/* The listen backlog is full: not an error, try again. */
		retries++;
		conn_close(c, now_ns() + RETRY_NS);
		return;
	}
	conn_fail(c, E_CONNECT, strerror(errno));
}

static void
conn_send(struct conn *c)
{
	ssize_t	n;

	while (c->woff < reqlen) {
		n = send(c->fd, reqbuf + c->woff, reqlen - c->woff,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				conn_interest(c, EPOLLOUT, EPOLL_CTL_MOD);
				return;
			}
			conn_fail(c, E_IO, strerror(errno));
			return;
		}
		c->woff += n;
	}
	c->state = C_READ;
}

/*
 * The stdout of an answer: a header block ending in an empty line, with a
 * Status (2xx) or a Content-Type line, and the body -b asked for.
 */
static enum errkind
check_output(struct conn *c, const char **why)
{
	char	*p, *end, *line, *eol, *body;
	size_t	 len;
	int	 have = 0, status;

	c->out[c->outlen < OUT_KEEP ? c->outlen : OUT_KEEP - 1] = '\0';
	p = c->out;
	end = c->out + c->outlen;
	body = NULL;
	for (line = p; line < end; line = eol + 1) {
		if ((eol = memchr(line, '\n', end - line)) == NULL)
			break;
		len = eol - line;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0) {
			body = eol + 1;
			break;
		}
		if (len > 7 && strncasecmp(line, "Status:", 7) == 0) {
			status = atoi(line + 7);
			if (status < 200 || status > 299) {
				*why = "status not 2xx";
				return E_STATUS;
			}
			have = 1;
		} else if (len > 13 &&
		    strncasecmp(line, "Content-Type:", 13) == 0)
			have = 1;
	}
	if (body == NULL) {
		*why = c->outtotal == 0 ? "no FCGI_STDOUT" :
		    "no end of the header block";
		return E_PROTO;
	}
	if (!have) {
		*why = "neither Status nor Content-Type";
		return E_PROTO;
	}
	if (expect_body != NULL &&
	    (c->outtotal != c->outlen ||
	    (size_t)(end - body) != strlen(expect_body) ||
	    memcmp(body, expect_body, end - body) != 0)) {
		*why = "not the expected body";
		return E_BODY;
	}
	return E_NKIND;
}

/* The answer is complete: check it, then the next request. */
static void
conn_answered(struct conn *c, int extra)
{
	const char	*why = "";
	enum errkind	 kind;
	unsigned int	 app;

	app = (unsigned)c->end[0] << 24 | c->end[1] << 16 | c->end[2] << 8 |
	    c->end[3];
	if (c->end[4] != 0) {
		conn_fail(c, E_PROTO, "protocolStatus not FCGI_REQUEST_COMPLETE");
		return;
	}
	if ((kind = check_output(c, &why)) != E_NKIND) {
		conn_fail(c, kind, why);
		return;
	}
	if (app != 0) {
		conn_fail(c, E_STATUS, "appStatus not 0");
		return;
	}
	if (extra) {
		conn_fail(c, E_PROTO, "bytes after FCGI_END_REQUEST");
		return;
	}
	if (measuring)
		done++;
	c->served++;
	if (keepconn && issuing)
		conn_begin(c);
	else
		conn_close(c, 0);
}

/* Feeds n bytes of the answer through the record parser. */
static void
conn_parse(struct conn *c, const unsigned char *p, size_t n)
{
	size_t	take, keep;
	int	type;

	while (n > 0) {
		if (c->hlen < FCGI_HEADER_LEN) {
			take = FCGI_HEADER_LEN - c->hlen;
			if (take > n)
				take = n;
			memcpy(c->hdr + c->hlen, p, take);
			c->hlen += take;
			p += take;
			n -= take;
			if (c->hlen < FCGI_HEADER_LEN)
				return;
			if (c->hdr[0] != FCGI_VERSION_1) {
				conn_fail(c, E_PROTO, "version not 1");
				return;
			}
			if (c->hdr[2] != 0 || c->hdr[3] != REQUEST_ID) {
				conn_fail(c, E_PROTO, "wrong requestId");
				return;
			}
			type = c->hdr[1];
			if (type != FCGI_STDOUT && type != FCGI_STDERR &&
			    type != FCGI_END_REQUEST) {
				conn_fail(c, E_PROTO, "unexpected record type");
				return;
			}
			c->cleft = (size_t)c->hdr[4] << 8 | c->hdr[5];
			c->pleft = c->hdr[6];
			if (type == FCGI_END_REQUEST && c->cleft != 8) {
				conn_fail(c, E_PROTO,
				    "FCGI_END_REQUEST not 8 bytes");
				return;
			}
		}
		type = c->hdr[1];
		take = c->cleft < n ? c->cleft : n;
		if (type == FCGI_STDOUT) {
			keep = OUT_KEEP - 1 - c->outlen;
			if (keep > take)
				keep = take;
			memcpy(c->out + c->outlen, p, keep);
			c->outlen += keep;
			c->outtotal += take;
		} else if (type == FCGI_END_REQUEST) {
			memcpy(c->end + c->endlen, p, take);
			c->endlen += take;
		}
		p += take;
		n -= take;
		c->cleft -= take;
		take = c->pleft < n ? c->pleft : n;
		p += take;
		n -= take;
		c->pleft -= take;
		if (c->cleft > 0 || c->pleft > 0)
			return;
		c->hlen = 0;
		if (type == FCGI_END_REQUEST) {
			conn_answered(c, n > 0);
			return;
		}
	}
}

static void
conn_readable(struct conn *c)
{
	unsigned char	buf[16384];
	ssize_t		n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			conn_fail(c, E_IO, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_fail(c, E_EOF, c->served > 0 ?
			    "closed before the answer (kept connection)" :
			    "closed before the answer");
			return;
		}
		if (c->state != C_READ && c->state != C_WRITE) {
			conn_fail(c, E_PROTO, "bytes before the request");
			return;
		}
		conn_parse(c, buf, n);
		/* Level-triggered: what is left is reported again. */
		if (c->fd == -1 || (size_t)n < sizeof(buf))
			return;
	}
}

static void
conn_event(struct conn *c, uint32_t events)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	switch (c->state) {
	case C_CONNECT:
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			conn_fail(c, E_CONNECT, strerror(err));
			return;
		}
		conn_interest(c, EPOLLIN, EPOLL_CTL_MOD);
		conn_begin(c);
		return;
	case C_WRITE:
		if (events & EPOLLOUT) {
			conn_send(c);
			if (c->state == C_READ)
				conn_interest(c, EPOLLIN, EPOLL_CTL_MOD);
		}
		if (c->fd != -1 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			conn_readable(c);
		return;
	case C_READ:
		conn_readable(c);
		return;
	default:
		return;
	}
}

/* Timeouts, and sockets to (re)open. */
static void
scan(long long now)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < nconns; i++) {
		c = &conns[i];
		if (c->state == C_IDLE && c->wake <= now)
			conn_connect(c);
		else if ((c->state == C_CONNECT || c->state == C_WRITE ||
		    c->state == C_READ) && c->deadline <= now)
			conn_fail(c, c->state == C_CONNECT ? E_CONNECT :
			    E_TIMEOUT, "no answer in time");
	}
}

static int
busy_conns(void)
{
	int	i, n = 0;

	for (i = 0; i < nconns; i++)
		if (conns[i].state == C_CONNECT || conns[i].state == C_WRITE ||
		    conns[i].state == C_READ)
			n++;
	return n;
}

/* The run ---------------------------------------------------------------- */

/* Options, the request, the run, then the one line of results. */
int
main(int argc, char *argv[])
{
	static const struct option	longopts[] = {
		{ "pids", required_argument, NULL, 'P' },
		{ "pid-of-children", required_argument, NULL, 'C' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "keep-conn", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct param		 pv[MAX_PARAMS];
	struct epoll_event	 evs[256];
	struct sigaction	 sa;
	const char		*uri = "/hello", *script = NULL;
	char			*eq, *path;
	const char		*qs;
	long long		 t0, t_measure, t_end, t_stop, now, last_scan;
	long long		 b0 = 0, b1 = 0, m0, m1 = 0, s0, s1 = 0, req;
	double			 secs, rps, tick_us;
	int			 ch, np = 0, i, n, timeout, errors;
	int			 nextra = 0;

	while ((ch = getopt_long(argc, argv, "b:c:d:f:kn:p:t:u:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			expect_body = optarg;
			break;
		case 'c':
			nconns = atoi(optarg);
			if (nconns < 1 || nconns > 100000)
				usage();
			break;
		case 'd':
			duration = atof(optarg);
			if (duration <= 0)
				usage();
			break;
		case 'f':
			script = optarg;
			break;
		case 'k':
			keepconn = 1;
			break;
		case 'n':
			count = atoll(optarg);
			if (count < 1)
				usage();
			break;
		case 'p':
			nextra++;
			break;
		case 't':
			timeout_ns = atoll(optarg) * 1000000LL;
			if (timeout_ns <= 0)
				usage();
			break;
		case 'u':
			uri = optarg;
			break;
		case 'w':
			warmup = atof(optarg);
			if (warmup < 0)
				usage();
			break;
		case 'P':
			add_pids(optarg, pids, &npids);
			break;
		case 'C':
			add_pids(optarg, parents, &nparents);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	parse_address(argv[optind]);

	/* Debian's fastcgi_params, as nginx fills them for GET uri. */
	if ((path = strdup(uri)) == NULL)
		die(1, "out of memory");
	qs = "";
	if ((eq = strchr(path, '?')) != NULL) {
		*eq = '\0';
		qs = eq + 1;
	}
	set_param(pv, &np, "QUERY_STRING", qs);
	set_param(pv, &np, "REQUEST_METHOD", "GET");
	set_param(pv, &np, "CONTENT_TYPE", "");
	set_param(pv, &np, "CONTENT_LENGTH", "");
	set_param(pv, &np, "SCRIPT_NAME", path);
	set_param(pv, &np, "REQUEST_URI", uri);
	set_param(pv, &np, "DOCUMENT_URI", path);
	set_param(pv, &np, "DOCUMENT_ROOT", "/var/www/html");
	set_param(pv, &np, "SERVER_PROTOCOL", "HTTP/1.1");
	set_param(pv, &np, "REQUEST_SCHEME", "http");
	set_param(pv, &np, "GATEWAY_INTERFACE", "CGI/1.1");
	set_param(pv, &np, "SERVER_SOFTWARE", "nginx/1.22.1");
	set_param(pv, &np, "REMOTE_ADDR", "127.0.0.1");
	set_param(pv, &np, "REMOTE_PORT", "40000");
	set_param(pv, &np, "SERVER_ADDR", "127.0.0.1");
	set_param(pv, &np, "SERVER_PORT", "80");
	set_param(pv, &np, "SERVER_NAME", "localhost");
	set_param(pv, &np, "REDIRECT_STATUS", "200");
	if (script != NULL)
		set_param(pv, &np, "SCRIPT_FILENAME", script);
	set_param(pv, &np, "HTTP_HOST", "localhost");
	set_param(pv, &np, "HTTP_USER_AGENT", "fcgi_load");
	set_param(pv, &np, "HTTP_ACCEPT", "*/*");
	/* -p NAME=VALUE, in order, over the defaults. */
	if (nextra > 0) {
		optind = 1;
		opterr = 0;
		while ((ch = getopt_long(argc, argv, "b:c:d:f:kn:p:t:u:w:",
		    longopts, NULL)) != -1) {
			if (ch != 'p')
				continue;
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg)
				die(64, "-p %s: not NAME=VALUE", optarg);
			*eq = '\0';
			set_param(pv, &np, optarg, eq + 1);
		}
	}
	build_request(pv, np);
	/* The params are in reqbuf now. */
	free(path);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((conns = calloc(nconns, sizeof(*conns))) == NULL ||
	    (ready = calloc(2 * (size_t)nconns, sizeof(*ready))) == NULL)
		die(1, "out of memory");
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die(1, "epoll_create1: %s", strerror(errno));
	for (i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		conns[i].state = C_IDLE;
	}

	t0 = now_ns();
	t_measure = t0 + (long long)(warmup * 1e9);
	measuring = warmup <= 0;
	if (measuring)
		find_children();
	t_end = count > 0 ? LLONG_MAX : t_measure + (long long)(duration * 1e9);
	m0 = machine_ticks();
	s0 = self_us();
	if (measuring)
		b0 = backend_ticks();
	t_stop = 0;
	last_scan = 0;
	for (;;) {
		now = now_ns();
		if (!measuring && issuing && now >= t_measure) {
			measuring = 1;
			find_children();
			b0 = backend_ticks();
			m0 = machine_ticks();
			s0 = self_us();
			t_measure = now;
			if (count == 0)
				t_end = now + (long long)(duration * 1e9);
		}
		if (issuing && (interrupted || now >= t_end ||
		    (count > 0 && measuring && done + errs[E_CONNECT] +
		    errs[E_IO] + errs[E_EOF] + errs[E_PROTO] + errs[E_STATUS] +
		    errs[E_BODY] + errs[E_TIMEOUT] >= count))) {
			/* The window closes; answers still due are drained. */
			b1 = backend_ticks();
			m1 = machine_ticks();
			s1 = self_us();
			t_end = now;
			issuing = 0;
			measuring = 0;
			t_stop = now + timeout_ns;
			for (i = 0; i < nconns; i++)
				if (conns[i].state == C_IDLE)
					conns[i].state = C_DONE;
		}
		if (!issuing && (busy_conns() == 0 || now >= t_stop ||
		    interrupted > 1))
			break;
		if (now - last_scan >= SCAN_NS) {
			scan(now);
			last_scan = now;
		}
		timeout = 10;
		n = epoll_wait(epfd, evs, sizeof(evs) / sizeof(evs[0]),
		    timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die(1, "epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++)
			conn_event(evs[i].data.ptr, evs[i].events);
		/*
		 * Those closed meanwhile, once each: one that fails again at
		 * once waits for the next turn.
		 */
		n = nready;
		for (i = 0; i < n; i++)
			if (ready[i]->state == C_IDLE)
				conn_connect(ready[i]);
		memmove(ready, ready + n, (nready - n) * sizeof(*ready));
		nready -= n;
	}
	for (i = 0; i < nconns; i++)
		if (conns[i].fd != -1)
			close(conns[i].fd);
	close(epfd);
	free(conns);
	free(ready);

	secs = (t_end - t_measure) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	req = done;
	errors = 0;
	for (i = 0; i < E_NKIND; i++)
		errors += errs[i];
	rps = req / secs;
	tick_us = 1e6 / sysconf(_SC_CLK_TCK);
	printf("requests=%lld errors=%d seconds=%.3f rps=%.1f", req, errors,
	    secs, rps);
	if (npids > 0)
		printf(" backend_us=%.1f backend_pids=%d",
		    req > 0 ? (b1 - b0) * tick_us / req : 0.0, npids);
	else
		printf(" backend_us=- backend_pids=0");
	printf(" machine_us=%.1f client_us=%.1f",
	    req > 0 ? (m1 - m0) * tick_us / req : 0.0,
	    req > 0 ? (double)(s1 - s0) / req : 0.0);
	printf(" conns=%d keepconn=%s retries=%lld", nconns,
	    keepconn ? "on" : "off", retries);
	for (i = 0; i < E_NKIND; i++)
		printf(" err_%s=%lld", errname[i], errs[i]);
	printf("\n");
	fflush(stdout);
	return errors > 0 ? 1 : 0;
}
