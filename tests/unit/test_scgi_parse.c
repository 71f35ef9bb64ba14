/*
 * Unit tests for scgi_parse.c: when is an SCGI header netstring complete,
 * which ones are refused, how early, and for which reason; and the
 * NAME=VALUE strings made of an accepted header block.  Every parse runs
 * on a copy of exactly the bytes given, so a sanitizer build catches a
 * read past the end.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

/* A string literal with embedded NULs, and its length without the last. */
#define BYTES(s)	s, sizeof(s) - 1

#define MINIMAL_BLOCK	"CONTENT_LENGTH\0" "0\0" "SCGI\0" "1\0"

/* What nginx sends with the stock scgi_params, for a small POST. */
#define NGINX_BLOCK \
	"CONTENT_LENGTH\0" "27\0" \
	"SCGI\0" "1\0" \
	"QUERY_STRING\0" "x=1&y=2\0" \
	"REQUEST_METHOD\0" "POST\0" \
	"CONTENT_TYPE\0" "application/x-www-form-urlencoded\0" \
	"REQUEST_URI\0" "/app/form?x=1&y=2\0" \
	"DOCUMENT_URI\0" "/app/form\0" \
	"DOCUMENT_ROOT\0" "/srv/www\0" \
	"SERVER_PROTOCOL\0" "HTTP/1.1\0" \
	"REQUEST_SCHEME\0" "http\0" \
	"HTTPS\0" "\0" \
	"REMOTE_ADDR\0" "127.0.0.1\0" \
	"REMOTE_PORT\0" "51234\0" \
	"SERVER_PORT\0" "8080\0" \
	"SERVER_NAME\0" "localhost\0" \
	"HTTP_HOST\0" "localhost:8080\0" \
	"HTTP_USER_AGENT\0" "curl/7.88.1\0" \
	"HTTP_COOKIE\0" "a=b; c=d\0" \
	"HTTP_ACCEPT\0" "*/*\0"
#define NGINX_HEADERS	19
#define NGINX_BODY	"name=pooled&answer=42&x=yes"

static struct scgi_head	 head;
static const char	*why;

/* Parse a copy of exactly buf[0..len), with these limits. */
static enum conn_readiness
parse_limits(const char *buf, size_t len, size_t header_max,
    unsigned int max_headers)
{
	enum conn_readiness	 r;
	char			*copy;

	copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	memcpy(copy, buf, len);
	why = NULL;
	r = scgi_head_parse(copy, len, header_max, max_headers, &head, &why);
	free(copy);
	if (r == CONN_INVALID)
		assert_non_null(why);
	return r;
}

/* Parse with the default limits. */
static enum conn_readiness
parse(const char *buf, size_t len)
{
	return parse_limits(buf, len, SCGI_HEADER_MAX, SCGI_MAX_HEADERS);
}

/* Write "<blen>:" block "," to buf; returns its length. */
static size_t
netstring(char *buf, const char *block, size_t blen)
{
	int	 n;

	n = sprintf(buf, "%zu:", blen);
	assert_true(n > 0);
	memcpy(buf + n, block, blen);
	buf[(size_t)n + blen] = ',';
	return (size_t)n + blen + 1;
}

/* The netstring of block must be refused for a reason containing needle. */
static void
assert_block_refused(const char *block, size_t blen, const char *needle)
{
	char	 buf[256];
	size_t	 n;

	assert_true(blen < sizeof(buf) - 16);
	n = netstring(buf, block, blen);
	assert_int_equal(parse(buf, n), CONN_INVALID);
	if (strstr(why, needle) == NULL)
		fail_msg("block of %zu bytes: \"%s\", expected \"%s\"", blen,
		    why, needle);
}

static void
test_minimal_request_is_ready(void **state)
{
	char	 buf[64];
	size_t	 n;

	(void)state;
	n = netstring(buf, BYTES(MINIMAL_BLOCK));
	assert_int_equal(n, 28);
	assert_memory_equal(buf, "24:", 3);
	assert_int_equal(parse(buf, n), CONN_READY);
	assert_int_equal(head.total, 28);
	assert_int_equal(head.block_off, 3);
	assert_int_equal(head.block_len, 24);
	assert_int_equal(head.nheaders, 2);
	assert_int_equal(head.content_length, 0);
}

