/*
 * Unit tests for privs.c: paths as a chrooted worker sees them
 * (privs_inside, privs_view); the privilege drop itself is exercised by
 * the integration scenarios, which run as root.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

static struct pool_conf
jailed(const char *chroot)
{
	struct pool_conf	 pc;

	memset(&pc, 0, sizeof(pc));
	pc.name = (char *)(uintptr_t)"p";
	pc.chroot = (char *)(uintptr_t)chroot;
	return pc;
}

static void
test_inside_strips_the_chroot(void **state)
{
	struct pool_conf	 pc = jailed("/srv/jail");

	(void)state;
	assert_string_equal(privs_inside(&pc, "/srv/jail/cgi-bin/a.cgi"),
	    "/cgi-bin/a.cgi");
	assert_string_equal(privs_inside(&pc, "/srv/jail/x"), "/x");
	/* The chroot itself is the worker's root. */
	assert_string_equal(privs_inside(&pc, "/srv/jail"), "/");
	assert_string_equal(privs_inside(&pc, "/srv/jail/"), "/");
}

static void
test_inside_leaves_other_paths(void **state)
{
	struct pool_conf	 pc = jailed("/srv/jail");
	const char		*p;

	(void)state;
	/* A sibling that only starts with the same letters is not inside. */
	p = "/srv/jailbreak/a.cgi";
	assert_ptr_equal(privs_inside(&pc, p), p);
	p = "/srv/jai";
	assert_ptr_equal(privs_inside(&pc, p), p);
	/* A path already as seen inside (a web server told so) stays. */
	p = "/cgi-bin/a.cgi";
	assert_ptr_equal(privs_inside(&pc, p), p);
	p = "relative/srv/jail";
	assert_ptr_equal(privs_inside(&pc, p), p);
	assert_null(privs_inside(&pc, NULL));
}

static void
test_inside_without_chroot(void **state)
{
	struct pool_conf	 pc = jailed(NULL);
	const char		*p = "/srv/jail/a.cgi";

	(void)state;
	assert_ptr_equal(privs_inside(&pc, p), p);
	assert_null(privs_inside(&pc, NULL));
}

static void
test_inside_trailing_slash_and_root(void **state)
{
	struct pool_conf	 pc = jailed("/srv/jail/");

	(void)state;
	assert_string_equal(privs_inside(&pc, "/srv/jail/a"), "/a");
	assert_string_equal(privs_inside(&pc, "/srv/jail"), "/");
	/* chroot "/" changes nothing. */
	pc = jailed("/");
	assert_string_equal(privs_inside(&pc, "/srv/a"), "/srv/a");
	assert_string_equal(privs_inside(&pc, "/"), "/");
}

/* privs_view's copy is for the life of a worker; a test frees it. */
static void
free_view(const struct pool_conf *cv)
{
	struct pool_conf	*v = (struct pool_conf *)(uintptr_t)cv;
	size_t			 i;

	free(v->module);
	for (i = 0; i < v->ncgi_roots; i++)
		free(v->cgi_roots[i]);
	free(v->cgi_roots);
	for (i = 0; i < v->ncgi_interpreters; i++)
		free(v->cgi_interpreters[i]);
	free(v->cgi_interpreters);
	free(v);
}

static void
test_view_rewrites_the_pool_paths(void **state)
{
	struct pool_conf	 pc = jailed("/srv/jail");
	const struct pool_conf	*v;
	char			*roots[] = {
		(char *)(uintptr_t)"/srv/jail/cgi-bin",
		(char *)(uintptr_t)"/srv/jail", NULL
	};
	char			*interps[] = {
		(char *)(uintptr_t)".pl=/srv/jail/usr/bin/perl", NULL
	};

	(void)state;
	pc.module = (char *)(uintptr_t)"/srv/jail/lib/hello.so";
	pc.cgi_roots = roots;
	pc.ncgi_roots = 2;
	pc.cgi_interpreters = interps;
	pc.ncgi_interpreters = 1;
	v = privs_view(&pc);
	assert_ptr_not_equal(v, &pc);
	assert_string_equal(v->module, "/lib/hello.so");
	assert_string_equal(v->cgi_roots[0], "/cgi-bin");
	assert_string_equal(v->cgi_roots[1], "/");
	assert_null(v->cgi_roots[2]);
	assert_string_equal(v->cgi_interpreters[0], ".pl=/usr/bin/perl");
	assert_null(v->cgi_interpreters[1]);
	/* It keeps the chroot, for the web server's paths (cgi_path.c). */
	assert_string_equal(v->chroot, "/srv/jail");
	assert_string_equal(privs_inside(v, "/srv/jail/cgi-bin/a.cgi"),
	    "/cgi-bin/a.cgi");
	/* The config itself is left as it was. */
	assert_string_equal(pc.module, "/srv/jail/lib/hello.so");
	free_view(v);

	/* Without a chroot, the pool itself. */
	pc = jailed(NULL);
	assert_ptr_equal(privs_view(&pc), &pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_strips_the_chroot),
		cmocka_unit_test(test_inside_leaves_other_paths),
		cmocka_unit_test(test_inside_without_chroot),
		cmocka_unit_test(test_inside_trailing_slash_and_root),
		cmocka_unit_test(test_view_rewrites_the_pool_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
