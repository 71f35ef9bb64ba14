/*
 * Unit tests for acl.c: client lists parsed from text and matched against
 * peers as accept(2) gives them, IPv4, IPv6 and IPv4 seen through an IPv6
 * socket (v4-mapped); prefix edges (/0, odd lengths, whole addresses);
 * "any"; what the parser refuses; the bound on entries; and the text
 * acl_describe writes for logs.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

/* A peer as accept gives it: "1.2.3.4" or an IPv6 address. */
static socklen_t
peer(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		return sizeof(*sin);
	}
	assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(40000);
	return sizeof(*sin6);
}

/* Whether the list text lets the peer at addr in. */
static bool
allows(const char *text, const char *addr)
{
	struct client_acl	 acl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 err[256];
	bool			 ok;

	memset(&acl, 0, sizeof(acl));
	if (acl_parse(text, &acl, err, sizeof(err)) == -1)
		fail_msg("acl_parse \"%s\": %s", text, err);
	len = peer(addr, &ss);
	ok = acl_allows(&acl, (const struct sockaddr *)&ss, len);
	acl_free(&acl);
	return ok;
}

/* acl_parse's verdict on text: NULL when it parses, else its message. */
static const char *
parse_error(const char *text)
{
	static char		 err[256];
	struct client_acl	 acl;
	int			 rc;

	memset(&acl, 0, sizeof(acl));
	err[0] = '\0';
	rc = acl_parse(text, &acl, err, sizeof(err));
	acl_free(&acl);
	return rc == 0 ? NULL : err;
}

/* What acl_describe writes for text. */
static const char *
described(const char *text)
{
	static char		 buf[256];
	struct client_acl	 acl;
	char			 err[256];

	memset(&acl, 0, sizeof(acl));
	if (acl_parse(text, &acl, err, sizeof(err)) == -1)
		fail_msg("acl_parse \"%s\": %s", text, err);
	acl_describe(&acl, buf, sizeof(buf));
	acl_free(&acl);
	return buf;
}

static void
test_ipv4(void **state)
{
	(void)state;
	assert_true(allows("127.0.0.1", "127.0.0.1"));
	assert_false(allows("127.0.0.1", "127.0.0.2"));
	assert_false(allows("127.0.0.1", "::1"));
	assert_true(allows("10.0.0.0/8", "10.255.255.255"));
	assert_true(allows("10.0.0.0/8", "10.0.0.0"));
	assert_false(allows("10.0.0.0/8", "11.0.0.0"));
	assert_false(allows("10.0.0.0/8", "9.255.255.255"));
	/* Several entries, separated by commas and blanks. */
	assert_true(allows("192.0.2.1, 10.0.0.0/8\t198.51.100.7", "10.1.2.3"));
	assert_true(allows("192.0.2.1, 10.0.0.0/8\t198.51.100.7",
	    "198.51.100.7"));
	assert_false(allows("192.0.2.1, 10.0.0.0/8\t198.51.100.7",
	    "198.51.100.8"));
}

