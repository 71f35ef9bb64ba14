/*
 * Listen addresses: parsing the text a config gives ("unix:/p", "/p",
 * "host:port", "[v6]:port") into a normalised sockaddr, and deciding
 * whether two of them are the same socket.  One owner for these facts:
 * the config checks, reload's socket sharing and the status listener all
 * ask here.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pooled.h"

static int	 listen_error(char *, size_t, const char *, const char *, ...)
		    POOLED_PRINTFLIKE(4, 5);

/* Fill err with "listen \"text\": " and the reason; returns -1. */
static int
listen_error(char *err, size_t errlen, const char *text, const char *fmt,
    ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(err, errlen, "listen \"%s\": ", text);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The ":PORT" part: decimal digits only, 1..65535. */
static int
listen_port(const char *text, const char *s, in_port_t *port, char *err,
    size_t errlen)
{
	unsigned long	 n = 0;
	const char	*p;

	if (*s == '\0')
		return listen_error(err, errlen, text, "missing port");
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return listen_error(err, errlen, text,
			    "invalid port \"%s\"", s);
		if (n <= 65535)
			n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < 1 || n > 65535)
		return listen_error(err, errlen, text,
		    "port out of range (1..65535)");
	*port = htons((in_port_t)n);
	return 0;
}

/*
 * Normalise an absolute unix socket path lexically into out, which holds
 * at least strlen(path) + 1 bytes: collapse repeated "/" and drop "."
 * components, keeping a trailing "/" as written.  ".." is not resolved
 * (that needs the file system: symlinks), so it is refused; -1 then.
 */
static int
listen_unix_path(const char *path, char *out)
{
	const char	*p = path;
	size_t		 n, o = 1;

	out[0] = '/';
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (n != 1 || p[0] != '.') {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	if (o > 1 && p[-1] == '/')
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* "unix:/path" or "/path"; the path is stored normalised. */
static int
listen_unix(const char *path, struct listen_addr *la, char *err,
    size_t errlen)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&la->ss;
	char			 norm[sizeof(la->text)];
	size_t			 len;

	if (path[0] != '/')
		return listen_error(err, errlen, la->text,
		    "unix socket path must be absolute");
	if (listen_unix_path(path, norm) == -1)
		return listen_error(err, errlen, la->text,
		    "unix socket path must not contain \"..\"");
	len = strlen(norm);
	if (len >= sizeof(sun->sun_path) || len >= sizeof(la->path))
		return listen_error(err, errlen, la->text,
		    "unix socket path too long (at most %zu bytes)",
		    sizeof(sun->sun_path) - 1);
	la->kind = LISTEN_UNIX;
	memcpy(la->path, norm, len + 1);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, norm, len + 1);
	la->sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + 1);
	return 0;
}

/* "[v6addr]:port". */
static int
listen_inet6(struct listen_addr *la, char *err, size_t errlen)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&la->ss;
	const char		*text = la->text, *end;
	char			 host[INET6_ADDRSTRLEN];
	size_t			 len;

	if ((end = strchr(text, ']')) == NULL)
		return listen_error(err, errlen, text, "missing \"]\"");
	if (end[1] == '\0')
		return listen_error(err, errlen, text, "missing port");
	if (end[1] != ':')
		return listen_error(err, errlen, text,
		    "expected \":\" after \"]\"");
	len = (size_t)(end - (text + 1));
	if (len >= sizeof(host))
		return listen_error(err, errlen, text, "invalid IPv6 address");
	memcpy(host, text + 1, len);
	host[len] = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return listen_error(err, errlen, text, "invalid IPv6 address");
	la->kind = LISTEN_TCP;
	sin6->sin6_family = AF_INET6;
	la->sslen = sizeof(*sin6);
	return listen_port(text, end + 2, &sin6->sin6_port, err, errlen);
}

/* "a.b.c.d:port", "*:port", "localhost:port". */
static int
listen_inet(struct listen_addr *la, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&la->ss;
	const char		*text = la->text, *colon;
	char			 host[INET_ADDRSTRLEN];
	size_t			 len;

	if ((colon = strrchr(text, ':')) == NULL) {
		if (strspn(text, "0123456789") == strlen(text))
			return listen_error(err, errlen, text, "missing "
			    "address (write \"*:%s\" or \"127.0.0.1:%s\")",
			    text, text);
		return listen_error(err, errlen, text, "missing port");
	}
	if (colon == text)
		return listen_error(err, errlen, text, "missing address");
	len = (size_t)(colon - text);
	if (memchr(text, ':', len) != NULL)
		return listen_error(err, errlen, text, "IPv6 addresses must "
		    "be in brackets, as in \"[::1]:9000\"");
	if (len >= sizeof(host))
		return listen_error(err, errlen, text, "invalid IPv4 address "
		    "\"%.*s\" (host names are not looked up)", (int)len, text);
	memcpy(host, text, len);
	host[len] = '\0';
	if (strcmp(host, "*") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return listen_error(err, errlen, text, "invalid IPv4 address "
		    "\"%s\" (host names are not looked up)", host);
	la->kind = LISTEN_TCP;
	sin->sin_family = AF_INET;
	la->sslen = sizeof(*sin);
	return listen_port(text, colon + 1, &sin->sin_port, err, errlen);
}

/* Parse a listen address; on error fill err and return -1. */
int
listen_addr_parse(const char *text, struct listen_addr *la, char *err,
    size_t errlen)
{
	char	 head[40];
	size_t	 len = strlen(text);

	memset(la, 0, sizeof(*la));
	if (len >= sizeof(la->text)) {
		snprintf(head, sizeof(head), "%.32s...", text);
		return listen_error(err, errlen, head, "too long (%zu bytes, "
		    "at most %zu)", len, sizeof(la->text) - 1);
	}
	memcpy(la->text, text, len + 1);

	if (text[0] == '\0')
		return listen_error(err, errlen, text, "empty address");
	if (strncmp(text, "unix:", 5) == 0)
		return listen_unix(text + 5, la, err, errlen);
	if (text[0] == '/' ||
	    (strchr(text, ':') == NULL && strchr(text, '/') != NULL))
		return listen_unix(text, la, err, errlen);
	if (text[0] == '[')
		return listen_inet6(la, err, errlen);
	return listen_inet(la, err, errlen);
}

/*
 * Two listen addresses that cannot both be bound: the same socket path,
 * or the same port of one family where the addresses are equal or either
 * is the wildcard.
 */
bool
listen_addr_conflict(const struct listen_addr *a, const struct listen_addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->kind != b->kind)
		return false;
	if (a->kind == LISTEN_UNIX)
		return strcmp(a->path, b->path) == 0;
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		if (a4->sin_port != b4->sin_port)
			return false;
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr ||
		    a4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    b4->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	a6 = (const struct sockaddr_in6 *)&a->ss;
	b6 = (const struct sockaddr_in6 *)&b->ss;
	if (a6->sin6_port != b6->sin6_port)
		return false;
	return IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
	    IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr);
}

/* The very same address, as parsed: one socket serves both. */
bool
listen_addr_same(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->kind == b->kind && a->sslen == b->sslen &&
	    memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

/* A TCP address on every interface: "*:port", "0.0.0.0:port", "[::]". */
bool
listen_addr_wildcard(const struct listen_addr *la)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (la->kind != LISTEN_TCP)
		return false;
	if (la->ss.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&la->ss;
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	sin6 = (const struct sockaddr_in6 *)&la->ss;
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}
