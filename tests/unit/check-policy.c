/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for policy/: every parse error names the file and the
 * line, exactly; a table of valid policies and what they resolve to;
 * the wire form round-trips; cgroup paths, memory limits and a learned
 * policy.  Resolving is tested in check-policy-resolve.c, the compiled
 * seccomp filters in check-policy-seccomp.c.
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
/* One byte over POLICY_PARAM_NAME_MAX. */
#define K65	"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"

/* ------------------------------------------------------------------ */
/* Parse errors. */

static const struct {
	const char	*text;
	const char	*err;
} bad[] = {
	{ "", "t.policy:1: no settings: the first setting must be "
	    "'format = nbdbroker-policy/1'" },
	{ "mode = log\n", "t.policy:1: the first setting must be "
	    "'format = nbdbroker-policy/1'" },
	{ "# comment\n\n[syscalls]\n", "t.policy:3: the first setting must "
	    "be 'format = nbdbroker-policy/1'" },
	{ "format = nbdbroker-policy/2\n", "t.policy:1: unsupported format "
	    "'nbdbroker-policy/2' (this nbdbroker reads nbdbroker-policy/1)" },
	{ F "[sycalls]\n", "t.policy:2: unknown section '[sycalls]' "
	    "(did you mean '[syscalls]'?)" },
	{ F "[sandbox]\n", "t.policy:2: unknown section '[sandbox]' "
	    "(syscalls, filesystem, network, limits, restart)" },
	{ F "[syscalls]\n[syscalls]\n", "t.policy:3: section '[syscalls]' "
	    "appears twice" },
	{ F "[syscalls\n", "t.policy:2: expected '[section]'" },
	{ F "[limits] x\n", "t.policy:2: unexpected text after '[limits]'" },
	/* Typos: the close names, none if nothing is close. */
	{ F "[syscalls]\nallow = read opne\n", "t.policy:3: unknown syscall "
	    "'opne' (did you mean 'open'?)" },
	{ F "[syscalls]\nallow = read xyzzy\n", "t.policy:3: unknown "
	    "syscall 'xyzzy'" },
	{ F "[syscalls]\nallow = Mmap\n", "t.policy:3: unknown syscall "
	    "'Mmap' (did you mean 'mmap'?)" },
	{ F "[syscalls]\nallow = basic-io\n", "t.policy:3: unknown syscall "
	    "'basic-io' (did you mean the group '@basic-io'?)" },
	{ F "[syscalls]\nallow = @file-raed\n", "t.policy:3: unknown "
	    "syscall group '@file-raed' (did you mean '@file-read'? "
	    "'nbdbroker --list-syscall-groups' lists them all)" },
	{ F "[syscalls]\nallow = @nonsense\n", "t.policy:3: unknown "
	    "syscall group '@nonsense' ('nbdbroker --list-syscall-groups' "
	    "lists them all)" },
	/* systemd's names: said to be systemd's, or renamed here. */
	{ F "[syscalls]\nallow = @system-service\n", "t.policy:3: unknown "
	    "syscall group '@system-service' (a systemd group, not one of "
	    "nbdbroker's; 'nbdbroker --list-syscall-groups' lists them "
	    "all)" },
	{ F "[syscalls]\nallow = @signal\n", "t.policy:3: unknown syscall "
	    "group '@signal' (a systemd group, not one of nbdbroker's; did "
	    "you mean '@signals'? 'nbdbroker --list-syscall-groups' lists "
	    "them all)" },
	{ F "[syscalls]\nkill = @mount @process\n", "t.policy:3: syscall "
	    "group '@process' was renamed '@subprocess' (fork, clone, wait, "
	    "kill): systemd's @process is a different set, with execveat, "
	    "unshare, setns and prctl" },
	{ F "[syscalls]\nkill = @privileged\n", "t.policy:3: syscall group "
	    "'@privileged' was renamed '@escape' (identity, namespaces, "
	    "system state, other processes' memory): systemd's @privileged "
	    "is a different set, without setgid or unshare" },
	{ F "[syscalls]\nalow = read\n", "t.policy:3: unknown setting "
	    "'alow' in [syscalls] (did you mean 'allow'?)" },
	{ F "[syscalls]\nmemory = 1G\n", "t.policy:3: unknown setting "
	    "'memory' in [syscalls] ('memory' belongs in [limits])" },
	{ F "[limits]\nmode = log\n", "t.policy:3: unknown setting 'mode' "
	    "in [limits] ('mode' goes before the first section)" },
	{ F "isolaton = plugin\n", "t.policy:2: unknown setting 'isolaton' "
	    "(did you mean 'isolation'?)" },
	{ F "mode = enfroce\n", "t.policy:2: mode: 'enfroce' is not enforce "
	    "or log (did you mean 'enforce'?)" },
	{ F "[syscalls]\ndefault = errno ENOSY\n", "t.policy:3: default: "
	    "unknown errno 'ENOSY' (did you mean 'ENOSYS'?)" },
	/* Sizes: what is wrong with them. */
	{ F "[limits]\nmemory = 512MB\n", "t.policy:3: memory: '512MB' is "
	    "not a size: MB is ambiguous (10^6 or 2^20 bytes?): write M or "
	    "MiB (powers of 1024)" },
	{ F "[limits]\nmemory = 1.5G\n", "t.policy:3: memory: '1.5G' is "
	    "not a size: a whole number is needed (write 1536M, not 1.5G)" },
	{ F "[limits]\nmemory = ${size} + 1gb\n", "t.policy:3: memory: "
	    "'1gb' is not a size: GB is ambiguous (10^9 or 2^30 bytes?): "
	    "write G or GiB (powers of 1024)" },
	{ F "[syscalls]\ndeny = read\n", "t.policy:3: unknown setting "
	    "'deny' in [syscalls] (default, allow, startup-allow, kill)" },
	{ F "colour = blue\n", "t.policy:2: unknown setting 'colour' (before "
	    "the first section: format, mode, isolation, durability, user, "
	    "magic-config-key, allow-shutdown)" },
	{ F "allow-shutdown = maybe\n", "t.policy:2: allow-shutdown: 'maybe' "
	    "is not no or yes" },
	{ F "allow-shutdown = no\nallow-shutdown = yes\n", "t.policy:3: "
	    "'allow-shutdown' is set twice (first on line 2)" },
	{ F "mode = learn\n", "t.policy:2: mode: 'learn' is not enforce or "
	    "log" },
	{ F "isolation = tenant\n", "t.policy:2: isolation: 'tenant' is not "
	    "plugin or connection" },
	{ F "mode = log\nmode = enforce\n", "t.policy:3: 'mode' is set twice "
	    "(first on line 2)" },
	{ F F, "t.policy:2: 'format' is set twice (first on line 1)" },
	{ F "user = ro ot\n", "t.policy:2: 'user' takes one value, not 2" },
	{ F "user = -x\n", "t.policy:2: user: '-x' is not a user name, a "
	    "uid or 'keep'" },
	{ F "magic-config-key = a/b\n", "t.policy:2: magic-config-key: "
	    "'a/b' is not a parameter name" },
	{ F "magic-config-key = " K65 "\n", "t.policy:2: magic-config-key: "
	    "'" K65 "' is not a parameter name" },
	{ F "[filesystem]\nread = ${" K65 "}\n", "t.policy:3: '${" K65 "}': '"
	    K65 "' is not a parameter name" },
	{ F "[syscalls]\ndefault = errno ENOPE\n", "t.policy:3: default: "
	    "unknown errno 'ENOPE'" },
	{ F "[syscalls]\ndefault = deny\n", "t.policy:3: default: expected "
	    "'errno NAME', 'kill' or 'allow'" },
	{ F "[syscalls]\nallow\n", "t.policy:3: expected 'key = value' or "
	    "'[section]'" },
	{ F "[syscalls]\nallow =   # nothing\n", "t.policy:3: 'allow' has "
	    "no value" },
	{ F "[syscalls]\nallow = read\n\nkill = read\n", "t.policy:5: "
	    "'read' is both allowed (line 3) and in kill" },
	{ F "[syscalls]\nkill = futex\n", "t.policy:3: 'futex' cannot be in "
	    "kill: the worker needs it (@worker)" },
	{ F "[syscalls]\nkill = openat\n", "t.policy:3: 'openat' cannot be "
	    "in kill: the worker needs it (@loader)" },
	{ F "[syscalls]\nkill = @file-read\n", "t.policy:3: 'read' cannot "
	    "be in kill: the worker needs it (@worker)" },
	{ F "[syscalls]\nkill = clone3\n", "t.policy:3: 'clone3' cannot be "
	    "in kill: libc probes it and falls back when it fails with "
	    "ENOSYS" },
	{ F "[syscalls]\nallow = @network\nkill = socket\n", "t.policy:4: "
	    "'socket' is allowed with argument restrictions (line 3); it "
	    "cannot also be in kill" },
	{ F "[filesystem]\nread = srv/images\n", "t.policy:3: 'srv/images': "
	    "paths must be absolute (or ${PARAMETER})" },
	{ F "[filesystem]\nread = ${file\n", "t.policy:3: '${file': a "
	    "parameter reference is written ${NAME} (or ${NAME?} if the "
	    "parameter is optional)" },
	{ F "durability = forever\n", "t.policy:2: durability: 'forever' is "
	    "not stateless, persistent or volatile" },
	{ F "[filesystem]\nwrite = ${a/b}\n", "t.policy:3: '${a/b}': 'a/b' "
	    "is not a parameter name" },
	{ F "[filesystem]\nlandlock = maybe\n", "t.policy:3: landlock: "
	    "'maybe' is not required, best-effort or off" },
	{ F "[filesystem]\nread = \"/a b\n", "t.policy:3: unterminated "
	    "quote" },
	{ F "[filesystem]\nread = /a\"b\"\n", "t.policy:3: a quote in the "
	    "middle of a value" },
	{ F "[filesystem]\nexecute = /bin\n", "t.policy:3: unknown setting "
	    "'execute' in [filesystem] (landlock, read, write, exec, "
	    "startup-read, startup-write, startup-exec, open-on-behalf)" },
	{ F "[filesystem]\nopen-on-behalf = never\n", "t.policy:3: "
	    "open-on-behalf: 'never' is not no or yes" },
	{ F "[filesystem]\nopen-on-behalf = no\nopen-on-behalf = no\n",
	  "t.policy:4: 'open-on-behalf' is set twice (first on line 3)" },
	{ F "[network]\nallow = none unix\n", "t.policy:3: allow: 'none' "
	    "must stand alone" },
	{ F "[network]\nallow = tcp-connect\n", "t.policy:3: allow: "
	    "tcp-connect needs at least one port" },
	{ F "[network]\nallow = tcp-connect 70000\n", "t.policy:3: allow: "
	    "'70000' is not a port (1-65535)" },
	{ F "[network]\nallow = udp\n", "t.policy:3: allow: unknown value "
	    "'udp' (none, unix, all, tcp-connect PORT...)" },
	{ F "[network]\nallow = tcp-connect 80\n", "t.policy:3: [network] "
	    "allows sockets, but [syscalls] allow has no socket and connect "
	    "(add @network)" },
	{ F "[network]\nport = 80\n", "t.policy:3: unknown setting 'port' "
	    "in [network] (allow)" },
	{ F "[limits]\nmemory = lots\n", "t.policy:3: memory: expected SIZE "
	    "(e.g. 512M), 0, or ${PARAMETER} + SIZE" },
	{ F "[limits]\nmemory = ${size} - 1M\n", "t.policy:3: memory: "
	    "expected SIZE (e.g. 512M), 0, or ${PARAMETER} + SIZE" },
	{ F "[limits]\nmemory = ${size} + lots\n", "t.policy:3: memory: "
	    "'lots' is not a size: expected a number" },
	{ F "[limits]\nopen-files = 3\n", "t.policy:3: open-files: '3' is "
	    "not 0 (unlimited) or a number from 16 to 1048576" },
	{ F "[limits]\ncpu-seconds = -1\n", "t.policy:3: cpu-seconds: '-1' "
	    "is not a number of seconds (0: unlimited)" },
	{ F "[limits]\nswap = 1G\n", "t.policy:3: unknown setting 'swap' in "
	    "[limits] (memory, open-files, cpu-seconds)" },
	{ F "[restart]\nrequest-timeout = 30x\n", "t.policy:3: "
	    "request-timeout: '30x' is not a duration (e.g. 30s, 500ms; 0: "
	    "none): unknown unit (use ms, s, m or h)" },
	{ F "[restart]\nrequest-timeout = -1s\n", "t.policy:3: "
	    "request-timeout: '-1s' is not a duration (e.g. 30s, 500ms; 0: "
	    "none): expected a decimal number" },
	{ F "[restart]\nrequest-timeout = 18446744073709552\n", "t.policy:3: "
	    "request-timeout: '18446744073709552' is not a duration (e.g. "
	    "30s, 500ms; 0: none): too large" },
	{ F "[restart]\nintensity = 5\n", "t.policy:3: intensity: '5' is "
	    "not CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to 100000): no '/' between the "
	    "count and the period" },
	{ F "[restart]\nintensity = 0/60s\n", "t.policy:3: intensity: "
	    "'0/60s' is not CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to 100000): too small" },
	{ F "[restart]\nintensity = 100001/60s\n", "t.policy:3: intensity: "
	    "'100001/60s' is not CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to 100000): too large" },
	{ F "[restart]\nintensity = 5/0\n", "t.policy:3: intensity: "
	    "'5/0' is not CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to 100000): the period "
	    "must not be 0" },
	{ F "[restart]\nintensity = 5/1d\n", "t.policy:3: intensity: "
	    "'5/1d' is not CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to 100000): unknown "
	    "unit (use ms, s, m or h)" },
	{ F "[restart]\nreplays = 101\n", "t.policy:3: replays: '101' is "
	    "not a number from 0 to 100" },
	{ F "[restart]\nbackoff = 1s\n", "t.policy:3: unknown setting "
	    "'backoff' in [restart] (request-timeout, replays, intensity)" },
	{ F "[syscalls]\nstartup-allow = seccomp\n", "t.policy:3: 'seccomp' "
	    "cannot be allowed: a filter of the plugin's own could hide the "
	    "policy's tripwires (the worker loads its filters itself)" },
};

