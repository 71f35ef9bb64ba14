/*
 * pooled: command line, config test, daemonizing.  Policy lives in the
 * master; this file only gets it started.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pooled.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pooled [-Fhtv] [-c file]\n"
	    "       pooled -s [-c file | -S address] [pool] "
	    "[json|openmetrics|full...]\n"
	    "       pooled -k reload|stop|quit|reopen [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -F       stay in the foreground, log to stderr\n"
	    "  -k cmd   signal the running pooled (through pid_file)\n"
	    "  -s       print the status of the running pooled "
	    "(status_listen)\n"
	    "  -S addr  with -s: the status address, not the config's\n"
	    "  -t       test the configuration and the modules, then exit\n"
	    "  -v       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "signals: TERM/INT stop now, QUIT stop gracefully, HUP reload, "
	    "USR1 reopen logs\n", POOLED_DEFAULT_CONF);
}

/* Whether s is a status query: words json, openmetrics, full, by '&'. */
static bool
is_status_query(const char *s)
{
	size_t	 n;

	for (;;) {
		n = strcspn(s, "&");
		if (!((n == 4 && strncmp(s, "json", 4) == 0) ||
		    (n == 11 && strncmp(s, "openmetrics", 11) == 0) ||
		    (n == 4 && strncmp(s, "full", 4) == 0)))
			return false;
		if (s[n] == '\0')
			return true;
		s += n + 1;
	}
}

/*
 * Load each pool's module in a throwaway child, as a worker would, so
 * `pooled -t` reports a module that will not load (missing symbol, wrong
 * ABI, dlopen error) without loading user code into this process.
 */
static int
probe_modules(const struct conf *conf)
{
	size_t	 i;
	pid_t	 pid;
	int	 status, failed = 0;

	for (i = 0; i < conf->npools; i++) {
		const struct pool_conf *pc = &conf->pools[i];

		if (pc->handler != HANDLER_MODULE)
			continue;
		if ((pid = fork()) == -1) {
			log_warn("fork");
			return -1;
		}
		if (pid == 0) {
			/* As its workers will: no module code runs as root. */
			if (privs_enter(pc) == -1)
				_exit(EX_CONFIG);
			pc = privs_view(pc);
			handler_so_set_options(pc);
			_exit(handler_so_open(pc) == NULL ? EX_CONFIG : 0);
		}
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			log_warnx("%s:%d: pool \"%s\": module %s cannot be used",
			    pc->file, pc->line, pc->name, pc->module);
			failed = 1;
		}
	}
	return failed ? -1 : 0;
}

/* -t: the directories of the unix sockets, as a start checks them. */
static int
check_socket_dirs(const struct conf *conf)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < conf->npools; i++)
		if (sock_check_dir(&conf->pools[i]) == -1)
			rc = -1;
	return rc;
}

/*
 * Write the master's pid to path, a regular file (created 0644 if need
 * be): never through a symlink, which could point at any file root may
 * write, nor into a FIFO or device, another user's file or a file with a
 * second link.  Its device and inode go to *st, so
 * that only this file is removed at exit.
 */
