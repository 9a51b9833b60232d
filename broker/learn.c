/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --learn-policy FILE: the worker runs with everything allowed, and
 * the broker records what it does, then writes a policy allowing just
 * that (policy/learn.c) at exit and on SIGUSR1.
 *
 * The worker's learn filter (policy_seccomp_build_learn) hands every
 * syscall its built-in set does not allow in both stages to the broker
 * as a user notification, on the listener tripwire.c already holds.
 * For each, learn_notify() notes the syscall and the variant of its
 * arguments a policy can restrict (clone for a thread or a process,
 * mmap with or without PROT_EXEC, socket families, ...), and for the
 * calls that reach paths the path (read from /proc/PID/mem, relative
 * ones through /proc/PID/cwd or /proc/PID/fd/N), then checks that the
 * notification is still valid (SECCOMP_IOCTL_NOTIF_ID_VALID: the
 * thread did not die and its pid was not reused while the broker
 * read), and lets the syscall go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 * The worker's syscall POLICY_STAGE_MARK (tripwire.c), made when its
 * start-up ends, splits start-up from serving for that worker
 * (restarted workers go through both stages again and add to the same
 * record).
 *
 * What a path is granted as: a file opened, the file (read, write or
 * both, as opened); a file or directory created, removed or renamed,
 * the directory it is in (write), or the nearest one up that the
 * worker did not create itself (temporary files and directories); a
 * directory opened for reading, the directory.  A path that is a
 * plugin parameter's value, or lies under a directory that is, is
 * written ${NAME}.  Paths the worker's built-in grants cover (the
 * loader's, the plugin's) and /proc are left out.
 *
 * Trust: learning runs the plugin unconfined (but for the built-in
 * user switch), and what it does becomes the policy.  Learn with the
 * plugin and the workload you trust, then read the file.
 */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

/* What a syscall's arguments say, for the calls that reach paths. */
enum learn_kind {
	LK_NONE,
	LK_OPEN,	/* path, flags */
	LK_OPENAT2,	/* path, struct open_how */
	LK_CREAT,	/* path: O_CREAT|O_WRONLY|O_TRUNC */
	LK_CREATE,	/* path is made: mkdir, mknod, symlink's link */
	LK_REMOVE,	/* path is removed: unlink, rmdir */
	LK_RENAME,	/* both paths change their directories */
	LK_TRUNCATE,	/* path is written */
	LK_EXEC,	/* path is run */
	LK_CONNECT,	/* a socket address */
};

/* Which argument holds what (-1: none; dfd -1: AT_FDCWD implied). */
static const struct learn_call {
	const char	*name;
	enum learn_kind	 kind;
	int		 dfd, path, flags;	/* first path */
	int		 dfd2, path2;		/* second (renames, links) */
} calls[] = {
	{ "open", LK_OPEN, -1, 0, 1, -1, -1 },
	{ "openat", LK_OPEN, 0, 1, 2, -1, -1 },
	{ "openat2", LK_OPENAT2, 0, 1, 2, -1, -1 },
	{ "creat", LK_CREAT, -1, 0, -1, -1, -1 },
	{ "mkdir", LK_CREATE, -1, 0, -1, -1, -1 },
	{ "mkdirat", LK_CREATE, 0, 1, -1, -1, -1 },
	{ "mknod", LK_CREATE, -1, 0, -1, -1, -1 },
	{ "mknodat", LK_CREATE, 0, 1, -1, -1, -1 },
	{ "symlink", LK_CREATE, -1, 1, -1, -1, -1 },
	{ "symlinkat", LK_CREATE, 1, 2, -1, -1, -1 },
	{ "link", LK_CREATE, -1, 1, -1, -1, -1 },
	{ "linkat", LK_CREATE, 2, 3, -1, -1, -1 },
	{ "unlink", LK_REMOVE, -1, 0, -1, -1, -1 },
	{ "unlinkat", LK_REMOVE, 0, 1, -1, -1, -1 },
	{ "rmdir", LK_REMOVE, -1, 0, -1, -1, -1 },
	{ "rename", LK_RENAME, -1, 0, -1, -1, 1 },
	{ "renameat", LK_RENAME, 0, 1, -1, 2, 3 },
	{ "renameat2", LK_RENAME, 0, 1, -1, 2, 3 },
	{ "truncate", LK_TRUNCATE, -1, 0, -1, -1, -1 },
	{ "execve", LK_EXEC, -1, 0, -1, -1, -1 },
	{ "execveat", LK_EXEC, 0, 1, -1, -1, -1 },
	{ "connect", LK_CONNECT, -1, -1, -1, -1, -1 },
};
#define NCALLS	(sizeof(calls) / sizeof(calls[0]))