START_TEST(test_parse_errors)
{
	char		 err[1024] = "";
	struct policy	*p;

	p = policy_parse_buf("t.policy", bad[_i].text, strlen(bad[_i].text),
	    err, sizeof(err));
	ck_assert_msg(p == NULL, "case %d parsed: %s", _i, bad[_i].text);
	ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

/* The one parameter-name rule: its bounds and its characters. */
START_TEST(test_param_name)
{
	ck_assert_uint_eq(strlen(K65), POLICY_PARAM_NAME_MAX + 1);
	ck_assert(!policy_param_name_ok(K65));
	ck_assert(policy_param_name_ok(K65 + 1));
	ck_assert(policy_param_name_ok("a"));
	ck_assert(policy_param_name_ok("file.name-2_x"));
	ck_assert(!policy_param_name_ok(""));
	ck_assert(!policy_param_name_ok("a/b"));
	ck_assert(!policy_param_name_ok("a b"));
	ck_assert(!policy_param_name_ok("${a}"));
	ck_assert(!policy_param_name_ok("a=b"));
}
END_TEST

/*
 * open-on-behalf: off by default, on with no, and where it was said;
 * on the wire, since the worker's start-up capabilities depend on it.
 */
START_TEST(test_parse_behalf)
{
	static const char *const text[] = { F,
	    F "[filesystem]\nopen-on-behalf = yes\n",
	    F "[filesystem]\nread = /srv\nopen-on-behalf = no\n" };
	struct policy_env	 env = { .cwd = "/", .plugin_path = "/usr/lib",
	    .root = true };
	struct policy		*p, *q;
	uint8_t			*wire;
	size_t			 len;
	char			 err[256];
	int			 i;

	for (i = 0; i < 3; i++) {
		p = policy_parse_buf("t.policy", text[i], strlen(text[i]), err,
		    sizeof(err));
		ck_assert_msg(p != NULL, "%s", err);
		ck_assert(p->no_behalf == (i == 2));
		ck_assert_int_eq(p->no_behalf_line, i == 0 ? 0 : i + 2);
		ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0,
		    "%s", err);
		ck_assert_int_eq(policy_encode(p, &wire, &len), 0);
		q = policy_decode(wire, len, err, sizeof(err));
		ck_assert_msg(q != NULL, "%s", err);
		ck_assert(q->no_behalf == (i == 2));
		free(wire);
		policy_free(q);
		policy_free(p);
	}
}
END_TEST

