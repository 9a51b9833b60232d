/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Starting a worker process: posix_spawn of nbdbroker-worker with the
 * RPC socket, the two arenas and the tripwire channel on fixed
 * descriptors (RPC_WORKER_FD, RPC_WORKER_ARENA_OUT_FD/IN_FD,
 * POLICY_NOTIFY_FD, RPC_WORKER_EVENT_FD when the backend offers
 * rings, and RPC_WORKER_CGROUP_FD when it gets a memory cgroup), stdin
 * on /dev/null, stdout and stderr into a pipe the broker logs line by
 * line, every other descriptor closed, default signal dispositions,
 * its own process group and a fresh environment; then its Hello, and
 * its Config once it answered Hello, queued for the RPC socket.
 *
 * When to start a worker, and what a start means for the backend, is
 * supervisor.c's business; this file only knows how.  Everything the
 * broker keeps for a worker sits at FD_HIGH_MIN or above, so the dup2
 * onto the fixed numbers cannot clobber it.
 *
 * Runs in the event loop only; never blocks (posix_spawn uses vfork
 * semantics and returns once the child has exec'ed or failed).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "fd.h"
#include "log.h"
#include "names.h"
#include "policy.h"

#define SPAWN_MAX_ENV	16

extern char	**environ;

/*
 * A worker's stdout+stderr pipe; lives until the pipe's EOF, or until
 * its backend is freed (spawn_backend_gone), whichever comes first:
 * the worker may be reaped, and a retired backend freed, before the
 * end of its output has been read.
 */
struct errpipe {
	int		 fd;
	struct event	*ev;
	struct backend	*be;		/* borrowed; see spawn_backend_gone */
	pid_t		 pid;
	char		 line[1024];
	size_t		 len;
	TAILQ_ENTRY(errpipe) link;	/* errpipes */
};

static TAILQ_HEAD(, errpipe)	errpipes = TAILQ_HEAD_INITIALIZER(errpipes);

/* What a worker inherits of the broker's environment; nothing else. */
static const char *const env_keep[] = {
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS",
	"MALLOC_PERTURB_", "MALLOC_CHECK_", "LD_LIBRARY_PATH",
	"NBDBROKER_WORKER_DEBUG", NULL,
};

/* Log the line collected so far, at the level the worker gave it. */
static void
errpipe_flush_line(struct errpipe *ep)
{
	int		 level = LOG_WARNING;
	const char	*msg = ep->line;

	if (ep->len == 0)
		return;
	ep->line[ep->len] = '\0';
	/* The worker's own log lines: their level, and one prefix (ours). */
	msg = log_strip_prefix(ep->line, "nbdbroker-worker", &level);
	if (msg != ep->line)
		;
	else if (strstr(msg, ": debug: ") != NULL)
		level = LOG_DEBUG;
	else if (strstr(msg, ": info: ") != NULL)
		level = LOG_INFO;
	else if (strstr(msg, ": error: ") != NULL)
		level = LOG_ERR;
	backend_worker_log(ep->be, level, "", msg, strlen(msg));
	ep->len = 0;
}

static void
errpipe_free(struct errpipe *ep)
{
	TAILQ_REMOVE(&errpipes, ep, link);
	event_free(ep->ev);
	close(ep->fd);
	free(ep);
}

/* Read and log what the pipe holds, once; read(2)'s result. */
static ssize_t
errpipe_read(struct errpipe *ep)
{
	char	buf[4096];
	ssize_t	n, i;

	n = read(ep->fd, buf, sizeof(buf));
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || ep->len == sizeof(ep->line) - 1)
			errpipe_flush_line(ep);
		if (buf[i] != '\n')
			ep->line[ep->len++] = buf[i];
	}
	return n;
}

static void
errpipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct errpipe	*ep = arg;
	ssize_t		 n;

	(void)fd;
	(void)what;
	n = errpipe_read(ep);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		errpipe_flush_line(ep);
		errpipe_free(ep);
	}
}

