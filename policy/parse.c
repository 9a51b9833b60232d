/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy parser.  Strict: an unknown section, key, value, syscall
 * or group, a duplicate setting, a contradiction between settings,
 * anything it does not understand is an error naming the file and
 * the line ("default.policy:12: unknown syscall 'opne'").  It never
 * touches the system (see resolve.c) and never guesses.
 *
 * Grammar, one setting per line:
 *   # comment (to the end of the line)
 *   [section]
 *   key = value ...        values are words separated by blanks;
 *                          "double quotes" keep blanks, \" and \\
 * The first setting must be "format = nbdbroker-policy/1".
 *
 * This file reads lines and sections and runs the checks that need
 * the whole file (finish); each section's keys are in parse-keys.c.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "number.h"
#include "parse.h"
#include "policy.h"
#include "size.h"

static void
free_tokens(struct parser *ps)
{
	size_t	i;

	for (i = 0; i < ps->ntok; i++)
		free(ps->tok[i]);
	ps->ntok = 0;
}

/*
 * Split s into words: blanks separate, "..." quotes (with \" and \\
 * inside), an unquoted # starts a comment.
 */
static int
tokenize(struct parser *ps, const char *s)
{
	free_tokens(ps);
	for (;;) {
		char	buf[POLICY_MAX_LINE];
		size_t	n = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return 0;
		if (ps->ntok == MAX_TOKENS)
			return perr(ps, ps->line, "more than %d values",
			    MAX_TOKENS);
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '\0')
					return perr(ps, ps->line,
					    "unterminated quote");
				if (*s == '"')
					break;
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				buf[n++] = *s++;
			}
			s++;
			if (*s != '\0' && *s != ' ' && *s != '\t' && *s != '#')
				return perr(ps, ps->line, "a quoted value "
				    "must be followed by a blank");
			if (n == 0)
				return perr(ps, ps->line, "empty quoted value");
		} else {
			while (*s != '\0' && *s != ' ' && *s != '\t' &&
			    *s != '#') {
				if (*s == '"')
					return perr(ps, ps->line, "a quote in "
					    "the middle of a value");
				buf[n++] = *s++;
			}
		}
		buf[n] = '\0';
		if ((ps->tok[ps->ntok] = strdup(buf)) == NULL)
			return perr(ps, ps->line, "out of memory");
		ps->ntok++;
	}
}

/*
 * Parse "123", "64K", "512M", "1G", "2GiB", "1T"; 0 is allowed; "1GB"
 * is not (size.h).
 */
int
policy_parse_size(const char *s, uint64_t *v)
{
	const char	*why;

	return size_parse(s, UINT64_MAX, v, &why);
}

/*
 * Is name a parameter name: letters, digits, '_', '-' and '.', at most
 * POLICY_PARAM_NAME_MAX of them?  The rule for magic-config-key, for
 * ${NAME} references, and for a key learned from a worker.
 */
bool
policy_param_name_ok(const char *name)
{
	return word_chars(name, "-.") &&
	    strlen(name) <= POLICY_PARAM_NAME_MAX;
}

static int
unknown_section(struct parser *ps, const char *name)
{
	struct policy_suggest	sg;
	char			hint[256], list[128];
	int			i;

	policy_suggest_init(&sg, name);
	for (i = 1; i < SEC_COUNT; i++)
		policy_suggest_add(&sg, parse_section_names[i]);
	if (policy_suggest_text(&sg, "'[", "]'", hint, sizeof(hint))[0] !=
	    '\0')
		return perr(ps, ps->line, "unknown section '[%s]' (%s)", name,
		    hint);
	word_list(parse_section_names + 1, ", ", list, sizeof(list));
	return perr(ps, ps->line, "unknown section '[%s]' (%s)", name, list);
}

