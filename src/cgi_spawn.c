/*
 * Starting a CGI program: the process side of the CGI backend.
 *
 * A program starts with pipes as fds 0, 1 and 2 and no other descriptor,
 * in a process group of its own, in its own directory, with the default
 * signal dispositions, an empty signal mask, the pool's cgi_rlimit_*
 * limits and the environment cgi_env.c built; no shell is involved.
 *
 * posix_spawn cannot set resource limits in the child; setting them on
 * the worker would limit the worker itself, and a prlimit() after the
 * spawn would let the program fork before they held.  So the child is
 * made here, the way glibc's posix_spawn makes it: vfork() suspends only
 * the calling thread and copies no page table, however large the worker;
 * the child runs on this thread's stack, in the worker's memory, with
 * every signal blocked (no handler of the worker's may run there), and
 * makes only async-signal-safe system calls until execve.
 *
 * A failure in the child comes back through a close-on-exec pipe rather
 * than through the memory vfork shares, because vfork is not always
 * vfork: ThreadSanitizer's runtime turns it into fork (it cannot follow
 * a child that shares its memory), and so does valgrind.  The pipe tells
 * the parent the same thing in every build, and costs three system calls
 * against the hundreds of an exec.  (clone(CLONE_VM) with a stack of its
 * own, as glibc does, is no way around it: TSan intercepts clone too and
 * runs its own bookkeeping in the child, in the parent's memory.)  Under
 * AddressSanitizer vfork is real; its interceptor unpoisons the stack
 * the child used, and the child's own code is left uninstrumented.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pooled.h"

/*
 * The signals the worker handles or ignores, which the child must put
 * back to the default: see cgi_spawn_init.
 */
static sigset_t		 spawn_sigs;
static bool		 spawn_sigs_known;
#ifdef __SIGRTMIN
static const unsigned long spawn_sig_dfl[8];	/* a kernel sigaction */
#endif

/* What the child is to do; it only reads this. */
struct spawn_plan {
	const char		*exe;		/* NULL: the checked binary */
	int			 fd;		/* that binary, O_PATH */
	int			 dirfd;		/* its directory, O_PATH */
	char *const		*argv;
	char *const		*envp;
	int			 stdio[3];	/* become 0, 1 and 2 */
	int			 report;	/* close-on-exec; above 3 */
	const struct pool_rlimit *limits;
	size_t			 nlimits;
	const sigset_t		*sigs;		/* to put back to SIG_DFL */
	int			 rtmin;		/* SIGRTMIN */
	pid_t			 ppid;		/* the worker */
};

/* Why the child could not run the program, written to the report pipe. */
struct spawn_report {
	int			 err;		/* errno */
	const char		*what;		/* the step; NULL: the exec */
};

/*
 * Send the parent errno and the step that failed, then go.  what is a
 * string literal or a limit's option name: the same address in the
 * parent, whether the child shares its memory or has a copy.
 */
static void POOLED_NORETURN
child_fail(const struct spawn_plan *p, const char *what)
{
	struct spawn_report	 r;
	ssize_t			 n;

	r.err = errno;
	r.what = what;
	/* Should even this fail, the program is seen to exit 127. */
	n = write(p->report, &r, sizeof(r));
	(void)n;
	_exit(127);
}

/* Make descriptor from into to, with flags 0 or O_CLOEXEC. */
static int
move_fd(int from, int to, int flags)
{
	if (from != to)
		return dup3(from, to, flags) == -1 ? -1 : 0;
	/* Already in place: only its close-on-exec flag to set. */
	return fcntl(to, F_SETFD, flags == O_CLOEXEC ? FD_CLOEXEC : 0);
}

/*
 * The child, between vfork and exec: system calls only, on the parent
 * thread's stack, so never inlined into the function that called vfork,
 * and not instrumented by ASan, whose bookkeeping (fake stack frames, a
 * no-return hook) would otherwise run in a process sharing the parent's
 * memory.
 */
