/*
 * The CGI backend: each request runs a program and relays its output.
 *
 * The program is started by cgi_spawn.c (pipes for 0, 1 and 2, a process
 * group of its own so a timeout kills its children too, its own directory,
 * the pool's cgi_rlimit_* limits); a compiled program runs as the very
 * file cgi_path.c checked.
 *
 * Relaying: nginx stops sending a request body once a response has begun,
 * so no byte of output goes to the web server before the whole body came
 * in.  Meanwhile the body is streamed to the program's stdin as it
 * arrives, and what the program writes is held, in memory up to
 * CGI_HOLD_MEM and beyond that in an unlinked file in cgi_spill_dir, so a
 * program that answers before (or while) it reads does not deadlock and a
 * large upload is never held in memory.  At most cgi_hold_max bytes more
 * than the body read so far are held: past that, pooled stops reading the
 * program's stdout, and the program blocks writing it, until more body or
 * the end of it comes (a program that insists on writing more than that
 * before it reads its stdin waits for cgi_timeout, as it would behind any
 * CGI server that does not hold).
 * Once the body is in, the held output and then the program's output as
 * it comes are sent on.  The program's exit is
 * watched through a pidfd, so a background grandchild that keeps stdout
 * open cannot hold the response, and every child is reaped.
 */
#include "config.h"

#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

#define CGI_CHUNK	65536
#define CGI_HOLD_MEM	(256 * 1024)	/* held output beyond: temp file */
#define CGI_ERRLINE	1024
#define CGI_ERRLINE_PREFIX 96	/* "2024-... warning pool[pid]: req N: " */
/*
 * Reads of each pipe once the program exited: what it wrote is in the
 * pipe buffer (64 KiB), so a few reads take it all, while a background
 * child that keeps writing cannot keep the request going.
 */
#define CGI_DRAIN_READS	16

static const struct pool_conf	*cgi_pool;
static const char		*cgi_spill;	/* NULL: hold in memory */
static struct backend		 cgi_backend;

/*
 * The programs running now, one slot per thread, so a worker that is told
 * to die can kill them first (handler_cgi_kill_all, async-signal-safe):
 * they run in process groups of their own and would outlive it.
 */
static _Atomic pid_t		*cgi_running;
static size_t			 cgi_nslots;
static _Atomic size_t		 cgi_next_slot;
static __thread _Atomic pid_t	*cgi_my_slot;

/*
 * The worker is a subreaper (PR_SET_CHILD_SUBREAPER): what a program
 * leaves running when it exits, even after setsid() or a double fork, is
 * handed to the worker, which kills it at the end of a request (sweep).
 * A pid the sweep sees must still be that process when it is killed:
 * children are started and reaped under the read side of this lock,
 * the sweep holds the write side, so no pid it lists is reaped (and
 * reused) or newly started and not yet in its slot meanwhile.
 */
static int			 cgi_procfd = -1;
static pthread_rwlock_t		 cgi_fork_lock;
/*
 * Rounds of a sweep, 1 ms apart while some are killed: each takes 17
 * levels of a tree of processes, so a tree a thousand deep goes in one
 * sweep, in some 60 ms.
 */
#define CGI_SWEEP_ROUNDS	1024

/* One run of a program for one request. */
struct cgi_run {
	struct pooled_req	*req;
	const char		*path;
	pid_t			 pid;
	int			 pidfd;
	int			 in;		/* the program's stdin, ours to write */
	int			 out;		/* its stdout */
	int			 err;		/* its stderr */
	int64_t			 deadline;
	bool			 exited;	/* and reaped */
	bool			 dead;		/* exited, a zombie still */
	int			 status;
	bool			 timed_out;
	bool			 killed;	/* by pooled */
	bool			 internal_error; /* pooled's failure, not the program's */
	bool			 read_bounded;	/* SO_RCVTIMEO shortened */
	/* output not sent yet: memory, then the spill file */
	char			*hold;
	size_t			 hold_len;
	int			 spill;
	size_t			 spill_len;
	bool			 drain_later;	/* it exited while held full */
	size_t			 body_in;	/* body bytes read so far */
	bool			 nph;		/* nph- program: status line */
	bool			 drop_output;	/* after a local redirect */
	bool			 header_done;
	bool			 sent_any;
	bool			 client_gone;
	char			 errline[CGI_ERRLINE];
	size_t			 errlen;
	size_t			 err_relayed;	/* log bytes they cost */
	size_t			 err_dropped;	/* past request_log_max */
};

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Pass on what the program wrote to stderr, a line at a time: to the log
 * and, with cgi_stderr = server or both, to the web server's error log,
 * each byte the log cannot show as it is escaped (a NUL too, which would
 * end the line early).  A line costs what it adds to the log, escapes
 * and prefix (time, level, role, request, program) included, so that
 * many short lines cannot take more than request_log_max bytes either.
 * Past it, lines are still read, so the program never blocks on a full
 * pipe, but only counted; run_free says how many bytes were dropped.
 */
