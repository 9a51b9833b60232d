/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-process broker for the fuzz targets (see fuzz-harness.h):
 * stand-ins for process.c (those for the sandbox, cgroups, spares,
 * learning and reload are in fuzz-stubs.c), a virtual clock, pooled
 * arenas, fake clients on socketpairs, and the loop that runs
 * everything until nothing moves.  The fake workers behind the
 * link-time wrappers are in fuzz-workers.c.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz-internal.h"
#include "log.h"

#define FZ_MAX_ROUNDS		200000	/* more is a livelock */
#define FZ_MAX_PAYLOAD		(1024 * 1024)	/* a client sends */
#define FZ_CLOCK_START		1000000
#define FZ_POOL_ARENAS		32	/* arenas kept for reuse */

struct fz_state	fz;

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

void
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
	if (fz_set_nonblock(sv[1]) == -1)
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
			moved |= fz_pump_worker(fz.workers[i]);
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
