/*
 * spawn_rate: how many times per second this machine can run a CGI
 * program the simplest way, the ceiling for any CGI server: posix_spawn
 * it with stdout on a pipe (stdin from /dev/null), read the pipe to EOF,
 * waitpid.  PARALLEL programs run at once (default 1); new ones start
 * until SECONDS have passed, then the last ones are collected.
 *
 *	spawn_rate PROGRAM SECONDS [PARALLEL]
 *
 * prints "runs N seconds S rate R" (R runs per second) on stdout.
 *
 *	cc -O2 spawn_rate.c -o spawn_rate
 */
#define _POSIX_C_SOURCE	200809L
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARALLEL	256

extern char	**environ;

struct run {
	pid_t	 pid;
	int	 fd;		/* read end of its stdout, -1 when idle */
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start PROGRAM with stdout on a new pipe whose read end goes to r. */
static int
start(struct run *r, char *const argv[])
{
	posix_spawn_file_actions_t	 fa;
	int				 p[2], rc;

	if (pipe2(p, O_CLOEXEC) == -1) {
		perror("spawn_rate: pipe2");
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	rc = posix_spawn(&r->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		fprintf(stderr, "spawn_rate: posix_spawn %s: %s\n", argv[0],
		    strerror(rc));
		close(p[0]);
		return -1;
	}
	r->fd = p[0];
	return 0;
}

int
main(int argc, char *argv[])
{
	struct run	 runs[MAX_PARALLEL];
	struct pollfd	 pfd[MAX_PARALLEL];
	char		 buf[4096], *prog[2];
	double		 t0, secs, elapsed;
	long		 done = 0;
	int		 i, n, par = 1, active = 0, status;
	ssize_t		 got;

	if (argc < 3 || (secs = atof(argv[2])) <= 0 ||
	    (argc > 3 && ((par = atoi(argv[3])) < 1 ||
	    par > MAX_PARALLEL))) {
		fprintf(stderr, "usage: spawn_rate PROGRAM SECONDS "
		    "[PARALLEL 1-%d]\n", MAX_PARALLEL);
		return 64;
	}
	prog[0] = argv[1];
	prog[1] = NULL;
	t0 = now();
	for (i = 0; i < par; i++) {
		if (start(&runs[i], prog) == -1)
			return 1;
		active++;
	}
	while (active > 0) {
		for (i = 0; i < par; i++) {
			pfd[i].fd = runs[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if ((n = poll(pfd, (nfds_t)par, 1000)) == -1) {
			if (errno == EINTR)
				continue;
			perror("spawn_rate: poll");
			return 1;
		}
		for (i = 0; i < par && n > 0; i++) {
			if (pfd[i].revents == 0)
				continue;
			n--;
			got = read(runs[i].fd, buf, sizeof(buf));
			if (got > 0 || (got == -1 && errno == EINTR))
				continue;
			close(runs[i].fd);
			runs[i].fd = -1;
			while (waitpid(runs[i].pid, &status, 0) == -1)
				if (errno != EINTR) {
					perror("spawn_rate: waitpid");
					return 1;
				}
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "spawn_rate: %s failed\n",
				    prog[0]);
				return 1;
			}
			done++;
			active--;
			if (now() - t0 < secs) {
				if (start(&runs[i], prog) == -1)
					return 1;
				active++;
			}
		}
	}
	elapsed = now() - t0;
	printf("runs %ld seconds %.3f rate %.1f\n", done, elapsed,
	    (double)done / elapsed);
	return 0;
}
