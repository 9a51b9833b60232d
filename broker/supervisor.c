/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker supervisor: starts workers (posix_spawn of
 * nbdbroker-worker with the RPC socket and the arenas on fixed
 * descriptors, stdin on /dev/null, stdout and stderr into a pipe the
 * broker logs, a fresh environment), notices their death (the socket
 * closing, SIGCHLD), restarts them with backoff, re-opens every
 * connection's handle on the new worker and replays, in order, what
 * the dead one had in flight.
 *
 * Honest durability: a volatile plugin (or one that does not say)
 * that accepted writes loses them with its worker.  Connections that
 * were open to it then get EIO for every request instead of silently
 * different data; new connections get a fresh disk.
 *
 * Runs in the event loop only; never blocks.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "names.h"
#include "policy.h"


#define SUP_START_TIMEOUT_MS	(10 * 1000)	/* Hello to Ready, at least */

extern char	**environ;

/*
 * A worker's stdout+stderr pipe; lives until the pipe's EOF, or until
 * its backend is freed (sup_backend_gone), whichever comes first: the
 * worker may be reaped, and a retired backend freed, before the end of
 * its output has been read.
 */
struct errpipe {
	int		 fd;
	struct event	*ev;
	struct backend	*be;
	pid_t		 pid;
	char		 line[1024];
	size_t		 len;
	TAILQ_ENTRY(errpipe) link;	/* errpipes */
};

static TAILQ_HEAD(, errpipe)	errpipes = TAILQ_HEAD_INITIALIZER(errpipes);

static const char *const env_keep[] = {
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MSAN_OPTIONS",
	"MALLOC_PERTURB_", "MALLOC_CHECK_", "LD_LIBRARY_PATH",
	"NBDBROKER_WORKER_DEBUG", NULL,
};

static int
hi_fd(int fd)
{
	int	hi;

	if (fd >= 10)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return hi;
}

