/*
 * The config file: libconfuse's option table, validation, and conversion
 * into the plain, immutable struct conf the rest of pooled uses.  This is
 * the only file that sees libconfuse; its cfg_ namespace stays here.
 *
 * Values are checked while libconfuse parses, by validate callbacks, so
 * that every error names the line it is on: an option's callback runs
 * right after its value is read, the pool section's callback after its
 * closing brace.  The first error stops the parse.  Comments are blanked
 * out before libconfuse reads the text (see blank_comments()).
 *
 * libconfuse's lexer is global, so conf_load() is for one thread only:
 * the master's.
 */
#include "config.h"

#include <sys/stat.h>

#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define POOL_NAME_MAX	32
#define CONF_MSG_MAX	1024
#define PREFIX_MAX	256	/* "pool \"name\": " */

/*
 * A hidden option of every pool section that records the line the
 * section starts on.  libconfuse remembers only the line a section ends
 * on, but it parses the default of a list option when it creates the
 * section, with the section's line counter still at the opening brace,
 * and it hands that parse to the option's callback.  Its name cannot be
 * written as a bare word, since the lexer splits at parentheses; a file
 * that sets it in quotes only moves the line its pool is reported at.
 */
#define POOL_LINE_OPT	"(line)"

struct int_range {
	const char	*name;
	long		 min;
	long		 max;
};

static const struct int_range int_ranges[] = {
	{ "graceful_timeout",		1, 86400 },
	{ "kill_timeout",		1, 86400 },
	{ "start_timeout",		1, 86400 },
	{ "listen_backlog",		1, 65535 },
	{ "processes",			1, 1024 },
	{ "threads",			1, 4096 },
	{ "read_timeout",		1, 3600 },
	{ "write_timeout",		1, 3600 },
	{ "keepalive_timeout",		1, 3600 },
	{ "request_timeout",		1, 86400 },
	{ "max_waiting_connections",	1, 65536 },
	{ "max_kept_connections",	0, 65536 },
	{ "cgi_timeout",		1, 86400 },
	{ "scgi_header_max",		1024, 1048576 },
	{ "request_log_max",		0, 1073741824 },
	{ "log_repeat_window",		0, 3600 },
	{ "cgi_hold_max",		65536, 1073741824 },
	{ "max_requests",		0, 1000000000 },
	{ "max_requests_jitter",	0, 1000000000 },
	{ "slow_request",		0, 86400 },
	{ "min_processes",		0, 1024 },
	{ "max_processes",		1, 1024 },
	{ "min_spare_threads",		0, 1048576 },
	{ "max_spare_threads",		1, 1048576 },
	{ "idle_timeout",		1, 86400 },
	{ "scgi_max_headers",		8, 65536 },
	{ "max_params",			8, 65536 },
	{ "max_params_size",		1024, 1048576 },
	{ "body_timeout",		1, 3600 },
	{ "body_min_rate",		0, 1000000000 },
	{ "max_body",			0, 1099511627776L },
	{ "malloc_arena_max",		0, 1024 },
	{ "status_max_connections_per_client", 1, 16 },
};

static const char *const log_level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

static void	 conf_warnx(cfg_t *, int, const char *, ...)
		    POOLED_PRINTFLIKE(3, 4);
static void	 confuse_error(cfg_t *, const char *, va_list)
		    POOLED_PRINTFLIKE(2, 0);
static int	 parse_int(cfg_t *, cfg_opt_t *, const char *, void *);
static int	 parse_line(cfg_t *, cfg_opt_t *, const char *, void *);
static int	 parse_mode(const char *, unsigned int *);
static const char *pool_prefix(cfg_t *, char *, size_t);
static int	 pool_line(cfg_t *);
static int	 check_int(cfg_t *, cfg_opt_t *);
static int	 check_error_log(cfg_t *, cfg_opt_t *);
static int	 check_log_level(cfg_t *, cfg_opt_t *);
static int	 check_syslog_facility(cfg_t *, cfg_opt_t *);
static int	 check_syslog_ident(cfg_t *, cfg_opt_t *);
static int	 check_pid_file(cfg_t *, cfg_opt_t *);
static int	 check_listen(cfg_t *, cfg_opt_t *);
static int	 check_listen_mode(cfg_t *, cfg_opt_t *);
static int	 check_protocol(cfg_t *, cfg_opt_t *);
static int	 check_handler(cfg_t *, cfg_opt_t *);
static int	 check_module(cfg_t *, cfg_opt_t *);
static int	 check_module_options(cfg_t *, cfg_opt_t *);
static int	 check_cgi_root(cfg_t *, cfg_opt_t *);
static int	 check_env(cfg_t *, cfg_opt_t *);
static int	 check_pass_params(cfg_t *, cfg_opt_t *);
static int	 check_local_redirect(cfg_t *, cfg_opt_t *);
static int	 check_x_accel_prefix(cfg_t *, cfg_opt_t *);
static int	 check_interpreter(cfg_t *, cfg_opt_t *);
static int	 check_cgi_stderr(cfg_t *, cfg_opt_t *);
static int	 check_pm(cfg_t *, cfg_opt_t *);
static int	 check_uri_path(cfg_t *, cfg_opt_t *);
static int	 check_access_log(cfg_t *, cfg_opt_t *);
static int	 check_access_format(cfg_t *, cfg_opt_t *);
static int	 check_pm_sizes(cfg_t *);
static int	 check_user(cfg_t *, cfg_opt_t *);
static int	 check_group(cfg_t *, cfg_opt_t *);
static int	 check_dir(cfg_t *, cfg_opt_t *);
static int	 check_rlimit(cfg_t *, cfg_opt_t *);
static int	 check_clients(cfg_t *, cfg_opt_t *);
static int	 check_pool_privs(cfg_t *);
static int	 check_pool_name(cfg_t *);
static int	 check_pool(cfg_opt_t *, unsigned int);
static int	 check_pool_section(cfg_t *, cfg_opt_t *);
static int	 build_pool(cfg_t *, cfg_t *, struct pool_conf *);
static char	**copy_list(cfg_t *, const char *, size_t *);

static char	 pool_line_default[] = "{start}";

/* The text being parsed, to report its lines by file (conf_warnx). */
static const struct conf_text *cur_text;

