/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake-worker: stands in for nbdbroker-worker in tests and misbehaves
 * on purpose, so tests can check that the broker survives workers
 * that break the RPC protocol.  It speaks the real framing (proto/),
 * receives the broker's socket and arenas on the same fixed
 * descriptors, and does what its --mode says.
 *
 * The broker starts workers with a fixed argument list, so a test
 * points NBDBROKER_WORKER at a small wrapper script that runs
 * "fake-worker --mode=MODE [OPTIONS] "$@"".
 *
 * Most modes first behave: they answer Hello and Config, open exports
 * and serve requests correctly (zeros, or the file given with --disk),
 * and misbehave only when a data request triggers them: the Nth of
 * each worker (--nth, default 1), or every one that touches byte
 * --offset.  --instances=K limits the misbehaviour to the first K
 * workers the broker starts (Config.instance; 0, the default: all),
 * so that a replayed request can succeed on a later worker.
 *
 * Modes named ring-* serve data requests through the shared-memory
 * rings (proto/rpc-ring.h) when the broker offers them, on a thread of
 * their own, and misbehave there (ring_bad); every other mode answers
 * Hello without the ring feature, so the broker falls back to frames.
 *
 * To add a misbehaviour: write a bad_*() function that gets the
 * triggering request and add it to modes[].  A mode that takes the
 * conversation from the start (bad-version, silent) has a run function
 * instead.  Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "nbd-protocol.h"
#include "rpc-frame.h"
#include "rpc-ring.h"

#define FAKE_BAD_MAJOR		99	/* what bad-version claims */
#define FAKE_READ_CHUNK		65536
#define FAKE_LIFETIME_S		600	/* never outlive a test */
#define FAKE_DEFAULT_SIZE	(64 * 1024 * 1024)
#define FAKE_LOG_FLOOD		100000	/* what log-flood sends */
#define FAKE_NFDS		8	/* descriptors send-fds passes */
#define FAKE_LIST_FLOOD		2000000	/* exports or extents in a flood */
#define FAKE_DOORBELLS		100000	/* what ring-doorbell-flood rings */
#define FAKE_MAX_EXTENTS	65536	/* what extents-max sends */

/* Exit statuses (the broker logs them). */
#define FAKE_EXIT_DONE		2	/* finished its act */
#define FAKE_EXIT_PROTO		3	/* the broker said an odd thing */
#define FAKE_EXIT_USAGE		4

/* What a misbehaviour leaves to do with the request that triggered it. */
#define FAKE_ANSWER		1	/* answer it correctly too */
#define FAKE_DONE		0	/* nothing: it was dealt with */
#define FAKE_EXIT		(-1)	/* exit (FAKE_EXIT_DONE) */

struct fake_mode;

struct fake {
	int		 fd;		/* RPC socket (RPC_WORKER_FD) */
	struct rpc_buf	 rbuf;		/* bytes from the broker */
	const struct fake_mode *mode;
	/* Options. */
	unsigned	 nth;		/* misbehave on this request */
	int64_t		 offset;	/* ... or those touching it */
	unsigned	 instances;	/* ... in workers up to this */
	int		 disk;		/* --disk, or -1: zeros */
	int64_t		 size;		/* export size */
	unsigned	 open_delay_ms;	/* later workers open slowly */
	unsigned	 ready_delay_ms;	/* every worker starts slowly */
	uint32_t	 block_min;	/* --block-size: what Open says */
	uint32_t	 block_pref;
	uint32_t	 block_max;
	/* State. */
	uint32_t	 instance;	/* from Config */
	unsigned	 ndata;		/* data requests received */
	uint64_t	 next_handle;
	const uint8_t	*arena_out;	/* WRITE payloads, read-only */
	size_t		 arena_out_size;
	uint8_t		*arena_in;	/* READ results */
	size_t		 arena_in_size;
	/* Rings (ring-* modes), when the broker offered them. */
	const struct rpc_ring_out *rout;
	struct rpc_ring_in *rin;
	uint32_t	 cq_tail;	/* the ring thread's */
	uint32_t	 cq_skew;	/* added to each cq_tail published */
	uint32_t	 sq_skew;	/* added to each sq_head published */
	pthread_mutex_t	 wlock;		/* socket writes, two threads */
	/* ring-* modes: the misbehaviour on the ring (NULL: none). */
	int		(*ring_bad)(struct fake *f, const struct rpc_sqe *e);
};

