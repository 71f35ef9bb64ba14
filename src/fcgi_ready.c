/*
 * Is a FastCGI request ready to be read without blocking?  An acceptor
 * hands a connection to libfcgi only once the begin record and the whole
 * params stream (up to the empty FCGI_PARAMS record that ends it) sit in
 * the socket buffer; libfcgi then parses them without waiting on the
 * peer.  A peer that trickles its params stays parked without a thread
 * until they are complete or its deadline passes.  This looks at bytes
 * with MSG_PEEK and never consumes any.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>

#include "pooled.h"

#define FCGI_HEADER_LEN		8
#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_PARAMS		4
#define FCGI_PEEK_SMALL		8192
#define FCGI_PEEK_LARGE		65536

/*
 * Walk the records in buf.  Returns CONN_READY once the empty FCGI_PARAMS
 * record that ends the header is there, CONN_PARTIAL while more is
 * needed, and CONN_INVALID, with *why set, for a header no web server
 * sends: another protocol version, a first record that does not begin a
 * request, anything but params before the header ends.  Management
 * records (request id 0) are left to libfcgi, which answers them.
 */
enum conn_readiness
fcgi_params_complete(const uint8_t *buf, size_t len, const char **why)
{
	size_t	 off = 0, clen, pad;
	bool	 first = true;

	while (len - off >= FCGI_HEADER_LEN) {
		const uint8_t	*h = buf + off;
		unsigned int	 id = (unsigned int)h[2] << 8 | h[3];

		clen = (size_t)h[4] << 8 | h[5];
		pad = h[6];
		if (h[0] != FCGI_VERSION_1) {
			*why = "not FastCGI version 1";
			return CONN_INVALID;
		}
		if (id == 0 && first)
			return CONN_READY;
		if (first && (h[1] != FCGI_BEGIN_REQUEST || clen != 8)) {
			*why = "the first record is not FCGI_BEGIN_REQUEST";
			return CONN_INVALID;
		}
		if (!first && h[1] != FCGI_PARAMS) {
			*why = "a record other than FCGI_PARAMS before the "
			    "params ended";
			return CONN_INVALID;
		}
		if (!first && clen == 0)
			return CONN_READY;
		first = false;
		off += FCGI_HEADER_LEN;
		if (clen + pad > len - off)
			return CONN_PARTIAL;
		off += clen + pad;
	}
	return CONN_PARTIAL;
}

/*
 * Peek at fd: CONN_EMPTY when nothing arrived yet, CONN_CLOSED at EOF or on
 * error, CONN_PARTIAL while the header is incomplete, CONN_INVALID (with
 * *why) for a malformed one, CONN_READY when a thread can take it.  A
 * header larger than the biggest peek is handed over as ready:
 * read_timeout still bounds each read.
 */
enum conn_readiness
fcgi_request_ready(int fd, const char **why)
{
	uint8_t			 small[FCGI_PEEK_SMALL], *large;
	enum conn_readiness	 r;
	ssize_t			 n;

	n = recv(fd, small, sizeof(small), MSG_PEEK | MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? CONN_EMPTY :
		    CONN_CLOSED;
	if (n == 0)
		return CONN_CLOSED;
	r = fcgi_params_complete(small, (size_t)n, why);
	if (r != CONN_PARTIAL || (size_t)n < sizeof(small))
		return r;
	/* Rare: a header beyond 8 KiB (big cookies); look further once. */
	if ((large = malloc(FCGI_PEEK_LARGE)) == NULL)
		return CONN_READY;
	n = recv(fd, large, FCGI_PEEK_LARGE, MSG_PEEK | MSG_DONTWAIT);
	if (n <= 0)
		r = CONN_READY;
	else {
		r = fcgi_params_complete(large, (size_t)n, why);
		if (r == CONN_PARTIAL && (size_t)n == FCGI_PEEK_LARGE)
			r = CONN_READY;
	}
	free(large);
	return r;
}
