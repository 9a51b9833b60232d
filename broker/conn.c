/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NBD client connections: creation, non-blocking input and output,
 * back-pressure and teardown.  The protocol phases live in
 * nbd-handshake.c and nbd-transmission.c; this file moves bytes.
 *
 * Input is read into a fixed buffer, except WRITE payloads, which are
 * read straight into their arena slot (readv with the slot first and
 * the buffer second, so the next request header arrives in the same
 * call).  Output is a queue of segments written with writev; READ data
 * is sent straight from the arena.  The last segment of a reply
 * carries its request: once that segment is written (or dropped with
 * the connection) the request is finished (tx_request_done).
 *
 * A closed connection stays allocated, marked CONN_DEAD, until the
 * worker has answered every request it had in flight; then its handle
 * is closed and it is freed from the event loop.
 *
 * Runs in the event loop only; never blocks.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

static ssize_t
plain_readv(struct conn *c, const struct iovec *iov, int n)
{
	return readv(c->fd, iov, n);
}

static ssize_t
plain_writev(struct conn *c, const struct iovec *iov, int n)
{
	return writev(c->wfd, iov, n);
}

const struct transport	transport_plain = {
	.name = "plain",
	.readv = plain_readv,
	.writev = plain_writev,
};

/*
 * A send buffer as large as the output the broker queues for a client
 * (CONN_SNDBUF; the kernel caps it at net.core.wmem_max): with the
 * default (208 KiB) a 256 KiB READ reply never fit, every reply took
 * two writev with an event-loop round in between, and QD16 reads of
 * 256 KiB ran at 0.6x what they do with it (A/B in one run).
 * NBDBROKER_SNDBUF=bytes overrides it for A/B runs (0: the default).
 * Unix sockets only: TCP grows its send buffer by itself (tcp_wmem, up
 * to 4 MiB by default), and a size set by hand would stop that.
 */
static void
conn_set_sndbuf(int fd)
{
	static int	 sndbuf = -1;
	const char	*e;

	if (sndbuf == -1)
		sndbuf = (e = getenv("NBDBROKER_SNDBUF")) != NULL ? atoi(e) :
		    CONN_SNDBUF;
	if (sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
		    sizeof(sndbuf));
}

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_flush(struct conn *c);
static void	conn_maybe_free(struct conn *c);

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	backend_pass_begin();
	conn_close(c, "handshake not finished in time");
	backend_pass_end();
}

/*
 * Log about one connection.  Warnings and info are rate-limited across
 * all connections (CONN_LOG_BURST a second), so that a flood of bad
 * clients cannot flood the log; what was dropped is counted.
 */