static void
stderr_flush(struct cgi_run *r, bool all)
{
	char	 esc[CGI_ERRLINE * 4 + 1];
	char	*nl;
	size_t	 n, len, cost;

	while ((nl = memchr(r->errline, '\n', r->errlen)) != NULL ||
	    (all && r->errlen > 0) || r->errlen == sizeof(r->errline)) {
		n = nl != NULL ? (size_t)(nl - r->errline) : r->errlen;
		len = log_escape(esc, sizeof(esc), r->errline, n);
		cost = len + strlen(r->path) + CGI_ERRLINE_PREFIX;
		if (r->err_dropped > 0 ||
		    cost > cgi_pool->request_log_max - r->err_relayed)
			r->err_dropped += n + (nl != NULL);
		else {
			r->err_relayed += cost;
			if (cgi_pool->cgi_stderr_log)
				pooled_req_log(r->req, POOLED_LOG_WARNING,
				    "%s: stderr: %s", r->path, esc);
			if (cgi_pool->cgi_stderr_server)
				req_write_stderr(r->req, esc, len);
		}
		if (nl != NULL)
			n++;
		memmove(r->errline, r->errline + n, r->errlen - n);
		r->errlen -= n;
	}
}

/* Read the program's stderr; returns true while it may have more now. */
static bool
read_stderr(struct cgi_run *r)
{
	ssize_t	 n;

	n = read(r->err, r->errline + r->errlen, sizeof(r->errline) -
	    r->errlen);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			stderr_flush(r, true);
			close_fd(&r->err);
		}
		return false;
	}
	r->errlen += (size_t)n;
	stderr_flush(r, false);
	return true;
}

/* Keep output until the body is in: memory first, then a temp file. */
static int
hold(struct cgi_run *r, const char *buf, size_t len)
{
	char	*p;

	if (r->spill == -1 && (cgi_spill == NULL ||
	    r->hold_len + len <= CGI_HOLD_MEM)) {
		if ((p = realloc(r->hold, r->hold_len + len)) == NULL) {
			r->internal_error = true;
			return -1;
		}
		r->hold = p;
		memcpy(r->hold + r->hold_len, buf, len);
		r->hold_len += len;
		return 0;
	}
	if (r->spill == -1 && (r->spill = open(cgi_spill, O_TMPFILE | O_RDWR |
	    O_CLOEXEC, 0600)) == -1) {
		pooled_req_log(r->req, POOLED_LOG_ERROR, "cgi: temp file in "
		    "%s: %s", cgi_spill, strerror(errno));
		r->internal_error = true;
		return -1;
	}
	if (pwrite(r->spill, buf, len, (off_t)r->spill_len) != (ssize_t)len) {
		pooled_req_log(r->req, POOLED_LOG_ERROR, "cgi: temp file "
		    "write: %s", strerror(errno));
		r->internal_error = true;
		return -1;
	}
	r->spill_len += len;
	return 0;
}

/* Send what was held to the client, in order, then forget it. */
static int
release(struct cgi_run *r)
{
	char	 buf[CGI_CHUNK];
	size_t	 off;
	ssize_t	 n;

	if (r->hold_len > 0 &&
	    pooled_req_write(r->req, r->hold, r->hold_len) == -1)
		return -1;
	for (off = 0; off < r->spill_len; off += (size_t)n) {
		if ((n = pread(r->spill, buf, sizeof(buf), (off_t)off)) <= 0)
			return -1;
		if (pooled_req_write(r->req, buf, (size_t)n) == -1)
			return -1;
	}
	r->sent_any = r->hold_len + r->spill_len > 0;
	free(r->hold);
	r->hold = NULL;
	r->hold_len = 0;
	close_fd(&r->spill);
	r->spill_len = 0;
	return 0;
}

