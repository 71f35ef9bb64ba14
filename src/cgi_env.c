/*
 * The environment of a CGI program (RFC 3875 section 4.1): the params the
 * web server sent whose names are on an allowlist (the CGI variables, the
 * request headers, what web servers commonly add, and the pool's
 * cgi_pass_params) and not on a list of names that make programs load
 * code, plus what pooled resolved about the program, plus the pool's env
 * settings.  A client that talks to the socket directly chooses every
 * param, so a name that is not known to be harmless never reaches the
 * program.  Nothing comes from pooled's own environment: a program must
 * not learn the daemon's settings, and its PATH and locale are the
 * pool's to choose.
 *
 * The result is one allocation, the pointer vector first and the strings
 * after it, so a request that fails half-way has a single thing to free
 * and nothing to unwind.  The params come from the network, so the size
 * of it all is bounded.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pooled.h"

/* At most this many bytes of variables, pointers included. */
#define CGI_ENV_MAX		(1024 * 1024)

/* The variables pooled sets itself, from the target. */
#define CGI_ENV_NFIXED		7

/* Bytes of the debug line that names the params left out. */
#define CGI_ENV_DROPPED_MAX	400

/*
 * The params a program gets from the web server: RFC 3875 section 4.1,
 * then what nginx's fastcgi_params and scgi_params, Apache's
 * mod_proxy_fcgi, mod_ssl and mod_rewrite, lighttpd and OpenBSD's httpd
 * send.  A name ending in '*' stands for every name it begins; names are
 * compared with their case.
 */
static const char *const env_allowed[] = {
	"AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE",
	"PATH_INFO", "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR",
	"REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
	"SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
	"SERVER_SOFTWARE",
	"HTTP_*", "HTTPS", "SSL_*", "TLS_PEER_VERIFY",
	"REDIRECT_STATUS", "REDIRECT_URL", "REDIRECT_QUERY_STRING",
	"DOCUMENT_ROOT", "DOCUMENT_URI", "REQUEST_URI", "REQUEST_SCHEME",
	"SCRIPT_FILENAME", "SCRIPT_URI", "SCRIPT_URL", "REMOTE_PORT",
	"SERVER_ADDR", "SERVER_ADMIN", "SERVER_SIGNATURE", "CONTEXT_PREFIX",
	"CONTEXT_DOCUMENT_ROOT", "UNIQUE_ID", "SCGI",
};

/*
 * Names no param may set, whatever cgi_pass_params says: each makes the
 * dynamic loader, libc, a shell, an interpreter or a common library load
 * code, or configuration, from where the value says, or changes where a
 * program looks for its commands, files or proxies.  Compared without
 * case: curl reads http_proxy in lower case.  The pool's env may set
 * them: the operator is trusted, the client is not.
 */
static const char *const env_denied[] = {
	/* glibc: the loader, and its list of unsecure variables */
	"LD_*", "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES",
	"LOCALDOMAIN", "LOCPATH", "MALLOC_*", "NIS_PATH", "NLSPATH",
	"RESOLV_*", "RES_OPTIONS", "TMPDIR", "TZ", "TZDIR",
	/* where a program finds its commands, home and temporary files */
	"PATH", "HOME", "SHELL", "TMP", "TEMP", "IFS", "CDPATH",
	/* shells: files sourced, functions imported, prompts expanded */
	"BASH*", "ENV", "SHELLOPTS", "PS4", "PROMPT_COMMAND", "GLOBIGNORE",
	"FPATH", "ZDOTDIR", "HISTFILE", "INPUTRC",
	/* interpreters: startup options, library paths, ini files */
	"PHP*", "PERL*", "PYTHON*", "RUBY*", "GEM_*", "BUNDLE_*", "NODE_*",
	"NPM_CONFIG_*", "LUA_*", "TCLLIBPATH", "JAVA_TOOL_OPTIONS",
	"_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "DOTNET_*",
	"COMPLUS_*", "CORECLR_*",
	/* libraries and tools a program may run */
	"GIT_*", "SSH_*", "OPENSSL_*", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"SSLKEYLOGFILE", "GNUTLS_*", "KRB5*", "CURL_*", "WGETRC",
	"GNUPGHOME", "MAGICK_*", "GS_LIB", "GS_OPTIONS", "GTK_*", "GIO_*",
	"QT_*", "XDG_*", "TERMINFO*", "EDITOR", "VISUAL", "PAGER", "LESS*",
	"MANPAGER", "BROWSER",
	/* proxies (httpoxy: a "Proxy:" header arrives as HTTP_PROXY) */
	"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY", "NO_PROXY",
};

