/*
 * Unit tests for worker_life.c: a worker's own lifecycle, driven step by
 * step on a fake clock (the times are passed in), without threads.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

#define T0		100000		/* the fake clock at fork, ms */
#define START_S		7		/* start_timeout */
#define GRACE_S		5		/* graceful_timeout */
#define KILL_S		3		/* kill_timeout */

static struct conf	 conf;

static int
setup(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.start_timeout = START_S;
	conf.graceful_timeout = GRACE_S;
	conf.kill_timeout = KILL_S;
	return 0;
}

/* A worker that forked at T0. */
static void
born(struct wlife *l)
{
	wlife_init(l, &conf, T0);
	assert_int_equal(wlife_state(l), WLIFE_STARTING);
}

static void
test_starting_has_start_timeout(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_deadline(&l), T0 + START_S * 1000);
	assert_false(wlife_stopping(&l));
	assert_false(wlife_overdue(&l, T0 + START_S * 1000 - 1));
	assert_true(wlife_overdue(&l, T0 + START_S * 1000));
	assert_true(wlife_has_master(&l));
	assert_false(wlife_alone(&l));
}

/* starting -> serving -> draining -> exiting, with a master. */
static void
test_serve_drain_exit(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 300), 0);
	assert_int_equal(wlife_state(&l), WLIFE_SERVING);
	assert_int_equal(wlife_deadline(&l), INT64_MAX);
	assert_false(wlife_overdue(&l, INT64_MAX - 1));
	assert_false(wlife_stopping(&l));

	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 10000), 0);
	assert_true(wlife_stopping(&l));
	/* The master's SIGTERM is due first; this is the backstop. */
	assert_int_equal(wlife_deadline(&l),
	    T0 + 10000 + (GRACE_S + KILL_S) * 1000);
	assert_false(wlife_alone(&l));

	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 12000), 0);
	assert_int_equal(wlife_state(&l), WLIFE_EXITING);
	assert_true(wlife_stopping(&l));
	assert_int_equal(wlife_deadline(&l), T0 + 12000 + WLIFE_EXIT_MS);
}

/* serving -> retiring -> draining -> exiting. */
static void
test_retire(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 50), 0);
	assert_int_equal(wlife_state(&l), WLIFE_RETIRING);
	assert_int_equal(wlife_deadline(&l), INT64_MAX);
	assert_false(wlife_stopping(&l));
	/* Asked again (another thread, another reason): nothing to do. */
	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 60), 1);
	assert_int_equal(wlife_state(&l), WLIFE_RETIRING);

	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 2000), 0);
	assert_int_equal(wlife_deadline(&l),
	    T0 + 2000 + (GRACE_S + KILL_S) * 1000);
	/* A request that hits max_requests while draining asks nothing. */
	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 2100), 1);
	assert_int_equal(wlife_state(&l), WLIFE_DRAINING);

	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 3000), 0);
	assert_int_equal(wlife_deadline(&l), T0 + 3000 + WLIFE_EXIT_MS);
}

/* STOP_NOW: serving or retiring -> exiting at once. */
static void
test_stop_now(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 1), 0);
	assert_int_equal(wlife_deadline(&l), T0 + 1 + WLIFE_EXIT_MS);

	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 1), 0);
	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 2), 0);
	assert_int_equal(wlife_state(&l), WLIFE_EXITING);
}

/* starting -> exiting: no thread_init worked, or start-up overdue. */
static void
test_start_fails(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_true(wlife_overdue(&l, T0 + START_S * 1000));
	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + START_S * 1000),
	    0);
	assert_int_equal(wlife_deadline(&l),
	    T0 + START_S * 1000 + WLIFE_EXIT_MS);
	assert_false(wlife_overdue(&l, T0 + START_S * 1000 + 999));
	assert_true(wlife_overdue(&l, T0 + START_S * 1000 + WLIFE_EXIT_MS));
}

/*
 * The master goes away while serving: the drain gets graceful_timeout,
 * and the backlog is this worker's.
 */
static void
test_master_gone_then_drain(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	wlife_set_master_gone(&l, T0 + 500);
	assert_int_equal(wlife_deadline(&l), INT64_MAX);
	assert_false(wlife_has_master(&l));
	assert_true(wlife_alone(&l));
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 600), 0);
	assert_int_equal(wlife_deadline(&l), T0 + 600 + GRACE_S * 1000);
	assert_true(wlife_overdue(&l, T0 + 600 + GRACE_S * 1000));
}

/*
 * The master goes away during a drain: graceful_timeout from then, when
 * that is sooner than the backstop, and never later.
 */
