/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake-worker's modes (see fake-worker.c): what each misbehaviour does
 * with the request that triggered it (bad_*, on frames; ring_bad_*, on
 * the rings), and the table of modes --mode chooses from.  To add one:
 * a bad_*() function here and a line in fake_modes[].  Test code only.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "nbd-protocol.h"
#include "rpc-frame.h"
#include "rpc-ring.h"
#include "fake-worker.h"

static int
send_raw_reply(struct fake *f, uint64_t id, int err, size_t nlen,
    const uint64_t *len, size_t ntype, const uint32_t *type)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		rp = NBDBROKER__RPC__REPLY__INIT;

	rp.err = err;
	rp.n_extent_length = nlen;
	rp.extent_length = (uint64_t *)len;
	rp.n_extent_type = ntype;
	rp.extent_type = (uint32_t *)type;
	env.id = id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	return fake_send(f, &env);
}

static int
bad_exit(struct fake *f, const RpcEnvelope *m)
{
	return FAKE_EXIT;
}

static int
bad_garbage(struct fake *f, const RpcEnvelope *m)
{
	uint8_t	junk[64];

	memset(junk, 0xff, sizeof(junk));
	fake_write(f, junk, sizeof(junk));
	return FAKE_DONE;
}

static int
bad_length(struct fake *f, uint32_t len)
{
	uint8_t	hdr[4 + 16] = { len >> 24, len >> 16, len >> 8, len };

	fake_write(f, hdr, sizeof(hdr));
	return FAKE_DONE;
}

static int
bad_oversized(struct fake *f, const RpcEnvelope *m)
{
	return bad_length(f, RPC_MAX_FRAME + 1);
}

static int
bad_huge_length(struct fake *f, const RpcEnvelope *m)
{
	return bad_length(f, UINT32_MAX);
}

static int
bad_zero_length(struct fake *f, const RpcEnvelope *m)
{
	return bad_length(f, 0);
}

/* Half of a correct reply frame, then exit. */
static int
bad_close_mid_frame(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		rp = NBDBROKER__RPC__REPLY__INIT;
	struct rpc_buf			b = { 0 };

	env.id = m->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	if (rpc_frame_encode(&b, &env) == 0)
		fake_write(f, b.data, rpc_buf_len(&b) / 2);
	rpc_buf_free(&b);
	return FAKE_EXIT;
}

static int
bad_unknown_id(struct fake *f, const RpcEnvelope *m)
{
	send_raw_reply(f, m->id ^ UINT64_C(0x8000000000000000), 0, 0, NULL,
	    0, NULL);
	return FAKE_DONE;
}

static int
bad_duplicate(struct fake *f, const RpcEnvelope *m)
{
	answer_request(f, m);
	answer_request(f, m);
	return FAKE_DONE;
}

/* A reply whose extents say too much: for a READ, any at all. */
static int
bad_extents_on_read(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	len = m->request->count;
	uint32_t	type = 0;

	if (m->request->type != NBD_CMD_READ)
		return FAKE_ANSWER;
	if (do_request(f, m->request) == 0)
		send_raw_reply(f, m->id, 0, 1, &len, 1, &type);
	return FAKE_DONE;
}

/* Block status extents adding up to twice the range asked for. */
static int
bad_extents_beyond(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	len[2] = { m->request->count, m->request->count };
	uint32_t	type[2] = { NBD_STATE_HOLE, 0 };

	if (m->request->type != NBD_CMD_BLOCK_STATUS)
		return FAKE_ANSWER;
	send_raw_reply(f, m->id, 0, 2, len, 2, type);
	return FAKE_DONE;
}

/* 2,000,000 one-byte extents: as many as fit in a frame. */
static int
bad_extents_flood(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	*len;
	uint32_t	*type;
	size_t		 i, n = FAKE_LIST_FLOOD;

	if (m->request->type != NBD_CMD_BLOCK_STATUS)
		return FAKE_ANSWER;
	len = calloc(n, sizeof(*len));
	type = calloc(n, sizeof(*type));
	for (i = 0; len != NULL && type != NULL && i < n; i++)
		len[i] = 1;
	if (len != NULL && type != NULL)
		send_raw_reply(f, m->id, 0, n, len, n, type);
	free(len);
	free(type);
	return FAKE_DONE;
}

static int
bad_extents_zero(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	len[2] = { 0, m->request->count };
	uint32_t	type[2] = { 0, 0 };

	if (m->request->type != NBD_CMD_BLOCK_STATUS)
		return FAKE_ANSWER;
	send_raw_reply(f, m->id, 0, 2, len, 2, type);
	return FAKE_DONE;
}

