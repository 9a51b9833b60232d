/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's side of the RPC socket and the payload arenas: reading
 * frames, handing them to a pool of threads (each message is served by
 * dispatch.c), and writing replies in batches.
 *
 * Threads take turns as the reader (leader/follower): the reader reads
 * every complete frame it can get in one read(2), queues all but the
 * first for the others, gives up the reader role and serves the first
 * itself.  One thread hands off to another at most once per batch.
 * Replies are appended to a shared buffer; whoever finds no writer
 * active becomes the writer and flushes everything queued, so replies
 * from many threads leave in one write(2).
 *
 * Any I/O error on the socket means the broker is gone or considers
 * us dead: the worker stops serving, drops what it would still send,
 * and exits as when the broker hangs up, through .cleanup and .unload
 * (a filter may write its statistics there; the broker waits for that,
 * and kills a worker that takes too long).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define RPC_READ_CHUNK	(256 * 1024)
#define RPC_FLUSH_BYTES	(128 * 1024)	/* flush a deferred batch early */
/*
 * A thread serves a batch inline (no hand-off to other threads) while
 * the expected cost of the batch, at the measured average service
 * time, stays under this.  Above it, work is spread over the pool.
 */
#define RPC_INLINE_BUDGET_NS	(200 * 1000)

static int		 rpc_fd = -1;
static const uint8_t	*arena_out;	/* read-only mapping */
static size_t		 arena_out_size;
static uint8_t		*arena_in;
static size_t		 arena_in_size;
static bool		 verbose;
static bool		 lost;		/* socket failed: send no more */

/* Reader state: only the thread holding the reader role touches rbuf. */
static struct rpc_buf	 rbuf;
static bool		 eof;

/* A message from the socket, or (env NULL) an SQE from the ring. */
struct work {
	RpcEnvelope	*env;
	struct rpc_sqe	 sqe;		/* a copy: the SQ slot is reused */
};

/* Work queue, guarded by q_lock. */
static pthread_mutex_t	 q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 q_cond = PTHREAD_COND_INITIALIZER;
static struct work	*q_v;
static size_t		 q_head, q_len, q_cap;
static bool		 reader_busy;
static unsigned		 idle;		/* threads waiting on q_cond */

/*
 * The pool starts as the main thread alone and grows, one thread at a
 * time, while work waits and no thread is idle, up to pool_max (the
 * thread model's size).  A cheap plugin never needs more, and a worker
 * with fewer threads starts serving sooner after Ready and dies sooner
 * when killed: every thread has to exit before the kernel closes the
 * socket the broker watches (restart latency, issue 12).  Guarded by
 * q_lock.
 */
static pthread_cond_t	 pool_cond = PTHREAD_COND_INITIALIZER;
static pthread_t	*pool_tids;	/* [pool_max]; [0] is the main thread */
static unsigned		 pool_n, pool_max;
static bool		 pool_growing;	/* a pthread_create is under way */

/*
 * Work the plugin spends computing or copying runs no faster on more
 * threads than the CPUs that can run them, and each thread more only
 * adds wake-ups: handed-off work is served by at most as many threads
 * at once as keep the CPUs busy (run_limit: the CPUs for a plugin that
 * copies, every thread for one that waits, such as a network plugin
 * or a delay), and for a plugin that computes the ring thread serves
 * along instead of only queueing.  serving is guarded by q_lock.
 */
static unsigned		 pool_cpus;	/* CPUs we may run on */
static unsigned		 serving;	/* threads serving queued work */

/* Output, guarded by w_lock. */
static pthread_mutex_t	 w_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_buf	 wbuf;
static bool		 writing;

static pthread_mutex_t	 err_lock = PTHREAD_MUTEX_INITIALIZER;
static char		 last_error[1024];