/*
 * Kill the program and its process group.  The program itself is named
 * too: it may have left the group (setpgid into any group of the
 * worker's session, the worker's own among them), and the group kill
 * alone would then miss it, leaving it to outlive cgi_timeout and reap()
 * to wait for it forever.  Its pid is still its own: not reaped yet.
 */
static void
kill_group(struct cgi_run *r)
{
	if (!r->exited && !r->dead) {
		(void)kill(-r->pid, SIGKILL);
		(void)kill(r->pid, SIGKILL);
		r->killed = true;
	}
}

/*
 * Check the header block once it is complete, from the held output (it
 * is always within CGI_HOLD_MEM, being at most 64 KiB).  Returns -1 when
 * it is malformed: the caller answers 502.
 */
/*
 * An nph- program writes an HTTP status line where a CGI program writes
 * Status:.  Behind FastCGI the web server still frames the response, so
 * that line becomes a Status: header and everything else passes through
 * unparsed.  Returns -1 for an output that does not start with one.
 */
static int
nph_status_line(struct cgi_run *r)
{
	char	*nl, *p, *line;
	size_t	 len, rest, hdr;
	int	 n;

	if ((nl = memchr(r->hold, '\n', r->hold_len)) == NULL)
		return r->hold_len > CGI_ERRLINE ? -1 : 0;
	len = (size_t)(nl - r->hold);
	if (len > 0 && r->hold[len - 1] == '\r')
		len--;
	/* "HTTP/1.1 200 OK": the version, a 3-digit code, a reason. */
	if (len < 12 || memcmp(r->hold, "HTTP/", 5) != 0 ||
	    (p = memchr(r->hold, ' ', len)) == NULL ||
	    (size_t)(p - r->hold) + 4 > len || p[1] < '1' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || p[3] < '0' || p[3] > '9' ||
	    ((size_t)(p - r->hold) + 4 < len && p[4] != ' '))
		return -1;
	p++;
	hdr = len - (size_t)(p - r->hold);
	rest = r->hold_len - (size_t)(nl + 1 - r->hold);
	if ((line = malloc(8 + hdr + 3 + rest)) == NULL)
		return -1;
	n = snprintf(line, 8 + hdr + 3, "Status: %.*s\r\n", (int)hdr, p);
	memcpy(line + n, nl + 1, rest);
	free(r->hold);
	r->hold = line;
	r->hold_len = (size_t)n + rest;
	r->header_done = true;
	return 0;
}

/*
 * RFC 3875 6.2.2: a response that is only "Location: /path" asks the
 * server to answer as if /path had been requested.  Behind FastCGI or
 * SCGI only the web server can do that: nginx does it for
 * X-Accel-Redirect, which also reaches its "internal" locations, so any
 * open redirect in a program would serve what the operator hid.  By
 * default the answer is a client redirect to /path, as fcgiwrap's is
 * (nginx makes a Location without Status a 302): the client asks again,
 * through every rule the server applies to clients.  With
 * cgi_local_redirect = "x-accel", a path that cgi_header_internal_path()
 * accepts under cgi_x_accel_prefix goes to nginx as X-Accel-Redirect;
 * Apache's proxy modules have no such header, so a server that says it
 * is not nginx still gets the 302.  What the program writes after the
 * header is dropped.
 */
static int
local_redirect(struct cgi_run *r, const struct cgi_header *h)
{
	const char	*server = pooled_req_param(r->req, "SERVER_SOFTWARE");
	char		*hdr;
	size_t		 off;
	int		 n;

	if (!cgi_pool->cgi_x_accel ||
	    (server != NULL && strncmp(server, "nginx", 5) != 0) ||
	    !cgi_header_internal_path(h->location, h->location_len,
	    cgi_pool->cgi_x_accel_prefix)) {
		/* On this server: never "//host" (an open redirect). */
		off = cgi_header_path_rest(h->location, h->location_len);
		n = asprintf(&hdr, "Status: 302 Found\r\n"
		    "Location: /%.*s\r\n\r\n", (int)(h->location_len - off),
		    h->location + off);
	} else
		n = asprintf(&hdr, "Status: 200 OK\r\n"
		    "X-Accel-Redirect: %.*s\r\n\r\n", (int)h->location_len,
		    h->location);
	if (n == -1)
		return -1;
	free(r->hold);
	r->hold = hdr;
	r->hold_len = (size_t)n;
	r->drop_output = true;
	return 0;
}