/*
 * Watch the read end of a new worker's stdout+stderr pipe.  Takes fd;
 * without memory for it, the worker's output is simply not read (it
 * gets EPIPE).
 */
static void
errpipe_watch(struct backend *be, pid_t pid, int fd)
{
	struct errpipe	*ep;

	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		close(fd);
		return;
	}
	ep->fd = fd;
	ep->be = be;
	ep->pid = pid;
	ep->ev = event_new(broker.base, ep->fd, EV_READ | EV_PERSIST,
	    errpipe_cb, ep);
	if (ep->ev == NULL || event_add(ep->ev, NULL) == -1) {
		if (ep->ev != NULL)
			event_free(ep->ev);
		free(ep);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&errpipes, ep, link);
}

/*
 * be is about to be freed: the pipes of its workers must not outlive
 * it.  What they hold is logged now (at most a pipe's worth: 16 reads
 * of 4 KiB), then they are closed.
 */
/* A reload swapped the workers of a and b (backend_swap): their stderr too. */
void
spawn_swap(struct backend *a, struct backend *b)
{
	struct errpipe	*ep;

	TAILQ_FOREACH(ep, &errpipes, link) {
		if (ep->be == a)
			ep->be = b;
		else if (ep->be == b)
			ep->be = a;
	}
}

void
spawn_backend_gone(struct backend *be)
{
	struct errpipe	*ep, *next;
	int		 i;

	for (ep = TAILQ_FIRST(&errpipes); ep != NULL; ep = next) {
		next = TAILQ_NEXT(ep, link);
		if (ep->be != be)
			continue;
		for (i = 0; i < 16 && errpipe_read(ep) > 0; i++)
			;
		errpipe_flush_line(ep);
		errpipe_free(ep);
	}
}

/*
 * The worker's environment: PATH=WORKER_PATH (never the caller's) and
 * env_keep's variables, if set.  Static.
 */
static char **
worker_env(void)
{
	static char	*envp[SPAWN_MAX_ENV];
	size_t		 i, n = 0;

	envp[n++] = (char *)"PATH=" WORKER_PATH;
	for (i = 0; env_keep[i] != NULL && n < SPAWN_MAX_ENV - 1; i++) {
		size_t	l = strlen(env_keep[i]);
		char	**e;

		for (e = environ; *e != NULL; e++)
			if (strncmp(*e, env_keep[i], l) == 0 && (*e)[l] == '=')
				envp[n++] = *e;
	}
	envp[n] = NULL;
	return envp;
}

/* Close each descriptor of fds that is open (-1: not). */
static void
close_fds(int *fds, size_t n)
{
	size_t	i;
	int	saved = errno;

	for (i = 0; i < n; i++)
		if (fds[i] != -1) {
			close(fds[i]);
			fds[i] = -1;
		}
	errno = saved;
}

/*
 * posix_spawn the worker with child's descriptors on the fixed
 * numbers.  Returns posix_spawn's error (0: *pidp is the worker).
 */
