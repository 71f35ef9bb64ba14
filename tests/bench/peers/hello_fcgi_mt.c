/*
 * hello_fcgi_mt: hello_fcgi with N threads (argv[1], default 8) in one
 * process, each running FCGX_Accept_r on the shared listen socket (fd 0,
 * from spawn-fcgi -n), following libfcgi's examples/threaded.c: a mutex
 * around FCGX_Accept_r, which also finishes the previous request.
 *
 *	cc -O2 -pthread hello_fcgi_mt.c -o hello_fcgi_mt -lfcgi
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <fcgiapp.h>

#include "hello_response.h"

#define MAX_THREADS	1024

static pthread_mutex_t	accept_mutex = PTHREAD_MUTEX_INITIALIZER;

static void *
serve(void *arg)
{
	FCGX_Request	 req;
	int		 rc;

	(void)arg;
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&accept_mutex);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_mutex);
		if (rc < 0)
			break;
		FCGX_PutStr(HELLO_RESPONSE, sizeof(HELLO_RESPONSE) - 1,
		    req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	pthread_t	 tid[MAX_THREADS];
	int		 i, n = 8;

	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: hello_fcgi_mt [threads 1-%d]\n",
		    MAX_THREADS);
		return EXIT_FAILURE;
	}
	if (FCGX_Init() != 0)
		return EXIT_FAILURE;
	for (i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, serve, NULL) != 0) {
			fprintf(stderr, "hello_fcgi_mt: pthread_create\n");
			return EXIT_FAILURE;
		}
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return EXIT_SUCCESS;
}