void
conn_log(struct conn *c, int level, const char *fmt, ...)
{
	static uint64_t	 period;
	static unsigned	 used, dropped;
	char		 msg[2048], *p;
	va_list		 ap;

	if (level >= LOG_DEBUG && !log_verbose())
		return;
	if (level > LOG_ERR && level < LOG_DEBUG) {
		uint64_t	now = now_ms() / 1000;

		if (now != period) {
			if (dropped > 0)
				log_warn("%u connection messages dropped "
				    "(more than %d a second)", dropped,
				    CONN_LOG_BURST);
			period = now;
			used = dropped = 0;
		}
		if (used++ >= CONN_LOG_BURST) {
			dropped++;
			return;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * What a client sends is escaped where it is logged
	 * (conn_escape); a control byte that got here all the same
	 * must not start a line of its own or move the cursor.
	 */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	log_msg(level, "conn %" PRIu64 ": %s", c->id, msg);
}

/*
 * A string a client sent (an export name, a meta context export), made
 * fit for a log line: escaped and truncated (log_escape) into buf,
 * which should be CONN_LOG_NAME bytes.  NULL is logged as empty.
 * Returns buf.
 */
const char *
conn_escape(char *buf, size_t len, const char *s)
{
	if (s == NULL)
		s = "";
	return log_escape(buf, len, s, strlen(s));
}

static int
set_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/*
 * Take ownership of an accepted socket (or, for -s, of stdin/stdout:
 * fd reads, wfd writes) and start the handshake.  Returns the new
 * connection, or NULL (the descriptors are closed).
 */
struct conn *
conn_new(int fd, int wfd, const struct sockaddr *sa, socklen_t salen)
{
	struct timeval	 deadline = { broker.cfg.handshake_ms / 1000,
	    (broker.cfg.handshake_ms % 1000) * 1000 };
	struct conn	*c;
	struct ucred	 cred;
	socklen_t	 credlen = sizeof(cred);
	int		 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ibuf = malloc(CONN_IBUF_SIZE)) == NULL) {
		log_err("accept: %s", strerror(errno));
		goto err;
	}
	c->id = ++broker.next_conn_id;
	c->fd = fd;
	c->wfd = wfd;
	c->tr = &transport_plain;
	c->peer_pid = c->peer_uid = c->peer_gid = -1;
	if (sa != NULL && salen <= sizeof(c->peer)) {
		memcpy(&c->peer, sa, salen);
		c->peer_len = salen;
	}
	if (sa != NULL && sa->sa_family == AF_UNIX) {
		c->flags |= CONN_UNIX;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &credlen) == 0) {
			c->peer_pid = cred.pid;
			c->peer_uid = cred.uid;
			c->peer_gid = cred.gid;
		}
	} else if (sa != NULL)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->flags & CONN_UNIX)
		conn_set_sndbuf(wfd);	/* TCP sizes its own */
	if (set_nonblock(fd) == -1 || (wfd != fd && set_nonblock(wfd) == -1)) {
		log_err("conn %" PRIu64 ": fcntl: %s", c->id, strerror(errno));
		goto err;
	}
	c->ev_read = event_new(broker.base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	c->ev_write = event_new(broker.base, wfd, EV_WRITE, conn_write_cb, c);
	c->ev_deadline = evtimer_new(broker.base, deadline_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL ||
	    c->ev_deadline == NULL || event_add(c->ev_read, NULL) == -1) {
		log_err("conn %" PRIu64 ": cannot register events", c->id);
		goto err;
	}
	/*
	 * The shared backend at once; with isolation = connection, a
	 * worker of its own only when the handshake needs the plugin
	 * (sup_conn_backend), not for anybody who can connect.
	 */
	if (!broker.cfg.rs.per_connection)
		backend_attach(broker.be, c);
	evtimer_add(c->ev_deadline, &deadline);
	TAILQ_INSERT_TAIL(&broker.conns, c, link);
	broker.nconns++;
	hs_start(c);
	conn_flush(c);
	return c;

 err:
	if (c != NULL) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		if (c->ev_deadline)
			event_free(c->ev_deadline);
		free(c->ibuf);
		free(c);
	}
	close(fd);
	if (wfd != fd)
		close(wfd);
	return NULL;
}

/* Transmission reached: no more handshake deadline. */
void
conn_handshake_done(struct conn *c)
{
	if (c->ev_deadline != NULL)
		evtimer_del(c->ev_deadline);
}

void
conn_set_state(struct conn *c, enum conn_state st, size_t need)
{
	c->state = st;
	c->need = need;
	/*
	 * Nothing may be read while the worker, the close or the TLS
	 * handshake is awaited.
	 */
	if (st == CONN_ST_HS_WAIT || st == CONN_ST_CLOSING ||
	    st == CONN_ST_HS_TLS)
		conn_pause(c, PAUSE_HS);
	else
		conn_unpause(c, PAUSE_HS);
}

/*
 * Close c once its queued output is written (conn_flush): the last
 * replies, or a refusal, still reach the client.
 */
void
conn_close_after_output(struct conn *c)
{
	conn_set_state(c, CONN_ST_CLOSING, SIZE_MAX);
	conn_mark_dirty(c);
}

const uint8_t *
conn_input(struct conn *c)
{
	return c->ibuf + c->ioff;
}

void
conn_consume(struct conn *c, size_t n)
{
	c->ioff += n;
	if (c->ioff == c->ilen)
		c->ioff = c->ilen = 0;
}