static cfg_opt_t pool_opts[] = {
	CFG_INT_LIST_CB(POOL_LINE_OPT, pool_line_default, CFGF_NONE,
	    parse_line),
	CFG_STR("listen", NULL, CFGF_NODEFAULT),
	CFG_STR("listen_mode", "0660", CFGF_NONE),
	CFG_INT_CB("listen_backlog", 1024, CFGF_NONE, parse_int),
	CFG_STR("protocol", "fastcgi", CFGF_NONE),
	CFG_INT_CB("processes", 1, CFGF_NONE, parse_int),
	CFG_INT_CB("threads", 8, CFGF_NONE, parse_int),
	CFG_STR("handler", "module", CFGF_NONE),
	CFG_STR("module", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("module_options", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("cgi_root", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("env", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("cgi_interpreter", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("cgi_timeout", 60, CFGF_NONE, parse_int),
	CFG_STR("cgi_stderr", "log", CFGF_NONE),
	CFG_INT_CB("request_log_max", REQUEST_LOG_MAX, CFGF_NONE, parse_int),
	CFG_INT_CB("log_repeat_window", 10, CFGF_NONE, parse_int),
	CFG_STR_LIST("cgi_pass_params", NULL, CFGF_NODEFAULT),
	CFG_STR("cgi_local_redirect", "302", CFGF_NONE),
	CFG_STR("cgi_x_accel_prefix", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("cgi_hold_max", CGI_HOLD_MAX, CFGF_NONE, parse_int),
	CFG_STR("cgi_spill_dir", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("read_timeout", 30, CFGF_NONE, parse_int),
	CFG_INT_CB("write_timeout", 30, CFGF_NONE, parse_int),
	CFG_INT_CB("keepalive_timeout", 60, CFGF_NONE, parse_int),
	CFG_INT_CB("request_timeout", 300, CFGF_NONE, parse_int),
	CFG_INT_CB("max_waiting_connections", 1024, CFGF_NONE, parse_int),
	CFG_INT_CB("max_kept_connections", 1024, CFGF_NONE, parse_int),
	CFG_INT_CB("scgi_header_max", SCGI_HEADER_MAX, CFGF_NONE, parse_int),
	CFG_INT_CB("max_requests", 0, CFGF_NONE, parse_int),
	CFG_INT_CB("max_requests_jitter", 0, CFGF_NONE, parse_int),
	CFG_INT_CB("slow_request", 0, CFGF_NONE, parse_int),
	CFG_STR("pm", "static", CFGF_NONE),
	CFG_STR("status_path", NULL, CFGF_NODEFAULT),
	CFG_STR("ping_path", NULL, CFGF_NODEFAULT),
	CFG_STR("ping_response", "pong", CFGF_NONE),
	CFG_STR("access_log", "off", CFGF_NONE),
	CFG_STR("access_format", ACCESS_FORMAT_DEFAULT, CFGF_NONE),
	CFG_INT_CB("min_processes", 1, CFGF_NONE, parse_int),
	CFG_INT_CB("max_processes", 0, CFGF_NODEFAULT, parse_int),
	CFG_INT_CB("min_spare_threads", 0, CFGF_NODEFAULT, parse_int),
	CFG_INT_CB("max_spare_threads", 0, CFGF_NODEFAULT, parse_int),
	CFG_INT_CB("idle_timeout", 10, CFGF_NONE, parse_int),
	CFG_INT_CB("scgi_max_headers", SCGI_MAX_HEADERS, CFGF_NONE,
	    parse_int),
	CFG_INT_CB("malloc_arena_max", 1, CFGF_NONE, parse_int),
	CFG_INT_CB("max_params", FCGI_MAX_PARAMS, CFGF_NONE, parse_int),
	CFG_INT_CB("max_params_size", FCGI_PARAMS_SIZE, CFGF_NONE, parse_int),
	CFG_INT_CB("body_timeout", 20, CFGF_NONE, parse_int),
	CFG_INT_CB("body_min_rate", 500, CFGF_NONE, parse_int),
	CFG_INT_CB("max_body", 1073741824, CFGF_NONE, parse_int),
	CFG_STR("listen_owner", NULL, CFGF_NODEFAULT),
	CFG_STR("listen_group", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("allowed_clients", NULL, CFGF_NODEFAULT),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("group", NULL, CFGF_NODEFAULT),
	CFG_BOOL("allow_root", cfg_false, CFGF_NODEFAULT),
	CFG_STR("chroot", NULL, CFGF_NODEFAULT),
	CFG_STR("chdir", NULL, CFGF_NODEFAULT),
	CFG_STR("rlimit_files", NULL, CFGF_NODEFAULT),
	CFG_STR("rlimit_core", NULL, CFGF_NODEFAULT),
	CFG_STR("rlimit_nproc", NULL, CFGF_NODEFAULT),
	CFG_STR("cgi_rlimit_cpu", NULL, CFGF_NODEFAULT),
	CFG_STR("cgi_rlimit_as", NULL, CFGF_NODEFAULT),
	CFG_STR("cgi_rlimit_nproc", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_opts[] = {
	CFG_STR("error_log", "stderr", CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_STR("syslog_facility", "daemon", CFGF_NONE),
	CFG_STR("syslog_ident", "pooled", CFGF_NONE),
	CFG_STR("pid_file", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("graceful_timeout", 30, CFGF_NONE, parse_int),
	CFG_INT_CB("kill_timeout", 5, CFGF_NONE, parse_int),
	CFG_INT_CB("start_timeout", 60, CFGF_NONE, parse_int),
	CFG_STR("status_listen", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("status_allowed_clients", NULL, CFGF_NODEFAULT),
	CFG_INT_CB("status_max_connections_per_client", 4, CFGF_NONE,
	    parse_int),
	/* Defaults for every pool that does not set its own. */
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("group", NULL, CFGF_NODEFAULT),
	CFG_BOOL("allow_root", cfg_false, CFGF_NODEFAULT),
	CFG_STR("listen_owner", NULL, CFGF_NODEFAULT),
	CFG_STR("listen_group", NULL, CFGF_NODEFAULT),
	CFG_SEC("pool", pool_opts, CFGF_MULTI | CFGF_TITLE |
	    CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static const struct {
	const char		*name;
	cfg_validate_callback_t	 fn;
} validators[] = {
	{ "error_log",			check_error_log },
	{ "log_level",			check_log_level },
	{ "syslog_facility",		check_syslog_facility },
	{ "syslog_ident",		check_syslog_ident },
	{ "pid_file",			check_pid_file },
	{ "graceful_timeout",		check_int },
	{ "kill_timeout",		check_int },
	{ "start_timeout",		check_int },
	{ "status_listen",		check_listen },
	{ "status_allowed_clients",	check_clients },
	{ "status_max_connections_per_client", check_int },
	{ "user",			check_user },
	{ "group",			check_group },
	{ "listen_owner",		check_user },
	{ "listen_group",		check_group },
	{ "pool|user",			check_user },
	{ "pool|group",			check_group },
	{ "pool|listen_owner",		check_user },
	{ "pool|listen_group",		check_group },
	{ "pool|allowed_clients",	check_clients },
	{ "pool|chroot",		check_dir },
	{ "pool|chdir",			check_dir },
	{ "pool|rlimit_files",		check_rlimit },
	{ "pool|rlimit_core",		check_rlimit },
	{ "pool|rlimit_nproc",		check_rlimit },
	{ "pool|cgi_rlimit_cpu",	check_rlimit },
	{ "pool|cgi_rlimit_as",		check_rlimit },
	{ "pool|cgi_rlimit_nproc",	check_rlimit },
	{ "pool|listen",		check_listen },
	{ "pool|listen_mode",		check_listen_mode },
	{ "pool|listen_backlog",	check_int },
	{ "pool|protocol",		check_protocol },
	{ "pool|processes",		check_int },
	{ "pool|threads",		check_int },
	{ "pool|handler",		check_handler },
	{ "pool|module",		check_module },
	{ "pool|module_options",	check_module_options },
	{ "pool|cgi_root",		check_cgi_root },
	{ "pool|env",			check_env },
	{ "pool|cgi_interpreter",	check_interpreter },
	{ "pool|cgi_timeout",		check_int },
	{ "pool|cgi_stderr",		check_cgi_stderr },
	{ "pool|request_log_max",	check_int },
	{ "pool|log_repeat_window",	check_int },
	{ "pool|cgi_pass_params",	check_pass_params },
	{ "pool|cgi_local_redirect",	check_local_redirect },
	{ "pool|cgi_x_accel_prefix",	check_x_accel_prefix },
	{ "pool|cgi_hold_max",		check_int },
	{ "pool|cgi_spill_dir",		check_dir },
	{ "pool|scgi_header_max",	check_int },
	{ "pool|max_requests",		check_int },
	{ "pool|max_requests_jitter",	check_int },
	{ "pool|slow_request",		check_int },
	{ "pool|pm",			check_pm },
	{ "pool|status_path",		check_uri_path },
	{ "pool|access_log",		check_access_log },
	{ "pool|access_format",		check_access_format },
	{ "pool|ping_path",		check_uri_path },
	{ "pool|min_processes",		check_int },
	{ "pool|max_processes",		check_int },
	{ "pool|min_spare_threads",	check_int },
	{ "pool|max_spare_threads",	check_int },
	{ "pool|idle_timeout",		check_int },
	{ "pool|scgi_max_headers",	check_int },
	{ "pool|max_params",		check_int },
	{ "pool|max_params_size",	check_int },
	{ "pool|body_timeout",		check_int },
	{ "pool|body_min_rate",		check_int },
	{ "pool|max_body",		check_int },
	{ "pool|read_timeout",		check_int },
	{ "pool|write_timeout",		check_int },
	{ "pool|keepalive_timeout",	check_int },
	{ "pool|request_timeout",	check_int },
	{ "pool|max_waiting_connections", check_int },
	{ "pool|max_kept_connections",	check_int },
	{ "pool|malloc_arena_max",	check_int },
	{ "pool",			check_pool_section },
};

/*
 * Log "file:line: message", or "file: message" without a line.  The line
 * is one of the text libconfuse parses, the included files spliced in;
 * conf_text_where() turns it back into a file and a line of that file.
 */
static void
conf_warnx(cfg_t *cfg, int line, const char *fmt, ...)
{
	const char	*file = cfg->filename;
	char		 msg[CONF_MSG_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0 && cur_text != NULL)
		file = conf_text_where(cur_text, line, &line);
	if (file == NULL)
		file = "(config)";
	if (line > 0)
		log_warnx("%s:%d: %s", file, line, msg);
	else
		log_warnx("%s: %s", file, msg);
}

/* libconfuse's own errors: unknown options, syntax, duplicate titles. */
static void
confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char	 msg[CONF_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cfg == NULL)
		log_warnx("%s", msg);
	else if (cfg->title != NULL)
		conf_warnx(cfg, cfg->line, "pool \"%s\": %s", cfg->title, msg);
	else
		conf_warnx(cfg, cfg->line, "%s", msg);
}

/* "pool \"name\": " inside a pool section, "" at the top level. */
static const char *
pool_prefix(cfg_t *cfg, char *buf, size_t len)
{
	if (cfg->title == NULL)
		return "";
	snprintf(buf, len, "pool \"%s\": ", cfg->title);
	return buf;
}

/* The line a pool section starts on; see POOL_LINE_OPT. */
static int
pool_line(cfg_t *sec)
{
	return (int)cfg_getint(sec, POOL_LINE_OPT);
}

/* Record the line; called once, when libconfuse creates the section. */
static int
parse_line(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	(void)opt;
	(void)value;
	*(long *)result = cfg->line;
	return 0;
}

/*
 * Integers are decimal only: libconfuse's own parser would read "010"
 * as 8 and accept "0x10".
 */
static int
parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char		 pfx[PREFIX_MAX];
	char		*end;
	long		 n;

	if (value == NULL)
		return -1;
	errno = 0;
	if (value[0] == '\0' || (value[0] != '-' && (value[0] < '0' ||
	    value[0] > '9')))
		goto bad;
	n = strtol(value, &end, 10);
	if (*end != '\0')
		goto bad;
	if (errno == ERANGE) {
		conf_warnx(cfg, cfg->line, "%s%s: %s is out of range",
		    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, value);
		return -1;
	}
	*(long *)result = n;
	return 0;
bad:
	conf_warnx(cfg, cfg->line, "%s%s: invalid integer \"%s\"",
	    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, value);
	return -1;
}

static int
check_int(cfg_t *cfg, cfg_opt_t *opt)
{
	char	 pfx[PREFIX_MAX];
	long	 n;
	size_t	 i;

	n = cfg_opt_getnint(opt, 0);
	for (i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++) {
		if (strcmp(int_ranges[i].name, opt->name) != 0)
			continue;
		if (n < int_ranges[i].min || n > int_ranges[i].max) {
			conf_warnx(cfg, cfg->line,
			    "%s%s: %ld is out of range (%ld..%ld)",
			    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, n,
			    int_ranges[i].min, int_ranges[i].max);
			return -1;
		}
		return 0;
	}
	conf_warnx(cfg, cfg->line, "%s: no range known", opt->name);
	return -1;
}

static int
check_error_log(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);

	if (strcmp(s, "stderr") == 0 || strcmp(s, "syslog") == 0 ||
	    s[0] == '/')
		return 0;
	conf_warnx(cfg, cfg->line, "error_log: \"%s\" is neither \"stderr\", "
	    "\"syslog\" nor an absolute path", s);
	return -1;
}

/* syslog(3)'s facilities pooled may log as; LOG_DAEMON is 3 << 3. */
static const struct {
	const char	*name;
	int		 value;
} facilities[] = {
	{ "daemon", 3 << 3 }, { "user", 1 << 3 }, { "local0", 16 << 3 },
	{ "local1", 17 << 3 }, { "local2", 18 << 3 }, { "local3", 19 << 3 },
	{ "local4", 20 << 3 }, { "local5", 21 << 3 }, { "local6", 22 << 3 },
	{ "local7", 23 << 3 },
};

/* The facility called name; -1 when unknown. */
static int
facility_value(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(name, facilities[i].name) == 0)
			return facilities[i].value;
	return -1;
}

static int
check_syslog_facility(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);

	if (facility_value(s) != -1)
		return 0;
	conf_warnx(cfg, cfg->line, "syslog_facility: unknown facility \"%s\" "
	    "(daemon, user, local0 ... local7)", s);
	return -1;
}

static int
check_syslog_ident(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0), *p;

	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_.-", *p) == NULL)
			break;
	if (*s != '\0' && *p == '\0' && p - s <= 32)
		return 0;
	conf_warnx(cfg, cfg->line, "syslog_ident \"%s\": use 1 to 32 letters, "
	    "digits, \"_\", \".\" and \"-\"", s);
	return -1;
}

static int
check_log_level(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);

	if (conf_log_level(s) != -1)
		return 0;
	conf_warnx(cfg, cfg->line, "log_level: unknown level \"%s\" "
	    "(debug, info, notice, warning, error)", s);
	return -1;
}

static int
check_pid_file(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);

	if (s[0] == '/')
		return 0;
	conf_warnx(cfg, cfg->line, "pid_file: \"%s\" is not an absolute path",
	    s);
	return -1;
}

static int
check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	struct listen_addr	 la;
	char			 pfx[PREFIX_MAX], err[512];

	if (listen_addr_parse(cfg_opt_getnstr(opt, 0), &la, err,
	    sizeof(err)) == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%s%s", pool_prefix(cfg, pfx, sizeof(pfx)),
	    err);
	return -1;
}

/* An octal mode, at most 0777: "0660", "660". */
static int
parse_mode(const char *s, unsigned int *mode)
{
	unsigned int	 m = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		m = m * 8 + (unsigned int)(*s - '0');
		if (m > 0777)
			return -1;
	}
	*mode = m;
	return 0;
}

static int
check_listen_mode(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	unsigned int	 mode;

	if (parse_mode(s, &mode) == 0)
		return 0;
	conf_warnx(cfg, cfg->line,
	    "%slisten_mode: invalid mode \"%s\" (octal, at most 0777)",
	    pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

static int
check_protocol(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "fastcgi") == 0 || strcmp(s, "scgi") == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%sunknown protocol \"%s\" (fastcgi or "
	    "scgi)", pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

static int
check_pm(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "static") == 0 || strcmp(s, "dynamic") == 0 ||
	    strcmp(s, "ondemand") == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%spm \"%s\": not static, dynamic or "
	    "ondemand", pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

/* status_path, ping_path: a URI path, matched against REQUEST_URI. */
static int
check_uri_path(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (s[0] == '/' && strcspn(s, "?# \t") == strlen(s))
		return 0;
	conf_warnx(cfg, cfg->line, "%s%s \"%s\": not a URI path (it starts "
	    "with / and has no ?, # or blank)",
	    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s);
	return -1;
}

/* access_log: "off", "syslog" or an absolute path. */
static int
check_access_log(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "off") == 0 || strcmp(s, "syslog") == 0 || s[0] == '/')
		return 0;
	conf_warnx(cfg, cfg->line, "%saccess_log \"%s\": neither \"off\", "
	    "\"syslog\" nor an absolute path",
	    pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

/* access_format: known %-escapes only (access_log.c). */
static int
check_access_format(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX], why[128];

	if (access_format_check(s, why, sizeof(why)) == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%saccess_format: %s",
	    pool_prefix(cfg, pfx, sizeof(pfx)), why);
	return -1;
}

/* The int option name of sec, or def when it is not set. */
static long
int_or(cfg_t *sec, const char *name, long def)
{
	return cfg_size(sec, name) > 0 ? cfg_getint(sec, name) : def;
}

/*
 * A dynamic pool's bounds must hold together: min_processes at most
 * max_processes, and the spare thread band at least one worker wide, or
 * starting a worker would make retiring one due, and back.
 */
static int
check_pm_sizes(cfg_t *sec)
{
	long	 threads = cfg_getint(sec, "threads");
	long	 min = cfg_getint(sec, "min_processes");
	long	 max = int_or(sec, "max_processes",
		    cfg_getint(sec, "processes"));
	long	 lo = int_or(sec, "min_spare_threads", threads);
	long	 hi = int_or(sec, "max_spare_threads", 3 * threads);

	if (strcmp(cfg_getstr(sec, "pm"), "static") == 0)
		return 0;
	if (strcmp(cfg_getstr(sec, "pm"), "dynamic") == 0 && min > max) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": min_processes "
		    "(%ld) is more than max_processes (%ld)", sec->title, min,
		    max);
		return -1;
	}
	if (hi - lo < threads) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": "
		    "max_spare_threads (%ld) must exceed min_spare_threads "
		    "(%ld) by at least threads (%ld), or the pool would start "
		    "and retire workers in turn", sec->title, hi, lo, threads);
		return -1;
	}
	return 0;
}

static int
check_cgi_stderr(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "log") == 0 || strcmp(s, "server") == 0 ||
	    strcmp(s, "both") == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%scgi_stderr \"%s\": not log, server "
	    "or both", pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

static int
check_handler(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "module") == 0 || strcmp(s, "cgi") == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%sunknown handler \"%s\"",
	    pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

/*
 * The module is opened only by the workers, after they drop privileges;
 * checking it here turns a typo into a config error rather than a pool
 * that never starts.
 */
static int
check_module(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	struct stat	 st;
	int		 saved_errno;

	if (s[0] != '/') {
		conf_warnx(cfg, cfg->line,
		    "%smodule \"%s\": not an absolute path",
		    pool_prefix(cfg, pfx, sizeof(pfx)), s);
		return -1;
	}
	if (stat(s, &st) == -1 || (S_ISREG(st.st_mode) &&
	    access(s, R_OK) == -1)) {
		saved_errno = errno;
		conf_warnx(cfg, cfg->line, "%smodule \"%s\": %s",
		    pool_prefix(cfg, pfx, sizeof(pfx)), s,
		    strerror(saved_errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_warnx(cfg, cfg->line,
		    "%smodule \"%s\": not a regular file",
		    pool_prefix(cfg, pfx, sizeof(pfx)), s);
		return -1;
	}
	return 0;
}

static int
check_module_options(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s;
	char		 pfx[PREFIX_MAX];
	unsigned int	 i, n;

	n = cfg_opt_size(opt);
	for (i = 0; i < n; i++) {
		s = cfg_opt_getnstr(opt, i);
		if (s[0] == '\0') {
			conf_warnx(cfg, cfg->line,
			    "%smodule_options: empty option",
			    pool_prefix(cfg, pfx, sizeof(pfx)));
			return -1;
		}
		if (s[0] == '=') {
			conf_warnx(cfg, cfg->line,
			    "%smodule_options: \"%s\": empty key",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s);
			return -1;
		}
	}
	return 0;
}

/*
 * Each root must resolve to a directory now: the CGI handler compares a
 * program's real path against the roots' real paths, which build_pool()
 * stores.  Runs after each element, on the list so far; libconfuse does
 * not call it for "cgi_root = {}", which check_pool() reports instead.
 */
static int
check_cgi_root(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s;
	char		 pfx[PREFIX_MAX];
	char		*real;
	struct stat	 st;
	unsigned int	 i, n;
	int		 saved_errno;

	n = cfg_opt_size(opt);
	for (i = 0; i < n; i++) {
		s = cfg_opt_getnstr(opt, i);
		if (s[0] != '/') {
			conf_warnx(cfg, cfg->line,
			    "%scgi_root \"%s\": not an absolute path",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s);
			return -1;
		}
		if (stat(s, &st) == -1) {
			saved_errno = errno;
			conf_warnx(cfg, cfg->line, "%scgi_root \"%s\": %s",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s,
			    strerror(saved_errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			conf_warnx(cfg, cfg->line,
			    "%scgi_root \"%s\": not a directory",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s);
			return -1;
		}
		if ((real = realpath(s, NULL)) == NULL) {
			saved_errno = errno;
			conf_warnx(cfg, cfg->line, "%scgi_root \"%s\": %s",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s,
			    strerror(saved_errno));
			return -1;
		}
		free(real);
	}
	return 0;
}

/* "NAME=VALUE" for the CGI programs' environment; VALUE may be empty. */
static int
check_env(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s, *eq;
	char		 pfx[PREFIX_MAX];
	size_t		 len;
	unsigned int	 i, n;

	n = cfg_opt_size(opt);
	for (i = 0; i < n; i++) {
		s = cfg_opt_getnstr(opt, i);
		if ((eq = strchr(s, '=')) == NULL) {
			conf_warnx(cfg, cfg->line,
			    "%senv \"%s\": missing \"=\" (write NAME=VALUE)",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s);
			return -1;
		}
		len = (size_t)(eq - s);
		if (len == 0 || (s[0] >= '0' && s[0] <= '9') ||
		    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != len) {
			conf_warnx(cfg, cfg->line, "%senv \"%s\": invalid "
			    "name \"%.*s\" (use letters, digits and \"_\", "
			    "not starting with a digit)",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s, (int)len, s);
			return -1;
		}
	}
	return 0;
}

/*
 * Names added to the CGI environment's allowlist; cgi_env.c refuses the
 * ones that make programs load code, so a client can never set them.
 */
static int
check_pass_params(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s, *why;
	char		 pfx[PREFIX_MAX];
	unsigned int	 i, n;

	n = cfg_opt_size(opt);
	for (i = 0; i < n; i++) {
		s = cfg_opt_getnstr(opt, i);
		if ((why = cgi_env_pass_check(s)) != NULL) {
			conf_warnx(cfg, cfg->line, "%scgi_pass_params \"%s\": "
			    "%s", pool_prefix(cfg, pfx, sizeof(pfx)), s, why);
			return -1;
		}
	}
	return 0;
}

static int
check_local_redirect(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];

	if (strcmp(s, "302") == 0 || strcmp(s, "x-accel") == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%scgi_local_redirect \"%s\": not 302 "
	    "or x-accel", pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

/*
 * The paths a CGI program may send nginx to internally: a directory, so
 * "/private" cannot stand for "/private2/", and without "//", "." or
 * ".." segments, so that what the operator reads is what it covers.
 */
static int
check_x_accel_prefix(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	size_t		 len = strlen(s);

	if (check_uri_path(cfg, opt) == -1)
		return -1;
	if (s[len - 1] == '/' && strstr(s, "//") == NULL &&
	    strstr(s, "/./") == NULL && strstr(s, "/../") == NULL &&
	    strchr(s, '%') == NULL)
		return 0;
	conf_warnx(cfg, cfg->line, "%scgi_x_accel_prefix \"%s\": write a "
	    "directory path ending in \"/\", without \"//\", \".\" or "
	    "\"..\" segments or \"%%\"", pool_prefix(cfg, pfx, sizeof(pfx)), s);
	return -1;
}

/*
 * ".ext=/path/to/interpreter": files ending in .ext run through the
 * interpreter, which must be an executable regular file.
 */
static int
check_interpreter(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s, *eq;
	char		 pfx[PREFIX_MAX];
	struct stat	 st;
	unsigned int	 i, n;

	n = cfg_opt_size(opt);
	for (i = 0; i < n; i++) {
		s = cfg_opt_getnstr(opt, i);
		eq = strchr(s, '=');
		if (s[0] != '.' || eq == NULL || eq == s + 1 ||
		    memchr(s, '/', (size_t)(eq - s)) != NULL) {
			conf_warnx(cfg, cfg->line, "%scgi_interpreter \"%s\": "
			    "write \".ext=/path/to/interpreter\"",
			    pool_prefix(cfg, pfx, sizeof(pfx)), s);
			return -1;
		}
		if (eq[1] != '/' || stat(eq + 1, &st) == -1 ||
		    !S_ISREG(st.st_mode) || access(eq + 1, X_OK) == -1) {
			conf_warnx(cfg, cfg->line, "%scgi_interpreter \"%s\": "
			    "%s is not an executable file given by an absolute "
			    "path", pool_prefix(cfg, pfx, sizeof(pfx)), s,
			    eq + 1);
			return -1;
		}
	}
	return 0;
}

static int
check_pool_name(cfg_t *sec)
{
	const char	*s = sec->title;
	size_t		 len = strlen(s);

	if (len == 0) {
		conf_warnx(sec, pool_line(sec), "pool \"\": empty name");
		return -1;
	}
	if (len > POOL_NAME_MAX) {
		conf_warnx(sec, pool_line(sec),
		    "pool \"%s\": name longer than %d characters", s,
		    POOL_NAME_MAX);
		return -1;
	}
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") != len) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": invalid name "
		    "(use letters, digits, \"_\", \".\" and \"-\")", s);
		return -1;
	}
	return 0;
}

/*
 * A user by name, or by number when no user has that name (as chown(1)
 * reads it).  Returns 0 with *pw filled from buf, or -1.
 */
static int
find_user(const char *name, struct passwd *pw, char *buf, size_t len)
{
	struct passwd	*res = NULL;
	char		*end;
	unsigned long	 n;

	if (getpwnam_r(name, pw, buf, len, &res) == 0 && res != NULL)
		return 0;
	if (name[0] >= '0' && name[0] <= '9') {
		n = strtoul(name, &end, 10);
		if (*end == '\0' && n < (unsigned long)(uid_t)-1 &&
		    getpwuid_r((uid_t)n, pw, buf, len, &res) == 0 &&
		    res != NULL)
			return 0;
	}
	return -1;
}

/* A group by name or number; -1 when there is none. */
static int
find_group(const char *name, gid_t *gid)
{
	struct group	 gr, *res = NULL;
	char		 buf[16384], *end;
	unsigned long	 n;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 &&
	    res != NULL) {
		*gid = gr.gr_gid;
		return 0;
	}
	if (name[0] >= '0' && name[0] <= '9') {
		n = strtoul(name, &end, 10);
		if (*end == '\0' && n < (unsigned long)(gid_t)-1) {
			*gid = (gid_t)n;
			return 0;
		}
	}
	return -1;
}

/* user, listen_owner: a user that exists (in the master's passwd). */
static int
check_user(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	struct passwd	 pw;
	char		 pfx[PREFIX_MAX], buf[16384];

	if (s[0] != '\0' && find_user(s, &pw, buf, sizeof(buf)) == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%s%s \"%s\": no such user",
	    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s);
	return -1;
}

/* group, listen_group: a group that exists. */
static int
check_group(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	gid_t		 gid;

	if (s[0] != '\0' && find_group(s, &gid) == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%s%s \"%s\": no such group",
	    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s);
	return -1;
}

/*
 * chroot: an existing directory, by an absolute path; chdir: an absolute
 * path (inside the chroot, checked with the section).
 */
static int
check_dir(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	struct stat	 st;
	int		 saved_errno;

	if (s[0] != '/') {
		conf_warnx(cfg, cfg->line, "%s%s \"%s\": not an absolute path",
		    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s);
		return -1;
	}
	if (strcmp(opt->name, "chroot") != 0 &&
	    strcmp(opt->name, "cgi_spill_dir") != 0)
		return 0;
	if (stat(s, &st) == -1) {
		saved_errno = errno;
		conf_warnx(cfg, cfg->line, "%s%s \"%s\": %s",
		    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s,
		    strerror(saved_errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		conf_warnx(cfg, cfg->line, "%s%s \"%s\": not a directory",
		    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, s);
		return -1;
	}
	/* Where anyone may write, anyone may swap what is there. */
	if ((st.st_mode & (S_IWOTH | S_ISVTX)) == S_IWOTH) {
		conf_warnx(cfg, cfg->line, "%s%s \"%s\": writable by anyone "
		    "and not sticky", pool_prefix(cfg, pfx, sizeof(pfx)),
		    opt->name, s);
		return -1;
	}
	return 0;
}

/*
 * A resource limit: "unlimited", or a decimal number with an optional
 * K, M or G (powers of 1024) for the sizes.
 */
static int
parse_rlimit(const char *s, rlim_t *value)
{
	unsigned long long	 n, mult = 1;
	char			*end;

	if (strcmp(s, "unlimited") == 0) {
		*value = RLIM_INFINITY;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	switch (*end) {
	case 'K':
		mult = 1024ULL;
		end++;
		break;
	case 'M':
		mult = 1024ULL * 1024;
		end++;
		break;
	case 'G':
		mult = 1024ULL * 1024 * 1024;
		end++;
		break;
	}
	if (*end != '\0' || n > (RLIM_INFINITY - 1) / mult)
		return -1;
	*value = (rlim_t)(n * mult);
	return 0;
}

static int
check_rlimit(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*s = cfg_opt_getnstr(opt, 0);
	char		 pfx[PREFIX_MAX];
	rlim_t		 v;

	if (parse_rlimit(s, &v) == 0)
		return 0;
	conf_warnx(cfg, cfg->line, "%s%s \"%s\": not a number (with K, M or "
	    "G) or \"unlimited\"", pool_prefix(cfg, pfx, sizeof(pfx)),
	    opt->name, s);
	return -1;
}

/* allowed_clients, status_allowed_clients: addresses and ranges. */
static int
check_clients(cfg_t *cfg, cfg_opt_t *opt)
{
	struct client_acl	 acl;
	char			 pfx[PREFIX_MAX], err[256];
	unsigned int		 i, n;
	int			 rc = 0;

	memset(&acl, 0, sizeof(acl));
	n = cfg_opt_size(opt);
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = acl_parse(cfg_opt_getnstr(opt, i), &acl, err,
		    sizeof(err))) == -1)
			conf_warnx(cfg, cfg->line, "%s%s: %s",
			    pool_prefix(cfg, pfx, sizeof(pfx)), opt->name, err);
	acl_free(&acl);
	return rc;
}

/* An option of the pool section, else the file's default, else NULL. */
static const char *
str_or_global(cfg_t *cfg, cfg_t *sec, const char *name)
{
	if (cfg_size(sec, name) > 0)
		return cfg_getstr(sec, name);
	if (cfg_size(cfg, name) > 0)
		return cfg_getstr(cfg, name);
	return NULL;
}

/* Whether path is root itself or lies under it, lexically. */
static bool
path_inside(const char *path, const char *root)
{
	size_t	 n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1)
		return true;	/* chroot "/" */
	return strncmp(path, root, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/*
 * A pool's privileges, once the whole file is read (a user may come from
 * the file's defaults): the paths a chrooted worker uses must lie inside
 * its chroot, and listen_owner and listen_group are for unix sockets,
 * allowed_clients for TCP.
 */
static int
check_pool_privs(cfg_t *sec)
{
	struct listen_addr	 la;
	const char		*root, *s;
	char			 err[512];
	unsigned int		 i, n;
	static const char *const lists[] = { "cgi_root", "cgi_interpreter" };
	size_t			 k;

	if (listen_addr_parse(cfg_getstr(sec, "listen"), &la, err,
	    sizeof(err)) == -1)
		return -1;	/* reported already */
	if (la.kind == LISTEN_TCP && (cfg_size(sec, "listen_owner") > 0 ||
	    cfg_size(sec, "listen_group") > 0)) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": listen_owner and "
		    "listen_group are for unix sockets; a TCP listener is "
		    "guarded by allowed_clients", sec->title);
		return -1;
	}
	if (la.kind == LISTEN_UNIX && cfg_size(sec, "allowed_clients") > 0) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": allowed_clients "
		    "is for TCP listeners; a unix socket is guarded by "
		    "listen_owner, listen_group and listen_mode", sec->title);
		return -1;
	}
	if ((root = cfg_getstr(sec, "chroot")) == NULL)
		return 0;
	if ((s = cfg_getstr(sec, "module")) != NULL && !path_inside(s, root)) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": module \"%s\" is "
		    "not inside chroot \"%s\" (write the path as seen from "
		    "outside, under the chroot)", sec->title, s, root);
		return -1;
	}
	for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		n = cfg_size(sec, lists[k]);
		for (i = 0; i < n; i++) {
			s = cfg_getnstr(sec, lists[k], i);
			if (k == 1)
				s = strchr(s, '=') + 1;	/* validated */
			if (!path_inside(s, root)) {
				conf_warnx(sec, pool_line(sec), "pool \"%s\": "
				    "%s \"%s\" is not inside chroot \"%s\"",
				    sec->title, lists[k], s, root);
				return -1;
			}
		}
	}
	if ((s = cfg_getstr(sec, "chdir")) != NULL && !path_inside(s, root)) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": chdir \"%s\" is "
		    "not inside chroot \"%s\"", sec->title, s, root);
		return -1;
	}
	return 0;
}