START_TEST(test_parse_long_line_and_nul)
{
	char		 buf[8192], err[256];
	size_t		 n = strlen(F);

	memcpy(buf, F, n);
	memset(buf + n, '#', 5000);
	buf[n + 5000] = '\n';
	ck_assert_ptr_null(policy_parse_buf("t.policy", buf, n + 5001, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "t.policy:2: line longer than 4096 bytes");

	memcpy(buf, F "mode = log\0\n", n + 12);
	ck_assert_ptr_null(policy_parse_buf("t.policy", buf, n + 12, err,
	    sizeof(err)));
	ck_assert_str_eq(err, "t.policy:2: NUL byte");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Valid policies and what they resolve to. */

#define NO	0
#define YES	1
#define ANY	POLICY_ARG_ANY

struct sc_expect {
	const char	*name;
	uint32_t	 startup, serving;
	int		 kill;
};

struct path_expect {
	const char	*path;
	unsigned	 access;
	bool		 startup_only;
};

static const struct {
	const char		*text;
	const char		*key, *value;	/* a parameter, or NULL */
	const char		*bare;		/* a bare word, or NULL */
	enum policy_mode	 mode;
	enum policy_isolation	 isolation;
	enum policy_default	 dflt;
	int			 dflt_errno;
	enum policy_landlock	 landlock;
	unsigned		 net;
	size_t			 nports;
	uint64_t		 memory, open_files, cpu;
	uint64_t		 timeout_ms;
	unsigned		 replays, intensity_n;
	uint64_t		 intensity_ms;
	bool			 switch_user;
	struct sc_expect	 sc[6];
	struct path_expect	 paths[3];	/* the policy's own, in order */
} good[] = {
	/* 0: only the format line: the defaults. */
	{ F, NULL, NULL, NULL, POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_ERRNO, ENOSYS, POLICY_LANDLOCK_REQUIRED,
	  POLICY_NET_NONE, 0, 0, 0, 0, 30000, 2, 5, 60000, true,
	  { { "read", ANY, ANY, NO }, { "openat", ANY, 0, NO },
	    { "clone", POLICY_ARG_THREAD, POLICY_ARG_THREAD, NO },
	    { "mmap", ANY, POLICY_ARG_NOEXEC, NO },
	    { "seccomp", POLICY_ARG_FILTER, 0, YES },
	    { "mount", 0, 0, NO } },
	  { { NULL, 0, false } } },
	/* 1: the README's example policy, with log mode and other values. */
	{ F "mode = log\nisolation = connection   # per tenant\n"
	  "[syscalls]\ndefault = errno EPERM\n"
	  "allow = @basic-io @memory @threads @time @file-read\n"
	  "kill = @escape @mount @module @debug @exec io_uring_setup\n"
	  "[filesystem]\nlandlock = best-effort\nread = /tmp\nwrite = /tmp\n"
	  "[network]\nallow = none\n"
	  "[limits]\nmemory = 512M\nopen-files = 64\ncpu-seconds = 0\n"
	  "[restart]\nrequest-timeout = 500ms\nreplays = 0\n"
	  "intensity = 10/2m\n",
	  NULL, NULL, NULL, POLICY_MODE_LOG, POLICY_ISOLATION_CONNECTION,
	  POLICY_DEFAULT_ERRNO, EPERM, POLICY_LANDLOCK_BEST_EFFORT,
	  POLICY_NET_NONE, 0, 512 << 20, 64, 0, 500, 0, 10, 120000, true,
	  { { "openat", ANY, ANY, NO }, { "mount", 0, 0, YES },
	    { "io_uring_setup", 0, 0, YES }, { "execve", 0, 0, YES },
	    { "setresuid", 0, 0, YES }, { "ptrace", 0, 0, YES } },
	  { { "/tmp", POLICY_ACCESS_READ | POLICY_ACCESS_WRITE, false } } },
	/* 2: default kill, sockets, unix and two TCP ports, sizes. */
	{ F "user = keep\r\n[syscalls]\r\ndefault = kill\r\n"
	  "allow = @network\r\nallow = getppid  # a second allow line\r\n"
	  "[network]\r\nallow = unix tcp-connect 80 443\r\n"
	  "[limits]\r\nmemory = 2GiB\r\ncpu-seconds = 60\r\n",
	  NULL, NULL, NULL, POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_KILL, ENOSYS, POLICY_LANDLOCK_REQUIRED,
	  POLICY_NET_UNIX | POLICY_NET_TCP_CONNECT, 2, UINT64_C(2) << 30, 0,
	  60, 30000, 2, 5, 60000, false,
	  { { "socket", POLICY_ARG_SOCKET, POLICY_ARG_SOCKET, NO },
	    { "connect", ANY, ANY, NO }, { "getppid", ANY, ANY, NO },
	    { "sendmsg", ANY, ANY, NO }, { "clone3", 0, 0, NO },
	    { "mount", 0, 0, NO } },
	  { { NULL, 0, false } } },
	/* 3: everything allowed. */
	{ F "user = keep\n[syscalls]\ndefault = allow\n"
	  "[filesystem]\nlandlock = off\n[network]\nallow = all\n",
	  NULL, NULL, NULL, POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_ALLOW, ENOSYS, POLICY_LANDLOCK_OFF, POLICY_NET_ALL,
	  0, 0, 0, 0, 30000, 2, 5, 60000, false,
	  { { "read", ANY, ANY, NO } }, { { NULL, 0, false } } },
	/* 4: ${file} from a bare word, memory from ${size}, quotes. */
	{ F "magic-config-key = file\n[syscalls]\nallow = @file-io\n"
	  "startup-allow = @file-read\n"
	  "[filesystem]\nstartup-read = \"${file}\"\nstartup-write = ${file}\n"
	  "read = \"/\"\n"
	  "[limits]\nmemory = ${size} + 256M\n",
	  "size", "1G", "/tmp", POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_ERRNO, ENOSYS, POLICY_LANDLOCK_REQUIRED,
	  POLICY_NET_NONE, 0, (UINT64_C(1) << 30) + (256 << 20), 0, 0, 30000,
	  2, 5, 60000, true,
	  { { "pread64", ANY, ANY, NO }, { "openat", ANY, 0, NO },
	    { "fdatasync", ANY, ANY, NO }, { "readlink", ANY, 0, NO } },
	  { { "/tmp", POLICY_ACCESS_READ | POLICY_ACCESS_WRITE, true },
	    { "/", POLICY_ACCESS_READ, false } } },
	/* 5: @subprocess as tripwires keeps threads and self-signals. */
	{ F "[syscalls]\nkill = @subprocess @exec\n", NULL, NULL, NULL,
	  POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN, POLICY_DEFAULT_ERRNO,
	  ENOSYS, POLICY_LANDLOCK_REQUIRED, POLICY_NET_NONE, 0, 0, 0, 0,
	  30000, 2, 5, 60000, true,
	  { { "clone", POLICY_ARG_THREAD, POLICY_ARG_THREAD, YES },
	    { "tgkill", POLICY_ARG_SELF, POLICY_ARG_SELF, YES },
	    { "fork", 0, 0, YES }, { "kill", 0, 0, YES },
	    { "execve", 0, 0, YES }, { "exit", ANY, ANY, NO } },
	  { { NULL, 0, false } } },
	/* 6: file name parameter, relative to cwd; memory = 0. */
	{ F "[filesystem]\nwrite = ${dir}\n[limits]\nmemory = 0\n"
	  "open-files = 16\n", "dir", "tmp", NULL, POLICY_MODE_ENFORCE,
	  POLICY_ISOLATION_PLUGIN, POLICY_DEFAULT_ERRNO, ENOSYS,
	  POLICY_LANDLOCK_REQUIRED, POLICY_NET_NONE, 0, 0, 16, 0, 30000, 2,
	  5, 60000, true, { { NULL, 0, 0, NO } },
	  { { "/tmp", POLICY_ACCESS_WRITE, false } } },
	/* 7: durations as on the command line: a bare number is seconds. */
	{ F "[restart]\nrequest-timeout = 45\nintensity = 3/1h\n", NULL,
	  NULL, NULL, POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_ERRNO, ENOSYS, POLICY_LANDLOCK_REQUIRED,
	  POLICY_NET_NONE, 0, 0, 0, 0, 45000, 2, 3, 3600000, true,
	  { { NULL, 0, 0, NO } }, { { NULL, 0, false } } },
	/* 8: zero request timeout (never), the period in seconds. */
	{ F "[restart]\nrequest-timeout = 0\nintensity = 1/90\n", NULL,
	  NULL, NULL, POLICY_MODE_ENFORCE, POLICY_ISOLATION_PLUGIN,
	  POLICY_DEFAULT_ERRNO, ENOSYS, POLICY_LANDLOCK_REQUIRED,
	  POLICY_NET_NONE, 0, 0, 0, 0, 0, 2, 1, 90000, true,
	  { { NULL, 0, 0, NO } }, { { NULL, 0, false } } },
};

static const struct policy_syscall *
find_sc(const struct policy *p, const char *name)
{
	int	nr = policy_syscall_nr(name);
	size_t	i;

	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == nr)
			return &p->sc[i];
	return NULL;
}

static void
check_good(const struct policy *p, int i, bool wire)
{
	const struct policy_syscall	*s;
	size_t				 k;

	ck_assert_int_eq(p->mode, good[i].mode);
	ck_assert_int_eq(p->isolation, good[i].isolation);
	ck_assert_int_eq(p->dflt, good[i].dflt);
	ck_assert_int_eq(p->dflt_errno, good[i].dflt_errno);
	ck_assert_int_eq(p->landlock, good[i].landlock);
	ck_assert_uint_eq(p->net, good[i].net);
	ck_assert_uint_eq(p->nports, good[i].nports);
	ck_assert_uint_eq(p->memory, good[i].memory);
	ck_assert_uint_eq(p->open_files, good[i].open_files);
	ck_assert_uint_eq(p->cpu_seconds, good[i].cpu);
	if (!wire) {	/* [restart] is for the broker only */
		ck_assert_uint_eq(p->request_timeout_ms, good[i].timeout_ms);
		ck_assert_uint_eq(p->replays, good[i].replays);
		ck_assert_uint_eq(p->intensity_n, good[i].intensity_n);
		ck_assert_uint_eq(p->intensity_ms, good[i].intensity_ms);
	}
	ck_assert_int_eq(p->switch_user, good[i].switch_user);
	for (k = 0; k < 6 && good[i].sc[k].name != NULL; k++) {
		const struct sc_expect	*e = &good[i].sc[k];

		s = find_sc(p, e->name);
		if (e->startup == 0 && e->serving == 0 && !e->kill) {
			/* Not mentioned, or only as a libc fallback. */
			ck_assert_msg(s == NULL || (s->enosys && !s->kill),
			    "%s should be left to the default", e->name);
			continue;
		}
		ck_assert_msg(s != NULL, "%s missing", e->name);
		ck_assert_msg(s->startup == e->startup, "%s start-up 0x%x",
		    e->name, s->startup);
		ck_assert_msg(s->serving == e->serving, "%s serving 0x%x",
		    e->name, s->serving);
		ck_assert_msg(s->kill == e->kill, "%s kill %d", e->name,
		    s->kill);
	}
	for (k = 0; k < 3 && good[i].paths[k].path != NULL; k++) {
		ck_assert_uint_gt(p->npaths, k);
		ck_assert_str_eq(p->paths[k].path, good[i].paths[k].path);
		ck_assert_uint_eq(p->paths[k].access, good[i].paths[k].access);
		ck_assert_int_eq(p->paths[k].startup_only,
		    good[i].paths[k].startup_only);
	}
}

START_TEST(test_parse_good)
{
	struct policy_param	 pa[2];
	struct policy_env	 env = { 0 };
	struct policy		*p, *q;
	uint8_t			*wire;
	size_t			 len, n = 0, k;
	char			 err[1024] = "";

	p = policy_parse_buf("t.policy", good[_i].text,
	    strlen(good[_i].text), err, sizeof(err));
	ck_assert_msg(p != NULL, "case %d: %s", _i, err);
	if (good[_i].key != NULL) {
		pa[n].key = good[_i].key;
		pa[n++].value = good[_i].value;
	}
	if (good[_i].bare != NULL) {
		pa[n].key = NULL;
		pa[n++].value = good[_i].bare;
	}
	env.params = pa;
	env.nparams = n;
	env.cwd = "/";
	env.plugin_path = "/usr/lib";
	env.root = true;
	ck_assert_msg(policy_resolve(p, &env, err, sizeof(err)) == 0,
	    "case %d: %s", _i, err);
	check_good(p, _i, false);

	/* The plugin and the loader's paths follow the policy's own. */
	for (k = 0; k < p->npaths; k++)
		if (p->paths[k].why != NULL)
			break;
	ck_assert_uint_lt(k, p->npaths);
	ck_assert_str_eq(p->paths[k].path, "/usr/lib");
	ck_assert_str_eq(p->paths[k].why, "the plugin");
	ck_assert(p->paths[k].startup_only);

	/* What the worker decodes is what the broker resolved. */
	ck_assert_int_eq(policy_encode(p, &wire, &len), 0);
	q = policy_decode(wire, len, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	check_good(q, _i, true);
	ck_assert_uint_eq(q->nsc, p->nsc);
	ck_assert_uint_eq(q->npaths, p->npaths);
	free(wire);
	policy_free(q);
	policy_free(p);
}
END_TEST

/* Write text to dir/name; returns the path in a static buffer. */
static const char *
write_tmp(const char *dir, const char *name, const char *text)
{
	static char	path[2][256];
	static int	k;
	FILE		*fp;

	k = !k;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path[k], "w"));
	fputs(text, fp);
	fclose(fp);
	return path[k];
}

