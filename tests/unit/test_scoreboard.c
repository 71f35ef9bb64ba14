/*
 * Unit tests for scoreboard.c: layout and bounds, claiming and freeing
 * rows, what a reader gets back, and what it gets when a compromised
 * worker has scribbled over the whole segment; then a writer in another
 * process and one in another thread racing a reader, whose every
 * successful copy must be consistent.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
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

#define NOW		1000000		/* the readers' clock, in ms */
#define RACE_WRITES	20000
#define RACE_READS	1000
#define RACE_WRITES_MAX	(100 * RACE_WRITES)	/* a failed reader */

static struct sb_row	 row;
static struct sb_thread	 th[8];

/* Run fn in a child process; its exit status, or -1 when it crashed. */
static int
in_child(int (*fn)(struct scoreboard *), struct scoreboard *sb)
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0)
		_exit(fn(sb));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A claimed and started row, as the master makes one around a fork. */
static int
start_row(struct scoreboard *sb, pid_t pid, uint32_t gen, int64_t now)
{
	int	 r;

	r = sb_row_claim(sb);
	if (r != -1)
		sb_row_start(sb, r, pid, gen, now);
	return r;
}

/* A string a reader may hand out: terminated, printable, zero-padded. */
static bool
clean(const char *s, size_t size)
{
	size_t	 i, n;

	if ((n = strnlen(s, size)) == size)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	for (; i < size; i++)
		if (s[i] != '\0')
			return false;
	return true;
}

/* What every successful read must look like, whatever was written. */
static bool
valid_copy(const struct sb_row *r, const struct sb_thread *t,
    unsigned int n)
{
	unsigned int	 i;

	if (r->pid < 0 || r->started_ms < 0 || r->started_ms > NOW ||
	    r->rss_kb > UINT64_MAX / 1024)
		return false;
	for (i = 0; i < n; i++) {
		if (t[i].state >= SB_NSTATES ||
		    !clean(t[i].method, sizeof(t[i].method)) ||
		    !clean(t[i].uri, sizeof(t[i].uri)) ||
		    t[i].start_ms < 0 || t[i].start_ms > NOW)
			return false;
		if (t[i].state == SB_EMPTY && (t[i].requests != 0 ||
		    t[i].start_ms != 0 || t[i].uri[0] != '\0'))
			return false;
		if (r->pid == 0 && t[i].state != SB_EMPTY)
			return false;
	}
	return true;
}

/* The thread slot holding uri in the segment, found by its contents. */
static struct sb_thread *
find_slot(struct scoreboard *sb, const char *uri)
{
	size_t	 len, n = strlen(uri) + 1;
	char	*base, *p;

	base = sb_segment(sb, &len);
	p = memmem(base, len, uri, n);
	assert_non_null(p);
	return (struct sb_thread *)(void *)(p -
	    offsetof(struct sb_thread, uri));
}

static void
test_create_rejects_bad_sizes(void **state)
{
	(void)state;
	assert_null(sb_create(0, 4));
	assert_null(sb_create(4, 0));
	assert_null(sb_create((unsigned int)INT_MAX + 1, 1));
	/* rows x threads x slot size does not fit in a size_t */
	assert_null(sb_create(INT_MAX, UINT_MAX));
	sb_destroy(NULL);
}

