/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's side of the RPC socket to a worker: the request table,
 * sending requests in batches, and checking every message the worker
 * sends before acting on it.
 *
 * The worker is untrusted.  A message is accepted only if the
 * backend's state permits it (the permit table in backend_handle), its
 * id names a request in flight of the matching kind, and its contents
 * are consistent with that request.  Anything else is a protocol
 * violation: the worker is killed (sup_worker_lost) and the requests
 * it had are replayed on its replacement.  Nothing a worker sends can
 * crash, block or mislead the broker.
 *
 * Runs in the event loop only.
 */
#include <config.h>

#include <assert.h>
#include <endian.h>
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
#define BE_ID_INDEX(id)	((uint32_t)((id) & 0xffffffff))

static void	backend_read_cb(evutil_socket_t, short, void *);
static void	backend_write_cb(evutil_socket_t, short, void *);

struct backend *
backend_new(void)
{
	struct backend	*be;

	if ((be = calloc(1, sizeof(*be))) == NULL)
		return NULL;
	be->id = ++broker.next_backend_id;
	be->fd = be->errfd = -1;
	be->state = BE_ST_DOWN;
	TAILQ_INIT(&be->pending);
	TAILQ_INIT(&be->inflight);
	TAILQ_INIT(&be->conns);
	TAILQ_INIT(&be->waiters);
	be->table = calloc(BACKEND_MAX_INFLIGHT, sizeof(*be->table));
	be->deaths = calloc(broker.cfg.rs.intensity + 1, sizeof(uint64_t));
	if (be->table == NULL || be->deaths == NULL)
		goto err;
	if (arena_init(&be->out, broker.cfg.arena_size, true) == -1 ||
	    arena_init(&be->in, broker.cfg.arena_size, false) == -1) {
		log_err("cannot create payload arenas: %s", strerror(errno));
		goto err;
	}
	TAILQ_INSERT_TAIL(&broker.backends, be, link);
	return be;

 err:
	arena_destroy(&be->out);
	arena_destroy(&be->in);
	free(be->table);
	free(be->deaths);
	free(be);
	return NULL;
}

