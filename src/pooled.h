/*
 * Internal interfaces of pooled, grouped by the file that implements them.
 * The public module API is include/pooled.h; this header includes it.
 */
#ifndef POOLED_INTERNAL_H
#define POOLED_INTERNAL_H

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <poll.h>

#include <pthread.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../include/pooled.h"

#define POOLED_PRINTFLIKE(f, a)	__attribute__((format(printf, f, a)))
#define POOLED_NORETURN		__attribute__((noreturn))
#define POOLED_NOINLINE		__attribute__((noinline))
#define POOLED_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("address")))

/* conf.c */

enum listen_kind {
	LISTEN_UNIX,
	LISTEN_TCP
};

/* A parsed listen address: "unix:/p", "/p", "host:port", "[v6]:port". */
struct listen_addr {
	enum listen_kind	 kind;
	char			 text[256];	/* as written, for logs */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 path[108];	/* LISTEN_UNIX only */
};

/* acl.c: which peers a TCP listener lets in */
struct client_net {
	sa_family_t		 family;	/* AF_INET or AF_INET6 */
	uint8_t			 addr[16];
	unsigned int		 prefix;	/* bits that must match */
};
struct client_acl {
	struct client_net	*v;
	size_t			 n;
	bool			 any;		/* "any": everyone */
};

/* A resource limit a pool sets: soft and hard both become value. */
struct pool_rlimit {
	int			 resource;	/* RLIMIT_... */
	const char		*name;		/* its option, for logs */
	rlim_t			 value;		/* RLIM_INFINITY: unlimited */
};
#define POOL_RLIMITS_MAX	4

enum pool_protocol {
	PROTO_FASTCGI,
	PROTO_SCGI
};

enum pool_handler {
	HANDLER_MODULE,
	HANDLER_CGI
};

enum pool_pm {
	PM_STATIC,		/* processes, always */
	PM_DYNAMIC,		/* min..max_processes, by spare threads */
	PM_ONDEMAND		/* none until a connection waits */
};

#define REQUEST_LOG_MAX	65536	/* default request_log_max */

/* One "pool NAME { ... }" section, validated and immutable. */
struct pool_conf {
	char			*name;
	char			*file;		/* the file it is in */
	int			 line;		/* where the section starts */
	struct listen_addr	 listen;
	unsigned int		 listen_mode;	/* unix sockets, default 0660 */
	uid_t			 listen_uid;	/* unix sockets; -1: the master's */
	gid_t			 listen_gid;	/* unix sockets; -1: the master's */
	struct client_acl	 allowed_clients; /* TCP: who may connect */
	bool			 allowed_clients_set; /* written, not default */
	/* Who the workers and their CGI programs run as (privs.c). */
	bool			 has_user;	/* false: as the master */
	int			 user_line;	/* where user is set, or 0 */
	char			*user;		/* its name, for logs */
	uid_t			 uid;
	gid_t			 gid;
	gid_t			*groups;	/* supplementary, as initgroups */
	size_t			 ngroups;
	bool			 allow_root;	/* may run as uid 0 */
	char			*chroot;	/* NULL: none */
	char			*chdir;		/* inside the chroot; NULL: "/" */
	struct pool_rlimit	 rlimits[POOL_RLIMITS_MAX]; /* the workers' */
	size_t			 nrlimits;
	struct pool_rlimit	 cgi_rlimits[POOL_RLIMITS_MAX]; /* programs' */
	size_t			 ncgi_rlimits;
	int			 listen_backlog;
	enum pool_protocol	 protocol;
	int			 processes;	/* at start (ondemand: 0) */
	int			 threads;
	enum pool_handler	 handler;
	char			*module;	/* absolute path to the .so */
	char		       **module_options; /* "key=value", NULL-ended */
	size_t			 nmodule_options;
	char		       **cgi_roots;	/* absolute real paths, NULL-ended */
	size_t			 ncgi_roots;
	char		       **cgi_env;	/* "NAME=VALUE" for programs */
	size_t			 ncgi_env;
	char		       **cgi_pass_params; /* names, "PREFIX*" */
	size_t			 ncgi_pass_params;
	bool			 cgi_x_accel;	/* local redirects internal */
	char			*cgi_x_accel_prefix; /* limits them; or NULL */
	int			 cgi_timeout;	/* seconds a program may run */
	size_t			 cgi_hold_max;	/* output held before the body */
	char			*cgi_spill_dir;	/* held output past memory */
	bool			 cgi_stderr_log; /* its stderr to the log */
	bool			 cgi_stderr_server; /* ... to the web server */
	size_t			 request_log_max; /* stderr, module lines */
	int			 log_repeat_window; /* seconds; 0: every line */
	char		       **cgi_interpreters; /* ".ext=/interpreter" */
	size_t			 ncgi_interpreters;
	int			 read_timeout;	/* seconds, per read and for params */
	int			 write_timeout;	/* seconds, per write */
	int			 keepalive_timeout; /* seconds an idle kept conn waits */
	int			 request_timeout; /* seconds a request may last */
	int			 max_kept_connections; /* per worker process */
	int			 max_waiting_connections; /* new, header not in */
	int			 malloc_arena_max; /* per worker; 0: glibc's */
	size_t			 scgi_header_max; /* bytes of the netstring */
	unsigned int		 scgi_max_headers;
	size_t			 max_params_size; /* FastCGI params, bytes */
	unsigned int		 max_params;	/* FastCGI params, count */
	int			 body_timeout;	/* seconds a body may wait */
	unsigned int		 body_min_rate;	/* bytes/s that earn more */
	uint64_t		 max_body;	/* bytes; 0: unlimited */
	int			 max_requests;	/* then replaced; 0: never */
	int			 max_requests_jitter; /* up to this many more */
	int			 slow_request;	/* seconds; logged; 0: off */
	bool			 slow_request_backtrace; /* log its stack */
	bool			 catch_workers_output; /* fds 1, 2: log */
	enum pool_pm		 pm;
	int			 min_processes;	/* dynamic */
	int			 max_processes;	/* dynamic, ondemand */
	int			 min_spare_threads; /* dynamic */
	int			 max_spare_threads; /* dynamic */
	int			 idle_timeout;	/* ondemand: seconds */
	char			*status_path;	/* answered by pooled; or NULL */
	char			*ping_path;
	char			*ping_response;
	char			*access_log;	/* path, "syslog"; NULL: off */
	char			*access_format;	/* checked escapes */
};

/* The whole config file, validated and immutable. */
struct conf {
	char			*path;
	char			*error_log;	/* path, "stderr" or "syslog" */
	int			 log_level;	/* enum pooled_log_level */
	int			 syslog_facility; /* LOG_DAEMON ... */
	char			*syslog_ident;
	char			*pid_file;	/* NULL: none */
	int			 graceful_timeout; /* seconds, QUIT */
	int			 kill_timeout;	/* seconds, TERM before KILL */
	int			 start_timeout;	/* seconds for every pool to start */
	bool			 has_status_listen;
	struct listen_addr	 status_listen;	/* the master's status address */
	struct client_acl	 status_allowed_clients; /* TCP status_listen */
	bool			 status_allowed_clients_set; /* written */
	int			 status_max_per_client; /* connections a peer holds */
	struct pool_conf	*pools;
	size_t			 npools;
};

