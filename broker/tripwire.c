/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tripwires: each worker's seccomp listener, watched by the broker.
 *
 * Per worker: a socketpair whose far end is the worker's
 * POLICY_NOTIFY_FD.  Before it dlopens the plugin, the worker sends
 * its seccomp listener over it.  A tripwire makes the kernel park the
 * offending thread and queue a notification on the listener; the
 * broker logs which syscall it was (from the kernel, so the plugin
 * cannot forge or suppress it), which plugin and which policy, and
 * kills the worker.  The plugin never holds the listener.
 *
 * Runs in the event loop; never blocks: the listener is read only
 * when poll() says a notification is pending (it then returns at once,
 * or ENOENT if the thread died meanwhile).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "fd.h"
#include "log.h"
#include "policy.h"

/* One worker's tripwire channel and listener. */
struct tripwire {
	pid_t		 pid;
	int		 chan;		/* -1 once the listener arrived */
	int		 listener;	/* -1: none (yet) */
	struct event	*ev_chan;
	struct event	*ev_listener;
	int		 stage;		/* --learn-policy: POLICY_STAGE_* */
	struct deny_log	*deny;		/* what the sandbox denied it */
	int		 killed_nr;	/* -1: not killed by a tripwire */
	char		 killed_name[64];
	struct tripwire	*next;
};

static struct tripwire	*tripwires;

static struct tripwire *
tw_find(pid_t pid)
{
	struct tripwire	*tw;

	for (tw = tripwires; tw != NULL; tw = tw->next)
		if (tw->pid == pid)
			return tw;
	return NULL;
}

static void
tw_close(struct tripwire *tw)
{
	if (tw->ev_chan != NULL)
		event_free(tw->ev_chan);
	if (tw->ev_listener != NULL)
		event_free(tw->ev_listener);
	tw->ev_chan = tw->ev_listener = NULL;
	if (tw->chan != -1)
		close(tw->chan);
	if (tw->listener != -1)
		close(tw->listener);
	tw->chan = tw->listener = -1;
}

static void
tw_free(struct tripwire *tw)
{
	struct tripwire	**pp;

	for (pp = &tripwires; *pp != NULL; pp = &(*pp)->next)
		if (*pp == tw) {
			*pp = tw->next;
			break;
		}
	tw_close(tw);
	deny_reaped(tw->pid, 0, &tw->deny);
	free(tw);
}

/* The worker is gone: its listener has nothing more to say. */
static void
tw_drop_listener(struct tripwire *tw)
{
	event_free(tw->ev_listener);
	tw->ev_listener = NULL;
	close(tw->listener);
	tw->listener = -1;
}

static const char *
plugin_name(void)
{
	if (broker.be != NULL && broker.be->plugin_name != NULL)
		return broker.be->plugin_name;
	return broker.cfg.plugin_arg;
}

static const char *
policy_file(void)
{
	return policy_load_parsed()->file;
}

/*
 * Where the policy makes syscall nr a tripwire, for the log line's
 * tail: " key=kill line=N", " key=kill group=@G", " key=default".
 */
static void
kill_line(int nr, char *buf, size_t len)
{
	const struct policy	*p = policy_load_parsed();
	size_t			 i;

	snprintf(buf, len, " key=default");
	for (i = 0; p != NULL && i < p->nsc; i++) {
		if (p->sc[i].nr != nr || !p->sc[i].kill)
			continue;
		if (p->sc[i].kill_line > 0)
			snprintf(buf, len, " key=kill line=%d%s%s",
			    p->sc[i].kill_line, p->sc[i].kill_via ? " group=" :
			    "", p->sc[i].kill_via ? p->sc[i].kill_via : "");
		else
			snprintf(buf, len, " key=kill%s%s", p->sc[i].kill_via ?
			    " via=" : "", p->sc[i].kill_via ?
			    p->sc[i].kill_via : "");
		break;
	}
}

/* Answer a notification with 0 (the syscall is not made). */
static void
answer(int fd, uint64_t id)
{
	struct seccomp_notif_resp	resp;

	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
	    errno != ENOENT)
		log_warn("sandbox: answering a notification: %s",
		    strerror(errno));
}

/*
 * A notification: dispatch by what the filter asked.  Tripwires are
 * named and kill the worker; the rest is learn.c's (--learn-policy) or
 * deny.c's (denials, paths).
 */
