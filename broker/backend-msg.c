/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a worker sends, checked and then acted on.
 *
 * The worker is untrusted.  A message is accepted only if the permit
 * table lets the backend's state receive it, its id names a request
 * in flight of the matching kind, and its contents are consistent
 * with that request.  Anything else is a protocol violation: the
 * caller (backend.c's read callback) kills the worker and the
 * requests it had are replayed on its replacement.  Nothing a worker
 * sends can crash, block or mislead the broker.
 *
 * This file decides; it does not read the socket (backend.c does) and
 * changes the request table only through backend.c.
 *
 * Runs in the event loop only.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#define BODY(name)	NBDBROKER__RPC__ENVELOPE__BODY_ ## name

/*
 * How many extents r's reply may carry: what the client can use (one
 * with REQ_ONE), at most BROKER_MAX_CLIENT_EXTENTS (the spec lets a
 * server describe less than the range asked), and no more than what
 * is left of the connection's output budget, but always one.  So the
 * memory a worker's answers pin stays within the budget, however
 * many extents it sends and however slowly the client reads.
 */
static size_t
extents_room(const struct req *r, size_t n)
{
	size_t	room;

	if (n > BROKER_MAX_CLIENT_EXTENTS)
		n = BROKER_MAX_CLIENT_EXTENTS;
	if (r->nbd_flags & NBD_CMD_FLAG_REQ_ONE)
		n = 1;
	room = r->conn != NULL ? conn_out_room(r->conn) / 8 : 1;
	if (n > room)
		n = room;
	return n > 0 ? n : 1;
}

/*
 * Check and copy block status extents into r->extra as one
 * NBD_REPLY_TYPE_BLOCK_STATUS chunk payload.  Extents are clipped to
 * the requested range, and only as many are kept as extents_room()
 * allows; the allocation is sized by that, not by what the worker
 * sent.  Returns 0, or -1 if the worker lied.
 */
static int
take_extents(struct req *r, const Nbdbroker__Rpc__Reply *rep, char *why,
    size_t whylen)
{
	size_t		 i, n = rep->n_extent_length, keep;
	uint64_t	 total = 0;
	uint8_t		*p, *end;

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
	keep = extents_room(r, n);
	if ((r->extra = malloc(4 + 8 * keep)) == NULL) {
		r->err = ENOMEM;
		return 0;
	}
	p = r->extra + 4;	/* context id filled by the sender */
	end = p + 8 * keep;
	for (i = 0; i < n && total < r->count && p < end; i++) {
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
	}
	r->extra_len = p - r->extra;
	return 0;
}

/* Log: welcome in every state, at a level the broker knows. */
static int
msg_log(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	const Nbdbroker__Rpc__Log	*lg = env->log;

	if (lg->level > LOG_DEBUG) {
		snprintf(why, whylen, "Log with level %" PRIu32, lg->level);
		return -1;
	}
	backend_worker_log(be, lg->level < LOG_ERR ? LOG_ERR :
	    (int)lg->level, "", lg->message, strlen(lg->message));
	if (lg->level <= LOG_ERR)
		snprintf(be->last_worker_err, sizeof(be->last_worker_err),
		    "%s", lg->message);
	return 0;
}

/*
 * Hello: the worker speaks our protocol, and has joined its memory
 * cgroup if it was given one (it does so before its Hello); now its
 * Config.
 */
static int
msg_hello(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	if (env->hello->major != RPC_PROTOCOL_MAJOR) {
		snprintf(why, whylen, "worker speaks protocol %" PRIu32
		    ".%" PRIu32 ", broker speaks %d.%d", env->hello->major,
		    env->hello->minor, RPC_PROTOCOL_MAJOR, RPC_PROTOCOL_MINOR);
		return -1;
	}
	if (!cgroup_worker_joined(be->pid)) {
		snprintf(why, whylen, "worker %d is not in the memory cgroup "
		    "made for it", (int)be->pid);
		return -1;
	}
	if (spawn_queue_config(be) == -1) {
		snprintf(why, whylen, "cannot queue Config: %s",
		    strerror(errno));
		return -1;
	}
	be->state = BE_ST_CONFIGURING;
	return 0;
}

/* Ready: the worker serves; with rings if both sides offered them. */
static int
msg_ready(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	uint64_t	f = env->ready->features;

	if ((f & ~(uint64_t)RPC_FEATURE_RINGS) != 0 ||
	    ((f & RPC_FEATURE_RINGS) && !ring_offered(be))) {
		snprintf(why, whylen, "Ready with features 0x%" PRIx64
		    " not offered", f);
		return -1;
	}
	be->ring_on = (f & RPC_FEATURE_RINGS) != 0;
	return sup_ready(be, env->ready, why, whylen);
}

/* Failed: a worker's last word (it exits); the permit table allows it
 * once. */
static int
msg_failed(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	(void)why;
	(void)whylen;
	be->said_failed = true;
	sup_failed(be, env->failed);
	return 0;
}

/*
 * A Reply: check it against its request, then answer the client.  On
 * a violation the request stays in flight, to be replayed.
 */
static int
msg_reply(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	const Nbdbroker__Rpc__Reply	*rep = env->reply;
	struct req			*r;

	if ((r = backend_find(be, env->id, REQ_DATA)) == NULL ||
	    r->via_ring) {
		snprintf(why, whylen, "Reply with unknown id %" PRIx64
		    "%s", env->id, r != NULL ? " (sent on the ring)" : "");
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
	backend_answered(be, r);
	if (rep->err == 0 && (r->cmd == NBD_CMD_WRITE ||
	    r->cmd == NBD_CMD_TRIM || r->cmd == NBD_CMD_WRITE_ZEROES))
		be->dirty = true;
	tx_complete(r, rep);
	return 0;
}

/*
 * Block sizes in an OpenReply, by the rules the worker applies to a
 * plugin's block_size (worker/host.c): all three 0 (no preference), or
 * a minimum that is a power of two up to 64 KiB, a preferred size that
 * is a power of two from max(512, minimum) to 32 MiB, and a maximum of
 * 0xffffffff (none) or at least the preferred size and a multiple of
 * the minimum.  A worker saying anything else lies: clients would get
 * sizes no NBD client may be given.
 */
static bool
block_sizes_valid(uint32_t min, uint32_t pref, uint32_t max)
{
	if (min == 0 && pref == 0 && max == 0)
		return true;
	if (min == 0 || min > 65536 || (min & (min - 1)) != 0)
		return false;
	if (pref < 512 || pref < min || pref > 32 * 1024 * 1024 ||
	    (pref & (pref - 1)) != 0)
		return false;
	return max == UINT32_MAX || (max >= pref && max % min == 0);
}

/* An OpenReply: for the handshake, or for a re-open after a restart. */
static int
msg_open_reply(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	const Nbdbroker__Rpc__OpenReply	*rep = env->open_reply;
	struct req			*r;

	if ((r = backend_find(be, env->id, REQ_OPEN)) == NULL) {
		snprintf(why, whylen, "OpenReply with unknown id %" PRIx64,
		    env->id);
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
	if (rep->err == 0 && !block_sizes_valid(rep->block_min,
	    rep->block_preferred, rep->block_max)) {
		snprintf(why, whylen, "OpenReply with invalid block sizes "
		    "%" PRIu32 "/%" PRIu32 "/%" PRIu32, rep->block_min,
		    rep->block_preferred, rep->block_max);
		return -1;
	}
	backend_answered(be, r);
	if (r->reopen)
		sup_reopen_done(be, r, rep);
	else
		hs_open_done(r->conn, r, rep);
	return 0;
}

static int
msg_close_reply(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	struct req	*r;

	if ((r = backend_find(be, env->id, REQ_CLOSE)) == NULL) {
		snprintf(why, whylen, "CloseReply with unknown id %" PRIx64,
		    env->id);
		return -1;
	}
	backend_answered(be, r);
	req_free(r);
	return 0;
}

/* An ExportList: each entry becomes a reply queued for the client. */
static int
msg_export_list(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	struct req	*r;

	if ((r = backend_find(be, env->id, REQ_LIST)) == NULL) {
		snprintf(why, whylen, "ExportList with unknown id %" PRIx64,
		    env->id);
		return -1;
	}
	if (env->export_list->n_exports > BROKER_MAX_EXPORTS) {
		snprintf(why, whylen, "ExportList with %zu exports (at most "
		    "%d)", env->export_list->n_exports, BROKER_MAX_EXPORTS);
		return -1;
	}
	backend_answered(be, r);
	hs_list_done(r->conn, r, env->export_list);
	return 0;
}

/*
 * The plugin called nbdbroker_shutdown() (nbdkit's exitlast and
 * exitwhen filters do).  A worker must not be able to stop a server
 * that serves others: the request is honoured only where the policy
 * says allow-shutdown = yes, and under isolation = connection it ends
 * no connection but the one this worker serves.  Refused, it is
 * logged once per backend and otherwise ignored: asking is no
 * protocol violation.
 */
static int
msg_shutdown_request(struct backend *be, const RpcEnvelope *env, char *why,
    size_t whylen)
{
	const struct policy	*p = policy_load_parsed();
	struct conn		*c, *next;
	bool			 first = !be->said_shutdown;

	(void)env;
	(void)why;
	(void)whylen;
	be->said_shutdown = true;
	if (p == NULL || !p->allow_shutdown) {
		if (first)
			log_warn("worker %d asked to shut the server down: "
			    "refused (the policy %s does not allow it: "
			    "allow-shutdown = no)", (int)be->pid,
			    p != NULL ? p->file : "?");
		return 0;
	}
	if (broker.cfg.rs.per_connection) {
		if (first)
			log_info("worker %d asked to shut the server down: "
			    "its connection only (isolation = connection)",
			    (int)be->pid);
		for (c = TAILQ_FIRST(&be->conns); c != NULL; c = next) {
			next = TAILQ_NEXT(c, belink);
			conn_end(c);
		}
		return 0;
	}
	if (first)
		log_info("worker %d asked to shut the server down: allowed "
		    "by the policy %s", (int)be->pid, p->file);
	broker_shutdown("the plugin asked to shut down");
	return 0;
}

/*
 * The permit table: what a worker may send in each state (OpenSSH's
 * mon_table).  Log is welcome in every state (msg_log); Failed is a
 * worker's last word, after which nothing else is.  Rows are looked
 * up in order: the data path's first.
 */
static const struct permit {
	enum backend_state	 state;
	int			 body;		/* BODY(...) */
	int			(*handle)(struct backend *be,
				    const RpcEnvelope *env, char *why,
				    size_t whylen);
} permits[] = {
	{ BE_ST_READY,		BODY(REPLY),		msg_reply },
	{ BE_ST_READY,		BODY(OPEN_REPLY),	msg_open_reply },
	{ BE_ST_READY,		BODY(CLOSE_REPLY),	msg_close_reply },
	{ BE_ST_READY,		BODY(EXPORT_LIST),	msg_export_list },
	{ BE_ST_READY,		BODY(SHUTDOWN_REQUEST),	msg_shutdown_request },
	{ BE_ST_SPAWNED,	BODY(HELLO),		msg_hello },
	{ BE_ST_CONFIGURING,	BODY(READY),		msg_ready },
	{ BE_ST_CONFIGURING,	BODY(FAILED),		msg_failed },
};

/*
 * Act on one message from the worker, if the permit table lets the
 * backend's state receive it.  Returns 0, or -1 with why set for a
 * protocol violation (the caller kills the worker).  env stays the
 * caller's.
 */
int
backend_handle(struct backend *be, RpcEnvelope *env, char *why,
    size_t whylen)
{
	int	bc = env->body_case;
	size_t	i;

	if (bc == BODY(LOG))
		return msg_log(be, env, why, whylen);
	for (i = 0; !be->said_failed && i < sizeof(permits) /
	    sizeof(permits[0]); i++)
		if (permits[i].state == be->state && permits[i].body == bc)
			return permits[i].handle(be, env, why, whylen);
	snprintf(why, whylen, "unexpected %s in state %d%s",
	    rpc_body_name(bc), be->state, be->said_failed ?
	    " after Failed" : "");
	return -1;
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
	    backend_name(be), what, esc);
}
