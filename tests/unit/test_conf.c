/*
 * Unit tests for conf.c: config files written to /tmp, loaded, and either
 * checked value by value or expected to fail with a "file:line: message"
 * on stderr, which each test captures by pointing fd 2 at a temp file.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/*
 * By path: the public include/pooled.h has the same name and comes
 * first in the -I list.
 */
#include "../../src/pooled.h"

/* A pool that is valid on its own: four lines. */
#define POOL_A	"pool a {\n" \
		"\tlisten = \"127.0.0.1:9000\"\n" \
		"\tmodule = \"@MOD@\"\n" \
		"}\n"

/* The start of pool a, for cases that add a line to it: two lines. */
#define POOL_A_OPEN \
		"pool a {\n" \
		"\tmodule = \"@MOD@\"\n"

/* The start of a valid cgi pool c, for cases that add a line: four lines. */
#define POOL_C_OPEN \
		"pool c {\n" \
		"\tlisten = \"/tmp/c.sock\"\n" \
		"\thandler = cgi\n" \
		"\tcgi_root = \"@CGI@\"\n"

#define ERR_MAX	8192

struct error_case {
	const char	*name;
	const char	*text;		/* "@MOD@" etc. are replaced */
	int		 line;		/* 0: "file: message" */
	const char	*message;
};

static char	 module_path[64];	/* an empty regular file */
static char	 unreadable_path[64];	/* mode 000 */
static char	 cgi_dir[64];		/* an empty directory */
static char	 cgi_link[80];		/* a symlink to cgi_dir */
static char	 cgi_real[PATH_MAX];	/* realpath(3) of cgi_dir */

/* What write_conf() replaces in a config text. */
static const struct {
	const char	*mark;
	const char	*value;
} marks[] = {
	{ "@MOD@",	module_path },
	{ "@CGI@",	cgi_dir },
	{ "@CGILINK@",	cgi_link },
};

static int
setup(void **state)
{
	int	 fd;

	(void)state;
	snprintf(module_path, sizeof(module_path), "/tmp/test_conf.so.XXXXXX");
	if ((fd = mkstemp(module_path)) == -1)
		return -1;
	close(fd);
	snprintf(unreadable_path, sizeof(unreadable_path),
	    "/tmp/test_conf.so.XXXXXX");
	if ((fd = mkstemp(unreadable_path)) == -1)
		return -1;
	fchmod(fd, 0);
	close(fd);
	snprintf(cgi_dir, sizeof(cgi_dir), "/tmp/test_conf.cgi.XXXXXX");
	if (mkdtemp(cgi_dir) == NULL)
		return -1;
	snprintf(cgi_link, sizeof(cgi_link), "%s.link", cgi_dir);
	if (symlink(cgi_dir, cgi_link) == -1)
		return -1;
	if (realpath(cgi_dir, cgi_real) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(module_path);
	unlink(unreadable_path);
	unlink(cgi_link);
	rmdir(cgi_dir);
	return 0;
}

/* Write text to fp with the marks replaced. */
static void
write_marks(FILE *fp, const char *text)
{
	const char	*p;
	size_t		 i, len;

	for (p = text; *p != '\0';) {
		for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
			len = strlen(marks[i].mark);
			if (strncmp(p, marks[i].mark, len) == 0)
				break;
		}
		if (i < sizeof(marks) / sizeof(marks[0])) {
			fputs(marks[i].value, fp);
			p += len;
		} else
			fputc(*p++, fp);
	}
}

/* Write text, with the marks replaced, to a new temp file named in path. */
static void
write_conf(char *path, size_t pathlen, const char *text)
{
	FILE		*fp;
	int		 fd;

	snprintf(path, pathlen, "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd != -1);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	write_marks(fp, text);
	assert_int_equal(fclose(fp), 0);
}

/* conf_load(path) with everything it logs collected into err. */
static struct conf *
load_path(const char *path, char *err, size_t errlen)
{
	struct conf	*conf;
	char		 capture[] = "/tmp/test_conf.err.XXXXXX";
	ssize_t		 n;
	int		 fd, saved;

	fd = mkstemp(capture);
	assert_true(fd != -1);
	unlink(capture);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	conf = conf_load(path);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	n = read(fd, err, errlen - 1);
	assert_true(n >= 0);
	err[n] = '\0';
	close(fd);
	return conf;
}

/* Write text to a temp file and load it; path names the file. */
static struct conf *
load_text(const char *text, char *path, size_t pathlen, char *err,
    size_t errlen)
{
	struct conf	*conf;

	write_conf(path, pathlen, text);
	conf = load_path(path, err, errlen);
	unlink(path);
	return conf;
}

/* Load text that must be valid. */
static struct conf *
load_ok(const char *text)
{
	struct conf	*conf;
	char		 path[64], err[ERR_MAX];

	conf = load_text(text, path, sizeof(path), err, sizeof(err));
	if (conf == NULL)
		fail_msg("valid config rejected: %s", err);
	assert_string_equal(err, "");
	return conf;
}

/* Load each case, expect NULL and "file:line: message" in the log. */
static void
run_error_cases(const struct error_case *cases, size_t n)
{
	struct conf	*conf;
	char		 path[64], err[ERR_MAX], want[1024];
	size_t		 i;

	for (i = 0; i < n; i++) {
		conf = load_text(cases[i].text, path, sizeof(path), err,
		    sizeof(err));
		if (conf != NULL) {
			conf_free(conf);
			fail_msg("%s: accepted", cases[i].name);
		}
		if (cases[i].line > 0)
			snprintf(want, sizeof(want), "%s:%d: %s", path,
			    cases[i].line, cases[i].message);
		else
			snprintf(want, sizeof(want), "%s: %s", path,
			    cases[i].message);
		if (strstr(err, want) == NULL)
			fail_msg("%s: want \"%s\", got \"%s\"", cases[i].name,
			    want, err);
	}
}

static void
test_full(void **state)
{
	const char		 text[] =
	    "# every key, none at its default\n"
	    "error_log = \"/var/log/pooled/error.log\"\n"
	    "log_level = debug\n"
	    "pid_file = \"/run/pooled.pid\"\n"
	    "graceful_timeout = 45\n"
	    "kill_timeout = 7\n"
	    "start_timeout = 9\n"
	    "pool app {\n"
	    "\tlisten = \"unix:/run/pooled/app.sock\"\n"
	    "\tlisten_mode = \"0600\"\n"
	    "\tlisten_backlog = 512\n"
	    "\tprotocol = fastcgi\n"
	    "\tprocesses = 3\n"
	    "\tthreads = 16\n"
	    "\thandler = module\n"
	    "\tmodule = \"@MOD@\"\n"
	    "\tmodule_options = { \"greeting=hello world\", verbose,\n"
	    "\t    \"empty=\" }\n"
	    "\tread_timeout = 10\n"
	    "\twrite_timeout = 20\n"
	    "\tkeepalive_timeout = 120\n"
	    "\trequest_timeout = 90\n"
	    "\tmax_kept_connections = 0\n"
	    "}\n"
	    "\n"
	    "pool api.v2 {\n"
	    "\tlisten = \"[::1]:9001\"\n"
	    "\tmodule = @MOD@\n"
	    "}\n";
	struct conf		*conf;
	struct pool_conf	*pc;
	struct sockaddr_un	*sun;
	struct sockaddr_in6	*sin6;
	struct in6_addr		 lo6 = IN6ADDR_LOOPBACK_INIT;

	(void)state;
	conf = load_ok(text);
	assert_non_null(conf->path);
	assert_string_equal(conf->error_log, "/var/log/pooled/error.log");
	assert_int_equal(conf->log_level, POOLED_LOG_DEBUG);
	assert_string_equal(conf->pid_file, "/run/pooled.pid");
	assert_int_equal(conf->graceful_timeout, 45);
	assert_int_equal(conf->kill_timeout, 7);
	assert_int_equal(conf->start_timeout, 9);
	assert_int_equal(conf->npools, 2);

	pc = &conf->pools[0];
	assert_string_equal(pc->name, "app");
	assert_int_equal(pc->line, 8);
	assert_int_equal(pc->listen.kind, LISTEN_UNIX);
	assert_string_equal(pc->listen.text, "unix:/run/pooled/app.sock");
	assert_string_equal(pc->listen.path, "/run/pooled/app.sock");
	sun = (struct sockaddr_un *)&pc->listen.ss;
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/pooled/app.sock");
	assert_int_equal(pc->listen.sslen, offsetof(struct sockaddr_un,
	    sun_path) + strlen("/run/pooled/app.sock") + 1);
	assert_int_equal(pc->listen_mode, 0600);
	assert_int_equal(pc->listen_backlog, 512);
	assert_int_equal(pc->protocol, PROTO_FASTCGI);
	assert_int_equal(pc->processes, 3);
	assert_int_equal(pc->threads, 16);
	assert_int_equal(pc->handler, HANDLER_MODULE);
	assert_string_equal(pc->module, module_path);
	assert_int_equal(pc->nmodule_options, 3);
	assert_string_equal(pc->module_options[0], "greeting=hello world");
	assert_string_equal(pc->module_options[1], "verbose");
	assert_string_equal(pc->module_options[2], "empty=");
	assert_null(pc->module_options[3]);
	assert_int_equal(pc->read_timeout, 10);
	assert_int_equal(pc->write_timeout, 20);
	assert_int_equal(pc->keepalive_timeout, 120);
	assert_int_equal(pc->request_timeout, 90);
	assert_int_equal(pc->max_kept_connections, 0);

	pc = &conf->pools[1];
	assert_string_equal(pc->name, "api.v2");
	assert_int_equal(pc->line, 26);
	assert_int_equal(pc->listen.kind, LISTEN_TCP);
	assert_string_equal(pc->listen.text, "[::1]:9001");
	sin6 = (struct sockaddr_in6 *)&pc->listen.ss;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 9001);
	assert_memory_equal(&sin6->sin6_addr, &lo6, sizeof(lo6));
	assert_int_equal(pc->listen.sslen, sizeof(struct sockaddr_in6));
	assert_string_equal(pc->module, module_path);
	conf_free(conf);
}