int
rpc_server_init(int fd, int arena_out_fd, int arena_in_fd)
{
	struct stat	st;
	void		*p;

	rpc_fd = fd;
	if (fstat(arena_out_fd, &st) == -1)
		return -1;
	arena_out_size = st.st_size;
	if (arena_out_size > 0) {
		p = mmap(NULL, arena_out_size, PROT_READ, MAP_SHARED,
		    arena_out_fd, 0);
		if (p == MAP_FAILED)
			return -1;
		arena_out = p;
	}
	if (fstat(arena_in_fd, &st) == -1)
		return -1;
	arena_in_size = st.st_size;
	if (arena_in_size > 0) {
		p = mmap(NULL, arena_in_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, arena_in_fd, 0);
		if (p == MAP_FAILED)
			return -1;
		arena_in = p;
	}
	close(arena_out_fd);
	close(arena_in_fd);
	return 0;
}

const uint8_t *
rpc_arena_out(uint64_t slot, uint32_t count)
{
	if (slot > arena_out_size || count > arena_out_size - slot)
		return NULL;
	return arena_out + slot;
}

uint8_t *
rpc_arena_in(uint64_t slot, uint32_t count)
{
	if (slot > arena_in_size || count > arena_in_size - slot)
		return NULL;
	return arena_in + slot;
}

void
rpc_set_verbose(bool v)
{
	verbose = v;
}

const char *
rpc_last_error(void)
{
	return last_error;
}

static void __attribute__((noreturn))
io_lost(const char *what)
{
	/* The broker is gone or hung up on us: nothing left to serve. */
	if (errno != 0 && errno != EPIPE && errno != ECONNRESET)
		log_err("rpc: %s: %s", what, strerror(errno));
	_exit(EXIT_SUCCESS);
}

/*
 * Write all of b to the socket.  On failure the broker is gone: what is
 * left is dropped, now and from then on (the reader sees the end of the
 * socket and serving stops).
 */
static void
write_all(struct rpc_buf *b)
{
	while (rpc_buf_len(b) > 0) {
		ssize_t	n;

		if (__atomic_load_n(&lost, __ATOMIC_RELAXED))
			n = -1;
		else
			n = write(rpc_fd, b->data + b->start, rpc_buf_len(b));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!__atomic_exchange_n(&lost, true,
			    __ATOMIC_RELAXED) && errno != EPIPE &&
			    errno != ECONNRESET)
				log_err("rpc: write: %s", strerror(errno));
			rpc_buf_consume(b, rpc_buf_len(b));
			return;
		}
		rpc_buf_consume(b, n);
	}
}

/*
 * Write out everything queued in wbuf.  Whoever finds no writer active
 * becomes the writer and keeps writing until wbuf stays empty.
 */
static void
rpc_flush(void)
{
	struct rpc_buf	mine = { 0 };

	pthread_mutex_lock(&w_lock);
	if (writing || rpc_buf_len(&wbuf) == 0) {
		pthread_mutex_unlock(&w_lock);
		return;		/* the active writer will send it */
	}
	writing = true;
	while (rpc_buf_len(&wbuf) > 0) {
		struct rpc_buf	tmp = wbuf;

		wbuf = mine;	/* others append to the spare meanwhile */
		mine = tmp;
		pthread_mutex_unlock(&w_lock);
		write_all(&mine);
		pthread_mutex_lock(&w_lock);
	}
	writing = false;
	if (wbuf.data == NULL) {	/* keep the larger buffer around */
		wbuf = mine;
		mine.data = NULL;
	}
	pthread_mutex_unlock(&w_lock);
	rpc_buf_free(&mine);
}

/* Set while a thread serves a batch inline: replies leave at its end. */
static __thread bool	defer_flush;

int
rpc_send(const RpcEnvelope *env)
{
	size_t	queued;

	pthread_mutex_lock(&w_lock);
	if (rpc_frame_encode(&wbuf, env) == -1) {
		pthread_mutex_unlock(&w_lock);
		log_err("rpc: cannot encode %s: %s",
		    rpc_body_name(env->body_case), strerror(errno));
		return -1;
	}
	queued = rpc_buf_len(&wbuf);
	pthread_mutex_unlock(&w_lock);
	if (!defer_flush || queued >= RPC_FLUSH_BYTES)
		rpc_flush();
	return 0;
}

