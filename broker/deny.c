/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Denials that explain themselves.  Under enforce the worker's
 * start-up filter hands the broker, besides tripwires, what the
 * policy's default denies (POLICY_NOTIFY_DENY) and, when Landlock
 * decides about paths, the calls that reach one (POLICY_NOTIFY_PATHS);
 * see policy/seccomp.c.  For each, tripwire.c calls deny_notify():
 *
 *   - a denied syscall: answered with the policy's errno, as the
 *     filter would have;
 *   - a path call: the path is read from /proc/PID/mem and checked
 *     against the policy's grants and, when the worker runs as another
 *     user, against that user's permissions; then the call goes on
 *     (CONTINUE), and Landlock and the kernel decide.  The broker is
 *     never the only wall.
 *
 * What the sandbox denied goes in the log as one line with a stable
 * key=value tail naming the policy and what to change (syscall=,
 * path=, access=, stage=, policy=, key=, line=, group=, user=): at
 * once (warning) while the worker serves, since a request is then
 * likely to fail; at start-up, where libraries probe and fall back,
 * at debug level, and again as errors if the worker then fails to
 * start or dies (deny_reaped).  Each denial once per worker.
 *
 * An open of a granted file that the worker's user cannot reach is
 * opened by the broker on the worker's behalf and the descriptor
 * installed with SECCOMP_IOCTL_NOTIF_ADDFD (open-behalf.c): one more
 * case of deny_notify's dispatch on what the call is.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#define DENY_MAX	64	/* denials remembered per worker */

/* One worker's denials. */
struct deny_log {
	char	key[DENY_MAX][160];	/* what was reported (dedup) */
	char	*text[DENY_MAX];	/* start-up ones, for deny_reaped */
	size_t	n;
	size_t	dropped;
	char	last[1024];		/* the latest serving denial, */
	uint64_t last_seq;		/* ... and when (deny_seq) */
};

/* Counts serving denials, so an open failure can ask "since when". */
static uint64_t	seq;

uint64_t
deny_seq(void)
{
	return seq;
}

/*
 * The latest denial the worker got while serving, if it came after
 * since (a deny_seq() value): into buf, true.
 */
bool
deny_last(const struct deny_log *dl, uint64_t since, char *buf, size_t len)
{
	if (dl == NULL || dl->last_seq <= since || dl->last[0] == '\0')
		return false;
	snprintf(buf, len, "%s", dl->last);
	return true;
}

const char *
deny_plugin(pid_t pid)
{
	struct backend	*be = backend_by_pid(pid);

	if (be != NULL)
		return backend_name(be);
	return broker.cfg.plugin_arg;
}


/*
 * Is req one deny_notify() answers (not a tripwire)?  Only under
 * enforce, for a syscall of this architecture the policy does not make
 * a tripwire: the default denied it (errno), or it takes a path.
 */
bool
deny_handles(const struct seccomp_notif *req)
{
	const struct policy	*p = policy_load_parsed();
	const char		*name;
	size_t			 i;

	if (p == NULL || p->mode != POLICY_MODE_ENFORCE ||
	    req->data.arch != p->arch)
		return false;
	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == req->data.nr) {
			if (p->sc[i].kill)
				return false;
			name = p->sc[i].name;
			if ((p->sc[i].startup & POLICY_ARG_ANY) &&
			    (policy_syscall_takes_path(name) ||
			    (p->memory != 0 && strcmp(name, "mmap") == 0) ||
			    ((p->net & POLICY_NET_HOSTS) &&
			    strcmp(name, "connect") == 0)))
				return true;
			break;
		}
	return p->dflt == POLICY_DEFAULT_ERRNO;
}

/*
 * Remember and log one denial (once per worker and key).  At start-up
 * only at debug level now: deny_reaped() says it again if start-up
 * fails.
 */
