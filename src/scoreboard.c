/*
 * The scoreboard: a per-pool shared segment where every worker thread
 * publishes what it is doing (idle, reading, running a request since
 * when, which method and URI) for the master's timeout checks and the
 * status page.  Too hot for channel messages (STYLE section 3), so it is
 * memory shared with the workers: an anonymous MAP_SHARED mapping that the
 * master creates before it forks the pool's workers, which inherit it.
 * Pages are resident only once touched.  Being anonymous, it has no name
 * and no fd a worker could ftruncate under the master (a shrunk shm_open
 * or memfd object would make the master's next read SIGBUS).
 *
 * Layout: a header (magic, version, rows, threads: for debuggers and core
 * dumps, never read back), `rows` struct sb_row, then rows x threads
 * struct sb_thread, each padded to a cache line so that two threads do
 * not write the same line.
 *
 * Every worker can write all of it, so nothing read from it is trusted
 * (STYLE 12.1, php-fpm's CVE-2021-21703).  Sizes and bounds checks use
 * the private struct scoreboard only.  The master decides which rows are
 * free, and which pid, generation and start time a row holds, from its
 * own private array, never from the shared pid.  A reader copies, then
 * validates the copy (states in range, strings terminated and printable,
 * times clamped), and gives up after SB_READ_TRIES torn reads rather than
 * wait for a writer that may never finish.
 *
 * Seqlocks.  Each thread slot has one writer, its thread; each row's
 * pid/gen/started_ms have one writer, the master (the worker's rss_kb is
 * a lone atomic word outside the seqlock, so the two never share a lock).
 * The writer makes seq odd, stores the fields, makes seq even.  The
 * reader loads seq, copies the fields, loads seq again: equal and even
 * means no write overlapped the copy.
 *
 * Why it is TSan-clean.  The textbook seqlock copies the data with a
 * plain memcpy between two fences: a data race in C11 that TSan reports,
 * and TSan does not model atomic_thread_fence at all (GCC's -Wtsan warns
 * about it).  Here every field is stored and loaded with __atomic
 * builtins instead: release stores in the writer, acquire loads in the
 * reader.  That is both race-free and enough for ordering without fences
 * (Boehm, "Can seqlocks get along with programming language memory
 * models?", 2012): if a field load sees a store of a newer write, the odd
 * seq stored before that store is visible to the reader's second seq
 * load, which comes after the acquire, so the copy is retried; if the
 * first seq load (acquire) sees the even seq of a finished write, all of
 * that write's fields are visible.  On x86 these are plain moves; on
 * arm64, ldar/stlr over one ~300-byte slot.  Strings are copied byte by
 * byte up to their NUL rather than as 8-byte words, so the char arrays
 * are never read through another type.  Atomics work across processes
 * only when lock-free, hence the static assertion.
 */
#include "config.h"

#include <sys/mman.h>

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define SB_MAGIC	"pooledsb"
#define SB_VERSION	2
#define SB_LINE		64	/* cache line */
#define SB_READ_TRIES	100	/* torn reads before giving up */
#define SB_SPIN_TRIES	10	/* ... the first ones without yielding */
#define SB_RSS_KB_MAX	(UINT64_MAX / 1024)	/* bytes fit in 64 bits */
#define SB_US_MAX	((uint64_t)1 << 56)	/* durations summed, a thread */

/* Upper bounds of the duration buckets, in us: 1 ms .. 60 s. */
static const int64_t hist_bounds_us[SB_HIST_BOUNDS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000, 60000000
};

/* The worker's own row, for sb_self_*: set once before its threads. */
static struct scoreboard	*self_sb;
static int			 self_row = -1;

/* A field of the shared segment, with the ordering explained above. */
#define SB_PUT(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define SB_GET(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
    "the scoreboard needs lock-free 64-bit atomics");

/* At the start of the segment; written once, never read back. */
struct sb_header {
	char		 magic[8];
	uint32_t	 version;
	uint32_t	 rows;
	uint32_t	 threads;
	uint32_t	 row_size;
	uint32_t	 thread_size;
	struct sb_pool	 pool;		/* the master's counters, published */
};

/* A thread slot on its own cache line(s). */
struct sb_slot {
	_Alignas(SB_LINE) struct sb_thread t;
};