static void
test_ipv6(void **state)
{
	(void)state;
	assert_true(allows("::1", "::1"));
	assert_false(allows("::1", "::2"));
	assert_false(allows("::1", "127.0.0.1"));
	assert_true(allows("fd00::/8", "fdff:ffff::1"));
	assert_false(allows("fd00::/8", "fe00::1"));
	assert_true(allows("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(allows("2001:db8::/32", "2001:db9::1"));
}

static void
test_prefix_edges(void **state)
{
	(void)state;
	/* /0 is every address of its family, and only of it. */
	assert_true(allows("0.0.0.0/0", "255.255.255.255"));
	assert_true(allows("0.0.0.0/0", "0.0.0.0"));
	assert_false(allows("0.0.0.0/0", "::1"));
	assert_true(allows("::/0", "ffff::1"));
	assert_false(allows("::/0", "127.0.0.1"));
	/* /32 and /128 are one address. */
	assert_true(allows("192.0.2.5/32", "192.0.2.5"));
	assert_false(allows("192.0.2.5/32", "192.0.2.4"));
	assert_true(allows("2001:db8::5/128", "2001:db8::5"));
	assert_false(allows("2001:db8::5/128", "2001:db8::4"));
	/* /7: 10.0.0.0-11.255.255.255; the bit after the prefix is free. */
	assert_true(allows("10.0.0.0/7", "10.0.0.1"));
	assert_true(allows("10.0.0.0/7", "11.255.255.255"));
	assert_false(allows("10.0.0.0/7", "12.0.0.0"));
	assert_false(allows("10.0.0.0/7", "9.255.255.255"));
	/* Odd lengths in the middle of a byte. */
	assert_true(allows("192.0.2.64/27", "192.0.2.95"));
	assert_false(allows("192.0.2.64/27", "192.0.2.96"));
	assert_false(allows("192.0.2.64/27", "192.0.2.63"));
	assert_true(allows("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(allows("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(allows("fe80::/10", "febf::1"));
	assert_false(allows("fe80::/10", "fec0::1"));
	/* Host bits past the prefix do not matter. */
	assert_true(allows("10.1.2.3/8", "10.200.0.1"));
	assert_true(allows("10.1.2.3/31", "10.1.2.2"));
	assert_false(allows("10.1.2.3/31", "10.1.2.4"));
}

static void
test_v4_mapped(void **state)
{
	(void)state;
	/* An IPv4 peer on an IPv6 socket is matched as IPv4. */
	assert_true(allows("127.0.0.1", "::ffff:127.0.0.1"));
	assert_false(allows("127.0.0.1", "::ffff:127.0.0.2"));
	assert_true(allows("10.0.0.0/8", "::ffff:10.9.8.7"));
	assert_false(allows("::1", "::ffff:127.0.0.1"));
	assert_false(allows("::/0", "::ffff:127.0.0.1"));
	/* ... and an entry written v4-mapped is the IPv4 entry it means. */
	assert_true(allows("::ffff:127.0.0.1", "127.0.0.1"));
	assert_true(allows("::ffff:127.0.0.1", "::ffff:127.0.0.1"));
	assert_true(allows("::ffff:10.0.0.0/104", "10.1.1.1"));
	assert_false(allows("::ffff:10.0.0.0/104", "11.1.1.1"));
	assert_true(allows("::ffff:0.0.0.0/96", "203.0.113.9"));
	/* Not v4-mapped: IPv4-compatible (deprecated) and NAT64 stay IPv6. */
	assert_false(allows("127.0.0.1", "::127.0.0.1"));
	assert_false(allows("127.0.0.1", "64:ff9b::127.0.0.1"));
}

static void
test_any(void **state)
{
	(void)state;
	assert_true(allows("any", "203.0.113.1"));
	assert_true(allows("any", "2001:db8::1"));
	assert_true(allows("::1, any", "192.0.2.1"));
	assert_string_equal(described("any"), "any");
	assert_string_equal(described("127.0.0.1 any"), "any");
}

static void
test_other_families(void **state)
{
	struct client_acl	 acl;
	struct sockaddr_un	 sun;
	struct sockaddr_in	 sin;
	char			 err[256];

	(void)state;
	memset(&acl, 0, sizeof(acl));
	assert_int_equal(acl_parse("0.0.0.0/0, ::/0", &acl, err, sizeof(err)),
	    0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(acl_allows(&acl, (const struct sockaddr *)&sun,
	    sizeof(sun)));
	/* A short address is no address. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_false(acl_allows(&acl, (const struct sockaddr *)&sin,
	    sizeof(sin) - 1));
	acl_free(&acl);
}

static void
test_invalid(void **state)
{
	const char	*e;

	(void)state;
	assert_non_null(e = parse_error("localhost"));
	assert_non_null(strstr(e, "not an IPv4 or IPv6 address"));
	assert_non_null(strstr(e, "not looked up"));
	assert_non_null(parse_error("127.0.0"));
	assert_non_null(parse_error("127.0.0.256"));
	assert_non_null(parse_error("1.2.3.4.5"));
	assert_non_null(parse_error("::1::2"));
	assert_non_null(parse_error("fe80::1%lo"));
	assert_non_null(parse_error("[::1]"));
	assert_non_null(parse_error("ANY"));
	assert_non_null(parse_error("any/0"));
	assert_non_null(parse_error("127.0.0.1, nope"));
	/* Nothing at all. */
	assert_non_null(e = parse_error(""));
	assert_string_equal(e, "empty entry");
	assert_non_null(parse_error(" ,\t, "));
	/* Far too long for an address. */
	assert_non_null(parse_error("1111:2222:3333:4444:5555:6666:7777:8888:"
	    "9999:aaaa:bbbb/64"));
}

static void
test_invalid_prefix(void **state)
{
	const char	*e;

	(void)state;
	assert_non_null(e = parse_error("10.0.0.0/33"));
	assert_non_null(strstr(e, "invalid prefix length (0..32)"));
	assert_non_null(e = parse_error("::/129"));
	assert_non_null(strstr(e, "invalid prefix length (0..128)"));
	assert_non_null(parse_error("10.0.0.0/"));
	assert_non_null(parse_error("10.0.0.0/-1"));
	assert_non_null(parse_error("10.0.0.0/+8"));
	assert_non_null(parse_error("10.0.0.0/ 8"));
	assert_non_null(parse_error("10.0.0.0/8x"));
	assert_non_null(parse_error("10.0.0.0/8/8"));
	assert_non_null(parse_error("10.0.0.0/0x8"));
	assert_non_null(parse_error("10.0.0.0/99999999999999999999"));
	assert_non_null(parse_error("/8"));
	/* The edges themselves are fine. */
	assert_null(parse_error("10.0.0.0/0"));
	assert_null(parse_error("10.0.0.0/32"));
	assert_null(parse_error("::/0"));
	assert_null(parse_error("::/128"));
	assert_null(parse_error("10.0.0.0/08"));
}

static void
test_bound(void **state)
{
	struct client_acl	 acl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[32], err[256];
	int			 i;

	(void)state;
	memset(&acl, 0, sizeof(acl));
	/* 1024 entries, added one text at a time as conf.c does. */
	for (i = 0; i < 1024; i++) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(acl_parse(text, &acl, err, sizeof(err)), 0);
	}
	assert_int_equal(acl.n, 1024);
	len = peer("10.0.3.255", &ss);
	assert_true(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("10.0.4.0", &ss);
	assert_false(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	/* The 1025th is refused. */
	assert_int_equal(acl_parse("10.0.4.0", &acl, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 1024 entries");
	acl_free(&acl);
	assert_null(acl.v);
	assert_int_equal(acl.n, 0);
}

static void
test_loopback(void **state)
{
	struct client_acl	 acl;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 buf[64];

	(void)state;
	memset(&acl, 0, sizeof(acl));
	acl_loopback(&acl);
	len = peer("127.0.0.1", &ss);
	assert_true(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("127.255.0.9", &ss);
	assert_true(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("::1", &ss);
	assert_true(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("::ffff:127.0.0.2", &ss);
	assert_true(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("128.0.0.1", &ss);
	assert_false(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	len = peer("::2", &ss);
	assert_false(acl_allows(&acl, (const struct sockaddr *)&ss, len));
	acl_describe(&acl, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.0/8, ::1");
	/* Called again it starts over rather than adding. */
	acl_loopback(&acl);
	assert_int_equal(acl.n, 2);
	acl_free(&acl);
}

static void
test_describe(void **state)
{
	struct client_acl	 acl;
	char			 small[12], err[64];

	(void)state;
	assert_string_equal(described("10.1.2.3/8, 2001:db8::1/64"),
	    "10.0.0.0/8, 2001:db8::/64");
	assert_string_equal(described("::ffff:10.0.0.0/104"), "10.0.0.0/8");
	assert_string_equal(described("192.0.2.1, ::1/128"),
	    "192.0.2.1, ::1");
	/* Cut short, still a string. */
	memset(&acl, 0, sizeof(acl));
	assert_int_equal(acl_parse("192.0.2.1, 192.0.2.2", &acl, err,
	    sizeof(err)), 0);
	acl_describe(&acl, small, sizeof(small));
	assert_string_equal(small, "192.0.2.1, ");
	acl_free(&acl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_prefix_edges),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_other_families),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_invalid_prefix),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
