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
 * triggering request and add it to fake_modes[] (both in
 * fake-worker-modes.c).  A mode that takes the conversation from the
 * start (bad-version, silent) has a run function instead.  Test code
 * only; never installed.
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
#include "fake-worker.h"


static bool
mode_rings(const struct fake_mode *m)
{
	return strncmp(m->name, "ring-", 5) == 0;
}


/* Log to stderr, which the broker re-logs with the worker's pid. */
void
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
int
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
int
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
int
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
int
mode_silent(struct fake *f)
{
	if (fake_expect_hello(f) == -1)
		return FAKE_EXIT_PROTO;
	fake_wait_for_eof(f);
	return FAKE_EXIT_DONE;
}

/* Exit before saying anything. */
int
mode_exit_at_start(struct fake *f)
{
	return FAKE_EXIT_DONE;
}

/* The correct core. */

int
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
int
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
int
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
void
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

void
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
int
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
	for (i = 0; i < fake_nmodes; i++)
		fprintf(status ? stderr : stdout, "  %-18s %s\n",
		    fake_modes[i].name, fake_modes[i].help);
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
			for (i = 0; i < fake_nmodes; i++)
				if (strcmp(optarg, fake_modes[i].name) == 0)
					mode = &fake_modes[i];
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
	for (i = 0; i < fake_nring_bads; i++)
		if (strcmp(mode->name, fake_ring_bads[i].name) == 0)
			f.ring_bad = fake_ring_bads[i].bad;
	status = mode->run(&f);
	rpc_buf_free(&f.rbuf);
	return status;
}
