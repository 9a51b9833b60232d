/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A backend: one plugin instance, its payload arenas, its request
 * queues and the RPC socket to the worker process serving it.
 *
 * This file is the only one that changes a backend's request queues
 * and table: requests are queued (backend_submit), sent in batches,
 * answered (backend_answered, for backend-msg.c), failed without an
 * answer (backend_fail) and taken back from a dead worker
 * (backend_requeue_inflight, for supervisor.c).  Other files read the
 * queues and ask.
 *
 * Sending is batched per pass: queueing a request or a control message
 * only kicks the backend (backend_kick).  The broker's I/O callbacks
 * run as passes (backend_pass_begin ... backend_pass_end); the end of
 * a pass sends each kicked backend's requests in one batch and writes
 * what connections have queued.
 *
 * What the worker sends is read here and checked in backend-msg.c.
 * The worker is untrusted; nothing here trusts what it says.
 *
 * Runs in the event loop only; never blocks.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define BE_READ_CHUNK	(256 * 1024)
/*
 * Until Ready a worker sends small control messages only (Hello, Log,
 * Ready, Failed), and a spare may hold its buffer for long: reading
 * them 4 KiB at a time keeps a spare from holding 256 KiB besides the
 * serving worker's (a crash storm's RssAnon stepped up by 256 KiB the
 * first time both were large at once).
 */
#define BE_READ_CHUNK_START	4096
#define BE_ID_INDEX(id)	((uint32_t)((id) & 0xffffffff))

static void	backend_read_cb(evutil_socket_t, short, void *);
static void	backend_write_cb(evutil_socket_t, short, void *);
static void	backend_send_cb(evutil_socket_t, short, void *);

/* Backends kicked since their last send (backend_kick). */
static TAILQ_HEAD(, backend)	kicked = TAILQ_HEAD_INITIALIZER(kicked);
static bool			in_pass;	/* pass_end comes */

/* Lifetime. */

/*
 * A new backend with no worker yet (sup_start starts one): with arenas
 * of its own, or (for a reload's next worker, or a spare) on those of
 * on, and the other ring set.  A spare gets no request table and no
 * ring of death times: it is sent no request and never restarted (its
 * worker goes to on's backend, whose table serves it, and its backend
 * is freed), and a crash storm makes and frees one per death, so the
 * 40 KiB it would allocate each time only churn the heap.  Returns
 * it, or NULL.  Freed by backend_free, or through backend_retire.
 */
static struct backend *
backend_make(struct backend *on, bool spare)
{
	struct backend	*be;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return NULL;
	be->id = ++broker.next_backend_id;
	be->fd = -1;
	be->evfd = -1;
	be->state = BE_ST_DOWN;
	TAILQ_INIT(&be->pending);
	TAILQ_INIT(&be->inflight);
	TAILQ_INIT(&be->conns);
	TAILQ_INIT(&be->waiters);
	if (!spare) {
		be->table = calloc(BACKEND_MAX_INFLIGHT, sizeof(*be->table));
		be->deaths = calloc(broker.cfg.rs.intensity + 1,
		    sizeof(uint64_t));
		if (be->table == NULL || be->deaths == NULL)
			goto err;
	}
	/* Persistent: only ever activated, never added or deleted. */
	be->ev_send = event_new(broker.base, -1, EV_PERSIST, backend_send_cb,
	    be);
	if (be->ev_send == NULL)
		goto err;
	if (on != NULL) {
		/* Borrowed: the probe never takes a slot. */
		be->out = on->out;
		be->in = on->in;
		be->borrowed = true;
		be->probe = !spare;
	} else {
		/* The ring sets come on top of the payload space. */
		if (arena_init(&be->out, broker.cfg.arena_size +
		    RPC_RING_OUT_REGION, true) == -1 || arena_init(&be->in,
		    broker.cfg.arena_size + RPC_RING_IN_REGION, false) == -1) {
			log_err("cannot create payload arenas: %s",
			    strerror(errno));
			goto err;
		}
		arena_reserve_head(&be->out, RPC_RING_OUT_REGION);
		arena_reserve_head(&be->in, RPC_RING_IN_REGION);
	}
	if (ring_init(be, on != NULL ? on->ring_set ^ 1 : 0) == -1) {
		log_err("cannot create the worker's doorbell: %s",
		    strerror(errno));
		goto err;
	}
	TAILQ_INSERT_TAIL(&broker.backends, be, link);
	return be;

 err:
	ring_destroy(be);
	if (!be->borrowed) {
		arena_destroy(&be->out);
		arena_destroy(&be->in);
	}
	if (be->ev_send != NULL)
		event_free(be->ev_send);
	free(be->table);
	free(be->deaths);
	free(be);
	return NULL;
}

