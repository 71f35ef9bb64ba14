/*
 * The listen queue of a pool's socket, as the kernel counts it: the
 * connections waiting to be accepted, and the backlog.  A TCP socket says
 * it in TCP_INFO.  A unix socket, the usual way behind nginx, says it only
 * through the sock_diag netlink interface (what ss -xl shows as Recv-Q
 * and Send-Q), which finds the socket by its inode.  Display only: the
 * process manager learns that connections wait by polling the socket.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define DIAG_NOCOOKIE	(~0U)	/* inet_diag.h: no cookie to check */

static bool
tcp_queue(int fd, long *len, long *max)
{
	struct tcp_info	 ti;
	socklen_t	 tilen = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tilen) == -1)
		return false;
	/* For a listening socket these two fields hold the queue. */
	*len = (long)ti.tcpi_unacked;
	*max = (long)ti.tcpi_sacked;
	return true;
}

/* Find UNIX_DIAG_RQLEN in one sock_diag answer. */
static bool
rqlen_of(const struct nlmsghdr *nlh, long *len, long *max)
{
	const struct unix_diag_msg	*m = NLMSG_DATA(nlh);
	const struct rtattr		*rta;
	struct unix_diag_rqlen		 rq;
	int				 left;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return false;
	left = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	rta = (const struct rtattr *)((const char *)m +
	    NLMSG_ALIGN(sizeof(*m)));
	for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		if (rta->rta_type != UNIX_DIAG_RQLEN ||
		    RTA_PAYLOAD(rta) < sizeof(rq))
			continue;
		memcpy(&rq, RTA_DATA(rta), sizeof(rq));
		*len = (long)rq.udiag_rqueue;
		*max = (long)rq.udiag_wqueue;
		return true;
	}
	return false;
}

static bool
unix_queue(int fd, long *len, long *max)
{
	struct {
		struct nlmsghdr		nlh;
		struct unix_diag_req	req;
	} q;
	union {
		struct nlmsghdr		nlh;
		char			buf[1024];
	} a;
	struct stat	 st;
	ssize_t		 n;
	bool		 ok = false;
	int		 nl;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return false;
	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return false;
	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = 1U << TCP_LISTEN;
	q.req.udiag_ino = (uint32_t)st.st_ino;
	q.req.udiag_show = UDIAG_SHOW_RQLEN;
	q.req.udiag_cookie[0] = q.req.udiag_cookie[1] = DIAG_NOCOOKIE;
	if (send(nl, &q, sizeof(q), 0) == (ssize_t)sizeof(q)) {
		do
			n = recv(nl, &a, sizeof(a), 0);
		while (n == -1 && errno == EINTR);
		/* One answer, or NLMSG_ERROR (no unix_diag, no such inode). */
		ok = n > 0 && NLMSG_OK(&a.nlh, (unsigned int)n) &&
		    rqlen_of(&a.nlh, len, max);
	}
	close(nl);
	return ok;
}

/*
 * The connections waiting in listen socket fd's queue, into *len, and its
 * backlog, into *max; -1 for what the kernel does not say.
 */
void
listen_queue(int fd, long *len, long *max)
{
	*len = *max = -1;
	/* Each writes *len and *max only when the kernel answered. */
	if (fd != -1 && !tcp_queue(fd, len, max))
		(void)unix_queue(fd, len, max);
}
