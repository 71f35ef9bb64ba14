/*
 * Unit tests for fcgi_ready.c: when is a FastCGI request header complete
 * enough to hand to a thread?  Records are built by hand, as nginx sends
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

/* Append a record header for type/content length/padding at buf + off. */
static size_t
record(uint8_t *buf, size_t off, uint8_t type, uint16_t clen, uint8_t pad)
{
	buf[off] = 1;			/* version */
	buf[off + 1] = type;
	buf[off + 2] = 0;
	buf[off + 3] = 1;		/* request id 1 */
	buf[off + 4] = (uint8_t)(clen >> 8);
	buf[off + 5] = (uint8_t)clen;
	buf[off + 6] = pad;
	buf[off + 7] = 0;
	memset(buf + off + 8, 'x', (size_t)clen + pad);
	return off + 8 + clen + pad;
}

/* begin(8) + params(300, pad 4) + params(0) + stdin(5) */
static size_t
full_request(uint8_t *buf)
{
	size_t	 n = 0;

	n = record(buf, n, 1, 8, 0);
	n = record(buf, n, 4, 300, 4);
	n = record(buf, n, 4, 0, 0);
	n = record(buf, n, 5, 5, 3);
	return n;
}

static void
test_complete_request_is_ready(void **state)
{
	uint8_t	 buf[1024];
	size_t	 n = full_request(buf);

	(void)state;
	why = NULL;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_READY);
}

static void
test_every_prefix_before_params_end_is_partial(void **state)
{
	uint8_t	 buf[1024];
	size_t	 end, len;

	(void)state;
	why = NULL;
	(void)full_request(buf);
	/* The empty FCGI_PARAMS record ends at 8+8 + 8+304 + 8 = 336. */
	end = 336;
	for (len = 0; len < end; len++)
		assert_int_equal(fcgi_params_complete(buf, len, &why), CONN_PARTIAL);
	assert_int_equal(fcgi_params_complete(buf, end, &why), CONN_READY);
}

static void
test_bad_version_is_invalid(void **state)
{
	uint8_t	 buf[64];
	size_t	 n = record(buf, 0, 1, 8, 0);

	(void)state;
	why = NULL;
	buf[0] = 2;
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(why);
	assert_non_null(strstr(why, "version"));
}

static void
test_first_record_must_begin_a_request(void **state)
{
	uint8_t	 buf[64];
	size_t	 n;

	(void)state;
	why = NULL;
	n = record(buf, 0, 4, 10, 0);		/* params first */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "FCGI_BEGIN_REQUEST"));
	n = record(buf, 0, 1, 7, 0);		/* begin body too short */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
}

static void
test_stdin_before_params_end_is_invalid(void **state)
{
	uint8_t	 buf[128];
	size_t	 n = 0;

	(void)state;
	why = NULL;
	n = record(buf, n, 1, 8, 0);
	n = record(buf, n, 4, 20, 0);
	n = record(buf, n, 5, 5, 0);		/* stdin, params not ended */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_INVALID);
	assert_non_null(strstr(why, "FCGI_PARAMS"));
}

static void
test_management_record_is_left_to_libfcgi(void **state)
{
	uint8_t	 buf[64];
	size_t	 n = record(buf, 0, 9, 0, 0);	/* FCGI_GET_VALUES */

	(void)state;
	why = NULL;
	buf[3] = 0;				/* request id 0 */
	assert_int_equal(fcgi_params_complete(buf, n, &why), CONN_READY);
}

static void
test_socket_states(void **state)
{
	uint8_t	 buf[1024];
	size_t	 n = full_request(buf);
	int	 sv[2];

	(void)state;
	why = NULL;
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
	size_t		 n = 0;
	int		 sv[2], i;

	(void)state;
	why = NULL;
	n = record(buf, n, 1, 8, 0);
	for (i = 0; i < 3; i++)
		n = record(buf, n, 4, 10000, 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
	/* 30 KiB of params, no end record yet: beyond the first peek. */
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_PARTIAL);
	n = record(buf, 0, 4, 0, 0);
	assert_int_equal(write(sv[1], buf, n), (ssize_t)n);
	assert_int_equal(fcgi_request_ready(sv[0], &why), CONN_READY);
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
		cmocka_unit_test(test_bad_version_is_invalid),
		cmocka_unit_test(test_first_record_must_begin_a_request),
		cmocka_unit_test(test_stdin_before_params_end_is_invalid),
		cmocka_unit_test(test_management_record_is_left_to_libfcgi),
		cmocka_unit_test(test_socket_states),
		cmocka_unit_test(test_large_params_look_further),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