static int
write_pid_file(const char *path, struct stat *st)
{
	char	 buf[32];
	int	 fd, n;

	/* O_NONBLOCK: a FIFO without a reader fails instead of waiting. */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		if (errno == ELOOP && lstat(path, st) == 0 &&
		    S_ISLNK(st->st_mode))
			log_warnx("pid_file %s: is a symbolic link; pooled "
			    "does not write through one", path);
		else if (errno == ENXIO && lstat(path, st) == 0 &&
		    !S_ISREG(st->st_mode))
			log_warnx("pid_file %s: is not a regular file; pooled "
			    "does not write into it", path);
		else
			log_warn("pid_file %s", path);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		log_warn("pid_file %s: fstat", path);
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		log_warnx("pid_file %s: is not a regular file; pooled does "
		    "not write into it", path);
		goto fail;
	}
	/*
	 * Someone else's file (made in a directory they may write) would
	 * let them write another pid into it, for root to kill; a second
	 * link, that root truncates some other file.
	 */
	if (st->st_uid != geteuid() || st->st_nlink != 1) {
		log_warnx("pid_file %s: %s; pooled does not write into it",
		    path, st->st_uid != geteuid() ? "belongs to another user" :
		    "has more than one link");
		goto fail;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n) {
		log_warn("pid_file %s: write", path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* Remove the pid file at exit, if the path still names the one written. */
static void
remove_pid_file(const char *path, const struct stat *written)
{
	struct stat	 st;

	if (lstat(path, &st) == 0 && st.st_dev == written->st_dev &&
	    st.st_ino == written->st_ino)
		(void)unlink(path);
}

/*
 * Detach from the terminal.  The parent waits until the master reports
 * that every pool started (a byte on the pipe) or gave up (EOF), so the
 * exit status of `pooled` says whether it runs.  Returns the write end of
 * that pipe in the daemon; never returns in the parent.
 */
static int
daemonize(const struct conf *conf)
{
	int	 p[2], fd;
	char	 c;
	pid_t	 pid;
	ssize_t	 n;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe2");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		do {
			n = read(p[0], &c, 1);
		} while (n == -1 && errno == EINTR);
		/*
		 * _exit: this process only waited; everything it holds
		 * belongs to the daemon now.
		 */
		if (n == 1)
			_exit(0);
		fprintf(stderr, "pooled: failed to start; see %s\n",
		    strcmp(conf->error_log, "stderr") == 0 ? "the log above" :
		    conf->error_log);
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		/* Keep stderr when it is the configured log. */
		if (strcmp(conf->error_log, "stderr") != 0)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

/*
 * Open the sockets, detach unless foreground, and hand over to the
 * master.  Returns the exit code; on every path the sockets opened and
 * the pid file written are cleaned up.
 */
static int
run(struct conf **confp, bool foreground)
{
	struct conf	*conf = *confp;
	struct stat	 pid_st;
	char		*pid_file;
	int	*listen_fds = NULL, ready_fd = -1, rc = 1;
	size_t	 i, nopen = 0;

	log_set_level(conf->log_level);
	log_set_role("master");
	/*
	 * Not dumpable: processes of the master's uid (a CGI program, when
	 * pooled is not started as root) cannot ptrace it or read its
	 * memory through /proc, and its /proc files belong to root.
	 */
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) == -1)
		log_warn("master: PR_SET_DUMPABLE");
	/*
	 * The log first, so that a bad error_log is reported on the
	 * terminal and the start-up lines go to the log too.
	 */
	if (!foreground) {
		log_set_syslog(conf->syslog_facility, conf->syslog_ident);
		if (log_open(conf->error_log) == -1)
			goto fail;
		log_set_tee(true);
	}
	listen_fds = xcalloc(conf->npools, sizeof(*listen_fds));
	for (nopen = 0; nopen < conf->npools; nopen++) {
		if ((listen_fds[nopen] = sock_open(&conf->pools[nopen])) == -1)
			goto fail;
		sock_warn_access(&conf->pools[nopen]);
	}
	if (!foreground) {
		ready_fd = daemonize(conf);
		log_set_tee(false);	/* stderr is /dev/null now */
	}
	/* Before the pid file, which pooled -k checks it against. */
	proctitle_set("master process %s", conf->path);
	/*
	 * After daemonizing: the launcher waiting for the verdict keeps the
	 * default signals, so a ^C there does not stop the daemon.
	 */
	if (sig_init() == -1)
		goto fail;
	if (conf->pid_file != NULL && write_pid_file(conf->pid_file,
	    &pid_st) == -1)
		goto fail;
	log_notice("master: pooled %s starting with %zu pools", PACKAGE_VERSION,
	    conf->npools);
	acl_warn_wildcard(conf);
	/*
	 * master_run owns the sockets from here, closes them and removes
	 * their files; after a reload *confp is the config it served last.
	 */
	pid_file = conf->pid_file != NULL ? xstrdup(conf->pid_file) : NULL;
	rc = master_run(confp, listen_fds, ready_fd);
	if (pid_file != NULL)
		remove_pid_file(pid_file, &pid_st);
	free(pid_file);
	goto done;
fail:
	for (i = 0; i < nopen; i++) {
		sock_unlink(&conf->pools[i], listen_fds[i]);
		close(listen_fds[i]);
	}
	free(listen_fds);
done:
	/* Closed last: a waiting parent learns the outcome when all is done. */
	if (ready_fd != -1)
		close(ready_fd);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char	*path = POOLED_DEFAULT_CONF;
	struct conf	*conf;
	bool		 foreground = false, test = false, status = false;
	const char	*pool = NULL, *query = NULL, *addr = NULL, *cmd = NULL;
	int		 ch, rc;

	proctitle_init(argc, argv);
	log_init("pooled", POOLED_LOG_INFO);
	while ((ch = getopt(argc, argv, "c:Fhk:sS:tv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'F':
			foreground = true;
			break;
		case 'k':
			cmd = optarg;
			break;
		case 's':
			status = true;
			break;
		case 'S':
			addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 't':
			test = true;
			break;
		case 'v':
			printf("pooled %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	/* -s takes an optional pool name, then an optional query. */
	if (status && optind < argc && !is_status_query(argv[optind]))
		pool = argv[optind++];
	if (status && optind < argc)
		query = argv[optind++];
	if (optind != argc || (status && (foreground || test)) ||
	    (addr != NULL && !status) || (cmd != NULL && (status ||
	    foreground || test))) {
		usage(stderr);
		return EX_USAGE;
	}
	/* Neither loads the config: see ctl.c. */
	if (status)
		return ctl_status(path, addr, pool, query);
	if (cmd != NULL)
		return ctl_signal(path, cmd);

	if ((conf = conf_load(path)) == NULL)
		return 1;
	if (preflight_check(conf) == -1) {
		conf_free(conf);
		return 1;
	}
	if (test) {
		if (check_socket_dirs(conf) == -1 ||
		    probe_modules(conf) == -1) {
			conf_free(conf);
			return 1;
		}
		acl_warn_wildcard(conf);
		printf("pooled: configuration file %s test is successful\n",
		    path);
		conf_free(conf);
		return 0;
	}

	rc = run(&conf, foreground);
	conf_free(conf);
	return rc;
}
