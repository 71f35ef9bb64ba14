/*
 * Generations, as the master runs them: a reload (HUP) loads a new one
 * beside the one that serves (generation.c), starts its workers, and once
 * every one is ready commits it, asking the old workers to finish their
 * requests and exit; a config that does not load, a socket that does not
 * open or a new worker that fails to start drops it instead, and the old
 * one serves on, untouched.  The first start ends the same way.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"
#include "master.h"

/* Whether a worker of generation id is still on its way to ready. */
static bool
gen_starting(const struct master *m, uint32_t id)
{
	size_t	 i;

	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == id &&
		    (m->slots.v[i].state == SUP_WAITING ||
		    m->slots.v[i].state == SUP_SPAWNED))
			return true;
	return false;
}

/*
 * The master lets go of generation g (its workers keep their own
 * mappings), keeping what keep shares.
 */
void
master_release_gen(struct master *m, struct generation *g,
    const struct generation *keep)
{
	size_t	 i;

	/* Scoreboards keep took over stay: their rows count on. */
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == g->id && (keep == NULL ||
		    !gen_has_sb(keep, m->slots.v[i].sb))) {
			m->slots.v[i].sb = NULL;
			m->slots.v[i].row = -1;
		}
	gen_release(g, keep);
}

/* Drop a generation that failed to start; the serving one stays. */
static void
reload_abort(struct master *m, const char *why, int64_t now)
{
	size_t	 i;

	log_warnx("master: reload failed: %s; still serving generation %u "
	    "with the old configuration", why, m->cur.id);
	snprintf(m->last_reload, sizeof(m->last_reload), "failed: %s", why);
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->next.id)
			(void)master_slot_do(m, &m->slots.v[i],
			    SUP_EV_TERMINATE, now);
	master_release_gen(m, &m->next, &m->cur);
	m->next_failed = NULL;
}

/* Every new worker is ready: it serves, the old workers finish. */
static void
reload_commit(struct master *m, int64_t now)
{
	struct generation	 old = m->cur;
	size_t			 i, n = 0;

	m->cur = m->next;
	memset(&m->next, 0, sizeof(m->next));
	gen_commit(&m->cur, &old);
	for (i = 0; i < m->slots.n; i++) {
		struct slot *s = &m->slots.v[i];

		if (s->gen != old.id)
			continue;
		if (sup_has_process(s))
			n++;
		/* A pool the reload removed: its socket closes. */
		(void)master_slot_do(m, s, gen_keeps(&m->cur, &old, s->pool) ?
		    SUP_EV_DRAIN : SUP_EV_DRAIN_CLOSING, now);
	}
	master_release_gen(m, &old, &m->cur);
	log_set_level(m->cur.conf->log_level);
	log_notice("master: reload done: generation %u serves; %zu old "
	    "workers finish their requests", m->cur.id, n);
	snprintf(m->last_reload, sizeof(m->last_reload), "done: generation "
	    "%u", m->cur.id);
}

/*
 * HUP: read the config again; if valid, open what sockets it adds and
 * start its workers as the next generation.
 */
void
master_reload(struct master *m, int64_t now)
{
	const char	*why;
	unsigned int	*running;
	size_t		 i;

	if (m->next.state != GEN_NONE) {
		if (!m->reload_deferred_logged)
			log_notice("master: SIGHUP: a reload is starting "
			    "already; this one follows it");
		m->reload_deferred_logged = true;
		return;
	}
	m->want_reload = false;
	m->reload_deferred_logged = false;
	log_notice("master: SIGHUP: reloading %s", m->cur.conf->path);
	sd_notify_reloading();
	/*
	 * A new id even after an aborted reload: the workers of that one
	 * may still be on their way out, and must not pass for this one's.
	 * A load that fails started none, and leaves its id unused.
	 */
	if (gen_load(&m->next, m->last_gen + 1, m->cur.conf->path, &m->cur,
	    now, &why) == -1) {
		log_warnx("master: reload: %s; still serving the old "
		    "configuration", why);
		snprintf(m->last_reload, sizeof(m->last_reload), "failed: %s",
		    why);
		return;
	}
	m->last_gen++;
	running = xcalloc(m->cur.conf->npools, sizeof(*running));
	for (i = 0; i < m->slots.n; i++)
		if (m->slots.v[i].gen == m->cur.id &&
		    sup_staying(&m->slots.v[i]))
			running[m->slots.v[i].pool]++;
	for (i = 0; i < m->next.conf->npools; i++)
		master_add_slots(m, &m->next, i, gen_start_size(
		    &m->next.conf->pools[i], &m->cur, running), now);
	free(running);
	log_notice("master: reload: starting generation %u (%zu pools)",
	    m->next.id, m->next.conf->npools);
}

/*
 * A loading generation's end: the first one serves once every worker is
 * ready (or pooled stops, past start_timeout); a reload's commits, or is
 * dropped when a new worker failed or start_timeout passed.
 */
void
master_generation_step(struct master *m, int64_t now)
{
	if (m->cur.state == GEN_LOADING) {
		if (!gen_starting(m, m->cur.id)) {
			gen_commit(&m->cur, NULL);
			log_notice("master: all pools started (%zu workers)",
			    slot_count_live(&m->slots));
			sd_notify_ready(slot_count_live(&m->slots));
			if (m->ready_fd != -1) {
				(void)write(m->ready_fd, "1", 1);
				m->ready_fd = -1;
			}
		} else if (now >= m->cur.deadline) {
			log_warnx("master: workers not ready after "
			    "start_timeout (%d s); stopping",
			    m->cur.conf->start_timeout);
			m->exit_code = 1;
			master_begin_stop(m, STOP_NOW);
		}
		return;
	}
	if (m->next.state != GEN_LOADING)
		return;
	if (m->next_failed != NULL)
		reload_abort(m, m->next_failed, now);
	else if (!gen_starting(m, m->next.id))
		reload_commit(m, now);
	else if (now >= m->next.deadline)
		reload_abort(m, "the new workers were not ready within "
		    "start_timeout", now);
	else
		return;
	master_retire_kept(m);
}
