/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiling a resolved policy into the two seccomp filters the worker
 * stacks (libseccomp).
 *
 * The startup filter is loaded before the plugin is dlopened and stays
 * for the worker's life; it carries the tripwires (the kill list, and
 * the default action when that is "kill") as SECCOMP_RET_USER_NOTIF,
 * so the broker, holding the listener, learns which syscall was tried
 * and kills the worker.  The serving filter is stacked on top after
 * get_ready.  The kernel takes the strictest answer of all filters
 * (KILL > TRAP > ERRNO > USER_NOTIF > LOG > ALLOW), so the serving
 * filter answers ALLOW wherever the startup filter must decide, and
 * denies what was allowed only at start-up.  Only one filter may hold
 * a listener, so a syscall allowed at start-up that must kill after
 * it (default = kill) is killed by the serving filter with
 * SECCOMP_RET_KILL_PROCESS, which names nothing; policy_print says so.
 *
 * Both filters: the architecture is checked (a foreign or x32
 * syscall kills the process), TSYNC covers threads that exist,
 * NO_NEW_PRIVS is the caller's job (set before Landlock).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "policy.h"

#define CLONE_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			 CLONE_NEWNET)

struct build {
	scmp_filter_ctx		 ctx;
	uint32_t		 dflt;		/* the filter's default */
	const struct policy	*p;
	pid_t			 self;
	char			*err;
	size_t			 errlen;
};

