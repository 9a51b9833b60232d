/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-process broker for the fuzz targets (see fuzz-harness.h):
 * stand-ins for process.c (those for the sandbox, cgroups, spares,
 * learning and reload are in fuzz-stubs.c), a virtual clock, link-time
 * wrappers that turn worker processes into in-process fakes, fake
 * clients on socketpairs, and the loop that runs everything until
 * nothing moves.
 *
 * What the broker does to a fake worker is checked too: every frame
 * it sends must decode and be one a broker may send, and every
 * payload slot must lie inside the arena.  A violation aborts (the
 * fuzzer reports it as a crash).
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz-harness.h"
#include "log.h"

#define FZ_ARENA_SIZE		(64u * 1024 * 1024)
#define FZ_MAX_ROUNDS		200000	/* more is a livelock */
#define FZ_MAX_PAYLOAD		(1024 * 1024)	/* a client sends */
#define FZ_CLOCK_START		1000000
#define FZ_POOL_ARENAS		32	/* arenas kept for reuse */

static struct {
	struct fz_config	 cfg;
	uint64_t		 clock;
	struct fz_client	 clients[FZ_MAX_CLIENTS];
	int			 nclients;
	struct fz_worker	*workers[FZ_MAX_WORKERS];
	int			 nworkers;
	pid_t			 next_pid;
	unsigned		 spawn_failures;
	int			 spawn_rpc_fd;	/* dup2'ed to RPC_WORKER_FD */
	int			 spawn_err_fd;	/* dup2'ed to stderr */
	uint64_t		 conns_made;	/* conn_new() succeeded */
	uint64_t		 conns_freed;
	bool			 teardown;
	bool			 rings;		/* next Readys offer rings */
} fz;

/*
 * What outlives an iteration, so that inputs do not pay for it again
 * and again (the broker is reset between inputs, not rebuilt): the
 * event base, if the broker left nothing in it, and the arenas.  A
 * fresh 64 MiB memfd per backend cost a page fault for every page a
 * READ reply was sent from; a pooled one has its pages already.  The
 * broker never reads what is in a slot, so stale bytes change nothing.
 */
static struct event_base	*fz_base;
static struct {
	struct arena	 a;		/* as arena_init made it */
	bool		 seal;
	bool		 used;
} fz_pool[FZ_POOL_ARENAS];
static int		 fz_npool;

static void __attribute__((noreturn, format(printf, 1, 2)))
fz_fatal(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fuzz-harness: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Input. */

uint8_t
fz_u8(struct fz_in *in)
{
	uint8_t	v = 0;

	if (in->len > 0) {
		v = in->p[0];
		in->p++;
		in->len--;
	}
	return v;
}

uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t	v = fz_u8(in);

	return v << 8 | fz_u8(in);
}

uint32_t
fz_u32(struct fz_in *in)
{
	uint32_t	v = fz_u16(in);

	return v << 16 | fz_u16(in);
}

uint64_t
fz_u64(struct fz_in *in)
{
	uint64_t	v = fz_u32(in);

	return v << 32 | fz_u32(in);
}

size_t
fz_bytes(struct fz_in *in, size_t n, const uint8_t **p)
{
	if (n > in->len)
		n = in->len;
	*p = in->p;
	in->p += n;
	in->len -= n;
	return n;
}

/*
 * What main.c and process.c, which are not linked, provide to the rest
 * of the broker; and the clock, which -Wl,--wrap=now_ms turns into
 * ours (broker.c's is linked, but nothing calls it).
 */

uint64_t	__wrap_now_ms(void);

uint64_t
__wrap_now_ms(void)
{
	return fz.clock;
}

void
fz_advance(uint64_t ms)
{
	fz.clock += ms;
}

