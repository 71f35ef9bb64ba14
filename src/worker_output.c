/*
 * A worker's standard output and error, kept (catch_workers_output): the
 * master makes a pipe per worker, the worker's fds 1 and 2 are its write
 * end, and the master reads the other end in its poll loop and logs what
 * comes line by line, "pool NAME: worker PID: text".
 *
 * Why the master and not a thread in the worker: a module's last words
 * before it dies (an assert's message, glibc's "double free", a
 * sanitizer's report) are written just before the process is killed; in
 * the pipe they outlive it and the master logs them before the line that
 * says how the worker ended.
 *
 * Neither side can hold the other up.  The worker's end is non-blocking:
 * when the pipe is full (the master behind, the log slow) a write fails
 * with EAGAIN and that output is lost, the module never waits.  The
 * master's end is non-blocking and read at most WOUT_READ_MAX bytes per
 * wake-up, so a worker that floods cannot starve the loop.  What is
 * logged is bounded: a line longer than WOUT_LINE_MAX is cut (the rest,
 * to its newline, is skipped), at most WOUT_LINES_PER_SEC lines a second
 * per worker are logged and the others counted, and the count logged as
 * one line when the next second's first line comes or the pipe closes.
 * Every byte goes through log_escape (log_msg does it).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define WOUT_LINE_MAX		1024
#define WOUT_READ_MAX		16384
#define WOUT_LINES_PER_SEC	100
/* At the end: reads of what the dead worker left (a pipe holds 64 KiB). */
#define WOUT_DRAIN_READS	8

struct wout {
	int		 fd;		/* read end, or -1 once at EOF */
	pid_t		 pid;
	char		 name[40];
	char		 line[WOUT_LINE_MAX];
	size_t		 len;
	bool		 skip;		/* a cut line: skip to its newline */
	int64_t		 window;	/* start of the current second */
	unsigned int	 lines;		/* logged in it */
	uint64_t	 dropped;	/* since the last summary */
};

/* Keep the master's end of a worker's output pipe (fd is taken). */
struct wout *
wout_open(int fd, const char *name, pid_t pid)
{
	struct wout	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("pool %s: worker %ld: output", name, (long)pid);
		close(fd);
		return NULL;
	}
	w->fd = fd;
	w->pid = pid;
	snprintf(w->name, sizeof(w->name), "%s", name);
	return w;
}

/* The descriptor to poll for input, or -1 when there is none. */
int
wout_fd(const struct wout *w)
{
	return w != NULL ? w->fd : -1;
}

static void
summary(struct wout *w)
{
	if (w->dropped == 0)
		return;
	log_notice("pool %s: worker %ld: %llu lines of output dropped "
	    "(more than %d a second)", w->name, (long)w->pid,
	    (unsigned long long)w->dropped, WOUT_LINES_PER_SEC);
	w->dropped = 0;
}

/* Log the line gathered so far, within the rate; cut: it went on. */
static void
emit(struct wout *w, bool cut, int64_t now)
{
	size_t	 len = w->len;

	w->len = 0;
	if (now - w->window >= 1000 || now < w->window) {
		summary(w);
		w->window = now;
		w->lines = 0;
	}
	if (w->lines >= WOUT_LINES_PER_SEC) {
		w->dropped++;
		return;
	}
	w->lines++;
	if (len > 0 && w->line[len - 1] == '\r')
		len--;
	log_notice("pool %s: worker %ld: %.*s%s", w->name, (long)w->pid,
	    (int)len, w->line, cut ? " [line cut]" : "");
}

static void
feed(struct wout *w, const char *p, size_t n, int64_t now)
{
	const char	*nl;
	size_t		 take;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl != NULL ? (size_t)(nl - p) : n;
		if (!w->skip) {
			if (take > sizeof(w->line) - w->len) {
				memcpy(w->line + w->len, p,
				    sizeof(w->line) - w->len);
				w->len = sizeof(w->line);
				emit(w, true, now);
				w->skip = true;
			} else {
				memcpy(w->line + w->len, p, take);
				w->len += take;
			}
		}
		if (nl == NULL)
			return;
		if (!w->skip)
			emit(w, false, now);
		w->skip = false;
		p = nl + 1;
		n -= take + 1;
	}
}

/*
 * Read what is there (once, at most WOUT_READ_MAX bytes) and log its
 * lines; returns whether there was anything.  At EOF the descriptor is
 * closed and wout_fd says -1.
 */
bool
wout_read(struct wout *w, int64_t now)
{
	char	 buf[WOUT_READ_MAX];
	ssize_t	 n;

	if (w == NULL || w->fd == -1)
		return false;
	n = read(w->fd, buf, sizeof(buf));
	if (n > 0) {
		feed(w, buf, (size_t)n, now);
		return true;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n == -1)
		log_warn("pool %s: worker %ld: output", w->name, (long)w->pid);
	close(w->fd);
	w->fd = -1;
	return false;
}

/*
 * The worker is gone: log what it left in the pipe (bounded: a process
 * it forked may still hold the write end), its last line without a
 * newline, the count of dropped lines; close and free.
 */
void
wout_close(struct wout *w, int64_t now)
{
	int	 i;

	if (w == NULL)
		return;
	for (i = 0; i < WOUT_DRAIN_READS; i++)
		if (!wout_read(w, now))
			break;
	if (w->len > 0 && !w->skip)
		emit(w, false, now);
	summary(w);
	if (w->fd != -1)
		close(w->fd);
	free(w);
}