static int
bad_extents_type(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	len = m->request->count;
	uint32_t	type = 0x80;

	if (m->request->type != NBD_CMD_BLOCK_STATUS)
		return FAKE_ANSWER;
	send_raw_reply(f, m->id, 0, 1, &len, 1, &type);
	return FAKE_DONE;
}

static int
bad_extents_mismatch(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	len[2] = { 1, m->request->count - 1 };
	uint32_t	type = 0;

	if (m->request->type != NBD_CMD_BLOCK_STATUS)
		return FAKE_ANSWER;
	send_raw_reply(f, m->id, 0, 2, len, 1, &type);
	return FAKE_DONE;
}

static int
bad_errno(struct fake *f, const RpcEnvelope *m)
{
	send_raw_reply(f, m->id, -EIO, 0, NULL, 0, NULL);
	return FAKE_DONE;
}

/* Not a violation: an errno NBD has no name for becomes EIO. */
static int
bad_unknown_errno(struct fake *f, const RpcEnvelope *m)
{
	send_raw_reply(f, m->id, 200, 0, NULL, 0, NULL);
	return FAKE_DONE;
}

/* Never answer this request (the others still are). */
static int
bad_hang(struct fake *f, const RpcEnvelope *m)
{
	return FAKE_DONE;
}

static int
bad_log_flood(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Log		lg = NBDBROKER__RPC__LOG__INIT;
	struct rpc_buf			b = { 0 };
	char				msg[256];
	int				i;

	memset(msg, 'L', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	lg.level = LOG_ERR;
	lg.message = msg;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LOG;
	env.log = &lg;
	for (i = 0; i < FAKE_LOG_FLOOD; i++) {
		if (rpc_frame_encode(&b, &env) == -1)
			break;
		if (rpc_buf_len(&b) > 1024 * 1024 || i == FAKE_LOG_FLOOD - 1) {
			if (fake_write(f, b.data + b.start,
			    rpc_buf_len(&b)) == -1)
				break;
			rpc_buf_consume(&b, rpc_buf_len(&b));
		}
	}
	rpc_buf_free(&b);
	return FAKE_ANSWER;
}

static int
bad_stderr_flood(struct fake *f, const RpcEnvelope *m)
{
	char	line[1100];
	int	i;

	memset(line, 'E', sizeof(line) - 1);	/* longer than a log line */
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 2000; i++)
		if (write(STDERR_FILENO, line, sizeof(line)) == -1)
			break;
	return FAKE_ANSWER;
}

/* The correct reply, with descriptors attached (SCM_RIGHTS). */
static int
bad_send_fds(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		rp = NBDBROKER__RPC__REPLY__INIT;
	union {
		char		buf[CMSG_SPACE(FAKE_NFDS * sizeof(int))];
		struct cmsghdr	align;
	}				u;
	int				fds[FAKE_NFDS], i;
	struct rpc_buf			b = { 0 };
	struct msghdr			msg;
	struct cmsghdr			*cm;
	struct iovec			iov;

	rp.err = do_request(f, m->request);
	env.id = m->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	if (rpc_frame_encode(&b, &env) == -1)
		return FAKE_EXIT;
	for (i = 0; i < FAKE_NFDS; i++)
		fds[i] = i % 2 ? open("/dev/null", O_RDONLY | O_CLOEXEC) :
		    dup(f->fd);
	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = b.data + b.start;
	iov.iov_len = rpc_buf_len(&b);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(f->fd, &msg, 0) != (ssize_t)rpc_buf_len(&b))
		fake_log("sendmsg: %s", strerror(errno));
	for (i = 0; i < FAKE_NFDS; i++)
		close(fds[i]);
	rpc_buf_free(&b);
	return FAKE_DONE;
}

/* A message only the broker may send. */
static int
bad_wrong_way(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;

	env.id = m->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REQUEST;
	env.request = m->request;
	fake_send(f, &env);
	return FAKE_DONE;
}

static int
bad_hello_again(struct fake *f, const RpcEnvelope *m)
{
	send_hello(f);
	return FAKE_DONE;
}

/*
 * As many one-byte block status extents as a real worker may send
 * (BROKER_MAX_EXTENTS): valid, but far more than a client needs.
 */
static int
bad_extents_max(struct fake *f, const RpcEnvelope *m)
{
	uint64_t	*len;
	uint32_t	*type;
	size_t		 i, n = FAKE_MAX_EXTENTS;

	if (m->request->type != NBD_CMD_BLOCK_STATUS ||
	    m->request->count < n)
		return FAKE_ANSWER;
	len = calloc(n, sizeof(*len));
	type = calloc(n, sizeof(*type));
	for (i = 0; len != NULL && type != NULL && i < n; i++) {
		len[i] = 1;
		type[i] = i % 2 ? NBD_STATE_HOLE : 0;
	}
	if (len != NULL && type != NULL)
		send_raw_reply(f, m->id, 0, n, len, n, type);
	free(len);
	free(type);
	return FAKE_DONE;
}

