/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Applying the admin's policy to this worker, in two stages.
 *
 * Stage 1, before the plugin is dlopened (its constructors are
 * untrusted too): rlimits (sandbox-limits.c); both Landlock rulesets
 * and both seccomp filters are prepared; a private network namespace
 * (inside a new user namespace when not root); the switch to the
 * policy's user when root; no_new_privs; the start-up Landlock domain;
 * the start-up seccomp filter, whose listener goes to the broker.
 *
 * Stage 2, after get_ready, before Ready: checks that start-up left
 * nothing behind that the serving stage would not cover; the serving
 * Landlock domain, the last capabilities dropped, the serving seccomp
 * filter.
 *
 * What stage 2 checks, and how it counts.  Capabilities, the Landlock
 * domain and (without TSYNC) seccomp filters belong to a thread, not
 * to the process: a thread the plugin started during start-up would
 * keep the start-up ones.  So the worker refuses to serve if threads
 * exist while capabilities are still held or the serving stage lets
 * the plugin use paths, and if the plugin stacked a seccomp filter of
 * its own (sandbox-seccomp.c).  It counts both from /proc/self/status,
 * read through the descriptor it opened at stage 1, before the plugin
 * was loaded; the plugin could put a file of its own on that number,
 * so the descriptor must still be the same procfs inode (fstat: device
 * and inode).  No file the plugin can make has them.  What holds
 * against a plugin hostile from its constructor on is stage 1: it
 * shares the worker's address space, so it could also skip any check
 * the worker makes; stage 2 narrows what a plugin that turns hostile
 * later (a bug a client exploits) can reach.
 *
 * Every step the policy asks for either succeeds or fails the worker
 * (the message reaches the broker's log in Failed{stage="sandbox"});
 * nothing is silently skipped.  Steps the policy does not ask for, or
 * that mode = log turns off, are logged as such.
 *
 * Capabilities at start-up: when root switches to the policy's user
 * and the policy grants start-up paths (startup-read/-write) under
 * Landlock, the worker keeps CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * until stage 2, so config and get_ready can open the file they were
 * given even where only root could (a root-owned image in a 0700
 * directory).  Landlock limits them to the granted paths and the
 * read-only loader paths, and they are gone before the first request.
 * In mode = log there is no Landlock (nothing may be denied) and the
 * capabilities are kept all the same, unlimited, until stage 2: what
 * the plugin opens at start-up works as it will under enforce.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

#define DAC_CAPS	((UINT64_C(1) << CAP_DAC_OVERRIDE) | \
			 (UINT64_C(1) << CAP_DAC_READ_SEARCH))

static struct policy	*pol;
static bool		 dac_kept;	/* DAC_CAPS held until stage 2 */
static pid_t		 broker_pid;
static int		 status_fd = -1;	/* /proc/self/status, stage 1 */
static dev_t		 status_dev;		/* ... its fstat, to check */
static ino_t		 status_ino;		/* it is still the same */

static int
serr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
serr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

static int
write_file(const char *path, const char *text, char *err, size_t errlen)
{
	size_t	len = strlen(text);
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1 ||
	    write(fd, text, len) != (ssize_t)len) {
		serr(err, errlen, "write %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * [network] none or unix: a private network namespace (only a
 * loopback device, down).  Unprivileged, it takes a user namespace
 * first; this worker is then "root" in it and drops that later.
 */
static int
isolate_network(bool *userns, char *err, size_t errlen)
{
	char	map[64];
	uid_t	uid = geteuid();
	gid_t	gid = getegid();

	*userns = false;
	if (pol->net & (POLICY_NET_TCP_CONNECT | POLICY_NET_ALL))
		return 0;
	if (pol->mode == POLICY_MODE_LOG) {
		log_warn("sandbox: mode = log: [network] is not isolated");
		return 0;
	}
	if (uid == 0) {
		if (unshare(CLONE_NEWNET) == -1)
			return serr(err, errlen, "[network] allow = none "
			    "needs a private network namespace: "
			    "unshare(CLONE_NEWNET): %s", strerror(errno));
		return 0;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1)
		return serr(err, errlen, "[network] allow = none needs a "
		    "private network namespace, which an unprivileged "
		    "process creates in a user namespace: "
		    "unshare(CLONE_NEWUSER|CLONE_NEWNET): %s",
		    strerror(errno));
	*userns = true;
	if (write_file("/proc/self/setgroups", "deny", err, errlen) == -1)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid,
	    (unsigned)uid);
	if (write_file("/proc/self/uid_map", map, err, errlen) == -1)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid,
	    (unsigned)gid);
	return write_file("/proc/self/gid_map", map, err, errlen);
}