void
backend_free(struct backend *be)
{
	struct req	*r;

	sup_backend_gone(be);
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
	if (be->ev_restart != NULL)
		event_free(be->ev_restart);
	if (be->ev_retire != NULL)
		event_free(be->ev_retire);
	arena_destroy(&be->out);
	arena_destroy(&be->in);
	rpc_buf_free(&be->rbuf);
	rpc_buf_free(&be->wbuf);
	rpc_buf_free(&be->errbuf);
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
 * the worker has been reaped, killing it if it lingers.  With no
 * worker, it is freed from the event loop, never here: the caller may
 * be walking the backend's requests (sup_tick failing them).
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

bool
backend_ready(const struct backend *be)
{
	return be->state == BE_ST_READY;
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
	if (c->flags & CONN_REOPENING) {
		c->flags &= ~CONN_REOPENING;
		be->reopening--;
	}
	TAILQ_REMOVE(&be->conns, c, belink);
}

struct req *
req_new(struct backend *be, enum req_kind kind, struct conn *c)
{
	struct req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
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
	free(r);
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
	/* The connection is going: nothing of its own will flush this. */
	backend_flush(be);
}

/* Queue r for the worker; it is sent as soon as the worker is ready. */
void
backend_submit(struct backend *be, struct req *r)
{
	r->queued_ms = now_ms();
	r->where = REQ_PENDING;
	TAILQ_INSERT_TAIL(&be->pending, r, bq);
	if (be->state == BE_ST_READY)
		backend_send_pending(be);
}

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
 * Move pending requests to the worker (up to BACKEND_MAX_INFLIGHT),
 * assigning ids, and encode them into one batch.
 *
 * Data requests wait while their connection re-opens its handle.
 * After a crash with several requests in flight, those requests are
 * suspects: they are replayed one at a time, alone, so that a request
 * that crashes the worker again is identified (and, past the replay
 * limit, failed alone); every other data request waits meanwhile.
 */
void
backend_send_pending(struct backend *be)
{
	struct req	*r, *next;
	uint32_t	 idx = 0;
	bool		 data_inflight = false;

	if (be->state != BE_ST_READY)
		return;
	if (be->nsuspects > 0)
		TAILQ_FOREACH(r, &be->inflight, bq)
			if (r->kind == REQ_DATA)
				data_inflight = true;
	for (r = TAILQ_FIRST(&be->pending); r != NULL; r = next) {
		next = TAILQ_NEXT(r, bq);
		if (be->ninflight >= BACKEND_MAX_INFLIGHT)
			break;
		if (r->kind == REQ_DATA && (r->conn->flags & CONN_REOPENING))
			continue;
		/*
		 * A data request goes only with a handle this worker gave
		 * out: a handle id from a dead worker could name another
		 * client's handle in this one.
		 */
		if (r->kind == REQ_DATA &&
		    !(r->conn->flags & CONN_HANDLE_OPEN)) {
			TAILQ_REMOVE(&be->pending, r, bq);
			r->where = REQ_NOWHERE;
			if (r->suspect) {
				r->suspect = false;
				be->nsuspects--;
			}
			r->err = EIO;
			tx_complete(r, NULL);
			continue;
		}
		if (r->kind == REQ_DATA && be->nsuspects > 0) {
			if (!r->suspect || data_inflight)
				continue;
			data_inflight = true;	/* one suspect at a time */
		}
		while (be->table[idx] != NULL)	/* a free index exists */
			idx++;
		r->id = (uint64_t)++be->table_gen << 32 | idx;
		if (encode_req(be, r) == -1) {
			log_err("worker %d: cannot encode request: %s",
			    (int)be->pid, strerror(errno));
			r->id = 0;
			break;
		}
		be->table[idx] = r;
		be->ninflight++;
		TAILQ_REMOVE(&be->pending, r, bq);
		TAILQ_INSERT_TAIL(&be->inflight, r, bq);
		r->where = REQ_INFLIGHT;
		r->sent_ms = now_ms();
	}
}

/* Write what is buffered for the worker; never blocks. */
void
backend_flush(struct backend *be)
{
	ssize_t	n;

	if (be->fd == -1)
		return;
	backend_send_pending(be);
	while (rpc_buf_len(&be->wbuf) > 0) {
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
	backend_flush(arg);
}

/*
 * Arena space was freed: let waiting connections try again, in order,
 * each once.  One that still gets no slot goes back to the end of the
 * list (tx_retry_waiting), so the walk stops after the waiters there
 * were when it began.
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

/* The request in flight with this id and kind, or NULL. */
static struct req *
find_req(struct backend *be, uint64_t id, enum req_kind kind)
{
	uint32_t	 idx = BE_ID_INDEX(id);
	struct req	*r;

	if (idx >= BACKEND_MAX_INFLIGHT || (r = be->table[idx]) == NULL ||
	    r->id != id || r->kind != kind)
		return NULL;
	return r;
}

/* Take r off the table: the worker has answered it. */
static void
take_req(struct backend *be, struct req *r)
{
	be->table[BE_ID_INDEX(r->id)] = NULL;
	be->ninflight--;
	TAILQ_REMOVE(&be->inflight, r, bq);
	r->where = REQ_NOWHERE;
	r->id = 0;
}

/*
 * Check and copy block status extents into r->extra as one
 * NBD_REPLY_TYPE_BLOCK_STATUS chunk payload.  Extents are clipped to
 * the requested range.  Returns 0, or -1 if the worker lied.
 */
static int
take_extents(struct req *r, const Nbdbroker__Rpc__Reply *rep, char *why,
    size_t whylen)
{
	size_t		 i, n = rep->n_extent_length;
	uint64_t	 total = 0;
	uint8_t		*p;

	if (n == 0 || n != rep->n_extent_type) {
		snprintf(why, whylen, "block status reply with %zu lengths "
		    "and %zu types", n, rep->n_extent_type);
		return -1;
	}
	if (n > BROKER_MAX_EXTENTS) {
		snprintf(why, whylen, "block status reply with %zu extents "
		    "(at most %d)", n, BROKER_MAX_EXTENTS);
		return -1;
	}
	if ((r->extra = malloc(4 + 8 * n)) == NULL) {
		r->err = ENOMEM;
		return 0;
	}
	p = r->extra + 4;	/* context id filled by the sender */
	for (i = 0; i < n && total < r->count; i++) {
		uint64_t	len = rep->extent_length[i];
		uint32_t	t = rep->extent_type[i];
		uint32_t	l32;

		if (len == 0 || (t & ~(uint32_t)(NBD_STATE_HOLE |
		    NBD_STATE_ZERO))) {
			snprintf(why, whylen, "block status extent %zu has "
			    "length %" PRIu64 " type 0x%x", i, len, t);
			return -1;
		}
		if (len > r->count - total)
			len = r->count - total;
		total += len;
		l32 = htobe32((uint32_t)len);
		t = htobe32(t);
		memcpy(p, &l32, 4);
		memcpy(p + 4, &t, 4);
		p += 8;
		if (r->nbd_flags & NBD_CMD_FLAG_REQ_ONE) {
			i++;
			break;
		}
	}
	r->extra_len = p - r->extra;
	return 0;
}

/*
 * A Reply: check it against its request, then answer the client.  On
 * a violation the request stays in flight, to be replayed.
 */
static int
handle_reply(struct backend *be, uint64_t id, const Nbdbroker__Rpc__Reply *rep,
    char *why, size_t whylen)
{
	struct req	*r = find_req(be, id, REQ_DATA);

	if (r == NULL) {
		snprintf(why, whylen, "Reply with unknown id %" PRIx64, id);
		return -1;
	}
	if (rep->err < 0 || rep->err > 4095) {
		snprintf(why, whylen, "Reply with errno %d", rep->err);
		return -1;
	}
	if (rep->err == 0 && r->cmd == NBD_CMD_BLOCK_STATUS) {
		if (take_extents(r, rep, why, whylen) == -1) {
			free(r->extra);
			r->extra = NULL;
			r->extra_len = 0;
			return -1;
		}
	} else if (rep->n_extent_length > 0 || rep->n_extent_type > 0) {
		snprintf(why, whylen, "%s reply carries extents",
		    nbd_cmd_name(r->cmd));
		return -1;
	}
	take_req(be, r);
	if (r->suspect) {
		r->suspect = false;
		be->nsuspects--;
	}
	if (rep->err == 0 && (r->cmd == NBD_CMD_WRITE ||
	    r->cmd == NBD_CMD_TRIM || r->cmd == NBD_CMD_WRITE_ZEROES))
		be->dirty = true;
	tx_complete(r, rep);
	return 0;
}

static int
handle_open_reply(struct backend *be, uint64_t id,
    const Nbdbroker__Rpc__OpenReply *rep, char *why, size_t whylen)
{
	struct req	*r = find_req(be, id, REQ_OPEN);

	if (r == NULL) {
		snprintf(why, whylen, "OpenReply with unknown id %" PRIx64, id);
		return -1;
	}
	if (rep->err < 0 || rep->err > 4095 ||
	    (rep->err == 0 && (rep->size < 0 || rep->handle == 0))) {
		snprintf(why, whylen, "OpenReply with errno %d size %" PRId64,
		    rep->err, rep->size);
		return -1;
	}
	if (rep->err == 0 && (strnlen(rep->canonical_name,
	    BROKER_MAX_NAME + 1) > BROKER_MAX_NAME ||
	    (rep->has_description && strnlen(rep->description,
	    BROKER_MAX_NAME + 1) > BROKER_MAX_NAME))) {
		snprintf(why, whylen, "OpenReply with an oversized name");
		return -1;
	}
	take_req(be, r);
	if (r->reopen)
		sup_reopen_done(be, r, rep);
	else
		hs_open_done(r->conn, r, rep);
	return 0;
}

/* Log a message from the worker, rate-limited. */
void
backend_worker_log(struct backend *be, int level, const char *what,
    const char *msg, size_t len)
{
	char		esc[1024];
	uint64_t	now = now_ms() / 1000;

	if (now - be->log_period_start >= WORKER_LOG_PERIOD_S) {
		if (be->log_dropped > 0)
			log_warn("[worker %d plugin=%s] %u log lines dropped "
			    "(more than %d in %d s)", (int)be->pid,
			    be->plugin_name ? be->plugin_name : "?",
			    be->log_dropped, WORKER_LOG_BURST,
			    WORKER_LOG_PERIOD_S);
		be->log_period_start = now;
		be->log_tokens = WORKER_LOG_BURST;
		be->log_dropped = 0;
	}
	if (be->log_tokens == 0) {
		be->log_dropped++;
		return;
	}
	be->log_tokens--;
	if (len > WORKER_LOG_MAX)
		len = WORKER_LOG_MAX;
	log_escape(esc, sizeof(esc), msg, len);
	log_msg(level, "[worker %d plugin=%s] %s%s", (int)be->pid,
	    be->plugin_name ? be->plugin_name : broker.cfg.plugin_arg,
	    what, esc);
}

/*
 * Act on one message from the worker.  Returns 0, or -1 with why set
 * for a protocol violation (the caller kills the worker).
 */
static int
backend_handle(struct backend *be, RpcEnvelope *env, char *why,
    size_t whylen)
{
	int	bc = env->body_case;

	/* Log is welcome in every state. */
	if (bc == NBDBROKER__RPC__ENVELOPE__BODY_LOG) {
		const Nbdbroker__Rpc__Log	*lg = env->log;

		if (lg->level > LOG_DEBUG) {
			snprintf(why, whylen, "Log with level %" PRIu32,
			    lg->level);
			return -1;
		}
		backend_worker_log(be, lg->level < LOG_ERR ? LOG_ERR :
		    (int)lg->level, "", lg->message, strlen(lg->message));
		if (lg->level <= LOG_ERR)
			snprintf(be->last_worker_err,
			    sizeof(be->last_worker_err), "%s", lg->message);
		return 0;
	}

	switch (be->state) {
	case BE_ST_SPAWNED:
		if (bc != NBDBROKER__RPC__ENVELOPE__BODY_HELLO)
			break;
		if (env->hello->major != RPC_PROTOCOL_MAJOR) {
			snprintf(why, whylen, "worker speaks protocol "
			    "%" PRIu32 ".%" PRIu32 ", broker speaks %d.%d",
			    env->hello->major, env->hello->minor,
			    RPC_PROTOCOL_MAJOR, RPC_PROTOCOL_MINOR);
			return -1;
		}
		be->state = BE_ST_CONFIGURING;
		return 0;
	case BE_ST_CONFIGURING:
		/* Failed is a worker's last word (it exits): once only. */
		if (be->said_failed)
			break;
		if (bc == NBDBROKER__RPC__ENVELOPE__BODY_READY)
			return sup_ready(be, env->ready, why, whylen);
		if (bc == NBDBROKER__RPC__ENVELOPE__BODY_FAILED) {
			be->said_failed = true;
			sup_failed(be, env->failed);
			return 0;
		}
		break;
	case BE_ST_READY:
		switch (bc) {
		case NBDBROKER__RPC__ENVELOPE__BODY_REPLY:
			return handle_reply(be, env->id, env->reply, why,
			    whylen);
		case NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY:
			return handle_open_reply(be, env->id,
			    env->open_reply, why, whylen);
		case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY: {
			struct req	*r = find_req(be, env->id, REQ_CLOSE);

			if (r == NULL) {
				snprintf(why, whylen, "CloseReply with "
				    "unknown id %" PRIx64, env->id);
				return -1;
			}
			take_req(be, r);
			req_free(r);
			return 0;
		}
		case NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST: {
			struct req	*r = find_req(be, env->id, REQ_LIST);

			if (r == NULL) {
				snprintf(why, whylen, "ExportList with "
				    "unknown id %" PRIx64, env->id);
				return -1;
			}
			/* Each entry becomes a reply queued for the client. */
			if (env->export_list->n_exports > BROKER_MAX_EXPORTS) {
				snprintf(why, whylen, "ExportList with %zu "
				    "exports (at most %d)",
				    env->export_list->n_exports,
				    BROKER_MAX_EXPORTS);
				return -1;
			}
			take_req(be, r);
			hs_list_done(r->conn, r, env->export_list);
			return 0;
		}
		case NBDBROKER__RPC__ENVELOPE__BODY_SHUTDOWN_REQUEST:
			broker_shutdown("the plugin asked to shut down");
			return 0;
		default:
			break;
		}
		break;
	default:
		break;
	}
	snprintf(why, whylen, "unexpected %s in state %d%s",
	    rpc_body_name(bc), be->state, be->said_failed ?
	    " after Failed" : "");
	return -1;
}

static void
backend_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be = arg;
	RpcEnvelope	*env;
	char		 why[256];
	ssize_t		 n;
	int		 d, loops = 0;

	(void)what;
	while (be->fd == fd && loops++ < 8) {
		if (rpc_buf_reserve(&be->rbuf, BE_READ_CHUNK) == -1) {
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
			goto out;
		}
		be->rbuf.end += n;
		while (be->fd == fd &&
		    (d = rpc_frame_decode(&be->rbuf, &env)) != 0) {
			if (d == -1) {
				snprintf(why, sizeof(why), "protocol violation:"
				    " bad frame (%s)", strerror(errno));
				sup_worker_lost(be, why);
				goto out;
			}
			if (backend_handle(be, env, why, sizeof(why)) == -1) {
				char	msg[300];

				rpc_envelope_free(env);
				snprintf(msg, sizeof(msg),
				    "protocol violation: %s", why);
				sup_worker_lost(be, msg);
				goto out;
			}
			rpc_envelope_free(env);
		}
		if ((size_t)n < BE_READ_CHUNK)
			break;
	}
 out:
	conn_flush_dirty();
	backend_flush(be);
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
	if (be->fd != -1)
		close(be->fd);
	be->fd = -1;
	rpc_buf_free(&be->rbuf);
	rpc_buf_free(&be->wbuf);
}