static void
test_layout_and_bounds(void **state)
{
	struct scoreboard	*sb;
	char			*copy, *seg;
	size_t			 len;
	int			 r;

	(void)state;
	sb = sb_create(3, 4);
	assert_non_null(sb);
	assert_int_equal(sb_rows(sb), 3);
	assert_int_equal(sb_threads(sb), 4);
	seg = sb_segment(sb, &len);
	assert_true(len >= 3 * sizeof(struct sb_row) +
	    12 * sizeof(struct sb_thread));
	assert_int_equal(len % 64, 0);
	assert_memory_equal(seg, "pooledsb", 8);

	r = start_row(sb, 100, 1, 10);
	assert_int_equal(r, 0);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, seg, len);

	/* Out of range: ignored, the segment untouched. */
	sb_thread_set(sb, -1, 0, SB_RUNNING, 1, "GET", "/x");
	sb_thread_set(sb, 3, 0, SB_RUNNING, 1, "GET", "/x");
	sb_thread_set(sb, INT_MAX, 0, SB_RUNNING, 1, "GET", "/x");
	sb_thread_set(sb, 0, 4, SB_RUNNING, 1, "GET", "/x");
	sb_thread_set(sb, 0, UINT_MAX, SB_RUNNING, 1, "GET", "/x");
	sb_thread_set(sb, 0, 0, SB_NSTATES, 1, "GET", "/x");
	sb_thread_set(sb, 0, 0, (enum sb_state)-1, 1, "GET", "/x");
	sb_thread_done(sb, -1, 0, 200, 1);
	sb_thread_done(sb, 0, 4, 200, 1);
	sb_thread_done(sb, 3, 0, 200, 1);
	sb_row_set_rss(sb, -1, 1);
	sb_row_set_rss(sb, 3, 1);
	sb_row_start(sb, 3, 200, 1, 10);
	sb_row_start(sb, -1, 200, 1, 10);
	sb_row_free(sb, 3);
	sb_row_free(sb, -1);
	sb_row_free(sb, INT_MIN);
	assert_memory_equal(copy, seg, len);
	free(copy);

	assert_false(sb_read_row(sb, -1, NOW, &row, th));
	assert_false(sb_read_row(sb, 3, NOW, &row, th));
	assert_false(sb_read_row(sb, INT_MAX, NOW, &row, th));
	assert_false(sb_read_row(NULL, 0, NOW, &row, th));
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(row.pid, 100);
	sb_destroy(sb);
}

static int
child_sees_row1(struct scoreboard *sb)
{
	if (!sb_read_row(sb, 1, NOW, &row, th))
		return 1;
	if (row.pid != 200 || row.gen != 7 || row.started_ms != 1000)
		return 2;
	if (!sb_read_row(sb, 0, NOW, &row, th) || row.pid != 0)
		return 3;
	/* Only the master claims rows. */
	if (sb_row_claim(sb) != -1)
		return 4;
	return 0;
}

static void
test_claim_and_free(void **state)
{
	struct scoreboard	*sb;
	unsigned int		 i;

	(void)state;
	sb = sb_create(3, 2);
	assert_non_null(sb);
	assert_int_equal(sb_row_claim(sb), 0);
	assert_int_equal(sb_row_claim(sb), 1);
	assert_int_equal(sb_row_claim(sb), 2);
	assert_int_equal(sb_row_claim(sb), -1);
	sb_row_free(sb, 1);
	assert_int_equal(sb_row_claim(sb), 1);

	/* Claimed but not started: reads as free. */
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 0);
	/* A pid that cannot be one is refused. */
	sb_row_start(sb, 1, 0, 7, 1000);
	sb_row_start(sb, 1, -5, 7, 1000);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 0);

	/* The child may publish its rss before the master records it. */
	sb_row_set_rss(sb, 1, 4096);
	sb_row_start(sb, 1, 200, 7, 1000);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 200);
	assert_int_equal(row.gen, 7);
	assert_int_equal(row.started_ms, 1000);
	assert_int_equal(row.rss_kb, 4096);
	for (i = 0; i < 2; i++)
		assert_int_equal(th[i].state, SB_EMPTY);
	/* A worker sees the row through the segment. */
	assert_int_equal(in_child(child_sees_row1, sb), 0);

	/* A row not claimed cannot be started. */
	sb_row_free(sb, 2);
	sb_row_start(sb, 2, 300, 1, 1000);
	assert_true(sb_read_row(sb, 2, NOW, &row, th));
	assert_int_equal(row.pid, 0);

	/* Freed: the row and its threads are cleared. */
	sb_thread_set(sb, 1, 1, SB_RUNNING, 900, "GET", "/busy");
	sb_row_free(sb, 1);
	sb_row_free(sb, 1);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 0);
	assert_int_equal(row.rss_kb, 0);
	assert_int_equal(th[1].state, SB_EMPTY);
	assert_string_equal(th[1].uri, "");
	sb_row_start(sb, 1, 201, 8, 2000);	/* freed: not claimed */
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 0);
	assert_int_equal(sb_row_claim(sb), 1);
	sb_row_start(sb, 1, 201, 8, 2000);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 201);
	assert_int_equal(th[1].state, SB_EMPTY);
	assert_int_equal(th[1].requests, 0);
	sb_destroy(sb);
}

