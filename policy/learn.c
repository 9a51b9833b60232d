/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Writing a learned policy (nbdbroker --learn-policy): what the broker
 * saw a plugin's workers do, as a complete nbdbroker-policy/1 file
 * that allows exactly that and denies the rest.
 *
 * Syscalls: what the worker's built-in set (policy_worker_groups)
 * already allows in a stage is left out.  A group is named where every
 * one of its members was used; a syscall used only with an argument
 * restriction a group expresses (clone for threads, mmap without
 * PROT_EXEC) is allowed through the smallest group that has it, since
 * a restriction can only be written as a group; the rest by name.
 * What serving used goes in allow (both stages), what only start-up
 * used in startup-allow.  Tripwires: the usual kill list, minus what
 * was allowed (member by member, where a group is partly allowed).
 *
 * Paths come chosen by the broker (broker/learn.c: parameters,
 * created files, start-up or serving); here they are only written.
 * [limits], [restart], user, isolation and durability are copied from
 * the plugin's usual policy, if it has one: learning says nothing
 * about them.
 *
 * Data in, text out: nothing here touches the system.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"

/* The usual tripwires (the bundled policies'). */
static const char *const kill_groups[] = {
	"@escape", "@mount", "@module", "@debug", "@exec", "@subprocess",
	"@io-uring", "@keyring", NULL,
};

struct writer {
	const struct policy_learned	*l;
	FILE				*fp;
	uint32_t			 builtin[2][POLICY_MAX_NR];
	uint32_t			 need[2][POLICY_MAX_NR];
	uint32_t			 granted[2][POLICY_MAX_NR];
	bool				 enosys[POLICY_MAX_NR];
};

/* Does allowance a (POLICY_ARG_* bits) cover a call of variant v? */
static bool
covers(uint32_t a, uint32_t v)
{
	if (a & POLICY_ARG_ANY)
		return true;
	return v != POLICY_ARG_ANY && (a & v) == v;
}

/* What the worker's built-in groups allow, by stage (as parse.c). */
static void
builtin_init(struct writer *w)
{
	const struct policy_group_entry	*e;
	const char			*g;
	size_t				 i;
	int				 nr;

	for (i = 0; (g = policy_worker_groups[i]) != NULL; i++)
		for (e = policy_group(g); e->name != NULL; e++) {
			if ((nr = policy_syscall_nr(e->name)) < 0 ||
			    nr >= POLICY_MAX_NR)
				continue;
			if (strcmp(g, "@enosys") == 0) {
				w->enosys[nr] = true;
				continue;
			}
			w->builtin[POLICY_STAGE_STARTUP][nr] |= e->arg;
			if (strcmp(g, "@worker") == 0)
				w->builtin[POLICY_STAGE_SERVING][nr] |= e->arg;
		}
}

/*
 * What is left to allow: each stage's variants the built-in set does
 * not cover.  A syscall serving needs is allowed in both stages; its
 * start-up needs beyond that go to startup-allow.
 */
static void
need_init(struct writer *w)
{
	const struct policy_learned	*l = w->l;
	int				 st, nr;
	uint32_t			 v;

	for (st = 0; st < 2; st++)
		for (nr = 0; nr < POLICY_MAX_NR; nr++)
			for (v = 1; v <= POLICY_ARG_MASK; v <<= 1)
				if ((l->seen[st][nr] & v) &&
				    !covers(w->builtin[st][nr], v))
					w->need[st][nr] |= v;
	/*
	 * [network] unix or tcp-connect wants socket and connect allowed
	 * while serving (parse.c), even if only start-up used them.
	 */
	if (l->net != POLICY_NET_NONE && !(l->net & POLICY_NET_ALL)) {
		if ((nr = policy_syscall_nr("socket")) >= 0)
			w->need[POLICY_STAGE_SERVING][nr] |= POLICY_ARG_SOCKET;
		if ((nr = policy_syscall_nr("connect")) >= 0)
			w->need[POLICY_STAGE_SERVING][nr] |= POLICY_ARG_ANY;
	}
	for (nr = 0; nr < POLICY_MAX_NR; nr++) {
		uint32_t	s = w->need[POLICY_STAGE_SERVING][nr];

		for (v = 1; v <= POLICY_ARG_MASK; v <<= 1)
			if (covers(s, v))
				w->need[POLICY_STAGE_STARTUP][nr] &= ~v;
	}
}

