/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --metrics: the broker's counters and gauges in the Prometheus text
 * exposition format (version 0.0.4), served at /metrics over HTTP on
 * a Unix socket (unix:PATH) or TCP ([ADDR:]PORT, loopback unless ADDR
 * says otherwise).
 *
 * The HTTP side is a few lines on the broker's own loop rather than
 * libevent's evhttp: libevent 2.1 (Debian 12's) has no way to bound
 * evhttp's connections (evhttp_set_max_connections is 2.2's) and no
 * hook at accept or close to count them, and a scraper must never be
 * able to make the broker hold more than a fixed amount.  Here each
 * scrape is one connection (HTTP/1.0, Connection: close) with a fixed
 * slot, a request of at most MX_HTTP_REQ_MAX bytes, a response of at
 * most MX_HTTP_RESP_MAX bytes and MX_HTTP_DEADLINE_S to finish, read
 * and written without blocking: a scraper that connects and never
 * reads costs one slot until its deadline, and nothing else.
 *
 * The counters themselves are incremented inline at their call sites
 * (metrics.h); gauges the broker keeps anyway (connections, arenas,
 * backoff) are read here at scrape time.  Runs in the event loop only;
 * never trusts what a scraper sends (it only looks for GET /metrics).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "metrics.h"

/* "EIO" for EIO; glibc before 2.32 has no strerrorname_np. */
static const char *
errno_name(int e)
{
#ifdef HAVE_STRERRORNAME_NP
	return strerrorname_np(e);
#else
	switch (e) {
	case EPERM:	return "EPERM";
	case EIO:	return "EIO";
	case ENOMEM:	return "ENOMEM";
	case EINVAL:	return "EINVAL";
	case ENOSPC:	return "ENOSPC";
	case EROFS:	return "EROFS";
	case EFBIG:	return "EFBIG";
	case EDQUOT:	return "EDQUOT";
	case EOVERFLOW:	return "EOVERFLOW";
	case ENOTSUP:	return "ENOTSUP";
	case ESHUTDOWN:	return "ESHUTDOWN";
	case ENOSYS:	return "ENOSYS";
	case EACCES:	return "EACCES";
	default:	return NULL;
	}
#endif
}

#define MX_HTTP_MAX_CONNS	8		/* scrapes at once */
#define MX_HTTP_MAX_LISTEN	4		/* listening sockets */
#define MX_HTTP_REQ_MAX		4096		/* request line + headers */
#define MX_HTTP_RESP_MAX	(256 * 1024)	/* a whole response */
#define MX_HTTP_DEADLINE_S	10		/* a scrape's whole life */
#define MX_CAUSES		16		/* workers killed, not reaped */

struct metrics	metrics;

/* Latency bucket bounds (le), in milliseconds: the broker's clock. */
const uint32_t	metrics_bucket_ms[MX_NBUCKETS] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000,
};

static const char *const	cmd_names[MX_NCMD] = {
	"read", "write", "disc", "flush", "trim", "cache", "write_zeroes",
	"block_status", "other",
};

static const char *const	death_names[MX_DEATH_N] = {
	"exit", "signal", "tripwire", "timeout", "protocol", "retired",
};

/* Why the broker killed a worker it has not reaped yet. */
static struct {
	pid_t		pid;		/* 0: free */
	enum mx_death	cause;
} causes[MX_CAUSES];

/* One scrape in progress. */
struct mx_conn {
	int		 fd;		/* -1: slot free */
	struct event	*ev;		/* read, then write */
	struct event	*ev_deadline;
	char		 req[MX_HTTP_REQ_MAX];
	size_t		 reqlen;
	struct evbuffer	*out;		/* response, while it is written */
};

struct mx_listener {
	int		 fd;
	struct event	*ev;
};

static struct mx_conn		conns[MX_HTTP_MAX_CONNS];
static struct mx_listener	listeners[MX_HTTP_MAX_LISTEN];
static size_t			nlisteners;
static char			*unix_path;	/* ours to unlink at exit */
static uint64_t			refused;	/* scrapes beyond the slots */
static uint64_t			scrapes;	/* responses queued */

