/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fuzz harness's fake workers (see fuzz-harness.h): posix_spawn(),
 * posix_spawn_file_actions_adddup2() and kill() are wrapped at link
 * time, so that the real supervisor "spawns" an in-process endpoint on
 * the other end of its socketpair, and SIGKILL closes that end.  A
 * fake worker answers on its own, or as the target drives it, over
 * frames or through the rings.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz-internal.h"
#include "log.h"

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

int
fz_set_nonblock(int fd)
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
	if (w->fd == -1 || fz_set_nonblock(w->fd) == -1 ||
	    (w->errfd != -1 && fz_set_nonblock(w->errfd) == -1))
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
bool
fz_pump_worker(struct fz_worker *w)
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
