/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for policy/merge.c: a plugin's policy merged with the
 * policies of filters stacked above it.  Rights are the union, a
 * tripwire survives only while nothing allows the call, the weaker
 * default, landlock and mode win, limits add up, durability is the
 * weakest said, and the worker's identity (user, magic config key)
 * must agree.  Table-driven over small policies parsed from memory
 * and resolved as the broker resolves them.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

#define F	"format = nbdbroker-policy/1\n"

/* A plugin's policy as the shipped ones are written. */
#define PLUGIN	F "[syscalls]\ndefault = errno ENOSYS\n" \
	"kill = @escape @exec @subprocess\n[limits]\nmemory = 256M\n" \
	"open-files = 32\n"

static struct policy *
parse_resolve(const char *name, const char *text)
{
	struct policy_param	 params[] = {
		{ "dir", "/tmp" },
	};
	struct policy_env	 env;
	struct policy		*p;
	char			 err[512];

	p = policy_parse_buf(name, text, strlen(text), err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	memset(&env, 0, sizeof(env));
	env.params = params;
	env.nparams = 1;
	env.cwd = "/";
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	return p;
}

static const struct policy_syscall *
sc(const struct policy *p, const char *name)
{
	int	nr = policy_syscall_nr(name);
	size_t	i;

	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == nr)
			return &p->sc[i];
	return NULL;
}

static const struct policy_path *
path(const struct policy *p, const char *name, bool startup_only)
{
	size_t	i;

	for (i = 0; i < p->npaths; i++)
		if (p->paths[i].path != NULL &&
		    strcmp(p->paths[i].path, name) == 0 &&
		    p->paths[i].startup_only == startup_only)
			return &p->paths[i];
	return NULL;
}

/* Merge the filter policy text into PLUGIN; returns the result. */
static struct policy *
merged(const char *plugin, const char *filter)
{
	struct policy	*p = parse_resolve("plugin.policy", plugin);
	struct policy	*q = parse_resolve("f.policy", filter);
	char		 err[512];

	ck_assert_msg(policy_merge(p, q, err, sizeof(err)) == 0, "%s", err);
	policy_free(q);
	return p;
}

START_TEST(test_merge_syscalls)
{
	struct policy			*p;
	const struct policy_syscall	*s;

	p = merged(PLUGIN, F "[syscalls]\nallow = pwrite64 clone\n"
	    "startup-allow = unlink\nkill = ptrace\n");
	/* A filter's allow is the worker's, while serving too. */
	ck_assert_ptr_nonnull(s = sc(p, "pwrite64"));
	ck_assert_uint_eq(s->serving, POLICY_ARG_ANY);
	/* Start-up only stays start-up only. */
	ck_assert_ptr_nonnull(s = sc(p, "unlink"));
	ck_assert_uint_eq(s->startup, POLICY_ARG_ANY);
	ck_assert_uint_eq(s->serving, 0);
	/* The plugin's tripwire on clone yields to the filter's need. */
	ck_assert_ptr_nonnull(s = sc(p, "clone"));
	ck_assert_uint_eq(s->serving, POLICY_ARG_ANY);
	ck_assert(!s->kill);
	/* Tripwires nobody needs stay, whichever policy set them. */
	ck_assert(sc(p, "execve")->kill);
	ck_assert(sc(p, "ptrace")->kill);
	ck_assert(sc(p, "setuid")->kill);
	/* The worker's own needs are still there. */
	ck_assert_uint_eq(sc(p, "futex")->serving, POLICY_ARG_ANY);
	ck_assert(p->merged);
	ck_assert_str_eq(p->file, "plugin.policy + f.policy");
	/* Origins name their file. */
	ck_assert_str_eq(sc(p, "pwrite64")->allow_via, "f.policy line 3");
	ck_assert_str_eq(sc(p, "execve")->kill_via,
	    "plugin.policy line 4: @exec");
	ck_assert_int_eq(sc(p, "execve")->kill_line, 0);
	policy_free(p);
}
END_TEST

