/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The broker's side of worker sandboxing.
 *
 * Start-up: find the policy for the plugin (--policy FILE, else
 * PLUGIN.policy, else default.policy, in --policy-dir or the policy
 * directories), parse and resolve it, merge the policy of each
 * --filter into it (FILTER.policy, if there is one), and keep its wire
 * form for every worker's Config.  No policy found, or one that does
 * not parse, resolve or merge, stops the server: there is no
 * unsandboxed fallback.
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
#include <linux/seccomp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif
#define SANDBOX_POLICY_SUBDIR	"/nbdbroker/policies"

/* One worker's sandbox channel and listener. */
struct sbx {
	pid_t		 pid;
	int		 chan;		/* -1 once the listener arrived */
	int		 listener;	/* -1: none (yet) */
	struct event	*ev_chan;
	struct event	*ev_listener;
	int		 killed_nr;	/* -1: not killed by a tripwire */
	char		 killed_name[64];
	struct sbx	*next;
};

static struct policy	*policy;	/* resolved */
static uint8_t		*policy_wire;
static size_t		 policy_wire_len;
static struct sbx	*sbxs;

static struct sbx *
sbx_find(pid_t pid)
{
	struct sbx	*s;

	for (s = sbxs; s != NULL; s = s->next)
		if (s->pid == pid)
			return s;
	return NULL;
}

static void
sbx_close(struct sbx *s)
{
	if (s->ev_chan != NULL)
		event_free(s->ev_chan);
	if (s->ev_listener != NULL)
		event_free(s->ev_listener);
	s->ev_chan = s->ev_listener = NULL;
	if (s->chan != -1)
		close(s->chan);
	if (s->listener != -1)
		close(s->listener);
	s->chan = s->listener = -1;
}

static void
sbx_free(struct sbx *s)
{
	struct sbx	**pp;

	for (pp = &sbxs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	sbx_close(s);
	free(s);
}

static const char *
plugin_name(void)
{
	if (broker.be != NULL && broker.be->plugin_name != NULL)
		return broker.be->plugin_name;
	return broker.cfg.plugin_arg;
}

/* A tripwire fired: name it, kill the worker. */
static void
listener_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sbx		*s = arg;
	struct seccomp_notif	 req;
	struct pollfd		 pfd;
	char			*name;

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
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			event_free(s->ev_listener);
			s->ev_listener = NULL;
			close(s->listener);
			s->listener = -1;
		}
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
		event_free(s->ev_listener);
		s->ev_listener = NULL;
		close(s->listener);
		s->listener = -1;
		return;
	}
	if (s->killed_nr >= 0) {
		/* Another thread tripped too (setuid() in every thread). */
		kill(s->pid, SIGKILL);
		return;
	}
	name = seccomp_syscall_resolve_num_arch(req.data.arch, req.data.nr);
	snprintf(s->killed_name, sizeof(s->killed_name), "%s",
	    name ? name : "?");
	free(name);
	s->killed_nr = req.data.nr;
	log_err("worker %d (plugin %s, policy %s): sandbox: killed for "
	    "syscall %d (%s)", (int)s->pid, plugin_name(), policy->file,
	    s->killed_nr, s->killed_name);
	/* The thread stays parked in the syscall until the kill lands. */
	kill(s->pid, SIGKILL);
}

/* The worker sends its listener (or closes the channel: none). */
static void
chan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sbx	*s = arg;
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
	event_free(s->ev_chan);
	s->ev_chan = NULL;
	close(s->chan);
	s->chan = -1;
	if (lfd == -1) {
		if (n > 0)
			log_warn("worker %d: sandbox channel message without "
			    "a listener", (int)s->pid);
		return;		/* no tripwires (log mode, no kill list) */
	}
	s->listener = lfd;
	s->ev_listener = event_new(broker.base, lfd, EV_READ | EV_PERSIST,
	    listener_cb, s);
	if (s->ev_listener == NULL || event_add(s->ev_listener, NULL) == -1) {
		log_err("worker %d: cannot watch the sandbox listener; "
		    "killing the worker", (int)s->pid);
		kill(s->pid, SIGKILL);
	}
	log_debug("worker %d: sandbox listener received", (int)s->pid);
}