/* As process.c's broker_shutdown, minus the listeners and the grace timer. */
void
broker_shutdown(const char *why)
{
	struct conn	*c, *next;

	if (broker.shutting_down)
		return;
	broker.shutting_down = true;
	log_info("shutting down: %s", why);
	for (c = TAILQ_FIRST(&broker.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_shutdown(c);
	}
	conn_flush_dirty();
}

void
broker_conn_gone(void)
{
	fz.conns_freed++;
}

/* Start-up is over before the first worker (fz_setup sets started). */
void
broker_first_worker_ready(void)
{
	fz_fatal("the supervisor reported start-up after it");
}

void
broker_first_worker_failed(void)
{
	fz_fatal("the supervisor reported start-up after it");
}

/* Link-time wrappers: pooled arenas. */

int	__real_arena_init(struct arena *a, size_t size, bool seal_writes);
int	__wrap_arena_init(struct arena *a, size_t size, bool seal_writes);
void	__real_arena_destroy(struct arena *a);
void	__wrap_arena_destroy(struct arena *a);

int
__wrap_arena_init(struct arena *a, size_t size, bool seal_writes)
{
	int	i;

	for (i = 0; i < fz_npool; i++) {
		if (fz_pool[i].used || fz_pool[i].seal != seal_writes ||
		    fz_pool[i].a.size != size)
			continue;
		fz_pool[i].used = true;
		*a = fz_pool[i].a;
		memset(a->bitmap, 0, (a->npages + 63) / 64 * sizeof(uint64_t));
		return 0;
	}
	if (__real_arena_init(a, size, seal_writes) == -1)
		return -1;
	if (fz_npool < FZ_POOL_ARENAS) {
		fz_pool[fz_npool].a = *a;
		fz_pool[fz_npool].seal = seal_writes;
		fz_pool[fz_npool].used = true;
		fz_npool++;
	}
	return 0;
}

void
__wrap_arena_destroy(struct arena *a)
{
	int	i;

	for (i = 0; a->base != NULL && i < fz_npool; i++) {
		if (fz_pool[i].a.base != a->base)
			continue;
		if (!fz_pool[i].used)
			fz_fatal("an arena destroyed twice");
		fz_pool[i].used = false;
		memset(a, 0, sizeof(*a));
		a->fd = -1;
		return;
	}
	__real_arena_destroy(a);
}

/* Link-time wrappers: fake worker processes. */

int	__real_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *,
	    int, int);
int	__wrap_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *,
	    int, int);
int	__real_posix_spawn(pid_t *, const char *,
	    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
	    char *const [], char *const []);
int	__wrap_posix_spawn(pid_t *, const char *,
	    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
	    char *const [], char *const []);
int	__real_kill(pid_t, int);
int	__wrap_kill(pid_t, int);

int
__wrap_posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa,
    int fd, int newfd)
{
	if (newfd == RPC_WORKER_FD)
		fz.spawn_rpc_fd = fd;
	else if (newfd == STDERR_FILENO)
		fz.spawn_err_fd = fd;
	return __real_posix_spawn_file_actions_adddup2(fa, fd, newfd);
}

static int
set_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Forget workers that are gone and reaped (their pids stay unused). */
static void
compact_workers(void)
{
	int	i, n = 0;

	for (i = 0; i < fz.nworkers; i++) {
		if (fz.workers[i]->reaped)
			free(fz.workers[i]);
		else
			fz.workers[n++] = fz.workers[i];
	}
	fz.nworkers = n;
}

int
__wrap_posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
    char *const argv[], char *const envp[])
{
	struct fz_worker	*w;

	if (fz.spawn_rpc_fd == -1)
		return __real_posix_spawn(pid, path, fa, at, argv, envp);
	if (fz.spawn_failures > 0 && !fz.teardown) {
		fz.spawn_failures--;
		fz.spawn_rpc_fd = fz.spawn_err_fd = -1;
		return EAGAIN;
	}
	if (fz.nworkers == FZ_MAX_WORKERS)
		compact_workers();
	if (fz.nworkers == FZ_MAX_WORKERS)
		return EAGAIN;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fz_fatal("out of memory");
	w->fd = fcntl(fz.spawn_rpc_fd, F_DUPFD_CLOEXEC, 0);
	w->errfd = fz.spawn_err_fd == -1 ? -1 :
	    fcntl(fz.spawn_err_fd, F_DUPFD_CLOEXEC, 0);
	if (w->fd == -1 || set_nonblock(w->fd) == -1 ||
	    (w->errfd != -1 && set_nonblock(w->errfd) == -1))
		fz_fatal("fake spawn: %s", strerror(errno));
	w->pid = fz.next_pid++;
	w->manual = fz.cfg.manual;
	fz.workers[fz.nworkers++] = w;
	fz.spawn_rpc_fd = fz.spawn_err_fd = -1;
	*pid = w->pid;
	return 0;
}

static struct fz_worker *
worker_by_pid(pid_t pid)
{
	int	i;

	for (i = 0; i < fz.nworkers; i++)
		if (fz.workers[i]->pid == pid)
			return fz.workers[i];
	return NULL;
}

int
__wrap_kill(pid_t pid, int sig)
{
	struct fz_worker	*w;

	if (pid < FZ_PID_BASE) {
		/* The broker signals nothing but its workers. */
		if (pid <= 0)
			fz_fatal("kill(%d, %d)", (int)pid, sig);
		return __real_kill(pid, sig);
	}
	if ((w = worker_by_pid(pid)) == NULL || w->reaped) {
		errno = ESRCH;
		return -1;
	}
	if (sig != 0)
		fz_worker_exit(w, sig);	/* WTERMSIG(status) == sig */
	return 0;
}