void
rpc_send_log(int level, const char *msg)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Log		lg = NBDBROKER__RPC__LOG__INIT;

	if (level <= LOG_ERR) {
		pthread_mutex_lock(&err_lock);
		snprintf(last_error, sizeof(last_error), "%s", msg);
		pthread_mutex_unlock(&err_lock);
	}
	if (level >= LOG_DEBUG && !verbose)
		return;
	if (rpc_fd == -1) {
		log_msg(level, "%s", msg);
		return;
	}
	lg.level = level;
	lg.message = (char *)msg;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_LOG;
	env.log = &lg;
	rpc_send(&env);
}

/*
 * Read frames until at least one is complete.  Returns the number of
 * frames stored in v (up to max), 0 at end of file; exits the worker
 * on a protocol error.  Caller holds the reader role.
 */
static size_t
read_frames(RpcEnvelope **v, size_t max)
{
	size_t	n = 0;

	for (;;) {
		RpcEnvelope	*env;
		ssize_t		 r;
		int		 d;

		while (n < max && (d = rpc_frame_decode(&rbuf, &env)) == 1)
			v[n++] = env;
		if (n > 0)
			return n;
		if (d == -1) {
			log_err("rpc: bad frame from broker: %s",
			    strerror(errno));
			_exit(EXIT_FAILURE);
		}
		if (rpc_buf_reserve(&rbuf, RPC_READ_CHUNK) == -1)
			io_lost("reserve");
		r = read(rpc_fd, rbuf.data + rbuf.end, rbuf.cap - rbuf.end);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			/* As good as the end: the broker is gone. */
			if (errno != ECONNRESET)
				log_err("rpc: read: %s", strerror(errno));
			__atomic_store_n(&lost, true, __ATOMIC_RELAXED);
			return 0;
		}
		if (r == 0)
			return 0;
		rbuf.end += r;
	}
}

/* Blocking read of one message, used during start-up only. */
int
rpc_recv_one(RpcEnvelope **envp)
{
	if (read_frames(envp, 1) == 0) {
		errno = ECONNRESET;
		return -1;
	}
	return 0;
}

/* Work queue. */

static int
q_push(const struct work *w)
{
	if (q_len == q_cap) {
		size_t		 ncap = q_cap ? q_cap * 2 : 64, i;
		struct work	*p = calloc(ncap, sizeof(*p));

		if (p == NULL)
			return -1;
		for (i = 0; i < q_len; i++)
			p[i] = q_v[(q_head + i) % q_cap];
		free(q_v);
		q_v = p;
		q_cap = ncap;
		q_head = 0;
	}
	q_v[(q_head + q_len) % q_cap] = *w;
	q_len++;
	return 0;
}

static bool
q_pop(struct work *w)
{
	if (q_len == 0)
		return false;
	*w = q_v[q_head];
	q_head = (q_head + 1) % q_cap;
	q_len--;
	return true;
}

/*
 * Average time one message takes to serve, in ns: rises at once with
 * a slow request, decays slowly (so one fast request does not make a
 * slow plugin look cheap).  Read and written without a lock; it only
 * steers scheduling.
 */
static uint64_t		 avg_serve_ns;

/*
 * Wall and CPU time of handed-off messages, moving averages (weight
 * 1/4), 0 until measured.  They tell a plugin that computes from one
 * that waits; read and written without a lock like avg_serve_ns.
 */
static uint64_t		 avg_wall_ns, avg_cpu_ns;

static uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void	ring_post(uint64_t id, int err);
static void	ring_doorbell(void);

/* This thread's CPU time in ns, or 0 if the clock cannot be read. */
static uint64_t
thread_cpu_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
avg_update(uint64_t *avg, uint64_t d)
{
	uint64_t	a = __atomic_load_n(avg, __ATOMIC_RELAXED);

	a = a == 0 ? d : a - a / 4 + d / 4;
	__atomic_store_n(avg, a, __ATOMIC_RELAXED);
}

/*
 * Serve w; an SQE's answer goes to the CQ (the caller rings).  With
 * cpu set (handed-off work, which is slow enough that two more clock
 * reads do not show), also measure how much of the time it computed.
 */