/* Parse and validate path; on error log "file:line: reason", NULL. */
struct conf	*conf_load(const char *path);
void		 conf_free(struct conf *);
/* Parse a log level name; -1 when unknown. */
int		 conf_log_level(const char *name);

/* proctitle.c */
void		 proctitle_init(int argc, char *argv[]);
void		 proctitle_set(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);

/* conf_text.c */
struct conf_text;
/* Read path and the files it includes; NULL (logged) on error. */
struct conf_text *conf_text_load(const char *path);
/* The text, NUL-terminated, and its length in *lenp. */
char		*conf_text_buf(const struct conf_text *, size_t *lenp);
/* The file a line of the text is in, and its line there. */
const char	*conf_text_where(const struct conf_text *, int line,
		    int *file_line);
/* A global setting as written (status_listen, pid_file), or NULL. */
const char	*conf_text_global(const struct conf_text *, const char *name);
void		 conf_text_free(struct conf_text *);

/* acl.c */
int		 acl_parse(const char *text, struct client_acl *, char *err,
		    size_t errlen);
void		 acl_loopback(struct client_acl *);
void		 acl_free(struct client_acl *);
bool		 acl_allows(const struct client_acl *, const struct sockaddr *,
		    socklen_t);
void		 acl_describe(const struct client_acl *, char *buf, size_t len);
/* Warn of TCP listeners on every interface with the default list. */
void		 acl_warn_wildcard(const struct conf *);

/* listen_addr.c */
/* Parse a listen address; on error fill err and return -1. */
int		 listen_addr_parse(const char *text, struct listen_addr *,
		    char *err, size_t errlen);
/* Two addresses that cannot both be bound (same path, same port...). */
bool		 listen_addr_conflict(const struct listen_addr *,
		    const struct listen_addr *);
/* The very same address: one socket serves both. */
bool		 listen_addr_same(const struct listen_addr *,
		    const struct listen_addr *);
/* A TCP address on every interface: "*:port", "0.0.0.0:port", "[::]". */
bool		 listen_addr_wildcard(const struct listen_addr *);

/* cgi_env.c */
/* What the CGI handler resolved a request to. */
struct cgi_target {
	int		 fd;		/* O_PATH: the file that was checked */
	int		 dirfd;		/* O_PATH: its directory, also checked */
	const char	*base;		/* its name in that directory */
	bool		 script;	/* starts with "#!" */
	const char	*interpreter;	/* from cgi_interpreter, or NULL */
	char		 path[4096];	/* the program's real path */
	char		 dir[4096];	/* its directory: the child's cwd */
	const char	*script_name;	/* SCRIPT_NAME without PATH_INFO */
	char		 script_name_buf[4096];
	const char	*path_info;	/* NULL when none */
	char		 path_info_buf[4096];
	char		 path_translated[4096]; /* "" when no PATH_INFO */
	const char	*document_root;	/* in a chroot, its inside; or NULL */
};
char		**cgi_env_build(char *const *params, const struct cgi_target *,
		    const struct pool_conf *, const char *log_prefix);
/* Whether no param may ever set this name. */
bool		 cgi_env_denied(const char *name, size_t namelen);
/* Why a cgi_pass_params entry is refused, or NULL. */
const char	*cgi_env_pass_check(const char *pattern);

/* cgi_path.c */
int		 cgi_path_resolve(char *const *params,
		    const struct pool_conf *, struct cgi_target *,
		    const char **file, int *status, const char **why);
void		 cgi_path_release(struct cgi_target *);

/* cgi_spawn.c: start a CGI program */
struct cgi_child {
	pid_t		 pid;
	int		 in;		/* its stdin, ours to write */
	int		 out;		/* its stdout */
	int		 err;		/* its stderr */
};
void		 cgi_spawn_init(void);
int		 cgi_spawn(const struct cgi_target *, char *const *envp,
		    const struct pool_rlimit *, size_t, _Atomic pid_t *slot,
		    struct cgi_child *, const char **why);

/* handler_cgi.c */
#define CGI_HOLD_MAX	(8 * 1024 * 1024)	/* default cgi_hold_max */
#define CGI_SPILL_DIR	"/var/tmp"		/* default cgi_spill_dir */
struct backend;
const struct backend *handler_cgi_open(const struct pool_conf *);
void		 handler_cgi_kill_all(void);
void		 handler_cgi_prepare(void);

/* cgi_header.c */
enum cgi_header_state {
	CGI_HEADER_MORE,	/* the block is not complete yet */
	CGI_HEADER_DONE,	/* complete and valid */
	CGI_HEADER_BAD		/* malformed: answer 502 */
};
/* What the program's header block said, as far as pooled cares. */
struct cgi_header {
	int		 status;	/* from Status:, or 0 */
	bool		 has_content_type;
	bool		 has_location;
	const char	*location;	/* its value, in the parsed buffer */
	size_t		 location_len;
	unsigned int	 nheaders;
	size_t		 length;	/* bytes of the block, blank line too */
};
enum cgi_header_state cgi_header_parse(const char *buf, size_t len,
		    struct cgi_header *, const char **why);
/* Whether a Location may be an X-Accel-Redirect under prefix. */
bool		 cgi_header_internal_path(const char *loc, size_t len,
		    const char *prefix);
/* Where a local redirect's path goes on after its leading slashes. */
size_t		 cgi_header_path_rest(const char *loc, size_t len);

/* log.c */
void		 log_init(const char *role, int level);
void		 log_set_role(const char *role);
int		 log_open(const char *error_log);
int		 log_open_syslog(const char *error_log, const char *sockpath);
void		 log_set_syslog(int facility, const char *ident);
void		 log_set_tee(bool on);
int		 log_reopen(void);
int		 log_adopt(int fd);
int		 log_leave_stderr(void);
int		 log_fd(void);
void		 log_set_level(int level);
bool		 log_enabled(int level);
void		 log_msg(int level, const char *fmt, ...)
		    POOLED_PRINTFLIKE(2, 3);
void		 log_vmsg(int level, const char *prefix, const char *fmt,
		    va_list ap) POOLED_PRINTFLIKE(3, 0);