static int
berr(struct build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
berr(struct build *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(b->err, b->errlen, "%s: seccomp: ", b->p->file);
	if (n < 0 || (size_t)n >= b->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->err + n, b->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
rule(struct build *b, uint32_t action, const struct policy_syscall *s,
    unsigned n, const struct scmp_arg_cmp *c)
{
	int	r;

	if (action == b->dflt)
		return 0;
	r = seccomp_rule_add_exact_array(b->ctx, action, s->nr, n, c);
	if (r < 0)
		return berr(b, "rule for %s: %s", s->name, strerror(-r));
	return 0;
}

/* Block device ioctls @block-ioctl allows (size, sector sizes, discard). */
static const unsigned long	blk_ioctls[] = {
	BLKGETSIZE64, BLKGETSIZE, BLKSSZGET, BLKPBSZGET, BLKIOMIN,
	BLKIOOPT, BLKROGET, BLKDISCARD, BLKZEROOUT, BLKDISCARDZEROES,
	BLKFLSBUF,
};

/*
 * Add action for the calls of s that match variant bit v (complement:
 * those that do not).  Only THREAD, NOEXEC and SELF have complements.
 */
static int
variant(struct build *b, uint32_t action, const struct policy_syscall *s,
    uint32_t v, bool complement)
{
	struct scmp_arg_cmp	c[2];
	uint64_t		lo, span;
	size_t			i;

	switch (v) {
	case POLICY_ARG_ANY:
		return rule(b, action, s, 0, NULL);
	case POLICY_ARG_THREAD:
		/*
		 * A thread, and no new namespace with it.  The complement
		 * (for a tripwire) is "not a thread"; a thread asking for
		 * a namespace gets the default action.
		 */
		if (complement)
			c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
		else
			c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD |
			    CLONE_NS_FLAGS, CLONE_THREAD);
		return rule(b, action, s, 1, c);
	case POLICY_ARG_NOEXEC:
		c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
		    complement ? PROT_EXEC : 0);
		return rule(b, action, s, 1, c);
	case POLICY_ARG_SELF:
		if (strcmp(s->name, "tgkill") == 0)
			c[0] = SCMP_A0(complement ? SCMP_CMP_NE : SCMP_CMP_EQ,
			    (scmp_datum_t)b->self);
		else
			c[0] = SCMP_A0(complement ? SCMP_CMP_NE : SCMP_CMP_EQ,
			    0);
		return rule(b, action, s, 1, c);
	case POLICY_ARG_SOCKET:
		if (complement)
			break;
		if (b->p->net & POLICY_NET_ALL)
			return rule(b, action, s, 0, NULL);
		if (b->p->net & POLICY_NET_UNIX) {
			c[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
			if (rule(b, action, s, 1, c) == -1)
				return -1;
		}
		if (b->p->net & POLICY_NET_TCP_CONNECT) {
			/* TCP only: Landlock filters its ports. */
			c[0] = SCMP_A0(SCMP_CMP_EQ, AF_INET);
			c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM);
			if (rule(b, action, s, 2, c) == -1)
				return -1;
			c[0] = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
			if (rule(b, action, s, 2, c) == -1)
				return -1;
		}
		return 0;
	case POLICY_ARG_FILTER:
		/*
		 * seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
		 * prog), whole 64-bit registers, exactly as
		 * policy_seccomp_install() makes the call; the complement
		 * is every other call.
		 */
		if (!complement) {
			c[0] = SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER);
			c[1] = SCMP_A1(SCMP_CMP_EQ, SECCOMP_FILTER_FLAG_TSYNC);
			return rule(b, action, s, 2, c);
		}
		c[0] = SCMP_A0(SCMP_CMP_NE, SECCOMP_SET_MODE_FILTER);
		if (rule(b, action, s, 1, c) == -1)
			return -1;
		c[0] = SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER);
		c[1] = SCMP_A1(SCMP_CMP_NE, SECCOMP_FILTER_FLAG_TSYNC);
		return rule(b, action, s, 2, c);
	case POLICY_ARG_NOSECCOMP:
		/*
		 * prctl's option is an int: the kernel ignores the upper
		 * half of the register.  Tripwire: the lower half is
		 * PR_SET_SECCOMP.  Allowed: options below it, and the
		 * rest of 0..UINT32_MAX with the upper half clear, as
		 * aligned blocks (libseccomp has no masked "not equal",
		 * and allowed and tripping calls must not overlap).
		 */
		if (complement) {
			c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu,
			    PR_SET_SECCOMP);
			return rule(b, action, s, 1, c);
		}
		c[0] = SCMP_A0(SCMP_CMP_LT, PR_SET_SECCOMP);
		if (rule(b, action, s, 1, c) == -1)
			return -1;
		for (lo = PR_SET_SECCOMP + 1; lo <= UINT32_MAX; lo += span) {
			/* The largest aligned block that starts at lo. */
			for (span = 1; (lo & span) == 0 && span < lo;
			    span <<= 1)
				;
			c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, ~(span - 1), lo);
			if (rule(b, action, s, 1, c) == -1)
				return -1;
		}
		return 0;
	case POLICY_ARG_BLKIOCTL:
		if (complement)
			break;
		for (i = 0; i < sizeof(blk_ioctls) / sizeof(blk_ioctls[0]);
		    i++) {
			c[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
			    (uint32_t)blk_ioctls[i]);
			if (rule(b, action, s, 1, c) == -1)
				return -1;
		}
		return 0;
	default:
		break;
	}
	return berr(b, "%s: cannot express argument variant 0x%x%s", s->name,
	    v, complement ? " (complement)" : "");
}

static int
variants(struct build *b, uint32_t action, const struct policy_syscall *s,
    uint32_t mask)
{
	uint32_t	v;

	if (mask & POLICY_ARG_ANY)
		return variant(b, action, s, POLICY_ARG_ANY, false);
	for (v = 1; v <= POLICY_ARG_MASK; v <<= 1)
		if ((mask & v) && variant(b, action, s, v, false) == -1)
			return -1;
	return 0;
}

