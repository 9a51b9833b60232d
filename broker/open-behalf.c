/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Files the worker cannot reach, opened by the broker on its behalf.
 *
 * The worker runs as an unprivileged user (nobody, when the broker is
 * root); the admin's images often live where only root may go (a
 * 0700 directory, as /var/lib/libvirt/images).  Under enforce, with
 * Landlock, the worker's start-up filter hands every open call to the
 * broker in both stages (POLICY_NOTIFY_PATHS, policy/seccomp.c).  For
 * open, openat, openat2 and creat, deny_notify() first asks
 * behalf_open() here:
 *
 *   1. the call's flags must be ones the broker understands (no
 *      O_PATH, no O_TMPFILE; openat2's resolve flags, see below), the
 *      broker must run as another user than the worker, and the
 *      policy must not say open-on-behalf = no;
 *   2. the path is read from the worker's memory, joined to its cwd or
 *      dirfd (/proc/PID/cwd, /proc/PID/fd/N) and normalised by text
 *      ("." and ".." and doubled slashes; no symlink followed here);
 *   3. a grant written in the policy (not a built-in one) must cover
 *      it in this stage with the access asked (read; write for
 *      O_WRONLY, O_RDWR, O_TRUNC, O_CREAT, O_APPEND); -r means no
 *      write open at all; the worker's user must be unable to open it
 *      itself (mode bits), else the call goes on as before;
 *   4. the notification must still be valid (the path read is the
 *      waiting thread's);
 *   5. the broker opens it below the grant: the grant's directory (a
 *      grant naming a file: its directory, and only that name) is
 *      opened by the path the policy resolved, then the rest with
 *      openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) and
 *      O_PATH | O_NOFOLLOW, so no symlink leaves the grant and the
 *      last component is never a symlink;
 *   6. that O_PATH descriptor says what the file is: a regular file or
 *      a directory, or a block or character device only if a grant
 *      names that very path; never a FIFO or a socket (a FIFO would
 *      also block the broker);
 *   7. the file is opened for real through the O_PATH descriptor
 *      (/proc/self/fd/N: the same inode, no second lookup); O_CREAT
 *      makes a new file only under a directory grant with write, owned
 *      by the worker's user, with the worker's umask;
 *   8. SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND installs
 *      it in the worker (O_CLOEXEC as asked) and answers the call with
 *      its number, in one step.
 *
 * openat2's resolve flags are honoured: RESOLVE_NO_SYMLINKS,
 * RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV and RESOLVE_CACHED go into the
 * broker's own walk; with any of them, when the worker's walk starts
 * (its dirfd or cwd) inside the grant, the broker's starts there too
 * (the same inode, checked), so RESOLVE_BENEATH means beneath the
 * worker's directory; when it starts above the grant, the part above
 * is the grant's own path (resolved by the policy: no symlink), and
 * RESOLVE_NO_XDEV compares its mount with the start's.  An error the
 * worker's flags make (ELOOP for a symlink under RESOLVE_NO_SYMLINKS,
 * EXDEV, EAGAIN) is the call's answer, as the kernel's would be.
 * RESOLVE_IN_ROOT (a different root) and ".." under any resolve flag
 * (the broker reads ".." by text) are refused, with a line in the log.
 *
 * Whatever does not qualify goes on as before (CONTINUE: Landlock and
 * the kernel decide, deny.c explains).  What qualified but was refused
 * (a symlink, a FIFO, a device no grant names) is logged with the
 * reason and goes on too: the kernel then refuses the worker's user.
 * An open the broker made and the kernel failed (no such file, EEXIST)
 * is answered with that errno, as the worker's own would have been
 * with the access it was granted (a missing export is ENOENT, not
 * EACCES).
 * Landlock stays the second wall for everything the worker opens
 * itself; a descriptor the broker installed was checked here.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#ifndef O_TMPFILE
#define O_TMPFILE	(020000000 | O_DIRECTORY)
#endif

/* openat2 resolve flags the broker knows (IN_ROOT only to refuse it). */
#define BEHALF_RESOLVE	(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | \
			 RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | \
			 RESOLVE_IN_ROOT | RESOLVE_CACHED)
/* ... and those it adds to its own walk as they are. */
#define BEHALF_RESOLVE_WALK	(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | \
			 RESOLVE_NO_SYMLINKS | RESOLVE_CACHED)