/* The master's own record of a row: the only one it trusts. */
struct sb_owned {
	bool		 used;		/* claimed, not yet freed */
	pid_t		 pid;		/* 0 until sb_row_start */
	uint32_t	 gen;
	int64_t		 started_ms;
};

struct scoreboard {
	unsigned int	 rows;		/* private copies of the sizes */
	unsigned int	 threads;
	pid_t		 owner;		/* the master that created it */
	void		*base;		/* the shared segment */
	size_t		 size;
	struct sb_row	*row;		/* in the segment */
	struct sb_slot	*slot;		/* in the segment */
	struct sb_owned	*owned;		/* private, rows entries */
	struct sb_pool	 pool;		/* private: what the master published */
};

/* *off += n * size, rounded up to a cache line; false on overflow. */
static bool
add_area(size_t *off, size_t n, size_t size)
{
	size_t	 len;

	if (n != 0 && size > (SIZE_MAX - SB_LINE) / n)
		return false;
	len = (n * size + SB_LINE - 1) / SB_LINE * SB_LINE;
	if (len > SIZE_MAX - *off)
		return false;
	*off += len;
	return true;
}

/* The master, before forking: rows x threads slots, zeroed. */
struct scoreboard *
sb_create(unsigned int rows, unsigned int threads)
{
	struct scoreboard	*sb;
	struct sb_header	*h;
	size_t			 row_off, slot_off, size;
	void			*base;
	bool			 ok;

	if (rows == 0 || threads == 0 || rows > INT_MAX) {
		log_warnx("sb_create: bad size %u x %u", rows, threads);
		return NULL;
	}
	row_off = 0;
	ok = add_area(&row_off, 1, sizeof(struct sb_header));
	slot_off = row_off;
	ok = ok && add_area(&slot_off, rows, sizeof(struct sb_row));
	size = slot_off;
	ok = ok && threads <= SIZE_MAX / rows &&
	    add_area(&size, (size_t)rows * threads, sizeof(struct sb_slot));
	if (!ok) {
		log_warnx("sb_create: %u x %u threads is too large", rows,
		    threads);
		return NULL;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL ||
	    (sb->owned = calloc(rows, sizeof(*sb->owned))) == NULL) {
		log_warn("sb_create");
		goto fail;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		log_warn("sb_create: mmap %zu bytes", size);
		goto fail;
	}
	sb->rows = rows;
	sb->threads = threads;
	sb->owner = getpid();
	sb->base = base;
	sb->size = size;
	sb->row = (struct sb_row *)((char *)base + row_off);
	sb->slot = (struct sb_slot *)((char *)base + slot_off);
	/* No worker exists yet: plain stores. */
	h = base;
	memcpy(h->magic, SB_MAGIC, sizeof(h->magic));
	h->version = SB_VERSION;
	h->rows = rows;
	h->threads = threads;
	h->row_size = sizeof(struct sb_row);
	h->thread_size = sizeof(struct sb_slot);
	return sb;

fail:
	if (sb != NULL)
		free(sb->owned);
	free(sb);
	return NULL;
}

/* Unmap the segment (in this process) and free the private part. */
void
sb_destroy(struct scoreboard *sb)
{
	if (sb == NULL)
		return;
	munmap(sb->base, sb->size);
	free(sb->owned);
	free(sb);
}

/* Rows, from the private copy. */
unsigned int
sb_rows(const struct scoreboard *sb)
{
	return sb->rows;
}

/* Threads per row, from the private copy. */
unsigned int
sb_threads(const struct scoreboard *sb)
{
	return sb->threads;
}

/* The shared segment itself, for tests and debuggers: never parsed. */
void *
sb_segment(const struct scoreboard *sb, size_t *len)
{
	*len = sb->size;
	return sb->base;
}

static bool
row_ok(const struct scoreboard *sb, int row)
{
	return sb != NULL && row >= 0 && (unsigned int)row < sb->rows;
}

static struct sb_thread *
thread_at(const struct scoreboard *sb, int row, unsigned int thread)
{
	if (!row_ok(sb, row) || thread >= sb->threads)
		return NULL;
	return &sb->slot[(size_t)row * sb->threads + thread].t;
}

/*
 * Make seq odd, whatever it was: a writer killed mid-write left it odd, a
 * hostile one left anything, and the next write must end even.
 */