static void
test_set_and_read(void **state)
{
	struct scoreboard	*sb;

	(void)state;
	sb = sb_create(2, 3);
	assert_non_null(sb);
	assert_int_equal(start_row(sb, 100, 3, 500), 0);
	sb_thread_set(sb, 0, 0, SB_IDLE, 0, NULL, NULL);
	sb_thread_set(sb, 0, 1, SB_RUNNING, 5000, "POST", "/api?x=1");
	sb_row_set_rss(sb, 0, 2048);
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(row.pid, 100);
	assert_int_equal(row.gen, 3);
	assert_int_equal(row.started_ms, 500);
	assert_int_equal(row.rss_kb, 2048);
	assert_int_equal(th[0].state, SB_IDLE);
	assert_int_equal(th[1].state, SB_RUNNING);
	assert_int_equal(th[1].start_ms, 5000);
	assert_string_equal(th[1].method, "POST");
	assert_string_equal(th[1].uri, "/api?x=1");
	assert_int_equal(th[2].state, SB_EMPTY);
	assert_true(valid_copy(&row, th, 3));

	sb_thread_set(sb, 0, 1, SB_WRITING, 5000, "POST", "/api?x=1");
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[1].state, SB_WRITING);
	sb_thread_done(sb, 0, 1, 404, 3000);
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[1].state, SB_IDLE);
	assert_int_equal(th[1].requests, 1);
	/* 3 ms: the bucket up to 5 ms; a 4xx. */
	assert_int_equal(th[1].hist[2], 1);
	assert_int_equal(th[1].hist[1] + th[1].hist[3], 0);
	assert_int_equal(th[1].duration_us, 3000);
	assert_int_equal(th[1].status[3], 1);
	assert_int_equal(th[1].start_ms, 0);
	assert_string_equal(th[1].uri, "");
	assert_string_equal(th[1].method, "");
	sb_thread_set(sb, 0, 1, SB_READING, 5500, NULL, NULL);
	/* Past 60 s: the last bucket; status unknown: no class. */
	sb_thread_done(sb, 0, 1, 0, 61000000);
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[1].requests, 2);
	assert_int_equal(th[1].hist[SB_HIST_N - 1], 1);
	assert_int_equal(th[1].status[0] + th[1].status[1] +
	    th[1].status[2] + th[1].status[3] + th[1].status[4], 1);
	/* Exactly a bound is in its bucket; 1 ms is the first. */
	sb_thread_done(sb, 0, 1, 200, 1000);
	sb_thread_done(sb, 0, 1, 599, 1001);
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[1].hist[0], 1);
	assert_int_equal(th[1].hist[1], 1);
	assert_int_equal(th[1].status[1], 1);
	assert_int_equal(th[1].status[4], 1);

	/* Times: a start in the future is now, a negative one is 0. */
	sb_thread_set(sb, 0, 2, SB_RUNNING, 9000, "GET", "/");
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[2].start_ms, 6000);
	sb_thread_set(sb, 0, 2, SB_RUNNING, -70, "GET", "/");
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[2].start_ms, 0);
	assert_true(sb_read_row(sb, 0, 100, &row, th));
	assert_int_equal(row.started_ms, 100);

	/* An idle thread has no request to show. */
	sb_thread_set(sb, 0, 2, SB_IDLE, 123, "GET", "/old");
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[2].start_ms, 0);
	assert_string_equal(th[2].uri, "");

	/* Rows do not overlap. */
	assert_int_equal(start_row(sb, 101, 3, 500), 1);
	sb_thread_set(sb, 1, 0, SB_RUNNING, 10, "GET", "/row1");
	assert_true(sb_read_row(sb, 0, 6000, &row, th));
	assert_int_equal(th[0].state, SB_IDLE);
	assert_true(sb_read_row(sb, 1, 6000, &row, th));
	assert_string_equal(th[0].uri, "/row1");
	assert_int_equal(th[1].state, SB_EMPTY);
	sb_destroy(sb);
}

