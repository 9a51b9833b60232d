/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker supervisor: the restart policy.  It starts workers
 * (spawn.c does the spawning), notices their death (the socket
 * closing, SIGCHLD, a request or a start-up that takes too long),
 * blames the request that killed a worker, restarts workers with
 * backoff, re-opens every connection's handle on the new worker and
 * has backend.c replay, in order, what the dead one had in flight.
 *
 * Honest durability: a volatile plugin (or one that does not say)
 * that accepted writes loses them with its worker.  Connections that
 * were open to it then get EIO for every request instead of silently
 * different data; new connections get a fresh disk.
 *
 * With isolation = connection a client's worker starts only once its
 * handshake needs the plugin (sup_conn_backend: an export or the
 * export list, so after TLS where TLS is required), and only
 * --max-starting workers start at once; the other clients wait their
 * turn in broker.start_waiters.  A connection that never asks costs
 * no process.
 *
 * This file owns a backend's restart fields and its state changes
 * (but Hello's), the start slots, and the CONN_REOPENING and
 * CONN_WAIT_START flags of connections.  It
 * reads the request queues; it changes them only through backend.c.
 *
 * Runs in the event loop only; never blocks (but sup_stop_all, after
 * the loop).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "names.h"
#include "policy.h"

#define SUP_START_TIMEOUT_MS	(10 * 1000)	/* Hello to Ready, at least */
#define SUP_TAIL_MAX		600		/* a log line's key=value tail */

/*
 * The key=value tail of a log line about be's worker pid (0: none),
 * so that operators can grep: plugin=, worker=, cause= (if not NULL)
 * and policy=.  Into buf; returns buf.
 */
static const char *
sup_tail(const struct backend *be, pid_t pid, const char *cause, char *buf,
    size_t len)
{
	const struct policy	*p = policy_load_parsed();
	char			 num[16];

	buf[0] = '\0';
	log_kv(buf, len, "plugin", backend_name(be));
	if (pid > 0) {
		snprintf(num, sizeof(num), "%d", (int)pid);
		log_kv(buf, len, "worker", num);
	}
	if (cause != NULL)
		log_kv(buf, len, "cause", cause);
	if (p != NULL && p->file != NULL)
		log_kv(buf, len, "policy", p->file);
	return buf;
}

/* Starting. */

/*
 * Start a worker for be: spawn it (spawn.c), begin its life in the
 * backend and queue its Hello (its Config follows its Hello).  Returns 0 (the worker
 * reports Ready or Failed later, or dies), or -1 if it could not even
 * be spawned.
 */
int
sup_start(struct backend *be)
{
	pid_t	pid;
	int	fd;

	ring_reset(be);		/* its predecessor is gone */
	if (spawn_worker(be, &pid, &fd) == -1)
		return -1;
	be->pid = pid;
	be->generation++;
	be->last_start_ms = now_ms();
	be->state = BE_ST_SPAWNED;
	be->said_failed = false;
	be->dirty = false;
	if (backend_connect(be, fd) == -1 || spawn_queue_hello(be) == -1) {
		sup_worker_lost(be, "cannot set up the RPC socket");
		return 0;	/* the reaper restarts it */
	}
	if (be->spare_of == NULL)	/* a spare counts when it is used */
		metrics.worker_starts++;
	log_debug("worker %d started (instance %u)", (int)pid, be->generation);
	return 0;
}

/* Start slots: isolation = connection. */

static unsigned
max_starting(void)
{
	return broker.cfg.max_starting > 0 ? broker.cfg.max_starting :
	    BROKER_DEFAULT_MAX_STARTING;
}

/* Start c's own worker in a free slot.  0, or -1 (logged). */
static int
start_conn_worker(struct conn *c)
{
	struct backend	*be;

	if ((be = backend_new()) == NULL || sup_start(be) == -1) {
		conn_log(c, LOG_ERR, "cannot start a worker");
		if (be != NULL)
			backend_free(be);
		return -1;
	}
	be->starting = true;
	broker.nstarting++;
	backend_attach(be, c);
	return 0;
}

/*
 * The backend that serves c's handshake, once it needs the plugin.
 * Returns 1 when c->be is there to take requests (the shared backend,
 * or c's own worker, starting), 0 when c waits for a start slot
 * (hs_resume runs the option again once it has one), or -1 when no
 * worker can be started (logged; the caller closes c).
 */
int
sup_conn_backend(struct conn *c)
{
	if (c->be != NULL)
		return 1;
	if (broker.nstarting < max_starting() &&
	    TAILQ_EMPTY(&broker.start_waiters))
		return start_conn_worker(c) == 0 ? 1 : -1;
	conn_log(c, LOG_INFO, "waiting for a worker start (%u starting)",
	    broker.nstarting);
	c->flags |= CONN_WAIT_START;
	TAILQ_INSERT_TAIL(&broker.start_waiters, c, slink);
	conn_set_state(c, CONN_ST_HS_WAIT, SIZE_MAX);
	return 0;
}

/* c goes (closed): it no longer waits for a start slot. */
void
sup_start_unqueue(struct conn *c)
{
	if (!(c->flags & CONN_WAIT_START))
		return;
	TAILQ_REMOVE(&broker.start_waiters, c, slink);
	c->flags &= ~CONN_WAIT_START;
}

/* Free slots go to the clients that waited longest, in a pass. */
static void
start_grant_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c;

	(void)fd;
	(void)what;
	(void)arg;
	broker.start_granting = false;
	backend_pass_begin();
	while (!broker.shutting_down && broker.nstarting < max_starting() &&
	    (c = TAILQ_FIRST(&broker.start_waiters)) != NULL) {
		sup_start_unqueue(c);
		if (start_conn_worker(c) == -1)
			conn_close(c, "cannot start a worker");
		else
			hs_resume(c);
	}
	backend_pass_end();
}