static void
listener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tripwire		*tw = arg;
	struct seccomp_notif	 req;
	struct pollfd		 pfd;
	char			*name, where[64];

	(void)what;
	/*
	 * Readable may mean "no filter users left" (POLLHUP, the worker
	 * is dead); then SECCOMP_IOCTL_NOTIF_RECV would block.  Only a
	 * pending notification (POLLIN) makes it return at once.
	 */
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN)) {
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			tw_drop_listener(tw);
		return;
	}
	/*
	 * The ioctl itself, not libseccomp's seccomp_notify_*(): those
	 * refuse to work unless the seccomp() syscall answers a feature
	 * probe, which it does not under valgrind (make check-valgrind),
	 * and the broker needs nothing else from them.  The kernel wants
	 * the buffer zeroed.
	 */
	memset(&req, 0, sizeof(req));
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) == -1) {
		if (errno == ENOENT || errno == EINTR)
			return;		/* the thread died meanwhile */
		/* All filter users are gone: the worker is dead. */
		tw_drop_listener(tw);
		return;
	}
	if (req.data.nr == POLICY_STAGE_MARK) {
		/* Start-up is over: the worker says so, in order. */
		tw->stage = POLICY_STAGE_SERVING;
		answer(fd, req.id);
		return;
	}
	if (learn_active()) {
		/* Learning: no tripwires, every syscall is recorded. */
		learn_notify(fd, &req, tw->pid, tw->stage);
		return;
	}
	if (deny_handles(&req)) {
		/* Denied by default, or a path: answered, explained. */
		deny_notify(fd, &req, tw->pid, tw->stage, &tw->deny);
		return;
	}
	if (tw->killed_nr >= 0) {
		/* Another thread tripped too (setuid() in every thread). */
		kill(tw->pid, SIGKILL);
		return;
	}
	name = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
	snprintf(tw->killed_name, sizeof(tw->killed_name), "%s",
	    name ? name : "?");
	free(name);
	tw->killed_nr = req.data.nr;
	metrics_worker_cause(tw->pid, MX_DEATH_TRIPWIRE);
	kill_line(req.data.nr, where, sizeof(where));
	log_err("worker %d (plugin %s, policy %s): sandbox: killed for "
	    "syscall %d (%s); syscall=%s nr=%d stage=%s policy=%s%s",
	    (int)tw->pid, plugin_name(), policy_file(), tw->killed_nr,
	    tw->killed_name, tw->killed_name, tw->killed_nr,
	    tw->stage == POLICY_STAGE_SERVING ? "serving" : "startup",
	    policy_file(), where);
	/* The thread stays parked in the syscall until the kill lands. */
	kill(tw->pid, SIGKILL);
}

/* The worker sends its listener (or closes the channel: none). */
static void
chan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tripwire	*tw = arg;
	char		 byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec	 iov = { &byte, 1 };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 lfd = -1;

	(void)what;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm != NULL;
	    cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
	event_free(tw->ev_chan);
	tw->ev_chan = NULL;
	close(tw->chan);
	tw->chan = -1;
	if (lfd == -1) {
		if (n > 0)
			log_warn("worker %d: sandbox channel message without "
			    "a listener", (int)tw->pid);
		return;		/* no tripwires (log mode, no kill list) */
	}
	tw->listener = lfd;
	tw->ev_listener = event_new(broker.base, lfd, EV_READ | EV_PERSIST,
	    listener_cb, tw);
	if (tw->ev_listener == NULL || event_add(tw->ev_listener, NULL) == -1) {
		log_err("worker %d: cannot watch the sandbox listener; "
		    "killing the worker", (int)tw->pid);
		kill(tw->pid, SIGKILL);
	}
	log_debug("worker %d: sandbox listener received", (int)tw->pid);
}

/*
 * Before spawning a worker: the sandbox channel.  *child goes to the
 * worker as POLICY_NOTIFY_FD; the caller closes it after the spawn and
 * passes *parent to tripwire_watch().
 */
int
tripwire_channel(int *parent, int *child)
{
	int	sv[2];

	*parent = *child = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	*parent = fd_move_high(sv[0]);
	*child = fd_move_high(sv[1]);
	if (*parent == -1 || *child == -1) {
		if (*parent != -1)
			close(*parent);
		if (*child != -1)
			close(*child);
		return -1;
	}
	return 0;
}

/* A worker was spawned with the channel's other end: watch it. */
void
tripwire_watch(pid_t pid, int parent)
{
	struct tripwire	*tw;

	if ((tw = calloc(1, sizeof(*tw))) == NULL) {
		log_err("worker %d: out of memory for its sandbox; killing "
		    "it", (int)pid);
		close(parent);
		kill(pid, SIGKILL);
		return;
	}
	tw->pid = pid;
	tw->stage = POLICY_STAGE_STARTUP;
	if (learn_active()) {
		learn_init();
		learn_worker();
	}
	tw->chan = parent;
	tw->listener = -1;
	tw->killed_nr = -1;
	tw->ev_chan = event_new(broker.base, parent, EV_READ | EV_PERSIST,
	    chan_cb, tw);
	if (tw->ev_chan == NULL || event_add(tw->ev_chan, NULL) == -1) {
		log_err("worker %d: cannot watch its sandbox channel; killing "
		    "it", (int)pid);
		kill(pid, SIGKILL);
	}
	tw->next = tripwires;
	tripwires = tw;
}

