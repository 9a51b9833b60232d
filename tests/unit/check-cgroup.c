/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for broker/cgroup.c, linked alone with policy/: a process
 * the broker puts in a memory cgroup of its own cannot touch more
 * shared memory than the limit allows (the kernel kills it, and the
 * release says so), can touch less, and its cgroup is gone once it is
 * released; those of dead brokers are removed; a worker joins the one
 * made for it by itself, and the broker sees whether it did.  Real
 * cgroups: where the broker cannot make them here (not root, no memory
 * controller), the test is skipped.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "policy.h"

#define MiB	(UINT64_C(1) << 20)

/* A policy that says memory = 64M (only that is read). */
static const struct policy	pol64 = { .memory = 64 * MiB };
static const struct policy	pol0 = { .memory = 0 };
static const struct policy	pol_log = { .memory = 64 * MiB,
				    .mode = POLICY_MODE_LOG };

/*
 * A child that waits for a byte on a pipe, then maps shared anonymous
 * memory of mib MiB and writes every page.  Returns its pid; *go is
 * the pipe's write end.
 */
static pid_t
child_touching(uint64_t mib, int *go)
{
	int	p[2];
	pid_t	pid;
	char	c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t	n = mib * MiB, i;
		char	*m;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED |
		    MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			_exit(3);
		for (i = 0; i < n; i += 4096)
			m[i] = 1;
		_exit(0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

/* The memory cgroup path of pid, from /proc/PID/cgroup ("" if none). */
static void
cgroup_of(pid_t pid, char *buf, size_t len)
{
	char	path[64], line[4096];
	FILE	*fp;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	/* v1's memory line, else v2's "0::" line. */
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, ":memory:") != NULL ||
		    (strncmp(line, "0::", 3) == 0 && buf[0] == '\0'))
			snprintf(buf, len, "%s", strchr(strchr(line, ':') + 1,
			    ':') + 1);
	fclose(fp);
}