/* Stop reading for reason why (PAUSE_*); see conn_unpause. */
void
conn_pause(struct conn *c, int why)
{
	if (c->pause == 0 && !(c->flags & CONN_DEAD))
		event_del(c->ev_read);
	c->pause |= why;
}

/* Process whatever is buffered; stop at a state that waits. */
static void
conn_process(struct conn *c)
{
	while (!(c->flags & CONN_DEAD) && c->pause == 0) {
		size_t	avail = c->ilen - c->ioff, n;
		int	r;

		switch (c->state) {
		case CONN_ST_HS_FLAGS:
		case CONN_ST_HS_OPT:
		case CONN_ST_HS_OPT_DATA:
			if (avail < c->need)
				return;
			r = hs_step(c);
			break;
		case CONN_ST_TX:
			if (avail < c->need)
				return;
			r = tx_step(c);
			break;
		case CONN_ST_TX_DRAIN:
			if (avail == 0)
				return;
			n = avail < c->drain ? avail : c->drain;
			conn_consume(c, n);
			c->drain -= n;
			if (c->drain == 0)
				tx_drain_done(c);
			r = 0;
			break;
		default:
			return;
		}
		if (r == -1) {
			conn_close(c, "protocol error");
			return;
		}
	}
}

/*
 * Clear a pause reason; when none is left, reading resumes from a
 * fresh callback (input may already be buffered), never from here:
 * callers are often deep inside another connection's processing.
 */
void
conn_unpause(struct conn *c, int why)
{
	if (!(c->pause & why) || (c->flags & CONN_DEAD))
		return;
	c->pause &= ~why;
	if (c->pause == 0) {
		event_add(c->ev_read, NULL);
		event_active(c->ev_read, EV_READ, 0);
	}
}

/*
 * One readv: into the payload slot first (TX_PAYLOAD), then the input
 * buffer.  Returns bytes read, 0 at EOF, -1 with errno.
 */
static ssize_t
conn_fill(struct conn *c)
{
	struct iovec	 iov[2];
	int		 n = 0;
	size_t		 want = 0;
	ssize_t		 r;

	if (c->state == CONN_ST_TX_PAYLOAD) {
		struct req	*rq = c->cur;

		want = rq->count - c->got;
		iov[n].iov_base = c->be->out.base +
		    slot_offset(&rq->slot) + c->got;
		iov[n].iov_len = want;
		n++;
	}
	if (c->ioff > 0 && c->ioff == c->ilen)
		c->ioff = c->ilen = 0;
	if (c->ioff > 0 && c->ilen == CONN_IBUF_SIZE) {
		memmove(c->ibuf, c->ibuf + c->ioff, c->ilen - c->ioff);
		c->ilen -= c->ioff;
		c->ioff = 0;
	}
	if (c->ilen < CONN_IBUF_SIZE) {
		iov[n].iov_base = c->ibuf + c->ilen;
		iov[n].iov_len = CONN_IBUF_SIZE - c->ilen;
		n++;
	}
	if (n == 0) {	/* buffer full and not consumable: wait */
		errno = EAGAIN;
		return -1;
	}
	r = c->tr->readv(c, iov, n);
	if (r <= 0)
		return r;
	if (c->state == CONN_ST_TX_PAYLOAD) {
		size_t	p = (size_t)r < want ? (size_t)r : want;

		c->got += p;
		c->moved += p;
		c->ilen += r - p;
	} else
		c->ilen += r;
	return r;
}

/*
 * CONN_ST_HS_TLS: once the STARTTLS reply has gone out in clear, start
 * TLS and drive its handshake, watching the socket GnuTLS waits for.
 * While it runs the NBD side reads nothing (PAUSE_HS) but ev_read is
 * armed by hand; when it is done, option haggling resumes over TLS.
 */