struct fake_mode {
	const char	*name;
	const char	*help;
	int		(*run)(struct fake *f);	/* the exit status */
	int		(*bad)(struct fake *f, const RpcEnvelope *req);
};

static bool
mode_rings(const struct fake_mode *m)
{
	return strncmp(m->name, "ring-", 5) == 0;
}

static void
fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log to stderr, which the broker re-logs with the worker's pid. */
static void
fake_log(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fake-worker[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Blocking read of the next frame from the broker.  1 and a new
 * Envelope in *envp (free with rpc_envelope_free), 0 at end of file,
 * -1 on a read error or a bad frame.
 */
static int
fake_recv(struct fake *f, RpcEnvelope **envp)
{
	ssize_t	n;
	int	d;

	*envp = NULL;
	for (;;) {
		if ((d = rpc_frame_decode(&f->rbuf, envp)) != 0)
			return d;
		if (rpc_buf_reserve(&f->rbuf, FAKE_READ_CHUNK) == -1)
			return -1;
		n = read(f->fd, f->rbuf.data + f->rbuf.end,
		    f->rbuf.cap - f->rbuf.end);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		f->rbuf.end += n;
	}
}

/* Write n bytes to the broker.  0, or -1 with errno. */
static int
fake_write(struct fake *f, const void *p, size_t n)
{
	const uint8_t	*b = p;

	while (n > 0) {
		ssize_t	w = write(f->fd, b, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= w;
	}
	return 0;
}

/* Send one Envelope.  0, or -1 with errno. */
static int
fake_send(struct fake *f, const RpcEnvelope *env)
{
	struct rpc_buf	b = { 0 };
	int		r;

	if (rpc_frame_encode(&b, env) == -1)
		return -1;
	pthread_mutex_lock(&f->wlock);
	r = fake_write(f, b.data + b.start, rpc_buf_len(&b));
	pthread_mutex_unlock(&f->wlock);
	rpc_buf_free(&b);
	return r;
}

/* Read the broker's Hello.  0, or -1 (logged). */
static int
fake_expect_hello(struct fake *f)
{
	RpcEnvelope	*env;
	int		 r;

	if ((r = fake_recv(f, &env)) != 1) {
		fake_log("no Hello from the broker (%s)",
		    r == 0 ? "end of file" : strerror(errno));
		return -1;
	}
	if (env->body_case != NBDBROKER__RPC__ENVELOPE__BODY_HELLO) {
		fake_log("expected Hello, got %s",
		    rpc_body_name(env->body_case));
		rpc_envelope_free(env);
		return -1;
	}
	fake_log("broker speaks protocol %u.%u", env->hello->major,
	    env->hello->minor);
	rpc_envelope_free(env);
	return 0;
}

/* Discard whatever the broker sends until it hangs up. */
static void
fake_wait_for_eof(struct fake *f)
{
	RpcEnvelope	*env;

	while (fake_recv(f, &env) == 1)
		rpc_envelope_free(env);
}

/* Answer Hello with a protocol major the broker cannot speak. */
static int
mode_bad_version(struct fake *f)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		h = NBDBROKER__RPC__HELLO__INIT;

	if (fake_expect_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	h.major = FAKE_BAD_MAJOR;
	h.minor = 0;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	if (fake_send(f, &env) == -1) {
		fake_log("cannot send Hello: %s", strerror(errno));
		return FAKE_EXIT_PROTO;
	}
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/* Take the broker's Hello and never answer. */
static int
mode_silent(struct fake *f)
{
	if (fake_expect_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/* Exit before saying anything. */
static int
mode_exit_at_start(struct fake *f)
{
	return FAKE_EXIT_DONE;
}

/* The correct core. */

static int
send_hello(struct fake *f)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		h = NBDBROKER__RPC__HELLO__INIT;

	h.major = RPC_PROTOCOL_MAJOR;
	h.minor = RPC_PROTOCOL_MINOR;
	h.api_min = 1;
	h.api_max = 2;
	h.pid = getpid();
	if (mode_rings(f->mode) && fcntl(RPC_WORKER_EVENT_FD, F_GETFD) != -1)
		h.features = RPC_FEATURE_RINGS;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return fake_send(f, &env);
}

static int
send_ready(struct fake *f)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Ready		rd = NBDBROKER__RPC__READY__INIT;

	rd.name = (char *)"fake";
	rd.api_version = 2;
	rd.thread_model = RPC_THREAD_MODEL_PARALLEL;
	/* A disk outlives workers; zeros are the same in every one. */
	rd.durability = f->disk != -1 ? RPC_DURABILITY_PERSISTENT :
	    RPC_DURABILITY_STATELESS;
	rd.features = f->rout != NULL ? RPC_FEATURE_RINGS : 0;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_READY;
	env.ready = &rd;
	return fake_send(f, &env);
}

static void *
map_arena(int fd, int prot, size_t *sizep)
{
	struct stat	 st;
	void		*p;

	*sizep = 0;
	if (fstat(fd, &st) == -1 || st.st_size == 0)
		return NULL;
	p = mmap(NULL, st.st_size, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*sizep = st.st_size;
	return p;
}

static int
answer_open(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__OpenReply	o = NBDBROKER__RPC__OPEN_REPLY__INIT;

	if (f->instance > 1 && f->open_delay_ms > 0)
		usleep(f->open_delay_ms * 1000);
	o.handle = ++f->next_handle;
	o.size = f->size;
	/* open-size-changes: every restart shows a bigger disk. */
	if (strcmp(f->mode->name, "open-size-changes") == 0)
		o.size += (int64_t)(f->instance - 1) * 4096;
	o.caps = RPC_CAP_WRITE | RPC_CAP_FLUSH | RPC_CAP_TRIM | RPC_CAP_ZERO |
	    RPC_CAP_MULTI_CONN | RPC_CAP_EXTENTS;
	o.fua = RPC_FUA_NATIVE;
	o.cache = RPC_CACHE_NONE;
	/* --block-size, in the first --instances workers. */
	if (f->instances == 0 || f->instance <= f->instances) {
		o.block_min = f->block_min;
		o.block_preferred = f->block_pref;
		o.block_max = f->block_max;
	}
	o.canonical_name = m->open->export_name;
	env.id = m->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY;
	env.open_reply = &o;
	return fake_send(f, &env);
}

/* Carry out a data request; its errno. */
static int
do_request(struct fake *f, const Nbdbroker__Rpc__Request *rq)
{
	static const uint8_t	zero[65536];
	uint8_t			*in;
	const uint8_t		*out;
	uint64_t		 done;

	if (rq->offset > (uint64_t)f->size ||
	    rq->count > (uint64_t)f->size - rq->offset)
		return EINVAL;
	switch (rq->type) {
	case NBD_CMD_READ:
		if (rq->slot > f->arena_in_size ||
		    rq->count > f->arena_in_size - rq->slot)
			return EINVAL;
		in = f->arena_in + rq->slot;
		if (f->disk == -1) {
			memset(in, 0, rq->count);
			return 0;
		}
		return pread(f->disk, in, rq->count, rq->offset) ==
		    (ssize_t)rq->count ? 0 : EIO;
	case NBD_CMD_WRITE:
		if (rq->slot > f->arena_out_size ||
		    rq->count > f->arena_out_size - rq->slot)
			return EINVAL;
		out = f->arena_out + rq->slot;
		if (f->disk == -1)
			return 0;
		return pwrite(f->disk, out, rq->count, rq->offset) ==
		    (ssize_t)rq->count ? 0 : EIO;
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		for (done = 0; f->disk != -1 && done < rq->count; ) {
			size_t	n = rq->count - done < sizeof(zero) ?
			    rq->count - done : sizeof(zero);

			if (pwrite(f->disk, zero, n, rq->offset + done) !=
			    (ssize_t)n)
				return EIO;
			done += n;
		}
		return 0;
	default:
		return 0;
	}
}

/* Answer a data request correctly. */
static int
answer_request(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		rp = NBDBROKER__RPC__REPLY__INIT;
	uint64_t			len;
	uint32_t			type = 0;

	rp.err = do_request(f, m->request);
	if (rp.err == 0 && m->request->type == NBD_CMD_BLOCK_STATUS) {
		len = m->request->count;
		rp.n_extent_length = rp.n_extent_type = 1;
		rp.extent_length = &len;
		rp.extent_type = &type;
	}
	env.id = m->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	return fake_send(f, &env);
}

/*
 * list-flood: as many exports (all named "") as fit in one frame, two
 * bytes each: 2,000,000, where the real worker stops at 10,000.
 */
static int
send_list_flood(struct fake *f, Nbdbroker__Rpc__Envelope *env)
{
	Nbdbroker__Rpc__ExportEntry	  e = NBDBROKER__RPC__EXPORT_ENTRY__INIT;
	Nbdbroker__Rpc__ExportEntry	**ep;
	size_t				  i, n = FAKE_LIST_FLOOD;
	int				  r;

	if ((ep = calloc(n, sizeof(*ep))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		ep[i] = &e;
	env->export_list->n_exports = n;
	env->export_list->exports = ep;
	r = fake_send(f, env);
	free(ep);
	return r;
}

static int
answer_other(struct fake *f, const RpcEnvelope *m)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__CloseReply	cr = NBDBROKER__RPC__CLOSE_REPLY__INIT;
	Nbdbroker__Rpc__ExportList	el = NBDBROKER__RPC__EXPORT_LIST__INIT;

	env.id = m->id;
	switch (m->body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:
		cr.handle = m->close->handle;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY;
		env.close_reply = &cr;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS:
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
		env.export_list = &el;
		if (strcmp(f->mode->name, "list-flood") == 0)
			return send_list_flood(f, &env);
		break;
	default:
		fake_log("unexpected %s from the broker",
		    rpc_body_name(m->body_case));
		return -1;
	}
	return fake_send(f, &env);
}

static bool
triggered(struct fake *f, const Nbdbroker__Rpc__Request *rq)
{
	if (f->instances != 0 && f->instance > f->instances)
		return false;
	if (f->offset >= 0)
		return rq->count > 0 && (uint64_t)f->offset >= rq->offset &&
		    (uint64_t)f->offset - rq->offset < rq->count;
	return f->ndata == f->nth;
}

/* The rings. */

/* Attach the ring set Config offers (trusting the broker's headers). */
static void
ring_attach(struct fake *f, const Nbdbroker__Rpc__Config *cfg)
{
	if (!mode_rings(f->mode) || cfg->ring_entries != RPC_RING_ENTRIES ||
	    f->arena_out == NULL || f->arena_in == NULL ||
	    cfg->ring_out_offset + sizeof(struct rpc_ring_out) >
	    f->arena_out_size || cfg->ring_in_offset +
	    sizeof(struct rpc_ring_in) > f->arena_in_size)
		return;
	f->rout = (const struct rpc_ring_out *)(f->arena_out +
	    cfg->ring_out_offset);
	f->rin = (struct rpc_ring_in *)(f->arena_in + cfg->ring_in_offset);
	fake_log("serving the rings");
}

/* Publish a completion (no doorbell: ring_doorbell). */
static void
ring_post(struct fake *f, uint64_t id, int32_t err)
{
	struct rpc_cqe	*c = &f->rin->cq[f->cq_tail & (RPC_RING_ENTRIES - 1)];

	c->id = id;
	c->err = err;
	c->flags = 0;
	f->cq_tail++;
	__atomic_store_n(&f->rin->cq_tail, f->cq_tail + f->cq_skew,
	    __ATOMIC_RELEASE);
}

static void
ring_doorbell(void)
{
	uint64_t	one = 1;

	if (write(RPC_WORKER_EVENT_FD, &one, sizeof(one)) == -1)
		fake_log("doorbell: %s", strerror(errno));
}

/* One SQE, as a Request: served, or misbehaved on. */
static void
ring_request(struct fake *f, const struct rpc_sqe *e)
{
	Nbdbroker__Rpc__Request	rq = NBDBROKER__RPC__REQUEST__INIT;
	unsigned		n;
	int			r = FAKE_ANSWER;

	rq.handle = e->handle;
	rq.type = e->type;
	rq.flags = e->flags;
	rq.offset = e->offset;
	rq.count = e->count;
	rq.slot = e->slot;
	n = __atomic_add_fetch(&f->ndata, 1, __ATOMIC_RELAXED);
	if (f->ring_bad != NULL && triggered(f, &rq)) {
		fake_log("instance %u: request %u (%s offset %" PRIu64 "): %s",
		    f->instance, n, nbd_cmd_name(rq.type), rq.offset,
		    f->mode->name);
		r = f->ring_bad(f, e);
	}
	if (r == FAKE_EXIT)
		_exit(FAKE_EXIT_DONE);
	if (r == FAKE_ANSWER)
		ring_post(f, e->id, do_request(f, &rq));
}

/*
 * The ring thread: take SQEs, answer them, ring once per batch.  It
 * says it always sleeps, so every submission rings it.  It ends with
 * the process (the main thread returns when the broker hangs up).
 */
static void *
ring_thread(void *arg)
{
	struct fake	*f = arg;
	uint32_t	*tailp = (uint32_t *)&f->rout->sq_tail;
	uint32_t	 head = 0, tail;
	struct rpc_sqe	 e;

	__atomic_store_n(&f->rin->worker_sleeps, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		tail = __atomic_load_n(tailp, __ATOMIC_ACQUIRE);
		if (tail == head) {
			syscall(SYS_futex, tailp, FUTEX_WAIT, head, NULL, NULL,
			    0);
			continue;
		}
		while (head != tail) {
			e = f->rout->sq[head & (RPC_RING_ENTRIES - 1)];
			head++;
			__atomic_store_n(&f->rin->sq_head, head + f->sq_skew,
			    __ATOMIC_RELEASE);
			ring_request(f, &e);
		}
		ring_doorbell();
	}
	return NULL;
}

/*
 * failed-flood, in restarted workers: report start-up failure
 * FAKE_LOG_FLOOD times, then Ready.  Failed is the last word of a
 * worker that could not start.
 */
static int
send_failed_flood(struct fake *f)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Failed		fl = NBDBROKER__RPC__FAILED__INIT;
	struct rpc_buf			b = { 0 };
	int				i;

	fl.stage = (char *)"get_ready";
	fl.message = (char *)"failed again";
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_FAILED;
	env.failed = &fl;
	for (i = 0; i < FAKE_LOG_FLOOD; i++)
		if (rpc_frame_encode(&b, &env) == -1)
			break;
	fake_write(f, b.data + b.start, rpc_buf_len(&b));
	rpc_buf_free(&b);
	send_ready(f);
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/*
 * Behave: Hello, Config, then serve until the broker hangs up, handing
 * triggering requests to the mode's misbehaviour.
 */
static int
serve(struct fake *f)
{
	RpcEnvelope	*m;
	int		 r;

	if (fake_expect_hello(f) == -1 || send_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	if (fake_recv(f, &m) != 1 ||
	    m->body_case != NBDBROKER__RPC__ENVELOPE__BODY_CONFIG) {
		fake_log("expected Config");
		rpc_envelope_free(m);
		return FAKE_EXIT_PROTO;
	}
	f->instance = m->config->instance;
	if (strcmp(f->mode->name, "failed-flood") == 0 && f->instance > 1) {
		rpc_envelope_free(m);
		return send_failed_flood(f);
	}
	f->arena_out = map_arena(RPC_WORKER_ARENA_OUT_FD, PROT_READ,
	    &f->arena_out_size);
	f->arena_in = map_arena(RPC_WORKER_ARENA_IN_FD, PROT_READ | PROT_WRITE,
	    &f->arena_in_size);
	ring_attach(f, m->config);
	rpc_envelope_free(m);
	if (f->rout != NULL) {
		pthread_t	tid;

		if (pthread_create(&tid, NULL, ring_thread, f) != 0) {
			fake_log("cannot start the ring thread");
			return FAKE_EXIT_PROTO;
		}
	}
	if (f->ready_delay_ms > 0)
		usleep(f->ready_delay_ms * 1000);
	if (send_ready(f) == -1)
		return FAKE_EXIT_PROTO;
	while ((r = fake_recv(f, &m)) == 1) {
		switch (m->body_case) {
		case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:
			r = answer_open(f, m);
			break;
		case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:
			__atomic_add_fetch(&f->ndata, 1, __ATOMIC_RELAXED);
			r = FAKE_ANSWER;
			if (f->mode->bad != NULL && triggered(f, m->request)) {
				fake_log("instance %u: request %u (%s offset "
				    "%" PRIu64 "): %s", f->instance, f->ndata,
				    nbd_cmd_name(m->request->type),
				    m->request->offset, f->mode->name);
				r = f->mode->bad(f, m);
			}
			if (r == FAKE_EXIT) {
				rpc_envelope_free(m);
				return FAKE_EXIT_DONE;
			}
			r = r == FAKE_ANSWER ? answer_request(f, m) : 0;
			break;
		default:
			r = answer_other(f, m);
			break;
		}
		rpc_envelope_free(m);
		if (r == -1)		/* the broker hung up on us */
			return FAKE_EXIT_DONE;
	}
	return r == 0 ? FAKE_EXIT_DONE : FAKE_EXIT_PROTO;
}

/* Misbehaviours. */

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

static const struct fake_mode	modes[] = {
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

#define NMODES	(sizeof(modes) / sizeof(modes[0]))

/* What each ring-* mode does on the ring when triggered. */
static const struct {
	const char	*name;
	int		(*bad)(struct fake *f, const struct rpc_sqe *e);
} ring_bads[] = {
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

static void __attribute__((noreturn))
usage(int status)
{
	size_t	i;

	fprintf(status ? stderr : stdout,
	    "Usage: fake-worker --mode=MODE [--nth=N] [--offset=OFF]\n"
	    "         [--instances=K] [--disk=FILE] [--size=BYTES] "
	    "[--open-delay=MS]\n"
	    "         [--ready-delay=MS] [--block-size=MIN/PREF/MAX] "
	    "[--broker-pid PID]\n"
	    "A misbehaving stand-in for nbdbroker-worker (tests only).\n"
	    "Misbehaves on the Nth data request of each worker (default 1),\n"
	    "or on every one touching byte OFF, in the first K workers\n"
	    "(default: all).  Serves zeros, or FILE.  Workers after the\n"
	    "first wait MS before answering each Open; every worker waits\n"
	    "--ready-delay MS before it says Ready.  --block-size: the block\n"
	    "sizes Open reports in the first K workers (default 0/0/0:\n"
	    "none).\n"
	    "Modes:\n");
	for (i = 0; i < NMODES; i++)
		fprintf(status ? stderr : stdout, "  %-18s %s\n",
		    modes[i].name, modes[i].help);
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "nth", required_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "instances", required_argument, NULL, 'i' },
		{ "disk", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "open-delay", required_argument, NULL, 'D' },
		{ "ready-delay", required_argument, NULL, 'R' },
		{ "block-size", required_argument, NULL, 'B' },
		{ "broker-pid", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct fake_mode		*mode = NULL;
	struct fake			 f = {
		.fd = RPC_WORKER_FD, .nth = 1, .offset = -1, .disk = -1,
		.size = FAKE_DEFAULT_SIZE,
		.wlock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct stat			 st;
	size_t				 i;
	int				 c, status;

	/*
	 * Join the memory cgroup the broker made, as a real worker does
	 * first thing (worker/main.c): the broker checks before Config.
	 */
	if (fcntl(RPC_WORKER_CGROUP_FD, F_GETFD) != -1) {
		if (write(RPC_WORKER_CGROUP_FD, "0", 1) != 1)
			fprintf(stderr, "fake-worker: cannot join my memory "
			    "cgroup: %s\n", strerror(errno));
		close(RPC_WORKER_CGROUP_FD);
	}
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < NMODES; i++)
				if (strcmp(optarg, modes[i].name) == 0)
					mode = &modes[i];
			if (mode == NULL) {
				fprintf(stderr, "fake-worker: unknown mode "
				    "'%s'\n", optarg);
				usage(FAKE_EXIT_USAGE);
			}
			break;
		case 'n':
			f.nth = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			f.offset = strtoll(optarg, NULL, 0);
			break;
		case 'i':
			f.instances = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			if ((f.disk = open(optarg, O_RDWR | O_CLOEXEC)) == -1 ||
			    fstat(f.disk, &st) == -1) {
				fprintf(stderr, "fake-worker: %s: %s\n", optarg,
				    strerror(errno));
				return FAKE_EXIT_USAGE;
			}
			f.size = st.st_size;
			break;
		case 's':
			f.size = strtoll(optarg, NULL, 0);
			break;
		case 'D':
			f.open_delay_ms = strtoul(optarg, NULL, 0);
			break;
		case 'R':
			f.ready_delay_ms = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			if (sscanf(optarg, "%" SCNu32 "/%" SCNu32 "/%" SCNu32,
			    &f.block_min, &f.block_pref, &f.block_max) != 3) {
				fprintf(stderr, "fake-worker: --block-size "
				    "MIN/PREF/MAX, not '%s'\n", optarg);
				return FAKE_EXIT_USAGE;
			}
			break;
		case 'b':
			break;		/* the broker's pid: not needed */
		case 'h':
			usage(0);
		default:
			usage(FAKE_EXIT_USAGE);
		}
	}
	if (mode == NULL)
		usage(FAKE_EXIT_USAGE);
	if (fcntl(f.fd, F_GETFD) == -1) {
		fprintf(stderr, "fake-worker: fd %d is not open: run it "
		    "through nbdbroker (NBDBROKER_WORKER)\n", f.fd);
		return FAKE_EXIT_USAGE;
	}
	/* Never outlive the broker or a stuck test. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(FAKE_LIFETIME_S);
	signal(SIGPIPE, SIG_IGN);

	fake_log("mode %s", mode->name);
	f.mode = mode;
	for (i = 0; i < sizeof(ring_bads) / sizeof(ring_bads[0]); i++)
		if (strcmp(mode->name, ring_bads[i].name) == 0)
			f.ring_bad = ring_bads[i].bad;
	status = mode->run(&f);
	rpc_buf_free(&f.rbuf);
	return status;
}
