/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * [limits] for the worker, set at stage 1 before the plugin is loaded:
 * no core dumps, open files, CPU seconds, and memory.
 *
 * memory = N bounds two things (policy/memory.c).  Private memory:
 * RLIMIT_DATA = N, as malloc and private mappings see it.  Everything
 * the worker can touch, shared mappings and memfd pages included: the
 * memory cgroup the broker put this worker in, if it is the worker's
 * own and its limit is N plus what the worker itself needs; otherwise
 * RLIMIT_AS = N plus the worker's own address space (its code, the
 * payload arenas, its threads' stacks, POLICY_MEMORY_SLACK).  RLIMIT_AS
 * cannot count a memfd filled with write(), which is in no address
 * space: a policy that allows memfd_create then fails the worker
 * instead.  Under RLIMIT_AS, malloc keeps to one arena: each further
 * one would reserve 64 MiB of address space per thread.
 *
 * mode = log sets no limit but RLIMIT_CORE (sanitizer runtimes and
 * valgrind reserve more address space than any limit would allow).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

#define MAIN_STACK_MAX	(UINT64_C(256) << 20)	/* if RLIMIT_STACK is huge */

static char	how[1024] = "memory: unlimited";
static bool	as_limited;	/* RLIMIT_AS set: no memory cgroup */