/* The largest open_how the kernel takes (a page), ours and zeroes. */
#define BEHALF_HOW_MAX	4096

/* Flags the broker passes on; any other makes the call go on. */
#define BEHALF_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | \
			 O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | \
			 O_NOFOLLOW | O_DIRECTORY | O_DIRECT | O_DSYNC | \
			 O_SYNC | O_LARGEFILE | O_NOATIME)

/* One open call, as the worker made it. */
struct behalf_call {
	const char	*name;		/* "openat" */
	uint64_t	 flags;
	uint64_t	 resolve;	/* openat2's RESOLVE_* */
	unsigned	 mode;		/* for O_CREAT */
	int		 dfd;
	char		 rel[PATH_MAX];	/* as passed */
	char		 path[PATH_MAX];	/* absolute, normalised */
	unsigned	 want;		/* POLICY_ACCESS_* */
};

bool
behalf_handles(const char *name)
{
	return strcmp(name, "open") == 0 || strcmp(name, "openat") == 0 ||
	    strcmp(name, "openat2") == 0 || strcmp(name, "creat") == 0;
}

/*
 * Are the len bytes at addr in the worker's memory all zero?  (An
 * open_how larger than ours: the kernel takes it only then.)
 */
static bool
how_tail_zero(int memfd, uint64_t addr, uint64_t len)
{
	unsigned char	buf[BEHALF_HOW_MAX];
	uint64_t	i;

	if (len == 0)
		return true;
	if (len > sizeof(buf) ||
	    pread(memfd, buf, len, (off_t)addr) != (ssize_t)len)
		return false;
	for (i = 0; i < len; i++)
		if (buf[i] != 0)
			return false;
	return true;
}

/*
 * The call's flags, mode and path argument from the notification and
 * the worker's memory: 0, or -1 if the broker leaves the call alone.
 */