/* Where pool other starts, as seen from pool sec: "line N" or "file:N". */
static const char *
where(cfg_t *sec, cfg_t *other, char *buf, size_t len)
{
	const char	*file, *ofile;
	int		 line, oline;

	file = conf_text_where(cur_text, pool_line(sec), &line);
	ofile = conf_text_where(cur_text, pool_line(other), &oline);
	if (strcmp(file, ofile) == 0)
		snprintf(buf, len, "line %d", oline);
	else
		snprintf(buf, len, "%s:%d", ofile, oline);
	return buf;
}

/*
 * What can only be checked once a section is complete: its name, the
 * required options, and its listen address against the pools before it.
 * Reported at the line the section starts on.
 */
static int
check_pool(cfg_opt_t *opt, unsigned int idx)
{
	struct listen_addr	 la, prev;
	cfg_t			*sec, *other;
	char			 err[512];
	unsigned int		 i;

	sec = cfg_opt_getnsec(opt, idx);
	if (check_pool_name(sec) == -1 || check_pm_sizes(sec) == -1)
		return -1;
	if (cfg_size(sec, "listen") == 0) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": missing listen",
		    sec->title);
		return -1;
	}
	/* Set, but to "{}": its validator never ran, so no line of its own. */
	if (cfg_size(sec, "cgi_root") == 0 &&
	    (cfg_getopt(sec, "cgi_root")->flags & CFGF_MODIFIED) != 0) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": cgi_root: empty "
		    "list", sec->title);
		return -1;
	}
	if (strcmp(cfg_getstr(sec, "handler"), "cgi") == 0) {
		if (cfg_size(sec, "cgi_root") == 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": missing "
			    "cgi_root (required by handler \"cgi\")",
			    sec->title);
			return -1;
		}
		if (cfg_size(sec, "module") != 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": module "
			    "is only used by handler \"module\"", sec->title);
			return -1;
		}
		if (cfg_size(sec, "cgi_x_accel_prefix") != 0 &&
		    strcmp(cfg_getstr(sec, "cgi_local_redirect"),
		    "x-accel") != 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": "
			    "cgi_x_accel_prefix is only used with "
			    "cgi_local_redirect = \"x-accel\"", sec->title);
			return -1;
		}
	} else {
		if (cfg_size(sec, "module") == 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": missing "
			    "module (required by handler \"module\")",
			    sec->title);
			return -1;
		}
		if (cfg_size(sec, "cgi_root") != 0 ||
		    cfg_size(sec, "env") != 0 ||
		    cfg_size(sec, "cgi_interpreter") != 0 ||
		    cfg_size(sec, "cgi_pass_params") != 0 ||
		    cfg_size(sec, "cgi_x_accel_prefix") != 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": cgi_root, "
			    "env, cgi_interpreter, cgi_pass_params and "
			    "cgi_x_accel_prefix are only used by handler "
			    "\"cgi\"", sec->title);
			return -1;
		}
	}
	if (listen_addr_parse(cfg_getstr(sec, "listen"), &la, err,
	    sizeof(err)) == -1) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": %s", sec->title,
		    err);
		return -1;
	}
	for (i = 0; i < idx; i++) {
		other = cfg_opt_getnsec(opt, i);
		if (listen_addr_parse(cfg_getstr(other, "listen"), &prev, err,
		    sizeof(err)) == -1)
			continue;	/* reported with its own pool */
		if (listen_addr_conflict(&la, &prev)) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": listen "
			    "\"%s\" conflicts with listen \"%s\" of pool "
			    "\"%s\" (%s)", sec->title, la.text, prev.text,
			    other->title, where(sec, other, err, sizeof(err)));
			return -1;
		}
	}
	return 0;
}

