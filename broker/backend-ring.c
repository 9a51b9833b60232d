/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's side of the data path's shared-memory rings (layout,
 * ordering and doorbells: proto/rpc-ring.h).  A backend whose worker
 * said in Ready that it serves the rings sends READ, WRITE, FLUSH,
 * TRIM, WRITE_ZEROES and CACHE as SQEs instead of Request frames, and
 * takes their answers from the CQ; everything else, and every request
 * to a worker without rings (the fake worker, older workers), stays on
 * the RPC socket.
 *
 * The worker is untrusted and writes the in-arena whenever it likes:
 * cq_tail and sq_head are loaded once and checked against what this
 * side submitted, each CQE is copied out field by field before it is
 * looked at, and its id must name a request in flight on the rings.
 * Anything else is a protocol violation, handled like a bad frame
 * (the worker is killed and its requests replayed).  A doorbell
 * without cause costs one read of the eventfd and one load.
 *
 * Runs in the event loop only; never blocks (the broker wakes the
 * worker with FUTEX_WAKE, and never waits on a futex).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "fd.h"
#include "log.h"

#define RING_MASK	(RPC_RING_ENTRIES - 1)
#define RING_SPIN_US	100	/* default spin budget (NBDBROKER_SPIN_US) */
#define RING_SPIN_MAX_US	1000
#define RING_SKIP_MAX	256	/* passes without spinning, at most */
#define RING_SPIN_MAX_CONNS	8	/* more connections: never poll */
#define RING_SPIN_MAX_DEPTH	1	/* deeper queues: never poll */

static void	ring_event_cb(evutil_socket_t, short, void *);

/*
 * Bounded adaptive polling: after a pass that submitted SQEs, the
 * broker polls the CQ for up to spin_ns instead of going back to its
 * event loop and waiting for the eventfd (a sleep and a wake-up on
 * each side, and on a virtual machine the wake of an idle vCPU).
 * Only on a machine with at least two CPUs, only while polls succeed:
 * each failure doubles the number of passes that do not poll (up to
 * RING_SKIP_MAX).
 *
 * The poll yields the CPU (sched_yield) between looks, never spins on
 * it: the worker the broker just woke is often queued on the broker's
 * own CPU (the scheduler places a wakee near its waker), and a busy
 * loop there only delays the answer it waits for -- that is what made
 * an earlier pause-based poll lose at every depth.  Yielding, the
 * worker (or fio, or anybody runnable) runs at once on this CPU, with
 * no cross-CPU wake-up, and the broker takes the answer when it is
 * scheduled again.  With nothing else runnable a yield returns at
 * once.  The poll also watches the clients (spin_watch) and ends
 * when one sends something: the event loop has work then, and the
 * answer's doorbell will find the broker awake anyway.
 *
 * Only at queue depth 1 (one request in flight in all, at most
 * RING_SPIN_MAX_CONNS connections, and the last SPIN_CALM answers
 * were at depth 1 too: a queue at depth drains for a moment now and
 * then, and polling in those gaps cost randread 4k QD16 15%, measured
 * A/B): at depth the answer's doorbell
 * mostly lands while the broker is awake for its clients anyway, and
 * polling there measured slower on the shared two-CPU machine (write
 * 256k QD16 0.83x, randwrite 4k QD16 0.81x), while at depth 1 it won
 * (docs/benchmarks.md).  NBDBROKER_SPIN_US sets the budget (0: never
 * poll).
 */
static uint64_t		 spin_ns;
static bool		 spin_init;
static struct backend	*spin_be;	/* published in this pass */

/*
 * The other half of a request at depth 1: after the broker wrote the
 * answer to the only request in flight, the client sends its next one
 * a few microseconds after reading it (fio, a VM's disk at queue depth
 * 1).  Instead of going back to its event loop to sleep until then
 * (and have an idle vCPU woken for it), the broker looks at the client
 * sockets for up to client_spin_ns, yielding between looks as
 * ring_spin does: the client, woken by the answer, often runs on this
 * very CPU.  When input comes the pass ends and the event loop finds
 * it at once, without sleeping.  Adaptive like ring_spin (client_fails,
 * client_skip), and only at depth 1: the answer was to the only
 * request in flight, the last SPIN_CALM answers were too (spin_calm),
 * nothing is in flight now and no output waits.
 * NBDBROKER_CLIENT_SPIN_US sets the budget (0: never).
 */
#define CLIENT_SPIN_US	100	/* default (NBDBROKER_CLIENT_SPIN_US) */
#define SPIN_CALM	64	/* depth-1 answers in a row before polling */