void
deny_report(bool loud, struct deny_log **dlp, const char *key,
    const char *text)
{
	struct deny_log	*dl = *dlp;
	size_t		 i;

	if (dl == NULL && (dl = *dlp = calloc(1, sizeof(*dl))) == NULL)
		return;
	if (loud) {
		/* Each time, not once: for the open failure it causes. */
		snprintf(dl->last, sizeof(dl->last), "%s", text);
		dl->last_seq = ++seq;
	}
	for (i = 0; i < dl->n; i++)
		if (strcmp(dl->key[i], key) == 0)
			return;
	if (dl->n == DENY_MAX) {
		dl->dropped++;
		return;
	}
	snprintf(dl->key[dl->n], sizeof(dl->key[0]), "%s", key);
	if (loud)
		log_warn("%s", text);
	else {
		log_debug("%s", text);
		dl->text[dl->n] = strdup(text);
	}
	dl->n++;
}

/*
 * Has key not been reported for this worker yet?  Then remember it
 * (for what open-behalf.c logs once per worker).
 */
bool
deny_once(struct deny_log **dlp, const char *key)
{
	struct deny_log	*dl = *dlp;
	size_t		 i;

	if (dl == NULL && (dl = *dlp = calloc(1, sizeof(*dl))) == NULL)
		return true;
	for (i = 0; i < dl->n; i++)
		if (strcmp(dl->key[i], key) == 0)
			return false;
	if (dl->n == DENY_MAX)
		return false;	/* enough said */
	snprintf(dl->key[dl->n], sizeof(dl->key[0]), "%s", key);
	dl->n++;
	return true;
}

/* The line of the first "KEY =" rule in [syscalls], or 0. */
static int
rule_line(const struct policy *p, const char *key)
{
	size_t	i, n = strlen(key);

	for (i = 0; i < p->nrules; i++)
		if (strncmp(p->rules[i].text, key, n) == 0 &&
		    strncmp(p->rules[i].text + n, " =", 2) == 0)
			return p->rules[i].line;
	return 0;
}

/*
 * The line of the first [filesystem] rule with access bit in this
 * stage (read, write, exec; startup-* at start-up), or 0, and the file
 * it is in (*file, also without a line): where to add a path.  A
 * merged policy's is the plugin's own file (a filter's policy grants
 * the filter's own needs).  A path named by rules of two keys is one
 * entry with one line: not counted, so the line is never another
 * key's.
 */
static int
path_line(const struct policy *p, unsigned bit, bool in_serving,
    const char **file)
{
	const struct policy_path	*pp;
	size_t				 i;

	*file = policy_own_file(p);
	for (i = 0; i < p->npaths; i++) {
		pp = &p->paths[i];
		if (pp->line > 0 && pp->access == bit &&
		    pp->startup_only == !in_serving &&
		    (pp->file == NULL || strcmp(pp->file, *file) == 0))
			return pp->line;
	}
	return 0;
}

/* The smallest group, not a tripwire one, that allows name; or NULL. */
static const char *
group_for(const char *name)
{
	static const char *const never[] = { "@escape", "@mount", "@module",
	    "@debug", "@io-uring", "@keyring", NULL };
	const struct policy_group_entry	*e;
	const char			*g, *best = NULL;
	size_t				 i, k, n, bestn = 0;
	bool				 has;

	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		if (policy_group_builtin(g))
			continue;
		for (k = 0; never[k] != NULL && strcmp(never[k], g) != 0; k++)
			;
		if (never[k] != NULL)
			continue;
		has = false;
		n = 0;
		for (e = policy_group(g); e->name != NULL; e++, n++)
			if (strcmp(e->name, name) == 0)
				has = true;
		if (has && (best == NULL || n < bestn)) {
			best = g;
			bestn = n;
		}
	}
	return best;
}

