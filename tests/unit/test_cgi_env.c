/*
 * Unit tests for cgi_env.c: which of the web server's params reach a CGI
 * program, what pooled adds, which setting wins when names collide, and
 * that the result is one bounded block.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pooled.h"

#define MIB	(1024 * 1024)

static struct cgi_target	 target;
static char			**params, **pool_env;	/* freed by teardown */
static char			**pass;			/* cgi_pass_params */
static struct pool_conf		 pool;

/*
 * A NULL-ended vector of copies of the strings up to NULL, in one block
 * as the request code holds its params.
 */
static char **
strv(const char *first, ...)
{
	va_list		 ap;
	const char	*s;
	char		**v, *p;
	size_t		 n = 0, size = sizeof(char *), i = 0, len;

	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		n++;
		size += sizeof(char *) + strlen(s) + 1;
	}
	va_end(ap);
	v = malloc(size);
	assert_non_null(v);
	p = (char *)(v + n + 1);
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		len = strlen(s) + 1;
		v[i++] = memcpy(p, s, len);
		p += len;
	}
	va_end(ap);
	v[n] = NULL;
	return v;
}

static int
teardown(void **state)
{
	(void)state;
	free(params);
	free(pool_env);
	free(pass);
	params = pool_env = pass = NULL;
	return 0;
}

/* A program at /srv/cgi/app.cgi, SCRIPT_NAME and PATH_INFO optional. */
static void
set_target(const char *script_name, const char *path_info)
{
	memset(&target, 0, sizeof(target));
	strcpy(target.path, "/srv/cgi/app.cgi");
	strcpy(target.dir, "/srv/cgi");
	if (script_name != NULL) {
		strcpy(target.script_name_buf, script_name);
		target.script_name = target.script_name_buf;
	}
	if (path_info != NULL) {
		strcpy(target.path_info_buf, path_info);
		target.path_info = target.path_info_buf;
		snprintf(target.path_translated,
		    sizeof(target.path_translated), "/srv/www%s", path_info);
	}
}

static size_t
count(char **env)
{
	size_t	 n = 0;

	while (env != NULL && env[n] != NULL)
		n++;
	return n;
}

/* The value of name, or NULL; fails the test if name is there twice. */
static const char *
lookup(char **env, const char *name)
{
	const char	*found = NULL;
	size_t		 i, len = strlen(name);

	for (i = 0; env[i] != NULL; i++) {
		if (strncmp(env[i], name, len) != 0 || env[i][len] != '=')
			continue;
		assert_null(found);
		found = env[i] + len + 1;
	}
	return found;
}

/* Every entry "NAME=VALUE" with a name, every name at most once. */
static void
assert_well_formed(char **env)
{
	size_t	 i, j, len;

	for (i = 0; env[i] != NULL; i++) {
		len = strcspn(env[i], "=");
		assert_true(len > 0);
		assert_int_equal(env[i][len], '=');
		for (j = i + 1; env[j] != NULL; j++)
			assert_false(strncmp(env[i], env[j], len + 1) == 0);
	}
}

/* The environment for params, target, pool_env and pass; may fail. */
static char **
try_build(void)
{
	memset(&pool, 0, sizeof(pool));
	pool.cgi_env = pool_env;
	pool.ncgi_env = count(pool_env);
	pool.cgi_pass_params = pass;
	pool.ncgi_pass_params = count(pass);
	return cgi_env_build(params, &target, &pool, NULL);
}

/* The environment for params, target, pool_env and pass; must succeed. */
static char **
build(void)
{
	char	**env;

	env = try_build();
	assert_non_null(env);
	assert_well_formed(env);
	return env;
}

static void
test_params_pass_through(void **state)
{
	char	**env;

	(void)state;
	params = strv("REQUEST_METHOD=GET", "QUERY_STRING=a=b&c=%2e",
	    "CONTENT_LENGTH=", "HTTP_HOST=example.org",
	    "HTTP_X_FORWARDED_FOR=192.0.2.1", "REMOTE_ADDR=192.0.2.7",
	    "SERVER_PORT=443", "HTTPS=on", "request_method=lower", NULL);
	set_target("/cgi-bin/app.cgi", NULL);
	env = build();
	assert_string_equal(lookup(env, "REQUEST_METHOD"), "GET");
	assert_string_equal(lookup(env, "QUERY_STRING"), "a=b&c=%2e");
	assert_string_equal(lookup(env, "CONTENT_LENGTH"), "");
	assert_string_equal(lookup(env, "HTTP_HOST"), "example.org");
	assert_string_equal(lookup(env, "HTTP_X_FORWARDED_FOR"),
	    "192.0.2.1");
	assert_string_equal(lookup(env, "REMOTE_ADDR"), "192.0.2.7");
	assert_string_equal(lookup(env, "SERVER_PORT"), "443");
	assert_string_equal(lookup(env, "HTTPS"), "on");
	/* The allowlist is compared with case. */
	assert_null(lookup(env, "request_method"));
	/* 8 params, GATEWAY_INTERFACE, SCRIPT_*, REDIRECT_STATUS */
	assert_int_equal(count(env), 8 + 4);
	/* The params keep their order. */
	assert_string_equal(env[0], "REQUEST_METHOD=GET");
	assert_string_equal(env[7], "HTTPS=on");
	free(env);
}

