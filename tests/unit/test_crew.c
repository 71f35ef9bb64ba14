/*
 * Unit tests for crew.c: whose turn it is to wait for work, with real
 * threads standing for a worker's acceptors.  A thread that must stay
 * idle is checked to be still waiting; one that must be woken is given
 * WAIT_MS to return (only a failure waits that long), then a stop frees
 * it, so a failing test ends rather than hangs.
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pooled.h"

#define WAIT_MS		5000

/* A thread taking a turn, as an acceptor that served before. */
struct taker {
	struct crew	*c;
	size_t		 who;
	pthread_t	 t;
	atomic_int	 turn;		/* -1 until crew_lead returned */
};

static void *
take_turn(void *arg)
{
	struct taker	*k = arg;

	/* looked: it may not look, so it waits as a follower. */
	atomic_store(&k->turn, (int)crew_lead(k->c, k->who, false, true, 0));
	return NULL;
}

static void
taker_start(struct taker *k, struct crew *c, size_t who)
{
	k->c = c;
	k->who = who;
	atomic_store(&k->turn, -1);
	assert_int_equal(pthread_create(&k->t, NULL, take_turn, k), 0);
}

static int
taker_join(struct taker *k)
{
	assert_int_equal(pthread_join(k->t, NULL), 0);
	return atomic_load(&k->turn);
}

