/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Landlock for the worker: two rulesets built while the worker still
 * has its full identity (so it can open every path the policy names),
 * entered one after the other.  The start-up ruleset lets the dynamic
 * loader read the plugin and its libraries and grants the policy's
 * start-up paths; the serving ruleset, stacked on it after get_ready,
 * grants only the policy's paths.  Every access right the running
 * kernel's ABI knows is handled, so whatever is not granted is denied.
 *
 * A rule goes to the file or directory the broker resolved the path to
 * when it loaded the policy, or to nothing: the path is opened without
 * following symbolic links (none was in it then) and must still name
 * the same device and inode.  Otherwise whoever may change a directory
 * on the path could swap in a link to / and provoke a restart.  The
 * rule is then made from that very descriptor.
 *
 * Also, when the ABI has them: TCP bind/connect are denied except the
 * ports [network] allows, and signals and abstract UNIX sockets cannot
 * reach processes outside the worker's domain (the broker).
 *
 * The constants are defined here because the system's
 * <linux/landlock.h> may predate the running kernel's ABI.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/sysmacros.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1
#define LL_RULE_NET_PORT		2

#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_REMOVE_DIR	(1ULL << 4)
#define LL_FS_REMOVE_FILE	(1ULL << 5)
#define LL_FS_MAKE_CHAR		(1ULL << 6)
#define LL_FS_MAKE_DIR		(1ULL << 7)
#define LL_FS_MAKE_REG		(1ULL << 8)
#define LL_FS_MAKE_SOCK		(1ULL << 9)
#define LL_FS_MAKE_FIFO		(1ULL << 10)
#define LL_FS_MAKE_BLOCK	(1ULL << 11)
#define LL_FS_MAKE_SYM		(1ULL << 12)
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)

#define LL_FILE_RIGHTS	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | \
			 LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