/*
 * RFC 3875 6.2.3: a client redirect without a Status: is a 302.  nginx
 * makes it one by itself, Apache's mod_proxy_fcgi does not: say it.
 */
static int
client_redirect(struct cgi_run *r)
{
	static const char	 status[] = "Status: 302 Found\r\n";
	char			*p;

	if ((p = realloc(r->hold, r->hold_len + sizeof(status) - 1)) ==
	    NULL) {
		r->internal_error = true;
		return -1;
	}
	memmove(p + sizeof(status) - 1, p, r->hold_len);
	memcpy(p, status, sizeof(status) - 1);
	r->hold = p;
	r->hold_len += sizeof(status) - 1;
	return 0;
}

static int
check_header(struct cgi_run *r)
{
	struct cgi_header	 h;
	const char		*why = NULL;

	if (r->header_done)
		return 0;
	if (r->nph) {
		if (nph_status_line(r) == 0)
			return 0;
		pooled_req_log(r->req, POOLED_LOG_ERROR, "%s: an nph- "
		    "program's output does not start with an HTTP status "
		    "line", r->path);
		return -1;
	}
	switch (cgi_header_parse(r->hold, r->hold_len, &h, &why)) {
	case CGI_HEADER_MORE:
		return 0;
	case CGI_HEADER_DONE:
		r->header_done = true;
		if (!h.has_content_type && !h.has_location)
			pooled_req_log(r->req, POOLED_LOG_DEBUG, "%s: no "
			    "Content-Type in the response header; the web "
			    "server's default applies", r->path);
		if (h.nheaders == 1 && h.has_location &&
		    h.location_len > 0 && h.location[0] == '/')
			return local_redirect(r, &h);
		if (h.has_location && h.status == 0)
			return client_redirect(r);
		return 0;
	default:
		pooled_req_log(r->req, POOLED_LOG_ERROR, "%s: malformed "
		    "response header: %s", r->path, why);
		return -1;
	}
}

/*
 * How many more bytes of output may be held now: 0 when the allowance is
 * used up (the program is left blocked on its stdout).  SIZE_MAX when
 * nothing is held, the body being in and the header sent.  The allowance
 * is cgi_hold_max plus the body read so far, so a program that echoes
 * its input (as much out as in) never blocks, while one byte of body
 * can no longer buy any amount of output held.
 */
static size_t
hold_room(const struct cgi_run *r, bool body_done)
{
	size_t	 held = r->hold_len + r->spill_len, max;

	if (r->header_done && body_done)
		return SIZE_MAX;
	max = cgi_pool->cgi_hold_max + r->body_in;
	if (max < r->body_in)
		max = SIZE_MAX;
	return held >= max ? 0 : max - held;
}

/*
 * Read the program's stdout: hold it, or send it once the body is in.
 * Returns 1 when it read something, 0 when there is nothing now (or any
 * more, or no room to hold it), -1 when the request must end.
 */
static int
read_stdout(struct cgi_run *r, bool body_done)
{
	char	 buf[CGI_CHUNK];
	size_t	 room = hold_room(r, body_done);
	ssize_t	 n;

	if (room == 0)
		return 0;
	n = read(r->out, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n == 0 || (n == -1 && errno != EAGAIN)) {
		close_fd(&r->out);
		return 0;
	}
	if (n == -1)
		return 0;
	if (r->drop_output)
		return 1;
	if (!r->header_done || !body_done) {
		if (hold(r, buf, (size_t)n) == -1 || check_header(r) == -1)
			return -1;
		if (r->header_done && body_done && release(r) == -1) {
			r->client_gone = true;
			return -1;
		}
		return 1;
	}
	if (pooled_req_write(r->req, buf, (size_t)n) == -1) {
		r->client_gone = true;
		return -1;
	}
	r->sent_any = true;
	return 1;
}

static void
reap(struct cgi_run *r)
{
	siginfo_t	 si;
	int		 rc;

	if (r->exited) {
		if (cgi_my_slot != NULL)
			atomic_store(cgi_my_slot, 0);
		return;
	}
	/* Until it is gone, without the lock; then out of the slot. */
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOWAIT) == -1 &&
	    errno == EINTR)
		;
	pthread_rwlock_rdlock(&cgi_fork_lock);
	/* Out of the slot first: once reaped, the pid may be reused. */
	if (cgi_my_slot != NULL)
		atomic_store(cgi_my_slot, 0);
	memset(&si, 0, sizeof(si));
	rc = waitid(P_PID, (id_t)r->pid, &si, WEXITED);
	pthread_rwlock_unlock(&cgi_fork_lock);
	if (rc == -1)
		return;
	r->exited = true;
	r->status = si.si_code == CLD_EXITED ? si.si_status << 8 :
	    si.si_status;
}