struct backend *
backend_new(void)
{
	return backend_make(NULL, false);
}

/*
 * A reload's next worker for be: a backend of its own (its socket,
 * table and doorbell) on be's arenas, with the ring set be's worker
 * does not use.  Once it is checked, backend_swap gives its worker to
 * be.  NULL on failure (logged).
 */
struct backend *
backend_new_probe(struct backend *be)
{
	return backend_make(be, false);
}

/*
 * be's spare worker (spare.c): like a probe, on be's arenas and the
 * other ring set, but no reload's, and with no request table.
 */
struct backend *
backend_new_spare(struct backend *be)
{
	return backend_make(be, true);
}

/* Free be, which has no connections left; never from its own events. */
void
backend_free(struct backend *be)
{
	struct req	*r;

	spawn_backend_gone(be);
	reload_backend_gone(be);
	spare_backend_gone(be);
	/* Only control requests can be left: connections are gone. */
	while ((r = TAILQ_FIRST(&be->pending)) != NULL) {
		TAILQ_REMOVE(&be->pending, r, bq);
		r->where = REQ_NOWHERE;
		req_free(r);
	}
	while ((r = TAILQ_FIRST(&be->inflight)) != NULL) {
		TAILQ_REMOVE(&be->inflight, r, bq);
		r->where = REQ_NOWHERE;
		req_free(r);
	}
	TAILQ_REMOVE(&broker.backends, be, link);
	if (be->kicked)
		TAILQ_REMOVE(&kicked, be, kicklink);
	event_free(be->ev_send);
	ring_destroy(be);
	if (be->ev_restart != NULL)
		event_free(be->ev_restart);
	if (be->ev_retire != NULL)
		event_free(be->ev_retire);
	if (!be->borrowed) {
		arena_destroy(&be->out);
		arena_destroy(&be->in);
	}
	rpc_buf_free(&be->rbuf);
	rpc_buf_free(&be->wbuf);
	free(be->plugin_name);
	free(be->table);
	free(be->deaths);
	free(be);
}

struct backend *
backend_by_pid(pid_t pid)
{
	struct backend	*be;

	TAILQ_FOREACH(be, &broker.backends, link)
		if (be->pid == pid)
			return be;
	return NULL;
}

static void
retire_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be = arg;

	(void)fd;
	(void)what;
	if (be->pid > 0) {
		log_warn("worker %d did not exit after its connection "
		    "closed; killing it", (int)be->pid);
		kill(be->pid, SIGKILL);
	}
}

static void
retire_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	backend_free(arg);
}

/*
 * A per-connection backend whose connection is gone: hang up on the
 * worker (it unloads the plugin and exits) and free the backend once
 * the worker has been reaped (sup_reaped), killing it if it lingers.
 * With no worker, it is freed from the event loop, never here: the
 * caller may be walking the backend's requests (sup_tick failing
 * them).
 */
void
backend_retire(struct backend *be)
{
	struct timeval	tv = { RESTART_RETIRE_MS / 1000,
	    (RESTART_RETIRE_MS % 1000) * 1000 };

	be->retiring = true;
	if (be->ev_restart != NULL)
		evtimer_del(be->ev_restart);
	backend_disconnect(be);
	be->state = BE_ST_DOWN;
	if (be->pid <= 0) {
		if (event_base_once(broker.base, -1, EV_TIMEOUT,
		    retire_free_cb, be, NULL) == -1)
			log_err("cannot free a retired backend: out of "
			    "memory");	/* a leak, not a use after free */
		return;
	}
	if ((be->ev_retire = evtimer_new(broker.base, retire_kill_cb,
	    be)) != NULL)
		evtimer_add(be->ev_retire, &tv);
}

/* How logs name be's plugin: as Ready said, else as given. */
const char *
backend_name(const struct backend *be)
{
	return be->plugin_name != NULL ? be->plugin_name :
	    broker.cfg.plugin_arg;
}