static void
test_pooled_adds_its_variables(void **state)
{
	char	**env;

	(void)state;
	set_target("/cgi-bin/app.cgi", NULL);
	env = build();
	assert_string_equal(lookup(env, "GATEWAY_INTERFACE"), "CGI/1.1");
	assert_string_equal(lookup(env, "SCRIPT_FILENAME"),
	    "/srv/cgi/app.cgi");
	assert_string_equal(lookup(env, "SCRIPT_NAME"), "/cgi-bin/app.cgi");
	assert_string_equal(lookup(env, "REDIRECT_STATUS"), "200");
	assert_null(lookup(env, "PATH_INFO"));
	assert_null(lookup(env, "PATH_TRANSLATED"));
	assert_int_equal(count(env), 4);
	free(env);
}

static void
test_bad_names_are_skipped(void **state)
{
	char	**env;

	(void)state;
	params = strv("NOEQUALS", "=value", "==", "BAD-NAME=x", "BAD NAME=x",
	    "HTTP_X.Y=1", "A;B=1", "\xc3\x84=1", "TAB\t=1", " SP=1",
	    "HTTP_GOOD=1", NULL);
	set_target(NULL, NULL);
	env = build();
	assert_string_equal(lookup(env, "HTTP_GOOD"), "1");
	assert_null(lookup(env, "BAD-NAME"));
	assert_null(lookup(env, "BAD NAME"));
	assert_null(lookup(env, "HTTP_X.Y"));
	assert_null(lookup(env, ""));
	/* GOOD, GATEWAY_INTERFACE, SCRIPT_FILENAME, REDIRECT_STATUS */
	assert_int_equal(count(env), 4);
	free(env);
}

static void
test_dangerous_params_are_dropped(void **state)
{
	char	**env;

	(void)state;
	params = strv("HTTP_PROXY=http://evil.example:8080",
	    "http_proxy=http://evil.example:8080",
	    "Http_Proxy=http://evil.example:8080",
	    "FCGI_ROLE=RESPONDER", "HTTP_PROXYX=kept",
	    "HTTP_PROXY_CONNECTION=kept", "fcgi_role=kept", NULL);
	set_target(NULL, NULL);
	env = build();
	assert_null(lookup(env, "HTTP_PROXY"));
	assert_null(lookup(env, "http_proxy"));
	assert_null(lookup(env, "Http_Proxy"));
	assert_null(lookup(env, "FCGI_ROLE"));
	assert_string_equal(lookup(env, "HTTP_PROXYX"), "kept");
	assert_string_equal(lookup(env, "HTTP_PROXY_CONNECTION"), "kept");
	assert_null(lookup(env, "fcgi_role"));
	assert_int_equal(count(env), 2 + 3);
	free(env);
}

static void
test_pool_may_set_a_proxy(void **state)
{
	char	**env;

	(void)state;
	params = strv("HTTP_PROXY=http://evil.example", NULL);
	pool_env = strv("HTTP_PROXY=http://proxy.lan:3128", NULL);
	set_target(NULL, NULL);
	env = build();
	assert_string_equal(lookup(env, "HTTP_PROXY"),
	    "http://proxy.lan:3128");
	free(env);
}

static void
test_path_info_comes_from_the_target(void **state)
{
	char	**env;

	(void)state;
	params = strv("PATH_INFO=/sent", "PATH_TRANSLATED=/var/www/sent",
	    NULL);
	set_target("/cgi-bin/app.cgi", "/extra/p\xc3\xa4th");
	env = build();
	assert_string_equal(lookup(env, "PATH_INFO"), "/extra/p\xc3\xa4th");
	assert_string_equal(lookup(env, "PATH_TRANSLATED"),
	    "/srv/www/extra/p\xc3\xa4th");
	free(env);

	/* An empty PATH_INFO is still one. */
	set_target("/cgi-bin/app.cgi", "");
	env = build();
	assert_string_equal(lookup(env, "PATH_INFO"), "");
	assert_string_equal(lookup(env, "PATH_TRANSLATED"), "/srv/www");
	free(env);
}

