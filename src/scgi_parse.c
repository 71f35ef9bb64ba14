/*
 * The SCGI request header (python.ca/scgi/protocol.txt).  A request
 * starts with one netstring, "<len>:<block>,", where <len> is the block's
 * length in decimal and the block is a run of NAME NUL VALUE NUL pairs.
 * The first header is CONTENT_LENGTH, a decimal count of the body bytes
 * that follow the ','; a header SCGI with the value "1" is present too.
 *
 * An acceptor peeks at a new connection and calls scgi_head_parse on what
 * arrived so far, as fcgi_ready.c does for FastCGI: a thread takes the
 * connection only once the whole netstring is in the socket buffer.  The
 * parse is strict, and refuses as early as the bytes allow, because the
 * only peer is a web server we configured: anything it would not send is
 * a bug or an attack, and a peer that is refused early holds no parked
 * slot until its deadline.  Every check is monotonic in the bytes seen:
 * once a prefix is refused, so is every longer input, and a prefix of a
 * valid request is never refused.  Lengths are bounded before any block
 * byte is read (scgi_header_max), the header count before a header past
 * the limit is looked at (scgi_max_headers).  Names may not contain '=',
 * since the headers become NAME=VALUE strings for the request params and
 * a CGI environment.  Nothing here allocates or reads past len.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "pooled.h"

#define SCGI_CONTENT_LENGTH	"CONTENT_LENGTH"
#define SCGI_CONTENT_LENGTH_LEN	(sizeof(SCGI_CONTENT_LENGTH) - 1)

/* What a walk of the header block has learned so far. */
struct block_walk {
	size_t		 nstrings;	/* complete names and values */
	bool		 scgi_value;	/* the next value is SCGI's */
	bool		 scgi_seen;
	uint64_t	 content_length;
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
same(const char *s, size_t slen, const char *name)
{
	return slen == strlen(name) && memcmp(s, name, slen) == 0;
}

/*
 * The netstring length "<digits>:".  CONN_READY sets *off to the first
 * block byte and *blen to the block length; CONN_PARTIAL until the ':'
 * arrives.  A length over header_max is refused as soon as its digits
 * show it, so a peer cannot make us wait for a block we would not take.
 */
static enum conn_readiness
length_prefix(const char *buf, size_t len, size_t header_max, size_t *off,
    size_t *blen, const char **why)
{
	size_t	 i, n = 0, d;

	for (i = 0; i < len && buf[i] != ':'; i++) {
		if (!is_digit(buf[i])) {
			*why = "a netstring length that is not a number";
			return CONN_INVALID;
		}
		if (i == 1 && buf[0] == '0') {
			*why = "a netstring length with a leading zero";
			return CONN_INVALID;
		}
		d = (size_t)(buf[i] - '0');
		if (n > (SIZE_MAX - d) / 10) {
			*why = "a netstring length that is too long";
			return CONN_INVALID;
		}
		n = n * 10 + d;
		if (n > header_max) {
			*why = "a header block larger than scgi_header_max";
			return CONN_INVALID;
		}
	}
	if (i == len)
		return CONN_PARTIAL;
	if (i == 0) {
		*why = "a netstring length that is not a number";
		return CONN_INVALID;
	}
	if (n == 0) {
		*why = "an empty header block";
		return CONN_INVALID;
	}
	*off = i + 1;
	*blen = n;
	return CONN_READY;
}

/*
 * Check a header name, s[0..slen), index idx; complete when its NUL was
 * seen, else only its first slen bytes are there.
 */
static bool
check_name(const char *s, size_t slen, bool complete, size_t idx,
    struct block_walk *w, const char **why)
{
	if (complete && slen == 0) {
		*why = "an empty header name";
		return false;
	}
	if (memchr(s, '=', slen) != NULL) {
		*why = "a header name with '='";
		return false;
	}
	if (idx == 0) {
		if (slen > SCGI_CONTENT_LENGTH_LEN ||
		    memcmp(s, SCGI_CONTENT_LENGTH, slen) != 0 ||
		    (complete && slen != SCGI_CONTENT_LENGTH_LEN)) {
			*why = "CONTENT_LENGTH missing or not the first header";
			return false;
		}
	} else if (complete && same(s, slen, SCGI_CONTENT_LENGTH)) {
		*why = "a second CONTENT_LENGTH header";
		return false;
	}
	w->scgi_value = complete && same(s, slen, "SCGI");
	return true;
}

/* Check a header value, as check_name does a name. */
static bool
check_value(const char *s, size_t slen, bool complete, size_t idx,
    struct block_walk *w, const char **why)
{
	uint64_t	 n = 0, d;
	size_t		 i;

