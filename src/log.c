/*
 * Logging: one line per event, "time level role[pid]: message", built in a
 * local buffer and written with one write(2) so that threads and processes
 * sharing the error log never interleave within a line.  The time is ISO
 * 8601 with the offset ("2026-12-03T15:40:01.123+01:00").  Two other forms:
 * to syslog, one datagram per line on /dev/log (a socket of our own, not
 * syslog(3), so that it is one more descriptor a worker keeps and a chroot
 * does not lose), and to stderr when it is systemd's journal stream
 * (JOURNAL_STREAM): no time, which journald adds, and a "<N>" priority.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

#define LOG_LINE_MAX	2048

enum { LOG_FORM_PLAIN, LOG_FORM_JOURNAL, LOG_FORM_SYSLOG };

static const char *const level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

static int		 log_level = POOLED_LOG_INFO;
static int		 log_out = STDERR_FILENO;
static char		 log_path[4096];	/* "" while logging to stderr */
static char		 log_role[64] = "pooled";
static bool		 log_journal;	/* stderr is journald's stream */
static bool		 log_tee;	/* a file's lines also to stderr */
static bool		 log_syslog;	/* log_out is a socket to syslog */
static int		 log_facility = 3 << 3;	/* LOG_DAEMON */
static char		 log_ident[33] = "pooled";

/* syslog(3)'s priorities, by level. */
static const int	 level_prio[] = { 3, 4, 5, 6, 7 };

/* Whether stderr is the stream systemd connected to the journal. */
static bool
stderr_is_journal(void)
{
	struct stat	 st;
	const char	*e;
	unsigned long	 dev, ino;
	char		 c;

	if ((e = getenv("JOURNAL_STREAM")) == NULL ||
	    sscanf(e, "%lu:%lu%c", &dev, &ino, &c) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long)st.st_dev == dev &&
	    (unsigned long)st.st_ino == ino;
}

/* Start logging to stderr at the given level, as role. */
void
log_init(const char *role, int level)
{
	log_set_role(role);
	log_level = level;
	log_journal = stderr_is_journal();
}

/* Name this process in every line it logs ("master", "app" ...). */
void
log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

/* Change the level of messages that are written. */
void
log_set_level(int level)
{
	log_level = level;
}

/* Whether a line at level would be written. */
bool
log_enabled(int level)
{
	return level <= log_level;
}

/*
 * Open the log file path for appending, not through a symlink at path
 * (which could lead root's writes to any file); what for names the
 * caller in the error.  Whoever may write the log's directory could also
 * put there, for the next USR1, a FIFO (open would wait for a reader
 * forever, and the master with it), a file of their own (to read every
 * pool's log) or a hard link: so the open does not wait, and the file
 * must be this process's user's, and a regular file have one link.  A
 * FIFO or device of that user's (/dev/null, a logger's pipe) will do.
 */