static int
set_limit(int res, const char *name, uint64_t v, char *err, size_t errlen)
{
	struct rlimit	rl;

	rl.rlim_cur = rl.rlim_max = v >= RLIM_INFINITY ? RLIM_INFINITY : v;
	if (setrlimit(res, &rl) == -1) {
		snprintf(err, errlen, "setrlimit %s %" PRIu64 ": %s", name, v,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
mib(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRIu64 "M", (v + (1 << 20) - 1) >> 20);
}

static uint64_t
add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* This process's address space now (VmSize), in bytes; 0: unknown. */
static uint64_t
vm_size(void)
{
	char		 line[256];
	FILE		*fp;
	uint64_t	 kb = 0;

	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmSize: %" SCNu64, &kb) == 1)
			break;
	fclose(fp);
	return kb << 10;
}

/* Is this process alone in cgroup directory dir? */
static bool
alone_in(const char *dir)
{
	char	path[4096 + 32], buf[64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	snprintf(path, sizeof(path), "%d\n", (int)getpid());
	return strcmp(buf, path) == 0;
}

/*
 * Did the broker put this worker in a memory cgroup of its own, whose
 * limit (and swap) is at most bound?  desc says what was found.
 */
static bool
own_cgroup(uint64_t bound, char *desc, size_t len)
{
	struct policy_cgroup	cg;
	char			e[256], l[32];
	uint64_t		limit, swap;

	if (policy_cgroup_find("/proc/self/cgroup", "/proc/self/mountinfo",
	    &cg, e, sizeof(e)) == -1) {
		snprintf(desc, len, "no memory cgroup: %.200s", e);
		return false;
	}
	if (!alone_in(cg.dir)) {
		snprintf(desc, len, "the memory cgroup %.300s is not the "
		    "worker's own", cg.dir);
		return false;
	}
	if (policy_cgroup_read(cg.dir, cg.version == 1 ?
	    "memory.limit_in_bytes" : "memory.max", &limit) == -1) {
		snprintf(desc, len, "the cgroup %.300s has no memory limit: %s",
		    cg.dir, strerror(errno));
		return false;
	}
	/* v1: memory+swap; v2: swap alone, which must be none. */
	if (policy_cgroup_read(cg.dir, cg.version == 1 ?
	    "memory.memsw.limit_in_bytes" : "memory.swap.max", &swap) == -1)
		swap = cg.version == 1 ? limit : 0;
	mib(limit, l, sizeof(l));
	if (limit > bound || (cg.version == 1 && swap > bound) ||
	    (cg.version == 2 && swap != 0)) {
		snprintf(desc, len, "the cgroup %.300s allows %s%s", cg.dir, l,
		    swap > bound ? " and swap" : "");
		return false;
	}
	snprintf(desc, len, "cgroup v%d %.300s, limit %s", cg.version, cg.dir,
	    l);
	return true;
}

/*
 * What RLIMIT_AS must allow beyond memory: the address space now
 * (code, libraries, the payload arenas), the main stack's growth, the
 * stacks of the pool threads (threads; 0: the default), and slack for
 * the plugin's code and libraries.
 */
static uint64_t
own_address_space(unsigned threads)
{
	pthread_attr_t	attr;
	struct rlimit	rl;
	size_t		stack = 8 << 20, guard = 4096;
	uint64_t	own, main_stack = MAIN_STACK_MAX;

	threads = tm_pool_threads_bound(threads) + 1;	/* + the ring's */
	if (pthread_getattr_default_np(&attr) == 0) {
		if (pthread_attr_getstacksize(&attr, &stack) != 0 ||
		    stack == 0)
			stack = 8 << 20;
		if (pthread_attr_getguardsize(&attr, &guard) != 0)
			guard = 4096;
		pthread_attr_destroy(&attr);
	}
	if (getrlimit(RLIMIT_STACK, &rl) == 0 &&
	    rl.rlim_cur < MAIN_STACK_MAX)
		main_stack = rl.rlim_cur;
	own = add(vm_size(), main_stack);
	own = add(own, (uint64_t)threads * (stack + guard));
	return add(own, POLICY_MEMORY_SLACK);
}

/*
 * Memory: RLIMIT_DATA, and the cgroup or RLIMIT_AS (file comment).
 * threads: the pool size the broker asked for (0: the default).
 */
static int
limit_memory(const struct policy *p, unsigned threads, char *err,
    size_t errlen)
{
	char		 cg[512], lim[32], own_s[32], total_s[32];
	uint64_t	 own = own_address_space(threads);
	uint64_t	 total = add(p->memory, own);

	mib(p->memory, lim, sizeof(lim));
	if (set_limit(RLIMIT_DATA, "RLIMIT_DATA", p->memory, err,
	    errlen) == -1)
		return -1;
	/* The cgroup may allow what the broker adds: see memory.c. */
	if (own_cgroup(add(p->memory, add(vm_size(), POLICY_MEMORY_SLACK)),
	    cg, sizeof(cg))) {
		snprintf(how, sizeof(how), "memory: %.400s (private memory: "
		    "RLIMIT_DATA %s)", cg, lim);
		return 0;
	}
	if (policy_allows_memfd(p)) {
		snprintf(err, errlen, "memory = %s cannot be enforced: policy "
		    "%s allows memfd_create, whose pages no address-space "
		    "limit counts, only a memory cgroup, and the worker has "
		    "none of its own (%.400s)", lim, p->file, cg);
		return -1;
	}
	if (set_limit(RLIMIT_AS, "RLIMIT_AS", total, err, errlen) == -1)
		return -1;
	as_limited = true;
	/* Each further malloc arena reserves 64 MiB of address space. */
	mallopt(M_ARENA_MAX, 1);
	mib(own, own_s, sizeof(own_s));
	mib(total, total_s, sizeof(total_s));
	snprintf(how, sizeof(how), "memory: RLIMIT_AS %s = %s + %s for the "
	    "worker itself (%.400s)", total_s, lim, own_s, cg);
	return 0;
}

/*
 * Stage 1, first step: the policy's [limits].  Returns 0, or -1 with
 * err set.
 */
int
sandbox_limits_apply(const struct policy *p, unsigned threads, char *err,
    size_t errlen)
{
	if (set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err, errlen) == -1)
		return -1;
	if (p->mode == POLICY_MODE_LOG) {
		if (p->memory || p->open_files || p->cpu_seconds)
			log_warn("sandbox: mode = log: [limits] are not "
			    "enforced");
		snprintf(how, sizeof(how), "memory: not limited (mode = "
		    "log)");
		return 0;
	}
	if (p->memory && limit_memory(p, threads, err, errlen) == -1)
		return -1;
	if (p->open_files && set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE",
	    p->open_files, err, errlen) == -1)
		return -1;
	if (p->cpu_seconds && set_limit(RLIMIT_CPU, "RLIMIT_CPU",
	    p->cpu_seconds, err, errlen) == -1)
		return -1;
	return 0;
}

/* Is the address space limited (RLIMIT_AS: no memory cgroup)? */
bool
sandbox_limits_address_space(void)
{
	return as_limited;
}

/* How memory is limited, for the start-up log line.  Static. */
const char *
sandbox_limits_describe(void)
{
	return how;
}