/* Worker deaths. */

/*
 * The broker is about to kill (or has killed) worker pid for cause:
 * its reaping counts that cause, not the signal.  The first cause
 * given wins (a timeout that then trips nothing else stays a
 * timeout).  Full table: the oldest slot for that pid's hash is
 * reused, which only blurs a cause, never a count.
 */
void
metrics_worker_cause(pid_t pid, enum mx_death cause)
{
	size_t	i, free_slot = (size_t)pid % MX_CAUSES;

	for (i = 0; i < MX_CAUSES; i++) {
		if (causes[i].pid == pid)
			return;
		if (causes[i].pid == 0)
			free_slot = i;
	}
	causes[free_slot].pid = pid;
	causes[free_slot].cause = cause;
}

/*
 * A worker was reaped with status: count its death once, under the
 * cause the broker recorded, else what the status says (SIGSYS is the
 * kernel's sandbox kill: a tripwire too).  expected: the broker was
 * stopping it anyway (a retired backend); so it is at shutdown.
 * Returns the cause's name, for the log line.
 */
const char *
metrics_worker_reaped(pid_t pid, int status, int expected)
{
	enum mx_death	cause;
	size_t		i;

	if (expected || broker.shutting_down)
		cause = MX_DEATH_RETIRED;
	else if (WIFEXITED(status))
		cause = MX_DEATH_EXIT;
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		cause = MX_DEATH_TRIPWIRE;
	else
		cause = MX_DEATH_SIGNAL;
	for (i = 0; i < MX_CAUSES; i++)
		if (causes[i].pid == pid) {
			cause = causes[i].cause;
			causes[i].pid = 0;
		}
	metrics.deaths[cause]++;
	return death_names[cause];
}

/* Rendering. */