/*
 * A worker was reaped: forget its sandbox, and if its sandbox killed
 * it, say so in desc (which holds describe_status()'s text; NULL: the
 * caller only wants it forgotten).
 */
void
tripwire_reaped(pid_t pid, int status, char *desc, size_t len)
{
	struct tripwire	*tw = tw_find(pid);

	if (desc == NULL)
		;
	else if (tw != NULL && tw->killed_nr >= 0)
		snprintf(desc, len, "killed by its sandbox: syscall %d (%s) "
		    "is forbidden by policy %s", tw->killed_nr, tw->killed_name,
		    policy_file());
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(desc, len, "killed by signal %d (%s): a sandbox "
		    "violation the kernel does not name (a foreign "
		    "architecture's syscall, or one policy %s allows only at "
		    "start-up)", SIGSYS, strsignal(SIGSYS), policy_file());
	if (tw != NULL) {
		deny_reaped(pid, status, &tw->deny);
		tw_free(tw);
	}
}

/*
 * What the sandbox last denied worker pid while serving, if after
 * since (deny_seq()): into buf, true.  For the log line of an open
 * that failed (nbd-handshake.c).
 */
bool
tripwire_denied(pid_t pid, uint64_t since, char *buf, size_t len)
{
	struct tripwire	*tw = tw_find(pid);

	return tw != NULL && deny_last(tw->deny, since, buf, len);
}

/*
 * A NUL-terminated string at addr in a notifying worker's memory
 * (memfd: its /proc/PID/mem), into buf: 0, or -1 if it is unreadable or
 * longer than buf.  Shared by the learn and deny handlers.
 */
int
notif_read_string(int memfd, uint64_t addr, char *buf, size_t len)
{
	size_t	got = 0, chunk;
	ssize_t	n;

	while (got < len - 1) {
		/* Up to the page end: the next page may not be mapped. */
		chunk = 4096 - ((addr + got) & 4095);
		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		n = pread(memfd, buf + got, chunk, (off_t)(addr + got));
		if (n <= 0)
			return -1;
		if (memchr(buf + got, '\0', n) != NULL)
			return 0;
		got += n;
	}
	return -1;
}

/*
 * The path worker pid names by (dfd, rel), made absolute from the
 * broker's point of view (its /proc/self and /proc/thread-self are the
 * worker's; a relative path joins its cwd or dfd), not yet resolved,
 * into out: 0, or -1 if dfd names no directory.
 */
int
notif_join_path(pid_t pid, int dfd, const char *rel, char *out, size_t len)
{
	char	 link[64], dir[PATH_MAX];
	ssize_t	 n;

	if (strncmp(rel, "/proc/self/", 11) == 0)
		snprintf(out, len, "/proc/%d/%s", (int)pid, rel + 11);
	else if (strncmp(rel, "/proc/thread-self/", 18) == 0)
		snprintf(out, len, "/proc/%d/task/%d/%s", (int)pid, (int)pid,
		    rel + 18);
	else if (rel[0] == '/')
		snprintf(out, len, "%s", rel);
	else {
		if (dfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
		else
			snprintf(link, sizeof(link), "/proc/%d/fd/%d",
			    (int)pid, dfd);
		if ((n = readlink(link, dir, sizeof(dir) - 1)) <= 0)
			return -1;
		dir[n] = '\0';
		if (dir[0] != '/')	/* a socket, a pipe: no directory */
			return -1;
		snprintf(out, len, "%s/%s", dir, rel);
	}
	return 0;
}

/*
 * Shutdown, the event loop over: wait ms milliseconds for workers to
 * exit.  Their notified syscalls while they unload the plugin (all of
 * them while learning; denials and path calls under enforce) still
 * wait for the broker's answer: keep answering them meanwhile.
 */
void
tripwire_wait(int ms)
{
	struct pollfd	 pfd[64];
	struct tripwire	*tw, *by[64];
	struct timespec	 t0, t;
	nfds_t		 n, i;
	int		 left = ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left > 0) {
		n = 0;
		for (tw = tripwires; tw != NULL && n < 64; tw = tw->next)
			if (tw->listener != -1) {
				pfd[n].fd = tw->listener;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				by[n++] = tw;
			}
		if (n == 0) {
			usleep(left * 1000);
			return;
		}
		if (poll(pfd, n, left) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents != 0)
					listener_cb(pfd[i].fd, EV_READ, by[i]);
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
}

/* Shutdown: close every channel and listener. */
void
tripwire_stop(void)
{
	learn_stop();
	while (tripwires != NULL)
		tw_free(tripwires);
}

