/*
 * The environment of a CGI program (RFC 3875 section 4.1): the params the
 * web server sent, less the few that are dangerous in a CGI environment,
 * plus what pooled resolved about the program, plus the pool's env
 * settings.  Nothing comes from pooled's own environment: a program must
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pooled.h"

/* At most this many bytes of variables, pointers included. */
#define CGI_ENV_MAX		(1024 * 1024)

/* The variables pooled sets itself, from the target. */
#define CGI_ENV_NFIXED		7

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
 * Build a CGI program's environment, NULL-ended: params (the web
 * server's "NAME=VALUE" strings, NULL-ended, may be NULL), then
 * GATEWAY_INTERFACE, SCRIPT_FILENAME, SCRIPT_NAME, DOCUMENT_ROOT when t
 * has one (a chroot's inside), PATH_INFO and PATH_TRANSLATED when t
 * split one off (else the web server's stand),
 * REDIRECT_STATUS=200 unless sent, then the
 * npool_env strings of pool_env; a later variable replaces an earlier one
 * of the same name.  The result is a single allocation: free() it once.
 * NULL with errno ENOMEM, or E2BIG when the strings passed and added
 * (before duplicates are dropped) take more than CGI_ENV_MAX bytes.
 */
char **
cgi_env_build(char *const *params, const struct cgi_target *t,
    char *const *pool_env, size_t npool_env)
{
	struct env_list	 l;
	const char	*p, *eq;
	char		**env = NULL;
	size_t		 i, nparams, namelen;
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
		if (!name_is_safe(p, namelen))
			continue;
		/* libfcgi adds FCGI_ROLE; it means nothing to a program. */
		if (name_is(p, namelen, "FCGI_ROLE"))
			continue;
		/*
		 * httpoxy: a client's "Proxy:" header arrives as HTTP_PROXY,
		 * which many HTTP libraries take as their proxy setting.
		 * The lower-case spelling is the one libcurl reads.
		 */
		if (namelen == 10 && strncasecmp(p, "HTTP_PROXY", 10) == 0)
			continue;
		/*
		 * A PATH_INFO the web server split off itself (nginx's
		 * fastcgi_split_path_info, cgit's "PATH_INFO $uri") stands,
		 * as fcgiwrap passes it; one pooled split off replaces it.
		 */
		if (name_is(p, namelen, "REDIRECT_STATUS"))
			redirect_status = true;
		add(&l, p, namelen, eq + 1);
	}

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