static void
test_truncation_and_cleaning(void **state)
{
	struct scoreboard	*sb;
	char			 uri[1000], want[SB_URI_MAX];

	(void)state;
	sb = sb_create(1, 1);
	assert_non_null(sb);
	assert_int_equal(start_row(sb, 100, 1, 0), 0);

	memset(uri, 'u', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	uri[0] = '/';
	sb_thread_set(sb, 0, 0, SB_RUNNING, 1, "AVERYLONGMETHODNAMEINDEED",
	    uri);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_string_equal(th[0].method, "AVERYLONGMETHOD");
	assert_int_equal(strlen(th[0].uri), SB_URI_MAX - 1);
	assert_memory_equal(th[0].uri, uri, SB_URI_MAX - 1);

	/* Exactly the room there is, then one more. */
	memcpy(want, uri, SB_URI_MAX - 1);
	want[SB_URI_MAX - 1] = '\0';
	sb_thread_set(sb, 0, 0, SB_RUNNING, 1, "GET", want);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_string_equal(th[0].uri, want);
	uri[SB_URI_MAX] = '\0';
	sb_thread_set(sb, 0, 0, SB_RUNNING, 1, "GET", uri);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_string_equal(th[0].uri, want);

	/* A shorter URI after a longer one leaves no tail behind. */
	sb_thread_set(sb, 0, 0, SB_RUNNING, 1, "GET", "/s");
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_string_equal(th[0].uri, "/s");
	assert_true(clean(th[0].uri, sizeof(th[0].uri)));

	/* Control bytes and non-ASCII become '?'. */
	sb_thread_set(sb, 0, 0, SB_RUNNING, 1, "G\tT",
	    "/a\001b\177c\n\xc3\xa9");
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_string_equal(th[0].method, "G?T");
	assert_string_equal(th[0].uri, "/a?b?c???");
	sb_destroy(sb);
}

/* Fill the segment the way a compromised worker could. */
static void
scribble(struct scoreboard *sb, int byte, unsigned int seed)
{
	unsigned char	*p;
	size_t		 i, len;

	p = sb_segment(sb, &len);
	if (byte >= 0) {
		memset(p, byte, len);
		return;
	}
	srand(seed);
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)rand();
}

static int
child_reads_scribbled(struct scoreboard *sb)
{
	unsigned int	 i;

	/* A worker has nothing but the segment: validated, not trusted. */
	if (!sb_read_row(sb, 1, NOW, &row, th))
		return 1;
	if (row.pid != 0x42424242 || row.gen != 0x42424242)
		return 2;
	if (row.started_ms != NOW || row.rss_kb != UINT64_MAX / 1024)
		return 3;
	for (i = 0; i < sb_threads(sb); i++)
		if (th[i].state != SB_EMPTY)
			return 4;
	if (!valid_copy(&row, th, sb_threads(sb)))
		return 5;
	return 0;
}