static void
test_path_info_sent_stands_when_none_split(void **state)
{
	char	**env;

	(void)state;
	/* nginx's fastcgi_split_path_info: SCRIPT_FILENAME names the file */
	params = strv("PATH_INFO=/sent", "PATH_TRANSLATED=/var/www/sent",
	    "PATH_INFOX=kept", NULL);
	set_target("/cgi-bin/app.cgi", NULL);
	env = build();
	assert_string_equal(lookup(env, "PATH_INFO"), "/sent");
	assert_string_equal(lookup(env, "PATH_TRANSLATED"), "/var/www/sent");
	assert_null(lookup(env, "PATH_INFOX"));
	assert_int_equal(count(env), 2 + 4);
	free(env);
}

/* In a chroot, the program gets DOCUMENT_ROOT as seen inside. */
static void
test_document_root_from_a_chroot(void **state)
{
	char	**env;

	(void)state;
	params = strv("DOCUMENT_ROOT=/srv/jail/www", NULL);
	set_target("/cgi-bin/app.cgi", NULL);
	env = build();
	assert_string_equal(lookup(env, "DOCUMENT_ROOT"), "/srv/jail/www");
	free(env);
	target.document_root = "/www";
	env = build();
	assert_string_equal(lookup(env, "DOCUMENT_ROOT"), "/www");
	assert_int_equal(count(env), 1 + 4);
	free(env);
}

static void
test_script_name_resolved_or_sent(void **state)
{
	char	**env;

	(void)state;
	params = strv("SCRIPT_NAME=/cgi-bin/app.cgi/extra",
	    "SCRIPT_FILENAME=/etc/passwd", NULL);
	set_target("/cgi-bin/app.cgi", "/extra");
	env = build();
	assert_string_equal(lookup(env, "SCRIPT_NAME"), "/cgi-bin/app.cgi");
	assert_string_equal(lookup(env, "SCRIPT_FILENAME"),
	    "/srv/cgi/app.cgi");
	free(env);

	/* No resolved SCRIPT_NAME: the web server's stays. */
	set_target(NULL, NULL);
	env = build();
	assert_string_equal(lookup(env, "SCRIPT_NAME"),
	    "/cgi-bin/app.cgi/extra");
	assert_string_equal(lookup(env, "SCRIPT_FILENAME"),
	    "/srv/cgi/app.cgi");
	free(env);
}

static void
test_redirect_status_default_or_sent(void **state)
{
	char	**env;

	(void)state;
	set_target(NULL, NULL);
	params = strv("REDIRECT_STATUS=404", NULL);
	env = build();
	assert_string_equal(lookup(env, "REDIRECT_STATUS"), "404");
	free(env);

	/* A skipped param does not count as sent. */
	free(params);
	params = strv("REDIRECT-STATUS=404", "REDIRECT_STATUS", NULL);
	env = build();
	assert_string_equal(lookup(env, "REDIRECT_STATUS"), "200");
	free(env);

	/* The pool's setting wins over both. */
	pool_env = strv("REDIRECT_STATUS=1", NULL);
	env = build();
	assert_string_equal(lookup(env, "REDIRECT_STATUS"), "1");
	free(env);
	free(params);
	params = strv("REDIRECT_STATUS=404", NULL);
	env = build();
	assert_string_equal(lookup(env, "REDIRECT_STATUS"), "1");
	free(env);
}

