/*
 * A worker's lifecycle as the master sees it: one state per slot, one
 * function (sup_step) that moves it, and a deadline in every state but
 * "ready", so that nothing the master waits for can hang it.
 *
 *   waiting      no process; one is started at the deadline (back-off)
 *   spawned      forked, not ready yet; killed at the deadline
 *   ready        serving; no deadline of the master's
 *   replacing    serving while its replacement starts; the master says
 *                so at the deadline, as the replacement is late
 *   draining     asked to finish its requests; SIGTERM at the deadline
 *   terminating  sent SIGTERM; SIGKILL at the deadline
 *   killed       sent SIGKILL; sent again at the deadline
 *   reaped       gone for good; the slot is dropped
 *
 * The process of a slot that dies while spawned or ready (or is killed
 * from those states) is replaced in the same slot: the slot goes back to
 * waiting, with exponential back-off if it died before it was ready, and
 * no sooner than SLOT_MIN_INTERVAL_MS after its previous start, so a
 * crashing handler cannot turn the master into a fork loop.  Once asked
 * to stop, or once replaced by a slot of its own, a slot ends reaped.
 *
 * Nothing here forks, signals, writes to a channel or reads the clock:
 * sup_step returns what the master must do, and the master does it.  So
 * the whole machine is unit-tested with a fake clock and no processes.
 */
#include "config.h"

#include <stdint.h>

#include "pooled.h"

/* A killed process still there: SIGKILL again this often. */
#define SUP_KILL_RETRY_MS	1000

static const char *const state_names[] = {
	[SUP_WAITING] = "waiting",
	[SUP_SPAWNED] = "spawned",
	[SUP_READY] = "ready",
	[SUP_REPLACING] = "replacing",
	[SUP_DRAINING] = "draining",
	[SUP_TERMINATING] = "terminating",
	[SUP_KILLED] = "killed",
	[SUP_REAPED] = "reaped"
};

static const char *const event_names[] = {
	[SUP_EV_SPAWNED] = "spawned",
	[SUP_EV_SPAWN_FAILED] = "spawn failed",
	[SUP_EV_POSTPONE] = "postpone",
	[SUP_EV_READY] = "ready",
	[SUP_EV_REPLACE] = "replace",
	[SUP_EV_DRAIN] = "drain",
	[SUP_EV_DRAIN_CLOSING] = "drain and close",
	[SUP_EV_TERMINATE] = "terminate",
	[SUP_EV_KILL] = "kill",
	[SUP_EV_DEADLINE] = "deadline",
	[SUP_EV_EXITED] = "exited",
	[SUP_EV_CRASHED] = "crashed",
	[SUP_EV_DROP] = "drop"
};

/* The name of a state, for logs. */
const char *
sup_state_name(enum sup_state st)
{
	if ((unsigned int)st >= sizeof(state_names) / sizeof(state_names[0]))
		return "?";
	return state_names[st];
}

/* The name of an event, for logs. */
const char *
sup_event_name(enum sup_event ev)
{
	if ((unsigned int)ev >= sizeof(event_names) / sizeof(event_names[0]))
		return "?";
	return event_names[ev];
}

/* Whether the slot has a process (to signal, to reap). */
bool
sup_has_process(const struct slot *s)
{
	return s->state >= SUP_SPAWNED && s->state <= SUP_KILLED;
}

/* Whether the slot's process serves: it said it was ready, not told to go. */
bool
sup_serving(const struct slot *s)
{
	return s->state == SUP_READY || s->state == SUP_REPLACING;
}

/* Whether the slot stays in its pool: neither stopping nor replaced. */
bool
sup_staying(const struct slot *s)
{
	return s->state == SUP_WAITING || s->state == SUP_SPAWNED ||
	    s->state == SUP_READY;
}

static void
enter(struct slot *s, enum sup_state st, int64_t deadline)
{
	s->state = st;
	s->deadline = deadline;
}

/*
 * The process died, or never started: when may the next start in the
 * slot be?  An early death (abnormal, before ready) doubles the back-off
 * and counts towards a crash loop; a worker that was serving restarts
 * without back-off, as a request that crashes it must not keep the pool
 * down for minutes.
 */