/*
 * The program exited (its pidfd said so): note how, but leave it a
 * zombie until cgi_handle has killed what it left in its process group.
 * Until it is reaped its pid, and so its group id, cannot be reused;
 * after, a program that another thread starts could get that pid, lead
 * a group of that id, and be killed in its place.
 */
static void
note_exit(struct cgi_run *r)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)r->pid, &si, WEXITED | WNOWAIT | WNOHANG) ==
	    -1 || si.si_pid != r->pid)
		return;
	r->dead = true;
	r->status = si.si_code == CLD_EXITED ? si.si_status << 8 :
	    si.si_status;
}

/*
 * For reaper_kill_children: a running program is kept; a child that
 * died is reaped (and counted in *arg) rather than killed, its pid being
 * free from then on; anything else is killed.
 */
static bool
keep_or_reap(pid_t pid, void *arg)
{
	size_t	*reaped = arg;
	size_t	 i;

	for (i = 0; i < cgi_nslots; i++)
		if (atomic_load(&cgi_running[i]) == pid)
			return true;
	if (waitpid(pid, NULL, WNOHANG) == pid) {
		(*reaped)++;
		return true;
	}
	return false;
}

/*
 * Kill and reap what programs left behind and the worker inherited.  A
 * killed child goes with everything below it (reaper.c stops the tree
 * before it kills it), and is reaped by the next round; rounds go on
 * while there is work, a reap included (what a death handed over may sit
 * in the list of a thread this round read before).  What is still dying
 * after the last round is left to the next request's sweep.  Returns how
 * many were reaped.
 */
static size_t
sweep(void)
{
	struct timespec	 ms = { 0, 1000000 };
	size_t		 reaped = 0, before, killed;
	int		 i;

	if (cgi_procfd == -1)
		return 0;
	pthread_rwlock_wrlock(&cgi_fork_lock);
	for (i = 0; i < CGI_SWEEP_ROUNDS; i++) {
		before = reaped;
		killed = reaper_kill_children(cgi_procfd, getpid(),
		    keep_or_reap, &reaped);
		if (killed == 0 && reaped == before)
			break;
		if (killed > 0)
			(void)nanosleep(&ms, NULL);
	}
	pthread_rwlock_unlock(&cgi_fork_lock);
	return reaped;
}

/*
 * A body read blocks until its buffer is full or the body ends, with only
 * read_timeout per read(2) below it; near cgi_timeout, shorten the
 * connection's receive timeout so the read returns at the deadline.
 * cgi_handle puts read_timeout back afterwards, for a kept connection.
 */
static void
bound_read(struct cgi_run *r, int conn)
{
	struct timeval	 tv;
	int64_t		 left = r->deadline - clock_ms();

	if (conn == -1 || left >= cgi_pool->read_timeout * 1000LL)
		return;
	if (left < 1)
		left = 1;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	(void)setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r->read_bounded = true;
}

/*
 * Move the request body to the program, and the program's output to the
 * client, until the program is done.  Returns 0, or -1 after answering
 * (or cutting) the request itself.
 */