static int
parse_line(struct parser *ps, char *s)
{
	char	*eq, *key, *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[') {
		int	i;

		if ((end = strchr(s, ']')) == NULL)
			return perr(ps, ps->line, "expected '[section]'");
		*end++ = '\0';
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0' && *end != '#')
			return perr(ps, ps->line, "unexpected text after "
			    "'[%s]'", s + 1);
		if (!ps->format_seen)
			goto no_format;
		for (i = 1; i < SEC_COUNT; i++)
			if (strcmp(s + 1, parse_section_names[i]) == 0)
				break;
		if (i == SEC_COUNT)
			return unknown_section(ps, s + 1);
		if (ps->seen_sec[i])
			return perr(ps, ps->line, "section '[%s]' appears "
			    "twice", s + 1);
		ps->seen_sec[i] = true;
		ps->sec = i;
		return 0;
	}
	if ((eq = strchr(s, '=')) == NULL)
		return perr(ps, ps->line, "expected 'key = value' or "
		    "'[section]'");
	*eq = '\0';
	key = s;
	for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t');
	    end--)
		;
	*end = '\0';
	if (!word_chars(key, "-"))
		return perr(ps, ps->line, "'%s' is not a setting name", key);
	if (tokenize(ps, eq + 1) == -1)
		return -1;
	if (ps->ntok == 0)
		return perr(ps, ps->line, "'%s' has no value", key);

	if (!ps->format_seen) {
		if (strcmp(key, "format") != 0)
			goto no_format;
		if (ps->ntok != 1 || strcmp(ps->tok[0], POLICY_FORMAT) != 0)
			return perr(ps, ps->line, "unsupported format '%s' "
			    "(this nbdbroker reads %s)", ps->tok[0],
			    POLICY_FORMAT);
		ps->format_seen = true;
		ps->seen_key[K_FORMAT] = ps->line;
		return 0;
	}
	return parse_key(ps, key);

 no_format:
	return perr(ps, ps->line, "the first setting must be 'format = %s'",
	    POLICY_FORMAT);
}

/* Can the complement of variant arg be expressed (for a tripwire)? */
static bool
complementable(uint32_t arg)
{
	return arg == POLICY_ARG_THREAD || arg == POLICY_ARG_NOEXEC ||
	    arg == POLICY_ARG_SELF || arg == POLICY_ARG_FILTER ||
	    arg == POLICY_ARG_NOSECCOMP;
}

static bool
is_enosys(int nr)
{
	const struct policy_group_entry	*e;

	for (e = policy_group("@enosys"); e->name != NULL; e++)
		if (policy_syscall_nr(e->name) == nr)
			return true;
	return false;
}

/* Add the implicit groups (line 0) to the accumulator. */
static void
add_implicit(struct parser *ps)
{
	const char	*g, *via;
	size_t		 i, k;

	for (i = 0; (g = policy_worker_groups[i]) != NULL; i++) {
		const struct policy_group_entry	*e;
		bool				 both;

		if (strcmp(g, "@enosys") == 0)
			continue;
		for (k = 0; (via = policy_group_name(k)) != NULL; k++)
			if (strcmp(via, g) == 0)
				break;
		both = strcmp(g, "@worker") == 0;
		for (e = policy_group(g); e->name != NULL; e++) {
			struct acc	*a;
			int		 nr;

			if ((nr = policy_syscall_nr(e->name)) < 0)
				continue;
			a = &ps->acc[nr];
			if (both)
				a->serving |= e->arg;
			a->startup |= e->arg;
			if (a->allow_line == 0 && a->allow_via == NULL)
				a->allow_via = via;
		}
	}
}

/* A tripwire must not contradict what is allowed. */
static int
check_kill(struct parser *ps, int nr)
{
	struct acc	*a = &ps->acc[nr];
	uint32_t	 a1 = a->startup, a2 = a->serving;
	char		 name[64], from[64];

	policy_syscall_name_buf(nr, name, sizeof(name));
	if (a->allow_line > 0)
		snprintf(from, sizeof(from), "line %d", a->allow_line);
	else
		snprintf(from, sizeof(from), "%s", a->allow_via ?
		    a->allow_via : "?");
	if (is_enosys(nr))
		return perr(ps, a->kill_line, "'%s' cannot be in kill: libc "
		    "probes it and falls back when it fails with ENOSYS",
		    name);
	if (a1 & POLICY_ARG_ANY) {
		if (a->allow_line > 0)
			return perr(ps, a->kill_line, "'%s' is both allowed "
			    "(line %d) and in kill", name, a->allow_line);
		return perr(ps, a->kill_line, "'%s' cannot be in kill: the "
		    "worker needs it (%s)", name, from);
	}
	if (a1 != 0 && (!complementable(a1) || (a2 != 0 && a2 != a1)))
		return perr(ps, a->kill_line, "'%s' is allowed with argument "
		    "restrictions (%s); it cannot also be in kill", name,
		    from);
	return 0;
}