/* A path the workers reached, as the broker saw it when they did. */
struct learn_path {
	char		*path;		/* absolute, symlinks resolved */
	unsigned	 access;	/* POLICY_ACCESS_* */
	bool		 stage[2];	/* seen at start-up, serving */
	bool		 dir;		/* grant the directory itself */
	bool		 parent;	/* grant the directory it is in */
	bool		 created;	/* the workers made it */
};

static struct {
	bool			 on;
	const struct policy	*base;		/* resolved; borrowed */
	struct policy		*usual;		/* parsed, or NULL */
	char			*magic;		/* the plugin's (Ready) */
	const struct learn_call	*by_nr[POLICY_MAX_NR];
	int			 nr_clone, nr_mmap, nr_mprotect;
	int			 nr_pkey_mprotect, nr_tgkill, nr_prlimit;
	int			 nr_socket, nr_ioctl, nr_seccomp, nr_prctl;
	uint32_t		 seen[2][POLICY_MAX_NR];
	struct learn_path	*paths;
	size_t			 npaths;
	unsigned		 net;
	uint16_t		 ports[64];
	size_t			 nports;
	unsigned long		 notifications;
	unsigned		 workers;
	unsigned		 unknown;	/* syscalls >= POLICY_MAX_NR */
	struct event		*ev_usr1;
} lrn;

/* Block device ioctls @block-ioctl allows (as policy/seccomp.c). */
static const unsigned long	blk_ioctls[] = {
	BLKGETSIZE64, BLKGETSIZE, BLKSSZGET, BLKPBSZGET, BLKIOMIN,
	BLKIOOPT, BLKROGET, BLKDISCARD, BLKZEROOUT, BLKDISCARDZEROES,
	BLKFLSBUF,
};

/*
 * The policy the learning worker runs under: the built-in set only
 * (policy/groups.c), the plugin's magic-config-key and user from its
 * usual policy (usual: its path, or NULL).  Returns a parsed policy,
 * or NULL with err set.
 */
struct policy *
learn_base(const char *usual, char *err, size_t errlen)
{
	char	 text[1024], uerr[1024];
	size_t	 n;

	if (usual != NULL && (lrn.usual = policy_parse_file(usual, uerr,
	    sizeof(uerr))) == NULL)
		log_warn("--learn-policy: the plugin's usual policy: %s (its "
		    "settings are not copied)", uerr);
	n = snprintf(text, sizeof(text), "format = %s\n", POLICY_FORMAT);
	if (lrn.usual != NULL && lrn.usual->magic_key != NULL)
		n += snprintf(text + n, sizeof(text) - n,
		    "magic-config-key = %s\n", lrn.usual->magic_key);
	if (lrn.usual != NULL && lrn.usual->user_keep)
		n += snprintf(text + n, sizeof(text) - n, "user = keep\n");
	else if (lrn.usual != NULL && lrn.usual->user != NULL)
		n += snprintf(text + n, sizeof(text) - n, "user = %s\n",
		    lrn.usual->user);
	if (lrn.usual != NULL && lrn.usual->durability !=
	    POLICY_DURABILITY_PLUGIN)
		n += snprintf(text + n, sizeof(text) - n, "durability = %s\n",
		    lrn.usual->durability == POLICY_DURABILITY_STATELESS ?
		    "stateless" : lrn.usual->durability ==
		    POLICY_DURABILITY_PERSISTENT ? "persistent" : "volatile");
	snprintf(text + n, sizeof(text) - n, "[syscalls]\ndefault = errno "
	    "ENOSYS\n[filesystem]\nlandlock = off\n[network]\nallow = all\n");
	return policy_parse_buf("--learn-policy", text, strlen(text), err,
	    errlen);
}