/* Members of group g on this architecture, and whether need covers all. */
static bool
group_wholly_needed(const uint32_t *need, const char *g)
{
	const struct policy_group_entry	*e;
	size_t				 n = 0;
	int				 nr;

	for (e = policy_group(g); e->name != NULL; e++) {
		if ((nr = policy_syscall_nr(e->name)) < 0)
			continue;
		if (nr >= POLICY_MAX_NR || need[nr] == 0)
			return false;
		/* The group must allow no more than was used. */
		if ((e->arg & POLICY_ARG_ANY) && !(need[nr] & POLICY_ARG_ANY))
			return false;
		n++;
	}
	return n >= 2;
}

/* The smallest group that allows name with restriction v, or NULL. */
static const char *
group_with(const char *name, uint32_t v)
{
	const struct policy_group_entry	*e;
	const char			*g, *best = NULL;
	size_t				 i, n, bestn = 0;
	bool				 has;

	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		if (policy_group_builtin(g))
			continue;
		has = false;
		n = 0;
		for (e = policy_group(g); e->name != NULL; e++) {
			n++;
			if (strcmp(e->name, name) == 0 && e->arg == v)
				has = true;
		}
		if (has && (best == NULL || n < bestn)) {
			best = g;
			bestn = n;
		}
	}
	return best;
}

/* Is word one of line's space-separated tokens? */
static bool
has_token(const char *line, const char *word)
{
	size_t		 n = strlen(word);
	const char	*t;

	for (t = strstr(line, word); t != NULL; t = strstr(t + 1, word))
		if ((t == line || t[-1] == ' ') && (t[n] == ' ' ||
		    t[n] == '\0'))
			return true;
	return false;
}

/* Mark what group g grants in stage st (and serving: both). */
static void
grant_group(struct writer *w, const char *g, bool serving)
{
	const struct policy_group_entry	*e;
	int				 nr;

	for (e = policy_group(g); e->name != NULL; e++) {
		if ((nr = policy_syscall_nr(e->name)) < 0 ||
		    nr >= POLICY_MAX_NR)
			continue;
		w->granted[POLICY_STAGE_STARTUP][nr] |= e->arg;
		if (serving)
			w->granted[POLICY_STAGE_SERVING][nr] |= e->arg;
	}
}

/*
 * One allow line (serving) or startup-allow line: the tokens for
 * stage st's needs, with a comment naming what each group was for.
 */
static void
write_allow(struct writer *w, int st)
{
	const char	*key = st == POLICY_STAGE_SERVING ? "allow" :
			    "startup-allow";
	bool		 serving = st == POLICY_STAGE_SERVING;
	uint32_t	 left[POLICY_MAX_NR];
	char		 name[64], line[POLICY_MAX_LINE], why[1024];
	const char	*g;
	size_t		 i, used = 0, wused = 0;
	int		 nr;
	uint32_t	 v;

	memcpy(left, w->need[st], sizeof(left));
	line[0] = why[0] = '\0';
	/* Groups wholly used. */
	for (i = 0; (g = policy_group_name(i)) != NULL; i++) {
		if (policy_group_builtin(g) || !group_wholly_needed(left, g))
			continue;
		used += snprintf(line + used, sizeof(line) - used, " %s", g);
		grant_group(w, g, serving);
		for (nr = 0; nr < POLICY_MAX_NR; nr++)
			for (v = 1; v <= POLICY_ARG_MASK; v <<= 1)
				if (covers(w->granted[st][nr], v))
					left[nr] &= ~v;
	}
	for (nr = 0; nr < POLICY_MAX_NR && used < sizeof(line); nr++) {
		if (left[nr] == 0)
			continue;
		policy_syscall_name_buf(nr, name, sizeof(name));
		/* [network] and the worker decide these restrictions. */
		if ((left[nr] & POLICY_ARG_ANY) || (left[nr] &
		    (POLICY_ARG_SOCKET | POLICY_ARG_NOSECCOMP))) {
			used += snprintf(line + used, sizeof(line) - used,
			    " %s", name);
			w->granted[POLICY_STAGE_STARTUP][nr] |= POLICY_ARG_ANY;
			if (serving)
				w->granted[POLICY_STAGE_SERVING][nr] |=
				    POLICY_ARG_ANY;
			continue;
		}
		for (v = 1; v <= POLICY_ARG_MASK; v <<= 1) {
			if (!(left[nr] & v) || covers(w->granted[st][nr], v))
				continue;
			if ((g = group_with(name, v)) == NULL) {
				used += snprintf(line + used, sizeof(line) -
				    used, " %s", name);
				w->granted[POLICY_STAGE_STARTUP][nr] |=
				    POLICY_ARG_ANY;
				if (serving)
					w->granted[POLICY_STAGE_SERVING][nr] |=
					    POLICY_ARG_ANY;
				break;
			}
			if (!has_token(line, g))
				used += snprintf(line + used, sizeof(line) -
				    used, " %s", g);
			if (wused < sizeof(why))
				wused += snprintf(why + wused, sizeof(why) -
				    wused, "%s%s for %s", wused ? ", " : "",
				    g, name);
			grant_group(w, g, serving);
		}
	}
	if (used == 0)
		return;
	if (why[0] != '\0')
		fprintf(w->fp, "# %s: a restricted use, which only a group "
		    "can allow.\n", why);
	fprintf(w->fp, "%s =%s\n", key, line);
}

