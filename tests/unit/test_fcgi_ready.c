/*
 * Unit tests for fcgi_ready.c: when is a FastCGI request header complete
 * enough to hand to a thread, and which headers are refused before
 * libfcgi's parser sees them?  Records are built by hand, as nginx sends
 * them; the socket cases use a real socketpair.
 */
#include "config.h"

#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

static const char	*why;

/* A record header for type, request id 1, content length and padding. */
static size_t
header(uint8_t *buf, size_t off, uint8_t type, uint16_t clen, uint8_t pad)
{
	buf[off] = 1;			/* version */
	buf[off + 1] = type;
	buf[off + 2] = 0;
	buf[off + 3] = 1;		/* request id 1 */
	buf[off + 4] = (uint8_t)(clen >> 8);
	buf[off + 5] = (uint8_t)clen;
	buf[off + 6] = pad;
	buf[off + 7] = 0;
	return off + 8;
}

/* FCGI_BEGIN_REQUEST for the responder role. */
static size_t
begin(uint8_t *buf, size_t off)
{
	off = header(buf, off, 1, 8, 0);
	memset(buf + off, 0, 8);
	buf[off + 1] = 1;		/* FCGI_RESPONDER */
	return off + 8;
}

/*
 * FCGI_PARAMS whose content, clen bytes (0, or at least 6), is one pair:
 * name "X" and a value filling the rest.
 */
static size_t
params(uint8_t *buf, size_t off, uint16_t clen, uint8_t pad)
{
	size_t	 v;

	off = header(buf, off, 4, clen, pad);
	if (clen == 0)
		return off;
	if (clen - 3 < 128) {
		v = clen - 3;
		buf[off++] = 1;
		buf[off++] = (uint8_t)v;
	} else {
		v = clen - 6;
		buf[off++] = 1;
		buf[off++] = 0x80 | (uint8_t)(v >> 24);
		buf[off++] = (uint8_t)(v >> 16);
		buf[off++] = (uint8_t)(v >> 8);
		buf[off++] = (uint8_t)v;
	}
	buf[off++] = 'X';
	memset(buf + off, 'v', v + pad);
	return off + v + pad;
}

/* begin(16) + params(300, pad 4) + params(0) + stdin(5, pad 3) */
static size_t
full_request(uint8_t *buf)
{
	size_t	 n;

	n = begin(buf, 0);
	n = params(buf, n, 300, 4);
	n = params(buf, n, 0, 0);
	n = header(buf, n, 5, 5, 3);
	memset(buf + n, 'b', 8);
	return n + 8;
}

static void
test_complete_request_is_ready(void **state)
{
	uint8_t	 buf[1024];
	size_t	 n = full_request(buf);

	(void)state;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_READY);
}

static void
test_every_prefix_before_params_end_is_partial(void **state)
{
	uint8_t	 buf[1024];
	size_t	 len, end = 16 + 8 + 304 + 8;

	(void)state;
	(void)full_request(buf);
	for (len = 0; len < end; len++)
		assert_int_equal(fcgi_params_complete(buf, len, &why),
		    CONN_PARTIAL);
	assert_int_equal(fcgi_params_complete(buf, end, &why), CONN_READY);
}

static void
test_pair_split_across_records_is_ready(void **state)
{
	uint8_t	 buf[128];
	size_t	 n;

	(void)state;
	/* name "AB" value "xyz": 02 03 'A' | 'B' 'x' 'y' 'z' */
	n = begin(buf, 0);
	n = header(buf, n, 4, 3, 0);
	memcpy(buf + n, "\002\003A", 3);
	n = header(buf, n + 3, 4, 4, 0);
	memcpy(buf + n, "Bxyz", 4);
	n = params(buf, n + 4, 0, 0);
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_READY);
}

static void
test_bad_version_is_invalid(void **state)
{
	uint8_t	 buf[64];
	size_t	 n = begin(buf, 0);

	(void)state;
	buf[0] = 2;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "version"));
}

static void
test_first_record_must_begin_a_request(void **state)
{
	uint8_t	 buf[64];
	size_t	 n;

	(void)state;
	n = params(buf, 0, 10, 0);		/* params first */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "FCGI_BEGIN_REQUEST"));
	n = header(buf, 0, 1, 7, 0);		/* begin body too short */
	assert_int_equal(fcgi_params_complete(buf, n + 7, &why),
	    CONN_INVALID);
}