/* A label value: backslash, double quote and newline escaped. */
static void
put_label(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

static void
put_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static const char *
plugin_label(void)
{
	struct backend	*be;

	TAILQ_FOREACH(be, &broker.backends, link)
		if (be->plugin_name != NULL)
			return be->plugin_name;
	return broker.cfg.plugin_arg != NULL ? broker.cfg.plugin_arg : "";
}

/* The per-plugin series: one label, plugin="NAME". */
static void
put_plugin_value(struct evbuffer *b, const char *name, const char *extra,
    uint64_t v)
{
	evbuffer_add_printf(b, "%s{plugin=\"", name);
	put_label(b, plugin_label());
	evbuffer_add_printf(b, "\"%s} %" PRIu64 "\n", extra, v);
}

static void
render_requests(struct evbuffer *b)
{
	unsigned	i, j;
	uint64_t	n;

	put_head(b, "nbdbroker_requests_total", "counter",
	    "NBD requests received, by command.");
	for (i = 0; i < MX_NCMD; i++)
		evbuffer_add_printf(b, "nbdbroker_requests_total{command="
		    "\"%s\"} %" PRIu64 "\n", cmd_names[i], metrics.requests[i]);
	put_head(b, "nbdbroker_request_bytes_total", "counter",
	    "Length of the requests that succeeded, by command.");
	for (i = 0; i < MX_NCMD; i++)
		evbuffer_add_printf(b, "nbdbroker_request_bytes_total{command="
		    "\"%s\"} %" PRIu64 "\n", cmd_names[i], metrics.bytes[i]);
	put_head(b, "nbdbroker_request_errors_total", "counter",
	    "Error replies, by errno (before mapping to NBD errors).");
	for (i = 1; i <= MX_NERRNO; i++) {
		const char	*en = i < MX_NERRNO ? errno_name(i) : NULL;

		if (metrics.errors[i] == 0)
			continue;
		if (en != NULL)
			evbuffer_add_printf(b, "nbdbroker_request_errors_total"
			    "{errno=\"%s\"} %" PRIu64 "\n", en,
			    metrics.errors[i]);
		else
			evbuffer_add_printf(b, "nbdbroker_request_errors_total"
			    "{errno=\"%s\"} %" PRIu64 "\n", i < MX_NERRNO ?
			    "unknown" : "other", metrics.errors[i]);
	}
	put_head(b, "nbdbroker_request_duration_seconds", "histogram",
	    "From a request's submission to the worker to its reply "
	    "(millisecond resolution).");
	for (i = 0; i < MX_NCMD; i++) {
		n = 0;
		for (j = 0; j < MX_NBUCKETS; j++) {
			n += metrics.lat[i][j];
			evbuffer_add_printf(b, "nbdbroker_request_duration_"
			    "seconds_bucket{command=\"%s\",le=\"%g\"} %" PRIu64
			    "\n", cmd_names[i],
			    metrics_bucket_ms[j] / 1000.0, n);
		}
		n += metrics.lat[i][MX_NBUCKETS];
		evbuffer_add_printf(b, "nbdbroker_request_duration_seconds_"
		    "bucket{command=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
		    "nbdbroker_request_duration_seconds_sum{command=\"%s\"} "
		    "%.3f\n"
		    "nbdbroker_request_duration_seconds_count{command=\"%s\"} "
		    "%" PRIu64 "\n", cmd_names[i], n, cmd_names[i],
		    metrics.lat_sum_ms[i] / 1000.0, cmd_names[i], n);
	}
}

static void
render_workers(struct evbuffer *b)
{
	struct backend	*be;
	uint64_t	 live = 0, down = 0, backoff = 0;
	uint64_t	 out_used = 0, in_used = 0, out_size = 0, in_size = 0;
	char		 extra[64];
	unsigned	 i;

	TAILQ_FOREACH(be, &broker.backends, link) {
		if (be->retiring || be->spare_of != NULL)
			continue;	/* a spare serves nothing */
		if (be->pid > 0)
			live++;
		if (be->state == BE_ST_DOWN || be->state == BE_ST_FAILED)
			down++;
		if (be->backoff_ms > backoff)
			backoff = be->backoff_ms;
		out_size += be->out.size;
		in_size += be->in.size;
		out_used += (uint64_t)(be->out.npages - be->out.nfree) *
		    ARENA_PAGE;
		in_used += (uint64_t)(be->in.npages - be->in.nfree) *
		    ARENA_PAGE;
	}
	put_head(b, "nbdbroker_worker_starts_total", "counter",
	    "Worker processes started.");
	put_plugin_value(b, "nbdbroker_worker_starts_total", "",
	    metrics.worker_starts);
	put_head(b, "nbdbroker_worker_deaths_total", "counter",
	    "Worker processes reaped, by cause.");
	for (i = 0; i < MX_DEATH_N; i++) {
		snprintf(extra, sizeof(extra), ",cause=\"%s\"", death_names[i]);
		put_plugin_value(b, "nbdbroker_worker_deaths_total", extra,
		    metrics.deaths[i]);
	}
	put_head(b, "nbdbroker_replays_total", "counter",
	    "Data requests taken back from a dead worker to be sent again.");
	put_plugin_value(b, "nbdbroker_replays_total", "", metrics.replays);
	put_head(b, "nbdbroker_poison_eio_total", "counter",
	    "Of those, requests failed with EIO for bringing down too many "
	    "workers.");
	put_plugin_value(b, "nbdbroker_poison_eio_total", "", metrics.poison);
	put_head(b, "nbdbroker_reloads_total", "counter",
	    "Workers replaced by a reload (SIGHUP), by result.");
	put_plugin_value(b, "nbdbroker_reloads_total", ",result=\"switched\"",
	    metrics.reloads);
	put_plugin_value(b, "nbdbroker_reloads_total", ",result=\"refused\"",
	    metrics.reloads_refused);
	put_head(b, "nbdbroker_spares_total", "counter",
	    "Spare workers (held before loading the plugin), by fate.");
	put_plugin_value(b, "nbdbroker_spares_total", ",result=\"used\"",
	    metrics.spares_used);
	put_plugin_value(b, "nbdbroker_spares_total", ",result=\"failed\"",
	    metrics.spares_failed);
	put_head(b, "nbdbroker_workers", "gauge", "Worker processes running.");
	put_plugin_value(b, "nbdbroker_workers", "", live);
	put_head(b, "nbdbroker_workers_down", "gauge",
	    "Plugin instances waiting for a worker to be restarted.");
	put_plugin_value(b, "nbdbroker_workers_down", "", down);
	put_head(b, "nbdbroker_restart_backoff_seconds", "gauge",
	    "Delay before the next restart (0: restarts are immediate).");
	evbuffer_add_printf(b, "nbdbroker_restart_backoff_seconds %.3f\n",
	    backoff / 1000.0);
	put_head(b, "nbdbroker_arena_used_bytes", "gauge",
	    "Shared-memory payload arena in use (write: to workers, read: "
	    "from them).");
	evbuffer_add_printf(b, "nbdbroker_arena_used_bytes{arena=\"write\"} %"
	    PRIu64 "\nnbdbroker_arena_used_bytes{arena=\"read\"} %" PRIu64
	    "\n", out_used, in_used);
	put_head(b, "nbdbroker_arena_size_bytes", "gauge",
	    "Shared-memory payload arena size.");
	evbuffer_add_printf(b, "nbdbroker_arena_size_bytes{arena=\"write\"} %"
	    PRIu64 "\nnbdbroker_arena_size_bytes{arena=\"read\"} %" PRIu64
	    "\n", out_size, in_size);
}

/* The whole exposition into b. */
static void
render(struct evbuffer *b)
{
	evbuffer_add_printf(b, "# HELP nbdbroker_info The server's version "
	    "and plugin.\n# TYPE nbdbroker_info gauge\n"
	    "nbdbroker_info{version=\"%s\",plugin=\"", PACKAGE_VERSION);
	put_label(b, plugin_label());
	evbuffer_add_printf(b, "\"} 1\n");
	put_head(b, "nbdbroker_connections", "gauge", "Client connections "
	    "open.");
	evbuffer_add_printf(b, "nbdbroker_connections %u\n", broker.nconns);
	put_head(b, "nbdbroker_connections_total", "counter",
	    "Client connections accepted.");
	evbuffer_add_printf(b, "nbdbroker_connections_total %" PRIu64 "\n",
	    broker.next_conn_id);
	put_head(b, "nbdbroker_connections_refused_total", "counter",
	    "Client connections refused (--max-connections).");
	evbuffer_add_printf(b, "nbdbroker_connections_refused_total %" PRIu64
	    "\n", broker.refused_conns);
	render_requests(b);
	render_workers(b);
	put_head(b, "nbdbroker_metrics_refused_total", "counter",
	    "Scrapes refused: every slot was busy.");
	evbuffer_add_printf(b, "nbdbroker_metrics_refused_total %" PRIu64 "\n",
	    refused);
	put_head(b, "nbdbroker_metrics_scrapes_total", "counter",
	    "Scrapes answered before this one.");
	evbuffer_add_printf(b, "nbdbroker_metrics_scrapes_total %" PRIu64 "\n",
	    scrapes);
}

/* HTTP. */

static void
mx_close(struct mx_conn *mc)
{
	if (mc->ev != NULL)
		event_free(mc->ev);
	if (mc->ev_deadline != NULL)
		event_free(mc->ev_deadline);
	mc->ev = mc->ev_deadline = NULL;
	if (mc->out != NULL)
		evbuffer_free(mc->out);
	mc->out = NULL;
	close(mc->fd);
	mc->fd = -1;
}

static void	mx_io_cb(evutil_socket_t fd, short what, void *arg);

/* Queue the response to the request in mc->req, then write it. */
static void
mx_respond(struct mx_conn *mc)
{
	struct evbuffer	*body;
	const char	*status = "200 OK", *type = "text/plain; "
			    "version=0.0.4; charset=utf-8";
	bool		 head = strncmp(mc->req, "HEAD ", 5) == 0;
	const char	*path = mc->req + (head ? 5 : 4);
	size_t		 len;

	body = evbuffer_new();
	mc->out = evbuffer_new();
	if (body == NULL || mc->out == NULL) {
		if (body != NULL)
			evbuffer_free(body);
		mx_close(mc);
		return;
	}
	if (strncmp(mc->req, "GET ", 4) != 0 && !head) {
		status = "405 Method Not Allowed";
		evbuffer_add_printf(body, "GET or HEAD only\n");
	} else if (strncmp(path, "/metrics", 8) != 0 ||
	    strchr(" ?\r\n", path[8]) == NULL || path[8] == '\0') {
		status = "404 Not Found";
		evbuffer_add_printf(body, "try /metrics\n");
	} else {
		render(body);
		scrapes++;
	}
	if ((len = evbuffer_get_length(body)) > MX_HTTP_RESP_MAX) {
		log_err("metrics: response of %zu bytes exceeds %d: not sent",
		    len, MX_HTTP_RESP_MAX);
		evbuffer_drain(body, len);
		status = "500 Internal Server Error";
		len = 0;
	}
	if (status[0] != '2')
		type = "text/plain; charset=utf-8";
	evbuffer_add_printf(mc->out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, type,
	    len);
	if (!head)
		evbuffer_add_buffer(mc->out, body);
	evbuffer_free(body);
	event_free(mc->ev);
	mc->ev = event_new(broker.base, mc->fd, EV_WRITE | EV_PERSIST,
	    mx_io_cb, mc);
	if (mc->ev == NULL || event_add(mc->ev, NULL) == -1)
		mx_close(mc);
}

/*
 * A scrape's socket is ready: read the request until its blank line
 * (anything longer than MX_HTTP_REQ_MAX is dropped), or write what is
 * left of the response (then close).
 */
static void
mx_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mx_conn	*mc = arg;
	ssize_t		 n;

	(void)what;
	if (mc->out != NULL) {
		n = evbuffer_write(mc->out, fd);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1 || evbuffer_get_length(mc->out) == 0)
			mx_close(mc);
		return;
	}
	n = read(fd, mc->req + mc->reqlen, sizeof(mc->req) - 1 - mc->reqlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mx_close(mc);
		return;
	}
	mc->reqlen += n;
	mc->req[mc->reqlen] = '\0';
	if (strstr(mc->req, "\r\n\r\n") != NULL ||
	    strstr(mc->req, "\n\n") != NULL)
		mx_respond(mc);
	else if (mc->reqlen == sizeof(mc->req) - 1)
		mx_close(mc);
}