static uint32_t
write_begin(_Atomic uint32_t *seq)
{
	uint32_t	 s;

	s = atomic_load_explicit(seq, memory_order_relaxed) | 1;
	atomic_store_explicit(seq, s, memory_order_relaxed);
	return s;
}

static void
write_end(_Atomic uint32_t *seq, uint32_t s)
{
	atomic_store_explicit(seq, s + 1, memory_order_release);
}

/* Store src, truncated to size - 1 bytes, and its NUL. */
static void
put_string(char *dst, size_t size, const char *src)
{
	size_t	 i, n;

	n = src == NULL ? 0 : strnlen(src, size - 1);
	for (i = 0; i < n; i++)
		SB_PUT(&dst[i], src[i]);
	SB_PUT(&dst[n], '\0');
}

/* Load src up to its NUL or its end; zero the rest of dst. */
static void
get_string(char *dst, char *src, size_t size)
{
	size_t	 i;

	for (i = 0; i < size; i++)
		if ((dst[i] = SB_GET(&src[i])) == '\0')
			break;
	if (i < size)
		memset(dst + i, 0, size - i);
}

/* The upper bound of duration bucket i (< SB_HIST_BOUNDS), in us. */
int64_t
sb_hist_bound_us(unsigned int i)
{
	return i < SB_HIST_BOUNDS ? hist_bounds_us[i] : INT64_MAX;
}

static void
clear_thread(struct sb_thread *t)
{
	uint32_t	 s;
	unsigned int	 i;

	s = write_begin(&t->seq);
	SB_PUT(&t->state, (uint32_t)SB_EMPTY);
	SB_PUT(&t->start_ms, (int64_t)0);
	SB_PUT(&t->requests, (uint64_t)0);
	for (i = 0; i < SB_HIST_N; i++)
		SB_PUT(&t->hist[i], (uint64_t)0);
	SB_PUT(&t->duration_us, (uint64_t)0);
	for (i = 0; i < SB_STATUS_N; i++)
		SB_PUT(&t->status[i], (uint64_t)0);
	SB_PUT(&t->method[0], '\0');
	SB_PUT(&t->uri[0], '\0');
	write_end(&t->seq, s);
}

static void
write_row(struct sb_row *r, pid_t pid, uint32_t gen, int64_t started_ms)
{
	uint32_t	 s;

	s = write_begin(&r->seq);
	SB_PUT(&r->pid, (int32_t)pid);
	SB_PUT(&r->gen, gen);
	SB_PUT(&r->started_ms, started_ms);
	write_end(&r->seq, s);
}

/* Clear a row, its rss and its threads, when no worker writes them. */
static void
clear_row(struct scoreboard *sb, int row)
{
	unsigned int	 i;

	write_row(&sb->row[row], 0, 0, 0);
	SB_PUT(&sb->row[row].rss_kb, (uint64_t)0);
	SB_PUT(&sb->row[row].slow, (uint64_t)0);
	SB_PUT(&sb->row[row].timeouts, (uint64_t)0);
	SB_PUT(&sb->row[row].cgi_running, (uint64_t)0);
	SB_PUT(&sb->row[row].cgi_killed, (uint64_t)0);
	for (i = 0; i < sb->threads; i++)
		clear_thread(thread_at(sb, row, i));
}

/*
 * The master, before fork: reserve the first row free in its own records
 * (-1 when none) and clear it, whatever a hostile worker left there.  No
 * worker writes the row yet: its child is not forked, its previous one
 * was reaped.  The child's threads set their slots from SB_EMPTY.
 */
int
sb_row_claim(struct scoreboard *sb)
{
	unsigned int	 i;

	if (sb == NULL || getpid() != sb->owner)
		return -1;
	for (i = 0; i < sb->rows; i++) {
		if (!sb->owned[i].used) {
			memset(&sb->owned[i], 0, sizeof(sb->owned[i]));
			sb->owned[i].used = true;
			clear_row(sb, (int)i);
			return (int)i;
		}
	}
	return -1;
}

/*
 * The master, after fork: record the worker running in a claimed row.
 * Its rss_kb is the worker's from now on, and may already be set.
 */
