/*
 * Reading a request body from the web server, for every protocol: a
 * minimum rate, like Apache mod_reqtimeout's MinRate, so that a peer
 * that withholds or trickles its body cannot hold a thread.
 *
 * A body may make the thread wait body_timeout seconds, plus one second
 * for every body_min_rate bytes it brought.  Only the time spent waiting
 * for the peer counts: a handler that reads late (it computes first, or
 * its CGI program is slow to read) finds the bytes waiting and does not
 * use the peer's allowance.  A trickler's allowance grows by a few
 * milliseconds a byte while its waits take seconds, so it is cut soon
 * after body_timeout; a body that keeps the rate lasts until
 * request_timeout at most, when the acceptor shuts the connection down.
 * Each wait is bounded also by the socket's receive timeout (read_timeout,
 * or less near a CGI program's deadline, see handler_cgi.c), which keeps
 * its per-read meaning.
 *
 * A read that finds bytes waiting is one recv(2), as a blocking read
 * would be; only a read that must wait adds a poll(2).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <poll.h>

#include "pooled.h"

/* Start the clock of a body: timeout_s to begin with, rate bytes/s. */
void
body_clock_start(struct body_clock *bc, int timeout_s, unsigned int rate)
{
	bc->allowed_ms = (int64_t)timeout_s * 1000;
	bc->waited_ms = 0;
	bc->got = 0;
	bc->rate = rate;
}

/* Milliseconds of waiting the body has left; <= 0 when it is too slow. */
static int64_t
remaining(const struct body_clock *bc)
{
	int64_t	 earned = 0;

	if (bc->rate > 0)
		earned = (int64_t)(bc->got / bc->rate * 1000 +
		    bc->got % bc->rate * 1000 / bc->rate);
	return bc->allowed_ms + earned - bc->waited_ms;
}

/* The socket's receive timeout in ms, or -1 for none. */
static int64_t
rcvtimeo_ms(int fd)
{
	struct timeval	 tv;
	socklen_t	 len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == -1 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return -1;
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*
 * Read up to len bytes of body from fd, waiting within the body's
 * allowance.  Returns the bytes read, 0 at EOF, or -1 with errno:
 * ETIMEDOUT when the body fell under its minimum rate, EAGAIN when one
 * wait passed the socket's receive timeout, else the error of recv(2).
 */
ssize_t
body_recv(int fd, void *buf, size_t len, struct body_clock *bc)
{
	struct pollfd	 p = { .fd = fd, .events = POLLIN };
	int64_t		 left, limit, t0;
	ssize_t		 n;
	int		 rc;

	for (;;) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0) {
			bc->got += (uint64_t)n;
			return n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if ((left = remaining(bc)) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		limit = rcvtimeo_ms(fd);
		if (limit == -1 || limit > left)
			limit = left;
		t0 = clock_ms();
		rc = poll(&p, 1, limit > INT32_MAX ? INT32_MAX : (int)limit);
		bc->waited_ms += clock_ms() - t0;
		if (rc == -1 && errno != EINTR)
			return -1;
		if (rc == 0 && limit < left) {
			errno = EAGAIN;
			return -1;
		}
	}
}

/* Bytes the body brought so far. */
uint64_t
body_received(const struct body_clock *bc)
{
	return bc->got;
}