	if (idx == 0) {
		/* CONTENT_LENGTH: digits only, no sign, no blanks. */
		if (complete && slen == 0) {
			*why = "a CONTENT_LENGTH that is not a number";
			return false;
		}
		for (i = 0; i < slen; i++) {
			if (!is_digit(s[i])) {
				*why = "a CONTENT_LENGTH that is not a number";
				return false;
			}
			d = (uint64_t)(s[i] - '0');
			if (n > (INT64_MAX - d) / 10) {
				*why = "a CONTENT_LENGTH that is too large";
				return false;
			}
			n = n * 10 + d;
		}
		w->content_length = n;
	} else if (w->scgi_value) {
		if (slen > 1 || (slen == 1 && s[0] != '1') ||
		    (complete && slen == 0)) {
			*why = "an SCGI header whose value is not 1";
			return false;
		}
		if (complete)
			w->scgi_seen = true;
	}
	return true;
}

/*
 * Walk the first avail bytes of a header block of blen bytes.  Every
 * complete name and value is checked, and the last, incomplete one as far
 * as it goes.  CONN_PARTIAL while avail < blen and nothing is wrong,
 * CONN_READY when the whole block is there and valid.
 */
static enum conn_readiness
walk_block(const char *b, size_t avail, size_t blen, unsigned int max_headers,
    struct block_walk *w, const char **why)
{
	const char	*nul;
	size_t		 p = 0, slen, idx;
	bool		 complete = true;

	memset(w, 0, sizeof(*w));
	while (p < avail) {
		idx = w->nstrings / 2;
		if (w->nstrings % 2 == 0 && idx >= max_headers) {
			*why = "more headers than scgi_max_headers";
			return CONN_INVALID;
		}
		nul = memchr(b + p, '\0', avail - p);
		complete = nul != NULL;
		slen = complete ? (size_t)(nul - (b + p)) : avail - p;
		if (w->nstrings % 2 == 0) {
			if (!check_name(b + p, slen, complete, idx, w, why))
				return CONN_INVALID;
		} else if (!check_value(b + p, slen, complete, idx, w, why))
			return CONN_INVALID;
		if (!complete)
			break;
		w->nstrings++;
		p += slen + 1;
	}
	if (avail < blen)
		return CONN_PARTIAL;
	if (!complete) {
		*why = "a header without its NUL";
		return CONN_INVALID;
	}
	if (w->nstrings % 2 != 0) {
		*why = "a header name without its value";
		return CONN_INVALID;
	}
	if (!w->scgi_seen) {
		*why = "no SCGI header";
		return CONN_INVALID;
	}
	return CONN_READY;
}

/*
 * Parse the SCGI header netstring at the start of buf[0..len), the bytes
 * of a connection so far: CONN_PARTIAL while more are needed, CONN_INVALID
 * with *why once they cannot start a valid request, CONN_READY with *h
 * filled when the netstring is complete and valid.
 */
enum conn_readiness
scgi_head_parse(const char *buf, size_t len, size_t header_max,
    unsigned int max_headers, struct scgi_head *h, const char **why)
{
	struct block_walk	 w;
	enum conn_readiness	 r;
	size_t			 off, blen, avail;

	r = length_prefix(buf, len, header_max, &off, &blen, why);
	if (r != CONN_READY)
		return r;
	avail = len - off;
	if (avail > blen)
		avail = blen;
	r = walk_block(buf + off, avail, blen, max_headers, &w, why);
	if (r != CONN_READY)
		return r;
	if (len - off == blen)
		return CONN_PARTIAL;
	if (buf[off + blen] != ',') {
		*why = "a netstring without its closing ','";
		return CONN_INVALID;
	}
	h->total = off + blen + 1;
	h->block_off = off;
	h->block_len = blen;
	/* At most max_headers, so it fits. */
	h->nheaders = (unsigned int)(w.nstrings / 2);
	h->content_length = w.content_length;
	return CONN_READY;
}

/*
 * Turn a header block scgi_head_parse accepted (a copy, len bytes) into
 * NAME=VALUE strings in place; envp gets one pointer per header and NULL.
 */
void
scgi_envp_fill(char *block, size_t len, char **envp)
{
	char	*name, *eq, *end;
	size_t	 off = 0, n = 0;

	while (off < len) {
		name = block + off;
		if ((eq = memchr(name, '\0', len - off)) == NULL)
			break;
		end = memchr(eq + 1, '\0', len - off - (size_t)(eq - name) - 1);
		if (end == NULL)
			break;
		*eq = '=';
		envp[n++] = name;
		off = (size_t)(end - block) + 1;
	}
	envp[n] = NULL;
}