void
sb_row_start(struct scoreboard *sb, int row, pid_t pid, uint32_t gen,
    int64_t now_ms)
{
	struct sb_owned	*o;

	if (!row_ok(sb, row) || getpid() != sb->owner || pid <= 0 ||
	    pid > INT32_MAX)
		return;
	o = &sb->owned[row];
	if (!o->used)
		return;
	o->pid = pid;
	o->gen = gen;
	o->started_ms = now_ms;
	write_row(&sb->row[row], pid, gen, now_ms);
}

/*
 * The master, once the row's worker is reaped: clear the row and its
 * threads, which nobody writes any more (a hostile worker aside).
 */
void
sb_row_free(struct scoreboard *sb, int row)
{
	if (!row_ok(sb, row) || getpid() != sb->owner)
		return;
	memset(&sb->owned[row], 0, sizeof(sb->owned[row]));
	clear_row(sb, row);
}

/* Whether any row of sb is claimed (by a worker, live or not reaped). */
bool
sb_rows_in_use(const struct scoreboard *sb)
{
	unsigned int	 i;

	for (i = 0; sb != NULL && i < sb->rows; i++)
		if (sb->owned[i].used)
			return true;
	return false;
}

/* A worker thread: publish its state, method and uri truncated to fit. */
void
sb_thread_set(struct scoreboard *sb, int row, unsigned int thread,
    enum sb_state state, int64_t start_ms, const char *method,
    const char *uri)
{
	struct sb_thread	*t;
	uint32_t		 s;

	if ((unsigned int)state >= SB_NSTATES ||
	    (t = thread_at(sb, row, thread)) == NULL)
		return;
	s = write_begin(&t->seq);
	SB_PUT(&t->state, (uint32_t)state);
	SB_PUT(&t->start_ms, start_ms);
	put_string(t->method, sizeof(t->method), method);
	put_string(t->uri, sizeof(t->uri), uri);
	write_end(&t->seq, s);
}

/*
 * A worker thread: one more request done, with its status (0: unknown)
 * and how long it took, counted in its bucket and class; back to idle.
 */
void
sb_thread_done(struct scoreboard *sb, int row, unsigned int thread,
    int status, int64_t duration_us)
{
	struct sb_thread	*t;
	uint64_t		 n, h, d, c = 0;
	uint32_t		 s;
	unsigned int		 b, k = SB_STATUS_N;

	if ((t = thread_at(sb, row, thread)) == NULL)
		return;
	if (duration_us < 0)
		duration_us = 0;
	for (b = 0; b < SB_HIST_BOUNDS && duration_us > hist_bounds_us[b];
	    b++)
		;
	if (status >= 100 && status <= 599)
		k = (unsigned int)(status / 100 - 1);
	/* Its own fields: no other writer to order against. */
	n = __atomic_load_n(&t->requests, __ATOMIC_RELAXED);
	h = __atomic_load_n(&t->hist[b], __ATOMIC_RELAXED);
	d = __atomic_load_n(&t->duration_us, __ATOMIC_RELAXED);
	if (k < SB_STATUS_N)
		c = __atomic_load_n(&t->status[k], __ATOMIC_RELAXED);
	s = write_begin(&t->seq);
	SB_PUT(&t->state, (uint32_t)SB_IDLE);
	SB_PUT(&t->start_ms, (int64_t)0);
	SB_PUT(&t->requests, n + 1);
	SB_PUT(&t->hist[b], h + 1);
	SB_PUT(&t->duration_us, sb_sat_add(d, (uint64_t)duration_us));
	if (k < SB_STATUS_N)
		SB_PUT(&t->status[k], c + 1);
	SB_PUT(&t->method[0], '\0');
	SB_PUT(&t->uri[0], '\0');
	write_end(&t->seq, s);
}

/* A worker: publish its resident set size, one atomic word. */
void
sb_row_set_rss(struct scoreboard *sb, int row, uint64_t kb)
{
	if (!row_ok(sb, row))
		return;
	SB_PUT(&sb->row[row].rss_kb, kb);
}

/* A worker: count a slow request or a timeout, one atomic word each. */
void
sb_row_count(struct scoreboard *sb, int row, bool timeout)
{
	uint64_t	*c;

	if (!row_ok(sb, row))
		return;
	c = timeout ? &sb->row[row].timeouts : &sb->row[row].slow;
	SB_PUT(c, SB_GET(c) + 1);
}