/* The resolved base: open it wide, and get ready to record. */
void
learn_open(struct policy *p)
{
	size_t	i, k;
	int	nr;

	for (i = 0; i < p->nsc; i++)
		p->sc[i].kill = false;
	p->mode = POLICY_MODE_LEARN;
	p->dflt = POLICY_DEFAULT_ALLOW;
	p->landlock = POLICY_LANDLOCK_OFF;
	p->net = POLICY_NET_ALL;
	p->memory = p->open_files = p->cpu_seconds = 0;
	lrn.on = true;
	lrn.base = p;
	for (k = 0; k < NCALLS; k++)
		if ((nr = policy_syscall_nr(calls[k].name)) >= 0 &&
		    nr < POLICY_MAX_NR)
			lrn.by_nr[nr] = &calls[k];
	lrn.nr_clone = policy_syscall_nr("clone");
	lrn.nr_mmap = policy_syscall_nr("mmap");
	lrn.nr_mprotect = policy_syscall_nr("mprotect");
	lrn.nr_pkey_mprotect = policy_syscall_nr("pkey_mprotect");
	lrn.nr_tgkill = policy_syscall_nr("tgkill");
	lrn.nr_prlimit = policy_syscall_nr("prlimit64");
	lrn.nr_socket = policy_syscall_nr("socket");
	lrn.nr_ioctl = policy_syscall_nr("ioctl");
	lrn.nr_seccomp = policy_syscall_nr("seccomp");
	lrn.nr_prctl = policy_syscall_nr("prctl");
}

static void
usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (learn_write() == 0)
		log_info("--learn-policy: %s written (SIGUSR1)",
		    broker.cfg.learn_path);
}

/* Once the event loop exists: SIGUSR1 writes the file. */
void
learn_init(void)
{
	if (!lrn.on || lrn.ev_usr1 != NULL)
		return;
	lrn.ev_usr1 = evsignal_new(broker.base, SIGUSR1, usr1_cb, NULL);
	if (lrn.ev_usr1 == NULL || event_add(lrn.ev_usr1, NULL) == -1)
		log_warn("--learn-policy: cannot watch SIGUSR1; the policy is "
		    "written at exit only");
}

/* The policy is being learned (tripwire.c dispatches to us). */
bool
learn_active(void)
{
	return lrn.on;
}