static uint64_t		 client_spin_ns;
static unsigned		 client_fails, client_skip;
static unsigned		 spin_calm;	/* depth-1 answers still to see */
static bool		 spin_replied;	/* answered at depth 1, this pass */

/* Are rings offered to workers at all?  NBDBROKER_RINGS=0 turns them
 * off (frames only), to measure or to rule them out. */
static bool
ring_enabled(void)
{
	const char	*e = getenv("NBDBROKER_RINGS");

	return e == NULL || strcmp(e, "0") != 0;
}

/*
 * Set up be's rings: ring set `set' of the region at the start of each
 * arena (reserved there by the caller) and the eventfd its workers
 * ring.  Returns 0, or -1 with errno.  Without rings (turned off),
 * be->evfd stays -1.
 */
int
ring_init(struct backend *be, unsigned set)
{
	be->evfd = -1;
	be->ring_set = set;
	if (!ring_enabled())
		return 0;
	if ((be->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		return -1;
	if ((be->evfd = fd_move_high(be->evfd)) == -1)
		return -1;
	be->ev_ring = event_new(broker.base, be->evfd, EV_READ | EV_PERSIST,
	    ring_event_cb, be);
	if (be->ev_ring == NULL || event_add(be->ev_ring, NULL) == -1)
		return -1;
	be->ring_out = (struct rpc_ring_out *)(be->out.base +
	    be->ring_set * sizeof(struct rpc_ring_out));
	be->ring_in = (struct rpc_ring_in *)(be->in.base +
	    be->ring_set * sizeof(struct rpc_ring_in));
	ring_reset(be);
	return 0;
}

void
ring_destroy(struct backend *be)
{
	if (be->ev_ring != NULL)
		event_free(be->ev_ring);
	be->ev_ring = NULL;
	if (be->evfd != -1)
		close(be->evfd);
	be->evfd = -1;
}

/*
 * A reload starts the next worker while the old one may still be
 * exiting: the next one takes the other ring set of the arenas, which
 * the old one never looks at (ring_reset then clears it).
 */
void
ring_switch_set(struct backend *be)
{
	be->ring_set ^= 1;
	if (be->ring_out == NULL)
		return;
	be->ring_out = (struct rpc_ring_out *)(be->out.base +
	    be->ring_set * sizeof(struct rpc_ring_out));
	be->ring_in = (struct rpc_ring_in *)(be->in.base +
	    be->ring_set * sizeof(struct rpc_ring_in));
}

/*
 * A reload hands a's worker over to b and b's to a (backend_swap):
 * each worker keeps its ring set and doorbell, now in the other
 * backend.  Returns 0, or -1 if a doorbell's event cannot be made
 * again (then that backend's rings are idle: it goes by messages).
 */
int
ring_swap(struct backend *a, struct backend *b)
{
	struct backend	 t;
	struct backend	*be[2] = { a, b };
	int		 i, r = 0;

	t.ring_set = a->ring_set;
	t.ring_out = a->ring_out;
	t.ring_in = a->ring_in;
	t.evfd = a->evfd;
	t.ring_on = a->ring_on;
	t.sq_tail = a->sq_tail;
	t.sq_head = a->sq_head;
	t.cq_head = a->cq_head;
	t.ring_outstanding = a->ring_outstanding;
	t.spin_fails = a->spin_fails;
	t.spin_skip = a->spin_skip;
	a->ring_set = b->ring_set;
	a->ring_out = b->ring_out;
	a->ring_in = b->ring_in;
	a->evfd = b->evfd;
	a->ring_on = b->ring_on;
	a->sq_tail = b->sq_tail;
	a->sq_head = b->sq_head;
	a->cq_head = b->cq_head;
	a->ring_outstanding = b->ring_outstanding;
	a->spin_fails = b->spin_fails;
	a->spin_skip = b->spin_skip;
	b->ring_set = t.ring_set;
	b->ring_out = t.ring_out;
	b->ring_in = t.ring_in;
	b->evfd = t.evfd;
	b->ring_on = t.ring_on;
	b->sq_tail = t.sq_tail;
	b->sq_head = t.sq_head;
	b->cq_head = t.cq_head;
	b->ring_outstanding = t.ring_outstanding;
	b->spin_fails = t.spin_fails;
	b->spin_skip = t.spin_skip;
	/* The doorbells' events name their backend: make them again. */
	for (i = 0; i < 2; i++) {
		if (be[i]->ev_ring != NULL)
			event_free(be[i]->ev_ring);
		be[i]->ev_ring = NULL;
	}
	for (i = 0; i < 2; i++) {
		if (be[i]->evfd == -1)
			continue;
		be[i]->ev_ring = event_new(broker.base, be[i]->evfd,
		    EV_READ | EV_PERSIST, ring_event_cb, be[i]);
		if (be[i]->ev_ring == NULL ||
		    event_add(be[i]->ev_ring, NULL) == -1) {
			be[i]->ring_on = false;
			r = -1;
		}
	}
	return r;
}

/* Does be offer rings to its next worker (Hello, Config)? */
bool
ring_offered(const struct backend *be)
{
	return be->evfd != -1;
}

/*
 * Fresh rings for a new worker, written before it starts (its
 * predecessor has been reaped: nobody else writes them now).
 */
void
ring_reset(struct backend *be)
{
	struct rpc_ring_out	*o = be->ring_out;
	struct rpc_ring_in	*i = be->ring_in;

	be->ring_on = false;
	be->sq_tail = be->sq_head = be->cq_head = 0;
	be->ring_outstanding = 0;
	if (o == NULL)
		return;
	memset(o, 0, offsetof(struct rpc_ring_out, sq));
	memset(i, 0, offsetof(struct rpc_ring_in, cq));
	o->magic = i->magic = RPC_RING_MAGIC;
	o->version = i->version = RPC_RING_VERSION;
	o->entries = i->entries = RPC_RING_ENTRIES;
	o->sqe_size = sizeof(struct rpc_sqe);
	i->cqe_size = sizeof(struct rpc_cqe);
	/* The broker sleeps in its event loop: always ring. */
	__atomic_store_n(&o->broker_wait, 1, __ATOMIC_SEQ_CST);
}

/* Config's ring fields for be's next worker. */
void
ring_config(const struct backend *be, uint32_t *entries, uint64_t *out_off,
    uint64_t *in_off)
{
	*entries = ring_offered(be) ? RPC_RING_ENTRIES : 0;
	*out_off = be->ring_set * sizeof(struct rpc_ring_out);
	*in_off = be->ring_set * sizeof(struct rpc_ring_in);
}

/* Does r go through the rings?  Extents need a frame. */
bool
ring_takes(const struct backend *be, const struct req *r)
{
	return be->ring_on && r->kind == REQ_DATA &&
	    r->cmd != NBD_CMD_BLOCK_STATUS;
}

/*
 * Take the worker's sq_head, which says which SQ entries it has taken
 * (so are free again): it may only move forward, and never past what
 * was submitted.  Returns 0, or -1 with why set.
 */
static int
sq_head_check(struct backend *be, char *why, size_t whylen)
{
	uint32_t	h;

	h = __atomic_load_n(&be->ring_in->sq_head, __ATOMIC_ACQUIRE);
	if (h - be->sq_head > be->sq_tail - be->sq_head) {
		snprintf(why, whylen, "ring sq_head %" PRIu32 " outside "
		    "%" PRIu32 "..%" PRIu32, h, be->sq_head, be->sq_tail);
		return -1;
	}
	be->sq_head = h;
	return 0;
}

/* Is there room for one more SQE?  1, 0 (full), or -1 with why set. */
static int
sq_room(struct backend *be, char *why, size_t whylen)
{
	if (be->sq_tail - be->sq_head < RPC_RING_ENTRIES)
		return 1;
	if (sq_head_check(be, why, whylen) == -1)
		return -1;
	return be->sq_tail - be->sq_head < RPC_RING_ENTRIES;
}

/*
 * Write r as the next SQE (not yet published: ring_publish does that
 * once per batch).  Returns 0, 1 if the SQ is full (r stays pending),
 * or -1 if the worker broke the ring (the caller loses it).
 */
int
ring_put(struct backend *be, struct req *r, char *why, size_t whylen)
{
	struct rpc_sqe	*e;
	int		 room;

	if ((room = sq_room(be, why, whylen)) != 1)
		return room == 0 ? 1 : -1;
	e = &be->ring_out->sq[be->sq_tail & RING_MASK];
	e->id = r->id;
	e->handle = r->conn->handle;
	e->offset = r->offset;
	e->slot = slot_offset(&r->slot);
	e->count = r->count;
	e->type = r->cmd;
	e->reserved0 = 0;
	e->flags = r->flags;
	memset(e->reserved1, 0, sizeof(e->reserved1));
	be->sq_tail++;
	be->ring_outstanding++;
	r->via_ring = true;
	return 0;
}

/*
 * Publish the SQEs written since the last call, and wake the worker
 * if it said it sleeps.
 */
void
ring_publish(struct backend *be)
{
	struct rpc_ring_out	*o = be->ring_out;

	if (!be->ring_on || o->sq_tail == be->sq_tail)
		return;
	__atomic_store_n(&o->sq_tail, be->sq_tail, __ATOMIC_RELEASE);
	spin_be = be;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&be->ring_in->worker_sleeps, __ATOMIC_RELAXED))
		syscall(SYS_futex, &o->sq_tail, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/*
 * Requests in flight in all connections, counted up to 2 (more
 * connections than the broker would poll: 2).
 */
static unsigned
clients_depth(void)
{
	struct conn	*c;
	unsigned	 depth = 0;

	if (broker.nconns > RING_SPIN_MAX_CONNS)
		return 2;
	TAILQ_FOREACH(c, &broker.conns, link)
		if ((depth += c->inflight) > 1)
			return 2;
	return depth;
}

/*
 * Take every CQE the worker published: check it, copy it out and
 * answer its request.  Returns 0, or -1 with why set for a violation
 * (the caller loses the worker; requests not yet answered are
 * replayed).
 */
int
ring_reap(struct backend *be, char *why, size_t whylen)
{
	const volatile struct rpc_cqe	*src;
	Nbdbroker__Rpc__Reply		 rep = NBDBROKER__RPC__REPLY__INIT;
	struct req			*r;
	uint32_t			 tail, n;
	uint64_t			 id;
	int32_t				 err;

	if (!be->ring_on)
		return 0;
	if (sq_head_check(be, why, whylen) == -1)
		return -1;
	tail = __atomic_load_n(&be->ring_in->cq_tail, __ATOMIC_ACQUIRE);
	n = tail - be->cq_head;
	if (n > be->ring_outstanding) {
		snprintf(why, whylen, "ring cq_tail %" PRIu32 " with head %"
		    PRIu32 " and %u requests outstanding", tail,
		    be->cq_head, be->ring_outstanding);
		return -1;
	}
	/* Is this depth 1, and has it been for a while (polling)? */
	if (n > 0) {
		if (n > 1 || clients_depth() > 1)
			spin_calm = SPIN_CALM;
		else if (spin_calm > 0)
			spin_calm--;
		else
			spin_replied = true;
	}
	while (n-- > 0 && be->ring_on) {
		src = &be->ring_in->cq[be->cq_head & RING_MASK];
		id = src->id;
		err = src->err;
		if ((r = backend_find(be, id, REQ_DATA)) == NULL ||
		    !r->via_ring) {
			snprintf(why, whylen, "ring completion with unknown "
			    "id %" PRIx64, id);
			return -1;
		}
		if (err < 0 || err > 4095) {
			snprintf(why, whylen, "ring completion with errno %"
			    PRId32, err);
			return -1;
		}
		be->cq_head++;
		be->ring_outstanding--;
		__atomic_store_n(&be->ring_out->cq_head, be->cq_head,
		    __ATOMIC_RELEASE);
		r->via_ring = false;
		backend_answered(be, r);
		if (err == 0 && (r->cmd == NBD_CMD_WRITE ||
		    r->cmd == NBD_CMD_TRIM || r->cmd == NBD_CMD_WRITE_ZEROES))
			be->dirty = true;
		rep.err = err;
		tx_complete(r, &rep);
	}
	return 0;
}

static uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A budget in microseconds from the environment variable name. */
static uint64_t
spin_budget_ns(const char *name, long dflt)
{
	const char	*e = getenv(name);
	long		 us = e != NULL ? atol(e) : dflt;

	if (us < 0 || us > RING_SPIN_MAX_US)
		us = dflt;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		us = 0;
	return (uint64_t)us * 1000;
}

static void
spin_setup(void)
{
	spin_init = true;
	spin_ns = spin_budget_ns("NBDBROKER_SPIN_US", RING_SPIN_US);
	client_spin_ns = spin_budget_ns("NBDBROKER_CLIENT_SPIN_US",
	    CLIENT_SPIN_US);
}

/*
 * The client sockets to watch while polling (into pfd, at most
 * RING_SPIN_MAX_CONNS): every connection that may read.  Input there
 * is work the event loop should do now; a client writing a large
 * payload must not wait for the poll.  Returns how many, or -1 when
 * the broker should not poll at all: too many connections to watch, a
 * transport holding input already, more than max_depth requests in
 * flight in all (the clients' queue depth, which the rings' own count
 * does not show: a fast worker drains them while the queue waits in
 * the sockets), or, with max_depth 0, an answer not yet written.
 */
static int
spin_watch(struct pollfd *pfd, unsigned max_depth)
{
	struct conn	*c;
	unsigned	 depth = 0;
	int		 n = 0;

	if (broker.nconns > RING_SPIN_MAX_CONNS)
		return -1;
	TAILQ_FOREACH(c, &broker.conns, link) {
		if (c->flags & CONN_DEAD)
			continue;
		if ((depth += c->inflight) > max_depth)
			return -1;
		if (max_depth == 0 && c->out_len > 0)
			return -1;	/* the answer is not out yet */
		if (c->pause != 0)
			continue;
		if (c->tr->pending != NULL && c->tr->pending(c))
			return -1;
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/*
 * At the end of a pass: poll the CQ of the backend that was just sent
 * requests, for a bounded time, with its doorbell off meanwhile, and
 * stop early when a client has sent something.  Returns true if
 * completions were taken (the pass goes on: replies to write, perhaps
 * more to send).
 */
bool
ring_spin(void)
{
	struct backend	*be = spin_be;
	struct pollfd	 pfd[RING_SPIN_MAX_CONNS];
	uint64_t	 t0, deadline;
	uint32_t	*tailp;
	bool		 got = false, input = false;
	int		 npfd;
	char		 why[256], msg[300];

	spin_be = NULL;
	if (!spin_init)
		spin_setup();
	if (be == NULL || spin_ns == 0 || !be->ring_on ||
	    be->ring_outstanding == 0)
		return false;
	if (be->spin_skip > 0) {
		be->spin_skip--;
		return false;
	}
	if (spin_calm > 0)
		return false;	/* a queue at depth, drained for a moment */
	if ((npfd = spin_watch(pfd, RING_SPIN_MAX_DEPTH)) == -1)
		return false;
	tailp = &be->ring_in->cq_tail;
	__atomic_store_n(&be->ring_out->broker_wait, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	t0 = mono_ns();
	deadline = t0 + spin_ns;
	do {
		if (__atomic_load_n(tailp, __ATOMIC_RELAXED) != be->cq_head) {
			got = true;
			break;
		}
		sched_yield();
		if (npfd > 0 && poll(pfd, npfd, 0) > 0) {
			input = true;
			break;
		}
	} while (mono_ns() < deadline);
	/* Doorbell back on; what came meanwhile rang nobody: take it. */
	__atomic_store_n(&be->ring_out->broker_wait, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(tailp, __ATOMIC_RELAXED) != be->cq_head)
		got = true;
	if (got)
		be->spin_fails = 0;
	else if (input)
		return false;	/* not in vain: the loop reads it now */
	else {
		if (be->spin_fails < 8)
			be->spin_fails++;
		be->spin_skip = 1u << be->spin_fails;
		if (be->spin_skip > RING_SKIP_MAX)
			be->spin_skip = RING_SKIP_MAX;
		return false;
	}
	if (ring_reap(be, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "protocol violation: %s", why);
		sup_worker_lost(be, msg);
	}
	return true;
}

/*
 * At the end of a pass that answered requests from the rings: when
 * nothing is in flight any more and every answer is written, poll the
 * client sockets for a bounded time (client_spin_ns, yielding) for
 * the next request, so that the event loop finds it without sleeping.
 * Reads nothing itself.
 */
void
ring_spin_clients(void)
{
	struct pollfd	 pfd[RING_SPIN_MAX_CONNS];
	uint64_t	 deadline;
	bool		 got = false;
	int		 npfd;

	if (!spin_replied)
		return;
	spin_replied = false;
	if (!spin_init)
		spin_setup();
	if (client_spin_ns == 0)
		return;
	if (client_skip > 0) {
		client_skip--;
		return;
	}
	if ((npfd = spin_watch(pfd, 0)) <= 0)
		return;
	deadline = mono_ns() + client_spin_ns;
	do {
		sched_yield();
		if (poll(pfd, npfd, 0) > 0) {
			got = true;
			break;
		}
	} while (mono_ns() < deadline);
	if (got)
		client_fails = 0;
	else {
		if (client_fails < 8)
			client_fails++;
		client_skip = 1u << client_fails;
		if (client_skip > RING_SKIP_MAX)
			client_skip = RING_SKIP_MAX;
	}
}

/*
 * The worker rang: drain the eventfd (its count says nothing) and
 * take what the CQ holds.
 */
static void
ring_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend	*be = arg;
	uint64_t	 v;
	char		 why[256], msg[300];

	(void)what;
	backend_pass_begin();
	while (read(fd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
	if (ring_reap(be, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "protocol violation: %s", why);
		sup_worker_lost(be, msg);
	}
	backend_pass_end();
}