/* A worker: the row sb_self_* count in; before its threads start. */
void
sb_self_set(struct scoreboard *sb, int row)
{
	self_sb = sb;
	self_row = row;
}

/*
 * A worker thread: a CGI program started (+1) or was reaped (-1).  Every
 * thread of the worker writes this word, so it is added to atomically.
 */
void
sb_self_cgi(int delta)
{
	if (!row_ok(self_sb, self_row))
		return;
	if (delta > 0)
		__atomic_fetch_add(&self_sb->row[self_row].cgi_running, 1,
		    __ATOMIC_RELEASE);
	else
		__atomic_fetch_sub(&self_sb->row[self_row].cgi_running, 1,
		    __ATOMIC_RELEASE);
}

/* A worker thread: a CGI program was killed by cgi_timeout. */
void
sb_self_cgi_killed(void)
{
	if (!row_ok(self_sb, self_row))
		return;
	__atomic_fetch_add(&self_sb->row[self_row].cgi_killed, 1,
	    __ATOMIC_RELEASE);
}

/* Publish the words of totals: plain stores would race with readers. */
static void
put_totals(struct sb_totals *dst, const struct sb_totals *src)
{
	unsigned int	 i;

	SB_PUT(&dst->requests, src->requests);
	for (i = 0; i < SB_HIST_N; i++)
		SB_PUT(&dst->hist[i], src->hist[i]);
	SB_PUT(&dst->duration_us, src->duration_us);
	for (i = 0; i < SB_STATUS_N; i++)
		SB_PUT(&dst->status[i], src->status[i]);
	SB_PUT(&dst->slow, src->slow);
	SB_PUT(&dst->timeouts, src->timeouts);
	SB_PUT(&dst->cgi_killed, src->cgi_killed);
}

static void
get_totals(struct sb_totals *dst, struct sb_totals *src)
{
	unsigned int	 i;

	dst->requests = SB_GET(&src->requests);
	for (i = 0; i < SB_HIST_N; i++)
		dst->hist[i] = SB_GET(&src->hist[i]);
	dst->duration_us = SB_GET(&src->duration_us);
	for (i = 0; i < SB_STATUS_N; i++)
		dst->status[i] = SB_GET(&src->status[i]);
	dst->slow = SB_GET(&src->slow);
	dst->timeouts = SB_GET(&src->timeouts);
	dst->cgi_killed = SB_GET(&src->cgi_killed);
}

/*
 * The master: publish its pool counters for the workers' status pages.
 * Display only: nothing it reads back from there is ever used.
 */
void
sb_pool_publish(struct scoreboard *sb, const struct sb_pool *p)
{
	struct sb_header	*h;
	unsigned int		 i;

	if (sb == NULL || getpid() != sb->owner)
		return;
	sb->pool = *p;
	h = sb->base;
	SB_PUT(&h->pool.start_wall_ms, p->start_wall_ms);
	SB_PUT(&h->pool.reload_wall_ms, p->reload_wall_ms);
	put_totals(&h->pool.gone, &p->gone);
	for (i = 0; i < RESTART_NCAUSES; i++)
		SB_PUT(&h->pool.restarts[i], p->restarts[i]);
	SB_PUT(&h->pool.max_reached, p->max_reached);
	SB_PUT(&h->pool.queue_peak, p->queue_peak);
	SB_PUT(&h->pool.rate10_milli, p->rate10_milli);
	SB_PUT(&h->pool.rate60_milli, p->rate60_milli);
}

/*
 * Anyone: the pool counters last published (for display).  The master
 * gets its own copy: a worker may have written anything in the segment.
 */
void
sb_pool_read(const struct scoreboard *sb, struct sb_pool *p)
{
	struct sb_header	*h;
	unsigned int		 i;

	memset(p, 0, sizeof(*p));
	if (sb == NULL)
		return;
	if (getpid() == sb->owner) {
		*p = sb->pool;
		return;
	}
	h = sb->base;
	p->start_wall_ms = SB_GET(&h->pool.start_wall_ms);
	p->reload_wall_ms = SB_GET(&h->pool.reload_wall_ms);
	get_totals(&p->gone, &h->pool.gone);
	for (i = 0; i < RESTART_NCAUSES; i++)
		p->restarts[i] = SB_GET(&h->pool.restarts[i]);
	p->max_reached = SB_GET(&h->pool.max_reached);
	p->queue_peak = SB_GET(&h->pool.queue_peak);
	p->rate10_milli = SB_GET(&h->pool.rate10_milli);
	p->rate60_milli = SB_GET(&h->pool.rate60_milli);
}

