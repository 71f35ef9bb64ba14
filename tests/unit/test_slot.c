/*
 * Unit tests for slot.c: the restart policy, driven with a fake clock and
 * no processes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

static char		 name_a[] = "a", name_b[] = "b";
static struct pool_conf	 pools[2];
static struct conf	 conf = { .pools = pools, .npools = 2 };

static int
setup(void **state)
{
	struct slot_table	*t;

	pools[0].name = name_a;
	pools[0].processes = 2;
	pools[1].name = name_b;
	pools[1].processes = 3;
	t = test_malloc(sizeof(*t));
	slot_table_init(t);
	slot_add_conf(t, &conf, 1);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct slot_table	*t = *state;

	slot_table_free(t);
	test_free(t);
	return 0;
}

static void
test_table_layout(void **state)
{
	struct slot_table	*t = *state;

	assert_int_equal(t->n, 5);
	assert_int_equal(t->v[0].pool, 0);
	assert_int_equal(t->v[1].pool, 0);
	assert_int_equal(t->v[2].pool, 1);
	assert_int_equal(t->v[4].pool, 1);
	assert_int_equal(t->v[4].gen, 1);
	/* Everything is due at once at startup. */
	assert_int_equal(slot_next_deadline(t, 5000), 0);
	assert_int_equal(slot_count_live(t), 0);
}

static void
test_started_and_by_pid(void **state)
{
	struct slot_table	*t = *state;

	slot_started(&t->v[3], 4242, 7, 1000);
	assert_ptr_equal(slot_by_pid(t, 4242), &t->v[3]);
	assert_null(slot_by_pid(t, 4243));
	assert_int_equal(slot_count_live(t), 1);
	assert_int_equal(t->v[3].chan, 7);
}

static void
test_serving_worker_restarts_at_once(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[0];

	slot_started(s, 100, 3, 1000);
	s->ready = true;		/* it served, then crashed */
	assert_false(slot_exited(s, true, 1000 + 3600 * 1000));
	assert_int_equal(s->state, SLOT_WAITING);
	assert_int_equal(s->backoff_ms, 0);
	assert_true(s->due_ms <= 1000 + 3600 * 1000);
	assert_int_equal(s->pid, -1);
}

static void
test_min_interval_between_starts(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[0];

	/* A clean exit 200 ms after start: no back-off, but 1 s spacing. */
	slot_started(s, 100, 3, 50000);
	assert_false(slot_exited(s, false, 50200));
	assert_int_equal(s->backoff_ms, 0);
	assert_int_equal(s->due_ms, 50000 + SLOT_MIN_INTERVAL_MS);
}

static void
test_backoff_grows_and_caps(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[1];
	int64_t			 now = 100000, prev = 0;
	int			 i;

	for (i = 0; i < 12; i++) {
		slot_started(s, 200 + i, 3, now);
		now += 10;		/* dies 10 ms after start */
		(void)slot_exited(s, true, now);
		assert_true(s->backoff_ms >= prev);
		assert_true(s->backoff_ms <= SLOT_BACKOFF_MAX_MS);
		assert_true(s->due_ms >= now + s->backoff_ms);
		prev = s->backoff_ms;
		now = s->due_ms;
	}
	assert_int_equal(s->backoff_ms, SLOT_BACKOFF_MAX_MS);
	/* A worker that then becomes ready resets the back-off. */
	slot_started(s, 999, 3, now);
	s->ready = true;
	(void)slot_exited(s, true, now + 5);
	assert_int_equal(s->backoff_ms, 0);
	assert_int_equal(s->early_deaths, 0);
	/* ... yet never restarts sooner than 1 s after its start. */
	assert_int_equal(s->due_ms, now + SLOT_MIN_INTERVAL_MS);
}

static void
test_backoff_doubles(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[1];

	slot_started(s, 1, 3, 0);
	(void)slot_exited(s, true, 5);
	assert_int_equal(s->backoff_ms, 1000);
	slot_started(s, 2, 3, s->due_ms);
	(void)slot_exited(s, true, s->started_ms + 5);
	assert_int_equal(s->backoff_ms, 2000);
	slot_started(s, 3, 3, s->due_ms);
	(void)slot_exited(s, true, s->started_ms + 5);
	assert_int_equal(s->backoff_ms, 4000);
}

static void
test_death_before_ready_backs_off_however_late(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[3];

	/* A process_init that fails after a minute still counts. */
	slot_started(s, 5, 3, 0);
	(void)slot_exited(s, true, 60000);
	assert_int_equal(s->backoff_ms, SLOT_MIN_INTERVAL_MS);
	assert_int_equal(s->early_deaths, 1);
	/* A clean exit before ready (not abnormal) does not. */
	slot_started(s, 6, 3, 70000);
	(void)slot_exited(s, false, 70010);
	assert_int_equal(s->backoff_ms, 0);
}

static void
test_crash_loop_detected(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[2];
	int64_t			 now = 0;
	bool			 looping = false;
	int			 i;

	for (i = 0; i < SLOT_LOOP_COUNT; i++) {
		assert_false(looping);
		slot_started(s, 10 + i, 3, now);
		looping = slot_exited(s, true, now + 1);
		/* Keep deaths inside the window regardless of back-off. */
		now += 1000;
	}
	assert_true(looping);
}

