/*
 * The service manager's readiness protocol, sd_notify(3): one datagram
 * of "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET (a
 * path, or an abstract name written with a leading '@').  systemd
 * documents it as a stable interface, and it is a few lines, so pooled
 * speaks it itself rather than link libsystemd into a root daemon.
 * Without $NOTIFY_SOCKET every call does nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pooled.h"

/* Seconds between two STATUS= lines while serving. */
#define SD_STATUS_INTERVAL_MS	10000

static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;	/* 0: no service manager */
static bool			 reloading;
static int64_t			 status_due;
static int64_t			 status_last_ms;
static uint64_t			 status_last_requests;
static bool			 send_failing;	/* logged already */

/*
 * Take $NOTIFY_SOCKET and remove it from the environment, so that no
 * worker, module or CGI program inherits the way to the service manager.
 */
void
sd_notify_init(void)
{
	const char	*s = getenv("NOTIFY_SOCKET");
	size_t		 len;

	notify_len = 0;
	if (s == NULL)
		return;
	len = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || len < 2 ||
	    len >= sizeof(notify_sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%s\": neither an absolute path nor "
		    "an abstract name that fits a unix address; not "
		    "notifying the service manager", s);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, s, len);
	if (s[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract namespace */
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	unsetenv("NOTIFY_SOCKET");
}

/* Whether a service manager listens for notifications. */
bool
sd_notify_enabled(void)
{
	return notify_len != 0;
}

/*
 * Send one notification, "KEY=VALUE" lines, formatted as printf.  Never
 * blocks: a service manager that does not read (hung, or a socket nobody
 * serves) would otherwise stop the master in sendto once the socket's
 * queue is full, and with it every restart, reload and stop.  A
 * notification that cannot go is dropped; one line says so until one
 * goes again.
 */
void
sd_notify_send(const char *fmt, ...)
{
	char		 buf[512];
	va_list		 ap;
	int		 fd, n;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = (int)strlen(buf);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("sd_notify: socket");
		return;
	}
	if (sendto(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT,
	    (const struct sockaddr *)&notify_sun, notify_len) == -1) {
		if (!send_failing)
			log_warn("sd_notify: sendto NOTIFY_SOCKET (dropping "
			    "notifications until one goes)");
		send_failing = true;
	} else
		send_failing = false;
	close(fd);
}

/* Every pool serves: READY=1, with the first STATUS= line. */
void
sd_notify_ready(size_t workers)
{
	sd_notify_send("READY=1\nSTATUS=serving, %zu workers", workers);
	status_due = 0;
}

/*
 * A reload starts.  MONOTONIC_USEC lets systemd tell this reload from an
 * older one; the service counts as reloading until READY=1.
 */
void
sd_notify_reloading(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	reloading = true;
	sd_notify_send("RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\n"
	    "STATUS=reloading", (uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000);
}

/*
 * Called once per loop while serving: when a reload began and none is in
 * progress any more (it committed, aborted or never started), READY=1.
 */
void
sd_notify_reload_settled(bool in_progress, size_t workers)
{
	if (!reloading || in_progress)
		return;
	reloading = false;
	sd_notify_ready(workers);
}

/* The stop begins. */
void
sd_notify_stopping(void)
{
	sd_notify_send("STOPPING=1\nSTATUS=stopping");
}

/* Whether a STATUS= line is due at now (clock_ms). */
bool
sd_notify_status_due(int64_t now)
{
	return notify_len != 0 && now >= status_due;
}

/*
 * STATUS=: workers, requests accepted so far (display only, from the
 * scoreboard) and requests per second since the last line.
 */
void
sd_notify_status(int64_t now, size_t workers, uint64_t requests)
{
	double	 rate = 0;

	if (status_last_ms != 0 && now > status_last_ms &&
	    requests >= status_last_requests)
		rate = (double)(requests - status_last_requests) * 1000.0 /
		    (double)(now - status_last_ms);
	status_last_ms = now;
	status_last_requests = requests;
	status_due = now + SD_STATUS_INTERVAL_MS;
	sd_notify_send("STATUS=serving, %zu workers, %" PRIu64 " requests, "
	    "%.1f req/s", workers, requests, rate);
}
