/*
 * Unit tests for supervisor.c (a worker's lifecycle as the master sees
 * it) and slot.c (the table of slots), driven with a fake clock and no
 * processes: every state meets every event, and the deadlines, back-off
 * and crash-loop policy are checked along whole lives.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

#define START_MS	5000
#define GRACEFUL_MS	7000
#define KILL_MS		3000
#define NOW		100000	/* when the table's events happen */
#define NONE		SUP_NO_DEADLINE

static const struct sup_times	 times = { START_MS, GRACEFUL_MS, KILL_MS };

static enum sup_action
step(struct slot *s, enum sup_event ev, int64_t now)
{
	return sup_step(s, ev, now, &times);
}

/* Fork a process into waiting slot s at now. */
static void
start(struct slot *s, pid_t pid, int64_t now)
{
	s->pid = pid;
	s->chan = 7;
	assert_int_equal(step(s, SUP_EV_SPAWNED, now), SUP_ACT_NONE);
	assert_int_equal(s->state, SUP_SPAWNED);
	assert_int_equal(s->deadline, now + START_MS);
}

/* Its process exits at now, abnormal or not. */
static void
die(struct slot *s, bool abnormal, int64_t now)
{
	assert_int_equal(step(s, abnormal ? SUP_EV_CRASHED : SUP_EV_EXITED,
	    now), SUP_ACT_NONE);
}

/*
 * Put a fresh slot in state st, reached by the usual path before NOW:
 * spawned at 90000, ready at 91000, then the last step at 92000.
 */
static void
reach(struct slot *s, enum sup_state st)
{
	memset(s, 0, sizeof(*s));
	s->state = SUP_WAITING;
	s->deadline = 99000;
	s->pid = -1;
	s->chan = -1;
	s->started_ms = INT64_MIN / 2;
	if (st == SUP_WAITING)
		return;
	start(s, 42, 90000);
	if (st == SUP_SPAWNED)
		return;
	(void)step(s, SUP_EV_READY, 91000);
	switch (st) {
	case SUP_REPLACING:
		(void)step(s, SUP_EV_REPLACE, 92000);
		break;
	case SUP_DRAINING:
		(void)step(s, SUP_EV_DRAIN, 92000);
		break;
	case SUP_TERMINATING:
		(void)step(s, SUP_EV_TERMINATE, 92000);
		break;
	case SUP_KILLED:
		(void)step(s, SUP_EV_KILL, 92000);
		break;
	case SUP_REAPED:
		(void)step(s, SUP_EV_DRAIN, 92000);
		die(s, false, 93000);
		break;
	default:
		break;
	}
	assert_int_equal(s->state, st);
}

/* One cell of the transition table: state x event at NOW. */
struct cell {
	enum sup_state	 from;
	enum sup_event	 ev;
	enum sup_state	 to;
	enum sup_action	 act;
	int64_t		 deadline;	/* -1: unchanged */
};

#define ILLEGAL(st, e)	{ st, e, st, SUP_ACT_ILLEGAL, -1 }
#define SAME(st, e)	{ st, e, st, SUP_ACT_NONE, -1 }

