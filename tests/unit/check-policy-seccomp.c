/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for policy/seccomp.c: the compiled filters do what they
 * say, loaded in a forked child (a tripwire raises SIGSYS here, where
 * the tests build them with KILL_PROCESS instead of the worker's
 * USER_NOTIF).  The parser's tests are in check-policy.c.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy.h"

#define F	"format = nbdbroker-policy/1\n"

/* ------------------------------------------------------------------ */
/* Compiled filters, loaded in the forked test process. */

static struct policy *
compiled(const char *text)
{
	struct policy_env	 env = { 0 };
	struct policy		*p;
	char			 err[1024];

	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.cwd = "/";
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	return p;
}

/*
 * Load the filter of stage st as the worker does: the start-up filter
 * with libseccomp, after exporting the serving filter (which needs a
 * memfd); the serving filter with policy_seccomp_install(), the one
 * way the start-up filter lets a filter be added.
 */
static void	*serving_prog;

static void
load(const struct policy *p, enum policy_stage st)
{
	char	 err[1024];
	void	*ctx;

	if (st == POLICY_STAGE_SERVING) {
		ck_assert_ptr_nonnull(serving_prog);
		ck_assert_int_eq(policy_seccomp_install(serving_prog), 0);
		free(serving_prog);
		serving_prog = NULL;
		return;
	}
	ctx = policy_seccomp_build(p, POLICY_STAGE_SERVING,
	    SCMP_ACT_KILL_PROCESS, getpid(), err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	serving_prog = policy_seccomp_export(ctx, err, sizeof(err));
	ck_assert_msg(serving_prog != NULL, "%s", err);
	seccomp_release(ctx);
	ctx = policy_seccomp_build(p, POLICY_STAGE_STARTUP,
	    SCMP_ACT_KILL_PROCESS, getpid(), err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	ck_assert_int_eq(seccomp_load(ctx), 0);
	seccomp_release(ctx);
}

/*
 * Tests that must survive their filter run fn in a child of the test
 * process: Check's own bookkeeping after a test (timers) would not
 * pass the filter.  CHILD_ASSERT reports to stderr and exits 1.
 */
#define CHILD_ASSERT(c)	do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: %s failed (errno %d)\n",	\
		    __FILE__, __LINE__, #c, errno);			\
		_exit(1);						\
	}								\
} while (0)

static void
sandboxed(void (*fn)(void))
{
	pid_t	pid;
	int	st;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "child status 0x%x", st);
}

#define TRIPWIRES F "[syscalls]\ndefault = errno EPERM\n" \
	"allow = @memory @threads\nkill = @mount @subprocess getppid\n"

static void
child_default_errno(void)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	errno = 0;
	CHILD_ASSERT(syscall(SYS_getuid) == -1);	/* not allowed */
	CHILD_ASSERT(errno == EPERM);
	errno = 0;
	CHILD_ASSERT(syscall(SYS_clone3, NULL, 0) == -1);
	CHILD_ASSERT(errno == ENOSYS);			/* libc fallback */
	CHILD_ASSERT(syscall(SYS_gettid) > 0);		/* @worker */
	/* A thread that asks for a namespace is not a plain thread (the
	 * kernel would say EINVAL; the filter says EPERM first). */
	errno = 0;
	CHILD_ASSERT(syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND |
	    CLONE_VM | CLONE_NEWUSER, 0, 0, 0, 0) == -1);
	CHILD_ASSERT(errno == EPERM);
}

START_TEST(test_seccomp_default_errno)
{
	sandboxed(child_default_errno);
}
END_TEST

START_TEST(test_seccomp_tripwire_startup)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	syscall(SYS_getppid);
	ck_abort_msg("getppid was not a tripwire");
}
END_TEST

START_TEST(test_seccomp_tripwire_stacked)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	/* Bad arguments: harmless even if the filter let it through. */
	syscall(SYS_mount, NULL, NULL, NULL, 0, NULL);
	ck_abort_msg("mount was not a tripwire after stacking");
}
END_TEST

static void *
thread_fn(void *arg)
{
	return arg;
}

START_TEST(test_seccomp_threads_but_no_fork)
{
	struct policy	*p = compiled(TRIPWIRES);
	pthread_t	 t;
	static int	 arg;
	void		*r;

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	/* glibc: clone3 gets ENOSYS, clone(CLONE_THREAD) is allowed. */
	ck_assert_int_eq(pthread_create(&t, NULL, thread_fn, &arg), 0);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	ck_assert_ptr_eq(r, &arg);
	fork();
	ck_abort_msg("fork was not a tripwire");
}
END_TEST

static void
child_startup_only(void)
{
	struct policy	*p = compiled(F);
	void		*m;
	int		 fd;

	load(p, POLICY_STAGE_STARTUP);
	fd = open("/dev/null", O_RDONLY);
	CHILD_ASSERT(fd >= 0);
	close(fd);
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	CHILD_ASSERT(m != MAP_FAILED);
	load(p, POLICY_STAGE_SERVING);
	errno = 0;
	CHILD_ASSERT(open("/dev/null", O_RDONLY) == -1);
	CHILD_ASSERT(errno == ENOSYS);
	/* W^X while serving: no new executable mappings. */
	errno = 0;
	CHILD_ASSERT(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	CHILD_ASSERT(errno == ENOSYS);
	CHILD_ASSERT(mprotect(m, 4096, PROT_READ | PROT_WRITE |
	    PROT_EXEC) == -1);
	CHILD_ASSERT(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0) != MAP_FAILED);
}

START_TEST(test_seccomp_startup_only)
{
	sandboxed(child_startup_only);
}
END_TEST