/*
 * A plugin must never add a seccomp filter of its own: one that
 * answers a tripwire with an errno outranks the broker's user
 * notification, and the tripwire stays silent.  When the worker loads
 * filters at all (filtered), every way to add one is a tripwire but
 * the worker's own (seccomp: POLICY_ARG_FILTER), and prctl, if the
 * policy or its default allows it, is allowed for every option but
 * PR_SET_SECCOMP, which is a tripwire.
 */
static int
seccomp_guard(struct parser *ps, bool filtered)
{
	int		 sc_nr = policy_syscall_nr("seccomp");
	int		 pr_nr = policy_syscall_nr("prctl");
	struct acc	*a;

	if (sc_nr >= 0 && ps->acc[sc_nr].allow_line > 0)
		return perr(ps, ps->acc[sc_nr].allow_line, "'seccomp' cannot "
		    "be allowed: a filter of the plugin's own could hide the "
		    "policy's tripwires (the worker loads its filters "
		    "itself)");
	if (!filtered)
		return 0;
	if (sc_nr >= 0 && !ps->acc[sc_nr].kill) {
		ps->acc[sc_nr].kill = true;
		ps->acc[sc_nr].kill_via = "@worker-startup";
	}
	if (pr_nr < 0 || ps->acc[pr_nr].kill)
		return 0;
	a = &ps->acc[pr_nr];
	if (a->startup == 0 && ps->p->dflt != POLICY_DEFAULT_ALLOW)
		return 0;	/* the default denies every prctl */
	if (a->startup == 0) {
		a->startup = a->serving = POLICY_ARG_ANY;
		a->allow_via = "default allow";
	}
	a->startup = POLICY_ARG_NOSECCOMP;
	if (a->serving != 0)
		a->serving = POLICY_ARG_NOSECCOMP;
	a->kill = true;
	a->kill_via = "PR_SET_SECCOMP";
	return 0;
}

/*
 * After the last line: add what the worker always needs, check
 * contradictions, and turn the accumulator into p->sc.
 */
static int
finish(struct parser *ps)
{
	struct policy	*p = ps->p;
	size_t		 n = 0;
	int		 nr, s_nr = policy_syscall_nr("socket");
	int		 c_nr = policy_syscall_nr("connect");
	bool		 filtered = p->dflt != POLICY_DEFAULT_ALLOW;

	add_implicit(ps);
	if (p->hosts_line != 0) {
		if (!(p->net & POLICY_NET_TCP_CONNECT) ||
		    (p->net & POLICY_NET_ALL))
			return perr(ps, p->hosts_line, "hosts: needs allow "
			    "= tcp-connect PORT... (the hosts' ports)");
		p->net |= POLICY_NET_HOSTS;
	}
	if (ps->net_line != 0 && p->net != POLICY_NET_NONE &&
	    p->net != POLICY_NET_ALL && (s_nr < 0 || c_nr < 0 ||
	    !ps->acc[s_nr].serving || !ps->acc[c_nr].serving))
		return perr(ps, ps->net_line, "[network] allows sockets, but "
		    "[syscalls] allow has no socket and connect (add "
		    "@network)");
	for (nr = 0; nr < POLICY_MAX_NR; nr++)
		if (ps->acc[nr].kill) {
			if (check_kill(ps, nr) == -1)
				return -1;
			filtered = true;
		}
	if (seccomp_guard(ps, filtered) == -1)
		return -1;

	for (nr = 0; nr < POLICY_MAX_NR; nr++)
		if (ps->acc[nr].startup || ps->acc[nr].kill || is_enosys(nr))
			n++;
	if ((p->sc = calloc(n ? n : 1, sizeof(*p->sc))) == NULL)
		return perr(ps, 1, "out of memory");
	for (nr = 0; nr < POLICY_MAX_NR; nr++) {
		struct acc		*a = &ps->acc[nr];
		struct policy_syscall	*s;
		char			 name[64];
		bool			 enosys = is_enosys(nr);

		if (!a->startup && !a->kill && !enosys)
			continue;
		s = &p->sc[p->nsc++];
		s->nr = nr;
		policy_syscall_name_buf(nr, name, sizeof(name));
		if ((s->name = strdup(name)) == NULL)
			return perr(ps, 1, "out of memory");
		s->startup = a->startup & POLICY_ARG_ANY ? POLICY_ARG_ANY :
		    a->startup;
		s->serving = a->serving & POLICY_ARG_ANY ? POLICY_ARG_ANY :
		    a->serving;
		s->kill = a->kill;
		s->enosys = enosys && !a->startup;
		s->allow_line = a->allow_line;
		s->allow_via = a->allow_via;
		s->kill_line = a->kill_line;
		s->kill_via = a->kill_via;
	}
	return 0;
}