/* Add b to a, every counter saturated. */
void
sb_totals_add(struct sb_totals *a, const struct sb_totals *b)
{
	unsigned int	 i;

	a->requests = sb_sat_add(a->requests, b->requests);
	for (i = 0; i < SB_HIST_N; i++)
		a->hist[i] = sb_sat_add(a->hist[i], b->hist[i]);
	a->duration_us = sb_sat_add(a->duration_us, b->duration_us);
	for (i = 0; i < SB_STATUS_N; i++)
		a->status[i] = sb_sat_add(a->status[i], b->status[i]);
	a->slow = sb_sat_add(a->slow, b->slow);
	a->timeouts = sb_sat_add(a->timeouts, b->timeouts);
	a->cgi_killed = sb_sat_add(a->cgi_killed, b->cgi_killed);
}

/*
 * Add what a row read by sb_read_row counted (bounded there) to t,
 * saturated: the row's and each of its nthreads threads'.
 */
void
sb_totals_add_row(struct sb_totals *t, const struct sb_row *r,
    const struct sb_thread *threads, unsigned int nthreads)
{
	unsigned int	 i, j;

	for (i = 0; i < nthreads; i++) {
		t->requests = sb_sat_add(t->requests, threads[i].requests);
		for (j = 0; j < SB_HIST_N; j++)
			t->hist[j] = sb_sat_add(t->hist[j],
			    threads[i].hist[j]);
		t->duration_us = sb_sat_add(t->duration_us,
		    threads[i].duration_us);
		for (j = 0; j < SB_STATUS_N; j++)
			t->status[j] = sb_sat_add(t->status[j],
			    threads[i].status[j]);
	}
	t->slow = sb_sat_add(t->slow, r->slow);
	t->timeouts = sb_sat_add(t->timeouts, r->timeouts);
	t->cgi_killed = sb_sat_add(t->cgi_killed, r->cgi_killed);
}

/* a + b, or UINT64_MAX when that does not fit. */
uint64_t
sb_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A worker-written counter, bounded so that sums of them cannot wrap. */
static uint64_t
bound_count(uint64_t n)
{
	return n > SB_COUNT_MAX ? SB_COUNT_MAX : n;
}

/* Yield the CPU to a writer that may have been preempted mid-write. */
static void
read_backoff(int try)
{
	if (try >= SB_SPIN_TRIES)
		sched_yield();
}

/* Copy the master-written part of a shared row; false when torn. */
static bool
copy_row(struct sb_row *sh, struct sb_row *out)
{
	uint32_t	 s1, s2;
	int		 try;

	for (try = 0; try < SB_READ_TRIES; try++) {
		read_backoff(try);
		s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		out->pid = SB_GET(&sh->pid);
		out->gen = SB_GET(&sh->gen);
		out->started_ms = SB_GET(&sh->started_ms);
		s2 = atomic_load_explicit(&sh->seq, memory_order_relaxed);
		if (s1 == s2)
			return true;
	}
	return false;
}

/* Copy a shared thread slot; false when torn. */
static bool
copy_thread(struct sb_thread *sh, struct sb_thread *t)
{
	uint32_t	 s1, s2;
	unsigned int	 i;
	int		 try;

	for (try = 0; try < SB_READ_TRIES; try++) {
		read_backoff(try);
		s1 = atomic_load_explicit(&sh->seq, memory_order_acquire);
		if (s1 & 1)
			continue;
		t->state = SB_GET(&sh->state);
		t->start_ms = SB_GET(&sh->start_ms);
		t->requests = SB_GET(&sh->requests);
		for (i = 0; i < SB_HIST_N; i++)
			t->hist[i] = SB_GET(&sh->hist[i]);
		t->duration_us = SB_GET(&sh->duration_us);
		for (i = 0; i < SB_STATUS_N; i++)
			t->status[i] = SB_GET(&sh->status[i]);
		get_string(t->method, sh->method, sizeof(t->method));
		get_string(t->uri, sh->uri, sizeof(t->uri));
		s2 = atomic_load_explicit(&sh->seq, memory_order_relaxed);
		if (s1 == s2) {
			atomic_store_explicit(&t->seq, s1,
			    memory_order_relaxed);
			return true;
		}
	}
	return false;
}

