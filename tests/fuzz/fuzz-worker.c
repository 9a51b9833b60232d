/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: what a hostile worker sends the broker.  The input is a
 * script of operations: raw bytes and frames on the RPC socket (the
 * frame decoder and protobuf-c), structured messages of every type
 * with chosen contents and ids (the permit table and every check in
 * backend-msg.c and supervisor.c), log floods, stderr output, descriptors
 * passed with SCM_RIGHTS, the worker exiting or being reaped in either
 * order, spawns that fail, virtual time passing (request timeouts),
 * and clients connecting, sending requests and hanging up meanwhile;
 * and, once OP_RINGS turns them on for the workers that start next,
 * the shared-memory rings: completions with chosen ids and errnos,
 * tails and heads moved anywhere, flags flipped, doorbells rung.
 *
 * Ids: a message's id is picked by one byte: mostly the id of a
 * request the worker has received and not answered (so that checks
 * past the id lookup are reached), or a stale id, zero, or any value.
 *
 * Input: byte 0 configuration (see below), byte 1 the first client's
 * handshake (bit 7: no first client), then operations until the end.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "fuzz-harness.h"

#define F_PER_CONNECTION	0x01
#define F_MANUAL_STARTUP	0x02
#define F_TIMEOUT		0x04	/* request timeout 1 s (or 0) */
#define F_REPLAYS(f)		(((f) >> 3) & 3)
#define F_DURABILITY(f)		(((f) >> 5) & 3)
#define F_LOW_INTENSITY		0x80	/* back off after 2 deaths */

enum op {
	OP_RUN,
	OP_ANSWER,		/* one queued message, correctly */
	OP_ANSWER_ALL,
	OP_AUTO,		/* answer everything from now on */
	OP_RAW,			/* bytes on the socket */
	OP_FRAME,		/* a length, then envelope bytes (+ an id) */
	OP_LENGTH,		/* a frame header only */
	OP_REPLY,
	OP_OPEN_REPLY,
	OP_EXPORT_LIST,
	OP_CLOSE_REPLY,
	OP_LOG,
	OP_HELLO,
	OP_READY,
	OP_FAILED,
	OP_SHUTDOWN,
	OP_WRONG_WAY,		/* a message only the broker sends */
	OP_EXIT,
	OP_REAP_NOW,		/* SIGCHLD before the socket's EOF */
	OP_STDERR,
	OP_SEND_FD,
	OP_TICK,
	OP_FIRE_TIMERS,
	OP_SPAWN_FAIL,
	OP_CLIENT_NEW,
	OP_CLIENT_REQUEST,
	OP_CLIENT_CLOSE,
	OP_CLIENT_READING,
	OP_SELECT_WORKER,
	OP_LOG_FLOOD,
	OP_RINGS,		/* workers that start next serve the rings */
	OP_RING,		/* something on the current worker's rings */
	OP__MAX
};

static const int	errnos[16] = {
	0, 0, 0, 0, EIO, ENOSPC, EPERM, EINVAL, ENOTSUP, ESHUTDOWN, ENOMEM,
	EOVERFLOW, ENOENT, -1, 4095, 4096,
};
static const uint64_t	lengths[8] = {
	0, 1, 512, 4096, 65536, UINT64_C(1) << 32, UINT64_MAX, 1024 * 1024,
};
static const int64_t	sizes[8] = {
	1024 * 1024, 0, -1, INT64_MAX, INT64_C(1) << 40, 4097, 512,
	1024 * 1024 + 4096,
};
static const uint32_t	blocks[8] = {
	0, 1, 512, 4096, 65536, UINT32_MAX, 3, (32u << 20) + 1,
};
static const uint32_t	counts[8] = {
	0, 1, 512, 4096, 65536, 1024 * 1024, 32u << 20, (32u << 20) + 1,
};
static const size_t	strlens[8] = { 0, 1, 4, 64, 65, 4096, 4097, 9000 };