static void
test_defaults(void **state)
{
	struct conf		*conf;
	struct pool_conf	*pc;
	struct sockaddr_in	*sin;

	(void)state;
	conf = load_ok(POOL_A);
	assert_string_equal(conf->error_log, "stderr");
	assert_int_equal(conf->log_level, POOLED_LOG_INFO);
	assert_null(conf->pid_file);
	assert_int_equal(conf->graceful_timeout, 30);
	assert_int_equal(conf->kill_timeout, 5);
	assert_int_equal(conf->start_timeout, 60);
	assert_int_equal(conf->npools, 1);

	pc = &conf->pools[0];
	assert_string_equal(pc->name, "a");
	assert_int_equal(pc->line, 1);
	assert_int_equal(pc->listen.kind, LISTEN_TCP);
	sin = (struct sockaddr_in *)&pc->listen.ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9000);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(pc->listen_mode, 0660);
	assert_int_equal(pc->listen_backlog, 1024);
	assert_int_equal(pc->protocol, PROTO_FASTCGI);
	assert_int_equal(pc->processes, 1);
	assert_int_equal(pc->threads, 8);
	assert_int_equal(pc->handler, HANDLER_MODULE);
	assert_string_equal(pc->module, module_path);
	assert_int_equal(pc->nmodule_options, 0);
	assert_non_null(pc->module_options);
	assert_null(pc->module_options[0]);
	assert_int_equal(pc->read_timeout, 30);
	assert_int_equal(pc->write_timeout, 30);
	assert_int_equal(pc->keepalive_timeout, 60);
	assert_int_equal(pc->request_timeout, 300);
	assert_int_equal(pc->max_waiting_connections, 1024);
	assert_int_equal(pc->max_kept_connections, 1024);
	assert_int_equal(pc->malloc_arena_max, 1);
	assert_int_equal(pc->scgi_header_max, 65536);
	assert_int_equal(pc->scgi_max_headers, 512);
	assert_int_equal(pc->max_requests, 0);
	assert_int_equal(pc->max_requests_jitter, 0);
	assert_int_equal(pc->slow_request, 0);
	assert_int_equal(pc->pm, PM_STATIC);
	assert_null(pc->status_path);
	assert_null(pc->ping_path);
	assert_string_equal(pc->ping_response, "pong");
	assert_false(conf->has_status_listen);
	conf_free(conf);

	/* dynamic: processes kept within its bounds; spare defaults. */
	conf = load_ok("status_listen = \"/tmp/st.sock\"\n" POOL_A_OPEN
	    "\tlisten = \"127.0.0.1:9000\"\n\tpm = dynamic\n"
	    "\tprocesses = 9\n\tmax_processes = 4\n\tthreads = 3\n"
	    "\tstatus_path = \"/st\"\n\tping_path = \"/ping\"\n}\n");
	pc = &conf->pools[0];
	assert_true(conf->has_status_listen);
	assert_string_equal(conf->status_listen.path, "/tmp/st.sock");
	assert_int_equal(pc->pm, PM_DYNAMIC);
	assert_int_equal(pc->processes, 4);
	assert_int_equal(pc->min_processes, 1);
	assert_int_equal(pc->max_processes, 4);
	assert_int_equal(pc->min_spare_threads, 3);
	assert_int_equal(pc->max_spare_threads, 9);
	assert_string_equal(pc->status_path, "/st");
	assert_string_equal(pc->ping_path, "/ping");
	conf_free(conf);

	/* ondemand starts none. */
	conf = load_ok(POOL_A_OPEN "\tlisten = \"127.0.0.1:9000\"\n"
	    "\tpm = ondemand\n\tprocesses = 3\n\tidle_timeout = 7\n}\n");
	assert_int_equal(conf->pools[0].processes, 0);
	assert_int_equal(conf->pools[0].max_processes, 3);
	assert_int_equal(conf->pools[0].idle_timeout, 7);
	conf_free(conf);

	conf = load_ok(POOL_A_OPEN "\tlisten = \"127.0.0.1:9000\"\n"
	    "\tmax_requests = 500\n"
	    "\tmax_requests_jitter = 50\n\tslow_request = 5\n}\n");
	assert_int_equal(conf->pools[0].max_requests, 500);
	assert_int_equal(conf->pools[0].max_requests_jitter, 50);
	assert_int_equal(conf->pools[0].slow_request, 5);
	conf_free(conf);
}

/* Range limits themselves are accepted. */
static void
test_limits(void **state)
{
	struct conf		*conf;
	struct pool_conf	*pc;

	(void)state;
	conf = load_ok(
	    "graceful_timeout = 1\n"
	    "kill_timeout = 86400\n"
	    "pool lo {\n"
	    "\tlisten = \"/tmp/lo.sock\"\n"
	    "\tlisten_mode = 0\n"
	    "\tlisten_backlog = 1\n"
	    "\tprocesses = 1\n"
	    "\tthreads = 1\n"
	    "\tmodule = \"@MOD@\"\n"
	    "\tread_timeout = 1\n"
	    "\twrite_timeout = 1\n"
	    "\tkeepalive_timeout = 1\n"
	    "\tmax_kept_connections = 0\n"
	    "\tmalloc_arena_max = 0\n"
	    "}\n"
	    "pool hi {\n"
	    "\tlisten = \"/tmp/hi.sock\"\n"
	    "\tlisten_mode = \"777\"\n"
	    "\tlisten_backlog = 65535\n"
	    "\tprocesses = 1024\n"
	    "\tthreads = 4096\n"
	    "\tmodule = \"@MOD@\"\n"
	    "\tread_timeout = 3600\n"
	    "\twrite_timeout = 3600\n"
	    "\tkeepalive_timeout = 3600\n"
	    "\tmax_kept_connections = 65536\n"
	    "\tmalloc_arena_max = 1024\n"
	    "}\n");
	assert_int_equal(conf->graceful_timeout, 1);
	assert_int_equal(conf->kill_timeout, 86400);
	pc = &conf->pools[0];
	assert_int_equal(pc->listen_mode, 0);
	assert_int_equal(pc->listen_backlog, 1);
	assert_int_equal(pc->threads, 1);
	assert_int_equal(pc->max_kept_connections, 0);
	assert_int_equal(pc->malloc_arena_max, 0);
	pc = &conf->pools[1];
	assert_int_equal(pc->line, 16);
	assert_int_equal(pc->listen_mode, 0777);
	assert_int_equal(pc->listen_backlog, 65535);
	assert_int_equal(pc->processes, 1024);
	assert_int_equal(pc->threads, 4096);
	assert_int_equal(pc->read_timeout, 3600);
	assert_int_equal(pc->write_timeout, 3600);
	assert_int_equal(pc->keepalive_timeout, 3600);
	assert_int_equal(pc->max_kept_connections, 65536);
	assert_int_equal(pc->malloc_arena_max, 1024);
	conf_free(conf);
}

/*
 * Comments anywhere, including where libconfuse 3.3 alone would fail or
 * miscount lines; values that look like comments stay values.
 */
static void
test_comments(void **state)
{
	struct conf		*conf;
	struct pool_conf	*pc;
	char			 path[64], err[ERR_MAX], want[256];

	(void)state;
	conf = load_ok(
	    "# hash\n"
	    "// slashes\n"
	    "/* block\n"
	    "   comment */\n"
	    "log_level = /* inline */ debug # trailing\n"
	    "pool 'a' { // after the brace\n"
	    "\tlisten = \"127.0.0.1:9000\" # after a value\n"
	    "\tmodule = \"@MOD@\"\n"
	    "\tmodule_options = {\n"
	    "\t\t# inside a list\n"
	    "\t\t\"path=/x//y\", // after an element\n"
	    "\t\t\"tag=#1\",\n"
	    "\t\tplain//word\n"
	    "\t}\n"
	    "\tthreads = # before a value\n"
	    "\t\t4\n"
	    "}\n");
	assert_int_equal(conf->log_level, POOLED_LOG_DEBUG);
	pc = &conf->pools[0];
	assert_int_equal(pc->line, 6);
	assert_int_equal(pc->threads, 4);
	assert_int_equal(pc->nmodule_options, 3);
	assert_string_equal(pc->module_options[0], "path=/x//y");
	assert_string_equal(pc->module_options[1], "tag=#1");
	assert_string_equal(pc->module_options[2], "plain//word");
	conf_free(conf);

	/* The line numbers after comments are exact. */
	conf = load_text(
	    "# one\n"
	    "# two\n"
	    "/* three\n"
	    "   four */ // four\n"
	    POOL_A_OPEN		/* 5, 6 */
	    "\t# seven\n"
	    "\tthreads = 0\n"
	    "}\n", path, sizeof(path), err, sizeof(err));
	assert_null(conf);
	snprintf(want, sizeof(want), "%s:8: pool \"a\": threads: 0 is out of "
	    "range (1..4096)", path);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\", got \"%s\"", want, err);
}