/* Lexically: remove ".", "..", "//" from an absolute path, in place. */
static void
normalize(char *p)
{
	char	*r = p, *w = p;

	while (*r != '\0') {
		while (*r == '/')
			r++;
		if (*r == '\0')
			break;
		if (r[0] == '.' && (r[1] == '/' || r[1] == '\0')) {
			r += 1;
			continue;
		}
		if (r[0] == '.' && r[1] == '.' && (r[2] == '/' ||
		    r[2] == '\0')) {
			while (w > p && *--w != '/')
				;
			r += 2;
			continue;
		}
		*w++ = '/';
		while (*r != '\0' && *r != '/')
			*w++ = *r++;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/*
 * The absolute path pid meant by (dfd, rel), symlinks resolved as far
 * as it exists, into out.
 */
static int
absolute(pid_t pid, int dfd, const char *rel, char *out, size_t len)
{
	char	 joined[2 * PATH_MAX], *real, *slash;

	if (notif_join_path(pid, dfd, rel, joined, sizeof(joined)) == -1)
		return -1;
	normalize(joined);
	if ((real = realpath(joined, NULL)) != NULL) {
		snprintf(out, len, "%s", real);
		free(real);
		return 0;
	}
	/* Not there (yet): its directory, resolved, and the name. */
	if ((slash = strrchr(joined, '/')) != NULL && slash != joined) {
		*slash = '\0';
		if ((real = realpath(joined, NULL)) != NULL) {
			snprintf(out, len, "%s/%s", strcmp(real, "/") == 0 ?
			    "" : real, slash + 1);
			free(real);
			return 0;
		}
		*slash = '/';
	}
	snprintf(out, len, "%s", joined);
	return 0;
}

static struct learn_path *
path_get(const char *path)
{
	struct learn_path	*lp;
	size_t			 i;

	for (i = 0; i < lrn.npaths; i++)
		if (strcmp(lrn.paths[i].path, path) == 0)
			return &lrn.paths[i];
	if ((lp = reallocarray(lrn.paths, lrn.npaths + 1, sizeof(*lp))) ==
	    NULL)
		return NULL;
	lrn.paths = lp;
	lp = &lrn.paths[lrn.npaths];
	memset(lp, 0, sizeof(*lp));
	if ((lp->path = strdup(path)) == NULL)
		return NULL;
	lrn.npaths++;
	return lp;
}

/* One path a call reached, as the call reached it. */
struct learn_rec {
	char		path[PATH_MAX];
	unsigned	access;
	bool		dir, parent, created;
};

/* What (kind, flags) does to path, into r. */
static void
path_effect(enum learn_kind kind, uint64_t flags, struct learn_rec *r)
{
	struct stat	st;
	bool		exists = lstat(r->path, &st) == 0;

	switch (kind) {
	case LK_OPEN:
	case LK_OPENAT2:
		if (flags & O_PATH)
			return;		/* no access right needed */
		if ((flags & O_ACCMODE) != O_WRONLY)
			r->access |= POLICY_ACCESS_READ;
		if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
			r->access |= POLICY_ACCESS_WRITE;
		if ((flags & O_CREAT) && !exists) {
			/* The parser needs the file to exist: its directory. */
			r->parent = r->created = true;
			r->access |= POLICY_ACCESS_WRITE;
		} else if (exists && S_ISDIR(st.st_mode))
			r->dir = true;
		break;
	case LK_CREAT:
		r->access = POLICY_ACCESS_WRITE;
		r->parent = true;
		r->created = !exists;
		break;
	case LK_CREATE:
		r->access = POLICY_ACCESS_WRITE;
		r->parent = r->created = true;
		break;
	case LK_REMOVE:
	case LK_RENAME:
		r->access = POLICY_ACCESS_WRITE;
		r->parent = true;
		break;
	case LK_TRUNCATE:
		r->access = POLICY_ACCESS_WRITE;
		break;
	case LK_EXEC:
		r->access = POLICY_ACCESS_EXEC;
		break;
	default:
		break;
	}
}

/* An ELF program's interpreter (PT_INTERP), into buf; -1: none. */
static int
elf_interp(int fd, char *buf, size_t len)
{
	Elf64_Ehdr	eh;
	Elf64_Phdr	ph;
	size_t		i;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		return -1;
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    (ssize_t)sizeof(ph))
			return -1;
		if (ph.p_type != PT_INTERP || ph.p_filesz >= len)
			continue;
		if (pread(fd, buf, ph.p_filesz, ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			return -1;
		buf[ph.p_filesz] = '\0';
		return 0;
	}
	return -1;
}

/*
 * What the kernel runs besides a program it is asked to run: a
 * script's interpreter ("#!/bin/sh"), an ELF program's dynamic loader.
 * Landlock asks for the right to execute each.  Into out (resolved);
 * -1: none.  (deny.c explains a denied one with it too.)
 */
int
learn_interpreter(const char *path, char *out, size_t len)
{
	char	 line[PATH_MAX], *e, *real;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	n = read(fd, line, 256);
	if (n >= 4 && line[0] == '#' && line[1] == '!') {
		line[n] = '\0';
		for (e = line + 2; *e == ' ' || *e == '\t'; e++)
			;
		e[strcspn(e, " \t\n")] = '\0';
	} else if (elf_interp(fd, line, sizeof(line)) == 0)
		e = line;
	else
		e = NULL;
	close(fd);
	if (e == NULL || *e != '/' || (real = realpath(e, NULL)) == NULL)
		return -1;
	snprintf(out, len, "%s", real);
	free(real);
	return 0;
}

/* The restriction a call's arguments fall under (POLICY_ARG_*). */
static uint32_t
variant_of(int nr, const __u64 *a, pid_t worker)
{
	size_t	i;

	if (nr == lrn.nr_clone)
		return (a[0] & CLONE_THREAD) ? POLICY_ARG_THREAD :
		    POLICY_ARG_ANY;
	if (nr == lrn.nr_mmap || nr == lrn.nr_mprotect ||
	    nr == lrn.nr_pkey_mprotect)
		return (a[2] & PROT_EXEC) ? POLICY_ARG_ANY :
		    POLICY_ARG_NOEXEC;
	if (nr == lrn.nr_tgkill)
		return (pid_t)a[0] == worker ? POLICY_ARG_SELF :
		    POLICY_ARG_ANY;
	if (nr == lrn.nr_prlimit)
		return a[0] == 0 ? POLICY_ARG_SELF : POLICY_ARG_ANY;
	if (nr == lrn.nr_socket)
		return POLICY_ARG_SOCKET;
	if (nr == lrn.nr_prctl)
		return (uint32_t)a[0] == PR_SET_SECCOMP ? POLICY_ARG_ANY :
		    POLICY_ARG_NOSECCOMP;
	if (nr == lrn.nr_seccomp)
		return a[0] == SECCOMP_SET_MODE_FILTER && a[1] ==
		    SECCOMP_FILTER_FLAG_TSYNC ? POLICY_ARG_FILTER :
		    POLICY_ARG_ANY;
	if (nr == lrn.nr_ioctl) {
		for (i = 0; i < sizeof(blk_ioctls) / sizeof(blk_ioctls[0]);
		    i++)
			if ((uint32_t)a[1] == (uint32_t)blk_ioctls[i])
				return POLICY_ARG_BLKIOCTL;
	}
	return POLICY_ARG_ANY;
}

/* What the network needs: socket families, TCP ports connected to. */
static void
note_network(int nr, const __u64 *a, int memfd)
{
	struct sockaddr_storage	ss;
	uint16_t		port = 0;
	size_t			i, len;

	if (nr == lrn.nr_socket) {
		if (a[0] == AF_UNIX)
			lrn.net |= POLICY_NET_UNIX;
		else if ((a[0] == AF_INET || a[0] == AF_INET6) &&
		    (a[1] & 0xf) == SOCK_STREAM)
			lrn.net |= POLICY_NET_TCP_CONNECT;
		else
			lrn.net |= POLICY_NET_ALL;
		return;
	}
	/* connect */
	len = a[2] < sizeof(ss) ? a[2] : sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (len < sizeof(sa_family_t) || pread(memfd, &ss, len,
	    (off_t)a[1]) != (ssize_t)len)
		return;
	if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6 && len >=
	    sizeof(struct sockaddr_in6))
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (port == 0)
		return;
	for (i = 0; i < lrn.nports; i++)
		if (lrn.ports[i] == port)
			return;
	if (lrn.nports < sizeof(lrn.ports) / sizeof(lrn.ports[0]))
		lrn.ports[lrn.nports++] = port;
}

/* Answer a notification: go on (CONTINUE), or return val. */
static void
respond(int listener, uint64_t id, bool cont, int64_t val)
{
	struct seccomp_notif_resp	resp;

	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	resp.val = val;
	resp.flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
	    errno != ENOENT)
		log_warn("--learn-policy: answering a notification: %s",
		    strerror(errno));
}

