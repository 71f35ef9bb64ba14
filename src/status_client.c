/*
 * `pooled -s`: ask a running pooled for its status, on the status_listen
 * address of its config file, and print it.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define STATUS_CLIENT_TIMEOUT	5	/* seconds per read and write */
#define STATUS_CLIENT_MAX	(16 * 1024 * 1024)

/* Read the whole answer into a malloc'd buffer; NULL on error. */
static char *
read_all(int fd, size_t *len)
{
	char	*buf = NULL, *p;
	size_t	 cap = 0;
	ssize_t	 n;

	*len = 0;
	for (;;) {
		if (cap - *len < 4096) {
			if (cap >= STATUS_CLIENT_MAX ||
			    (p = realloc(buf, cap + 65536 + 1)) == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
			cap += 65536;
		}
		if ((n = read(fd, buf + *len, cap - *len)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return buf;
}

/*
 * Print the status of the pooled whose status_listen is la (query:
 * "json", "full", "openmetrics"..., or NULL; pool: one pool's name, or
 * NULL).  Returns the exit code: 0, or 1 with the reason on stderr.
 */
int
status_client(const struct listen_addr *la, const char *pool,
    const char *query)
{
	struct timeval			 tv = { STATUS_CLIENT_TIMEOUT, 0 };
	char				*req = NULL, *ans, *body;
	size_t				 len;
	int				 fd, n, code;

	if ((fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (const struct sockaddr *)&la->ss, la->sslen) == -1) {
		fprintf(stderr, "pooled: status_listen %s: %s (is pooled "
		    "running?)\n", la->text, strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	n = asprintf(&req, "GET /%s%s%s HTTP/1.0\r\nHost: pooled\r\n\r\n",
	    pool != NULL ? pool : "", query != NULL ? "?" : "",
	    query != NULL ? query : "");
	if (n < 0 || write(fd, req, (size_t)n) != n ||
	    (ans = read_all(fd, &len)) == NULL) {
		fprintf(stderr, "pooled: status_listen %s: %s\n", la->text,
		    n < 0 ? "out of memory" : strerror(errno));
		free(req);
		close(fd);
		return 1;
	}
	free(req);
	close(fd);
	if (sscanf(ans, "HTTP/1.%*d %d", &code) != 1 ||
	    (body = strstr(ans, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "pooled: status_listen %s: not an HTTP "
		    "answer\n", la->text);
		free(ans);
		return 1;
	}
	body += 4;
	fwrite(body, 1, len - (size_t)(body - ans), code == 200 ? stdout :
	    stderr);
	free(ans);
	return code == 200 ? 0 : 1;
}