/*
 * Can nr be a tripwire next to what the policy now allows?  As
 * parse.c's check_kill: not if it is allowed without restriction, or
 * with a restriction that has no complement or differs by stage.
 */
static bool
killable(const struct writer *w, int nr)
{
	uint32_t	a1, a2;

	if (w->enosys[nr])
		return false;
	a1 = w->builtin[0][nr] | w->granted[0][nr];
	a2 = w->builtin[1][nr] | w->granted[1][nr];
	if (a1 == 0)
		return true;
	if (a1 & POLICY_ARG_ANY)
		return false;
	if (a1 != POLICY_ARG_THREAD && a1 != POLICY_ARG_NOEXEC &&
	    a1 != POLICY_ARG_SELF && a1 != POLICY_ARG_FILTER &&
	    a1 != POLICY_ARG_NOSECCOMP)
		return false;
	return a2 == 0 || a2 == a1;
}

static void
write_kill(struct writer *w)
{
	const struct policy_group_entry	*e;
	char				 line[POLICY_MAX_LINE];
	size_t				 i, used = 0;
	bool				 whole;
	int				 nr;

	for (i = 0; kill_groups[i] != NULL; i++) {
		whole = true;
		for (e = policy_group(kill_groups[i]); e->name != NULL; e++)
			if ((nr = policy_syscall_nr(e->name)) >= 0 &&
			    nr < POLICY_MAX_NR && !killable(w, nr))
				whole = false;
		if (whole) {
			used += snprintf(line + used, sizeof(line) - used,
			    " %s", kill_groups[i]);
			continue;
		}
		for (e = policy_group(kill_groups[i]); e->name != NULL; e++)
			if ((nr = policy_syscall_nr(e->name)) >= 0 &&
			    nr < POLICY_MAX_NR && killable(w, nr) &&
			    w->builtin[0][nr] == 0 && w->granted[0][nr] == 0 &&
			    !has_token(line, e->name) && used < sizeof(line))
				used += snprintf(line + used, sizeof(line) -
				    used, " %s", e->name);
	}
	if (used > 0 && used < sizeof(line))
		fprintf(w->fp, "kill =%s\n", line);
}

static void
write_paths(struct writer *w, const char *key, bool serving,
    unsigned access)
{
	const struct policy_learned	*l = w->l;
	struct stat			 st;
	size_t				 i, k, n = 0;

	for (i = 0; i < l->npaths; i++) {
		const struct policy_learned_path	*lp = &l->paths[i];

		if (lp->serving != serving || !(lp->access & access))
			continue;
		/*
		 * A path the plugin only probed (the loader's search list,
		 * say) and found missing needs no grant, and a policy cannot
		 * name what does not exist.
		 */
		if (lp->path[0] == '/' && lstat(lp->path, &st) == -1 &&
		    errno == ENOENT)
			continue;
		/* Once per key, even if two paths became one ${NAME}. */
		for (k = 0; k < i; k++)
			if (l->paths[k].serving == serving &&
			    (l->paths[k].access & access) &&
			    strcmp(l->paths[k].path, lp->path) == 0)
				break;
		if (k < i)
			continue;
		if (n++ == 0)
			fprintf(w->fp, "%s =", key);
		fprintf(w->fp, " %s", lp->path);
	}
	if (n > 0)
		fprintf(w->fp, "\n");
}

static void
write_size(FILE *fp, const char *key, uint64_t v)
{
	if (v % (UINT64_C(1) << 30) == 0)
		fprintf(fp, "%s = %" PRIu64 "G\n", key, v >> 30);
	else if (v % (UINT64_C(1) << 20) == 0)
		fprintf(fp, "%s = %" PRIu64 "M\n", key, v >> 20);
	else
		fprintf(fp, "%s = %" PRIu64 "\n", key, v);
}