static int
pump(struct cgi_run *r, const char *cl)
{
	char		 body[CGI_CHUNK];
	size_t		 body_len = 0, body_off = 0;
	unsigned long long left;
	bool		 body_done;
	struct pollfd	 pfd[5];
	int64_t		 now;
	ssize_t		 n;
	int		 np, ms, rc = 0, k;
	int		 conn = r->req->io->conn_fd(r->req->ctx);

	/* Without a length (a streamed chunked body), read to its end. */
	left = cl != NULL && *cl != '\0' ? strtoull(cl, NULL, 10) :
	    ULLONG_MAX;
	body_done = left == 0;
	if (body_done)
		close_fd(&r->in);
	for (;;) {
		/* The next piece of body, read as nginx sends it. */
		if (!body_done && body_off == body_len) {
			bound_read(r, conn);
			n = pooled_req_read(r->req, body, left < sizeof(body) ?
			    (size_t)left : sizeof(body));
			if (n == -1 && clock_ms() >= r->deadline) {
				r->timed_out = true;
				kill_group(r);
				return -1;
			}
			if (n <= 0) {
				body_done = true;
				close_fd(&r->in);
				if (n == -1)
					r->client_gone = true;
			} else {
				body_len = (size_t)n;
				/* A program that stopped reading: discard. */
				body_off = r->in == -1 ? body_len : 0;
				left -= (unsigned long long)n;
				r->body_in += (size_t)n;
			}
			if (left == 0 && !body_done && r->in == -1)
				body_done = true;
			if (body_done && r->header_done && release(r) == -1)
				r->client_gone = true;
		}
		if (r->client_gone) {
			kill_group(r);
			return -1;
		}
		/*
		 * What it wrote before exiting is in the pipe; take that
		 * (once there is room to hold it), then stop: a grandchild
		 * that kept it open cannot hold the response.
		 */
		if (r->drain_later && hold_room(r, body_done) > 0) {
			r->drain_later = false;
			for (k = 0; k < CGI_DRAIN_READS && r->out != -1 &&
			    (rc = read_stdout(r, body_done)) == 1; k++)
				;
			if (rc == -1)
				return -1;
			if (hold_room(r, body_done) == 0)
				r->drain_later = true;	/* the rest later */
			else
				close_fd(&r->out);
		}
		if (r->out == -1 && r->err == -1 && (r->exited ||
		    r->pidfd == -1) && (body_done || r->in == -1))
			break;

		np = 0;
		if (r->in != -1 && body_off < body_len) {
			pfd[np].fd = r->in;
			pfd[np++].events = POLLOUT;
		}
		/* Past cgi_hold_max, the program waits for the body. */
		if (r->out != -1 && !r->drain_later &&
		    hold_room(r, body_done) > 0) {
			pfd[np].fd = r->out;
			pfd[np++].events = POLLIN;
		}
		if (r->err != -1) {
			pfd[np].fd = r->err;
			pfd[np++].events = POLLIN;
		}
		if (r->pidfd != -1) {
			pfd[np].fd = r->pidfd;
			pfd[np++].events = POLLIN;
		}
		/*
		 * Once the body is in, nothing more comes from the web
		 * server: its hang-up means the client went away (nginx
		 * closes the connection when a client aborts).
		 */
		if (body_done && conn != -1) {
			pfd[np].fd = conn;
			pfd[np++].events = POLLRDHUP;
		}
		now = clock_ms();
		if (now >= r->deadline) {
			r->timed_out = true;
			kill_group(r);
			return -1;
		}
		ms = (int)(r->deadline - now);
		if (np == 0) {
			/* Only the body is left to drain; no program waits. */
			if (body_done)
				break;
			body_off = body_len;
			continue;
		}
		if (poll(pfd, (nfds_t)np, ms) == -1) {
			if (errno == EINTR)
				continue;
			pooled_req_log(r->req, POOLED_LOG_ERROR, "cgi: poll: %s",
			    strerror(errno));
			r->internal_error = true;
			kill_group(r);
			return -1;
		}
		for (int i = 0; i < np; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == r->in) {
				n = write(r->in, body + body_off,
				    body_len - body_off);
				if (n > 0)
					body_off += (size_t)n;
				else if (n == -1 && errno != EAGAIN) {
					/* It stopped reading: drop the rest. */
					close_fd(&r->in);
					body_off = body_len;
				}
				if (left == 0 && body_off == body_len) {
					body_done = true;
					close_fd(&r->in);
					if (r->header_done && release(r) == -1)
						r->client_gone = true;
				}
			} else if (pfd[i].fd == r->out) {
				if (read_stdout(r, body_done) == -1)
					return -1;
			} else if (pfd[i].fd == r->err) {
				(void)read_stderr(r);
			} else if (pfd[i].fd == conn) {
				r->client_gone = true;
			} else if (pfd[i].fd == r->pidfd) {
				note_exit(r);
				close_fd(&r->pidfd);
				for (k = 0; k < CGI_DRAIN_READS && r->err !=
				    -1 && read_stderr(r); k++)
					;
				stderr_flush(r, true);
				close_fd(&r->err);
				r->drain_later = true;
			}
		}
	}
	return 0;
}

/*
 * Start the program (cgi_spawn.c), its pid in this thread's slot, and
 * watch it through a pidfd.  Returns 0 or -1 (logged).
 */
