/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NBD transmission phase: request headers are validated here,
 * before anything is allocated, then become requests to the worker;
 * the worker's answers become simple replies or structured reply
 * chunks.  READ data goes to the client straight from the arena slot
 * the worker filled; WRITE payloads were read straight into theirs.
 *
 * Errors a client can cause are answered with the NBD error a client
 * expects (out of range: ENOSPC for writes, EINVAL otherwise; writes
 * to a read-only export: EPERM; unknown flags and commands: EINVAL)
 * and never cost the connection, except a bad request magic, after
 * which the stream cannot be trusted.
 *
 * Runs in the event loop only.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

static uint32_t
nbd_errno(int err)
{
	switch (err) {
	case 0:
		return NBD_SUCCESS;
	case EPERM:
	case EROFS:
		return NBD_EPERM;
	case EIO:
		return NBD_EIO;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
	case EOPNOTSUPP:
#endif
		return NBD_ENOTSUP;
	case ESHUTDOWN:
		return NBD_ESHUTDOWN;
	default:
		return NBD_EIO;
	}
}

/* Write a simple reply header into hdr; returns its length. */
static size_t
put_simple_reply(uint8_t *hdr, uint64_t cookie, int err)
{
	struct nbd_simple_reply	sr;

	sr.magic = htobe32(NBD_SIMPLE_REPLY_MAGIC);
	sr.error = htobe32(nbd_errno(err));
	sr.handle = cookie;
	memcpy(hdr, &sr, sizeof(sr));
	return sizeof(sr);
}

/*
 * Write the header of a structured reply's only (so final) chunk into
 * hdr; length payload bytes follow it.  Returns the header's length.
 */
static size_t
put_final_chunk(uint8_t *hdr, uint64_t cookie, uint16_t type,
    uint32_t length)
{
	struct nbd_structured_reply	sr;

	sr.magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC);
	sr.flags = htobe16(NBD_REPLY_FLAG_DONE);
	sr.type = htobe16(type);
	sr.handle = cookie;
	sr.length = htobe32(length);
	memcpy(hdr, &sr, sizeof(sr));
	return sizeof(sr);
}

/*
 * Queue a reply carrying only an error (or success without data).
 * With r, the header lives in r and the request is finished once it
 * is written; without (a request refused before it was one), a copy
 * is queued.
 */
static void
queue_status_reply(struct conn *c, uint16_t cmd, uint64_t cookie, int err,
    struct req *r)
{
	uint8_t	 buf[32], *hdr = r != NULL ? r->hdr : buf;
	size_t	 len;

	metrics_error(err);
	if ((c->flags & CONN_STRUCTURED) && err != 0 &&
	    (cmd == NBD_CMD_READ || cmd == NBD_CMD_BLOCK_STATUS)) {
		struct nbd_structured_reply_error	se;

		len = put_final_chunk(hdr, cookie, NBD_REPLY_TYPE_ERROR,
		    sizeof(se));
		se.error = htobe32(nbd_errno(err));
		se.len = 0;
		memcpy(hdr + len, &se, sizeof(se));
		len += sizeof(se);
	} else
		len = put_simple_reply(hdr, cookie, err);
	if (r != NULL) {
		r->hdr_len = len;
		conn_queue(c, r->hdr, len, NULL, r);
	} else
		conn_queue_copy(c, buf, len);
}

/* A successful READ: its header, then the data straight from the slot. */
static void
queue_read_reply(struct conn *c, struct req *r)
{
	const uint8_t	*data = c->be->in.base + slot_offset(&r->slot);

	if (c->flags & CONN_STRUCTURED) {
		uint64_t	off = htobe64(r->offset);

		r->hdr_len = put_final_chunk(r->hdr, r->cookie,
		    NBD_REPLY_TYPE_OFFSET_DATA, 8 + r->count);
		memcpy(r->hdr + r->hdr_len, &off, 8);
		r->hdr_len += 8;
	} else
		r->hdr_len = put_simple_reply(r->hdr, r->cookie, 0);
	conn_queue(c, r->hdr, r->hdr_len, NULL, NULL);
	conn_queue(c, data, r->count, NULL, r);
}

