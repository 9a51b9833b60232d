/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the worker does with each message from the broker: the table of
 * open handles, Open (admitted by the thread model), Close, data
 * Requests and ListExports, each turned into host.c calls under the
 * lock thread-model.c picks, and answered with rpc_send.  A Request's
 * wire values become the plugin's here (through wire.c); host.c sees
 * no Request message.
 *
 * Called by pool threads with one message each (rpc-server.c); any
 * number may run at once.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "nbd-protocol.h"
#include "worker.h"

/* Handles, guarded by h_lock.  id = generation << 32 | index + 1. */
static pthread_mutex_t	 h_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle	**h_v;
static size_t		 h_n;
static uint32_t		 h_gen;

/*
 * Called once at start-up, before the sandbox: handle ids must not
 * repeat those of an earlier worker for the same broker, so the
 * generation starts at a random point (the broker also never sends a
 * dead worker's handle).
 */
void
dispatch_init(void)
{
	if (getrandom(&h_gen, sizeof(h_gen), 0) != sizeof(h_gen))
		h_gen = (uint32_t)getpid() << 8;
}

/* Handles. */

static struct handle *
handle_new(void)
{
	struct handle	*hd, **p;
	size_t		 i;

	if ((hd = calloc(1, sizeof(*hd))) == NULL)
		return NULL;
	pthread_mutex_init(&hd->lock, NULL);
	hd->conn.peer_pid = hd->conn.peer_uid = hd->conn.peer_gid = -1;
	pthread_mutex_lock(&h_lock);
	for (i = 0; i < h_n && h_v[i] != NULL; i++)
		;
	if (i == h_n) {
		if ((p = reallocarray(h_v, h_n + 16, sizeof(*p))) == NULL) {
			pthread_mutex_unlock(&h_lock);
			free(hd);
			return NULL;
		}
		memset(p + h_n, 0, 16 * sizeof(*p));
		h_v = p;
		h_n += 16;
	}
	hd->id = (uint64_t)++h_gen << 32 | (i + 1);
	h_v[i] = hd;
	pthread_mutex_unlock(&h_lock);
	return hd;
}

static struct handle *
handle_get(uint64_t id)
{
	struct handle	*hd = NULL;
	size_t		 i = (id & 0xffffffff) - 1;

	pthread_mutex_lock(&h_lock);
	if ((id & 0xffffffff) != 0 && i < h_n && h_v[i] != NULL &&
	    h_v[i]->id == id)
		hd = h_v[i];
	pthread_mutex_unlock(&h_lock);
	return hd;
}

static void
handle_free(struct handle *hd)
{
	size_t	i = (hd->id & 0xffffffff) - 1;

	pthread_mutex_lock(&h_lock);
	if (i < h_n && h_v[i] == hd)
		h_v[i] = NULL;
	pthread_mutex_unlock(&h_lock);
	sdk_intern_free(&hd->conn.intern);
	free((char *)hd->conn.export_name);
	pthread_mutex_destroy(&hd->lock);
	free(hd);
}

/* Message handlers. */

static void
send_open_reply(uint64_t id, Nbdbroker__Rpc__OpenReply *r)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;

	env.id = id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY;
	env.open_reply = r;
	rpc_send(&env);
}

/*
 * Serve an Open the thread model admitted (tm_open_admit).  Returns
 * true if it opened a handle; false if it failed (and was answered).
 */