/* One candidate variable, pointing into the caller's strings. */
struct env_var {
	const char	*name;
	size_t		 namelen;
	const char	*value;
	size_t		 valuelen;
	size_t		 seq;		/* position: a later one wins */
	bool		 keep;
};

struct env_list {
	struct env_var	*v;
	size_t		 n;
	size_t		 size;		/* bytes the candidates would take */
};

static bool
name_is(const char *name, size_t namelen, const char *what)
{
	return namelen == strlen(what) && memcmp(name, what, namelen) == 0;
}

/* Names made of [A-Za-z0-9_], tested without the locale. */
static bool
name_is_safe(const char *name, size_t namelen)
{
	size_t	 i;
	char	 c;

	if (namelen == 0)
		return false;
	for (i = 0; i < namelen; i++) {
		c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/*
 * Whether name matches pat: the very name, or, for a pat ending in '*',
 * any name that begins with what comes before it.
 */
static bool
pattern_match(const char *pat, const char *name, size_t namelen,
    bool nocase)
{
	size_t	 len = strlen(pat);

	if (len > 0 && pat[len - 1] == '*') {
		len--;
		if (namelen < len)
			return false;
	} else if (namelen != len)
		return false;
	return nocase ? strncasecmp(pat, name, len) == 0 :
	    memcmp(pat, name, len) == 0;
}

/* Whether a name is on the list no param may ever set. */
bool
cgi_env_denied(const char *name, size_t namelen)
{
	size_t	 i;

	for (i = 0; i < sizeof(env_denied) / sizeof(env_denied[0]); i++)
		if (pattern_match(env_denied[i], name, namelen, true))
			return true;
	return false;
}

/*
 * Check a cgi_pass_params entry: a name of [A-Za-z0-9_], or such a prefix
 * followed by '*'.  NULL when it may be added to the allowlist, else why
 * not.  An entry that is a denied name, lies inside a denied prefix, or
 * is a prefix that covers a denied name is refused, so that what the
 * operator wrote is what passes.
 */
const char *
cgi_env_pass_check(const char *pat)
{
	static char		 why[128];
	const char		*d;
	size_t			 i, len = strlen(pat), dlen;
	bool			 prefix = false;

	if (len > 0 && pat[len - 1] == '*') {
		prefix = true;
		len--;
	}
	if (!name_is_safe(pat, len))
		return "not a name of letters, digits and \"_\" (with an "
		    "optional \"*\" at the end)";
	for (i = 0; i < sizeof(env_denied) / sizeof(env_denied[0]); i++) {
		d = env_denied[i];
		dlen = strlen(d);
		if (d[dlen - 1] == '*')
			dlen--;
		/* pat's names all match d, or some of them do */
		if (pattern_match(d, pat, len, true) || (prefix &&
		    dlen >= len && strncasecmp(d, pat, len) == 0)) {
			(void)snprintf(why, sizeof(why), "%s %s, which makes "
			    "programs load code and can never be passed",
			    prefix ? "covers" : "matches", d);
			return why;
		}
	}
	return NULL;
}

/* Whether a param of this name may reach the program. */
static bool
param_allowed(const char *name, size_t namelen, const struct pool_conf *pc)
{
	size_t	 i;
	bool	 allowed = false;

	for (i = 0; i < sizeof(env_allowed) / sizeof(env_allowed[0]) &&
	    !allowed; i++)
		allowed = pattern_match(env_allowed[i], name, namelen, false);
	for (i = 0; pc != NULL && i < pc->ncgi_pass_params && !allowed; i++)
		allowed = pattern_match(pc->cgi_pass_params[i], name, namelen,
		    false);
	return allowed && !cgi_env_denied(name, namelen);
}

/*
 * Note a param left out, for one debug line per request: safe names as
 * they are, others by their length only (they may hold control bytes).
 */
static void
note_dropped(char *buf, size_t size, size_t *n, const char *name,
    size_t namelen)
{
	size_t	 len = strlen(buf);
	int	 r;

	(*n)++;
	if (len + 5 >= size)
		return;
	if (len + 1 + namelen + 5 >= size)
		r = snprintf(buf + len, size - len, " ...");
	else if (name_is_safe(name, namelen))
		r = snprintf(buf + len, size - len, " %.*s", (int)namelen,
		    name);
	else
		r = snprintf(buf + len, size - len, " (%zu-byte name)",
		    namelen);
	if (r < 0)
		buf[len] = '\0';
}

static void
log_dropped(const char *log_prefix, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(POOLED_LOG_DEBUG, log_prefix, fmt, ap);
	va_end(ap);
}

/* Count a "NAME=VALUE" string of len bytes against CGI_ENV_MAX. */
static int
account(struct env_list *l, size_t len)
{
	if (len > CGI_ENV_MAX ||
	    sizeof(char *) + len + 1 > CGI_ENV_MAX - l->size) {
		errno = E2BIG;
		return -1;
	}
	l->size += sizeof(char *) + len + 1;
	return 0;
}

/* Append a variable; the list has room (counted before). */
static void
add(struct env_list *l, const char *name, size_t namelen, const char *value)
{
	struct env_var	*e = &l->v[l->n];

	e->name = name;
	e->namelen = namelen;
	e->value = value;
	e->valuelen = strlen(value);
	e->seq = l->n;
	e->keep = true;
	l->n++;
}

/* Append a variable pooled sets, counting its size. */
static int
add_fixed(struct env_list *l, const char *name, const char *value)
{
	size_t	 namelen = strlen(name);

	if (account(l, namelen + 1 + strlen(value)) == -1)
		return -1;
	add(l, name, namelen, value);
	return 0;
}

/* Sort by name, then by position, so that the last of a run wins. */
static int
cmp_var(const void *a, const void *b)
{
	const struct env_var	*x = *(struct env_var *const *)a;
	const struct env_var	*y = *(struct env_var *const *)b;
	size_t			 n;
	int			 r;

	n = x->namelen < y->namelen ? x->namelen : y->namelen;
	if ((r = memcmp(x->name, y->name, n)) != 0)
		return r;
	if (x->namelen != y->namelen)
		return x->namelen < y->namelen ? -1 : 1;
	return x->seq < y->seq ? -1 : 1;
}

/*
 * Drop every variable a later one of the same name replaces.  Sorting
 * keeps this O(n log n): the params can hold thousands of names.
 */
static int
drop_replaced(struct env_list *l)
{
	struct env_var	**order;
	size_t		  i;

	if (l->n == 0)
		return 0;
	if ((order = calloc(l->n, sizeof(*order))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++)
		order[i] = &l->v[i];
	qsort(order, l->n, sizeof(*order), cmp_var);
	for (i = 0; i + 1 < l->n; i++)
		if (order[i]->namelen == order[i + 1]->namelen &&
		    memcmp(order[i]->name, order[i + 1]->name,
		    order[i]->namelen) == 0)
			order[i]->keep = false;
	free(order);
	return 0;
}

/* Lay the kept variables out in one block: vector, then strings. */
static char **
flatten(const struct env_list *l)
{
	const struct env_var	*e;
	char			**env, *p;
	size_t			  i, k, nkeep = 0, size;

	size = sizeof(char *);
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (!e->keep)
			continue;
		nkeep++;
		size += sizeof(char *) + e->namelen + 1 + e->valuelen + 1;
	}
	if ((env = malloc(size)) == NULL)
		return NULL;
	p = (char *)(env + nkeep + 1);
	for (i = 0, k = 0; i < l->n; i++) {
		e = &l->v[i];
		if (!e->keep)
			continue;
		env[k++] = p;
		memcpy(p, e->name, e->namelen);
		p += e->namelen;
		*p++ = '=';
		memcpy(p, e->value, e->valuelen + 1);
		p += e->valuelen + 1;
	}
	env[k] = NULL;
	return env;
}

/*
 * Build a CGI program's environment, NULL-ended: the params (the web
 * server's "NAME=VALUE" strings, NULL-ended, may be NULL) that are on the
 * allowlist or in pc's cgi_pass_params and not denied, then
 * GATEWAY_INTERFACE, SCRIPT_FILENAME, SCRIPT_NAME, DOCUMENT_ROOT when t
 * has one (a chroot's inside), PATH_INFO and PATH_TRANSLATED when t
 * split one off (else the web server's stand),
 * REDIRECT_STATUS=200 unless sent, then pc's env strings; a later
 * variable replaces an earlier one of the same name.  The params left out
 * are named in one debug line, with log_prefix (may be NULL).  The
 * result is a single allocation: free() it once.
 * NULL with errno ENOMEM, or E2BIG when the strings passed and added
 * (before duplicates are dropped) take more than CGI_ENV_MAX bytes.
 */
char **
cgi_env_build(char *const *params, const struct cgi_target *t,
    const struct pool_conf *pc, const char *log_prefix)
{
	struct env_list	 l;
	const char	*p, *eq;
	char		**env = NULL, dropped[CGI_ENV_DROPPED_MAX] = "";
	size_t		 i, nparams, namelen, ndropped = 0;
	char *const	*pool_env = pc != NULL ? pc->cgi_env : NULL;
	size_t		 npool_env = pc != NULL ? pc->ncgi_env : 0;
	int		 saved_errno;
	bool		 redirect_status = false;

	memset(&l, 0, sizeof(l));
	l.size = sizeof(char *);		/* the terminating NULL */

	/*
	 * Count the params as sent, so that no more than CGI_ENV_MAX bytes
	 * of network input is ever copied or sorted.
	 */
	for (nparams = 0; params != NULL && params[nparams] != NULL;
	    nparams++)
		if (account(&l, strlen(params[nparams])) == -1)
			return NULL;
	if (npool_env > SIZE_MAX / sizeof(*l.v) - nparams - CGI_ENV_NFIXED) {
		errno = E2BIG;
		return NULL;
	}
	l.v = calloc(nparams + CGI_ENV_NFIXED + npool_env, sizeof(*l.v));
	if (l.v == NULL)
		return NULL;

	for (i = 0; i < nparams; i++) {
		p = params[i];
		if ((eq = strchr(p, '=')) == NULL)
			continue;
		namelen = (size_t)(eq - p);
		if (!name_is_safe(p, namelen) ||
		    !param_allowed(p, namelen, pc)) {
			/* libfcgi adds FCGI_ROLE to every request. */
			if (!name_is(p, namelen, "FCGI_ROLE"))
				note_dropped(dropped, sizeof(dropped),
				    &ndropped, p, namelen);
			continue;
		}
		/*
		 * A PATH_INFO the web server split off itself (nginx's
		 * fastcgi_split_path_info, cgit's "PATH_INFO $uri") stands,
		 * as fcgiwrap passes it; one pooled split off replaces it.
		 */
		if (name_is(p, namelen, "REDIRECT_STATUS"))
			redirect_status = true;
		add(&l, p, namelen, eq + 1);
	}
	/* Normal traffic (a header named like a variable): debug only. */
	if (ndropped > 0)
		log_dropped(log_prefix, "cgi: %zu param%s not passed to the "
		    "program:%s", ndropped, ndropped == 1 ? "" : "s", dropped);

	if (add_fixed(&l, "GATEWAY_INTERFACE", "CGI/1.1") == -1 ||
	    add_fixed(&l, "SCRIPT_FILENAME", t->path) == -1)
		goto done;
	if (t->script_name != NULL &&
	    add_fixed(&l, "SCRIPT_NAME", t->script_name) == -1)
		goto done;
	if (t->document_root != NULL &&
	    add_fixed(&l, "DOCUMENT_ROOT", t->document_root) == -1)
		goto done;
	if (t->path_info != NULL &&
	    (add_fixed(&l, "PATH_INFO", t->path_info) == -1 ||
	    add_fixed(&l, "PATH_TRANSLATED", t->path_translated) == -1))
		goto done;
	/* php-cgi refuses to run without it (its force-cgi-redirect). */
	if (!redirect_status &&
	    add_fixed(&l, "REDIRECT_STATUS", "200") == -1)
		goto done;

	/* The configuration was validated; skip what cannot be a variable. */
	for (i = 0; i < npool_env; i++) {
		p = pool_env[i];
		if (p == NULL || (eq = strchr(p, '=')) == NULL || eq == p)
			continue;
		if (account(&l, strlen(p)) == -1)
			goto done;
		add(&l, p, (size_t)(eq - p), eq + 1);
	}

	if (drop_replaced(&l) == 0)
		env = flatten(&l);
done:
	saved_errno = errno;
	free(l.v);
	errno = saved_errno;
	return env;
}