void		 log_warn(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
void		 log_warnx(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
void		 log_notice(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
void		 log_info(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
void		 log_debug(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
size_t		 log_escape(char *dst, size_t dstsize, const char *src,
		    size_t len);
size_t		 log_escape_field(char *dst, size_t dstsize, const char *src,
		    size_t len);
int		 log_open_file(const char *path, const char *what);
int		 log_syslog_socket(const char *path);
void		 fatal(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2)
		    POOLED_NORETURN;
void		 fatalx(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2)
		    POOLED_NORETURN;

/* log_peer.c */
void		 log_peer(int level, const char *key, const char *fmt, ...)
		    POOLED_PRINTFLIKE(3, 4);
void		 log_peer_fd(int level, int fd, const char *fmt, ...)
		    POOLED_PRINTFLIKE(3, 4);
void		 log_peer_key(int fd, char *buf, size_t len);
void		 log_peer_flush(int64_t now);
void		 log_peer_set_window(int seconds);

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
char		*xstrdup(const char *);
void		*xreallocarray(void *, size_t, size_t);

/* clock.c */
int64_t		 clock_ms(void);
int64_t		 clock_wall_ms(void);
int64_t		 clock_us(void);
int64_t		 clock_wall_us(void);

/* rundir.c */
int		 rundir_create(const struct conf *);
int		 rundir_check(const struct conf *);
bool		 rundir_creates(const char *path);

/* sd_notify.c: systemd's sd_notify(3) protocol */
void		 sd_notify_init(void);
bool		 sd_notify_enabled(void);
void		 sd_notify_send(const char *fmt, ...) POOLED_PRINTFLIKE(1, 2);
void		 sd_notify_ready(size_t workers);
void		 sd_notify_reloading(void);
void		 sd_notify_reload_settled(bool in_progress, size_t workers);
void		 sd_notify_stopping(void);
bool		 sd_notify_status_due(int64_t now);
void		 sd_notify_status(int64_t now, size_t workers,
		    uint64_t requests);

/* sd_listen.c: sockets passed by systemd (sd_listen_fds(3)) */
int		 sd_listen_init(void);
int		 sd_listen_take(const struct pool_conf *, int *fdp);
bool		 sd_listen_owns(int fd);
void		 sd_listen_warn_unused(void);

/* sock.c */
int		 sock_open(const struct pool_conf *);
void		 sock_rcvbuf(const struct pool_conf *, int fd);
int		 sock_apply(const struct pool_conf *, int fd);
void		 sock_unlink(const struct pool_conf *, int fd);
int		 sock_check_dir(const struct pool_conf *);
const char	*sock_dir_problem(uid_t owner, mode_t mode,
		    const struct pool_conf *);
void		 sock_warn_access(const struct pool_conf *);
void		 sock_peer_name(int fd, char *buf, size_t len);
int		 sock_send_all(int fd, const void *buf, size_t len);
bool		 sock_addr_name(const struct sockaddr_storage *, socklen_t,
		    char *buf, size_t len);

/* sig.c */
int		 sig_init(void);
int		 sig_fd(void);
uint32_t	 sig_drain(void);
#define SIG_BIT(s)	(1U << (s))

/* chan.c */
enum chan_type {
	CHAN_READY = 1,		/* worker -> master: accepting requests */
	CHAN_STOP_GRACEFUL,	/* master -> worker: finish in-flight, exit */
	CHAN_STOP_NOW,		/* master -> worker: exit now */
	CHAN_REOPEN_LOG,	/* master -> worker: reopen the error log */
	CHAN_RETIRE,		/* worker -> master: replace me (u32 reason) */
	CHAN_REOPEN_ACCESS_LOG	/* master -> worker: the reopened access log */
};

/* Why a worker asks to be replaced (CHAN_RETIRE's payload). */
enum retire_reason {
	RETIRE_MAX_REQUESTS = 1,	/* served max_requests */
	RETIRE_STUCK,			/* a request outlived request_timeout */
	RETIRE_LISTEN			/* cannot watch its listen socket */
};
/* CHAN_STOP_GRACEFUL's optional u32: the pool's socket closes with it. */
#define CHAN_STOP_CLOSING	0x1u
#define CHAN_MAX_PAYLOAD	256

struct chan_msg {
	uint32_t	 type;
	uint32_t	 len;
	uint8_t		 payload[CHAN_MAX_PAYLOAD];
};

int		 chan_pair(int fds[2]);
int		 chan_send(int fd, enum chan_type, const void *payload,
		    size_t len);
int		 chan_recv(int fd, struct chan_msg *, bool *eof);
int		 chan_send_fd(int fd, enum chan_type, int passfd);
int		 chan_recv_fd(int fd, struct chan_msg *, bool *eof,
		    int *passfd);

/* supervisor.c: a worker's lifecycle as the master sees it */
enum sup_state {
	SUP_WAITING,		/* no process; started at the deadline */
	SUP_SPAWNED,		/* not ready yet; killed at the deadline */
	SUP_READY,		/* serving; no deadline */
	SUP_REPLACING,		/* serving; its replacement starts */
	SUP_DRAINING,		/* finishing its requests; SIGTERM next */
	SUP_TERMINATING,	/* sent SIGTERM; SIGKILL next */
	SUP_KILLED,		/* sent SIGKILL */
	SUP_REAPED		/* gone for good */
};

enum sup_event {
	SUP_EV_SPAWNED,		/* forked: s->pid, s->chan are set */
	SUP_EV_SPAWN_FAILED,	/* fork failed */
	SUP_EV_POSTPONE,	/* no room to start it yet: try later */
	SUP_EV_READY,		/* it sent CHAN_READY */
	SUP_EV_REPLACE,		/* a slot for its replacement was added */
	SUP_EV_DRAIN,		/* finish your requests, then exit */
	SUP_EV_DRAIN_CLOSING,	/* the same; its pool's socket closes */
	SUP_EV_TERMINATE,	/* exit now */
	SUP_EV_KILL,		/* it broke the channel: SIGKILL */
	SUP_EV_DEADLINE,	/* its deadline passed */
	SUP_EV_EXITED,		/* reaped: exit status 0 */
	SUP_EV_CRASHED,		/* reaped: a signal or a non-zero status */
	SUP_EV_DROP		/* no process, and none is wanted */
};

enum sup_action {
	SUP_ACT_NONE,
	SUP_ACT_ILLEGAL,		/* the event cannot happen now */
	SUP_ACT_SPAWN,			/* fork the slot's worker */
	SUP_ACT_ASK_DRAIN,		/* send CHAN_STOP_GRACEFUL */
	SUP_ACT_ASK_DRAIN_CLOSING,	/* ... with CHAN_STOP_CLOSING */
	SUP_ACT_TERM,			/* send CHAN_STOP_NOW and SIGTERM */
	SUP_ACT_TERM_LATE,		/* SIGTERM: graceful_timeout passed */
	SUP_ACT_KILL,			/* send SIGKILL */
	SUP_ACT_KILL_LATE,		/* the same: not ready in time */
	SUP_ACT_WARN_LATE		/* say its replacement is late */
};

/* The pool's timeouts, in ms, that set the deadlines. */
struct sup_times {
	int64_t		 start_ms;	/* spawned to ready */
	int64_t		 graceful_ms;	/* draining to terminating */
	int64_t		 kill_ms;	/* terminating to killed */
};

#define SUP_NO_DEADLINE		INT64_MAX

#define SLOT_MIN_INTERVAL_MS	1000	/* between two starts of a slot */
#define SLOT_BACKOFF_MAX_MS	60000
#define SLOT_LOOP_COUNT		5	/* early deaths ... */
#define SLOT_LOOP_WINDOW_MS	60000	/* ... in this window: crash loop */

struct slot {
	enum sup_state	 state;
	int64_t		 deadline;	/* see supervisor.c, or none */
	bool		 respawn;	/* on exit, start another in the slot */
	bool		 served;	/* it sent CHAN_READY */
	size_t		 pool;		/* index into its generation's pools */
	uint32_t	 gen;		/* config generation */
	pid_t		 pid;		/* or -1 */
	int		 chan;		/* master's channel end, or -1 */
	uint32_t	 retire_pending; /* RETIRE reason kept, or 0 */
	pid_t		 replaces;	/* the retiring process this one is for */
	char		 name[40];	/* its pool's, for logs */
	int		 kill_cause;	/* RESTART_... killed for, or 0 */
	struct scoreboard *sb;		/* its pool's, or NULL */
	int		 row;		/* its row there, or -1 */
	struct wout	*out;		/* its stdout and stderr; or NULL */
	uint64_t	 last_requests;	/* pm: served at the last look */
	int64_t		 idle_since;	/* pm: all its threads idle; or 0 */
	int64_t		 started_ms;
	int64_t		 backoff_ms;
	int64_t		 loop_start_ms;	/* first early death in the window */
	unsigned int	 early_deaths;	/* within the window */
};

enum sup_action	 sup_step(struct slot *, enum sup_event, int64_t now,
		    const struct sup_times *);
bool		 sup_has_process(const struct slot *);
bool		 sup_serving(const struct slot *);
bool		 sup_staying(const struct slot *);
bool		 sup_looping(const struct slot *);
const char	*sup_state_name(enum sup_state);
const char	*sup_event_name(enum sup_event);

/* slot.c: the table of slots */
struct slot_table {
	struct slot	*v;
	size_t		 n;
};

void		 slot_table_init(struct slot_table *);
struct slot	*slot_add(struct slot_table *, size_t pool, uint32_t gen,
		    int64_t due);
void		 slot_table_compact(struct slot_table *);
void		 slot_table_free(struct slot_table *);
struct slot	*slot_by_pid(struct slot_table *, pid_t);
int		 slot_next_deadline(const struct slot_table *, int64_t now);
size_t		 slot_count_live(const struct slot_table *);

/* pm.c: the dynamic and ondemand sizing policy */
/* A pool as the master sees it, from its slots and the scoreboard. */
struct pm_view {
	unsigned int	 procs;		/* ready, neither stopping nor retiring */
	unsigned int	 starting;	/* started or due, not ready yet */
	unsigned int	 idle_threads;	/* over the ready workers */
	bool		 queued;	/* a connection waits to be accepted */
	int64_t		 oldest_idle_ms; /* longest a worker was all idle */
};
struct pm_decision {
	unsigned int	 start;		/* workers to start */
	bool		 retire;	/* stop the idlest worker */
	bool		 max_reached;	/* more were wanted: max_processes */
};
struct pm_decision pm_decide(const struct pool_conf *,
		    const struct pm_view *);

/* proc.c */
void		 proc_describe_status(int status, char *buf, size_t len);
int		 proc_close_fds_except(const int *keep, size_t nkeep);
/* What a new worker is given. */
struct worker_spec {
	const struct conf	*conf;
	size_t			 pool;
	uint32_t		 gen;
	int			 listen_fd;
	struct scoreboard	*sb;		/* its pool's */
	int			 row;		/* its row there, or -1 */
	struct scoreboard      **drop;		/* others, to unmap; NULL-ended */
	int			 access_fd;	/* its access log, or -1 */
};
pid_t		 proc_spawn_worker(const struct worker_spec *, int *chan,
		    int *out);

/* reaper.c: children nobody started on purpose */
typedef bool	 reaper_keep_fn(pid_t, void *);
int		 reaper_open(void);
size_t		 reaper_kill_children(int procfd, pid_t self, reaper_keep_fn *,
		    void *);

/* privs.c: what a worker gives up before running user code */
int		 privs_enter(const struct pool_conf *);
int		 privs_set_rlimits(const struct pool_rlimit *, size_t);
const char	*privs_inside(const struct pool_conf *, const char *path);
const struct pool_conf *privs_view(const struct pool_conf *);

/* preflight.c: who may run what, checked before start and reload */
int		 preflight_check(const struct conf *);

/* access_log.c */
#define ACCESS_LINE_MAX		4096	/* bytes of a line, newline included */
#define ACCESS_FIELD_MAX	1024	/* bytes of one escaped value */
#define ACCESS_FORMAT_DEFAULT	"%a - %u [%t] \"%m %r %H\" %s %B " \
	"\"%{HTTP_REFERER}e\" \"%{HTTP_USER_AGENT}e\" %D"
/* Who logs a line: what the request does not know. */
struct access_who {
	const char		*pool;
	pid_t			 pid;
	size_t			 thread;
};
int		 access_format_check(const char *fmt, char *err,
		    size_t errlen);
size_t		 access_log_format(char *buf, size_t size, const char *fmt,
		    const struct access_who *, const struct pooled_req *);
int		 access_log_open(const struct pool_conf *, int *fd);
bool		 access_log_is_file(const struct pool_conf *);
int		 access_log_reopen(const struct pool_conf *, int fd);
void		 access_log_init(const struct conf *, const struct pool_conf *,
		    int fd);
int		 access_log_adopt(int fd);
void		 access_log_write(const struct pooled_req *, size_t thread);

/* handler_so.c */
struct backend;
const struct backend *handler_so_open(const struct pool_conf *);
void		 handler_so_set_options(const struct pool_conf *);

/* req.c: the protocol side of a request, one implementation per protocol */
struct req_io {
	ssize_t	(*read)(void *ctx, void *buf, size_t len);
	int	(*write)(void *ctx, const void *buf, size_t len);
	int	(*conn_fd)(void *ctx);	/* to poll for the peer leaving */
	/* A line for the web server's error log; NULL: none in protocol. */
	int	(*write_err)(void *ctx, const void *buf, size_t len);
};

/* resp_head.c: a response's header block, followed as it is written */
struct resp_head {
	int			 state;
	int			 status;	/* Status:, or 200/302 once done */
	bool			 location;	/* a Location line was seen */
	bool			 vlead;		/* still in blanks before a value */
	int			 which;		/* this line: 1 Status, 2 Location */
	size_t			 len;		/* bytes of the block seen */
	unsigned int		 nheaders;
	size_t			 namelen;
	size_t			 vlen;
	char			 name[8];	/* enough for "Location" */
	char			 value[8];	/* enough for "404 " */
	const char		*why;		/* what made it malformed */
};
void		 resp_head_init(struct resp_head *);
bool		 resp_head_feed(struct resp_head *, const void *, size_t);
bool		 resp_head_end(struct resp_head *);
bool		 resp_head_done(const struct resp_head *);
int		 resp_head_status(const struct resp_head *);
bool		 http_tchar(unsigned char);

/* What every request carries, whatever the protocol. */
struct pooled_req {
	const struct req_io	*io;
	void			*ctx;
	char		       **envp;	/* "NAME=VALUE", NULL-ended */
	uint64_t		 id;
	size_t			 bytes_out;
	bool			 write_failed;
	int			 body_status;	/* set by io: a bad body, 400 */
	const char		*body_why;	/* and why, for the log */
	void			*thread_data;
	char			 log_prefix[48];
	size_t			 log_left;	/* a module's log bytes */
	size_t			 log_dropped;
	/* What observers (access log, metrics) read once it is over. */
	struct resp_head	 head;		/* the response's, as written */
	uint64_t		 bytes_in;	/* body bytes the handler read */
	int64_t			 start_us;	/* clock_us() at req_init */
	int64_t			 start_wall_us;	/* the wall clock then */
	int64_t			 duration_us;	/* set by req_end */
};

void		 req_init(struct pooled_req *, const struct req_io *,
		    void *ctx, char **envp, uint64_t id, void *thread_data);
const char	*req_envp_get(char *const *envp, const char *name);
int		 req_respond_error(struct pooled_req *, int status,
		    const char *reason);
void		 req_write_stderr(struct pooled_req *, const char *line,
		    size_t len);
void		 req_log_cap(struct pooled_req *, size_t max);
void		 req_log_uncap(struct pooled_req *);
/* The request is over: fix its duration, judge its header (logged). */
void		 req_end(struct pooled_req *);
/* The status the web server answers with; 0: no response header sent. */
int		 req_status(const struct pooled_req *);

/* backend: what a pool's handler does, in the worker */
struct backend {
	const char	*name;
	int		(*process_init)(void);
	void		(*process_fini)(void);
	int		(*thread_init)(void **thread_data);
	void		(*thread_fini)(void *thread_data);
	int		(*handle)(struct pooled_req *);
};

/* fcgi_ready.c */
#define FCGI_PARAMS_SIZE	65536	/* default max_params_size */
#define FCGI_MAX_PARAMS		512	/* default max_params */
#define FCGI_FRAMING_SLACK	4096	/* record headers, padding, begin */
#define FCGI_LEAD_MGMT_MAX	16	/* management records before one */
enum conn_readiness {
	CONN_EMPTY,		/* nothing to read yet */
	CONN_PARTIAL,		/* part of a request header */
	CONN_READY,		/* a whole header: a thread can take it */
	CONN_INVALID,		/* a malformed header: close it */
	CONN_CLOSED		/* EOF or error */
};
/* What a walk of a FastCGI request header found, once it is READY. */
struct fcgi_head {
	size_t		 begin_off;	/* the begin record; before: mgmt */
	size_t		 len;		/* up to the end of the params */
	bool		 request;	/* false: management records only */
	unsigned int	 req_id;
	bool		 keep_conn;	/* FCGI_KEEP_CONN */
	size_t		 params_off;	/* the first FCGI_PARAMS record */
	size_t		 nparams;
	size_t		 params_size;	/* sum of the pairs' content */
	size_t		 env_size;	/* bytes fcgi_envp_build needs */
};
enum conn_readiness fcgi_head_parse(const uint8_t *, size_t,
		    size_t max_params_size, size_t max_params,
		    struct fcgi_head *, const char **why);
enum conn_readiness fcgi_head_read(const uint8_t *, size_t,
		    struct fcgi_head *, const char **why);
enum conn_readiness fcgi_params_complete(const uint8_t *, size_t,
		    const char **why);
char	       **fcgi_envp_build(const uint8_t *, const struct fcgi_head *,
		    void *block);
void		 fcgi_ready_limits(size_t max_params_size, size_t max_params);
size_t		 fcgi_header_max(void);
enum conn_readiness fcgi_request_ready(int fd, const char **why);

/* fcgi_out.c */
#define FCGI_OUT_STDOUT		6
#define FCGI_OUT_STDERR		7
#define FCGI_OUT_BUF		8192	/* as libfcgi's writer */
struct fcgi_out {
	int		 fd;
	unsigned int	 id;
	unsigned int	 type;		/* of the record being filled */
	size_t		 rec;		/* where its header goes */
	size_t		 len;
	bool		 err_written;
	bool		 failed;
	uint8_t		*buf;		/* FCGI_OUT_BUF, from the first use */
};
int		 fcgi_out_start(struct fcgi_out *, int fd, unsigned int id);
void		 fcgi_out_free(struct fcgi_out *);
int		 fcgi_out_put(struct fcgi_out *, unsigned int type,
		    const void *, size_t);
int		 fcgi_out_end(struct fcgi_out *, uint32_t app_status);
bool		 fcgi_out_failed(const struct fcgi_out *);

/* fcgi_stream.c */
#define FCGI_MGMT_MAX		1024	/* management record content kept */
#define FCGI_MGMT_ANSWER_MAX	128
enum fcgi_event_kind {
	FCGI_EV_NONE,		/* all used; more is needed */
	FCGI_EV_DATA,		/* body bytes */
	FCGI_EV_EOF,		/* the empty FCGI_STDIN */
	FCGI_EV_MGMT,		/* a whole management record */
	FCGI_EV_ABORT,		/* FCGI_ABORT_REQUEST */
	FCGI_EV_ERROR		/* a record no web server sends */
};
struct fcgi_event {
	enum fcgi_event_kind	 kind;
	const uint8_t		*data;
	size_t			 len;
	unsigned int		 type;	/* of a management record */
	const char		*why;
};
struct fcgi_stream {
	unsigned int	 req_id;
	int		 state;
	uint8_t		 hdr[8];
	size_t		 hlen;
	unsigned int	 type;
	unsigned int	 id;
	size_t		 left;		/* content of the record not read */
	size_t		 pad;		/* padding not read */
	bool		 empty;		/* the record has no content */
	bool		 eof;		/* FCGI_STDIN ended */
	const char	*why;		/* the error, once in error */
	size_t		 mlen;
	uint8_t		 mgmt[FCGI_MGMT_MAX];
};
void		 fcgi_stream_init(struct fcgi_stream *, unsigned int req_id);
size_t		 fcgi_stream_next(struct fcgi_stream *, const uint8_t *,
		    size_t len, size_t max, struct fcgi_event *);
size_t		 fcgi_mgmt_answer(unsigned int type, const uint8_t *,
		    size_t len, unsigned int max_conns, unsigned int max_reqs,
		    uint8_t *out);

/* body.c */
struct body_clock {
	int64_t		 allowed_ms;
	int64_t		 waited_ms;
	uint64_t	 got;
	unsigned int	 rate;
};
void		 body_clock_start(struct body_clock *, int timeout_s,
		    unsigned int rate);
ssize_t		 body_recv(int fd, void *, size_t, struct body_clock *);
uint64_t	 body_received(const struct body_clock *);

/* peek.c */
typedef enum conn_readiness peek_judge_fn(const char *, size_t,
		    const char **why);
enum conn_readiness peek_judge(int fd, size_t max, peek_judge_fn *,
		    const char *too_large, const char **why);

/* scgi_parse.c */
#define SCGI_HEADER_MAX		65536	/* default scgi_header_max */
#define SCGI_MAX_HEADERS	512	/* default scgi_max_headers */
/* Where an SCGI request's header netstring lies, once it is complete. */
struct scgi_head {
	size_t		 total;		/* "len:" + block + ",": bytes to read */
	size_t		 block_off;	/* where the header block starts */
	size_t		 block_len;
	unsigned int	 nheaders;
	uint64_t	 content_length;
};
enum conn_readiness scgi_head_parse(const char *buf, size_t len,
		    size_t header_max, unsigned int max_headers,
		    struct scgi_head *, const char **why);
void		 scgi_envp_fill(char *block, size_t len, char **envp);

/* park.c */
#define PARK_LISTEN_TOKEN	UINT64_MAX	/* epoll data of the listen fd */
#define PARK_STOP_TOKEN		(UINT64_MAX - 1) /* of the stop eventfd */
typedef enum conn_readiness park_ready_fn(int fd, const char **why);
struct park;
struct park	*park_new(int epfd, int max_kept, int max_waiting,
		    park_ready_fn *);
void		 park_free(struct park *);
void		 park_waiting(struct park *, int fd, int64_t deadline);
void		 park_kept(struct park *, int fd, int64_t deadline);
void		 park_partial(struct park *, int fd, int64_t deadline);
int		 park_take(struct park *, uint64_t token);
void		 park_tick(struct park *, int64_t now);
size_t		 park_count_new(struct park *);
size_t		 park_count_kept(struct park *);
size_t		 park_room_new(struct park *);
void		 park_close_kept(struct park *);

/* proto_fcgi.c, proto_scgi.c: a wire protocol, behind the one acceptor loop */
struct proto {
	const char	*name;		/* for logs */
	void		 (*init_process)(const struct pool_conf *);
	park_ready_fn	*ready;		/* is a whole request header in? */
	void		*(*conn_new)(void);	/* an acceptor's state */
	void		 (*conn_free)(void *);
	/*
	 * Read the header from fd, set req up; -1: refused, fd closed; 1:
	 * no request yet (management records answered), fd to wait again.
	 */
	int		 (*begin)(void *, int fd, struct pooled_req *,
			    uint64_t id, void *thread_data);
	/* Complete the response, consume the body; fd is still open. */
	void		 (*finish)(void *, struct pooled_req *, bool keep);
	/* Release it; returns fd if it carries more requests, or -1. */
	int		 (*end)(void *, struct pooled_req *, bool keep);
	/* A malformed header (logged by the caller): answer if possible. */
	void		 (*reject)(int fd);
};
extern const struct proto proto_fcgi;
extern const struct proto proto_scgi;

/* acceptor.c */
struct worker;
struct acceptor;
struct acceptor	*acceptor_start(struct worker *, size_t index);
void		 acceptor_take_backlog(struct worker *, size_t n);
void		 acceptor_check_deadline(struct acceptor *, int64_t now);
void		 acceptor_refused_flush(struct worker *, int64_t now);
bool		 acceptor_ended(const struct acceptor *);
bool		 acceptor_try_join(struct acceptor *);
void		 acceptor_init_process(const struct worker *);

/* scoreboard.c: per-pool live state in a shared segment */
enum sb_state {
	SB_EMPTY,		/* no thread in this slot */
	SB_IDLE,		/* waiting for a request */
	SB_READING,		/* reading the request header */
	SB_RUNNING,		/* the handler has it */
	SB_WRITING,		/* finishing the response */
	SB_NSTATES
};
#define SB_METHOD_MAX	16
#define SB_URI_MAX	256
/* Request durations: SB_HIST_BOUNDS upper bounds, and one bucket past. */
#define SB_HIST_BOUNDS	15
#define SB_HIST_N	(SB_HIST_BOUNDS + 1)
#define SB_STATUS_N	5		/* 1xx .. 5xx */
/* The upper bound of duration bucket i (< SB_HIST_BOUNDS), in us. */
int64_t		 sb_hist_bound_us(unsigned int i);

/*
 * One thread's slot, written only by that thread (seqlock: seq is odd
 * while it writes), read by anyone with a copy that is then validated.
 */
struct sb_thread {
	_Atomic uint32_t	 seq;
	uint32_t		 state;		/* enum sb_state */
	int64_t			 start_ms;	/* of the request in hand */
	uint64_t		 requests;
	uint64_t		 hist[SB_HIST_N]; /* done, by duration */
	uint64_t		 duration_us;	/* their durations, summed */
	uint64_t		 status[SB_STATUS_N]; /* ... by status class */
	char			 method[SB_METHOD_MAX];
	char			 uri[SB_URI_MAX];
};

/*
 * One worker process's row.  The master writes pid, gen and started_ms
 * (seqlock: seq); rss_kb has another writer, the worker, so it is a lone
 * atomic word outside the seqlock.
 */
struct sb_row {
	_Atomic uint32_t	 seq;
	int32_t			 pid;		/* 0: row free */
	uint32_t		 gen;
	int64_t			 started_ms;
	uint64_t		 rss_kb;	/* the worker updates it */
	uint64_t		 slow;		/* ... and these counters */
	uint64_t		 timeouts;
	uint64_t		 cgi_running;	/* programs running now */
	uint64_t		 cgi_killed;	/* killed by cgi_timeout */
};

/* Counters of a pool's rows, summed and saturated (snapshot, master). */
struct sb_totals {
	uint64_t		 requests;
	uint64_t		 hist[SB_HIST_N];
	uint64_t		 duration_us;
	uint64_t		 status[SB_STATUS_N];
	uint64_t		 slow;
	uint64_t		 timeouts;
	uint64_t		 cgi_killed;
};

/* Why the master started a worker in another's place. */
enum restart_cause {
	RESTART_NONE,
	RESTART_CRASH,		/* died of a signal or a non-zero exit */
	RESTART_START_TIMEOUT,	/* not ready within start_timeout */
	RESTART_MAX_REQUESTS,	/* served max_requests */
	RESTART_STUCK,		/* a request outlived request_timeout */
	RESTART_LISTEN,		/* could not watch its listen socket */
	RESTART_PROTOCOL,	/* broke the channel's protocol: killed */
	RESTART_NCAUSES
};
const char	*restart_cause_name(enum restart_cause);

/* A pool's counters kept by the master, published for status pages. */
struct sb_pool {
	int64_t			 start_wall_ms;	/* pooled's start */
	int64_t			 reload_wall_ms; /* the last reload, or start */
	struct sb_totals	 gone;		/* by workers reaped, reloads */
	uint64_t		 restarts[RESTART_NCAUSES];
	uint64_t		 max_reached;
	long			 queue_peak;	/* most seen waiting; -1 */
	uint64_t		 rate10_milli;	/* requests/s x 1000, 10 s */
	uint64_t		 rate60_milli;	/* ... over 60 s */
};

struct scoreboard;
/* The master, before forking: rows x threads slots, zeroed. */
struct scoreboard *sb_create(unsigned int rows, unsigned int threads);
void		 sb_destroy(struct scoreboard *);
unsigned int	 sb_rows(const struct scoreboard *);
unsigned int	 sb_threads(const struct scoreboard *);
/*
 * The master: reserve a free row before fork (-1 when none), so that the
 * child knows its row; after fork, record the worker in it; free it once
 * the worker is reaped (or the fork failed).  Times are on the clock the
 * workers use for start_ms (clock_ms()).
 */
int		 sb_row_claim(struct scoreboard *);
void		 sb_row_start(struct scoreboard *, int row, pid_t,
		    uint32_t gen, int64_t now_ms);
void		 sb_row_free(struct scoreboard *, int row);
bool		 sb_rows_in_use(const struct scoreboard *);
/* A worker thread: publish its state (method and uri may be NULL). */
void		 sb_thread_set(struct scoreboard *, int row,
		    unsigned int thread, enum sb_state, int64_t start_ms,
		    const char *method, const char *uri);
/* +1 request (its status, 0: unknown; its duration), back to idle. */
void		 sb_thread_done(struct scoreboard *, int row,
		    unsigned int thread, int status, int64_t duration_us);
void		 sb_row_set_rss(struct scoreboard *, int row, uint64_t kb);
void		 sb_row_count(struct scoreboard *, int row, bool timeout);
/* A worker: its own row, for code that has no worker at hand (CGI). */
void		 sb_self_set(struct scoreboard *, int row);
void		 sb_self_cgi(int delta);	/* a program started, ended */
void		 sb_self_cgi_killed(void);	/* ... killed by cgi_timeout */
/* Add a validated row (and its threads) or other totals to t. */
void		 sb_totals_add_row(struct sb_totals *, const struct sb_row *,
		    const struct sb_thread *, unsigned int nthreads);
void		 sb_totals_add(struct sb_totals *, const struct sb_totals *);
void		 sb_pool_publish(struct scoreboard *, const struct sb_pool *);
void		 sb_pool_read(const struct scoreboard *, struct sb_pool *);
/* A worker's counters read back are at most this (sums cannot wrap). */
#define SB_COUNT_MAX	((uint64_t)1 << 40)
uint64_t	 sb_sat_add(uint64_t, uint64_t);
/*
 * Anyone: copy row and its threads out, validated (states in range,
 * strings NUL-terminated and printable, counters at most SB_COUNT_MAX,
 * times clamped to [0, now_ms], a
 * torn read retried a few times, then given up on: false).  In the master
 * pid, gen and started_ms come from its own records; a free row reads as
 * pid 0 with every thread SB_EMPTY.  threads must hold sb_threads()
 * entries.
 */
bool		 sb_read_row(const struct scoreboard *, int row, int64_t now_ms,
		    struct sb_row *out, struct sb_thread *threads);
/* The shared segment itself, for tests and debuggers: never parsed. */
void		*sb_segment(const struct scoreboard *, size_t *len);

/* status.c: the status page, rendered from a validated snapshot */
enum status_format {
	STATUS_TEXT,
	STATUS_JSON,
	STATUS_OPENMETRICS,	/* OpenMetrics 1.0.0 */
	STATUS_PROMETHEUS	/* Prometheus text format 0.0.4 */
};

/*
 * Times are in ms on the clock of status_pool.now_ms (wall clock): the
 * caller shifts scoreboard times (clock_ms()) by now_ms - clock_ms().
 */
struct status_proc {
	pid_t			 pid;
	uint32_t		 gen;
	int64_t			 started_ms;
	uint64_t		 requests;
	uint64_t		 rss_kb;
	unsigned int		 active;	/* threads not idle */
	unsigned int		 nthreads;
	const struct sb_thread	*threads;	/* validated copies */
};

struct status_pool {
	const char		*name;
	const char		*pm;		/* "static", "dynamic", ... */
	int64_t			 start_ms;	/* wall clock, ms */
	int64_t			 now_ms;	/* wall clock, ms */
	int64_t			 reload_ms;	/* the last reload, or start */
	uint64_t		 accepted;	/* requests since start */
	double			 rate10;	/* requests/s, last 10 s */
	double			 rate60;	/* ... last 60 s */
	long			 listen_queue;	/* -1: unknown */
	long			 listen_backlog; /* -1: unknown */
	long			 listen_queue_peak; /* most seen; -1 */
	unsigned int		 in_flight;	/* requests in hand */
	unsigned int		 cgi_running;
	uint64_t		 cgi_killed;
	uint64_t		 hist[SB_HIST_N];
	uint64_t		 duration_us;
	uint64_t		 status_class[SB_STATUS_N];
	uint64_t		 restarts_by[RESTART_NCAUSES];
	unsigned int		 active_threads;
	unsigned int		 idle_threads;
	unsigned int		 total_threads;
	unsigned int		 active_processes;
	unsigned int		 idle_processes;
	unsigned int		 total_processes;
	uint64_t		 max_reached;
	uint64_t		 slow_requests;
	uint64_t		 timeouts;
	uint64_t		 restarts;
	size_t			 nprocs;
	const struct status_proc *procs;
};

/* Which format and detail a query asks for; -1 with *why if unknown. */
int		 status_parse_query(const char *query, enum status_format *,
		    bool *full, const char **why);
/* The metrics format an Accept header asks for, or STATUS_TEXT. */
enum status_format status_accept(const char *accept);
const char	*status_content_type(enum status_format);
/*
 * Render one pool's status; returns a malloc'd NUL-terminated string (its
 * length in *len), or NULL when out of memory.
 */
char		*status_render(const struct status_pool *, enum status_format,
		    bool full, size_t *len);
/* Render metrics of n pools, one family per metric (OpenMetrics, 0.0.4). */
char		*status_render_metrics(const struct status_pool *, size_t n,
		    enum status_format, bool full, size_t *len);

/* listen_queue.c */
void		 listen_queue(int fd, long *len, long *max);

/* unix_diag.c */
int		 unix_diag_attr(const void *msg, size_t len, unsigned short type,
		    void *out, size_t outlen);
int		 unix_diag_query(int fd, unsigned int show, unsigned short type,
		    void *out, size_t outlen);
dev_t		 unix_diag_dev(uint32_t kdev);
int		 unix_diag_vfs(int fd, dev_t *dev, uint32_t *ino);

/* snapshot.c: a pool's status, from its scoreboard */
struct snapshot {
	struct status_pool	 pool;
	struct status_proc	*procs;
	struct sb_thread	*threads;
};
int		 snapshot_take(struct snapshot *, const struct scoreboard *,
		    const struct pool_conf *, int listen_fd);
void		 snapshot_free(struct snapshot *);

/* status_page.c: status_path and ping_path, answered by the worker */
bool		 status_page_serve(struct worker *, struct pooled_req *);

/* status_listen.c: every pool's status, served by the master */
/*
 * Render the answer for path ("/" or "/POOL") and query (may be NULL):
 * a malloc'd body, or NULL with *status set (404...).
 */
typedef char	*status_render_fn(void *arg, const char *path,
		    const char *query, const char *accept, int *status,
		    const char **ctype, size_t *len);
/* What the master shows on status_listen. */
struct status_source {
	uint32_t		 gen;		/* the generation serving */
	const char		*last_reload;
	const struct conf	*conf;
	struct scoreboard      **sbs;		/* per pool, or NULL */
	const int		*fds;		/* per pool */
};
char		*status_render_all(const struct status_source *,
		    const char *path, const char *query, const char *accept,
		    int *status, const char **ctype, size_t *len);
struct status_srv;
int		 status_srv_open(const struct conf *, status_render_fn *,
		    void *arg, struct status_srv **);
void		 status_srv_close(struct status_srv *);
size_t		 status_srv_pollfds(struct status_srv *, struct pollfd *);
size_t		 status_srv_maxfds(void);
void		 status_srv_event(struct status_srv *, int fd, int64_t now);
int		 status_srv_tick(struct status_srv *, int64_t now);

/* ctl.c: pooled -s, -k */
int		 ctl_status(const char *path, const char *addr,
		    const char *pool, const char *query);
int		 ctl_signal(const char *path, const char *cmd);

/* status_client.c: pooled -s */
int		 status_client(const struct listen_addr *, const char *pool,
		    const char *query);

/* worker_life.c: a worker's own lifecycle (STYLE.md, section 14) */
enum wlife_state {
	WLIFE_STARTING,		/* handler loading, threads in thread_init */
	WLIFE_SERVING,		/* accepting and serving */
	WLIFE_RETIRING,		/* serving; asked the master for a successor */
	WLIFE_DRAINING,		/* let go of the listen socket; finishing */
	WLIFE_EXITING		/* requests done or abandoned; ending */
};
#define WLIFE_EXIT_MS	1000	/* for threads done serving to end */
struct wlife {
	_Atomic int		 state;		/* read without mtx */
	pthread_mutex_t		 mtx;		/* a step, and the rest */
	int64_t			 entered;	/* clock_ms of the last step */
	int64_t			 deadline;	/* INT64_MAX: none */
	bool			 closing;	/* the socket closes with us */
	bool			 master_gone;
	int64_t			 start_ms;	/* start_timeout */
	int64_t			 drain_ms;	/* graceful_timeout */
	int64_t			 kill_ms;	/* kill_timeout */
};
void		 wlife_init(struct wlife *, const struct conf *, int64_t now);
int		 wlife_to(struct wlife *, enum wlife_state, int64_t now);
enum wlife_state wlife_state(const struct wlife *);
const char	*wlife_name(enum wlife_state);
bool		 wlife_stopping(const struct wlife *);
int64_t		 wlife_deadline(struct wlife *);
bool		 wlife_overdue(struct wlife *, int64_t now);
void		 wlife_set_closing(struct wlife *);
void		 wlife_set_master_gone(struct wlife *, int64_t now);
bool		 wlife_has_master(struct wlife *);
bool		 wlife_alone(struct wlife *);

/* worker.c */
/* crew.c: a worker's acceptor threads taking turns */
struct crew;
struct crew	*crew_new(size_t threads, size_t base);
void		 crew_free(struct crew *);
int		 crew_wake_fd(const struct crew *);
enum crew_turn {
	CREW_LEAD,		/* wait in the epoll set */
	CREW_LOOK		/* look there without waiting */
};
enum crew_turn	 crew_lead(struct crew *, size_t who, bool done, bool looked,
		    int64_t now);
void		 crew_serve(struct crew *, size_t who, bool leading,
		    int64_t now);
int		 crew_watch(struct crew *, int64_t now);
size_t		 crew_idle(struct crew *);
bool		 crew_leading(struct crew *);
void		 crew_leave(struct crew *);
void		 crew_stop(struct crew *);

struct worker {
	const struct conf	*conf;
	const struct pool_conf	*pool;
	const struct backend	*backend;
	const struct proto	*proto;
	int			 listen_fd;
	int			 chan_fd;
	int			 epfd;
	struct park		*park;
	struct acceptor	       **acceptors;
	size_t			 nacceptors;
	struct wlife		 life;
	int			 stop_fd;	/* eventfd: acceptors, exit */
	int			 done_fd;	/* eventfd: an acceptor ended */
	pthread_mutex_t		 listen_mtx;	/* listen fd in epfd, drain */
	struct crew		*crew;		/* whose turn it is to wait */
	_Atomic uint64_t	 next_req_id;
	struct scoreboard	*sb;		/* the pool's */
	int			 row;		/* this worker's row, or -1 */
	uint32_t		 gen;
	uint64_t		 max_requests;	/* with its jitter; 0: none */
	_Atomic uint64_t	 served;
	pthread_mutex_t		 gate_mtx;	/* thread start-up gate */
	pthread_cond_t		 gate_cond;	/* on CLOCK_MONOTONIC */
	size_t			 threads_inited;
	size_t			 threads_failed;
};
void		 worker_main(const struct worker_spec *, int chan_fd)
		    POOLED_NORETURN;
bool		 worker_thread_inited(struct worker *, bool ok);
void		 worker_request_done(struct worker *);
void		 worker_ask_retire(struct worker *, enum retire_reason);
void		 worker_listen_rearm(struct worker *);

/* backtrace.c: a slow request's native stack (slow_request_backtrace) */
#define BT_FRAMES	48
#define BT_SIGNAL	(SIGRTMIN + 3)
/* One acceptor thread's answer; written by its signal handler. */
struct bt_slot {
	_Atomic int	 state;
	int		 n;
	void		*frames[BT_FRAMES];
};
int		 bt_init_process(void);
void		 bt_thread_set(struct bt_slot *);
bool		 bt_ask(struct bt_slot *, pthread_t);
int		 bt_take(struct bt_slot *, void **frames);
void		 bt_describe(const void *pc, char *buf, size_t len);

/* worker_output.c: a worker's stdout and stderr, read by the master */
struct wout;
struct wout	*wout_open(int fd, const char *name, pid_t);
int		 wout_fd(const struct wout *);
bool		 wout_read(struct wout *, int64_t now);
void		 wout_close(struct wout *, int64_t now);

/* crash_report.c: what a worker killed by a signal was serving */
void		 crash_report(int level, const char *name, pid_t,
		    const char *how, const struct scoreboard *, int row,
		    int64_t now);

/* generation.c: one loaded config with its sockets and scoreboards */
enum gen_state {
	GEN_NONE,		/* released, or never loaded */
	GEN_LOADING,		/* its workers start; deadline: start_timeout */
	GEN_SERVING		/* committed */
};

/* What the master keeps of one pool of a generation. */
#define GEN_RATE_SAMPLES	64	/* one a pm tick: over a minute */
struct pool_state {
	struct scoreboard	*sb;
	struct sb_pool		 counters;	/* published into sb */
	uint64_t		 rate_n[GEN_RATE_SAMPLES]; /* requests ... */
	int64_t			 rate_ms[GEN_RATE_SAMPLES]; /* ... then */
	unsigned int		 rate_next;
	bool			 watch;		/* poll the listen socket */
	bool			 queued;	/* it had a connection waiting */
	int64_t			 watch_after;	/* not sooner: no busy loop */
	int64_t			 max_logged;
	int			 access_fd;	/* the access log, or -1 */
	struct scoreboard	**old_sbs;	/* of the pools it replaced, */
	size_t			 nold_sbs;	/* ... until their last reap */
};

struct generation {
	uint32_t		 id;
	enum gen_state		 state;
	int64_t			 deadline;	/* loading: all ready by then */
	int64_t			 start_wall_ms;	/* pooled's start */
	struct conf		*conf;		/* NULL: none */
	int			*fds;		/* one listen socket per pool */
	struct pool_state	*pools;
};

void		 gen_first(struct generation *, uint32_t id, struct conf *,
		    int *fds, int64_t now);
int		 gen_load(struct generation *, uint32_t id, const char *path,
		    const struct generation *cur, int64_t now,
		    const char **why);
bool		 gen_keeps(const struct generation *,
		    const struct generation *old, size_t oldpool);
void		 gen_commit(struct generation *, struct generation *old);
void		 gen_release(struct generation *,
		    const struct generation *keep);
struct conf	*gen_release_conf(struct generation *);
void		 gen_close_listeners(struct generation *);
void		 gen_scoreboards(const struct generation *,
		    struct scoreboard **, size_t *n);
bool		 gen_row_retire(struct generation *, struct scoreboard *,
		    int row, enum restart_cause, int64_t now);
bool		 gen_has_sb(const struct generation *,
		    const struct scoreboard *);
size_t		 gen_nscoreboards(const struct generation *);
void		 gen_count_restart(struct generation *, size_t pool,
		    enum restart_cause);
void		 gen_sample(struct generation *, int64_t now);
int		 gen_open_access_logs(struct generation *);
int		 gen_start_size(const struct pool_conf *,
		    const struct generation *cur, const unsigned int *running);

/* master.c */
int		 master_run(struct conf **, int *listen_fds, int ready_fd);

#endif /* POOLED_INTERNAL_H */