/* The default denied a syscall: say which, and where to allow it. */
static void
deny_syscall(const struct seccomp_notif *req, pid_t worker, bool in_serving,
    bool startup_only, struct deny_log **dl)
{
	const struct policy	*p = policy_load_parsed();
	const char		*stage, *key, *g, *file = policy_own_file(p);
	char			 name[64], text[1024], k[160], where[32] = "";
	char			*n;
	int			 line;

	n = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
	snprintf(name, sizeof(name), "%s", n ? n : "?");
	free(n);
	if (n == NULL)
		snprintf(name, sizeof(name), "syscall_%d", req->data.nr);
	stage = in_serving ? "serving" : "startup";
	key = in_serving ? "allow" : "startup-allow";
	if ((line = rule_line(p, key)) > 0)
		snprintf(where, sizeof(where), " line=%d", line);
	g = group_for(name);
	snprintf(text, sizeof(text), "worker %d (plugin %s): sandbox: %s "
	    "denied %s (%s)%s: add it to [syscalls] %s in policy %s%s%s; "
	    "syscall=%s stage=%s policy=%s key=%s%s%s%s", (int)worker,
	    deny_plugin(worker), stage, name, policy_errno_name(p->dflt_errno),
	    startup_only ? ", which the policy allows only at start-up" :
	    "", key, file, g ? ", or a group with it: " : "", g ? g : "",
	    name, stage, file, key, where, g ? " group=" : "", g ? g : "");
	snprintf(k, sizeof(k), "syscall %s %s", name, stage);
	deny_report(in_serving, dl, k, text);
}

/* A path's access, for messages. */
const char *
deny_access_text(unsigned a)
{
	static const char *const t[] = { "none", "read", "write",
	    "read+write", "exec", "read+exec", "write+exec",
	    "read+write+exec" };

	return t[a & 7];
}

/*
 * What the policy grants on path (resolved) in this stage: the union
 * of the rules on it or on a directory above it.
 */
