/*
 * Unit tests for fcgi_out.c: a response's FastCGI records, read back
 * from the other end of a socket pair as a web server would read them.
 */
#include "config.h"

#include <sys/socket.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

#define WIRE_MAX	(1024 * 1024)

/* The peer's side: everything read until EOF. */
struct wire {
	int	 fd;
	uint8_t	*buf;
	size_t	 len;
};

static void *
reader(void *arg)
{
	struct wire	*w = arg;
	ssize_t		 n;

	while (w->len < WIRE_MAX &&
	    (n = read(w->fd, w->buf + w->len, WIRE_MAX - w->len)) > 0)
		w->len += (size_t)n;
	return NULL;
}

/* What the records said, stream by stream. */
struct parsed {
	uint8_t		 out[WIRE_MAX];
	size_t		 outlen;
	uint8_t		 err[WIRE_MAX];
	size_t		 errlen;
	int		 out_ended;	/* empty FCGI_STDOUT records */
	int		 err_ended;
	int		 ends;		/* FCGI_END_REQUEST records */
	uint32_t	 app_status;
	int		 records;
	char		 order[64];	/* o, e, O, E, X: the first 63 */
};

/* A stream's record: its content, or its end; nothing after the end. */
static void
take(uint8_t *dst, size_t *dlen, int *ended, const uint8_t *c, size_t clen)
{
	assert_int_equal(*ended, 0);
	memcpy(dst + *dlen, c, clen);
	*dlen += clen;
	*ended += clen == 0;
}

/* Walk the records of w for request id; fail the test on a bad one. */
static void
parse(const struct wire *w, unsigned int id, struct parsed *p)
{
	size_t		 off = 0, clen, pad;
	const uint8_t	*h, *c;
	char		 mark;

	memset(p, 0, sizeof(*p));
	while (off < w->len) {
		assert_true(w->len - off >= 8);
		h = w->buf + off;
		assert_int_equal(h[0], 1);
		assert_int_equal((unsigned int)h[2] << 8 | h[3], id);
		clen = (size_t)h[4] << 8 | h[5];
		pad = h[6];
		/* Content padded to a multiple of 8, as libfcgi pads it. */
		assert_int_equal((clen + pad) % 8, 0);
		assert_true(pad < 8);
		assert_true(w->len - off >= 8 + clen + pad);
		c = h + 8;
		assert_int_equal(p->ends, 0);	/* nothing after the end */
		switch (h[1]) {
		case FCGI_OUT_STDOUT:
			take(p->out, &p->outlen, &p->out_ended, c, clen);
			mark = clen == 0 ? 'O' : 'o';
			break;
		case FCGI_OUT_STDERR:
			take(p->err, &p->errlen, &p->err_ended, c, clen);
			mark = clen == 0 ? 'E' : 'e';
			break;
		case 3:
			assert_int_equal(clen, 8);
			p->app_status = (uint32_t)c[0] << 24 |
			    (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
			assert_int_equal(c[4], 0);	/* REQUEST_COMPLETE */
			p->ends++;
			mark = 'X';
			break;
		default:
			fail_msg("record type %u", h[1]);
			return;
		}
		if (p->records < (int)sizeof(p->order) - 1)
			p->order[p->records] = mark;
		p->records++;
		off += 8 + clen + pad;
	}
}

/* Run fn's writes into a fresh fcgi_out, then parse what went out. */
struct run {
	struct fcgi_out	 o;
	struct wire	 w;
	pthread_t	 t;
	int		 sv[2];
};

static void
run_start(struct run *r, unsigned int id)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, r->sv), 0);
	r->w.fd = r->sv[1];
	r->w.len = 0;
	r->w.buf = malloc(WIRE_MAX);
	assert_non_null(r->w.buf);
	assert_int_equal(pthread_create(&r->t, NULL, reader, &r->w), 0);
	memset(&r->o, 0, sizeof(r->o));
	assert_int_equal(fcgi_out_start(&r->o, r->sv[0], id), 0);
}

static void
run_end(struct run *r, unsigned int id, struct parsed *p)
{
	fcgi_out_free(&r->o);
	close(r->sv[0]);
	pthread_join(r->t, NULL);
	close(r->sv[1]);
	parse(&r->w, id, p);
	free(r->w.buf);
}

static struct parsed	 parsed;