static int
call_read(const struct seccomp_notif *req, struct behalf_call *c)
{
	const __u64	*a = req->data.args;
	struct open_how	 how;
	char		 mem[64];
	uint64_t	 addr;
	int		 memfd, r = -1;

	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)req->pid);
	if ((memfd = open(mem, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	c->dfd = AT_FDCWD;
	if (strcmp(c->name, "open") == 0) {
		addr = a[0];
		c->flags = a[1];
		c->mode = (unsigned)a[2];
	} else if (strcmp(c->name, "creat") == 0) {
		addr = a[0];
		c->flags = O_CREAT | O_WRONLY | O_TRUNC;
		c->mode = (unsigned)a[1];
	} else if (strcmp(c->name, "openat") == 0) {
		c->dfd = (int)a[0];
		addr = a[1];
		c->flags = a[2];
		c->mode = (unsigned)a[3];
	} else {
		/*
		 * What the kernel would refuse (a bad size, a larger
		 * open_how whose tail is not zero, resolve flags it does
		 * not know) it may refuse itself: the call goes on.
		 */
		memset(&how, 0, sizeof(how));
		if (a[3] < sizeof(how) || a[3] > BEHALF_HOW_MAX ||
		    pread(memfd, &how, sizeof(how), (off_t)a[2]) !=
		    (ssize_t)sizeof(how) || !how_tail_zero(memfd,
		    a[2] + sizeof(how), a[3] - sizeof(how)) ||
		    (how.resolve & ~(uint64_t)BEHALF_RESOLVE) != 0)
			goto out;
		c->dfd = (int)a[0];
		addr = a[1];
		c->flags = how.flags;
		c->mode = (unsigned)how.mode;
		c->resolve = how.resolve;
	}
	if ((c->flags & ~(uint64_t)BEHALF_FLAGS) != 0 ||
	    (c->flags & O_TMPFILE) == O_TMPFILE)
		goto out;
	c->want = 0;
	if ((c->flags & O_ACCMODE) != O_WRONLY)
		c->want |= POLICY_ACCESS_READ;
	if ((c->flags & O_ACCMODE) != O_RDONLY ||
	    (c->flags & (O_TRUNC | O_CREAT | O_APPEND)))
		c->want |= POLICY_ACCESS_WRITE;
	r = notif_read_string(memfd, addr, c->rel, sizeof(c->rel));
 out:
	close(memfd);
	return r;
}

/*
 * Normalise an absolute path by its text: no ".", no "..", no doubled
 * or trailing slash.  No symlink is followed: openat2 below decides.
 */
static void
path_normalise(char *p)
{
	char	*in = p, *out = p, *seg;
	size_t	 n;

	while (*in != '\0') {
		while (*in == '/')
			in++;
		if (*in == '\0')
			break;
		seg = in;
		while (*in != '\0' && *in != '/')
			in++;
		n = (size_t)(in - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

/*
 * The longest written grant that covers path in this stage (the path
 * itself, or a directory above it), of those as long, one that grants
 * write if want has it (the line to name); NULL: none.
 */
static const struct policy_path *
grant_for(const struct policy *p, const char *path, unsigned want,
    bool in_serving)
{
	const struct policy_path	*best = NULL;
	size_t				 i, n, bestn = 0;

	for (i = 0; i < p->npaths; i++) {
		const struct policy_path	*pp = &p->paths[i];

		if (pp->path == NULL || pp->line <= 0 ||
		    (in_serving && pp->startup_only))
			continue;
		n = strlen(pp->path);
		if (strncmp(pp->path, path, n) != 0 || (path[n] != '\0' &&
		    path[n] != '/' && strcmp(pp->path, "/") != 0))
			continue;
		if (best == NULL || n > bestn || (n == bestn &&
		    (want & POLICY_ACCESS_WRITE) &&
		    !(best->access & POLICY_ACCESS_WRITE))) {
			best = pp;
			bestn = n;
		}
	}
	return best;
}

/* The worker's umask, from /proc/PID/status; 022 if unreadable. */
static mode_t
worker_umask(pid_t pid)
{
	char		 path[64], line[128];
	unsigned	 m;
	mode_t		 r = 022;
	FILE		*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return r;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Umask: %o", &m) == 1) {
			r = (mode_t)(m & 0777);
			break;
		}
	fclose(fp);
	return r;
}

/* The mount id of fd (statx), or 0 if the kernel will not say. */
static uint64_t
mount_id(int fd)
{
	struct statx	stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID,
	    &stx) == -1 || !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/*
 * openat2(root, rel, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve)
 * with flags (which hold O_NOFOLLOW) and mode.  Where the kernel
 * (before 5.6) or a tool such as valgrind does not know openat2, the
 * same walk by hand, stricter: one component at a time with
 * O_NOFOLLOW, every symbolic link refused (ELOOP), ".." refused
 * (EXDEV), and under RESOLVE_NO_XDEV every component on root's mount
 * (EXDEV).  RESOLVE_CACHED is only a hint there: ignored.
 */
static int
open_beneath(int root, const char *rel, uint64_t flags, mode_t mode,
    uint64_t resolve)
{
	struct open_how	 how;
	struct stat	 st;
	char		 buf[PATH_MAX], *comp, *next;
	uint64_t	 mnt = 0;
	int		 cur, fd, saved;

	memset(&how, 0, sizeof(how));
	how.flags = flags;
	how.mode = mode;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | resolve;
	fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd != -1 || errno != ENOSYS)
		return fd;
	if (strlen(rel) >= sizeof(buf) || rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if ((resolve & RESOLVE_NO_XDEV) && (mnt = mount_id(root)) == 0) {
		errno = EXDEV;		/* cannot tell: refuse */
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", rel);
	cur = root;
	for (comp = buf; ; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (strcmp(comp, "..") == 0) {
			fd = -1;
			errno = EXDEV;
			break;
		}
		if (next == NULL) {
			fd = openat(cur, comp[0] != '\0' ? comp : ".",
			    (int)flags, mode);
			if (fd != -1 && mnt != 0 && mount_id(fd) != mnt) {
				close(fd);
				fd = -1;
				errno = EXDEV;
			}
			break;
		}
		if (comp[0] == '\0' || strcmp(comp, ".") == 0)
			continue;
		if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			fd = -1;
			errno = ELOOP;
			break;
		}
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (cur != root)
			close(cur);
		if (fd == -1)
			return -1;
		cur = fd;
		if (mnt != 0 && mount_id(cur) != mnt) {
			fd = -1;
			errno = EXDEV;
			break;
		}
	}
	saved = errno;
	if (cur != root)
		close(cur);
	errno = saved;
	return fd;
}

/*
 * Why an openat2 with resolve flags is not opened on the worker's
 * behalf, or NULL if it may be.
 */
static const char *
resolve_refusal(const struct behalf_call *c)
{
	const char	*s;
	size_t		 n;

	if (c->resolve == 0)
		return NULL;
	if (c->resolve & RESOLVE_IN_ROOT)
		return "openat2 with RESOLVE_IN_ROOT, which the broker does "
		    "not honour";
	for (s = c->rel; *s != '\0'; s += n) {
		s += strspn(s, "/");
		n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return "\"..\" in a path opened with openat2's "
			    "resolve flags, which the broker does not honour";
	}
	return NULL;
}

/*
 * openat2 with resolve flags: where the worker's walk starts.  If that
 * is in grant directory gdir (open as *root), the broker's walk starts
 * there too: *root is replaced by that directory, opened below the
 * grant and checked to be the worker's very one, and *rel is the
 * worker's path; *at_start says so.  Else (it starts above) the part
 * from the start down to the grant must pass RESOLVE_NO_XDEV: the
 * same mount.  Returns 0, or -1 with errno (EXDEV: the kernel's own
 * answer) or with *why set.
 */
static int
resolve_start(const struct behalf_call *c, pid_t pid, const char *gdir,
    int *root, const char **rel, bool *at_start, const char **why)
{
	struct stat	 wst, st;
	char		 link[64], start[PATH_MAX];
	const char	*srel;
	size_t		 n = strlen(gdir);
	int		 fd = -1;

	*at_start = false;
	if (c->rel[0] == '/')
		snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	else if (c->dfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid,
		    c->dfd);
	if (notif_join_path(pid, c->dfd, c->rel[0] == '/' ? "/" : ".",
	    start, sizeof(start)) == -1 || stat(link, &wst) == -1) {
		*why = "the directory the worker's path starts from is gone";
		return -1;
	}
	path_normalise(start);
	if (strcmp(gdir, "/") == 0)
		n = 0;
	if (strncmp(start, gdir, n) == 0 && (start[n] == '/' ||
	    start[n] == '\0')) {
		srel = start[n] == '\0' ? "." : start + n + 1;
		if (srel[0] == '\0')
			srel = ".";
		fd = open_beneath(*root, srel, O_PATH | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC, 0, 0);
		if (fd == -1 || fstat(fd, &st) == -1 ||
		    st.st_dev != wst.st_dev || st.st_ino != wst.st_ino) {
			if (fd != -1)
				close(fd);
			*why = "the directory the worker's path starts from "
			    "is not the one the broker finds in the grant";
			return -1;
		}
		close(*root);
		*root = fd;
		*rel = c->rel + strspn(c->rel, "/");
		if (**rel == '\0')
			*rel = ".";
		*at_start = true;
		return 0;
	}
	if (c->resolve & RESOLVE_NO_XDEV) {
		if ((fd = open(link, O_PATH | O_CLOEXEC)) == -1 ||
		    mount_id(fd) == 0 || mount_id(fd) != mount_id(*root)) {
			if (fd != -1)
				close(fd);
			errno = EXDEV;
			return -1;
		}
		close(fd);
	}
	return 0;
}

/*
 * Open c->path below grant g as the broker: a descriptor, or -1 with
 * *why set (a refusal to log) or NULL (an error: errno).
 */
static int
open_below(const struct policy *p, const struct policy_path *g,
    struct behalf_call *c, pid_t pid, const char **why)
{
	struct stat	 st;
	char		 dir[PATH_MAX], self[64], *slash;
	const char	*rel;
	int		 root = -1, opath = -1, fd = -1, saved;
	uint64_t	 flags, walk = c->resolve & BEHALF_RESOLVE_WALK;
	bool		 exact, isdir, at_start = false;

	*why = NULL;
	exact = strcmp(g->path, c->path) == 0;
	isdir = stat(g->path, &st) == 0 && S_ISDIR(st.st_mode);
	if (!isdir && !exact) {
		errno = ENOTDIR;
		return -1;
	}
	if (isdir) {
		snprintf(dir, sizeof(dir), "%s", g->path);
		rel = exact ? "." : c->path + strlen(g->path) +
		    (strcmp(g->path, "/") != 0);
	} else {
		snprintf(dir, sizeof(dir), "%s", g->path);
		if ((slash = strrchr(dir, '/')) == NULL)
			return -1;
		*slash = '\0';
		if (dir[0] == '\0')
			snprintf(dir, sizeof(dir), "/");
		rel = g->path + (slash - dir) + 1;
	}
	if ((root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto out;
	/* A directory grant: still what the policy pinned at load. */
	if (isdir && g->ino != 0 && (fstat(root, &st) == -1 ||
	    st.st_dev != g->dev || st.st_ino != g->ino)) {
		*why = "the granted directory was replaced since the policy "
		    "was loaded";
		goto out;
	}
	if (c->resolve != 0 && resolve_start(c, pid, dir, &root, &rel,
	    &at_start, why) == -1)
		goto out;
	opath = open_beneath(root, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
	    walk);
	if (opath == -1 && errno == EXDEV && (walk & RESOLVE_NO_XDEV)) {
		/*
		 * A mount on the way (the kernel's answer to the worker
		 * too), or a way out of the grant?  Walk again without.
		 */
		if ((fd = open_beneath(root, rel, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC, 0, walk & ~(uint64_t)RESOLVE_NO_XDEV)) != -1) {
			close(fd);
			fd = -1;
			errno = EXDEV;
			goto out;
		}
		errno = EXDEV;
	}
	if (opath == -1 && errno == ENOENT && (c->flags & O_CREAT)) {
		/*
		 * A new file: only under a directory grant (behalf_open
		 * checked that the grants give write here, and no -r).
		 */
		if (!isdir || p->readonly || broker.cfg.readonly) {
			*why = "creating a file needs a write grant on its "
			    "directory";
			goto out;
		}
		fd = open_beneath(root, rel, (c->flags &
		    ~(uint64_t)O_CLOEXEC) | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, c->mode & 0777 & ~worker_umask(pid), walk);
		if (fd == -1)
			goto out;
		if (fchown(fd, p->uid, p->gid) == -1) {
			saved = errno;
			unlinkat(root, rel, 0);
			close(fd);
			fd = -1;
			errno = saved;
		}
		goto out;
	}
	if (opath == -1) {
		/*
		 * What the worker's own resolve flags refuse is the
		 * kernel's answer too: a symlink under NO_SYMLINKS, a way
		 * out of its directory under BENEATH.
		 */
		if ((errno == ELOOP && (c->resolve & RESOLVE_NO_SYMLINKS)) ||
		    (errno == EXDEV && at_start &&
		    (c->resolve & RESOLVE_BENEATH)))
			goto out;
		if (errno == EXDEV || errno == ELOOP)
			*why = "a symbolic link (or \"..\") leads out of the "
			    "granted directory";
		goto out;
	}
	if ((c->flags & O_CREAT) && (c->flags & O_EXCL)) {
		errno = EEXIST;
		goto out;
	}
	if (fstat(opath, &st) == -1)
		goto out;
	if (S_ISLNK(st.st_mode)) {
		*why = "a symbolic link: the broker follows none";
		goto out;
	}
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		*why = "not a regular file, a directory or a device";
		goto out;
	}
	if ((S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) && !exact) {
		*why = "a device that no grant names";
		goto out;
	}
	/* The same inode, opened for real; no second lookup. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	flags = (c->flags & ~(uint64_t)(O_CREAT | O_EXCL | O_NOFOLLOW)) |
	    O_CLOEXEC | O_NOCTTY;
	fd = open(self, (int)flags);
 out:
	saved = errno;
	if (opath != -1)
		close(opath);
	if (root != -1)
		close(root);
	errno = saved;
	return fd;
}

/*
 * An open call from worker (deny_handles() accepted it, listener holds
 * it): open it on the worker's behalf if the rules above allow.
 * Returns 1 if the call was answered (a descriptor installed, or the
 * errno of the broker's own open), 0 if it
 * is not one for the broker (the caller lets it go on), -1 if it was
 * one but was refused (logged; the caller lets it go on, the kernel
 * refuses).
 */
int
behalf_open(int listener, const struct seccomp_notif *req, const char *name,
    pid_t worker, bool in_serving, struct deny_log **dl)
{
	const struct policy		*p = policy_load_parsed();
	const struct policy_path	*g;
	struct seccomp_notif_addfd	 add;
	struct seccomp_notif_resp	 resp;
	struct behalf_call		 c;
	struct passwd			*pw;
	const char			*why, *stage, *user, *rule_file;
	char				 joined[2 * PATH_MAX], text[3 * PATH_MAX];
	char				 k[160];
	int				 fd, r, saved;
	unsigned			 have;

	if (p == NULL || !p->switch_user || p->no_behalf ||
	    p->landlock == POLICY_LANDLOCK_OFF)
		return 0;
	memset(&c, 0, sizeof(c));
	c.name = name;
	if (call_read(req, &c) == -1 || c.rel[0] == '\0' ||
	    notif_join_path(req->pid, c.dfd, c.rel, joined,
	    sizeof(joined)) == -1 || strlen(joined) >= sizeof(c.path))
		return 0;
	snprintf(c.path, sizeof(c.path), "%s", joined);
	path_normalise(c.path);
	if ((g = grant_for(p, c.path, c.want, in_serving)) == NULL)
		return 0;
	rule_file = g->file != NULL ? g->file : p->file;
	have = deny_granted(p, c.path, in_serving);
	if ((c.want & ~have) != 0 || ((c.want & POLICY_ACCESS_WRITE) &&
	    (p->readonly || broker.cfg.readonly)))
		return 0;	/* deny.c explains; Landlock denies */
	if (policy_user_may(c.path, c.want, p->uid, p->gid))
		return 0;	/* the worker can itself */
	/* Still the same thread's call: what was read is its path. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == -1)
		return 0;
	stage = in_serving ? "serving" : "startup";
	user = p->user ? p->user : "nobody";
	/* Beneath nothing but the worker's dirfd: the kernel says EXDEV. */
	if ((c.resolve & RESOLVE_BENEATH) && c.rel[0] == '/')
		return 0;
	fd = -1;
	if ((why = resolve_refusal(&c)) == NULL)
		fd = open_below(p, g, &c, worker, &why);
	if (fd == -1 && why == NULL) {
		/*
		 * The broker's open failed as the worker's would have
		 * without the user switch (no such file, EEXIST): that is
		 * the answer.
		 */
		saved = errno;
		log_debug("worker %d: sandbox: %s %s on the worker's behalf: "
		    "%s", (int)worker, name, c.path, strerror(saved));
		memset(&resp, 0, sizeof(resp));
		resp.id = req->id;
		resp.error = -saved;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
		    errno != ENOENT)
			log_warn("worker %d: sandbox: answering a "
			    "notification: %s", (int)worker, strerror(errno));
		return 1;
	}
	if (fd == -1) {
		snprintf(text, sizeof(text), "worker %d (plugin %s): sandbox: "
		    "%s %s %s (%s): not opened on the worker's behalf: %s; "
		    "path=%s access=%s stage=%s policy=%s line=%d",
		    (int)worker, deny_plugin(worker), stage, name, c.path,
		    deny_access_text(c.want), why, c.path,
		    deny_access_text(c.want), stage, rule_file, g->line);
		snprintf(k, sizeof(k), "behalf %.120s", c.path);
		deny_report(true, dl, k, text);
		return -1;
	}
	memset(&add, 0, sizeof(add));
	add.id = req->id;
	add.flags = SECCOMP_ADDFD_FLAG_SEND;
	add.srcfd = (__u32)fd;
	add.newfd_flags = (c.flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	close(fd);
	if (r == -1) {
		if (errno != ENOENT)
			log_warn("worker %d: sandbox: installing %s in the "
			    "worker: %s", (int)worker, c.path,
			    strerror(errno));
		/* ENOENT: the thread is gone; else it goes on. */
		return errno == ENOENT ? 1 : 0;
	}
	snprintf(k, sizeof(k), "opened %.120s %u", c.path, c.want);
	if (deny_once(dl, k)) {
		pw = getpwuid(p->uid);
		log_info("worker %d (plugin %s): sandbox: opened %s (%s) on "
		    "the worker's behalf: user %s cannot reach it; path=%s "
		    "access=%s policy=%s line=%d", (int)worker,
		    deny_plugin(worker), c.path, deny_access_text(c.want),
		    pw != NULL ? pw->pw_name : user, c.path,
		    deny_access_text(c.want), rule_file, g->line);
	}
	return 1;
}