/* Per iteration. */
static struct {
	int		 sel;		/* OP_SELECT_WORKER's pick */
	uint64_t	 cookie;
	char		 str[3][9001];	/* strings, chosen lengths */
} st;

/* The worker operations apply to: the chosen one, or the newest. */
static struct fz_worker *
cur_worker(void)
{
	struct fz_worker	*w;

	if (st.sel >= 0 && (w = fz_worker(st.sel)) != NULL && !w->exited)
		return w;
	return fz_worker(-1);
}

/*
 * Pick an id: mostly that of a queued message (its index in *qi, so
 * the caller can drop it: the worker has answered it, rightly or not),
 * else a stale one, zero, anything.  *set false: no id at all.
 */
static uint64_t
pick_id(struct fz_in *in, struct fz_worker *w, ssize_t *qi, bool *set)
{
	uint8_t	v = fz_u8(in);

	*qi = -1;
	*set = true;
	if (v < 0xf0) {
		if (w->nq == 0)
			return 0;
		*qi = v % w->nq;
		return w->q[*qi]->id;
	}
	if (v < 0xf8)
		return w->stale[v & 7];
	if (v == 0xf8)
		return fz_u64(in);
	if (v == 0xf9) {
		*set = false;
		return 0;
	}
	return (uint64_t)(v & 7) << 32 | (v & 3);
}

static void
drop_queued(struct fz_worker *w, ssize_t qi)
{
	if (qi < 0 || (size_t)qi >= w->nq)
		return;
	rpc_envelope_free(w->q[qi]);
	memmove(&w->q[qi], &w->q[qi + 1], (w->nq - qi - 1) * sizeof(*w->q));
	w->nq--;
}

/* A string of a chosen length (i: which of three buffers). */
static char *
pick_str(struct fz_in *in, int i)
{
	uint8_t		 v = fz_u8(in);
	size_t		 len = strlens[v & 7];
	const uint8_t	*p;
	size_t		 n;

	memset(st.str[i], 'a' + i, len);
	st.str[i][len] = '\0';
	if (v & 8) {	/* bytes from the input, NULs and all */
		n = fz_bytes(in, len < 32 ? len : 32, &p);
		memcpy(st.str[i], p, n);
	}
	return st.str[i];
}

/*
 * Something on the rings of w, if it serves them: a completion (of an
 * SQE it took, or of any id) with a chosen errno, cq_tail or sq_head
 * moved by a chosen amount or anywhere, its sleep flag flipped; then,
 * by bit 6, a doorbell (alone, when nothing else was picked).
 */
static void
op_ring(struct fz_in *in, struct fz_worker *w)
{
	struct backend	*be = fz_worker_ring(w);
	uint8_t		 v = fz_u8(in), k;
	uint64_t	 id;
	size_t		 i;

	if (be == NULL)
		return;
	switch (v & 7) {
	case 0:
	case 1:
	case 2:
		k = fz_u8(in);
		if (w->nsq > 0 && !(k & 0x80)) {
			i = k % w->nsq;
			id = w->sq[i].id;
			memmove(&w->sq[i], &w->sq[i + 1],
			    (w->nsq - i - 1) * sizeof(*w->sq));
			w->nsq--;
		} else if (k & 0x40)
			id = fz_u64(in);
		else
			id = w->stale[k & 7];
		fz_worker_ring_post(w, id, errnos[fz_u8(in) & 15]);
		break;
	case 3:
		w->cq_tail += (int8_t)fz_u8(in);
		__atomic_store_n(&be->ring_in->cq_tail, w->cq_tail,
		    __ATOMIC_RELEASE);
		break;
	case 4:
		be->ring_in->cq_tail = fz_u32(in);
		break;
	case 5:
		be->ring_in->sq_head += (int8_t)fz_u8(in);
		break;
	case 6:
		be->ring_in->sq_head = fz_u32(in);
		break;
	case 7:
		be->ring_in->worker_sleeps = fz_u8(in) & 1;
		break;
	}
	if (v & 0x40)
		fz_worker_ring_doorbell(w);
}