static void
test_master_gone_while_draining(void **state)
{
	struct wlife	 l;
	int64_t		 d;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 1000), 0);
	d = wlife_deadline(&l);
	assert_int_equal(d, T0 + 1000 + (GRACE_S + KILL_S) * 1000);
	wlife_set_master_gone(&l, T0 + 2000);
	assert_int_equal(wlife_deadline(&l), T0 + 2000 + GRACE_S * 1000);
	/* Seen gone again later: the deadline does not move out. */
	wlife_set_master_gone(&l, T0 + 4000);
	assert_int_equal(wlife_deadline(&l), T0 + 2000 + GRACE_S * 1000);

	/* Gone late in a long backstop: the backstop stays. */
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0), 0);
	wlife_set_master_gone(&l, T0 + 7000);
	assert_int_equal(wlife_deadline(&l), T0 + (GRACE_S + KILL_S) * 1000);
}

/* A graceful stop that closes the socket: the backlog is ours. */
static void
test_closing(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0), 0);
	assert_false(wlife_alone(&l));
	wlife_set_closing(&l);
	assert_true(wlife_alone(&l));
	assert_true(wlife_has_master(&l));
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 10), 0);
	assert_int_equal(wlife_deadline(&l),
	    T0 + 10 + (GRACE_S + KILL_S) * 1000);
}

/* Steps the machine does not have: refused, state and deadline kept. */
static void
test_illegal(void **state)
{
	struct wlife	 l;

	(void)state;
	born(&l);
	/* Before the gate opens nobody retires or drains. */
	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 1), -1);
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 1), -1);
	assert_int_equal(wlife_to(&l, WLIFE_STARTING, T0 + 1), -1);
	assert_int_equal(wlife_state(&l), WLIFE_STARTING);
	assert_int_equal(wlife_deadline(&l), T0 + START_S * 1000);

	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 2), 0);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 3), -1);
	assert_int_equal(wlife_to(&l, WLIFE_STARTING, T0 + 3), -1);
	assert_int_equal(wlife_to(&l, (enum wlife_state)42, T0 + 3), -1);
	assert_int_equal(wlife_to(&l, (enum wlife_state)-1, T0 + 3), -1);
	assert_int_equal(wlife_state(&l), WLIFE_SERVING);

	assert_int_equal(wlife_to(&l, WLIFE_RETIRING, T0 + 4), 0);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 5), -1);
	assert_int_equal(wlife_state(&l), WLIFE_RETIRING);

	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 6), 0);
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 7), -1);
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 7), 1);
	assert_int_equal(wlife_deadline(&l),
	    T0 + 6 + (GRACE_S + KILL_S) * 1000);

	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 8), 0);
	/* Nothing after exiting; asking to exit again is a no-op. */
	assert_int_equal(wlife_to(&l, WLIFE_SERVING, T0 + 9), -1);
	assert_int_equal(wlife_to(&l, WLIFE_STARTING, T0 + 9), -1);
	assert_int_equal(wlife_to(&l, WLIFE_DRAINING, T0 + 9), 1);
	assert_int_equal(wlife_to(&l, WLIFE_EXITING, T0 + 9), 1);
	assert_int_equal(wlife_state(&l), WLIFE_EXITING);
	assert_int_equal(wlife_deadline(&l), T0 + 8 + WLIFE_EXIT_MS);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(wlife_name(WLIFE_STARTING), "starting");
	assert_string_equal(wlife_name(WLIFE_SERVING), "serving");
	assert_string_equal(wlife_name(WLIFE_RETIRING), "retiring");
	assert_string_equal(wlife_name(WLIFE_DRAINING), "draining");
	assert_string_equal(wlife_name(WLIFE_EXITING), "exiting");
	assert_string_equal(wlife_name((enum wlife_state)9), "?");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test_setup(test_starting_has_start_timeout, setup),
		cmocka_unit_test_setup(test_serve_drain_exit, setup),
		cmocka_unit_test_setup(test_retire, setup),
		cmocka_unit_test_setup(test_stop_now, setup),
		cmocka_unit_test_setup(test_start_fails, setup),
		cmocka_unit_test_setup(test_master_gone_then_drain, setup),
		cmocka_unit_test_setup(test_master_gone_while_draining, setup),
		cmocka_unit_test_setup(test_closing, setup),
		cmocka_unit_test_setup(test_illegal, setup),
		cmocka_unit_test_setup(test_names, setup),
	};

	log_init("test_worker_life", POOLED_LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