static void
test_precedence(void **state)
{
	char	**env;

	(void)state;
	params = strv("HTTP_A=1", "GATEWAY_INTERFACE=CGI/9.9", "HTTP_A=2",
	    "LANG=fr_FR", "HTTP_B=param", "PATH=/tmp/evil", NULL);
	pool_env = strv("PATH=/usr/bin:/bin", "LANG=C.UTF-8", "HTTP_B=pool1",
	    "HTTP_B=pool2", "SCRIPT_FILENAME=/pool/wins", "PATH_INFO=/pool",
	    NULL);
	set_target("/cgi-bin/app.cgi", NULL);
	env = build();
	/* A later param replaces an earlier one. */
	assert_string_equal(lookup(env, "HTTP_A"), "2");
	/* What pooled sets replaces the params. */
	assert_string_equal(lookup(env, "GATEWAY_INTERFACE"), "CGI/1.1");
	/* The pool's settings replace everything. */
	assert_string_equal(lookup(env, "PATH"), "/usr/bin:/bin");
	assert_string_equal(lookup(env, "LANG"), "C.UTF-8");
	assert_string_equal(lookup(env, "HTTP_B"), "pool2");
	assert_string_equal(lookup(env, "SCRIPT_FILENAME"), "/pool/wins");
	assert_string_equal(lookup(env, "PATH_INFO"), "/pool");
	/* HTTP_A LANG HTTP_B PATH GATEWAY_INTERFACE SCRIPT_FILENAME SCRIPT_NAME
	 * REDIRECT_STATUS PATH_INFO */
	assert_int_equal(count(env), 9);
	free(env);
}

static void
test_malformed_pool_env_is_skipped(void **state)
{
	char	**env;

	(void)state;
	pool_env = strv("NOEQ", "=x", "OK=1", "E=", NULL);
	set_target(NULL, NULL);
	env = build();
	assert_string_equal(lookup(env, "OK"), "1");
	assert_string_equal(lookup(env, "E"), "");
	assert_null(lookup(env, "NOEQ"));
	assert_int_equal(count(env), 3 + 2);
	free(env);
}

static void
test_never_pooled_environment(void **state)
{
	char	**env;

	(void)state;
	assert_int_equal(setenv("POOLED_SECRET", "hunter2", 1), 0);
	assert_int_equal(setenv("PATH", "/usr/bin", 1), 0);
	set_target(NULL, NULL);
	env = build();
	assert_null(lookup(env, "POOLED_SECRET"));
	assert_null(lookup(env, "PATH"));
	free(env);
	unsetenv("POOLED_SECRET");
}

static void
test_one_block(void **state)
{
	char	**env;
	size_t	  i, n;

	(void)state;
	params = strv("HTTP_X=1", "HTTP_Y=22", "HTTP_X=333", NULL);
	set_target("/s", "/p");
	env = build();
	n = count(env);
	assert_int_equal(n, 2 + 6);
	/* The strings follow the vector, back to back. */
	assert_ptr_equal(env[0], (char *)(env + n + 1));
	for (i = 0; i + 1 < n; i++)
		assert_ptr_equal(env[i + 1], env[i] + strlen(env[i]) + 1);
	free(env);
}

static void
test_size_is_bounded(void **state)
{
	char	 *big;
	char	**env;

	(void)state;
	set_target("/cgi-bin/app.cgi", "/p");
	big = malloc(MIB + 16);
	assert_non_null(big);
	memcpy(big, "HTTP_COOKIE=", 12);
	params = strv("A=1", "A=2", NULL);

	/* Well below the bound: fine. */
	memset(big + 12, 'c', MIB - 4096 - 12);
	big[MIB - 4096] = '\0';
	params[0] = big;
	env = build();
	assert_int_equal(strlen(lookup(env, "HTTP_COOKIE")),
	    MIB - 4096 - 12);
	free(env);

	/* One param beyond it. */
	memset(big + 12, 'c', MIB);
	big[MIB + 12] = '\0';
	errno = 0;
	assert_null(cgi_env_build(params, &target, NULL, NULL));
	assert_int_equal(errno, E2BIG);

	/* Two halves, together beyond it: duplicates count. */
	big[MIB / 2 + 12] = '\0';
	params[1] = big;
	errno = 0;
	assert_null(cgi_env_build(params, &target, NULL, NULL));
	assert_int_equal(errno, E2BIG);

	/* Skipped params count too: they were read off the network. */
	big[0] = '-';
	errno = 0;
	assert_null(cgi_env_build(params, &target, NULL, NULL));
	assert_int_equal(errno, E2BIG);

	/* Half from the params, half from the pool. */
	big[0] = 'H';
	params[1] = NULL;
	pool_env = strv("A=1", NULL);
	pool_env[0] = big;
	errno = 0;
	assert_null(try_build());
	assert_int_equal(errno, E2BIG);

	/* Or from what pooled adds. */
	pool_env[0] = NULL;
	big[MIB / 2 + 12] = 'c';
	big[MIB - 2048] = '\0';
	set_target(NULL, NULL);
	env = build();
	free(env);
	memset(target.path, 'p', sizeof(target.path) - 1);
	target.path[sizeof(target.path) - 1] = '\0';
	errno = 0;
	assert_null(cgi_env_build(params, &target, NULL, NULL));
	assert_int_equal(errno, E2BIG);
	free(big);
}