static void
test_other_roles_are_invalid(void **state)
{
	uint8_t	 buf[64];
	size_t	 n = begin(buf, 0);

	(void)state;
	buf[9] = 2;				/* FCGI_AUTHORIZER */
	n = params(buf, n, 0, 0);
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "RESPONDER"));
}

static void
test_stdin_before_params_end_is_invalid(void **state)
{
	uint8_t	 buf[128];
	size_t	 n;

	(void)state;
	n = begin(buf, 0);
	n = params(buf, n, 20, 0);
	n = header(buf, n, 5, 5, 0);		/* stdin, params not ended */
	assert_int_equal(fcgi_params_complete(buf, n + 5, &why),
	    CONN_INVALID);
	assert_non_null(strstr(why, "FCGI_PARAMS"));
}

/*
 * Management records may open a connection: alone they are ready (to be
 * answered); before a request they wait for its whole header; inside a
 * header, or of a type the application sends, they are refused.
 */
static void
test_management_records(void **state)
{
	struct fcgi_head	 h;
	uint8_t			 buf[256];
	size_t			 n, m;

	(void)state;
	n = header(buf, 0, 9, 0, 0);		/* FCGI_GET_VALUES */
	buf[3] = 0;				/* request id 0 */
	assert_int_equal(fcgi_head_read(buf, n, &h, &why), CONN_READY);
	assert_false(h.request);
	assert_int_equal(h.len, n);
	/* padding announced and withheld: not yet */
	buf[6] = 8;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_PARTIAL);
	memset(buf + n, 0, 8);
	n += 8;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_READY);
	/* then a request: ready once it is whole */
	m = begin(buf, n);
	assert_int_equal(fcgi_params_complete(buf, m, &why), CONN_PARTIAL);
	m = params(buf, m, 0, 0);
	assert_int_equal(fcgi_head_read(buf, m, &h, &why), CONN_READY);
	assert_true(h.request);
	assert_int_equal(h.begin_off, n);
	/* FCGI_UNKNOWN_TYPE is the application's to send */
	n = header(buf, 0, 11, 0, 0);
	buf[3] = 0;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	/* inside a header */
	n = begin(buf, 0);
	n = header(buf, n, 9, 0, 0);
	buf[n - 5] = 0;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "management"));
}

/* The end of the params counts only with its padding. */
static void
test_params_end_padding_must_be_there(void **state)
{
	uint8_t	 buf[64];
	size_t	 n;

	(void)state;
	n = begin(buf, 0);
	n = params(buf, n, 0, 4);
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_PARTIAL);
	memset(buf + n, 0, 4);
	assert_int_equal(fcgi_params_complete(buf, n + 3, &why),
	    CONN_PARTIAL);
	assert_int_equal(fcgi_params_complete(buf, n + 4, &why), CONN_READY);
}

/* max_params and max_params_size, and names that cannot be variables. */
static void
test_params_caps(void **state)
{
	struct fcgi_head	 h;
	uint8_t			 buf[512];
	size_t			 n, off, i;
	char			**envp;
	char			 block[1024];

	(void)state;
	n = begin(buf, 0);
	off = header(buf, n, 4, 40, 0);
	for (i = 0; i < 10; i++) {	/* ten pairs "A"="bb" */
		buf[off++] = 1;
		buf[off++] = 2;
		buf[off++] = (uint8_t)('A' + i);
		buf[off++] = 'b';
		buf[off++] = 'b';
	}
	buf[n + 5] = (uint8_t)(off - n - 8);
	off = params(buf, off, 0, 0);
	assert_int_equal(fcgi_head_parse(buf, off, 1024, 10, &h, &why),
	    CONN_READY);
	assert_int_equal(h.nparams, 10);
	assert_true(h.env_size <= sizeof(block));
	envp = fcgi_envp_build(buf, &h, block);
	assert_string_equal(envp[0], "FCGI_ROLE=RESPONDER");
	assert_string_equal(envp[1], "A=bb");
	assert_string_equal(envp[10], "J=bb");
	assert_null(envp[11]);
	assert_int_equal(fcgi_head_parse(buf, off, 1024, 9, &h, &why),
	    CONN_INVALID);
	assert_non_null(strstr(why, "max_params"));
	assert_int_equal(fcgi_head_parse(buf, off, 49, 10, &h, &why),
	    CONN_INVALID);
	assert_non_null(strstr(why, "max_params_size"));
	buf[n + 8 + 2] = '=';		/* a name "=" */
	assert_int_equal(fcgi_head_parse(buf, off, 1024, 10, &h, &why),
	    CONN_INVALID);
	assert_non_null(strstr(why, "'='"));
}