/* The weaker of two settings wins where it is a right. */
static const struct {
	const char		*filter;
	enum policy_default	 dflt;
	enum policy_landlock	 landlock;
	enum policy_mode	 mode;
	enum policy_isolation	 isolation;
} weaker[] = {
	{ F, POLICY_DEFAULT_ERRNO, POLICY_LANDLOCK_REQUIRED,
	  POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN },
	{ F "[syscalls]\ndefault = kill\n", POLICY_DEFAULT_ERRNO,
	  POLICY_LANDLOCK_REQUIRED, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_PLUGIN },
	{ F "[syscalls]\ndefault = allow\n", POLICY_DEFAULT_ALLOW,
	  POLICY_LANDLOCK_REQUIRED, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_PLUGIN },
	{ F "[filesystem]\nlandlock = off\n", POLICY_DEFAULT_ERRNO,
	  POLICY_LANDLOCK_OFF, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_PLUGIN },
	{ F "[filesystem]\nlandlock = best-effort\n", POLICY_DEFAULT_ERRNO,
	  POLICY_LANDLOCK_BEST_EFFORT, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_PLUGIN },
	{ F "mode = log\n", POLICY_DEFAULT_ERRNO, POLICY_LANDLOCK_REQUIRED,
	  POLICY_MODE_LOG, POLICY_ISOLATION_PLUGIN },
	{ F "isolation = connection\n", POLICY_DEFAULT_ERRNO,
	  POLICY_LANDLOCK_REQUIRED, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_CONNECTION },
};

START_TEST(test_merge_weaker)
{
	struct policy	*p = merged(PLUGIN, weaker[_i].filter);

	ck_assert_int_eq(p->dflt, weaker[_i].dflt);
	ck_assert_int_eq(p->landlock, weaker[_i].landlock);
	ck_assert_int_eq(p->mode, weaker[_i].mode);
	ck_assert_int_eq(p->isolation, weaker[_i].isolation);
	policy_free(p);
}
END_TEST

/*
 * open-on-behalf = no is the admin's word on the broker, not a right of
 * the worker's code: it holds if either policy says it.
 */
START_TEST(test_merge_behalf)
{
	static const char	nb[] = F "[filesystem]\nopen-on-behalf = no\n";
	static const char	yb[] = F "[filesystem]\nopen-on-behalf = yes\n";
	struct policy		*p;

	p = merged(PLUGIN, F);
	ck_assert(!p->no_behalf);
	policy_free(p);
	p = merged(PLUGIN, nb);
	ck_assert(p->no_behalf);
	ck_assert_int_eq(p->no_behalf_line, 3);
	ck_assert_str_eq(p->no_behalf_file, "f.policy");
	policy_free(p);
	p = merged(nb, yb);
	ck_assert(p->no_behalf);
	ck_assert_int_eq(p->no_behalf_line, 3);
	ck_assert_str_eq(p->no_behalf_file, "plugin.policy");
	policy_free(p);
}
END_TEST

/* A filter that allows what it does not kill drops the plugin's traps. */
START_TEST(test_merge_default_allow)
{
	struct policy	*p = merged(PLUGIN, F "[syscalls]\ndefault = allow\n"
	    "kill = @escape\n");

	ck_assert(!sc(p, "execve")->kill);	/* the filter allows it */
	ck_assert(!sc(p, "fork")->kill);
	ck_assert(sc(p, "setuid")->kill);	/* both trap it */
	policy_free(p);
}
END_TEST

START_TEST(test_merge_limits)
{
	struct policy	*p;

	/* Added up: the worker holds both. */
	p = merged(PLUGIN, F "[limits]\nmemory = 64M\nopen-files = 16\n"
	    "cpu-seconds = 10\n");
	ck_assert_uint_eq(p->memory, 320u << 20);
	ck_assert_uint_eq(p->open_files, 48);
	ck_assert_uint_eq(p->cpu_seconds, 0);	/* the plugin: unlimited */
	policy_free(p);
	/* A filter that says nothing adds nothing. */
	p = merged(PLUGIN, F);
	ck_assert_uint_eq(p->memory, 256u << 20);
	ck_assert_uint_eq(p->open_files, 32);
	policy_free(p);
	/* An unlimited plugin stays unlimited. */
	p = merged(F, F "[limits]\nmemory = 64M\n");
	ck_assert_uint_eq(p->memory, 0);
	policy_free(p);
}
END_TEST