static bool
do_open(RpcEnvelope *in)
{
	const Nbdbroker__Rpc__Open	*o = in->open;
	Nbdbroker__Rpc__OpenReply	 r = NBDBROKER__RPC__OPEN_REPLY__INIT;
	struct handle			*hd;

	if ((hd = handle_new()) == NULL ||
	    (hd->conn.export_name = strdup(o->export_name)) == NULL) {
		if (hd != NULL)
			handle_free(hd);
		r.err = ENOMEM;
		goto fail;
	}
	hd->conn.tls = o->tls;
	hd->conn.readonly = o->readonly;
	hd->conn.peer_pid = o->peer_pid;
	hd->conn.peer_uid = o->peer_uid;
	hd->conn.peer_gid = o->peer_gid;
	if (o->peer_addr.len > 0 &&
	    o->peer_addr.len <= sizeof(hd->conn.peer)) {
		memcpy(&hd->conn.peer, o->peer_addr.data, o->peer_addr.len);
		hd->conn.peer_len = o->peer_addr.len;
	}
	sdk_set_conn(&hd->conn);
	tm_lock(NULL);
	host_open(hd, o, &r);
	tm_unlock(NULL);
	sdk_set_conn(NULL);
	if (r.err != 0) {
		handle_free(hd);
		goto fail;
	}
	send_open_reply(in->id, &r);
	return true;

 fail:
	r.handle = 0;
	r.canonical_name = (char *)"";
	send_open_reply(in->id, &r);
	return false;
}

/*
 * Serve an admitted Open; each one that fails lets the next parked
 * Open through (tm_open_done), which is served in turn.  Frees every
 * envelope but in.
 */
static void
open_admitted(RpcEnvelope *in)
{
	RpcEnvelope	*next;
	bool		 opened = do_open(in);

	while (!opened && (next = tm_open_done()) != NULL) {
		opened = do_open(next);
		rpc_envelope_free(next);
	}
}

static void
do_close(RpcEnvelope *in)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__CloseReply	cr = NBDBROKER__RPC__CLOSE_REPLY__INIT;
	struct handle			*hd = handle_get(in->close->handle);
	RpcEnvelope			*next = NULL;

	if (hd != NULL) {
		sdk_set_conn(&hd->conn);
		tm_lock(NULL);
		host_close(hd);
		tm_unlock(NULL);
		sdk_set_conn(NULL);
		handle_free(hd);
		next = tm_open_done();
	} else
		log_warn("rpc: Close for unknown handle %" PRIx64,
		    in->close->handle);
	cr.handle = in->close->handle;
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY;
	env.close_reply = &cr;
	rpc_send(&env);
	if (next != NULL) {
		open_admitted(next);
		rpc_envelope_free(next);
	}
}

/*
 * Serve one data request: the handle, the payload's place in an arena
 * (READ and WRITE), and the flags in the plugin's terms, for
 * host_request.  Returns 0 or an errno; BLOCK_STATUS extents go to
 * ext (the caller frees them).
 */
static int
serve_data(uint64_t handle, uint16_t type, uint32_t flags, uint64_t offset,
    uint32_t count, uint64_t slot, struct nbdbroker_extents *ext)
{
	struct handle	*hd = handle_get(handle);
	struct host_req	 req = {
		.type = type,
		.flags = wire_to_sdk_flags(flags),
		.offset = offset,
		.count = count,
	};
	int		 err;

	if (hd == NULL) {
		log_err("rpc: request for unknown handle %" PRIx64, handle);
		return EBADF;
	}
	/* What keeps the worker itself safe: the payload is in its arena. */
	if ((type == NBD_CMD_READ &&
	    (req.rbuf = rpc_arena_in(slot, count)) == NULL) ||
	    (type == NBD_CMD_WRITE &&
	    (req.wbuf = rpc_arena_out(slot, count)) == NULL))
		return EINVAL;
	sdk_set_conn(&hd->conn);
	tm_lock(hd);
	err = host_request(hd, &req, ext);
	tm_unlock(hd);
	sdk_set_conn(NULL);
	return err;
}