static void
test_nginx_request_with_body_is_ready(void **state)
{
	char	 buf[1024];
	size_t	 n, blen = sizeof(NGINX_BLOCK) - 1;

	(void)state;
	n = netstring(buf, BYTES(NGINX_BLOCK));
	memcpy(buf + n, NGINX_BODY, sizeof(NGINX_BODY) - 1);
	/* The body that follows is not the parser's business. */
	assert_int_equal(parse(buf, n + sizeof(NGINX_BODY) - 1), CONN_READY);
	assert_int_equal(head.total, n);
	assert_int_equal(head.block_off, 4);
	assert_int_equal(head.block_len, blen);
	assert_int_equal(head.nheaders, NGINX_HEADERS);
	assert_int_equal(head.content_length, sizeof(NGINX_BODY) - 1);
	assert_int_equal(buf[head.total - 1], ',');
	assert_int_equal(parse(buf, n), CONN_READY);
	assert_int_equal(head.total, n);
}

static void
test_content_lengths_are_read(void **state)
{
	static const struct {
		const char	*value;
		uint64_t	 n;
	} cases[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "007", 7 },
		{ "1048576", 1048576 },
		{ "9223372036854775807", INT64_MAX },
	};
	char	 block[128], buf[160];
	size_t	 i, blen;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		blen = (size_t)snprintf(block, sizeof(block), "%s%c%s%c%s",
		    "CONTENT_LENGTH", '\0', cases[i].value, '\0', "SCGI");
		memcpy(block + blen, "\0" "1\0", 3);
		blen += 3;
		assert_int_equal(parse(buf, netstring(buf, block, blen)),
		    CONN_READY);
		assert_int_equal(head.content_length, cases[i].n);
	}
}

static void
test_any_value_byte_but_nul_is_accepted(void **state)
{
	char	 buf[128];

	(void)state;
	/* SCGI last, values with '=', controls, high bytes, one empty. */
	assert_int_equal(parse(buf, netstring(buf, BYTES(
	    "CONTENT_LENGTH\0" "5\0"
	    "X\0" "a=b=c\0"
	    "Y\0" "\001\n\r\t\377 \0"
	    "EMPTY\0" "\0"
	    "SCGI\0" "1\0"))), CONN_READY);
	assert_int_equal(head.nheaders, 5);
	assert_int_equal(head.content_length, 5);
}

static void
test_every_prefix_is_partial(void **state)
{
	char	 buf[1024];
	size_t	 n, k;

	(void)state;
	n = netstring(buf, BYTES(NGINX_BLOCK));
	for (k = 0; k < n; k++)
		if (parse(buf, k) != CONN_PARTIAL)
			fail_msg("prefix of %zu bytes: not partial (%s)", k,
			    why != NULL ? why : "ready");
	assert_int_equal(parse(buf, n), CONN_READY);

	n = netstring(buf, BYTES(MINIMAL_BLOCK));
	for (k = 0; k < n; k++)
		assert_int_equal(parse(buf, k), CONN_PARTIAL);
	assert_int_equal(parse(buf, n), CONN_READY);
}

static void
test_bad_lengths_are_invalid(void **state)
{
	static const struct {
		const char	*buf;
		size_t		 header_max;
		const char	*why;
	} cases[] = {
		{ "abc", SCGI_HEADER_MAX, "length that is not a number" },
		{ ":", SCGI_HEADER_MAX, "length that is not a number" },
		{ ":24", SCGI_HEADER_MAX, "length that is not a number" },
		{ "12x", SCGI_HEADER_MAX, "length that is not a number" },
		{ "-5:", SCGI_HEADER_MAX, "length that is not a number" },
		{ "+5:", SCGI_HEADER_MAX, "length that is not a number" },
		{ " 5:", SCGI_HEADER_MAX, "length that is not a number" },
		{ "5 :", SCGI_HEADER_MAX, "length that is not a number" },
		{ "0x10:", SCGI_HEADER_MAX, "length that is not a number" },
		{ "00:", SCGI_HEADER_MAX, "leading zero" },
		{ "024:", SCGI_HEADER_MAX, "leading zero" },
		{ "0:,", SCGI_HEADER_MAX, "empty header block" },
		{ "65537:", SCGI_HEADER_MAX, "larger than scgi_header_max" },
		{ "9999999999:", SCGI_HEADER_MAX, "larger than scgi_header" },
		{ "25:", 24, "larger than scgi_header_max" },
		{ "123456789012345678901234567890:", SIZE_MAX, "too long" },
		{ "18446744073709551616:", SIZE_MAX, "too long" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_limits(cases[i].buf,
		    strlen(cases[i].buf), cases[i].header_max,
		    SCGI_MAX_HEADERS), CONN_INVALID);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": \"%s\", expected \"%s\"",
			    cases[i].buf, why, cases[i].why);
	}
}

