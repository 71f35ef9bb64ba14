/*
 * Unit tests for sock.c: the socket directory rule, and what happens to
 * a unix socket's file: born with listen_mode whatever the umask, and
 * changed or removed only while the path still holds it (a symlink, a
 * regular file or another socket there is left alone).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
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

static char	 dir[] = "/tmp/test_sock.XXXXXX";
static char	 path[64], moved[64], target[64];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	snprintf(moved, sizeof(moved), "%s/s.moved", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(moved);
	unlink(target);
	return rmdir(dir);
}

/* A pool on the unix socket path, mode 0600, no owner or group. */
static struct pool_conf
unix_pool(void)
{
	struct pool_conf	 pc;
	char			 err[256];

	memset(&pc, 0, sizeof(pc));
	pc.name = (char *)(uintptr_t)"t";
	assert_int_equal(listen_addr_parse(path, &pc.listen, err,
	    sizeof(err)), 0);
	pc.listen_mode = 0600;
	pc.listen_uid = (uid_t)-1;
	pc.listen_gid = (gid_t)-1;
	pc.listen_backlog = 4;
	return pc;
}

static unsigned int
mode_of(const char *p)
{
	struct stat	 st;

	assert_int_equal(lstat(p, &st), 0);
	return (unsigned int)(st.st_mode & 07777);
}

static void
test_dir_problem(void **state)
{
	struct pool_conf	 pc;

	(void)state;
	memset(&pc, 0, sizeof(pc));
	pc.has_user = true;
	pc.uid = 1000;
	assert_null(sock_dir_problem(0, S_IFDIR | 0755, &pc));
	assert_null(sock_dir_problem(0, S_IFDIR | 0700, &pc));
	assert_null(sock_dir_problem(1000, S_IFDIR | 0755, &pc));
	/* Sticky: others may add files but not replace the socket. */
	assert_null(sock_dir_problem(0, S_IFDIR | 01777, &pc));
	assert_null(sock_dir_problem(1000, S_IFDIR | 01770, &pc));
	assert_non_null(sock_dir_problem(0, S_IFDIR | 0777, &pc));
	assert_non_null(sock_dir_problem(0, S_IFDIR | 0775, &pc));
	assert_non_null(sock_dir_problem(0, S_IFDIR | 0757, &pc));
	assert_non_null(sock_dir_problem(1000, S_IFDIR | 0770, &pc));
	/* Another user's directory, even a private one. */
	assert_non_null(sock_dir_problem(1001, S_IFDIR | 0700, &pc));
	assert_non_null(sock_dir_problem(33, S_IFDIR | 0755, &pc));
	pc.has_user = false;
	assert_non_null(sock_dir_problem(1000, S_IFDIR | 0755, &pc));
	assert_null(sock_dir_problem(0, S_IFDIR | 0755, &pc));
	assert_non_null(sock_dir_problem(0, S_IFREG | 0755, &pc));
}

/* The umask around bind gives listen_mode exactly, whatever it was. */
static void
test_born_with_listen_mode(void **state)
{
	struct pool_conf	 pc = unix_pool();
	mode_t			 masks[] = { 0, 022, 077, 0777 };
	unsigned int		 modes[] = { 0600, 0660, 0666, 0604 };
	size_t			 i, j;
	mode_t			 old;
	int			 fd;

	(void)state;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		for (j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			pc.listen_mode = modes[j];
			old = umask(masks[i]);
			fd = sock_open(&pc);
			assert_true(fd != -1);
			assert_int_equal(umask(old), masks[i]);
			assert_int_equal(mode_of(path), modes[j]);
			sock_unlink(&pc, fd);
			close(fd);
			assert_int_equal(access(path, F_OK), -1);
		}
}

/* The symlink swap: nothing through the link, neither mode nor unlink. */
static void
test_symlink_is_left_alone(void **state)
{
	struct pool_conf	 pc = unix_pool(), wide = unix_pool();
	int			 fd, tfd;

	(void)state;
	wide.listen_mode = 0666;
	fd = sock_open(&pc);
	assert_true(fd != -1);
	tfd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(tfd != -1);
	close(tfd);
	assert_int_equal(chmod(target, 0640), 0);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(target, path), 0);

	assert_int_equal(sock_apply(&wide, fd), -1);
	assert_int_equal(mode_of(target), 0640);
	sock_unlink(&pc, fd);
	assert_int_equal(mode_of(path), 0777);	/* the link, still there */
	assert_int_equal(mode_of(target), 0640);

	/* A regular file in its place, likewise. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(target, path), 0);
	assert_int_equal(sock_apply(&wide, fd), -1);
	assert_int_equal(mode_of(path), 0640);
	sock_unlink(&pc, fd);
	assert_int_equal(mode_of(path), 0640);
	assert_int_equal(unlink(path), 0);

	/* Put back, the socket gets the new mode and is removed. */
	assert_int_equal(rename(moved, path), 0);
	assert_int_equal(sock_apply(&wide, fd), 0);
	assert_int_equal(mode_of(path), 0666);
	sock_unlink(&pc, fd);
	assert_int_equal(access(path, F_OK), -1);
	close(fd);
}

/* Another socket at the path is not ours either. */
static void
test_other_socket_is_left_alone(void **state)
{
	struct pool_conf	 pc = unix_pool(), wide = unix_pool();
	struct sockaddr_un	 sun;
	int			 fd, other;

	(void)state;
	wide.listen_mode = 0666;
	fd = sock_open(&pc);
	assert_true(fd != -1);
	assert_int_equal(rename(path, moved), 0);
	other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(other != -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(other, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sock_apply(&wide, fd), -1);
	assert_int_equal(mode_of(path), 0600);
	sock_unlink(&pc, fd);
	assert_int_equal(access(path, F_OK), 0);
	/* The other socket's owner removes it as its own. */
	sock_unlink(&pc, other);
	assert_int_equal(access(path, F_OK), -1);
	close(other);
	/* Gone: nothing to do, and no error for sock_unlink. */
	sock_unlink(&pc, fd);
	assert_int_equal(rename(moved, path), 0);
	sock_unlink(&pc, fd);
	assert_int_equal(access(path, F_OK), -1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_problem),
		cmocka_unit_test(test_born_with_listen_mode),
		cmocka_unit_test(test_symlink_is_left_alone),
		cmocka_unit_test(test_other_socket_is_left_alone),
	};

	log_init("test_sock", POOLED_LOG_ERROR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
