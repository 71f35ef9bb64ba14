/*
 * Unit tests for cgi_header.c: when is a CGI program's header block
 * complete, how long is it, what does it say, and which blocks are refused
 * (and why) before a line of them reaches the web server.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

#define KIB	1024

static const char	*why;
static struct cgi_header h;

static enum cgi_header_state
parse(const char *s)
{
	why = NULL;
	return cgi_header_parse(s, strlen(s), &h, &why);
}

/* s must be refused, with exactly reason. */
static void
assert_bad(const char *s, const char *reason)
{
	assert_int_equal(parse(s), CGI_HEADER_BAD);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* s is a valid block of block_len bytes followed by a body. */
static void
assert_done(const char *s, size_t block_len)
{
	assert_int_equal(parse(s), CGI_HEADER_DONE);
	assert_int_equal(h.length, block_len);
}

static void
test_line_endings(void **state)
{
	(void)state;
	assert_done("Content-Type: text/plain\n\nbody", 26);
	assert_done("Content-Type: text/plain\r\n\r\nbody", 28);
	/* mixed, both ways round */
	assert_done("Content-Type: text/plain\r\nX-A: 1\n\r\nbody", 35);
	assert_done("Content-Type: text/plain\nX-A: 1\r\n\nbody", 34);
	assert_true(h.has_content_type);
	assert_false(h.has_location);
	assert_int_equal(h.status, 0);
}

static void
test_length_excludes_the_body(void **state)
{
	static const char	 block[] = "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n";
	char			 buf[256];

	(void)state;
	/* a body that looks like more headers and blank lines */
	strcpy(buf, block);
	strcat(buf, "Location: /x\r\n\r\n\n\nStatus: 500\n\n");
	assert_done(buf, sizeof(block) - 1);
	assert_int_equal(h.status, 200);
	assert_false(h.has_location);
	/* a body that is not text, and none */
	memcpy(buf, block, sizeof(block) - 1);
	memcpy(buf + sizeof(block) - 1, "\0\r\0", 3);
	assert_int_equal(cgi_header_parse(buf, sizeof(block) + 2, &h, &why),
	    CGI_HEADER_DONE);
	assert_int_equal(h.length, sizeof(block) - 1);
	assert_done(block, sizeof(block) - 1);
}

static void
test_every_split_is_more(void **state)
{
	static const char	 full[] = "Status: 404 Not Found\r\n"
	    "Content-Type: text/html; charset=utf-8\n"
	    "X-Powered-By: sh\r\n"
	    "Location: /elsewhere\n"
	    "\r\n"
	    "<html>body</html>\n";
	size_t			 block, len;
	enum cgi_header_state	 r;

	(void)state;
	block = strstr(full, "<html>") - full;
	for (len = 0; len < block; len++) {
		why = NULL;
		r = cgi_header_parse(full, len, &h, &why);
		assert_int_equal(r, CGI_HEADER_MORE);
		assert_null(why);
	}
	for (len = block; len <= sizeof(full) - 1; len++) {
		r = cgi_header_parse(full, len, &h, &why);
		assert_int_equal(r, CGI_HEADER_DONE);
		assert_int_equal(h.length, block);
		assert_int_equal(h.status, 404);
		assert_true(h.has_content_type);
		assert_true(h.has_location);
	}
	/* Nothing read: more, and the buffer is not looked at. */
	assert_int_equal(cgi_header_parse(NULL, 0, &h, &why),
	    CGI_HEADER_MORE);
}

static void
test_names_are_case_insensitive(void **state)
{
	(void)state;
	assert_done("status: 201\n\n", 13);
	assert_int_equal(h.status, 201);
	assert_done("STATUS: 202\n\n", 13);
	assert_int_equal(h.status, 202);
	assert_done("sTaTuS: 203\n\n", 13);
	assert_int_equal(h.status, 203);
	assert_done("content-type: a/b\n\n", 19);
	assert_true(h.has_content_type);
	assert_done("CONTENT-TYPE: a/b\n\n", 19);
	assert_true(h.has_content_type);
	assert_done("location: /x\n\n", 14);
	assert_true(h.has_location);
	assert_done("LOCATION: http://example.org/\n\n", 31);
	assert_true(h.has_location);
	assert_false(h.has_content_type);
	/* Near misses are ordinary headers. */
	assert_done("Content-Types: a/b\n\n", 20);
	assert_false(h.has_content_type);
	assert_done("Statuses: 200\nLocations: /\nContent-Typ: x\n\n", 43);
	assert_false(h.has_content_type);
	assert_false(h.has_location);
	assert_int_equal(h.status, 0);
}

/*
 * No Content-Type passes, as with fcgiwrap and Apache: the web server
 * applies its default type (legacy scripts rely on it).
 */
static void
test_no_content_type_passes(void **state)
{
	(void)state;
	assert_done("Status: 200 OK\r\n\r\nbody", 18);
	assert_int_equal(h.status, 200);
	assert_false(h.has_content_type);
	assert_int_equal(h.nheaders, 1);
	assert_done("X-Foo: bar\n\nbody", 12);
	assert_int_equal(h.status, 0);
	assert_false(h.has_content_type);
	assert_false(h.has_location);
	assert_done("X-Other: 1\r\n\r\n", 14);
	/* Still refused: no header at all, or a malformed one. */
	assert_bad("\r\nbody", "an empty header block");
	assert_bad("X-Foo bar\n\nbody", "a header line without ':'");
}

/* Which local redirects may become an X-Accel-Redirect. */
static void
test_internal_path(void **state)
{
	static const char *const ok[] = {
		"/private/secret.txt", "/private/", "/private/a?x=1&y=..",
		"/private/a%20b", "/private/.hidden", "/private/a..b",
		"/private/a?//", "/private/%41",
	};
	static const char *const refused[] = {
		"", "private/x", "/public/x", "/privatex", "/private",
		"/private/../etc/passwd", "/private/a/..", "/private/./a",
		"/private/a/.", "/private//a", "//private/a",
		"/private/%2e%2e/x", "/private/%2E%2e/x", "/private%2f..%2fx",
		"/private/a%2f%2fb", "/private/a%00b", "/private/a%0d%0ab",
		"/private/a\\b", "/private/a%5cb", "/private/a#f",
		"/private/a%", "/private/a%4", "/private/a%zz",
		"/pub/../private/x", "http://example.org/private/x",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!cgi_header_internal_path(ok[i], strlen(ok[i]),
		    "/private/"))
			fail_msg("\"%s\" refused", ok[i]);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (cgi_header_internal_path(refused[i], strlen(refused[i]),
		    "/private/"))
			fail_msg("\"%s\" accepted", refused[i]);
	/* No prefix: any path, still without dot segments. */
	assert_true(cgi_header_internal_path("/x/y", 4, NULL));
	assert_false(cgi_header_internal_path("/x/../y", 7, NULL));
	/* Only len bytes count. */
	assert_true(cgi_header_internal_path("/private/a/../b", 10,
	    "/private/"));
}

/* Where a local redirect's path goes on, its leading slashes as one. */
static void
test_path_rest(void **state)
{
	(void)state;
	assert_int_equal(cgi_header_path_rest("/a/b", 4), 1);
	assert_int_equal(cgi_header_path_rest("/", 1), 1);
	assert_int_equal(cgi_header_path_rest("//evil.example/x", 16), 2);
	assert_int_equal(cgi_header_path_rest("/\\evil.example/x", 16), 2);
	assert_int_equal(cgi_header_path_rest("/\t/evil.example", 16), 3);
	assert_int_equal(cgi_header_path_rest("/\\/\t\\x", 6), 5);
	/* Only len bytes count. */
	assert_int_equal(cgi_header_path_rest("///", 2), 2);
}

static void
test_any_one_of_three_is_enough(void **state)
{
	(void)state;
	assert_done("Status: 204\n\n", 13);
	assert_int_equal(h.status, 204);
	assert_false(h.has_content_type);
	assert_false(h.has_location);
	assert_done("Location: /local/path?q=1\n\n", 27);
	assert_int_equal(h.status, 0);
	assert_true(h.has_location);
	assert_done("Content-Type: text/plain\n\n", 26);
	assert_int_equal(h.status, 0);
}

static void
test_status_values(void **state)
{
	static const char	*good[] = {
		"Status: 100\n\n", "Status: 999\n\n", "Status: 200 OK\n\n",
		"Status: 404 Not Found\n\n", "Status:302 Found\n\n",
		"Status: \t 500  \t\n\n", "Status: 200 \n\n",
		"Status: 418 I'm a teapot: really\n\n", "Status: 301\t\r\n\n",
	};
	static const int	 code[] = {
		100, 999, 200, 404, 302, 500, 200, 418, 301
	};
	static const char	*bad[] = {
		"Status:\n\n", "Status: \n\n", "Status: 99\n\n",
		"Status: 099\n\n", "Status: 000\n\n", "Status: 1000\n\n",
		"Status: 2OO\n\n", "Status: 200OK\n\n", "Status: OK\n\n",
		"Status: 20 0\n\n", "Status: 200\tOK\n\n", "Status: -200\n\n",
		"Status: +200\n\n", "Status: 0x1\n\n",
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse(good[i]), CGI_HEADER_DONE);
		assert_int_equal(h.status, code[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_bad(bad[i],
		    "a Status that is not a 3-digit code 100-999");
	assert_bad("Status: 200\nContent-Type: a/b\nstatus: 200\n\n",
	    "more than one Status header");
}

static void
test_token_names(void **state)
{
	(void)state;
	assert_done("X-a_b.c!#$%&'*+^`|~9: v\nContent-Type: a/b\n\n", 43);
	assert_done("Content-Type:\nX-Empty:\n\n", 24);
	assert_bad("Status : 200\n\n", "a header name that is not a token");
	assert_bad("Content Type: a/b\n\n",
	    "a header name that is not a token");
	assert_bad("Content-Type: a/b\nX(y): 1\n\n",
	    "a header name that is not a token");
	assert_bad("Content-Type: a/b\nX\x7f: 1\n\n",
	    "a header name that is not a token");
	assert_bad("Content-Type: a/b\nX\xc3\xa4: 1\n\n",
	    "a header name that is not a token");
	assert_bad("Content-Type: a/b\nX\"y\": 1\n\n",
	    "a header name that is not a token");
	assert_bad(": value\nContent-Type: a/b\n\n", "an empty header name");
	assert_bad("Content-Type: a/b\nno colon here\n\n",
	    "a header line without ':'");
	/* An nph- status line is not a header. */
	assert_bad("HTTP/1.1 200 OK\nContent-Type: a/b\n\n",
	    "a header line without ':'");
	assert_bad("HTTP/1.1 302 Found: x\nContent-Type: a/b\n\n",
	    "a header name that is not a token");
	assert_bad("<html>\n\n", "a header line without ':'");
}

static void
test_malformed_blocks(void **state)
{
	static const char	 nul[] = "Content-Type: a\0b\n\n";
	static const char	 nulname[] = "Content-Type: a/b\nX\0: 1\n\n";

	(void)state;
	assert_bad("\n", "an empty header block");
	assert_bad("\r\nContent-Type: a/b\n\n", "an empty header block");
	assert_bad("Content-Type: a/b\n folded\n\n",
	    "a continuation line (obsolete line folding)");
	assert_bad("Content-Type: a/b\n\tfolded\n\n",
	    "a continuation line (obsolete line folding)");
	assert_bad(" Content-Type: a/b\n\n",
	    "a continuation line (obsolete line folding)");
	assert_bad("Content-Type: a/b\rX-Injected: 1\n\n",
	    "a CR not followed by LF in the header block");
	assert_bad("Content-Type: a/b\r\r\n\r\n",
	    "a CR not followed by LF in the header block");
	assert_bad("Content-Type: a/b\n\r\r\n",
	    "a CR not followed by LF in the header block");

	why = NULL;
	assert_int_equal(cgi_header_parse(nul, sizeof(nul) - 1, &h, &why),
	    CGI_HEADER_BAD);
	assert_string_equal(why, "a NUL byte in the header block");
	why = NULL;
	assert_int_equal(cgi_header_parse(nulname, sizeof(nulname) - 1, &h,
	    &why), CGI_HEADER_BAD);
	assert_string_equal(why, "a NUL byte in the header block");
	/* A bad line is found as soon as it is complete. */
	assert_bad("Content-Type: a/b\nbad line\n",
	    "a header line without ':'");
}

/*
 * A block of exactly size bytes: Content-Type, then filler lines,
 * then the blank line; then body bytes.
 */
static char *
block_of(size_t size, size_t body)
{
	char	*buf, *p;
	size_t	 left, n;

	buf = malloc(size + body + 1);
	assert_non_null(buf);
	p = buf;
	memcpy(p, "Content-Type: a/b\n", 18);
	p += 18;
	left = size - 18 - 1;		/* the final "\n" */
	while (left > 0) {
		/* lines of 3 to 1000 bytes: "X:", filler, "\n" */
		n = left;
		if (n > 1000 && (n = 1000) > left - 3)
			n = left - 3;
		memcpy(p, "X:", 2);
		memset(p + 2, 'x', n - 3);
		p[n - 1] = '\n';
		p += n;
		left -= n;
	}
	*p++ = '\n';
	memset(p, 'b', body);
	p[body] = '\0';
	return buf;
}

static void
test_size_bound(void **state)
{
	char	*buf;

	(void)state;
	/* Exactly 64 KiB, blank line included: accepted. */
	buf = block_of(64 * KIB, 100);
	assert_int_equal(strlen(buf), 64 * KIB + 100);
	assert_int_equal(cgi_header_parse(buf, 64 * KIB - 1, &h, &why),
	    CGI_HEADER_MORE);
	assert_int_equal(cgi_header_parse(buf, 64 * KIB, &h, &why),
	    CGI_HEADER_DONE);
	assert_int_equal(h.length, 64 * KIB);
	assert_int_equal(parse(buf), CGI_HEADER_DONE);
	assert_int_equal(h.length, 64 * KIB);
	free(buf);

	/* One byte more: refused, complete or not. */
	buf = block_of(64 * KIB + 1, 100);
	assert_int_equal(cgi_header_parse(buf, 64 * KIB, &h, &why),
	    CGI_HEADER_MORE);
	why = NULL;
	assert_int_equal(cgi_header_parse(buf, 64 * KIB + 1, &h, &why),
	    CGI_HEADER_BAD);
	assert_string_equal(why, "header block larger than 64 KiB");
	assert_bad(buf, "header block larger than 64 KiB");
	free(buf);

	/* One endless line. */
	buf = malloc(100 * KIB + 1);
	assert_non_null(buf);
	memset(buf, 'X', 100 * KIB);
	buf[100 * KIB] = '\0';
	assert_int_equal(cgi_header_parse(buf, 64 * KIB, &h, &why),
	    CGI_HEADER_MORE);
	assert_bad(buf, "header block larger than 64 KiB");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_length_excludes_the_body),
		cmocka_unit_test(test_every_split_is_more),
		cmocka_unit_test(test_names_are_case_insensitive),
		cmocka_unit_test(test_any_one_of_three_is_enough),
		cmocka_unit_test(test_status_values),
		cmocka_unit_test(test_token_names),
		cmocka_unit_test(test_malformed_blocks),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_no_content_type_passes),
		cmocka_unit_test(test_internal_path),
		cmocka_unit_test(test_path_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