static void
test_lengths_are_refused_early(void **state)
{
	(void)state;
	assert_int_equal(parse("a", 1), CONN_INVALID);
	assert_int_equal(parse("0", 1), CONN_PARTIAL);
	assert_int_equal(parse("00", 2), CONN_INVALID);
	assert_int_equal(parse("0:", 2), CONN_INVALID);
	/* 9999 might be a length, 99999 is over 65536 already. */
	assert_int_equal(parse("9999999999", 4), CONN_PARTIAL);
	assert_int_equal(parse("9999999999", 5), CONN_INVALID);
	assert_non_null(strstr(why, "scgi_header_max"));
	assert_int_equal(parse("65537", 5), CONN_INVALID);
	assert_int_equal(parse("65536", 5), CONN_PARTIAL);
	/* With no limit, the digits run out before any ':' could come. */
	assert_int_equal(parse_limits("999999999999999999999", 20,
	    SIZE_MAX, SCGI_MAX_HEADERS), CONN_INVALID);
	assert_non_null(strstr(why, "too long"));
}

static void
test_bad_blocks_are_invalid(void **state)
{
	(void)state;
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "SCGI\0" "1"),
	    "a header without its NUL");
	assert_block_refused(BYTES("CONTENT_LENGTH"),
	    "a header without its NUL");
	assert_block_refused(BYTES(MINIMAL_BLOCK "X\0"),
	    "a header name without its value");
	assert_block_refused(BYTES("CONTENT_LENGTH\0"),
	    "a header name without its value");
	assert_block_refused(BYTES("\0"), "an empty header name");
	assert_block_refused(BYTES(MINIMAL_BLOCK "\0" "v\0"),
	    "an empty header name");
	assert_block_refused(BYTES(MINIMAL_BLOCK "A=B\0" "v\0"),
	    "a header name with '='");
	assert_block_refused(BYTES(MINIMAL_BLOCK "=\0" "v\0"),
	    "a header name with '='");
	assert_block_refused(BYTES("CONTENT_LENGTH=\0" "0\0" "SCGI\0" "1\0"),
	    "a header name with '='");
	assert_block_refused(BYTES(MINIMAL_BLOCK "CONTENT_LENGTH\0" "1\0"),
	    "a second CONTENT_LENGTH header");
}

static void
test_content_length_must_come_first(void **state)
{
	(void)state;
	assert_block_refused(BYTES("SCGI\0" "1\0" "CONTENT_LENGTH\0" "0\0"),
	    "CONTENT_LENGTH missing or not the first header");
	assert_block_refused(BYTES("CONTENT_LENGTHS\0" "0\0" "SCGI\0" "1\0"),
	    "CONTENT_LENGTH missing or not the first header");
	assert_block_refused(BYTES("CONTENT_LENGT\0" "0\0" "SCGI\0" "1\0"),
	    "CONTENT_LENGTH missing or not the first header");
	assert_block_refused(BYTES("content_length\0" "0\0" "SCGI\0" "1\0"),
	    "CONTENT_LENGTH missing or not the first header");
	assert_block_refused(BYTES("X\0" "1\0"),
	    "CONTENT_LENGTH missing or not the first header");
}