static void
conn_tls_step(struct conn *c)
{
	char	why[512];
	bool	want_write;

	if (c->tls == NULL && tls_conn_start(c, why, sizeof(why)) == -1) {
		conn_close(c, why);
		return;
	}
	switch (tls_conn_handshake(c, &want_write, why, sizeof(why))) {
	case 0:
		if (want_write)
			event_add(c->ev_write, NULL);
		else
			event_add(c->ev_read, NULL);
		return;
	case 1:
		event_del(c->ev_read);	/* back under conn_pause's rule */
		event_del(c->ev_write);
		c->flags |= CONN_TLS;
		conn_log(c, LOG_DEBUG, "TLS handshake done");
		conn_set_state(c, CONN_ST_HS_OPT, sizeof(struct nbd_option));
		return;
	default:
		conn_close(c, why);
		return;
	}
}

/*
 * The socket has nothing more to read.  During shutdown, a connection
 * in transmission with nothing in flight is done: close it once its
 * replies are out.
 */
static void
conn_drained(struct conn *c)
{
	if (!conn_ending(c) || c->inflight > 0 || c->cur != NULL)
		return;
	if (c->state == CONN_ST_TX && c->ilen == c->ioff)
		conn_close_after_output(c);
}

/*
 * Read what the client sent and process it, a bounded number of times
 * (other connections get their turn).
 */
static void
conn_read(struct conn *c)
{
	ssize_t		 r;
	int		 loops = 0;

	if (c->state == CONN_ST_HS_TLS) {
		conn_tls_step(c);
		return;
	}
	conn_process(c);	/* input left from before a pause */
	while (!(c->flags & CONN_DEAD) && c->pause == 0 && loops++ < 16) {
		r = conn_fill(c);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_drained(c);
			break;
		}
		if (r == -1 && errno == EINTR)
			break;
		if (r == -1) {
			conn_close(c, errno == ECONNRESET ? NULL :
			    strerror(errno));
			break;
		}
		if (r == 0) {
			if (c->state == CONN_ST_TX_PAYLOAD ||
			    c->ilen != c->ioff)
				conn_close(c, "client closed the connection "
				    "in the middle of a message");
			else
				conn_close(c, NULL);
			break;
		}
		if (c->state == CONN_ST_TX_PAYLOAD &&
		    c->got == c->cur->count && tx_payload_done(c) == -1) {
			conn_close(c, "protocol error");
			break;
		}
		conn_process(c);
		if ((size_t)r < CONN_IBUF_SIZE / 2 &&
		    c->state != CONN_ST_TX_PAYLOAD &&
		    (c->tr->pending == NULL || !c->tr->pending(c)))
			break;		/* probably drained the socket */
	}
	/* Stopped by the loop cap: the transport may hold input that the
	 * socket will not signal. */
	if (loops > 16 && !(c->flags & CONN_DEAD) && c->pause == 0 &&
	    c->tr->pending != NULL && c->tr->pending(c))
		event_active(c->ev_read, EV_READ, 0);
}

/* A pass: what the client sent becomes replies and worker requests. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	backend_pass_begin();
	conn_read(arg);
	backend_pass_end();
}

/* Output. */

/*
 * What queued output costs in memory: its bytes, and per item the
 * ring entry and the allocation of a small owned reply.  A client that
 * sends bad requests and never reads the 16-byte replies would
 * otherwise queue four times the limit.
 */
static size_t
out_cost(const struct conn *c)
{
	return c->out_bytes + c->out_len * CONN_OUT_ITEM_COST;
}

/*
 * What may still be queued before the output budget is spent: replies
 * whose size the broker chooses (block status) take no more.
 */
size_t
conn_out_room(const struct conn *c)
{
	size_t	cost = out_cost(c) + CONN_OUT_ITEM_COST * 2;

	return cost < CONN_MAX_OUT_BYTES ? CONN_MAX_OUT_BYTES - cost : 0;
}

void
conn_queue(struct conn *c, const void *base, size_t len, void *owned,
    struct req *req)
{
	struct out_item	*it;