unsigned
deny_granted(const struct policy *p, const char *path, bool in_serving)
{
	struct stat	st;
	unsigned	a = 0;
	size_t		i, n;

	for (i = 0; i < p->npaths; i++) {
		const struct policy_path	*pp = &p->paths[i];

		if (pp->path == NULL || (in_serving && pp->startup_only))
			continue;
		n = strlen(pp->path);
		if (strcmp(pp->path, path) == 0)
			a |= pp->access;
		else if (strncmp(pp->path, path, n) == 0 && (path[n] == '/' ||
		    strcmp(pp->path, "/") == 0) && stat(pp->path, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			a |= pp->access;
	}
	/* exec includes read (worker/sandbox-landlock.c). */
	if (a & POLICY_ACCESS_EXEC)
		a |= POLICY_ACCESS_READ;
	return a;
}

/*
 * A program the policy lets the worker run (path, granted exec) whose
 * interpreter it does not: a script's #! line, an ELF program's
 * dynamic loader, two levels deep as learning grants them.  Landlock
 * refuses the exec all the same (EACCES) and nothing else would say
 * why, so say it.  True if something was missing (reported).
 */
static bool
deny_interp(const struct policy *p, const char *path, const char *name,
    pid_t worker, bool in_serving, struct deny_log **dl)
{
	struct stat	 st;
	char		 prog[PATH_MAX], interp[PATH_MAX];
	char		 text[7 * PATH_MAX], k[160];
	const char	*stage = in_serving ? "serving" : "startup", *file;
	int		 i, line;

	snprintf(prog, sizeof(prog), "%s", path);
	for (i = 0; i < 2; i++) {
		/* Only a regular file is read (the broker's own open). */
		if (stat(prog, &st) == -1 || !S_ISREG(st.st_mode) ||
		    learn_interpreter(prog, interp, sizeof(interp)) == -1)
			return false;
		if (deny_granted(p, interp, in_serving) & POLICY_ACCESS_EXEC) {
			snprintf(prog, sizeof(prog), "%s", interp);
			continue;
		}
		line = path_line(p, POLICY_ACCESS_EXEC, in_serving, &file);
		snprintf(text, sizeof(text), "worker %d (plugin %s): "
		    "sandbox: %s %s %s: its interpreter %s (exec) is outside "
		    "policy %s's [filesystem] grants: Landlock denies running "
		    "%s (EACCES); add the interpreter to [filesystem] %sexec"
		    "%s%s; path=%s access=exec stage=%s policy=%s "
		    "key=%sexec%s%.0d", (int)worker, deny_plugin(worker),
		    stage, name, path, interp, p->file, path, in_serving ? "" :
		    "startup-", file != p->file ? " in " : "", file != p->file ?
		    file : "", interp, stage, file, in_serving ? "" :
		    "startup-", line > 0 ? " line=" : "", line);
		snprintf(k, sizeof(k), "interp %.120s %s", interp, stage);
		deny_report(in_serving, dl, k, text);
		return true;
	}
	return false;
}

/* The access a path call asks for, and its path argument's index. */
static int
path_call(const char *name, const __u64 *a, int memfd, unsigned *access,
    int *dfd)
{
	struct open_how	how;
	uint64_t	flags;

	*dfd = AT_FDCWD;
	*access = POLICY_ACCESS_WRITE;
	if (strcmp(name, "open") == 0 || strcmp(name, "openat") == 0 ||
	    strcmp(name, "openat2") == 0) {
		if (strcmp(name, "open") == 0)
			flags = a[1];
		else if (strcmp(name, "openat") == 0)
			flags = a[2];
		else {
			memset(&how, 0, sizeof(how));
			if (pread(memfd, &how, sizeof(how), (off_t)a[2]) !=
			    (ssize_t)sizeof(how))
				return -1;
			flags = how.flags;
		}
		if (flags & O_PATH)
			return -1;
		*access = 0;
		if ((flags & O_ACCMODE) != O_WRONLY)
			*access |= POLICY_ACCESS_READ;
		if ((flags & O_ACCMODE) != O_RDONLY || (flags &
		    (O_TRUNC | O_CREAT)))
			*access |= POLICY_ACCESS_WRITE;
		if (strcmp(name, "open") == 0)
			return 0;
		*dfd = (int)a[0];
		return 1;
	}
	if (strcmp(name, "execve") == 0) {
		*access = POLICY_ACCESS_EXEC;
		return 0;
	}
	if (strcmp(name, "execveat") == 0) {
		*access = POLICY_ACCESS_EXEC;
		*dfd = (int)a[0];
		return 1;
	}
	if (strncmp(name, "symlink", 7) == 0)
		return -1;		/* the link's place: rarely the cause */
	if (strcmp(name + strlen(name) - 2, "at") == 0 ||
	    strcmp(name, "renameat2") == 0) {
		*dfd = (int)a[0];
		return 1;
	}
	return 0;
}

/* The absolute, resolved path pid means by (dfd, rel), into out. */
static int
resolve_at(pid_t pid, int dfd, const char *rel, char *out, size_t len)
{
	char	 joined[2 * PATH_MAX], *real, *slash;

	if (notif_join_path(pid, dfd, rel, joined, sizeof(joined)) == -1)
		return -1;
	if ((real = realpath(joined, NULL)) == NULL) {
		/* Not there (yet): its directory's real path, the name. */
		if ((slash = strrchr(joined, '/')) == NULL)
			return -1;
		*slash = '\0';
		if ((real = realpath(joined[0] ? joined : "/", NULL)) == NULL)
			return -1;
		snprintf(out, len, "%s/%s", strcmp(real, "/") ? real : "",
		    slash + 1);
	} else
		snprintf(out, len, "%s", real);
	free(real);
	return 0;
}

/*
 * The path argument of req (a call of the syscall name), read from the
 * waiting thread's memory into out, with the access it asks for and the
 * directory it is relative to.  -1: no path to judge, or not ours to
 * read (an unprivileged broker).  The caller checks that req is still
 * pending (NOTIF_ID_VALID) before it believes what was read.
 */
static int
deny_read_path(const struct seccomp_notif *req, const char *name,
    unsigned *want, int *dfd, char *out, size_t len)
{
	char	mem[64];
	int	memfd, arg, r = -1;

	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)req->pid);
	if ((memfd = open(mem, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	arg = path_call(name, req->data.args, memfd, want, dfd);
	if (arg >= 0)
		r = notif_read_string(memfd, req->data.args[arg], out, len);
	close(memfd);
	return r;
}

/*
 * glibc's malloc opens /proc/sys/vm/overcommit_memory the first time
 * one of a thread's heaps shrinks, and when it cannot it does what it
 * does by default (madvise): a refused open there costs the plugin
 * nothing, and a warning would send the admin to allow file reads for
 * it.  Is req (a call of the syscall name, about to be refused) that
 * open?  Read while the thread waits, before the answer.
 */
static bool
deny_is_malloc_probe(int listener, const struct seccomp_notif *req,
    const char *name)
{
	static const char	probe[] = "/proc/sys/vm/overcommit_memory";
	char			path[sizeof(probe) + 1];
	unsigned		want;
	int			dfd;

	if (strcmp(name, "openat") != 0 && strcmp(name, "open") != 0)
		return false;
	return deny_read_path(req, name, &want, &dfd, path,
	    sizeof(path)) == 0 && want == POLICY_ACCESS_READ &&
	    strcmp(path, probe) == 0 &&
	    ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0;
}

/* A path call: does the policy (or the user switch) deny it? */
static void
deny_path(int listener, const struct seccomp_notif *req, const char *name,
    pid_t worker, bool in_serving, struct deny_log **dl)
{
	const struct policy	*p = policy_load_parsed();
	struct passwd		*pw;
	char			 rel[PATH_MAX], path[PATH_MAX];
	char			 text[2 * PATH_MAX + 2048], k[160], bu[64];
	char			 nb[PATH_MAX + 128] = "", at[PATH_MAX + 32];
	const char		*stage, *key, *file;
	unsigned		 want, have, bit;
	int			 dfd, line;
	bool			 ro;

	if (deny_read_path(req, name, &want, &dfd, rel, sizeof(rel)) == -1 ||
	    rel[0] == '\0' || resolve_at(req->pid, dfd, rel, path,
	    sizeof(path)) == -1)
		return;
	/* Still the same thread's call: what was read is its path. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID,
	    &req->id) == -1)
		return;
	stage = in_serving ? "serving" : "startup";
	have = deny_granted(p, path, in_serving);
	if (p->landlock != POLICY_LANDLOCK_OFF && (want & ~have) != 0) {
		/*
		 * Readable but not writable: a plugin that falls back to
		 * read-only serves a read-only export, and never fails:
		 * say so now, at any stage.
		 */
		ro = (want & POLICY_ACCESS_WRITE) && (have &
		    POLICY_ACCESS_READ);
		want &= ~have;
		bit = want & POLICY_ACCESS_EXEC ? POLICY_ACCESS_EXEC :
		    want & POLICY_ACCESS_WRITE ? POLICY_ACCESS_WRITE :
		    POLICY_ACCESS_READ;
		key = bit == POLICY_ACCESS_EXEC ? "exec" :
		    bit == POLICY_ACCESS_WRITE ? "write" : "read";
		line = path_line(p, bit, in_serving, &file);
		snprintf(text, sizeof(text), "worker %d (plugin %s): "
		    "sandbox: %s %s %s (%s) is outside policy %s's "
		    "[filesystem] grants: Landlock denies it; add it to "
		    "[filesystem] %s%s%s%s%s; path=%s access=%s stage=%s "
		    "policy=%s key=%s%s%s%.0d", (int)worker,
		    deny_plugin(worker), stage, name, path,
		    deny_access_text(want), p->file, in_serving ? "" :
		    "startup-", key, file != p->file ? " in " : "",
		    file != p->file ? file : "", ro ? " (a plugin that then "
		    "opens it read-only serves a read-only export)" : "", path,
		    deny_access_text(want), stage, file, in_serving ? "" :
		    "startup-", key, line > 0 ? " line=" : "", line);
		snprintf(k, sizeof(k), "path %.120s %s", path, stage);
		deny_report(in_serving || ro, dl, k, text);
		return;
	}
	if (p->landlock != POLICY_LANDLOCK_OFF &&
	    (want & POLICY_ACCESS_EXEC) &&
	    deny_interp(p, path, name, worker, in_serving, dl))
		return;
	/*
	 * Granted, but the worker runs as another user, which the file's
	 * permissions may refuse though the broker's user would pass.
	 * At start-up a root broker's worker may still hold its DAC
	 * capabilities (worker/sandbox.c), so only serving is judged --
	 * unless the policy says open-on-behalf = no, which withholds
	 * them.
	 */
	if (!p->switch_user || (!in_serving && !p->no_behalf) ||
	    policy_user_may(path, want, p->uid, p->gid))
		return;
	snprintf(bu, sizeof(bu), "%s", (pw = getpwuid(geteuid())) != NULL ?
	    pw->pw_name : "?");
	if (p->no_behalf)
		snprintf(nb, sizeof(nb), " (the policy's open-on-behalf = no, "
		    "%s, keeps the broker from opening it for the worker)",
		    policy_where(p->no_behalf_file, p->no_behalf_line, at,
		    sizeof(at)));
	snprintf(text, sizeof(text), "worker %d (plugin %s): sandbox: %s "
	    "%s %s (%s) as user %s: the file's permissions refuse that "
	    "user, though the broker's user %s may%s; make it reachable by "
	    "%s, or set user = in policy %s; path=%s access=%s stage=%s "
	    "user=%s policy=%s key=user%s%.0d", (int)worker,
	    deny_plugin(worker), stage, name, path, deny_access_text(want),
	    p->user ? p->user : "nobody", bu, nb, p->user ? p->user :
	    "nobody", p->file, path, deny_access_text(want), stage, p->user ?
	    p->user : "nobody", p->file, p->user_line > 0 ? " line=" : "",
	    p->user_line);
	snprintf(k, sizeof(k), "user %.120s %s", path, stage);
	deny_report(in_serving, dl, k, text);
}

/* A soft limit from /proc/PID/limits ("Max data size"); 0: none. */
static uint64_t
proc_limit(pid_t pid, const char *what)
{
	char		 path[64], line[256];
	unsigned long long v;
	uint64_t	 r = 0;
	FILE		*fp;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, what, strlen(what)) == 0) {
			if (sscanf(line + strlen(what), "%llu", &v) == 1)
				r = v;
			break;
		}
	fclose(fp);
	return r;
}