static void
test_many_params(void **state)
{
	enum { N = 20000 };
	char	**env, *buf;
	size_t	  i;

	(void)state;
	set_target(NULL, NULL);
	params = calloc(2 * N + 1, sizeof(*params));
	buf = malloc(2 * N * 32);
	assert_non_null(params);
	assert_non_null(buf);
	for (i = 0; i < N; i++) {
		params[i] = buf + i * 32;
		snprintf(params[i], 32, "HTTP_V%zu=%zu", i, i);
		/* and N settings of one name: the last wins */
		params[N + i] = buf + (N + i) * 32;
		snprintf(params[N + i], 32, "HTTP_SAME=%zu", i);
	}
	env = build();
	assert_int_equal(count(env), N + 1 + 3);
	assert_string_equal(lookup(env, "HTTP_V0"), "0");
	assert_string_equal(lookup(env, "HTTP_V19999"), "19999");
	assert_string_equal(lookup(env, "HTTP_SAME"), "19999");
	free(env);
	free(buf);
}


/* What web servers send reaches the program; nothing else does. */
static void
test_allowlist(void **state)
{
	static const char *const sent[] = {
		"AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE",
		"GATEWAY_INTERFACE", "PATH_INFO", "PATH_TRANSLATED",
		"QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT",
		"REMOTE_USER", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME",
		"SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
		"HTTP_HOST", "HTTP_COOKIE", "HTTP_X_ANYTHING", "HTTPS",
		"SSL_CLIENT_S_DN", "SSL_PROTOCOL", "REDIRECT_STATUS",
		"REDIRECT_URL", "DOCUMENT_ROOT", "DOCUMENT_URI", "REQUEST_URI",
		"REQUEST_SCHEME", "SCRIPT_FILENAME", "REMOTE_PORT",
		"SERVER_ADDR", "SERVER_ADMIN", "SERVER_SIGNATURE",
		"CONTEXT_PREFIX", "CONTEXT_DOCUMENT_ROOT", "UNIQUE_ID", "SCGI",
	};
	char	**env, buf[64];
	size_t	  i;

	(void)state;
	set_target(NULL, NULL);
	for (i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		free(params);
		snprintf(buf, sizeof(buf), "%s=v%zu", sent[i], i);
		params = strv(buf, NULL);
		env = build();
		snprintf(buf, sizeof(buf), "v%zu", i);
		/* pooled sets these itself, from the target */
		if (strcmp(sent[i], "GATEWAY_INTERFACE") != 0 &&
		    strcmp(sent[i], "SCRIPT_FILENAME") != 0)
			assert_string_equal(lookup(env, sent[i]), buf);
		free(env);
	}
	free(params);
	params = strv("X_EVIL=1", "FOO=1", "HTTP=1", "HTTPSX=1",
	    "SERVER_X=1", "REMOTE_X=1", "SSL=1", "request_uri=1", NULL);
	env = build();
	/* GATEWAY_INTERFACE, SCRIPT_FILENAME, REDIRECT_STATUS */
	assert_int_equal(count(env), 3);
	free(env);
}

/* Names that make programs load code never pass, whatever the pool says. */
static void
test_denied_params_never_pass(void **state)
{
	static const char *const bad[] = {
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "BASH_ENV", "ENV",
		"BASH_FUNC_f", "SHELLOPTS", "PS4", "PHPRC", "PHP_INI_SCAN_DIR",
		"PHP_VALUE", "PERL5OPT", "PERL5LIB", "PERLLIB", "PYTHONPATH",
		"PYTHONSTARTUP", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS",
		"NODE_PATH", "IFS", "PATH", "HOME", "SHELL", "GCONV_PATH",
		"LOCPATH", "MALLOC_CHECK_", "GLIBC_TUNABLES", "TMPDIR", "TZDIR",
		"HOSTALIASES", "RESOLV_HOST_CONF", "NLSPATH",
		"JAVA_TOOL_OPTIONS", "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL",
		"OPENSSL_CONF", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY",
		"LUA_INIT", "LESSOPEN",
	};
	char	**env, buf[64];
	size_t	  i;

	(void)state;
	set_target(NULL, NULL);
	/* Past the config check, which refuses these: still dropped. */
	pass = strv("LD_PRELOAD", "BASH_ENV", "PHPRC", "GIT_*", "SSL_*",
	    "P*", NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(params);
		snprintf(buf, sizeof(buf), "%s=x", bad[i]);
		params = strv(buf, NULL);
		env = build();
		assert_null(lookup(env, bad[i]));
		assert_int_equal(count(env), 3);
		free(env);
	}
}

