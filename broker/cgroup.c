/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A memory cgroup of its own for each worker, where the broker can
 * make one: the one limit that counts every page a worker can touch
 * (shared mappings, memfd and tmpfs pages it writes, its share of the
 * payload arenas), which RLIMIT_DATA does not.  The limit is the
 * policy's memory plus what the worker itself needs
 * (policy_memory_cgroup_limit); swap is not allowed beyond it.
 *
 * Where: under the broker's own memory cgroup.  cgroup v1: any memory
 * hierarchy the broker may write to (memory.limit_in_bytes, and
 * memory.memsw.limit_in_bytes where swap is accounted).  cgroup v2:
 * only where the broker's cgroup delegates the memory controller.  If
 * it offers the controller but enables it for no children, and the
 * broker is alone in it, the broker moves itself into a leaf
 * (nbdbroker-PID-broker) and enables it: v2 allows no processes in a
 * cgroup whose children have controllers.  Each worker's cgroup is
 * nbdbroker-BROKERPID-worker-N (N: -1, -2, ... in the order the broker
 * starts workers; the worker's pid where cgroup_worker_attach put it),
 * removed once the worker is reaped; those of brokers that died are
 * removed at the next start.
 *
 * Where none can be made, nothing is lost: the worker finds itself in
 * no cgroup of its own and limits its address space (RLIMIT_AS)
 * instead (worker/sandbox-limits.c), which is also why a failure here
 * never stops a worker.
 *
 * Runs in the event loop: cgroup files answer at once, nothing here
 * waits.  Except a write to cgroup.procs, which moves a task and waits
 * for an RCU grace period (5 to 15 ms): so the broker does not move
 * its workers, it hands each a descriptor of its cgroup's cgroup.procs
 * (v1: tasks, which is quicker still) and the worker moves itself,
 * first thing (cgroup_worker_prepare).
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#define CG_PATH_MAX	4096

/* A worker's cgroup, until the worker is reaped. */
struct cg_worker {
	pid_t			 pid;	/* 0: not spawned yet */
	int			 fd;	/* its procs/tasks until spawned */
	uint64_t		 limit;
	char			 dir[CG_PATH_MAX];
	struct cg_worker	*next;
};

static struct {
	bool		 probed;
	bool		 usable;
	bool		 setup;		/* v2: the broker is in its leaf */
	bool		 cleaned;	/* stale cgroups removed */
	int		 version;
	char		 parent[CG_PATH_MAX];	/* workers' cgroups go here */
	char		 why[768];	/* cgroup_describe() */
} cg;

static struct cg_worker	*cg_workers;

/* Write text to dir/file.  Returns 0, or -1 with errno. */
static int
cg_write(const char *dir, const char *file, const char *text)
{
	char	path[CG_PATH_MAX + 64];
	size_t	len = strlen(text);
	ssize_t	n;
	int	fd, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, text, len);
	saved = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n == -1 ? saved : EIO;
		return -1;
	}
	return 0;
}