/* Send env with the id picked from the input; drop what it answers. */
static void
send_msg(struct fz_in *in, struct fz_worker *w, RpcEnvelope *env)
{
	ssize_t	qi;
	bool	set;

	env->id = pick_id(in, w, &qi, &set);
	if (!set)
		env->id = 0;
	if (fz_worker_send(w, env) == 0)
		drop_queued(w, qi);
}

static void
op_reply(struct fz_in *in, struct fz_worker *w)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		rp = NBDBROKER__RPC__REPLY__INIT;
	uint64_t			len[8];
	uint32_t			type[8];
	uint8_t				v = fz_u8(in);
	size_t				i, n = v & 7;

	rp.err = errnos[fz_u8(in) & 15];
	for (i = 0; i < n; i++) {
		uint8_t	l = fz_u8(in);

		len[i] = l & 0x80 ? fz_u32(in) : lengths[l & 7];
		type[i] = fz_u8(in) & 7;
	}
	rp.n_extent_length = n;
	rp.extent_length = len;
	rp.n_extent_type = v & 8 ? n / 2 : n;	/* 8: counts differ */
	rp.extent_type = type;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	send_msg(in, w, &env);
}

static void
op_open_reply(struct fz_in *in, struct fz_worker *w)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__OpenReply	o = NBDBROKER__RPC__OPEN_REPLY__INIT;
	uint8_t				v = fz_u8(in);

	o.err = errnos[v & 15];
	o.handle = v & 0x10 ? 0 : ++w->next_handle;
	o.size = sizes[fz_u8(in) & 7];
	o.caps = fz_u16(in);
	v = fz_u8(in);
	o.fua = v & 3;
	o.cache = (v >> 2) & 3;
	v = fz_u8(in);
	o.block_min = blocks[v & 7];
	o.block_preferred = blocks[(v >> 3) & 7];
	o.block_max = blocks[fz_u8(in) & 7];
	o.canonical_name = pick_str(in, 0);
	o.has_description = v & 0x40;
	o.description = pick_str(in, 1);
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY;
	env.open_reply = &o;
	send_msg(in, w, &env);
}

static void
op_export_list(struct fz_in *in, struct fz_worker *w)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ExportList	 el = NBDBROKER__RPC__EXPORT_LIST__INIT;
	Nbdbroker__Rpc__ExportEntry	 e[2] = {
		NBDBROKER__RPC__EXPORT_ENTRY__INIT,
		NBDBROKER__RPC__EXPORT_ENTRY__INIT,
	};
	Nbdbroker__Rpc__ExportEntry	**ep;
	uint8_t				 v = fz_u8(in);
	size_t				 i, n;

	el.err = errnos[v & 15];
	/* 0x10: hundreds of entries (two distinct ones, repeated). */
	n = v & 0x10 ? 256 * (1 + ((v >> 5) & 7)) : (v >> 5) & 3;
	e[0].name = pick_str(in, 0);
	e[0].description = pick_str(in, 1);
	e[0].has_description = true;
	e[1].name = pick_str(in, 2);
	if ((ep = calloc(n ? n : 1, sizeof(*ep))) == NULL)
		abort();
	for (i = 0; i < n; i++)
		ep[i] = &e[i & 1];
	el.n_exports = n;
	el.exports = ep;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
	env.export_list = &el;
	send_msg(in, w, &env);
	free(ep);
}