static int64_t
clamp_ms(int64_t ms, int64_t now_ms)
{
	if (ms > now_ms)
		ms = now_ms;
	return ms < 0 ? 0 : ms;
}

/* Terminate s within size; what is not printable ASCII becomes '?'. */
static void
clean_string(char *s, size_t size)
{
	size_t	 i;

	s[size - 1] = '\0';
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	memset(s + i, 0, size - i);
}

/* Make a copied slot safe to display and to compare. */
static void
check_thread(struct sb_thread *t, int64_t now_ms)
{
	unsigned int	 i;

	if (t->state == SB_EMPTY || t->state >= SB_NSTATES) {
		memset(t, 0, sizeof(*t));
		t->state = SB_EMPTY;
		return;
	}
	t->requests = bound_count(t->requests);
	for (i = 0; i < SB_HIST_N; i++)
		t->hist[i] = bound_count(t->hist[i]);
	if (t->duration_us > SB_US_MAX)
		t->duration_us = SB_US_MAX;
	for (i = 0; i < SB_STATUS_N; i++)
		t->status[i] = bound_count(t->status[i]);
	if (t->state == SB_IDLE) {
		t->start_ms = 0;
		memset(t->method, 0, sizeof(t->method));
		memset(t->uri, 0, sizeof(t->uri));
		return;
	}
	t->start_ms = clamp_ms(t->start_ms, now_ms);
	clean_string(t->method, sizeof(t->method));
	clean_string(t->uri, sizeof(t->uri));
}

static void
free_row(const struct scoreboard *sb, struct sb_row *out,
    struct sb_thread *threads)
{
	unsigned int	 i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sb->threads; i++) {
		memset(&threads[i], 0, sizeof(threads[i]));
		threads[i].state = SB_EMPTY;
	}
}

/*
 * Anyone: copy a row and its threads out, validated.  A free row reads as
 * pid 0, every thread SB_EMPTY; a torn read that does not settle, as a
 * free row and false.
 */
bool
sb_read_row(const struct scoreboard *sb, int row, int64_t now_ms,
    struct sb_row *out, struct sb_thread *threads)
{
	const struct sb_owned	*o;
	struct sb_row		*sh;
	unsigned int		 i;
	uint64_t		 kb;

	if (!row_ok(sb, row))
		return false;
	sh = &sb->row[row];
	free_row(sb, out, threads);
	if (getpid() == sb->owner) {
		/* The master: its own records, whatever the segment says. */
		o = &sb->owned[row];
		if (!o->used || o->pid <= 0)
			return true;
		out->pid = o->pid;
		out->gen = o->gen;
		out->started_ms = o->started_ms;
	} else if (!copy_row(sh, out)) {
		free_row(sb, out, threads);
		return false;
	} else if (out->pid <= 0) {
		free_row(sb, out, threads);
		return true;
	}
	out->started_ms = clamp_ms(out->started_ms, now_ms);
	kb = SB_GET(&sh->rss_kb);
	out->rss_kb = kb > SB_RSS_KB_MAX ? SB_RSS_KB_MAX : kb;
	/* Counters only: a lie here skews a display, nothing else. */
	out->slow = bound_count(SB_GET(&sh->slow));
	out->timeouts = bound_count(SB_GET(&sh->timeouts));
	out->cgi_killed = bound_count(SB_GET(&sh->cgi_killed));
	/* One program a thread at most: more is a lie, or a wrapped -1. */
	out->cgi_running = SB_GET(&sh->cgi_running);
	if (out->cgi_running > sb->threads)
		out->cgi_running = sb->threads;
	for (i = 0; i < sb->threads; i++) {
		if (!copy_thread(thread_at(sb, row, i), &threads[i])) {
			free_row(sb, out, threads);
			return false;
		}
		check_thread(&threads[i], now_ms);
	}
	return true;
}
