/*
 * hello_fcgi: the peer of pooled's hello module as a classic libfcgi
 * program, single-threaded: one FCGX_Accept_r loop on the listen socket
 * it inherits as fd 0 (spawn-fcgi starts it, -F N for N processes).
 * It answers exactly the bytes contrib/modules/hello.c writes with its
 * default greeting.
 *
 *	cc -O2 hello_fcgi.c -o hello_fcgi -lfcgi
 */
#include <stdlib.h>

#include <fcgiapp.h>

#include "hello_response.h"

int
main(void)
{
	FCGX_Request	 req;

	if (FCGX_Init() != 0)
		return EXIT_FAILURE;
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return EXIT_FAILURE;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(HELLO_RESPONSE, sizeof(HELLO_RESPONSE) - 1,
		    req.out);
		FCGX_Finish_r(&req);
	}
	return EXIT_SUCCESS;
}