/* Ask the broker to shut the server down (nbdbroker_shutdown). */
static int
bad_shutdown(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ShutdownRequest	 sr =
	    NBDBROKER__RPC__SHUTDOWN_REQUEST__INIT;

	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_SHUTDOWN_REQUEST;
	env.shutdown_request = &sr;
	fake_send(f, &env);
	return FAKE_ANSWER;
}

/*
 * Every misbehaviour that gets a worker killed at once, one per
 * worker: instance N does chaos_list[N % n] (the 10,000-deaths test).
 */
/* Misbehaviours on the rings. */

static int
ring_bad_unknown_id(struct fake *f, const struct rpc_sqe *e)
{
	ring_post(f, e->id ^ (UINT64_C(1) << 62), 0);
	return FAKE_DONE;
}

static int
ring_bad_errno(struct fake *f, const struct rpc_sqe *e)
{
	ring_post(f, e->id, -5);
	return FAKE_DONE;
}

/*
 * cq_tail 1000 entries ahead of what was written, from now on (later
 * completions keep the lie).
 */
static int
ring_bad_tail_ahead(struct fake *f, const struct rpc_sqe *e)
{
	(void)e;
	f->cq_skew = 1000;
	__atomic_store_n(&f->rin->cq_tail, f->cq_tail + f->cq_skew,
	    __ATOMIC_RELEASE);
	return FAKE_DONE;
}

/*
 * cq_tail 100 behind what was written: behind what the broker has
 * already taken (fewer than 100 are in flight in the tests).
 */
static int
ring_bad_tail_backwards(struct fake *f, const struct rpc_sqe *e)
{
	(void)e;
	f->cq_skew = (uint32_t)-100;
	__atomic_store_n(&f->rin->cq_tail, f->cq_tail + f->cq_skew,
	    __ATOMIC_RELEASE);
	return FAKE_DONE;
}

/* sq_head past everything the broker submitted, from now on. */
static int
ring_bad_sq_head(struct fake *f, const struct rpc_sqe *e)
{
	(void)e;
	f->sq_skew = 5000;
	__atomic_store_n(&f->rin->sq_head, f->rin->sq_head + f->sq_skew,
	    __ATOMIC_RELEASE);
	return FAKE_DONE;
}

/* The answer to a ring request as a Reply frame. */
static int
ring_bad_frame_reply(struct fake *f, const struct rpc_sqe *e)
{
	send_raw_reply(f, e->id, 0, 0, NULL, 0, NULL);
	return FAKE_DONE;
}

/* Many doorbells without cause, then the right answer. */
static int
ring_bad_doorbell_flood(struct fake *f, const struct rpc_sqe *e)
{
	int	i;

	(void)f;
	(void)e;
	for (i = 0; i < FAKE_DOORBELLS; i++)
		ring_doorbell();
	return FAKE_ANSWER;
}

static int
ring_bad_exit(struct fake *f, const struct rpc_sqe *e)
{
	(void)f;
	(void)e;
	return FAKE_EXIT;
}

static int
ring_bad_hang(struct fake *f, const struct rpc_sqe *e)
{
	(void)f;
	(void)e;
	return FAKE_DONE;
}

static int	(*const chaos_list[])(struct fake *, const RpcEnvelope *) = {
	bad_exit, bad_garbage, bad_oversized, bad_huge_length,
	bad_zero_length, bad_close_mid_frame, bad_unknown_id, bad_duplicate,
	bad_errno, bad_wrong_way, bad_hello_again,
};

static int
bad_chaos(struct fake *f, const RpcEnvelope *m)
{
	size_t	n = sizeof(chaos_list) / sizeof(chaos_list[0]);

	return chaos_list[f->instance % n](f, m);
}