static void
errpipe_flush_line(struct errpipe *ep)
{
	int		 level = LOG_WARNING;
	const char	*msg = ep->line;

	if (ep->len == 0)
		return;
	ep->line[ep->len] = '\0';
	/* The worker's own log lines say their level. */
	if (strstr(msg, ": debug: ") != NULL)
		level = LOG_DEBUG;
	else if (strstr(msg, ": info: ") != NULL)
		level = LOG_INFO;
	else if (strstr(msg, ": error: ") != NULL)
		level = LOG_ERR;
	backend_worker_log(ep->be, level, "", msg, ep->len);
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
 * be is about to be freed: the pipes of its workers must not outlive
 * it.  What they hold is logged now (at most a pipe's worth: 16 reads
 * of 4 KiB), then they are closed.
 */
void
sup_backend_gone(struct backend *be)
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

static char **
worker_env(void)
{
	static char	*envp[16];
	size_t		 i, n = 0;

	for (i = 0; env_keep[i] != NULL && n < 15; i++) {
		size_t	l = strlen(env_keep[i]);
		char	**e;

		for (e = environ; *e != NULL; e++)
			if (strncmp(*e, env_keep[i], l) == 0 && (*e)[l] == '=')
				envp[n++] = *e;
	}
	envp[n] = NULL;
	return envp;
}

static int
queue_config(struct backend *be)
{
	Nbdbroker__Rpc__Envelope	  env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		  h = NBDBROKER__RPC__HELLO__INIT;
	Nbdbroker__Rpc__Config		  cfg = NBDBROKER__RPC__CONFIG__INIT;
	Nbdbroker__Rpc__Param		 *pv = NULL, **pp = NULL;
	const struct config		 *bc = &broker.cfg;
	size_t				  i;
	int				  r = -1;

	h.major = RPC_PROTOCOL_MAJOR;
	h.minor = RPC_PROTOCOL_MINOR;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if (rpc_frame_encode(&be->wbuf, &env) == -1)
		return -1;

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
	cfg.threads = bc->threads;
	cfg.policy.data = (uint8_t *)sandbox_policy(&cfg.policy.len,
	    (const char **)&cfg.policy_path);
	cfg.instance = be->generation;
	cfg.cwd = bc->cwd;
	cfg.n_debug_flags = bc->ndebug_flags;
	cfg.debug_flags = bc->debug_flags;
	cfg.n_filters = bc->nfilters;
	cfg.filters = bc->rpc_filters;
	memset(&env, 0, sizeof(env));
	nbdbroker__rpc__envelope__init(&env);
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CONFIG;
	env.config = &cfg;
	r = rpc_frame_encode(&be->wbuf, &env);
 out:
	for (i = 0; pv != NULL && i < bc->nparams; i++)
		free(pv[i].key);
	free(pv);
	free(pp);
	return r;
}

/*
 * Start a worker for be.  Returns 0 (the worker reports Ready or
 * Failed later), or -1 if it could not even be spawned.
 */
int
sup_start(struct backend *be)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 none, all;
	struct errpipe			*ep = NULL;
	char				 pidarg[32];
	char				*argv[4];
	int				 sv[2] = { -1, -1 }, ep_fds[2] = { -1, -1 };
	int				 sbx[2] = { -1, -1 };	/* sandbox.c */
	pid_t				 pid;
	int				 e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(ep_fds, O_CLOEXEC) == -1) {
		log_err("cannot start worker: %s", strerror(errno));
		goto err;
	}
	sv[0] = hi_fd(sv[0]);
	sv[1] = hi_fd(sv[1]);
	ep_fds[0] = hi_fd(ep_fds[0]);
	ep_fds[1] = hi_fd(ep_fds[1]);
	if (sv[0] == -1 || sv[1] == -1 || ep_fds[0] == -1 || ep_fds[1] == -1) {
		log_err("cannot start worker: %s", strerror(errno));
		goto err;
	}
	if (sandbox_channel(&sbx[0], &sbx[1]) == -1) {
		log_err("cannot start worker: sandbox channel: %s",
		    strerror(errno));
		goto err;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], RPC_WORKER_FD);
	posix_spawn_file_actions_adddup2(&fa, be->out.fd,
	    RPC_WORKER_ARENA_OUT_FD);
	posix_spawn_file_actions_adddup2(&fa, be->in.fd,
	    RPC_WORKER_ARENA_IN_FD);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, ep_fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, ep_fds[1], STDERR_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sbx[1], POLICY_NOTIFY_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, POLICY_NOTIFY_FD + 1);
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
	argv[1] = (char *)"--broker-pid";
	argv[2] = pidarg;
	argv[3] = NULL;
	e = posix_spawn(&pid, broker.cfg.worker_path, &fa, &at, argv,
	    worker_env());
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (e != 0) {
		log_err("cannot start worker %s: %s", broker.cfg.worker_path,
		    strerror(e));
		goto err;
	}
	close(sv[1]);
	close(ep_fds[1]);
	close(sbx[1]);
	sv[1] = ep_fds[1] = sbx[1] = -1;
	sandbox_spawned(pid, sbx[0]);
	sbx[0] = -1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(ep_fds[0], F_SETFL, O_NONBLOCK);

	be->pid = pid;
	be->generation++;
	be->last_start_ms = now_ms();
	be->state = BE_ST_SPAWNED;
	be->said_failed = false;
	be->dirty = false;
	if ((ep = calloc(1, sizeof(*ep))) != NULL) {
		ep->fd = ep_fds[0];
		ep->be = be;
		ep->pid = pid;
		ep->ev = event_new(broker.base, ep->fd, EV_READ | EV_PERSIST,
		    errpipe_cb, ep);
		if (ep->ev == NULL || event_add(ep->ev, NULL) == -1) {
			if (ep->ev)
				event_free(ep->ev);
			free(ep);
			close(ep_fds[0]);
		} else
			TAILQ_INSERT_TAIL(&errpipes, ep, link);
	} else
		close(ep_fds[0]);
	if (backend_connect(be, sv[0]) == -1 || queue_config(be) == -1) {
		sup_worker_lost(be, "cannot set up the RPC socket");
		return 0;	/* the reaper restarts it */
	}
	log_debug("worker %d started (instance %u)", (int)pid, be->generation);
	backend_flush(be);
	return 0;

 err:
	if (sbx[0] != -1)
		close(sbx[0]);
	if (sbx[1] != -1)
		close(sbx[1]);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (ep_fds[0] != -1)
		close(ep_fds[0]);
	if (ep_fds[1] != -1)
		close(ep_fds[1]);
	return -1;
}

