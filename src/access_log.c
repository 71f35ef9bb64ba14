/*
 * The access log: one line per request, after it ended, in the pool's
 * access_format, to a file or to syslog.
 *
 * A worker runs as the pool's user and cannot open root's log, so the
 * master opens it (with the error log's checks: no symlink, its own file,
 * one link) before it forks the pool's workers, which inherit it; after a
 * USR1 the master opens the file again and hands the new descriptor to
 * each worker on its channel (CHAN_REOPEN_ACCESS_LOG), which moves it
 * onto the old number with dup3, so a thread writing meanwhile writes to
 * one file or the other, never to a closed descriptor.
 *
 * A line is formatted on the acceptor thread's stack and written with one
 * write(2) to an O_APPEND descriptor (one send(2) to syslog): no lock,
 * no line split between threads or processes.  Its length is bounded
 * (ACCESS_LINE_MAX), and each field (ACCESS_FIELD_MAX), so a 64 KiB URI
 * cannot push the status and the duration off its line.  Every value
 * from the request is escaped as the error log escapes (log_escape), and
 * '"' and '\' too, so that no request can end a quoted field or forge a
 * line.
 *
 * Escapes (see pooled.conf(5)): %a %B %D %H %I %L %m %n %O %p %q %Q %r %s
 * %t %{strftime}t %T %{ms|us|s}T %u %w %{PARAM}e %%.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

#define ACCESS_FORMAT_MAX	1024	/* bytes of access_format */
#define ACCESS_ARG_MAX		128	/* bytes of a %{...} argument */

/* The worker's access log. */
static int			 access_fd = -1;
static bool			 access_syslog;
static const struct pool_conf	*access_pool;
static int			 access_facility;
static const char		*access_ident;

/* What a %X with an optional {arg} may be: letter, args it takes. */
static const struct {
	char		 c;
	bool		 arg;		/* takes {arg} */
	bool		 need_arg;	/* only with {arg} */
} escapes[] = {
	{ 'a', false, false },	/* REMOTE_ADDR */
	{ 'B', false, false },	/* body bytes sent */
	{ 'D', false, false },	/* duration, us */
	{ 'e', true, true },	/* a param by name */
	{ 'H', false, false },	/* SERVER_PROTOCOL */
	{ 'I', false, false },	/* body bytes received */
	{ 'L', false, false },	/* request id */
	{ 'm', false, false },	/* REQUEST_METHOD */
	{ 'n', false, false },	/* pool */
	{ 'O', false, false },	/* bytes sent, header included */
	{ 'p', false, false },	/* pid */
	{ 'q', false, false },	/* QUERY_STRING */
	{ 'Q', false, false },	/* "?" when there is a query */
	{ 'r', false, false },	/* REQUEST_URI */
	{ 's', false, false },	/* status */
	{ 't', true, false },	/* start time */
	{ 'T', true, false },	/* duration, s.mmm, or in {unit} */
	{ 'u', false, false },	/* REMOTE_USER */
	{ 'w', false, false },	/* thread */
	{ '%', false, false },
};

static int
escape_index(char c)
{
	size_t	 i;

	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
		if (escapes[i].c == c)
			return (int)i;
	return -1;
}

/*
 * Check an access_format: every % starts a known escape, an argument
 * only where one is taken and well formed, no control byte.  Returns 0,
 * or -1 with the reason in err.
 */
int
access_format_check(const char *fmt, char *err, size_t errlen)
{
	const char	*p, *close;
	size_t		 alen, i;
	int		 e;

	if (strlen(fmt) > ACCESS_FORMAT_MAX) {
		snprintf(err, errlen, "longer than %d bytes",
		    ACCESS_FORMAT_MAX);
		return -1;
	}
	for (p = fmt; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "a control character (\\x%02x)",
			    (unsigned char)*p);
			return -1;
		}
		if (*p != '%')
			continue;
		p++;
		alen = 0;
		if (*p == '{') {
			if ((close = strchr(p, '}')) == NULL) {
				snprintf(err, errlen, "\"%%{\" without \"}\"");
				return -1;
			}
			alen = (size_t)(close - p - 1);
			if (alen == 0 || alen > ACCESS_ARG_MAX) {
				snprintf(err, errlen, "an empty or too long "
				    "%%{...} argument");
				return -1;
			}
			for (i = 1; i <= alen; i++)
				if ((unsigned char)p[i] < 0x20 ||
				    p[i] == 0x7f) {
					snprintf(err, errlen, "a control "
					    "character in %%{...}");
					return -1;
				}
			p = close + 1;
		}
		if (*p == '\0') {
			snprintf(err, errlen, "a %% at the end");
			return -1;
		}
		if ((e = escape_index(*p)) == -1) {
			snprintf(err, errlen, "unknown escape %%%c%s", *p,
			    (unsigned char)*p >= 0x80 ? " (a byte)" : "");
			return -1;
		}
		if (alen > 0 && !escapes[e].arg) {
			snprintf(err, errlen, "%%%c takes no {argument}", *p);
			return -1;
		}
		if (alen == 0 && escapes[e].need_arg) {
			snprintf(err, errlen, "%%%c needs a {NAME}", *p);
			return -1;
		}
		if (*p == 'T' && alen > 0 &&
		    !(alen == 2 && strncmp(p - 3, "ms", 2) == 0) &&
		    !(alen == 2 && strncmp(p - 3, "us", 2) == 0) &&
		    !(alen == 1 && strncmp(p - 2, "s", 1) == 0)) {
			snprintf(err, errlen, "%%{...}T takes ms, us or s");
			return -1;
		}
	}
	return 0;
}

