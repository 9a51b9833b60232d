/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP connections a worker makes, made by the broker on its behalf, to
 * the hosts its parameters name and nothing else.
 *
 * Landlock can limit the ports a worker connects to, not the hosts.  A
 * policy with [network] hosts = ${NAME} (policy/resolve.c resolved the
 * host of each value to addresses at start-up, getaddrinfo in the
 * broker) makes the worker's start-up filter hand every connect call
 * to the broker (POLICY_NOTIFY_CONNECT, policy/seccomp.c), in both
 * stages.  deny_notify() calls behalf_connect() here:
 *
 *   1. the worker's socket is copied into the broker (pidfd_getfd): a
 *      socket that is not AF_INET or AF_INET6 (a Unix socket) goes on
 *      as before (CONTINUE: seccomp and Landlock decide);
 *   2. the address is read from the worker's memory, and the
 *      notification checked still valid (what was read is the waiting
 *      thread's);
 *   3. only a TCP socket, to an address of p->addrs (an IPv4-mapped
 *      IPv6 address counts as IPv4) and a tcp-connect port, passes;
 *      anything else (another host, another port, UDP) gets the
 *      policy's errno (EACCES under default = allow) and a line in the
 *      log naming the rule;
 *   4. the broker connects a new socket of the same family and
 *      protocol, with the worker's TCP_NODELAY and SO_KEEPALIVE, from
 *      the event loop (non-blocking, bounded by BEHALF_CONNECT_SECS):
 *      the broker never waits and the worker's thread waits in its
 *      connect call meanwhile;
 *   5. connected, the socket takes the place of the worker's under the
 *      same number (SECCOMP_IOCTL_NOTIF_ADDFD, SECCOMP_ADDFD_FLAG_SETFD;
 *      close-on-exec and O_NONBLOCK as the worker's were), and the call
 *      returns 0; failed, the call returns the connect's errno.
 *
 * The kernel never makes the worker's own connect to a TCP address, so
 * a thread that rewrites the address after the broker read it changes
 * nothing.  A non-blocking connect returns 0 (connected) or its errno,
 * never EINPROGRESS: the wait happened in the broker.  What the
 * worker did to its socket before connect beyond those options (bind,
 * other options) is not carried over.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#ifndef SECCOMP_ADDFD_FLAG_SETFD
#define SECCOMP_ADDFD_FLAG_SETFD	(1UL << 0)
#endif

/* How long the broker waits for a connection it makes for a worker. */
#define BEHALF_CONNECT_SECS	30

/* A connect the broker makes for a worker, pending in the event loop. */
struct behalf_conn {
	int		 listener;	/* a dup: the worker may be reaped */
	uint64_t	 id;		/* the notification */
	pid_t		 worker;
	int		 sock;		/* the broker's new socket */
	int		 fdno;		/* the worker's descriptor number */
	bool		 nonblock;	/* the worker's O_NONBLOCK */
	bool		 cloexec;	/* the worker's close-on-exec */
	char		 dest[80];	/* "127.0.0.1:10809", for the log */
	struct event	*ev;
	TAILQ_ENTRY(behalf_conn) link;	/* pending */
};

/* Connects still pending, for behalf_connect_stop(). */
static TAILQ_HEAD(, behalf_conn)	pending =
    TAILQ_HEAD_INITIALIZER(pending);

/* The address and port of sa (AF_INET or AF_INET6), as policy_addr. */
static int
dest_of(const struct sockaddr_storage *ss, socklen_t len,
    struct policy_addr *a, uint16_t *port)
{
	const struct sockaddr_in	*s4 = (const void *)ss;
	const struct sockaddr_in6	*s6 = (const void *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET && len >= sizeof(*s4)) {
		a->family = AF_INET;
		memcpy(a->addr, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6 && len >= sizeof(*s6)) {
		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a->family = AF_INET;
			memcpy(a->addr, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->addr, &s6->sin6_addr, 16);
		}
	} else
		return -1;
	return 0;
}

static void
dest_text(const struct policy_addr *a, uint16_t port, char *buf,
    size_t len)
{
	char	ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family, a->addr, ip, sizeof(ip));
	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
	    (unsigned)port);
}