static int
spawn_exec(const struct backend *be, int rpc_fd, int err_fd, int tw_fd,
    int cg_fd, pid_t *pidp)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 none, all;
	char				 pidarg[32];
	char				*argv[4];
	static char			 spare0[PATH_MAX];
	int				 e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, rpc_fd, RPC_WORKER_FD);
	posix_spawn_file_actions_adddup2(&fa, be->out.fd,
	    RPC_WORKER_ARENA_OUT_FD);
	posix_spawn_file_actions_adddup2(&fa, be->in.fd,
	    RPC_WORKER_ARENA_IN_FD);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	posix_spawn_file_actions_adddup2(&fa, tw_fd, POLICY_NOTIFY_FD);
	if (be->evfd != -1)
		posix_spawn_file_actions_adddup2(&fa, be->evfd,
		    RPC_WORKER_EVENT_FD);
	else if (cg_fd != -1)
		posix_spawn_file_actions_addclose(&fa, RPC_WORKER_EVENT_FD);
	if (cg_fd != -1)
		posix_spawn_file_actions_adddup2(&fa, cg_fd,
		    RPC_WORKER_CGROUP_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, cg_fd != -1 ?
	    RPC_WORKER_CGROUP_FD + 1 : be->evfd != -1 ?
	    RPC_WORKER_EVENT_FD + 1 : POLICY_NOTIFY_FD + 1);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	/* Its own process group: a terminal's ^C is for the broker. */
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	snprintf(pidarg, sizeof(pidarg), "%d", (int)getpid());
	argv[0] = broker.cfg.worker_path;
	/*
	 * A spare shows as nbdbroker-spare in ps (and is no match for
	 * "nbdbroker-worker") until it takes over and names its plugin;
	 * padded to the path's length, which the title overwrites.
	 */
	if (be->spare_of != NULL) {
		snprintf(spare0, sizeof(spare0), "%-*s",
		    (int)strlen(broker.cfg.worker_path), "nbdbroker-spare");
		argv[0] = spare0;
	}
	argv[1] = (char *)"--broker-pid";
	argv[2] = pidarg;
	argv[3] = NULL;
	e = posix_spawn(pidp, broker.cfg.worker_path, &fa, &at, argv,
	    worker_env());
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return e;
}

/*
 * Spawn a worker for be, with be's arenas.  On success *pidp is the
 * worker and *fdp the broker's end of its RPC socket (non-blocking;
 * the caller owns it); its output pipe and tripwire channel are
 * watched here.  Returns 0, or -1 (logged) if nothing was spawned.
 */
/*
 * Make the memory cgroup of the worker about to be spawned, where the
 * broker can make one, and open its cgroup.procs (v1: tasks) for the
 * worker, which joins it by itself before anything else
 * (worker/main.c): moving a task may take milliseconds the loop must
 * not wait.  The worker checks
 * at stage 1 whether a cgroup limits it, and limits its address space
 * itself if not (worker/sandbox-limits.c), so a failure here is never
 * unsafe.  Returns the descriptor to pass, or -1 for none.
 */
static int
spawn_memory_cgroup(void)
{
	char	desc[256];
	int	fd;

	if (cgroup_worker_prepare(policy_load_parsed(),
	    2 * (uint64_t)broker.cfg.arena_size, &fd, desc,
	    sizeof(desc)) == -1)
		log_warn("worker: %s", desc);
	else if (desc[0] != '\0')
		log_debug("worker: %s", desc);
	/* A copy above the fixed numbers, for the dup2 (file comment). */
	if (fd != -1 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH_MIN)) == -1) {
		log_warn("worker: cgroup: %s; the worker limits its address "
		    "space instead", strerror(errno));
		cgroup_worker_abandon();
	}
	return fd;
}

int
spawn_worker(struct backend *be, pid_t *pidp, int *fdp)
{
	int	sv[2] = { -1, -1 }, ep[2] = { -1, -1 }, tw[2] = { -1, -1 };
	pid_t	pid;
	int	e, cg_fd = -1;

	*pidp = 0;
	*fdp = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(ep, O_CLOEXEC) == -1) {
		log_err("cannot start worker: %s", strerror(errno));
		goto err;
	}
	sv[0] = fd_move_high(sv[0]);
	sv[1] = fd_move_high(sv[1]);
	ep[0] = fd_move_high(ep[0]);
	ep[1] = fd_move_high(ep[1]);
	if (sv[0] == -1 || sv[1] == -1 || ep[0] == -1 || ep[1] == -1) {
		log_err("cannot start worker: %s", strerror(errno));
		goto err;
	}
	if (tripwire_channel(&tw[0], &tw[1]) == -1) {
		log_err("cannot start worker: sandbox channel: %s",
		    strerror(errno));
		goto err;
	}
	cg_fd = spawn_memory_cgroup();
	if ((e = spawn_exec(be, sv[1], ep[1], tw[1], cg_fd, &pid)) != 0) {
		log_err("cannot start worker %s: %s", broker.cfg.worker_path,
		    strerror(e));
		goto err;
	}
	/* The child's ends are the child's now. */
	close(sv[1]);
	close(ep[1]);
	close(tw[1]);
	cgroup_worker_spawned(pid);
	if (cg_fd != -1)
		close(cg_fd);
	tripwire_watch(pid, tw[0]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	errpipe_watch(be, pid, ep[0]);
	*pidp = pid;
	*fdp = sv[0];
	return 0;

 err:
	cgroup_worker_abandon();
	if (cg_fd != -1)
		close(cg_fd);
	close_fds(sv, 2);
	close_fds(ep, 2);
	close_fds(tw, 2);
	return -1;
}

