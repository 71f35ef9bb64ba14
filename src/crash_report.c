/*
 * Crash reports: when a worker dies of a signal, the master names the
 * requests that were in flight on it, from the worker's scoreboard row
 * read just before the row is freed.  The row is the worker's to write,
 * and a worker that crashed may have scribbled on it first: sb_read_row
 * hands back a validated copy (states in range, strings terminated and
 * printable, times within [0, now]), the duration is bounded again by
 * the worker's start as the master recorded it, and the count of lines
 * by CRASH_REPORT_MAX.  It is display only; nothing is decided on it.
 */
#include "config.h"

#include <stdlib.h>

#include "pooled.h"

/* Request lines in one report; more become one "and N more". */
#define CRASH_REPORT_MAX	32

static bool
in_flight(const struct sb_thread *t)
{
	return t->state == SB_READING || t->state == SB_RUNNING ||
	    t->state == SB_WRITING;
}

/*
 * Log at level that worker pid of pool name ended as how (proc_describe_status)
 * and, one line each, the requests its scoreboard row in sb showed in
 * flight; row is still the worker's (not yet freed).  now is on
 * clock_ms().  Without a row to read, only the first line.
 */
void
crash_report(int level, const char *name, pid_t pid, const char *how,
    const struct scoreboard *sb, int row, int64_t now)
{
	struct sb_thread	*t = NULL;
	struct sb_row		 r;
	unsigned int		 i, n = 0, busy = 0, shown = 0;
	int64_t			 from;

	if (sb != NULL && row >= 0) {
		n = sb_threads(sb);
		if ((t = calloc(n, sizeof(*t))) == NULL ||
		    !sb_read_row(sb, row, now, &r, t) || r.pid != pid)
			n = 0;
	}
	for (i = 0; i < n; i++)
		if (in_flight(&t[i]))
			busy++;
	if (busy == 0) {
		log_msg(level, "pool %s: worker %ld %s", name, (long)pid, how);
		free(t);
		return;
	}
	log_msg(level, "pool %s: worker %ld %s while serving %u request%s",
	    name, (long)pid, how, busy, busy == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		if (!in_flight(&t[i]))
			continue;
		if (shown++ == CRASH_REPORT_MAX) {
			log_msg(level, "pool %s: worker %ld: and %u more", name,
			    (long)pid, busy - CRASH_REPORT_MAX);
			break;
		}
		/* A start before the worker's own is a lie: count from it. */
		from = t[i].start_ms < r.started_ms ? r.started_ms :
		    t[i].start_ms;
		log_msg(level, "pool %s: worker %ld: thread %u: %s %s "
		    "(%lld ms)", name, (long)pid, i,
		    t[i].method[0] ? t[i].method : "-",
		    t[i].uri[0] ? t[i].uri : "-",
		    (long long)(now > from ? now - from : 0));
	}
	free(t);
}