	if (c->flags & CONN_DEAD) {
		free(owned);
		return;
	}
	if (c->out_len == c->out_cap) {
		size_t		 ncap = c->out_cap ? c->out_cap * 2 : 32, i;
		struct out_item	*p = calloc(ncap, sizeof(*p));

		if (p == NULL) {
			free(owned);
			conn_close(c, "out of memory queueing output");
			return;
		}
		for (i = 0; i < c->out_len; i++)
			p[i] = c->out[(c->out_head + i) % c->out_cap];
		free(c->out);
		c->out = p;
		c->out_cap = ncap;
		c->out_head = 0;
	}
	if (c->out_len == 0)
		c->out_ms = now_ms();
	it = &c->out[(c->out_head + c->out_len) % c->out_cap];
	it->base = base;
	it->len = len;
	it->owned = owned;
	it->req = req;
	c->out_len++;
	c->out_bytes += len;
	if (out_cost(c) > CONN_MAX_OUT_BYTES)
		conn_pause(c, PAUSE_OUTPUT);	/* until the client reads */
	conn_mark_dirty(c);
}

int
conn_queue_copy(struct conn *c, const void *data, size_t len)
{
	void	*p;

	if ((p = malloc(len ? len : 1)) == NULL) {
		conn_close(c, "out of memory");
		return -1;
	}
	memcpy(p, data, len);
	conn_queue(c, p, len, p, NULL);
	return 0;
}

/* c has output to write at the end of this pass (conn_flush_dirty). */
void
conn_mark_dirty(struct conn *c)
{
	if (!(c->flags & (CONN_DIRTY | CONN_DEAD))) {
		c->flags |= CONN_DIRTY;
		TAILQ_INSERT_TAIL(&broker.dirty, c, dlink);
	}
}

void
conn_flush_dirty(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&broker.dirty)) != NULL) {
		TAILQ_REMOVE(&broker.dirty, c, dlink);
		c->flags &= ~CONN_DIRTY;
		conn_flush(c);
	}
}

/* Drop the first output item; its request (if any) is finished. */
static void
out_pop(struct conn *c)
{
	struct out_item	it = c->out[c->out_head];

	c->out_head = (c->out_head + 1) % c->out_cap;
	c->out_len--;
	c->out_bytes -= it.len;
	if (c->out_len > 0)
		c->out_ms = now_ms();	/* the next item's turn */
	free(it.owned);
	if (it.req != NULL)
		tx_request_done(it.req);	/* its reply is out */
}

static void
conn_flush(struct conn *c)
{
	struct iovec	iov[CONN_MAX_OUT_ITEMS];
	ssize_t		r;
	size_t		i, n;

	while (c->out_len > 0 && !(c->flags & CONN_DEAD)) {
		n = c->out_len < CONN_MAX_OUT_ITEMS ? c->out_len :
		    CONN_MAX_OUT_ITEMS;
		for (i = 0; i < n; i++) {
			struct out_item	*it =
			    &c->out[(c->out_head + i) % c->out_cap];

			iov[i].iov_base = (void *)it->base;
			iov[i].iov_len = it->len;
		}
		r = c->tr->writev(c, iov, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->ev_write, NULL);
			return;
		}
		if (r == -1) {
			conn_close(c, errno == EPIPE || errno == ECONNRESET ?
			    NULL : strerror(errno));
			return;
		}
		c->moved += r;
		while (r > 0 && c->out_len > 0) {
			struct out_item	*it = &c->out[c->out_head];

			if ((size_t)r < it->len) {
				it->base += r;
				it->len -= r;
				c->out_bytes -= r;
				r = 0;
				break;
			}
			r -= it->len;
			out_pop(c);
		}
		/* Zero-length items (none expected) must not spin. */
		while (c->out_len > 0 && c->out[c->out_head].len == 0)
			out_pop(c);
	}
	if (!(c->flags & CONN_DEAD) && out_cost(c) <= CONN_MAX_OUT_BYTES / 2)
		conn_unpause(c, PAUSE_OUTPUT);
	if (c->out_len == 0 && c->state == CONN_ST_CLOSING &&
	    !(c->flags & CONN_DEAD))
		conn_close(c, NULL);
	else if (c->out_len == 0 && c->state == CONN_ST_HS_TLS &&
	    !(c->flags & CONN_DEAD))
		conn_tls_step(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	backend_pass_begin();
	conn_flush(c);
	backend_pass_end();
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	free(c->ibuf);
	free(c->optdata);
	free(c->info_reqs);
	free(c->export_name);
	free(c->meta_export);
	free(c);
	broker_conn_gone();
}