static int
high_fd(int fd)
{
	int	hi;

	if (fd == -1 || fd >= 10)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	return hi;
}

/*
 * Before spawning a worker: the sandbox channel.  *child goes to the
 * worker as POLICY_NOTIFY_FD; the caller closes it after the spawn and
 * passes *parent to sandbox_spawned().
 */
int
sandbox_channel(int *parent, int *child)
{
	int	sv[2];

	*parent = *child = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	*parent = high_fd(sv[0]);
	*child = high_fd(sv[1]);
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
sandbox_spawned(pid_t pid, int parent)
{
	struct sbx	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_err("worker %d: out of memory for its sandbox; killing "
		    "it", (int)pid);
		close(parent);
		kill(pid, SIGKILL);
		return;
	}
	s->pid = pid;
	s->chan = parent;
	s->listener = -1;
	s->killed_nr = -1;
	s->ev_chan = event_new(broker.base, parent, EV_READ | EV_PERSIST,
	    chan_cb, s);
	if (s->ev_chan == NULL || event_add(s->ev_chan, NULL) == -1) {
		log_err("worker %d: cannot watch its sandbox channel; killing "
		    "it", (int)pid);
		kill(pid, SIGKILL);
	}
	s->next = sbxs;
	sbxs = s;
}

/*
 * A worker was reaped: forget its sandbox, and if its sandbox killed
 * it, say so in desc (which holds describe_status()'s text; NULL: the
 * caller only wants it forgotten).
 */
void
sandbox_reaped(pid_t pid, int status, char *desc, size_t len)
{
	struct sbx	*s = sbx_find(pid);

	if (desc == NULL)
		;
	else if (s != NULL && s->killed_nr >= 0)
		snprintf(desc, len, "killed by its sandbox: syscall %d (%s) "
		    "is forbidden by policy %s", s->killed_nr, s->killed_name,
		    policy->file);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(desc, len, "killed by signal %d (%s): a sandbox "
		    "violation the kernel does not name (a foreign "
		    "architecture's syscall, or one policy %s allows only at "
		    "start-up)", SIGSYS, strsignal(SIGSYS), policy->file);
	if (s != NULL)
		sbx_free(s);
}

/* Shutdown: close every channel and listener. */
void
sandbox_stop(void)
{
	while (sbxs != NULL)
		sbx_free(sbxs);
}

/*
 * The export's policy as parsed and resolved, for the supervisor
 * ([restart], isolation).  Borrowed; valid until exit.
 */
const struct policy *
sandbox_policy_parsed(void)
{
	return policy;
}

/* The resolved policy's wire form, for Config.policy. */
const uint8_t *
sandbox_policy(size_t *len, const char **path)
{
	*len = policy_wire_len;
	*path = policy ? policy->file : "";
	return policy_wire;
}

/*
 * PLUGIN's policy name, from the .so it resolved to: "memory" for
 * nbdbroker-memory-plugin.so (bundled or not), "nbdkit-memory" for
 * nbdkit's nbdkit-memory-plugin.so (however it was named on the command
 * line: nbdkit:memory, a fallback, or a path), else the file name
 * without .so.
 */
static void
policy_name(char *buf, size_t len)
{
	const char	*base;
	size_t		 l;

	base = strrchr(broker.cfg.plugin_path, '/');
	base = base ? base + 1 : broker.cfg.plugin_path;
	if (strncmp(base, "nbdbroker-", 10) == 0)
		base += 10;
	snprintf(buf, len, "%s", base);
	if ((l = strlen(buf)) > 3 && strcmp(buf + l - 3, ".so") == 0)
		buf[l -= 3] = '\0';
	if (l > 7 && strcmp(buf + l - 7, "-plugin") == 0)
		buf[l - 7] = '\0';
}

/* Add each directory of a colon-separated list to dirs. */
static void
add_dirs(char *list, const char **dirs, size_t *nd, size_t max)
{
	char	*d, *save = NULL;

	for (d = strtok_r(list, ":", &save); d != NULL && *nd < max;
	    d = strtok_r(NULL, ":", &save))
		dirs[(*nd)++] = d;
}