static const struct {
	const char	*cgroup;	/* /proc/self/cgroup */
	const char	*mountinfo;
	int		 version;	/* 0: not found */
	const char	*dir;		/* or the error */
} cgroups[] = {
	/* v1 memory controller, mounted at its root. */
	{ "4:memory:/a/b\n0::/\n",
	  "30 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	  "31 1 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
	  1, "/sys/fs/cgroup/memory/a/b" },
	/* v1, controllers joined; optional fields; a bind of a subtree. */
	{ "5:cpu,memory:/a/b/c\n",
	  "30 1 0:26 /a /mnt/mem\\040x rw shared:7 master:2 - cgroup cg "
	  "rw,cpu,memory\n", 1, "/mnt/mem x/b/c" },
	/* v2 only. */
	{ "0::/system.slice/nbd.service\n",
	  "28 1 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
	  2, "/sys/fs/cgroup/system.slice/nbd.service" },
	/* The root cgroup. */
	{ "0::/\n", "28 1 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
	  2, "/sys/fs/cgroup" },
	/* memoryx is not memory; a mount that does not show the path. */
	{ "4:memoryx:/a\n", "", 0, "names no memory cgroup" },
	{ "4:memory:/a\n",
	  "30 1 0:26 /b /m rw - cgroup cgroup rw,memory\n", 0,
	  "the memory cgroup /a is not mounted here" },
};