/*
 * Free a dead connection once nothing refers to it any more: no data
 * request in flight and no handshake request pending.  Its worker
 * handle is closed first.
 */
static void
conn_maybe_free(struct conn *c)
{
	if (!(c->flags & CONN_DEAD) || (c->flags & CONN_FREEING) ||
	    c->inflight > 0 || c->hs_req != NULL)
		return;
	if (c->be == NULL)		/* never needed a worker */
		goto out;
	if (c->flags & CONN_HANDLE_OPEN)
		backend_close_handle(c->be, c);
	if (c->flags & CONN_WAIT_ARENA) {
		TAILQ_REMOVE(&c->be->waiters, c, wlink);
		c->flags &= ~(CONN_WAIT_ARENA | CONN_ARENA_FULL);
	}
	backend_detach(c->be, c);
	if (c->be != broker.be) {	/* its own worker */
		sup_start_done(c->be);
		backend_retire(c->be);
	}
	c->be = NULL;
 out:
	c->flags |= CONN_FREEING;
	event_base_once(broker.base, -1, EV_TIMEOUT, conn_free_cb, c, NULL);
}

/*
 * Close a connection: stop I/O, drop queued output, and free it once
 * the worker has answered what it had in flight.  Idempotent.  why is
 * logged (NULL: a normal disconnect).
 */
void
conn_close(struct conn *c, const char *why)
{
	if (c->flags & CONN_DEAD) {
		conn_maybe_free(c);
		return;
	}
	if (why != NULL)
		conn_log(c, LOG_WARNING, "closing: %s", why);
	else
		conn_log(c, LOG_DEBUG, "client disconnected");
	c->flags |= CONN_DEAD;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_deadline);
	c->ev_read = c->ev_write = c->ev_deadline = NULL;
	if (c->flags & CONN_DIRTY) {
		TAILQ_REMOVE(&broker.dirty, c, dlink);
		c->flags &= ~CONN_DIRTY;
	}
	/* Queued replies: their requests are finished without sending. */
	while (c->out_len > 0)
		out_pop(c);
	free(c->out);
	c->out = NULL;
	c->out_cap = 0;
	if (c->cur != NULL) {		/* reading its payload, or waiting */
		struct req	*r = c->cur;

		c->cur = NULL;
		tx_request_done(r);	/* never sent: just released */
	}
	if (c->tr->free != NULL)
		c->tr->free(c);
	close(c->fd);
	if (c->wfd != c->fd)
		close(c->wfd);
	c->fd = c->wfd = -1;
	TAILQ_REMOVE(&broker.conns, c, link);
	broker.nconns--;
	sup_start_unqueue(c);
	if (broker.cfg.single)
		broker_shutdown("the client on stdin/stdout disconnected");
	conn_maybe_free(c);
}

/*
 * Is a connection other than c waiting for space in one arena (out:
 * WRITE payloads; else READ results) because it is full, not because
 * it reached its own limit?  Then what c holds there is what the
 * other one lacks.
 */
bool
conn_others_starved(const struct conn *c, bool out)
{
	const struct conn	*w;

	TAILQ_FOREACH(w, &c->be->waiters, wlink)
		if (w != c && (w->flags & CONN_ARENA_FULL) &&
		    w->cur != NULL && (w->cur->cmd == NBD_CMD_WRITE) == out)
			return true;
	return false;
}

/*
 * Is c holding shared payload space while the broker waits on its
 * client -- for the rest of a WRITE payload, or for the client to
 * read replies -- and others wait for that space?
 */
static bool
conn_blocking(const struct conn *c)
{
	if (c->state != CONN_ST_TX_PAYLOAD && c->out_len == 0)
		return false;
	return (c->arena_wbytes > 0 && conn_others_starved(c, true)) ||
	    (c->arena_bytes > c->arena_wbytes &&
	    conn_others_starved(c, false));
}