/* A small page leaves in one piece: data, the stream's end, the end. */
static void
test_small_response(void **state)
{
	static const char	 page[] = "Status: 200 OK\r\n\r\nHello, world\n";
	struct run		 r;

	(void)state;
	run_start(&r, 1);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT, page,
	    sizeof(page) - 1), 0);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT, "", 0), 0);
	assert_int_equal(fcgi_out_end(&r.o, 0), 0);
	assert_false(fcgi_out_failed(&r.o));
	run_end(&r, 1, &parsed);
	assert_string_equal(parsed.order, "oOX");
	assert_int_equal(parsed.outlen, sizeof(page) - 1);
	assert_memory_equal(parsed.out, page, sizeof(page) - 1);
	assert_int_equal(parsed.errlen, 0);
	assert_int_equal(parsed.err_ended, 0);
	assert_int_equal(parsed.app_status, 0);
}

/* stdout and stderr keep the order of the writes; both streams end. */
static void
test_interleaved_streams(void **state)
{
	struct run	 r;

	(void)state;
	run_start(&r, 513);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT, "abc", 3), 0);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDERR, "warn\n", 5), 0);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT, "def", 3), 0);
	assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT, "g", 1), 0);
	assert_int_equal(fcgi_out_end(&r.o, 7), 0);
	run_end(&r, 513, &parsed);
	assert_string_equal(parsed.order, "oeoEOX");
	assert_int_equal(parsed.outlen, 7);
	assert_memory_equal(parsed.out, "abcdefg", 7);
	assert_int_equal(parsed.errlen, 5);
	assert_int_equal(parsed.app_status, 7);
}

/* Writes of every size around the buffer's, in pieces or at once. */
static void
test_large_bodies(void **state)
{
	static const size_t	 sizes[] = {
		1, 7, 8, 9, FCGI_OUT_BUF - 24, FCGI_OUT_BUF - 23, FCGI_OUT_BUF,
		FCGI_OUT_BUF + 1, 65527, 65528, 65535, 65536, 200003
	};
	static const size_t	 pieces[] = { 1000, 64000, SIZE_MAX };
	static uint8_t		 body[200003];
	struct run		 r;
	size_t			 i, j, off, piece;

	(void)state;
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7 + i / 251);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++) {
			piece = pieces[j];
			run_start(&r, 2);
			/* A byte first: the buffer is never empty at a put. */
			assert_int_equal(fcgi_out_put(&r.o, FCGI_OUT_STDOUT,
			    "<", 1), 0);
			for (off = 0; off < sizes[i]; off += piece)
				assert_int_equal(fcgi_out_put(&r.o,
				    FCGI_OUT_STDOUT, body + off,
				    sizes[i] - off < piece ? sizes[i] - off :
				    piece), 0);
			assert_int_equal(fcgi_out_end(&r.o, 0), 0);
			run_end(&r, 2, &parsed);
			assert_int_equal(parsed.outlen, sizes[i] + 1);
			assert_int_equal(parsed.out[0], '<');
			assert_memory_equal(parsed.out + 1, body, sizes[i]);
			assert_int_equal(parsed.out_ended, 1);
			assert_int_equal(parsed.ends, 1);
		}
	}
}

/* A peer that went away: the write fails, and every one after it. */
static void
test_peer_gone(void **state)
{
	static uint8_t	 big[3 * FCGI_OUT_BUF];
	struct fcgi_out	 o;
	int		 sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	memset(&o, 0, sizeof(o));
	assert_int_equal(fcgi_out_start(&o, sv[0], 1), 0);
	/* Buffered: nothing is sent yet, so nothing fails yet. */
	assert_int_equal(fcgi_out_put(&o, FCGI_OUT_STDOUT, "x", 1), 0);
	assert_int_equal(fcgi_out_put(&o, FCGI_OUT_STDOUT, big, sizeof(big)),
	    -1);
	assert_true(fcgi_out_failed(&o));
	assert_int_equal(fcgi_out_put(&o, FCGI_OUT_STDERR, "y", 1), -1);
	assert_int_equal(fcgi_out_end(&o, 0), -1);
	fcgi_out_free(&o);
	close(sv[0]);
}

/* A response with no output at all still ends its stream and request. */
static void
test_empty_response(void **state)
{
	struct run	 r;

	(void)state;
	run_start(&r, 65535);
	assert_int_equal(fcgi_out_end(&r.o, 0), 0);
	run_end(&r, 65535, &parsed);
	assert_string_equal(parsed.order, "OX");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_response),
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_large_bodies),
		cmocka_unit_test(test_peer_gone),
		cmocka_unit_test(test_empty_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