/*
 * be's first worker is ready, is gone, or its connection went: its
 * start slot is free for the next client waiting.
 */
void
sup_start_done(struct backend *be)
{
	if (be == NULL || !be->starting)
		return;
	be->starting = false;
	broker.nstarting--;
	if (TAILQ_EMPTY(&broker.start_waiters) || broker.start_granting)
		return;
	if (event_base_once(broker.base, -1, EV_TIMEOUT, start_grant_cb,
	    NULL, NULL) == 0)
		broker.start_granting = true;
	else
		log_err("cannot schedule worker starts: out of memory");
}

/* Re-opening: each connection's handle on a new worker. */

static void
reopen_begin(struct conn *c)
{
	c->flags |= CONN_REOPENING;
}

static void
reopen_end(struct conn *c)
{
	c->flags &= ~CONN_REOPENING;
}

/* How many of be's connections wait to re-open their handle. */
unsigned
sup_reopening(const struct backend *be)
{
	const struct conn	*c;
	unsigned		 n = 0;

	TAILQ_FOREACH(c, &be->conns, belink)
		if (c->flags & CONN_REOPENING)
			n++;
	return n;
}

/*
 * A re-open request is over (answered, or dropped with its worker):
 * free it and unpin its connection.  Returns the connection.
 */
static struct conn *
reopen_unpin(struct req *r)
{
	struct conn	*c = r->conn;

	req_free(r);
	c->inflight--;
	return c;
}

/*
 * The new worker is ready: queue a re-open, ahead of everything, for
 * each connection that had a handle on the dead one.  A connection
 * that is gone or stale re-opens nothing, and what it still has
 * queued can never be sent (a gone client's requests just end).
 */
static void
reopen_conns(struct backend *be)
{
	struct conn	*c, *next;
	struct req	*r;

	for (c = TAILQ_FIRST(&be->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, belink);
		if (!(c->flags & CONN_REOPENING))
			continue;
		if ((c->flags & (CONN_DEAD | CONN_STALE)) ||
		    (r = req_new(be, REQ_OPEN, c)) == NULL) {
			reopen_end(c);
			backend_fail_conn(be, c, EIO);
			continue;
		}
		r->reopen = true;
		c->inflight++;	/* pins c like a data request */
		backend_submit_first(be, r);
	}
}

/*
 * The export must look as it did before the restart (or the reload):
 * the same size, FUA and cache modes, and every capability the client
 * was told of (a new one is not advertised: the client negotiated
 * without it).
 */
