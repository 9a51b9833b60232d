/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listening sockets: a Unix socket (-U PATH, or -U - for a private one
 * in a temporary directory), TCP on every address -i/-p resolve to
 * (port 10809 by default), the sockets systemd socket activation
 * passed on fds 3.. (LISTEN_FDS), or a single client on stdin/stdout
 * (-s).
 * Accept errors never stop the server: EMFILE and ENFILE pause the
 * listener for a second (tmux server_add_accept does the same).
 *
 * Runs in the event loop only.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"

#define LISTEN_MAX	LISTEN_MAX_FDS

struct listener {
	int		 fd;
	struct event	*ev;
	struct event	*ev_retry;
};

static struct listener	listeners[LISTEN_MAX];
static size_t		nlisteners;
static char		uri[3 * BROKER_MAX_NAME + 3 * 108 + 64];
static int		bound_port = -1;
static char		activated_path[108];	/* socket activation */

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	(void)fd;
	(void)what;
	event_add(l->ev, NULL);
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 s, n;

	(void)what;
	for (n = 0; n < 64; n++) {
		sl = sizeof(ss);
		s = accept4(fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				struct timeval	tv = { 1, 0 };

				log_warn("accept: %s: pausing the listener "
				    "for 1 s", strerror(errno));
				event_del(l->ev);
				evtimer_add(l->ev_retry, &tv);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (broker.shutting_down) {
			close(s);
			continue;
		}
		if (broker.nconns >= broker.cfg.max_conns) {
			/* Log the first refusal and then every 1000th. */
			if (broker.refused_conns++ % 1000 == 0)
				log_warn("refusing connection: %u connections "
				    "already open (--max-connections); %" PRIu64
				    " refused so far", broker.nconns,
				    broker.refused_conns);
			close(s);
			continue;
		}
		conn_new(s, s, (struct sockaddr *)&ss, sl);
	}
}

static int
add_listener(int fd)
{
	struct listener	*l;

	if (nlisteners == LISTEN_MAX) {
		close(fd);
		return 0;
	}
	l = &listeners[nlisteners];
	l->fd = fd;
	l->ev = event_new(broker.base, fd, EV_READ | EV_PERSIST, accept_cb, l);
	l->ev_retry = evtimer_new(broker.base, retry_cb, l);
	if (l->ev == NULL || l->ev_retry == NULL ||
	    event_add(l->ev, NULL) == -1) {
		log_err("cannot register listener");
		return -1;
	}
	nlisteners++;
	return 0;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("-U %s: socket path too long (max %zu bytes)", path,
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* A stale socket from an earlier run is ours to replace. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		log_err("-U %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return add_listener(fd);
}

static int
listen_tcp(const char *addr, const char *port)
{
	struct addrinfo	 hints, *res, *ai;
	int		 e, fd, one = 1, ok = 0;
	char		 last[256] = "";

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
	if ((e = getaddrinfo(addr, port, &hints, &res)) != 0) {
		log_err("%s:%s: %s", addr ? addr : "*", port, gai_strerror(e));
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
		/* -p 0: every address family on the one port picked first. */
		if (bound_port > 0 && ai->ai_family == AF_INET6)
			((struct sockaddr_in6 *)ai->ai_addr)->sin6_port =
			    htons(bound_port);
		else if (bound_port > 0 && ai->ai_family == AF_INET)
			((struct sockaddr_in *)ai->ai_addr)->sin_port =
			    htons(bound_port);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
		    listen(fd, SOMAXCONN) == -1) {
			snprintf(last, sizeof(last), "%s", strerror(errno));
			close(fd);
			continue;
		}
		if (bound_port == -1) {
			struct sockaddr_storage	ss;
			socklen_t		sl = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
				bound_port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
		}
		if (add_listener(fd) == -1)
			break;
		ok++;
	}
	freeaddrinfo(res);
	if (ok == 0) {
		log_err("cannot listen on %s port %s: %s",
		    addr ? addr : "any address", port,
		    last[0] ? last : "no usable address");
		return -1;
	}
	return 0;
}

/* Percent-encode s into buf: RFC 3986 unreserved characters and '/'
 * stay as they are. */
static void
uri_quote(char *buf, size_t len, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			o = 0;

	for (; *s != '\0' && o + 4 <= len; s++) {
		unsigned char	ch = *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~/", ch) != NULL)
			buf[o++] = ch;
		else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
}

/*
 * Build the URI clients should use (for --print-uri and --run), in
 * the NBD URI form: nbds when TLS is required, as nbdkit does.
 */
static void
make_uri(const char *host)
{
	const char	*scheme;
	char		 exp[3 * BROKER_MAX_NAME + 1], path[3 * 108 + 1];

	scheme = broker.cfg.tls == TLS_REQUIRE ? "nbds" : "nbd";

	uri_quote(exp, sizeof(exp), broker.cfg.exportname ?
	    broker.cfg.exportname : "");
	if (listen_unix_path() != NULL) {
		uri_quote(path, sizeof(path), listen_unix_path());
		snprintf(uri, sizeof(uri), "%s+unix:///%s?socket=%s", scheme,
		    exp, path);
	} else {
		bool	v6 = strchr(host, ':') != NULL;

		snprintf(uri, sizeof(uri), "%s://%s%s%s:%d/%s", scheme,
		    v6 ? "[" : "", host, v6 ? "]" : "", bound_port, exp);
	}
}

/* The Unix socket we listen on, or NULL for TCP (and -s). */
const char *
listen_unix_path(void)
{
	if (activated_path[0] != '\0')
		return activated_path;
	return broker.cfg.unix_path;
}

/*
 * Socket activation: listen on the sockets passed on fds 3.. (process.c
 * checked them).  The first one names the URI.
 */
static int
listen_activated(char *host, size_t hostlen)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	int			i, fd;

	for (i = 0; i < broker.cfg.nsockets; i++) {
		fd = 3 + i;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
			log_err("socket activation: fd %d: %s", fd,
			    strerror(errno));
			return -1;
		}
		if (add_listener(fd) == -1)
			return -1;
	}
	if (getsockname(3, (struct sockaddr *)&ss, &sl) == -1) {
		log_err("socket activation: fd 3: %s", strerror(errno));
		return -1;
	}
	switch (ss.ss_family) {
	case AF_UNIX: {
		const struct sockaddr_un	*sun = (void *)&ss;

		if (sl > offsetof(struct sockaddr_un, sun_path) &&
		    sun->sun_path[0] != '\0')
			snprintf(activated_path, sizeof(activated_path), "%.*s",
			    (int)(sl - offsetof(struct sockaddr_un,
			    sun_path)), sun->sun_path);
		else
			snprintf(activated_path, sizeof(activated_path),
			    "(unnamed)");
		break;
	}
	case AF_INET:
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    host, hostlen);
		bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, hostlen);
		bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		break;
	default:
		snprintf(host, hostlen, "localhost");
		break;
	}
	log_info("socket activation: listening on %d inherited socket(s)",
	    broker.cfg.nsockets);
	return 0;
}