void
backend_attach(struct backend *be, struct conn *c)
{
	c->be = be;
	TAILQ_INSERT_TAIL(&be->conns, c, belink);
}

void
backend_detach(struct backend *be, struct conn *c)
{
	TAILQ_REMOVE(&be->conns, c, belink);
}

/* Requests: the queues and the table. */

/*
 * Freed requests kept for reuse, so that the data path does not call
 * malloc per request; at most REQ_CACHE_MAX of them (a burst beyond
 * that goes back to malloc).  Chained through bq.tqe_next.
 */
#define REQ_CACHE_MAX	1024
static struct req	*req_cache;
static unsigned		 req_ncached;

/* A new request, in no queue.  Returns it (free with req_free), or NULL. */
struct req *
req_new(struct backend *be, enum req_kind kind, struct conn *c)
{
	struct req	*r;

	if ((r = req_cache) != NULL) {
		req_cache = TAILQ_NEXT(r, bq);
		req_ncached--;
		memset(r, 0, sizeof(*r));
	} else if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->kind = kind;
	r->conn = c;
	r->be = be;
	return r;
}

void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	assert(r->where == REQ_NOWHERE);
	free(r->extra);
	if (req_ncached >= REQ_CACHE_MAX) {
		free(r);
		return;
	}
	TAILQ_NEXT(r, bq) = req_cache;
	req_cache = r;
	req_ncached++;
}

/* Queue r for the worker; it is sent at the end of this loop pass. */
void
backend_submit(struct backend *be, struct req *r)
{
	r->queued_ms = now_ms();
	r->where = REQ_PENDING;
	TAILQ_INSERT_TAIL(&be->pending, r, bq);
	backend_kick(be);
}

/*
 * Queue r ahead of everything pending: a re-open goes before the
 * requests that wait for its handle.
 */
void
backend_submit_first(struct backend *be, struct req *r)
{
	r->where = REQ_PENDING;
	TAILQ_INSERT_HEAD(&be->pending, r, bq);
	backend_kick(be);
}

/* c holds handle in be's current worker (from an OpenReply). */
void
backend_take_handle(struct conn *c, uint64_t handle)
{
	c->handle = handle;
	c->flags |= CONN_HANDLE_OPEN;
}

/* Close c's worker handle (NBD_OPT_INFO, or the connection ended). */
void
backend_close_handle(struct backend *be, struct conn *c)
{
	struct req	*r;

	if (!(c->flags & CONN_HANDLE_OPEN))
		return;
	c->flags &= ~CONN_HANDLE_OPEN;
	if ((r = req_new(be, REQ_CLOSE, NULL)) == NULL) {
		/* The handle leaks in the worker until it restarts. */
		log_err("conn %" PRIu64 ": out of memory closing handle",
		    c->id);
		return;
	}
	r->handle = c->handle;
	backend_submit(be, r);
}

/* The request in flight with this id and kind, or NULL. */
struct req *
backend_find(struct backend *be, uint64_t id, enum req_kind kind)
{
	uint32_t	 idx = BE_ID_INDEX(id);
	struct req	*r;

	if (be->table == NULL || idx >= BACKEND_MAX_INFLIGHT ||
	    (r = be->table[idx]) == NULL ||
	    r->id != id || r->kind != kind)
		return NULL;
	return r;
}

/* r is no longer on probation (answered, blamed or failed). */
void
backend_unsuspect(struct backend *be, struct req *r)
{
	if (r->suspect) {
		r->suspect = false;
		be->nsuspects--;
	}
}

/*
 * The worker answered r (backend_find found it): off the table, out of
 * flight; the caller passes the answer on.  Its table slot, and a
 * suspect's turn, are free for what waits.
 */
void
backend_answered(struct backend *be, struct req *r)
{
	assert(r->where == REQ_INFLIGHT);
	be->table[BE_ID_INDEX(r->id)] = NULL;
	be->ninflight--;
	TAILQ_REMOVE(&be->inflight, r, bq);
	r->where = REQ_NOWHERE;
	r->id = 0;
	backend_unsuspect(be, r);
	if (!TAILQ_EMPTY(&be->pending))
		backend_kick(be);
	if (be->reload_hold && be->ninflight == 0)
		reload_drained(be);	/* a reload waits for this */
}