START_TEST(test_cgroup_find)
{
	char			 dir[] = "/tmp/check-policy.XXXXXX", err[512];
	struct policy_cgroup	 cg;
	const char		*pc, *mi;
	int			 r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pc = write_tmp(dir, "cgroup", cgroups[_i].cgroup);
	mi = write_tmp(dir, "mountinfo", cgroups[_i].mountinfo);
	err[0] = '\0';
	r = policy_cgroup_find(pc, mi, &cg, err, sizeof(err));
	if (cgroups[_i].version == 0) {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err, cgroups[_i].dir) != NULL, "%s", err);
	} else {
		ck_assert_msg(r == 0, "%s", err);
		ck_assert_int_eq(cg.version, cgroups[_i].version);
		ck_assert_str_eq(cg.dir, cgroups[_i].dir);
	}
	unlink(pc);
	unlink(mi);
	rmdir(dir);
}
END_TEST

/* What memory = counts, and who may make a memfd. */
START_TEST(test_memory)
{
	static const struct {
		const char	*text;
		bool		 memfd;
	} m[] = {
		{ F, false },
		{ F "[syscalls]\nallow = memfd_create\n", true },
		{ F "[syscalls]\nstartup-allow = memfd_create\n", true },
		{ F "[syscalls]\ndefault = allow\n", true },
		{ F "[syscalls]\ndefault = allow\nkill = memfd_create\n",
		  false },
	};
	struct policy	*p;
	char		 err[512];
	size_t		 i;

	ck_assert_uint_eq(policy_memory_cgroup_limit(256 << 20, 128 << 20),
	    (uint64_t)448 << 20);
	ck_assert_uint_eq(policy_memory_cgroup_limit(UINT64_MAX - 1, 2),
	    UINT64_MAX);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		p = policy_parse_buf("t.policy", m[i].text, strlen(m[i].text),
		    err, sizeof(err));
		ck_assert_msg(p != NULL, "%s", err);
		ck_assert_msg(policy_allows_memfd(p) == m[i].memfd, "%s",
		    m[i].text);
		policy_free(p);
	}
}
END_TEST