static const struct cell cells[] = {
	/* spawned: only into a waiting slot */
	{ SUP_WAITING, SUP_EV_SPAWNED, SUP_SPAWNED, SUP_ACT_NONE,
	    NOW + START_MS },
	ILLEGAL(SUP_SPAWNED, SUP_EV_SPAWNED),
	ILLEGAL(SUP_READY, SUP_EV_SPAWNED),
	ILLEGAL(SUP_REPLACING, SUP_EV_SPAWNED),
	ILLEGAL(SUP_DRAINING, SUP_EV_SPAWNED),
	ILLEGAL(SUP_TERMINATING, SUP_EV_SPAWNED),
	ILLEGAL(SUP_KILLED, SUP_EV_SPAWNED),
	ILLEGAL(SUP_REAPED, SUP_EV_SPAWNED),
	/* a failed fork counts as an early death: 1 s of back-off */
	{ SUP_WAITING, SUP_EV_SPAWN_FAILED, SUP_WAITING, SUP_ACT_NONE,
	    NOW + SLOT_MIN_INTERVAL_MS },
	ILLEGAL(SUP_SPAWNED, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_READY, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_REPLACING, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_DRAINING, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_TERMINATING, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_KILLED, SUP_EV_SPAWN_FAILED),
	ILLEGAL(SUP_REAPED, SUP_EV_SPAWN_FAILED),
	/* postponed: no status row yet */
	{ SUP_WAITING, SUP_EV_POSTPONE, SUP_WAITING, SUP_ACT_NONE,
	    NOW + SLOT_MIN_INTERVAL_MS },
	ILLEGAL(SUP_SPAWNED, SUP_EV_POSTPONE),
	ILLEGAL(SUP_READY, SUP_EV_POSTPONE),
	ILLEGAL(SUP_REPLACING, SUP_EV_POSTPONE),
	ILLEGAL(SUP_DRAINING, SUP_EV_POSTPONE),
	ILLEGAL(SUP_TERMINATING, SUP_EV_POSTPONE),
	ILLEGAL(SUP_KILLED, SUP_EV_POSTPONE),
	ILLEGAL(SUP_REAPED, SUP_EV_POSTPONE),
	/* ready: a process told to go before it said so goes all the same */
	ILLEGAL(SUP_WAITING, SUP_EV_READY),
	{ SUP_SPAWNED, SUP_EV_READY, SUP_READY, SUP_ACT_NONE, NONE },
	SAME(SUP_READY, SUP_EV_READY),
	SAME(SUP_REPLACING, SUP_EV_READY),
	SAME(SUP_DRAINING, SUP_EV_READY),
	SAME(SUP_TERMINATING, SUP_EV_READY),
	SAME(SUP_KILLED, SUP_EV_READY),
	ILLEGAL(SUP_REAPED, SUP_EV_READY),
	/* replace: only a serving worker */
	ILLEGAL(SUP_WAITING, SUP_EV_REPLACE),
	ILLEGAL(SUP_SPAWNED, SUP_EV_REPLACE),
	{ SUP_READY, SUP_EV_REPLACE, SUP_REPLACING, SUP_ACT_NONE,
	    NOW + SLOT_MIN_INTERVAL_MS + START_MS },
	ILLEGAL(SUP_REPLACING, SUP_EV_REPLACE),
	ILLEGAL(SUP_DRAINING, SUP_EV_REPLACE),
	ILLEGAL(SUP_TERMINATING, SUP_EV_REPLACE),
	ILLEGAL(SUP_KILLED, SUP_EV_REPLACE),
	ILLEGAL(SUP_REAPED, SUP_EV_REPLACE),
	/* drain: a slot with no process just ends */
	{ SUP_WAITING, SUP_EV_DRAIN, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_SPAWNED, SUP_EV_DRAIN, SUP_DRAINING, SUP_ACT_ASK_DRAIN,
	    NOW + GRACEFUL_MS },
	{ SUP_READY, SUP_EV_DRAIN, SUP_DRAINING, SUP_ACT_ASK_DRAIN,
	    NOW + GRACEFUL_MS },
	{ SUP_REPLACING, SUP_EV_DRAIN, SUP_DRAINING, SUP_ACT_ASK_DRAIN,
	    NOW + GRACEFUL_MS },
	SAME(SUP_DRAINING, SUP_EV_DRAIN),
	SAME(SUP_TERMINATING, SUP_EV_DRAIN),
	SAME(SUP_KILLED, SUP_EV_DRAIN),
	ILLEGAL(SUP_REAPED, SUP_EV_DRAIN),
	{ SUP_WAITING, SUP_EV_DRAIN_CLOSING, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_SPAWNED, SUP_EV_DRAIN_CLOSING, SUP_DRAINING,
	    SUP_ACT_ASK_DRAIN_CLOSING, NOW + GRACEFUL_MS },
	{ SUP_READY, SUP_EV_DRAIN_CLOSING, SUP_DRAINING,
	    SUP_ACT_ASK_DRAIN_CLOSING, NOW + GRACEFUL_MS },
	{ SUP_REPLACING, SUP_EV_DRAIN_CLOSING, SUP_DRAINING,
	    SUP_ACT_ASK_DRAIN_CLOSING, NOW + GRACEFUL_MS },
	SAME(SUP_DRAINING, SUP_EV_DRAIN_CLOSING),
	SAME(SUP_TERMINATING, SUP_EV_DRAIN_CLOSING),
	SAME(SUP_KILLED, SUP_EV_DRAIN_CLOSING),
	ILLEGAL(SUP_REAPED, SUP_EV_DRAIN_CLOSING),
	/* terminate: overrides a drain, never the reverse */
	{ SUP_WAITING, SUP_EV_TERMINATE, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_SPAWNED, SUP_EV_TERMINATE, SUP_TERMINATING, SUP_ACT_TERM,
	    NOW + KILL_MS },
	{ SUP_READY, SUP_EV_TERMINATE, SUP_TERMINATING, SUP_ACT_TERM,
	    NOW + KILL_MS },
	{ SUP_REPLACING, SUP_EV_TERMINATE, SUP_TERMINATING, SUP_ACT_TERM,
	    NOW + KILL_MS },
	{ SUP_DRAINING, SUP_EV_TERMINATE, SUP_TERMINATING, SUP_ACT_TERM,
	    NOW + KILL_MS },
	SAME(SUP_TERMINATING, SUP_EV_TERMINATE),
	SAME(SUP_KILLED, SUP_EV_TERMINATE),
	ILLEGAL(SUP_REAPED, SUP_EV_TERMINATE),
	/* kill (a broken channel): any process */
	ILLEGAL(SUP_WAITING, SUP_EV_KILL),
	{ SUP_SPAWNED, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	{ SUP_READY, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	{ SUP_REPLACING, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	{ SUP_DRAINING, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	{ SUP_TERMINATING, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL,
	    NOW + 1000 },
	{ SUP_KILLED, SUP_EV_KILL, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	ILLEGAL(SUP_REAPED, SUP_EV_KILL),
	/* deadline: every state's own (reach() left each one passed) */
	{ SUP_WAITING, SUP_EV_DEADLINE, SUP_WAITING, SUP_ACT_SPAWN, -1 },
	{ SUP_SPAWNED, SUP_EV_DEADLINE, SUP_KILLED, SUP_ACT_KILL_LATE,
	    NOW + 1000 },
	SAME(SUP_READY, SUP_EV_DEADLINE),
	{ SUP_REPLACING, SUP_EV_DEADLINE, SUP_REPLACING, SUP_ACT_WARN_LATE,
	    NOW + START_MS },
	{ SUP_DRAINING, SUP_EV_DEADLINE, SUP_TERMINATING, SUP_ACT_TERM_LATE,
	    NOW + KILL_MS },
	{ SUP_TERMINATING, SUP_EV_DEADLINE, SUP_KILLED, SUP_ACT_KILL,
	    NOW + 1000 },
	{ SUP_KILLED, SUP_EV_DEADLINE, SUP_KILLED, SUP_ACT_KILL, NOW + 1000 },
	SAME(SUP_REAPED, SUP_EV_DEADLINE),
	/*
	 * exited: spawned and ready come back (no back-off, but 1 s after
	 * their start, long past); asked to go, or replaced, they end.  The
	 * killed one was killed from ready (a broken channel): it comes back.
	 */
	ILLEGAL(SUP_WAITING, SUP_EV_EXITED),
	{ SUP_SPAWNED, SUP_EV_EXITED, SUP_WAITING, SUP_ACT_NONE, NOW },
	{ SUP_READY, SUP_EV_EXITED, SUP_WAITING, SUP_ACT_NONE, NOW },
	{ SUP_REPLACING, SUP_EV_EXITED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_DRAINING, SUP_EV_EXITED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_TERMINATING, SUP_EV_EXITED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_KILLED, SUP_EV_EXITED, SUP_WAITING, SUP_ACT_NONE, NOW },
	ILLEGAL(SUP_REAPED, SUP_EV_EXITED),
	/* crashed: the same, but a death before ready backs off */
	ILLEGAL(SUP_WAITING, SUP_EV_CRASHED),
	{ SUP_SPAWNED, SUP_EV_CRASHED, SUP_WAITING, SUP_ACT_NONE,
	    NOW + SLOT_MIN_INTERVAL_MS },
	{ SUP_READY, SUP_EV_CRASHED, SUP_WAITING, SUP_ACT_NONE, NOW },
	{ SUP_REPLACING, SUP_EV_CRASHED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_DRAINING, SUP_EV_CRASHED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_TERMINATING, SUP_EV_CRASHED, SUP_REAPED, SUP_ACT_NONE, NONE },
	{ SUP_KILLED, SUP_EV_CRASHED, SUP_WAITING, SUP_ACT_NONE, NOW },
	ILLEGAL(SUP_REAPED, SUP_EV_CRASHED),
	/* drop: only a slot without a process */
	{ SUP_WAITING, SUP_EV_DROP, SUP_REAPED, SUP_ACT_NONE, NONE },
	ILLEGAL(SUP_SPAWNED, SUP_EV_DROP),
	ILLEGAL(SUP_READY, SUP_EV_DROP),
	ILLEGAL(SUP_REPLACING, SUP_EV_DROP),
	ILLEGAL(SUP_DRAINING, SUP_EV_DROP),
	ILLEGAL(SUP_TERMINATING, SUP_EV_DROP),
	ILLEGAL(SUP_KILLED, SUP_EV_DROP),
	ILLEGAL(SUP_REAPED, SUP_EV_DROP),
};

static void
test_every_transition(void **state)
{
	struct slot	 s, before;
	size_t		 i, n = sizeof(cells) / sizeof(cells[0]);
	int		 seen[SUP_REAPED + 1][SUP_EV_DROP + 1];

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		const struct cell *c = &cells[i];

		enum sup_action	 a;

		reach(&s, c->from);
		before = s;
		a = step(&s, c->ev, NOW);
		if (a != c->act || s.state != c->to || s.deadline !=
		    (c->deadline == -1 ? before.deadline : c->deadline))
			fail_msg("%s + %s: got %s, action %d, deadline %lld",
			    sup_state_name(c->from), sup_event_name(c->ev),
			    sup_state_name(s.state), (int)a,
			    (long long)s.deadline);
		if (c->act == SUP_ACT_ILLEGAL)
			assert_memory_equal(&s, &before, sizeof(s));
		/* Only a slot with a process may be signalled. */
		if (c->act == SUP_ACT_KILL || c->act == SUP_ACT_TERM ||
		    c->act == SUP_ACT_KILL_LATE || c->act == SUP_ACT_TERM_LATE)
			assert_true(sup_has_process(&s));
		/* A slot that ends forgets its process. */
		if (c->to == SUP_WAITING || c->to == SUP_REAPED)
			assert_false(sup_has_process(&s));
		seen[c->from][c->ev]++;
	}
	/* The table is whole: every state meets every event, once. */
	for (i = 0; i <= SUP_REAPED; i++) {
		size_t	 e;

		for (e = 0; e <= SUP_EV_DROP; e++)
			assert_int_equal(seen[i][e], 1);
	}
}

/* Before its deadline, a deadline event changes nothing. */
static void
test_deadline_not_yet(void **state)
{
	struct slot	 s, before;
	int		 st;

	(void)state;
	for (st = SUP_WAITING; st <= SUP_REAPED; st++) {
		reach(&s, (enum sup_state)st);
		before = s;
		if (s.deadline != NONE)
			assert_int_equal(step(&s, SUP_EV_DEADLINE,
			    s.deadline - 1), SUP_ACT_NONE);
		assert_memory_equal(&s, &before, sizeof(s));
		/* Every state a process can linger in has a deadline. */
		if (st != SUP_READY && st != SUP_REAPED)
			assert_true(s.deadline != NONE);
	}
}

/*
 * A whole life on the clock: started, ready, replaced, drained, sent
 * SIGTERM and SIGKILL at each deadline, reaped.
 */
static void
test_life_of_a_stopped_worker(void **state)
{
	struct slot	 s;
	int64_t		 t = 1000;

	(void)state;
	reach(&s, SUP_WAITING);
	s.deadline = t;
	assert_int_equal(step(&s, SUP_EV_DEADLINE, t), SUP_ACT_SPAWN);
	start(&s, 500, t);
	assert_true(s.respawn);
	assert_int_equal(step(&s, SUP_EV_READY, t += 300), SUP_ACT_NONE);
	assert_true(s.served);
	assert_true(sup_serving(&s));
	assert_true(sup_staying(&s));
	assert_int_equal(step(&s, SUP_EV_REPLACE, t += 60000), SUP_ACT_NONE);
	assert_true(sup_serving(&s));
	assert_false(sup_staying(&s));
	assert_false(s.respawn);
	assert_int_equal(step(&s, SUP_EV_DRAIN, t += 1500), SUP_ACT_ASK_DRAIN);
	assert_false(sup_serving(&s));
	assert_int_equal(step(&s, SUP_EV_DEADLINE, t + GRACEFUL_MS - 1),
	    SUP_ACT_NONE);
	assert_int_equal(step(&s, SUP_EV_DEADLINE, t += GRACEFUL_MS),
	    SUP_ACT_TERM_LATE);
	assert_int_equal(s.state, SUP_TERMINATING);
	assert_int_equal(step(&s, SUP_EV_DEADLINE, t += KILL_MS),
	    SUP_ACT_KILL);
	assert_int_equal(s.state, SUP_KILLED);
	/* Stuck in the kernel: SIGKILL again, each second, until reaped. */
	assert_int_equal(step(&s, SUP_EV_DEADLINE, t += 1000), SUP_ACT_KILL);
	assert_int_equal(s.deadline, t + 1000);
	die(&s, true, t += 10);
	assert_int_equal(s.state, SUP_REAPED);
	assert_int_equal(s.pid, -1);
	assert_int_equal(s.deadline, NONE);
}

/*
 * A worker stuck in process_init long after the first start: killed at
 * its deadline, started again with back-off, each time with a deadline.
 */
static void
test_start_overdue_backs_off(void **state)
{
	struct slot	 s;
	int64_t		 t = 500000;
	int		 i;

	(void)state;
	reach(&s, SUP_WAITING);
	for (i = 0; i < 3; i++) {
		start(&s, 600 + i, t);
		assert_int_equal(step(&s, SUP_EV_DEADLINE, t + START_MS),
		    SUP_ACT_KILL_LATE);
		assert_int_equal(s.state, SUP_KILLED);
		assert_true(s.respawn);
		die(&s, true, t += START_MS + 5);
		assert_int_equal(s.state, SUP_WAITING);
		assert_int_equal(s.backoff_ms, SLOT_MIN_INTERVAL_MS << i);
		assert_int_equal(s.deadline, t + s.backoff_ms);
		t = s.deadline;
	}
	/* Asked to stop while killed: it is not started again. */
	start(&s, 700, t);
	(void)step(&s, SUP_EV_DEADLINE, t + START_MS);
	assert_int_equal(step(&s, SUP_EV_TERMINATE, t + START_MS + 1),
	    SUP_ACT_NONE);
	die(&s, true, t + START_MS + 2);
	assert_int_equal(s.state, SUP_REAPED);
}

/* A new process in a slot starts with nothing of the last one. */
static void
test_spawn_clears(void **state)
{
	struct slot	 s;

	(void)state;
	reach(&s, SUP_SPAWNED);
	s.retire_pending = RETIRE_MAX_REQUESTS;
	(void)step(&s, SUP_EV_READY, 91000);
	s.idle_since = 5;
	s.last_requests = 9;
	die(&s, true, 95000);
	assert_int_equal(s.state, SUP_WAITING);
	assert_false(s.served);
	start(&s, 43, 96000);
	assert_int_equal(s.retire_pending, 0);
	assert_int_equal(s.idle_since, 0);
	assert_int_equal(s.last_requests, 0);
	assert_false(s.served);
	assert_true(s.respawn);
}

static char		 name_a[] = "a", name_b[] = "b";
static struct pool_conf	 pools[2];
static struct conf	 conf = { .pools = pools, .npools = 2 };

static int
setup(void **state)
{
	struct slot_table	*t;
	size_t			 i;
	int			 p;

	pools[0].name = name_a;
	pools[0].processes = 2;
	pools[1].name = name_b;
	pools[1].processes = 3;
	t = test_malloc(sizeof(*t));
	slot_table_init(t);
	for (i = 0; i < conf.npools; i++)
		for (p = 0; p < conf.pools[i].processes; p++)
			(void)slot_add(t, i, 1, 0);
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

	start(&t->v[3], 4242, 1000);
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

	start(s, 100, 1000);
	(void)step(s, SUP_EV_READY, 1100);	/* it served, then crashed */
	die(s, true, 1000 + 3600 * 1000);
	assert_false(sup_looping(s));
	assert_int_equal(s->state, SUP_WAITING);
	assert_int_equal(s->backoff_ms, 0);
	assert_true(s->deadline <= 1000 + 3600 * 1000);
	assert_int_equal(s->pid, -1);
	assert_int_equal(slot_by_pid(t, 100), NULL);
}

static void
test_min_interval_between_starts(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[0];

	/* A clean exit 200 ms after start: no back-off, but 1 s spacing. */
	start(s, 100, 50000);
	die(s, false, 50200);
	assert_int_equal(s->backoff_ms, 0);
	assert_int_equal(s->deadline, 50000 + SLOT_MIN_INTERVAL_MS);
}

static void
test_backoff_grows_and_caps(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[1];
	int64_t			 now = 100000, prev = 0;
	int			 i;

	for (i = 0; i < 12; i++) {
		start(s, 200 + i, now);
		now += 10;		/* dies 10 ms after start */
		die(s, true, now);
		assert_true(s->backoff_ms >= prev);
		assert_true(s->backoff_ms <= SLOT_BACKOFF_MAX_MS);
		assert_true(s->deadline >= now + s->backoff_ms);
		prev = s->backoff_ms;
		now = s->deadline;
	}
	assert_int_equal(s->backoff_ms, SLOT_BACKOFF_MAX_MS);
	/* A worker that then becomes ready resets the back-off. */
	start(s, 999, now);
	(void)step(s, SUP_EV_READY, now + 1);
	die(s, true, now + 5);
	assert_int_equal(s->backoff_ms, 0);
	assert_int_equal(s->early_deaths, 0);
	/* ... yet never restarts sooner than 1 s after its start. */
	assert_int_equal(s->deadline, now + SLOT_MIN_INTERVAL_MS);
}

static void
test_backoff_doubles(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[1];

	start(s, 1, 0);
	die(s, true, 5);
	assert_int_equal(s->backoff_ms, 1000);
	start(s, 2, s->deadline);
	die(s, true, s->started_ms + 5);
	assert_int_equal(s->backoff_ms, 2000);
	start(s, 3, s->deadline);
	die(s, true, s->started_ms + 5);
	assert_int_equal(s->backoff_ms, 4000);
}

static void
test_death_before_ready_backs_off_however_late(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[3];

	/* A process_init that fails after a minute still counts. */
	start(s, 5, 0);
	die(s, true, 60000);
	assert_int_equal(s->backoff_ms, SLOT_MIN_INTERVAL_MS);
	assert_int_equal(s->early_deaths, 1);
	/* A clean exit before ready (not abnormal) does not. */
	start(s, 6, 70000);
	die(s, false, 70010);
	assert_int_equal(s->backoff_ms, 0);
}

static void
test_crash_loop_detected(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s = &t->v[2];
	int64_t			 now = 0;
	int			 i;

	for (i = 0; i < SLOT_LOOP_COUNT; i++) {
		assert_false(sup_looping(s));
		start(s, 10 + i, now);
		die(s, true, now + 1);
		/* Keep deaths inside the window regardless of back-off. */
		now += 1000;
	}
	assert_true(sup_looping(s));
}

static void
test_next_deadline_picks_earliest(void **state)
{
	struct slot_table	*t = *state;
	size_t			 i;

	for (i = 0; i < t->n; i++) {
		start(&t->v[i], (pid_t)(i + 1), 0);
		(void)step(&t->v[i], SUP_EV_READY, 1);
	}
	/* Ready workers have no deadline of the master's. */
	assert_int_equal(slot_next_deadline(t, 0), -1);
	(void)step(&t->v[1], SUP_EV_DRAIN, 2000);	/* 9000 */
	(void)step(&t->v[3], SUP_EV_TERMINATE, 1000);	/* 4000 */
	assert_int_equal(slot_next_deadline(t, 1000), 3000);
	assert_int_equal(slot_next_deadline(t, 9000), 0);
	die(&t->v[3], false, 5000);
	assert_int_equal(slot_next_deadline(t, 6000), 3000);
}

static void
test_add_and_compact(void **state)
{
	struct slot_table	*t = *state;
	struct slot		*s;

	/* A reload adds a generation's slots, due as asked. */
	s = slot_add(t, 1, 2, 7000);
	assert_int_equal(t->n, 6);
	assert_int_equal(s->state, SUP_WAITING);
	assert_int_equal(s->deadline, 7000);
	assert_int_equal(s->pid, -1);
	assert_int_equal(s->gen, 2);
	assert_int_equal(slot_next_deadline(t, 0), 0);
	/* Ended slots go, the order of the others stays. */
	(void)step(&t->v[0], SUP_EV_DROP, 0);
	(void)step(&t->v[4], SUP_EV_DRAIN, 0);
	slot_table_compact(t);
	assert_int_equal(t->n, 4);
	assert_int_equal(t->v[0].pool, 0);
	assert_int_equal(t->v[1].pool, 1);
	assert_int_equal(t->v[3].gen, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_deadline_not_yet),
		cmocka_unit_test(test_life_of_a_stopped_worker),
		cmocka_unit_test(test_start_overdue_backs_off),
		cmocka_unit_test(test_spawn_clears),
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
		    test_next_deadline_picks_earliest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_and_compact, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
