/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hostile: a test plugin that tries to get out of its sandbox.
 *
 *   attack=NAME   what to try (see attacks[] below)
 *   when=WHEN     config (stage 1, while the plugin is configured),
 *                 get_ready (stage 1), or pread (default: stage 2, on
 *                 each read at offset 0, so a client triggers it)
 *   path=PATH     the file for open, openat2, write, broker-file,
 *                 unix-connect, exec
 *   resolve=FLAGS openat2's RESOLVE_* flags for the openat2 attack, by
 *                 name, comma-separated: beneath, in-root, no-symlinks,
 *                 no-magiclinks, no-xdev, cached
 *   at=DIR        openat2's dirfd: DIR opened O_PATH (default: cwd)
 *   port=PORT     for tcp-connect
 *   pid=PID       the process for broker-environ, kill-broker, ptrace
 *                 (default: getppid(), the broker, if the policy lets
 *                 the plugin ask)
 *   count=N       how many forks, MiB to allocate, bytes to read
 *   threads=N     start N threads in get_ready (they only sleep)
 *   export=NAME   attack on reads only through connections to export
 *                 NAME (default: any), so that a client of another
 *                 export can check the server still works
 *   size=SIZE     disk size (default 1M); reads elsewhere give zeroes
 *   in=thread     make the pread attack from a thread the plugin started
 *                 in get_ready (not from the worker's thread serving
 *                 the read), to see what start-up threads keep
 *   image=PATH    not used by the plugin: for policies that grant
 *                 ${image}
 *   fake-status=1 in get_ready, after starting its threads: find the
 *                 descriptor on which the worker reads /proc/self/status
 *                 and put a file there that says "Threads: 1"
 *
 * Each attempt logs exactly one line, "hostile: ATTACK: blocked:
 * STRERROR" or "hostile: ATTACK: succeeded: DETAIL" (unless the
 * sandbox kills the worker first).  A blocked attempt fails the read
 * with that errno; a succeeded one returns DETAIL (or the bytes read)
 * as the data.
 *
 * Built with -DHOSTILE_CTOR, the constructor attacks instead, before
 * any configuration: it tries to open /etc/shadow (logged to stderr)
 * and then to mount, which a tripwire should answer.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

static char	*attack;
static const char *when = "pread";
static char	*path;
static char	*at_dir;
static uint64_t	 resolve;
static int	 port;
static long	 target;
static long	 nthreads;
static char	*only_export;
static long	 count;
static int64_t	 size = 1024 * 1024;
static bool	 in_thread;
static bool	 fake_status;

/* in=thread: the start-up thread that makes the pread attacks. */
static pthread_mutex_t	 agent_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 agent_cond = PTHREAD_COND_INITIALIZER;
static bool		 agent_busy, agent_done;

/* The outcome of one attempt. */
struct outcome {
	int	err;			/* 0: succeeded */
	char	data[512];		/* what succeeded gave */
	size_t	len;
};

static void
blocked(struct outcome *o, int err)
{
	o->err = err ? err : EIO;
}

static void
got(struct outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
got(struct outcome *o, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(o->data, sizeof(o->data), fmt, ap);
	va_end(ap);
	o->len = n < 0 ? 0 : (size_t)n >= sizeof(o->data) ?
	    sizeof(o->data) - 1 : (size_t)n;
	o->err = 0;
}

static void
do_open_read(const char *p, struct outcome *o)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return blocked(o, errno);
	n = read(fd, o->data, count > 0 && count < (long)sizeof(o->data) ?
	    (size_t)count : sizeof(o->data) - 1);
	if (n == -1) {
		blocked(o, errno);
		close(fd);
		return;
	}
	o->len = n;
	o->err = 0;
	close(fd);
}