/* Set the effective and permitted capabilities to keep, nothing more. */
static int
caps_set(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct	h;
	struct __user_cap_data_struct	d[2];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) == -1)
		return serr(err, errlen, "capset: %s", strerror(errno));
	return 0;
}

/* Drop every capability but keep from the bounding set. */
static int
caps_bound(uint64_t keep, char *err, size_t errlen)
{
	int	cap;

	for (cap = 0; cap < 64; cap++) {
		if (keep & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
			if (errno == EINVAL)
				break;		/* past the last capability */
			return serr(err, errlen, "PR_CAPBSET_DROP %d: %s",
			    cap, strerror(errno));
		}
	}
	return 0;
}

/*
 * Become the policy's user (when root), or drop what a user namespace
 * gave us.  Then: no ambient capabilities, not dumpable (no ptrace by
 * other processes of that user), and the parent-death signal, which a
 * credential change clears, set again.
 */
static int
change_identity(bool userns, bool want_dac, char *err, size_t errlen)
{
	uint64_t	keep = 0;
	uid_t		ru, eu, su;
	gid_t		rg, eg, sg;

	if (pol->switch_user && geteuid() == 0 && !userns) {
		keep = want_dac ? DAC_CAPS : 0;
		if (caps_bound(keep, err, errlen) == -1)
			return -1;
		if (setgroups(1, &pol->gid) == -1)
			return serr(err, errlen, "setgroups %u: %s",
			    (unsigned)pol->gid, strerror(errno));
		if (setresgid(pol->gid, pol->gid, pol->gid) == -1)
			return serr(err, errlen, "setresgid %u: %s",
			    (unsigned)pol->gid, strerror(errno));
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
			return serr(err, errlen, "PR_SET_KEEPCAPS: %s",
			    strerror(errno));
		if (setresuid(pol->uid, pol->uid, pol->uid) == -1)
			return serr(err, errlen, "setresuid %u (user %s): %s",
			    (unsigned)pol->uid, pol->user, strerror(errno));
		if (caps_set(keep, err, errlen) == -1)
			return -1;
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		/* Paranoia (OpenSSH): there must be no way back. */
		if (getresuid(&ru, &eu, &su) == -1 || ru != pol->uid ||
		    eu != pol->uid || su != pol->uid ||
		    getresgid(&rg, &eg, &sg) == -1 || rg != pol->gid ||
		    eg != pol->gid || sg != pol->gid)
			return serr(err, errlen, "the switch to user %s did "
			    "not take", pol->user);
		if (setresuid(0, 0, 0) != -1)
			return serr(err, errlen, "the switch to user %s can "
			    "be undone", pol->user);
		dac_kept = keep != 0;
		log_debug("sandbox: running as user %s (%u:%u)%s", pol->user,
		    (unsigned)pol->uid, (unsigned)pol->gid, dac_kept ?
		    ", DAC capabilities until start-up ends" : "");
	} else if (userns || geteuid() != 0) {
		if (userns && caps_bound(0, err, errlen) == -1)
			return -1;
		if (caps_set(0, err, errlen) == -1)
			return -1;
	} else
		log_warn("sandbox: policy %s: user = keep: the worker keeps "
		    "running as root", pol->file);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return serr(err, errlen, "PR_CAP_AMBIENT_CLEAR_ALL: %s",
		    strerror(errno));
	/*
	 * Learning, the broker reads syscall arguments (paths) through
	 * /proc/PID/mem, which a process that is not dumpable denies to
	 * an unprivileged broker.
	 */
	if (pol->mode != POLICY_MODE_LEARN &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return serr(err, errlen, "PR_SET_DUMPABLE: %s",
		    strerror(errno));
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		return serr(err, errlen, "PR_SET_PDEATHSIG: %s",
		    strerror(errno));
	if (broker_pid != 0 && getppid() != broker_pid)
		_exit(EXIT_FAILURE);	/* the broker is gone */
	return 0;
}

/*
 * Should a root worker keep DAC capabilities until stage 2?  Only if
 * the policy grants start-up paths (not just the built-in ones), or
 * grants a path its user cannot reach (an image in a directory only
 * root may enter: the plugin's config resolves and checks it, and
 * while serving the broker opens it on the worker's behalf,
 * broker/open-behalf.c); never if it switches user and says
 * open-on-behalf = no (that user's own permissions are then final, at
 * start-up too: a filter's start-up grant, merged in, must not bring
 * the override back); and not if it may connect sockets at start-up:
 * Landlock does not cover connecting to a UNIX socket by path, which
 * DAC override would open.
 */
static bool
startup_grants(const char *plugin_path)
{
	int	connect_nr = policy_syscall_nr("connect");
	size_t	i;
	bool	grants = false;

	if (pol->switch_user && pol->no_behalf)
		return false;
	for (i = 0; i < pol->npaths; i++)
		if (!pol->paths[i].optional &&
		    strcmp(pol->paths[i].path, plugin_path) != 0 &&
		    (pol->paths[i].startup_only || (pol->switch_user &&
		    !policy_user_may(pol->paths[i].path, 0, pol->uid,
		    pol->gid))))
			grants = true;
	for (i = 0; grants && i < pol->nsc; i++)
		if (pol->sc[i].nr == connect_nr && pol->sc[i].startup != 0) {
			log_warn("sandbox: policy %s allows connect at "
			    "start-up: no DAC capabilities for its start-up "
			    "paths", pol->file);
			grants = false;
		}
	return grants;
}

/*
 * Open /proc/self/status for stage 2 (which runs under the start-up
 * Landlock domain, where /proc cannot be opened), and remember what it
 * is.  Called at stage 1, before the plugin is loaded.
 */
static int
status_open(char *err, size_t errlen)
{
	struct stat	st;

	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (status_fd == -1 || fstat(status_fd, &st) == -1)
		return serr(err, errlen, "/proc/self/status, with which the "
		    "worker checks its threads at the end of start-up: %s",
		    strerror(errno));
	status_dev = st.st_dev;
	status_ino = st.st_ino;
	return 0;
}

/*
 * Fields of /proc/self/status through status_fd: threads and filters
 * (Seccomp_filters; -1 if this kernel does not show it).  Returns 0,
 * or -1 if status_fd is no longer the file status_open() opened.
 */
static int
status_read(long *threads, long *filters)
{
	char		 buf[4096], *t;
	struct stat	 st;
	ssize_t		 n;

	*threads = *filters = -1;
	if (status_fd == -1 || fstat(status_fd, &st) == -1 ||
	    st.st_dev != status_dev || st.st_ino != status_ino ||
	    (n = pread(status_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	if ((t = strstr(buf, "\nThreads:")) == NULL ||
	    sscanf(t + 9, "%ld", threads) != 1 || *threads < 1)
		return -1;
	if ((t = strstr(buf, "\nSeccomp_filters:")) != NULL &&
	    sscanf(t + 17, "%ld", filters) != 1)
		return -1;
	return 0;
}

/* Can code under the serving filter open or change a path at all? */
static bool
serving_uses_paths(void)
{
	static const char *const path_calls[] = {
		"open", "openat", "openat2", "creat", "truncate", "mkdir",
		"mkdirat", "unlink", "unlinkat", "rmdir", "rename",
		"renameat", "renameat2", "link", "linkat", "symlink",
		"symlinkat", "mknod", "mknodat", "execve", "execveat",
		"open_by_handle_at", NULL,
	};
	size_t	i, k;

	if (pol->dflt == POLICY_DEFAULT_ALLOW)
		return true;
	for (i = 0; i < pol->nsc; i++) {
		if (pol->sc[i].serving == 0)
			continue;
		for (k = 0; path_calls[k] != NULL; k++)
			if (strcmp(pol->sc[i].name, path_calls[k]) == 0)
				return true;
	}
	return false;
}

/*
 * Stage 1.  wire is Config.policy; plugin_path the .so about to be
 * loaded; threads the worker's pool size (Config.threads; 0: the
 * default), whose stacks RLIMIT_AS must leave room for.  Returns 0, or
 * -1 with err set (the worker must then fail).
 */
int
sandbox_stage1(const uint8_t *wire, size_t len, const char *plugin_path,
    pid_t broker, unsigned threads, char *err, size_t errlen)
{
	bool	userns;

	broker_pid = broker;
	if ((pol = policy_decode(wire, len, err, errlen)) == NULL)
		return -1;
	/* Opened now, readable after Landlock: see sandbox_stage2. */
	if (status_open(err, errlen) == -1)
		return -1;
	if (pol->mode == POLICY_MODE_LEARN)
		log_debug("sandbox: --learn-policy: nothing is denied; the "
		    "broker records every syscall and path");
	if (pol->mode == POLICY_MODE_LOG)
		log_warn("sandbox: policy %s: mode = log: nothing is denied; "
		    "the kernel logs each syscall the policy would deny "
		    "(dmesg: \"audit: type=1326\")", pol->file);
	if (sandbox_limits_apply(pol, threads, err, errlen) == -1 ||
	    sandbox_landlock_prepare(pol, err, errlen) == -1 ||
	    sandbox_seccomp_prepare(pol, err, errlen) == -1 ||
	    isolate_network(&userns, err, errlen) == -1 ||
	    change_identity(userns, pol->mode == POLICY_MODE_LEARN ||
	    ((sandbox_landlock_active() || pol->mode == POLICY_MODE_LOG) &&
	    startup_grants(plugin_path)),
	    err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return serr(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	if (sandbox_landlock_enter(POLICY_STAGE_STARTUP, err, errlen) == -1 ||
	    sandbox_seccomp_enter(POLICY_STAGE_STARTUP, err, errlen) == -1)
		return -1;
	log_debug("sandbox: start-up stage in force (policy %s, Landlock "
	    "ABI %d%s, %s)", pol->file, sandbox_landlock_abi(),
	    sandbox_landlock_active() ? "" : ", not used",
	    sandbox_limits_describe());
	return 0;
}

/*
 * Before stage 2: did start-up leave anything the serving stage would
 * not cover?  See the file comment.  Returns 0, or -1 with err set.
 */
static int
check_startup_left(char *err, size_t errlen)
{
	long	threads, filters;
	int	r = status_read(&threads, &filters);

	close(status_fd);
	status_fd = -1;
	if (r == -1)
		return serr(err, errlen, "cannot count the worker's threads "
		    "and seccomp filters: the descriptor it opened for "
		    "/proc/self/status at start-up is no longer that file "
		    "(the plugin replaced it)");
	if (filters == -1 && sandbox_seccomp_loaded())
		log_warn("sandbox: this kernel does not show Seccomp_filters: "
		    "a filter the plugin stacked during start-up is not "
		    "noticed");
	else if (filters > 1 && sandbox_seccomp_loaded()) {
		if (pol->mode != POLICY_MODE_LOG)
			return serr(err, errlen, "the plugin stacked %ld "
			    "seccomp filter%s of its own during start-up; it "
			    "could answer the tripwires of policy %s before "
			    "the broker hears of them", filters - 1,
			    filters > 2 ? "s" : "", pol->file);
		log_warn("sandbox: the plugin stacked %ld seccomp filter%s "
		    "of its own during start-up (mode = log: going on)",
		    filters - 1, filters > 2 ? "s" : "");
	}
	if (threads == 1)
		return 0;
	/*
	 * Landlock (ABI 7) confines only the calling thread and threads it
	 * creates later: threads the plugin started during start-up stay
	 * in the start-up domain.  The serving seccomp filter covers them
	 * (TSYNC), so that matters only if it lets them use paths.
	 */
	if (sandbox_landlock_active() && serving_uses_paths())
		return serr(err, errlen, "the plugin started %ld thread%s "
		    "during start-up; Landlock would leave %s its start-up "
		    "paths, and policy %s lets the plugin use paths while "
		    "serving", threads - 1, threads > 2 ? "s" : "",
		    threads > 2 ? "them" : "it", pol->file);
	/*
	 * Capabilities are per thread: threads started while DAC_CAPS
	 * were held would keep them, and capset() can only drop them in
	 * the calling thread.
	 */
	if (dac_kept)
		return serr(err, errlen, "the plugin started %ld thread%s "
		    "during start-up; capabilities belong to each thread, so "
		    "%s would keep CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, "
		    "which policy %s gives a root broker's worker for its "
		    "start-up paths", threads - 1, threads > 2 ? "s" : "",
		    threads > 2 ? "they" : "it", pol->file);
	return 0;
}

/* Stage 2: the serving set.  Returns 0, or -1 with err set. */
int
sandbox_stage2(char *err, size_t errlen)
{
	if (pol == NULL)
		return serr(err, errlen, "no sandbox stage 1");
	if (check_startup_left(err, errlen) == -1)
		return -1;
	if (sandbox_landlock_enter(POLICY_STAGE_SERVING, err, errlen) == -1)
		return -1;
	/* One thread (checked above): this drops them process-wide. */
	if (dac_kept && caps_set(0, err, errlen) == -1)
		return -1;
	dac_kept = false;
	if (sandbox_seccomp_enter(POLICY_STAGE_SERVING, err, errlen) == -1)
		return -1;
	log_debug("sandbox: serving stage in force");
	policy_free(pol);
	pol = NULL;
	return 0;
}