static void
serve_timed(struct work *w, bool cpu)
{
	uint64_t	t0 = mono_ns(), c0, c1, d, a;

	c0 = cpu ? thread_cpu_ns() : 0;
	if (w->env != NULL)
		dispatch(w->env);
	else
		ring_post(w->sqe.id, dispatch_sqe(&w->sqe));
	d = mono_ns() - t0;
	if (c0 != 0 && (c1 = thread_cpu_ns()) >= c0) {
		avg_update(&avg_cpu_ns, c1 - c0);
		avg_update(&avg_wall_ns, d);
	}
	a = __atomic_load_n(&avg_serve_ns, __ATOMIC_RELAXED);
	a = d > a ? (a + d) / 2 : a - a / 16 + d / 16;
	__atomic_store_n(&avg_serve_ns, a, __ATOMIC_RELAXED);
}

/*
 * Does the plugin compute (or copy) rather than wait?  Yes when its
 * handed-off messages kept the CPU at least half of their wall time;
 * unmeasured, it is taken to wait (every thread it may need).
 */
static bool
is_computing(void)
{
	uint64_t	wall = __atomic_load_n(&avg_wall_ns, __ATOMIC_RELAXED);
	uint64_t	cpu = __atomic_load_n(&avg_cpu_ns, __ATOMIC_RELAXED);

	return wall != 0 && cpu * 2 >= wall;
}

/*
 * How many threads serving handed-off work at once keep the CPUs busy:
 * a message on the CPU for a fraction f of its time leaves room for
 * pool_cpus / f of them (pool_cpus for a plugin that only copies, all
 * for one that only waits).  Unmeasured: no limit.
 */
static unsigned
run_limit(void)
{
	uint64_t	wall = __atomic_load_n(&avg_wall_ns, __ATOMIC_RELAXED);
	uint64_t	cpu = __atomic_load_n(&avg_cpu_ns, __ATOMIC_RELAXED);
	uint64_t	l;

	if (wall == 0 || cpu == 0)
		return UINT_MAX;
	l = pool_cpus * wall / cpu;
	if (l < pool_cpus)
		l = pool_cpus;	/* CPU time above wall time: clock skew */
	return l > UINT_MAX ? UINT_MAX : l;
}

/* Would n more messages take longer than the inline budget? */
static bool
is_slow(size_t n)
{
	return __atomic_load_n(&avg_serve_ns, __ATOMIC_RELAXED) * n >
	    RPC_INLINE_BUDGET_NS;
}

static void	*pool_thread(void *);

/*
 * Serve w, taken from the queue, outside q_lock (held on entry and on
 * return); an SQE's answer is rung at once, one doorbell per answer.
 */
static void
serve_queued(struct work *w)
{
	pthread_mutex_unlock(&q_lock);
	serve_timed(w, true);
	if (w->env == NULL)
		ring_doorbell();
	pthread_mutex_lock(&q_lock);
}