/* Runs after each pool section's closing brace; the newest one is last. */
static int
check_pool_section(cfg_t *cfg, cfg_opt_t *opt)
{
	(void)cfg;
	return check_pool(opt, cfg_opt_size(opt) - 1);
}

/* A string list option as a NULL-ended array; its length in np. */
static char **
copy_list(cfg_t *sec, const char *name, size_t *np)
{
	char		**v;
	unsigned int	  i, n;

	n = cfg_size(sec, name);
	v = xcalloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		v[i] = xstrdup(cfg_getnstr(sec, name, i));
	*np = n;
	return v;
}

/*
 * The workers' user, group and supplementary groups (initgroups would
 * read /etc/group in the worker, after a chroot maybe: resolved here, in
 * the master, once).  Without user, the workers run as the master.
 */
static int
build_user(cfg_t *cfg, cfg_t *sec, struct pool_conf *pc)
{
	struct passwd	 pw;
	const char	*s;
	char		 buf[16384];
	int		 n = 16;
	gid_t		*groups = NULL;

	pc->uid = geteuid();
	pc->gid = getegid();
	if ((s = str_or_global(cfg, sec, "user")) == NULL)
		return 0;
	if (find_user(s, &pw, buf, sizeof(buf)) == -1) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": user \"%s\": "
		    "no such user", sec->title, s);
		return -1;
	}
	pc->has_user = true;
	/* In the pool's section, so in its file. */
	if (cfg_size(sec, "user") > 0)
		(void)conf_text_where(cur_text, pool_line(sec), &pc->user_line);
	pc->user = xstrdup(pw.pw_name);
	pc->uid = pw.pw_uid;
	pc->gid = pw.pw_gid;
	if ((s = str_or_global(cfg, sec, "group")) != NULL &&
	    find_group(s, &pc->gid) == -1) {
		conf_warnx(sec, pool_line(sec), "pool \"%s\": group \"%s\": "
		    "no such group", sec->title, s);
		return -1;
	}
	for (;;) {
		groups = xcalloc((size_t)n, sizeof(*groups));
		if (getgrouplist(pw.pw_name, pc->gid, groups, &n) != -1)
			break;
		free(groups);
		if (n > 65536) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": user "
			    "\"%s\": too many groups", sec->title, pw.pw_name);
			return -1;
		}
	}
	pc->groups = groups;
	pc->ngroups = (size_t)n;
	return 0;
}

