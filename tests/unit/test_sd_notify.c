/*
 * Unit tests for sd_notify.c: the datagrams a service manager listening
 * on $NOTIFY_SOCKET receives (a path and an abstract name), that the
 * variable leaves the environment, that a malformed one is ignored, that
 * READY=1 follows a reload only once none is in progress, and the
 * requests per second of the STATUS= line, and that a service manager
 * that does not read never blocks the sender.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

/* A datagram socket bound at name ('@' first: abstract); its fd. */
static int
listener(const char *name)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		(void)unlink(name);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	sd_notify_init();
	return fd;
}

/* The next datagram on fd, or "" when none waits. */
static const char *
next_msg(int fd)
{
	static char	 buf[1024];
	ssize_t		 n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

static void
test_path(void **state)
{
	char	 path[64];
	int	 fd;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pooled-test-notify.%ld",
	    (long)getpid());
	fd = listener(path);
	assert_true(sd_notify_enabled());
	assert_null(getenv("NOTIFY_SOCKET"));
	sd_notify_ready(3);
	assert_string_equal(next_msg(fd), "READY=1\nSTATUS=serving, 3 workers");
	sd_notify_stopping();
	assert_string_equal(next_msg(fd), "STOPPING=1\nSTATUS=stopping");
	assert_string_equal(next_msg(fd), "");
	close(fd);
	unlink(path);
}

static void
test_abstract_reload(void **state)
{
	char		 name[64];
	const char	*m;
	int		 fd;

	(void)state;
	snprintf(name, sizeof(name), "@pooled-test-notify-%ld",
	    (long)getpid());
	fd = listener(name);
	/* Nothing to settle before a reload began. */
	sd_notify_reload_settled(false, 2);
	assert_string_equal(next_msg(fd), "");
	sd_notify_reloading();
	m = next_msg(fd);
	assert_true(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	assert_true(strtoull(m + 27, NULL, 10) > 0);
	assert_non_null(strstr(m, "\nSTATUS=reloading"));
	sd_notify_reload_settled(true, 2);
	assert_string_equal(next_msg(fd), "");
	sd_notify_reload_settled(false, 4);
	assert_string_equal(next_msg(fd), "READY=1\nSTATUS=serving, 4 workers");
	/* Once. */
	sd_notify_reload_settled(false, 4);
	assert_string_equal(next_msg(fd), "");
	close(fd);
}

static void
test_status_rate(void **state)
{
	char	 name[64];
	int	 fd;

	(void)state;
	snprintf(name, sizeof(name), "@pooled-test-status-%ld",
	    (long)getpid());
	fd = listener(name);
	sd_notify_ready(2);
	(void)next_msg(fd);
	assert_true(sd_notify_status_due(1000));
	sd_notify_status(1000, 2, 10);
	assert_string_equal(next_msg(fd),
	    "STATUS=serving, 2 workers, 10 requests, 0.0 req/s");
	assert_false(sd_notify_status_due(2000));
	assert_true(sd_notify_status_due(11000));
	sd_notify_status(11000, 2, 60);
	assert_string_equal(next_msg(fd),
	    "STATUS=serving, 2 workers, 60 requests, 5.0 req/s");
	/* Counters of a new generation start again: no negative rate. */
	sd_notify_status(21000, 2, 5);
	assert_string_equal(next_msg(fd),
	    "STATUS=serving, 2 workers, 5 requests, 0.0 req/s");
	close(fd);
}

/*
 * A service manager that reads nothing (hung): once its socket's queue is
 * full, a blocking sendto would stop the master for good.  alarm() turns
 * a hang into a failure.
 */
static void
test_not_read(void **state)
{
	char	 name[64];
	int	 fd, i;

	(void)state;
	snprintf(name, sizeof(name), "@pooled-test-hung-%ld",
	    (long)getpid());
	fd = listener(name);
	signal(SIGALRM, SIG_DFL);
	alarm(20);
	for (i = 0; i < 1000; i++)
		sd_notify_reloading();
	alarm(0);
	/* What was queued is there; the rest was dropped. */
	assert_true(strncmp(next_msg(fd), "RELOADING=1\n", 12) == 0);
	close(fd);
}

static void
test_malformed(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	sd_notify_init();
	assert_false(sd_notify_enabled());
	assert_null(getenv("NOTIFY_SOCKET"));
	unsetenv("NOTIFY_SOCKET");
	sd_notify_init();
	assert_false(sd_notify_enabled());
	/* No socket: every call does nothing. */
	sd_notify_ready(1);
	sd_notify_stopping();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract_reload),
		cmocka_unit_test(test_status_rate),
		cmocka_unit_test(test_not_read),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