/* Durability: the weakest said; a filter cannot make data safer. */
static const struct {
	const char		*plugin;
	const char		*filter;
	enum policy_durability	 want;
} durs[] = {
	{ F, F, POLICY_DURABILITY_PLUGIN },
	{ F, F "durability = volatile\n", POLICY_DURABILITY_VOLATILE },
	{ F, F "durability = stateless\n", POLICY_DURABILITY_PLUGIN },
	{ F "durability = persistent\n", F "durability = volatile\n",
	  POLICY_DURABILITY_VOLATILE },
	{ F "durability = stateless\n", F "durability = persistent\n",
	  POLICY_DURABILITY_PERSISTENT },
	{ F "durability = persistent\n", F "durability = stateless\n",
	  POLICY_DURABILITY_PERSISTENT },
	{ F "durability = stateless\n", F, POLICY_DURABILITY_STATELESS },
};

START_TEST(test_merge_durability)
{
	struct policy	*p = merged(durs[_i].plugin, durs[_i].filter);

	ck_assert_int_eq(p->durability, durs[_i].want);
	policy_free(p);
}
END_TEST

START_TEST(test_merge_paths_network)
{
	struct policy			*p;
	const struct policy_path	*pp;

	p = merged(PLUGIN "[filesystem]\nstartup-read = /tmp\n"
	    "[network]\nallow = none\n",
	    F "[syscalls]\nallow = @network\n[filesystem]\n"
	    "startup-write = /tmp\nread = ${dir}\n[network]\n"
	    "allow = unix tcp-connect 443\n");
	/* Same path, same stage: one rule with both rights. */
	ck_assert_ptr_nonnull(pp = path(p, "/tmp", true));
	ck_assert_uint_eq(pp->access, POLICY_ACCESS_READ |
	    POLICY_ACCESS_WRITE);
	ck_assert_str_eq(pp->why, "plugin.policy line 9");
	/* Each rule keeps its line, with its file: open-on-behalf's. */
	ck_assert_int_eq(pp->line, 9);
	ck_assert_str_eq(pp->file, "plugin.policy");
	/* Another stage: another rule, the filter's. */
	ck_assert_ptr_nonnull(pp = path(p, "/tmp", false));
	ck_assert_uint_eq(pp->access, POLICY_ACCESS_READ);
	ck_assert_str_eq(pp->why, "f.policy line 6: ${dir}");
	ck_assert_int_eq(pp->line, 6);
	ck_assert_str_eq(pp->file, "f.policy");
	ck_assert_uint_eq(p->net, POLICY_NET_UNIX | POLICY_NET_TCP_CONNECT);
	ck_assert_uint_eq(p->nports, 1);
	ck_assert_uint_eq(p->ports[0], 443);
	/* A filter's .so, added by the broker: real, and pinned. */
	{
		char		tmpl[] = "/tmp/check-policy-merge.XXXXXX";
		char		*real;
		struct stat	st;
		int		fd = mkstemp(tmpl);

		ck_assert_int_ge(fd, 0);
		ck_assert_ptr_nonnull(real = realpath(tmpl, NULL));
		ck_assert_int_eq(fstat(fd, &st), 0);
		ck_assert_int_eq(policy_add_path(p, tmpl,
		    POLICY_ACCESS_READ, true, false, "a filter"), 0);
		ck_assert_ptr_nonnull(pp = path(p, real, true));
		ck_assert_str_eq(pp->why, "a filter");
		ck_assert_uint_eq(pp->dev, st.st_dev);
		ck_assert_uint_eq(pp->ino, st.st_ino);
		unlink(tmpl);
		close(fd);
		free(real);
		/* Gone, and required: an error; optional: left out. */
		ck_assert_int_eq(policy_add_path(p, tmpl,
		    POLICY_ACCESS_READ, true, false, "a filter"), -1);
		ck_assert_int_eq(policy_add_path(p, tmpl,
		    POLICY_ACCESS_READ, true, true, "a filter"), 0);
	}
	policy_free(p);
}
END_TEST