/* Add the limit option name sets, if it is set, to v. */
static void
add_rlimit(cfg_t *sec, const char *name, int resource,
    struct pool_rlimit *v, size_t *n)
{
	const char	*s = cfg_getstr(sec, name);

	if (s == NULL || *n >= POOL_RLIMITS_MAX ||
	    parse_rlimit(s, &v[*n].value) == -1)
		return;		/* validated while parsing */
	v[*n].resource = resource;
	v[*n].name = name;
	(*n)++;
}

/* listen_owner, listen_group, allowed_clients of a pool. */
static int
build_listen_access(cfg_t *cfg, cfg_t *sec, struct pool_conf *pc)
{
	struct passwd	 pw;
	const char	*s;
	char		 buf[16384], err[256];
	unsigned int	 i, n;

	pc->listen_uid = (uid_t)-1;
	pc->listen_gid = (gid_t)-1;
	if (pc->listen.kind == LISTEN_UNIX) {
		if ((s = str_or_global(cfg, sec, "listen_owner")) != NULL) {
			if (find_user(s, &pw, buf, sizeof(buf)) == -1)
				return -1;	/* validated */
			pc->listen_uid = pw.pw_uid;
		}
		if ((s = str_or_global(cfg, sec, "listen_group")) != NULL &&
		    find_group(s, &pc->listen_gid) == -1)
			return -1;
		return 0;
	}
	n = cfg_size(sec, "allowed_clients");
	pc->allowed_clients_set = n > 0;
	if (n == 0) {
		acl_loopback(&pc->allowed_clients);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (acl_parse(cfg_getnstr(sec, "allowed_clients", i),
		    &pc->allowed_clients, err, sizeof(err)) == -1) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": "
			    "allowed_clients: %s", sec->title, err);
			return -1;
		}
	return 0;
}