/* Take r out of pending, unanswered; the caller owns it now. */
void
backend_unqueue(struct backend *be, struct req *r)
{
	assert(r->where == REQ_PENDING);
	TAILQ_REMOVE(&be->pending, r, bq);
	r->where = REQ_NOWHERE;
	backend_unsuspect(be, r);
}

/*
 * r, pending, will never be answered by a worker: take it out and
 * answer its owner with err, as the worker would have.  Not for
 * re-opens (supervisor.c drops those itself).
 */
void
backend_fail(struct backend *be, struct req *r, int err)
{
	backend_unqueue(be, r);
	r->err = err;
	switch (r->kind) {
	case REQ_DATA:
		tx_complete(r, NULL);
		break;
	case REQ_OPEN:
		assert(!r->reopen);
		hs_open_done(r->conn, r, NULL);
		break;
	case REQ_LIST:
		hs_list_done(r->conn, r, NULL);
		break;
	case REQ_CLOSE:
		req_free(r);	/* the handle went with its worker */
		break;
	}
}

/* Fail every queued data request of c with err. */
void
backend_fail_conn(struct backend *be, struct conn *c, int err)
{
	struct req	*r, *next;

	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (r->kind == REQ_DATA && r->conn == c)
			backend_fail(be, r, err);
	}
}

/*
 * How many data requests the worker has in flight; *last is the last
 * one sent (NULL if none).
 */
unsigned
backend_inflight_data(const struct backend *be, struct req **last)
{
	struct req	*r;
	unsigned	 n = 0;

	*last = NULL;
	TAILQ_FOREACH(r, &be->inflight, bq) {
		if (r->kind == REQ_DATA) {
			n++;
			*last = r;
		}
	}
	return n;
}

/*
 * The worker is gone: everything it had in flight goes back to the
 * head of pending, in send order, to be sent again to its successor.
 * With suspects, each data request taken back that is not one yet
 * becomes a suspect (backend_send_pending replays those one at a
 * time).  The table is empty afterwards.
 */
void
backend_requeue_inflight(struct backend *be, bool suspects)
{
	struct req	*r;

	while ((r = TAILQ_LAST(&be->inflight, req_list)) != NULL) {
		TAILQ_REMOVE(&be->inflight, r, bq);
		be->table[BE_ID_INDEX(r->id)] = NULL;
		be->ninflight--;
		r->id = 0;
		r->via_ring = false;
		if (suspects && r->kind == REQ_DATA && !r->suspect) {
			r->suspect = true;
			be->nsuspects++;
		}
		r->where = REQ_PENDING;
		TAILQ_INSERT_HEAD(&be->pending, r, bq);
	}
	assert(be->ninflight == 0);
	TAILQ_FOREACH(r, &be->pending, bq)
		r->sent_ms = 0;
}

/* Sending. */

/* Encode r into the worker's output buffer. */
static int
encode_req(struct backend *be, struct req *r)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Request		rq = NBDBROKER__RPC__REQUEST__INIT;
	Nbdbroker__Rpc__Open		op = NBDBROKER__RPC__OPEN__INIT;
	Nbdbroker__Rpc__Close		cl = NBDBROKER__RPC__CLOSE__INIT;
	Nbdbroker__Rpc__ListExports	le = NBDBROKER__RPC__LIST_EXPORTS__INIT;
	struct conn			*c = r->conn;

	env.id = r->id;
	switch (r->kind) {
	case REQ_DATA:
		rq.handle = c->handle;
		rq.type = r->cmd;
		rq.flags = r->flags;
		rq.offset = r->offset;
		rq.count = r->count;
		rq.slot = slot_offset(&r->slot);
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REQUEST;
		env.request = &rq;
		break;
	case REQ_OPEN:
		op.export_name = c->export_name;
		op.readonly = broker.cfg.readonly;
		op.tls = (c->flags & CONN_TLS) != 0;
		op.conn_id = c->id;
		op.peer_addr.data = (uint8_t *)&c->peer;
		op.peer_addr.len = c->peer_len;
		op.peer_pid = c->peer_pid;
		op.peer_uid = c->peer_uid;
		op.peer_gid = c->peer_gid;
		op.info_only = r->info_only;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN;
		env.open = &op;
		break;
	case REQ_CLOSE:
		cl.handle = r->handle;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE;
		env.close = &cl;
		break;
	case REQ_LIST:
		le.readonly = broker.cfg.readonly;
		le.tls = (c->flags & CONN_TLS) != 0;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS;
		env.list_exports = &le;
		break;
	}
	return rpc_frame_encode(&be->wbuf, &env);
}