static void
op_simple(struct fz_in *in, struct fz_worker *w, enum op op)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__CloseReply	cr = NBDBROKER__RPC__CLOSE_REPLY__INIT;
	Nbdbroker__Rpc__Log		lg = NBDBROKER__RPC__LOG__INIT;
	Nbdbroker__Rpc__Hello		h = NBDBROKER__RPC__HELLO__INIT;
	Nbdbroker__Rpc__Ready		rd = NBDBROKER__RPC__READY__INIT;
	Nbdbroker__Rpc__Failed		fl = NBDBROKER__RPC__FAILED__INIT;
	Nbdbroker__Rpc__ShutdownRequest	sr =
	    NBDBROKER__RPC__SHUTDOWN_REQUEST__INIT;
	uint8_t				v;

	switch (op) {
	case OP_CLOSE_REPLY:
		cr.handle = fz_u8(in);
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY;
		env.close_reply = &cr;
		break;
	case OP_LOG:
		v = fz_u8(in);
		lg.level = v < 0xf0 ? v % 9 : fz_u32(in);
		lg.message = pick_str(in, 0);
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LOG;
		env.log = &lg;
		break;
	case OP_HELLO:
		v = fz_u8(in);
		h.major = v & 0x80 ? v & 0x7f : RPC_PROTOCOL_MAJOR;
		h.minor = fz_u8(in);
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
		env.hello = &h;
		break;
	case OP_READY:
		v = fz_u8(in);
		rd.name = v & 1 ? pick_str(in, 0) : (char *)"fuzz";
		rd.api_version = v & 2 ? fz_u8(in) : 2;
		rd.thread_model = v & 4 ? fz_u8(in) : 3;
		rd.durability = v & 8 ? fz_u8(in) : 2;
		rd.has_list_exports = v & 0x10;
		rd.nbdkit_plugin = v & 0x20;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_READY;
		env.ready = &rd;
		break;
	case OP_FAILED:
		fl.stage = pick_str(in, 0);
		fl.message = pick_str(in, 1);
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_FAILED;
		env.failed = &fl;
		break;
	case OP_SHUTDOWN:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_SHUTDOWN_REQUEST;
		env.shutdown_request = &sr;
		break;
	default:
		abort();
	}
	send_msg(in, w, &env);
}

/* Messages only a broker sends, sent back at it. */
static void
op_wrong_way(struct fz_in *in, struct fz_worker *w)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Request		rq = NBDBROKER__RPC__REQUEST__INIT;
	Nbdbroker__Rpc__Open		op = NBDBROKER__RPC__OPEN__INIT;
	Nbdbroker__Rpc__Config		cf = NBDBROKER__RPC__CONFIG__INIT;
	Nbdbroker__Rpc__Close		cl = NBDBROKER__RPC__CLOSE__INIT;
	Nbdbroker__Rpc__ListExports	le = NBDBROKER__RPC__LIST_EXPORTS__INIT;

	switch (fz_u8(in) % 5) {
	case 0:
		rq.type = NBD_CMD_READ;
		rq.count = 4096;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REQUEST;
		env.request = &rq;
		break;
	case 1:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN;
		env.open = &op;
		break;
	case 2:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CONFIG;
		env.config = &cf;
		break;
	case 3:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE;
		env.close = &cl;
		break;
	default:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS;
		env.list_exports = &le;
		break;
	}
	send_msg(in, w, &env);
}

/* Envelope bytes from the input, then (maybe) an id field after them:
 * the last value of a field wins, so the id is ours. */
static void
op_frame(struct fz_in *in, struct fz_worker *w)
{
	uint8_t		 buf[2048 + 16], hdr[4];
	const uint8_t	*p;
	size_t		 n = fz_u16(in) % 2048, len;
	uint64_t	 id;
	ssize_t		 qi;
	bool		 set;

	len = fz_bytes(in, n, &p);
	memcpy(buf, p, len);
	id = pick_id(in, w, &qi, &set);
	if (set) {
		buf[len++] = 0x08;	/* field 1, varint */
		do {
			buf[len++] = (id & 0x7f) | (id > 0x7f ? 0x80 : 0);
			id >>= 7;
		} while (id != 0);
	}
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	fz_worker_raw(w, hdr, 4);
	fz_worker_raw(w, buf, len);
	drop_queued(w, qi);
}