/* A successful BLOCK_STATUS: one chunk of base:allocation extents. */
static void
queue_block_status_reply(struct conn *c, struct req *r)
{
	uint32_t	id = htobe32(META_ID_BASE_ALLOC);

	memcpy(r->extra, &id, 4);
	r->hdr_len = put_final_chunk(r->hdr, r->cookie,
	    NBD_REPLY_TYPE_BLOCK_STATUS, r->extra_len);
	conn_queue(c, r->hdr, r->hdr_len, NULL, NULL);
	conn_queue(c, r->extra, r->extra_len, NULL, r);
}

/* Convert NBD command flags to the flags plugins see. */
static uint32_t
plugin_flags(uint16_t cmd, uint16_t f)
{
	uint32_t	pf = 0;

	if ((f & NBD_CMD_FLAG_FUA) && (cmd == NBD_CMD_WRITE ||
	    cmd == NBD_CMD_TRIM || cmd == NBD_CMD_WRITE_ZEROES))
		pf |= RPC_FLAG_FUA;
	if (cmd == NBD_CMD_WRITE_ZEROES && !(f & NBD_CMD_FLAG_NO_HOLE))
		pf |= RPC_FLAG_MAY_TRIM;
	if (f & NBD_CMD_FLAG_FAST_ZERO)
		pf |= RPC_FLAG_FAST_ZERO;
	if (f & NBD_CMD_FLAG_REQ_ONE)
		pf |= RPC_FLAG_REQ_ONE;
	return pf;
}

/*
 * Give c->cur its arena slot, or wait for one.  Returns true when the
 * slot is there.  The arenas are shared fairly: a connection may hold
 * at most BROKER_MAX_REQUEST bytes at once, and while another waits
 * because the arena is full, one that already holds space gets no
 * more (the waiting ones come first; its own requests, finishing,
 * free what it has).  A connection holding nothing may always try, so
 * every client gets its turn; one that then sits on its space without
 * moving is cut off (conn_tick).
 */
static bool
get_slot(struct conn *c)
{
	struct req	*r = c->cur;
	struct arena	*a = r->cmd == NBD_CMD_WRITE ? &c->be->out :
	    &c->be->in;

	if (c->arena_bytes > 0 && c->arena_bytes + r->count >
	    BROKER_MAX_REQUEST)
		goto wait;		/* its own limit: nobody else's doing */
	/*
	 * Refused for the others' sake, or the arena is full: either way
	 * it waits for space others hold (so that conn_tick can see who is
	 * in the way: two clients refused for each other's sake, neither
	 * reading its replies, must not wait for each other forever).
	 */
	if ((c->arena_bytes > 0 && conn_others_starved(c, a ==
	    &c->be->out)) || arena_alloc(a, r->count, &r->slot) == -1) {
		c->flags |= CONN_ARENA_FULL;
		goto wait;
	}
	c->arena_bytes += r->count;
	if (a == &c->be->out)
		c->arena_wbytes += r->count;
	return true;

 wait:
	if (!(c->flags & CONN_WAIT_ARENA)) {
		c->flags |= CONN_WAIT_ARENA;
		TAILQ_INSERT_TAIL(&c->be->waiters, c, wlink);
	}
	conn_pause(c, PAUSE_ARENA);
	return false;
}

/* Copy what is buffered of c->cur's payload; submit it if complete. */
static void
start_payload(struct conn *c)
{
	struct req	*r = c->cur;
	size_t		 avail = c->ilen - c->ioff;
	size_t		 n = avail < r->count ? avail : r->count;

	memcpy(c->be->out.base + slot_offset(&r->slot), conn_input(c), n);
	conn_consume(c, n);
	c->got = n;
	c->payload_ms = now_ms();
	if (c->got == r->count)
		tx_payload_done(c);
	else
		conn_set_state(c, CONN_ST_TX_PAYLOAD, r->count - c->got);
}