static void
schedule_respawn(struct slot *s, bool abnormal, int64_t now)
{
	int64_t	 due;

	if (abnormal && !s->served) {
		if (s->backoff_ms == 0)
			s->backoff_ms = SLOT_MIN_INTERVAL_MS;
		else if (s->backoff_ms < SLOT_BACKOFF_MAX_MS / 2)
			s->backoff_ms *= 2;
		else
			s->backoff_ms = SLOT_BACKOFF_MAX_MS;
		if (s->early_deaths == 0 ||
		    now - s->loop_start_ms > SLOT_LOOP_WINDOW_MS) {
			s->loop_start_ms = now;
			s->early_deaths = 0;
		}
		s->early_deaths++;
	} else {
		s->backoff_ms = 0;
		s->early_deaths = 0;
	}
	due = now + s->backoff_ms;
	if (due < s->started_ms + SLOT_MIN_INTERVAL_MS)
		due = s->started_ms + SLOT_MIN_INTERVAL_MS;
	s->pid = -1;
	s->chan = -1;
	s->served = false;
	enter(s, SUP_WAITING, due);
}

/* The process is gone: start another, or end the slot. */
static enum sup_action
gone(struct slot *s, bool abnormal, int64_t now)
{
	if (s->respawn) {
		schedule_respawn(s, abnormal, now);
		return SUP_ACT_NONE;
	}
	s->pid = -1;
	s->chan = -1;
	enter(s, SUP_REAPED, SUP_NO_DEADLINE);
	return SUP_ACT_NONE;
}

/* Ask a live process to finish its requests and exit. */
static enum sup_action
drain(struct slot *s, bool closing, int64_t now, const struct sup_times *t)
{
	switch (s->state) {
	case SUP_WAITING:
		enter(s, SUP_REAPED, SUP_NO_DEADLINE);
		return SUP_ACT_NONE;
	case SUP_SPAWNED:
	case SUP_READY:
	case SUP_REPLACING:
		s->respawn = false;
		enter(s, SUP_DRAINING, now + t->graceful_ms);
		return closing ? SUP_ACT_ASK_DRAIN_CLOSING : SUP_ACT_ASK_DRAIN;
	case SUP_DRAINING:
	case SUP_TERMINATING:
	case SUP_KILLED:
		s->respawn = false;
		return SUP_ACT_NONE;	/* going already */
	default:
		return SUP_ACT_ILLEGAL;
	}
}

/* Tell a live process to exit now. */
static enum sup_action
terminate(struct slot *s, int64_t now, const struct sup_times *t)
{
	switch (s->state) {
	case SUP_WAITING:
		enter(s, SUP_REAPED, SUP_NO_DEADLINE);
		return SUP_ACT_NONE;
	case SUP_SPAWNED:
	case SUP_READY:
	case SUP_REPLACING:
	case SUP_DRAINING:
		s->respawn = false;
		enter(s, SUP_TERMINATING, now + t->kill_ms);
		return SUP_ACT_TERM;
	case SUP_TERMINATING:
	case SUP_KILLED:
		s->respawn = false;
		return SUP_ACT_NONE;
	default:
		return SUP_ACT_ILLEGAL;
	}
}

/* The slot's deadline passed: what its state says happens then. */
static enum sup_action
expire(struct slot *s, int64_t now, const struct sup_times *t)
{
	if (now < s->deadline)
		return SUP_ACT_NONE;
	switch (s->state) {
	case SUP_WAITING:
		return SUP_ACT_SPAWN;	/* stays waiting until it forks */
	case SUP_SPAWNED:
		/* Never ready: killed, and started again with back-off. */
		enter(s, SUP_KILLED, now + SUP_KILL_RETRY_MS);
		return SUP_ACT_KILL_LATE;
	case SUP_REPLACING:
		s->deadline = now + t->start_ms;
		return SUP_ACT_WARN_LATE;
	case SUP_DRAINING:
		enter(s, SUP_TERMINATING, now + t->kill_ms);
		return SUP_ACT_TERM_LATE;
	case SUP_TERMINATING:
		enter(s, SUP_KILLED, now + SUP_KILL_RETRY_MS);
		return SUP_ACT_KILL;
	case SUP_KILLED:
		s->deadline = now + SUP_KILL_RETRY_MS;
		return SUP_ACT_KILL;
	default:
		return SUP_ACT_NONE;	/* ready, reaped: no deadline */
	}
}