/*
 * Give r an id and a table slot, and write it as an SQE or encode it
 * as a frame.  Returns 0, 1 if the rings are full (r stays pending),
 * or -1 (logged; the worker may have been lost).
 */
static int
send_one(struct backend *be, struct req *r, uint32_t *idx)
{
	char	why[256], msg[300];
	int	e;

	while (be->table[*idx] != NULL)	/* a free index exists */
		(*idx)++;
	r->id = (uint64_t)++be->table_gen << 32 | *idx;
	if (ring_takes(be, r)) {
		if ((e = ring_put(be, r, why, sizeof(why))) != 0) {
			r->id = 0;
			if (e == 1)
				return 1;
			snprintf(msg, sizeof(msg), "protocol violation: %s",
			    why);
			sup_worker_lost(be, msg);
			return -1;
		}
	} else if (encode_req(be, r) == -1) {
		log_err("worker %d: cannot encode request: %s",
		    (int)be->pid, strerror(errno));
		r->id = 0;
		return -1;
	}
	be->table[*idx] = r;
	be->ninflight++;
	TAILQ_REMOVE(&be->pending, r, bq);
	TAILQ_INSERT_TAIL(&be->inflight, r, bq);
	r->where = REQ_INFLIGHT;
	r->sent_ms = now_ms();
	return 0;
}

/*
 * Move pending requests to the worker (up to BACKEND_MAX_INFLIGHT),
 * assigning ids, and encode them into one batch.
 *
 * Data requests wait while their connection re-opens its handle.
 * After a crash with several requests in flight, those requests are
 * suspects: they are replayed one at a time, alone, so that a request
 * that crashes the worker again is identified (and, past the replay
 * limit, failed alone); every other data request waits meanwhile.
 */
static void
backend_send_pending(struct backend *be)
{
	struct req	*r, *next;
	uint32_t	 idx = 0;
	bool		 data_inflight = false;

	if (be->table == NULL)
		return;		/* a spare: never sent requests */
	if (be->nsuspects > 0)
		TAILQ_FOREACH(r, &be->inflight, bq)
			if (r->kind == REQ_DATA)
				data_inflight = true;
	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		/* Failing a request below may retire a backend. */
		if (be->state != BE_ST_READY ||
		    be->ninflight >= BACKEND_MAX_INFLIGHT)
			break;
		if (r->kind == REQ_DATA && (r->conn->flags & CONN_REOPENING))
			continue;
		/* A reload drains the worker: only its FLUSH goes. */
		if (be->reload_hold && !r->internal)
			continue;
		/*
		 * A data request goes only with a handle this worker gave
		 * out: a handle id from a dead worker could name another
		 * client's handle in this one.
		 */
		if (r->kind == REQ_DATA &&
		    !(r->conn->flags & CONN_HANDLE_OPEN)) {
			backend_fail(be, r, EIO);
			continue;
		}
		if (r->kind == REQ_DATA && be->nsuspects > 0) {
			if (!r->suspect || data_inflight)
				continue;
			data_inflight = true;	/* one suspect at a time */
		}
		if (send_one(be, r, &idx) != 0)
			break;
	}
}

/* Queue a control message (Hello, Config) for the worker. */
int
backend_queue_msg(struct backend *be, const RpcEnvelope *env)
{
	if (rpc_frame_encode(&be->wbuf, env) == -1)
		return -1;
	backend_kick(be);
	return 0;
}

/* Write what is buffered for the worker; never blocks. */
static void
backend_write(struct backend *be)
{
	ssize_t	n;

	while (be->fd != -1 && rpc_buf_len(&be->wbuf) > 0) {
		n = write(be->fd, be->wbuf.data + be->wbuf.start,
		    rpc_buf_len(&be->wbuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(be->ev_write, NULL);
			return;
		}
		if (n <= 0) {
			sup_worker_lost(be, "RPC socket write failed");
			return;
		}
		rpc_buf_consume(&be->wbuf, n);
	}
}

static void
backend_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	backend_pass_begin();
	backend_write(arg);
	backend_pass_end();
}