START_TEST(test_over_the_limit_is_killed)
{
	char	desc[512], where[4096], expect[64];
	pid_t	pid;
	int	go, st;

	pid = child_touching(512, &go);
	/* 64M, no arenas: the cgroup allows 64M + POLICY_MEMORY_SLACK. */
	ck_assert_int_eq(cgroup_worker_attach(pid, &pol64, 0, desc,
	    sizeof(desc)), 0);
	snprintf(expect, sizeof(expect), "nbdbroker-%d-worker-%d",
	    (int)getpid(), (int)pid);
	ck_assert_msg(strstr(desc, expect) != NULL, "%s", desc);
	ck_assert_msg(strstr(desc, "limit 128M") != NULL, "%s", desc);
	cgroup_of(pid, where, sizeof(where));
	ck_assert_msg(strstr(where, expect) != NULL, "child in %s", where);
	ck_assert_int_eq(write(go, "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "status 0x%x", st);
	snprintf(desc, sizeof(desc), "killed by signal 9");
	cgroup_worker_release(pid, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, "killed by signal 9: out of memory, its "
	    "cgroup allows 128M") != NULL, "%s", desc);
	close(go);
}
END_TEST

START_TEST(test_under_the_limit_lives)
{
	char		desc[512], dir[4200], *p;
	struct stat	sb;
	pid_t		pid;
	int		go, st;

	pid = child_touching(32, &go);
	ck_assert_int_eq(cgroup_worker_attach(pid, &pol64, 0, desc,
	    sizeof(desc)), 0);
	/* "memory cgroup DIR, limit ...M" */
	ck_assert_ptr_nonnull(p = strstr(desc, "memory cgroup "));
	snprintf(dir, sizeof(dir), "%s", p + 14);
	ck_assert_ptr_nonnull(p = strstr(dir, ", limit"));
	*p = '\0';
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(write(go, "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x",
	    st);
	snprintf(desc, sizeof(desc), "exited with status 0");
	cgroup_worker_release(pid, desc, sizeof(desc));
	ck_assert_str_eq(desc, "exited with status 0");
	ck_assert_int_eq(stat(dir, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	close(go);
}
END_TEST

/* The cgroups a broker that died left behind go at the next attach. */
START_TEST(test_stale_removed)
{
	char		 parent[4096], stale[4200], desc[512], *p;
	struct stat	 sb;
	pid_t		 dead, pid;
	int		 go, st;

	/* "a memory cgroup per worker under DIR (cgroup vN...)" */
	snprintf(parent, sizeof(parent), "%s", cgroup_describe() + 33);
	ck_assert_ptr_nonnull(p = strstr(parent, " (cgroup v"));
	*p = '\0';
	dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, &st, 0), dead);
	snprintf(stale, sizeof(stale), "%s/nbdbroker-%d-worker-1", parent,
	    (int)dead);
	ck_assert_int_eq(mkdir(stale, 0755), 0);
	pid = child_touching(1, &go);
	ck_assert_int_eq(cgroup_worker_attach(pid, &pol64, 0, desc,
	    sizeof(desc)), 0);
	ck_assert_int_eq(stat(stale, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(write(go, "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	cgroup_worker_release(pid, NULL, 0);
	close(go);
}
END_TEST

/*
 * A child that joins by itself, as a worker does (worker/main.c):
 * writes "0" to fd if join, then tells the parent on a pipe and waits
 * for it to close.  Returns its pid; *done is the pipe it tells on,
 * *hold the one it waits on.
 */
static pid_t
child_joining(int fd, bool join, int *done, int *hold)
{
	int	d[2], h[2];
	pid_t	pid;
	char	c;

	ck_assert_int_eq(pipe(d), 0);
	ck_assert_int_eq(pipe(h), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(d[0]);
		close(h[1]);
		if (join && write(fd, "0", 1) != 1)
			_exit(1);
		if (write(d[1], "x", 1) != 1 || read(h[0], &c, 1) != 0)
			_exit(2);
		_exit(0);
	}
	close(d[1]);
	close(h[0]);
	*done = d[0];
	*hold = h[1];
	return pid;
}

/*
 * The broker's way: the cgroup is made before the worker exists, the
 * worker joins by itself through the descriptor the broker opened, and
 * the broker sees it there (cgroup_worker_joined); one that did not
 * join is seen not to be.
 */
START_TEST(test_worker_joins_itself)
{
	char		 desc[512], where[4096], name[128], dir[4200], *p;
	struct stat	 sb;
	pid_t		 pid;
	int		 fd, done, hold, st;
	char		 c;

	ck_assert_int_eq(cgroup_worker_prepare(&pol64, 0, &fd, desc,
	    sizeof(desc)), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(p = strstr(desc, "memory cgroup "));
	snprintf(dir, sizeof(dir), "%s", p + 14);
	ck_assert_ptr_nonnull(p = strstr(dir, ", limit"));
	*p = '\0';
	snprintf(name, sizeof(name), "%s", strrchr(dir, '/'));
	pid = child_joining(fd, true, &done, &hold);
	cgroup_worker_spawned(pid);
	ck_assert_int_eq(read(done, &c, 1), 1);
	cgroup_of(pid, where, sizeof(where));
	ck_assert_msg(strstr(where, name) != NULL, "child in %s, not %s",
	    where, name);
	ck_assert(cgroup_worker_joined(pid));
	close(hold);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x",
	    st);
	cgroup_worker_release(pid, NULL, 0);
	ck_assert_int_eq(stat(dir, &sb), -1);
	close(done);

	/* One that does not join. */
	ck_assert_int_eq(cgroup_worker_prepare(&pol64, 0, &fd, desc,
	    sizeof(desc)), 0);
	pid = child_joining(fd, false, &done, &hold);
	cgroup_worker_spawned(pid);
	ck_assert_int_eq(read(done, &c, 1), 1);
	ck_assert(!cgroup_worker_joined(pid));
	close(hold);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	cgroup_worker_release(pid, NULL, 0);
	close(done);

	/* Nothing spawned: the cgroup goes at once. */
	ck_assert_int_eq(cgroup_worker_prepare(&pol64, 0, &fd, desc,
	    sizeof(desc)), 0);
	ck_assert_ptr_nonnull(p = strstr(desc, "memory cgroup "));
	snprintf(dir, sizeof(dir), "%s", p + 14);
	ck_assert_ptr_nonnull(p = strstr(dir, ", limit"));
	*p = '\0';
	ck_assert_int_eq(stat(dir, &sb), 0);
	cgroup_worker_abandon();
	ck_assert_int_eq(stat(dir, &sb), -1);

	/* No limit: no cgroup, no descriptor, nothing to join. */
	ck_assert_int_eq(cgroup_worker_prepare(&pol0, 0, &fd, desc,
	    sizeof(desc)), 0);
	ck_assert_int_eq(fd, -1);
	ck_assert(cgroup_worker_joined(getpid()));
}
END_TEST

START_TEST(test_no_limit_no_cgroup)
{
	char	desc[256];

	ck_assert_int_eq(cgroup_worker_attach(getpid(), &pol0, 0, desc,
	    sizeof(desc)), 0);
	ck_assert_str_eq(desc, "no memory limit");
	/* mode = log limits nothing (sanitizers, valgrind). */
	ck_assert_int_eq(cgroup_worker_attach(getpid(), &pol_log, 0, desc,
	    sizeof(desc)), 0);
	ck_assert_str_eq(desc, "no memory limit (mode = log)");
	cgroup_worker_release(getpid(), NULL, 0);	/* unknown: nothing */
}
END_TEST

int
main(void)
{
	Suite		*s = suite_create("cgroup");
	TCase		*tc = tcase_create("memory");
	SRunner		*sr;
	const char	*how = cgroup_describe();
	int		 failed;

	printf("%s\n", how);
	if (strncmp(how, "a memory cgroup per worker", 26) != 0) {
		printf("check-cgroup: skipped: no memory cgroups here\n");
		return 77;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_over_the_limit_is_killed);
	tcase_add_test(tc, test_under_the_limit_lives);
	tcase_add_test(tc, test_stale_removed);
	tcase_add_test(tc, test_worker_joins_itself);
	tcase_add_test(tc, test_no_limit_no_cgroup);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