/* Take a data request out of pending and answer it with err. */
static void
fail_pending(struct backend *be, struct req *r, int err)
{
	TAILQ_REMOVE(&be->pending, r, bq);
	r->where = REQ_NOWHERE;
	if (r->suspect) {
		r->suspect = false;
		be->nsuspects--;
	}
	r->err = err;
	tx_complete(r, NULL);
}

/* Fail every queued data request of c with err. */
static void
fail_conn_requests(struct backend *be, struct conn *c, int err)
{
	struct req	*r, *next;

	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (r->kind == REQ_DATA && r->conn == c)
			fail_pending(be, r, err);
	}
}

static void
reopen_finished(struct backend *be, struct conn *c)
{
	if (c->flags & CONN_REOPENING) {
		c->flags &= ~CONN_REOPENING;
		be->reopening--;
	}
}

/* Start re-opening the handles of connections the dead worker served. */
static void
reopen_conns(struct backend *be)
{
	struct conn	*c;
	struct req	*r;

	TAILQ_FOREACH(c, &be->conns, belink) {
		if (!(c->flags & CONN_REOPENING))
			continue;
		if ((c->flags & (CONN_DEAD | CONN_STALE)) ||
		    (r = req_new(be, REQ_OPEN, c)) == NULL) {
			/* Its handle died with the worker: what it still
			 * has queued can never be sent (a gone client's
			 * requests just end). */
			reopen_finished(be, c);
			fail_conn_requests(be, c, EIO);
			continue;
		}
		r->reopen = true;
		c->inflight++;	/* pins c like a data request */
		r->where = REQ_PENDING;
		TAILQ_INSERT_HEAD(&be->pending, r, bq);
	}
}

static unsigned
count_data(const struct backend *be)
{
	const struct req	*r;
	unsigned		 n = 0;

	TAILQ_FOREACH(r, &be->pending, bq)
		if (r->kind == REQ_DATA)
			n++;
	return n;
}