/* openat2(at=, path=, O_RDONLY, resolve=) and a read, as open does. */
static void
do_openat2(struct outcome *o)
{
	struct open_how	how;
	ssize_t		n;
	int		dfd = AT_FDCWD, fd;

	if (at_dir != NULL &&
	    (dfd = open(at_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return blocked(o, errno);
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC;
	how.resolve = resolve;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd == -1)
		blocked(o, errno);
	if (dfd != AT_FDCWD)
		close(dfd);
	if (fd == -1)
		return;
	n = read(fd, o->data, sizeof(o->data) - 1);
	if (n == -1)
		blocked(o, errno);
	else {
		o->len = n;
		o->err = 0;
	}
	close(fd);
}

/* resolve=: RESOLVE_* by name; -1 for a name it does not know. */
static int
parse_resolve(const char *value)
{
	static const struct {
		const char	*name;
		uint64_t	 flag;
	} names[] = {
		{ "beneath", RESOLVE_BENEATH },
		{ "in-root", RESOLVE_IN_ROOT },
		{ "no-symlinks", RESOLVE_NO_SYMLINKS },
		{ "no-magiclinks", RESOLVE_NO_MAGICLINKS },
		{ "no-xdev", RESOLVE_NO_XDEV },
		{ "cached", RESOLVE_CACHED },
	};
	const char	*s = value;
	size_t		 i, n;

	resolve = 0;
	while (*s != '\0') {
		n = strcspn(s, ",");
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n &&
			    strncmp(names[i].name, s, n) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			nbdbroker_error("hostile: resolve=%s: unknown flag",
			    value);
			return -1;
		}
		resolve |= names[i].flag;
		s += n + (s[n] == ',');
	}
	return 0;
}

static void
do_write(const char *p, int flags, struct outcome *o)
{
	int	fd;

	if ((fd = open(p, O_WRONLY | O_CLOEXEC | flags, 0644)) == -1)
		return blocked(o, errno);
	if (write(fd, "hostile\n", 8) != 8) {
		blocked(o, errno);
		close(fd);
		return;
	}
	close(fd);
	got(o, "wrote %s", p);
}

static void
do_tcp(struct outcome *o)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return blocked(o, errno);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, "hostile\n", 8) != 8) {
		blocked(o, errno);
		close(fd);
		return;
	}
	close(fd);
	got(o, "connected to 127.0.0.1:%d", port);
}

static void
do_unix(struct outcome *o)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return blocked(o, errno);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path ? path : "");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		blocked(o, errno);
		close(fd);
		return;
	}
	close(fd);
	got(o, "connected to %s", sun.sun_path);
}

static void
do_fork(struct outcome *o)
{
	long	i, n = count > 0 ? count : 100;
	pid_t	pid;

	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1) {
			if (i == 0)
				return blocked(o, errno);
			break;
		}
		if (pid == 0)
			_exit(0);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	got(o, "forked %ld times", i);
}

static void
do_alloc(struct outcome *o)
{
	size_t	n = (size_t)(count > 0 ? count : 1024) << 20;
	char	*p;

	if ((p = malloc(n)) == NULL)
		return blocked(o, errno);
	memset(p, 0x5a, n);
	free(p);
	got(o, "allocated %zu MiB", n >> 20);
}

/*
 * Map count MiB (default 1024) of memory and write every page.  shared:
 * MAP_SHARED|MAP_ANONYMOUS, which RLIMIT_DATA does not count.
 */
static void
do_map(struct outcome *o)
{
	size_t	n = (size_t)(count > 0 ? count : 1024) << 20, i;
	char	*p;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return blocked(o, errno);
	for (i = 0; i < n; i += 4096)
		p[i] = 0x5a;
	munmap(p, n);
	got(o, "touched %zu MiB of shared memory", n >> 20);
}

/*
 * Fill a memfd with count MiB (default 1024) by write(): pages of a
 * file in memory, never mapped.
 */
static void
do_memfd(struct outcome *o)
{
	static char	buf[1 << 16];
	size_t		n = (size_t)(count > 0 ? count : 1024) << 20, done;
	int		fd;

	if ((fd = syscall(SYS_memfd_create, "hostile", 0)) == -1)
		return blocked(o, errno);
	memset(buf, 0x5a, sizeof(buf));
	for (done = 0; done < n; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			blocked(o, errno);
			close(fd);
			return;
		}
	close(fd);
	got(o, "wrote %zu MiB into a memfd", n >> 20);
}

/*
 * Stack a seccomp filter of the plugin's own that answers ptrace with
 * EPERM (which outranks the broker's user notification), in one of
 * the ways a plugin could: how is "seccomp" (flags 0), "tsync" (the
 * flags the worker itself uses), "prctl".  Then try ptrace: if the
 * filter went in, the tripwire stays silent.
 */
