/*
 * Unit tests for access_log.c: which formats are accepted, and what a
 * line says, escaped and bounded, for a request whatever it holds.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

static char	 err[128];

static void
assert_format_bad(const char *fmt, const char *why)
{
	assert_int_equal(access_format_check(fmt, err, sizeof(err)), -1);
	assert_string_equal(err, why);
}

static void
test_format_check(void **state)
{
	(void)state;
	assert_int_equal(access_format_check(ACCESS_FORMAT_DEFAULT, err,
	    sizeof(err)), 0);
	assert_int_equal(access_format_check("%n %p %w %L %m %r %q%Q %H %s "
	    "%B %O %I %D %T %{ms}T %{us}T %{s}T %t %{%d/%b/%Y}t %a %u "
	    "%{HTTP_X_REQUEST_ID}e 100%%", err, sizeof(err)), 0);
	assert_format_bad("%Z", "unknown escape %Z");
	assert_format_bad("%a %", "a % at the end");
	assert_format_bad("%{x}s", "%s takes no {argument}");
	assert_format_bad("%e", "%e needs a {NAME}");
	assert_format_bad("%{HTTP_X", "\"%{\" without \"}\"");
	assert_format_bad("%{}e", "an empty or too long %{...} argument");
	assert_format_bad("%{min}T", "%{...}T takes ms, us or s");
	assert_format_bad("a\nb", "a control character (\\x0a)");
}

static char	*envp[8];
static struct pooled_req req;
static const struct access_who who = { "web", 42, 3 };

static void
make_req(const char *uri)
{
	static char	 uribuf[70000], method[] = "REQUEST_METHOD=GET";
	static char	 rid[] = "HTTP_X_REQUEST_ID=abc", query[] = "QUERY_STRING=";

	snprintf(uribuf, sizeof(uribuf), "REQUEST_URI=%s", uri);
	envp[0] = method;
	envp[1] = uribuf;
	envp[2] = rid;
	envp[3] = query;
	envp[4] = NULL;
	memset(&req, 0, sizeof(req));
	req.envp = envp;
	req.id = 7;
	resp_head_init(&req.head);
}

static const char *
format(const char *fmt)
{
	static char	 line[ACCESS_LINE_MAX + 1];
	size_t		 n;

	n = access_log_format(line, ACCESS_LINE_MAX, fmt, &who, &req);
	assert_true(n >= 1 && n <= ACCESS_LINE_MAX);
	assert_int_equal(line[n - 1], '\n');
	line[n - 1] = '\0';
	assert_null(strchr(line, '\n'));
	return line;
}

static void
test_fields(void **state)
{
	static const char	 resp[] = "Status: 404 Nope\r\n\r\nbody";

	(void)state;
	make_req("/x?y=1");
	assert_string_equal(format("%s %B %O"), "- 0 0");
	assert_true(resp_head_feed(&req.head, resp, sizeof(resp) - 1) ==
	    false);
	req.bytes_out = sizeof(resp) - 1;
	req.bytes_in = 12;
	req.duration_us = 1234567;
	assert_string_equal(format("%n %p %w %L %m %r [%q%Q] %s %B %O %I"),
	    "web 42 3 7 GET /x?y=1 [-] 404 4 24 12");
	assert_string_equal(format("%D %T %{ms}T %{us}T %{s}T"),
	    "1234567 1.234 1234 1234567 1.234");
	assert_string_equal(format("%{HTTP_X_REQUEST_ID}e %{NOPE}e %u %%"),
	    "abc - - %");
}

static void
test_escaped_and_bounded(void **state)
{
	char		*big;
	const char	*line;

	(void)state;
	make_req("/\"q\"\\\x1b[1m\nX\r\x7f\xff\xc3\xa9");
	assert_string_equal(format("\"%r\""),
	    "\"/\\x22q\\x22\\x5c\\x1b[1m\\x0aX\\x0d\\x7f\\xff\xc3\xa9\"");

	big = malloc(65537);
	assert_non_null(big);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	make_req(big);
	/* the line at most its max, whatever the fields */
	line = format("%r %r %r %r %r %L");
	assert_int_equal(strlen(line), ACCESS_LINE_MAX - 1);
	/* each field at most ACCESS_FIELD_MAX: the ones after it stay */
	line = format("%r %r %r %L");
	assert_int_equal(strlen(line), 3 * (ACCESS_FIELD_MAX + 1) + 1);
	assert_string_equal(line + strlen(line) - 2, " 7");
	line = format("%r %L");
	assert_int_equal(strlen(line), ACCESS_FIELD_MAX + 2);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_check),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_escaped_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