/*
 * Look for NAME.policy in every policy directory, then (if fallback)
 * default.policy.  The directories: --policy-dir, else
 * $NBDBROKER_POLICY_DIR and $NBDBROKER_SRC_POLICY_DIR (colon-separated
 * lists; the build tree's ./nbdbroker sets them), else the installed
 * one.
 */
static char *
find_policy(const char *name, bool fallback, char *tried, size_t triedlen)
{
	static char	*lists[3];
	const char	*dirs[16];
	const char	*names[2] = { name, "default" };
	size_t		 nd = 0, i, k;
	char		 path[PATH_MAX];

	if (broker.cfg.policy_dir != NULL) {
		free(lists[0]);
		if ((lists[0] = strdup(broker.cfg.policy_dir)) != NULL)
			add_dirs(lists[0], dirs, &nd, 16);
	} else {
		const char	*e;

		if ((e = getenv("NBDBROKER_POLICY_DIR")) != NULL && *e) {
			free(lists[1]);
			if ((lists[1] = strdup(e)) != NULL)
				add_dirs(lists[1], dirs, &nd, 16);
		}
		if ((e = getenv("NBDBROKER_SRC_POLICY_DIR")) != NULL && *e) {
			free(lists[2]);
			if ((lists[2] = strdup(e)) != NULL)
				add_dirs(lists[2], dirs, &nd, 16);
		}
		if (nd == 0)
			dirs[nd++] = SYSCONFDIR SANDBOX_POLICY_SUBDIR;
	}
	tried[0] = '\0';
	for (k = 0; k < (fallback ? 2 : 1); k++)
		for (i = 0; i < nd; i++) {
			snprintf(path, sizeof(path), "%s/%s.policy", dirs[i],
			    names[k]);
			if (access(path, F_OK) == 0)
				return strdup(path);
			if (strlen(tried) + strlen(path) + 3 < triedlen) {
				if (tried[0] != '\0')
					strcat(tried, ", ");
				strcat(tried, path);
			}
		}
	return NULL;
}

