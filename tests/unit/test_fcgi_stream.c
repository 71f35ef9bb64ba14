/*
 * Unit tests for fcgi_stream.c: the FastCGI records after a request's
 * header, read by pooled's own reader, and the management answers.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

/* A record of type for request id, content c[0..clen), pad zero bytes. */
static size_t
rec(uint8_t *buf, size_t off, uint8_t type, uint16_t id, const char *c,
    size_t clen, uint8_t pad)
{
	buf[off] = 1;
	buf[off + 1] = type;
	buf[off + 2] = (uint8_t)(id >> 8);
	buf[off + 3] = (uint8_t)id;
	buf[off + 4] = (uint8_t)(clen >> 8);
	buf[off + 5] = (uint8_t)clen;
	buf[off + 6] = pad;
	buf[off + 7] = 0;
	memcpy(buf + off + 8, c, clen);
	memset(buf + off + 8 + clen, 0, pad);
	return off + 8 + clen + pad;
}

/* Read buf in pieces of piece bytes; body into out, last event kind. */
static enum fcgi_event_kind
drain(struct fcgi_stream *st, const uint8_t *buf, size_t len, size_t piece,
    char *out, size_t *outlen, unsigned int *nmgmt)
{
	struct fcgi_event	 ev;
	size_t			 off = 0, end;

	*outlen = 0;
	*nmgmt = 0;
	while (off < len) {
		end = len - off < piece ? len : off + piece;
		while (off < end) {
			off += fcgi_stream_next(st, buf + off, end - off, 64,
			    &ev);
			if (ev.kind == FCGI_EV_DATA) {
				memcpy(out + *outlen, ev.data, ev.len);
				*outlen += ev.len;
			} else if (ev.kind == FCGI_EV_MGMT)
				(*nmgmt)++;
			else if (ev.kind != FCGI_EV_NONE)
				return ev.kind;
		}
	}
	return FCGI_EV_NONE;
}

/* Body across padded records, in every piece size, then its end. */
static void
test_body_in_pieces(void **state)
{
	struct fcgi_stream	 st;
	uint8_t			 buf[512];
	char			 out[64];
	size_t			 n, piece, outlen;
	unsigned int		 nmgmt;

	(void)state;
	n = rec(buf, 0, 5, 7, "hello", 5, 3);
	n = rec(buf, n, 9, 0, "\016\000FCGI_MAX_CONNS", 16, 0);
	n = rec(buf, n, 5, 7, " world", 6, 255);
	n = rec(buf, n, 5, 7, "", 0, 4);
	for (piece = 1; piece <= n; piece++) {
		fcgi_stream_init(&st, 7);
		assert_int_equal(drain(&st, buf, n, piece, out, &outlen,
		    &nmgmt), FCGI_EV_EOF);
		assert_int_equal(outlen, 11);
		assert_memory_equal(out, "hello world", 11);
		assert_int_equal(nmgmt, 1);
	}
	/* the end's padding withheld: no end yet */
	fcgi_stream_init(&st, 7);
	assert_int_equal(drain(&st, buf, n - 1, n, out, &outlen, &nmgmt),
	    FCGI_EV_NONE);
}

