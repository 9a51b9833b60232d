/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for policy/resolve.c and what resolving does to a parsed
 * policy: errors name the file and the line, ${NAME} references
 * (optional, repeated, in [network]), durability, sizes and durations
 * and their bounds, groups (and their systemd names), -r dropping
 * writes, and grants pinned to what the paths were at start.  The
 * parser's tests are in check-policy.c.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy.h"
#include "size.h"

#define F	"format = nbdbroker-policy/1\n"

/* ------------------------------------------------------------------ */
/* Resolve errors (need a parsed policy and plugin parameters). */

static const struct {
	const char	*text;
	const char	*key, *value;	/* one parameter, or NULL */
	const char	*err;
} bad_resolve[] = {
	{ F "user = nosuchuser-x\n", NULL, NULL, "t.policy:2: user: no user "
	    "'nosuchuser-x'" },
	{ F "user = root\n", NULL, NULL, "t.policy:2: user: 'root' is root "
	    "(uid 0, gid 0), not an unprivileged user" },
	{ F "\n[filesystem]\nread = ${file}\n", NULL, NULL, "memory: no "
	    "parameter file= given; the policy t.policy:4 needs it for the "
	    "path ${file}" },
	{ F "magic-config-key = file\n[filesystem]\nread = ${file}\n", "x",
	    "1", "memory: no parameter file= given, nor a bare word; the "
	    "policy t.policy:4 needs it for the path ${file}" },
	{ F "[filesystem]\nread = ${file}\n", "file", "/nonexistent/x",
	    "t.policy:3: ${file} = '/nonexistent/x': No such file or "
	    "directory" },
	{ F "[filesystem]\nstartup-write = /nonexistent/y\n", NULL, NULL,
	    "t.policy:3: '/nonexistent/y': No such file or directory" },
	/*
	 * A parameter the policy needs: the plugin's parameter error,
	 * with the one given that looks like it, and the policy line.
	 */
	{ F "[limits]\nmemory = ${size} + 1M\n", "size", "abc",
	    "memory: parameter size=abc is not a size: expected a number; "
	    "the policy t.policy:3 reads it for [limits] memory" },
	{ F "[limits]\nmemory = ${size} + 1M\n", "size", "1GB",
	    "memory: parameter size=1GB is not a size: GB is ambiguous (10^9 "
	    "or 2^30 bytes?): write G or GiB (powers of 1024); the policy "
	    "t.policy:3 reads it for [limits] memory" },
	{ F "[limits]\nmemory = ${size} + 1M\n", NULL, NULL,
	    "memory: no parameter size= given; the policy t.policy:3 needs it "
	    "for [limits] memory" },
	{ F "magic-config-key = size\n[limits]\nmemory = ${size} + 1M\n",
	    "sise", "1G", "memory: no parameter size= given, nor a bare word "
	    "(did you mean sise=?); the policy t.policy:4 needs it for "
	    "[limits] memory" },
	{ F "[filesystem]\nstartup-read = ${file}\n", "fiel", "/tmp",
	    "memory: no parameter file= given (did you mean fiel=?); the "
	    "policy t.policy:3 needs it for the path ${file}" },
	{ F "[filesystem]\nstartup-read = ${file}\n", "export", "/tmp",
	    "memory: no parameter file= given; the policy t.policy:3 needs it "
	    "for the path ${file}" },
};

START_TEST(test_resolve_errors)
{
	struct policy_param	 pa = { bad_resolve[_i].key,
	    bad_resolve[_i].value };
	struct policy_env	 env = { 0 };
	struct policy		*p;
	char			 err[1024] = "";

	p = policy_parse_buf("t.policy", bad_resolve[_i].text,
	    strlen(bad_resolve[_i].text), err, sizeof(err));
	ck_assert_msg(p != NULL, "case %d: %s", _i, err);
	env.params = &pa;
	env.nparams = bad_resolve[_i].value ? 1 : 0;
	env.cwd = "/";
	env.root = true;
	env.plugin_name = "memory";
	ck_assert_int_eq(policy_resolve(p, &env, err, sizeof(err)), -1);
	ck_assert_str_eq(err, bad_resolve[_i].err);
	policy_free(p);
}
END_TEST