/*
 * Read the path argument(s) of call c into r[0..2] (a second path, or
 * what running the first runs too).  Returns how many.
 */
static int
read_paths(const struct learn_call *c, const struct seccomp_notif *req,
    int memfd, struct learn_rec *r)
{
	const __u64	*a = req->data.args;
	char		 rel[PATH_MAX];
	struct open_how	 how;
	uint64_t	 flags = 0;
	int		 n = 0, i, dfd;

	if (c->flags >= 0 && c->kind == LK_OPENAT2) {
		memset(&how, 0, sizeof(how));
		if (pread(memfd, &how, sizeof(how), (off_t)a[c->flags]) !=
		    (ssize_t)sizeof(how))
			return 0;
		flags = how.flags;
	} else if (c->flags >= 0)
		flags = a[c->flags];
	dfd = c->dfd >= 0 ? (int)a[c->dfd] : AT_FDCWD;
	memset(r, 0, 3 * sizeof(*r));
	if (notif_read_string(memfd, a[c->path], rel, sizeof(rel)) == 0 &&
	    rel[0] != '\0' && absolute(req->pid, dfd, rel, r[0].path,
	    sizeof(r[0].path)) == 0) {
		path_effect(c->kind, flags, &r[0]);
		n++;
	}
	/*
	 * A script's interpreter runs too, and a program's dynamic
	 * loader: up to two levels (#!/bin/sh, then sh's ld.so).
	 */
	for (i = 0; n >= 1 && n < 3 && c->kind == LK_EXEC; i++) {
		if (learn_interpreter(r[n - 1].path, r[n].path,
		    sizeof(r[n].path)) == -1)
			break;
		r[n++].access = POLICY_ACCESS_EXEC;
	}
	if (c->path2 < 0)
		return n;
	dfd = c->dfd2 >= 0 ? (int)a[c->dfd2] : AT_FDCWD;
	if (notif_read_string(memfd, a[c->path2], rel, sizeof(rel)) == 0 &&
	    rel[0] != '\0' && absolute(req->pid, dfd, rel, r[n].path,
	    sizeof(r[n].path)) == 0) {
		path_effect(LK_CREATE, 0, &r[n]);
		n++;
	}
	return n;
}