static void
test_bad_content_lengths_are_invalid(void **state)
{
	static const char	*nan[] = {
		"", "+5", "-5", " 5", "5 ", "5x", "0x10", "1e3", "5\n",
	};
	static const char	*huge[] = {
		"9223372036854775808", "18446744073709551616",
		"99999999999999999999999999",
	};
	char			 block[128];
	size_t			 i;
	int			 n;

	(void)state;
	for (i = 0; i < sizeof(nan) / sizeof(nan[0]); i++) {
		n = snprintf(block, sizeof(block), "CONTENT_LENGTH%c%s%cSCGI"
		    "%c1%c", '\0', nan[i], '\0', '\0', '\0');
		assert_block_refused(block, (size_t)n,
		    "a CONTENT_LENGTH that is not a number");
	}
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		n = snprintf(block, sizeof(block), "CONTENT_LENGTH%c%s%cSCGI"
		    "%c1%c", '\0', huge[i], '\0', '\0', '\0');
		assert_block_refused(block, (size_t)n,
		    "a CONTENT_LENGTH that is too large");
	}
}

static void
test_scgi_header_must_be_1(void **state)
{
	(void)state;
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0"),
	    "no SCGI header");
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "X\0" "1\0"),
	    "no SCGI header");
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "scgi\0" "1\0"),
	    "no SCGI header");
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "SCGI\0" "2\0"),
	    "an SCGI header whose value is not 1");
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "SCGI\0" "\0"),
	    "an SCGI header whose value is not 1");
	assert_block_refused(BYTES("CONTENT_LENGTH\0" "0\0" "SCGI\0" "11\0"),
	    "an SCGI header whose value is not 1");
	assert_block_refused(BYTES(MINIMAL_BLOCK "SCGI\0" "0\0"),
	    "an SCGI header whose value is not 1");
}

static void
test_closing_comma_is_required(void **state)
{
	char	 buf[64];
	size_t	 n;

	(void)state;
	n = netstring(buf, BYTES(MINIMAL_BLOCK));
	assert_int_equal(parse(buf, n - 1), CONN_PARTIAL);
	buf[n - 1] = ';';
	assert_int_equal(parse(buf, n), CONN_INVALID);
	assert_string_equal(why, "a netstring without its closing ','");
	/* The body right after the block, as if the ',' were forgotten. */
	memcpy(buf + n - 1, "hello", 5);
	assert_int_equal(parse(buf, n + 4), CONN_INVALID);
	assert_string_equal(why, "a netstring without its closing ','");
}

static void
test_blocks_are_refused_early(void **state)
{
	char	 buf[128];
	size_t	 n;

	(void)state;
	/* A 1000-byte block, refused long before its end. */
	n = (size_t)sprintf(buf, "1000:");
	memcpy(buf + n, BYTES(MINIMAL_BLOCK "A=B"));
	n += sizeof(MINIMAL_BLOCK "A=B") - 1;
	assert_int_equal(parse(buf, n - 2), CONN_PARTIAL);
	assert_int_equal(parse(buf, n - 1), CONN_INVALID);
	assert_non_null(strstr(why, "'='"));

	assert_int_equal(parse("100:CONTENT_LENGTI", 18), CONN_INVALID);
	assert_non_null(strstr(why, "not the first header"));
	assert_int_equal(parse("100:X", 5), CONN_INVALID);
	assert_int_equal(parse("100:C", 5), CONN_PARTIAL);
	assert_int_equal(parse(BYTES("100:CONTENT_LENGTH\0" "12")),
	    CONN_PARTIAL);
	assert_int_equal(parse(BYTES("100:CONTENT_LENGTH\0" "12x")),
	    CONN_INVALID);
	assert_non_null(strstr(why, "not a number"));
	assert_int_equal(parse(BYTES("100:" MINIMAL_BLOCK "SCGI\0" "1")),
	    CONN_PARTIAL);
	assert_int_equal(parse(BYTES("100:" MINIMAL_BLOCK "SCGI\0" "2")),
	    CONN_INVALID);
	assert_non_null(strstr(why, "SCGI header whose"));
	/* The block is whole and wrong: no need to wait for the ','. */
	assert_int_equal(parse(BYTES("17:CONTENT_LENGTH\0" "0\0")),
	    CONN_INVALID);
	assert_non_null(strstr(why, "no SCGI"));
}