/*
 * What the mode bits let a user do (policy_user_may): a directory
 * only its owner may search hides what is in it, a file's owner,
 * group and other bits each count for their own, and access 0 asks
 * for the directories alone.
 */
START_TEST(test_user_may)
{
	char		 dir[] = "/tmp/check-policy.XXXXXX", sub[64], f[96],
			 none[96];
	uid_t		 me = getuid(), other = getuid() + 1000;
	gid_t		 mine = getgid(), alien = getgid() + 1000;
	int		 fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/d", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(f, sizeof(f), "%s/f", sub);
	snprintf(none, sizeof(none), "%s/not-yet", sub);
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0640);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(f, 0640), 0);

	/* d is 0700: only its owner gets in, whatever f's bits say. */
	ck_assert(policy_user_may(f, POLICY_ACCESS_READ | POLICY_ACCESS_WRITE,
	    me, mine));
	ck_assert(!policy_user_may(f, POLICY_ACCESS_READ, other, mine));
	ck_assert(!policy_user_may(f, 0, other, alien));
	ck_assert(!policy_user_may(none, POLICY_ACCESS_WRITE, other, alien));
	ck_assert(policy_user_may(none, POLICY_ACCESS_WRITE, me, alien));
	ck_assert(policy_user_may(sub, POLICY_ACCESS_READ, other, alien) ==
	    false);
	ck_assert(policy_user_may(sub, 0, other, alien));

	/* d searchable by all: f's group and other bits decide. */
	ck_assert_int_eq(chmod(sub, 0711), 0);
	ck_assert(policy_user_may(f, 0, other, alien));
	ck_assert(policy_user_may(f, POLICY_ACCESS_READ, other, mine));
	ck_assert(!policy_user_may(f, POLICY_ACCESS_WRITE, other, mine));
	ck_assert(!policy_user_may(f, POLICY_ACCESS_READ, other, alien));
	ck_assert_int_eq(chmod(f, 0604), 0);
	ck_assert(policy_user_may(f, POLICY_ACCESS_READ, other, alien));
	/* The group's bits are the group's, even where other has more. */
	ck_assert(!policy_user_may(f, POLICY_ACCESS_READ, other, mine));
	ck_assert(!policy_user_may(f, POLICY_ACCESS_EXEC, me, mine));
	ck_assert(policy_user_may(none, POLICY_ACCESS_WRITE, other, alien));

	unlink(f);
	rmdir(sub);
	rmdir(dir);
}
END_TEST