bool
sup_export_fits(const struct conn *c, const Nbdbroker__Rpc__OpenReply *rep)
{
	return rep->size == c->size &&
	    (hs_client_caps(rep->caps) & c->caps) == c->caps &&
	    rep->fua == c->fua && rep->cache == c->cache;
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
	struct conn	*c = reopen_unpin(r);

	if (be->probe) {		/* a reload's next worker checks */
		reload_probe_opened(be, c, rep);
		if (c->flags & CONN_DEAD)
			conn_close(c, NULL);
		else
			tx_inflight_dropped(c);
		return;
	}
	reopen_end(c);
	if (rep->err == 0)
		backend_take_handle(c, rep->handle);
	if (c->flags & CONN_DEAD) {
		conn_close(c, NULL);	/* frees once the handle is closed */
		return;
	}
	if (rep->err != 0 || !sup_export_fits(c, rep)) {
		char	en[CONN_LOG_NAME];

		conn_escape(en, sizeof(en), c->export_name);
		if (rep->err != 0)
			conn_log(c, LOG_ERR, "export '%s': re-open after "
			    "worker restart failed: %s", en,
			    strerror(rep->err));
		else
			conn_log(c, LOG_ERR, "export '%s' changed across a "
			    "worker restart (size %" PRId64 " -> %" PRId64
			    ", caps 0x%x -> 0x%x): disconnecting",
			    en, c->size, rep->size, c->caps, rep->caps);
		c->flags |= CONN_STALE;
		backend_fail_conn(be, c, EIO);
		/* Send those EIO replies, then close. */
		conn_log(c, LOG_WARNING, "closing: export changed or "
		    "unavailable after restart");
		conn_close_after_output(c);
		return;
	}
	backend_kick(be);		/* its requests may go now */
	tx_inflight_dropped(c);		/* NBD_CMD_DISC came meanwhile? */
}

/* Ready and Failed. */

/* Data requests waiting for the new worker. */
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

/*
 * The worker is ready (backend-msg.c checked the permit table): record
 * what the plugin says about itself, re-open the connections' handles
 * and let the replay begin.  Returns 0, or -1 with why for a Ready the
 * broker must not believe.
 */
int
sup_ready(struct backend *be, const Nbdbroker__Rpc__Ready *rd, char *why,
    size_t whylen)
{
	char	tail[SUP_TAIL_MAX];

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
	learn_magic_key(rd->magic_config_key);
	if (be->probe) {
		reload_probe_ready(be, rd);
		return 0;
	}
	sup_start_done(be);
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
	} else if (be->reload == NULL)
		log_info("worker %d (instance %u) ready %" PRIu64 " ms after "
		    "the last one died; re-opening %u connection(s), "
		    "replaying %u request(s)%s%s", (int)be->pid, be->generation,
		    now_ms() - be->lost_ms, sup_reopening(be), count_data(be),
		    be->nsuspects ? ", suspects one at a time" : "",
		    sup_tail(be, be->pid, NULL, tail, sizeof(tail)));
	reopen_conns(be);
	if (be->reload != NULL)
		reload_ready(be, rd);	/* logs the switch */
	backend_kick(be);
	spare_later(be);	/* after the replay, not before */
	return 0;
}

/* The worker's start-up failed: say where (it exits next). */
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

/* Loss: a worker dies or is killed. */

/*
 * A data request was alone in flight when its worker died (or it hung
 * until the worker was killed): it is the likely cause.  Past the
 * replay limit it fails alone with EIO; otherwise it is replayed.
 */
static void
blame(struct backend *be, struct req *r)
{
	unsigned	max = broker.cfg.rs.replays;
	char		tail[SUP_TAIL_MAX];

	backend_unsuspect(be, r);
	r->crashes++;
	sup_tail(be, be->pid, NULL, tail, sizeof(tail));
	if (r->crashes <= max) {
		log_info("worker %d died with %s offset=%" PRIu64 " count=%"
		    PRIu32 " alone in flight (%u of %u replays): replaying it%s",
		    (int)be->pid, nbd_cmd_name(r->cmd), r->offset, r->count,
		    r->crashes, max, tail);
		return;
	}
	if (r->conn->export_name != NULL) {
		char	esc[256];

		log_kv(tail, sizeof(tail), "export", log_escape(esc, sizeof(esc),
		    r->conn->export_name, strlen(r->conn->export_name)));
	}
	log_kv(tail, sizeof(tail), "errno", "EIO");
	log_err("conn %" PRIu64 ": %s offset=%" PRIu64 " count=%" PRIu32
	    " has brought down %u workers: failing it with EIO; the export "
	    "stays up%s", r->conn->id, nbd_cmd_name(r->cmd), r->offset,
	    r->count, r->crashes, tail);
	metrics.poison++;
	backend_fail(be, r, EIO);
}