/* Read dir/file (at most len - 1 bytes).  Returns 0, or -1 with errno. */
static int
cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char	path[CG_PATH_MAX + 64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static bool
cg_exists(const char *dir, const char *file)
{
	char	path[CG_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* Does a space-separated list (cgroup.controllers) name word? */
static bool
cg_lists(const char *list, const char *word)
{
	size_t	l = strlen(word);
	const char *p;

	for (p = list; (p = strstr(p, word)) != NULL; p += l)
		if ((p == list || p[-1] == ' ') &&
		    (p[l] == ' ' || p[l] == '\n' || p[l] == '\0'))
			return true;
	return false;
}

/* Remove the empty cgroups of brokers that are gone. */
static void
cg_remove_stale(void)
{
	char		 path[CG_PATH_MAX + 300];
	struct dirent	*de;
	DIR		*d;
	int		 b, w;

	if ((d = opendir(cg.parent)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "nbdbroker-%d-worker-%d", &b, &w) != 2 ||
		    b <= 0 || b == (int)getpid() ||
		    kill(b, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", cg.parent, de->d_name);
		if (rmdir(path) == 0)
			log_debug("cgroup: removed %s, left by broker %d",
			    path, b);
	}
	closedir(d);
}

/*
 * v2: make the memory controller available to the workers' cgroups
 * under dir.  With setup false, only say whether it can be.
 */
static bool
cg_v2_delegate(const char *dir, bool setup)
{
	char	buf[256], leaf[CG_PATH_MAX + 64], pid[32];

	if (cg_read(dir, "cgroup.controllers", buf, sizeof(buf)) == -1 ||
	    !cg_lists(buf, "memory")) {
		snprintf(cg.why, sizeof(cg.why), "RLIMIT_AS: the broker's "
		    "cgroup v2 %.400s does not delegate the memory controller",
		    dir);
		return false;
	}
	if (cg_read(dir, "cgroup.subtree_control", buf, sizeof(buf)) == 0 &&
	    cg_lists(buf, "memory"))
		return true;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (cg_read(dir, "cgroup.procs", buf, sizeof(buf)) == -1 ||
	    strcmp(buf, pid) != 0 || access(dir, W_OK) == -1) {
		snprintf(cg.why, sizeof(cg.why), "RLIMIT_AS: the broker "
		    "shares its cgroup v2 %.400s, whose children have no "
		    "memory controller", dir);
		return false;
	}
	if (!setup)
		return true;
	snprintf(leaf, sizeof(leaf), "%s/nbdbroker-%d-broker", dir,
	    (int)getpid());
	if ((mkdir(leaf, 0755) == -1 && errno != EEXIST) ||
	    cg_write(leaf, "cgroup.procs", pid) == -1)
		goto fail;
	if (cg_write(dir, "cgroup.subtree_control", "+memory") == -1) {
		cg_write(dir, "cgroup.procs", pid);
		goto fail;
	}
	cg.setup = true;
	log_info("cgroup: moved the broker to %s to give its workers "
	    "memory cgroups", leaf);
	return true;

 fail:
	snprintf(cg.why, sizeof(cg.why), "RLIMIT_AS: cannot delegate the "
	    "memory controller of cgroup v2 %.400s: %s", dir,
	    strerror(errno));
	rmdir(leaf);
	return false;
}

/* Find where workers' cgroups go; setup: do what that takes. */
static void
cg_probe(bool setup)
{
	struct policy_cgroup	pc;
	char			err[512];

	if (cg.probed && (cg.setup || !cg.usable || !setup))
		return;
	cg.probed = true;
	cg.usable = false;
	if (policy_cgroup_find("/proc/self/cgroup", "/proc/self/mountinfo",
	    &pc, err, sizeof(err)) == -1) {
		snprintf(cg.why, sizeof(cg.why), "RLIMIT_AS: no memory "
		    "cgroup (%s)", err);
		return;
	}
	cg.version = pc.version;
	snprintf(cg.parent, sizeof(cg.parent), "%s", pc.dir);
	if (pc.version == 1) {
		if (access(pc.dir, W_OK) == -1 ||
		    !cg_exists(pc.dir, "memory.limit_in_bytes")) {
			snprintf(cg.why, sizeof(cg.why), "RLIMIT_AS: the "
			    "broker cannot make memory cgroups under %.400s: "
			    "%s", pc.dir, strerror(errno));
			return;
		}
		cg.setup = true;
	} else if (!cg_v2_delegate(pc.dir, setup))
		return;
	cg.usable = true;
	snprintf(cg.why, sizeof(cg.why), "a memory cgroup per worker under "
	    "%.400s (cgroup v%d%s)", cg.parent, cg.version, cg.version ==
	    2 && !cg.setup && !setup ? "; the broker moves into a leaf of "
	    "its own to enable it" : "");
}

/*
 * How worker memory is limited, for the start-up log and
 * --check-policy (policy->memory_how).  Borrowed; static.  Changes
 * nothing on the system.
 */
const char *
cgroup_describe(void)
{
	cg_probe(false);
	return cg.why;
}

/*
 * Make the cgroup nbdbroker-BROKERPID-worker-ID for a worker under
 * policy p, with its limits, and list it under pid (0: not spawned
 * yet).  Returns it, or NULL with desc saying why (*nonep: there is
 * nothing to make here, desc says why, which is not a failure).
 */
static struct cg_worker *
cg_make(long id, pid_t pid, const struct policy *p, uint64_t arena_bytes,
    bool *nonep, char *desc, size_t desclen)
{
	struct cg_worker	*w;
	char			 num[32];

	*nonep = false;
	if (p->memory == 0 || p->mode == POLICY_MODE_LOG) {
		snprintf(desc, desclen, "no memory limit%s",
		    p->mode == POLICY_MODE_LOG ? " (mode = log)" : "");
		*nonep = true;
		return NULL;
	}
	cg_probe(true);
	if (!cg.usable) {
		snprintf(desc, desclen, "%s", cg.why);
		*nonep = true;
		return NULL;
	}
	if (!cg.cleaned) {
		cg.cleaned = true;
		cg_remove_stale();
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(desc, desclen, "cgroup: out of memory");
		return NULL;
	}
	w->pid = pid;
	w->fd = -1;
	w->limit = policy_memory_cgroup_limit(p->memory, arena_bytes);
	snprintf(w->dir, sizeof(w->dir), "%.4000s/nbdbroker-%d-worker-%ld",
	    cg.parent, (int)getpid(), id);
	snprintf(num, sizeof(num), "%" PRIu64, w->limit);
	if (mkdir(w->dir, 0755) == -1 && errno != EEXIST)
		goto fail;
	if (cg.version == 1) {
		if (cg_write(w->dir, "memory.limit_in_bytes", num) == -1 ||
		    (cg_exists(w->dir, "memory.memsw.limit_in_bytes") &&
		    cg_write(w->dir, "memory.memsw.limit_in_bytes",
		    num) == -1))
			goto fail;
	} else {
		if (cg_write(w->dir, "memory.max", num) == -1 ||
		    (cg_exists(w->dir, "memory.swap.max") &&
		    cg_write(w->dir, "memory.swap.max", "0") == -1))
			goto fail;
		cg_write(w->dir, "memory.oom.group", "1");
	}
	w->next = cg_workers;
	cg_workers = w;
	return w;

 fail:
	snprintf(desc, desclen, "cgroup: %.400s: %s; the worker limits its "
	    "address space instead", w->dir, strerror(errno));
	rmdir(w->dir);
	free(w);
	return NULL;
}

/* Unlist w and remove its cgroup. */
static void
cg_drop(struct cg_worker *w)
{
	struct cg_worker	**wp;

	for (wp = &cg_workers; *wp != NULL; wp = &(*wp)->next)
		if (*wp == w) {
			*wp = w->next;
			break;
		}
	if (rmdir(w->dir) == -1)
		log_debug("cgroup: rmdir %s: %s", w->dir, strerror(errno));
	free(w);
}

/*
 * Put worker pid, just spawned, into a memory cgroup of its own that
 * allows policy p's memory plus what the worker itself needs,
 * arena_bytes being both payload arenas.  Nothing to do without a
 * memory limit or in mode = log (which limits nothing).  Returns 0
 * (done, or no cgroups here: desc says so), or -1 if this worker
 * could not be given one (desc says why).
 *
 * The write to cgroup.procs moves a task, which waits for an RCU
 * grace period (milliseconds): the broker starts its workers with
 * cgroup_worker_prepare() instead, and they join by themselves.
 */
int
cgroup_worker_attach(pid_t pid, const struct policy *p, uint64_t arena_bytes,
    char *desc, size_t desclen)
{
	struct cg_worker	*w;
	char			 num[32];
	bool			 none;

	if ((w = cg_make(pid, pid, p, arena_bytes, &none, desc,
	    desclen)) == NULL)
		return none ? 0 : -1;
	snprintf(num, sizeof(num), "%d", (int)pid);
	if (cg_write(w->dir, "cgroup.procs", num) == -1) {
		snprintf(desc, desclen, "cgroup: %.400s: %s; the worker "
		    "limits its address space instead", w->dir,
		    strerror(errno));
		cg_drop(w);
		return -1;
	}
	snprintf(desc, desclen, "memory cgroup %.400s, limit %" PRIu64 "M",
	    w->dir, w->limit >> 20);
	return 0;
}

/*
 * Before a worker is spawned: make its memory cgroup (as
 * cgroup_worker_attach does) and open that cgroup's cgroup.procs (v1:
 * tasks) for the worker to join by itself (it writes "0" there first thing,
 * worker/main.c): moving a task waits for an RCU grace period, which
 * the broker's loop must not.  The kernel checks the opener's rights,
 * the broker's, at that write.  *fdp is the descriptor (close-on-exec;
 * the caller passes it on RPC_WORKER_CGROUP_FD, then calls
 * cgroup_worker_spawned or, if nothing was spawned,
 * cgroup_worker_abandon), or -1 if this worker gets no cgroup.
 * Returns 0 (desc says what, or why there is no cgroup here), or -1
 * if this worker could not be given one (desc says why; the worker
 * limits its address space instead).
 */
int
cgroup_worker_prepare(const struct policy *p, uint64_t arena_bytes,
    int *fdp, char *desc, size_t desclen)
{
	static long		 seq;
	struct cg_worker	*w;
	char			 path[CG_PATH_MAX + 64];
	bool			 none;

	*fdp = -1;
	/* Negative: never the name cgroup_worker_attach gives a pid. */
	if ((w = cg_make(-++seq, 0, p, arena_bytes, &none, desc,
	    desclen)) == NULL)
		return none ? 0 : -1;
	/*
	 * v1: "tasks", which moves one thread: for the writer itself
	 * ("0") the kernel (6.0 on) skips the lock whose taking waits
	 * for an RCU grace period, which cgroup.procs takes: 0.05 ms
	 * instead of 5 to 15.  The worker is one thread when it writes,
	 * so its whole process moves; threads it makes later follow.
	 * v2 has no such file outside threaded subtrees.
	 */
	snprintf(path, sizeof(path), "%s/%s", w->dir, cg.version == 1 ?
	    "tasks" : "cgroup.procs");
	if ((w->fd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
		snprintf(desc, desclen, "cgroup: %.400s: %s; the worker "
		    "limits its address space instead", path,
		    strerror(errno));
		cg_drop(w);
		return -1;
	}
	*fdp = w->fd;
	snprintf(desc, desclen, "memory cgroup %.400s, limit %" PRIu64 "M",
	    w->dir, w->limit >> 20);
	return 0;
}

/* The worker cgroup_worker_prepare made a cgroup for, not spawned yet. */
static struct cg_worker *
cg_pending(void)
{
	struct cg_worker	*w;

	for (w = cg_workers; w != NULL; w = w->next)
		if (w->pid == 0)
			return w;
	return NULL;
}

/*
 * The worker the last cgroup_worker_prepare was for is pid: close the
 * broker's descriptor; the cgroup is pid's from now on.
 */
void
cgroup_worker_spawned(pid_t pid)
{
	struct cg_worker	*w;

	if ((w = cg_pending()) == NULL)
		return;
	w->pid = pid;
	close(w->fd);
	w->fd = -1;
}

/* Nothing was spawned after the last cgroup_worker_prepare: undo it. */
void
cgroup_worker_abandon(void)
{
	struct cg_worker	*w;

	if ((w = cg_pending()) == NULL)
		return;
	close(w->fd);
	cg_drop(w);
}

/*
 * Is worker pid in the cgroup made for it, if one was (/proc/PID/cgroup
 * names it)?  True if it was given none.  One small read; no waiting.
 */
bool
cgroup_worker_joined(pid_t pid)
{
	struct cg_worker	*w;
	char			 path[64], buf[4096], *name, *t;
	size_t			 l;

	for (w = cg_workers; w != NULL; w = w->next)
		if (w->pid == pid)
			break;
	if (w == NULL)
		return true;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (cg_read(path, "cgroup", buf, sizeof(buf)) == -1)
		return false;
	/* Lines "ID:CONTROLLERS:PATH"; the name is unique to w. */
	name = strrchr(w->dir, '/');
	l = strlen(name);
	for (t = buf; (t = strstr(t, name)) != NULL; t += l)
		if (t[l] == '\n' || t[l] == '\0')
			return true;
	return false;
}

/* How many times the kernel's OOM killer struck in cgroup dir. */
static unsigned long
cg_oom_kills(const char *dir)
{
	char		 buf[1024], *t;
	unsigned long	 n = 0;

	if (cg_read(dir, cg.version == 1 ? "memory.oom_control" :
	    "memory.events", buf, sizeof(buf)) == 0 &&
	    (t = strstr(buf, "oom_kill ")) != NULL)
		n = strtoul(t + 9, NULL, 10);
	return n;
}

/*
 * Worker pid was reaped: remove its cgroup.  If the kernel's OOM
 * killer ended it, say so after what desc (describe_status()'s text)
 * holds; desc may be NULL.
 */
void
cgroup_worker_release(pid_t pid, char *desc, size_t desclen)
{
	struct cg_worker	*w;
	size_t			 l;

	for (w = cg_workers; w != NULL; w = w->next)
		if (w->pid == pid && pid != 0)
			break;
	if (w == NULL)
		return;
	if (desc != NULL && cg_oom_kills(w->dir) > 0 &&
	    (l = strlen(desc)) < desclen)
		snprintf(desc + l, desclen - l, ": out of memory, its cgroup "
		    "allows %" PRIu64 "M (the policy's memory and the "
		    "worker's own)", w->limit >> 20);
	cg_drop(w);
}

/*
 * Shutdown, after every worker was reaped: remove the cgroups left
 * (sup_stop_all reaps without cgroup_worker_release).
 */
void
cgroup_stop(void)
{
	struct cg_worker	*w;

	while ((w = cg_workers) != NULL) {
		cg_workers = w->next;
		if (w->fd != -1)
			close(w->fd);
		if (rmdir(w->dir) == -1)
			log_debug("cgroup: rmdir %s: %s", w->dir,
			    strerror(errno));
		free(w);
	}
}