START_TEST(test_seccomp_tgkill_self_only)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	/* Signal 0 to itself is allowed; to its parent, a tripwire. */
	ck_assert_int_eq(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid),
	    0), 0);
	syscall(SYS_tgkill, 1, 1, 0);
	ck_abort_msg("tgkill of another process was not a tripwire");
}
END_TEST

START_TEST(test_seccomp_foreign_arch)
{
	struct policy	*p = compiled(F "[syscalls]\ndefault = allow\n");

	load(p, POLICY_STAGE_STARTUP);
	syscall(0x40000000 | SYS_getpid);	/* x32 */
	ck_abort_msg("an x32 syscall got through");
}
END_TEST

START_TEST(test_seccomp_default_kill_after_startup)
{
	struct policy	*p = compiled(F "[syscalls]\ndefault = kill\n");
	int		 fd;

	load(p, POLICY_STAGE_STARTUP);
	fd = open("/dev/null", O_RDONLY);	/* @loader at start-up */
	ck_assert_int_ge(fd, 0);
	close(fd);
	load(p, POLICY_STAGE_SERVING);
	open("/dev/null", O_RDONLY);
	ck_abort_msg("open after start-up did not kill");
}
END_TEST

static void
child_log_mode(void)
{
	struct policy	*p = compiled(F "mode = log\n" "[syscalls]\n"
	    "kill = getppid\n");
	pid_t		 parent = getppid();

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	/* Logged by the kernel, not denied. */
	CHILD_ASSERT(syscall(SYS_getppid) == parent);
	CHILD_ASSERT(syscall(SYS_getuid) >= 0);
	errno = 0;
	CHILD_ASSERT(syscall(SYS_clone3, NULL, 0) == -1);
	CHILD_ASSERT(errno == ENOSYS);
}

START_TEST(test_seccomp_log_mode)
{
	sandboxed(child_log_mode);
}
END_TEST

static void
child_socket_families(void)
{
	struct policy	*p = compiled(F "[syscalls]\nallow = @network\n"
	    "[network]\nallow = unix\n");
	int		 fd;

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHILD_ASSERT(fd >= 0);
	close(fd);
	errno = 0;
	CHILD_ASSERT(socket(AF_INET, SOCK_STREAM, 0) == -1);
	CHILD_ASSERT(errno == ENOSYS);
	CHILD_ASSERT(socket(AF_NETLINK, SOCK_RAW, 0) == -1);
	CHILD_ASSERT(socket(AF_VSOCK, SOCK_STREAM, 0) == -1);
}

START_TEST(test_seccomp_socket_families)
{
	sandboxed(child_socket_families);
}
END_TEST


/*
 * A plugin cannot stack a filter of its own: prctl(PR_SET_SECCOMP)
 * trips even where the policy allows prctl, whatever the upper half of
 * the register says; other prctl options work.
 */
#define PRCTL F "[syscalls]\nallow = prctl\nkill = @mount\n"

START_TEST(test_seccomp_prctl_set_seccomp)
{
	struct policy	*p = compiled(PRCTL);

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	ck_assert_int_eq(prctl(PR_SET_NAME, "check", 0, 0, 0), 0);
	syscall(SYS_prctl, (1UL << 32) | PR_SET_SECCOMP, SECCOMP_MODE_STRICT,
	    0, 0, 0);
	ck_abort_msg("prctl(PR_SET_SECCOMP) was not a tripwire");
}
END_TEST

/* seccomp(2) in any form but the worker's own trips at start-up. */
START_TEST(test_seccomp_plugin_filter)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
	ck_abort_msg("seccomp(SECCOMP_SET_MODE_STRICT) was not a tripwire");
}
END_TEST

START_TEST(test_seccomp_plugin_filter_flags)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	/* A bad program: harmless even if the filter let it through. */
	syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);
	ck_abort_msg("seccomp without TSYNC was not a tripwire");
}
END_TEST

/* While serving, even the worker's own form is denied. */
static void
child_seccomp_serving(void)
{
	struct policy	*p = compiled(TRIPWIRES);

	load(p, POLICY_STAGE_STARTUP);
	load(p, POLICY_STAGE_SERVING);
	errno = 0;
	CHILD_ASSERT(syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER,
	    (long)SECCOMP_FILTER_FLAG_TSYNC, NULL) == -1);
	CHILD_ASSERT(errno == EPERM);
}

START_TEST(test_seccomp_serving_denies_filters)
{
	sandboxed(child_seccomp_serving);
}
END_TEST

static Suite *
seccomp_suite(void)
{
	Suite	*s = suite_create("policy-seccomp");
	TCase	*sc = tcase_create("seccomp");

	tcase_add_test(sc, test_seccomp_default_errno);
	tcase_add_test_raise_signal(sc, test_seccomp_tripwire_startup,
	    SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_tripwire_stacked,
	    SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_threads_but_no_fork,
	    SIGSYS);
	tcase_add_test(sc, test_seccomp_startup_only);
	tcase_add_test_raise_signal(sc, test_seccomp_tgkill_self_only,
	    SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_foreign_arch, SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_default_kill_after_startup,
	    SIGSYS);
	tcase_add_test(sc, test_seccomp_log_mode);
	tcase_add_test(sc, test_seccomp_socket_families);
	tcase_add_test_raise_signal(sc, test_seccomp_prctl_set_seccomp,
	    SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_plugin_filter, SIGSYS);
	tcase_add_test_raise_signal(sc, test_seccomp_plugin_filter_flags,
	    SIGSYS);
	tcase_add_test(sc, test_seccomp_serving_denies_filters);
	suite_add_tcase(s, sc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(seccomp_suite());
	int	 failed;

	if (srunner_fork_status(sr) == CK_NOFORK) {
		/* Filters would outlive their test. */
		fprintf(stderr, "check-policy-seccomp needs CK_FORK=yes\n");
		return 77;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