/* The hosts rule, for messages: "${hostname}=127.0.0.1 (127.0.0.1)". */
static void
hosts_text(const struct policy *p, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];
	size_t	i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < p->naddrs && n < len; i++) {
		inet_ntop(p->addrs[i].family, p->addrs[i].addr, ip,
		    sizeof(ip));
		n += snprintf(buf + n, len - n, "%s%s=%s (%s)", i ? ", " : "",
		    p->addrs[i].ref, p->addrs[i].host, ip);
	}
	if (p->naddrs == 0)
		snprintf(buf, len, "no host (no parameter of the hosts "
		    "rule was given)");
}

/* Is the worker's descriptor fdno close-on-exec (/proc/PID/fdinfo)? */
static bool
fd_cloexec(pid_t pid, int fdno)
{
	char		 path[64], line[128];
	unsigned long	 flags;
	FILE		*fp;
	bool		 r = false;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fdno);
	/* pid may be a thread: its fdinfo is its process's table. */
	if ((fp = fopen(path, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "flags: %lo", &flags) == 1) {
			r = (flags & O_CLOEXEC) != 0;
			break;
		}
	fclose(fp);
	return r;
}

/* The process (thread group) of thread tid, or -1. */
static pid_t
thread_group(pid_t tid)
{
	char	 path[64], line[128];
	FILE	*fp;
	int	 tgid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(fp);
	return tgid;
}

static void
answer(int listener, uint64_t id, pid_t worker, int err)
{
	struct seccomp_notif_resp	resp;

	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	resp.error = -err;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
	    errno != ENOENT)
		log_warn("worker %d: sandbox: answering a notification: %s",
		    (int)worker, strerror(errno));
}

static void
conn_free(struct behalf_conn *bc)
{
	if (bc->ev != NULL) {
		TAILQ_REMOVE(&pending, bc, link);
		event_free(bc->ev);
	}
	if (bc->sock != -1)
		close(bc->sock);
	close(bc->listener);
	free(bc);
}

/* Connected (or failed): hand the socket over, or the errno. */
static void
conn_done(struct behalf_conn *bc, int err)
{
	struct seccomp_notif_addfd	add;
	int				fl;

	if (err != 0) {
		log_debug("worker %d: sandbox: connect to %s on the worker's "
		    "behalf: %s", (int)bc->worker, bc->dest, strerror(err));
		answer(bc->listener, bc->id, bc->worker, err);
		conn_free(bc);
		return;
	}
	if ((fl = fcntl(bc->sock, F_GETFL)) != -1 && !bc->nonblock)
		(void)fcntl(bc->sock, F_SETFL, fl & ~O_NONBLOCK);
	memset(&add, 0, sizeof(add));
	add.id = bc->id;
	add.flags = SECCOMP_ADDFD_FLAG_SETFD;
	add.srcfd = (__u32)bc->sock;
	add.newfd = (__u32)bc->fdno;
	add.newfd_flags = bc->cloexec ? O_CLOEXEC : 0;
	/*
	 * Not with SECCOMP_ADDFD_FLAG_SEND: that answers the call with the
	 * descriptor's number, and connect returns 0.
	 */
	if (ioctl(bc->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) == -1) {
		if (errno != ENOENT)
			log_warn("worker %d: sandbox: installing the socket "
			    "connected to %s: %s", (int)bc->worker, bc->dest,
			    strerror(errno));
		answer(bc->listener, bc->id, bc->worker, errno == ENOENT ?
		    ENOENT : ECONNABORTED);
	} else {
		log_debug("worker %d: sandbox: connected descriptor %d to %s "
		    "on the worker's behalf", (int)bc->worker, bc->fdno,
		    bc->dest);
		answer(bc->listener, bc->id, bc->worker, 0);
	}
	conn_free(bc);
}

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
	struct behalf_conn	*bc = arg;
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	conn_done(bc, err);
}

/* Copy option (level, name) from the worker's socket to the new one. */
static void
copy_opt(int from, int to, int level, int name)
{
	socklen_t	len = sizeof(int);
	int		v;

	if (getsockopt(from, level, name, &v, &len) == 0 && v != 0)
		(void)setsockopt(to, level, name, &v, sizeof(v));
}