static void
pause_ms(long ms)
{
	struct timespec	 ts = { 0, ms * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Wait until n threads wait for work (a leader counts). */
static void
wait_idle(struct crew *c, size_t n)
{
	int	 i;

	for (i = 0; i < WAIT_MS && crew_idle(c) != n; i++)
		pause_ms(1);
	assert_int_equal(crew_idle(c), n);
}

/* The turn k was given, or -1 if it is still waiting after WAIT_MS. */
static int
wait_turn(struct taker *k)
{
	int	 i;

	for (i = 0; i < WAIT_MS && atomic_load(&k->turn) == -1; i++)
		pause_ms(1);
	return atomic_load(&k->turn);
}

static bool
wake_fd_readable(struct crew *c)
{
	struct pollfd	 p = { .fd = crew_wake_fd(c), .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/* The first thread leads; a second one looks without waiting. */
static void
test_first_leads_next_looks(void **state)
{
	struct crew	*c = crew_new(2, 2);

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	assert_true(crew_leading(c));
	assert_int_equal(crew_lead(c, 1, false, false, 0), CREW_LOOK);
	/* It looked and found nothing: now it is idle, not a second leader. */
	crew_stop(c);
	crew_free(c);
}

/* A leader taking work makes the idle thread the next leader. */
static void
test_leader_hands_on(void **state)
{
	struct crew	*c = crew_new(2, 2);
	struct taker	 b;

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	taker_start(&b, c, 1);
	wait_idle(c, 2);
	pause_ms(20);
	assert_int_equal(atomic_load(&b.turn), -1);
	crew_serve(c, 0, true, 0);
	assert_int_equal(wait_turn(&b), CREW_LEAD);
	assert_true(crew_leading(c));
	crew_stop(c);
	(void)taker_join(&b);
	crew_free(c);
}

/*
 * No successor while another thread is on its way back (it finished a
 * request and will lead); one, once that thread is known never to come
 * (its thread_init failed).
 */
static void
test_no_successor_while_one_is_coming(void **state)
{
	struct crew	*c = crew_new(3, 3);
	struct taker	 b;

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	taker_start(&b, c, 1);
	wait_idle(c, 2);
	/* Thread 2 has not come yet: it will lead. */
	crew_serve(c, 0, true, 0);
	assert_false(crew_leading(c));
	pause_ms(20);
	assert_int_equal(atomic_load(&b.turn), -1);
	/* Thread 0 finishes and leads again; thread 2 never comes. */
	assert_int_equal(crew_lead(c, 0, true, false, 0), CREW_LEAD);
	crew_leave(c);
	crew_serve(c, 0, true, 0);
	assert_int_equal(wait_turn(&b), CREW_LEAD);
	crew_stop(c);
	(void)taker_join(&b);
	crew_free(c);
}

/*
 * With base requests in hand a leader holds arrivals back and wakes the
 * watcher; a request that computes (its thread runnable) does not open
 * the worker up for a while, but does once it is long.
 */
static void
test_hold_and_quick_request(void **state)
{
	struct crew	*c = crew_new(4, 1);
	struct taker	 b;

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	taker_start(&b, c, 1);
	wait_idle(c, 2);
	assert_false(wake_fd_readable(c));
	crew_serve(c, 0, true, 0);
	assert_false(crew_leading(c));
	assert_true(wake_fd_readable(c));
	assert_int_equal(crew_watch(c, 1), 1);
	assert_false(wake_fd_readable(c));
	/* In hand for 50 ms, but this thread is running. */
	assert_int_equal(crew_watch(c, 50), 1);
	pause_ms(20);
	assert_int_equal(atomic_load(&b.turn), -1);
	/* Done: the next turn is its own, not the idle thread's. */
	assert_int_equal(crew_lead(c, 0, true, false, 51), CREW_LEAD);
	assert_int_equal(crew_watch(c, 52), -1);
	/* Held again, by a request that computes for a minute: open. */
	crew_serve(c, 0, true, 100);
	assert_int_equal(crew_watch(c, 101), 1);
	assert_int_equal(atomic_load(&b.turn), -1);
	assert_int_equal(crew_watch(c, 60100), -1);
	assert_int_equal(wait_turn(&b), CREW_LEAD);
	crew_stop(c);
	(void)taker_join(&b);
	crew_free(c);
}

/*
 * A thread that leads, serves when told (go), then sleeps in a read as a
 * slow handler does, until told again.
 */
struct sleeper {
	struct crew	*c;
	int		 pipe[2];
	pthread_t	 t;
};

static void *
serve_and_sleep(void *arg)
{
	struct sleeper	*s = arg;
	char		 byte;

	if (crew_lead(s->c, 0, false, false, 0) != CREW_LEAD)
		return NULL;
	(void)read(s->pipe[0], &byte, 1);
	crew_serve(s->c, 0, true, 0);
	(void)read(s->pipe[0], &byte, 1);
	return NULL;
}

/* A request in hand whose thread sleeps opens the worker up. */
static void
test_sleeping_request_opens(void **state)
{
	struct crew	*c = crew_new(4, 1);
	struct sleeper	 s = { .c = c };
	struct taker	 b;
	int		 i;

	(void)state;
	assert_int_equal(pipe(s.pipe), 0);
	assert_int_equal(pthread_create(&s.t, NULL, serve_and_sleep, &s), 0);
	wait_idle(c, 1);
	taker_start(&b, c, 1);
	wait_idle(c, 2);
	/* Held: nobody leads, one request in hand. */
	assert_int_equal(write(s.pipe[1], "g", 1), 1);
	for (i = 0; i < WAIT_MS && !wake_fd_readable(c); i++)
		pause_ms(1);
	assert_int_equal(crew_idle(c), 1);
	/* Not yet past CREW_STUCK_MS: held. */
	assert_int_equal(crew_watch(c, 1), 1);
	assert_int_equal(atomic_load(&b.turn), -1);
	/* Past it, once the sleeper sleeps: the idle thread leads. */
	for (i = 0; i < WAIT_MS && atomic_load(&b.turn) == -1; i++) {
		(void)crew_watch(c, 100);
		pause_ms(1);
	}
	assert_int_equal(atomic_load(&b.turn), CREW_LEAD);
	crew_stop(c);
	(void)taker_join(&b);
	assert_int_equal(write(s.pipe[1], "x", 1), 1);
	assert_int_equal(pthread_join(s.t, NULL), 0);
	close(s.pipe[0]);
	close(s.pipe[1]);
	crew_free(c);
}

/*
 * A sampled request whose thread slept while serving it (it waited for
 * something) opens the worker up at its end: the idle thread leads.
 */
static void
test_request_that_slept_opens(void **state)
{
	struct crew	*c = crew_new(2, 1);
	struct taker	 b;
	int		 i;

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	taker_start(&b, c, 1);
	wait_idle(c, 2);
	/* One request in a few is asked: eight are enough. */
	for (i = 0; i < 8 && atomic_load(&b.turn) == -1; i++) {
		crew_serve(c, 0, true, 0);
		pause_ms(2);
		if (crew_lead(c, 0, true, false, 0) != CREW_LEAD)
			break;
	}
	assert_int_equal(wait_turn(&b), CREW_LEAD);
	crew_stop(c);
	(void)taker_join(&b);
	crew_free(c);
}

/* A stop lets every idle thread into the epoll set. */
static void
test_stop_releases_all(void **state)
{
	struct crew	*c = crew_new(3, 1);
	struct taker	 b, d;

	(void)state;
	assert_int_equal(crew_lead(c, 0, false, false, 0), CREW_LEAD);
	taker_start(&b, c, 1);
	taker_start(&d, c, 2);
	wait_idle(c, 3);
	crew_stop(c);
	assert_int_equal(taker_join(&b), CREW_LEAD);
	assert_int_equal(taker_join(&d), CREW_LEAD);
	/* Stopping, anyone may wait there at once. */
	assert_int_equal(crew_lead(c, 0, true, true, 0), CREW_LEAD);
	crew_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_leads_next_looks),
		cmocka_unit_test(test_leader_hands_on),
		cmocka_unit_test(test_no_successor_while_one_is_coming),
		cmocka_unit_test(test_hold_and_quick_request),
		cmocka_unit_test(test_sleeping_request_opens),
		cmocka_unit_test(test_request_that_slept_opens),
		cmocka_unit_test(test_stop_releases_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