/*
 * Move slot s by event ev at time now, with the pool's timeouts t, and
 * return what the master must do.  SUP_ACT_ILLEGAL: the event cannot
 * happen in this state (the caller logs it); the slot is unchanged.
 * SUP_EV_SPAWNED takes the process's pid and channel end from s->pid and
 * s->chan, which the caller sets first.
 */
enum sup_action
sup_step(struct slot *s, enum sup_event ev, int64_t now,
    const struct sup_times *t)
{
	switch (ev) {
	case SUP_EV_SPAWNED:
		if (s->state != SUP_WAITING)
			return SUP_ACT_ILLEGAL;
		s->respawn = true;
		s->served = false;
		s->retire_pending = 0;
		s->started_ms = now;
		s->last_requests = 0;
		s->idle_since = 0;
		enter(s, SUP_SPAWNED, now + t->start_ms);
		return SUP_ACT_NONE;
	case SUP_EV_SPAWN_FAILED:
		if (s->state != SUP_WAITING)
			return SUP_ACT_ILLEGAL;
		/* As if it had died before ready. */
		s->started_ms = now;
		schedule_respawn(s, true, now);
		return SUP_ACT_NONE;
	case SUP_EV_POSTPONE:
		if (s->state != SUP_WAITING)
			return SUP_ACT_ILLEGAL;
		s->deadline = now + SLOT_MIN_INTERVAL_MS;
		return SUP_ACT_NONE;
	case SUP_EV_READY:
		if (s->state == SUP_SPAWNED) {
			s->served = true;
			enter(s, SUP_READY, SUP_NO_DEADLINE);
			return SUP_ACT_NONE;
		}
		/* Told to go before it said so: it goes all the same. */
		if (sup_has_process(s))
			return SUP_ACT_NONE;
		return SUP_ACT_ILLEGAL;
	case SUP_EV_REPLACE:
		if (s->state != SUP_READY)
			return SUP_ACT_ILLEGAL;
		/* Its replacement has a slot: this one will not come back. */
		s->respawn = false;
		enter(s, SUP_REPLACING, now + SLOT_MIN_INTERVAL_MS +
		    t->start_ms);
		return SUP_ACT_NONE;
	case SUP_EV_DRAIN:
	case SUP_EV_DRAIN_CLOSING:
		return drain(s, ev == SUP_EV_DRAIN_CLOSING, now, t);
	case SUP_EV_TERMINATE:
		return terminate(s, now, t);
	case SUP_EV_KILL:
		if (!sup_has_process(s))
			return SUP_ACT_ILLEGAL;
		/* Like a crash: it comes back if it would have. */
		enter(s, SUP_KILLED, now + SUP_KILL_RETRY_MS);
		return SUP_ACT_KILL;
	case SUP_EV_DEADLINE:
		return expire(s, now, t);
	case SUP_EV_EXITED:
	case SUP_EV_CRASHED:
		if (!sup_has_process(s))
			return SUP_ACT_ILLEGAL;
		return gone(s, ev == SUP_EV_CRASHED, now);
	case SUP_EV_DROP:
		if (s->state != SUP_WAITING)
			return SUP_ACT_ILLEGAL;
		enter(s, SUP_REAPED, SUP_NO_DEADLINE);
		return SUP_ACT_NONE;
	}
	return SUP_ACT_ILLEGAL;
}

/* Whether the slot's crash-loop counter says it keeps dying at start. */
bool
sup_looping(const struct slot *s)
{
	return s->state == SUP_WAITING && s->early_deaths >= SLOT_LOOP_COUNT;
}