int
log_open_file(const char *path, const char *what)
{
	struct stat	 st;
	int		 fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0640);
	if (fd == -1) {
		if (errno == ELOOP && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			log_warnx("%s: %s: is a symbolic link; pooled does not "
			    "log through one", what, path);
		else
			log_warn("%s: %s", what, path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: %s: fstat", what, path);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("%s: %s: belongs to uid %ld, not to pooled's user; "
		    "pooled does not log into it", what, path,
		    (long)st.st_uid);
		goto fail;
	}
	if ((S_ISREG(st.st_mode) && st.st_nlink != 1) ||
	    !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
	    S_ISCHR(st.st_mode))) {
		log_warnx("%s: %s: is not a regular file with one link; "
		    "pooled does not log into it", what, path);
		goto fail;
	}
	/* Writes block again: a full pipe must not lose lines. */
	if (fcntl(fd, F_SETFL, O_APPEND) == -1) {
		log_warn("%s: %s: fcntl", what, path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Syslog's facility (a LOG_* value) and ident for error_log = "syslog";
 * before log_open.
 */
void
log_set_syslog(int facility, const char *ident)
{
	log_facility = facility;
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
}

/*
 * A datagram socket connected to the syslog socket at path.  It is
 * non-blocking: a syslog daemon that stopped reading costs lines, never
 * the master's progress.
 */
static int
open_syslog(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("log_open: %s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("log_open: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("log_open: syslog %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* A socket to the syslog daemon at path (the access log's), or -1. */
int
log_syslog_socket(const char *path)
{
	return open_syslog(path);
}

/* Use fd for the log from now on; path "" unless it is a file's. */
static void
set_out(int fd, const char *path, bool syslog)
{
	if (log_out != STDERR_FILENO)
		close(log_out);
	log_out = fd;
	log_syslog = syslog;
	snprintf(log_path, sizeof(log_path), "%s", path);
}

/*
 * Send the log to error_log: a file path, "stderr" or "syslog".  Until
 * log_tee(false), a file's lines also go to stderr, so that the start-up
 * lines are in the file and on the terminal.
 */
int
log_open(const char *error_log)
{
	return log_open_syslog(error_log, "/dev/log");
}

/* log_open, with the syslog socket at sockpath (tests). */
int
log_open_syslog(const char *error_log, const char *sockpath)
{
	int	 fd;

	if (error_log == NULL || strcmp(error_log, "stderr") == 0) {
		set_out(STDERR_FILENO, "", false);
		return 0;
	}
	if (strcmp(error_log, "syslog") == 0) {
		if ((fd = open_syslog(sockpath)) == -1)
			return -1;
		set_out(fd, "", true);
		return 0;
	}
	if ((fd = log_open_file(error_log, "log_open")) == -1)
		return -1;
	set_out(fd, error_log, false);
	return 0;
}

/* Whether lines written to a log file or syslog also go to stderr. */
void
log_set_tee(bool on)
{
	log_tee = on;
}

/*
 * Reopen the log file after rotation (USR1).  The new file is opened
 * first and moved onto the old descriptor with dup2, so other threads
 * never see a closed log fd.
 */
int
log_reopen(void)
{
	int	 fd;

	if (log_path[0] == '\0')
		return 0;
	if ((fd = log_open_file(log_path, "log_reopen")) == -1)
		return -1;
	if (dup3(fd, log_out, O_CLOEXEC) == -1) {
		log_warn("log_reopen: dup3");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Write to fd from now on (a worker: the log its master reopened), on the
 * same descriptor number as before; fd is closed.
 */
int
log_adopt(int fd)
{
	int	 rc = 0;

	if (log_out == STDERR_FILENO || dup3(fd, log_out, O_CLOEXEC) == -1) {
		log_warnx("log_adopt: cannot take the reopened log");
		rc = -1;
	}
	close(fd);
	return rc;
}

/* The descriptor log lines go to. */
int
log_fd(void)
{
	return log_out;
}

/*
 * Length of the UTF-8 sequence that starts at s (at most len bytes) if it
 * is well formed (RFC 3629: no overlong form, no surrogate, nothing past
 * U+10FFFF) and not a C1 control (U+0080..U+009F, which some terminals
 * obey as they do ESC); 0 otherwise.
 */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		if (s[0] == 0xc2)
			lo = 0xa0;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Copy len bytes of src to dst (size dstsize > 0) as a log may show them:
 * every byte below 0x20, 0x7f and every byte that is not part of a well
 * formed UTF-8 character other than a C1 control becomes "\xHH", so
 * nothing a request, a program or a module wrote can move the cursor,
 * recolour a terminal or start a forged line.  A backslash stays as it
 * is.  Truncates between characters, never inside an escape; dst ends
 * with a NUL.  Returns the length written.
 */
static size_t
escape(char *dst, size_t dstsize, const char *src, size_t len, bool quotes)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f &&
		    !(quotes && (s[i] == '"' || s[i] == '\\')))
			n = 1;
		else if (s[i] < 0x80 || (n = utf8_len(s + i, len - i)) == 0) {
			if (dstsize - o <= 4)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 0xf];
			i++;
			continue;
		}
		if (dstsize - o <= n)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/* Escape for the error log, as above. */
size_t
log_escape(char *dst, size_t dstsize, const char *src, size_t len)
{
	return escape(dst, dstsize, src, len, false);
}

/*
 * Escape a field of the access log: as log_escape, and '"' and '\' too
 * become "\xHH", so that a value cannot end a quoted field.
 */
size_t
log_escape_field(char *dst, size_t dstsize, const char *src, size_t len)
{
	return escape(dst, dstsize, src, len, true);
}

/*
 * The start of a line up to the message: "TIME LEVEL role[pid]: ", TIME
 * in ISO 8601 with the offset; for the journal "<PRIO>LEVEL role[pid]: "
 * (journald adds the time); for syslog "<PRI>Mmm dd hh:mm:ss
 * ident[pid]: role: " (RFC 3164, what syslog(3) sends).
 */
static size_t
head(char *buf, size_t size, int level, const struct timeval *tv,
    const struct tm *tm, int form)
{
	char	 zone[8];
	size_t	 len;
	int	 n;

	if (form == LOG_FORM_SYSLOG) {
		n = snprintf(buf, size, "<%d>", log_facility |
		    level_prio[level]);
		len = (size_t)n + strftime(buf + n, size - (size_t)n,
		    "%b %e %H:%M:%S ", tm);
		n = snprintf(buf + len, size - len, "%s[%ld]: %s: ", log_ident,
		    (long)getpid(), log_role);
	} else if (form == LOG_FORM_JOURNAL) {
		len = 0;
		n = snprintf(buf, size, "<%d>%s %s[%ld]: ", level_prio[level],
		    level_names[level], log_role, (long)getpid());
	} else {
		len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", tm);
		/* %z is "+0100": ISO 8601 extended wants "+01:00". */
		if (strftime(zone, sizeof(zone), "%z", tm) != 5)
			snprintf(zone, sizeof(zone), "+0000");
		n = snprintf(buf + len, size - len,
		    ".%03ld%.3s:%s %s %s[%ld]: ", (long)tv->tv_usec / 1000,
		    zone, zone + 3,
		    level_names[level], log_role, (long)getpid());
	}
	if (n > 0)
		len += (size_t)n < size - len ? (size_t)n : size - len - 1;
	return len;
}

/*
 * Format and write one line; prefix (may be NULL) comes first in the
 * message.  The whole message goes through log_escape, whoever wrote
 * it, so no caller has to remember to.
 */
void
log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
{
	char		 raw[LOG_LINE_MAX], msg[LOG_LINE_MAX * 2];
	char		 line[LOG_LINE_MAX * 3];
	struct timeval	 tv;
	struct tm	 tm;
	size_t		 len, rawlen, msglen;
	int		 n, form, saved_errno = errno;

	if (level > log_level)
		return;
	if (level < 0)
		level = 0;
	if (level > POOLED_LOG_DEBUG)
		level = POOLED_LOG_DEBUG;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(raw, sizeof(raw), "%s%s", prefix ? prefix : "",
	    prefix ? " " : "");
	rawlen = n > 0 ? ((size_t)n < sizeof(raw) ? (size_t)n :
	    sizeof(raw) - 1) : 0;
	n = vsnprintf(raw + rawlen, sizeof(raw) - rawlen, fmt, ap);
	if (n > 0)
		rawlen += (size_t)n < sizeof(raw) - rawlen ? (size_t)n :
		    sizeof(raw) - rawlen - 1;
	msglen = log_escape(msg, sizeof(msg), raw, rawlen);

	if (log_syslog)
		form = LOG_FORM_SYSLOG;
	else if (log_out == STDERR_FILENO && log_journal)
		form = LOG_FORM_JOURNAL;
	else
		form = LOG_FORM_PLAIN;
	len = head(line, sizeof(line), level, &tv, &tm, form);
	memcpy(line + len, msg, msglen);
	len += msglen;
	if (form == LOG_FORM_SYSLOG)
		(void)send(log_out, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else {
		line[len++] = '\n';
		(void)write(log_out, line, len);
	}
	/* Start-up lines: the terminal gets them too (log_set_tee). */
	if (log_tee && log_out != STDERR_FILENO) {
		len = head(line, sizeof(line), level, &tv, &tm,
		    log_journal ? LOG_FORM_JOURNAL : LOG_FORM_PLAIN);
		memcpy(line + len, msg, msglen);
		len += msglen;
		line[len++] = '\n';
		(void)write(STDERR_FILENO, line, len);
	}
	errno = saved_errno;
}

/* Log a message at level. */
void
log_msg(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

/* Log fmt at level with ": strerror(errno)" appended; errno is kept. */
static void
log_verrno(int level, const char *fmt, va_list ap)
{
	char	 buf[LOG_LINE_MAX];
	int	 saved_errno = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_msg(level, "%s: %s", buf, strerror(saved_errno));
	errno = saved_errno;
}

/* Log an error with ": strerror(errno)" appended. */
void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_verrno(POOLED_LOG_ERROR, fmt, ap);
	va_end(ap);
}

/* Log an error without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
}

/* Log a notable, normal event. */
void
log_notice(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_NOTICE, NULL, fmt, ap);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

/* Log a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

/* Log an error with strerror(errno) and exit. */
void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_verrno(POOLED_LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log an error and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