static void
test_params_for_another_id_are_invalid(void **state)
{
	uint8_t	 buf[64];
	size_t	 n = begin(buf, 0), p = n;

	(void)state;
	n = params(buf, n, 0, 0);
	buf[p + 3] = 2;				/* request id 2 */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "another request id"));
}

static void
test_lengths_beyond_the_params_are_invalid(void **state)
{
	/* name and value lengths 0x7ffffffe: libfcgi's int sum overflows */
	static const uint8_t	 huge[] = {
		0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe, 'a', 'b'
	};
	uint8_t			 buf[128];
	size_t			 n;

	(void)state;
	n = begin(buf, 0);
	n = header(buf, n, 4, sizeof(huge), 0);
	memcpy(buf + n, huge, sizeof(huge));
	n = params(buf, n + sizeof(huge), 0, 0);
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "length"));

	/* a pair cut off by the end of the params: value 5, only 2 sent */
	n = begin(buf, 0);
	n = header(buf, n, 4, 5, 0);
	memcpy(buf + n, "\001\005Kvv", 5);
	n = params(buf, n + 5, 0, 0);
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
}

static void
test_socket_states(void **state)
{
	uint8_t	 buf[1024];
	size_t	 n = full_request(buf);
	int	 sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_EMPTY);
	assert_int_equal(write(sv[1], buf, 20), 20);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_PARTIAL);
	assert_int_equal(write(sv[1], buf + 20, n - 20), (ssize_t)(n - 20));
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_READY);
	/* Peeking consumed nothing. */
	assert_int_equal(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT),
	    (ssize_t)n);
	close(sv[1]);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_CLOSED);
	close(sv[0]);
}

static void
test_large_params_look_further(void **state)
{
	static uint8_t	 buf[40000];
	size_t		 n;
	int		 sv[2], i;

	(void)state;
	n = begin(buf, 0);
	for (i = 0; i < 3; i++)
		n = params(buf, n, 10000, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
	/* 30 KiB of params, no end record yet: beyond the first peek. */
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_PARTIAL);
	n = params(buf, 0, 0, 0);
	assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_READY);
	close(sv[0]);
	close(sv[1]);
}

static void
test_header_over_the_cap_is_invalid(void **state)
{
	static uint8_t	 buf[80000];
	size_t		 n;
	int		 sv[2], one = 1 << 20, i;

	(void)state;
	n = begin(buf, 0);
	for (i = 0; i < 7; i++)
		n = params(buf, n, 10000, 0);	/* 70 KiB, not ended */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &one,
	    sizeof(one)), 0);
	assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_INVALID);
	assert_non_null(strstr(why, "larger than"));
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_request_is_ready),
		cmocka_unit_test(
		    test_every_prefix_before_params_end_is_partial),
		cmocka_unit_test(test_pair_split_across_records_is_ready),
		cmocka_unit_test(test_bad_version_is_invalid),
		cmocka_unit_test(test_first_record_must_begin_a_request),
		cmocka_unit_test(test_other_roles_are_invalid),
		cmocka_unit_test(test_stdin_before_params_end_is_invalid),
		cmocka_unit_test(test_management_records),
		cmocka_unit_test(test_params_end_padding_must_be_there),
		cmocka_unit_test(test_params_caps),
		cmocka_unit_test(test_params_for_another_id_are_invalid),
		cmocka_unit_test(test_lengths_beyond_the_params_are_invalid),
		cmocka_unit_test(test_socket_states),
		cmocka_unit_test(test_large_params_look_further),
		cmocka_unit_test(test_header_over_the_cap_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