/*
 * Take back what the dead worker had in flight, to replay in order,
 * and decide who is to blame: a request that hung (sup_tick), or the
 * only data request running.  Several running become suspects,
 * replayed one at a time on the next worker.
 */
static void
take_back(struct backend *be)
{
	struct req	*hung = be->hung, *last;
	unsigned	 ndata;

	be->hung = NULL;
	ndata = backend_inflight_data(be, &last);
	backend_requeue_inflight(be, hung == NULL && ndata > 1);
	metrics.replays += ndata;
	if (hung != NULL)
		blame(be, hung);
	else if (ndata == 1)
		blame(be, last);
}

/*
 * Requests for the dead worker's handles: a Close is moot; a re-open
 * is redone when the next worker is ready (reopen_conns), unless its
 * connection is gone meanwhile.
 */
static void
drop_dead_handles(struct backend *be)
{
	struct req	*r, *next;
	struct conn	*c;

	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (r->kind == REQ_CLOSE)
			backend_fail(be, r, EIO);
		else if (r->kind == REQ_OPEN && r->reopen) {
			backend_unqueue(be, r);
			c = reopen_unpin(r);
			if (c->flags & CONN_DEAD) {
				reopen_end(c);
				conn_close(c, NULL);
			} else
				tx_inflight_dropped(c);
		}
	}
}

/*
 * Every connection's handle died with the worker.  One in transmission
 * re-opens it on the next worker, unless the export's data went with
 * the worker (lost_data), or it was stale already: then it gets EIO
 * for everything from now on.
 */
static void
handles_lost(struct backend *be, bool lost_data)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&be->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, belink);
		if (!(c->flags & (CONN_HANDLE_OPEN | CONN_REOPENING)))
			continue;
		c->flags &= ~CONN_HANDLE_OPEN;
		/* Still negotiating (NBD_OPT_INFO left a handle to close):
		 * the handle died with the worker; nothing to re-open. */
		if (c->state < CONN_ST_TX)
			continue;
		if (lost_data && !(c->flags & CONN_STALE)) {
			char	en[CONN_LOG_NAME];

			c->flags |= CONN_STALE;
			conn_log(c, LOG_ERR, "export '%s': the %s plugin "
			    "keeps its data in the worker, which died after "
			    "accepting writes; this connection gets errors "
			    "from now on",
			    conn_escape(en, sizeof(en), c->export_name),
			    be->plugin_name ? be->plugin_name : "?");
		}
		if (c->flags & CONN_STALE) {
			reopen_end(c);
			backend_fail_conn(be, c, EIO);
			continue;
		}
		reopen_begin(c);
	}
}

/*
 * The worker is gone or must go: kill it, take back what it had in
 * flight (to replay, in order, on its replacement), and mark every
 * connection it served for re-opening.  The restart itself happens
 * when the process has been reaped (sup_reaped).  Idempotent.
 */
static void
worker_lost(struct backend *be, const char *why, const char *cause)
{
	char	tail[SUP_TAIL_MAX];
	bool	lost_data;

	if (be->fd == -1)
		return;
	/*
	 * A worker that reported Failed already said why it stops; a
	 * closed socket is followed by the reaping, which says how it
	 * died (one line per death).
	 */
	log_msg((!be->ever_ready && be->last_failure[0]) ||
	    strcmp(why, "RPC socket closed") == 0 ? LOG_DEBUG : LOG_WARNING,
	    "worker %d (plugin %s): %s%s", (int)be->pid, backend_name(be), why,
	    sup_tail(be, be->pid, cause, tail, sizeof(tail)));
	snprintf(be->lost_why, sizeof(be->lost_why), "%s", why);
	be->lost_ms = now_ms();
	sup_start_done(be);
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
	if (be->reload != NULL && !be->probe)
		reload_worker_lost(be);	/* before take_back: counts replays */
	take_back(be);
	drop_dead_handles(be);
	handles_lost(be, lost_data);
	if (lost_data)
		log_err("plugin %s: data written to the volatile plugin was "
		    "lost with worker %d; new connections get a fresh disk",
		    be->plugin_name ? be->plugin_name : "?", (int)be->pid);
}