/* What learning says nothing about: as the usual policy has it. */
static void
write_usual_top(struct writer *w)
{
	const struct policy	*u = w->l->usual;

	if (w->l->magic_key != NULL)
		fprintf(w->fp, "magic-config-key = %s\n", w->l->magic_key);
	if (u == NULL)
		return;
	if (u->user_keep)
		fprintf(w->fp, "user = keep\n");
	else if (u->user != NULL)
		fprintf(w->fp, "user = %s\n", u->user);
	if (u->isolation == POLICY_ISOLATION_CONNECTION)
		fprintf(w->fp, "isolation = connection\n");
	if (u->durability != POLICY_DURABILITY_PLUGIN)
		fprintf(w->fp, "durability = %s\n", u->durability ==
		    POLICY_DURABILITY_STATELESS ? "stateless" :
		    u->durability == POLICY_DURABILITY_PERSISTENT ?
		    "persistent" : "volatile");
}

static void
write_usual_limits(struct writer *w)
{
	const struct policy	*u = w->l->usual;

	if (u == NULL || (u->memory == 0 && u->memory_param == NULL &&
	    u->open_files == 0 && u->cpu_seconds == 0))
		return;
	fprintf(w->fp, "\n[limits]\n# As %s has them.\n", u->file);
	if (u->memory_param != NULL)
		fprintf(w->fp, "memory = ${%s} + %" PRIu64 "M\n",
		    u->memory_param, u->memory >> 20);
	else if (u->memory != 0)
		write_size(w->fp, "memory", u->memory);
	if (u->open_files != 0)
		fprintf(w->fp, "open-files = %" PRIu64 "\n", u->open_files);
	if (u->cpu_seconds != 0)
		fprintf(w->fp, "cpu-seconds = %" PRIu64 "\n", u->cpu_seconds);
}

static void
write_network(struct writer *w)
{
	const struct policy_learned	*l = w->l;
	size_t				 i;

	fprintf(w->fp, "\n[network]\n");
	if (l->net & POLICY_NET_ALL) {
		fprintf(w->fp, "allow = all\n");
		return;
	}
	if (l->net == POLICY_NET_NONE) {
		fprintf(w->fp, "allow = none\n");
		return;
	}
	fprintf(w->fp, "allow =");
	if (l->net & POLICY_NET_UNIX)
		fprintf(w->fp, " unix");
	if (l->net & POLICY_NET_TCP_CONNECT) {
		fprintf(w->fp, " tcp-connect");
		for (i = 0; i < l->nports; i++)
			fprintf(w->fp, " %u", (unsigned)l->ports[i]);
	}
	fprintf(w->fp, "\n");
}

/*
 * Write the learned policy l to fp.  Returns 0, or -1 if fp failed.
 */
int
policy_learn_write(const struct policy_learned *l, FILE *fp)
{
	struct writer	*w;
	size_t		 i;
	int		 r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->l = l;
	w->fp = fp;
	builtin_init(w);
	need_init(w);
	fprintf(fp, "# Learned by nbdbroker --learn-policy: what the plugin's "
	    "workers did, and\n# nothing more.  Read it before you use it; "
	    "check it with\n#   nbdbroker --check-policy FILE PLUGIN "
	    "[KEY=VALUE ...]\n");
	for (i = 0; i < l->nnotes; i++)
		fprintf(fp, "# %s\n", l->notes[i]);
	fprintf(fp, "\nformat = %s\n", POLICY_FORMAT);
	write_usual_top(w);
	fprintf(fp, "\n[syscalls]\n# Beyond what the worker itself needs "
	    "(--list-syscall-groups=@worker).\ndefault = errno ENOSYS\n");
	write_allow(w, POLICY_STAGE_SERVING);
	write_allow(w, POLICY_STAGE_STARTUP);
	write_kill(w);
	fprintf(fp, "\n[filesystem]\nlandlock = required\n");
	write_paths(w, "read", true, POLICY_ACCESS_READ);
	write_paths(w, "write", true, POLICY_ACCESS_WRITE);
	write_paths(w, "exec", true, POLICY_ACCESS_EXEC);
	write_paths(w, "startup-read", false, POLICY_ACCESS_READ);
	write_paths(w, "startup-write", false, POLICY_ACCESS_WRITE);
	write_paths(w, "startup-exec", false, POLICY_ACCESS_EXEC);
	write_network(w);
	write_usual_limits(w);
	r = ferror(fp) ? -1 : 0;
	free(w);
	return r;
}