/* Merged twice (two filters): origins keep naming the right file. */
START_TEST(test_merge_two)
{
	struct policy	*p = parse_resolve("plugin.policy", PLUGIN);
	struct policy	*q = parse_resolve("f1.policy", F "[syscalls]\n"
	    "allow = pwrite64\n");
	struct policy	*r = parse_resolve("f2.policy", F "\n[syscalls]\n"
	    "allow = fsync\n[filesystem]\nread = /tmp\n"
	    "open-on-behalf = no\n");
	const struct policy_path *pp;
	char		 err[512];

	ck_assert_int_eq(policy_merge(p, q, err, sizeof(err)), 0);
	ck_assert_int_eq(policy_merge(p, r, err, sizeof(err)), 0);
	ck_assert_str_eq(p->file, "plugin.policy + f1.policy + f2.policy");
	/* Where a denial's setting goes: still the plugin's own file. */
	ck_assert_str_eq(p->own_file, "plugin.policy");
	ck_assert_str_eq(sc(p, "pwrite64")->allow_via, "f1.policy line 3");
	ck_assert_str_eq(sc(p, "fsync")->allow_via, "f2.policy line 4");
	ck_assert_str_eq(sc(p, "execve")->kill_via,
	    "plugin.policy line 4: @exec");
	/* A later merge names its own file, not the first one's. */
	ck_assert_ptr_nonnull(pp = path(p, "/tmp", false));
	ck_assert_int_eq(pp->line, 6);
	ck_assert_str_eq(pp->file, "f2.policy");
	ck_assert(p->no_behalf);
	ck_assert_int_eq(p->no_behalf_line, 7);
	ck_assert_str_eq(p->no_behalf_file, "f2.policy");
	policy_free(r);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* The worker's identity is the plugin's policy's to say. */
static const struct {
	const char	*plugin;
	const char	*filter;
	const char	*err;
} refused[] = {
	{ F, F "user = keep\n", "f.policy: user = keep, but plugin.policy "
	  "runs the worker as nobody; one worker has one user, set by the "
	  "plugin's policy" },
	{ F "user = keep\n", F "user = nobody\n", "f.policy: user = nobody, "
	  "but plugin.policy runs the worker as its own user (keep); one "
	  "worker has one user, set by the plugin's policy" },
	{ F "magic-config-key = file\n", F "magic-config-key = dir\n",
	  "f.policy: magic-config-key = dir: only the plugin's policy may "
	  "name its magic config key" },
};

START_TEST(test_merge_refused)
{
	struct policy	*p = parse_resolve("plugin.policy", refused[_i].plugin);
	struct policy	*q = parse_resolve("f.policy", refused[_i].filter);
	char		 err[512];

	ck_assert_int_eq(policy_merge(p, q, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(err, refused[_i].err);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* The same user named in both is no conflict. */
START_TEST(test_merge_same_user)
{
	struct policy	*p = merged(F "user = nobody\n", F "user = nobody\n");

	ck_assert(!p->user_keep);
	policy_free(p);
}
END_TEST

/* What was merged survives the wire, as the worker will see it. */
START_TEST(test_merge_wire)
{
	struct policy	*p = merged(PLUGIN, F "[syscalls]\n"
	    "allow = pwrite64\n[limits]\nmemory = 64M\n");
	struct policy	*w;
	uint8_t		*buf;
	size_t		 len;
	char		 err[512];

	ck_assert_int_eq(policy_encode(p, &buf, &len), 0);
	w = policy_decode(buf, len, err, sizeof(err));
	ck_assert_msg(w != NULL, "%s", err);
	ck_assert_uint_eq(sc(w, "pwrite64")->serving, POLICY_ARG_ANY);
	ck_assert(sc(w, "execve")->kill);
	ck_assert_uint_eq(w->memory, 320u << 20);
	free(buf);
	policy_free(w);
	policy_free(p);
}
END_TEST

static Suite *
merge_suite(void)
{
	Suite	*s = suite_create("policy-merge");
	TCase	*tc = tcase_create("merge");

	tcase_add_test(tc, test_merge_syscalls);
	tcase_add_loop_test(tc, test_merge_weaker, 0,
	    sizeof(weaker) / sizeof(weaker[0]));
	tcase_add_test(tc, test_merge_default_allow);
	tcase_add_test(tc, test_merge_behalf);
	tcase_add_test(tc, test_merge_limits);
	tcase_add_loop_test(tc, test_merge_durability, 0,
	    sizeof(durs) / sizeof(durs[0]));
	tcase_add_test(tc, test_merge_paths_network);
	tcase_add_test(tc, test_merge_two);
	tcase_add_loop_test(tc, test_merge_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, test_merge_same_user);
	tcase_add_test(tc, test_merge_wire);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(merge_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
