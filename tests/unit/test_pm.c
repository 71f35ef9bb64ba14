/*
 * Unit tests for pm.c: the dynamic and ondemand sizing policy, on views
 * built by hand.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

/* A dynamic pool of 4-thread workers: 1..5 of them, 2..10 spare threads. */
static struct pool_conf
dynamic(void)
{
	struct pool_conf	 pc;

	memset(&pc, 0, sizeof(pc));
	pc.pm = PM_DYNAMIC;
	pc.threads = 4;
	pc.processes = 2;
	pc.min_processes = 1;
	pc.max_processes = 5;
	pc.min_spare_threads = 2;
	pc.max_spare_threads = 10;
	pc.idle_timeout = 10;
	return pc;
}

static struct pm_view
view(unsigned int procs, unsigned int starting, unsigned int idle)
{
	struct pm_view	 v;

	memset(&v, 0, sizeof(v));
	v.procs = procs;
	v.starting = starting;
	v.idle_threads = idle;
	return v;
}

static void
test_static_decides_nothing(void **state)
{
	struct pool_conf	 pc = dynamic();
	struct pm_view		 v = view(1, 0, 0);
	struct pm_decision	 d;

	(void)state;
	pc.pm = PM_STATIC;
	v.idle_threads = 2;
	v.queued = true;
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_false(d.retire);
	assert_false(d.max_reached);
	/* Saturated: said, nothing more. */
	v.idle_threads = 0;
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_false(d.retire);
	assert_true(d.max_reached);
}

static void
test_dynamic_keeps_the_band(void **state)
{
	struct pool_conf	 pc = dynamic();
	struct pm_view		 v;
	struct pm_decision	 d;

	(void)state;
	/* Within the band: nothing. */
	v = view(2, 0, 5);
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_false(d.retire);
	/* 1 idle, 2 wanted: one more worker. */
	v = view(2, 0, 1);
	assert_int_equal(pm_decide(&pc, &v).start, 1);
	/* None idle at all with 6 wanted: enough workers at once. */
	pc.min_spare_threads = 6;
	pc.max_spare_threads = 12;
	v = view(2, 0, 0);
	assert_int_equal(pm_decide(&pc, &v).start, 2);
	/* More than 10 idle: retire one, down to min_processes only. */
	pc = dynamic();
	v = view(3, 0, 11);
	d = pm_decide(&pc, &v);
	assert_true(d.retire);
	assert_int_equal(d.start, 0);
	v = view(1, 0, 11);
	assert_false(pm_decide(&pc, &v).retire);
	/* Below min_processes: start up to it, whatever is idle. */
	pc.min_processes = 3;
	v = view(1, 0, 4);
	assert_int_equal(pm_decide(&pc, &v).start, 2);
}

static void
test_dynamic_waits_for_starting_workers(void **state)
{
	struct pool_conf	 pc = dynamic();
	struct pm_view		 v = view(2, 1, 0);
	struct pm_decision	 d;

	(void)state;
	v.queued = true;
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_false(d.retire);
	assert_false(d.max_reached);
}

static void
test_dynamic_max_reached(void **state)
{
	struct pool_conf	 pc = dynamic();
	struct pm_view		 v;
	struct pm_decision	 d;

	(void)state;
	/* Capped at max_processes ... */
	pc.min_spare_threads = 20;
	pc.max_spare_threads = 30;
	v = view(3, 0, 0);
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 2);
	assert_false(d.max_reached);
	/* ... and at it, said so. */
	v = view(5, 0, 0);
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_true(d.max_reached);
	/* Queued connections with no idle thread want one more too. */
	pc = dynamic();
	pc.min_spare_threads = 0;
	v = view(5, 0, 0);
	v.queued = true;
	assert_true(pm_decide(&pc, &v).max_reached);
	v = view(2, 0, 0);
	v.queued = true;
	assert_int_equal(pm_decide(&pc, &v).start, 1);
}

static void
test_ondemand(void **state)
{
	struct pool_conf	 pc = dynamic();
	struct pm_view		 v;
	struct pm_decision	 d;

	(void)state;
	pc.pm = PM_ONDEMAND;
	pc.max_processes = 2;
	/* Nothing runs, nothing waits: nothing starts. */
	v = view(0, 0, 0);
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_false(d.retire);
	/* A connection waits: one worker. */
	v.queued = true;
	assert_int_equal(pm_decide(&pc, &v).start, 1);
	/* Waiting with threads idle: they will take it. */
	v = view(1, 0, 3);
	v.queued = true;
	assert_int_equal(pm_decide(&pc, &v).start, 0);
	/* Waiting, none idle: one more, up to max_processes. */
	v = view(1, 0, 0);
	v.queued = true;
	assert_int_equal(pm_decide(&pc, &v).start, 1);
	v = view(2, 0, 0);
	v.queued = true;
	d = pm_decide(&pc, &v);
	assert_int_equal(d.start, 0);
	assert_true(d.max_reached);
	/* A worker all idle for idle_timeout goes; not a second sooner. */
	v = view(1, 0, 4);
	v.oldest_idle_ms = 9999;
	assert_false(pm_decide(&pc, &v).retire);
	v.oldest_idle_ms = 10000;
	assert_true(pm_decide(&pc, &v).retire);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_decides_nothing),
		cmocka_unit_test(test_dynamic_keeps_the_band),
		cmocka_unit_test(test_dynamic_waits_for_starting_workers),
		cmocka_unit_test(test_dynamic_max_reached),
		cmocka_unit_test(test_ondemand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