static void
test_errors_global(void **state)
{
	static const struct error_case cases[] = {
		{ "unknown key", "bogus = 1\n" POOL_A, 1,
		    "no such option 'bogus'" },
		{ "unknown key after pools", POOL_A "threads = 4\n", 5,
		    "no such option 'threads'" },
		{ "log_level", "log_level = loud\n" POOL_A, 1,
		    "log_level: unknown level \"loud\"" },
		{ "error_log relative", "\nerror_log = pooled.log\n" POOL_A, 2,
		    "error_log: \"pooled.log\" is neither \"stderr\", "
		    "\"syslog\" nor an absolute path" },
		{ "syslog_facility", "syslog_facility = kern\n" POOL_A, 1,
		    "syslog_facility: unknown facility \"kern\"" },
		{ "syslog_ident", "syslog_ident = \"a b\"\n" POOL_A, 1,
		    "syslog_ident \"a b\": use 1 to 32 letters" },
		{ "pid_file relative", "pid_file = \"run/p.pid\"\n" POOL_A, 1,
		    "pid_file: \"run/p.pid\" is not an absolute path" },
		{ "graceful_timeout 0", "graceful_timeout = 0\n" POOL_A, 1,
		    "graceful_timeout: 0 is out of range (1..86400)" },
		{ "kill_timeout 0", "kill_timeout = 0\n" POOL_A, 1,
		    "kill_timeout: 0 is out of range (1..86400)" },
		{ "kill_timeout negative", "kill_timeout = -5\n" POOL_A, 1,
		    "kill_timeout: -5 is out of range (1..86400)" },
		{ "start_timeout 0", "start_timeout = 0\n" POOL_A, 1,
		    "start_timeout: 0 is out of range (1..86400)" },
		{ "graceful_timeout word", "graceful_timeout = soon\n" POOL_A,
		    1, "graceful_timeout: invalid integer \"soon\"" },
		{ "graceful_timeout hex", "graceful_timeout = 0x10\n" POOL_A,
		    1, "graceful_timeout: invalid integer \"0x10\"" },
		{ "graceful_timeout unit", "graceful_timeout = 30s\n" POOL_A,
		    1, "graceful_timeout: invalid integer \"30s\"" },
		{ "graceful_timeout huge",
		    "graceful_timeout = 99999999999999999999999\n" POOL_A, 1,
		    "graceful_timeout: 99999999999999999999999 is out of "
		    "range" },
		{ "no pool", "log_level = info\n", 0, "no pool defined" },
		{ "empty file", "", 0, "no pool defined" },
		{ "only comments", "# nothing\n", 0, "no pool defined" },
	};

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_errors_syntax(void **state)
{
	static const struct error_case cases[] = {
		{ "missing brace", "pool a {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"@MOD@\"\n", 1, "\"{\" is never closed" },
		{ "missing brace in the middle", "pool b {\n"
		    "\tlisten = \"/tmp/s\"\n\tmodule = \"@MOD@\"\n\n" POOL_A,
		    1, "\"{\" is never closed" },
		{ "missing list brace", POOL_A_OPEN "\tmodule_options = {\n"
		    "\t\t\"a\"\n\tlisten = \"/tmp/s\"\n}\n", 1,
		    "\"{\" is never closed" },
		{ "premature end", POOL_A "log_level =\n", 6,
		    "premature end of file" },
		{ "extra brace", POOL_A "}\n", 5, "unexpected closing brace" },
		{ "missing equal sign", POOL_A_OPEN "\tthreads 4\n}\n", 3,
		    "pool \"a\": missing equal sign after option 'threads'" },
		{ "list for scalar", POOL_A_OPEN "\tthreads = { 1, 2 }\n}\n",
		    3, "pool \"a\": unexpected token '{'" },
		{ "missing value", POOL_A_OPEN "\tthreads =\n}\n", 4,
		    "pool \"a\": unexpected token '}'" },
		{ "unterminated string",
		    POOL_A_OPEN "\tlisten = \"/tmp/s\n}\n", 3,
		    "unterminated string" },
		{ "unterminated single-quoted string",
		    POOL_A "\n\nlog_level = 'info\n", 7,
		    "unterminated string" },
		{ "unterminated comment", POOL_A "/* x\n\n", 5,
		    "unterminated comment" },
		{ "stray star", POOL_A_OPEN "\tlisten = *:9000\n}\n", 3,
		    "stray \"*\" (put values containing it in double quotes)" },
		{ "stray plus", POOL_A_OPEN "\tthreads = +4\n}\n", 3,
		    "stray \"+\"" },
		{ "missing title", "pool {\n}\n", 1,
		    "missing title for section 'pool'" },
		{ "nested pool", POOL_A_OPEN "\tpool b {\n\t}\n}\n", 3,
		    "pool \"a\": no such option 'pool'" },
		{ "include as a function", "include(\"/etc/passwd\")\n"
		    POOL_A, 1, "include: write include = \"pattern\"" },
		{ "include in a pool", POOL_A_OPEN "\tinclude = \"x\"\n}\n",
		    3, "pool \"a\": no such option 'include'" },
	};

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_errors_pool(void **state)
{
	static const struct error_case cases[] = {
		{ "unknown key", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tbogus = 1\n}\n", 4, "pool \"a\": no such option "
		    "'bogus'" },
		{ "threads 0", POOL_A_OPEN "\tthreads = 0\n}\n", 3,
		    "pool \"a\": threads: 0 is out of range (1..4096)" },
		{ "threads 4097", POOL_A_OPEN "\tthreads = 4097\n}\n", 3,
		    "pool \"a\": threads: 4097 is out of range (1..4096)" },
		{ "threads word", POOL_A_OPEN "\tthreads = eight\n}\n", 3,
		    "pool \"a\": threads: invalid integer \"eight\"" },
		{ "threads empty", POOL_A_OPEN "\tthreads = \"\"\n}\n", 3,
		    "pool \"a\": threads: invalid integer \"\"" },
		{ "processes 0", POOL_A_OPEN "\tprocesses = 0\n}\n", 3,
		    "pool \"a\": processes: 0 is out of range (1..1024)" },
		{ "processes 1025", POOL_A_OPEN "\tprocesses = 1025\n}\n", 3,
		    "pool \"a\": processes: 1025 is out of range (1..1024)" },
		{ "listen_backlog 0", POOL_A_OPEN "\tlisten_backlog = 0\n}\n",
		    3, "pool \"a\": listen_backlog: 0 is out of range "
		    "(1..65535)" },
		{ "listen_backlog 65536",
		    POOL_A_OPEN "\tlisten_backlog = 65536\n}\n", 3,
		    "pool \"a\": listen_backlog: 65536 is out of range" },
		{ "read_timeout 0", POOL_A_OPEN "\tread_timeout = 0\n}\n", 3,
		    "pool \"a\": read_timeout: 0 is out of range (1..3600)" },
		{ "write_timeout 3601",
		    POOL_A_OPEN "\twrite_timeout = 3601\n}\n", 3,
		    "pool \"a\": write_timeout: 3601 is out of range "
		    "(1..3600)" },
		{ "max_waiting_connections 0",
		    POOL_A_OPEN "\tmax_waiting_connections = 0\n}\n", 3,
		    "pool \"a\": max_waiting_connections: 0 is out of range "
		    "(1..65536)" },
		{ "request_timeout 0",
		    POOL_A_OPEN "\trequest_timeout = 0\n}\n", 3,
		    "pool \"a\": request_timeout: 0 is out of range "
		    "(1..86400)" },
		{ "keepalive_timeout 0",
		    POOL_A_OPEN "\tkeepalive_timeout = 0\n}\n", 3,
		    "pool \"a\": keepalive_timeout: 0 is out of range "
		    "(1..3600)" },
		{ "malloc_arena_max 1025",
		    POOL_A_OPEN "\tmalloc_arena_max = 1025\n}\n", 3,
		    "pool \"a\": malloc_arena_max: 1025 is out of range "
		    "(0..1024)" },
		{ "max_kept_connections -1",
		    POOL_A_OPEN "\tmax_kept_connections = -1\n}\n", 3,
		    "pool \"a\": max_kept_connections: -1 is out of range "
		    "(0..65536)" },
		{ "max_kept_connections 65537",
		    POOL_A_OPEN "\tmax_kept_connections = 65537\n}\n", 3,
		    "pool \"a\": max_kept_connections: 65537 is out of "
		    "range" },
		{ "cgi_stderr other",
		    POOL_A_OPEN "\tcgi_stderr = nginx\n}\n", 3,
		    "pool \"a\": cgi_stderr \"nginx\": not log, server or "
		    "both" },
		{ "scgi_header_max 100",
		    POOL_A_OPEN "\tscgi_header_max = 100\n}\n", 3,
		    "pool \"a\": scgi_header_max: 100 is out of range "
		    "(1024..1048576)" },
		{ "pm other", POOL_A_OPEN "\tpm = adaptive\n}\n", 3,
		    "pool \"a\": pm \"adaptive\": not static, dynamic or "
		    "ondemand" },
		{ "pm dynamic min above max", POOL_A_OPEN
		    "\tlisten = \"127.0.0.1:9000\"\n\tpm = dynamic\n"
		    "\tmin_processes = 5\n\tmax_processes = 2\n}\n", 1,
		    "pool \"a\": min_processes (5) is more than max_processes "
		    "(2)" },
		{ "pm dynamic narrow band", POOL_A_OPEN
		    "\tlisten = \"127.0.0.1:9000\"\n\tpm = dynamic\n"
		    "\tthreads = 4\n\tmin_spare_threads = 2\n"
		    "\tmax_spare_threads = 5\n}\n", 1,
		    "pool \"a\": max_spare_threads (5) must exceed "
		    "min_spare_threads (2) by at least threads (4)" },
		{ "status_path relative", POOL_A_OPEN
		    "\tstatus_path = \"status\"\n}\n", 3,
		    "pool \"a\": status_path \"status\": not a URI path" },
		{ "max_requests -1",
		    POOL_A_OPEN "\tmax_requests = -1\n}\n", 3,
		    "pool \"a\": max_requests: -1 is out of range "
		    "(0..1000000000)" },
		{ "slow_request 86401",
		    POOL_A_OPEN "\tslow_request = 86401\n}\n", 3,
		    "pool \"a\": slow_request: 86401 is out of range "
		    "(0..86400)" },
		{ "scgi_max_headers 0",
		    POOL_A_OPEN "\tscgi_max_headers = 0\n}\n", 3,
		    "pool \"a\": scgi_max_headers: 0 is out of range "
		    "(8..65536)" },
		{ "protocol http", POOL_A_OPEN "\tprotocol = http\n}\n", 3,
		    "pool \"a\": unknown protocol \"http\"" },
		{ "handler other", POOL_A_OPEN "\thandler = lua\n}\n", 3,
		    "pool \"a\": unknown handler \"lua\"" },
		{ "listen_mode 8", POOL_A_OPEN "\tlisten_mode = \"0680\"\n}\n",
		    3, "pool \"a\": listen_mode: invalid mode \"0680\" (octal, "
		    "at most 0777)" },
		{ "listen_mode too big",
		    POOL_A_OPEN "\tlisten_mode = \"01000\"\n}\n", 3,
		    "pool \"a\": listen_mode: invalid mode \"01000\"" },
		{ "listen_mode symbolic",
		    POOL_A_OPEN "\tlisten_mode = \"rw-rw----\"\n}\n", 3,
		    "pool \"a\": listen_mode: invalid mode \"rw-rw----\"" },
		{ "listen_mode empty", POOL_A_OPEN "\tlisten_mode = \"\"\n}\n",
		    3, "pool \"a\": listen_mode: invalid mode \"\"" },
		{ "bad listen", POOL_A_OPEN "\tlisten = foo\n}\n", 3,
		    "pool \"a\": listen \"foo\": missing port" },
		{ "listen port 0", POOL_A_OPEN "\tlisten = \"*:0\"\n}\n", 3,
		    "pool \"a\": listen \"*:0\": port out of range" },
		{ "listen relative", POOL_A_OPEN "\tlisten = \"unix:s\"\n}\n",
		    3, "pool \"a\": listen \"unix:s\": unix socket path must "
		    "be absolute" },
		{ "missing listen", "\n" POOL_A_OPEN "\tthreads = 2\n}\n", 2,
		    "pool \"a\": missing listen" },
		{ "missing module", "pool a {\n\tlisten = \"/tmp/s\"\n}\n", 1,
		    "pool \"a\": missing module (required by handler "
		    "\"module\")" },
		{ "module relative", "pool a {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"lib/hello.so\"\n}\n", 3,
		    "pool \"a\": module \"lib/hello.so\": not an absolute "
		    "path" },
		{ "module missing file", "pool a {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"/nonexistent/hello.so\"\n}\n", 3,
		    "pool \"a\": module \"/nonexistent/hello.so\": No such "
		    "file or directory" },
		{ "module directory", "pool a {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"/tmp\"\n}\n", 3,
		    "pool \"a\": module \"/tmp\": not a regular file" },
		{ "module_options empty", POOL_A_OPEN
		    "\tmodule_options = { \"a=1\",\n\t\t\"\" }\n}\n", 4,
		    "pool \"a\": module_options: empty option" },
		{ "module_options empty key", POOL_A_OPEN
		    "\tmodule_options = \"=1\"\n}\n", 3,
		    "pool \"a\": module_options: \"=1\": empty key" },
		{ "module_options appended", POOL_A_OPEN
		    "\tmodule_options += \"a\"\n\tmodule_options += \"\"\n}\n",
		    4, "pool \"a\": module_options: empty option" },
	};

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A cgi pool with every cgi key; roots are stored as real paths. */
static void
test_cgi(void **state)
{
	struct conf		*conf;
	struct pool_conf	*pc;
	size_t			 i;

	(void)state;
	conf = load_ok(
	    "pool c {\n"
	    "\tlisten = \"/tmp/c.sock\"\n"
	    "\thandler = cgi\n"
	    "\tcgi_root = { \"@CGI@\", \"@CGILINK@\",\n"
	    "\t    \"@CGILINK@/\", \"@CGI@/.\" }\n"
	    "\tenv = { \"PATH=/usr/local/bin:/usr/bin:/bin\",\n"
	    "\t    \"LANG=C.UTF-8\", \"EMPTY=\", \"_x1=a=b c\" }\n"
	    "\tcgi_timeout = 5\n"
	    "\tcgi_stderr = both\n"
	    "\tprotocol = scgi\n"
	    "\tscgi_header_max = 1024\n"
	    "\tscgi_max_headers = 8\n"
	    "}\n"
	    POOL_A);
	assert_int_equal(conf->npools, 2);

	pc = &conf->pools[0];
	assert_string_equal(pc->name, "c");
	assert_int_equal(pc->line, 1);
	assert_int_equal(pc->handler, HANDLER_CGI);
	assert_null(pc->module);
	assert_int_equal(pc->nmodule_options, 0);
	assert_non_null(pc->module_options);
	assert_null(pc->module_options[0]);
	assert_int_equal(pc->ncgi_roots, 4);
	for (i = 0; i < pc->ncgi_roots; i++)
		assert_string_equal(pc->cgi_roots[i], cgi_real);
	assert_string_not_equal(pc->cgi_roots[1], cgi_link);
	assert_null(pc->cgi_roots[4]);
	assert_int_equal(pc->ncgi_env, 4);
	assert_string_equal(pc->cgi_env[0],
	    "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(pc->cgi_env[1], "LANG=C.UTF-8");
	assert_string_equal(pc->cgi_env[2], "EMPTY=");
	assert_string_equal(pc->cgi_env[3], "_x1=a=b c");
	assert_null(pc->cgi_env[4]);
	assert_int_equal(pc->cgi_timeout, 5);
	assert_true(pc->cgi_stderr_log);
	assert_true(pc->cgi_stderr_server);
	assert_int_equal(pc->protocol, PROTO_SCGI);
	assert_int_equal(pc->scgi_header_max, 1024);
	assert_int_equal(pc->scgi_max_headers, 8);

	/* A module pool has empty cgi lists. */
	pc = &conf->pools[1];
	assert_int_equal(pc->line, 14);
	assert_int_equal(pc->handler, HANDLER_MODULE);
	assert_int_equal(pc->ncgi_roots, 0);
	assert_non_null(pc->cgi_roots);
	assert_null(pc->cgi_roots[0]);
	assert_int_equal(pc->ncgi_env, 0);
	assert_non_null(pc->cgi_env);
	assert_null(pc->cgi_env[0]);
	assert_int_equal(pc->cgi_timeout, 60);
	conf_free(conf);
}

static void
test_cgi_defaults(void **state)
{
	struct conf		*conf;
	struct pool_conf	*pc;

	(void)state;
	conf = load_ok(POOL_C_OPEN "}\n");
	pc = &conf->pools[0];
	assert_int_equal(pc->handler, HANDLER_CGI);
	assert_int_equal(pc->ncgi_roots, 1);
	assert_string_equal(pc->cgi_roots[0], cgi_real);
	assert_null(pc->cgi_roots[1]);
	assert_int_equal(pc->ncgi_env, 0);
	assert_non_null(pc->cgi_env);
	assert_null(pc->cgi_env[0]);
	assert_int_equal(pc->cgi_timeout, 60);
	assert_true(pc->cgi_stderr_log);
	assert_false(pc->cgi_stderr_server);
	conf_free(conf);

	conf = load_ok(POOL_C_OPEN "\tcgi_stderr = server\n}\n");
	assert_false(conf->pools[0].cgi_stderr_log);
	assert_true(conf->pools[0].cgi_stderr_server);
	conf_free(conf);

	/* The limits of cgi_timeout, and roots added with "+=". */
	conf = load_ok(POOL_C_OPEN "\tcgi_timeout = 1\n"
	    "\tcgi_root += \"@CGILINK@\"\n}\n"
	    "pool d {\n\tlisten = \"/tmp/d.sock\"\n\thandler = cgi\n"
	    "\tcgi_root = \"/\"\n\tcgi_timeout = 86400\n}\n");
	assert_int_equal(conf->pools[0].cgi_timeout, 1);
	assert_int_equal(conf->pools[0].ncgi_roots, 2);
	assert_string_equal(conf->pools[0].cgi_roots[1], cgi_real);
	assert_int_equal(conf->pools[1].line, 8);
	assert_string_equal(conf->pools[1].cgi_roots[0], "/");
	assert_int_equal(conf->pools[1].cgi_timeout, 86400);
	conf_free(conf);
}

static void
test_errors_cgi(void **state)
{
	static const struct error_case cases[] = {
		{ "missing cgi_root", "pool c {\n\tlisten = \"/tmp/c.sock\"\n"
		    "\thandler = cgi\n}\n", 1, "pool \"c\": missing cgi_root "
		    "(required by handler \"cgi\")" },
		{ "cgi with module", "\n" POOL_C_OPEN "\tmodule = \"@MOD@\"\n"
		    "}\n", 2, "pool \"c\": module is only used by handler "
		    "\"module\"" },
		{ "module with cgi_root", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tcgi_root = \"@CGI@\"\n}\n", 1, "pool \"a\": cgi_root, "
		    "env, cgi_interpreter, cgi_pass_params and "
		    "cgi_x_accel_prefix are only used by handler \"cgi\"" },
		{ "module with env", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tenv = \"LANG=C\"\n}\n", 1, "pool \"a\": cgi_root, "
		    "env, cgi_interpreter, cgi_pass_params and "
		    "cgi_x_accel_prefix are only used by handler \"cgi\"" },
		{ "env set from outside", POOL_A "\"pool=a|env\" = \"X=1\"\n",
		    1, "pool \"a\": cgi_root, env, cgi_interpreter, "
		    "cgi_pass_params and cgi_x_accel_prefix are only used by "
		    "handler \"cgi\"" },
		{ "cgi_root relative", POOL_C_OPEN
		    "\tcgi_root = \"cgi-bin\"\n}\n", 5,
		    "pool \"c\": cgi_root \"cgi-bin\": not an absolute path" },
		{ "cgi_root missing", POOL_C_OPEN
		    "\tcgi_root = \"/nonexistent/cgi-bin\"\n}\n", 5,
		    "pool \"c\": cgi_root \"/nonexistent/cgi-bin\": No such "
		    "file or directory" },
		{ "cgi_root not a directory", POOL_C_OPEN
		    "\tcgi_root = \"/dev/null\"\n}\n", 5,
		    "pool \"c\": cgi_root \"/dev/null\": not a directory" },
		{ "cgi_root second", POOL_C_OPEN
		    "\tcgi_root = { \"@CGI@\",\n\t    \"/dev/null/x\" }\n}\n",
		    6, "pool \"c\": cgi_root \"/dev/null/x\": Not a "
		    "directory" },
		{ "cgi_root appended", POOL_C_OPEN
		    "\tcgi_root += \"relative\"\n}\n", 5,
		    "pool \"c\": cgi_root \"relative\": not an absolute path" },
		{ "cgi_root empty", "\n" POOL_C_OPEN "\tcgi_root = {}\n}\n",
		    2, "pool \"c\": cgi_root: empty list" },
		{ "cgi_root empty, module", POOL_A_OPEN
		    "\tlisten = \"/tmp/s\"\n\tcgi_root = {}\n}\n", 1,
		    "pool \"a\": cgi_root: empty list" },
		{ "env missing =", POOL_C_OPEN "\tenv = { \"A=1\", PATH }\n"
		    "}\n", 5, "pool \"c\": env \"PATH\": missing \"=\" "
		    "(write NAME=VALUE)" },
		{ "cgi_pass_params LD_PRELOAD", POOL_C_OPEN
		    "\tcgi_pass_params = { \"MY_APP\",\n\t    \"LD_PRELOAD\" }\n"
		    "}\n", 6, "pool \"c\": cgi_pass_params \"LD_PRELOAD\": "
		    "matches LD_*, which makes programs load code and can "
		    "never be passed" },
		{ "cgi_pass_params covering PATH", POOL_C_OPEN
		    "\tcgi_pass_params = \"PA*\"\n}\n", 5,
		    "pool \"c\": cgi_pass_params \"PA*\": covers PATH, which "
		    "makes programs load code and can never be passed" },
		{ "cgi_pass_params bad name", POOL_C_OPEN
		    "\tcgi_pass_params = \"A-B\"\n}\n", 5,
		    "pool \"c\": cgi_pass_params \"A-B\": not a name of "
		    "letters, digits and \"_\" (with an optional \"*\" at the "
		    "end)" },
		{ "cgi_local_redirect unknown", POOL_C_OPEN
		    "\tcgi_local_redirect = internal\n}\n", 5,
		    "pool \"c\": cgi_local_redirect \"internal\": not 302 or "
		    "x-accel" },
		{ "cgi_x_accel_prefix without x-accel", "\n" POOL_C_OPEN
		    "\tcgi_x_accel_prefix = \"/pub/\"\n}\n", 2,
		    "pool \"c\": cgi_x_accel_prefix is only used with "
		    "cgi_local_redirect = \"x-accel\"" },
		{ "cgi_x_accel_prefix with ..", POOL_C_OPEN
		    "\tcgi_x_accel_prefix = \"/a/../b/\"\n}\n", 5,
		    "pool \"c\": cgi_x_accel_prefix \"/a/../b/\": write a "
		    "directory path ending in \"/\", without \"//\", \".\" or "
		    "\"..\" segments or \"%\"" },
		{ "cgi_interpreter without a dot", POOL_C_OPEN
		    "\tcgi_interpreter = { \"php=/bin/sh\" }\n}\n", 5,
		    "pool \"c\": cgi_interpreter \"php=/bin/sh\": write "
		    "\".ext=/path/to/interpreter\"" },
		{ "cgi_interpreter missing", POOL_C_OPEN
		    "\tcgi_interpreter = { \".pl=/nonexistent/perl\" }\n}\n", 5,
		    "pool \"c\": cgi_interpreter \".pl=/nonexistent/perl\": "
		    "/nonexistent/perl is not an executable file given by an "
		    "absolute path" },
		{ "env empty", POOL_C_OPEN "\tenv = \"\"\n}\n", 5,
		    "pool \"c\": env \"\": missing \"=\"" },
		{ "env empty name", POOL_C_OPEN "\tenv = \"=x\"\n}\n", 5,
		    "pool \"c\": env \"=x\": invalid name \"\" (use "
		    "letters, digits and \"_\", not starting with a digit)" },
		{ "env digit first", POOL_C_OPEN "\tenv = \"1A=x\"\n}\n", 5,
		    "pool \"c\": env \"1A=x\": invalid name \"1A\"" },
		{ "env dash", POOL_C_OPEN "\tenv = \"A-B=x\"\n}\n", 5,
		    "pool \"c\": env \"A-B=x\": invalid name \"A-B\"" },
		{ "env space", POOL_C_OPEN "\tenv = \"A B=x\"\n}\n", 5,
		    "pool \"c\": env \"A B=x\": invalid name \"A B\"" },
		{ "env appended", POOL_C_OPEN "\tenv += \"A=1\"\n"
		    "\tenv += \"A.B=1\"\n}\n", 6,
		    "pool \"c\": env \"A.B=1\": invalid name \"A.B\"" },
		{ "cgi_timeout 0", POOL_C_OPEN "\tcgi_timeout = 0\n}\n", 5,
		    "pool \"c\": cgi_timeout: 0 is out of range (1..86400)" },
		{ "cgi_timeout 86401", POOL_C_OPEN
		    "\tcgi_timeout = 86401\n}\n", 5,
		    "pool \"c\": cgi_timeout: 86401 is out of range "
		    "(1..86400)" },
		{ "cgi_timeout unit", POOL_C_OPEN "\tcgi_timeout = 60s\n}\n",
		    5, "pool \"c\": cgi_timeout: invalid integer \"60s\"" },
		{ "handler other", POOL_C_OPEN "\thandler = CGI\n}\n", 5,
		    "pool \"c\": unknown handler \"CGI\"" },
	};

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_errors_module_unreadable(void **state)
{
	struct error_case	 c;
	char			 text[256], msg[256];

	(void)state;
	snprintf(text, sizeof(text), "pool a {\n\tlisten = \"/tmp/s\"\n"
	    "\tmodule = \"%s\"\n}\n", unreadable_path);
	snprintf(msg, sizeof(msg), "pool \"a\": module \"%s\": Permission "
	    "denied", unreadable_path);
	c.name = "module unreadable";
	c.text = text;
	c.line = 3;
	c.message = msg;
	run_error_cases(&c, 1);
}

static void
test_errors_pool_name(void **state)
{
	static const struct error_case cases[] = {
		{ "empty", "\npool \"\" {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 2, "pool \"\": empty name" },
		{ "space", "pool \"a b\" {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 1,
		    "pool \"a b\": invalid name (use letters, digits, \"_\", "
		    "\".\" and \"-\")" },
		{ "slash", "pool \"../x\" {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 1, "pool \"../x\": invalid "
		    "name" },
		{ "too long", "pool a23456789012345678901234567890123 {\n"
		    "\tlisten = \"/tmp/s\"\n\tmodule = \"@MOD@\"\n}\n", 1,
		    "pool \"a23456789012345678901234567890123\": name longer "
		    "than 32 characters" },
		{ "duplicate", POOL_A "\npool a {\n\tlisten = \"/tmp/s\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 6,
		    "pool \"a\": already defined at line 1" },
	};
	struct conf	*conf;

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
	conf = load_ok("pool a2345678901234567890123456789012 {\n"
	    "\tlisten = \"/tmp/s\"\n\tmodule = \"@MOD@\"\n}\n"
	    "pool A-Z_a.z-0.9 {\n"
	    "\tlisten = \"/tmp/t\"\n\tmodule = \"@MOD@\"\n}\n");
	assert_string_equal(conf->pools[1].name, "A-Z_a.z-0.9");
	conf_free(conf);
}

static void
test_errors_duplicate_listen(void **state)
{
	static const struct error_case cases[] = {
		{ "same tcp", POOL_A "pool b {\n"
		    "\tlisten = \"127.0.0.1:9000\"\n\tmodule = \"@MOD@\"\n}\n",
		    5, "pool \"b\": listen \"127.0.0.1:9000\" conflicts with "
		    "listen \"127.0.0.1:9000\" of pool \"a\" (line 1)" },
		{ "localhost", POOL_A "pool b {\n"
		    "\tlisten = \"localhost:9000\"\n\tmodule = \"@MOD@\"\n}\n",
		    5, "pool \"b\": listen \"localhost:9000\" conflicts with "
		    "listen \"127.0.0.1:9000\" of pool \"a\" (line 1)" },
		{ "wildcard after", POOL_A "pool b {\n"
		    "\tlisten = \"*:9000\"\n\tmodule = \"@MOD@\"\n}\n",
		    5, "pool \"b\": listen \"*:9000\" conflicts with "
		    "listen \"127.0.0.1:9000\" of pool \"a\" (line 1)" },
		{ "wildcard before", "pool w {\n\tlisten = \"0.0.0.0:9000\"\n"
		    "\tmodule = \"@MOD@\"\n}\n" POOL_A, 5,
		    "pool \"a\": listen \"127.0.0.1:9000\" conflicts with "
		    "listen \"0.0.0.0:9000\" of pool \"w\" (line 1)" },
		{ "ipv6", "pool a {\n\tlisten = \"[::1]:80\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool b {\n\tlisten = \"[0:0::1]:80\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 5,
		    "pool \"b\": listen \"[0:0::1]:80\" conflicts with "
		    "listen \"[::1]:80\" of pool \"a\" (line 1)" },
		{ "ipv6 wildcard", "pool a {\n\tlisten = \"[::1]:80\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool b {\n\tlisten = \"[::]:80\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 5,
		    "pool \"b\": listen \"[::]:80\" conflicts with "
		    "listen \"[::1]:80\" of pool \"a\" (line 1)" },
		{ "unix", "pool a {\n\tlisten = \"/run/p.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool b {\n\tlisten = \"/run/q.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool c {\n\tlisten = \"unix:/run/p.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 9,
		    "pool \"c\": listen \"unix:/run/p.sock\" conflicts with "
		    "listen \"/run/p.sock\" of pool \"a\" (line 1)" },
		{ "unix normalised", "pool a {\n\tlisten = \"/tmp/x/d.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool b {\n\tlisten = \"unix:/tmp/x//d.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 5,
		    "pool \"b\": listen \"unix:/tmp/x//d.sock\" conflicts "
		    "with listen \"/tmp/x/d.sock\" of pool \"a\" (line 1)" },
		{ "unix dot", "pool a {\n\tlisten = \"/tmp/x/d.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n"
		    "pool b {\n\tlisten = \"/tmp/x/./d.sock\"\n"
		    "\tmodule = \"@MOD@\"\n}\n", 5,
		    "pool \"b\": listen \"/tmp/x/./d.sock\" conflicts "
		    "with listen \"/tmp/x/d.sock\" of pool \"a\" (line 1)" },
		{ "set from outside", POOL_A "pool b {\n"
		    "\tlisten = \"127.0.0.1:9001\"\n\tmodule = \"@MOD@\"\n}\n"
		    "\"pool=b|listen\" = \"127.0.0.1:9000\"\n", 5,
		    "pool \"b\": listen \"127.0.0.1:9000\" conflicts with" },
	};
	struct conf	*conf;

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));

	/* Other ports, other families, other paths do not conflict. */
	conf = load_ok(POOL_A
	    "pool b {\n\tlisten = \"127.0.0.1:9001\"\n\tmodule = \"@MOD@\"\n}\n"
	    "pool c {\n\tlisten = \"127.0.0.2:9000\"\n\tmodule = \"@MOD@\"\n}\n"
	    "pool d {\n\tlisten = \"[::]:9000\"\n\tmodule = \"@MOD@\"\n}\n"
	    "pool e {\n\tlisten = \"/tmp/9000\"\n\tmodule = \"@MOD@\"\n}\n"
	    "pool f {\n\tlisten = \"/tmp/9001\"\n\tmodule = \"@MOD@\"\n}\n");
	assert_int_equal(conf->npools, 6);
	assert_int_equal(conf->pools[5].line, 21);
	conf_free(conf);
}

static void
test_errors_file(void **state)
{
	struct conf	*conf;
	char		 err[ERR_MAX];

	(void)state;
	conf = load_path("/nonexistent/pooled.conf", err, sizeof(err));
	assert_null(conf);
	assert_non_null(strstr(err, "/nonexistent/pooled.conf: No such file "
	    "or directory"));

	conf = load_path("/tmp", err, sizeof(err));
	assert_null(conf);
	assert_non_null(strstr(err, "/tmp: Is a directory"));
}

/* The directory the include tests write their files into. */
static char	 inc_dir[64];

/* Write text, marks replaced, to inc_dir/name; subdirectories made. */
static void
inc_file(const char *name, const char *text)
{
	char	 path[256], *slash;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", inc_dir, name);
	for (slash = strchr(path + strlen(inc_dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	write_marks(fp, text);
	assert_int_equal(fclose(fp), 0);
}

/* Load inc_dir/main.conf; err gets what it logged. */
static struct conf *
inc_load(char *err, size_t errlen)
{
	char	 path[256];

	snprintf(path, sizeof(path), "%s/main.conf", inc_dir);
	return load_path(path, err, errlen);
}

/* Load inc_dir/main.conf, expect failure and "FILE:LINE: message". */
static void
inc_fail(const char *file, int line, const char *message)
{
	struct conf	*conf;
	char		 err[ERR_MAX], want[1024];

	conf = inc_load(err, sizeof(err));
	if (conf != NULL) {
		conf_free(conf);
		fail_msg("accepted, want \"%s\"", message);
	}
	snprintf(want, sizeof(want), "%s/%s:%d: %s", inc_dir, file, line,
	    message);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\", got \"%s\"", want, err);
}

static void
inc_reset(void)
{
	char	 cmd[128];

	if (inc_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", inc_dir);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(inc_dir, sizeof(inc_dir), "/tmp/test_conf.inc.XXXXXX");
	assert_non_null(mkdtemp(inc_dir));
}

#define POOL_IN(name, port) \
	"pool " name " {\n\tlisten = \"127.0.0.1:" port "\"\n" \
	"\tmodule = \"@MOD@\"\n}\n"

static void
test_include(void **state)
{
	struct conf	*conf;
	char		 err[ERR_MAX], want[256];
	int		 i;

	(void)state;

	/* A glob, sorted, relative to the file; others and dirs ignored. */
	inc_reset();
	inc_file("main.conf", "log_level = info\n"
	    "include = \"pool.d/*.conf\"\n"
	    "# after the include\n" POOL_IN("m", "9100"));
	inc_file("pool.d/b.conf", "\n" POOL_IN("b", "9102"));
	inc_file("pool.d/a.conf", POOL_IN("a", "9101"));
	inc_file("pool.d/c.conf.orig", POOL_IN("c", "9103"));
	inc_file("pool.d/d.conf/x", "");
	conf = inc_load(err, sizeof(err));
	if (conf == NULL)
		fail_msg("rejected: %s", err);
	assert_int_equal(conf->npools, 3);
	assert_string_equal(conf->pools[0].name, "a");
	assert_string_equal(conf->pools[1].name, "b");
	assert_string_equal(conf->pools[2].name, "m");
	snprintf(want, sizeof(want), "%s/pool.d/a.conf", inc_dir);
	assert_string_equal(conf->pools[0].file, want);
	assert_int_equal(conf->pools[0].line, 1);
	snprintf(want, sizeof(want), "%s/pool.d/b.conf", inc_dir);
	assert_string_equal(conf->pools[1].file, want);
	assert_int_equal(conf->pools[1].line, 2);
	snprintf(want, sizeof(want), "%s/main.conf", inc_dir);
	assert_string_equal(conf->pools[2].file, want);
	assert_int_equal(conf->pools[2].line, 4);
	conf_free(conf);

	/* Errors in an included file, and after an include, by file:line. */
	inc_file("pool.d/b.conf", "\n" POOL_IN("b", "9102")
	    "pool e {\n\tthreads = 0\n}\n");
	inc_fail("pool.d/b.conf", 7, "pool \"e\": threads: 0 is out of "
	    "range");
	inc_file("pool.d/b.conf", "\n" POOL_IN("b", "9102"));
	inc_file("main.conf", "include = \"pool.d/*.conf\"\n"
	    "\n" POOL_IN("m", "9100") "bogus = 1\n");
	inc_fail("main.conf", 7, "no such option 'bogus'");
	inc_file("pool.d/b.conf", "pool b {\n/* x */ listen = *\n}\n");
	inc_fail("pool.d/b.conf", 2, "stray \"*\"");

	/* A pool defined twice names both places; so does a listen clash. */
	inc_file("pool.d/b.conf", POOL_IN("a", "9102"));
	snprintf(want, sizeof(want), "pool \"a\": already defined at "
	    "%s/pool.d/a.conf:1", inc_dir);
	inc_fail("pool.d/b.conf", 1, want);
	inc_file("pool.d/b.conf", POOL_IN("b", "9101"));
	snprintf(want, sizeof(want), "pool \"b\": listen \"127.0.0.1:9101\" "
	    "conflicts with listen \"127.0.0.1:9101\" of pool \"a\" "
	    "(%s/pool.d/a.conf:1)", inc_dir);
	inc_fail("pool.d/b.conf", 1, want);

	/* A glob matching nothing is fine; a missing file is not. */
	inc_reset();
	inc_file("main.conf", "include = \"none.d/*.conf\"\n"
	    "include = 'empty.d/*'\n" POOL_IN("m", "9100"));
	inc_file("empty.d/.keep", "");
	conf = inc_load(err, sizeof(err));
	if (conf == NULL)
		fail_msg("rejected: %s", err);
	assert_int_equal(conf->npools, 1);
	assert_int_equal(conf->pools[0].line, 3);
	conf_free(conf);
	inc_file("main.conf", POOL_IN("m", "9100") "include = \"x.conf\"\n");
	snprintf(want, sizeof(want), "include \"x.conf\": %s/x.conf: No such "
	    "file or directory", inc_dir);
	inc_fail("main.conf", 5, want);
	inc_file("main.conf", "include \"pool.d\"\n" POOL_IN("m", "9100"));
	inc_fail("main.conf", 1, "include: write include = \"pattern\"");

	/* Nested, each relative to its own file. */
	inc_reset();
	inc_file("main.conf", "include = \"sub/one.conf\"\n");
	inc_file("sub/one.conf", "include = \"two.conf\"\n"
	    POOL_IN("one", "9101"));
	inc_file("sub/two.conf", POOL_IN("two", "9102"));
	conf = inc_load(err, sizeof(err));
	if (conf == NULL)
		fail_msg("rejected: %s", err);
	assert_int_equal(conf->npools, 2);
	assert_string_equal(conf->pools[0].name, "two");
	assert_int_equal(conf->pools[1].line, 2);
	snprintf(want, sizeof(want), "%s/sub/one.conf", inc_dir);
	assert_string_equal(conf->pools[1].file, want);
	conf_free(conf);

	/* A cycle, and includes nested too deep. */
	inc_file("sub/two.conf", "include = \"one.conf\"\n");
	snprintf(want, sizeof(want), "%s/sub/one.conf: included in itself",
	    inc_dir);
	conf = inc_load(err, sizeof(err));
	assert_null(conf);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\", got \"%s\"", want, err);
	inc_reset();
	inc_file("main.conf", "include = \"l1.conf\"\n");
	for (i = 1; i <= 9; i++) {
		char	 name[32], text[64];

		snprintf(name, sizeof(name), "l%d.conf", i);
		snprintf(text, sizeof(text), "include = \"l%d.conf\"\n", i + 1);
		inc_file(name, text);
	}
	inc_file("l10.conf", POOL_IN("deep", "9100"));
	inc_fail("l8.conf", 1, "include \"l9.conf\": includes nested more "
	    "than 8 deep");
	inc_file("l8.conf", POOL_IN("deep", "9100"));
	conf = inc_load(err, sizeof(err));
	if (conf == NULL)
		fail_msg("8 deep rejected: %s", err);
	conf_free(conf);
	inc_reset();
	rmdir(inc_dir);
}

/* A failed parse leaves no state behind for the next one (reload). */
static void
test_reload_after_error(void **state)
{
	static const char *const bad[] = {
		POOL_A_OPEN "\tlisten = \"/tmp/s\n",
		POOL_A_OPEN "\tlisten = '/tmp/s\n",
		POOL_A_OPEN "\tlisten = \"/tmp/s\"\n",
		POOL_A_OPEN "\tthreads = 0\n}\n",
		"pool a {\n\tpool b {\n",
		"/* x",
	};
	struct conf	*conf;
	char		 path[64], err[ERR_MAX];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conf = load_text(bad[i], path, sizeof(path), err, sizeof(err));
		assert_null(conf);
		conf = load_ok("# ok\n" POOL_A);
		assert_int_equal(conf->pools[0].line, 2);
		conf_free(conf);
	}
}

struct listen_case {
	const char	*text;
	int		 family;	/* 0: must fail */
	const char	*addr;		/* address, or path, or error */
	int		 port;
};

static void
test_listen(void **state)
{
	static const struct listen_case cases[] = {
		{ "127.0.0.1:9000", AF_INET, "127.0.0.1", 9000 },
		{ "*:80", AF_INET, "0.0.0.0", 80 },
		{ "0.0.0.0:1", AF_INET, "0.0.0.0", 1 },
		{ "localhost:65535", AF_INET, "127.0.0.1", 65535 },
		{ "10.1.2.3:00080", AF_INET, "10.1.2.3", 80 },
		{ "[::1]:9000", AF_INET6, "::1", 9000 },
		{ "[::]:9000", AF_INET6, "::", 9000 },
		{ "[2001:db8::1]:443", AF_INET6, "2001:db8::1", 443 },
		{ "[::ffff:127.0.0.1]:8080", AF_INET6, "::ffff:127.0.0.1",
		    8080 },
		{ "unix:/run/pooled.sock", AF_UNIX, "/run/pooled.sock", 0 },
		{ "/run/pooled.sock", AF_UNIX, "/run/pooled.sock", 0 },
		{ "/tmp/with:colon", AF_UNIX, "/tmp/with:colon", 0 },
		{ "unix:/a//b.sock", AF_UNIX, "/a/b.sock", 0 },
		{ "/a/./b.sock", AF_UNIX, "/a/b.sock", 0 },
		{ "//a/.//./b.sock", AF_UNIX, "/a/b.sock", 0 },
		{ "/a/b/.", AF_UNIX, "/a/b", 0 },
		{ "/a/...sock", AF_UNIX, "/a/...sock", 0 },
		{ "/a/..b.sock", AF_UNIX, "/a/..b.sock", 0 },

		{ "", 0, "empty address", 0 },
		{ "foo", 0, "missing port", 0 },
		{ "127.0.0.1", 0, "missing port", 0 },
		{ "127.0.0.1:", 0, "missing port", 0 },
		{ "9000", 0, "missing address (write \"*:9000\" or "
		    "\"127.0.0.1:9000\")", 0 },
		{ ":9000", 0, "missing address", 0 },
		{ "127.0.0.1:0", 0, "port out of range (1..65535)", 0 },
		{ "127.0.0.1:65536", 0, "port out of range (1..65535)", 0 },
		{ "127.0.0.1:99999999999999999999", 0, "port out of range",
		    0 },
		{ "127.0.0.1:abc", 0, "invalid port \"abc\"", 0 },
		{ "127.0.0.1:80x", 0, "invalid port \"80x\"", 0 },
		{ "127.0.0.1:-1", 0, "invalid port \"-1\"", 0 },
		{ "127.0.0.1:+80", 0, "invalid port \"+80\"", 0 },
		{ "127.0.0.1: 80", 0, "invalid port \" 80\"", 0 },
		{ "127.0.0.1:0x50", 0, "invalid port \"0x50\"", 0 },
		{ "example.com:80", 0, "invalid IPv4 address \"example.com\" "
		    "(host names are not looked up)", 0 },
		{ "127.1:80", 0, "invalid IPv4 address \"127.1\"", 0 },
		{ "256.0.0.1:80", 0, "invalid IPv4 address", 0 },
		{ "::1:9000", 0, "IPv6 addresses must be in brackets", 0 },
		{ "[::1]", 0, "missing port", 0 },
		{ "[::1]:", 0, "missing port", 0 },
		{ "[::1]9000", 0, "expected \":\" after \"]\"", 0 },
		{ "[::1:9000", 0, "missing \"]\"", 0 },
		{ "[127.0.0.1]:80", 0, "invalid IPv6 address", 0 },
		{ "[fe80::1%eth0]:80", 0, "invalid IPv6 address", 0 },
		{ "[::1]:0", 0, "port out of range", 0 },
		{ "[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa]:80", 0,
		    "invalid IPv6 address", 0 },
		{ "255.255.255.255.255:80", 0, "invalid IPv4 address "
		    "\"255.255.255.255.255\"", 0 },
		{ "unix:", 0, "unix socket path must be absolute", 0 },
		{ "unix:run/p.sock", 0, "unix socket path must be absolute",
		    0 },
		{ "run/p.sock", 0, "unix socket path must be absolute", 0 },
		{ "/a/../b.sock", 0, "unix socket path must not contain "
		    "\"..\"", 0 },
		{ "unix:/a/..", 0, "unix socket path must not contain \"..\"",
		    0 },
	};
	struct listen_addr	 la;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct sockaddr_un	*sun;
	char			 err[512], want[512], addr[INET6_ADDRSTRLEN];
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		rc = listen_addr_parse(cases[i].text, &la, err, sizeof(err));
		if (cases[i].family == 0) {
			if (rc != -1)
				fail_msg("\"%s\": accepted", cases[i].text);
			snprintf(want, sizeof(want), "listen \"%s\": %s",
			    cases[i].text, cases[i].addr);
			if (strncmp(err, want, strlen(want)) != 0)
				fail_msg("\"%s\": want \"%s\", got \"%s\"",
				    cases[i].text, want, err);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": rejected: %s", cases[i].text, err);
		assert_string_equal(la.text, cases[i].text);
		assert_int_equal(la.ss.ss_family, cases[i].family);
		switch (cases[i].family) {
		case AF_INET:
			sin = (struct sockaddr_in *)&la.ss;
			assert_int_equal(la.kind, LISTEN_TCP);
			assert_int_equal(la.sslen, sizeof(*sin));
			assert_non_null(inet_ntop(AF_INET, &sin->sin_addr,
			    addr, sizeof(addr)));
			assert_string_equal(addr, cases[i].addr);
			assert_int_equal(ntohs(sin->sin_port), cases[i].port);
			break;
		case AF_INET6:
			sin6 = (struct sockaddr_in6 *)&la.ss;
			assert_int_equal(la.kind, LISTEN_TCP);
			assert_int_equal(la.sslen, sizeof(*sin6));
			assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr,
			    addr, sizeof(addr)));
			assert_string_equal(addr, cases[i].addr);
			assert_int_equal(ntohs(sin6->sin6_port),
			    cases[i].port);
			break;
		case AF_UNIX:
			sun = (struct sockaddr_un *)&la.ss;
			assert_int_equal(la.kind, LISTEN_UNIX);
			assert_string_equal(la.path, cases[i].addr);
			assert_string_equal(sun->sun_path, cases[i].addr);
			assert_int_equal(la.sslen, offsetof(struct sockaddr_un,
			    sun_path) + strlen(cases[i].addr) + 1);
			break;
		}
	}
}