static int
resolve(struct policy *p, char **args, size_t nargs, const char *plugin,
    bool check_only, char *err, size_t errlen)
{
	struct policy_param	*pv;
	struct policy_env	 env;
	char			 cwd[PATH_MAX];
	size_t			 i;
	int			 r;

	if ((pv = calloc(nargs + 1, sizeof(*pv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nargs; i++) {
		/* Split as the worker will (nbdkit's rule). */
		const char	*eq = cli_param_split(args[i]);

		if (eq != NULL) {
			if ((pv[i].key = strndup(args[i], eq - args[i])) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				r = -1;
				goto out;
			}
			pv[i].value = eq + 1;
		} else
			pv[i].value = args[i];
	}
	memset(&env, 0, sizeof(env));
	env.params = pv;
	env.nparams = nargs;
	env.cwd = getcwd(cwd, sizeof(cwd));
	env.plugin_path = plugin;
	env.root = geteuid() == 0;
	env.check_only = check_only;
	r = policy_resolve(p, &env, err, errlen);
 out:
	for (i = 0; i < nargs; i++)
		free((char *)pv[i].key);
	free(pv);
	return r;
}

/*
 * Merge the policy of each --filter into p (policy/merge.c: the union
 * of what they allow), and let the worker read each filter's .so at
 * start-up.  A filter's policy is nbdkit-NAME-filter.policy (for
 * nbdkit's nbdkit-NAME-filter.so) in the policy directories; a filter
 * without one needs nothing the plugin's policy does not give.
 * Returns 0, or -1 with err set.
 */
static int
merge_filter_policies(struct policy *p, char **args, size_t nargs,
    bool check_only, char *err, size_t errlen)
{
	const struct config	*cfg = &broker.cfg;
	struct policy		*q;
	char			 tried[2048], *name, *path;
	size_t			 i;
	int			 r;

	for (i = 0; i < cfg->nfilters; i++) {
		/*
		 * Like the loader's paths, what the worker itself needs (so
		 * "optional"): no grant a root worker keeps its DAC
		 * capabilities at start-up for.
		 */
		if (policy_add_path(p, cfg->filter_paths[i],
		    POLICY_ACCESS_READ, true, true, "a filter") == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		name = cli_filter_policy_name(cfg->filter_paths[i]);
		path = find_policy(name, false, tried, sizeof(tried));
		if (path == NULL) {
			log_debug("filter %s: no policy of its own (looked "
			    "for %s): the plugin's covers it", cfg->filters[i],
			    tried);
			free(name);
			continue;
		}
		free(name);
		if ((q = policy_parse_file(path, err, errlen)) == NULL) {
			free(path);
			return -1;
		}
		free(path);
		r = resolve(q, args, nargs, NULL, check_only, err, errlen);
		if (r == 0)
			r = policy_merge(p, q, err, errlen);
		policy_free(q);
		if (r == -1)
			return -1;
	}
	return 0;
}

/*
 * Start-up: load, resolve and encode the export's policy, or exit.
 * Called once the plugin path is known, before any worker starts.
 */
void
sandbox_load(void)
{
	struct config	*cfg = &broker.cfg;
	char		 name[256], tried[2048], err[1024];
	char		*path;

	if (cfg->policy_path != NULL)
		path = strdup(cfg->policy_path);
	else {
		policy_name(name, sizeof(name));
		if ((path = find_policy(name, true, tried, sizeof(tried))) ==
		    NULL)
			fatalx("no sandbox policy for plugin %s (looked for "
			    "%s); give one with --policy FILE",
			    cfg->plugin_arg, tried);
	}
	if (path == NULL)
		fatal("strdup");
	if ((policy = policy_parse_file(path, err, sizeof(err))) == NULL)
		fatalx("sandbox policy: %s", err);
	if (resolve(policy, cfg->params, cfg->nparams, cfg->plugin_path,
	    false, err, sizeof(err)) == -1 ||
	    merge_filter_policies(policy, cfg->params, cfg->nparams, false,
	    err, sizeof(err)) == -1)
		fatalx("sandbox policy: %s", err);
	if (SANDBOX_FORCE_LOG && policy->mode != POLICY_MODE_LOG) {
		log_warn("sandbox policy %s: this nbdbroker was built with "
		    "--with-sandbox=log: mode = log, nothing is denied",
		    policy->file);
		policy->mode = POLICY_MODE_LOG;
	}
	if (policy_encode(policy, &policy_wire, &policy_wire_len) == -1)
		fatal("sandbox policy: encode");
	if (cfg->policy_path == NULL)
		cfg->policy_path = path;
	else
		free(path);
	log_info("plugin %s: sandbox policy %s (%s)", cfg->plugin_arg,
	    policy->file, policy->mode == POLICY_MODE_LOG ? "mode = log: "
	    "nothing is denied, the kernel logs what would be" : "enforce");
}

/*
 * nbdbroker --check-policy FILE [--filter=F...] [PLUGIN [KEY=VALUE...]]:
 * print what FILE resolves to (for PLUGIN and its parameters, if
 * given), merged with the policies of the filters, if any.
 * Returns the exit status.
 */
int
sandbox_check(const char *file, char **args, size_t nargs)
{
	struct policy	*p;
	char		 err[1024];
	char		*plugin = NULL;

	if ((p = policy_parse_file(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nbdbroker: %s\n", err);
		return EXIT_FAILURE;
	}
	if (nargs > 0 && (strchr(args[0], '/') != NULL ||
	    strstr(args[0], ".so") != NULL))
		plugin = realpath(args[0], NULL);
	if (resolve(p, nargs > 0 ? args + 1 : NULL, nargs > 0 ? nargs - 1 :
	    0, plugin, nargs == 0, err, sizeof(err)) == -1 ||
	    merge_filter_policies(p, nargs > 0 ? args + 1 : NULL, nargs > 0 ?
	    nargs - 1 : 0, nargs == 0, err, sizeof(err)) == -1) {
		fprintf(stderr, "nbdbroker: %s\n", err);
		policy_free(p);
		free(plugin);
		return EXIT_FAILURE;
	}
	policy_print(p, stdout);
	policy_free(p);
	free(plugin);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
