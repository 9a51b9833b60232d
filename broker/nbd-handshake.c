/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NBD fixed-newstyle handshake: greeting, client flags and option
 * haggling (EXPORT_NAME, GO, INFO, LIST, ABORT, STARTTLS,
 * STRUCTURED_REPLY, LIST/SET_META_CONTEXT; everything else is answered
 * NBD_REP_ERR_UNSUP).  With --tls=require every option but STARTTLS
 * and ABORT is refused until TLS is up (FORCEDTLS); with --tls=on the
 * client chooses (SELECTIVETLS, no TLS-only exports).  Options that need
 * the plugin (an export's size and flags, the export list) become
 * requests to the worker; the connection waits in CONN_ST_HS_WAIT
 * until the answer comes back.
 *
 * Everything the client sends is checked before use: option lengths
 * are capped before buffering, names are bounded, and a client that
 * sends more than BROKER_MAX_OPTIONS options is disconnected.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"

static const uint8_t	zeroes[124];

void
hs_start(struct conn *c)
{
	struct nbd_new_handshake	hs;

	hs.nbdmagic = htobe64(NBD_MAGIC);
	hs.version = htobe64(NBD_OPTS_MAGIC);
	hs.gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	conn_queue_copy(c, &hs, sizeof(hs));
	conn_set_state(c, CONN_ST_HS_FLAGS, 4);
}

/* Queue an option reply with an optional payload. */
static int
send_opt_reply(struct conn *c, uint32_t opt, uint32_t reply,
    const void *data, size_t len)
{
	struct nbd_fixed_new_option_reply	 h;
	uint8_t					*buf;

	if ((buf = malloc(sizeof(h) + len)) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	h.magic = htobe64(NBD_REP_MAGIC);
	h.option = htobe32(opt);
	h.reply = htobe32(reply);
	h.replylen = htobe32(len);
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), data, len);
	conn_queue(c, buf, sizeof(h) + len, buf, NULL);
	if (reply & NBD_REP_ERR_BIT)
		conn_log(c, LOG_DEBUG, "%s: %s", nbd_opt_name(opt),
		    nbd_rep_name(reply));
	return 0;
}

/*
 * What of a worker's capabilities a client may rely on.  With a worker
 * per connection, nothing is shared between connections (a memory
 * plugin even has a disk each), so multi-conn cannot be offered.
 * Under -r the broker itself takes away everything that writes,
 * whatever the worker says: the worker is told -r too, but read-only is
 * the broker's promise, and a worker may lie.  FUA goes with them
 * (hs_eflags: no SEND_FUA without write), and validate_request
 * answers EPERM to WRITE, TRIM and WRITE_ZEROES without asking the
 * worker.
 */
uint32_t
hs_client_caps(uint32_t caps)
{
	if (broker.cfg.rs.per_connection)
		caps &= ~RPC_CAP_MULTI_CONN;
	if (broker.cfg.readonly)
		caps &= ~(RPC_CAP_WRITE | RPC_CAP_TRIM | RPC_CAP_ZERO |
		    RPC_CAP_FAST_ZERO);
	return caps;
}

static uint16_t
hs_eflags(const struct conn *c)
{
	uint16_t	f = NBD_FLAG_HAS_FLAGS;

	if (!(c->caps & RPC_CAP_WRITE))
		f |= NBD_FLAG_READ_ONLY;
	if (c->caps & RPC_CAP_FLUSH)
		f |= NBD_FLAG_SEND_FLUSH;
	if (c->fua != RPC_FUA_NONE && (c->caps & RPC_CAP_WRITE))
		f |= NBD_FLAG_SEND_FUA;
	if (c->caps & RPC_CAP_ROTATIONAL)
		f |= NBD_FLAG_ROTATIONAL;
	if (c->caps & RPC_CAP_TRIM)
		f |= NBD_FLAG_SEND_TRIM;
	if (c->caps & RPC_CAP_ZERO)
		f |= NBD_FLAG_SEND_WRITE_ZEROES;
	if (c->caps & RPC_CAP_FAST_ZERO)
		f |= NBD_FLAG_SEND_FAST_ZERO;
	if (c->caps & RPC_CAP_MULTI_CONN)
		f |= NBD_FLAG_CAN_MULTI_CONN;
	if (c->cache != RPC_CACHE_NONE)
		f |= NBD_FLAG_SEND_CACHE;
	/* Reads are always one chunk, so DF is trivially honoured. */
	if (c->flags & CONN_STRUCTURED)
		f |= NBD_FLAG_SEND_DF;
	return f;
}