static int
stack_filter(const char *how)
{
	struct sock_filter	insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	prog = { sizeof(insns) / sizeof(insns[0]),
	    insns };

	if (strcmp(how, "prctl") == 0)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    strcmp(how, "tsync") == 0 ? SECCOMP_FILTER_FLAG_TSYNC : 0, &prog);
}

static void
do_hide(const char *how, struct outcome *o)
{
	if (stack_filter(how) == -1)
		return blocked(o, errno);
	errno = 0;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1)
		got(o, "stacked a filter (%s); ptrace then failed: %s", how,
		    strerror(errno));
	else
		got(o, "stacked a filter (%s); ptrace then succeeded", how);
}

/* seccomp-thread: a thread stacks the filter on itself, and stays. */
static void *
hider(void *arg)
{
	struct outcome	*o = arg;

	do_hide("seccomp", o);
	__atomic_store_n(&agent_done, true, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static void
do_hide_thread(struct outcome *o)
{
	pthread_t	t;

	agent_done = false;
	if ((errno = pthread_create(&t, NULL, hider, o)) != 0)
		return blocked(o, errno);
	while (!__atomic_load_n(&agent_done, __ATOMIC_ACQUIRE))
		usleep(1000);
}

/*
 * fake-status: find the descriptor on which the worker reads its own
 * /proc/self/status and put a memfd there that says one thread.
 */
static void
do_fake_status(struct outcome *o)
{
	static const char	fake[] = "Name:\tnbdbroker-worke\n"
	    "Threads:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
	char			buf[8];
	struct stat		st;
	int			fd, mfd;

	for (fd = 3; fd < 1024; fd++)
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    pread(fd, buf, 6, 0) == 6 && memcmp(buf, "Name:\t", 6) == 0)
			break;
	if (fd == 1024)
		return blocked(o, ENOENT);
	if ((mfd = syscall(SYS_memfd_create, "status", 0)) == -1)
		return blocked(o, errno);
	if (write(mfd, fake, sizeof(fake) - 1) != sizeof(fake) - 1 ||
	    dup2(mfd, fd) == -1) {
		blocked(o, errno);
		close(mfd);
		return;
	}
	close(mfd);
	got(o, "descriptor %d now says Threads: 1", fd);
}

/* The victim: pid=, else the broker; never a group or init. */
static pid_t
victim(void)
{
	long	p = target > 0 ? target : (long)getppid();

	return p > 1 ? (pid_t)p : 0;
}

static void
run(const char *a, struct outcome *o)
{
	char	buf[64];

	o->err = EINVAL;
	o->len = 0;
	errno = 0;
	if (strcmp(a, "open-shadow") == 0)
		do_open_read("/etc/shadow", o);
	else if (strcmp(a, "open") == 0)
		do_open_read(path, o);
	else if (strcmp(a, "openat2") == 0)
		do_openat2(o);
	else if (strcmp(a, "environ") == 0)
		do_open_read("/proc/1/environ", o);
	else if (strcmp(a, "broker-environ") == 0) {
		if (victim() == 0)
			blocked(o, ESRCH);
		else {
			snprintf(buf, sizeof(buf), "/proc/%d/environ",
			    (int)victim());
			do_open_read(buf, o);
		}
	} else if (strcmp(a, "write") == 0)
		do_write(path, O_CREAT | O_TRUNC, o);
	else if (strcmp(a, "broker-file") == 0)
		do_write(path, O_APPEND, o);
	else if (strcmp(a, "tcp-connect") == 0)
		do_tcp(o);
	else if (strcmp(a, "unix-connect") == 0)
		do_unix(o);
	else if (strcmp(a, "exec") == 0) {
		execl("/bin/sh", "sh", "-c", "echo pwned", (char *)NULL);
		blocked(o, errno);
	} else if (strcmp(a, "fork") == 0)
		do_fork(o);
	else if (strcmp(a, "kill-broker") == 0) {
		if (victim() == 0)
			blocked(o, ESRCH);
		else if (kill(victim(), SIGKILL) == -1)
			blocked(o, errno);
		else
			got(o, "killed the broker");
	} else if (strcmp(a, "ptrace") == 0) {
		if (victim() == 0)
			blocked(o, ESRCH);
		else if (ptrace(PTRACE_ATTACH, victim(), NULL, NULL) == -1)
			blocked(o, errno);
		else
			got(o, "attached to the broker");
	} else if (strcmp(a, "shutdown") == 0) {
		nbdbroker_shutdown();
		got(o, "asked the server to shut down");
	} else if (strcmp(a, "alloc") == 0)
		do_alloc(o);
	else if (strcmp(a, "shared-alloc") == 0)
		do_map(o);
	else if (strcmp(a, "memfd-alloc") == 0)
		do_memfd(o);
	else if (strcmp(a, "seccomp-filter") == 0)
		do_hide("seccomp", o);
	else if (strcmp(a, "seccomp-tsync") == 0)
		do_hide("tsync", o);
	else if (strcmp(a, "prctl-seccomp") == 0)
		do_hide("prctl", o);
	else if (strcmp(a, "seccomp-thread") == 0)
		do_hide_thread(o);

	else if (strcmp(a, "mount") == 0) {
		if (mount("none", "/mnt", "tmpfs", 0, NULL) == -1)
			blocked(o, errno);
		else
			got(o, "mounted");
	} else if (strcmp(a, "module") == 0) {
		if (syscall(SYS_finit_module, 0, "", 0) == -1)
			blocked(o, errno);
		else
			got(o, "loaded a module");
	} else if (strcmp(a, "io-uring") == 0) {
		char	params[120];

		memset(params, 0, sizeof(params));
		if (syscall(SYS_io_uring_setup, 8, params) == -1)
			blocked(o, errno);
		else
			got(o, "io_uring set up");
	} else if (strcmp(a, "setuid") == 0) {
		if (setuid(0) == -1)
			blocked(o, errno);
		else
			got(o, "setuid 0");
	} else if (strcmp(a, "x32") == 0) {
		long	r = syscall(__X32_SYSCALL_BIT | SYS_getpid);

		if (r == -1)
			blocked(o, errno);
		else
			got(o, "x32 getpid %ld", r);
	} else
		return;
	if (o->err != 0)
		nbdbroker_error("hostile: %s: blocked: %s", a,
		    strerror(o->err));
	else
		nbdbroker_error("hostile: %s: succeeded: %.*s", a,
		    (int)o->len, o->data);
}

static int
attack_now(const char *stage)
{
	struct outcome	o;

	if (attack == NULL || strcmp(when, stage) != 0)
		return 0;
	run(attack, &o);
	if (o.err != 0) {
		errno = o.err;
		return -1;
	}
	return 0;
}

static int
hostile_config(const char *key, const char *value)
{
	if (strcmp(key, "attack") == 0)
		attack = strdup(value);
	else if (strcmp(key, "when") == 0) {
		if (strcmp(value, "config") != 0 &&
		    strcmp(value, "get_ready") != 0 &&
		    strcmp(value, "pread") != 0) {
			nbdbroker_error("hostile: when=%s: config, get_ready "
			    "or pread", value);
			return -1;
		}
		when = strdup(value);
	}
	else if (strcmp(key, "path") == 0)
		path = strdup(value);
	else if (strcmp(key, "at") == 0)
		at_dir = strdup(value);
	else if (strcmp(key, "resolve") == 0) {
		if (parse_resolve(value) == -1)
			return -1;
	} else if (strcmp(key, "port") == 0)
		port = atoi(value);
	else if (strcmp(key, "export") == 0)
		only_export = strdup(value);
	else if (strcmp(key, "threads") == 0)
		nthreads = atol(value);
	else if (strcmp(key, "pid") == 0)
		target = atol(value);
	else if (strcmp(key, "count") == 0)
		count = atol(value);
	else if (strcmp(key, "in") == 0) {
		if (strcmp(value, "thread") != 0) {
			nbdbroker_error("hostile: in=%s: only in=thread",
			    value);
			return -1;
		}
		in_thread = true;
	} else if (strcmp(key, "image") == 0)
		;
	else if (strcmp(key, "fake-status") == 0)
		fake_status = true;
	else if (strcmp(key, "size") == 0) {
		if ((size = nbdbroker_parse_size(value)) == -1)
			return -1;
	} else {
		nbdbroker_error("hostile: unknown parameter '%s'", key);
		return -1;
	}
	return 0;
}

static int
hostile_config_complete(void)
{
	attack_now("config");
	return 0;
}

static void *
sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* in=thread: run each attack handed over by pread, one at a time. */
static struct outcome	agent_outcome;

static void *
agent(void *arg)
{
	pthread_mutex_lock(&agent_lock);
	for (;;) {
		while (!agent_busy || agent_done)
			pthread_cond_wait(&agent_cond, &agent_lock);
		pthread_mutex_unlock(&agent_lock);
		run(attack, &agent_outcome);
		pthread_mutex_lock(&agent_lock);
		agent_done = true;
		pthread_cond_broadcast(&agent_cond);
	}
	return arg;
}

/* Make the attack in the agent thread; its outcome into *o. */
static void
run_in_agent(struct outcome *o)
{
	pthread_mutex_lock(&agent_lock);
	while (agent_busy)
		pthread_cond_wait(&agent_cond, &agent_lock);
	agent_busy = true;
	agent_done = false;
	pthread_cond_broadcast(&agent_cond);
	while (!agent_done)
		pthread_cond_wait(&agent_cond, &agent_lock);
	*o = agent_outcome;
	agent_busy = false;
	pthread_cond_broadcast(&agent_cond);
	pthread_mutex_unlock(&agent_lock);
}

static int
hostile_get_ready(void)
{
	pthread_t	t;
	long		i;

	for (i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&t, NULL, sleeper, NULL)) != 0) {
			nbdbroker_error("hostile: pthread_create: %m");
			return -1;
		}
	if (in_thread &&
	    (errno = pthread_create(&t, NULL, agent, NULL)) != 0) {
		nbdbroker_error("hostile: pthread_create: %m");
		return -1;
	}
	if (fake_status) {
		struct outcome	o;

		do_fake_status(&o);
		if (o.err != 0)
			nbdbroker_error("hostile: fake-status: blocked: %s",
			    strerror(o.err));
		else
			nbdbroker_error("hostile: fake-status: succeeded: %.*s",
			    (int)o.len, o.data);
	}
	attack_now("get_ready");
	return 0;
}