static void
op_length(struct fz_in *in, struct fz_worker *w)
{
	static const uint32_t	bad[4] = {
		0, RPC_MAX_FRAME + 1, UINT32_MAX, RPC_MAX_FRAME,
	};
	uint8_t			v = fz_u8(in), hdr[4];
	uint32_t		len = v & 4 ? fz_u32(in) : bad[v & 3];

	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	fz_worker_raw(w, hdr, 4);
}

/* Data on the socket with a descriptor attached (SCM_RIGHTS). */
static void
op_send_fd(struct fz_in *in, struct fz_worker *w)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	}		 u;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	const uint8_t	*p;
	uint8_t		 one = 0;
	size_t		 n;
	int		 fd;

	fz_worker_flush(w);		/* in order after what is queued */
	if (w->exited || rpc_buf_len(&w->wbuf) > 0)
		return;
	n = fz_bytes(in, fz_u8(in), &p);
	if (n == 0) {
		p = &one;
		n = 1;
	}
	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = (void *)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(w->fd, &msg, MSG_DONTWAIT) == -1 && errno == EPIPE)
		fz_worker_exit(w, 0);
	close(fd);
}

static void
op_client_request(struct fz_in *in)
{
	static const uint64_t	offs[8] = {
		0, 4096, 1024 * 1024 - 4096, 1024 * 1024, 1024 * 1024 + 1,
		UINT64_MAX - 1, UINT64_C(1) << 62, 512,
	};
	int		k = fz_u8(in) % (fz_nclients() ? fz_nclients() : 1);
	uint8_t		cmd = fz_u8(in), flags = fz_u8(in);
	uint64_t	off = offs[fz_u8(in) & 7];
	uint8_t		cv = fz_u8(in), pv = fz_u8(in);
	uint32_t	count = counts[cv & 7], payload = 0;

	cmd = cmd < 0xf0 ? cmd % 9 : cmd;
	if (cmd == NBD_CMD_WRITE) {
		switch (pv & 3) {
		case 0:
			payload = count;
			break;
		case 1:		/* stops in the middle of the payload */
			payload = count / 2;
			break;
		case 2:		/* more than it declared */
			payload = count + 28 + (pv >> 2);
			break;
		}
	}
	fz_client_request(k, cmd, (flags & 0x1f) | (flags & 0x80 ? 0x100 : 0),
	    ++st.cookie, off, count, payload);
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in		 in = { data, size };
	struct fz_config	 cfg = { 0 };
	struct fz_worker	*w;
	struct fz_client	*cl;
	const uint8_t		*p;
	uint8_t			 f, c0, v;
	size_t			 n;
	int			 k, ops = 0;

	memset(&st, 0, sizeof(st));
	st.sel = -1;
	f = fz_u8(&in);
	c0 = fz_u8(&in);
	cfg.per_connection = f & F_PER_CONNECTION;
	cfg.manual = true;
	cfg.manual_startup = f & F_MANUAL_STARTUP;
	cfg.request_timeout_ms = f & F_TIMEOUT ? 1000 : 0;
	cfg.replays = F_REPLAYS(f);
	cfg.intensity = f & F_LOW_INTENSITY ? 2 : 0;
	cfg.exp.size = 1024 * 1024;
	cfg.exp.caps = 0x1ff;
	cfg.exp.fua = RPC_FUA_NATIVE;
	cfg.exp.cache = RPC_CACHE_NATIVE;
	cfg.exp.durability = F_DURABILITY(f);
	cfg.exp.has_list = true;

	fz_setup(&cfg);
	if (!(c0 & 0x80) && (k = fz_client_new()) != -1)
		fz_client_handshake(k, c0 & 31);
	fz_run();
	while (in.len > 0 && ops++ < 4096) {
		enum op	op = fz_u8(&in) % OP__MAX;

		w = cur_worker();
		switch (op) {
		case OP_RUN:
			fz_run();
			continue;
		case OP_TICK:
			fz_advance((uint64_t)fz_u8(&in) * 250);
			sup_tick();
			conn_tick();
			conn_flush_dirty();
			continue;
		case OP_FIRE_TIMERS:
			fz_fire_timers();
			continue;
		case OP_SPAWN_FAIL:
			fz_spawn_failures(fz_u8(&in) & 3);
			continue;
		case OP_CLIENT_NEW:
			v = fz_u8(&in);
			if ((k = fz_client_new()) != -1)
				fz_client_handshake(k, v);
			continue;
		case OP_CLIENT_REQUEST:
			op_client_request(&in);
			continue;
		case OP_CLIENT_CLOSE:
			fz_client_close(fz_u8(&in) % FZ_MAX_CLIENTS);
			continue;
		case OP_CLIENT_READING:
			if ((cl = fz_client(fz_u8(&in) % FZ_MAX_CLIENTS)) !=
			    NULL)
				cl->reading = !cl->reading;
			continue;
		case OP_SELECT_WORKER:
			st.sel = fz_u8(&in) % FZ_MAX_WORKERS;
			continue;
		case OP_RINGS:
			fz_set_rings(fz_u8(&in) & 1);
			continue;
		default:
			break;
		}
		if (w == NULL) {
			fz_run();	/* a restart may be on its way */
			continue;
		}
		switch (op) {
		case OP_ANSWER:
			v = fz_u8(&in);
			if (w->nq > 0)
				fz_worker_answer(w, v % w->nq);
			break;
		case OP_ANSWER_ALL:
			while (w->nq > 0)
				fz_worker_answer(w, 0);
			break;
		case OP_AUTO:
			w->manual = false;
			break;
		case OP_RAW:
			n = fz_bytes(&in, fz_u8(&in), &p);
			fz_worker_raw(w, p, n);
			break;
		case OP_FRAME:
			op_frame(&in, w);
			break;
		case OP_LENGTH:
			op_length(&in, w);
			break;
		case OP_REPLY:
			op_reply(&in, w);
			break;
		case OP_OPEN_REPLY:
			op_open_reply(&in, w);
			break;
		case OP_EXPORT_LIST:
			op_export_list(&in, w);
			break;
		case OP_CLOSE_REPLY:
		case OP_LOG:
		case OP_HELLO:
		case OP_READY:
		case OP_FAILED:
		case OP_SHUTDOWN:
			op_simple(&in, w, op);
			break;
		case OP_LOG_FLOOD:
			n = 2 * (size_t)fz_u8(&in);	/* past the burst */
			while (n-- > 0 && !w->exited) {
				Nbdbroker__Rpc__Envelope env =
				    NBDBROKER__RPC__ENVELOPE__INIT;
				Nbdbroker__Rpc__Log lg =
				    NBDBROKER__RPC__LOG__INIT;

				lg.level = LOG_ERR;
				lg.message = (char *)"flood";
				env.body_case =
				    NBDBROKER__RPC__ENVELOPE__BODY_LOG;
				env.log = &lg;
				fz_worker_send(w, &env);
				if (rpc_buf_len(&w->wbuf) > 65536)
					fz_run();
			}
			break;
		case OP_WRONG_WAY:
			op_wrong_way(&in, w);
			break;
		case OP_EXIT:
			v = fz_u8(&in);
			fz_worker_exit(w, v & 0x80 ? (v & 0x1f) + 1 : v << 8);
			break;
		case OP_REAP_NOW:
			fz_worker_reap(w);
			break;
		case OP_STDERR:
			n = fz_bytes(&in, fz_u8(&in), &p);
			if (w->errfd != -1 && write(w->errfd, p, n) == -1)
				break;
			break;
		case OP_SEND_FD:
			op_send_fd(&in, w);
			break;
		case OP_RING:
			op_ring(&in, w);
			break;
		default:
			abort();
		}
	}
	fz_run();
	fz_teardown();
	return 0;
}