static bool
valid_name(const char *name, size_t len)
{
	return memchr(name, '\0', len) == NULL;
}

/*
 * The worker that answers c, started now if c has none yet (isolation
 * = connection).  True when c->be takes requests; false when c waits
 * for a start slot (hs_resume comes back to the option) or was closed.
 */
static bool
need_worker(struct conn *c)
{
	switch (sup_conn_backend(c)) {
	case 1:
		return true;
	case 0:
		return false;
	default:
		conn_close(c, "cannot start a worker");
		return false;
	}
}

/* Ask the worker to open the export; the answer arrives in hs_open_done. */
static int
start_open(struct conn *c, const char *name, size_t len, bool info_only)
{
	struct req	*r;
	char		*n;

	if (!need_worker(c))
		return 0;
	if ((n = strndup(name, len)) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	free(c->export_name);
	c->export_name = n;
	if ((r = req_new(c->be, REQ_OPEN, c)) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	r->info_only = info_only;
	c->hs_req = r;
	c->hs_deny_seq = deny_seq();
	conn_set_state(c, CONN_ST_HS_WAIT, SIZE_MAX);
	backend_submit(c->be, r);
	return 0;
}

static int
opt_info_go(struct conn *c)
{
	const char	*name;
	const uint8_t	*infos;
	uint32_t	 namelen;
	uint16_t	 ninfos, i;

	if (validate_opt_info(c->optdata, c->optlen, &name, &namelen, &infos,
	    &ninfos) == -1)
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (!valid_name(name, namelen))
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	free(c->info_reqs);
	c->info_reqs = NULL;
	c->ninfo_reqs = 0;
	if (ninfos > 0) {
		if ((c->info_reqs = calloc(ninfos, sizeof(uint16_t))) == NULL) {
			conn_close(c, "out of memory");
			return -1;
		}
		for (i = 0; i < ninfos; i++) {
			uint16_t	t;

			memcpy(&t, infos + 2 * i, 2);
			c->info_reqs[i] = be16toh(t);
		}
		c->ninfo_reqs = ninfos;
	}
	return start_open(c, name, namelen, c->opt == NBD_OPT_INFO);
}

static bool
info_requested(const struct conn *c, uint16_t type)
{
	size_t	i;

	for (i = 0; i < c->ninfo_reqs; i++)
		if (c->info_reqs[i] == type)
			return true;
	return false;
}

static int
send_info(struct conn *c, uint16_t type, const void *data, size_t len)
{
	uint8_t	buf[2 + BROKER_MAX_NAME + 16];
	uint16_t t = htobe16(type);

	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	memcpy(buf, &t, 2);
	memcpy(buf + 2, data, len);
	return send_opt_reply(c, c->opt, NBD_REP_INFO, buf, 2 + len);
}

/*
 * Map a worker's open errno to an option reply.  NBD_REP_ERR_UNKNOWN
 * ("the requested export is not available") only where the export
 * does not exist: the plugin says no such name (ENOENT, ENXIO, ENODEV)
 * or refuses the name itself (EINVAL).  Anything else means the export
 * is there but the server could not open it, which the protocol has no
 * generic error for; NBD_REP_ERR_POLICY ("server-side policy forbids
 * the server to allow the option") is the nearest, and exact when the
 * sandbox denied the call (docs/design-notes.md, "Errors that help").
 */
static uint32_t
open_rep_error(int err)
{
	switch (err) {
	case ESHUTDOWN:
		return NBD_REP_ERR_SHUTDOWN;
	case EINVAL:
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return NBD_REP_ERR_UNKNOWN;
	default:
		return NBD_REP_ERR_POLICY;
	}
}

/*
 * The export as the worker opened it: its size and capabilities, the
 * transmission flags they make, and the block size limits requests
 * are checked against (validate_request), whatever the option.
 */
static void
take_export(struct conn *c, const Nbdbroker__Rpc__OpenReply *rep)
{
	c->size = rep->size;
	c->caps = hs_client_caps(rep->caps);
	c->fua = rep->fua;
	c->cache = rep->cache;
	c->eflags = hs_eflags(c);
	c->block_min = rep->block_min;
	c->block_pref = rep->block_preferred;
	c->block_max = rep->block_max;
	if (c->block_min == 0)
		c->block_min = 1;
	if (c->block_max == 0 || c->block_max > BROKER_MAX_REQUEST)
		c->block_max = BROKER_MAX_REQUEST;
	if (c->block_pref == 0)
		c->block_pref = 4096;
	if (c->block_pref < c->block_min)
		c->block_pref = c->block_min;
	if (c->block_pref > c->block_max)
		c->block_pref = c->block_max;
}

/* Enter transmission (the handle is c's already): request headers
 * from now on. */
static void
enter_tx(struct conn *c)
{
	char	en[CONN_LOG_NAME], mn[CONN_LOG_NAME];

	conn_handshake_done(c);
	/* Contexts were chosen for the export named in SET_META_CONTEXT. */
	if ((c->flags & CONN_META_ALLOC) && (c->meta_export == NULL ||
	    strcmp(c->meta_export, c->export_name) != 0)) {
		conn_log(c, LOG_INFO, "meta context was set for export '%s', "
		    "not '%s': block status disabled",
		    conn_escape(mn, sizeof(mn), c->meta_export),
		    conn_escape(en, sizeof(en), c->export_name));
		c->flags &= ~CONN_META_ALLOC;
		c->eflags = hs_eflags(c);
	}
	conn_set_state(c, CONN_ST_TX, sizeof(struct nbd_request));
	conn_log(c, LOG_DEBUG, "export '%s': size %" PRId64 ", flags 0x%x",
	    conn_escape(en, sizeof(en), c->export_name), c->size, c->eflags);
}

/*
 * The worker answered an Open started by the handshake.  Sends the
 * option's replies and moves the connection on.
 */
void
hs_open_done(struct conn *c, struct req *r, const Nbdbroker__Rpc__OpenReply *rep)
{
	int	err = rep != NULL ? rep->err : r->err;
	bool	info_only = r->info_only;

	c->hs_req = NULL;
	req_free(r);
	if (rep != NULL && err == 0)
		backend_take_handle(c, rep->handle);
	if (c->flags & CONN_DEAD) {
		conn_close(c, NULL);	/* frees once the handle is closed */
		return;
	}
	if (err != 0) {
		static const char	failed[] = "the server failed to open "
		    "the export";
		char			en[CONN_LOG_NAME], why[1024];
		uint32_t		code = open_rep_error(err);
		bool			denied;

		/*
		 * What the sandbox denied the worker since the Open was
		 * sent is the likely cause: say it with the failure.
		 */
		denied = c->be != NULL && c->be->pid > 0 &&
		    tripwire_denied(c->be->pid, c->hs_deny_seq, why,
		    sizeof(why));
		if (denied) {
			code = NBD_REP_ERR_POLICY;
			conn_log(c, LOG_WARNING, "export '%s': open failed: "
			    "%s: the sandbox denied it: %s",
			    conn_escape(en, sizeof(en), c->export_name),
			    strerror(err), why);
		} else
			conn_log(c, LOG_INFO, "export '%s': open failed: %s",
			    conn_escape(en, sizeof(en), c->export_name),
			    strerror(err));
		if (c->opt == NBD_OPT_EXPORT_NAME) {
			/* No way to report an error: hard disconnect. */
			conn_close_after_output(c);
			return;
		}
		if (code == NBD_REP_ERR_UNKNOWN)
			send_opt_reply(c, c->opt, code, NULL, 0);
		else
			send_opt_reply(c, c->opt, code, failed,
			    sizeof(failed) - 1);
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return;
	}

	take_export(c, rep);

	if (c->opt == NBD_OPT_EXPORT_NAME) {
		struct nbd_export_name_reply	er;

		er.exportsize = htobe64(c->size);
		er.eflags = htobe16(c->eflags);
		conn_queue_copy(c, &er, sizeof(er));
		if (!(c->flags & CONN_NO_ZEROES))
			conn_queue(c, zeroes, sizeof(zeroes), NULL, NULL);
		enter_tx(c);
		return;
	}

	/* NBD_OPT_INFO / NBD_OPT_GO */
	{
		uint8_t		buf[12];
		uint64_t	sz = htobe64(c->size);
		uint16_t	fl = htobe16(c->eflags);

		memcpy(buf, &sz, 8);
		memcpy(buf + 8, &fl, 2);
		send_info(c, NBD_INFO_EXPORT, buf, 10);
	}
	if (info_requested(c, NBD_INFO_NAME))
		send_info(c, NBD_INFO_NAME, rep->canonical_name,
		    strlen(rep->canonical_name));
	if (info_requested(c, NBD_INFO_DESCRIPTION) && rep->has_description)
		send_info(c, NBD_INFO_DESCRIPTION, rep->description,
		    strlen(rep->description));
	{
		uint32_t	bs[3];

		bs[0] = htobe32(c->block_min);
		bs[1] = htobe32(c->block_pref);
		bs[2] = htobe32(c->block_max);
		send_info(c, NBD_INFO_BLOCK_SIZE, bs, sizeof(bs));
	}
	send_opt_reply(c, c->opt, NBD_REP_ACK, NULL, 0);
	if (info_only) {
		backend_close_handle(c->be, c);
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return;
	}
	enter_tx(c);
}

/* The worker answered NBD_OPT_LIST. */
void
hs_list_done(struct conn *c, struct req *r, const Nbdbroker__Rpc__ExportList *el)
{
	size_t	i;
	int	err = el != NULL ? el->err : r->err;

	c->hs_req = NULL;
	req_free(r);
	if (c->flags & CONN_DEAD) {
		conn_close(c, NULL);
		return;
	}
	if (err != 0) {
		send_opt_reply(c, NBD_OPT_LIST, NBD_REP_ERR_PLATFORM, NULL, 0);
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return;
	}
	for (i = 0; i < el->n_exports; i++) {
		const Nbdbroker__Rpc__ExportEntry	*e = el->exports[i];
		size_t		nl = strnlen(e->name, BROKER_MAX_NAME + 1);
		size_t		dl = e->has_description ?
		    strnlen(e->description, BROKER_MAX_NAME + 1) : 0;
		uint8_t		buf[4 + 2 * BROKER_MAX_NAME];
		uint32_t	l;

		if (nl > BROKER_MAX_NAME || dl > BROKER_MAX_NAME)
			continue;	/* the worker checks too */
		l = htobe32(nl);
		memcpy(buf, &l, 4);
		memcpy(buf + 4, e->name, nl);
		memcpy(buf + 4 + nl, e->description ? e->description : "", dl);
		send_opt_reply(c, NBD_OPT_LIST, NBD_REP_SERVER, buf,
		    4 + nl + dl);
	}
	send_opt_reply(c, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
	conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
}

/* State for one LIST/SET_META_CONTEXT option. */
struct meta_q {
	struct conn	*c;
	bool		 set;		/* SET (else LIST) */
	bool		 matched;	/* base:allocation replied already */
};

static const char	base_alloc[] = "base:allocation";

static int
meta_reply(struct conn *c, uint32_t id)
{
	uint8_t		buf[4 + sizeof(base_alloc) - 1];
	uint32_t	beid = htobe32(id);

	memcpy(buf, &beid, 4);
	memcpy(buf + 4, base_alloc, sizeof(base_alloc) - 1);
	return send_opt_reply(c, c->opt, NBD_REP_META_CONTEXT, buf,
	    sizeof(buf));
}

/* One query: we know base:allocation (and, for LIST, "base:"). */
static int
meta_query(void *arg, const char *q, uint32_t ql)
{
	struct meta_q	*m = arg;
	bool		 hit;

	hit = (ql == sizeof(base_alloc) - 1 &&
	    memcmp(q, base_alloc, ql) == 0) ||
	    (!m->set && ql == 5 && memcmp(q, "base:", 5) == 0);
	if (hit && !m->matched) {
		m->matched = true;
		if (m->set)
			m->c->flags |= CONN_META_ALLOC;
		return meta_reply(m->c, m->set ? META_ID_BASE_ALLOC : 0);
	}
	return 0;
}

/*
 * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT.  We offer
 * base:allocation, answered by the plugin's extents (plugins without
 * them report all data).  SET replaces the previous selection.
 */
static int
opt_meta(struct conn *c)
{
	struct meta_q	 m = { .c = c, .set = c->opt == NBD_OPT_SET_META_CONTEXT };
	const char	*name;
	uint32_t	 namelen, nq;

	if (!(c->flags & CONN_STRUCTURED))
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	/* Check the whole option before replying anything. */
	if (validate_meta_context(c->optdata, c->optlen, &name, &namelen,
	    &nq, NULL, NULL) == -1)
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (m.set) {
		char	*n = strndup(name, namelen);

		if (n == NULL) {
			conn_close(c, "out of memory");
			return -1;
		}
		c->flags &= ~CONN_META_ALLOC;
		free(c->meta_export);
		c->meta_export = n;
	}
	if (!m.set && nq == 0) {
		if (meta_reply(c, 0) == -1)
			return -1;
	} else if (validate_meta_context(c->optdata, c->optlen, &name,
	    &namelen, &nq, meta_query, &m) == -1)
		return -1;
	return send_opt_reply(c, c->opt, NBD_REP_ACK, NULL, 0);
}

/*
 * NBD_OPT_STARTTLS.  After the ACK the next bytes in either direction
 * are TLS: the reply goes out in clear, then conn.c runs the handshake
 * (CONN_ST_HS_TLS).  Whatever was negotiated in clear is forgotten, as
 * the spec asks: a man in the middle may have chosen it.
 */
static int
opt_starttls(struct conn *c)
{
	if (c->optlen != 0)
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	if (broker.cfg.tls == TLS_OFF)
		return send_opt_reply(c, c->opt, tls_available() ?
		    NBD_REP_ERR_POLICY : NBD_REP_ERR_UNSUP, NULL, 0);
	if (c->flags & CONN_TLS)
		return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID, NULL, 0);
	/*
	 * The client must wait for our ACK before its first TLS byte, so
	 * anything already buffered was sent in clear behind STARTTLS
	 * and would be taken as coming from inside TLS: an injection
	 * (CVE-2021-3716 in nbdkit was of this kind).  Drop it all.
	 */
	if (c->ilen != c->ioff) {
		conn_close(c, "NBD_OPT_STARTTLS: client sent more data "
		    "before TLS began");
		return 0;
	}
	if (send_opt_reply(c, c->opt, NBD_REP_ACK, NULL, 0) == -1)
		return -1;
	c->flags &= ~(CONN_STRUCTURED | CONN_META_ALLOC);
	free(c->meta_export);
	c->meta_export = NULL;
	free(c->export_name);
	c->export_name = NULL;
	free(c->info_reqs);
	c->info_reqs = NULL;
	c->ninfo_reqs = 0;
	conn_set_state(c, CONN_ST_HS_TLS, SIZE_MAX);
	conn_mark_dirty(c);
	return 0;
}

/* Handle one complete option (header and data read). */
static int
hs_option(struct conn *c)
{
	struct req	*r;

	if (conn_ending(c) && c->opt != NBD_OPT_ABORT)
		return send_opt_reply(c, c->opt, NBD_REP_ERR_SHUTDOWN,
		    NULL, 0);
	/* FORCEDTLS: nothing but STARTTLS and ABORT before TLS. */
	if (broker.cfg.tls == TLS_REQUIRE && !(c->flags & CONN_TLS) &&
	    c->opt != NBD_OPT_STARTTLS && c->opt != NBD_OPT_ABORT) {
		if (c->opt == NBD_OPT_EXPORT_NAME) {
			/* It has no error reply: the spec says hang up. */
			conn_close(c, "NBD_OPT_EXPORT_NAME without TLS, "
			    "which is required");
			return 0;
		}
		return send_opt_reply(c, c->opt, NBD_REP_ERR_TLS_REQD,
		    NULL, 0);
	}
	switch (c->opt) {
	case NBD_OPT_EXPORT_NAME:
		/* This option cannot fail politely: bad names disconnect. */
		if (c->optlen > BROKER_MAX_NAME) {
			conn_close(c, "NBD_OPT_EXPORT_NAME: name longer than "
			    "4096 bytes");
			return 0;
		}
		if (!valid_name((const char *)c->optdata, c->optlen)) {
			conn_close(c, "NBD_OPT_EXPORT_NAME: name contains NUL");
			return 0;
		}
		return start_open(c, (const char *)c->optdata, c->optlen,
		    false);
	case NBD_OPT_ABORT:
		send_opt_reply(c, c->opt, NBD_REP_ACK, NULL, 0);
		conn_close_after_output(c);
		return 0;
	case NBD_OPT_LIST:
		if (c->optlen != 0)
			return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID,
			    NULL, 0);
		if (!need_worker(c))
			return 0;
		if ((r = req_new(c->be, REQ_LIST, c)) == NULL) {
			conn_close(c, "out of memory");
			return 0;
		}
		c->hs_req = r;
		conn_set_state(c, CONN_ST_HS_WAIT, SIZE_MAX);
		backend_submit(c->be, r);
		return 0;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info_go(c);
	case NBD_OPT_STARTTLS:
		return opt_starttls(c);
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return opt_meta(c);
	case NBD_OPT_STRUCTURED_REPLY:
		if (c->optlen != 0)
			return send_opt_reply(c, c->opt, NBD_REP_ERR_INVALID,
			    NULL, 0);
		c->flags |= CONN_STRUCTURED;
		return send_opt_reply(c, c->opt, NBD_REP_ACK, NULL, 0);
	default:
		return send_opt_reply(c, c->opt, NBD_REP_ERR_UNSUP, NULL, 0);
	}
}

/*
 * c waited for a worker start slot (sup_conn_backend) and has one now:
 * handle the option it was stopped at again, from the start.
 */
void
hs_resume(struct conn *c)
{
	conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
	if (hs_option(c) == -1)
		conn_close(c, "protocol error");
}

/*
 * Advance the handshake by one unit; c->need bytes are buffered.
 * Returns 0, or -1 to drop the connection.
 */
int
hs_step(struct conn *c)
{
	const uint8_t	*in = conn_input(c);

	switch (c->state) {
	case CONN_ST_HS_FLAGS: {
		uint32_t	cflags;

		memcpy(&cflags, in, 4);
		cflags = be32toh(cflags);
		conn_consume(c, 4);
		if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE |
		    NBD_FLAG_C_NO_ZEROES)) {
			conn_log(c, LOG_WARNING, "unknown client flags 0x%x",
			    cflags);
			return -1;
		}
		if (cflags & NBD_FLAG_C_FIXED_NEWSTYLE)
			c->flags |= CONN_FIXED_NEWSTYLE;
		if (cflags & NBD_FLAG_C_NO_ZEROES)
			c->flags |= CONN_NO_ZEROES;
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return 0;
	}
	case CONN_ST_HS_OPT: {
		struct nbd_option	opt;

		memcpy(&opt, in, sizeof(opt));
		conn_consume(c, sizeof(opt));
		if (be64toh(opt.version) != NBD_OPTS_MAGIC) {
			conn_log(c, LOG_WARNING, "bad option magic");
			return -1;
		}
		c->opt = be32toh(opt.option);
		c->optlen = be32toh(opt.optlen);
		if (++c->nopts > BROKER_MAX_OPTIONS) {
			conn_log(c, LOG_WARNING, "more than %d options: "
			    "disconnecting", BROKER_MAX_OPTIONS);
			return -1;
		}
		if (c->optlen > BROKER_MAX_OPTLEN) {
			conn_log(c, LOG_WARNING, "%s: option length %" PRIu32
			    " exceeds %u", nbd_opt_name(c->opt), c->optlen,
			    BROKER_MAX_OPTLEN);
			return -1;
		}
		/* Non-fixed newstyle clients may only send EXPORT_NAME. */
		if (!(c->flags & CONN_FIXED_NEWSTYLE) &&
		    c->opt != NBD_OPT_EXPORT_NAME) {
			conn_log(c, LOG_WARNING, "%s from a client without "
			    "fixed newstyle", nbd_opt_name(c->opt));
			return -1;
		}
		conn_set_state(c, CONN_ST_HS_OPT_DATA, c->optlen);
		return 0;
	}
	case CONN_ST_HS_OPT_DATA: {
		uint8_t	*d;

		if ((d = malloc(c->optlen + 1)) == NULL)
			return -1;
		memcpy(d, in, c->optlen);
		d[c->optlen] = '\0';
		conn_consume(c, c->optlen);
		free(c->optdata);
		c->optdata = d;
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return hs_option(c);
	}
	default:
		return 0;
	}
}