static void
test_header_max_is_exact(void **state)
{
	static char	 block[SCGI_HEADER_MAX], buf[SCGI_HEADER_MAX + 16];
	size_t		 n, pad;

	(void)state;
	/* MINIMAL_BLOCK, then PAD NUL vvv...v NUL: 65536 bytes in all. */
	n = sizeof(MINIMAL_BLOCK "PAD") - 1;
	memcpy(block, MINIMAL_BLOCK "PAD", n + 1);
	pad = SCGI_HEADER_MAX - n - 2;
	memset(block + n + 1, 'v', pad);
	block[SCGI_HEADER_MAX - 1] = '\0';

	n = netstring(buf, block, SCGI_HEADER_MAX);
	assert_int_equal(parse(buf, n), CONN_READY);
	assert_int_equal(head.block_len, SCGI_HEADER_MAX);
	assert_int_equal(head.total, 5 + 1 + SCGI_HEADER_MAX + 1);
	assert_int_equal(head.nheaders, 3);

	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX - 1,
	    SCGI_MAX_HEADERS), CONN_INVALID);
	assert_string_equal(why, "a header block larger than scgi_header_max");
	/* Refused on its length alone. */
	assert_int_equal(parse_limits(buf, 5, SCGI_HEADER_MAX - 1,
	    SCGI_MAX_HEADERS), CONN_INVALID);

	n = netstring(buf, BYTES(MINIMAL_BLOCK));
	assert_int_equal(parse_limits(buf, n, 24, SCGI_MAX_HEADERS),
	    CONN_READY);
	assert_int_equal(parse_limits(buf, n, 23, SCGI_MAX_HEADERS),
	    CONN_INVALID);
	assert_non_null(strstr(why, "scgi_header_max"));
}

static void
test_max_headers_is_exact(void **state)
{
	char	 buf[1024];
	size_t	 n;

	(void)state;
	n = netstring(buf, BYTES(NGINX_BLOCK));
	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX, NGINX_HEADERS),
	    CONN_READY);
	assert_int_equal(head.nheaders, NGINX_HEADERS);
	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX,
	    NGINX_HEADERS - 1), CONN_INVALID);
	assert_string_equal(why, "more headers than scgi_max_headers");

	n = netstring(buf, BYTES(MINIMAL_BLOCK));
	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX, 2), CONN_READY);
	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX, 1),
	    CONN_INVALID);
	assert_non_null(strstr(why, "scgi_max_headers"));
	/* Refused at the first byte of the header past the limit. */
	n = netstring(buf, BYTES(MINIMAL_BLOCK "X\0" "1\0"));
	assert_int_equal(parse_limits(buf, 3 + 24, SCGI_HEADER_MAX, 2),
	    CONN_PARTIAL);
	assert_int_equal(parse_limits(buf, 3 + 25, SCGI_HEADER_MAX, 2),
	    CONN_INVALID);
	assert_int_equal(parse_limits(buf, n, SCGI_HEADER_MAX, 3), CONN_READY);
}