/* How many CPUs this process may run on (at least 1). */
static unsigned
rpc_cpus(void)
{
	cpu_set_t	set;
	long		n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (n = CPU_COUNT(&set)) > 0)
		return n;
	if ((n = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		return n;
	return 1;
}

/*
 * Start one more pool thread, if the pool may grow.  Called with
 * q_lock held; drops it while the thread is created.  Returns whether
 * a thread was added.
 */
static bool
pool_grow(void)
{
	pthread_t	tid;
	int		e;

	if (pool_growing || pool_n >= pool_max || eof)
		return false;
	pool_growing = true;
	pthread_mutex_unlock(&q_lock);
	e = pthread_create(&tid, NULL, pool_thread, NULL);
	pthread_mutex_lock(&q_lock);
	pool_growing = false;
	pthread_cond_broadcast(&pool_cond);
	if (e != 0) {
		log_warn("rpc: could only start %u of %u threads: %s", pool_n,
		    pool_max, strerror(e));
		pool_max = pool_n;	/* serve with what there is */
		return false;
	}
	pool_tids[pool_n++] = tid;
	return true;
}

/* Queued work needs a thread: wake an idle one, or start one. */
static void
pool_wake(void)
{
	if (idle > 0)
		pthread_cond_signal(&q_cond);
	else
		pool_grow();
}

/*
 * Pool threads.  A thread with nothing to do takes the reader role if
 * it is free, else sleeps.  A reader that gets a batch either serves
 * it all itself, replies deferred to one write at the end, when the
 * plugin is cheap (is_slow false); or, for slow plugins, queues it,
 * hands the reader role to an idle thread (or a new one, pool_wake)
 * and serves queued messages one at a time, waking or starting one
 * more thread per message taken while work remains and fewer threads
 * serve than run_limit.  Cheap plugins thus see no thread hand-offs
 * at all, and never more than one pool thread; slow ones that wait
 * get every thread, slow ones that compute one per CPU.
 */
static void *
pool_thread(void *arg)
{
	RpcEnvelope	*batch[256];
	struct work	 w;
	size_t		 n, i;

	(void)arg;
	pthread_mutex_lock(&q_lock);
	for (;;) {
		if (q_pop(&w)) {
			serving++;
			if (((q_len > 0 && serving < run_limit()) ||
			    !reader_busy) && is_slow(q_len + 1))
				pool_wake();
			serve_queued(&w);
			serving--;
			continue;
		}
		if (eof)
			break;
		if (reader_busy) {
			idle++;
			pthread_cond_wait(&q_cond, &q_lock);
			idle--;
			continue;
		}
		/* Take the reader role. */
		reader_busy = true;
		pthread_mutex_unlock(&q_lock);
		n = read_frames(batch, sizeof(batch) / sizeof(batch[0]));
		if (n > 0 && !is_slow(n)) {
			/* Cheap: serve it all here, keep the reader role. */
			defer_flush = true;
			for (i = 0; i < n; i++) {
				w.env = batch[i];
				serve_timed(&w, false);
			}
			defer_flush = false;
			rpc_flush();
			pthread_mutex_lock(&q_lock);
			reader_busy = false;
			continue;
		}
		pthread_mutex_lock(&q_lock);
		reader_busy = false;
		if (n == 0) {
			eof = true;
			pthread_cond_broadcast(&q_cond);
			break;
		}
		for (i = 0; i < n; i++) {
			w.env = batch[i];
			if (q_push(&w) == -1) {
				log_err("rpc: out of memory queueing work");
				_exit(EXIT_FAILURE);
			}
		}
		/* Someone must read while this thread serves. */
		pool_wake();
	}
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

/*
 * The rings (proto/rpc-ring.h): one thread takes the SQEs.  While the
 * plugin is cheap it serves a batch itself and rings the broker once
 * at the end; when the batch would take long it hands the SQEs to the
 * pool (ring_hand_off; each thread rings after its answer).  Control
 * messages stay on the socket, read by the pool.
 */
#define RING_MASK	(RPC_RING_ENTRIES - 1)
#define RING_BATCH	256

static const struct rpc_ring_out	*ring_out;	/* read-only */
static struct rpc_ring_in		*ring_in;
static pthread_mutex_t	 cq_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t		 cq_tail;	/* under cq_lock */
static bool		 ring_stop;	/* the socket is gone */

/* Did the broker give us a doorbell, so that we can offer rings? */
bool
rpc_ring_supported(void)
{
	return fcntl(RPC_WORKER_EVENT_FD, F_GETFD) != -1;
}

bool
rpc_ring_on(void)
{
	return ring_out != NULL;
}

/* Serve on frames only, although the rings were attached. */
void
rpc_ring_detach(void)
{
	ring_out = NULL;
	ring_in = NULL;
}

/*
 * Take the ring set Config names (entries per ring, and its byte
 * offsets in the two arenas), once its headers check out.  Returns 0,
 * or -1 with err set.
 */
int
rpc_ring_attach(uint32_t entries, uint64_t out_off, uint64_t in_off,
    char *err, size_t errlen)
{
	const struct rpc_ring_out	*o;
	const struct rpc_ring_in	*i;

	if (!rpc_ring_supported()) {
		snprintf(err, errlen, "rings offered without a doorbell");
		return -1;
	}
	if (entries != RPC_RING_ENTRIES || out_off % RPC_RING_PAGE != 0 ||
	    in_off % RPC_RING_PAGE != 0 || out_off > arena_out_size ||
	    sizeof(*o) > arena_out_size - out_off ||
	    in_off > arena_in_size || sizeof(*i) > arena_in_size - in_off) {
		snprintf(err, errlen, "ring geometry %" PRIu32 " entries at %"
		    PRIu64 "/%" PRIu64 " does not fit", entries, out_off,
		    in_off);
		return -1;
	}
	o = (const struct rpc_ring_out *)(arena_out + out_off);
	i = (const struct rpc_ring_in *)(arena_in + in_off);
	if (o->magic != RPC_RING_MAGIC || o->version != RPC_RING_VERSION ||
	    o->entries != entries || o->sqe_size != sizeof(struct rpc_sqe) ||
	    i->magic != RPC_RING_MAGIC || i->version != RPC_RING_VERSION ||
	    i->entries != entries || i->cqe_size != sizeof(struct rpc_cqe)) {
		snprintf(err, errlen, "ring headers: bad magic or version");
		return -1;
	}
	ring_out = o;
	ring_in = (struct rpc_ring_in *)(arena_in + in_off);
	return 0;
}

/* Publish the answer to SQE id. */
static void
ring_post(uint64_t id, int err)
{
	struct rpc_cqe	*c;

	pthread_mutex_lock(&cq_lock);
	/* At most as many in flight as entries: only a broken broker. */
	if (cq_tail - __atomic_load_n(&ring_out->cq_head, __ATOMIC_ACQUIRE) >=
	    RPC_RING_ENTRIES) {
		log_err("rpc: completion ring full");
		_exit(EXIT_FAILURE);
	}
	c = &ring_in->cq[cq_tail & RING_MASK];
	c->id = id;
	c->err = err;
	c->flags = 0;
	cq_tail++;
	__atomic_store_n(&ring_in->cq_tail, cq_tail, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cq_lock);
}

/* Wake the broker for what was posted, if it waits for that. */
static void
ring_doorbell(void)
{
	uint64_t	one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ring_out->broker_wait, __ATOMIC_RELAXED) &&
	    write(RPC_WORKER_EVENT_FD, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_err("rpc: doorbell: %s", strerror(errno));
}

/*
 * Sleep until the broker publishes beyond head, or we must stop (a
 * stop that comes just before the wait is seen within a second).
 */
static void
ring_wait(uint32_t head)
{
	uint32_t	*tailp = (uint32_t *)&ring_out->sq_tail;
	struct timespec	 ts = { 1, 0 };

	__atomic_store_n(&ring_in->worker_sleeps, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(tailp, __ATOMIC_ACQUIRE) == head &&
	    !__atomic_load_n(&ring_stop, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, tailp, FUTEX_WAIT, head, &ts, NULL, 0);
	__atomic_store_n(&ring_in->worker_sleeps, 0, __ATOMIC_RELAXED);
}

/*
 * How the ring thread serves a batch: itself, with one doorbell at the
 * end (cheap plugins, or no pool thread to take it); queued for the
 * pool while it goes back to the ring (a plugin that waits: the pool
 * grows to wait in parallel); or queued and shared, the ring thread
 * serving from the queue along with as many pool threads as, with it,
 * the CPUs can run (a plugin that computes: more threads would only
 * take turns on the CPUs, each turn a context switch).
 */
enum ring_mode {
	RING_INLINE,
	RING_QUEUE,
	RING_SHARE
};

static enum ring_mode
ring_hand_off(uint32_t n)
{
	enum ring_mode	m = RING_INLINE;

	if (!is_slow(n))
		return m;
	if (is_computing())
		return RING_SHARE;
	pthread_mutex_lock(&q_lock);
	if (idle > 0 || pool_grow())
		m = RING_QUEUE;
	pthread_mutex_unlock(&q_lock);
	return m;
}

/*
 * Wake or start pool threads to serve queued work along with the ring
 * thread: at most n - 1 (the ring thread serves one), and no more than
 * the CPUs left besides the threads serving already.  Called with
 * q_lock held.
 */
static void
ring_share(uint32_t n)
{
	unsigned	want = 0, k, l = run_limit();

	if (serving + 1 < l)
		want = l - 1 - serving;
	if (want > n - 1)
		want = n - 1;
	for (k = 0; k < want; k++) {
		if (k < idle)
			pthread_cond_signal(&q_cond);
		else if (!pool_grow())
			break;
	}
}

/* Serve queued work on the ring thread until the queue is empty. */
static void
ring_drain(void)
{
	struct work	w;

	pthread_mutex_lock(&q_lock);
	serving++;
	while (q_pop(&w))
		serve_queued(&w);
	serving--;
	pthread_mutex_unlock(&q_lock);
}

static void *
ring_thread(void *arg)
{
	struct work	w = { 0 };
	uint32_t	head = 0, tail, n, k;
	enum ring_mode	m;

	(void)arg;
	while (!__atomic_load_n(&ring_stop, __ATOMIC_ACQUIRE)) {
		tail = __atomic_load_n(&ring_out->sq_tail, __ATOMIC_ACQUIRE);
		if (tail == head) {
			ring_wait(head);
			continue;
		}
		if ((n = tail - head) > RPC_RING_ENTRIES) {
			log_err("rpc: ring sq_tail %" PRIu32 " with head %"
			    PRIu32, tail, head);
			_exit(EXIT_FAILURE);
		}
		if (n > RING_BATCH)
			n = RING_BATCH;
		m = ring_hand_off(n);
		if (m != RING_INLINE)
			pthread_mutex_lock(&q_lock);
		for (k = 0; k < n; k++, head++) {
			w.sqe = ring_out->sq[head & RING_MASK];
			if (m == RING_INLINE)
				serve_timed(&w, false);
			else if (q_push(&w) == -1) {
				log_err("rpc: out of memory queueing work");
				_exit(EXIT_FAILURE);
			}
		}
		if (m == RING_QUEUE)
			pthread_cond_signal(&q_cond);
		else if (m == RING_SHARE)
			ring_share(n);
		if (m != RING_INLINE)
			pthread_mutex_unlock(&q_lock);
		__atomic_store_n(&ring_in->sq_head, head, __ATOMIC_RELEASE);
		if (m == RING_INLINE)
			ring_doorbell();
		else if (m == RING_SHARE)
			ring_drain();
	}
	return NULL;
}

/*
 * Serve until the broker closes the socket, then close every handle
 * still open (dispatch_shutdown).  Called once, after Ready has been
 * sent.  threads: the most pool threads, this one included; the pool
 * starts with this thread alone (pool_grow adds the others as work
 * needs them).
 */
void
rpc_serve(unsigned threads)
{
	pthread_t	rtid;
	unsigned	i, n;
	bool		ringing = false;

	if (threads == 0)
		threads = 1;
	if ((pool_tids = calloc(threads, sizeof(*pool_tids))) == NULL)
		fatal("calloc");
	pthread_mutex_lock(&q_lock);
	pool_tids[0] = pthread_self();
	pool_n = 1;
	pool_max = threads;
	pool_cpus = rpc_cpus();
	pthread_mutex_unlock(&q_lock);
	if (ring_out != NULL) {
		if (pthread_create(&rtid, NULL, ring_thread, NULL) != 0)
			fatal("rpc: cannot start the ring thread");
		ringing = true;
	}
	pool_thread(NULL);
	/* No thread starts after eof; wait for one being started. */
	pthread_mutex_lock(&q_lock);
	while (pool_growing)
		pthread_cond_wait(&pool_cond, &q_lock);
	n = pool_n;
	pthread_mutex_unlock(&q_lock);
	for (i = 1; i < n; i++)
		pthread_join(pool_tids[i], NULL);
	free(pool_tids);
	pool_tids = NULL;
	if (ringing) {
		/* A wake on our read-only mapping keys on the same page. */
		__atomic_store_n(&ring_stop, true, __ATOMIC_RELEASE);
		syscall(SYS_futex, &ring_out->sq_tail, FUTEX_WAKE, 1, NULL,
		    NULL, 0);
		pthread_join(rtid, NULL);
	}

	dispatch_shutdown();
	free(q_v);
	rpc_buf_free(&rbuf);
	rpc_buf_free(&wbuf);
}
