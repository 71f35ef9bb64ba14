/*
 * The listen queue of a pool's socket, as the kernel counts it: the
 * connections waiting to be accepted, and the backlog.  A TCP socket says
 * it in TCP_INFO.  A unix socket, the usual way behind nginx, says it only
 * through the sock_diag netlink interface (what ss -xl shows as Recv-Q
 * and Send-Q; unix_diag.c asks).  Display only: the process manager
 * learns that connections wait by polling the socket.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/unix_diag.h>

#include "pooled.h"

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

static bool
unix_queue(int fd, long *len, long *max)
{
	struct unix_diag_rqlen	 rq;

	if (unix_diag_query(fd, UDIAG_SHOW_RQLEN, UNIX_DIAG_RQLEN, &rq,
	    sizeof(rq)) == -1)
		return false;
	*len = (long)rq.udiag_rqueue;
	*max = (long)rq.udiag_wqueue;
	return true;
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
