/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's side of the RPC socket: reading frames, dispatching
 * them to a pool of threads, and writing replies in batches.
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
 * us dead: the worker exits.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nbd-protocol.h"
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

/* Reader state: only the thread holding the reader role touches rbuf. */
static struct rpc_buf	 rbuf;
static bool		 eof;

/* Work queue, guarded by q_lock. */
static pthread_mutex_t	 q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 q_cond = PTHREAD_COND_INITIALIZER;
static RpcEnvelope	**q_v;
static size_t		 q_head, q_len, q_cap;
static bool		 reader_busy;
static unsigned		 idle;		/* threads waiting on q_cond */

/* Output, guarded by w_lock. */
static pthread_mutex_t	 w_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_buf	 wbuf;
static bool		 writing;

/* Handles, guarded by h_lock.  id = generation << 32 | index + 1. */
static pthread_mutex_t	 h_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle	**h_v;
static size_t		 h_n;
static uint32_t		 h_gen;

static pthread_mutex_t	 err_lock = PTHREAD_MUTEX_INITIALIZER;
static char		 last_error[1024];

int
rpc_server_init(int fd, int arena_out_fd, int arena_in_fd)
{
	/*
	 * Handle ids must not repeat those of an earlier worker for the
	 * same broker: start the generation at a random point (the
	 * broker also never sends a dead worker's handle).
	 */
	if (getrandom(&h_gen, sizeof(h_gen), 0) != sizeof(h_gen))
		h_gen = (uint32_t)getpid() << 8;

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

bool
rpc_verbose(void)
{
	return verbose;
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

/* Write all of b to the socket; exits the worker on failure. */
static void
write_all(struct rpc_buf *b)
{
	while (rpc_buf_len(b) > 0) {
		ssize_t	n = write(rpc_fd, b->data + b->start, rpc_buf_len(b));

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			io_lost("write");
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
		if (r == -1)
			io_lost("read");
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

/* Handles. */

static struct handle *
handle_new(void)
{
	struct handle	*hd, **p;
	size_t		 i;

	if ((hd = calloc(1, sizeof(*hd))) == NULL)
		return NULL;
	pthread_mutex_init(&hd->lock, NULL);
	hd->conn.peer_pid = hd->conn.peer_uid = hd->conn.peer_gid = -1;
	pthread_mutex_lock(&h_lock);
	for (i = 0; i < h_n && h_v[i] != NULL; i++)
		;
	if (i == h_n) {
		if ((p = reallocarray(h_v, h_n + 16, sizeof(*p))) == NULL) {
			pthread_mutex_unlock(&h_lock);
			free(hd);
			return NULL;
		}
		memset(p + h_n, 0, 16 * sizeof(*p));
		h_v = p;
		h_n += 16;
	}
	hd->id = (uint64_t)++h_gen << 32 | (i + 1);
	h_v[i] = hd;
	pthread_mutex_unlock(&h_lock);
	return hd;
}

static struct handle *
handle_get(uint64_t id)
{
	struct handle	*hd = NULL;
	size_t		 i = (id & 0xffffffff) - 1;

	pthread_mutex_lock(&h_lock);
	if ((id & 0xffffffff) != 0 && i < h_n && h_v[i] != NULL &&
	    h_v[i]->id == id)
		hd = h_v[i];
	pthread_mutex_unlock(&h_lock);
	return hd;
}

static void
handle_free(struct handle *hd)
{
	size_t	i = (hd->id & 0xffffffff) - 1;

	pthread_mutex_lock(&h_lock);
	if (i < h_n && h_v[i] == hd)
		h_v[i] = NULL;
	pthread_mutex_unlock(&h_lock);
	sdk_intern_free(&hd->conn.intern);
	free((char *)hd->conn.export_name);
	pthread_mutex_destroy(&hd->lock);
	free(hd);
}

/* Message handlers, run by pool threads. */

static void
send_open_reply(uint64_t id, Nbdbroker__Rpc__OpenReply *r)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;

	env.id = id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY;
	env.open_reply = r;
	rpc_send(&env);
}

/*
 * Serve an Open the thread model admitted (tm_open_admit).  Returns
 * true if it opened a handle; false if it failed (and was answered).
 */
static bool
do_open(RpcEnvelope *in)
{
	const Nbdbroker__Rpc__Open	*o = in->open;
	Nbdbroker__Rpc__OpenReply	 r = NBDBROKER__RPC__OPEN_REPLY__INIT;
	struct handle			*hd;

	if ((hd = handle_new()) == NULL ||
	    (hd->conn.export_name = strdup(o->export_name)) == NULL) {
		if (hd != NULL)
			handle_free(hd);
		r.err = ENOMEM;
		goto fail;
	}
	hd->conn.tls = o->tls;
	hd->conn.readonly = o->readonly;
	hd->conn.peer_pid = o->peer_pid;
	hd->conn.peer_uid = o->peer_uid;
	hd->conn.peer_gid = o->peer_gid;
	if (o->peer_addr.len > 0 &&
	    o->peer_addr.len <= sizeof(hd->conn.peer)) {
		memcpy(&hd->conn.peer, o->peer_addr.data, o->peer_addr.len);
		hd->conn.peer_len = o->peer_addr.len;
	}
	sdk_set_conn(&hd->conn);
	tm_lock(NULL);
	host_open(hd, o, &r);
	tm_unlock(NULL);
	sdk_set_conn(NULL);
	if (r.err != 0) {
		handle_free(hd);
		goto fail;
	}
	send_open_reply(in->id, &r);
	return true;

 fail:
	r.handle = 0;
	r.canonical_name = (char *)"";
	send_open_reply(in->id, &r);
	return false;
}

/*
 * Serve an admitted Open; each one that fails lets the next parked
 * Open through (tm_open_done), which is served in turn.  Frees every
 * envelope but in.
 */
static void
open_admitted(RpcEnvelope *in)
{
	RpcEnvelope	*next;
	bool		 opened = do_open(in);

	while (!opened && (next = tm_open_done()) != NULL) {
		opened = do_open(next);
		rpc_envelope_free(next);
	}
}

static void
do_close(RpcEnvelope *in)
{
	Nbdbroker__Rpc__Envelope	env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__CloseReply	cr = NBDBROKER__RPC__CLOSE_REPLY__INIT;
	struct handle			*hd = handle_get(in->close->handle);
	RpcEnvelope			*next = NULL;

	if (hd != NULL) {
		sdk_set_conn(&hd->conn);
		tm_lock(NULL);
		host_close(hd);
		tm_unlock(NULL);
		sdk_set_conn(NULL);
		handle_free(hd);
		next = tm_open_done();
	} else
		log_warn("rpc: Close for unknown handle %" PRIx64,
		    in->close->handle);
	cr.handle = in->close->handle;
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY;
	env.close_reply = &cr;
	rpc_send(&env);
	if (next != NULL) {
		open_admitted(next);
		rpc_envelope_free(next);
	}
}

static void
do_request(RpcEnvelope *in)
{
	const Nbdbroker__Rpc__Request	*rq = in->request;
	Nbdbroker__Rpc__Envelope	 env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__Reply		 rp = NBDBROKER__RPC__REPLY__INIT;
	struct nbdbroker_extents	 ext = { 0 };
	struct handle			*hd = handle_get(rq->handle);
	uint64_t			*lens = NULL;
	uint32_t			*types = NULL;
	size_t				 i;

	if (hd == NULL) {
		log_err("rpc: request for unknown handle %" PRIx64,
		    rq->handle);
		rp.err = EBADF;
		goto reply;
	}
	sdk_set_conn(&hd->conn);
	tm_lock(hd);
	host_request(hd, rq, &rp, &ext);
	tm_unlock(hd);
	sdk_set_conn(NULL);
	if (rp.err == 0 && rq->type == NBD_CMD_BLOCK_STATUS) {
		lens = calloc(ext.n, sizeof(*lens));
		types = calloc(ext.n, sizeof(*types));
		if (lens == NULL || types == NULL) {
			rp.err = ENOMEM;
			goto reply;
		}
		for (i = 0; i < ext.n; i++) {
			lens[i] = ext.v[i].length;
			types[i] = ext.v[i].type;
		}
		rp.n_extent_length = rp.n_extent_type = ext.n;
		rp.extent_length = lens;
		rp.extent_type = types;
	}
 reply:
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_REPLY;
	env.reply = &rp;
	rpc_send(&env);
	free(lens);
	free(types);
	sdk_extents_free(&ext);
}

static void
do_list_exports(RpcEnvelope *in)
{
	Nbdbroker__Rpc__Envelope	  env = NBDBROKER__RPC__ENVELOPE__INIT;
	Nbdbroker__Rpc__ExportList	  el = NBDBROKER__RPC__EXPORT_LIST__INIT;
	Nbdbroker__Rpc__ExportEntry	 *ents = NULL, **ptrs = NULL;
	struct nbdbroker_exports	  x;
	size_t				  i;

	tm_lock(NULL);
	if (host_list_exports(in->list_exports, &x) == -1) {
		el.err = sdk_get_error() ? sdk_get_error() : EIO;
	} else if (x.n > 0) {
		ents = calloc(x.n, sizeof(*ents));
		ptrs = calloc(x.n, sizeof(*ptrs));
		if (ents == NULL || ptrs == NULL) {
			el.err = ENOMEM;
		} else {
			for (i = 0; i < x.n; i++) {
				nbdbroker__rpc__export_entry__init(&ents[i]);
				ents[i].name = x.v[i].name;
				if (x.v[i].description != NULL) {
					ents[i].description =
					    x.v[i].description;
					ents[i].has_description = true;
				}
				ptrs[i] = &ents[i];
			}
			el.n_exports = x.n;
			el.exports = ptrs;
		}
	}
	tm_unlock(NULL);
	env.id = in->id;
	env.body_case = NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST;
	env.export_list = &el;
	rpc_send(&env);
	free(ents);
	free(ptrs);
	sdk_exports_free(&x);
}

static void
serve(RpcEnvelope *env)
{
	switch (env->body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:
		do_request(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:
		if (!tm_open_admit(env))
			return;		/* parked until a Close */
		open_admitted(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:
		do_close(env);
		break;
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS:
		do_list_exports(env);
		break;
	default:
		log_err("rpc: unexpected %s from broker",
		    rpc_body_name(env->body_case));
		_exit(EXIT_FAILURE);
	}
	rpc_envelope_free(env);
}

/* Work queue. */

static int
q_push(RpcEnvelope *env)
{
	if (q_len == q_cap) {
		size_t		 ncap = q_cap ? q_cap * 2 : 64, i;
		RpcEnvelope	**p = calloc(ncap, sizeof(*p));

		if (p == NULL)
			return -1;
		for (i = 0; i < q_len; i++)
			p[i] = q_v[(q_head + i) % q_cap];
		free(q_v);
		q_v = p;
		q_cap = ncap;
		q_head = 0;
	}
	q_v[(q_head + q_len) % q_cap] = env;
	q_len++;
	return 0;
}

static RpcEnvelope *
q_pop(void)
{
	RpcEnvelope	*env;

	if (q_len == 0)
		return NULL;
	env = q_v[q_head];
	q_head = (q_head + 1) % q_cap;
	q_len--;
	return env;
}

/*
 * Average time one message takes to serve, in ns: rises at once with
 * a slow request, decays slowly (so one fast request does not make a
 * slow plugin look cheap).  Read and written without a lock; it only
 * steers scheduling.
 */
static uint64_t		 avg_serve_ns;

static uint64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
serve_timed(RpcEnvelope *env)
{
	uint64_t	t0 = mono_ns(), d, a;

	serve(env);
	d = mono_ns() - t0;
	a = __atomic_load_n(&avg_serve_ns, __ATOMIC_RELAXED);
	a = d > a ? (a + d) / 2 : a - a / 16 + d / 16;
	__atomic_store_n(&avg_serve_ns, a, __ATOMIC_RELAXED);
}

/* Would n more messages take longer than the inline budget? */
static bool
is_slow(size_t n)
{
	return __atomic_load_n(&avg_serve_ns, __ATOMIC_RELAXED) * n >
	    RPC_INLINE_BUDGET_NS;
}

/*
 * Pool threads.  A thread with nothing to do takes the reader role if
 * it is free, else sleeps.  A reader that gets a batch either serves
 * it all itself, replies deferred to one write at the end, when the
 * plugin is cheap (is_slow false); or, for slow plugins, queues it,
 * hands the reader role to an idle thread and serves queued messages
 * one at a time, waking one more thread per message taken while work
 * remains.  Cheap plugins thus see no thread hand-offs at all; slow
 * ones get every thread.
 */
static void *
pool_thread(void *arg)
{
	RpcEnvelope	*batch[256];
	size_t		 n, i;

	(void)arg;
	pthread_mutex_lock(&q_lock);
	for (;;) {
		RpcEnvelope	*env;

		if ((env = q_pop()) != NULL) {
			if (idle > 0 && (q_len > 0 || !reader_busy) &&
			    is_slow(q_len + 1))
				pthread_cond_signal(&q_cond);
			pthread_mutex_unlock(&q_lock);
			serve_timed(env);
			pthread_mutex_lock(&q_lock);
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
			for (i = 0; i < n; i++)
				serve_timed(batch[i]);
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
			if (q_push(batch[i]) == -1) {
				log_err("rpc: out of memory queueing work");
				_exit(EXIT_FAILURE);
			}
		}
		/* Someone must read while this thread serves. */
		if (idle > 0)
			pthread_cond_signal(&q_cond);
	}
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

/*
 * Serve until the broker closes the socket, then close every handle
 * still open.  Called once, after Ready has been sent.
 */
void
rpc_serve(unsigned threads)
{
	pthread_t	*tids;
	RpcEnvelope	*env;
	unsigned	 i, started = 0;
	size_t		 j;

	if (threads == 0)
		threads = 1;
	if ((tids = calloc(threads, sizeof(*tids))) == NULL)
		fatal("calloc");
	for (i = 1; i < threads; i++) {
		if (pthread_create(&tids[i], NULL, pool_thread, NULL) != 0) {
			log_warn("rpc: could only start %u threads", i);
			break;
		}
		started++;
	}
	pool_thread(NULL);
	for (i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	free(tids);

	/* The broker is gone: close what is still open. */
	for (j = 0; j < h_n; j++) {
		if (h_v[j] != NULL) {
			sdk_set_conn(&h_v[j]->conn);
			host_close(h_v[j]);
			sdk_set_conn(NULL);
			handle_free(h_v[j]);
		}
	}
	while ((env = tm_parked_take()) != NULL)
		rpc_envelope_free(env);
	free(h_v);
	free(q_v);
	rpc_buf_free(&rbuf);
	rpc_buf_free(&wbuf);
}