static void
test_reasons_are_distinct(void **state)
{
	static const struct {
		const char	*buf;
		size_t		 len;
		size_t		 header_max;
		unsigned int	 max_headers;
	} cases[] = {
		{ BYTES("x"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("01"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("0:"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("99999999999999999999"), SIZE_MAX, SCGI_MAX_HEADERS },
		{ BYTES("65537"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("24:" MINIMAL_BLOCK "."), SCGI_HEADER_MAX,
		    SCGI_MAX_HEADERS },
		{ BYTES("23:CONTENT_LENGTH\0" "0\0" "SCGI\0" "1"),
		    SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("26:" MINIMAL_BLOCK "X\0"), SCGI_HEADER_MAX,
		    SCGI_MAX_HEADERS },
		{ BYTES("1:\0"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("3:=\0"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("3:X\0"), SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("17:CONTENT_LENGTH\0" "x"), SCGI_HEADER_MAX,
		    SCGI_MAX_HEADERS },
		{ BYTES("50:CONTENT_LENGTH\0" "99999999999999999999"),
		    SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("50:" MINIMAL_BLOCK "CONTENT_LENGTH\0"),
		    SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("17:CONTENT_LENGTH\0" "0\0"), SCGI_HEADER_MAX,
		    SCGI_MAX_HEADERS },
		{ BYTES("50:CONTENT_LENGTH\0" "0\0" "SCGI\0" "2"),
		    SCGI_HEADER_MAX, SCGI_MAX_HEADERS },
		{ BYTES("50:" MINIMAL_BLOCK "X"), SCGI_HEADER_MAX, 2 },
	};
	const char	*reasons[sizeof(cases) / sizeof(cases[0])];
	size_t		 i, j;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse_limits(cases[i].buf, cases[i].len,
		    cases[i].header_max, cases[i].max_headers) !=
		    CONN_INVALID)
			fail_msg("case %zu is not refused", i);
		reasons[i] = why;
		for (j = 0; j < i; j++)
			if (strcmp(reasons[i], reasons[j]) == 0)
				fail_msg("cases %zu and %zu: both \"%s\"", j,
				    i, why);
	}
}

static void
test_envp_fill_makes_name_value_strings(void **state)
{
	static const char	*want[NGINX_HEADERS] = {
		"CONTENT_LENGTH=27", "SCGI=1", "QUERY_STRING=x=1&y=2",
		"REQUEST_METHOD=POST",
		"CONTENT_TYPE=application/x-www-form-urlencoded",
		"REQUEST_URI=/app/form?x=1&y=2", "DOCUMENT_URI=/app/form",
		"DOCUMENT_ROOT=/srv/www", "SERVER_PROTOCOL=HTTP/1.1",
		"REQUEST_SCHEME=http", "HTTPS=", "REMOTE_ADDR=127.0.0.1",
		"REMOTE_PORT=51234", "SERVER_PORT=8080",
		"SERVER_NAME=localhost", "HTTP_HOST=localhost:8080",
		"HTTP_USER_AGENT=curl/7.88.1", "HTTP_COOKIE=a=b; c=d",
		"HTTP_ACCEPT=*/*",
	};
	char	 buf[1024], *block, *envp[NGINX_HEADERS + 1];
	size_t	 i, n;

	(void)state;
	n = netstring(buf, BYTES(NGINX_BLOCK));
	assert_int_equal(parse(buf, n), CONN_READY);
	block = malloc(head.block_len);
	assert_non_null(block);
	memcpy(block, buf + head.block_off, head.block_len);
	memset(envp, 0xa5, sizeof(envp));
	scgi_envp_fill(block, head.block_len, envp);
	for (i = 0; i < NGINX_HEADERS; i++) {
		assert_non_null(envp[i]);
		assert_string_equal(envp[i], want[i]);
	}
	assert_null(envp[NGINX_HEADERS]);
	free(block);

	n = sizeof(MINIMAL_BLOCK) - 1;
	block = malloc(n);
	assert_non_null(block);
	memcpy(block, MINIMAL_BLOCK, n);
	scgi_envp_fill(block, n, envp);
	assert_string_equal(envp[0], "CONTENT_LENGTH=0");
	assert_string_equal(envp[1], "SCGI=1");
	assert_null(envp[2]);
	free(block);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_request_is_ready),
		cmocka_unit_test(test_nginx_request_with_body_is_ready),
		cmocka_unit_test(test_content_lengths_are_read),
		cmocka_unit_test(test_any_value_byte_but_nul_is_accepted),
		cmocka_unit_test(test_every_prefix_is_partial),
		cmocka_unit_test(test_bad_lengths_are_invalid),
		cmocka_unit_test(test_lengths_are_refused_early),
		cmocka_unit_test(test_bad_blocks_are_invalid),
		cmocka_unit_test(test_content_length_must_come_first),
		cmocka_unit_test(test_bad_content_lengths_are_invalid),
		cmocka_unit_test(test_scgi_header_must_be_1),
		cmocka_unit_test(test_closing_comma_is_required),
		cmocka_unit_test(test_blocks_are_refused_early),
		cmocka_unit_test(test_header_max_is_exact),
		cmocka_unit_test(test_max_headers_is_exact),
		cmocka_unit_test(test_reasons_are_distinct),
		cmocka_unit_test(test_envp_fill_makes_name_value_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