/* A line being built: never past size, always room for the newline. */
struct line {
	char	*buf;
	size_t	 len;
	size_t	 size;		/* usable: the newline is kept out of it */
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > l->size - l->len)
		n = l->size - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
putf(struct line *l, const char *fmt, ...) POOLED_PRINTFLIKE(2, 3);

static void
putf(struct line *l, const char *fmt, ...)
{
	char	 tmp[64];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* A value from the request, escaped and bounded; "-" when none. */
static void
put_value(struct line *l, const char *s)
{
	char	 esc[ACCESS_FIELD_MAX + 1];
	size_t	 n;

	if (s == NULL || *s == '\0') {
		put(l, "-", 1);
		return;
	}
	n = log_escape_field(esc, sizeof(esc), s, strlen(s));
	put(l, esc, n);
}

/*
 * strftime with a format from the config (access_format_check let it
 * through; strftime takes any string).  Called through a pointer so that
 * -Wformat-nonliteral, right about printf, stays on everywhere else.
 */
static size_t (*const config_strftime)(char *, size_t, const char *,
    const struct tm *) = strftime;

static void
put_time(struct line *l, int64_t wall_us, const char *arg, size_t alen)
{
	char		 f[ACCESS_ARG_MAX + 1], out[256], zone[8];
	time_t		 t = (time_t)(wall_us / 1000000);
	struct tm	 tm;
	size_t		 n;

	localtime_r(&t, &tm);
	if (alen > 0) {
		memcpy(f, arg, alen);
		f[alen] = '\0';
		if ((n = config_strftime(out, sizeof(out), f, &tm)) > 0) {
			out[n] = '\0';
			put_value(l, out);
		}
		return;
	}
	n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
	/* %z is "+0100": ISO 8601 extended wants "+01:00". */
	if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
		snprintf(zone, sizeof(zone), "+0000");
	put(l, out, n);
	putf(l, ".%03d%.3s:%s", (int)(wall_us / 1000 % 1000), zone,
	    zone + 3);
}

static void
put_duration(struct line *l, int64_t us, const char *arg, size_t alen)
{
	if (us < 0)
		us = 0;
	if (alen == 2 && strncmp(arg, "ms", 2) == 0)
		putf(l, "%" PRId64, us / 1000);
	else if (alen == 2 && strncmp(arg, "us", 2) == 0)
		putf(l, "%" PRId64, us);
	else
		putf(l, "%" PRId64 ".%03d", us / 1000000,
		    (int)(us / 1000 % 1000));
}

/* A %{NAME}e: the param NAME (alen bytes at arg). */
static void
put_param(struct line *l, const struct pooled_req *req, const char *arg,
    size_t alen)
{
	char	 name[ACCESS_ARG_MAX + 1];

	memcpy(name, arg, alen);
	name[alen] = '\0';
	put_value(l, req_envp_get(req->envp, name));
}

static void
put_escape(struct line *l, char c, const char *arg, size_t alen,
    const struct access_who *who, const struct pooled_req *req)
{
	const char	*q;
	uint64_t	 body;
	int		 status;

	switch (c) {
	case 'a':
		put_value(l, req_envp_get(req->envp, "REMOTE_ADDR"));
		break;
	case 'B':
		body = resp_head_done(&req->head) &&
		    req->bytes_out >= req->head.len ?
		    req->bytes_out - req->head.len : 0;
		putf(l, "%" PRIu64, body);
		break;
	case 'D':
		putf(l, "%" PRId64, req->duration_us);
		break;
	case 'e':
		put_param(l, req, arg, alen);
		break;
	case 'H':
		put_value(l, req_envp_get(req->envp, "SERVER_PROTOCOL"));
		break;
	case 'I':
		putf(l, "%" PRIu64, req->bytes_in);
		break;
	case 'L':
		putf(l, "%" PRIu64, req->id);
		break;
	case 'm':
		put_value(l, req_envp_get(req->envp, "REQUEST_METHOD"));
		break;
	case 'n':
		put_value(l, who->pool);
		break;
	case 'O':
		putf(l, "%zu", req->bytes_out);
		break;
	case 'p':
		putf(l, "%ld", (long)who->pid);
		break;
	case 'q':
		put_value(l, req_envp_get(req->envp, "QUERY_STRING"));
		break;
	case 'Q':
		q = req_envp_get(req->envp, "QUERY_STRING");
		if (q != NULL && *q != '\0')
			put(l, "?", 1);
		break;
	case 'r':
		put_value(l, req_envp_get(req->envp, "REQUEST_URI"));
		break;
	case 's':
		if ((status = req_status(req)) == 0)
			put(l, "-", 1);
		else
			putf(l, "%d", status);
		break;
	case 't':
		put_time(l, req->start_wall_us, arg, alen);
		break;
	case 'T':
		put_duration(l, req->duration_us, arg, alen);
		break;
	case 'u':
		put_value(l, req_envp_get(req->envp, "REMOTE_USER"));
		break;
	case 'w':
		putf(l, "%zu", who->thread);
		break;
	case '%':
		put(l, "%", 1);
		break;
	}
}

/*
 * Format req's line by fmt (checked by access_format_check) into buf of
 * size bytes: the line and its newline, no NUL.  Returns its length.
 */
size_t
access_log_format(char *buf, size_t size, const char *fmt,
    const struct access_who *who, const struct pooled_req *req)
{
	struct line	 l = { buf, 0, size - 1 };
	const char	*p, *arg, *close;
	size_t		 alen, lit;

	for (p = fmt; *p != '\0' && l.len < l.size; ) {
		if (*p != '%') {
			lit = strcspn(p, "%");
			put(&l, p, lit);
			p += lit;
			continue;
		}
		p++;
		arg = NULL;
		alen = 0;
		if (*p == '{' && (close = strchr(p, '}')) != NULL) {
			arg = p + 1;
			alen = (size_t)(close - arg);
			p = close + 1;
		}
		if (*p == '\0')
			break;
		put_escape(&l, *p, arg, alen, who, req);
		p++;
	}
	buf[l.len++] = '\n';
	return l.len;
}

/*
 * The master: open pc's access log into *fd (-1 when it is off).  A file
 * passes the error log's checks (log_open_file); "syslog" is a datagram
 * socket to /dev/log.
 */
int
access_log_open(const struct pool_conf *pc, int *fd)
{
	char	 what[128];

	*fd = -1;
	if (pc->access_log == NULL)
		return 0;
	if (strcmp(pc->access_log, "syslog") == 0)
		*fd = log_syslog_socket("/dev/log");
	else {
		snprintf(what, sizeof(what), "pool %s: access_log", pc->name);
		*fd = log_open_file(pc->access_log, what);
	}
	return *fd == -1 ? -1 : 0;
}

/* Whether pc's access log is a file, to reopen on USR1. */
bool
access_log_is_file(const struct pool_conf *pc)
{
	return pc->access_log != NULL &&
	    strcmp(pc->access_log, "syslog") != 0;
}

/*
 * The master, on USR1: open pc's access log file again, onto fd (the
 * same number), to hand to the workers.  On failure fd stays the old file.
 */
int
access_log_reopen(const struct pool_conf *pc, int fd)
{
	char	 what[128];
	int	 nfd;

	if (!access_log_is_file(pc) || fd == -1)
		return 0;
	snprintf(what, sizeof(what), "pool %s: access_log", pc->name);
	if ((nfd = log_open_file(pc->access_log, what)) == -1)
		return -1;
	if (dup3(nfd, fd, O_CLOEXEC) == -1) {
		log_warn("%s: dup3", what);
		close(nfd);
		return -1;
	}
	close(nfd);
	return 0;
}

/* A worker: log pc's requests to fd (-1: no access log). */
void
access_log_init(const struct conf *conf, const struct pool_conf *pc, int fd)
{
	access_fd = fd;
	access_pool = pc;
	access_syslog = pc->access_log != NULL &&
	    strcmp(pc->access_log, "syslog") == 0;
	access_facility = conf->syslog_facility;
	access_ident = conf->syslog_ident;
}

/*
 * A worker: write to fd, the log its master reopened, from now on, on the
 * same descriptor number; fd is closed.
 */
int
access_log_adopt(int fd)
{
	int	 rc = 0;

	if (access_fd == -1 || access_syslog ||
	    dup3(fd, access_fd, O_CLOEXEC) == -1) {
		log_warnx("access_log: cannot take the reopened access log");
		rc = -1;
	}
	close(fd);
	return rc;
}

/* A worker: log req, which thread served and which is over (req_end). */
void
access_log_write(const struct pooled_req *req, size_t thread)
{
	char			 line[ACCESS_LINE_MAX];
	struct access_who	 who;
	struct tm		 tm;
	time_t			 now;
	size_t			 off = 0, len;
	int			 n, saved_errno = errno;

	if (access_fd == -1)
		return;
	who.pool = access_pool->name;
	who.pid = getpid();
	who.thread = thread;
	if (access_syslog) {
		/* RFC 3164, as log.c sends the error log: info. */
		now = time(NULL);
		localtime_r(&now, &tm);
		n = snprintf(line, sizeof(line), "<%d>", access_facility | 6);
		off = (size_t)n + strftime(line + n, sizeof(line) - (size_t)n,
		    "%b %e %H:%M:%S ", &tm);
		n = snprintf(line + off, sizeof(line) - off, "%s[%ld]: ",
		    access_ident, (long)who.pid);
		off += (size_t)n;
	}
	len = access_log_format(line + off, sizeof(line) - off,
	    access_pool->access_format, &who, req);
	if (access_syslog)
		(void)send(access_fd, line, off + len - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		(void)write(access_fd, line, len);
	errno = saved_errno;
}