/* The startup filter: everything start-up needs, the tripwires. */
static int
build_startup(struct build *b, uint32_t trip, uint32_t deny)
{
	const struct policy	*p = b->p;
	struct policy_syscall	 mark;
	struct scmp_arg_cmp	 c[2];
	size_t			 i;

	for (i = 0; i < p->nsc; i++) {
		const struct policy_syscall	*s = &p->sc[i];

		if (s->enosys) {
			if (rule(b, SCMP_ACT_ERRNO(ENOSYS), s, 0, NULL) == -1)
				return -1;
		} else if ((s->startup & POLICY_ARG_ANY) &&
		    (p->notify & POLICY_NOTIFY_MEMORY) &&
		    trip == SCMP_ACT_NOTIFY && !s->kill &&
		    strcmp(s->name, "mmap") == 0) {
			/*
			 * Large mappings go past the broker, which can then
			 * say when one fails on [limits] memory; two rules
			 * that cannot both match (libseccomp leaves the order
			 * of overlapping ones undefined).
			 */
			c[0] = SCMP_A1(SCMP_CMP_LT, POLICY_NOTIFY_BIG);
			if (rule(b, SCMP_ACT_ALLOW, s, 1, c) == -1)
				return -1;
			c[0] = SCMP_A1(SCMP_CMP_GE, POLICY_NOTIFY_BIG);
			if (p->notify & POLICY_NOTIFY_MEMORY_AS) {
				if (rule(b, trip, s, 1, c) == -1)
					return -1;
				continue;
			}
			/* Only RLIMIT_DATA: it counts writable mappings. */
			c[1] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE, 0);
			if (rule(b, SCMP_ACT_ALLOW, s, 2, c) == -1)
				return -1;
			c[1] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE,
			    PROT_WRITE);
			if (rule(b, trip, s, 2, c) == -1)
				return -1;
		} else if (s->startup & POLICY_ARG_ANY) {
			/* The broker looks at the path; Landlock decides. */
			if ((p->notify & POLICY_NOTIFY_PATHS) &&
			    trip == SCMP_ACT_NOTIFY &&
			    policy_syscall_takes_path(s->name)) {
				if (rule(b, trip, s, 0, NULL) == -1)
					return -1;
			} else if ((p->notify & POLICY_NOTIFY_CONNECT) &&
			    trip == SCMP_ACT_NOTIFY &&
			    strcmp(s->name, "connect") == 0) {
				/* The broker connects (hosts). */
				if (rule(b, trip, s, 0, NULL) == -1)
					return -1;
			} else if (rule(b, SCMP_ACT_ALLOW, s, 0, NULL) == -1)
				return -1;
		} else if (s->startup != 0) {
			if (variants(b, SCMP_ACT_ALLOW, s, s->startup) == -1)
				return -1;
			if (s->kill && variant(b, trip, s, s->startup,
			    true) == -1)
				return -1;
		} else if (s->kill) {
			if (rule(b, trip, s, 0, NULL) == -1)
				return -1;
		}
	}
	/*
	 * The end of start-up reaches the broker whatever the default:
	 * under default = allow it would otherwise fail with ENOSYS in
	 * the kernel, and the broker would take every later call for a
	 * start-up one (startup-only grants, stage= in its log).
	 */
	if (trip == SCMP_ACT_NOTIFY) {
		memset(&mark, 0, sizeof(mark));
		mark.name = "the stage mark";
		mark.nr = POLICY_STAGE_MARK;
		if (rule(b, trip, &mark, 0, NULL) == -1)
			return -1;
	}
	(void)deny;
	return 0;
}

/*
 * The serving filter, stacked on the startup filter.  ALLOW defers to
 * the startup filter (which alone can name a tripwire); deny is what
 * a syscall allowed only at start-up gets now.
 */
