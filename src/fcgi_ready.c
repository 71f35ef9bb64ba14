/*
 * Is a FastCGI request ready to be read without blocking, and is it sane?
 * An acceptor hands a connection to a thread only once the begin record
 * and the whole params stream (up to the empty FCGI_PARAMS record that
 * ends it, padding included) sit in the socket buffer; proto_fcgi.c then
 * reads them without waiting on the peer.  A peer that trickles its
 * header stays parked without a thread until it is complete or its
 * deadline passes.  Management records (request id 0) may come first;
 * a connection that sent nothing else is ready too, to be answered (and
 * then parked again, for its request).
 *
 * The check is strict, and refuses what no web server sends, with a
 * reason: name and value lengths that do not fit the params stream,
 * names that cannot be a "NAME=VALUE" string, more params or bytes than
 * max_params and max_params_size, params for another request id.  The
 * same walk builds the request's params (fcgi_envp_build).  This looks at
 * bytes with MSG_PEEK and never consumes any.
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
#define FCGI_KEEP_CONN		1
#define FCGI_GET_VALUES		9
#define FCGI_UNKNOWN_TYPE	11
#define FCGI_ROLE_PARAM		"FCGI_ROLE=RESPONDER"

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

/* Take n bytes of a name: false if cut off, or holding '=' or NUL. */
static bool
take_name(struct params_reader *pr, size_t n)
{
	size_t	 chunk;

	while (n > 0) {
		if (pr->pos == pr->end && !next_record(pr))
			return false;
		chunk = pr->end - pr->pos;
		if (chunk > n)
			chunk = n;
		if (memchr(pr->buf + pr->pos, '=', chunk) != NULL ||
		    memchr(pr->buf + pr->pos, '\0', chunk) != NULL)
			return false;
		pr->pos += chunk;
		n -= chunk;
	}
	return true;
}

static void
reader_start(struct params_reader *pr, const uint8_t *buf, size_t first)
{
	pr->buf = buf;
	pr->rec = first;
	pr->pos = first + FCGI_HEADER_LEN;
	pr->end = pr->pos + content_len(buf + first);
}

/*
 * Check the name-value pairs of a complete params stream: every length
 * within what the stream holds, no pair cut off by its end, a name that
 * can be a "NAME=VALUE" string, no more than max of them.  h->params_off
 * is the offset of the first FCGI_PARAMS record, h->params_size the sum
 * of their content lengths.  Counts the pairs and the room their strings
 * take.
 */
static const char *
pairs_fit(const uint8_t *buf, struct fcgi_head *h, size_t max)
{
	struct params_reader	 pr;
	size_t			 left = h->params_size, nlen, vlen, n1, n2;

	reader_start(&pr, buf, h->params_off);
	h->nparams = 0;
	h->env_size = sizeof(FCGI_ROLE_PARAM);
	while (left > 0) {
		if (!take_length(&pr, &nlen, &n1) ||
		    !take_length(&pr, &vlen, &n2) || n1 + n2 > left)
			return "a param length beyond the params";
		left -= n1 + n2;
		if (nlen > left || vlen > left - nlen)
			return "a param length beyond the params";
		if (nlen == 0)
			return "a param with an empty name";
		if (++h->nparams > max)
			return "more params than max_params";
		if (!take_name(&pr, nlen))
			return "a param name holding '=' or NUL";
		if (!take(&pr, vlen, NULL))
			return "a param length beyond the params";
		left -= nlen + vlen;
		h->env_size += nlen + vlen + 2;
	}
	h->env_size += (h->nparams + 2) * sizeof(char *);
	return NULL;
}

/*
 * The "NAME=VALUE" vector of a header fcgi_head_parse found READY in buf,
 * FCGI_ROLE=RESPONDER first (as libfcgi had it), built in block, which
 * holds h->env_size bytes: one allocation, bounded by max_params and
 * max_params_size.
 */
char **
fcgi_envp_build(const uint8_t *buf, const struct fcgi_head *h, void *block)
{
	struct params_reader	 pr;
	char			**vec = block, *p;
	size_t			 left = h->params_size, nlen, vlen, n1, n2, i;

	p = (char *)(vec + h->nparams + 2);
	memcpy(p, FCGI_ROLE_PARAM, sizeof(FCGI_ROLE_PARAM));
	vec[0] = p;
	p += sizeof(FCGI_ROLE_PARAM);
	reader_start(&pr, buf, h->params_off);
	for (i = 1; left > 0; i++) {
		/* Checked by pairs_fit: none of these fails. */
		(void)take_length(&pr, &nlen, &n1);
		(void)take_length(&pr, &vlen, &n2);
		vec[i] = p;
		(void)take(&pr, nlen, (uint8_t *)p);
		p += nlen;
		*p++ = '=';
		(void)take(&pr, vlen, (uint8_t *)p);
		p += vlen;
		*p++ = '\0';
		left -= n1 + n2 + nlen + vlen;
	}
	vec[i] = NULL;
	return vec;
}

/*
 * Management records (request id 0) a connection may open with, before
 * its first request or between two: checked as fcgi_stream.c checks
 * them; answered by proto_fcgi.c.
 */