struct ll_path_beneath_attr {
	uint64_t	allowed_access;
	int32_t		parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

static int	abi;			/* 0: unsupported */
static int	ruleset[2] = { -1, -1 };	/* by enum policy_stage */
static bool	active;

static uint64_t
handled_fs(void)
{
	uint64_t	fs = (1ULL << 13) - 1;

	if (abi >= 2)
		fs |= LL_FS_REFER;
	if (abi >= 3)
		fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LL_FS_IOCTL_DEV;
	return fs;
}

static uint64_t
rights(unsigned access, bool dir)
{
	uint64_t	r = 0;

	if (access & POLICY_ACCESS_READ)
		r |= LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_IOCTL_DEV;
	if (access & POLICY_ACCESS_WRITE)
		r |= LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV |
		    LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR |
		    LL_FS_MAKE_REG | LL_FS_MAKE_SYM | LL_FS_REFER;
	/* A program is read too (a script by its interpreter). */
	if (access & POLICY_ACCESS_EXEC)
		r |= LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
	if (!dir)
		r &= LL_FILE_RIGHTS;
	return r & handled_fs();
}

/*
 * Open path as an O_PATH descriptor without following any symbolic
 * link on it (openat2 RESOLVE_NO_SYMLINKS; before Linux 5.6, only the
 * last component, O_NOFOLLOW: the inode check below catches the rest).
 */
static int
open_pinned(const char *path)
{
	struct open_how	how;
	int		fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd == -1 && errno == ENOSYS)
		fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

static int
add_path(const struct policy *p, const struct policy_path *pp, char *err,
    size_t errlen)
{
	struct ll_path_beneath_attr	pb;
	struct stat			st;
	int				fd, i;

	if (pp->ino == 0) {
		snprintf(err, errlen, "landlock: %s (policy %s): the broker "
		    "did not pin this path to a file", pp->path, p->file);
		return -1;
	}
	if ((fd = open_pinned(pp->path)) == -1) {
		if (pp->optional && errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			snprintf(err, errlen, "landlock: %s (policy %s): a "
			    "symbolic link is now on this path, which had "
			    "none when the broker loaded the policy; not "
			    "granting where it leads", pp->path, p->file);
		else
			snprintf(err, errlen, "landlock: %s: %s", pp->path,
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "landlock: fstat %s: %s", pp->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISLNK(st.st_mode) || (uint64_t)st.st_dev != pp->dev ||
	    (uint64_t)st.st_ino != pp->ino) {
		snprintf(err, errlen, "landlock: %s (policy %s): %s; it is no "
		    "longer what the broker resolved when it loaded the "
		    "policy (device %u:%u inode %" PRIu64 " then, device "
		    "%u:%u inode %" PRIu64 " now); not granting it",
		    pp->path, p->file, S_ISLNK(st.st_mode) ? "now a symbolic "
		    "link" : "another file is in its place",
		    major(pp->dev), minor(pp->dev), pp->ino, major(st.st_dev),
		    minor(st.st_dev), (uint64_t)st.st_ino);
		close(fd);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = rights(pp->access, S_ISDIR(st.st_mode));
	pb.parent_fd = fd;
	for (i = POLICY_STAGE_STARTUP; i <= POLICY_STAGE_SERVING; i++) {
		if (i == POLICY_STAGE_SERVING && pp->startup_only)
			continue;
		if (syscall(SYS_landlock_add_rule, ruleset[i],
		    LL_RULE_PATH_BENEATH, &pb, 0) == -1) {
			snprintf(err, errlen, "landlock: rule for %s: %s",
			    pp->path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/*
 * Check the kernel, build both rulesets.  Called at stage 1 before the
 * worker changes identity.  A policy that requires Landlock fails on a
 * kernel without it; best-effort goes on without, saying so.
 */
int
sandbox_landlock_prepare(const struct policy *p, char *err, size_t errlen)
{
	struct ll_ruleset_attr	attr;
	size_t			size, i;
	bool			req = p->landlock == POLICY_LANDLOCK_REQUIRED;
	int			k;

	if (p->landlock == POLICY_LANDLOCK_OFF)
		return 0;
	if (p->mode == POLICY_MODE_LOG) {
		log_warn("sandbox: mode = log: [filesystem] is not enforced "
		    "(Landlock has no log-only mode)");
		return 0;
	}
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi <= 0) {
		if (req) {
			snprintf(err, errlen, "landlock: not available in "
			    "this kernel (%s); policy %s requires it "
			    "(landlock = required)", strerror(errno), p->file);
			return -1;
		}
		log_warn("sandbox: Landlock is not available (%s): the "
		    "[filesystem] rules of %s are NOT enforced (landlock = "
		    "best-effort)", strerror(errno), p->file);
		abi = 0;
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled_fs();
	size = sizeof(attr.handled_access_fs);
	if (!(p->net & POLICY_NET_ALL)) {
		if (abi >= 4) {
			attr.handled_access_net = LL_NET_BIND_TCP |
			    LL_NET_CONNECT_TCP;
			size = offsetof(struct ll_ruleset_attr, scoped);
		} else if (p->net & POLICY_NET_TCP_CONNECT) {
			if (req) {
				snprintf(err, errlen, "landlock: ABI %d "
				    "cannot filter TCP ports (needs 4); "
				    "policy %s requires it", abi, p->file);
				return -1;
			}
			log_warn("sandbox: Landlock ABI %d cannot filter TCP "
			    "ports: [network] tcp-connect is NOT limited to "
			    "its ports (landlock = best-effort)", abi);
		}
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_SIGNAL;
		if (!(p->net & POLICY_NET_ALL))
			attr.scoped |= LL_SCOPE_ABSTRACT_UNIX;
		size = sizeof(attr);
	} else
		log_debug("sandbox: Landlock ABI %d cannot scope signals",
		    abi);
	for (k = POLICY_STAGE_STARTUP; k <= POLICY_STAGE_SERVING; k++) {
		ruleset[k] = syscall(SYS_landlock_create_ruleset, &attr, size,
		    0);
		if (ruleset[k] == -1) {
			snprintf(err, errlen, "landlock: create ruleset: %s",
			    strerror(errno));
			return -1;
		}
	}
	for (i = 0; i < p->npaths; i++)
		if (add_path(p, &p->paths[i], err, errlen) == -1)
			return -1;
	for (i = 0; i < p->nports && attr.handled_access_net; i++) {
		struct ll_net_port_attr	np = { LL_NET_CONNECT_TCP,
		    p->ports[i] };

		for (k = POLICY_STAGE_STARTUP; k <= POLICY_STAGE_SERVING;
		    k++)
			if (syscall(SYS_landlock_add_rule, ruleset[k],
			    LL_RULE_NET_PORT, &np, 0) == -1) {
				snprintf(err, errlen, "landlock: rule for TCP "
				    "port %u: %s", p->ports[i],
				    strerror(errno));
				return -1;
			}
	}
	active = true;
	return 0;
}

/* Is a Landlock domain (to be) in force? */
bool
sandbox_landlock_active(void)
{
	return active;
}

int
sandbox_landlock_abi(void)
{
	return abi;
}

/* Enter the ruleset of stage st (needs no_new_privs).  */
int
sandbox_landlock_enter(enum policy_stage st, char *err, size_t errlen)
{
	int	r;

	if (!active)
		return 0;
	r = syscall(SYS_landlock_restrict_self, ruleset[st], 0);
	if (r == -1) {
		snprintf(err, errlen, "landlock: restrict_self (%s): %s",
		    st == POLICY_STAGE_STARTUP ? "start-up" : "serving",
		    strerror(errno));
		return -1;
	}
	close(ruleset[st]);
	ruleset[st] = -1;
	return 0;
}
