/*
 * Native backtraces of slow requests (slow_request_backtrace): the
 * control thread asks an acceptor thread for its stack with a dedicated
 * real-time signal (pthread_kill); the handler, on that thread, calls
 * backtrace(3) into the acceptor's preallocated slot and marks it done;
 * the control thread picks the frames up on a later tick and resolves
 * them with dladdr(3), outside the handler.
 *
 * The handler touches nothing but its thread's slot (found through a
 * thread-local pointer in the executable, which is async-signal-safe to
 * read) and only when a request asked for it (state BT_ASKED): a signal
 * that arrives once the request is over, or on a thread that has no
 * slot, does nothing.  backtrace(3) loads libgcc_s (malloc, the loader
 * lock) the first time it is called, so bt_init_process calls it once
 * outside any handler; after that it only walks the stack.
 *
 * The signal interrupts what the thread was blocked in: poll, nanosleep
 * and the like return EINTR (SA_RESTART restarts the rest), as they do
 * for any signal; code that sleeps should carry on with what remains.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "pooled.h"

enum { BT_IDLE, BT_ASKED, BT_BUSY, BT_DONE };

static __thread struct bt_slot	*bt_self;

static void
bt_handler(int signo)
{
	struct bt_slot	*b = bt_self;
	int		 saved_errno = errno, expect = BT_ASKED;

	(void)signo;
	if (b == NULL || !atomic_compare_exchange_strong(&b->state, &expect,
	    BT_BUSY))
		return;
	b->n = backtrace(b->frames, BT_FRAMES);
	atomic_store_explicit(&b->state, BT_DONE, memory_order_release);
	errno = saved_errno;
}

/* Install the handler of BT_SIGNAL; before threads start. */
int
bt_init_process(void)
{
	struct sigaction	 sa;
	void			*warm[2];

	/* Load libgcc_s now, not in a handler. */
	(void)backtrace(warm, 2);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = bt_handler;
	sa.sa_flags = SA_RESTART;
	if (sigaction(BT_SIGNAL, &sa, NULL) == -1) {
		log_warn("slow_request_backtrace: sigaction");
		return -1;
	}
	return 0;
}

/* The calling thread answers for b from now on (NULL: for nothing). */
void
bt_thread_set(struct bt_slot *b)
{
	bt_self = b;
}

/*
 * Ask thread tid, which answers for b, for its stack.  A slot still done
 * from an earlier request is cleared first; false when a handler is at
 * work on it or the signal could not be sent.
 */
bool
bt_ask(struct bt_slot *b, pthread_t tid)
{
	int	 expect = BT_DONE, rc;

	(void)atomic_compare_exchange_strong(&b->state, &expect, BT_IDLE);
	expect = BT_IDLE;
	if (!atomic_compare_exchange_strong(&b->state, &expect, BT_ASKED))
		return expect == BT_ASKED;	/* still on its way */
	if ((rc = pthread_kill(tid, BT_SIGNAL)) != 0) {
		errno = rc;
		log_warn("slow_request_backtrace: pthread_kill");
		expect = BT_ASKED;
		(void)atomic_compare_exchange_strong(&b->state, &expect,
		    BT_IDLE);
		return false;
	}
	return true;
}

/*
 * The frames of b once its thread answered: copies them to frames (BT_FRAMES
 * entries) and returns how many, or -1 when not yet.
 */
int
bt_take(struct bt_slot *b, void **frames)
{
	int	 n;

	if (atomic_load_explicit(&b->state, memory_order_acquire) != BT_DONE)
		return -1;
	n = b->n < 0 ? 0 : b->n > BT_FRAMES ? BT_FRAMES : b->n;
	memcpy(frames, b->frames, (size_t)n * sizeof(*frames));
	atomic_store_explicit(&b->state, BT_IDLE, memory_order_release);
	return n;
}

/*
 * Describe frame pc as "name+0xOFF (file)": the name of the dynamic
 * symbol it is in, when it has one (a module's or a library's exported
 * function); else "file+0xOFF", an offset addr2line(1) resolves.
 */
void
bt_describe(const void *pc, char *buf, size_t len)
{
	Dl_info		 di, self;
	const char	*file, *slash;

	if (dladdr(pc, &di) == 0 || di.dli_fname == NULL) {
		snprintf(buf, len, "%p", pc);
		return;
	}
	/* The executable's name is argv[0], which proctitle.c rewrote. */
	if (dladdr((const void *)bt_describe, &self) != 0 &&
	    self.dli_fbase == di.dli_fbase)
		file = "pooled";
	else
		file = (slash = strrchr(di.dli_fname, '/')) != NULL ?
		    slash + 1 : di.dli_fname;
	if (di.dli_sname != NULL && di.dli_saddr != NULL)
		snprintf(buf, len, "%s+0x%lx (%s)", di.dli_sname,
		    (unsigned long)((const char *)pc -
		    (const char *)di.dli_saddr), file);
	else
		snprintf(buf, len, "%s+0x%lx", file[0] ? file : "?",
		    (unsigned long)((const char *)pc -
		    (const char *)di.dli_fbase));
}
