/*
 * The master's own state, shared by the files that make it up (master.c,
 * master_workers.c, master_reload.c, master_pm.c) and by nothing else:
 * no other subsystem includes this header, so the compiler keeps worker
 * code out of the master's state.
 */
#ifndef POOLED_MASTER_H
#define POOLED_MASTER_H

enum master_stop {
	STOP_NONE,
	STOP_GRACEFUL,
	STOP_NOW
};

#define MASTER_PM_TICK_MS	1000	/* pm decisions, at most this often */
#define MASTER_MAX_LOG_MS	10000	/* "max_processes reached", at most */

struct master {
	struct generation	 cur;		/* serving; loading at start */
	struct generation	 next;		/* loading, after a HUP */
	uint32_t		 last_gen;	/* ids are never reused */
	const char		*next_failed;	/* why the reload failed */
	bool			 want_reload;
	bool			 reload_deferred_logged;
	struct slot_table	 slots;
	int			 ready_fd;	/* tells the parent we run */
	enum master_stop	 stop;
	int			 exit_code;
	struct pollfd		*pfd;
	size_t			*pfd_slot;	/* index into slots, per pfd */
	size_t			 pfd_cap;
	int64_t			 pm_due;	/* next pm tick */
	int64_t			 no_row_logged;	/* "no free row", at most */
	struct status_srv	*status;	/* status_listen, or NULL */
	char			 last_reload[256];
	int			 procfd;	/* /proc, for reaper.c */
};

/* pfd_slot of a pool's listen socket: PFD_POOL + pool index. */
#define PFD_POOL	((size_t)1 << 40)
/* pfd_slot of a status_listen descriptor. */
#define PFD_STATUS	((size_t)1 << 41)
/* pfd_slot of a worker's output (catch_workers_output): PFD_OUT + slot. */
#define PFD_OUT		((size_t)1 << 42)

/* master_workers.c: the workers, as the master acts on them */
enum sup_action	 master_slot_do(struct master *m, struct slot *s,
		    enum sup_event ev, int64_t now);
void		 master_deadlines(struct master *m, int64_t now);
void		 master_add_slots(struct master *m, const struct generation *g,
		    size_t i, int n, int64_t now);
void		 master_reap(struct master *m);
void		 master_sweep(struct master *m);
void		 master_send_log(struct master *m);
void		 master_send_access_logs(struct master *m);
void		 master_retire_kept(struct master *m);
void		 master_chan_dispatch(struct master *m, size_t idx);

/* master_reload.c: generations loaded, committed and dropped */
void		 master_reload(struct master *m, int64_t now);
void		 master_generation_step(struct master *m, int64_t now);
void		 master_release_gen(struct master *m, struct generation *g,
		    const struct generation *keep);

/* master_pm.c: sizing the pools */
void		 master_pm_step(struct master *m, int64_t now);

/* master.c: the loop and the signals */
void		 master_begin_stop(struct master *m, enum master_stop how);

#endif