void
policy_free(struct policy *p)
{
	size_t	i;

	if (p == NULL)
		return;
	free(p->file);
	free(p->user);
	free(p->magic_key);
	for (i = 0; i < p->nsc; i++)
		free(p->sc[i].name);
	free(p->sc);
	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].text);
	free(p->rules);
	for (i = 0; i < p->npaths; i++) {
		free(p->paths[i].path);
		free(p->paths[i].param);
	}
	free(p->paths);
	free(p->ports);
	for (i = 0; i < p->nport_refs; i++)
		free(p->port_refs[i]);
	free(p->port_refs);
	for (i = 0; i < p->nhost_refs; i++)
		free(p->host_refs[i]);
	free(p->host_refs);
	for (i = 0; i < p->naddrs; i++)
		free(p->addrs[i].host);
	free(p->addrs);
	free(p->memory_param);
	for (i = 0; i < p->merge_nstrs; i++)
		free(p->merge_strs[i]);
	free(p->merge_strs);
	free(p);
}

static struct policy *
policy_new(const char *name)
{
	struct policy	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->file = strdup(name)) == NULL) {
		free(p);
		return NULL;
	}
	p->mode = POLICY_MODE_ENFORCE;
	p->isolation = POLICY_ISOLATION_PLUGIN;
	p->dflt = POLICY_DEFAULT_ERRNO;
	p->dflt_errno = ENOSYS;
	p->landlock = POLICY_LANDLOCK_REQUIRED;
	p->net = POLICY_NET_NONE;
	p->replays = 2;
	p->intensity_n = 5;
	p->intensity_ms = 60 * 1000;
	p->request_timeout_ms = 30 * 1000;
	return p;
}

/*
 * Parse a policy held in memory; name is used in messages.  Returns
 * a new policy (free with policy_free), or NULL with err set to
 * "name:line: problem".
 */
struct policy *
policy_parse_buf(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct parser	 ps;
	struct policy	*p = NULL;
	const char	*s = buf, *e = buf + len;
	char		 line[POLICY_MAX_LINE + 1];

	memset(&ps, 0, sizeof(ps));
	ps.file = name;
	ps.err = err;
	ps.errlen = errlen;
	if ((ps.acc = calloc(POLICY_MAX_NR, sizeof(*ps.acc))) == NULL ||
	    (p = ps.p = policy_new(name)) == NULL) {
		perr(&ps, 1, "out of memory");
		goto fail;
	}
	if (len > POLICY_MAX_SIZE) {
		perr(&ps, 1, "larger than %d bytes", POLICY_MAX_SIZE);
		goto fail;
	}
	while (s < e) {
		const char	*nl = memchr(s, '\n', e - s);
		size_t		 l = (nl ? nl : e) - s;

		ps.line++;
		if (l > POLICY_MAX_LINE) {
			perr(&ps, ps.line, "line longer than %d bytes",
			    POLICY_MAX_LINE);
			goto fail;
		}
		if (memchr(s, '\0', l) != NULL) {
			perr(&ps, ps.line, "NUL byte");
			goto fail;
		}
		memcpy(line, s, l);
		line[l] = '\0';
		if (l > 0 && line[l - 1] == '\r')
			line[l - 1] = '\0';
		if (parse_line(&ps, line) == -1)
			goto fail;
		s = nl ? nl + 1 : e;
	}
	if (!ps.format_seen) {
		perr(&ps, ps.line ? ps.line : 1, "no settings: the first "
		    "setting must be 'format = %s'", POLICY_FORMAT);
		goto fail;
	}
	if (finish(&ps) == -1)
		goto fail;
	free_tokens(&ps);
	free(ps.acc);
	return p;

 fail:
	free_tokens(&ps);
	free(ps.acc);
	policy_free(p);
	return NULL;
}

struct policy *
policy_parse_file(const char *path, char *err, size_t errlen)
{
	struct policy	*p;
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size > POLICY_MAX_SIZE) {
		snprintf(err, errlen, "%s:1: larger than %d bytes", path,
		    POLICY_MAX_SIZE);
		close(fd);
		return NULL;
	}
	if ((buf = malloc(st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	p = policy_parse_buf(path, buf, got, err, errlen);
	free(buf);
	return p;
}