/*
 * The broker cannot look at the worker's socket (Linux before 5.6 has
 * no pidfd_getfd; valgrind 3.19 does not know it): the connect fails
 * closed (EPERM).  Said once, as an error, naming the call.
 */
static void
unusable(pid_t worker, const char *call)
{
	static bool	said;

	if (said)
		return;
	said = true;
	log_err("worker %d: sandbox: cannot connect on the worker's behalf: "
	    "%s: %s; its TCP connects fail (EPERM) while the policy names "
	    "hosts", (int)worker, call, strerror(errno));
}

/*
 * A connect call from worker (deny_notify found it under [network]
 * hosts).  Returns 1 if answered (or to be answered from the event
 * loop), 0 if not a TCP/IP socket (the caller lets it go on).
 */
int
behalf_connect(int listener, const struct seccomp_notif *req, pid_t worker,
    bool in_serving, struct deny_log **dl)
{
	const struct policy	*p = policy_load_parsed();
	struct sockaddr_storage	 ss;
	struct behalf_conn	*bc;
	struct policy_addr	 a;
	struct timeval		 tv = { BEHALF_CONNECT_SECS, 0 };
	socklen_t		 len = sizeof(int);
	char			 mem[64], dest[80], hosts[512], text[1024];
	char			 k[128];
	const char		*why = NULL, *stage;
	uint64_t		 alen = req->data.args[2];
	uint16_t		 port = 0;
	size_t			 i;
	bool			 why_port = false;
	int			 fdno = (int)req->data.args[0], pidfd, wsock;
	pid_t			 tgid;
	int			 memfd, dom = 0, type = 0, proto = 0, err, fl;
	int			 refuse, line;

	/*
	 * req->pid is the calling thread; pidfd_open wants its process.
	 * Whatever fails here fails the call: going on would let the
	 * kernel connect a TCP socket the broker has not checked.
	 */
	if ((tgid = thread_group(req->pid)) == -1 ||
	    (pidfd = syscall(SYS_pidfd_open, tgid, 0)) == -1) {
		unusable(worker, "pidfd_open");
		answer(listener, req->id, worker, EPERM);
		return 1;
	}
	wsock = syscall(SYS_pidfd_getfd, pidfd, fdno, 0);
	err = errno;
	close(pidfd);
	if (wsock == -1) {
		/* EBADF: the worker's own connect would say so. */
		if (err != EBADF) {
			errno = err;
			unusable(worker, "pidfd_getfd");
		}
		answer(listener, req->id, worker, err == EBADF ? EBADF :
		    EPERM);
		return 1;
	}
	if (getsockopt(wsock, SOL_SOCKET, SO_DOMAIN, &dom, &len) == -1 ||
	    (dom != AF_INET && dom != AF_INET6)) {
		close(wsock);
		return 0;	/* a Unix socket, or no socket */
	}
	len = sizeof(int);
	(void)getsockopt(wsock, SOL_SOCKET, SO_TYPE, &type, &len);
	len = sizeof(int);
	(void)getsockopt(wsock, SOL_SOCKET, SO_PROTOCOL, &proto, &len);

	/* The address, as the waiting thread passed it. */
	memset(&ss, 0, sizeof(ss));
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)req->pid);
	if (alen > sizeof(ss) || alen < sizeof(sa_family_t) ||
	    (memfd = open(mem, O_RDONLY | O_CLOEXEC)) == -1) {
		close(wsock);
		answer(listener, req->id, worker, alen > sizeof(ss) ||
		    alen < sizeof(sa_family_t) ? EINVAL : EFAULT);
		return 1;
	}
	err = pread(memfd, &ss, alen, (off_t)req->data.args[1]) ==
	    (ssize_t)alen ? 0 : EFAULT;
	close(memfd);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == -1) {
		close(wsock);
		return 1;	/* the thread is gone */
	}
	if (err != 0) {
		close(wsock);
		answer(listener, req->id, worker, err);
		return 1;
	}

	/* The rule: a TCP socket, to a host's address and port. */
	if (dest_of(&ss, alen, &a, &port) == -1) {
		snprintf(dest, sizeof(dest), "address family %u",
		    (unsigned)ss.ss_family);
		why = "not an IPv4 or IPv6 address";
	} else {
		dest_text(&a, port, dest, sizeof(dest));
		if (type != SOCK_STREAM)
			why = "not a TCP socket (only TCP to the hosts)";
	}
	if (why == NULL) {
		for (i = 0; i < p->naddrs; i++)
			if (p->addrs[i].family == a.family &&
			    memcmp(p->addrs[i].addr, a.addr, 16) == 0)
				break;
		if (i == p->naddrs)
			why = "not an address of a host the parameters name";
	}
	if (why == NULL) {
		for (i = 0; i < p->nports; i++)
			if (p->ports[i] == port)
				break;
		if (i == p->nports) {
			why = "not a tcp-connect port";
			why_port = true;
		}
	}
	if (why != NULL) {
		/* The policy's errno; never 0 (default = allow). */
		refuse = p->dflt == POLICY_DEFAULT_ERRNO && p->dflt_errno > 0 ?
		    p->dflt_errno : EACCES;
		close(wsock);
		hosts_text(p, hosts, sizeof(hosts));
		stage = in_serving ? "serving" : "startup";
		line = why_port ? p->net_line : p->hosts_line;
		snprintf(text, sizeof(text), "worker %d (plugin %s): sandbox: "
		    "%s connect to %s: refused (%s): %s; hosts: %s; "
		    "stage=%s policy=%s%s%.0d", (int)worker,
		    deny_plugin(worker), stage, dest, strerror(refuse), why,
		    hosts, stage, policy_own_file(p), line > 0 ? " line=" : "",
		    line);
		snprintf(k, sizeof(k), "connect %.100s", dest);
		deny_report(true, dl, k, text);
		answer(listener, req->id, worker, refuse);
		return 1;
	}

	/* Connect in the broker, from the event loop. */
	if ((bc = calloc(1, sizeof(*bc))) == NULL) {
		close(wsock);
		answer(listener, req->id, worker, ENOMEM);
		return 1;
	}
	bc->sock = -1;
	bc->id = req->id;
	bc->worker = worker;
	bc->fdno = fdno;
	snprintf(bc->dest, sizeof(bc->dest), "%s", dest);
	bc->nonblock = (fl = fcntl(wsock, F_GETFL)) != -1 &&
	    (fl & O_NONBLOCK);
	bc->cloexec = fd_cloexec(req->pid, fdno);
	if ((bc->listener = fcntl(listener, F_DUPFD_CLOEXEC, 3)) == -1) {
		err = errno;
		close(wsock);
		free(bc);
		answer(listener, req->id, worker, err);
		return 1;
	}
	bc->sock = socket(dom, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    proto);
	if (bc->sock == -1) {
		close(wsock);
		conn_done(bc, errno);
		return 1;
	}
	copy_opt(wsock, bc->sock, IPPROTO_TCP, TCP_NODELAY);
	copy_opt(wsock, bc->sock, SOL_SOCKET, SO_KEEPALIVE);
	close(wsock);
	if (connect(bc->sock, (struct sockaddr *)&ss, alen) == 0) {
		conn_done(bc, 0);
		return 1;
	}
	if (errno != EINPROGRESS) {
		conn_done(bc, errno);
		return 1;
	}
	bc->ev = event_new(broker.base, bc->sock, EV_WRITE, conn_event, bc);
	if (bc->ev == NULL) {
		conn_done(bc, ENOMEM);
		return 1;
	}
	TAILQ_INSERT_TAIL(&pending, bc, link);
	if (event_add(bc->ev, &tv) == -1)
		conn_done(bc, ENOMEM);
	return 1;
}

/*
 * Shutting down: answer the connects still pending (the workers are
 * being stopped) and free them.
 */
void
behalf_connect_stop(void)
{
	struct behalf_conn	*bc;

	while ((bc = TAILQ_FIRST(&pending)) != NULL)
		conn_done(bc, ECONNABORTED);
}