/* A "VmData:   123 kB" field of /proc/PID/status, in bytes. */
static uint64_t
proc_status_kb(pid_t pid, const char *field)
{
	char		 path[64], line[256];
	unsigned long long v;
	uint64_t	 r = 0;
	FILE		*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			if (sscanf(line + strlen(field), "%llu", &v) == 1)
				r = (uint64_t)v << 10;
			break;
		}
	fclose(fp);
	return r;
}

static void
mib_text(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 "M", (v + (1 << 20) - 1) >> 20);
}

/*
 * A large mmap (POLICY_NOTIFY_BIG or more): will the worker's memory
 * limits refuse it?  The kernel's own numbers: a private writable
 * mapping counts against RLIMIT_DATA (VmData), every one against
 * RLIMIT_AS (VmSize).  A memory cgroup's refusals come later, as the
 * pages are touched (cgroup.c names those OOM kills).
 */
static void
deny_memory(const struct seccomp_notif *req, pid_t worker, bool in_serving,
    struct deny_log **dl)
{
	const struct policy	*p = policy_load_parsed();
	uint64_t		 len = req->data.args[1], used, lim;
	const char		*rl, *stage;
	char			 text[1024], k[160], a[32], b[32], c[32];
	char			 where[32] = "";
	bool			 data;