/* c->cur has its slot: go on with it. */
static void
cur_proceed(struct conn *c)
{
	struct req	*r = c->cur;

	if (r->cmd == NBD_CMD_WRITE) {
		start_payload(c);
		return;
	}
	c->cur = NULL;
	backend_submit(c->be, r);
}

/*
 * Retry a connection waiting for arena space.  Returns true if it got
 * its slot (and reading resumes).
 */
bool
tx_retry_waiting(struct conn *c)
{
	if (c->cur == NULL || (c->flags & CONN_DEAD))
		return true;
	c->flags &= ~(CONN_WAIT_ARENA | CONN_ARENA_FULL);
	TAILQ_REMOVE(&c->be->waiters, c, wlink);
	if (!get_slot(c))
		return false;
	cur_proceed(c);
	conn_unpause(c, PAUSE_ARENA);
	return true;
}

int
tx_payload_done(struct conn *c)
{
	struct req	*r = c->cur;

	c->cur = NULL;
	c->got = 0;
	conn_set_state(c, CONN_ST_TX, sizeof(struct nbd_request));
	backend_submit(c->be, r);
	return 0;
}

/*
 * The payload of a refused WRITE has been read and dropped; only now
 * does its error reply go out: a client still sending the payload
 * does not expect a reply to that request yet (libnbd drops the
 * connection over it).
 */
void
tx_drain_done(struct conn *c)
{
	queue_status_reply(c, NBD_CMD_WRITE, c->drain_cookie, c->drain_err,
	    NULL);
	conn_set_state(c, CONN_ST_TX, sizeof(struct nbd_request));
}

/*
 * Handle one request header (c->need bytes buffered).  Returns 0, or
 * -1 when the stream is corrupt and the connection must go.
 */
int
tx_step(struct conn *c)
{
	struct nbd_request	 h;
	struct req		*r;
	uint16_t		 cmd, flags;
	uint64_t		 offset;
	uint32_t		 count;
	int			 err;

	memcpy(&h, conn_input(c), sizeof(h));
	conn_consume(c, sizeof(h));
	if (be32toh(h.magic) != NBD_REQUEST_MAGIC) {
		conn_log(c, LOG_WARNING, "bad request magic 0x%08x",
		    be32toh(h.magic));
		return -1;
	}
	cmd = be16toh(h.type);
	metrics_request(cmd);
	flags = be16toh(h.flags);
	offset = be64toh(h.offset);
	count = be32toh(h.count);

	if (cmd == NBD_CMD_DISC) {
		conn_log(c, LOG_DEBUG, "NBD_CMD_DISC");
		c->flags |= CONN_DISC;
		conn_pause(c, PAUSE_DISC);
		if (c->inflight == 0)
			conn_close_after_output(c);
		return 0;
	}

	err = conn_ending(c) ? ESHUTDOWN : (c->flags & CONN_STALE) ?
	    EIO : validate_request(c, cmd, flags, offset, count);
	if (err != 0) {
		conn_log(c, LOG_DEBUG, "%s offset=%" PRIu64 " count=%" PRIu32
		    " flags=0x%x: refused: %s", nbd_cmd_name(cmd), offset,
		    count, flags, strerror(err));
		if (cmd == NBD_CMD_WRITE && count > 0) {
			/* Reply once the payload is in (tx_drain_done). */
			c->drain = count;
			c->drain_cookie = h.handle;
			c->drain_err = err;
			conn_set_state(c, CONN_ST_TX_DRAIN, 1);
			return 0;
		}
		queue_status_reply(c, cmd, h.handle, err, NULL);
		return 0;
	}

	if ((r = req_new(c->be, REQ_DATA, c)) == NULL) {
		conn_log(c, LOG_ERR, "out of memory");
		return -1;
	}
	r->cookie = h.handle;	/* kept in wire order, echoed as is */
	r->cmd = cmd;
	r->nbd_flags = flags;
	r->flags = plugin_flags(cmd, flags);
	r->offset = offset;
	r->count = count;
	c->inflight++;
	if (c->inflight >= CONN_MAX_INFLIGHT)
		conn_pause(c, PAUSE_INFLIGHT);

	c->cur = r;
	if (cmd == NBD_CMD_READ || cmd == NBD_CMD_WRITE) {
		if (!get_slot(c))
			return 0;	/* resumes in tx_retry_waiting */
	}
	cur_proceed(c);
	return 0;
}

