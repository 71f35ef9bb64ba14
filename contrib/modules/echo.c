/*
 * echo: shows what pooled hands a module.
 *
 * By default it answers text/plain with every request parameter as a
 * "NAME=VALUE" line, then "body-bytes: N" for the length of the request
 * body, which it reads and discards.
 *
 * When the query string contains "raw" it instead sends the request body
 * back byte for byte as application/octet-stream.
 *
 * Both read the whole body before writing a byte of the answer: nginx
 * stops sending the request body once the response has begun, so a
 * handler that answers while the body is still arriving waits for bytes
 * that never come.  To keep a large upload out of memory, raw mode
 * spools it to an unlinked temporary file and sends it back from there.
 */
#define _POSIX_C_SOURCE	200809L

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pooled.h>

#define ECHO_CHUNK	16384
#define ECHO_SPOOL	"/tmp/pooled-echo.XXXXXX"

/* Write all of buf to fd. */
static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copy the request body into a new unlinked file; its fd, or -1. */
static int
spool_body(struct pooled_req *req, off_t *total)
{
	char	 buf[ECHO_CHUNK], path[] = ECHO_SPOOL;
	ssize_t	 n;
	int	 fd;

	if ((fd = mkstemp(path)) == -1) {
		pooled_req_log(req, POOLED_LOG_ERROR, "echo: mkstemp %s: %s",
		    path, strerror(errno));
		return -1;
	}
	(void)unlink(path);
	/* POSIX has no mkostemp(); nothing in this process execs meanwhile. */
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	*total = 0;
	while ((n = pooled_req_read(req, buf, sizeof(buf))) > 0) {
		if (write_all(fd, buf, (size_t)n) == -1) {
			pooled_req_log(req, POOLED_LOG_ERROR,
			    "echo: spool: %s", strerror(errno));
			goto fail;
		}
		*total += n;
	}
	if (n == -1 || lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int
echo_raw(struct pooled_req *req)
{
	char	 buf[ECHO_CHUNK];
	off_t	 total;
	ssize_t	 n;
	int	 fd, rv = -1;

	if ((fd = spool_body(req, &total)) == -1)
		return -1;
	if (pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %lld\r\n\r\n", (long long)total) == -1)
		goto done;
	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			pooled_req_log(req, POOLED_LOG_ERROR,
			    "echo: spool: %s", strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (pooled_req_write(req, buf, (size_t)n) == -1)
			goto done;
	}
	rv = 0;
done:
	close(fd);
	return rv;
}

static int
echo_params(struct pooled_req *req)
{
	char		 buf[ECHO_CHUNK];
	const char	*name, *value;
	size_t		 iter = 0;
	long long	 total = 0;
	ssize_t		 n;

	while ((n = pooled_req_read(req, buf, sizeof(buf))) > 0)
		total += n;
	if (n == -1)
		return -1;

	if (pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\n") == -1)
		return -1;
	while (pooled_req_param_next(req, &iter, &name, &value))
		if (pooled_req_printf(req, "%s=%s\n", name, value) == -1)
			return -1;
	return pooled_req_printf(req, "body-bytes: %lld\n", total);
}

static int
echo_handle(struct pooled_req *req)
{
	const char	*query;

	query = pooled_req_param(req, "QUERY_STRING");
	if (query != NULL && strstr(query, "raw") != NULL)
		return echo_raw(req);
	return echo_params(req);
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.handle = echo_handle,
};