/* A data Request frame, answered with a Reply frame. */
static void
do_request(RpcEnvelope *in)
{
	const Nbdbroker__Rpc__Request	*rq = in->request;
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		 rp = NBDBROKER__RPC__REPLY__INIT;
	struct nbdbroker_extents	 ext = { 0 };
	uint64_t			*lens = NULL;
	uint32_t			*types = NULL;
	size_t				 i;

	rp.err = serve_data(rq->handle, rq->type, rq->flags, rq->offset,
	    rq->count, rq->slot, &ext);
	if (rp.err == 0 && rq->type == NBD_CMD_BLOCK_STATUS) {
		lens = calloc(ext.n, sizeof(*lens));
		types = calloc(ext.n, sizeof(*types));
		if (lens == NULL || types == NULL) {
			rp.err = ENOMEM;
			goto reply;
		}
		for (i = 0; i < ext.n; i++) {
			lens[i] = ext.v[i].length;
			types[i] = wire_extent_type(ext.v[i].type);
		}
		rp.n_extent_length = rp.n_extent_type = ext.n;
		rp.extent_length = lens;
		rp.extent_type = types;
	}
 reply:
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	rpc_send(&env);
	free(lens);
	free(types);
	sdk_extents_free(&ext);
}

/*
 * A data request from the SQ (e, the caller's copy); returns the errno
 * for its CQE.  Extents need a frame: BLOCK_STATUS never comes here.
 */
int
dispatch_sqe(const struct rpc_sqe *e)
{
	struct nbdbroker_extents	ext = { 0 };
	int				err;

	if (e->type == NBD_CMD_BLOCK_STATUS) {
		log_err("rpc: BLOCK_STATUS on the ring");
		return EINVAL;
	}
	err = serve_data(e->handle, e->type, e->flags, e->offset, e->count,
	    e->slot, &ext);
	sdk_extents_free(&ext);
	return err;
}

static void
do_list_exports(RpcEnvelope *in)
{
	Nbdbroker__Rpc__Envelope	  env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ExportList	  el = NBDBROKER__RPC__EXPORT_LIST__INIT;
	Nbdbroker__Rpc__ExportEntry	 *ents = NULL, **ptrs = NULL;
	struct nbdbroker_exports	  x;
	size_t				  i;

	tm_lock(NULL);
	if (host_list_exports(in->list_exports, &x) == -1) {
		el.err = sdk_get_error() ? sdk_get_error() : EIO;
	} else if (x.n > 0) {
		ents = calloc(x.n, sizeof(*ents));
		ptrs = calloc(x.n, sizeof(*ptrs));
		if (ents == NULL || ptrs == NULL) {
			el.err = ENOMEM;
		} else {
			for (i = 0; i < x.n; i++) {
				nbdbroker__rpc__export_entry__init(&ents[i]);
				ents[i].name = x.v[i].name;
				if (x.v[i].description != NULL) {
					ents[i].description =
					    x.v[i].description;
					ents[i].has_description = true;
				}
				ptrs[i] = &ents[i];
			}
			el.n_exports = x.n;
			el.exports = ptrs;
		}
	}
	tm_unlock(NULL);
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
	env.export_list = &el;
	rpc_send(&env);
	free(ents);
	free(ptrs);
	sdk_exports_free(&x);
}

/*
 * Serve one message from the broker and free it (a parked Open is kept
 * until it is served).  Anything but Open, Close, Request and
 * ListExports is a protocol error: the worker exits.
 */
void
dispatch(RpcEnvelope *env)
{
	switch (env->body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:
		do_request(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:
		if (!tm_open_admit(env))
			return;		/* parked until a Close */
		open_admitted(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:
		do_close(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS:
		do_list_exports(env);
		break;
	default:
		log_err("rpc: unexpected %s from broker",
		    rpc_body_name(env->body_case));
		_exit(EXIT_FAILURE);
	}
	rpc_envelope_free(env);
}

/*
 * The broker is gone: close every handle still open and drop the
 * parked Opens.  Called once, after the pool threads have stopped.
 */
void
dispatch_shutdown(void)
{
	RpcEnvelope	*env;
	size_t		 i;

	for (i = 0; i < h_n; i++) {
		if (h_v[i] != NULL) {
			sdk_set_conn(&h_v[i]->conn);
			host_close(h_v[i]);
			sdk_set_conn(NULL);
			handle_free(h_v[i]);
		}
	}
	free(h_v);
	h_v = NULL;
	h_n = 0;
	while ((env = tm_parked_take()) != NULL)
		rpc_envelope_free(env);
}