static const char *
check_mgmt(const uint8_t *h)
{
	if (h[1] <= FCGI_UNKNOWN_TYPE && h[1] != FCGI_GET_VALUES)
		return "a request's record type with request id 0";
	if (content_len(h) > FCGI_MGMT_MAX)
		return "a management record longer than 1024 bytes";
	return NULL;
}

/*
 * Walk the records in buf.  Returns CONN_READY once the empty FCGI_PARAMS
 * record that ends the header is there, with its padding, and the header
 * is sane, or once buf holds nothing but whole management records;
 * CONN_PARTIAL while more is needed; and CONN_INVALID, with *why set, for
 * a header no web server sends.  Every check is monotonic in the bytes
 * seen, so a peer that sends the same bytes in pieces gets the same
 * answer.
 */
enum conn_readiness
fcgi_head_parse(const uint8_t *buf, size_t len, size_t max_size,
    size_t max_params, struct fcgi_head *head, const char **why)
{
	size_t		 off = 0, clen, pad, nmgmt = 0;
	unsigned int	 id;
	bool		 first = true;

	memset(head, 0, sizeof(*head));
	while (len - off >= FCGI_HEADER_LEN) {
		const uint8_t	*h = buf + off;

		id = (unsigned int)h[2] << 8 | h[3];
		clen = content_len(h);
		pad = h[6];
		if (h[0] != FCGI_VERSION_1) {
			*why = "not FastCGI version 1";
			return CONN_INVALID;
		}
		if (id == 0 && !first) {
			*why = "a management record inside a request header";
			return CONN_INVALID;
		}
		if (id == 0) {
			if ((*why = check_mgmt(h)) != NULL)
				return CONN_INVALID;
			if (++nmgmt > FCGI_LEAD_MGMT_MAX) {
				*why = "too many management records";
				return CONN_INVALID;
			}
			if (clen + pad > len - off - FCGI_HEADER_LEN)
				return CONN_PARTIAL;
			off += FCGI_HEADER_LEN + clen + pad;
			if (off == len) {
				/* Answered on their own; see proto_fcgi.c. */
				head->begin_off = head->len = off;
				return CONN_READY;
			}
			continue;
		}
		if (first) {
			if (h[1] != FCGI_BEGIN_REQUEST || clen != 8) {
				*why = "the first record is not "
				    "FCGI_BEGIN_REQUEST";
				return CONN_INVALID;
			}
			head->req_id = id;
			head->begin_off = off;
		} else if (h[1] != FCGI_PARAMS) {
			*why = "a record other than FCGI_PARAMS before the "
			    "params ended";
			return CONN_INVALID;
		} else if (id != head->req_id) {
			*why = "params for another request id";
			return CONN_INVALID;
		} else if (clen == 0) {
			/* Its padding counts: libfcgi would wait for it. */
			if (pad > len - off - FCGI_HEADER_LEN)
				return CONN_PARTIAL;
			if ((*why = pairs_fit(buf, head, max_params)) != NULL)
				return CONN_INVALID;
			head->len = off + FCGI_HEADER_LEN + pad;
			head->request = true;
			return CONN_READY;
		} else if (clen > max_size - head->params_size) {
			*why = "params larger than max_params_size";
			return CONN_INVALID;
		}
		if (clen + pad > len - off - FCGI_HEADER_LEN)
			return CONN_PARTIAL;
		if (first) {
			/* role and flags, in the begin record's body */
			if (((unsigned int)h[8] << 8 | h[9]) !=
			    FCGI_RESPONDER) {
				*why = "a role other than FCGI_RESPONDER";
				return CONN_INVALID;
			}
			head->keep_conn = (h[10] & FCGI_KEEP_CONN) != 0;
			head->params_off = off + FCGI_HEADER_LEN + clen + pad;
		} else
			head->params_size += clen;
		first = false;
		off += FCGI_HEADER_LEN + clen + pad;
	}
	return CONN_PARTIAL;
}

/* The pool's limits: a worker process serves one pool. */
static size_t	 limit_size = FCGI_PARAMS_SIZE;
static size_t	 limit_count = FCGI_MAX_PARAMS;

/* Set the params limits of this process's pool. */
void
fcgi_ready_limits(size_t max_params_size, size_t max_params)
{
	limit_size = max_params_size;
	limit_count = max_params;
}

/* The most bytes a request header, and what may precede it, can take. */
size_t
fcgi_header_max(void)
{
	return limit_size + FCGI_FRAMING_SLACK +
	    FCGI_LEAD_MGMT_MAX * (FCGI_HEADER_LEN + FCGI_MGMT_MAX + 255);
}

/* fcgi_head_parse under this process's limits. */
enum conn_readiness
fcgi_head_read(const uint8_t *buf, size_t len, struct fcgi_head *h,
    const char **why)
{
	return fcgi_head_parse(buf, len, limit_size, limit_count, h, why);
}

/* Whether buf holds a whole, sane header, under this process's limits. */
enum conn_readiness
fcgi_params_complete(const uint8_t *buf, size_t len, const char **why)
{
	struct fcgi_head	 h;

	return fcgi_head_read(buf, len, &h, why);
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
	return peek_judge(fd, fcgi_header_max(), judge,
	    "a request header larger than max_params_size", why);
}