/* sun_path holds 107 bytes and a NUL; text holds 255 and a NUL. */
static void
test_listen_lengths(void **state)
{
	struct listen_addr	 la;
	char			 text[400], err[512];

	(void)state;
	memset(text, 0, sizeof(text));
	text[0] = '/';
	memset(text + 1, 'p', 106);
	assert_int_equal(listen_addr_parse(text, &la, err, sizeof(err)), 0);
	assert_int_equal(strlen(la.path), 107);

	text[107] = 'p';
	assert_int_equal(listen_addr_parse(text, &la, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unix socket path too long (at most 107 "
	    "bytes)"));

	/* The limit applies to the path once normalised. */
	memset(text, 0, sizeof(text));
	memcpy(text, "/./", 3);
	text[3] = '/';
	memset(text + 4, 'p', 106);
	assert_int_equal(listen_addr_parse(text, &la, err, sizeof(err)), 0);
	assert_int_equal(strlen(la.path), 107);
	assert_int_equal(la.path[0], '/');
	assert_int_equal(la.path[1], 'p');

	memcpy(text, "unix:", 5);
	memset(text + 5, 'p', 102);
	text[5] = '/';
	text[107] = '\0';
	assert_int_equal(listen_addr_parse(text, &la, err, sizeof(err)), 0);
	assert_int_equal(strlen(la.path), 102);

	memset(text, 'x', 300);
	text[0] = '/';
	text[300] = '\0';
	assert_int_equal(listen_addr_parse(text, &la, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "listen \"/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": too long "
	    "(300 bytes, at most 255)");

	/* A short error buffer truncates the message, nothing else. */
	assert_int_equal(listen_addr_parse("foo", &la, err, 8), -1);
	assert_string_equal(err, "listen ");
}

/* The least-privilege options: resolved, defaulted, checked. */
static void
test_privileges(void **state)
{
	struct conf		*c;
	const struct pool_conf	*pc;

	(void)state;
	c = load_ok("user = \"nobody\"\nlisten_owner = \"nobody\"\n"
	    "pool a {\n\tlisten = \"/tmp/a.sock\"\n\tmodule = \"@MOD@\"\n"
	    "\trlimit_files = 333\n\trlimit_core = unlimited\n"
	    "\tcgi_rlimit_as = \"256M\"\n\tcgi_rlimit_cpu = 7\n}\n"
	    "pool b {\n\tlisten = \"127.0.0.1:9000\"\n\tmodule = \"@MOD@\"\n"
	    "\tuser = \"root\"\n\tallow_root = yes\n"
	    "\tallowed_clients = {\"10.0.0.0/8, ::1\", \"192.0.2.7\"}\n}\n");
	pc = &c->pools[0];
	assert_true(pc->has_user);
	assert_string_equal(pc->user, "nobody");
	assert_int_equal(pc->uid, 65534);
	assert_true(pc->ngroups >= 1);
	assert_false(pc->allow_root);
	assert_int_equal(pc->listen_uid, 65534);
	assert_int_equal(pc->listen_gid, (gid_t)-1);
	assert_int_equal(pc->nrlimits, 2);
	assert_int_equal(pc->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(pc->rlimits[0].value, 333);
	assert_int_equal(pc->rlimits[1].resource, RLIMIT_CORE);
	assert_true(pc->rlimits[1].value == RLIM_INFINITY);
	assert_int_equal(pc->ncgi_rlimits, 2);
	assert_int_equal(pc->cgi_rlimits[0].resource, RLIMIT_CPU);
	assert_int_equal(pc->cgi_rlimits[0].value, 7);
	assert_int_equal(pc->cgi_rlimits[1].resource, RLIMIT_AS);
	assert_int_equal(pc->cgi_rlimits[1].value, 256UL << 20);
	pc = &c->pools[1];
	assert_int_equal(pc->uid, 0);
	assert_true(pc->allow_root);
	assert_true(pc->allowed_clients_set);
	assert_int_equal(pc->allowed_clients.n, 3);
	/* A TCP pool keeps the master's owner: listen_owner is unix only. */
	assert_int_equal(pc->listen_uid, (uid_t)-1);
	/* Defaults: status only from loopback, 4 connections a client. */
	assert_int_equal(c->status_allowed_clients.n, 2);
	assert_int_equal(c->status_max_per_client, 4);
	conf_free(c);

	c = load_ok("pool a {\n\tlisten = \"*:9000\"\n\tmodule = \"@MOD@\"\n"
	    "}\n");
	pc = &c->pools[0];
	assert_false(pc->has_user);
	assert_false(pc->allowed_clients_set);
	assert_int_equal(pc->allowed_clients.n, 2);	/* loopback */
	assert_int_equal(pc->nrlimits, 0);
	conf_free(c);
}

static void
test_errors_privileges(void **state)
{
	static const struct error_case cases[] = {
		{ "no such user", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tuser = \"no-such-user-here\"\n}\n", 4,
		    "pool \"a\": user \"no-such-user-here\": no such user" },
		{ "no such group", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tgroup = \"no-such-group-here\"\n}\n", 4,
		    "pool \"a\": group \"no-such-group-here\": no such group" },
		{ "global user", "user = \"no-such-user-here\"\n" POOL_A, 1,
		    "user \"no-such-user-here\": no such user" },
		{ "listen_owner on TCP", POOL_A_OPEN
		    "\tlisten = \"127.0.0.1:9000\"\n"
		    "\tlisten_owner = \"nobody\"\n}\n", 1,
		    "pool \"a\": listen_owner and listen_group are for unix "
		    "sockets" },
		{ "allowed_clients on unix", POOL_A_OPEN
		    "\tlisten = \"/tmp/s\"\n"
		    "\tallowed_clients = {\"127.0.0.1\"}\n}\n", 1,
		    "pool \"a\": allowed_clients is for TCP listeners" },
		{ "allowed_clients bad prefix", POOL_A_OPEN
		    "\tlisten = \"127.0.0.1:9000\"\n"
		    "\tallowed_clients = {\"10.0.0.0/33\"}\n}\n", 4,
		    "pool \"a\": allowed_clients: \"10.0.0.0/33\": invalid "
		    "prefix length (0..32)" },
		{ "allowed_clients name", POOL_A_OPEN
		    "\tlisten = \"127.0.0.1:9000\"\n"
		    "\tallowed_clients = {\"localhost\"}\n}\n", 4,
		    "pool \"a\": allowed_clients: \"localhost\": not an IPv4 "
		    "or IPv6 address" },
		{ "rlimit word", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\trlimit_files = many\n}\n", 4,
		    "pool \"a\": rlimit_files \"many\": not a number" },
		{ "rlimit suffix", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tcgi_rlimit_as = \"1T\"\n}\n", 4,
		    "pool \"a\": cgi_rlimit_as \"1T\": not a number" },
		{ "chroot relative", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tchroot = \"jail\"\n}\n", 4,
		    "pool \"a\": chroot \"jail\": not an absolute path" },
		{ "chroot missing", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tchroot = \"/nonexistent-jail\"\n}\n", 4,
		    "pool \"a\": chroot \"/nonexistent-jail\": No such file" },
		{ "module outside chroot", POOL_A_OPEN "\tlisten = \"/tmp/s\"\n"
		    "\tchroot = \"@CGI@\"\n}\n", 1,
		    "pool \"a\": module \"/tmp/test_conf.so." },
		{ "status_allowed_clients", "status_allowed_clients = "
		    "{\"1.2.3\"}\n" POOL_A, 1,
		    "status_allowed_clients: \"1.2.3\": not an IPv4 or IPv6" },
		{ "status_allowed_clients on unix", "status_listen = "
		    "\"/tmp/st.sock\"\nstatus_allowed_clients = "
		    "{\"127.0.0.1\"}\n" POOL_A, 0,
		    "status_allowed_clients is for a TCP status_listen" },
		{ "status_max_connections_per_client 17",
		    "status_max_connections_per_client = 17\n" POOL_A, 1,
		    "status_max_connections_per_client: 17 is out of range "
		    "(1..16)" },
	};

	(void)state;
	run_error_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_log_level(void **state)
{
	(void)state;
	assert_int_equal(conf_log_level("error"), POOLED_LOG_ERROR);
	assert_int_equal(conf_log_level("warning"), POOLED_LOG_WARNING);
	assert_int_equal(conf_log_level("notice"), POOLED_LOG_NOTICE);
	assert_int_equal(conf_log_level("info"), POOLED_LOG_INFO);
	assert_int_equal(conf_log_level("debug"), POOLED_LOG_DEBUG);
	assert_int_equal(conf_log_level("DEBUG"), -1);
	assert_int_equal(conf_log_level("warn"), -1);
	assert_int_equal(conf_log_level(""), -1);
	conf_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_errors_global),
		cmocka_unit_test(test_errors_syntax),
		cmocka_unit_test(test_errors_pool),
		cmocka_unit_test(test_errors_pool_name),
		cmocka_unit_test(test_cgi),
		cmocka_unit_test(test_cgi_defaults),
		cmocka_unit_test(test_errors_cgi),
		cmocka_unit_test(test_errors_duplicate_listen),
		cmocka_unit_test(test_errors_file),
		cmocka_unit_test(test_reload_after_error),
		cmocka_unit_test(test_include),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_lengths),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_privileges),
		cmocka_unit_test(test_errors_privileges),
		/* Last: root reads any file, so it cannot run as root. */
		cmocka_unit_test(test_errors_module_unreadable),
	};
	size_t	 n = sizeof(tests) / sizeof(tests[0]);

	if (geteuid() == 0) {
		fprintf(stderr, "# test_errors_module_unreadable not run: "
		    "root reads any file\n");
		n--;
	}
	return _cmocka_run_group_tests("test_conf", tests, n, setup,
	    teardown);
}
