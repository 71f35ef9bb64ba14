/*
 * Unit tests for log.c and log_peer.c: log_escape on control bytes, DEL,
 * well formed and malformed UTF-8, C1 controls and truncation; whole lines
 * written by log_msg (no raw control byte reaches the file, a forged line
 * cannot start); and the per-peer aggregation (one line per burst, a count
 * that adds up, the bound on the table of peers).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

static char	 log_file[] = "/tmp/pooled-test-log.XXXXXX";

static const char *
esc(const char *s, size_t len)
{
	static char	 buf[256];

	log_escape(buf, sizeof(buf), s, len);
	return buf;
}

static void
test_escape_ascii(void **state)
{
	(void)state;
	assert_string_equal(esc("plain text ~!", 13), "plain text ~!");
	assert_string_equal(esc("a\\b", 3), "a\\b");
	assert_string_equal(esc("\033[2J\r\nFAKE", 10),
	    "\\x1b[2J\\x0d\\x0aFAKE");
	assert_string_equal(esc("\t\x7f\x01", 3), "\\x09\\x7f\\x01");
	/* A NUL inside the length is escaped, not an end. */
	assert_string_equal(esc("a\0b", 3), "a\\x00b");
	assert_string_equal(esc("", 0), "");
}

static void
test_escape_utf8(void **state)
{
	(void)state;
	/* Well formed: é, €, U+1F600, U+10FFFF, U+00A0. */
	assert_string_equal(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");
	assert_string_equal(esc("\xe2\x82\xac", 3), "\xe2\x82\xac");
	assert_string_equal(esc("\xf0\x9f\x98\x80", 4), "\xf0\x9f\x98\x80");
	assert_string_equal(esc("\xf4\x8f\xbf\xbf", 4), "\xf4\x8f\xbf\xbf");
	assert_string_equal(esc("\xc2\xa0", 2), "\xc2\xa0");
	/* C1 controls: CSI (U+009B) raw and as UTF-8. */
	assert_string_equal(esc("\x9b", 1), "\\x9b");
	assert_string_equal(esc("\xc2\x9b" "1m", 4), "\\xc2\\x9b1m");
	assert_string_equal(esc("\xc2\x80", 2), "\\xc2\\x80");
	/* Overlong, surrogate, past U+10FFFF, lone and cut sequences. */
	assert_string_equal(esc("\xc0\xaf", 2), "\\xc0\\xaf");
	assert_string_equal(esc("\xe0\x80\xaf", 3), "\\xe0\\x80\\xaf");
	assert_string_equal(esc("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");
	assert_string_equal(esc("\xf4\x90\x80\x80", 4),
	    "\\xf4\\x90\\x80\\x80");
	assert_string_equal(esc("\xf5\x80", 2), "\\xf5\\x80");
	assert_string_equal(esc("\xbf", 1), "\\xbf");
	assert_string_equal(esc("\xe2\x82", 2), "\\xe2\\x82");
	assert_string_equal(esc("\xe2\x82" "A", 3), "\\xe2\\x82A");
	/* A well-formed sequence is judged within len, not past it. */
	assert_string_equal(esc("\xc3\xa9", 1), "\\xc3");
}

static void
test_escape_truncates(void **state)
{
	char	 buf[8];
	size_t	 n;

	(void)state;
	n = log_escape(buf, sizeof(buf), "abcdefghij", 10);
	assert_int_equal(n, 7);
	assert_string_equal(buf, "abcdefg");
	/* ESC needs 4 bytes and the NUL 1: not cut, left out. */
	n = log_escape(buf, 6, "ab\033c", 4);
	assert_int_equal(n, 2);
	assert_string_equal(buf, "ab");
	n = log_escape(buf, 4, "a\xe2\x82\xac", 4);
	assert_int_equal(n, 1);
	assert_string_equal(buf, "a");
	n = log_escape(buf, 1, "abc", 3);
	assert_int_equal(n, 0);
	assert_string_equal(buf, "");
}

/* The log file's text from offset *off on; *off moves to its end. */
static char *
read_log(long *off)
{
	static char	 buf[65536];
	FILE		*f;
	size_t		 n;

	assert_non_null(f = fopen(log_file, "r"));
	assert_int_equal(fseek(f, *off, SEEK_SET), 0);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	*off += (long)n;
	fclose(f);
	return buf;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void
test_line_escaped(void **state)
{
	long	 off = 0;
	char	*text;

	(void)state;
	(void)read_log(&off);
	log_msg(POOLED_LOG_ERROR, "uri /x\033[2J\r\nFAKE: line%s", "\x9b");
	text = read_log(&off);
	assert_non_null(strstr(text,
	    "uri /x\\x1b[2J\\x0d\\x0aFAKE: line\\x9b\n"));
	assert_null(strchr(text, '\033'));
	assert_null(strchr(text, '\r'));
	assert_int_equal(count(text, "\n"), 1);
}

/* Whether text matches the extended regular expression re. */
static bool
matches(const char *text, const char *re)
{
	regex_t	 rx;
	int	 rc;

	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&rx, text, 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

/* ISO 8601 with milliseconds and the offset, in the zone of TZ. */
static void
test_line_time(void **state)
{
	long	 off = 0;
	char	*text;

	(void)state;
	(void)read_log(&off);
	log_msg(POOLED_LOG_ERROR, "a line");
	text = read_log(&off);
	if (!matches(text, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} error test\\[[0-9]+\\]: "
	    "a line\n$"))
		fail_msg("not ISO 8601 with an offset: \"%s\"", text);
	/* A zone east of UTC, and one with half hours. */
	setenv("TZ", "IST-5:30", 1);
	tzset();
	log_msg(POOLED_LOG_ERROR, "in India");
	text = read_log(&off);
	if (!matches(text, "T[0-9:.]{12}\\+05:30 error test\\[[0-9]+\\]: "
	    "in India\n$"))
		fail_msg("not +05:30: \"%s\"", text);
	setenv("TZ", "UTC0", 1);
	tzset();
	log_msg(POOLED_LOG_ERROR, "in UTC");
	text = read_log(&off);
	assert_true(matches(text, "T[0-9:.]{12}\\+00:00 error "));
	unsetenv("TZ");
	tzset();
}

/*
 * error_log = "syslog": one datagram per line to the syslog socket, in
 * RFC 3164's form, with facility, ident and escaping; read back from a
 * socket the test binds in place of /dev/log.
 */
static void
test_syslog(void **state)
{
	struct sockaddr_un	 sun;
	char			 dir[] = "/tmp/pooled-test-syslog.XXXXXX";
	char			 buf[4096];
	ssize_t			 n;
	int			 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

	log_set_syslog(16 << 3, "myapp");	/* local0 */
	assert_int_equal(log_open_syslog("syslog", sun.sun_path), 0);
	log_set_role("master");
	log_msg(POOLED_LOG_WARNING, "listening on %s\033", "/run/x.sock");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	/* local0 (16) * 8 + warning (4) = 132. */
	if (!matches(buf, "^<132>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:"
	    "[0-9]{2} myapp\\[[0-9]+\\]: master: listening on /run/x.sock"
	    "\\\\x1b$"))
		fail_msg("not a syslog line: \"%s\"", buf);
	log_msg(POOLED_LOG_DEBUG, "debug");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(matches(buf, "^<135>.* myapp\\[[0-9]+\\]: master: debug$"));

	/* Nobody reading: a line is lost, the caller never waits. */
	close(fd);
	unlink(sun.sun_path);
	log_msg(POOLED_LOG_ERROR, "into the void");
	rmdir(dir);
	log_set_role("test");
	assert_int_equal(log_open(log_file), 0);
}

static void
test_peer_burst(void **state)
{
	long	 off = 0;
	char	*text;
	int	 i;

	(void)state;
	(void)read_log(&off);
	for (i = 0; i < 100; i++)
		log_peer(POOLED_LOG_ERROR, "192.0.2.1", "bad request %d", i);
	text = read_log(&off);
	assert_int_equal(count(text, "\n"), 1);
	assert_non_null(strstr(text, "bad request 0\n"));
	/* Nothing to say before the window is over... */
	log_peer_flush(clock_ms());
	text = read_log(&off);
	assert_string_equal(text, "");
	/* ... and then the count, once. */
	log_peer_flush(clock_ms() + 60000);
	text = read_log(&off);
	assert_int_equal(count(text, "\n"), 1);
	assert_non_null(strstr(text, "99 more like this from 192.0.2.1 in "
	    "the last "));
	log_peer_flush(clock_ms() + 60000);
	text = read_log(&off);
	assert_string_equal(text, "");
}

static void
test_peer_bound(void **state)
{
	char			 key[32], *text, *p;
	unsigned long long	 n, sum = 0;
	size_t			 lines;
	long			 off = 0;
	int			 i, round;

	(void)state;
	/* Windows of earlier tests are over, as far as this test sees. */
	log_peer_flush(clock_ms() + 60000);
	(void)read_log(&off);
	for (round = 0; round < 3; round++)
		for (i = 0; i < 200; i++) {
			snprintf(key, sizeof(key), "198.51.100.%d", i);
			log_peer(POOLED_LOG_ERROR, key, "from %s", key);
		}
	text = read_log(&off);
	/*
	 * A slot still in its window (test_peer_burst's) is not taken: one
	 * line per slot at most, and one for the other peers.
	 */
	lines = count(text, "\n");
	assert_true(lines <= 65);
	assert_true(lines >= 2);
	log_peer_flush(clock_ms() + 60000);
	text = read_log(&off);
	assert_non_null(strstr(text, "more like this from other peers"));
	/* Every line is written or counted. */
	for (p = text; (p = strstr(p, "]: ")) != NULL; p++)
		if (sscanf(p, "]: %llu more like", &n) == 1)
			sum += n;
	assert_int_equal(sum + lines, 600);
}

static int
setup(void **state)
{
	int	 fd;

	(void)state;
	assert_int_not_equal(fd = mkstemp(log_file), -1);
	close(fd);
	log_init("test", POOLED_LOG_DEBUG);
	return log_open(log_file);
}

static int
teardown(void **state)
{
	(void)state;
	log_open("stderr");
	unlink(log_file);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_line_escaped),
		cmocka_unit_test(test_line_time),
		cmocka_unit_test(test_syslog),
		cmocka_unit_test(test_peer_burst),
		cmocka_unit_test(test_peer_bound),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