/* Records no web server sends after the header: an error, which sticks. */
static void
test_unexpected_records(void **state)
{
	static const struct {
		uint8_t		 type;
		uint16_t	 id;
		const char	*why;
	} bad[] = {
		{ 5, 8, "another request id" },
		{ 1, 7, "FCGI_BEGIN_REQUEST" },
		{ 4, 7, "FCGI_PARAMS" },
		{ 8, 7, "unexpected record type" },
		{ 11, 0, "request id 0" },
		{ 1, 0, "request id 0" },
	};
	struct fcgi_stream	 st;
	struct fcgi_event	 ev;
	uint8_t			 buf[64];
	size_t			 i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fcgi_stream_init(&st, 7);
		n = rec(buf, 0, bad[i].type, bad[i].id, "", 0, 0);
		fcgi_stream_next(&st, buf, n, 64, &ev);
		assert_int_equal(ev.kind, FCGI_EV_ERROR);
		assert_non_null(strstr(ev.why, bad[i].why));
		n = rec(buf, 0, 5, 7, "x", 1, 0);
		assert_int_equal(fcgi_stream_next(&st, buf, n, 64, &ev), 0);
		assert_int_equal(ev.kind, FCGI_EV_ERROR);
	}
	fcgi_stream_init(&st, 7);
	buf[0] = 2;			/* version 2 */
	fcgi_stream_next(&st, buf, 8, 64, &ev);
	assert_int_equal(ev.kind, FCGI_EV_ERROR);
	/* stdin after its end */
	fcgi_stream_init(&st, 7);
	n = rec(buf, 0, 5, 7, "", 0, 0);
	n = rec(buf, n, 5, 7, "x", 1, 0);
	assert_int_equal(fcgi_stream_next(&st, buf, n, 64, &ev), 8);
	assert_int_equal(ev.kind, FCGI_EV_EOF);
	fcgi_stream_next(&st, buf + 8, n - 8, 64, &ev);
	assert_int_equal(ev.kind, FCGI_EV_ERROR);
	/* a management record too long to keep */
	fcgi_stream_init(&st, 7);
	buf[0] = 1;
	buf[1] = 9;
	buf[2] = buf[3] = 0;
	buf[4] = 0x04;
	buf[5] = 0x01;			/* 1025 bytes */
	fcgi_stream_next(&st, buf, 8, 64, &ev);
	assert_int_equal(ev.kind, FCGI_EV_ERROR);
}

static void
test_abort(void **state)
{
	struct fcgi_stream	 st;
	struct fcgi_event	 ev;
	uint8_t			 buf[64];
	size_t			 n;

	(void)state;
	fcgi_stream_init(&st, 7);
	n = rec(buf, 0, 2, 7, "", 0, 0);
	assert_int_equal(fcgi_stream_next(&st, buf, n, 64, &ev), n);
	assert_int_equal(ev.kind, FCGI_EV_ABORT);
}

/* GET_VALUES: each known name once, whatever the repeats; others not. */
static void
test_get_values_answer(void **state)
{
	uint8_t		 in[256], out[FCGI_MGMT_ANSWER_MAX];
	size_t		 n = 0, len, i;

	(void)state;
	for (i = 0; i < 8; i++) {
		in[n++] = 14;
		in[n++] = 0;
		memcpy(in + n, "FCGI_MAX_CONNS", 14);
		n += 14;
	}
	in[n++] = 5;
	in[n++] = 1;
	memcpy(in + n, "OTHERx", 6);
	n += 6;
	in[n++] = 15;
	in[n++] = 0;
	memcpy(in + n, "FCGI_MPXS_CONNS", 15);
	n += 15;
	len = fcgi_mgmt_answer(9, in, n, 16, 16, out);
	assert_int_equal(len % 8, 0);
	assert_int_equal(out[1], 10);		/* GET_VALUES_RESULT */
	assert_int_equal(out[2] | out[3], 0);
	assert_int_equal(out[5], 2 + 14 + 2 + 2 + 15 + 1);
	assert_memory_equal(out + 8, "\016\002FCGI_MAX_CONNS16", 18);
	assert_memory_equal(out + 26, "\017\001FCGI_MPXS_CONNS0", 18);
	/* a cut pair ends the walk; nothing is read past the content */
	len = fcgi_mgmt_answer(9, in, 10, 16, 16, out);
	assert_int_equal(out[5], 0);
	assert_int_equal(len, 8);
	/* another type: FCGI_UNKNOWN_TYPE naming it */
	len = fcgi_mgmt_answer(200, NULL, 0, 16, 16, out);
	assert_int_equal(len, 16);
	assert_int_equal(out[1], 11);
	assert_int_equal(out[8], 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_in_pieces),
		cmocka_unit_test(test_unexpected_records),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_get_values_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
