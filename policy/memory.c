/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What [limits] memory counts on this system.  RLIMIT_DATA counts only
 * private writable mappings: a plugin could map shared anonymous
 * memory, or fill a memfd, far beyond it.  So the limit is enforced
 * twice: RLIMIT_DATA for private memory, at the limit itself; and for
 * every page the worker can touch, a memory cgroup of the worker's
 * own that the broker creates (broker/cgroup.c), or, where it cannot,
 * RLIMIT_AS (worker/sandbox-limits.c).  Both add what the worker
 * itself needs to the limit.
 *
 * This file holds what both sides must agree on: where a process's
 * memory cgroup is, how large the broker makes a worker's, and how a
 * cgroup file is read.  It reads /proc and cgroup files only.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

/* Decode mountinfo's octal escapes (\040 for a blank) in place. */
static void
unescape(char *s)
{
	char	*d = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 3;
		} else
			*d++ = *s;
	}
	*d = '\0';
}

/* Is word one of the comma-separated words of list? */
static bool
has_word(const char *list, const char *word)
{
	size_t	l = strlen(word);

	while (list != NULL && *list != '\0') {
		if (strncmp(list, word, l) == 0 &&
		    (list[l] == ',' || list[l] == '\0'))
			return true;
		if ((list = strchr(list, ',')) != NULL)
			list++;
	}
	return false;
}

/*
 * Find in mountinfo a mount of fstype (with superoption opt, if not
 * NULL) whose root is path or above it; put the directory that is
 * path into dir.  Returns 0, or -1 if there is none.
 */
static int
find_mount(FILE *fp, const char *fstype, const char *opt, const char *path,
    char *dir, size_t dirlen)
{
	char	 line[8192], *f[16], *save = NULL, *t;
	size_t	 n, rl;

	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		n = 0;
		for (t = strtok_r(line, " ", &save); t != NULL && n < 16;
		    t = strtok_r(NULL, " ", &save))
			f[n++] = t;
		/* id parent dev root mountpoint opts [optional...] - type
		 * source superopts */
		for (rl = 6; rl < n && strcmp(f[rl], "-") != 0; rl++)
			;
		if (rl + 3 >= n || strcmp(f[rl + 1], fstype) != 0 ||
		    (opt != NULL && !has_word(f[rl + 3], opt)))
			continue;
		unescape(f[3]);
		unescape(f[4]);
		rl = strlen(f[3]);
		if (strcmp(f[3], "/") == 0)
			rl = 0;
		else if (strncmp(path, f[3], rl) != 0 ||
		    (path[rl] != '/' && path[rl] != '\0'))
			continue;	/* this mount does not show path */
		if ((size_t)snprintf(dir, dirlen, "%s%s", f[4], path + rl) >=
		    dirlen)
			continue;
		/* No trailing slash, but "/" stays. */
		n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			dir[--n] = '\0';
		return 0;
	}
	return -1;
}

/*
 * Where the memory controller of the process whose /proc/PID/cgroup
 * and /proc/PID/mountinfo are proc_cgroup and mountinfo is: cgroup v1
 * if a v1 hierarchy has the memory controller, else the v2 hierarchy
 * (whether memory is enabled there is for the caller to find out).
 * Returns 0, or -1 with err set.
 */
int
policy_cgroup_find(const char *proc_cgroup, const char *mountinfo,
    struct policy_cgroup *cg, char *err, size_t errlen)
{
	char	 line[4096], v1[4096] = "", v2[4096] = "", *a, *b;
	FILE	*fp;
	bool	 have_v1 = false, have_v2 = false;
	int	 r = -1;

	memset(cg, 0, sizeof(*cg));
	if ((fp = fopen(proc_cgroup, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", proc_cgroup, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((a = strchr(line, ':')) == NULL ||
		    (b = strchr(a + 1, ':')) == NULL)
			continue;
		*a++ = '\0';
		*b++ = '\0';
		/* hierarchy-id:controllers:path; v2 is 0::path */
		if (strcmp(line, "0") == 0 && *a == '\0') {
			snprintf(v2, sizeof(v2), "%s", b);
			have_v2 = true;
		} else if (has_word(a, "memory")) {
			snprintf(v1, sizeof(v1), "%s", b);
			have_v1 = true;
		}
	}
	fclose(fp);
	if (!have_v1 && !have_v2) {
		snprintf(err, errlen, "%s names no memory cgroup",
		    proc_cgroup);
		return -1;
	}
	if ((fp = fopen(mountinfo, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", mountinfo, strerror(errno));
		return -1;
	}
	if (have_v1 && find_mount(fp, "cgroup", "memory", v1, cg->dir,
	    sizeof(cg->dir)) == 0) {
		cg->version = 1;
		r = 0;
	} else if (have_v2 && !have_v1 && find_mount(fp, "cgroup2", NULL, v2,
	    cg->dir, sizeof(cg->dir)) == 0) {
		cg->version = 2;
		r = 0;
	} else
		snprintf(err, errlen, "the memory cgroup %s is not mounted "
		    "here (%s)", have_v1 ? v1 : v2, mountinfo);
	fclose(fp);
	return r;
}

/*
 * The memory.limit_in_bytes (v1) or memory.max (v2) the broker gives
 * a worker whose policy says memory: that, the payload arenas (pages
 * of the "in" arena that the worker is first to touch are charged to
 * it), and POLICY_MEMORY_SLACK for the worker's own code, heap,
 * stacks and page tables.  Saturates at UINT64_MAX.
 */
uint64_t
policy_memory_cgroup_limit(uint64_t memory, uint64_t arena_bytes)
{
	uint64_t	v = memory;

	if (v > UINT64_MAX - arena_bytes)
		return UINT64_MAX;
	v += arena_bytes;
	if (v > UINT64_MAX - POLICY_MEMORY_SLACK)
		return UINT64_MAX;
	return v + POLICY_MEMORY_SLACK;
}

/*
 * Read the number in cgroup file dir/file into *v ("max", and v1's
 * huge "unlimited", become UINT64_MAX).  Returns 0, or -1 with errno.
 */
int
policy_cgroup_read(const char *dir, const char *file, uint64_t *v)
{
	char		 path[4096 + 64], buf[64], *end;
	ssize_t		 n;
	int		 fd;

	*v = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = n == 0 ? EINVAL : errno;
		return -1;
	}
	buf[n] = '\0';
	if (strncmp(buf, "max", 3) == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0')) {
		errno = EINVAL;
		return -1;
	}
	/* v1 says "unlimited" with PAGE_COUNTER_MAX pages. */
	if (*v >= UINT64_C(1) << 62)
		*v = UINT64_MAX;
	return 0;
}

/*
 * Can the worker create a memfd at some stage?  Its pages are in no
 * address space until mapped, so only a memory cgroup counts them.
 */
bool
policy_allows_memfd(const struct policy *p)
{
	int	nr = policy_syscall_nr("memfd_create");
	size_t	i;

	if (nr < 0)
		return false;
	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == nr)
			return p->sc[i].startup != 0 ||
			    (p->dflt == POLICY_DEFAULT_ALLOW && !p->sc[i].kill);
	return p->dflt == POLICY_DEFAULT_ALLOW;
}