/*
 * The worker answered r (rep), or r failed without an answer (rep is
 * NULL, r->err set).  Queue the reply to the client; the output queue
 * item carrying r finishes it once written (tx_request_done).
 */
void
tx_complete(struct req *r, const Nbdbroker__Rpc__Reply *rep)
{
	struct conn	*c = r->conn;
	int		 err = rep != NULL ? rep->err : r->err;

	if (r->internal) {		/* a reload's FLUSH: no client reply */
		reload_flush_done(r, err);
		return;
	}
	if (c->flags & CONN_DEAD) {
		tx_request_done(r);
		return;
	}
	r->err = err;
	metrics_reply(r->cmd, err, r->count, now_ms() - r->queued_ms);
	if (err != 0) {
		conn_log(c, LOG_DEBUG, "%s offset=%" PRIu64 " count=%" PRIu32
		    ": %s", nbd_cmd_name(r->cmd), r->offset, r->count,
		    strerror(err));
		queue_status_reply(c, r->cmd, r->cookie, err, r);
	} else if (r->cmd == NBD_CMD_READ)
		queue_read_reply(c, r);
	else if (r->cmd == NBD_CMD_BLOCK_STATUS && r->extra != NULL)
		queue_block_status_reply(c, r);
	else
		queue_status_reply(c, r->cmd, r->cookie, 0, r);
}

/*
 * A data request is over: its reply was written, or it never will be
 * (the connection closed, or it never reached the worker).  The one
 * place that releases what a request holds: its arena slot (waiting
 * connections try again at once), its place in c->inflight and its
 * memory.  Then the connection moves on: it may read again, close
 * after NBD_CMD_DISC, or be freed if it is dead.
 */
void
tx_request_done(struct req *r)
{
	struct conn	*c = r->conn;
	struct backend	*be = r->be;
	bool		 freed = r->slot.npages != 0;

	if (freed) {
		arena_free(r->cmd == NBD_CMD_WRITE ? &be->out : &be->in,
		    &r->slot);
		c->arena_bytes -= r->count;
		if (r->cmd == NBD_CMD_WRITE)
			c->arena_wbytes -= r->count;
	}
	c->inflight--;
	req_free(r);
	if (freed)
		backend_arena_released(be);
	if (c->flags & CONN_DEAD) {
		conn_close(c, NULL);	/* frees it when this was the last */
		return;
	}
	tx_inflight_dropped(c);
}

/*
 * c->inflight went down (a request finished, or a re-open that pinned
 * the connection did): reading may resume, and after NBD_CMD_DISC or
 * during shutdown the connection closes once nothing is left.
 */
void
tx_inflight_dropped(struct conn *c)
{
	if (c->flags & CONN_DEAD)
		return;
	if (c->inflight < CONN_MAX_INFLIGHT)
		conn_unpause(c, PAUSE_INFLIGHT);
	if (conn_ending(c) && c->inflight == 0 && c->pause == 0)
		event_active(c->ev_read, EV_READ, 0);	/* drain, then close */
	if ((c->flags & CONN_DISC) && c->inflight == 0 &&
	    c->state != CONN_ST_CLOSING)
		conn_close_after_output(c);
}