static int
build_serving(struct build *b, uint32_t deny)
{
	const struct policy	*p = b->p;
	size_t			 i;

	for (i = 0; i < p->nsc; i++) {
		const struct policy_syscall	*s = &p->sc[i];

		if (s->enosys) {
			if (rule(b, SCMP_ACT_ERRNO(ENOSYS), s, 0, NULL) == -1)
				return -1;
		} else if (s->kill) {
			if (s->startup == s->serving) {
				/* The startup filter allows or trips. */
				if (rule(b, SCMP_ACT_ALLOW, s, 0, NULL) == -1)
					return -1;
			} else {
				/* Allowed (variant) at start-up only. */
				if (variant(b, deny, s, s->startup,
				    false) == -1 || variant(b, SCMP_ACT_ALLOW,
				    s, s->startup, true) == -1)
					return -1;
			}
		} else if (s->serving & POLICY_ARG_ANY) {
			if (rule(b, SCMP_ACT_ALLOW, s, 0, NULL) == -1)
				return -1;
		} else if (s->serving != 0) {
			if (variants(b, SCMP_ACT_ALLOW, s, s->serving) == -1)
				return -1;
			/*
			 * The default defers (ALLOW): the other calls must
			 * be denied here if start-up allowed them.
			 */
			if (b->dflt == SCMP_ACT_ALLOW && deny !=
			    SCMP_ACT_ALLOW && s->startup != s->serving &&
			    variant(b, deny, s, s->serving, true) == -1)
				return -1;
		} else if (s->startup != 0) {
			/*
			 * A path call allowed at start-up only: the start-up
			 * filter hands it to the broker, which denies it now
			 * and says why (only with default = errno: the
			 * serving filter's own kill names nothing either).
			 */
			if ((p->notify & POLICY_NOTIFY_PATHS) &&
			    p->dflt == POLICY_DEFAULT_ERRNO &&
			    b->dflt == SCMP_ACT_ALLOW &&
			    (s->startup & POLICY_ARG_ANY) &&
			    policy_syscall_takes_path(s->name))
				continue;
			if (rule(b, deny, s, 0, NULL) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * Syscalls that reach a path Landlock decides about: with
 * POLICY_NOTIFY_PATHS, the start-up filter hands them to the broker.
 */
static const char *const path_calls[] = {
	"open", "openat", "openat2", "creat", "truncate", "mkdir",
	"mkdirat", "mknod", "mknodat", "unlink", "unlinkat", "rmdir",
	"rename", "renameat", "renameat2", "link", "linkat", "symlink",
	"symlinkat", "execve", "execveat", NULL,
};

bool
policy_syscall_takes_path(const char *name)
{
	size_t	i;

	for (i = 0; path_calls[i] != NULL; i++)
		if (strcmp(path_calls[i], name) == 0)
			return true;
	return false;
}

/*
 * A policy whose filters would allow every syscall (default allow, no
 * tripwires) needs none: the worker loads no filter at all.
 */
bool
policy_seccomp_trivial(const struct policy *p)
{
	size_t	i;

	if (p->dflt != POLICY_DEFAULT_ALLOW)
		return false;
	for (i = 0; i < p->nsc; i++)
		if (p->sc[i].kill)
			return false;
	return true;
}

void *
policy_seccomp_build(const struct policy *p, enum policy_stage st,
    uint32_t trip, pid_t self, char *err, size_t errlen)
{
	struct build	b;
	uint32_t	deny, dflt;
	bool		log = p->mode == POLICY_MODE_LOG;
	int		r;

	memset(&b, 0, sizeof(b));
	b.p = p;
	b.self = self;
	b.err = err;
	b.errlen = errlen;
	if (p->arch != seccomp_arch_native()) {
		berr(&b, "the policy was resolved for architecture 0x%x, "
		    "this is 0x%x", p->arch, seccomp_arch_native());
		return NULL;
	}
	if (log)
		trip = SCMP_ACT_LOG;
	switch (p->dflt) {
	case POLICY_DEFAULT_ERRNO:
		deny = log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(p->dflt_errno);
		dflt = deny;
		/*
		 * POLICY_NOTIFY_DENY: the start-up filter hands what it
		 * denies to the broker, which answers with the errno and
		 * can say later why something failed; the serving filter
		 * defers to it (as with default = kill).  What only
		 * start-up may do is still denied by the serving filter
		 * itself, silently (only one filter can notify).
		 */
		if (!log && (p->notify & POLICY_NOTIFY_DENY) &&
		    trip == SCMP_ACT_NOTIFY)
			dflt = st == POLICY_STAGE_STARTUP ? trip :
			    SCMP_ACT_ALLOW;
		break;
	case POLICY_DEFAULT_KILL:
		/* Unnamed after start-up: see the file comment. */
		deny = log ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
		dflt = st == POLICY_STAGE_STARTUP ? trip : SCMP_ACT_ALLOW;
		break;
	default:
		deny = dflt = SCMP_ACT_ALLOW;
		break;
	}
	b.dflt = dflt;
	if ((b.ctx = seccomp_init(dflt)) == NULL) {
		berr(&b, "cannot initialize the filter");
		return NULL;
	}
	if ((r = seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		berr(&b, "cannot set filter attributes: %s", strerror(-r));
		goto fail;
	}
	if ((st == POLICY_STAGE_STARTUP ? build_startup(&b, trip, deny) :
	    build_serving(&b, deny)) == -1)
		goto fail;
	return b.ctx;

 fail:
	seccomp_release(b.ctx);
	return NULL;
}

/*
 * mode = learn (--learn-policy).  Default: USER_NOTIF, so the broker
 * sees and records every syscall; it answers CONTINUE.  Allowed
 * without asking: what the worker's built-in set allows in both
 * stages (the worker's own RPC, threads, malloc: the learned policy
 * need not list it, and every round trip to the broker costs), and
 * the one sendmsg that hands the listener over (before that, nobody
 * could answer).  libc's probes fail with ENOSYS as under enforce, so
 * glibc takes the same paths it will take then (clone3: clone).
 */
void *
policy_seccomp_build_learn(const struct policy *p, pid_t self, char *err,
    size_t errlen)
{
	struct build		 b;
	struct scmp_arg_cmp	 c[1];
	struct policy_syscall	 sm;
	size_t			 i;
	int			 r;

	memset(&b, 0, sizeof(b));
	b.p = p;
	b.self = self;
	b.err = err;
	b.errlen = errlen;
	b.dflt = SCMP_ACT_NOTIFY;
	if ((b.ctx = seccomp_init(SCMP_ACT_NOTIFY)) == NULL) {
		berr(&b, "cannot initialize the learn filter");
		return NULL;
	}
	if ((r = seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (r = seccomp_attr_set(b.ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0) {
		berr(&b, "cannot set filter attributes: %s", strerror(-r));
		goto fail;
	}
	for (i = 0; i < p->nsc; i++) {
		const struct policy_syscall	*s = &p->sc[i];
		uint32_t			 both;

		both = s->startup & s->serving;
		if (s->enosys) {
			if (rule(&b, SCMP_ACT_ERRNO(ENOSYS), s, 0, NULL) == -1)
				goto fail;
		} else if (both != 0 && strcmp(s->name, "sendmsg") != 0 &&
		    variants(&b, SCMP_ACT_ALLOW, s, both) == -1)
			goto fail;
	}
	memset(&sm, 0, sizeof(sm));
	sm.name = "sendmsg";
	if ((sm.nr = policy_syscall_nr("sendmsg")) >= 0) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, POLICY_NOTIFY_FD);
		if (rule(&b, SCMP_ACT_ALLOW, &sm, 1, c) == -1)
			goto fail;
	}
	return b.ctx;

 fail:
	seccomp_release(b.ctx);
	return NULL;
}

/*
 * The BPF program of a built filter, as a struct sock_fprog followed
 * by its instructions (one allocation; free it with free()).  Called
 * before any filter is loaded: it needs a memfd.  Returns NULL with
 * err set.
 */
void *
policy_seccomp_export(void *ctx, char *err, size_t errlen)
{
	struct sock_fprog	*prog = NULL;
	struct stat		 st;
	ssize_t			 n;
	int			 fd, r;

	if ((fd = memfd_create("nbdbroker-filter", MFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "seccomp: export: memfd_create: %s",
		    strerror(errno));
		return NULL;
	}
	if ((r = seccomp_export_bpf(ctx, fd)) < 0) {
		snprintf(err, errlen, "seccomp: export: %s", strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, errlen, "seccomp: export: a program of %jd "
		    "bytes", (intmax_t)st.st_size);
		goto out;
	}
	if ((prog = malloc(sizeof(*prog) + st.st_size)) == NULL) {
		snprintf(err, errlen, "seccomp: export: out of memory");
		goto out;
	}
	prog->len = st.st_size / sizeof(struct sock_filter);
	prog->filter = (struct sock_filter *)(prog + 1);
	n = pread(fd, prog->filter, st.st_size, 0);
	if (n != st.st_size) {
		snprintf(err, errlen, "seccomp: export: read: %s", n == -1 ?
		    strerror(errno) : "short read");
		free(prog);
		prog = NULL;
	}
 out:
	close(fd);
	return prog;
}

/*
 * Stack prog on every thread of the process.  The one call the
 * start-up filter lets through (POLICY_ARG_FILTER): every argument is
 * passed as a whole register, as the filter compares it.
 */
int
policy_seccomp_install(const void *prog)
{
	long	r;

	r = syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER,
	    (long)SECCOMP_FILTER_FLAG_TSYNC, prog);
	if (r > 0) {
		/* The id of a thread that could not be synchronized. */
		errno = ESRCH;
		return -1;
	}
	return r == 0 ? 0 : -1;
}
