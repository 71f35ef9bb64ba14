/*
 * The FastCGI records that follow a request's header, read by pooled
 * itself: libfcgi never parses a byte a peer sent (proto_fcgi.c).
 *
 * A byte-level state machine (header, content, padding), fed whatever a
 * read brought, that stops at every event its caller must act on: body
 * bytes, the body's end, a management record, an abort, a protocol
 * error.  Every record is checked before its content is looked at:
 * version 1; request id 0 only for management records, the request's own
 * for FCGI_STDIN and FCGI_ABORT_REQUEST; nothing else.  A web server that
 * does not multiplex (nginx, Apache) sends nothing more, so anything
 * else (another request id, FCGI_BEGIN_REQUEST or FCGI_PARAMS again, an
 * unknown type) is an error that closes the connection.  Padding is read
 * like content, so a record counts as ended only once its padding is in.
 * Nothing here allocates or does I/O; the reader holds at most
 * FCGI_MGMT_MAX bytes of a management record.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pooled.h"

#define FCGI_VERSION_1		1
#define FCGI_BEGIN_REQUEST	1
#define FCGI_ABORT_REQUEST	2
#define FCGI_END_REQUEST	3
#define FCGI_PARAMS		4
#define FCGI_STDIN		5
#define FCGI_STDOUT		6
#define FCGI_STDERR		7
#define FCGI_DATA		8
#define FCGI_GET_VALUES		9
#define FCGI_GET_VALUES_RESULT	10
#define FCGI_UNKNOWN_TYPE	11

enum { FS_HEADER, FS_CONTENT, FS_PADDING, FS_ERROR };

/* Start reading the records of request req_id, after its params. */
void
fcgi_stream_init(struct fcgi_stream *st, unsigned int req_id)
{
	memset(st, 0, sizeof(*st));
	st->req_id = req_id;
	st->state = FS_HEADER;
}

static size_t
fail(struct fcgi_stream *st, struct fcgi_event *ev, size_t used,
    const char *why)
{
	st->state = FS_ERROR;
	st->why = why;
	ev->kind = FCGI_EV_ERROR;
	ev->why = why;
	return used;
}

/* Check a whole record header; NULL if it may be read, else why not. */
static const char *
check_header(struct fcgi_stream *st)
{
	const uint8_t	*h = st->hdr;

	st->type = h[1];
	st->id = (unsigned int)h[2] << 8 | h[3];
	st->left = (size_t)h[4] << 8 | h[5];
	st->pad = h[6];
	st->mlen = 0;
	if (h[0] != FCGI_VERSION_1)
		return "not FastCGI version 1";
	if (st->id == 0) {
		/* What the application sends, or a request's own types. */
		if (st->type <= FCGI_UNKNOWN_TYPE &&
		    st->type != FCGI_GET_VALUES)
			return "a request's record type with request id 0";
		if (st->left > FCGI_MGMT_MAX)
			return "a management record longer than 1024 bytes";
		return NULL;
	}
	if (st->id != st->req_id)
		return "a record for another request id (multiplexing)";
	switch (st->type) {
	case FCGI_STDIN:
		return st->eof ? "FCGI_STDIN after its end" : NULL;
	case FCGI_ABORT_REQUEST:
		return NULL;
	case FCGI_BEGIN_REQUEST:
		return "FCGI_BEGIN_REQUEST inside a request";
	case FCGI_PARAMS:
		return "FCGI_PARAMS after the params ended";
	default:
		return "an unexpected record type";
	}
}

/* The record and its padding are in: what it means, if anything. */
static bool
record_end(struct fcgi_stream *st, struct fcgi_event *ev)
{
	st->state = FS_HEADER;
	st->hlen = 0;
	if (st->id == 0) {
		ev->kind = FCGI_EV_MGMT;
		ev->type = st->type;
		ev->data = st->mgmt;
		ev->len = st->mlen;
		return true;
	}
	if (st->type == FCGI_ABORT_REQUEST) {
		ev->kind = FCGI_EV_ABORT;
		return true;
	}
	if (st->type == FCGI_STDIN && st->empty) {
		st->eof = true;
		ev->kind = FCGI_EV_EOF;
		return true;
	}
	return false;
}

/*
 * Read records from buf[0..len).  Returns how many bytes were used and
 * sets *ev to what the caller must act on: FCGI_EV_DATA (up to max body
 * bytes, at ev->data inside buf), FCGI_EV_EOF (the empty FCGI_STDIN),
 * FCGI_EV_MGMT (a whole management record: ev->type, ev->data, ev->len),
 * FCGI_EV_ABORT, FCGI_EV_ERROR (ev->why; every later call fails too), or
 * FCGI_EV_NONE when all of buf was used and more is needed.
 */
