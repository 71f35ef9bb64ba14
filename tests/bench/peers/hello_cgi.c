/*
 * hello_cgi: pooled's hello module as a CGI program, the same bytes on
 * stdout.  Run per request by pooled's handler = "cgi" and by fcgiwrap,
 * and in a loop by spawn_rate.
 *
 *	cc -O2 hello_cgi.c -o hello.cgi
 */
#include <stdio.h>
#include <unistd.h>

#include "hello_response.h"

int
main(void)
{
	const char	*p = HELLO_RESPONSE;
	size_t		 left = sizeof(HELLO_RESPONSE) - 1;
	ssize_t		 n;

	while (left > 0) {
		if ((n = write(STDOUT_FILENO, p, left)) <= 0)
			return 1;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}