static int
spawn(struct cgi_run *r, const struct cgi_target *t, char **envp)
{
	struct cgi_child	 c;
	const char		*why;
	int			 rc;

	pthread_rwlock_rdlock(&cgi_fork_lock);
	rc = cgi_spawn(t, envp, cgi_pool->cgi_rlimits, cgi_pool->ncgi_rlimits,
	    cgi_my_slot, &c, &why);
	pthread_rwlock_unlock(&cgi_fork_lock);
	if (rc == -1) {
		if (why != NULL)
			pooled_req_log(r->req, POOLED_LOG_ERROR, "%s: cannot "
			    "run: %s: %s", t->path, why, strerror(errno));
		else
			pooled_req_log(r->req, POOLED_LOG_ERROR, "%s: cannot "
			    "run: %s", t->path, strerror(errno));
		return -1;
	}
	r->pid = c.pid;
	r->in = c.in;
	r->out = c.out;
	r->err = c.err;
	if ((r->pidfd = pidfd_open(r->pid, 0)) == -1)
		pooled_req_log(r->req, POOLED_LOG_WARNING, "%s: pidfd_open: "
		    "%s", t->path, strerror(errno));
	return 0;
}

static void
run_free(struct cgi_run *r)
{
	close_fd(&r->in);
	close_fd(&r->out);
	close_fd(&r->err);
	if (r->err_dropped > 0)
		pooled_req_log(r->req, POOLED_LOG_WARNING, "%s: stderr "
		    "truncated at request_log_max (%zu bytes): %zu bytes "
		    "dropped", r->path, cgi_pool->request_log_max,
		    r->err_dropped);
	close_fd(&r->pidfd);
	close_fd(&r->spill);
	free(r->hold);
	if (r->pid > 0) {
		kill_group(r);
		reap(r);
	}
	if (cgi_my_slot != NULL)
		atomic_store(cgi_my_slot, 0);
}

static int
cgi_handle(struct pooled_req *req)
{
	struct cgi_target	 t;
	struct cgi_run		 r;
	const char		*file, *why;
	char			 how[128], **envp;
	int			 status, rc;
	size_t			 left;

	if (cgi_path_resolve(req->envp, cgi_pool, &t, &file, &status,
	    &why) == -1) {
		pooled_req_log(req, POOLED_LOG_ERROR, "cgi: %s: %s", file,
		    why);
		return req_respond_error(req, status, why) == -1 ? -1 : 0;
	}
	if ((envp = cgi_env_build(req->envp, &t, cgi_pool,
	    req->log_prefix)) == NULL) {
		cgi_path_release(&t);
		return req_respond_error(req, 500, "cannot build the "
		    "environment") == -1 ? -1 : 0;
	}
	memset(&r, 0, sizeof(r));
	r.req = req;
	r.path = t.path;
	r.nph = strncmp(strrchr(t.path, '/') + 1, "nph-", 4) == 0;
	r.in = r.out = r.err = r.pidfd = r.spill = -1;
	r.deadline = clock_ms() + cgi_pool->cgi_timeout * 1000LL;
	rc = spawn(&r, &t, envp);
	cgi_path_release(&t);
	if (rc == -1) {
		free(envp);
		run_free(&r);
		return req_respond_error(req, 500, "cannot run the program") ==
		    -1 ? -1 : 0;
	}
	free(envp);
	sb_self_cgi(1);
	rc = pump(&r, pooled_req_param(req, "CONTENT_LENGTH"));
	if (r.read_bounded) {
		struct timeval tv = { .tv_sec = cgi_pool->read_timeout };

		(void)setsockopt(req->io->conn_fd(req->ctx), SOL_SOCKET,
		    SO_RCVTIMEO, &tv, sizeof(tv));
	}
	kill_group(&r);
	/*
	 * What the program left running in its process group goes too, so
	 * processes x threads bounds the programs a pool runs.  The group
	 * id cannot be reused while any member lives, nor while the program
	 * is not reaped: so before the reap.
	 */
	if (r.pid > 0)
		(void)kill(-r.pid, SIGKILL);
	reap(&r);
	sb_self_cgi(-1);
	/* And what left the group: it was handed to the worker. */
	if ((left = sweep()) > 0)
		pooled_req_log(req, POOLED_LOG_NOTICE, "%s: killed %zu "
		    "processes left behind", t.path, left);
	proc_describe_status(r.status, how, sizeof(how));
	if (r.timed_out) {
		sb_self_cgi_killed();
		pooled_req_log(req, POOLED_LOG_ERROR, "%s: killed after "
		    "cgi_timeout (%d s)", t.path, cgi_pool->cgi_timeout);
		if (!r.sent_any)
			(void)req_respond_error(req, 504, "cgi_timeout");
	} else if (rc == 0 && !r.header_done) {
		pooled_req_log(req, POOLED_LOG_ERROR, "%s: %s before a "
		    "complete response header", t.path, how);
		(void)req_respond_error(req, 502, "no valid response header");
	} else if (rc == -1 && r.internal_error && !r.sent_any)
		(void)req_respond_error(req, 500, "internal error relaying "
		    "the program");
	else if (rc == -1 && !r.sent_any && !r.client_gone)
		(void)req_respond_error(req, 502, "malformed response header");
	else {
		if (r.hold_len + r.spill_len > 0 && release(&r) == -1)
			r.client_gone = true;
		/* The answer stands, but a crash must not go unnoticed. */
		if (!r.killed && r.status != 0)
			pooled_req_log(req, POOLED_LOG_WARNING, "%s: %s after "
			    "its response header", t.path, how);
	}
	if (r.client_gone) {
		pooled_req_log(req, POOLED_LOG_NOTICE, "%s: the client went "
		    "away; program killed", t.path);
		/* Nothing more is written to it, an error page neither. */
		req->write_failed = true;
	}
	run_free(&r);
	return 0;
}

