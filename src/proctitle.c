/*
 * Process titles, as ps(1) and /proc/PID/cmdline show them:
 * "pooled: master process /etc/pooled/pooled.conf", "pooled: pool NAME
 * (generation N)".  Linux has no setproctitle(3), so, as nginx and
 * PHP-FPM do, the title is written over the memory of argv, extended
 * over the environment strings that follow it once they are copied
 * elsewhere.  The kernel reads the command line from that memory.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pooled.h"

extern char	**environ;

static char	*title_start;	/* argv[0] */
static size_t	 title_len;	/* bytes up to the end of the last string */

/*
 * Take over the memory of argv and the environment for titles: copy the
 * environment, and argv[0] for glibc's program_invocation_name, away
 * from it.  Call once, first thing in main, before anything keeps a
 * pointer into argv (getopt's optarg is one: copy what is kept).
 */
void
proctitle_init(int argc, char *argv[])
{
	char	*end, **env;
	size_t	 n, i;

	if (argc < 1 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	/* Only the strings that follow each other without a gap. */
	for (i = 1; i < (size_t)argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	for (n = 0; environ[n] != NULL; n++)
		;
	env = xcalloc(n + 1, sizeof(*env));
	for (i = 0; i < n; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		env[i] = xstrdup(environ[i]);
	}
	environ = env;
	program_invocation_name = xstrdup(program_invocation_name);
	program_invocation_short_name = xstrdup(
	    program_invocation_short_name);
	title_start = argv[0];
	title_len = (size_t)(end - argv[0]);
}

/* Show "pooled: " and the formatted text as this process's title. */
void
proctitle_set(const char *fmt, ...)
{
	char	 buf[512];
	size_t	 n;
	int	 len;
	va_list	 ap;

	if (title_start == NULL || title_len < 2)
		return;
	len = snprintf(buf, sizeof(buf), "pooled: ");
	va_start(ap, fmt);
	(void)vsnprintf(buf + len, sizeof(buf) - (size_t)len, fmt, ap);
	va_end(ap);
	n = strlen(buf);
	if (n > title_len - 1)
		n = title_len - 1;
	/*
	 * NUL after the title, as nginx pads: the kernel then shows the
	 * title alone, whether or not it reached the old argv's end.
	 */
	memcpy(title_start, buf, n);
	memset(title_start + n, '\0', title_len - n);
}