static void
mx_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mx_close(arg);
}

static void
mx_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mx_conn		*mc = NULL;
	const struct timeval	 deadline = { MX_HTTP_DEADLINE_S, 0 };
	size_t			 i;
	int			 s;

	(void)what;
	(void)arg;
	s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (s == -1)
		return;		/* EAGAIN, ECONNABORTED, EMFILE: next time */
	for (i = 0; i < MX_HTTP_MAX_CONNS && mc == NULL; i++)
		if (conns[i].fd == -1)
			mc = &conns[i];
	if (mc == NULL || broker.shutting_down) {
		refused++;
		close(s);
		return;
	}
	mc->fd = s;
	mc->reqlen = 0;
	mc->ev = event_new(broker.base, s, EV_READ | EV_PERSIST, mx_io_cb, mc);
	mc->ev_deadline = evtimer_new(broker.base, mx_deadline_cb, mc);
	if (mc->ev == NULL || mc->ev_deadline == NULL ||
	    event_add(mc->ev, NULL) == -1 ||
	    evtimer_add(mc->ev_deadline, &deadline) == -1)
		mx_close(mc);
}

/* Set-up. */

/* Listen on fd and watch it; on failure, fd is closed (errno kept). */
static int
mx_listen_fd(int fd)
{
	struct mx_listener	*l = &listeners[nlisteners];
	int			 saved;

	if (nlisteners == MX_HTTP_MAX_LISTEN) {
		errno = EMFILE;
		goto err;
	}
	if (listen(fd, 16) == -1)
		goto err;
	l->ev = event_new(broker.base, fd, EV_READ | EV_PERSIST, mx_accept_cb,
	    NULL);
	if (l->ev == NULL || event_add(l->ev, NULL) == -1) {
		if (l->ev != NULL)
			event_free(l->ev);
		l->ev = NULL;
		errno = ENOMEM;
		goto err;
	}
	l->fd = fd;
	nlisteners++;
	return 0;

 err:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
mx_listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("--metrics=unix:%s: socket path too long (max %zu "
		    "bytes)", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	/* A stale socket from an earlier run is ours to replace. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		goto err;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto err;
	}
	if (mx_listen_fd(fd) == -1)
		goto err;
	if ((unix_path = strdup(path)) == NULL)
		fatal("strdup");
	return 0;

 err:
	log_err("--metrics=unix:%s: %s", path, strerror(errno));
	return -1;
}

/* [ADDR:]PORT, ADDR possibly in brackets; no ADDR: loopback. */
static int
mx_listen_tcp(char *spec)
{
	struct addrinfo	 hints, *res, *ai;
	char		*addr = NULL, *port = spec, *colon;
	int		 e, fd, one = 1, ok = 0;

	if (spec[0] == '[' && (colon = strstr(spec, "]:")) != NULL) {
		addr = spec + 1;
		*colon = '\0';
		port = colon + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		addr = spec;
		*colon = '\0';
		port = colon + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (addr != NULL ? AI_PASSIVE : 0);
	if ((e = getaddrinfo(addr, port, &hints, &res)) != 0) {
		log_err("--metrics: %s port %s: %s", addr ? addr : "loopback",
		    port, gai_strerror(e));
		errno = EINVAL;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			e = errno;
			close(fd);
			errno = e;
			continue;
		}
		if (mx_listen_fd(fd) == 0)
			ok++;
	}
	freeaddrinfo(res);
	if (ok == 0)
		log_err("--metrics: cannot listen on %s port %s: %s",
		    addr ? addr : "loopback", port, strerror(errno));
	return ok > 0 ? 0 : -1;
}

static void
mx_cleanup(void)
{
	if (unix_path != NULL)
		unlink(unix_path);
}

/*
 * Start serving --metrics, if given (start-up, once the broker
 * serves: a failure is fatal, as a listening socket's is).
 */
void
metrics_start(void)
{
	char	*spec = broker.cfg.metrics, *copy;
	size_t	 i;
	int	 r;

	if (spec == NULL)
		return;
	for (i = 0; i < MX_HTTP_MAX_CONNS; i++)
		conns[i].fd = -1;
	if (strncmp(spec, "unix:", 5) == 0 && spec[5] != '/' &&
	    broker.cfg.cwd != NULL) {
		/* Relative to where we were started (-f or not). */
		if (asprintf(&copy, "%s/%s", broker.cfg.cwd, spec + 5) == -1)
			fatal("asprintf");
		r = mx_listen_unix(copy);
		free(copy);
	} else if (strncmp(spec, "unix:", 5) == 0)
		r = mx_listen_unix(spec + 5);
	else {
		if ((copy = strdup(spec)) == NULL)
			fatal("strdup");
		r = mx_listen_tcp(copy);
		free(copy);
	}
	if (r == -1) {
		sup_stop_all();
		exit(EXIT_FAILURE);
	}
	atexit(mx_cleanup);
	log_info("metrics at http://%s/metrics", spec);
}