START_TEST(test_decode_rejects)
{
	static const uint8_t	junk[] = { 0xff, 0xff, 0xff };
	char			err[256];

	ck_assert_ptr_null(policy_decode(NULL, 0, err, sizeof(err)));
	ck_assert_str_eq(err, "the broker sent no sandbox policy");
	ck_assert_ptr_null(policy_decode(junk, sizeof(junk), err,
	    sizeof(err)));
	ck_assert_str_eq(err, "the sandbox policy does not decode");
}
END_TEST

/*
 * policy/learn.c: what was seen, written as a policy that parses and
 * allows just that: built-in needs left out, restricted uses through
 * a group, start-up needs apart, tripwires less what is allowed.
 */
START_TEST(test_learn_write)
{
	struct policy_learned_path	 paths[] = {
		{ (char *)"${file}", POLICY_ACCESS_READ | POLICY_ACCESS_WRITE,
		  true },
		{ (char *)"/etc/passwd", POLICY_ACCESS_READ, false },
		{ (char *)"/nonexistent/nbdbroker-probe", POLICY_ACCESS_READ,
		  false },
		{ (char *)"/usr/bin/dash", POLICY_ACCESS_EXEC, true },
	};
	struct policy_learned	 l;
	struct policy		*p;
	const struct policy_syscall *sc;
	char			*text = NULL, err[512];
	size_t			 len = 0, i;
	FILE			*fp;
	bool			 saw_mkdir = false, saw_socket = false;
	bool			 saw_execve = false;

	memset(&l, 0, sizeof(l));
	/* Built in (@worker): not written. */
	l.seen[POLICY_STAGE_SERVING][policy_syscall_nr("futex")] =
	    POLICY_ARG_ANY;
	l.seen[POLICY_STAGE_SERVING][policy_syscall_nr("clone")] =
	    POLICY_ARG_THREAD;
	/* Start-up only. */
	l.seen[POLICY_STAGE_STARTUP][policy_syscall_nr("mkdir")] =
	    POLICY_ARG_ANY;
	/* Serving: by name, and a restricted use through its group. */
	l.seen[POLICY_STAGE_SERVING][policy_syscall_nr("socket")] =
	    POLICY_ARG_SOCKET;
	l.seen[POLICY_STAGE_SERVING][policy_syscall_nr("execve")] =
	    POLICY_ARG_ANY;
	l.seen[POLICY_STAGE_SERVING][policy_syscall_nr("ioctl")] =
	    POLICY_ARG_BLKIOCTL;
	l.paths = paths;
	l.npaths = sizeof(paths) / sizeof(paths[0]);
	l.net = POLICY_NET_UNIX;
	ck_assert((fp = open_memstream(&text, &len)) != NULL);
	ck_assert_int_eq(policy_learn_write(&l, fp), 0);
	fclose(fp);
	ck_assert_msg(strstr(text, "\nstartup-allow = mkdir\n") != NULL,
	    "%s", text);
	ck_assert_msg(strstr(text, "@block-ioctl") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "futex") == NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nread = ${file}\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nwrite = ${file}\n") != NULL, "%s",
	    text);
	ck_assert_msg(strstr(text, "\nexec = /usr/bin/dash\n") != NULL, "%s",
	    text);
	/* Probed and missing: no grant (a policy cannot name it). */
	ck_assert_msg(strstr(text, "\nstartup-read = /etc/passwd\n") !=
	    NULL, "%s", text);
	ck_assert_msg(strstr(text, "\nallow = unix\n") != NULL, "%s", text);
	/* execve is allowed, so @exec is no tripwire; execveat still is. */
	ck_assert_msg(strstr(text, " @exec ") == NULL, "%s", text);
	ck_assert_msg(strstr(text, " execveat") != NULL, "%s", text);
	p = policy_parse_buf("learned.policy", text, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s\n%s", err, text);
	for (i = 0; i < p->nsc; i++) {
		sc = &p->sc[i];
		if (strcmp(sc->name, "mkdir") == 0) {
			saw_mkdir = true;
			ck_assert_uint_eq(sc->startup, POLICY_ARG_ANY);
			ck_assert_uint_eq(sc->serving, 0);
		} else if (strcmp(sc->name, "socket") == 0) {
			saw_socket = true;
			ck_assert_uint_eq(sc->serving, POLICY_ARG_SOCKET);
		} else if (strcmp(sc->name, "execve") == 0) {
			saw_execve = true;
			ck_assert(!sc->kill);
			ck_assert_uint_eq(sc->serving, POLICY_ARG_ANY);
		} else if (strcmp(sc->name, "clone") == 0)
			/* Threads only, as before; processes still trip. */
			ck_assert(sc->kill && sc->serving == POLICY_ARG_THREAD);
	}
	ck_assert(saw_mkdir && saw_socket && saw_execve);
	policy_free(p);
	free(text);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_parse_errors, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_param_name);
	tcase_add_test(tc, test_parse_behalf);
	tcase_add_test(tc, test_parse_long_line_and_nul);
	tcase_add_loop_test(tc, test_parse_good, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_test(tc, test_decode_rejects);
	tcase_add_loop_test(tc, test_cgroup_find, 0,
	    sizeof(cgroups) / sizeof(cgroups[0]));
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_user_may);
	tcase_add_test(tc, test_learn_write);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(policy_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