/*
 * Something may go to be's worker (a request or a control message was
 * queued, or what held pending requests back is gone).  It is sent at
 * the end of the current pass; outside a pass (main.c's timers,
 * start-up), be's own event runs one.  Never sends from here: callers
 * are often in the middle of a connection's or a worker's processing.
 */
void
backend_kick(struct backend *be)
{
	if (be->kicked)
		return;
	be->kicked = true;
	TAILQ_INSERT_TAIL(&kicked, be, kicklink);
	if (!in_pass)
		event_active(be->ev_send, EV_TIMEOUT, 0);
}

/*
 * A pass begins: an I/O callback of conn.c or backend.c starts its
 * work.  It ends the pass with backend_pass_end, on every path.
 */
void
backend_pass_begin(void)
{
	in_pass = true;
}

/*
 * The end of a pass: every kicked backend sends what may go to its
 * worker, in one batch, and every connection writes what it has
 * queued; replies written may finish requests, which may let waiting
 * connections submit more: repeat until nothing is left.
 */
void
backend_pass_end(void)
{
	struct backend	*be;

	do {
		do {
			while ((be = TAILQ_FIRST(&kicked)) != NULL) {
				TAILQ_REMOVE(&kicked, be, kicklink);
				be->kicked = false;
				if (be->state == BE_ST_READY)
					backend_send_pending(be);
				ring_publish(be);
				backend_write(be);
			}
			conn_flush_dirty();
		} while (!TAILQ_EMPTY(&kicked));
		/* The answers may be moments away: poll for them. */
	} while (ring_spin());
	/* So may the next request, if that was the only one. */
	ring_spin_clients();
	in_pass = false;
}

/* A kick outside a pass: run one now. */
static void
backend_send_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	backend_pass_begin();
	backend_pass_end();
}

/*
 * Arena space was freed: let waiting connections try again now, in
 * order, each once (what they submit is sent at the end of the pass).
 * One that still gets no slot goes back to the end of the list
 * (tx_retry_waiting), so the walk stops after the waiters there were
 * when it began.  Now, not later: conn_tick closes connections that
 * hold space others wait for only as long as someone still waits.
 */
void
backend_arena_released(struct backend *be)
{
	struct conn	*c, *next;
	unsigned	 n = 0;

	TAILQ_FOREACH(c, &be->waiters, wlink)
		n++;
	for (c = TAILQ_FIRST(&be->waiters); c != NULL && n-- > 0; c = next) {
		next = TAILQ_NEXT(c, wlink);
		tx_retry_waiting(c);
	}
}

/* Receiving. */

/*
 * Read and decode what the worker sent; each message goes to
 * backend_handle (the permit table).  A violation, a bad frame or EOF
 * loses the worker.
 */
static void
backend_read(struct backend *be, int fd)
{
	RpcEnvelope	*env;
	char		 why[256];
	ssize_t		 n;
	size_t		 chunk;
	int		 d, loops = 0;

	while (be->fd == fd && loops++ < 8) {
		chunk = be->state == BE_ST_READY ? BE_READ_CHUNK :
		    BE_READ_CHUNK_START;
		if (rpc_buf_reserve(&be->rbuf, chunk) == -1) {
			sup_worker_lost(be, "out of memory");
			return;
		}
		n = read(fd, be->rbuf.data + be->rbuf.end,
		    be->rbuf.cap - be->rbuf.end);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			sup_worker_lost(be, n == 0 ? "RPC socket closed" :
			    "RPC socket read failed");
			return;
		}
		be->rbuf.end += n;
		while (be->fd == fd &&
		    (d = rpc_frame_decode(&be->rbuf, &env)) != 0) {
			if (d == -1) {
				snprintf(why, sizeof(why), "protocol violation:"
				    " bad frame (%s)", errno == EOVERFLOW ?
				    "it would take more memory to decode than "
				    "any real message" : strerror(errno));
				metrics_worker_cause(be->pid, MX_DEATH_PROTO);
				sup_worker_lost(be, why);
				return;
			}
			if (backend_handle(be, env, why, sizeof(why)) == -1) {
				char	msg[300];

				rpc_envelope_free(env);
				snprintf(msg, sizeof(msg),
				    "protocol violation: %s", why);
				metrics_worker_cause(be->pid, MX_DEATH_PROTO);
				sup_worker_lost(be, msg);
				return;
			}
			rpc_envelope_free(env);
		}
		if ((size_t)n < chunk)
			break;
	}
}

