/*
 * Unit tests for resp_head.c: the status of a response and the validity
 * of its header block, followed byte by byte as a handler writes it, in
 * whatever pieces it writes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

/* Feed s in one write, then in writes of one byte: both must agree. */
static int
status_of(const char *s, bool end, const char **why)
{
	struct resp_head	 h, h1;
	size_t			 i, len = strlen(s);

	resp_head_init(&h);
	resp_head_init(&h1);
	(void)resp_head_feed(&h, s, len);
	for (i = 0; i < len; i++)
		(void)resp_head_feed(&h1, s + i, 1);
	if (end) {
		(void)resp_head_end(&h);
		(void)resp_head_end(&h1);
	}
	assert_int_equal(resp_head_status(&h), resp_head_status(&h1));
	*why = h.why;
	return resp_head_status(&h);
}

static void
assert_status(const char *s, int status)
{
	const char	*why;

	assert_int_equal(status_of(s, true, &why), status);
	assert_null(why);
}

static void
assert_bad(const char *s, const char *reason)
{
	const char	*why;

	assert_int_equal(status_of(s, true, &why), 502);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void
test_status(void **state)
{
	(void)state;
	assert_status("Content-Type: text/plain\r\n\r\nhello", 200);
	assert_status("Status: 404 Not Found\r\n\r\n", 404);
	assert_status("status:500\n\n", 500);
	assert_status("Content-Type: x\nSTATUS:   503\t\n\nbody", 503);
	assert_status("Location: /x\r\n\r\n", 302);
	assert_status("Location: /x\r\nStatus: 301 Moved\r\n\r\n", 301);
	assert_status("\r\nbody", 200);
	/* a body that looks like headers, or like nothing */
	assert_status("Status: 201\r\n\r\nStatus: 500\r\nbad line\0", 201);
}

static void
test_malformed(void **state)
{
	(void)state;
	assert_bad("Content-Type: text/plain\r\nhello\r\n\r\n",
	    "a header line without ':'");
	assert_bad("hello world", "a header name that is not a token");
	assert_bad("Content-Type: text/plain\r\n",
	    "no blank line ends the header block");
	assert_bad("Content-Type: text/plain",
	    "no blank line ends the header block");
	assert_bad("X-A: 1\r\n folded\r\n\r\n",
	    "a continuation line (obsolete line folding)");
	assert_bad(": v\r\n\r\n", "an empty header name");
	assert_bad("X-A: 1\rX\n\n", "a CR not followed by LF in the header "
	    "block");
	assert_bad("Status: 20\r\n\r\n",
	    "a Status that is not a 3-digit code 100-999");
	assert_bad("Status: 099\r\n\r\n",
	    "a Status that is not a 3-digit code 100-999");
	assert_bad("Status: 2000\r\n\r\n",
	    "a Status that is not a 3-digit code 100-999");
	assert_bad("Status: 200\r\nStatus: 404\r\n\r\n",
	    "more than one Status header");
}

static void
test_nothing_written(void **state)
{
	const char	*why;

	(void)state;
	assert_int_equal(status_of("", true, &why), 0);
	assert_null(why);
	/* not over yet: not judged */
	assert_int_equal(status_of("Status: 404\r\n", false, &why), 0);
	assert_null(why);
}

static void
test_once_and_bounded(void **state)
{
	struct resp_head	 h;
	char			*buf;
	size_t			 n = 70 * 1024;

	(void)state;
	resp_head_init(&h);
	assert_true(resp_head_feed(&h, "bad line\r\n", 10));
	/* told once, then never again */
	assert_false(resp_head_feed(&h, "more\r\n", 6));
	assert_false(resp_head_end(&h));
	assert_int_equal(resp_head_status(&h), 502);

	buf = malloc(n);
	assert_non_null(buf);
	memcpy(buf, "X-Long: ", 8);
	memset(buf + 8, 'a', n - 8);
	resp_head_init(&h);
	assert_true(resp_head_feed(&h, buf, n));
	assert_string_equal(h.why, "a header block larger than 64 KiB");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nothing_written),
		cmocka_unit_test(test_once_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