/* Give the thread its slot in cgi_running. */
static int
cgi_thread_init(void **thread_data)
{
	size_t	 i = atomic_fetch_add(&cgi_next_slot, 1);

	*thread_data = NULL;
	if (i < cgi_nslots)
		cgi_my_slot = &cgi_running[i];
	return 0;
}

/*
 * Kill every program this worker runs, with its process group.  Safe in
 * a signal handler and just before _exit.
 */
void
handler_cgi_kill_all(void)
{
	size_t	 i;
	pid_t	 pid;

	for (i = 0; i < cgi_nslots; i++)
		if ((pid = atomic_load(&cgi_running[i])) > 0) {
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);	/* left its group */
		}
}

/*
 * cgi_spill_dir as this worker sees it (inside its chroot), once it is
 * known to take a temporary file of the pool's user and to be no place
 * where anyone may write and not sticky; else NULL (logged), and held
 * output stays in memory, up to cgi_hold_max all the same.
 */
static const char *
spill_dir(const struct pool_conf *pc)
{
	const char	*dir = privs_inside(pc, pc->cgi_spill_dir);
	struct stat	 st;
	int		 fd;

	if (dir == NULL)
		return NULL;
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) == -1 ||
	    stat(dir, &st) == -1) {
		log_warn("cgi: cgi_spill_dir %s; output held before a "
		    "request body is in stays in memory", dir);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	close(fd);
	if ((st.st_mode & (S_IWOTH | S_ISVTX)) == S_IWOTH) {
		log_warnx("cgi: cgi_spill_dir %s: writable by anyone and not "
		    "sticky; output held before a request body is in stays "
		    "in memory", dir);
		return NULL;
	}
	return dir;
}

/*
 * What the CGI backend needs before the worker gives up its privileges
 * and chroots: /proc, to find the processes programs leave behind.
 */
void
handler_cgi_prepare(void)
{
	cgi_procfd = reaper_open();
}

/* The CGI backend for pool pc. */
const struct backend *
handler_cgi_open(const struct pool_conf *pc)
{
	pthread_rwlockattr_t	 attr;

	cgi_pool = pc;
	cgi_spill = spill_dir(pc);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) == -1) {
		log_warn("cgi: PR_SET_CHILD_SUBREAPER");
		close_fd(&cgi_procfd);
	}
	/* A steady stream of spawns must not starve the sweep. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&cgi_fork_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	/* The worker's handlers are all in place by now (worker_main). */
	cgi_spawn_init();
	cgi_nslots = (size_t)pc->threads;
	cgi_running = xcalloc(cgi_nslots, sizeof(*cgi_running));
	cgi_backend.name = "cgi";
	cgi_backend.thread_init = cgi_thread_init;
	cgi_backend.handle = cgi_handle;
	return &cgi_backend;
}