size_t
fcgi_stream_next(struct fcgi_stream *st, const uint8_t *buf, size_t len,
    size_t max, struct fcgi_event *ev)
{
	size_t		 off = 0, n;
	const char	*why;

	memset(ev, 0, sizeof(*ev));
	if (st->state == FS_ERROR)
		return fail(st, ev, 0, st->why);
	while (off < len) {
		switch (st->state) {
		case FS_HEADER:
			n = sizeof(st->hdr) - st->hlen;
			if (n > len - off)
				n = len - off;
			memcpy(st->hdr + st->hlen, buf + off, n);
			st->hlen += n;
			off += n;
			if (st->hlen < sizeof(st->hdr))
				break;
			if ((why = check_header(st)) != NULL)
				return fail(st, ev, off, why);
			st->empty = st->left == 0;
			st->state = st->left > 0 ? FS_CONTENT : FS_PADDING;
			if (st->state == FS_PADDING && st->pad == 0 &&
			    record_end(st, ev))
				return off;
			break;
		case FS_CONTENT:
			n = len - off;
			if (n > st->left)
				n = st->left;
			if (st->id == 0) {
				memcpy(st->mgmt + st->mlen, buf + off, n);
				st->mlen += n;
			} else if (st->type == FCGI_STDIN) {
				if (max == 0) {
					ev->kind = FCGI_EV_DATA;
					return off;
				}
				if (n > max)
					n = max;
				ev->kind = FCGI_EV_DATA;
				ev->data = buf + off;
				ev->len = n;
			}
			off += n;
			st->left -= n;
			if (st->left == 0) {
				st->state = FS_PADDING;
				if (st->pad == 0 && record_end(st, ev) &&
				    ev->kind != FCGI_EV_DATA)
					return off;
			}
			if (ev->kind == FCGI_EV_DATA)
				return off;
			break;
		case FS_PADDING:
			n = len - off;
			if (n > st->pad)
				n = st->pad;
			off += n;
			st->pad -= n;
			if (st->pad == 0 && record_end(st, ev))
				return off;
			break;
		}
	}
	ev->kind = FCGI_EV_NONE;
	return off;
}

/* Append the pair name=value (both short) to out; false if no room. */
static bool
put_pair(uint8_t *out, size_t cap, size_t *off, const char *name,
    const char *value)
{
	size_t	 nl = strlen(name), vl = strlen(value);

	if (nl > 127 || vl > 127 || 2 + nl + vl > cap - *off)
		return false;
	out[(*off)++] = (uint8_t)nl;
	out[(*off)++] = (uint8_t)vl;
	memcpy(out + *off, name, nl);
	*off += nl;
	memcpy(out + *off, value, vl);
	*off += vl;
	return true;
}

/* A name-value length: one byte, or four with the top bit set. */
static bool
get_length(const uint8_t *p, size_t len, size_t *off, size_t *out)
{
	if (*off >= len)
		return false;
	if ((p[*off] & 0x80) == 0) {
		*out = p[(*off)++];
		return true;
	}
	if (len - *off < 4)
		return false;
	*out = (size_t)(p[*off] & 0x7f) << 24 | (size_t)p[*off + 1] << 16 |
	    (size_t)p[*off + 2] << 8 | p[*off + 3];
	*off += 4;
	return true;
}

static void
put_header(uint8_t *out, unsigned int type, size_t clen, size_t pad)
{
	out[0] = FCGI_VERSION_1;
	out[1] = (uint8_t)type;
	out[2] = out[3] = 0;
	out[4] = (uint8_t)(clen >> 8);
	out[5] = (uint8_t)clen;
	out[6] = (uint8_t)pad;
	out[7] = 0;
}

/*
 * The answer to a management record of type with content[0..len): an
 * FCGI_GET_VALUES_RESULT naming each of FCGI_MAX_CONNS, FCGI_MAX_REQS
 * and FCGI_MPXS_CONNS asked for, once, whatever the repeats (other
 * names are ignored, as the specification says; a malformed pair ends
 * the walk), or FCGI_UNKNOWN_TYPE for any other type.  Written to out,
 * which holds FCGI_MGMT_ANSWER_MAX bytes; returns the record's length.
 */
size_t
fcgi_mgmt_answer(unsigned int type, const uint8_t *content, size_t len,
    unsigned int max_conns, unsigned int max_reqs, uint8_t *out)
{
	static const char *const names[] = {
		"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"
	};
	char		 value[3][16];
	bool		 done[3] = { false, false, false };
	size_t		 off = 0, nlen, vlen, clen = 0, pad, i;

	if (type != FCGI_GET_VALUES) {
		put_header(out, FCGI_UNKNOWN_TYPE, 8, 0);
		memset(out + 8, 0, 8);
		out[8] = (uint8_t)type;
		return 16;
	}
	snprintf(value[0], sizeof(value[0]), "%u", max_conns);
	snprintf(value[1], sizeof(value[1]), "%u", max_reqs);
	snprintf(value[2], sizeof(value[2]), "0");
	while (off < len) {
		if (!get_length(content, len, &off, &nlen) ||
		    !get_length(content, len, &off, &vlen) ||
		    nlen > len - off || vlen > len - off - nlen)
			break;
		for (i = 0; i < 3; i++)
			if (!done[i] && nlen == strlen(names[i]) &&
			    memcmp(content + off, names[i], nlen) == 0) {
				done[i] = put_pair(out + 8,
				    FCGI_MGMT_ANSWER_MAX - 16, &clen,
				    names[i], value[i]);
				break;
			}
		off += nlen + vlen;
	}
	pad = (8 - clen % 8) % 8;
	memset(out + 8 + clen, 0, pad);
	put_header(out, FCGI_GET_VALUES_RESULT, clen, pad);
	return 8 + clen + pad;
}
