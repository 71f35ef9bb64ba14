/*
 * A FastCGI response on the wire: FCGI_STDOUT and FCGI_STDERR records in
 * the order they were written, then the empty records that end the
 * streams and FCGI_END_REQUEST.
 *
 * pooled wrote these through libfcgi's streams once, which it could only
 * set up per request by feeding FCGX_Accept_r a synthetic header through
 * a pipe: a write(2) and a read(2) a request for bytes pooled already
 * had.  Here they are gathered in the acceptor's buffer, so a response
 * that fits (a page under 8 KiB, as most are) leaves in the one send(2)
 * that also carries its end, as libfcgi's did.  A larger write goes out
 * as records of up to 64 KiB straight from the handler's memory, with
 * no copy.  Content is padded to a multiple of 8, as libfcgi pads it.
 *
 * Sends block at most write_timeout (the socket's SO_SNDTIMEO, set on
 * accept); a send that fails marks the response failed, and every later
 * write fails at once without a system call.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define HEADER_LEN	8
#define END_LEN		16		/* FCGI_END_REQUEST's record */
#define MAX_CONTENT	65528		/* 65535, down to a multiple of 8 */
#define TYPE_END	3
#define TYPE_NONE	0

/* Write a record header for type and id at h. */
static void
header(uint8_t *h, unsigned int type, unsigned int id, size_t clen,
    size_t pad)
{
	h[0] = 1;
	h[1] = (uint8_t)type;
	h[2] = (uint8_t)(id >> 8);
	h[3] = (uint8_t)id;
	h[4] = (uint8_t)(clen >> 8);
	h[5] = (uint8_t)clen;
	h[6] = (uint8_t)pad;
	h[7] = 0;
}

/*
 * Begin the response to request id on fd: 0, or -1 without memory.  The
 * buffer is allocated at the first response and kept: an idle thread's
 * costs no page at all.
 */
int
fcgi_out_start(struct fcgi_out *o, int fd, unsigned int id)
{
	if (o->buf == NULL && (o->buf = malloc(FCGI_OUT_BUF)) == NULL)
		return -1;
	o->fd = fd;
	o->id = id;
	o->type = TYPE_NONE;
	o->rec = 0;
	o->len = 0;
	o->err_written = false;
	o->failed = false;
	return 0;
}

/* Free the buffer; the response is over. */
void
fcgi_out_free(struct fcgi_out *o)
{
	free(o->buf);
	o->buf = NULL;
}

/*
 * Finish the record being filled: its header, its padding.  An empty one
 * is taken back (an empty record would end its stream).
 */
static void
close_record(struct fcgi_out *o)
{
	size_t	 clen, pad;

	if (o->type == TYPE_NONE)
		return;
	clen = o->len - o->rec - HEADER_LEN;
	if (clen == 0) {
		o->len = o->rec;
	} else {
		pad = (8 - clen % 8) % 8;
		memset(o->buf + o->len, 0, pad);
		o->len += pad;
		header(o->buf + o->rec, o->type, o->id, clen, pad);
	}
	o->type = TYPE_NONE;
}

/* Send iov[0..n) whole, or mark the response failed: 0 or -1. */
static int
send_all(struct fcgi_out *o, struct iovec *iov, int n)
{
	struct msghdr	 msg;
	ssize_t		 sent;

	memset(&msg, 0, sizeof(msg));
	while (n > 0) {
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		sent = sendmsg(o->fd, &msg, MSG_NOSIGNAL);
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent <= 0) {
			o->failed = true;
			return -1;
		}
		while (n > 0 && (size_t)sent >= iov->iov_len) {
			sent -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + sent;
			iov->iov_len -= (size_t)sent;
		}
	}
	return 0;
}

/* Send what the buffer holds, its open record closed first. */
static int
flush(struct fcgi_out *o)
{
	struct iovec	 iov;

	close_record(o);
	if (o->len == 0)
		return 0;
	iov.iov_base = o->buf;
	iov.iov_len = o->len;
	o->len = 0;
	return send_all(o, &iov, 1);
}

/* One record of len bytes of p, sent from where it is; len % 8 == 0. */
static int
send_direct(struct fcgi_out *o, unsigned int type, const uint8_t *p,
    size_t len)
{
	uint8_t		 h[HEADER_LEN];
	struct iovec	 iov[2];

	header(h, type, o->id, len, 0);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = len;
	return send_all(o, iov, 2);
}

/*
 * Append len bytes of stream type (FCGI_STDOUT or FCGI_STDERR) to the
 * response: 0, or -1 once a send failed.
 */
int
fcgi_out_put(struct fcgi_out *o, unsigned int type, const void *data,
    size_t len)
{
	const uint8_t	*p = data;
	size_t		 room, chunk;

	if (o->failed)
		return -1;
	if (type == FCGI_OUT_STDERR && len > 0)
		o->err_written = true;
	while (len > 0) {
		if (o->type != type) {
			close_record(o);
			/* A header, a byte, its padding: else send first. */
			if (FCGI_OUT_BUF - o->len < HEADER_LEN + 8 &&
			    flush(o) == -1)
				return -1;
			o->rec = o->len;
			o->len += HEADER_LEN;
			o->type = type;
		}
		/* Room left for the padding of what is copied. */
		room = FCGI_OUT_BUF - o->len - 7;
		chunk = len < room ? len : room;
		memcpy(o->buf + o->len, p, chunk);
		o->len += chunk;
		p += chunk;
		len -= chunk;
		if (len == 0)
			break;
		if (flush(o) == -1)
			return -1;
		/* Whole records straight from the caller's memory. */
		while (len >= FCGI_OUT_BUF) {
			chunk = len < MAX_CONTENT ? len - len % 8 : MAX_CONTENT;
			if (send_direct(o, type, p, chunk) == -1)
				return -1;
			p += chunk;
			len -= chunk;
		}
	}
	return 0;
}

/*
 * End the response: the empty record of each stream written to (stdout
 * always, as libfcgi did), FCGI_END_REQUEST with app_status, all sent.
 * 0, or -1 if a send failed, now or before.
 */
int
fcgi_out_end(struct fcgi_out *o, uint32_t app_status)
{
	uint8_t	*e;

	if (o->failed)
		return -1;
	close_record(o);
	if (FCGI_OUT_BUF - o->len < 2 * HEADER_LEN + END_LEN &&
	    flush(o) == -1)
		return -1;
	if (o->err_written) {
		header(o->buf + o->len, FCGI_OUT_STDERR, o->id, 0, 0);
		o->len += HEADER_LEN;
	}
	header(o->buf + o->len, FCGI_OUT_STDOUT, o->id, 0, 0);
	o->len += HEADER_LEN;
	e = o->buf + o->len;
	header(e, TYPE_END, o->id, END_LEN - HEADER_LEN, 0);
	e[8] = (uint8_t)(app_status >> 24);
	e[9] = (uint8_t)(app_status >> 16);
	e[10] = (uint8_t)(app_status >> 8);
	e[11] = (uint8_t)app_status;
	memset(e + 12, 0, 4);		/* FCGI_REQUEST_COMPLETE, reserved */
	o->len += END_LEN;
	return flush(o);
}

/* Whether a send of this response failed. */
bool
fcgi_out_failed(const struct fcgi_out *o)
{
	return o->failed;
}