/* cgi_pass_params adds names and prefixes, compared with case. */
static void
test_pass_params(void **state)
{
	char	**env;

	(void)state;
	params = strv("MYAPP_TOKEN=t", "MYAPP_TOKEN2=no", "myapp_token=no",
	    "TENANT_ID=7", "TENANT_=e", "TENANT=no", "X_EVIL=no", NULL);
	pass = strv("MYAPP_TOKEN", "TENANT_*", NULL);
	set_target(NULL, NULL);
	env = build();
	assert_string_equal(lookup(env, "MYAPP_TOKEN"), "t");
	assert_string_equal(lookup(env, "TENANT_ID"), "7");
	assert_string_equal(lookup(env, "TENANT_"), "e");
	assert_null(lookup(env, "MYAPP_TOKEN2"));
	assert_null(lookup(env, "myapp_token"));
	assert_null(lookup(env, "TENANT"));
	assert_null(lookup(env, "X_EVIL"));
	assert_int_equal(count(env), 3 + 3);
	free(env);
}

/* What conf.c asks before a name joins the allowlist. */
static void
test_pass_check(void **state)
{
	static const char *const ok[] = {
		"MYAPP_TOKEN", "TENANT_*", "REDIRECT_*", "LANG", "LC_ALL",
		"GIT", "X", "HTTP_X_*", "CGIT_CONFIG",
	};
	static const char *const refused[] = {
		"LD_PRELOAD", "ld_preload", "LD_*", "L*", "*", "", "BASH_ENV",
		"BASH_FUNC_f", "ENV", "PHPRC", "PHP_INI_SCAN_DIR", "PERL5OPT",
		"PERLLIB", "PYTHONPATH", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH",
		"IFS", "PATH", "HOME", "SHELL", "GCONV_PATH", "LOCPATH",
		"MALLOC_ARENA_MAX", "GLIBC_TUNABLES", "TMPDIR", "TZDIR",
		"HOSTALIASES", "RESOLV_HOST_CONF", "NLSPATH",
		"JAVA_TOOL_OPTIONS", "GIT_DIR", "GIT_*", "G*", "HTTP_*",
		"SSL_*", "SSL_CERT_FILE", "https_proxy", "BAD-NAME", "A*B",
		"A**", "LD_PRE*", "TZ",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_null(cgi_env_pass_check(ok[i]));
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (cgi_env_pass_check(refused[i]) == NULL)
			fail_msg("cgi_pass_params \"%s\" accepted", refused[i]);
	}
	assert_true(cgi_env_denied("ld_preload", 10));
	assert_false(cgi_env_denied("HTTP_HOST", 9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_params_pass_through, teardown),
		cmocka_unit_test_teardown(test_pooled_adds_its_variables,
		    teardown),
		cmocka_unit_test_teardown(test_bad_names_are_skipped,
		    teardown),
		cmocka_unit_test_teardown(test_dangerous_params_are_dropped,
		    teardown),
		cmocka_unit_test_teardown(test_pool_may_set_a_proxy, teardown),
		cmocka_unit_test_teardown(
		    test_path_info_comes_from_the_target, teardown),
		cmocka_unit_test_teardown(
		    test_path_info_sent_stands_when_none_split, teardown),
		cmocka_unit_test_teardown(test_document_root_from_a_chroot,
		    teardown),
		cmocka_unit_test_teardown(test_script_name_resolved_or_sent,
		    teardown),
		cmocka_unit_test_teardown(
		    test_redirect_status_default_or_sent, teardown),
		cmocka_unit_test_teardown(test_precedence, teardown),
		cmocka_unit_test_teardown(test_malformed_pool_env_is_skipped,
		    teardown),
		cmocka_unit_test_teardown(test_never_pooled_environment,
		    teardown),
		cmocka_unit_test_teardown(test_one_block, teardown),
		cmocka_unit_test_teardown(test_size_is_bounded, teardown),
		cmocka_unit_test_teardown(test_many_params, teardown),
		cmocka_unit_test_teardown(test_allowlist, teardown),
		cmocka_unit_test_teardown(test_denied_params_never_pass,
		    teardown),
		cmocka_unit_test_teardown(test_pass_params, teardown),
		cmocka_unit_test_teardown(test_pass_check, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