void
sup_worker_lost(struct backend *be, const char *why)
{
	worker_lost(be, why, NULL);
}

/* Restarts. */

static void	worker_gone(struct backend *be);
static void	spawn_failed(struct backend *be);

/*
 * A reload's planned switch (reload.c): be's worker has nothing in
 * flight.  Hang up on it (it closes its handles, unloads the plugin and
 * exits; the reaper forgets it), mark every connection to re-open its
 * handle, and start the next worker at once, on the other ring set
 * (the old worker may still look at its own while it exits).  As after
 * a crash, requests wait in pending until the new worker is ready and
 * their connection has re-opened.  lost_data: a forced reload of a
 * volatile plugin; its connections get errors from now on.  Returns
 * the old worker's pid.
 */
pid_t
sup_switch(struct backend *be, bool lost_data)
{
	pid_t	old = be->pid;

	snprintf(be->lost_why, sizeof(be->lost_why), "reloaded");
	be->lost_ms = now_ms();
	backend_disconnect(be);
	be->state = BE_ST_DOWN;
	drop_dead_handles(be);
	handles_lost(be, lost_data);
	if (lost_data)
		log_err("plugin %s: data written to the volatile plugin was "
		    "dropped with worker %d by a forced reload; new "
		    "connections get a fresh disk", backend_name(be), (int)old);
	be->pid = 0;
	ring_switch_set(be);
	if (sup_start(be) == -1)
		spawn_failed(be);
	return old;
}

/* The next worker could not even be spawned: a death all the same. */
static void
spawn_failed(struct backend *be)
{
	be->lost_ms = now_ms();
	snprintf(be->lost_why, sizeof(be->lost_why), "could not be started");
	worker_gone(be);
}

static void
restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be = arg;

	(void)fd;
	(void)what;
	if (broker.shutting_down || be->retiring)
		return;
	backend_pass_begin();
	if (spare_take(be) == -1 && sup_start(be) == -1)
		spawn_failed(be);
	backend_pass_end();
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
	char				 tail[SUP_TAIL_MAX];

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
	sup_tail(be, 0, NULL, tail, sizeof(tail));
	if (be->backoff_ms > 0)
		log_warn("plugin %s: more than %u worker deaths in %" PRIu64
		    " s: next start in %u ms (%s)%s", backend_name(be),
		    rs->intensity, rs->period_ms / 1000, be->backoff_ms,
		    be->lost_why, tail);
	else
		log_info("plugin %s: restarting the worker (%s)%s",
		    backend_name(be), be->lost_why, tail);
	evtimer_add(be->ev_restart, &tv);
}

/*
 * The worker process is gone for good (reaped, or never spawned): a
 * retiring backend is freed; one whose plugin never became ready
 * fails start-up; any other gets its next worker.
 */