int
sup_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd, char *why,
    size_t whylen)
{
	if (!plugin_name_valid(rd->name) || rd->api_version < 1 ||
	    rd->api_version > 2 ||
	    rd->thread_model > RPC_THREAD_MODEL_PARALLEL ||
	    rd->durability > RPC_DURABILITY_VOLATILE) {
		snprintf(why, whylen, "Ready with invalid contents");
		return -1;
	}
	if (be->plugin_name != NULL && strcmp(be->plugin_name, rd->name) != 0)
		log_warn("plugin name changed from %s to %s on restart",
		    be->plugin_name, rd->name);
	free(be->plugin_name);
	if ((be->plugin_name = strdup(rd->name)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	be->api_version = rd->api_version;
	be->thread_model = rd->thread_model;
	be->durability = rd->durability;
	/* The admin's word (policy durability =) over the plugin's. */
	if (broker.cfg.rs.durability >= 0)
		be->durability = broker.cfg.rs.durability;
	be->has_list_exports = rd->has_list_exports;
	be->state = BE_ST_READY;
	if (!be->ever_ready) {
		static const char *const models[] = {
			"serialize_connections", "serialize_all_requests",
			"serialize_requests", "parallel",
		};

		be->ever_ready = true;
		log_msg(broker.started ? LOG_DEBUG : LOG_INFO, "plugin %s "
		    "ready in worker %d (%sAPI %" PRIu32 ", thread model %s)",
		    be->plugin_name, (int)be->pid,
		    rd->nbdkit_plugin ? "nbdkit plugin, " : "",
		    be->api_version, models[be->thread_model]);
		if (!broker.started)
			broker_first_worker_ready();	/* start-up */
	} else
		log_info("worker %d (instance %u) ready %" PRIu64 " ms after "
		    "the last one died; re-opening %u connection(s), "
		    "replaying %u request(s)%s", (int)be->pid, be->generation,
		    now_ms() - be->lost_ms, be->reopening, count_data(be),
		    be->nsuspects ? ", suspects one at a time" : "");
	reopen_conns(be);
	backend_send_pending(be);
	return 0;
}

void
sup_failed(struct backend *be, const Nbdbroker__Rpc__Failed *f)
{
	char	stage[64], msg[1024];

	log_escape(stage, sizeof(stage), f->stage, strlen(f->stage));
	log_escape(msg, sizeof(msg), f->message, strlen(f->message));
	snprintf(be->last_failure, sizeof(be->last_failure),
	    "plugin %s: %s failed: %s", broker.cfg.plugin_arg, stage, msg);
	/* The plugin's own error line usually said it already. */
	if (strcmp(f->message, be->last_worker_err) == 0)
		log_err("plugin %s: %s failed", broker.cfg.plugin_arg, stage);
	else
		log_err("%s", be->last_failure);
}

/*
 * The worker answered a re-open.  The export must look the same as
 * before (size and capabilities), else the client would see different
 * data: it gets EIO and is disconnected.
 */
void
sup_reopen_done(struct backend *be, struct req *r,
    const Nbdbroker__Rpc__OpenReply *rep)
{
	struct conn	*c = r->conn;

	req_free(r);
	c->inflight--;
	reopen_finished(be, c);
	if (c->flags & CONN_DEAD) {
		if (rep->err == 0) {
			c->handle = rep->handle;
			c->flags |= CONN_HANDLE_OPEN;
		}
		conn_close(c, NULL);
		return;
	}
	if (rep->err != 0 || rep->size != c->size ||
	    hs_client_caps(rep->caps) != c->caps ||
	    rep->fua != c->fua || rep->cache != c->cache) {
		if (rep->err != 0)
			conn_log(c, LOG_ERR, "export '%s': re-open after "
			    "worker restart failed: %s", c->export_name,
			    strerror(rep->err));
		else {
			conn_log(c, LOG_ERR, "export '%s' changed across a "
			    "worker restart (size %" PRId64 " -> %" PRId64
			    ", caps 0x%x -> 0x%x): disconnecting",
			    c->export_name, c->size, rep->size, c->caps,
			    rep->caps);
			c->handle = rep->handle;
			c->flags |= CONN_HANDLE_OPEN;
		}
		c->flags |= CONN_STALE;
		fail_conn_requests(be, c, EIO);
		/* Send those EIO replies, then close (conn_flush). */
		conn_log(c, LOG_WARNING, "closing: export changed or "
		    "unavailable after restart");
		conn_set_state(c, CONN_ST_CLOSING, SIZE_MAX);
		conn_mark_dirty(c);
		return;
	}
	c->handle = rep->handle;
	c->flags |= CONN_HANDLE_OPEN;
	backend_send_pending(be);
	tx_inflight_dropped(c);		/* NBD_CMD_DISC came meanwhile? */
}

/*
 * A data request was alone in flight when its worker died (or it hung
 * until the worker was killed): it is the likely cause.  Past the
 * replay limit it fails alone with EIO; otherwise it is replayed.
 * Returns true if it was failed.
 */
static bool
blame(struct backend *be, struct req *r)
{
	unsigned	max = broker.cfg.rs.replays;

	r->crashes++;
	if (r->crashes <= max) {
		log_info("worker %d died with %s offset=%" PRIu64 " count=%"
		    PRIu32 " alone in flight (%u of %u replays): replaying it",
		    (int)be->pid, nbd_cmd_name(r->cmd), r->offset, r->count,
		    r->crashes, max);
		return false;
	}
	log_err("conn %" PRIu64 ": %s offset=%" PRIu64 " count=%" PRIu32
	    " has brought down %u workers: failing it with EIO; the export "
	    "stays up", r->conn->id, nbd_cmd_name(r->cmd), r->offset,
	    r->count, r->crashes);
	fail_pending(be, r, EIO);
	return true;
}

/*
 * The worker is gone or must go: kill it, take back what it had in
 * flight (to replay, in order, on its replacement), and mark every
 * connection it served for re-opening.  A request alone in flight is
 * blamed; several become suspects, replayed one at a time on the next
 * worker.  The restart itself happens when the process has been
 * reaped (sup_reaped).  Idempotent.
 */
void
sup_worker_lost(struct backend *be, const char *why)
{
	struct req_list	 back;
	struct req	*r, *next, *alone = NULL;
	struct conn	*c;
	unsigned	 ndata = 0;
	bool		 lost_data;

	if (be->fd == -1)
		return;
	/* A worker that reported Failed already said why it stops. */
	log_msg(!be->ever_ready && be->last_failure[0] ? LOG_DEBUG :
	    LOG_WARNING, "worker %d (plugin %s): %s", (int)be->pid,
	    be->plugin_name ? be->plugin_name : broker.cfg.plugin_arg, why);
	snprintf(be->lost_why, sizeof(be->lost_why), "%s", why);
	be->lost_ms = now_ms();
	if (be->pid > 0)
		kill(be->pid, SIGKILL);
	backend_disconnect(be);
	lost_data = be->dirty && (be->durability ==
	    RPC_DURABILITY_VOLATILE || be->durability ==
	    RPC_DURABILITY_UNSPECIFIED);
	if (be->state != BE_ST_READY && !be->ever_ready)
		be->state = BE_ST_FAILED;
	else
		be->state = BE_ST_DOWN;

	/* In flight, in send order, goes back to the head of pending. */
	TAILQ_INIT(&back);
	while ((r = TAILQ_FIRST(&be->inflight)) != NULL) {
		TAILQ_REMOVE(&be->inflight, r, bq);
		be->table[r->id & 0xffffffff] = NULL;
		be->ninflight--;
		r->id = 0;
		if (r->kind == REQ_DATA) {
			ndata++;
			alone = r;
		}
		TAILQ_INSERT_TAIL(&back, r, bq);
	}
	TAILQ_CONCAT(&back, &be->pending, bq);
	TAILQ_INIT(&be->pending);
	TAILQ_CONCAT(&be->pending, &back, bq);
	TAILQ_FOREACH(r, &be->pending, bq)
		r->where = REQ_PENDING;

	/* Who is to blame: a hung request, or the only one running. */
	if (be->hung != NULL) {
		r = be->hung;
		be->hung = NULL;
		if (r->suspect) {
			r->suspect = false;
			be->nsuspects--;
		}
		blame(be, r);
	} else if (ndata == 1) {
		if (alone->suspect) {
			alone->suspect = false;
			be->nsuspects--;
		}
		blame(be, alone);
	} else if (ndata > 1) {
		TAILQ_FOREACH(r, &be->pending, bq) {
			if (r->kind == REQ_DATA && r->sent_ms != 0 &&
			    !r->suspect && r->sent_ms >= be->last_start_ms) {
				r->suspect = true;
				be->nsuspects++;
			}
		}
	}
	TAILQ_FOREACH(r, &be->pending, bq)
		r->sent_ms = 0;

	/* Handles of the dead worker: closes are moot, re-opens redone. */
	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (r->kind == REQ_CLOSE || (r->kind == REQ_OPEN && r->reopen)) {
			TAILQ_REMOVE(&be->pending, r, bq);
			r->where = REQ_NOWHERE;
			if (r->kind == REQ_OPEN) {
				struct conn	*oc = r->conn;

				oc->inflight--;
				req_free(r);
				if (oc->flags & CONN_DEAD) {
					reopen_finished(be, oc);
					conn_close(oc, NULL);
				} else
					tx_inflight_dropped(oc);
				continue;
			}
			req_free(r);
		}
	}
	TAILQ_FOREACH(c, &be->conns, belink) {
		if (!(c->flags & (CONN_HANDLE_OPEN | CONN_REOPENING)))
			continue;
		c->flags &= ~CONN_HANDLE_OPEN;
		/* Still negotiating (NBD_OPT_INFO left a handle to close):
		 * the handle died with the worker; nothing to re-open. */
		if (c->state < CONN_ST_TX)
			continue;
		if (lost_data && !(c->flags & CONN_STALE)) {
			c->flags |= CONN_STALE;
			conn_log(c, LOG_ERR, "export '%s': the %s plugin "
			    "keeps its data in the worker, which died after "
			    "accepting writes; this connection gets errors "
			    "from now on", c->export_name,
			    be->plugin_name ? be->plugin_name : "?");
		}
		if (c->flags & CONN_STALE) {
			if (c->flags & CONN_REOPENING)
				reopen_finished(be, c);
			fail_conn_requests(be, c, EIO);
			continue;
		}
		if (!(c->flags & CONN_REOPENING)) {
			c->flags |= CONN_REOPENING;
			be->reopening++;
		}
	}
	if (lost_data)
		log_err("plugin %s: data written to the volatile plugin was "
		    "lost with worker %d; new connections get a fresh disk",
		    be->plugin_name ? be->plugin_name : "?", (int)be->pid);
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be = arg;

	(void)fd;
	(void)what;
	if (broker.shutting_down || be->retiring)
		return;
	if (sup_start(be) == -1) {
		/* Not even spawned: count it as a death and back off. */
		be->lost_ms = now_ms();
		snprintf(be->lost_why, sizeof(be->lost_why),
		    "could not be started");
		sup_reaped(-be->id, 0);
	}
}

/*
 * Schedule the next worker.  Within the policy's intensity (so many
 * deaths per period) the restart is immediate; beyond it the delay
 * starts at 250 ms and doubles up to 30 s, and falls back to zero once
 * deaths are rare again.  Never gives up, never spins.
 */
static void
schedule_restart(struct backend *be)
{
	const struct restart_cfg	*rs = &broker.cfg.rs;
	uint64_t			 now = now_ms();
	unsigned			 i, recent = 0, n = rs->intensity + 1;
	struct timeval			 tv;

	if (broker.shutting_down || be->retiring)
		return;
	be->deaths[be->ndeaths++ % n] = now;
	for (i = 0; i < n && i < be->ndeaths; i++)
		if (now - be->deaths[i] <= rs->period_ms)
			recent++;
	if (recent <= rs->intensity)
		be->backoff_ms = 0;
	else if (be->backoff_ms == 0)
		be->backoff_ms = RESTART_BACKOFF_MIN_MS;
	else if ((be->backoff_ms *= 2) > RESTART_BACKOFF_MAX_MS)
		be->backoff_ms = RESTART_BACKOFF_MAX_MS;
	be->restarts++;
	if (be->ev_restart == NULL &&
	    (be->ev_restart = evtimer_new(broker.base, restart_cb, be)) == NULL)
		fatalx("cannot create a timer");
	tv.tv_sec = be->backoff_ms / 1000;
	tv.tv_usec = (be->backoff_ms % 1000) * 1000;
	if (be->backoff_ms > 0)
		log_warn("plugin %s: more than %u worker deaths in %" PRIu64
		    " s: next start in %u ms (%s)",
		    be->plugin_name ? be->plugin_name : broker.cfg.plugin_arg,
		    rs->intensity, rs->period_ms / 1000, be->backoff_ms,
		    be->lost_why);
	else
		log_info("plugin %s: restarting the worker (%s)",
		    be->plugin_name ? be->plugin_name : broker.cfg.plugin_arg,
		    be->lost_why);
	evtimer_add(be->ev_restart, &tv);
}

static void
describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WTERMSIG(status) == SIGSYS ? ": a sandbox violation" : "");
	else
		snprintf(buf, len, "status 0x%x", status);
}

