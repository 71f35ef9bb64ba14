/*
 * Signals in the master: each handler only writes its signal number to a
 * non-blocking self-pipe, saving errno.  The master loop polls the read end
 * and turns the bytes into flags (sig_drain), so no work ever happens in
 * signal context.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

static int	 sig_pipe[2] = { -1, -1 };

static const int master_signals[] = {
	SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD
};

static void
sig_handler(int signo)
{
	unsigned char	 b = (unsigned char)signo;
	int		 saved_errno = errno;

	(void)write(sig_pipe[1], &b, 1);
	errno = saved_errno;
}

/* Create the self-pipe and install the master's signal handlers. */
int
sig_init(void)
{
	struct sigaction	 sa;
	size_t			 i;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("sig_init: pipe2");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_handler;
	/* SA_RESTART: the master's only blocking call is poll(). */
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(master_signals) / sizeof(master_signals[0]);
	    i++) {
		if (sigaction(master_signals[i], &sa, NULL) == -1) {
			log_warn("sig_init: sigaction %d", master_signals[i]);
			return -1;
		}
	}
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

/* The read end of the self-pipe, for the master's poll set. */
int
sig_fd(void)
{
	return sig_pipe[0];
}

/* Read every pending signal number; return them as a SIG_BIT mask. */
uint32_t
sig_drain(void)
{
	unsigned char	 buf[64];
	uint32_t	 mask = 0;
	ssize_t		 n, i;

	for (;;) {
		n = read(sig_pipe[0], buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++)
			if (buf[i] < 32)
				mask |= SIG_BIT(buf[i]);
	}
	return mask;
}