static void POOLED_NORETURN POOLED_NOINLINE POOLED_NO_SANITIZE_ADDRESS
child(const struct spawn_plan *p)
{
	struct sigaction	 sa;
	struct rlimit		 rl;
	sigset_t		 none;
	size_t			 i;
	int			 sig, fd;

	/*
	 * The worker's dispositions back to the default: a handler of the
	 * worker's must not run here once the mask is emptied below, and an
	 * ignored signal (SIGPIPE) would stay ignored in the program.  The
	 * others are at the default already; glibc's posix_spawn resets all
	 * 64 instead, most of a program's start in system calls.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(p->sigs, sig) == 1)
			(void)sigaction(sig, &sa, NULL);
#ifdef __SIGRTMIN
	/*
	 * glibc keeps the signals from the kernel's first real-time one up
	 * to SIGRTMIN for itself, and its sigaction refuses them; one left
	 * ignored by whoever started pooled (GNU make's posix_spawn does
	 * that) would stay ignored in the program.  The kernel call takes
	 * them, and an all-zero kernel sigaction is SIG_DFL on every
	 * architecture.
	 */
	for (sig = __SIGRTMIN; sig < p->rtmin; sig++)
		(void)syscall(SYS_rt_sigaction, sig, spawn_sig_dfl, NULL,
		    (size_t)(NSIG - 1) / 8);
#endif
	/*
	 * A process group is all that killing its children needs; a session
	 * of its own (setsid) would also put it in a scheduler autogroup of
	 * its own (Debian's default), a whole CPU share per program, which
	 * starved the workers and nginx: CGI p99 at c16 went from 400-640 ms
	 * to 14-17 ms without them.
	 */
	if (setpgid(0, 0) == -1)
		child_fail(p, "setpgid");
	/*
	 * Killed with the thread that started it (the kernel's notion of
	 * its parent): a worker killed mid-request leaves no program
	 * running.  Should the worker have died before this, the parent is
	 * the master already, and nobody waits for the program.
	 */
	if (prctl(PR_SET_PDEATHSIG, (unsigned long)SIGKILL, 0L, 0L, 0L) == -1)
		child_fail(p, "prctl");
	if (getppid() != p->ppid)
		_exit(127);
	for (fd = 0; fd < 3; fd++)
		if (move_fd(p->stdio[fd], fd, 0) == -1)
			child_fail(p, "dup2");
	/* The checked directory itself, whatever its path means by now. */
	if (fchdir(p->dirfd) == -1)
		child_fail(p, "fchdir");
	/* Soft and hard alike: the program cannot raise them again. */
	for (i = 0; i < p->nlimits; i++) {
		rl.rlim_cur = rl.rlim_max = p->limits[i].value;
		if (setrlimit(p->limits[i].resource, &rl) == -1)
			child_fail(p, p->limits[i].name);
	}
	/*
	 * A binary runs as the very file that was checked, fd 3 until the
	 * exec, which closes it: the program starts with 0, 1 and 2 only,
	 * no rename can swap it, and no /proc is needed (a chroot may have
	 * none).  The report pipe stays open until the exec closes it.
	 */
	if (p->exe == NULL && move_fd(p->fd, 3, O_CLOEXEC) == -1)
		child_fail(p, "dup3");
	fd = p->exe == NULL ? 4 : 3;
	if ((p->report > fd && close_range((unsigned int)fd,
	    (unsigned int)p->report - 1, 0) == -1) ||
	    close_range((unsigned int)p->report + 1, ~0U, 0) == -1)
		child_fail(p, "close_range");
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (p->exe == NULL)
		(void)execveat(3, "", p->argv, p->envp, AT_EMPTY_PATH);
	else
		(void)execve(p->exe, p->argv, p->envp);
	child_fail(p, NULL);
}

/*
 * Note which signals this process handles or ignores, for the children
 * to put back to the default.  Called once the worker installed its last
 * handler; until then (and should it not be called) every signal is put
 * back, as posix_spawn would.
 */
void
cgi_spawn_init(void)
{
	struct sigaction	 sa;
	int			 sig;

	sigemptyset(&spawn_sigs);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
			sigaddset(&spawn_sigs, sig);
	spawn_sigs_known = true;
}

/*
 * vfork in a function of its own that the child never returns from:
 * only p is live across the call, and no caller's frame is shared.
 */
static pid_t POOLED_NOINLINE
start(const struct spawn_plan *p)
{
	pid_t	 pid;

	if ((pid = vfork()) == 0)
		child(p);
	return pid;
}