/* Copy one validated pool section into pc; cfg has the defaults. */
static int
build_pool(cfg_t *cfg, cfg_t *sec, struct pool_conf *pc)
{
	const char	*s;
	char		 err[512];
	unsigned int	 i, n;
	int		 saved_errno;

	pc->name = xstrdup(sec->title);
	pc->file = xstrdup(conf_text_where(cur_text, pool_line(sec),
	    &pc->line));
	/* Both were validated while parsing. */
	if (listen_addr_parse(cfg_getstr(sec, "listen"), &pc->listen, err,
	    sizeof(err)) == -1 || parse_mode(cfg_getstr(sec, "listen_mode"),
	    &pc->listen_mode) == -1) {
		log_warnx("build_pool: pool \"%s\" changed after validation",
		    sec->title);
		return -1;
	}
	pc->listen_backlog = (int)cfg_getint(sec, "listen_backlog");
	pc->protocol = strcmp(cfg_getstr(sec, "protocol"), "scgi") == 0 ?
	    PROTO_SCGI : PROTO_FASTCGI;
	pc->processes = (int)cfg_getint(sec, "processes");
	pc->threads = (int)cfg_getint(sec, "threads");
	pc->handler = strcmp(cfg_getstr(sec, "handler"), "cgi") == 0 ?
	    HANDLER_CGI : HANDLER_MODULE;
	if ((s = cfg_getstr(sec, "module")) != NULL)
		pc->module = xstrdup(s);
	pc->module_options = copy_list(sec, "module_options",
	    &pc->nmodule_options);
	/* Resolved, as the CGI handler compares resolved program paths. */
	n = cfg_size(sec, "cgi_root");
	pc->cgi_roots = xcalloc((size_t)n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		s = cfg_getnstr(sec, "cgi_root", i);
		if ((pc->cgi_roots[i] = realpath(s, NULL)) == NULL) {
			saved_errno = errno;
			conf_warnx(sec, pool_line(sec),
			    "pool \"%s\": cgi_root \"%s\": %s", sec->title, s,
			    strerror(saved_errno));
			return -1;
		}
		pc->ncgi_roots = i + 1;
	}
	pc->cgi_env = copy_list(sec, "env", &pc->ncgi_env);
	pc->cgi_pass_params = copy_list(sec, "cgi_pass_params",
	    &pc->ncgi_pass_params);
	pc->cgi_x_accel = strcmp(cfg_getstr(sec, "cgi_local_redirect"),
	    "x-accel") == 0;
	if ((s = cfg_getstr(sec, "cgi_x_accel_prefix")) != NULL)
		pc->cgi_x_accel_prefix = xstrdup(s);
	pc->cgi_interpreters = copy_list(sec, "cgi_interpreter",
	    &pc->ncgi_interpreters);
	pc->cgi_timeout = (int)cfg_getint(sec, "cgi_timeout");
	s = cfg_getstr(sec, "cgi_stderr");
	pc->cgi_stderr_log = strcmp(s, "server") != 0;
	pc->cgi_stderr_server = strcmp(s, "log") != 0;
	pc->request_log_max = (size_t)cfg_getint(sec, "request_log_max");
	pc->log_repeat_window = (int)cfg_getint(sec, "log_repeat_window");
	pc->read_timeout = (int)cfg_getint(sec, "read_timeout");
	pc->write_timeout = (int)cfg_getint(sec, "write_timeout");
	pc->keepalive_timeout = (int)cfg_getint(sec, "keepalive_timeout");
	pc->request_timeout = (int)cfg_getint(sec, "request_timeout");
	pc->max_waiting_connections = (int)cfg_getint(sec,
	    "max_waiting_connections");
	pc->max_kept_connections = (int)cfg_getint(sec,
	    "max_kept_connections");
	pc->malloc_arena_max = (int)cfg_getint(sec, "malloc_arena_max");
	pc->scgi_header_max = (size_t)cfg_getint(sec, "scgi_header_max");
	pc->cgi_hold_max = (size_t)cfg_getint(sec, "cgi_hold_max");
	s = cfg_getstr(sec, "cgi_spill_dir");
	pc->cgi_spill_dir = xstrdup(s != NULL ? s : CGI_SPILL_DIR);
	pc->max_requests = (int)cfg_getint(sec, "max_requests");
	pc->max_requests_jitter = (int)cfg_getint(sec, "max_requests_jitter");
	pc->slow_request = (int)cfg_getint(sec, "slow_request");
	s = cfg_getstr(sec, "pm");
	pc->pm = strcmp(s, "dynamic") == 0 ? PM_DYNAMIC :
	    strcmp(s, "ondemand") == 0 ? PM_ONDEMAND : PM_STATIC;
	pc->max_processes = (int)int_or(sec, "max_processes", pc->processes);
	pc->min_processes = pc->pm == PM_DYNAMIC ?
	    (int)cfg_getint(sec, "min_processes") : 0;
	pc->min_spare_threads = (int)int_or(sec, "min_spare_threads",
	    pc->threads);
	pc->max_spare_threads = (int)int_or(sec, "max_spare_threads",
	    3L * pc->threads);
	pc->idle_timeout = (int)cfg_getint(sec, "idle_timeout");
	if ((s = cfg_getstr(sec, "status_path")) != NULL)
		pc->status_path = xstrdup(s);
	if ((s = cfg_getstr(sec, "ping_path")) != NULL)
		pc->ping_path = xstrdup(s);
	pc->ping_response = xstrdup(cfg_getstr(sec, "ping_response"));
	s = cfg_getstr(sec, "access_log");
	pc->access_log = strcmp(s, "off") == 0 ? NULL : xstrdup(s);
	pc->access_format = xstrdup(cfg_getstr(sec, "access_format"));
	/* How many start: processes, within the bounds; none on demand. */
	if (pc->pm == PM_ONDEMAND)
		pc->processes = 0;
	else if (pc->pm == PM_DYNAMIC) {
		if (pc->processes < pc->min_processes)
			pc->processes = pc->min_processes;
		if (pc->processes > pc->max_processes)
			pc->processes = pc->max_processes;
	}
	pc->scgi_max_headers = (unsigned int)cfg_getint(sec,
	    "scgi_max_headers");
	pc->max_params = (unsigned int)cfg_getint(sec, "max_params");
	pc->max_params_size = (size_t)cfg_getint(sec, "max_params_size");
	pc->body_timeout = (int)cfg_getint(sec, "body_timeout");
	pc->body_min_rate = (unsigned int)cfg_getint(sec, "body_min_rate");
	pc->max_body = (uint64_t)cfg_getint(sec, "max_body");
	if (build_user(cfg, sec, pc) == -1 ||
	    build_listen_access(cfg, sec, pc) == -1)
		return -1;
	pc->allow_root = cfg_size(sec, "allow_root") > 0 ?
	    cfg_getbool(sec, "allow_root") : cfg_size(cfg, "allow_root") > 0 &&
	    cfg_getbool(cfg, "allow_root");
	if ((s = cfg_getstr(sec, "chroot")) != NULL) {
		/*
		 * Paths under it are stripped of it lexically (privs_view),
		 * cgi_roots are real paths: so must it be.
		 */
		pc->chroot = realpath(s, NULL);
		if (pc->chroot == NULL || strcmp(pc->chroot, s) != 0) {
			conf_warnx(sec, pool_line(sec), "pool \"%s\": chroot "
			    "\"%s\": write its real path (%s)", sec->title, s,
			    pc->chroot != NULL ? pc->chroot : "none");
			return -1;
		}
	}
	if ((s = cfg_getstr(sec, "chdir")) != NULL)
		pc->chdir = xstrdup(s);
	add_rlimit(sec, "rlimit_files", RLIMIT_NOFILE, pc->rlimits,
	    &pc->nrlimits);
	add_rlimit(sec, "rlimit_core", RLIMIT_CORE, pc->rlimits,
	    &pc->nrlimits);
	add_rlimit(sec, "rlimit_nproc", RLIMIT_NPROC, pc->rlimits,
	    &pc->nrlimits);
	add_rlimit(sec, "cgi_rlimit_cpu", RLIMIT_CPU, pc->cgi_rlimits,
	    &pc->ncgi_rlimits);
	add_rlimit(sec, "cgi_rlimit_as", RLIMIT_AS, pc->cgi_rlimits,
	    &pc->ncgi_rlimits);
	add_rlimit(sec, "cgi_rlimit_nproc", RLIMIT_NPROC, pc->cgi_rlimits,
	    &pc->ncgi_rlimits);
	return 0;
}

