/*
 * The channel between the master and one worker: a SOCK_SEQPACKET
 * socketpair carrying one message per datagram, a {type, len} header and a
 * bounded payload.  The master knows who sent a message by the channel it
 * arrived on, never by its contents, and checks every field it reads.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pooled.h"

#define CHAN_HEADER	(2 * sizeof(uint32_t))

/* Create a channel; fds[0] is the master's end, fds[1] the worker's. */
int
chan_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == -1) {
		log_warn("chan_pair: socketpair");
		return -1;
	}
	return 0;
}

/*
 * Send one message without blocking, with descriptor passfd when it is
 * not -1: a worker that stops reading its channel (stopped, wedged, or
 * not yet reading during its start) must not freeze the master, whose
 * stops fall back to signals anyway.
 */
static int
send_one(int fd, enum chan_type type, const void *payload, size_t len,
    int passfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct chan_msg	 msg;
	struct iovec	 iov = { &msg, CHAN_HEADER + len };
	struct msghdr	 mh;
	ssize_t		 n;

	if (len > CHAN_MAX_PAYLOAD) {
		log_warnx("chan_send: payload of %zu bytes too long", len);
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.type = type;
	msg.len = (uint32_t)len;
	if (len > 0)
		memcpy(msg.payload, payload, len);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (passfd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.hdr.cmsg_level = SOL_SOCKET;
		cm.hdr.cmsg_type = SCM_RIGHTS;
		cm.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.hdr), &passfd, sizeof(int));
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		log_warn("chan_send: type %d", (int)type);
		return -1;
	}
	return 0;
}

/* Send one message without blocking (see send_one). */
int
chan_send(int fd, enum chan_type type, const void *payload, size_t len)
{
	return send_one(fd, type, payload, len, -1);
}

/*
 * Receive one message.  Sets *eof when the peer closed its end.  A message
 * whose length field disagrees with the datagram size is rejected with
 * errno EPROTO; none waiting is EAGAIN.
 */
int
chan_recv(int fd, struct chan_msg *msg, bool *eof)
{
	ssize_t	 n;

	*eof = false;
	do {
		n = recv(fd, msg, sizeof(*msg), MSG_DONTWAIT | MSG_TRUNC);
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		*eof = true;
		return -1;
	}
	if (n == -1) {
		if (errno == ECONNRESET)
			*eof = true;
		else if (errno != EAGAIN)
			log_warn("chan_recv");
		return -1;
	}
	if ((size_t)n < CHAN_HEADER || (size_t)n > sizeof(*msg)) {
		log_warnx("chan_recv: message of %zd bytes", n);
		errno = EPROTO;
		return -1;
	}
	if (msg->len > CHAN_MAX_PAYLOAD || msg->len != (size_t)n - CHAN_HEADER) {
		log_warnx("chan_recv: bad length field %u", msg->len);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * Send one message carrying descriptor passfd (SCM_RIGHTS): the log the
 * master reopened, which a worker, no longer root, could not open itself.
 */
int
chan_send_fd(int fd, enum chan_type type, int passfd)
{
	return send_one(fd, type, NULL, 0, passfd);
}

/*
 * Receive one message, and the descriptor it may carry into *passfd (-1
 * when none; close-on-exec).  For the worker's end only: the master never
 * takes descriptors from a worker (chan_recv drops any).
 */
int
chan_recv_fd(int fd, struct chan_msg *msg, bool *eof, int *passfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec	 iov = { msg, sizeof(*msg) };
	struct msghdr	 mh;
	struct cmsghdr	*c;
	ssize_t		 n;

	*eof = false;
	*passfd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		*eof = true;
		return -1;
	}
	if (n == -1) {
		if (errno == EAGAIN)
			return -1;
		/*
		 * Any other error leaves a channel the worker cannot read
		 * again (a module closed it, or put another file at its
		 * number): the master is as good as gone.  Polled, such a
		 * descriptor is always "ready", so anything but eof spins
		 * the worker, a log line a turn.
		 */
		if (errno != ECONNRESET)
			log_warn("chan_recv_fd: the channel to the master is "
			    "broken");
		*eof = true;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && *passfd == -1)
			memcpy(passfd, CMSG_DATA(c), sizeof(int));
	if ((size_t)n < CHAN_HEADER || (mh.msg_flags & MSG_TRUNC) ||
	    msg->len > CHAN_MAX_PAYLOAD ||
	    msg->len != (size_t)n - CHAN_HEADER) {
		log_warnx("chan_recv_fd: malformed message of %zd bytes", n);
		if (*passfd != -1)
			close(*passfd);
		*passfd = -1;
		return -1;
	}
	return 0;
}