static void
backend_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	backend_pass_begin();
	backend_read(arg, fd);
	backend_pass_end();
}

/* Register the events of a freshly started worker. */
int
backend_connect(struct backend *be, int fd)
{
	be->fd = fd;
	be->ev_read = event_new(broker.base, fd, EV_READ | EV_PERSIST,
	    backend_read_cb, be);
	be->ev_write = event_new(broker.base, fd, EV_WRITE,
	    backend_write_cb, be);
	if (be->ev_read == NULL || be->ev_write == NULL ||
	    event_add(be->ev_read, NULL) == -1)
		return -1;
	return 0;
}

#define SWAP(x, y) do {						\
	__typeof__(x) swap_tmp_ = (x);					\
	(x) = (y);							\
	(y) = swap_tmp_;						\
} while (0)

/* The socket events of be's worker, made again (they name be). */
static int
rebind(struct backend *be)
{
	if (be->ev_read != NULL)
		event_free(be->ev_read);
	if (be->ev_write != NULL)
		event_free(be->ev_write);
	be->ev_read = be->ev_write = NULL;
	if (be->fd == -1)
		return 0;
	return backend_connect(be, be->fd);
}

/*
 * A reload's switch: a (drained) takes b's worker, a probe on its
 * arenas, and b takes a's old worker, to be retired.  Neither has
 * anything in flight.  The workers keep their socket, doorbell, ring
 * set, stderr and what Ready said; the requests, connections and
 * arenas stay where they are.  Returns 0, or -1 if an event could not
 * be made again (out of memory: the caller treats a's worker as lost).
 */
int
backend_swap(struct backend *a, struct backend *b)
{
	int	r = 0;

	assert(a->ninflight == 0 && b->ninflight == 0);
	if (a->ev_read != NULL)
		event_del(a->ev_read);
	if (a->ev_write != NULL)
		event_del(a->ev_write);
	if (b->ev_read != NULL)
		event_del(b->ev_read);
	if (b->ev_write != NULL)
		event_del(b->ev_write);
	SWAP(a->pid, b->pid);
	SWAP(a->fd, b->fd);
	SWAP(a->rbuf, b->rbuf);
	SWAP(a->wbuf, b->wbuf);
	SWAP(a->state, b->state);
	SWAP(a->log_tokens, b->log_tokens);
	SWAP(a->log_period_start, b->log_period_start);
	SWAP(a->log_dropped, b->log_dropped);
	SWAP(a->plugin_name, b->plugin_name);
	SWAP(a->api_version, b->api_version);
	SWAP(a->thread_model, b->thread_model);
	SWAP(a->durability, b->durability);
	SWAP(a->has_list_exports, b->has_list_exports);
	SWAP(a->last_start_ms, b->last_start_ms);
	SWAP(a->said_failed, b->said_failed);
	SWAP(a->said_shutdown, b->said_shutdown);
	SWAP(a->dirty, b->dirty);
	memcpy(a->last_failure, b->last_failure, sizeof(a->last_failure));
	memcpy(a->last_worker_err, b->last_worker_err,
	    sizeof(a->last_worker_err));
	a->generation++;
	if (rebind(a) == -1 || rebind(b) == -1)
		r = -1;
	if (ring_swap(a, b) == -1)
		log_warn("plugin %s: reload: cannot watch the new worker's "
		    "doorbell: out of memory", backend_name(a));
	spawn_swap(a, b);
	return r;
}

/* Drop the events and socket of a worker that is gone. */
void
backend_disconnect(struct backend *be)
{
	if (be->ev_read != NULL) {
		event_del(be->ev_read);
		event_free(be->ev_read);
	}
	if (be->ev_write != NULL) {
		event_del(be->ev_write);
		event_free(be->ev_write);
	}
	be->ev_read = be->ev_write = NULL;
	be->ring_on = false;
	if (be->fd != -1)
		close(be->fd);
	be->fd = -1;
	rpc_buf_free(&be->rbuf);
	rpc_buf_free(&be->wbuf);
}