/*
 * Run the program t names with environment envp and the resource limits
 * limits[0..nlimits).  Its pid goes to *slot (unless slot is NULL) before
 * any signal can reach this thread again, so a worker told to die always
 * knows what to kill.  Returns 0 with c filled (our ends of its pipes,
 * non-blocking), or -1 with errno set and *why naming the step that
 * failed (NULL: the exec itself); then nothing runs and nothing is left
 * open.
 */
int
cgi_spawn(const struct cgi_target *t, char *const *envp,
    const struct pool_rlimit *limits, size_t nlimits, _Atomic pid_t *slot,
    struct cgi_child *c, const char **why)
{
	struct spawn_plan	 p;
	struct spawn_report	 rep;
	sigset_t		 all, saved;
	char			*argv[3], local[PATH_MAX];
	int			 fds[8], i, fd, saved_errno;
	ssize_t			 n;
	pid_t			 pid;

	*why = "pipe";
	/* in[0..1], out[2..3], err[4..5], the report pipe [6..7] */
	for (i = 0; i < 8; i++)
		fds[i] = -1;
	for (i = 0; i < 8; i += 2)
		if (pipe2(fds + i, O_CLOEXEC) == -1)
			goto fail;
	/* The report's write end above 3, which a binary takes. */
	if (fds[7] < 4) {
		if ((fd = fcntl(fds[7], F_DUPFD_CLOEXEC, 4)) == -1)
			goto fail;
		close(fds[7]);
		fds[7] = fd;
	}

	memset(&p, 0, sizeof(p));
	p.fd = t->fd;
	p.dirfd = t->dirfd;
	p.envp = envp;
	p.stdio[0] = fds[0];
	p.stdio[1] = fds[3];
	p.stdio[2] = fds[5];
	p.report = fds[7];
	p.limits = limits;
	p.nlimits = nlimits;
	sigfillset(&all);
	p.sigs = spawn_sigs_known ? &spawn_sigs : &all;
	p.rtmin = SIGRTMIN;
	p.ppid = getpid();
	snprintf(local, sizeof(local), "./%s", t->base);
	if (t->interpreter != NULL) {
		/* cgi_interpreter: the interpreter runs the script. */
		p.exe = t->interpreter;
		argv[0] = (char *)(uintptr_t)t->interpreter;
		argv[1] = local;
		argv[2] = NULL;
	} else {
		/*
		 * An interpreter opens a script by the name it is executed
		 * by, so that is its name in the checked directory: no
		 * rename above it can swap it.  (Handing the interpreter
		 * /dev/fd/N would leave fd N open in the program and make
		 * $0 meaningless; Perl refuses O_PATH ones.)  Its $0 is
		 * therefore "./NAME", relative to its working directory.
		 */
		p.exe = t->script ? local : NULL;
		argv[0] = (char *)(uintptr_t)t->path;
		argv[1] = NULL;
	}
	p.argv = argv;

	pthread_sigmask(SIG_BLOCK, &all, &saved);
	pid = start(&p);
	saved_errno = errno;
	if (pid > 0 && slot != NULL)
		atomic_store(slot, pid);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	close(fds[0]);
	close(fds[3]);
	close(fds[5]);
	close(fds[7]);
	fds[0] = fds[3] = fds[5] = fds[7] = -1;
	if (pid == -1) {
		errno = saved_errno;
		*why = "vfork";
		goto fail;
	}
	/* End of file: the exec closed the pipe.  A report: it failed. */
	while ((n = read(fds[6], &rep, sizeof(rep))) == -1 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(rep)) {
		/* Out of the slot first: once reaped, the pid may be reused. */
		if (slot != NULL)
			atomic_store(slot, 0);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		errno = rep.err;
		*why = rep.what;
		goto fail;
	}
	close(fds[6]);
	c->pid = pid;
	c->in = fds[1];
	c->out = fds[2];
	c->err = fds[4];
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	return 0;

fail:
	saved_errno = errno;
	for (i = 0; i < 8; i++)
		if (fds[i] != -1)
			close(fds[i]);
	errno = saved_errno;
	return -1;
}
