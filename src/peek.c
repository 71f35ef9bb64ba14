/*
 * Judging a connection's request header by peeking at it, for every
 * protocol: nothing is consumed until a thread takes the connection.
 *
 * Most headers fit in a small peek on the stack; only when the judge needs
 * more is a buffer of the protocol's maximum allocated, once, for that
 * look, so parked connections cost no memory of their own.  A header
 * still incomplete at the maximum is too large: refused; one still
 * incomplete when the peer has shut its side down is closed.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "pooled.h"

/*
 * Most nginx headers take 1 to 2 KiB.  The peek is on the stack of every
 * acceptor, and each stack keeps the deepest page it ever touched: 4 KiB
 * less here is 4 KiB less of every thread.
 */
#define PEEK_SMALL	4096

/*
 * Whether the peer has shut its side down: a header still incomplete then
 * never will be, and waiting for read_timeout would only hold the slot.
 */
static bool
peer_done(int fd)
{
	struct pollfd	 p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/*
 * Peek at fd and judge what arrived: CONN_EMPTY when nothing arrived yet,
 * CONN_CLOSED at EOF or on error, else what judge says of up to max bytes
 * (CONN_INVALID, with *why, also for a header longer than max: then *why
 * is too_large).
 */
enum conn_readiness
peek_judge(int fd, size_t max, peek_judge_fn *judge, const char *too_large,
    const char **why)
{
	char			 small[PEEK_SMALL], *large;
	enum conn_readiness	 r;
	ssize_t			 n;

	n = recv(fd, small, max < sizeof(small) ? max : sizeof(small),
	    MSG_PEEK | MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? CONN_EMPTY :
		    CONN_CLOSED;
	if (n == 0)
		return CONN_CLOSED;
	r = judge(small, (size_t)n, why);
	if (r != CONN_PARTIAL || (size_t)n < sizeof(small) ||
	    (size_t)n == max)
		goto done;
	/* Rare: a header beyond 4 KiB (big cookies); look further once. */
	if ((large = malloc(max)) == NULL)
		return CONN_PARTIAL;
	n = recv(fd, large, max, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		r = n == 0 ? CONN_CLOSED : CONN_PARTIAL;
	else
		r = judge(large, (size_t)n, why);
	free(large);
done:
	if (r == CONN_PARTIAL && n > 0 && (size_t)n == max) {
		*why = too_large;
		r = CONN_INVALID;
	}
	if (r == CONN_PARTIAL && peer_done(fd))
		r = CONN_CLOSED;
	return r;
}