/*
 * Once a second.  A connection that holds shared payload space while
 * others wait for it (conn_blocking) must keep its client moving: at
 * least CONN_STALL_MIN_BYTES of payload or replies every
 * CONN_STALL_MS (or request timeout, if shorter), else it is closed
 * and its space goes to the others.  A client that stops in the
 * middle of a request, or trickles, must not starve everybody else's
 * requests; one nobody waits for is left alone.  With no request
 * timeout (0: never) nothing is cut off.
 */
void
conn_tick(void)
{
	struct conn	*c, *next;
	uint64_t	 now = now_ms();
	uint64_t	 limit = broker.cfg.rs.request_timeout_ms;
	uint64_t	 moved;
	char		 why[200];

	if (limit == 0)
		return;
	if (limit > CONN_STALL_MS)
		limit = CONN_STALL_MS;
	for (c = TAILQ_FIRST(&broker.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->be == NULL || !conn_blocking(c)) {
			c->stall_ms = 0;
			continue;
		}
		if (c->stall_ms == 0) {		/* a window begins */
			c->stall_ms = now;
			c->stall_moved = c->moved;
			continue;
		}
		if (now - c->stall_ms < limit)
			continue;
		moved = c->moved - c->stall_moved;
		if (moved >= CONN_STALL_MIN_BYTES) {
			c->stall_ms = now;
			c->stall_moved = c->moved;
			continue;
		}
		if (c->state == CONN_ST_TX_PAYLOAD && moved == 0)
			snprintf(why, sizeof(why), "holding %zu KiB of shared "
			    "payload space, the rest of a WRITE payload has "
			    "not come in %" PRIu64 " ms; others are waiting",
			    c->arena_bytes / 1024, limit);
		else if (c->state == CONN_ST_TX_PAYLOAD)
			snprintf(why, sizeof(why), "holding %zu KiB of shared "
			    "payload space, only %" PRIu64 " bytes of a WRITE "
			    "payload came in %" PRIu64 " ms; others are "
			    "waiting", c->arena_bytes / 1024, moved, limit);
		else if (moved == 0)
			snprintf(why, sizeof(why), "holding %zu KiB of shared "
			    "payload space, replies have not been read for %"
			    PRIu64 " ms; others are waiting",
			    c->arena_bytes / 1024, limit);
		else
			snprintf(why, sizeof(why), "holding %zu KiB of shared "
			    "payload space, only %" PRIu64 " bytes of replies "
			    "read in %" PRIu64 " ms; others are waiting",
			    c->arena_bytes / 1024, moved, limit);
		conn_close(c, why);
	}
}

/*
 * The server is shutting down (or c is ending alone, conn_end): a
 * connection still negotiating is closed; one in transmission finishes
 * what it has in flight (new requests get ESHUTDOWN) and is closed
 * when nothing is left.
 */
void
conn_shutdown(struct conn *c)
{
	if (c->flags & CONN_DEAD)
		return;
	switch (c->state) {
	case CONN_ST_TX:
	case CONN_ST_TX_PAYLOAD:
	case CONN_ST_TX_DRAIN:
		/* Read on: what the client already sent is answered with
		 * ESHUTDOWN; conn_read_cb closes once nothing is left. */
		if (c->pause == 0)
			event_active(c->ev_read, EV_READ, 0);
		break;
	case CONN_ST_CLOSING:
		break;
	default:
		conn_close(c, "server shutting down");
		break;
	}
}

/*
 * End c alone, as a server shutdown would end it (conn_shutdown): its
 * own worker asked to stop the server under isolation = connection,
 * where that may end no other tenant's connection.
 */
void
conn_end(struct conn *c)
{
	if (c->flags & (CONN_DEAD | CONN_ENDING))
		return;
	c->flags |= CONN_ENDING;
	conn_log(c, LOG_INFO, "ending: its worker asked to shut down");
	conn_shutdown(c);
	conn_flush_dirty();
}
