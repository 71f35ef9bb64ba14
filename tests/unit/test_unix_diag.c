/*
 * Unit tests for unix_diag.c: the kernel's device numbers, the parsing of
 * sock_diag answers built by hand, and one real question about a socket
 * bound in a temporary directory.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

/* An answer: header, unix_diag_msg, then attributes appended by put(). */
struct answer {
	union {
		struct nlmsghdr	 nlh;
		char		 buf[512];
	} u;
};

static void
answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->u.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	a->u.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct unix_diag_msg));
}

static void
put(struct answer *a, unsigned short type, const void *data, size_t len)
{
	struct rtattr	*rta;

	rta = (struct rtattr *)(a->u.buf + NLMSG_ALIGN(a->u.nlh.nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	a->u.nlh.nlmsg_len = NLMSG_ALIGN(a->u.nlh.nlmsg_len) +
	    RTA_ALIGN(rta->rta_len);
}

static void
test_dev_encoding(void **state)
{
	(void)state;
	/* The kernel keeps 20 bits of minor; stat(2) splits them. */
	assert_true(unix_diag_dev(254U << 20) == makedev(254, 0));
	assert_true(unix_diag_dev((8U << 20) | 1) == makedev(8, 1));
	assert_true(unix_diag_dev((259U << 20) | 0x12345) ==
	    makedev(259, 0x12345));
	assert_true(unix_diag_dev(27) == makedev(0, 27));
	/* Taken as it is, 254:0 would be wrong. */
	assert_false((dev_t)(254U << 20) == makedev(254, 0));
}

static void
test_attr_found(void **state)
{
	struct answer		 a;
	struct unix_diag_rqlen	 rq = { 3, 128 }, rq_out;
	struct unix_diag_vfs	 v = { 4242, 254U << 20 }, v_out;

	(void)state;
	answer_init(&a);
	put(&a, UNIX_DIAG_RQLEN, &rq, sizeof(rq));
	put(&a, UNIX_DIAG_VFS, &v, sizeof(v));
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v_out, sizeof(v_out)), 0);
	assert_int_equal(v_out.udiag_vfs_ino, 4242);
	assert_int_equal(v_out.udiag_vfs_dev, 254U << 20);
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len,
	    UNIX_DIAG_RQLEN, &rq_out, sizeof(rq_out)), 0);
	assert_int_equal(rq_out.udiag_rqueue, 3);
	assert_int_equal(rq_out.udiag_wqueue, 128);
}

static void
test_attr_missing(void **state)
{
	struct answer		 a;
	struct unix_diag_rqlen	 rq = { 0, 0 };
	struct unix_diag_vfs	 v;

	(void)state;
	answer_init(&a);
	put(&a, UNIX_DIAG_RQLEN, &rq, sizeof(rq));
	errno = 0;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_attr_short_payload(void **state)
{
	struct answer		 a;
	uint32_t		 half = 7;
	struct unix_diag_vfs	 v;

	(void)state;
	answer_init(&a);
	put(&a, UNIX_DIAG_VFS, &half, sizeof(half));
	errno = 0;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_attr_truncated(void **state)
{
	struct answer		 a;
	struct unix_diag_vfs	 v = { 1, 2 };

	(void)state;
	answer_init(&a);
	put(&a, UNIX_DIAG_VFS, &v, sizeof(v));
	/* Fewer bytes received than the header says. */
	errno = 0;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len - 4,
	    UNIX_DIAG_VFS, &v, sizeof(v)), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(unix_diag_attr(&a, 8, UNIX_DIAG_VFS, &v,
	    sizeof(v)), -1);
	assert_int_equal(errno, EPROTO);
	/* An attribute longer than what is left is not read. */
	((struct rtattr *)(a.u.buf + NLMSG_LENGTH(sizeof(struct
	    unix_diag_msg))))->rta_len = 200;
	errno = 0;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_attr_error(void **state)
{
	struct answer		 a;
	struct nlmsgerr		*e;
	struct unix_diag_vfs	 v;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.u.nlh.nlmsg_type = NLMSG_ERROR;
	a.u.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	e = NLMSG_DATA(&a.u.nlh);
	e->error = -ENOENT;
	errno = 0;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, ENOENT);
	e->error = 0;		/* an ack, not an answer */
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, EPROTO);
	a.u.nlh.nlmsg_type = NLMSG_DONE;
	assert_int_equal(unix_diag_attr(&a, a.u.nlh.nlmsg_len, UNIX_DIAG_VFS,
	    &v, sizeof(v)), -1);
	assert_int_equal(errno, EPROTO);
}

/* The kernel names the file a socket is bound to as stat(2) sees it. */
static void
test_vfs_of_a_real_socket(void **state)
{
	char			 dir[] = "/tmp/test_unix_diag.XXXXXX";
	struct sockaddr_un	 sun;
	struct stat		 st;
	dev_t			 dev;
	uint32_t		 ino;
	int			 fd, other, p[2];

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(lstat(sun.sun_path, &st), 0);
	if (unix_diag_vfs(fd, &dev, &ino) == -1 && (errno ==
	    EPROTONOSUPPORT || errno == EAFNOSUPPORT)) {
		unlink(sun.sun_path);
		rmdir(dir);
		skip();
	}
	assert_int_equal(unix_diag_vfs(fd, &dev, &ino), 0);
	assert_true(dev == st.st_dev);
	assert_int_equal(ino, (uint32_t)st.st_ino);
	/* A socket bound to no file has none. */
	other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(other != -1);
	errno = 0;
	assert_int_equal(unix_diag_vfs(other, &dev, &ino), -1);
	assert_int_equal(errno, ENOENT);
	close(other);
	/* Nor is a pipe a socket. */
	assert_int_equal(pipe(p), 0);
	errno = 0;
	assert_int_equal(unix_diag_vfs(p[0], &dev, &ino), -1);
	assert_int_equal(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
	close(fd);
	assert_int_equal(unlink(sun.sun_path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_encoding),
		cmocka_unit_test(test_attr_found),
		cmocka_unit_test(test_attr_missing),
		cmocka_unit_test(test_attr_short_payload),
		cmocka_unit_test(test_attr_truncated),
		cmocka_unit_test(test_attr_error),
		cmocka_unit_test(test_vfs_of_a_real_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