	stage = in_serving ? "serving" : "startup";
	data = !(req->data.args[3] & MAP_SHARED) &&
	    (req->data.args[2] & PROT_WRITE);
	lim = proc_limit(req->pid, "Max data size");
	used = proc_status_kb(req->pid, "VmData:");
	rl = "RLIMIT_DATA";
	if (!data || lim == 0 || used + len <= lim) {
		lim = proc_limit(req->pid, "Max address space");
		used = proc_status_kb(req->pid, "VmSize:");
		rl = "RLIMIT_AS";
		if (lim == 0 || used + len <= lim)
			return;
	}
	mib_text(len, a, sizeof(a));
	mib_text(used, b, sizeof(b));
	mib_text(lim, c, sizeof(c));
	if (p->memory_line > 0)
		snprintf(where, sizeof(where), " line=%d", p->memory_line);
	snprintf(text, sizeof(text), "worker %d (plugin %s): sandbox: %s "
	    "mmap of %s fails (ENOMEM): the worker has %s of its %s %s, "
	    "which [limits] memory in policy %s sets: raise it; size=%"
	    PRIu64 " used=%" PRIu64 " limit=%" PRIu64 " rlimit=%s stage=%s "
	    "policy=%s key=memory%s", (int)worker, deny_plugin(worker), stage,
	    a, b, rl, c, p->file, len, used, lim, rl, stage, p->file, where);
	snprintf(k, sizeof(k), "memory %s %s", rl, stage);
	deny_report(in_serving, dl, k, text);
}