static void
test_compromised_worker(void **state)
{
	struct scoreboard	*sb;
	struct sb_thread	*slot;
	unsigned int		 seed, ok = 0, torn = 0;
	int			 r;

	(void)state;
	sb = sb_create(4, 3);
	assert_non_null(sb);
	assert_int_equal(start_row(sb, 111, 1, 10), 0);
	assert_int_equal(start_row(sb, 222, 2, 20), 1);

	/* Random bytes: every read fails or hands out a valid copy. */
	for (seed = 1; seed <= 200; seed++) {
		scribble(sb, -1, seed);
		for (r = 0; r < 4; r++) {
			memset(&row, 0xa5, sizeof(row));
			memset(th, 0xa5, sizeof(th));
			if (sb_read_row(sb, r, NOW, &row, th))
				ok++;
			else
				torn++;
			/* Even a failed read leaves a valid (free) copy. */
			assert_true(valid_copy(&row, th, 3));
			/* The master's own records, not the segment's. */
			if (r == 0 && row.pid != 0)
				assert_int_equal(row.pid, 111);
			if (r == 1 && row.pid != 0)
				assert_int_equal(row.pid, 222);
			if (r >= 2)
				assert_int_equal(row.pid, 0);
		}
	}
	assert_true(ok > 0);
	assert_true(torn > 0);
	assert_int_equal(sb_rows(sb), 4);
	assert_int_equal(sb_threads(sb), 3);
	/* Rows 0 and 1 are taken whatever the segment's pids say. */
	assert_int_equal(sb_row_claim(sb), 2);

	/* Every seq odd, forever: a row stuck mid-write reads as false. */
	scribble(sb, 'A', 0);
	assert_false(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(row.pid, 0);
	assert_true(valid_copy(&row, th, 3));
	/* The master frees it, and the row works again. */
	sb_row_free(sb, 0);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(start_row(sb, 333, 3, 30), 0);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(row.pid, 333);
	assert_int_equal(th[2].state, SB_EMPTY);

	/* Even seqs, huge states, unterminated strings everywhere. */
	scribble(sb, 'B', 0);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(row.pid, 222);
	assert_int_equal(row.gen, 2);
	assert_int_equal(row.started_ms, 20);
	assert_int_equal(row.rss_kb, UINT64_MAX / 1024);
	assert_int_equal(th[0].state, SB_EMPTY);
	assert_true(valid_copy(&row, th, 3));
	assert_int_equal(in_child(child_reads_scribbled, sb), 0);
	/* A claim clears the row, before its worker exists. */
	assert_int_equal(start_row(sb, 444, 4, 40), 3);
	assert_int_equal(sb_row_claim(sb), -1);
	assert_true(sb_read_row(sb, 3, NOW, &row, th));
	assert_int_equal(row.pid, 444);
	assert_int_equal(row.rss_kb, 0);
	assert_int_equal(th[0].state, SB_EMPTY);
	assert_int_equal(th[2].state, SB_EMPTY);

	/* A valid state with strings that never end. */
	sb_thread_set(sb, 1, 2, SB_RUNNING, 5, "GET", "/marker");
	slot = find_slot(sb, "/marker");
	memset(slot->uri, 0xff, sizeof(slot->uri));
	memset(slot->method, 'M', sizeof(slot->method));
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(th[2].state, SB_RUNNING);
	assert_int_equal(th[2].start_ms, 5);
	assert_int_equal(strlen(th[2].method), SB_METHOD_MAX - 1);
	assert_int_equal(strlen(th[2].uri), SB_URI_MAX - 1);
	assert_int_equal(th[2].uri[0], '?');
	assert_true(valid_copy(&row, th, 3));

	/* Times out of any range. */
	__atomic_store_n(&slot->start_ms, INT64_MAX, __ATOMIC_RELAXED);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(th[2].start_ms, NOW);
	__atomic_store_n(&slot->start_ms, INT64_MIN, __ATOMIC_RELAXED);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(th[2].start_ms, 0);
	__atomic_store_n(&slot->state, 1000, __ATOMIC_RELAXED);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(th[2].state, SB_EMPTY);
	assert_string_equal(th[2].uri, "");

	/* One thread stuck mid-write: the row gives up, then recovers. */
	atomic_store(&slot->seq, 7);
	assert_false(sb_read_row(sb, 1, NOW, &row, th));
	atomic_store(&slot->seq, 8);
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	/* Its own thread rewriting it fixes it too. */
	atomic_store(&slot->seq, 9);
	sb_thread_set(sb, 1, 2, SB_READING, 6, "GET", "/again");
	assert_true(sb_read_row(sb, 1, NOW, &row, th));
	assert_int_equal(th[2].state, SB_READING);
	assert_string_equal(th[2].uri, "/again");
	sb_destroy(sb);
}

static int
child_reads_pool(struct scoreboard *sb)
{
	struct sb_pool	 p;

	/* A worker reads the segment: whatever is there, for display. */
	sb_pool_read(sb, &p);
	return p.restarts[RESTART_CRASH] == 0x4242424242424242ULL ? 0 : 1;
}

/*
 * The master's status comes from its own records: the pool counters it
 * published, not what a worker wrote over them; a counter read back is
 * bounded, so sums of them do not wrap.
 */
static void
test_master_counters(void **state)
{
	struct scoreboard	*sb;
	struct sb_thread	*slot;
	struct sb_pool		 pub, got;

	(void)state;
	sb = sb_create(2, 3);
	assert_non_null(sb);
	memset(&pub, 0, sizeof(pub));
	pub.start_wall_ms = 5;
	pub.restarts[RESTART_CRASH] = 3;
	pub.gone.requests = 7;
	pub.gone.hist[4] = 8;
	sb_pool_publish(sb, &pub);
	scribble(sb, 'B', 0);
	sb_pool_read(sb, &got);
	assert_int_equal(got.restarts[RESTART_CRASH], 3);
	assert_int_equal(got.gone.requests, 7);
	assert_int_equal(got.gone.hist[4], 8);
	assert_int_equal(got.start_wall_ms, 5);
	assert_int_equal(in_child(child_reads_pool, sb), 0);

	scribble(sb, 0, 0);
	assert_int_equal(start_row(sb, 111, 1, 10), 0);
	sb_thread_set(sb, 0, 1, SB_RUNNING, 5, "GET", "/count");
	slot = find_slot(sb, "/count");
	__atomic_store_n(&slot->requests, UINT64_MAX, __ATOMIC_RELAXED);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(th[1].requests, SB_COUNT_MAX);
	__atomic_store_n(&slot->requests, 12, __ATOMIC_RELAXED);
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(th[1].requests, 12);
	assert_int_equal(sb_sat_add(UINT64_MAX - 1, 5), UINT64_MAX);
	assert_int_equal(sb_sat_add(2, 5), 7);

	/* Counted by the worker's CGI handler, bounded when read. */
	sb_self_set(sb, 0);
	sb_self_cgi(1);
	sb_self_cgi(1);
	sb_self_cgi(-1);
	sb_self_cgi_killed();
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(row.cgi_running, 1);
	assert_int_equal(row.cgi_killed, 1);
	sb_self_cgi(-1);
	sb_self_cgi(-1);	/* a lie: wraps to UINT64_MAX */
	assert_true(sb_read_row(sb, 0, NOW, &row, th));
	assert_int_equal(row.cgi_running, 3);	/* one a thread at most */
	sb_self_set(NULL, -1);
	sb_destroy(sb);
}

/*
 * Every RUNNING copy says "GET /n" started at n, READING "POST /n"; and
 * thread 0's n never goes back from one copy to the next.
 */
static bool
consistent(const struct sb_thread *t, unsigned int n, int64_t *last)
{
	char		 want[32];
	unsigned int	 i;

	for (i = 0; i < n; i++) {
		if (t[i].state == SB_EMPTY || t[i].state == SB_IDLE)
			continue;
		snprintf(want, sizeof(want), "/%" PRId64, t[i].start_ms);
		if (strcmp(t[i].uri, want) != 0)
			return false;
		if (strcmp(t[i].method, t[i].state == SB_RUNNING ? "GET" :
		    "POST") != 0)
			return false;
	}
	if (t[0].state == SB_RUNNING) {
		if (t[0].start_ms < *last)
			return false;
		*last = t[0].start_ms;
	}
	return true;
}

/* A writer racing a reader, in another process or thread. */
struct race {
	struct scoreboard	*sb;
	int			 row;
	_Atomic unsigned int	 reads;		/* consistent copies so far */
	_Atomic int64_t		 last;		/* the writer's last n */
	_Atomic bool		 done;
};

/*
 * Publish n = 1, 2, ... the way a worker's threads would, at least
 * RACE_WRITES times and until the reader has had RACE_READS copies, so
 * that the two overlap even on one CPU (but not forever: the reader may
 * have failed).
 */
static void
race_write(struct race *rc)
{
	char	 uri[32];
	int64_t	 n;

	for (n = 1; n <= RACE_WRITES || (n <= RACE_WRITES_MAX &&
	    atomic_load(&rc->reads) < RACE_READS); n++) {
		snprintf(uri, sizeof(uri), "/%" PRId64, n);
		sb_thread_set(rc->sb, rc->row, 0, SB_RUNNING, n, "GET", uri);
		sb_thread_set(rc->sb, rc->row, 1, SB_READING, n, "POST", uri);
		sb_row_set_rss(rc->sb, rc->row, (uint64_t)n);
		if (n % 7 == 0)
			sb_thread_done(rc->sb, rc->row, 1, 200, n);
	}
	atomic_store(&rc->last, n - 1);
	atomic_store(&rc->done, true);
}

/* Read while the writer writes; then its last write is what is read. */
static void
race_read(struct race *rc, pid_t pid)
{
	unsigned int	 bad = 0;
	int64_t		 last = 0, n;
	char		 want[32];

	while (!atomic_load(&rc->done)) {
		if (!sb_read_row(rc->sb, rc->row, INT64_MAX, &row, th))
			continue;
		if (row.pid != pid || !consistent(th, 2, &last))
			bad++;
		else
			atomic_fetch_add(&rc->reads, 1);
	}
	assert_int_equal(bad, 0);
	assert_true(atomic_load(&rc->reads) >= RACE_READS);

	n = atomic_load(&rc->last);
	assert_true(n >= RACE_WRITES);
	snprintf(want, sizeof(want), "/%" PRId64, n);
	assert_true(sb_read_row(rc->sb, rc->row, INT64_MAX, &row, th));
	assert_int_equal(th[0].state, SB_RUNNING);
	assert_int_equal(th[0].start_ms, n);
	assert_string_equal(th[0].uri, want);
	assert_int_equal(th[1].requests, n / 7);
	assert_int_equal(row.rss_kb, n);
}

static void
test_fork_writer_consistent_reads(void **state)
{
	struct race	*rc;
	pid_t		 pid;
	int		 status;

	(void)state;
	/* Shared with the child, like the scoreboard. */
	rc = mmap(NULL, sizeof(*rc), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(rc != MAP_FAILED);
	rc->sb = sb_create(2, 2);
	assert_non_null(rc->sb);
	/* As the master does it: claim, fork, then record the pid. */
	rc->row = sb_row_claim(rc->sb);
	assert_int_equal(rc->row, 0);
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		race_write(rc);
		_exit(0);
	}
	sb_row_start(rc->sb, rc->row, pid, 1, 0);
	race_read(rc, pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sb_destroy(rc->sb);
	munmap(rc, sizeof(*rc));
}

static void *
race_thread(void *arg)
{
	race_write(arg);
	return NULL;
}

static void
test_thread_writer_consistent_reads(void **state)
{
	struct race	 rc;
	pthread_t	 tid;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	rc.sb = sb_create(1, 2);
	assert_non_null(rc.sb);
	rc.row = start_row(rc.sb, getpid(), 1, 0);
	assert_int_equal(rc.row, 0);
	assert_int_equal(pthread_create(&tid, NULL, race_thread, &rc), 0);
	race_read(&rc, getpid());
	assert_int_equal(pthread_join(tid, NULL), 0);
	sb_destroy(rc.sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects_bad_sizes),
		cmocka_unit_test(test_layout_and_bounds),
		cmocka_unit_test(test_claim_and_free),
		cmocka_unit_test(test_set_and_read),
		cmocka_unit_test(test_truncation_and_cleaning),
		cmocka_unit_test(test_compromised_worker),
		cmocka_unit_test(test_master_counters),
		cmocka_unit_test(test_fork_writer_consistent_reads),
		cmocka_unit_test(test_thread_writer_consistent_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