/* A notification from a learning worker (tripwire.c), in stage. */
void
learn_notify(int listener, const struct seccomp_notif *req, pid_t worker,
    int stage)
{
	const struct learn_call	*c = NULL;
	struct learn_rec	 r[3];
	struct learn_path	*lp;
	char			 mem[64];
	int			 nr = req->data.nr, memfd = -1, n = 0, i;
	uint32_t		 v;

	lrn.notifications++;
	if (nr < 0 || nr >= POLICY_MAX_NR) {
		lrn.unknown++;
		respond(listener, req->id, true, 0);
		return;
	}
	v = variant_of(nr, req->data.args, worker);
	c = lrn.by_nr[nr];
	if (c != NULL || nr == lrn.nr_socket) {
		snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)req->pid);
		memfd = open(mem, O_RDONLY | O_CLOEXEC);
	}
	if (memfd != -1 && c != NULL && c->kind == LK_CONNECT)
		note_network(nr, req->data.args, memfd);
	else if (nr == lrn.nr_socket)
		note_network(nr, req->data.args, -1);
	else if (memfd != -1 && c != NULL)
		n = read_paths(c, req, memfd, r);
	if (memfd != -1)
		close(memfd);
	/* What was read is the thread's only if it is still there. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == -1) {
		respond(listener, req->id, true, 0);
		return;
	}
	lrn.seen[stage][nr] |= v;
	for (i = 0; i < n; i++) {
		if ((lp = path_get(r[i].path)) == NULL)
			continue;	/* out of memory: not recorded */
		lp->access |= r[i].access;
		lp->stage[stage] = true;
		lp->dir |= r[i].dir;
		lp->parent |= r[i].parent;
		lp->created |= r[i].created;
	}
	respond(listener, req->id, true, 0);
}

/* A worker started learning (for the file's notes). */
void
learn_worker(void)
{
	lrn.workers++;
}

/*
 * Is path, or what it lies under, one of the built-in grants (the
 * loader's, the plugin's: start-up only) in the stages it was used?
 */
