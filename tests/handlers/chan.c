/*
 * chan: a test handler that talks to the master on the worker's channel,
 * as a module an attacker controls could: the channel is the worker's
 * one SOCK_SEQPACKET descriptor.  pooled's worker code sends READY and
 * RETIRE there and nothing else.
 *
 * With the module option "retire_in_init", process_init asks to be
 * replaced (RETIRE, max_requests) before the worker is ready, so that
 * every replacement asks again.  A request whose query string is "junk"
 * sends 1000 messages of a type the master does not know, "short" one
 * datagram of 3 bytes, shorter than any message, "ready" 1000 READY
 * messages, "retire" 1000 RETIRE (max_requests), and "close" closes the
 * worker's end of the channel; every request answers "chan".
 */
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <pooled.h>

#define CHAN_TYPE_READY		1	/* src/pooled.h: enum chan_type */
#define CHAN_TYPE_RETIRE	5
#define RETIRE_MAX_REQUESTS	1

static int
chan_fd(void)
{
	socklen_t	 len;
	int		 fd, type;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    type == SOCK_SEQPACKET)
			return fd;
	}
	return -1;
}

/* One message: {type, len = 4, value}. */
static void
chan_say(uint32_t type, uint32_t value)
{
	uint32_t	 msg[3] = { type, sizeof(value), value };
	int		 fd;

	if ((fd = chan_fd()) != -1)
		(void)send(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int
chan_process_init(void)
{
	if (pooled_option("retire_in_init") != NULL)
		chan_say(CHAN_TYPE_RETIRE, RETIRE_MAX_REQUESTS);
	return 0;
}

static int
chan_handle(struct pooled_req *req)
{
	const char	*q = pooled_req_param(req, "QUERY_STRING");
	int		 i, fd;

	if (q != NULL && strcmp(q, "junk") == 0)
		for (i = 0; i < 1000; i++)
			chan_say(99, 0);
	if (q != NULL && strcmp(q, "short") == 0 && (fd = chan_fd()) != -1)
		(void)send(fd, "abc", 3, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (q != NULL && strcmp(q, "close") == 0 && (fd = chan_fd()) != -1)
		(void)close(fd);
	if (q != NULL && strcmp(q, "ready") == 0 && (fd = chan_fd()) != -1) {
		uint32_t ready[2] = { CHAN_TYPE_READY, 0 };

		for (i = 0; i < 1000; i++)
			(void)send(fd, ready, sizeof(ready), MSG_DONTWAIT |
			    MSG_NOSIGNAL);
	}
	if (q != NULL && strcmp(q, "retire") == 0)
		for (i = 0; i < 1000; i++)
			chan_say(CHAN_TYPE_RETIRE, RETIRE_MAX_REQUESTS);
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\nchan\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = chan_process_init,
	.handle = chan_handle,
};