/*
 * A child was reaped.  For a current worker: finish the loss (if the
 * socket did not already tell us) and restart, or, if the plugin never
 * became ready, fail start-up.  A retiring backend is freed.  A
 * negative pid names a backend (by -id) whose worker could not even
 * be spawned.
 */
void
sup_reaped(pid_t pid, int status)
{
	struct backend	*be = NULL, *b;
	char		 desc[512];

	if (pid < 0) {
		TAILQ_FOREACH(b, &broker.backends, link)
			if ((pid_t)-b->id == pid)
				be = b;
	} else
		be = backend_by_pid(pid);
	if (be == NULL) {
		if (pid > 0)
			sandbox_reaped(pid, status, NULL, 0);	/* forget */
		return;
	}
	if (pid > 0) {
		describe_status(status, desc, sizeof(desc));
		sandbox_reaped(pid, status, desc, sizeof(desc));
		if (be->fd != -1)
			sup_worker_lost(be, desc);
		else if (!broker.shutting_down && !be->retiring) {
			log_msg(!be->ever_ready && be->last_failure[0] ?
			    LOG_DEBUG : LOG_INFO, "worker %d %s", (int)pid,
			    desc);
			snprintf(be->lost_why + strlen(be->lost_why),
			    sizeof(be->lost_why) - strlen(be->lost_why),
			    "; %s", desc);
		}
		be->pid = 0;
	}
	if (be->retiring) {
		backend_free(be);
		return;
	}
	if (!be->ever_ready) {
		be->state = BE_ST_FAILED;
		if (!broker.started) {
			broker_first_worker_failed();	/* start-up: exits */
			return;
		}
	}
	schedule_restart(be);
}