static bool
builtin_path(const char *path, bool serving)
{
	const struct policy	*p = lrn.base;
	size_t			 i, n;

	if (strncmp(path, "/proc/", 6) == 0 || strcmp(path, "/proc") == 0)
		return true;
	for (i = 0; i < p->npaths; i++) {
		if (p->paths[i].line != 0 || p->paths[i].path == NULL ||
		    (serving && p->paths[i].startup_only))
			continue;
		n = strlen(p->paths[i].path);
		if (strncmp(path, p->paths[i].path, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

/* Did the workers create dir? */
static bool
created(const char *dir)
{
	size_t	i;

	for (i = 0; i < lrn.npaths; i++)
		if (lrn.paths[i].created &&
		    strcmp(lrn.paths[i].path, dir) == 0)
			return true;
	return false;
}

/*
 * The plugin's magic_config_key, as its worker's Ready said: the
 * parameter a bare word sets, for a plugin whose usual policy does not
 * say (or that has none).  The worker is not trusted: a key that is
 * not a plain parameter name (it goes into the learned policy) is
 * ignored with a warning.
 */
void
learn_magic_key(const char *key)
{
	if (!lrn.on || lrn.magic != NULL || key == NULL || *key == '\0')
		return;
	if (!policy_param_name_ok(key)) {
		log_warn("--learn-policy: the plugin's magic_config_key is "
		    "not a parameter name: ignored");
		return;
	}
	if ((lrn.magic = strdup(key)) == NULL)
		log_warn("--learn-policy: out of memory");
}

/* The key a bare word sets: the usual policy's, else the plugin's. */
static const char *
magic_key(void)
{
	if (lrn.usual != NULL && lrn.usual->magic_key != NULL)
		return lrn.usual->magic_key;
	return lrn.magic;
}

/*
 * The parameter a path comes from: ${NAME} if path is NAME='s value
 * (a bare word: the magic-config-key's), or lies under it, and NAME
 * was given once.  Into buf; NULL if none.
 */
static const char *
param_ref(const char *path, char *buf, size_t len)
{
	const struct config	*cfg = &broker.cfg;
	const char		*magic = magic_key();
	char			 key[80], *real, *joined;
	size_t			 i, k, n;

	for (i = 0; i < cfg->nparams; i++) {
		const char	*eq = cli_param_split(cfg->params[i]);
		const char	*val = eq ? eq + 1 : cfg->params[i];
		int		 count = 0;

		if (eq != NULL)
			snprintf(key, sizeof(key), "%.*s",
			    (int)(eq - cfg->params[i]), cfg->params[i]);
		else if (magic != NULL)
			snprintf(key, sizeof(key), "%s", magic);
		else
			continue;
		for (k = 0; k < cfg->nparams; k++) {
			const char	*e2 = cli_param_split(cfg->params[k]);

			if ((e2 != NULL && (size_t)(e2 - cfg->params[k]) ==
			    strlen(key) && strncmp(cfg->params[k], key,
			    strlen(key)) == 0) || (e2 == NULL && magic !=
			    NULL && strcmp(key, magic) == 0))
				count++;
		}
		if (count != 1 || *val == '\0')
			continue;
		if (val[0] != '/' && cfg->cwd != NULL) {
			if (asprintf(&joined, "%s/%s", cfg->cwd, val) == -1)
				continue;
		} else if ((joined = strdup(val)) == NULL)
			continue;
		real = realpath(joined, NULL);
		free(joined);
		if (real == NULL)
			continue;
		n = strlen(real);
		if (strncmp(path, real, n) == 0 && (path[n] == '\0' ||
		    (path[n] == '/' && n > 1))) {
			free(real);
			snprintf(buf, len, "${%s}", key);
			return buf;
		}
		free(real);
	}
	return NULL;
}

/* Add (path as written, access, stage) to l, merging duplicates. */
static int
learned_add(struct policy_learned *l, const char *path, unsigned access,
    bool serving)
{
	struct policy_learned_path	*pp;
	size_t				 i;

	for (i = 0; i < l->npaths; i++)
		if (strcmp(l->paths[i].path, path) == 0 &&
		    l->paths[i].serving == serving) {
			l->paths[i].access |= access;
			return 0;
		}
	if ((pp = reallocarray(l->paths, l->npaths + 1, sizeof(*pp))) ==
	    NULL)
		return -1;
	l->paths = pp;
	pp = &l->paths[l->npaths];
	if ((pp->path = strdup(path)) == NULL)
		return -1;
	pp->access = access;
	pp->serving = serving;
	l->npaths++;
	return 0;
}

static int
note(struct policy_learned *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
note(struct policy_learned *l, const char *fmt, ...)
{
	va_list	  ap;
	char	**nn, *s;
	int	  r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	if ((nn = reallocarray(l->notes, l->nnotes + 1, sizeof(*nn))) ==
	    NULL) {
		free(s);
		return -1;
	}
	l->notes = nn;
	l->notes[l->nnotes++] = s;
	return 0;
}

/* The grants the recorded paths need, into l. */
static int
learned_paths(struct policy_learned *l)
{
	struct learn_path	*lp;
	struct stat		 st;
	char			 grant[PATH_MAX], ref[96], *slash;
	const char		*as;
	size_t			 i;
	bool			 serving;

	for (i = 0; i < lrn.npaths; i++) {
		lp = &lrn.paths[i];
		if (lp->access == 0)
			continue;
		snprintf(grant, sizeof(grant), "%s", lp->path);
		/*
		 * Made or removed, or gone since: the directory it is in,
		 * or the nearest one up the workers did not make.
		 */
		if (lp->parent || lp->created || lstat(grant, &st) == -1) {
			do {
				if ((slash = strrchr(grant, '/')) == NULL)
					break;
				*slash = '\0';
				if (grant[0] == '\0')
					snprintf(grant, sizeof(grant), "/");
			} while (strcmp(grant, "/") != 0 && created(grant));
			lp->access |= POLICY_ACCESS_READ;
		}
		serving = lp->stage[POLICY_STAGE_SERVING];
		if (builtin_path(grant, serving))
			continue;
		as = param_ref(grant, ref, sizeof(ref));
		if (learned_add(l, as ? as : grant, lp->access, serving) == -1)
			return -1;
	}
	return 0;
}

static void
learned_free(struct policy_learned *l)
{
	size_t	i;

	for (i = 0; i < l->npaths; i++)
		free(l->paths[i].path);
	free(l->paths);
	for (i = 0; i < l->nnotes; i++)
		free(l->notes[i]);
	free(l->notes);
}

/*
 * Write what was learned to --learn-policy's FILE (through a temporary
 * file, renamed: never half a policy).  Returns 0, or -1 (logged).
 */
int
learn_write(void)
{
	struct policy_learned	 l;
	const struct config	*cfg = &broker.cfg;
	char			 tmp[PATH_MAX], when[64];
	time_t			 now = time(NULL);
	FILE			*fp = NULL;
	size_t			 i;
	int			 fd = -1, r = -1;

	if (!lrn.on)
		return 0;
	tmp[0] = '\0';
	memset(&l, 0, sizeof(l));
	memcpy(l.seen, lrn.seen, sizeof(l.seen));
	l.net = lrn.net;
	l.ports = lrn.ports;
	l.nports = lrn.nports;
	l.usual = lrn.usual;
	l.magic_key = magic_key();
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
	    gmtime(&now));
	if (note(&l, "Plugin %s, learned %s from %u worker%s, %lu "
	    "notifications.", cfg->plugin_arg, when, lrn.workers,
	    lrn.workers == 1 ? "" : "s", lrn.notifications) == -1)
		goto out;
	for (i = 0; i < cfg->nparams; i++)
		if (note(&l, "  parameter: %s", cfg->params[i]) == -1)
			goto out;
	if (lrn.unknown > 0 && note(&l, "%u syscalls with numbers this "
	    "program does not know were made, and are not allowed here",
	    lrn.unknown) == -1)
		goto out;
	if (learned_paths(&l) == -1)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", cfg->learn_path) >=
	    (int)sizeof(tmp))
		goto out;
	if ((fd = mkstemp(tmp)) == -1) {
		log_warn("--learn-policy: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((fp = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	if (policy_learn_write(&l, fp) == -1 || fflush(fp) == EOF ||
	    fchmod(fileno(fp), 0644) == -1) {
		log_warn("--learn-policy: %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, cfg->learn_path) == -1) {
		log_warn("--learn-policy: rename %s: %s", cfg->learn_path,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	r = 0;
 out:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (r == -1 && tmp[0] != '\0')
		unlink(tmp);
	learned_free(&l);
	return r;
}

/* Shutdown: write the file one last time, and say where it is. */
void
learn_stop(void)
{
	if (!lrn.on)
		return;
	if (learn_write() == 0)
		log_info("--learn-policy: %s written: check it with "
		    "--check-policy, serve with --policy",
		    broker.cfg.learn_path);
	if (lrn.ev_usr1 != NULL)
		event_free(lrn.ev_usr1);
	lrn.ev_usr1 = NULL;
	if (lrn.usual != NULL)
		policy_free(lrn.usual);
	lrn.usual = NULL;
	free(lrn.magic);
	lrn.magic = NULL;
	while (lrn.npaths > 0)
		free(lrn.paths[--lrn.npaths].path);
	free(lrn.paths);
	lrn.paths = NULL;
	lrn.on = false;
}