static void
test_requested_stop_is_not_respawned(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[4];

	slot_started(s, 77, 3, 0);
	s->stopping = true;
	assert_false(slot_exited(s, false, 10));
	assert_int_equal(s->state, SLOT_EMPTY);
}

static void
test_next_deadline_picks_earliest(void **state)
{
	struct slot_table	*t = *state;
	size_t			 i;

	for (i = 0; i < t->n; i++)
		slot_started(&t->v[i], (pid_t)(i + 1), 3, 0);
	assert_int_equal(slot_next_deadline(t, 0), -1);
	t->v[1].state = SLOT_WAITING;
	t->v[1].due_ms = 7000;
	t->v[3].state = SLOT_WAITING;
	t->v[3].due_ms = 4000;
	assert_int_equal(slot_next_deadline(t, 1000), 3000);
	assert_int_equal(slot_next_deadline(t, 9000), 0);
}

static void
test_add_and_compact(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s;

	/* A reload adds a generation; its slots are due at once. */
	slot_add_conf(t, &conf, 2);
	assert_int_equal(t->n, 10);
	assert_int_equal(t->v[9].gen, 2);
	assert_int_equal(t->v[9].pool, 1);
	s = slot_add(t, 0, 2);
	assert_int_equal(t->n, 11);
	assert_int_equal(s->state, SLOT_WAITING);
	assert_int_equal(s->pid, -1);
	/* Emptied slots go, the order of the others stays. */
	t->v[0].state = SLOT_EMPTY;
	t->v[7].state = SLOT_EMPTY;
	slot_table_compact(t);
	assert_int_equal(t->n, 9);
	assert_int_equal(t->v[0].pool, 0);
	assert_int_equal(t->v[0].gen, 1);
	assert_int_equal(t->v[8].gen, 2);
	assert_int_equal(t->v[8].pool, 0);
}

static void
test_retired_is_not_respawned(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[2];

	/* Replaced by a slot of its own: its exit, even a crash, ends it. */
	slot_started(s, 88, 3, 0);
	s->ready = true;
	s->retiring = true;
	assert_false(slot_exited(s, true, 10));
	assert_int_equal(s->state, SLOT_EMPTY);
	/* A new process in a slot starts with nothing of the last one. */
	s->state = SLOT_WAITING;
	slot_started(s, 89, 3, 20);
	assert_false(s->retiring);
	assert_false(s->stopping);
	assert_int_equal(s->phase, PHASE_NONE);
}

static void
test_next_stop_deadline(void **state)
{
	struct slot_table	*t = *state;

	assert_int_equal(slot_next_stop_deadline(t, 0), -1);
	slot_started(&t->v[0], 1, 3, 0);
	slot_started(&t->v[1], 2, 3, 0);
	t->v[0].stopping = true;
	t->v[0].stop_deadline = 9000;
	t->v[1].stopping = true;
	t->v[1].stop_deadline = 5000;
	assert_int_equal(slot_next_stop_deadline(t, 1000), 4000);
	assert_int_equal(slot_next_stop_deadline(t, 6000), 0);
	/* Only live processes have a stop to escalate. */
	t->v[1].state = SLOT_EMPTY;
	assert_int_equal(slot_next_stop_deadline(t, 6000), 3000);
}

/* A worker not ready by its ready_deadline is reported once, then backs off. */
static void
test_start_overdue(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[1];

	slot_started(s, 300, 3, 1000);
	assert_null(slot_start_overdue(t, 999999));	/* no deadline */
	assert_int_equal(slot_next_ready_deadline(t, 1000), -1);
	s->ready_deadline = 3000;
	assert_int_equal(slot_next_ready_deadline(t, 1000), 2000);
	assert_null(slot_start_overdue(t, 2999));
	assert_ptr_equal(slot_start_overdue(t, 3000), s);
	assert_null(slot_start_overdue(t, 3001));	/* once */
	assert_int_equal(slot_next_ready_deadline(t, 3001), -1);
	/* Killed before ready: an early death, with back-off. */
	assert_false(slot_exited(s, true, 3010));
	assert_int_equal(s->state, SLOT_WAITING);
	assert_int_equal(s->backoff_ms, SLOT_MIN_INTERVAL_MS);
	/* Ready or stopping in time: no deadline applies. */
	slot_started(s, 301, 3, 5000);
	s->ready_deadline = 7000;
	s->ready = true;
	assert_null(slot_start_overdue(t, 8000));
	s->ready = false;
	s->stopping = true;
	assert_null(slot_start_overdue(t, 8000));
	assert_int_equal(slot_next_ready_deadline(t, 8000), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_started_and_by_pid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_serving_worker_restarts_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_min_interval_between_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_grows_and_caps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_doubles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_death_before_ready_backs_off_however_late, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop_detected,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_requested_stop_is_not_respawned, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_next_deadline_picks_earliest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_and_compact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retired_is_not_respawned,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_stop_deadline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_start_overdue, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
