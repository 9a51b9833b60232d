/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The syscall groups shipped with nbdbroker, the worker's own needs,
 * and name tables (syscalls, errno values).  Data only: nothing here
 * touches the system.
 *
 * Groups list syscall names for every architecture; a name the
 * running architecture does not have (open, on arm64) is skipped when
 * a group is expanded, while the same name written alone in a policy
 * is an error.  A group member may carry an argument restriction
 * (POLICY_ARG_*): @threads allows clone only for threads.
 */
#include <config.h>

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define ANY	POLICY_ARG_ANY
#define THREAD	POLICY_ARG_THREAD
#define NOEXEC	POLICY_ARG_NOEXEC
#define SELF	POLICY_ARG_SELF
#define SOCKET	POLICY_ARG_SOCKET
#define BLKIOCTL POLICY_ARG_BLKIOCTL
#define FILTER	POLICY_ARG_FILTER

/*
 * @worker: what the worker itself needs in both stages (the RPC
 * socket, its thread pool, malloc, clocks, exiting).  Always allowed;
 * a policy cannot take it away, only add to it.
 */
static const struct policy_group_entry g_worker[] = {
	{ "read", ANY }, { "write", ANY }, { "readv", ANY },
	{ "writev", ANY }, { "close", ANY },
	{ "futex", ANY }, { "set_robust_list", ANY }, { "rseq", ANY },
	{ "clone", THREAD }, { "set_tid_address", ANY }, { "exit", ANY },
	{ "exit_group", ANY }, { "gettid", ANY }, { "getpid", ANY },
	{ "tgkill", SELF }, { "sched_yield", ANY },
	{ "sched_getaffinity", ANY },
	{ "mmap", NOEXEC }, { "mprotect", NOEXEC }, { "munmap", ANY },
	{ "mremap", ANY }, { "madvise", ANY }, { "brk", ANY },
	{ "rt_sigprocmask", ANY }, { "rt_sigreturn", ANY },
	{ "rt_sigaction", ANY }, { "sigaltstack", ANY },
	{ "restart_syscall", ANY },
	{ "clock_gettime", ANY }, { "clock_getres", ANY },
	{ "gettimeofday", ANY }, { "time", ANY }, { "nanosleep", ANY },
	{ "clock_nanosleep", ANY }, { "getrandom", ANY },
	{ NULL, 0 }
};

/*
 * @worker-startup: what the worker needs between the two stages:
 * handing the seccomp listener to the broker, entering the serving
 * Landlock domain, dropping the start-up capabilities, loading the
 * serving filter.  Allowed at start-up only; these can only take
 * rights away, and a policy may not make them tripwires.  seccomp is
 * allowed only in the one form the worker loads its serving filter
 * with: any other is a tripwire (see parse.c, seccomp_guard), since a
 * filter of the plugin's own could answer a tripwire with an errno
 * before the broker's user notification.
 */
static const struct policy_group_entry g_worker_startup[] = {
	{ "sendmsg", ANY }, { "landlock_restrict_self", ANY },
	{ "seccomp", FILTER }, { "capset", ANY },
	{ NULL, 0 }
};

/*
 * @loader: what the dynamic loader needs to dlopen the plugin and its
 * libraries, and what config-time helpers need (realpath, stat).
 * Allowed at start-up only.
 */
static const struct policy_group_entry g_loader[] = {
	{ "openat", ANY }, { "open", ANY }, { "read", ANY },
	{ "pread64", ANY }, { "newfstatat", ANY }, { "fstat", ANY },
	{ "stat", ANY }, { "lstat", ANY }, { "statx", ANY },
	{ "access", ANY }, { "faccessat", ANY }, { "readlink", ANY },
	{ "readlinkat", ANY }, { "getcwd", ANY }, { "lseek", ANY },
	{ "fcntl", ANY }, { "close", ANY }, { "mmap", ANY },
	{ "mprotect", ANY }, { "munmap", ANY }, { "brk", ANY },
	{ NULL, 0 }
};

