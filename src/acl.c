/*
 * Client lists: which peers may talk to a TCP listener ("allowed_clients",
 * "status_allowed_clients").  Entries are addresses or CIDR ranges, IPv4
 * or IPv6, written "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8", or
 * "any".  An IPv4 peer that reaches an IPv6 socket as ::ffff:a.b.c.d is
 * matched as the IPv4 address it is, so one list serves both families.
 * Parsing happens in the master at config load; matching in whichever
 * process accepts, on every connection, so it only compares bytes.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

#define ACL_MAX_ENTRIES	1024

static const uint8_t	 v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * Bring an entry to the form acl_allows compares: the bits past the
 * prefix cleared, and an IPv4 address written v4-mapped
 * ("::ffff:10.0.0.0/104") turned into the IPv4 entry it means, since a
 * v4-mapped peer is matched as IPv4 (kept IPv6, it never matched).
 */
static void
canonical(struct client_net *n)
{
	unsigned int	 i, bits;

	if (n->family == AF_INET6 && n->prefix >= 96 &&
	    memcmp(n->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(n->addr, n->addr + sizeof(v4mapped), 4);
		memset(n->addr + 4, 0, sizeof(n->addr) - 4);
		n->family = AF_INET;
		n->prefix -= 96;
	}
	for (i = 0; i < sizeof(n->addr); i++) {
		bits = n->prefix > i * 8 ? n->prefix - i * 8 : 0;
		if (bits < 8)
			n->addr[i] &= (uint8_t)(0xff << (8 - bits));
	}
}

/* Parse one "addr" or "addr/prefix" into n; -1 with err filled. */
static int
parse_net(const char *s, size_t len, struct client_net *n, char *err,
    size_t errlen)
{
	char		 host[INET6_ADDRSTRLEN + 8];
	const char	*slash;
	unsigned long	 prefix;
	char		*end;
	unsigned int	 max;

	if (len >= sizeof(host)) {
		snprintf(err, errlen, "\"%.*s\": not an address", (int)len, s);
		return -1;
	}
	memcpy(host, s, len);
	host[len] = '\0';
	memset(n, 0, sizeof(*n));
	if ((slash = strchr(host, '/')) != NULL)
		host[slash - host] = '\0';
	if (inet_pton(AF_INET, host, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		snprintf(err, errlen, "\"%s\": not an IPv4 or IPv6 address "
		    "(host names are not looked up)", host);
		return -1;
	}
	n->prefix = max;
	if (slash != NULL) {
		slash = s + (slash - host) + 1;
		if (*slash < '0' || *slash > '9' ||
		    (prefix = strtoul(slash, &end, 10)) > max ||
		    end != s + len) {
			snprintf(err, errlen, "\"%.*s\": invalid prefix length "
			    "(0..%u)", (int)len, s, max);
			return -1;
		}
		n->prefix = (unsigned int)prefix;
	}
	canonical(n);
	return 0;
}

/*
 * Add the entries of text to acl: addresses and ranges separated by
 * commas or blanks, or "any".  Returns 0, or -1 with err filled.
 */
int
acl_parse(const char *text, struct client_acl *acl, char *err,
    size_t errlen)
{
	struct client_net	 n, *v;
	const char		*p = text;
	size_t			 len;
	bool			 none = true;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		none = false;
		if (len == 3 && strncmp(p, "any", 3) == 0) {
			acl->any = true;
			p += len;
			continue;
		}
		if (parse_net(p, len, &n, err, errlen) == -1)
			return -1;
		if (acl->n >= ACL_MAX_ENTRIES) {
			snprintf(err, errlen, "more than %d entries",
			    ACL_MAX_ENTRIES);
			return -1;
		}
		if ((v = realloc(acl->v, (acl->n + 1) * sizeof(*v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		acl->v = v;
		acl->v[acl->n++] = n;
		p += len;
	}
	if (none) {
		snprintf(err, errlen, "empty entry");
		return -1;
	}
	return 0;
}

/* The default list of a TCP listener: the loopback addresses. */
void
acl_loopback(struct client_acl *acl)
{
	char	 err[128];

	acl_free(acl);
	if (acl_parse("127.0.0.0/8, ::1", acl, err, sizeof(err)) == -1)
		fatalx("acl_loopback: %s", err);
}

/* Release what acl_parse added. */
void
acl_free(struct client_acl *acl)
{
	free(acl->v);
	memset(acl, 0, sizeof(*acl));
}

/* Whether the first prefix bits of a and b are equal. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int prefix)
{
	unsigned int	 whole = prefix / 8, rest = prefix % 8;
	uint8_t		 mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Whether acl lets the peer at sa (from accept) in. */
bool
acl_allows(const struct client_acl *acl, const struct sockaddr *sa,
    socklen_t salen)
{
	const uint8_t		*addr;
	sa_family_t		 family;
	size_t			 i;

	if (acl->any)
		return true;
	if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
		family = AF_INET;
		addr = (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6 &&
	    salen >= sizeof(struct sockaddr_in6)) {
		family = AF_INET6;
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr.s6_addr;
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
			family = AF_INET;
			addr += sizeof(v4mapped);
		}
	} else
		return false;
	for (i = 0; i < acl->n; i++)
		if (acl->v[i].family == family &&
		    prefix_equal(acl->v[i].addr, addr, acl->v[i].prefix))
			return true;
	return false;
}

/* "127.0.0.0/8, ::1" or "any", for logs; at most len bytes. */
void
acl_describe(const struct client_acl *acl, char *buf, size_t len)
{
	char	 host[INET6_ADDRSTRLEN];
	size_t	 i, off = 0;
	int	 n;

	buf[0] = '\0';
	if (acl->any) {
		snprintf(buf, len, "any");
		return;
	}
	for (i = 0; i < acl->n && off < len; i++) {
		inet_ntop(acl->v[i].family, acl->v[i].addr, host,
		    sizeof(host));
		if (acl->v[i].prefix == (acl->v[i].family == AF_INET ? 32 :
		    128))
			n = snprintf(buf + off, len - off, "%s%s",
			    i > 0 ? ", " : "", host);
		else
			n = snprintf(buf + off, len - off, "%s%s/%u",
			    i > 0 ? ", " : "", host, acl->v[i].prefix);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/*
 * At start and at -t: a TCP listener on every interface ("*:9000",
 * "[::]:9000") whose client list is the default serves loopback only,
 * which is rarely what whoever wrote "*" meant; say so, once per address.
 */
void
acl_warn_wildcard(const struct conf *conf)
{
	const struct pool_conf	*pc;
	size_t			 i;

	for (i = 0; i < conf->npools; i++) {
		pc = &conf->pools[i];
		if (pc->listen.kind == LISTEN_TCP && !pc->allowed_clients_set &&
		    listen_addr_wildcard(&pc->listen))
			log_msg(POOLED_LOG_WARNING, "%s:%d: pool \"%s\": "
			    "listens on all interfaces (%s) but only loopback "
			    "clients are accepted: allowed_clients defaults to "
			    "127.0.0.0/8, ::1; set allowed_clients", pc->file,
			    pc->line, pc->name, pc->listen.text);
	}
	if (conf->has_status_listen &&
	    conf->status_listen.kind == LISTEN_TCP &&
	    !conf->status_allowed_clients_set &&
	    listen_addr_wildcard(&conf->status_listen))
		log_msg(POOLED_LOG_WARNING, "%s: status_listen listens on "
		    "all interfaces (%s) but only loopback clients are "
		    "accepted: status_allowed_clients defaults to "
		    "127.0.0.0/8, ::1; set status_allowed_clients", conf->path,
		    conf->status_listen.text);
}
