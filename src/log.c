/*
 * Logging: one line per event, "time level role[pid]: message", built in a
 * local buffer and written with one write(2) so that threads and processes
 * sharing the error log never interleave within a line.
 */
#include "config.h"

#include <sys/stat.h>

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

static const char *const level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

static int		 log_level = POOLED_LOG_INFO;
static int		 log_out = STDERR_FILENO;
static char		 log_path[4096];	/* "" while logging to stderr */
static char		 log_role[64] = "pooled";

/* Start logging to stderr at the given level, as role. */
void
log_init(const char *role, int level)
{
	log_set_role(role);
	log_level = level;
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
static int
open_log_file(const char *path, const char *what)
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

/* Send the log to error_log: a file path, or "stderr". */
int
log_open(const char *error_log)
{
	int	 fd;

	if (error_log == NULL || strcmp(error_log, "stderr") == 0) {
		log_path[0] = '\0';
		if (log_out != STDERR_FILENO)
			close(log_out);
		log_out = STDERR_FILENO;
		return 0;
	}
	if ((fd = open_log_file(error_log, "log_open")) == -1)
		return -1;
	if (log_out != STDERR_FILENO)
		close(log_out);
	log_out = fd;
	snprintf(log_path, sizeof(log_path), "%s", error_log);
	return 0;
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
	if ((fd = open_log_file(log_path, "log_reopen")) == -1)
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
size_t
log_escape(char *dst, size_t dstsize, const char *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n;

	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
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

/*
 * Format and write one line; prefix (may be NULL) follows the role.  The
 * whole text after the time and level goes through log_escape, whoever
 * wrote it, so no caller has to remember to.
 */
void
log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
{
	char		 raw[LOG_LINE_MAX], line[LOG_LINE_MAX * 2];
	struct timeval	 tv;
	struct tm	 tm;
	size_t		 len, rawlen;
	int		 n, saved_errno = errno;

	if (level > log_level)
		return;
	if (level < 0)
		level = 0;
	if (level > POOLED_LOG_DEBUG)
		level = POOLED_LOG_DEBUG;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, ".%03ld %s ",
	    (long)tv.tv_usec / 1000, level_names[level]);
	if (n > 0)
		len += (size_t)n < sizeof(line) - len ? (size_t)n :
		    sizeof(line) - len - 1;
	n = snprintf(raw, sizeof(raw), "%s[%ld]: %s%s", log_role,
	    (long)getpid(), prefix ? prefix : "", prefix ? " " : "");
	rawlen = n > 0 ? ((size_t)n < sizeof(raw) ? (size_t)n :
	    sizeof(raw) - 1) : 0;
	n = vsnprintf(raw + rawlen, sizeof(raw) - rawlen, fmt, ap);
	if (n > 0)
		rawlen += (size_t)n < sizeof(raw) - rawlen ? (size_t)n :
		    sizeof(raw) - rawlen - 1;
	/* One byte kept for the newline. */
	len += log_escape(line + len, sizeof(line) - len - 1, raw, rawlen);
	line[len++] = '\n';
	(void)write(log_out, line, len);
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