/*
 * Groups named like one of systemd's (systemd-analyze syscall-filter)
 * have systemd's members on x86_64 and aarch64: @basic-io, @io-event,
 * @debug, @module, @keyring, and @mount with three mount-API syscalls
 * newer than systemd 252.  Ours that differ have names systemd does
 * not use (renamed[] below; docs/design-notes.md says why for each).
 */
static const struct policy_group_entry g_basic_io[] = {
	{ "read", ANY }, { "write", ANY }, { "readv", ANY },
	{ "writev", ANY }, { "pread64", ANY }, { "pwrite64", ANY },
	{ "preadv", ANY }, { "pwritev", ANY }, { "preadv2", ANY },
	{ "pwritev2", ANY }, { "lseek", ANY }, { "close", ANY },
	{ "close_range", ANY }, { "dup", ANY }, { "dup2", ANY },
	{ "dup3", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_io_event[] = {
	{ "poll", ANY }, { "ppoll", ANY }, { "select", ANY },
	{ "pselect6", ANY }, { "epoll_create", ANY },
	{ "epoll_create1", ANY }, { "epoll_ctl", ANY },
	{ "epoll_ctl_old", ANY }, { "epoll_wait", ANY },
	{ "epoll_wait_old", ANY }, { "epoll_pwait", ANY },
	{ "epoll_pwait2", ANY }, { "eventfd", ANY }, { "eventfd2", ANY },
	{ NULL, 0 }
};

/* What @basic-io had before it became systemd's: no paths opened. */
static const struct policy_group_entry g_descriptors[] = {
	{ "fcntl", ANY }, { "fstat", ANY }, { "newfstatat", ANY },
	{ "pipe", ANY }, { "pipe2", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_memory[] = {
	{ "brk", ANY }, { "mmap", NOEXEC }, { "munmap", ANY },
	{ "mremap", ANY }, { "mprotect", NOEXEC }, { "madvise", ANY },
	{ "mlock", ANY }, { "munlock", ANY }, { "mlock2", ANY },
	{ "mincore", ANY }, { "msync", ANY }, { "membarrier", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_exec_memory[] = {
	{ "mmap", ANY }, { "mprotect", ANY }, { "pkey_mprotect", ANY },
	{ "pkey_alloc", ANY }, { "pkey_free", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_threads[] = {
	{ "clone", THREAD }, { "futex", ANY }, { "futex_waitv", ANY },
	{ "set_robust_list", ANY }, { "get_robust_list", ANY },
	{ "rseq", ANY }, { "set_tid_address", ANY }, { "gettid", ANY },
	{ "sched_yield", ANY }, { "sched_getaffinity", ANY },
	{ "sched_setaffinity", ANY }, { "sched_getparam", ANY },
	{ "sched_getscheduler", ANY }, { "tgkill", SELF },
	{ "exit", ANY }, { "membarrier", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_signals[] = {
	{ "rt_sigaction", ANY }, { "rt_sigprocmask", ANY },
	{ "rt_sigreturn", ANY }, { "rt_sigpending", ANY },
	{ "rt_sigsuspend", ANY }, { "rt_sigtimedwait", ANY },
	{ "sigaltstack", ANY }, { "restart_syscall", ANY },
	{ "tgkill", SELF }, { "pause", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_time[] = {
	{ "clock_gettime", ANY }, { "clock_getres", ANY },
	{ "gettimeofday", ANY }, { "time", ANY }, { "nanosleep", ANY },
	{ "clock_nanosleep", ANY }, { "timer_create", ANY },
	{ "timer_settime", ANY }, { "timer_gettime", ANY },
	{ "timer_getoverrun", ANY }, { "timer_delete", ANY },
	{ "getitimer", ANY }, { "setitimer", ANY }, { "alarm", ANY },
	{ "timerfd_create", ANY }, { "timerfd_settime", ANY },
	{ "timerfd_gettime", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_process_info[] = {
	{ "getpid", ANY }, { "getppid", ANY }, { "gettid", ANY },
	{ "getuid", ANY }, { "geteuid", ANY }, { "getgid", ANY },
	{ "getegid", ANY }, { "getresuid", ANY }, { "getresgid", ANY },
	{ "getgroups", ANY }, { "uname", ANY }, { "getrusage", ANY },
	{ "sysinfo", ANY }, { "times", ANY }, { "getcpu", ANY },
	{ "getrandom", ANY }, { "prlimit64", SELF }, { "getrlimit", ANY },
	{ "getpriority", ANY }, { "getpgrp", ANY }, { "getpgid", ANY },
	{ "getsid", ANY }, { "capget", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_file_read[] = {
	{ "openat", ANY }, { "open", ANY }, { "newfstatat", ANY },
	{ "stat", ANY }, { "lstat", ANY }, { "fstat", ANY },
	{ "statx", ANY }, { "access", ANY }, { "faccessat", ANY },
	{ "faccessat2", ANY }, { "readlink", ANY }, { "readlinkat", ANY },
	{ "getdents", ANY }, { "getdents64", ANY }, { "getcwd", ANY },
	{ "lseek", ANY }, { "read", ANY }, { "readv", ANY },
	{ "pread64", ANY }, { "preadv", ANY }, { "preadv2", ANY },
	{ "fadvise64", ANY }, { "readahead", ANY }, { "chdir", ANY },
	{ "fchdir", ANY }, { "statfs", ANY }, { "fstatfs", ANY },
	{ "getxattr", ANY }, { "lgetxattr", ANY }, { "fgetxattr", ANY },
	{ "listxattr", ANY }, { "llistxattr", ANY },
	{ "flistxattr", ANY }, { "fcntl", ANY }, { "flock", ANY },
	{ "close", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_file_write[] = {
	{ "write", ANY }, { "writev", ANY }, { "pwrite64", ANY },
	{ "pwritev", ANY }, { "pwritev2", ANY }, { "fsync", ANY },
	{ "fdatasync", ANY }, { "fallocate", ANY }, { "ftruncate", ANY },
	{ "truncate", ANY }, { "sync_file_range", ANY }, { "syncfs", ANY },
	{ "mkdir", ANY }, { "mkdirat", ANY }, { "unlink", ANY },
	{ "unlinkat", ANY }, { "rmdir", ANY }, { "rename", ANY },
	{ "renameat", ANY }, { "renameat2", ANY }, { "link", ANY },
	{ "linkat", ANY }, { "symlink", ANY }, { "symlinkat", ANY },
	{ "creat", ANY }, { "fchmod", ANY }, { "fchmodat", ANY },
	{ "flock", ANY },
	{ NULL, 0 }
};

/* Reading and writing descriptors a plugin already holds. */
static const struct policy_group_entry g_file_io[] = {
	{ "pread64", ANY }, { "pwrite64", ANY }, { "preadv", ANY },
	{ "pwritev", ANY }, { "preadv2", ANY }, { "pwritev2", ANY },
	{ "lseek", ANY }, { "fstat", ANY }, { "newfstatat", ANY },
	{ "fsync", ANY }, { "fdatasync", ANY }, { "fallocate", ANY },
	{ "ftruncate", ANY }, { "fadvise64", ANY }, { "readahead", ANY },
	{ "sync_file_range", ANY }, { "fcntl", ANY }, { "dup", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_block_ioctl[] = {
	{ "ioctl", BLKIOCTL },
	{ NULL, 0 }
};

static const struct policy_group_entry g_network[] = {
	{ "socket", SOCKET }, { "socketpair", ANY }, { "connect", ANY },
	{ "bind", ANY }, { "listen", ANY }, { "accept", ANY },
	{ "accept4", ANY }, { "sendto", ANY }, { "recvfrom", ANY },
	{ "sendmsg", ANY }, { "recvmsg", ANY }, { "sendmmsg", ANY },
	{ "recvmmsg", ANY }, { "shutdown", ANY }, { "getsockopt", ANY },
	{ "setsockopt", ANY }, { "getsockname", ANY },
	{ "getpeername", ANY }, { "poll", ANY }, { "ppoll", ANY },
	{ "select", ANY }, { "pselect6", ANY }, { "epoll_create", ANY },
	{ "epoll_create1", ANY }, { "epoll_ctl", ANY },
	{ "epoll_wait", ANY }, { "epoll_pwait", ANY },
	{ "epoll_pwait2", ANY },
	{ NULL, 0 }
};

/*
 * Creating, waiting for and signalling other processes: what a plugin
 * that runs helpers needs besides @exec.  Once @process, renamed
 * because systemd's @process also holds execveat, unshare, setns,
 * prctl, getrusage and times.  clone3 is not here: see @enosys.
 */
static const struct policy_group_entry g_subprocess[] = {
	{ "fork", ANY }, { "vfork", ANY }, { "clone", ANY },
	{ "wait4", ANY }, { "waitid", ANY }, { "kill", ANY },
	{ "tkill", ANY }, { "tgkill", ANY }, { "setsid", ANY },
	{ "setpgid", ANY }, { "pidfd_open", ANY },
	{ "pidfd_send_signal", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_exec[] = {
	{ "execve", ANY }, { "execveat", ANY },
	{ NULL, 0 }
};

/*
 * The ways out of a sandbox no plugin needs: changing identity,
 * entering or making namespaces, changing the system (clock, reboot,
 * kexec, swap, devices, quotas), reaching other processes' memory.
 * Once @privileged, renamed because systemd's @privileged is another
 * set (it leaves out setgid and unshare, and holds capset, which the
 * worker needs at start-up).
 */
static const struct policy_group_entry g_escape[] = {
	{ "setuid", ANY }, { "setgid", ANY }, { "setreuid", ANY },
	{ "setregid", ANY }, { "setresuid", ANY }, { "setresgid", ANY },
	{ "setgroups", ANY }, { "setfsuid", ANY }, { "setfsgid", ANY },
	{ "chroot", ANY }, { "pivot_root", ANY }, { "unshare", ANY },
	{ "setns", ANY }, { "reboot", ANY }, { "swapon", ANY },
	{ "swapoff", ANY }, { "sethostname", ANY },
	{ "setdomainname", ANY }, { "settimeofday", ANY },
	{ "clock_settime", ANY }, { "clock_adjtime", ANY },
	{ "adjtimex", ANY }, { "acct", ANY }, { "quotactl", ANY },
	{ "quotactl_fd", ANY }, { "ioperm", ANY }, { "iopl", ANY },
	{ "vhangup", ANY }, { "mknod", ANY }, { "mknodat", ANY },
	{ "open_by_handle_at", ANY }, { "name_to_handle_at", ANY },
	{ "syslog", ANY }, { "chown", ANY }, { "fchown", ANY },
	{ "lchown", ANY }, { "fchownat", ANY }, { "bpf", ANY },
	{ "userfaultfd", ANY }, { "personality", ANY },
	{ "kexec_load", ANY }, { "kexec_file_load", ANY },
	{ "process_vm_readv", ANY }, { "process_vm_writev", ANY },
	{ "process_madvise", ANY }, { "kcmp", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_mount[] = {
	{ "mount", ANY }, { "umount2", ANY }, { "fsopen", ANY },
	{ "fsconfig", ANY }, { "fsmount", ANY }, { "fspick", ANY },
	{ "move_mount", ANY }, { "open_tree", ANY },
	{ "mount_setattr", ANY }, { "pivot_root", ANY }, { "chroot", ANY },
	{ "statmount", ANY }, { "listmount", ANY },
	{ "open_tree_attr", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_module[] = {
	{ "init_module", ANY }, { "finit_module", ANY },
	{ "delete_module", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_debug[] = {
	{ "ptrace", ANY }, { "perf_event_open", ANY },
	{ "pidfd_getfd", ANY }, { "lookup_dcookie", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_io_uring[] = {
	{ "io_uring_setup", ANY }, { "io_uring_enter", ANY },
	{ "io_uring_register", ANY },
	{ NULL, 0 }
};

static const struct policy_group_entry g_keyring[] = {
	{ "add_key", ANY }, { "request_key", ANY }, { "keyctl", ANY },
	{ NULL, 0 }
};

/*
 * Syscalls libc probes and falls back from on ENOSYS (glibc: clone3
 * -> clone for threads, faccessat2 -> faccessat, ...).  Unless the
 * policy allows one, it fails with ENOSYS whatever the default action
 * is, so a kill or EPERM default does not break libc.
 */
static const struct policy_group_entry g_enosys[] = {
	{ "clone3", ANY }, { "faccessat2", ANY }, { "openat2", ANY },
	{ "close_range", ANY }, { "fchmodat2", ANY },
	{ "epoll_pwait2", ANY }, { "statx", ANY },
	{ NULL, 0 }
};

static const struct {
	const char			*name;
	const struct policy_group_entry	*entries;
	const char			*help;
} groups[] = {
	{ "@basic-io", g_basic_io,
	    "Reading, writing, seeking, closing open descriptors "
	    "(as systemd's)" },
	{ "@block-ioctl", g_block_ioctl,
	    "ioctl, only for block device size and discard" },
	{ "@debug", g_debug, "Tracing and performance monitoring "
	    "(as systemd's)" },
	{ "@descriptors", g_descriptors,
	    "fcntl, fstat and pipes: descriptors without paths" },
	{ "@escape", g_escape, "Identity, namespaces, the system, other "
	    "processes' memory" },
	{ "@exec", g_exec, "Running programs" },
	{ "@exec-memory", g_exec_memory, "Executable mappings (JITs)" },
	{ "@file-io", g_file_io, "I/O on files already open" },
	{ "@file-read", g_file_read,
	    "Opening, reading and looking up files" },
	{ "@file-write", g_file_write,
	    "Writing, creating and removing files" },
	{ "@io-event", g_io_event, "poll, select, epoll, eventfd "
	    "(as systemd's)" },
	{ "@io-uring", g_io_uring, "io_uring (bypasses seccomp per op)" },
	{ "@keyring", g_keyring, "Kernel keyrings (as systemd's)" },
	{ "@memory", g_memory,
	    "Memory allocation, no new executable pages" },
	{ "@module", g_module, "Loading kernel modules (as systemd's)" },
	{ "@mount", g_mount, "Mounting file systems (as systemd's, and "
	    "newer mount syscalls)" },
	{ "@network", g_network, "Sockets (families as [network] allows)" },
	{ "@process-info", g_process_info,
	    "Ids, limits, uname, random numbers" },
	{ "@signals", g_signals, "Signal handling within the process" },
	{ "@subprocess", g_subprocess,
	    "fork, clone, wait, kill: other processes" },
	{ "@threads", g_threads, "Threads (clone with CLONE_THREAD only)" },
	{ "@time", g_time, "Clocks, sleeps and timers" },
	/* Built in: always in force (policy_worker_groups). */
	{ "@worker", g_worker,
	    "The worker itself (built in: always allowed)" },
	{ "@worker-startup", g_worker_startup, "The worker between its "
	    "stages (built in: always allowed at start-up)" },
	{ "@loader", g_loader, "The dynamic loader (built in: always "
	    "allowed at start-up)" },
	{ "@enosys", g_enosys, "libc's fallbacks (built in: fail with "
	    "ENOSYS unless allowed)" },
};

/*
 * Group names nbdbroker no longer uses, and why: each was a systemd
 * name for a set different from ours.
 */
static const struct {
	const char	*old;
	const char	*now;
	const char	*what;		/* what the new one holds */
	const char	*why;
} renamed[] = {
	{ "@process", "@subprocess", "fork, clone, wait, kill",
	    "systemd's @process is a different set, with execveat, unshare, "
	    "setns and prctl" },
	{ "@privileged", "@escape", "identity, namespaces, system state, "
	    "other processes' memory", "systemd's @privileged is a "
	    "different set, without setgid or unshare" },
};

/* systemd's groups (systemd-analyze syscall-filter), for messages. */
static const char *const systemd_groups[] = {
	"@aio", "@basic-io", "@chown", "@clock", "@cpu-emulation",
	"@debug", "@default", "@file-system", "@io-event", "@ipc",
	"@keyring", "@known", "@memlock", "@module", "@mount",
	"@network-io", "@obsolete", "@pkey", "@privileged", "@process",
	"@raw-io", "@reboot", "@resources", "@sandbox", "@setuid",
	"@signal", "@swap", "@sync", "@system-service", "@timer",
};

const char *const policy_worker_groups[] = {
	"@worker", "@worker-startup", "@loader", "@enosys", NULL,
};

/*
 * Read-only at start-up, for the dynamic loader.  Missing ones are
 * skipped.
 */
const char *const policy_loader_paths[] = {
	"/etc/ld.so.cache", "/etc/ld.so.preload", "/lib", "/lib64",
	"/usr/lib", "/usr/lib64", "/usr/local/lib", NULL,
};

const struct policy_group_entry *
policy_group(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i].name, name) == 0)
			return groups[i].entries;
	return NULL;
}

const char *
policy_group_name(size_t i)
{
	return i < sizeof(groups) / sizeof(groups[0]) ? groups[i].name : NULL;
}

const char *
policy_group_help(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i].name, name) == 0)
			return groups[i].help;
	return NULL;
}

/* Is name one of the groups always in force (policy_worker_groups)? */
bool
policy_group_builtin(const char *name)
{
	size_t	i;

	for (i = 0; policy_worker_groups[i] != NULL; i++)
		if (strcmp(policy_worker_groups[i], name) == 0)
			return true;
	return false;
}

/*
 * Why name is not a group, for a "file:line: ..." message: the name it
 * was renamed to, or the groups closest to it, and where to see them
 * all.  Into buf; returns buf.
 */
const char *
policy_group_unknown(const char *name, char *buf, size_t len)
{
	struct policy_suggest	sg;
	char			hint[256];
	const char		*systemd = "";
	size_t			i;

	for (i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
		if (strcmp(renamed[i].old, name) == 0) {
			snprintf(buf, len, "syscall group '%s' was renamed "
			    "'%s' (%s): %s", name, renamed[i].now,
			    renamed[i].what, renamed[i].why);
			return buf;
		}
	for (i = 0; i < sizeof(systemd_groups) / sizeof(systemd_groups[0]);
	    i++)
		if (strcmp(systemd_groups[i], name) == 0)
			systemd = "a systemd group, not one of nbdbroker's; ";
	policy_suggest_init(&sg, name);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		policy_suggest_add(&sg, groups[i].name);
	policy_suggest_text(&sg, "'", "'", hint, sizeof(hint));
	snprintf(buf, len, "unknown syscall group '%s' (%s%s%s'nbdbroker "
	    "--list-syscall-groups' lists them all)", name, systemd, hint,
	    hint[0] != '\0' ? " " : "");
	return buf;
}

#if defined(__x86_64__)
/* Syscalls newer than some libseccomp releases know (x86_64 numbers). */
static const struct {
	const char	*name;
	int		 nr;
} newer[] = {
	{ "cachestat", 451 }, { "fchmodat2", 452 },
	{ "map_shadow_stack", 453 }, { "futex_wake", 454 },
	{ "futex_wait", 455 }, { "futex_requeue", 456 },
	{ "statmount", 457 }, { "listmount", 458 },
	{ "lsm_get_self_attr", 459 }, { "lsm_set_self_attr", 460 },
	{ "lsm_list_modules", 461 }, { "mseal", 462 },
	{ "setxattrat", 463 }, { "getxattrat", 464 },
	{ "listxattrat", 465 }, { "removexattrat", 466 },
	{ "open_tree_attr", 467 },
};
#define NNEWER	(sizeof(newer) / sizeof(newer[0]))
#else
static const struct {
	const char	*name;
	int		 nr;
} newer[1] = { { NULL, -1 } };
#define NNEWER	0
#endif

/* The native syscall number of name, or -1. */
int
policy_syscall_nr(const char *name)
{
	size_t	i;
	int	nr;

	if (name[0] == '\0' || strlen(name) > 64)
		return -1;
	nr = seccomp_syscall_resolve_name(name);
	if (nr >= 0 && nr < POLICY_MAX_NR)
		return nr;
	for (i = 0; i < NNEWER; i++)
		if (strcmp(newer[i].name, name) == 0)
			return newer[i].nr;
	return -1;
}

/* Architectures whose syscall names a policy may have been written for. */
static const uint32_t other_archs[] = {
	SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, SCMP_ARCH_X86, SCMP_ARCH_ARM,
	SCMP_ARCH_PPC64LE, SCMP_ARCH_S390X, SCMP_ARCH_RISCV64,
};

/*
 * Why name is not a syscall here, for a "file:line: ..." message: a
 * group written without its @, the closest syscall names, or that it
 * is one only on other architectures.  Into buf; returns buf.
 */
const char *
policy_syscall_unknown(const char *name, char *buf, size_t len)
{
	struct policy_suggest	sg;
	char			hint[256], at[80], n[64];
	size_t			i;
	int			nr;

	snprintf(at, sizeof(at), "@%.64s", name);
	if (strlen(name) <= 64 && policy_group(at) != NULL) {
		snprintf(buf, len, "unknown syscall '%s' (did you mean the "
		    "group '%s'?)", name, at);
		return buf;
	}
	policy_suggest_init(&sg, name);
	for (nr = 0; nr < POLICY_MAX_NR; nr++)
		if (strncmp(policy_syscall_name_buf(nr, n, sizeof(n)),
		    "syscall_", 8) != 0)
			policy_suggest_add(&sg, n);
	policy_suggest_text(&sg, "'", "'", hint, sizeof(hint));
	if (hint[0] == '\0' && strlen(name) <= 64)
		for (i = 0; i < sizeof(other_archs) / sizeof(other_archs[0]);
		    i++)
			if (seccomp_syscall_resolve_name_arch(other_archs[i],
			    name) >= 0) {
				snprintf(hint, sizeof(hint), "a syscall on "
				    "other architectures, not on this one");
				break;
			}
	if (hint[0] != '\0')
		snprintf(buf, len, "unknown syscall '%s' (%s)", name, hint);
	else
		snprintf(buf, len, "unknown syscall '%s'", name);
	return buf;
}

/* The name of syscall nr into buf ("syscall_N" if unknown). */
const char *
policy_syscall_name_buf(int nr, char *buf, size_t len)
{
	char	*n;
	size_t	 i;

	if ((n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    nr)) != NULL) {
		snprintf(buf, len, "%s", n);
		free(n);
		return buf;
	}
	for (i = 0; i < NNEWER; i++)
		if (newer[i].nr == nr) {
			snprintf(buf, len, "%s", newer[i].name);
			return buf;
		}
	snprintf(buf, len, "syscall_%d", nr);
	return buf;
}

static const struct {
	const char	*name;
	int		 value;
} errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EIO", EIO },
	{ "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES }, { "EFAULT", EFAULT }, { "EBUSY", EBUSY },
	{ "EEXIST", EEXIST }, { "ENODEV", ENODEV }, { "EINVAL", EINVAL },
	{ "ENFILE", ENFILE }, { "EMFILE", EMFILE }, { "ENOSPC", ENOSPC },
	{ "EROFS", EROFS }, { "ENOSYS", ENOSYS }, { "ENOTSUP", ENOTSUP },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EAFNOSUPPORT", EAFNOSUPPORT },
	{ "ENETUNREACH", ENETUNREACH }, { "ECONNREFUSED", ECONNREFUSED },
};

const char *
policy_errno_name(int e)
{
	size_t	i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].value == e)
			return errnos[i].name;
	return "E?";
}

int
policy_errno_value(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, name) == 0)
			return errnos[i].value;
	return -1;
}