/*
 * A notification deny_handles() accepted, from a worker in stage:
 * answer it (the errno for a denied syscall, or a path call allowed
 * only at start-up made while serving; otherwise a path call goes on)
 * and say what was denied.
 */
void
deny_notify(int listener, const struct seccomp_notif *req, pid_t worker,
    int stage, struct deny_log **dl)
{
	const struct policy		*p = policy_load_parsed();
	const struct policy_syscall	*s = NULL;
	struct seccomp_notif_resp	 resp;
	bool				 in_serving, go_on = false;
	bool				 quiet = false;
	size_t				 i;
	int				 r = 0;

	in_serving = stage == POLICY_STAGE_SERVING;
	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].nr == req->data.nr) {
			s = &p->sc[i];
			break;
		}
	memset(&resp, 0, sizeof(resp));
	resp.id = req->id;
	if (s != NULL && p->memory != 0 && strcmp(s->name, "mmap") == 0 &&
	    (s->startup & POLICY_ARG_ANY)) {
		/* The limits decide; the broker only says so. */
		deny_memory(req, worker, in_serving, dl);
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		go_on = true;
	} else if (s != NULL && (p->net & POLICY_NET_HOSTS) &&
	    strcmp(s->name, "connect") == 0) {
		/*
		 * [network] hosts: the broker connects a TCP socket itself
		 * (connect-behalf.c) and answers; a Unix one goes on.
		 */
		if (behalf_connect(listener, req, worker, in_serving,
		    dl) == 1)
			return;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		go_on = true;
	} else if (s != NULL && policy_syscall_takes_path(s->name) &&
	    (s->startup & POLICY_ARG_ANY) &&
	    (!in_serving || (s->serving & POLICY_ARG_ANY) ||
	    p->dflt == POLICY_DEFAULT_ALLOW)) {
		/*
		 * (Under default = allow nothing is start-up only.)  An
		 * open of a granted file the worker's user cannot reach:
		 * the broker opens it (open-behalf.c) and has answered.
		 * Else read the path while the thread waits; Landlock
		 * decides.
		 */
		if (behalf_handles(s->name)) {
			r = behalf_open(listener, req, s->name, worker,
			    in_serving, dl);
			if (r == 1)
				return;
		}
		if (r == 0)
			deny_path(listener, req, s->name, worker, in_serving,
			    dl);
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		go_on = true;
	} else {
		resp.error = -p->dflt_errno;
		if (in_serving) {
			char	*n = seccomp_syscall_resolve_num_arch(
			    req->data.arch, req->data.nr);

			quiet = n != NULL &&
			    deny_is_malloc_probe(listener, req, n);
			free(n);
		}
	}
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == -1 &&
	    errno != ENOENT)
		log_warn("worker %d: sandbox: answering a notification: %s",
		    (int)worker, strerror(errno));
	if (quiet) {
		if (deny_once(dl, "malloc-probe"))
			log_debug("worker %d (plugin %s): sandbox: serving "
			    "denied glibc's open of /proc/sys/vm/"
			    "overcommit_memory (malloc does without it)",
			    (int)worker, deny_plugin(worker));
	} else if (!go_on)
		deny_syscall(req, worker, in_serving, s != NULL &&
		    s->startup != 0, dl);
}

/*
 * The worker is gone.  If it failed (start-up failed, or it died), say
 * again, as errors, what the sandbox denied it at start-up: likely
 * why.  Then forget.
 */
void
deny_reaped(pid_t pid, int status, struct deny_log **dlp)
{
	struct deny_log	*dl = *dlp;
	size_t		 i;
	bool		 failed;

	if (dl == NULL)
		return;
	failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	for (i = 0; i < dl->n; i++) {
		if (failed && dl->text[i] != NULL && !broker.shutting_down)
			log_err("%s", dl->text[i]);
		free(dl->text[i]);
	}
	if (failed && dl->dropped > 0 && !broker.shutting_down)
		log_err("worker %d: sandbox: %zu more denials not shown",
		    (int)pid, dl->dropped);
	free(dl);
	*dlp = NULL;
}
