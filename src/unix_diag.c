/*
 * Questions to the kernel about a unix socket of ours, through the
 * sock_diag netlink interface (what ss -x shows): the socket is found by
 * the inode of its descriptor, and the answer carries the attributes
 * asked for.  listen_queue.c reads the listen queue this way, sock.c the
 * file a socket is bound to.
 *
 * The kernel answers a request for one socket while it handles the send,
 * so the answer is already queued when send returns: the receive does
 * not wait (MSG_DONTWAIT), and the master never blocks here.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

#define DIAG_NOCOOKIE	(~0U)	/* inet_diag.h: no cookie to check */

/*
 * Copy attribute type of one sock_diag answer (msg, len bytes as
 * received) to out, whose outlen bytes it must fill.  ENOENT when the
 * answer lacks it (a socket bound to no file has no UNIX_DIAG_VFS), the
 * kernel's error when the answer is one.
 */
int
unix_diag_attr(const void *msg, size_t len, unsigned short type, void *out,
    size_t outlen)
{
	const struct nlmsghdr		*nlh = msg;
	const struct unix_diag_msg	*m;
	const struct nlmsgerr		*e;
	const struct rtattr		*rta;
	int				 left;

	if (len < sizeof(*nlh) || len > UINT_MAX ||
	    !NLMSG_OK(nlh, (unsigned int)len))
		goto bad;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			goto bad;
		e = NLMSG_DATA(nlh);
		errno = e->error < 0 ? -e->error : EPROTO;
		return -1;
	}
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		goto bad;
	m = NLMSG_DATA(nlh);
	left = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	rta = (const struct rtattr *)((const char *)m +
	    NLMSG_ALIGN(sizeof(*m)));
	for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
		if (rta->rta_type != type)
			continue;
		if (RTA_PAYLOAD(rta) < outlen)
			goto bad;
		memcpy(out, RTA_DATA(rta), outlen);
		return 0;
	}
	errno = ENOENT;
	return -1;
bad:
	errno = EPROTO;
	return -1;
}

/*
 * Ask the kernel about unix socket fd with the UDIAG_SHOW_* bits show and
 * copy attribute type of the answer to out (outlen bytes).  -1 with errno
 * set, logging nothing: callers decide whether it matters.
 */
int
unix_diag_query(int fd, unsigned int show, unsigned short type, void *out,
    size_t outlen)
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
	int		 nl, rc = -1, saved_errno;

	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = ENOTSOCK;
		return -1;
	}
	if ((nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.req.sdiag_family = AF_UNIX;
	q.req.udiag_states = ~0U;	/* one socket, whatever its state */
	q.req.udiag_ino = (uint32_t)st.st_ino;
	q.req.udiag_show = show;
	q.req.udiag_cookie[0] = q.req.udiag_cookie[1] = DIAG_NOCOOKIE;
	if ((n = send(nl, &q, sizeof(q), 0)) == (ssize_t)sizeof(q)) {
		n = recv(nl, &a, sizeof(a), MSG_DONTWAIT);
		/* One answer, or NLMSG_ERROR (no unix_diag, no such inode). */
		if (n > 0)
			rc = unix_diag_attr(&a, (size_t)n, type, out, outlen);
		else if (n == 0)
			errno = EPROTO;
	} else if (n != -1)
		errno = EPROTO;
	saved_errno = errno;
	close(nl);
	errno = saved_errno;
	return rc;
}

/*
 * A device number as sock_diag gives it (UNIX_DIAG_VFS: the kernel's
 * own dev_t, 12 bits of major above 20 of minor), as stat(2) gives it.
 */
dev_t
unix_diag_dev(uint32_t kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffffU);
}

/*
 * The file unix socket fd is bound to, as the kernel knows it: its device
 * into *dev and its inode number into *ino.  The kernel says only the
 * low 32 bits of the inode number.  ENOENT: bound to no file.
 */
int
unix_diag_vfs(int fd, dev_t *dev, uint32_t *ino)
{
	struct unix_diag_vfs	 v;

	if (unix_diag_query(fd, UDIAG_SHOW_VFS, UNIX_DIAG_VFS, &v,
	    sizeof(v)) == -1)
		return -1;
	*dev = unix_diag_dev(v.udiag_vfs_dev);
	*ino = v.udiag_vfs_ino;
	return 0;
}
