/*
 * Repeated lines about one peer, aggregated: the first line of a burst is
 * written as it is, the ones that follow within the pool's
 * log_repeat_window (10 s by default; 0 writes every line) are only
 * counted, and one line then says "N more like this from PEER in the
 * last S s" (syslog's "last message repeated").  A client that sends
 * thousands of malformed requests costs a few lines, not thousands.
 *
 * The table of peers has a fixed size: a new peer takes a free slot or
 * the oldest one whose window is over (its count is written first, so
 * every line is accounted for); when every slot is in its window, as
 * under a flood from many addresses, the line is counted under "other
 * peers", which is itself one more slot.  So at most two lines per slot
 * and window are written, however many peers there are.
 *
 * Acceptor threads call this on their error paths only, so one small
 * mutex around the table is enough; lines are formatted and written
 * after it is released.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pooled.h"

#define LOG_PEER_SLOTS		64
#define LOG_PEER_KEY		128	/* "unix:" and a socket path */

struct peer_slot {
	char		 key[LOG_PEER_KEY];
	bool		 used;
	int64_t		 since;		/* clock_ms of the line written */
	uint64_t	 more;		/* lines counted, not written, since */
	int		 level;
};

/* A count to write once the table's lock is released. */
struct peer_count {
	char		 key[LOG_PEER_KEY];
	int64_t		 ms;
	uint64_t	 more;
	int		 level;
};

static int64_t		 peer_window_ms = 10000; /* 0: every line */
static pthread_mutex_t	 peer_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct peer_slot	 peer_slots[LOG_PEER_SLOTS];
static struct peer_slot	 peer_other = { .key = "other peers" };

/* Aggregate over windows of seconds (log_repeat_window); 0: do not. */
void
log_peer_set_window(int seconds)
{
	peer_window_ms = seconds * 1000LL;
}

/* Take the count of e (which has one) into c and start it again. */
static void
take_count(struct peer_slot *e, int64_t now, struct peer_count *c)
{
	snprintf(c->key, sizeof(c->key), "%s", e->key);
	c->ms = now - e->since;
	c->more = e->more;
	c->level = e->level;
	e->more = 0;
}

static void
write_count(const struct peer_count *c)
{
	log_msg(c->level, "%" PRIu64 " more like this from %s in the last "
	    "%" PRId64 " s", c->more, c->key, (c->ms + 999) / 1000);
}

/*
 * The slot of key, or a slot for it: a free one, else the oldest whose
 * window is over (its count, if any, goes to *evicted), else the shared
 * one for other peers.
 */
static struct peer_slot *
find_slot(const char *key, int64_t now, struct peer_count *evicted)
{
	struct peer_slot	*e, *oldest = NULL;
	size_t			 i;

	for (i = 0; i < LOG_PEER_SLOTS; i++) {
		e = &peer_slots[i];
		if (e->used && strcmp(e->key, key) == 0)
			return e;
	}
	for (i = 0; i < LOG_PEER_SLOTS; i++) {
		e = &peer_slots[i];
		if (!e->used) {
			oldest = e;
			break;
		}
		if (now - e->since >= peer_window_ms &&
		    (oldest == NULL || e->since < oldest->since))
			oldest = e;
	}
	if (oldest == NULL)
		return &peer_other;
	if (oldest->used && oldest->more > 0)
		take_count(oldest, now, evicted);
	snprintf(oldest->key, sizeof(oldest->key), "%s", key);
	oldest->used = false;
	oldest->more = 0;
	return oldest;
}

/* Log a line about the peer named by key, within the limit above. */
void
log_peer(int level, const char *key, const char *fmt, ...)
{
	struct peer_count	 evicted = { .more = 0 }, done = { .more = 0 };
	struct peer_slot	*e;
	int64_t			 now = clock_ms();
	bool			 write_it = true;
	va_list			 ap;

	if (peer_window_ms == 0) {
		va_start(ap, fmt);
		log_vmsg(level, NULL, fmt, ap);
		va_end(ap);
		return;
	}
	pthread_mutex_lock(&peer_mtx);
	e = find_slot(key, now, &evicted);
	if (!e->used) {
		e->used = true;
		e->since = now;
		e->more = 0;
		e->level = level;
	} else if (now - e->since < peer_window_ms) {
		e->more++;
		write_it = false;
	} else {
		if (e->more > 0)
			take_count(e, now, &done);
		e->since = now;
		e->level = level;
	}
	pthread_mutex_unlock(&peer_mtx);
	if (evicted.more > 0)
		write_count(&evicted);
	if (done.more > 0)
		write_count(&done);
	if (write_it) {
		va_start(ap, fmt);
		log_vmsg(level, NULL, fmt, ap);
		va_end(ap);
	}
}

/*
 * From a worker's tick: write the counts of the windows that are over at
 * now (INT64_MAX: all of them, at exit), so a burst that ended is
 * accounted for without waiting for its peer's next line.
 */
void
log_peer_flush(int64_t now)
{
	struct peer_count	 c[LOG_PEER_SLOTS + 1];
	struct peer_slot	*e;
	size_t			 i, n = 0;
	int64_t			 t = clock_ms();

	if (pthread_mutex_trylock(&peer_mtx) != 0)
		return;		/* a thread is in there: next tick */
	for (i = 0; i <= LOG_PEER_SLOTS; i++) {
		e = i < LOG_PEER_SLOTS ? &peer_slots[i] : &peer_other;
		if (e->used && e->more > 0 &&
		    now - e->since >= peer_window_ms)
			take_count(e, now < t ? now : t, &c[n++]);
	}
	pthread_mutex_unlock(&peer_mtx);
	for (i = 0; i < n; i++)
		write_count(&c[i]);
}

/*
 * The key a connection's peer is counted under: its IP address without
 * the port (a new connection has a new port).  Every peer of a unix
 * socket is the web server, or someone allowed to connect as it, and its
 * pid says little (nginx has several workers, an attacker as many
 * processes as it likes), so they share one key: the socket's path.
 */
void
log_peer_key(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun;
	socklen_t		 sslen = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN];

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		snprintf(buf, len, "unknown peer");
		return;
	}
	if (ss.ss_family == AF_INET && inet_ntop(AF_INET,
	    &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host))) {
		snprintf(buf, len, "%s", host);
		return;
	}
	if (ss.ss_family == AF_INET6 && inet_ntop(AF_INET6,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host))) {
		snprintf(buf, len, "%s", host);
		return;
	}
	sslen = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	sun = (struct sockaddr_un *)&ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    ss.ss_family == AF_UNIX && sun->sun_path[0] != '\0')
		snprintf(buf, len, "unix:%.*s", (int)sizeof(sun->sun_path),
		    sun->sun_path);
	else
		snprintf(buf, len, "unix peer");
}

/* log_peer, keyed by the peer of the connection fd (log_peer_key). */
void
log_peer_fd(int level, int fd, const char *fmt, ...)
{
	char	 key[LOG_PEER_KEY];
	char	 line[1024];
	va_list	 ap;

	log_peer_key(fd, key, sizeof(key));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_peer(level, key, "%s", line);
}