/* Parse and validate path; on error log "file:line: reason", NULL. */
struct conf *
conf_load(const char *path)
{
	struct conf	*conf = NULL;
	struct conf_text *text;
	cfg_t		*cfg = NULL;
	cfg_opt_t	*opt;
	FILE		*fp = NULL;
	char		*buf;
	const char	*s;
	size_t		 len;
	unsigned int	 i, n;

	if ((text = conf_text_load(path)) == NULL)
		return NULL;
	cur_text = text;
	buf = conf_text_buf(text, &len);
	if ((fp = fmemopen(buf, len, "r")) == NULL)
		fatal("conf_load: fmemopen");

	if ((cfg = cfg_init(conf_opts, CFGF_NONE)) == NULL)
		fatal("conf_load: cfg_init");
	cfg_set_error_function(cfg, confuse_error);
	for (i = 0; i < sizeof(validators) / sizeof(validators[0]); i++)
		cfg_set_validate_func(cfg, validators[i].name,
		    validators[i].fn);
	/* cfg_parse_fp() would name the file "FILE" in messages. */
	free(cfg->filename);
	cfg->filename = xstrdup(path);
	if (cfg_parse_fp(cfg, fp) != CFG_SUCCESS)
		goto fail;	/* reported by the callbacks */

	opt = cfg_getopt(cfg, "pool");
	n = cfg_opt_size(opt);
	if (n == 0) {
		conf_warnx(cfg, 0, "no pool defined");
		goto fail;
	}
	/*
	 * The section callback has checked every pool already; again here
	 * because an option name like "pool=x|listen" lets libconfuse set a
	 * pool's option from outside its section.
	 */
	for (i = 0; i < n; i++)
		if (check_pool(opt, i) == -1 ||
		    check_pool_privs(cfg_opt_getnsec(opt, i)) == -1)
			goto fail;

	if ((s = cfg_getstr(cfg, "status_listen")) != NULL &&
	    cfg_size(cfg, "status_allowed_clients") > 0) {
		struct listen_addr	 la;
		char			 err[512];

		if (listen_addr_parse(s, &la, err, sizeof(err)) == 0 &&
		    la.kind == LISTEN_UNIX) {
			conf_warnx(cfg, 0, "status_allowed_clients is for a TCP "
			    "status_listen; a unix one is root's, mode 0600");
			goto fail;
		}
	}
	conf = xcalloc(1, sizeof(*conf));
	conf->path = xstrdup(path);
	conf->error_log = xstrdup(cfg_getstr(cfg, "error_log"));
	conf->log_level = conf_log_level(cfg_getstr(cfg, "log_level"));
	conf->syslog_facility = facility_value(cfg_getstr(cfg,
	    "syslog_facility"));
	conf->syslog_ident = xstrdup(cfg_getstr(cfg, "syslog_ident"));
	if ((s = cfg_getstr(cfg, "pid_file")) != NULL)
		conf->pid_file = xstrdup(s);
	conf->graceful_timeout = (int)cfg_getint(cfg, "graceful_timeout");
	conf->kill_timeout = (int)cfg_getint(cfg, "kill_timeout");
	conf->start_timeout = (int)cfg_getint(cfg, "start_timeout");
	if ((s = cfg_getstr(cfg, "status_listen")) != NULL) {
		char	 err[512];

		/* Checked by its validator already. */
		if (listen_addr_parse(s, &conf->status_listen, err,
		    sizeof(err)) == 0)
			conf->has_status_listen = true;
	}
	conf->status_max_per_client = (int)cfg_getint(cfg,
	    "status_max_connections_per_client");
	conf->status_allowed_clients_set =
	    cfg_size(cfg, "status_allowed_clients") > 0;
	if (!conf->status_allowed_clients_set)
		acl_loopback(&conf->status_allowed_clients);
	for (i = 0; i < cfg_size(cfg, "status_allowed_clients"); i++) {
		char	 err[256];

		/* Checked by its validator already. */
		(void)acl_parse(cfg_getnstr(cfg, "status_allowed_clients", i),
		    &conf->status_allowed_clients, err, sizeof(err));
	}
	conf->pools = xcalloc(n, sizeof(*conf->pools));
	conf->npools = n;
	for (i = 0; i < n; i++) {
		if (build_pool(cfg, cfg_opt_getnsec(opt, i),
		    &conf->pools[i]) != 0) {
			conf_free(conf);
			conf = NULL;
			break;
		}
	}
fail:
	if (cfg != NULL)
		cfg_free(cfg);
	if (fp != NULL)
		fclose(fp);
	cur_text = NULL;
	conf_text_free(text);
	return conf;
}