/*
 * Once a second: a request older than the policy's request-timeout
 * gets its worker killed (a hang is handled as a crash, the request is
 * blamed); while a backend has no worker, requests queued longer than
 * the timeout fail with EIO rather than wait forever.
 */
void
sup_tick(void)
{
	struct backend	*be, *bnext;
	struct req	*r, *next;
	uint64_t	 now = now_ms(), limit = broker.cfg.rs.request_timeout_ms;
	uint64_t	 start_limit = limit > SUP_START_TIMEOUT_MS ? limit :
	    SUP_START_TIMEOUT_MS;

	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = bnext) {
		bnext = TAILQ_NEXT(be, link);
		if (be->retiring)
			continue;
		/* A worker that never gets ready is as good as hung. */
		if ((be->state == BE_ST_SPAWNED ||
		    be->state == BE_ST_CONFIGURING) && be->fd != -1 &&
		    now - be->last_start_ms >= start_limit) {
			char	why[128];

			snprintf(why, sizeof(why), "not ready after %" PRIu64
			    " s: killing it", start_limit / 1000);
			sup_worker_lost(be, why);
			continue;
		}
		if (limit == 0)
			continue;
		if (be->state == BE_ST_READY) {
			TAILQ_FOREACH(r, &be->inflight, bq) {
				char	why[160];

				if (now - r->sent_ms < limit)
					continue;
				if (r->kind == REQ_DATA)
					snprintf(why, sizeof(why), "%s "
					    "offset=%" PRIu64 " count=%" PRIu32
					    " took longer than %" PRIu64 " ms: "
					    "killing the worker",
					    nbd_cmd_name(r->cmd), r->offset,
					    r->count, limit);
				else
					snprintf(why, sizeof(why), "a control "
					    "request took longer than %" PRIu64
					    " ms: killing the worker", limit);
				be->hung = r->kind == REQ_DATA ? r : NULL;
				sup_worker_lost(be, why);
				break;
			}
			continue;
		}
		/* No worker: do not let clients wait forever. */
		for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
			next = TAILQ_NEXT(r, bq);
			if (now - r->queued_ms < limit)
				continue;
			if (r->kind == REQ_DATA) {
				if (r->conn->flags & CONN_REOPENING)
					continue;	/* failed below */
				fail_pending(be, r, EIO);
			} else if (r->kind == REQ_OPEN && !r->reopen) {
				TAILQ_REMOVE(&be->pending, r, bq);
				r->where = REQ_NOWHERE;
				r->err = EIO;
				if (r->kind == REQ_OPEN)
					hs_open_done(r->conn, r, NULL);
			} else if (r->kind == REQ_LIST) {
				TAILQ_REMOVE(&be->pending, r, bq);
				r->where = REQ_NOWHERE;
				r->err = EIO;
				hs_list_done(r->conn, r, NULL);
			}
		}
		if (be->state == BE_ST_DOWN && be->lost_ms != 0 &&
		    now - be->lost_ms >= limit) {
			struct conn	*c;

			/* Connections waiting to re-open give up too. */
			TAILQ_FOREACH(c, &be->conns, belink)
				if ((c->flags & CONN_REOPENING) &&
				    !(c->flags & CONN_DEAD))
					fail_conn_requests(be, c, EIO);
		}
	}
}

/*
 * Shutdown: hang up on every worker so it unloads its plugin and
 * exits, wait up to 2 s for all of them, then kill the rest.  Blocking
 * is fine here: the event loop is over.
 */
void
sup_stop_all(void)
{
	struct backend	*be;
	int		 i, status, left;

	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->ev_restart != NULL)
			evtimer_del(be->ev_restart);
		backend_disconnect(be);
	}
	for (i = 0; i < 200; i++) {
		left = 0;
		TAILQ_FOREACH(be, &broker.backends, link) {
			pid_t	r;

			if (be->pid <= 0)
				continue;
			r = waitpid(be->pid, &status, WNOHANG);
			if (r == be->pid || (r == -1 && errno == ECHILD))
				be->pid = 0;
			else
				left++;
		}
		if (left == 0)
			return;
		usleep(10000);
	}
	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->pid <= 0)
			continue;
		log_warn("worker %d did not exit; killing it", (int)be->pid);
		kill(be->pid, SIGKILL);
		while (waitpid(be->pid, &status, 0) == -1 && errno == EINTR)
			;
		be->pid = 0;
	}
}