int
listen_start(void)
{
	char	host[NI_MAXHOST];
	int	r;

	snprintf(host, sizeof(host), "%s", broker.cfg.ipaddr ?
	    broker.cfg.ipaddr : "localhost");
	if (broker.cfg.nsockets > 0) {
		if ((r = listen_activated(host, sizeof(host))) == 0)
			make_uri(host);
		return r;
	}
	if (broker.cfg.unix_private) {
		char	tmpl[] = "/tmp/nbdbrokerXXXXXX";

		if (mkdtemp(tmpl) == NULL) {
			log_err("mkdtemp: %s", strerror(errno));
			return -1;
		}
		broker.tmpdir = strdup(tmpl);
		if (asprintf(&broker.cfg.unix_path, "%s/socket", tmpl) == -1)
			return -1;
	}
	if (broker.cfg.unix_path != NULL)
		r = listen_unix(broker.cfg.unix_path);
	else
		r = listen_tcp(broker.cfg.ipaddr,
		    broker.cfg.port ? broker.cfg.port : "10809");
	if (r == 0)
		make_uri(host);
	return r;
}

int
listen_port(void)
{
	return bound_port;
}

const char *
listen_uri(void)
{
	return uri;
}

/* -s: the one client is on stdin (reads) and stdout (writes). */
int
listen_single(void)
{
	int	in, out;

	in = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (in == -1 || out == -1) {
		log_err("-s: %s", strerror(errno));
		return -1;
	}
	/* Nothing else may write to stdout now. */
	{
		int	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (nul == -1 || dup2(nul, STDOUT_FILENO) == -1)
			return -1;
		close(nul);
	}
	return conn_new(in, out, NULL, 0) != NULL ? 0 : -1;
}

void
listen_stop(void)
{
	static bool	stopped;
	size_t		i;

	if (stopped)
		return;
	stopped = true;

	for (i = 0; i < nlisteners; i++) {
		event_free(listeners[i].ev);
		event_free(listeners[i].ev_retry);
		close(listeners[i].fd);
	}
	nlisteners = 0;
	if (broker.cfg.unix_path != NULL && !broker.cfg.single)
		unlink(broker.cfg.unix_path);
	if (broker.tmpdir != NULL) {
		rmdir(broker.tmpdir);
		free(broker.tmpdir);
		broker.tmpdir = NULL;
	}
}
