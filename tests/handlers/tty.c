/*
 * tty: a test handler that looks for the terminal pooled was started
 * from, as a module an attacker controls would: with a controlling
 * terminal (/dev/tty opens) or a terminal descriptor it may read, code of
 * the pool's user could push input into root's shell (TIOCSTI) or read
 * what is typed there.
 *
 * When it is loaded (its constructor, which runs at `pooled -t` too) and
 * in process_init it writes one line to stderr:
 *
 *	tty-report load pid 1234: ctty no; readable terminal fds: none
 *
 * A worker that left the terminal behind reports "ctty no" and "none".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <pooled.h>

static void
report(const char *when)
{
	char	 fds[32] = "";
	size_t	 off = 0;
	int	 fd, fl, ctty;

	if ((ctty = open("/dev/tty", O_RDONLY | O_NOCTTY)) != -1)
		close(ctty);
	for (fd = 0; fd <= 2; fd++) {
		if (!isatty(fd) || (fl = fcntl(fd, F_GETFL)) == -1 ||
		    (fl & O_ACCMODE) == O_WRONLY)
			continue;
		off += (size_t)snprintf(fds + off, sizeof(fds) - off, "%s%d",
		    off > 0 ? " " : "", fd);
	}
	dprintf(STDERR_FILENO, "tty-report %s pid %ld: ctty %s; readable "
	    "terminal fds: %s\n", when, (long)getpid(), ctty != -1 ? "yes" :
	    "no", off > 0 ? fds : "none");
}

__attribute__((constructor)) static void
tty_load(void)
{
	report("load");
}

static int
tty_process_init(void)
{
	report("init");
	return 0;
}

static int
tty_handle(struct pooled_req *req)
{
	return pooled_req_printf(req, "Status: 200 OK\r\n"
	    "Content-Type: text/plain\r\n\r\ntty\n");
}

const struct pooled_handler pooled_handler_v1 = {
	.abi_version = POOLED_ABI_VERSION,
	.process_init = tty_process_init,
	.handle = tty_handle,
};