/*
 * Queue the worker's first message: Hello (the protocol version).
 * Returns 0, or -1 without memory.
 */
int
spawn_queue_hello(struct backend *be)
{
	Nbdbroker__Rpc__Envelope	  env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		  h = NBDBROKER__RPC__HELLO__INIT;

	h.major = RPC_PROTOCOL_MAJOR;
	h.minor = RPC_PROTOCOL_MINOR;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	h.features = ring_offered(be) ? RPC_FEATURE_RINGS : 0;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return backend_queue_msg(be, &env);
}

/*
 * Queue Config (the plugin, its parameters, the compiled policy), once
 * the worker said Hello: by then it is in its memory cgroup, if it has
 * one (cgroup_worker_joined).  Returns 0, or -1 without memory.
 */
int
spawn_queue_config(struct backend *be)
{
	Nbdbroker__Rpc__Envelope	  env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Config		  cfg = NBDBROKER__RPC__CONFIG__INIT;
	Nbdbroker__Rpc__Param		 *pv = NULL, **pp = NULL;
	const struct config		 *bc = &broker.cfg;
	size_t				  i;
	int				  r = -1;

	if (bc->nparams > 0) {
		pv = calloc(bc->nparams, sizeof(*pv));
		pp = calloc(bc->nparams, sizeof(*pp));
		if (pv == NULL || pp == NULL)
			goto out;
	}
	for (i = 0; i < bc->nparams; i++) {
		const char	*eq = cli_param_split(bc->params[i]);

		nbdbroker__rpc__param__init(&pv[i]);
		if (eq != NULL) {
			pv[i].key = strndup(bc->params[i], eq - bc->params[i]);
			pv[i].value = (char *)eq + 1;
			pv[i].has_value = true;
		} else {
			pv[i].key = strdup(bc->params[i]);
			pv[i].value = (char *)"";
		}
		if (pv[i].key == NULL)
			goto out;
		pp[i] = &pv[i];
	}
	cfg.plugin_path = bc->plugin_path;
	cfg.n_params = bc->nparams;
	cfg.params = pp;
	cfg.verbose = bc->verbose;
	cfg.readonly = bc->readonly;
	cfg.hold = be->spare_of != NULL;	/* a spare: wait for Start */
	cfg.threads = bc->threads;
	cfg.policy.data = (uint8_t *)policy_load_wire(&cfg.policy.len,
	    (const char **)&cfg.policy_path);
	cfg.instance = be->generation;
	cfg.cwd = bc->cwd;
	cfg.n_debug_flags = bc->ndebug_flags;
	cfg.debug_flags = bc->debug_flags;
	cfg.n_filters = bc->nfilters;
	cfg.filters = bc->rpc_filters;
	ring_config(be, &cfg.ring_entries, &cfg.ring_out_offset,
	    &cfg.ring_in_offset);
	memset(&env, 0, sizeof(env));
	nbdbroker__rpc__envelope__init(&env);
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CONFIG;
	env.config = &cfg;
	r = backend_queue_msg(be, &env);
 out:
	for (i = 0; pv != NULL && i < bc->nparams; i++)
		free(pv[i].key);
	free(pv);
	free(pp);
	return r;
}
