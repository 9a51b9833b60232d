/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Merging policies: the plugin's policy and the policy of each nbdkit
 * filter stacked above it become the one policy of the worker that
 * runs them all.  In the broker, after each policy has been resolved.
 *
 * The rule, and why.  A filter and the plugin share one process: one
 * seccomp filter, one Landlock domain, one set of rlimits, one user.
 * Whatever one layer may do, code in any layer can do (it can call the
 * other layer's code, or make the syscall itself), so the merged
 * policy can only be honest if it says so:
 *
 * - Rights are the union.  A syscall is allowed (with the union of its
 *   argument variants) if any policy allows it, or if a policy whose
 *   [syscalls] default is allow does not kill it; paths with the union
 *   of their access; network, the union of what is allowed.  The
 *   weaker default wins (allow over errno over kill), as do the weaker
 *   landlock (off over best-effort over required) and mode = log.
 *   The exception is open-on-behalf = no: it is not a right of the
 *   worker's code but the admin's word on what the broker does for it,
 *   and it holds if any policy says it.
 * - A tripwire stays a tripwire only while no policy allows the
 *   syscall: one layer's need beats another's "never".  --check-policy
 *   shows the result, origins included, before anything runs.
 * - Limits add up: the worker holds the plugin's memory and every
 *   filter's.  In a filter's policy, [limits] are what the filter
 *   needs on top of the plugin (0: nothing more); an unlimited plugin
 *   stays unlimited.
 * - What describes the worker as a whole comes from the plugin's
 *   policy: user, magic-config-key, [restart].  A filter's policy that
 *   names another user or magic key is refused: one worker has one.
 *   isolation = connection and allow-shutdown = yes anywhere win (the
 *   admin who stacks exitlast or exitwhen wants the server to stop);
 *   durability is the weakest
 *   any says (a filter that keeps data in the worker, such as cow,
 *   makes the stack volatile whatever the plugin is).
 *
 * Origins ("line N: @group") name the file once policies are merged.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int
merr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
merr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

/* Keep s (a new string) until p is freed; returns s, NULL if s is. */
static const char *
keep(struct policy *p, char *s)
{
	char	**v;

	if (s == NULL)
		return NULL;
	if ((v = realloc(p->merge_strs, (p->merge_nstrs + 1) *
	    sizeof(*v))) == NULL) {
		free(s);
		return NULL;
	}
	p->merge_strs = v;
	p->merge_strs[p->merge_nstrs++] = s;
	return s;
}

static const char *
base_name(const char *path)
{
	const char	*b = strrchr(path, '/');

	return b != NULL ? b + 1 : path;
}

/*
 * An origin text for p: "FILE line N: via", "FILE line N", or via
 * alone for what is built in (line 0).  NULL: out of memory.
 */
static const char *
origin(struct policy *p, const char *file, int line, const char *via,
    const char *dflt)
{
	char	*s;

	if (line <= 0)
		return via != NULL ? via : dflt;
	if (asprintf(&s, "%s line %d%s%s", base_name(file), line,
	    via ? ": " : "", via ? via : "") == -1)
		return NULL;
	return keep(p, s);
}

/*
 * Rewrite the origins in p that still have a line number to name the
 * file they came from, so that merged origins stay readable.
 */
static int
origins_name_file(struct policy *p, const char *file)
{
	const char	*kept = NULL;
	size_t		 i;

	for (i = 0; i < p->nsc; i++) {
		struct policy_syscall	*s = &p->sc[i];

		if (s->allow_line > 0) {
			if ((s->allow_via = origin(p, file, s->allow_line,
			    s->allow_via, NULL)) == NULL)
				return -1;
			s->allow_line = 0;
		}
		if (s->kill && s->kill_line > 0) {
			if ((s->kill_via = origin(p, file, s->kill_line,
			    s->kill_via, NULL)) == NULL)
				return -1;
			s->kill_line = 0;
		}
	}
	/*
	 * Paths keep their line, with its file beside it: the broker
	 * names both when it opens one on the worker's behalf, and a
	 * line of 0 still means built in.
	 */
	for (i = 0; i < p->npaths; i++) {
		struct policy_path	*pp = &p->paths[i];

		if (pp->line > 0 && pp->file == NULL) {
			if ((pp->why = origin(p, file, pp->line, pp->param,
			    NULL)) == NULL || (kept == NULL &&
			    (kept = keep(p, strdup(file))) == NULL))
				return -1;
			pp->file = kept;
		}
	}
	if (p->no_behalf && p->no_behalf_file == NULL) {
		if (kept == NULL && (kept = keep(p, strdup(file))) == NULL)
			return -1;
		p->no_behalf_file = kept;
	}
	return 0;
}

/*
 * Does q allow any use of syscall s outright: with any arguments, or
 * through a default of allow without killing it?  (s may be NULL: q
 * says nothing about it.)
 */
static bool
allows_all(const struct policy *q, const struct policy_syscall *s)
{
	if (s != NULL && (s->startup & POLICY_ARG_ANY))
		return true;
	return q->dflt == POLICY_DEFAULT_ALLOW && (s == NULL || !s->kill);
}

static bool
in_enosys(int nr)
{
	const struct policy_group_entry	*e;

	for (e = policy_group("@enosys"); e != NULL && e->name != NULL; e++)
		if (policy_syscall_nr(e->name) == nr)
			return true;
	return false;
}

/* Can the complement of the variants in arg be a tripwire? */
static bool
complementable(uint32_t arg)
{
	return arg == POLICY_ARG_THREAD || arg == POLICY_ARG_NOEXEC ||
	    arg == POLICY_ARG_SELF;
}

/*
 * One syscall of the merged policy from a (p's entry) and b (q's),
 * either of which may be NULL.  The result takes a's or b's name.
 */
static int
merge_syscall(struct policy *p, const struct policy *q,
    const struct policy_syscall *a, const struct policy_syscall *b,
    struct policy_syscall *m)
{
	const struct policy_syscall	*any = a != NULL ? a : b;
	uint32_t			 st, sv;
	bool				 kill;

	memset(m, 0, sizeof(*m));
	m->nr = any->nr;
	if ((m->name = strdup(any->name)) == NULL)
		return -1;
	st = (a ? a->startup : 0) | (b ? b->startup : 0);
	sv = (a ? a->serving : 0) | (b ? b->serving : 0);
	m->startup = st & POLICY_ARG_ANY ? POLICY_ARG_ANY : st;
	m->serving = sv & POLICY_ARG_ANY ? POLICY_ARG_ANY : sv;
	kill = (a != NULL && a->kill) || (b != NULL && b->kill);
	/* A need beats a tripwire; what cannot be complemented is no trap. */
	if (kill && (allows_all(p, a) || allows_all(q, b) ||
	    in_enosys(m->nr) || (m->startup != 0 &&
	    (!complementable(m->startup) || (m->serving != 0 &&
	    m->serving != m->startup)))))
		kill = false;
	m->kill = kill;
	m->enosys = in_enosys(m->nr) && m->startup == 0;
	/* The origin of the widest right: serving over start-up only. */
	if (b != NULL && b->startup != 0 && (a == NULL || a->startup == 0 ||
	    (a->serving == 0 && b->serving != 0))) {
		m->allow_line = b->allow_line;
		m->allow_via = b->allow_via;
	} else if (a != NULL && a->startup != 0) {
		m->allow_line = a->allow_line;
		m->allow_via = a->allow_via;
	}
	if (kill && a != NULL && a->kill) {
		m->kill_line = a->kill_line;
		m->kill_via = a->kill_via;
	} else if (kill) {
		m->kill_line = b->kill_line;
		m->kill_via = b->kill_via;
	}
	return 0;
}

/* p->sc becomes the union of p's and q's, sorted by number. */
static int
merge_syscalls(struct policy *p, const struct policy *q)
{
	struct policy_syscall	*v;
	size_t			 n = 0, i, j;
	int			 nr;

	if ((v = calloc(p->nsc + q->nsc + 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, j = 0; i < p->nsc || j < q->nsc; ) {
		const struct policy_syscall	*a = NULL, *b = NULL;

		if (j == q->nsc || (i < p->nsc && p->sc[i].nr < q->sc[j].nr))
			nr = p->sc[i].nr;
		else
			nr = q->sc[j].nr;
		if (i < p->nsc && p->sc[i].nr == nr)
			a = &p->sc[i++];
		if (j < q->nsc && q->sc[j].nr == nr)
			b = &q->sc[j++];
		if (merge_syscall(p, q, a, b, &v[n]) == -1)
			goto oom;
		n++;
	}
	for (i = 0; i < p->nsc; i++)
		free(p->sc[i].name);
	free(p->sc);
	p->sc = v;
	p->nsc = n;
	return 0;

 oom:
	while (n > 0)
		free(v[--n].name);
	free(v);
	return -1;
}

static int
merge_paths(struct policy *p, const struct policy *q)
{
	size_t	i;

	for (i = 0; i < q->npaths; i++) {
		const struct policy_path	*qp = &q->paths[i];
		struct policy_path		*pp;
		size_t				 k;
		bool				 dup = false;

		for (k = 0; k < p->npaths; k++) {
			pp = &p->paths[k];
			if (qp->path != NULL && pp->path != NULL &&
			    strcmp(pp->path, qp->path) == 0 &&
			    pp->startup_only == qp->startup_only) {
				pp->access |= qp->access;
				pp->optional = pp->optional && qp->optional;
				dup = true;
				break;
			}
		}
		if (dup)
			continue;
		if ((pp = realloc(p->paths, (p->npaths + 1) *
		    sizeof(*pp))) == NULL)
			return -1;
		p->paths = pp;
		pp = &p->paths[p->npaths];
		*pp = *qp;
		pp->path = pp->param = NULL;
		if ((qp->path != NULL && (pp->path = strdup(qp->path)) ==
		    NULL) || (qp->param != NULL &&
		    (pp->param = strdup(qp->param)) == NULL)) {
			free(pp->path);
			return -1;
		}
		/* q's origin texts belong to q: p keeps its own copy. */
		if ((qp->why != NULL && (pp->why = keep(p,
		    strdup(qp->why))) == NULL) || (qp->file != NULL &&
		    (pp->file = keep(p, strdup(qp->file))) == NULL)) {
			free(pp->path);
			free(pp->param);
			return -1;
		}
		p->npaths++;
	}
	return 0;
}

static int
merge_network(struct policy *p, const struct policy *q)
{
	size_t	i, k;

	p->net |= q->net;
	if (p->net & POLICY_NET_ALL)
		p->net = POLICY_NET_ALL;
	for (i = 0; i < q->nports; i++) {
		uint16_t	*v;

		for (k = 0; k < p->nports; k++)
			if (p->ports[k] == q->ports[i])
				break;
		if (k < p->nports)
			continue;
		if ((v = realloc(p->ports, (p->nports + 1) *
		    sizeof(*v))) == NULL)
			return -1;
		p->ports = v;
		p->ports[p->nports++] = q->ports[i];
	}
	return 0;
}

/* A limit of the whole worker: p's (0: none) plus q's extra need. */
static uint64_t
limit_add(uint64_t p, uint64_t q)
{
	if (p == 0)
		return 0;
	return q > UINT64_MAX - p ? 0 : p + q;
}

/* The weaker of two durabilities, PLUGIN meaning "not said". */
static enum policy_durability
durability_weaker(enum policy_durability a, enum policy_durability b)
{
	if (a == POLICY_DURABILITY_PLUGIN)
		return b == POLICY_DURABILITY_VOLATILE ? b : a;
	if (b == POLICY_DURABILITY_PLUGIN)
		return a;
	return a > b ? a : b;
}

/* Would q make the worker run as someone else than p does? */
static bool
user_differs(const struct policy *p, const struct policy *q)
{
	if (!q->user_keep && q->user == NULL)
		return false;		/* q says nothing */
	if (q->user_keep != p->user_keep)
		return true;
	return !q->user_keep && (q->uid != p->uid || q->gid != p->gid);
}

/*
 * The file a setting of p goes into: the plugin's own policy file,
 * also once merged (a filter's policy grants the filter's own needs,
 * and [syscalls] rules, their lines and the [network] lines are the
 * plugin's file's).
 */
const char *
policy_own_file(const struct policy *p)
{
	return p->own_file != NULL ? p->own_file : p->file;
}

/*
 * Merge q (the resolved policy of a filter stacked above the plugin)
 * into p (the plugin's resolved policy, or the result of earlier
 * merges), by the rules above.  q is not changed.  Returns 0, or -1
 * with err set ("file: problem") and p unusable.
 */
int
policy_merge(struct policy *p, const struct policy *q, char *err,
    size_t errlen)
{
	char	*file;

	if (p->arch != q->arch)
		return merr(err, errlen, "%s and %s: resolved for different "
		    "architectures", p->file, q->file);
	if (user_differs(p, q))
		return merr(err, errlen, "%s: user = %s, but %s runs the "
		    "worker as %s; one worker has one user, set by the "
		    "plugin's policy", q->file, q->user_keep ? "keep" :
		    q->user, p->file, p->user_keep ? "its own user (keep)" :
		    p->user ? p->user : "nobody");
	if (q->magic_key != NULL && (p->magic_key == NULL ||
	    strcmp(p->magic_key, q->magic_key) != 0))
		return merr(err, errlen, "%s: magic-config-key = %s: only the "
		    "plugin's policy may name its magic config key",
		    q->file, q->magic_key);
	if (q->memory_param != NULL && p->memory_param != NULL)
		return merr(err, errlen, "%s and %s: both limit memory by a "
		    "parameter (${%s}, ${%s}); resolve them first",
		    p->file, q->file, p->memory_param, q->memory_param);

	/*
	 * Origins name their file from the first merge on: p's now, and
	 * q's once they are in p (every origin with a line and no file yet
	 * is q's).
	 */
	if (!p->merged && ((p->own_file = keep(p, strdup(p->file))) ==
	    NULL || origins_name_file(p, p->file) == -1))
		goto oom;
	p->merged = true;
	if (q->no_behalf && !p->no_behalf) {	/* named with q's paths */
		p->no_behalf = true;
		p->no_behalf_line = q->no_behalf_line;
	}
	if (merge_syscalls(p, q) == -1 || merge_paths(p, q) == -1 ||
	    merge_network(p, q) == -1 || origins_name_file(p, q->file) == -1)
		goto oom;

	if (q->mode == POLICY_MODE_LOG)
		p->mode = POLICY_MODE_LOG;
	if (q->isolation == POLICY_ISOLATION_CONNECTION)
		p->isolation = POLICY_ISOLATION_CONNECTION;
	if (q->allow_shutdown)
		p->allow_shutdown = true;	/* exitlast, exitwhen */
	p->durability = durability_weaker(p->durability, q->durability);
	if (q->dflt == POLICY_DEFAULT_ALLOW ||
	    (q->dflt == POLICY_DEFAULT_ERRNO &&
	    p->dflt == POLICY_DEFAULT_KILL)) {
		p->dflt = q->dflt;
		p->dflt_errno = q->dflt_errno;
	}
	if (q->landlock > p->landlock)
		p->landlock = q->landlock;

	p->memory = limit_add(p->memory, q->memory);
	if (q->memory_param != NULL &&
	    (p->memory_param = strdup(q->memory_param)) == NULL)
		goto oom;
	p->open_files = limit_add(p->open_files, q->open_files);
	p->cpu_seconds = limit_add(p->cpu_seconds, q->cpu_seconds);

	if (asprintf(&file, "%s + %s", p->file, q->file) == -1)
		goto oom;
	free(p->file);
	p->file = file;
	return 0;

 oom:
	return merr(err, errlen, "%s + %s: out of memory", p->file, q->file);
}