const struct fake_mode	fake_modes[] = {
	/* Taking over from the start. */
	{ "bad-version", "answer Hello with protocol major 99",
	    mode_bad_version, NULL },
	{ "exit-at-start", "exit before sending anything",
	    mode_exit_at_start, NULL },
	{ "silent", "take the broker's Hello, never answer (until killed)",
	    mode_silent, NULL },
	/* Serving correctly, misbehaving when triggered. */
	{ "good", "serve correctly, never misbehave", serve, NULL },
	{ "exit", "exit (a crash)", serve, bad_exit },
	{ "garbage", "send 64 bytes of 0xff", serve, bad_garbage },
	{ "oversized", "send a frame header of RPC_MAX_FRAME + 1", serve,
	    bad_oversized },
	{ "huge-length", "send a frame header of 0xffffffff", serve,
	    bad_huge_length },
	{ "zero-length", "send a frame header of 0", serve,
	    bad_zero_length },
	{ "close-mid-frame", "send half a reply frame, then exit", serve,
	    bad_close_mid_frame },
	{ "unknown-id", "reply with an id that is not in flight", serve,
	    bad_unknown_id },
	{ "duplicate", "reply twice", serve, bad_duplicate },
	{ "extents-on-read", "a READ reply carrying extents", serve,
	    bad_extents_on_read },
	{ "extents-beyond", "block status extents adding up to twice the "
	    "range (clipped, not a violation)", serve, bad_extents_beyond },
	{ "extents-flood", "2,000,000 block status extents of 1 byte",
	    serve, bad_extents_flood },
	{ "extents-zero", "a block status extent of length 0", serve,
	    bad_extents_zero },
	{ "extents-type", "a block status extent of unknown type 0x80",
	    serve, bad_extents_type },
	{ "extents-mismatch", "two extent lengths, one type", serve,
	    bad_extents_mismatch },
	{ "bad-errno", "reply with errno -5", serve, bad_errno },
	{ "unknown-errno", "reply with errno 200 (not a violation: EIO)",
	    serve, bad_unknown_errno },
	{ "hang", "never answer the request (serve the others)", serve,
	    bad_hang },
	{ "log-flood", "send 100000 Log messages, then answer", serve,
	    bad_log_flood },
	{ "stderr-flood", "write 2 MB of long lines to stderr, then answer",
	    serve, bad_stderr_flood },
	{ "send-fds", "answer with 8 descriptors attached (SCM_RIGHTS)",
	    serve, bad_send_fds },
	{ "wrong-way", "send a Request (only brokers send those)", serve,
	    bad_wrong_way },
	{ "hello-again", "send Hello while serving", serve,
	    bad_hello_again },
	{ "open-size-changes", "exit; every later worker reports a disk "
	    "4096 bytes bigger", serve, bad_exit },
	{ "failed-flood", "exit; later workers report Failed 100000 times, "
	    "then Ready", serve, bad_exit },
	{ "list-flood", "answer NBD_OPT_LIST with 2,000,000 exports",
	    serve, NULL },
	/* On the rings. */
	{ "ring-good", "serve through the rings, never misbehave", serve,
	    NULL },
	{ "ring-exit", "exit on a ring request", serve, NULL },
	{ "ring-unknown-id", "complete an id that is not in flight", serve,
	    NULL },
	{ "ring-bad-errno", "complete with errno -5", serve, NULL },
	{ "ring-tail-ahead", "move cq_tail 1000 entries past what was "
	    "written", serve, NULL },
	{ "ring-tail-backwards", "move cq_tail backwards", serve, NULL },
	{ "ring-sq-head", "move sq_head past the broker's sq_tail", serve,
	    NULL },
	{ "ring-frame-reply", "answer a ring request with a Reply frame",
	    serve, NULL },
	{ "ring-doorbell-flood", "ring the broker 100000 times without "
	    "cause, then answer", serve, NULL },
	{ "ring-hang", "never complete the request (complete the others)",
	    serve, NULL },
	{ "extents-max", "65,536 block status extents of 1 byte (the most "
	    "a worker may send)", serve, bad_extents_max },
	{ "shutdown", "ask the broker to shut down (ShutdownRequest), then "
	    "answer", serve, bad_shutdown },
	{ "chaos", "instance N does the Nth of: exit, garbage, oversized, "
	    "huge-length, zero-length, close-mid-frame, unknown-id, "
	    "duplicate, bad-errno, wrong-way, hello-again", serve,
	    bad_chaos },
};

const size_t	fake_nmodes = sizeof(fake_modes) / sizeof(fake_modes[0]);

/* What each ring-* mode does on the ring when triggered. */
const struct fake_ring_bad	fake_ring_bads[] = {
	{ "ring-exit", ring_bad_exit },
	{ "ring-unknown-id", ring_bad_unknown_id },
	{ "ring-bad-errno", ring_bad_errno },
	{ "ring-tail-ahead", ring_bad_tail_ahead },
	{ "ring-tail-backwards", ring_bad_tail_backwards },
	{ "ring-sq-head", ring_bad_sq_head },
	{ "ring-frame-reply", ring_bad_frame_reply },
	{ "ring-doorbell-flood", ring_bad_doorbell_flood },
	{ "ring-hang", ring_bad_hang },
};

const size_t	fake_nring_bads = sizeof(fake_ring_bads) /
    sizeof(fake_ring_bads[0]);
