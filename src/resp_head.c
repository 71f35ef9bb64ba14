/*
 * The header block of a response as it goes out, whoever wrote it (a
 * module, a CGI program's relay, pooled's own error pages): what status
 * the web server will answer with, and whether it will take the block at
 * all.  A module's output goes to the web server as it is written, so
 * this is a byte-at-a-time state machine fed with each write: nothing is
 * buffered, a block split across writes is read the same, and the body
 * after the blank line costs one comparison per write.
 *
 * The rules are cgi_header.c's (what nginx would refuse with "upstream
 * sent invalid header" or read two ways): lines "Name: value" ending in
 * LF or CRLF up to a blank line, a name that is an RFC 7230 token, no
 * folded continuation line, no NUL, no CR that does not end a line, one
 * Status of three digits.  No Status means 200, or 302 with a Location,
 * as nginx reads it.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "pooled.h"

/* The largest header block followed, blank line included. */
#define RESP_HEAD_MAX		(64 * 1024)

enum {
	RH_LINE,		/* at the start of a line */
	RH_NAME,		/* in a header name */
	RH_VALUE,		/* in a value */
	RH_CR,			/* a CR in a line: LF must follow */
	RH_CR_BLANK,		/* a CR at the start of a line: the end? */
	RH_DONE,		/* the blank line was seen: body follows */
	RH_BAD			/* malformed; why says how */
};

/* RFC 7230 tchar: the characters of a header name. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Start following a new response. */
void
resp_head_init(struct resp_head *h)
{
	memset(h, 0, sizeof(*h));
	h->state = RH_LINE;
}

static void
bad(struct resp_head *h, const char *why)
{
	h->state = RH_BAD;
	h->why = why;
}

/* The name just ended with its colon: remember which one it is. */
static void
name_end(struct resp_head *h)
{
	h->which = 0;
	if (h->namelen == 6 && strncasecmp(h->name, "Status", 6) == 0)
		h->which = 1;
	else if (h->namelen == 8 && strncasecmp(h->name, "Location", 8) == 0)
		h->which = 2;
	h->vlen = 0;
	h->vlead = true;
}

/* A line with a value ended: act on a Status or a Location. */
static void
line_end(struct resp_head *h)
{
	const char	*v = h->value;
	size_t		 n = h->vlen;

	h->nheaders++;
	if (h->which == 2)
		h->location = true;
	if (h->which != 1)
		return;
	if (h->status != 0) {
		bad(h, "more than one Status header");
		return;
	}
	/* Three digits, 100-999, then the end or a blank and a reason. */
	if (n < 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' ||
	    v[2] < '0' || v[2] > '9' || (n > 3 && v[3] != ' ' && v[3] != '\t')) {
		bad(h, "a Status that is not a 3-digit code 100-999");
		return;
	}
	h->status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

static void
step(struct resp_head *h, unsigned char c)
{
	switch (h->state) {
	case RH_LINE:
		if (c == '\n')
			h->state = RH_DONE;
		else if (c == '\r')
			h->state = RH_CR_BLANK;
		else if (c == ' ' || c == '\t')
			bad(h, "a continuation line (obsolete line folding)");
		else if (c == ':')
			bad(h, "an empty header name");
		else if (!is_tchar(c))
			bad(h, "a header line that does not begin with a name");
		else {
			h->namelen = 0;
			h->name[h->namelen++] = (char)c;
			h->state = RH_NAME;
		}
		break;
	case RH_NAME:
		if (c == ':') {
			name_end(h);
			h->state = RH_VALUE;
		} else if (c == '\n' || c == '\r')
			bad(h, "a header line without ':'");
		else if (!is_tchar(c))
			bad(h, "a header name that is not a token");
		else if (h->namelen < sizeof(h->name))
			h->name[h->namelen++] = (char)c;
		else
			h->namelen = sizeof(h->name) + 1;	/* none we know */
		break;
	case RH_VALUE:
		if (c == '\n') {
			line_end(h);
			if (h->state == RH_VALUE)
				h->state = RH_LINE;
		} else if (c == '\r')
			h->state = RH_CR;
		else if (c == '\0')
			bad(h, "a NUL byte in the header block");
		else if (h->vlead && (c == ' ' || c == '\t'))
			;
		else {
			h->vlead = false;
			if (h->vlen < sizeof(h->value))
				h->value[h->vlen++] = (char)c;
		}
		break;
	case RH_CR:
		if (c != '\n') {
			bad(h, "a CR not followed by LF in the header block");
			break;
		}
		line_end(h);
		if (h->state == RH_CR)
			h->state = RH_LINE;
		break;
	case RH_CR_BLANK:
		if (c == '\n')
			h->state = RH_DONE;
		else
			bad(h, "a CR not followed by LF in the header block");
		break;
	}
}

/*
 * Follow len more bytes of the response.  Returns true when they made the
 * block malformed (h->why says how): once per response.
 */
bool
resp_head_feed(struct resp_head *h, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 i;

	if (h->state == RH_DONE || h->state == RH_BAD)
		return false;
	for (i = 0; i < len && h->state != RH_DONE && h->state != RH_BAD; i++) {
		if (h->len++ >= RESP_HEAD_MAX) {
			bad(h, "a header block larger than 64 KiB");
			break;
		}
		step(h, p[i]);
	}
	if (h->state == RH_DONE && h->status == 0)
		h->status = h->location ? 302 : 200;
	return h->state == RH_BAD;
}

/*
 * The response is over: a block that never ended is malformed.  Returns
 * true when it made it so.
 */
bool
resp_head_end(struct resp_head *h)
{
	if (h->len == 0 || h->state == RH_DONE || h->state == RH_BAD)
		return false;
	bad(h, "no blank line ends the header block");
	return true;
}

/* Whether the whole block was seen and is valid. */
bool
resp_head_done(const struct resp_head *h)
{
	return h->state == RH_DONE;
}

/*
 * The status the web server answers with: the block's, 502 for a
 * malformed one, 0 while nothing (or not the whole block) was written.
 */
int
resp_head_status(const struct resp_head *h)
{
	if (h->state == RH_BAD)
		return 502;
	if (h->state == RH_DONE)
		return h->status;
	return 0;
}
