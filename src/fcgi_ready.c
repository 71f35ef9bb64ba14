/*
 * Is a FastCGI request ready to be read without blocking, and is it sane?
 * An acceptor hands a connection to libfcgi only once the begin record and
 * the whole params stream (up to the empty FCGI_PARAMS record that ends
 * it) sit in the socket buffer; libfcgi then parses them without waiting
 * on the peer.  A peer that trickles its header stays parked without a
 * thread until it is complete or its deadline passes.
 *
 * The check is also the gate in front of libfcgi's parser, which trusts
 * what it reads: name and value lengths that do not fit the params stream
 * make it overflow an int and abort, management records make it leak, a
 * params stream for another request id makes it wait forever.  What no web
 * server sends is refused here, with a reason.  This looks at bytes with
 * MSG_PEEK and never consumes any.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define FCGI_HEADER_LEN		8
#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_PARAMS		4
#define FCGI_RESPONDER		1

/*
 * Reads the params stream in order across its records.  Only used on a
 * buffer fcgi_params_complete walked already, so every record is whole.
 */
struct params_reader {
	const uint8_t	*buf;
	size_t		 rec;		/* offset of the current record */
	size_t		 pos;		/* next content byte in it */
	size_t		 end;		/* end of its content */
};

static size_t
content_len(const uint8_t *h)
{
	return (size_t)h[4] << 8 | h[5];
}

/* Move to the next record's content; false at the empty one. */
static bool
next_record(struct params_reader *pr)
{
	const uint8_t	*h = pr->buf + pr->rec;

	pr->rec += FCGI_HEADER_LEN + content_len(h) + h[6];
	h = pr->buf + pr->rec;
	pr->pos = pr->rec + FCGI_HEADER_LEN;
	pr->end = pr->pos + content_len(h);
	return pr->pos != pr->end;
}

/* Take n bytes of the stream, copying them to out unless it is NULL. */
static bool
take(struct params_reader *pr, size_t n, uint8_t *out)
{
	size_t	 chunk;

	while (n > 0) {
		if (pr->pos == pr->end && !next_record(pr))
			return false;
		chunk = pr->end - pr->pos;
		if (chunk > n)
			chunk = n;
		if (out != NULL) {
			memcpy(out, pr->buf + pr->pos, chunk);
			out += chunk;
		}
		pr->pos += chunk;
		n -= chunk;
	}
	return true;
}

/* A name or value length: one byte, or four with the top bit set. */
static bool
take_length(struct params_reader *pr, size_t *len, size_t *used)
{
	uint8_t	 b[4];

	if (!take(pr, 1, b))
		return false;
	if ((b[0] & 0x80) == 0) {
		*len = b[0];
		*used = 1;
		return true;
	}
	if (!take(pr, 3, b + 1))
		return false;
	*len = (size_t)(b[0] & 0x7f) << 24 | (size_t)b[1] << 16 |
	    (size_t)b[2] << 8 | b[3];
	*used = 4;
	return true;
}

/*
 * Check the name-value pairs of a complete params stream: every length
 * within what the stream holds, no pair cut off by its end.  first is the
 * offset of the first FCGI_PARAMS record, total the sum of their content
 * lengths.
 */
static bool
pairs_fit(const uint8_t *buf, size_t first, size_t total)
{
	struct params_reader	 pr;
	size_t			 left = total, nlen, vlen, n1, n2;

	pr.buf = buf;
	pr.rec = first;
	pr.pos = first + FCGI_HEADER_LEN;
	pr.end = pr.pos + content_len(buf + first);
	while (left > 0) {
		if (!take_length(&pr, &nlen, &n1) ||
		    !take_length(&pr, &vlen, &n2) || n1 + n2 > left)
			return false;
		left -= n1 + n2;
		if (nlen > left || vlen > left - nlen)
			return false;
		if (!take(&pr, nlen + vlen, NULL))
			return false;
		left -= nlen + vlen;
	}
	return true;
}

/*
 * Walk the records in buf.  Returns CONN_READY once the empty FCGI_PARAMS
 * record that ends the header is there and the header is sane,
 * CONN_PARTIAL while more is needed, and CONN_INVALID, with *why set, for
 * a header no web server sends.
 */
enum conn_readiness
fcgi_params_complete(const uint8_t *buf, size_t len, const char **why)
{
	size_t		 off = 0, clen, pad, params = 0, total = 0;
	unsigned int	 id, req_id = 0;
	bool		 first = true;

	while (len - off >= FCGI_HEADER_LEN) {
		const uint8_t	*h = buf + off;

		id = (unsigned int)h[2] << 8 | h[3];
		clen = (size_t)h[4] << 8 | h[5];
		pad = h[6];
		if (h[0] != FCGI_VERSION_1) {
			*why = "not FastCGI version 1";
			return CONN_INVALID;
		}
		if (id == 0) {
			*why = "a management record (request id 0)";
			return CONN_INVALID;
		}
		if (first) {
			if (h[1] != FCGI_BEGIN_REQUEST || clen != 8) {
				*why = "the first record is not "
				    "FCGI_BEGIN_REQUEST";
				return CONN_INVALID;
			}
			req_id = id;
		} else if (h[1] != FCGI_PARAMS) {
			*why = "a record other than FCGI_PARAMS before the "
			    "params ended";
			return CONN_INVALID;
		} else if (id != req_id) {
			*why = "params for another request id";
			return CONN_INVALID;
		} else if (clen == 0) {
			if (!pairs_fit(buf, params, total)) {
				*why = "a param length beyond the params";
				return CONN_INVALID;
			}
			return CONN_READY;
		}
		if (clen + pad > len - off - FCGI_HEADER_LEN)
			return CONN_PARTIAL;
		if (first) {
			/* role, in the begin record's body */
			if (((unsigned int)h[8] << 8 | h[9]) !=
			    FCGI_RESPONDER) {
				*why = "a role other than FCGI_RESPONDER";
				return CONN_INVALID;
			}
			params = off + FCGI_HEADER_LEN + clen + pad;
		} else
			total += clen;
		first = false;
		off += FCGI_HEADER_LEN + clen + pad;
	}
	return CONN_PARTIAL;
}

static enum conn_readiness
judge(const char *buf, size_t len, const char **why)
{
	return fcgi_params_complete((const uint8_t *)buf, len, why);
}

/* Whether fd holds a whole, sane FastCGI request header; see peek_judge. */
enum conn_readiness
fcgi_request_ready(int fd, const char **why)
{
	return peek_judge(fd, FCGI_HEADER_MAX, judge,
	    "a request header larger than 64 KiB", why);
}