static void
worker_gone(struct backend *be)
{
	if (be->probe) {
		reload_probe_gone(be);	/* frees it */
		return;
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
 * socket did not already tell us), then worker_gone.  Other children
 * are only forgotten.
 */
void
sup_reaped(pid_t pid, int status)
{
	struct backend	*be;
	char		 desc[512], tail[SUP_TAIL_MAX];
	const char	*cause;

	if ((be = backend_by_pid(pid)) == NULL) {
		reload_reaped(pid, status);	/* a replaced worker? */
		tripwire_reaped(pid, status, NULL, 0);	/* forget */
		cgroup_worker_release(pid, NULL, 0);
		return;
	}
	describe_status(status, desc, sizeof(desc));
	tripwire_reaped(pid, status, desc, sizeof(desc));
	if (be->spare_of != NULL) {	/* died unused: not a crash */
		cgroup_worker_release(pid, desc, sizeof(desc));
		spare_reaped(be, desc);
		return;
	}
	cause = metrics_worker_reaped(pid, status, be->retiring);
	cgroup_worker_release(pid, desc, sizeof(desc));
	if (be->fd != -1)
		worker_lost(be, desc, cause);
	else if (!broker.shutting_down && !be->retiring) {
		/* A sandbox kill is a warning (README, "Tripwires"). */
		log_msg(!be->ever_ready && be->last_failure[0] ? LOG_DEBUG :
		    strcmp(cause, "tripwire") == 0 ? LOG_WARNING : LOG_INFO,
		    "worker %d %s%s", (int)pid, desc,
		    sup_tail(be, pid, cause, tail, sizeof(tail)));
		snprintf(be->lost_why + strlen(be->lost_why),
		    sizeof(be->lost_why) - strlen(be->lost_why), "; %s",
		    desc);
	}
	be->pid = 0;
	worker_gone(be);
}

/* Timeouts. */

/* A worker that never gets ready is as good as hung.  True if killed. */
static bool
tick_start(struct backend *be, uint64_t now, uint64_t limit)
{
	char	why[128];

	if ((be->state != BE_ST_SPAWNED && be->state != BE_ST_CONFIGURING) ||
	    be->fd == -1 || now - be->last_start_ms < limit)
		return false;
	snprintf(why, sizeof(why), "not ready after %" PRIu64 " s: killing "
	    "it", limit / 1000);
	metrics_worker_cause(be->pid, MX_DEATH_TIMEOUT);
	sup_worker_lost(be, why);
	return true;
}

/* A request in flight for longer than limit: kill its worker. */
static void
tick_hung(struct backend *be, uint64_t now, uint64_t limit)
{
	struct req	*r;
	char		 why[160];

	TAILQ_FOREACH(r, &be->inflight, bq) {
		if (now - r->sent_ms < limit)
			continue;
		if (r->kind == REQ_DATA)
			snprintf(why, sizeof(why), "%s offset=%" PRIu64
			    " count=%" PRIu32 " took longer than %" PRIu64
			    " ms: killing the worker", nbd_cmd_name(r->cmd),
			    r->offset, r->count, limit);
		else
			snprintf(why, sizeof(why), "a control request took "
			    "longer than %" PRIu64 " ms: killing the worker",
			    limit);
		be->hung = r->kind == REQ_DATA ? r : NULL;
		metrics_worker_cause(be->pid, MX_DEATH_TIMEOUT);
		sup_worker_lost(be, why);
		return;
	}
}

/* No worker: requests queued longer than limit fail with EIO. */
static void
tick_no_worker(struct backend *be, uint64_t now, uint64_t limit)
{
	struct req	*r, *next;
	struct conn	*c, *cnext;

	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (now - r->queued_ms < limit)
			continue;
		if (r->kind == REQ_DATA && (r->conn->flags & CONN_REOPENING))
			continue;	/* failed below */
		if (r->kind == REQ_CLOSE || (r->kind == REQ_OPEN && r->reopen))
			continue;
		backend_fail(be, r, EIO);
	}
	if (be->state != BE_ST_DOWN || be->lost_ms == 0 ||
	    now - be->lost_ms < limit)
		return;
	/* Connections waiting to re-open give up too. */
	for (c = TAILQ_FIRST(&be->conns); c != NULL; c = cnext) {
		cnext = TAILQ_NEXT(c, belink);
		if ((c->flags & CONN_REOPENING) && !(c->flags & CONN_DEAD))
			backend_fail_conn(be, c, EIO);
	}
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
	uint64_t	 now = now_ms(), limit = broker.cfg.rs.request_timeout_ms;
	uint64_t	 start_limit = limit > SUP_START_TIMEOUT_MS ? limit :
	    SUP_START_TIMEOUT_MS;

	for (be = TAILQ_FIRST(&broker.backends); be != NULL; be = bnext) {
		bnext = TAILQ_NEXT(be, link);
		if (be->retiring || be->spare_of != NULL)
			continue;	/* a spare waits as long as it must */
		if (tick_start(be, now, start_limit) || limit == 0)
			continue;
		if (be->state == BE_ST_READY)
			tick_hung(be, now, limit);
		else
			tick_no_worker(be, now, limit);
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
			goto out;
		tripwire_wait(10);	/* answers unloading workers */
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
 out:
	cgroup_stop();		/* the cgroups of workers reaped here */
}