/*
 * -r: no rule keeps write access.  A read+write rule keeps its read, a
 * write-only rule goes, a read rule is untouched.
 */
START_TEST(test_readonly_drops_writes)
{
	static const char	 text[] = F "[filesystem]\n"
	    "startup-read = /tmp\nstartup-write = /tmp\n"
	    "write = /usr\nread = /etc\n";
	struct policy_env	 env = { 0 };
	struct policy		*p;
	size_t			 k;
	char			 err[1024] = "";

	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.cwd = "/";
	env.readonly = true;
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert(p->readonly);
	for (k = 0; k < p->npaths; k++) {
		ck_assert_uint_eq(p->paths[k].access, POLICY_ACCESS_READ);
		ck_assert_str_ne(p->paths[k].path, "/usr");
	}
	ck_assert_uint_ge(p->npaths, 2);
	ck_assert_str_eq(p->paths[0].path, "/tmp");
	ck_assert(p->paths[0].startup_only);
	ck_assert_str_eq(p->paths[1].path, "/etc");
	policy_free(p);
}
END_TEST

/*
 * Paths are pinned to the file they name when the policy is resolved,
 * through links, and the worker gets the pin: a link is resolved to
 * its target, the device and inode are the target's.
 */
START_TEST(test_paths_pinned)
{
	static const char	 text[] = F "[filesystem]\nread = ${file}\n";
	char			 dir[] = "/tmp/check-policy.XXXXXX";
	char			 file[64], link[64], err[1024];
	struct policy_param	 pa = { "file", link };
	struct policy_env	 env = { 0 };
	struct policy		*p, *q;
	struct stat		 st;
	uint8_t			*wire;
	size_t			 len, i;
	int			 fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/disk.img", dir);
	snprintf(link, sizeof(link), "%s/link.img", dir);
	ck_assert_int_ge(fd = open(file, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	ck_assert_int_eq(symlink(file, link), 0);
	ck_assert_int_eq(stat(file, &st), 0);

	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.params = &pa;
	env.nparams = 1;
	env.cwd = "/";
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_str_eq(p->paths[0].path, file);
	ck_assert_uint_eq(p->paths[0].dev, st.st_dev);
	ck_assert_uint_eq(p->paths[0].ino, st.st_ino);
	/* Built-in paths are real and pinned too (/lib: /usr/lib). */
	for (i = 0; i < p->npaths; i++) {
		ck_assert_uint_ne(p->paths[i].ino, 0);
		ck_assert_int_eq(lstat(p->paths[i].path, &st), 0);
		ck_assert(!S_ISLNK(st.st_mode));
	}
	ck_assert_int_eq(policy_encode(p, &wire, &len), 0);
	q = policy_decode(wire, len, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	ck_assert_uint_eq(q->npaths, p->npaths);
	for (i = 0; i < p->npaths; i++) {
		ck_assert_uint_eq(q->paths[i].dev, p->paths[i].dev);
		ck_assert_uint_eq(q->paths[i].ino, p->paths[i].ino);
	}
	free(wire);
	policy_free(q);
	policy_free(p);
	unlink(link);
	unlink(file);
	rmdir(dir);
}
END_TEST

/* ${NAME?} is dropped when NAME= is not given, kept when it is. */
START_TEST(test_optional_reference)
{
	static const char	 text[] = F "[filesystem]\n"
	    "startup-write = ${log?}\nread = /\n";
	struct policy_param	 pa = { "log", "/tmp" };
	struct policy_env	 env = { 0 };
	struct policy		*p;
	char			 err[1024] = "";
	size_t			 i, n = 0;

	/* Not given: no rule from it, and no error. */
	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.cwd = "/";
	env.root = true;
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	for (i = 0; i < p->npaths; i++) {
		ck_assert_ptr_null(p->paths[i].param);
		ck_assert_ptr_nonnull(p->paths[i].path);
		if (strcmp(p->paths[i].path, "/tmp") == 0)
			n++;
	}
	ck_assert_uint_eq(n, 0);
	policy_free(p);

	/* Given: the path is granted. */
	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.params = &pa;
	env.nparams = 1;
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	for (i = 0; i < p->npaths; i++)
		if (strcmp(p->paths[i].path, "/tmp") == 0 &&
		    p->paths[i].startup_only)
			n++;
	ck_assert_uint_eq(n, 1);
	policy_free(p);
}
END_TEST

/*
 * A path rule that references a repeated parameter grants every value,
 * bare words of the magic-config-key included, each resolved and
 * checked: a second value that does not exist is an error naming it.
 */
START_TEST(test_repeated_reference)
{
	static const char	 text[] = F "magic-config-key = file\n"
	    "[filesystem]\nread = ${file}\nstartup-write = ${file}\n";
	struct policy_param	 pa[] = {
		{ NULL, "/tmp" }, { "size", "1M" }, { "file", "/usr" },
		{ NULL, "/etc" },
	};
	struct policy_param	 missing[] = {
		{ "file", "/tmp" }, { "file", "/nonexistent-h20" },
	};
	static const char	*want[] = { "/tmp", "/usr", "/etc" };
	struct policy_env	 env = { 0 };
	struct policy		*p;
	char			 err[1024] = "";
	size_t			 i, k, r, w;

	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.cwd = "/";
	env.root = true;
	env.params = pa;
	env.nparams = 4;
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0, "%s",
	    err);
	for (k = 0; k < 3; k++) {
		char	*real = realpath(want[k], NULL);

		ck_assert_ptr_nonnull(real);
		r = w = 0;
		for (i = 0; i < p->npaths; i++) {
			if (p->paths[i].param == NULL ||
			    strcmp(p->paths[i].path, real) != 0)
				continue;
			ck_assert_uint_eq(p->paths[i].nth, k);
			if (p->paths[i].startup_only)
				w++;
			else
				r++;
		}
		ck_assert_msg(r == 1 && w == 1, "%s: %zu read, %zu "
		    "startup-write rules", real, r, w);
		free(real);
	}
	policy_free(p);

	/* Every value is checked, not only the last. */
	p = policy_parse_buf("t.policy", text, strlen(text), err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	env.params = missing;
	env.nparams = 2;
	ck_assert_int_eq(policy_resolve(p, &env, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent-h20") != NULL, "%s", err);
	policy_free(p);
}
END_TEST

/*
 * tcp-connect ${NAME} takes the port from a parameter: a number,
 * HOST:PORT, a URL's port or its scheme's; ${NAME:-PORT} when not
 * given.  hosts = ${NAME} resolves the host of each value.
 */
static struct policy *
net_resolve(const char *net, struct policy_param *pa, size_t n, char *err,
    size_t errlen)
{
	struct policy_env	 env = { 0 };
	struct policy		*p;
	char			 text[512];

	snprintf(text, sizeof(text), F "[syscalls]\ndefault = errno "
	    "ENOSYS\nallow = @network\n[network]\n%s", net);
	p = policy_parse_buf("t.policy", text, strlen(text), err, errlen);
	ck_assert_msg(p != NULL, "%s", err);
	env.cwd = "/";
	env.params = pa;
	env.nparams = n;
	if (policy_resolve(p, &env, err, errlen) == -1) {
		policy_free(p);
		return NULL;
	}
	return p;
}

START_TEST(test_network_params)
{
	static const struct {
		const char	*value;
		unsigned	 port;	/* 0: no TCP; 1: an error */
	} cases[] = {
		{ "10809", 10809 }, { "127.0.0.1:2000", 2000 },
		{ "[::1]:2001", 2001 }, { "http://127.0.0.1/d.img", 80 },
		{ "https://u:pw@example.com/d", 443 },
		{ "nbd://127.0.0.1:3000/exp", 3000 },
		{ "nbd://[::1]/", 10809 }, { "nbd+unix:///?socket=/s", 0 },
		{ "example.com", 1 }, { "gopher://h/", 1 }, { "h:99999", 1 },
		{ "::1", 1 },
	};
	static const char	 no_tcp[] = F "[syscalls]\nallow = @network\n"
	    "[network]\nallow = unix\nhosts = ${h}\n";
	static const char	 a_path[] = F "[network]\nhosts = /etc/hosts\n";
	struct policy_param	 pa[2] = { { "url", NULL }, { "url", "9" } };
	struct policy		*p;
	char			 err[1024];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pa[0].value = cases[i].value;
		err[0] = '\0';
		p = net_resolve("allow = tcp-connect ${url}\n", pa, 1, err,
		    sizeof(err));
		if (cases[i].port == 1) {
			ck_assert_msg(p == NULL, "%s: resolved",
			    cases[i].value);
			ck_assert_msg(strstr(err, "url=") != NULL, "%s", err);
			continue;
		}
		ck_assert_msg(p != NULL, "%s: %s", cases[i].value, err);
		ck_assert_uint_eq(p->nports, cases[i].port ? 1 : 0);
		if (cases[i].port)
			ck_assert_uint_eq(p->ports[0], cases[i].port);
		ck_assert_uint_eq(p->nport_refs, 0);
		policy_free(p);
	}

	/* Every value of a repeated parameter; 10 listed once. */
	pa[0].value = "10";
	p = net_resolve("allow = tcp-connect 10 ${url}\n", pa, 2, err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_uint_eq(p->nports, 2);
	ck_assert_uint_eq(p->ports[0], 10);
	ck_assert_uint_eq(p->ports[1], 9);
	policy_free(p);

	/* Not given: an error, none (?), or the default (:-). */
	p = net_resolve("allow = tcp-connect ${port}\n", pa, 0, err,
	    sizeof(err));
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, "no parameter port=") != NULL, "%s", err);
	p = net_resolve("allow = tcp-connect ${port?}\n", pa, 0, err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_uint_eq(p->nports, 0);
	policy_free(p);
	p = net_resolve("allow = tcp-connect ${port:-10809}\n", pa, 0, err,
	    sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_uint_eq(p->nports, 1);
	ck_assert_uint_eq(p->ports[0], 10809);
	policy_free(p);

	/* hosts: the URL's host, resolved; IPv4 only here. */
	pa[0].value = "http://127.0.0.1:8080/x";
	p = net_resolve("allow = tcp-connect ${url}\nhosts = ${url}\n", pa,
	    1, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert(p->net & POLICY_NET_HOSTS);
	ck_assert_uint_eq(p->naddrs, 1);
	ck_assert_int_eq(p->addrs[0].family, AF_INET);
	ck_assert_mem_eq(p->addrs[0].addr, "\x7f\0\0\x01", 4);
	ck_assert_str_eq(p->addrs[0].host, "127.0.0.1");
	ck_assert_str_eq(p->addrs[0].ref, "${url}");
	policy_free(p);

	/* hosts without tcp-connect, or naming a path: parse errors. */
	ck_assert_ptr_null(policy_parse_buf("t.policy", no_tcp,
	    strlen(no_tcp), err, sizeof(err)));
	ck_assert_msg(strstr(err, "hosts: needs allow") != NULL, "%s", err);
	ck_assert_ptr_null(policy_parse_buf("t.policy", a_path,
	    strlen(a_path), err, sizeof(err)));
	ck_assert_msg(strstr(err, "${NAME}") != NULL, "%s", err);
}
END_TEST

START_TEST(test_durability)
{
	static const struct {
		const char		*text;
		enum policy_durability	 d;
	} cases[] = {
		{ F, POLICY_DURABILITY_PLUGIN },
		{ F "durability = stateless\n", POLICY_DURABILITY_STATELESS },
		{ F "durability = persistent\n", POLICY_DURABILITY_PERSISTENT },
		{ F "durability = volatile\n", POLICY_DURABILITY_VOLATILE },
	};
	struct policy	*p;
	char		 err[1024] = "";
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = policy_parse_buf("t.policy", cases[i].text,
		    strlen(cases[i].text), err, sizeof(err));
		ck_assert_msg(p != NULL, "%s", err);
		ck_assert_int_eq(p->durability, cases[i].d);
		policy_free(p);
	}
}
END_TEST

START_TEST(test_sizes_and_durations)
{
	static const struct {
		const char	*s;
		uint64_t	 v;
	} sizes[] = {
		{ "0", 0 }, { "123", 123 }, { "64K", 65536 },
		{ "64k", 65536 }, { "512M", 512 << 20 }, { "512m", 512 << 20 },
		{ "1G", 1 << 30 }, { "2GiB", UINT64_C(2) << 30 },
		{ "3s", 1536 }, { "1T", UINT64_C(1) << 40 }, { "7b", 7 },
		{ "7B", 7 }, { "4KiB", 4096 }, { "5MiB", 5 << 20 },
		{ "3TiB", UINT64_C(3) << 40 }, { "2PiB", UINT64_C(2) << 50 },
		{ "1EiB", UINT64_C(1) << 60 },
	};
	/* KB, MB, ...: powers of 1000 to some, of 1024 to others. */
	static const char *const bad_sizes[] = { "", "x", "1Q", "1Gi",
	    "-1", "1 G", "99999999999999999999", "20000000P", "1GB", "1gb",
	    "512MB", "512Mb", "64KB", "1TB", "1PB", "1EB", "1GIB", "1Gib",
	    "1.5G", "1,5G", "+1", "1sB", "1bB", "0x10", "1GiBB" };
	uint64_t	v;
	size_t		i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(policy_parse_size(sizes[i].s, &v), 0);
		ck_assert_uint_eq(v, sizes[i].v);
	}
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		ck_assert_msg(policy_parse_size(bad_sizes[i], &v) == -1,
		    "'%s' parsed", bad_sizes[i]);
}
END_TEST

/* common/size.c, which the SDK and --arena-size use with other bounds. */
START_TEST(test_size_bounds)
{
	const char	*why = NULL;
	uint64_t	 v;

	ck_assert_int_eq(size_parse("7E", INT64_MAX, &v, &why), 0);
	ck_assert_uint_eq(v, UINT64_C(7) << 60);
	ck_assert_int_eq(size_parse("8E", INT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "too large");
	ck_assert_int_eq(size_parse("15E", UINT64_MAX, &v, &why), 0);
	ck_assert_int_eq(size_parse("16E", UINT64_MAX, &v, &why), -1);
	ck_assert_int_eq(size_parse("4097", 4096, &v, &why), -1);
	ck_assert_int_eq(size_parse("8s", 4096, &v, &why), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(size_parse("1sB", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "trailing characters");
	ck_assert_int_eq(size_parse(" 1", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "expected a number");
	ck_assert_int_eq(size_parse("1Q", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "unknown suffix (use b, s, K, M, G, T, P, E, "
	    "or KiB, MiB, GiB, TiB, PiB, EiB)");
	ck_assert_int_eq(size_parse("512MB", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "MB is ambiguous (10^6 or 2^20 bytes?): write "
	    "M or MiB (powers of 1024)");
	ck_assert_int_eq(size_parse("1kb", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "KB is ambiguous (1000 or 1024 bytes?): write K "
	    "or KiB (powers of 1024)");
	ck_assert_int_eq(size_parse("2EB", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "EB is ambiguous (10^18 or 2^60 bytes?): write "
	    "E or EiB (powers of 1024)");
	ck_assert_int_eq(size_parse("1.5G", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "a whole number is needed (write 1536M, not "
	    "1.5G)");
	ck_assert_int_eq(size_parse("1GiBB", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "trailing characters");
	ck_assert_int_eq(size_parse("16EiB", UINT64_MAX, &v, &why), -1);
	ck_assert_str_eq(why, "too large");
	ck_assert_int_eq(size_parse("7EiB", INT64_MAX, &v, &why), 0);
	ck_assert_uint_eq(v, UINT64_C(7) << 60);
	ck_assert_int_eq(size_parse("5b", UINT64_MAX, &v, &why), 0);
	ck_assert_uint_eq(v, 5);
}
END_TEST

/* Every group member is a syscall on this architecture (or newer). */
START_TEST(test_groups_resolve)
{
	const char	*g;
	size_t		 i, known = 0;

	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		const struct policy_group_entry	*e;

		ck_assert_ptr_nonnull(policy_group_help(g));
		for (e = policy_group(g); e->name != NULL; e++)
			if (policy_syscall_nr(e->name) >= 0)
				known++;
			else
				ck_assert_msg(
				    strcmp(e->name, "statmount") == 0 ||
				    strcmp(e->name, "listmount") == 0 ||
				    strcmp(e->name, "open_tree_attr") == 0,
				    "%s: %s is not a syscall here", g,
				    e->name);
	}
	ck_assert_uint_gt(known, 300);
}
END_TEST

/*
 * A group named like one of systemd's has systemd's members (those
 * this architecture has), as `systemd-analyze syscall-filter` lists
 * them here; @mount may have the mount-API syscalls newer than systemd
 * 252.  The names given up for being systemd's with other members
 * (@process, @privileged) are no groups.  Without systemd-analyze
 * there is nothing to compare with.
 */
static struct {
	char	group[64];
	char	name[64];
} sd[8192];
static size_t	nsd;

static bool
sd_has(const char *group, const char *name)
{
	size_t	i;

	for (i = 0; i < nsd; i++)
		if (strcmp(sd[i].group, group) == 0 &&
		    strcmp(sd[i].name, name) == 0)
			return true;
	return false;
}

START_TEST(test_groups_as_systemd)
{
	static const char *const newer_mount[] = { "statmount", "listmount",
	    "open_tree_attr", NULL };
	char		 line[256], group[64] = "";
	const char	*g;
	size_t		 i, k, compared = 0;
	FILE		*fp;

	ck_assert_ptr_null(policy_group("@process"));
	ck_assert_ptr_null(policy_group("@privileged"));
	if (access("/usr/bin/systemd-analyze", X_OK) != 0 &&
	    access("/bin/systemd-analyze", X_OK) != 0) {
		fprintf(stderr, "no systemd-analyze: groups not compared\n");
		return;
	}
	fp = popen("systemd-analyze syscall-filter 2>/dev/null", "r");
	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp) != NULL && nsd < 8192) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '@')
			snprintf(group, sizeof(group), "%.63s", line);
		else if (strncmp(line, "    ", 4) == 0 && line[4] != '#' &&
		    group[0] != '\0') {
			snprintf(sd[nsd].group, 64, "%s", group);
			snprintf(sd[nsd++].name, 64, "%.63s", line + 4);
		}
	}
	ck_assert_int_eq(pclose(fp), 0);
	ck_assert_uint_gt(nsd, 500);

	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		const struct policy_group_entry	*e, *ours;
		bool				 theirs = false;

		ours = policy_group(g);

		for (k = 0; k < nsd && !theirs; k++)
			theirs = strcmp(sd[k].group, g) == 0;
		if (!theirs)
			continue;
		compared++;
		/* Every member of theirs that is a syscall here is ours. */
		for (k = 0; k < nsd; k++) {
			bool	found = false;

			if (strcmp(sd[k].group, g) != 0)
				continue;
			ck_assert_msg(sd[k].name[0] != '@', "%s: nested %s", g,
			    sd[k].name);
			if (policy_syscall_nr(sd[k].name) < 0)
				continue;
			for (e = ours; e->name != NULL && !found; e++)
				found = strcmp(e->name, sd[k].name) == 0;
			ck_assert_msg(found, "%s: systemd's has %s, ours not",
			    g, sd[k].name);
		}
		/* And ours has nothing else. */
		for (e = ours; e->name != NULL; e++) {
			bool	newer = false;

			for (k = 0; strcmp(g, "@mount") == 0 &&
			    newer_mount[k] != NULL; k++)
				newer |= strcmp(e->name, newer_mount[k]) == 0;
			ck_assert_msg(newer || sd_has(g, e->name),
			    "%s: ours has %s, systemd's not", g, e->name);
		}
	}
	/* @basic-io, @debug, @io-event, @keyring, @module, @mount */
	ck_assert_uint_eq(compared, 6);
}
END_TEST

static Suite *
resolve_suite(void)
{
	Suite	*s = suite_create("policy-resolve");
	TCase	*tc = tcase_create("resolve");

	tcase_add_loop_test(tc, test_resolve_errors, 0,
	    sizeof(bad_resolve) / sizeof(bad_resolve[0]));
	tcase_add_test(tc, test_readonly_drops_writes);
	tcase_add_test(tc, test_paths_pinned);
	tcase_add_test(tc, test_optional_reference);
	tcase_add_test(tc, test_repeated_reference);
	tcase_add_test(tc, test_network_params);
	tcase_add_test(tc, test_durability);
	tcase_add_test(tc, test_sizes_and_durations);
	tcase_add_test(tc, test_size_bounds);
	tcase_add_test(tc, test_groups_resolve);
	tcase_add_test(tc, test_groups_as_systemd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(resolve_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