/* Fake workers. */

int
fz_nworkers(void)
{
	return fz.nworkers;
}

struct fz_worker *
fz_worker(int k)
{
	int	i;

	if (k >= 0)
		return k < fz.nworkers ? fz.workers[k] : NULL;
	for (i = fz.nworkers - 1; i >= 0; i--)
		if (!fz.workers[i]->exited)
			return fz.workers[i];
	return NULL;
}

void
fz_worker_raw(struct fz_worker *w, const void *p, size_t n)
{
	if (w->exited || n == 0)
		return;
	if (rpc_buf_reserve(&w->wbuf, n) == -1)
		fz_fatal("out of memory");
	memcpy(w->wbuf.data + w->wbuf.end, p, n);
	w->wbuf.end += n;
}

/* Queue one frame; -1 if it cannot be encoded (empty, too big). */
int
fz_worker_send(struct fz_worker *w, const RpcEnvelope *env)
{
	if (w->exited)
		return 0;
	return rpc_frame_encode(&w->wbuf, env);
}

/* Write what is buffered, as far as the socket takes it. */
void
fz_worker_flush(struct fz_worker *w)
{
	ssize_t	n;

	while (!w->exited && rpc_buf_len(&w->wbuf) > 0) {
		n = write(w->fd, w->wbuf.data + w->wbuf.start,
		    rpc_buf_len(&w->wbuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {		/* the broker hung up */
			fz_worker_exit(w, 0);
			return;
		}
		rpc_buf_consume(&w->wbuf, n);
	}
}

static void
queue_free(struct fz_worker *w)
{
	size_t	i;

	for (i = 0; i < w->nq; i++)
		rpc_envelope_free(w->q[i]);
	free(w->q);
	w->q = NULL;
	w->nq = w->capq = 0;
	free(w->sq);
	w->sq = NULL;
	w->nsq = w->capsq = 0;
}

/*
 * The "process" ends: its socket and stderr close, now.  The broker
 * hears of it through the socket and, later, fz_worker_reap().
 */
void
fz_worker_exit(struct fz_worker *w, int status)
{
	if (w->exited)
		return;
	w->exited = true;
	w->status = status;
	close(w->fd);
	w->fd = -1;
	if (w->errfd != -1)
		close(w->errfd);
	w->errfd = -1;
	rpc_buf_free(&w->rbuf);
	rpc_buf_free(&w->wbuf);
	queue_free(w);
}

/* SIGCHLD: the broker reaps the worker (which exits first if alive). */
void
fz_worker_reap(struct fz_worker *w)
{
	if (w->reaped)
		return;
	fz_worker_exit(w, SIGKILL);
	w->reaped = true;
	sup_reaped(w->pid, w->status);
}

void
fz_spawn_failures(unsigned n)
{
	fz.spawn_failures = n;
}

static uint32_t
data_reply_err(struct fz_worker *w)
{
	const struct fz_export	*e = &fz.cfg.exp;

	w->nreplies++;
	if (e->err_every == 0 || w->nreplies % e->err_every != 0)
		return 0;
	return e->reply_err;
}

/* Answer the i-th queued message correctly, and forget it. */
void
fz_worker_answer(struct fz_worker *w, size_t i)
{
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Hello		 h = NBDBROKER__RPC__HELLO__INIT;
	Nbdbroker__Rpc__Ready		 rd = NBDBROKER__RPC__READY__INIT;
	Nbdbroker__Rpc__OpenReply	 orp = NBDBROKER__RPC__OPEN_REPLY__INIT;
	Nbdbroker__Rpc__CloseReply	 cr = NBDBROKER__RPC__CLOSE_REPLY__INIT;
	Nbdbroker__Rpc__ExportList	 el = NBDBROKER__RPC__EXPORT_LIST__INIT;
	Nbdbroker__Rpc__ExportEntry	 ee[2] = {
		NBDBROKER__RPC__EXPORT_ENTRY__INIT,
		NBDBROKER__RPC__EXPORT_ENTRY__INIT,
	};
	Nbdbroker__Rpc__ExportEntry	*eep[2] = { &ee[0], &ee[1] };
	Nbdbroker__Rpc__Reply		 rp = NBDBROKER__RPC__REPLY__INIT;
	const struct fz_export		*e = &fz.cfg.exp;
	uint64_t			 len[2];
	uint32_t			 type[2] = { 0, NBD_STATE_HOLE |
	    NBD_STATE_ZERO };
	RpcEnvelope			*m;

	if (i >= w->nq)
		return;
	m = w->q[i];
	memmove(&w->q[i], &w->q[i + 1], (w->nq - i - 1) * sizeof(*w->q));
	w->nq--;
	env.id = m->id;
	switch (m->body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_HELLO:
		h.major = RPC_PROTOCOL_MAJOR;
		h.minor = RPC_PROTOCOL_MINOR;
		h.api_min = 1;
		h.api_max = 2;
		h.pid = w->pid;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_HELLO;
		env.hello = &h;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_CONFIG:
		rd.name = (char *)"fuzz";
		rd.api_version = 2;
		rd.thread_model = RPC_THREAD_MODEL_PARALLEL;
		rd.durability = e->durability;
		rd.has_list_exports = e->has_list;
		if (fz.rings) {
			rd.features = RPC_FEATURE_RINGS;
			w->rings = true;
		}
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_READY;
		env.ready = &rd;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:
		orp.err = e->open_err;
		if (e->open_err == 0) {
			orp.handle = ++w->next_handle;
			orp.size = e->size;
			orp.caps = e->caps;
			orp.fua = e->fua;
			orp.cache = e->cache;
			orp.block_min = e->block_min;
			orp.block_preferred = e->block_pref;
			orp.block_max = e->block_max;
			orp.canonical_name = m->open->export_name;
			orp.description = (char *)"a fuzzed export";
			orp.has_description = true;
		}
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY;
		env.open_reply = &orp;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:
		cr.handle = m->close->handle;
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY;
		env.close_reply = &cr;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS:
		el.err = e->list_err;
		if (e->list_err == 0) {
			ee[1].name = (char *)"fuzz";
			ee[1].description = (char *)"second";
			ee[1].has_description = true;
			el.n_exports = 2;
			el.exports = eep;
		}
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
		env.export_list = &el;
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:
		rp.err = data_reply_err(w);
		if (rp.err == 0 &&
		    m->request->type == NBD_CMD_BLOCK_STATUS) {
			len[0] = m->request->count / 2;
			len[1] = m->request->count - len[0];
			rp.n_extent_length = rp.n_extent_type = 2;
			rp.extent_length = len;
			rp.extent_type = type;
			if (len[0] == 0) {
				rp.n_extent_length = rp.n_extent_type = 1;
				rp.extent_length = &len[1];
			}
		}
		env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
		env.reply = &rp;
		break;
	default:
		fz_fatal("cannot answer %s", rpc_body_name(m->body_case));
	}
	if (fz_worker_send(w, &env) == -1)
		fz_fatal("cannot encode an answer: %s", strerror(errno));
	w->stale[w->nstale++ % 8] = m->id;
	rpc_envelope_free(m);
}

/* Check a frame the broker sent to a worker. */
static void
check_from_broker(const RpcEnvelope *m)
{
	const Nbdbroker__Rpc__Request	*rq;
	uint64_t			 ring;

	switch (m->body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_HELLO:
	case NBDBROKER__RPC__ENVELOPE__BODY_CONFIG:
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS:
		return;
	case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:
		rq = m->request;
		if (rq->type > NBD_CMD_BLOCK_STATUS ||
		    rq->type == NBD_CMD_DISC ||
		    (rq->count == 0) != (rq->type == NBD_CMD_FLUSH))
			fz_fatal("broker sent Request type %u count %u",
			    rq->type, rq->count);
		/* The ring sets sit before the payload space. */
		ring = rq->type == NBD_CMD_WRITE ? RPC_RING_OUT_REGION :
		    RPC_RING_IN_REGION;
		if ((rq->type == NBD_CMD_READ || rq->type == NBD_CMD_WRITE) &&
		    (rq->count > BROKER_MAX_REQUEST ||
		    rq->slot % ARENA_PAGE != 0 || rq->slot < ring ||
		    rq->slot + rq->count > ring + FZ_ARENA_SIZE))
			fz_fatal("broker sent a slot outside the arena: "
			    "slot %llu count %u", (unsigned long long)rq->slot,
			    rq->count);
		return;
	default:
		fz_fatal("broker sent %s to a worker",
		    rpc_body_name(m->body_case));
	}
}

/* The rings. */

void
fz_set_rings(bool on)
{
	fz.rings = on;
}

struct backend *
fz_worker_ring(struct fz_worker *w)
{
	struct backend	*be;

	if (!w->rings || w->exited || (be = backend_by_pid(w->pid)) == NULL ||
	    !be->ring_on || be->ring_out == NULL)
		return NULL;
	return be;
}

/* A CQE, published (the broker hears of it at a doorbell or a poll). */
void
fz_worker_ring_post(struct fz_worker *w, uint64_t id, int32_t err)
{
	struct backend	*be = fz_worker_ring(w);
	struct rpc_cqe	*c;

	if (be == NULL)
		return;
	c = &be->ring_in->cq[w->cq_tail & (RPC_RING_ENTRIES - 1)];
	c->id = id;
	c->err = err;
	c->flags = 0;
	w->cq_tail++;
	__atomic_store_n(&be->ring_in->cq_tail, w->cq_tail, __ATOMIC_RELEASE);
}

void
fz_worker_ring_doorbell(struct fz_worker *w)
{
	struct backend	*be = fz_worker_ring(w);
	uint64_t	 one = 1;

	if (be != NULL && write(be->evfd, &one, sizeof(one)) == -1)
		fz_fatal("doorbell: %s", strerror(errno));
}

/* Check an SQE the broker wrote, as check_from_broker a Request. */
static void
check_sqe(const struct rpc_sqe *e)
{
	uint64_t	ring = e->type == NBD_CMD_WRITE ? RPC_RING_OUT_REGION :
	    RPC_RING_IN_REGION;

	if (e->type > NBD_CMD_WRITE_ZEROES || e->type == NBD_CMD_DISC ||
	    (e->count == 0) != (e->type == NBD_CMD_FLUSH) ||
	    e->reserved0 != 0)
		fz_fatal("broker sent SQE type %u count %u", e->type,
		    e->count);
	if ((e->type == NBD_CMD_READ || e->type == NBD_CMD_WRITE) &&
	    (e->count > BROKER_MAX_REQUEST || e->slot % ARENA_PAGE != 0 ||
	    e->slot < ring || e->slot + e->count > ring + FZ_ARENA_SIZE))
		fz_fatal("broker sent an SQE slot outside the arena: slot "
		    "%llu count %u", (unsigned long long)e->slot, e->count);
}

/* Take new SQEs; answer them unless driven by hand.  True if any. */
static bool
pump_ring(struct fz_worker *w)
{
	struct backend	*be = fz_worker_ring(w);
	uint32_t	 tail;
	bool		 moved = false;

	if (be == NULL)
		return false;
	tail = __atomic_load_n(&be->ring_out->sq_tail, __ATOMIC_ACQUIRE);
	if (tail - w->sq_head > RPC_RING_ENTRIES)
		fz_fatal("broker's sq_tail %u runs %u ahead", tail,
		    tail - w->sq_head);
	while (w->sq_head != tail) {
		if (w->nsq == w->capsq) {
			w->capsq = w->capsq ? w->capsq * 2 : 16;
			w->sq = reallocarray(w->sq, w->capsq, sizeof(*w->sq));
			if (w->sq == NULL)
				fz_fatal("out of memory");
		}
		w->sq[w->nsq] = be->ring_out->sq[w->sq_head &
		    (RPC_RING_ENTRIES - 1)];
		check_sqe(&w->sq[w->nsq++]);
		w->sq_head++;
		moved = true;
	}
	__atomic_store_n(&be->ring_in->sq_head, w->sq_head, __ATOMIC_RELEASE);
	if ((!w->manual || fz.teardown) && w->nsq > 0) {
		size_t	i;

		for (i = 0; i < w->nsq; i++) {
			fz_worker_ring_post(w, w->sq[i].id,
			    data_reply_err(w));
			w->stale[w->nstale++ % 8] = w->sq[i].id;
		}
		w->nsq = 0;
		fz_worker_ring_doorbell(w);
		moved = true;
	}
	return moved;
}

/* Read, check and (if not manual) answer; true if bytes moved. */
static bool
pump_worker(struct fz_worker *w)
{
	RpcEnvelope	*m;
	bool		 moved = false;
	ssize_t		 n;
	int		 d;

	while (!w->exited) {
		if (rpc_buf_reserve(&w->rbuf, 65536) == -1)
			fz_fatal("out of memory");
		n = read(w->fd, w->rbuf.data + w->rbuf.end,
		    w->rbuf.cap - w->rbuf.end);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		moved = true;
		if (n <= 0) {		/* the broker hung up: exit 0 */
			fz_worker_exit(w, 0);
			return true;
		}
		w->rbuf.end += n;
	}
	while (!w->exited && (d = rpc_frame_decode(&w->rbuf, &m)) != 0) {
		if (d == -1)
			fz_fatal("broker sent a bad frame: %s",
			    strerror(errno));
		check_from_broker(m);
		if (w->nq == w->capq) {
			w->capq = w->capq ? w->capq * 2 : 16;
			w->q = reallocarray(w->q, w->capq, sizeof(*w->q));
			if (w->q == NULL)
				fz_fatal("out of memory");
		}
		w->q[w->nq++] = m;
		if (!fz.cfg.manual_startup &&
		    (m->body_case == NBDBROKER__RPC__ENVELOPE__BODY_HELLO ||
		    m->body_case == NBDBROKER__RPC__ENVELOPE__BODY_CONFIG))
			fz_worker_answer(w, w->nq - 1);
	}
	if (!w->manual || fz.teardown)
		while (!w->exited && w->nq > 0)
			fz_worker_answer(w, fz.cfg.exp.lifo ? w->nq - 1 : 0);
	if (!w->exited)
		moved |= pump_ring(w);
	if (!w->exited && rpc_buf_len(&w->wbuf) > 0) {
		size_t	before = rpc_buf_len(&w->wbuf);

		fz_worker_flush(w);
		if (w->exited || rpc_buf_len(&w->wbuf) != before)
			moved = true;
	}
	return moved;
}

/* Clients. */

int
fz_nclients(void)
{
	return fz.nclients;
}

struct fz_client *
fz_client(int k)
{
	if (k < 0 || k >= fz.nclients || fz.clients[k].fd == -1)
		return NULL;
	return &fz.clients[k];
}

int
fz_client_new(void)
{
	struct sockaddr_un	 sun;
	struct fz_client	*cl;
	int			 sv[2];

	if (fz.nclients == FZ_MAX_CLIENTS ||
	    broker.nconns >= broker.cfg.max_conns)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fz_fatal("socketpair: %s", strerror(errno));
	if (set_nonblock(sv[1]) == -1)
		fz_fatal("fcntl: %s", strerror(errno));
	cl = &fz.clients[fz.nclients];
	memset(cl, 0, sizeof(*cl));
	cl->fd = sv[1];
	cl->reading = true;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (conn_new(sv[0], sv[0], (struct sockaddr *)&sun,
	    sizeof(sa_family_t)) == NULL) {
		close(sv[1]);
		return -1;
	}
	fz.conns_made++;
	return fz.nclients++;
}

void
fz_client_send(int k, const void *p, size_t n)
{
	struct fz_client	*cl = fz_client(k);
	uint8_t			*b;

	if (cl == NULL || n == 0)
		return;
	if (cl->outoff > 0 && cl->outoff == cl->outlen)
		cl->outoff = cl->outlen = 0;
	if ((b = realloc(cl->out, cl->outlen + n)) == NULL)
		fz_fatal("out of memory");
	memcpy(b + cl->outlen, p, n);
	cl->out = b;
	cl->outlen += n;
}

void
fz_client_close(int k)
{
	struct fz_client	*cl = fz_client(k);

	if (cl == NULL)
		return;
	close(cl->fd);
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	cl->outlen = cl->outoff = 0;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static void
send_option(int k, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t	h[16];

	put64(h, NBD_OPTS_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, len);
	fz_client_send(k, h, sizeof(h));
	fz_client_send(k, data, len);
}

/*
 * Queue a whole handshake, as a client that does not wait for
 * answers would send it.  variant & 3: EXPORT_NAME, GO, INFO then GO,
 * LIST then GO; 4: STRUCTURED_REPLY; 8: SET_META_CONTEXT
 * base:allocation; 16: no NO_ZEROES.
 */
void
fz_client_handshake(int k, unsigned variant)
{
	static const char	meta[] = "base:allocation";
	uint8_t			b[64];
	uint32_t		cflags = NBD_FLAG_C_FIXED_NEWSTYLE;

	if (!(variant & 16))
		cflags |= NBD_FLAG_C_NO_ZEROES;
	put32(b, cflags);
	fz_client_send(k, b, 4);
	if (variant & 4)
		send_option(k, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	if (variant & 8) {
		put32(b, 0);			/* export name "" */
		put32(b + 4, 1);		/* one query */
		put32(b + 8, sizeof(meta) - 1);
		memcpy(b + 12, meta, sizeof(meta) - 1);
		send_option(k, NBD_OPT_SET_META_CONTEXT, b,
		    12 + sizeof(meta) - 1);
	}
	if ((variant & 3) == 3)
		send_option(k, NBD_OPT_LIST, NULL, 0);
	if ((variant & 3) == 0) {
		send_option(k, NBD_OPT_EXPORT_NAME, NULL, 0);
		return;
	}
	/* "" and three info requests: NAME, DESCRIPTION, BLOCK_SIZE. */
	memcpy(b, "\0\0\0\0\0\3\0\1\0\2\0\3", 12);
	if ((variant & 3) == 2)
		send_option(k, NBD_OPT_INFO, b, 12);
	send_option(k, NBD_OPT_GO, b, 12);
}

/*
 * Queue one request; payload bytes follow it (a WRITE with fewer than
 * count is a client that stops in the middle of its payload).
 */
void
fz_client_request(int k, uint16_t cmd, uint16_t flags, uint64_t cookie,
    uint64_t offset, uint32_t count, uint32_t payload)
{
	uint8_t	 h[28];
	uint8_t	*p;

	put32(h, NBD_REQUEST_MAGIC);
	h[4] = flags >> 8;
	h[5] = flags;
	h[6] = cmd >> 8;
	h[7] = cmd;
	put64(h + 8, cookie);
	put64(h + 16, offset);
	put32(h + 24, count);
	fz_client_send(k, h, sizeof(h));
	if (payload == 0)
		return;
	if (payload > FZ_MAX_PAYLOAD)
		payload = FZ_MAX_PAYLOAD;
	if ((p = malloc(payload)) == NULL)
		fz_fatal("out of memory");
	memset(p, 0xa5, payload);
	fz_client_send(k, p, payload);
	free(p);
}

static bool
pump_client(struct fz_client *cl)
{
	static uint8_t	buf[65536];
	bool		moved = false;
	ssize_t		n;

	while (cl->fd != -1 && cl->outoff < cl->outlen) {
		n = write(cl->fd, cl->out + cl->outoff,
		    cl->outlen - cl->outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		moved = true;
		if (n <= 0) {		/* the broker closed on us */
			cl->outoff = cl->outlen;
			break;
		}
		cl->outoff += n;
	}
	while (cl->fd != -1 && cl->reading) {
		n = read(cl->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		moved = true;
		if (n <= 0) {
			close(cl->fd);
			cl->fd = -1;
			free(cl->out);
			cl->out = NULL;
			cl->outlen = cl->outoff = 0;
			break;
		}
		cl->got += n;
	}
	return moved;
}

/* The loop. */

void
fz_run(void)
{
	unsigned	rounds;
	bool		moved;
	int		i;

	for (rounds = 0; rounds < FZ_MAX_ROUNDS; rounds++) {
		event_base_loop(broker.base, EVLOOP_NONBLOCK);
		moved = false;
		for (i = 0; i < fz.nclients; i++)
			moved |= pump_client(&fz.clients[i]);
		for (i = 0; i < fz.nworkers; i++)
			moved |= pump_worker(fz.workers[i]);
		/* SIGCHLD for workers that are gone. */
		for (i = 0; i < fz.nworkers; i++) {
			if (fz.workers[i]->exited && !fz.workers[i]->reaped) {
				fz_worker_reap(fz.workers[i]);
				moved = true;
			}
		}
		/*
		 * Nothing moved and nothing is active: the broker wrote
		 * nothing we did not read, we wrote nothing it has not
		 * seen, and its only timers are real-time ones (restart
		 * backoff, handshake deadline) that fz_fire_timers() and
		 * teardown deal with.
		 */
		if (!moved && event_base_get_num_events(broker.base,
		    EVENT_BASE_COUNT_ACTIVE) == 0)
			return;
	}
	fz_fatal("no quiescence after %u rounds: the broker spins", rounds);
}

/* Restart backoff timers fire now (time is virtual; theirs is not). */
void
fz_fire_timers(void)
{
	struct backend	*be;

	TAILQ_FOREACH(be, &broker.backends, link)
		if (be->ev_restart != NULL &&
		    evtimer_pending(be->ev_restart, NULL))
			event_active(be->ev_restart, EV_TIMEOUT, 1);
}

void
fz_init(void)
{
	static bool	done;

	if (done)
		return;
	done = true;
	signal(SIGPIPE, SIG_IGN);
	log_init("nbdbroker-fuzz", getenv("NBDBROKER_FUZZ_LOG") != NULL ?
	    LOG_DEST_STDERR : LOG_DEST_NULL, 1);
}

void
fz_setup(const struct fz_config *cfg)
{
	struct config	*bc = &broker.cfg;

	fz_init();
	memset(&fz, 0, sizeof(fz));
	fz.cfg = *cfg;
	fz.clock = FZ_CLOCK_START;
	fz.next_pid = FZ_PID_BASE;
	fz.spawn_rpc_fd = fz.spawn_err_fd = -1;

	broker_init();
	bc->plugin_arg = (char *)"fuzz";
	bc->plugin_path = (char *)"/nonexistent/fuzz-plugin.so";
	bc->worker_path = (char *)"/nonexistent/fuzz-worker";
	bc->cwd = (char *)"/";
	bc->readonly = cfg->readonly;
	bc->verbose = true;
	bc->arena_size = FZ_ARENA_SIZE;
	bc->max_conns = BROKER_DEFAULT_MAX_CONNS;
	bc->handshake_ms = CONN_HANDSHAKE_MS;
	bc->rs.per_connection = cfg->per_connection;
	bc->rs.request_timeout_ms = cfg->request_timeout_ms;
	bc->rs.replays = cfg->replays;
	bc->rs.intensity = cfg->intensity ? cfg->intensity : 64;
	bc->rs.period_ms = RESTART_DEFAULT_PERIOD_MS;
	bc->rs.durability = -1;
	broker.started = true;		/* as after start-up */
	if (fz_base == NULL && (fz_base = event_base_new()) == NULL)
		fz_fatal("event_base_new");
	broker.base = fz_base;
	if (!cfg->per_connection) {
		if ((broker.be = backend_new()) == NULL)
			fz_fatal("backend_new: %s", strerror(errno));
		if (sup_start(broker.be) == -1)
			fz_fatal("sup_start");
		fz_run();
	}
}

/* A backend with no worker and no restart coming gets one now. */
static void
kick_backends(void)
{
	struct backend	*be;

	fz_fire_timers();
	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->retiring || be->fd != -1 || be->pid != 0 ||
		    (be->ev_restart != NULL &&
		    evtimer_pending(be->ev_restart, NULL)))
			continue;
		sup_start(be);
	}
}

/*
 * End the iteration: workers answer everything correctly, clients
 * hang up; then every connection must be freed.  Then the workers go
 * and every backend is freed.
 */
void
fz_teardown(void)
{
	struct backend	*be;
	struct req	*r;
	int		 i, pass;

	fz.teardown = true;
	for (i = 0; i < fz.nworkers; i++)
		fz.workers[i]->manual = false;
	for (i = 0; i < fz.nclients; i++)
		fz_client_close(i);
	for (pass = 0; pass < 20; pass++) {
		fz_run();
		if (fz.conns_freed == fz.conns_made)
			break;
		/*
		 * A shutdown stops restarts; time heals the rest, given a
		 * request timeout (without one, a worker that went quiet
		 * in the middle of a frame holds its requests forever, as
		 * the admin asked).
		 */
		broker.shutting_down = false;
		if (broker.cfg.rs.request_timeout_ms == 0)
			broker.cfg.rs.request_timeout_ms = 1000;
		kick_backends();
		fz_advance(3600 * 1000);
		sup_tick();
		conn_tick();
		conn_flush_dirty();
	}
	if (fz.conns_freed != fz.conns_made || broker.nconns != 0) {
		struct conn	*c;

		TAILQ_FOREACH(c, &broker.conns, link)
			fprintf(stderr, "conn %llu: state %d flags 0x%x pause "
			    "0x%x inflight %u out %zu backend state %d "
			    "reopening %u\n", (unsigned long long)c->id,
			    c->state, c->flags, c->pause, c->inflight,
			    c->out_len, c->be ? (int)c->be->state : -1,
			    c->be ? sup_reopening(c->be) : 0);
		fz_fatal("%llu of %llu connections never freed (%u open)",
		    (unsigned long long)(fz.conns_made - fz.conns_freed),
		    (unsigned long long)fz.conns_made, broker.nconns);
	}

	/* Shut down: hang up on every worker; they exit; reap them. */
	broker.shutting_down = true;
	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->ev_restart != NULL)
			evtimer_del(be->ev_restart);
		backend_disconnect(be);
	}
	fz_run();
	while ((be = TAILQ_FIRST(&broker.backends)) != NULL) {
		TAILQ_FOREACH(r, &be->pending, bq)
			if (r->kind == REQ_DATA)
				fz_fatal("a data request outlived its "
				    "connection");
		TAILQ_FOREACH(r, &be->inflight, bq)
			if (r->kind == REQ_DATA)
				fz_fatal("a data request outlived its "
				    "connection");
		backend_free(be);
	}
	broker.be = NULL;
	for (i = 0; i < fz.nworkers; i++) {
		fz_worker_exit(fz.workers[i], 0);
		free(fz.workers[i]);
	}
	fz.nworkers = 0;
	/*
	 * The event base is kept for the next input if the broker left
	 * nothing in it; otherwise (a timer of its own that never came
	 * due in virtual time) it goes, with whatever is in it.
	 */
	if (event_base_get_num_events(fz_base, EVENT_BASE_COUNT_ADDED |
	    EVENT_BASE_COUNT_ACTIVE | EVENT_BASE_COUNT_VIRTUAL) != 0) {
		event_base_free(fz_base);
		fz_base = NULL;
	}
	broker.base = NULL;
}