static void *
hostile_open(int readonly)
{
	static int	attacking = 1, harmless = 0;
	const char	*name = nbdbroker_export_name();

	if (only_export != NULL && (name == NULL ||
	    strcmp(name, only_export) != 0))
		return &harmless;
	return &attacking;
}

static int64_t
hostile_get_size(void *h)
{
	return size;
}

static int
hostile_pread(void *h, void *buf, uint32_t n, uint64_t offset,
    uint32_t flags)
{
	struct outcome	o;

	memset(buf, 0, n);
	if (offset != 0 || attack == NULL || strcmp(when, "pread") != 0 ||
	    *(int *)h == 0)
		return 0;
	if (in_thread)
		run_in_agent(&o);
	else
		run(attack, &o);
	if (o.err != 0) {
		nbdbroker_set_error(o.err);
		return -1;
	}
	memcpy(buf, o.data, o.len < n ? o.len : n);
	return 0;
}

#ifdef HOSTILE_CTOR
static void __attribute__((constructor))
hostile_ctor(void)
{
	int	fd;

	fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
	fprintf(stderr, "hostile-ctor: constructor: open /etc/shadow: %s\n",
	    fd == -1 ? strerror(errno) : "succeeded");
	fd = socket(AF_INET, SOCK_STREAM, 0);
	fprintf(stderr, "hostile-ctor: constructor: socket AF_INET: %s\n",
	    fd == -1 ? strerror(errno) : "succeeded");
	fflush(stderr);
	if (mount("none", "/mnt", "tmpfs", 0, NULL) == -1)
		fprintf(stderr, "hostile-ctor: constructor: mount: %s\n",
		    strerror(errno));
	else
		fprintf(stderr, "hostile-ctor: constructor: mount: "
		    "succeeded\n");
}
#define HOSTILE_NAME	"hostile-ctor"
#else
#define HOSTILE_NAME	"hostile"
#endif

static struct nbdbroker_plugin plugin = {
	.name = HOSTILE_NAME,
	.longname = "nbdbroker hostile test plugin",
	.description = "Tries to escape its sandbox (tests only).",
	.config = hostile_config,
	.config_complete = hostile_config_complete,
	.get_ready = hostile_get_ready,
	.open = hostile_open,
	.get_size = hostile_get_size,
	.pread = hostile_pread,
	.durability = NBDBROKER_DURABILITY_STATELESS,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