/* Free a struct conf from conf_load(); NULL is ignored. */
void
conf_free(struct conf *conf)
{
	struct pool_conf	*pc;
	size_t			 i, j;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->npools; i++) {
		pc = &conf->pools[i];
		free(pc->name);
		free(pc->file);
		free(pc->module);
		for (j = 0; j < pc->nmodule_options; j++)
			free(pc->module_options[j]);
		free(pc->module_options);
		for (j = 0; j < pc->ncgi_roots; j++)
			free(pc->cgi_roots[j]);
		free(pc->cgi_roots);
		for (j = 0; j < pc->ncgi_env; j++)
			free(pc->cgi_env[j]);
		free(pc->cgi_env);
		for (j = 0; j < pc->ncgi_pass_params; j++)
			free(pc->cgi_pass_params[j]);
		free(pc->cgi_pass_params);
		free(pc->cgi_x_accel_prefix);
		for (j = 0; j < pc->ncgi_interpreters; j++)
			free(pc->cgi_interpreters[j]);
		free(pc->cgi_interpreters);
		free(pc->cgi_spill_dir);
		free(pc->status_path);
		free(pc->ping_path);
		free(pc->ping_response);
		free(pc->access_log);
		free(pc->access_format);
		acl_free(&pc->allowed_clients);
		free(pc->user);
		free(pc->groups);
		free(pc->chroot);
		free(pc->chdir);
	}
	acl_free(&conf->status_allowed_clients);
	free(conf->pools);
	free(conf->path);
	free(conf->error_log);
	free(conf->syslog_ident);
	free(conf->pid_file);
	free(conf);
}

/* Parse a log level name; -1 when unknown. */
int
conf_log_level(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]);
	    i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return (int)i;
	return -1;
}
