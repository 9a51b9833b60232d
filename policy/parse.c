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
#include "policy.h"
#include "size.h"

#define MAX_TOKENS	512

enum section {
	SEC_TOP,
	SEC_SYSCALLS,
	SEC_FILESYSTEM,
	SEC_NETWORK,
	SEC_LIMITS,
	SEC_RESTART,
	SEC_COUNT,
};

static const char *const section_names[SEC_COUNT + 1] = {
	"", "syscalls", "filesystem", "network", "limits", "restart", NULL,
};

/* The keys of each section, for messages ("did you mean"). */
static const char *const keys_top[] = { "format", "mode", "isolation",
    "durability", "user", "magic-config-key", "allow-shutdown", NULL };
static const char *const keys_syscalls[] = { "default", "allow",
    "startup-allow", "kill", NULL };
static const char *const keys_filesystem[] = { "landlock", "read",
    "write", "exec", "startup-read", "startup-write", "startup-exec",
    NULL };
static const char *const keys_network[] = { "allow", NULL };
static const char *const keys_limits[] = { "memory", "open-files",
    "cpu-seconds", NULL };
static const char *const keys_restart[] = { "request-timeout",
    "replays", "intensity", NULL };
static const char *const *const section_keys[SEC_COUNT] = {
	keys_top, keys_syscalls, keys_filesystem, keys_network,
	keys_limits, keys_restart,
};

/* Scalar keys: each may be set once. */
enum scalar {
	K_FORMAT, K_MODE, K_ISOLATION, K_USER, K_MAGIC, K_DURABILITY,
	K_DEFAULT, K_LANDLOCK, K_NET_ALLOW, K_MEMORY, K_OPEN_FILES, K_CPU,
	K_TIMEOUT, K_REPLAYS, K_INTENSITY, K_SHUTDOWN, K_NET_HOSTS,
	K_COUNT,
};

/* What the parser knows about one syscall while reading. */
struct acc {
	uint32_t	 startup;
	uint32_t	 serving;
	bool		 kill;
	int		 allow_line;
	const char	*allow_via;
	int		 kill_line;
	const char	*kill_via;
};

struct parser {
	const char	*file;
	int		 line;
	char		*err;
	size_t		 errlen;
	struct policy	*p;
	enum section	 sec;
	bool		 seen_sec[SEC_COUNT];
	int		 seen_key[K_COUNT];	/* line, 0: not yet */
	bool		 format_seen;
	int		 net_line;
	struct acc	*acc;			/* [POLICY_MAX_NR] */
	/* Scratch for the tokens of one line. */
	char		*tok[MAX_TOKENS];
	size_t		 ntok;
};

static int
perr(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the error "file:line: message"; returns -1. */
static int
perr(struct parser *ps, int line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->file, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

/* "a, b, c or d" from a NULL-terminated list, into buf. */
static const char *
word_list(const char *const *names, const char *last_sep, char *buf,
    size_t len)
{
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : names[i + 1] == NULL ? last_sep : ", ",
		    names[i]);
	return buf;
}

/*
 * An unknown key in the current section: the keys it might have meant
 * here, else the section where it belongs, else every key here.
 */
static int
unknown_key(struct parser *ps, const char *key)
{
	struct policy_suggest	 sg;
	const char *const	*k = section_keys[ps->sec];
	char			 where[64] = "", hint[256], list[256];
	int			 i;

	if (ps->sec != SEC_TOP)
		snprintf(where, sizeof(where), " in [%s]",
		    section_names[ps->sec]);
	policy_suggest_init(&sg, key);
	for (; *k != NULL; k++)
		policy_suggest_add(&sg, *k);
	if (policy_suggest_text(&sg, "'", "'", hint, sizeof(hint))[0] != '\0')
		return perr(ps, ps->line, "unknown setting '%s'%s (%s)", key,
		    where, hint);
	for (i = 0; i < SEC_COUNT; i++) {
		if (i == (int)ps->sec)
			continue;
		for (k = section_keys[i]; *k != NULL; k++)
			if (strcmp(*k, key) == 0)
				goto elsewhere;
	}
	word_list(section_keys[ps->sec], ", ", list, sizeof(list));
	if (ps->sec == SEC_TOP)
		return perr(ps, ps->line, "unknown setting '%s' (before the "
		    "first section: %s)", key, list);
	return perr(ps, ps->line, "unknown setting '%s'%s (%s)", key, where,
	    list);

 elsewhere:
	if (i == SEC_TOP)
		return perr(ps, ps->line, "unknown setting '%s'%s ('%s' goes "
		    "before the first section)", key, where, key);
	return perr(ps, ps->line, "unknown setting '%s'%s ('%s' belongs in "
	    "[%s])", key, where, key, section_names[i]);
}

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

static bool
word_chars(const char *s, const char *extra)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' &&
		    strchr(extra, *s) == NULL)
			return false;
	return true;
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

/* A scalar key takes exactly one value and may be set once. */
static int
scalar(struct parser *ps, enum scalar k, const char *key)
{
	if (ps->seen_key[k] != 0)
		return perr(ps, ps->line, "'%s' is set twice (first on line "
		    "%d)", key, ps->seen_key[k]);
	ps->seen_key[k] = ps->line;
	if (ps->ntok != 1 && k != K_DEFAULT && k != K_NET_ALLOW &&
	    k != K_MEMORY && k != K_NET_HOSTS)
		return perr(ps, ps->line, "'%s' takes one value, not %zu",
		    key, ps->ntok);
	return 0;
}

static int
one_of(struct parser *ps, const char *key, const char *v,
    const char *const *names, int *out)
{
	struct policy_suggest	sg;
	char			list[256], hint[256];
	int			i;

	policy_suggest_init(&sg, v);
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
		policy_suggest_add(&sg, names[i]);
	}
	word_list(names, " or ", list, sizeof(list));
	if (policy_suggest_text(&sg, "'", "'", hint, sizeof(hint))[0] != '\0')
		return perr(ps, ps->line, "%s: '%s' is not %s (%s)", key, v,
		    list, hint);
	return perr(ps, ps->line, "%s: '%s' is not %s", key, v, list);
}

static int
key_top(struct parser *ps, const char *key)
{
	static const char *const modes[] = { "enforce", "log", NULL };
	static const char *const isos[] = { "plugin", "connection", NULL };
	struct policy	*p = ps->p;
	const char	*v = ps->tok[0];
	int		 i;

	if (strcmp(key, "mode") == 0) {
		if (scalar(ps, K_MODE, key) == -1 ||
		    one_of(ps, key, v, modes, &i) == -1)
			return -1;
		p->mode = i;
	} else if (strcmp(key, "isolation") == 0) {
		if (scalar(ps, K_ISOLATION, key) == -1 ||
		    one_of(ps, key, v, isos, &i) == -1)
			return -1;
		p->isolation = i;
	} else if (strcmp(key, "durability") == 0) {
		static const char *const durs[] = { "stateless", "persistent",
		    "volatile", NULL };

		if (scalar(ps, K_DURABILITY, key) == -1 ||
		    one_of(ps, key, v, durs, &i) == -1)
			return -1;
		p->durability = POLICY_DURABILITY_STATELESS + i;
	} else if (strcmp(key, "user") == 0) {
		if (scalar(ps, K_USER, key) == -1)
			return -1;
		if (strcmp(v, "keep") == 0)
			p->user_keep = true;
		else if (!word_chars(v, "-.") || strlen(v) > 32 ||
		    v[0] == '-')
			return perr(ps, ps->line, "user: '%s' is not a user "
			    "name, a uid or 'keep'", v);
		else if ((p->user = strdup(v)) == NULL)
			return perr(ps, ps->line, "out of memory");
		p->user_line = ps->line;
	} else if (strcmp(key, "magic-config-key") == 0) {
		if (scalar(ps, K_MAGIC, key) == -1)
			return -1;
		if (!word_chars(v, "-.") || strlen(v) > 64)
			return perr(ps, ps->line, "magic-config-key: '%s' is "
			    "not a parameter name", v);
		if ((p->magic_key = strdup(v)) == NULL)
			return perr(ps, ps->line, "out of memory");
	} else if (strcmp(key, "allow-shutdown") == 0) {
		static const char *const yesno[] = { "no", "yes", NULL };

		if (scalar(ps, K_SHUTDOWN, key) == -1 ||
		    one_of(ps, key, v, yesno, &i) == -1)
			return -1;
		p->allow_shutdown = i == 1;
	} else if (strcmp(key, "format") == 0)
		return perr(ps, ps->line, "'format' is set twice (first on "
		    "line %d)", ps->seen_key[K_FORMAT]);
	else
		return unknown_key(ps, key);
	return 0;
}

/* Record that nr is allowed (how) or killed, from line/via. */
static void
acc_add(struct parser *ps, int nr, uint32_t arg, const char *how,
    const char *via)
{
	struct acc	*a = &ps->acc[nr];

	if (strcmp(how, "kill") == 0) {
		if (!a->kill) {
			a->kill = true;
			a->kill_line = ps->line;
			a->kill_via = via;
		}
		return;
	}
	if (strcmp(how, "allow") == 0)
		a->serving |= arg;
	a->startup |= arg;
	if (a->allow_line == 0) {
		a->allow_line = ps->line;
		a->allow_via = via;
	}
}

/* Keep the line "key = tokens" as written, for policy_print. */
static int
add_rule(struct parser *ps, const char *key)
{
	struct policy		*p = ps->p;
	struct policy_rule	*r;
	size_t			 i, used, len = strlen(key) + 4;
	char			*t;

	for (i = 0; i < ps->ntok; i++)
		len += strlen(ps->tok[i]) + 1;
	if ((t = malloc(len)) == NULL)
		return perr(ps, ps->line, "out of memory");
	used = snprintf(t, len, "%s =", key);
	for (i = 0; i < ps->ntok; i++)
		used += snprintf(t + used, len - used, " %s", ps->tok[i]);
	if ((r = realloc(p->rules, (p->nrules + 1) * sizeof(*r))) == NULL) {
		free(t);
		return perr(ps, ps->line, "out of memory");
	}
	p->rules = r;
	r[p->nrules].line = ps->line;
	r[p->nrules++].text = t;
	return 0;
}

static int
syscall_list(struct parser *ps, const char *key)
{
	char	why[512];
	size_t	i;

	if (ps->ntok == 0)
		return perr(ps, ps->line, "'%s' needs at least one syscall "
		    "or @group", key);
	if (add_rule(ps, key) == -1)
		return -1;
	for (i = 0; i < ps->ntok; i++) {
		const char	*t = ps->tok[i];

		if (t[0] == '@') {
			const struct policy_group_entry	*g, *e;
			const char			*via;
			size_t				 k;

			if ((g = policy_group(t)) == NULL)
				return perr(ps, ps->line, "%s",
				    policy_group_unknown(t, why, sizeof(why)));
			/* Static name, so entries can point at it. */
			for (k = 0; (via = policy_group_name(k)) != NULL; k++)
				if (strcmp(via, t) == 0)
					break;
			for (e = g; e->name != NULL; e++) {
				int	nr = policy_syscall_nr(e->name);

				if (nr >= 0)	/* not on this arch: skip */
					acc_add(ps, nr, e->arg, key, via);
			}
		} else {
			int	nr = policy_syscall_nr(t);
			uint32_t arg = POLICY_ARG_ANY;

			if (nr < 0)
				return perr(ps, ps->line, "%s",
				    policy_syscall_unknown(t, why,
				    sizeof(why)));
			/* [network] decides socket families, always. */
			if (strcmp(t, "socket") == 0)
				arg = POLICY_ARG_SOCKET;
			acc_add(ps, nr, arg, key, NULL);
		}
	}
	return 0;
}

static int
unknown_errno(struct parser *ps, const char *name)
{
	struct policy_suggest	 sg;
	const char		*e;
	char			 hint[256];
	int			 v;

	policy_suggest_init(&sg, name);
	for (v = 1; v < 256; v++)
		if (strcmp(e = policy_errno_name(v), "E?") != 0)
			policy_suggest_add(&sg, e);
	if (policy_suggest_text(&sg, "'", "'", hint, sizeof(hint))[0] != '\0')
		return perr(ps, ps->line, "default: unknown errno '%s' (%s)",
		    name, hint);
	return perr(ps, ps->line, "default: unknown errno '%s'", name);
}

static int
key_syscalls(struct parser *ps, const char *key)
{
	struct policy	*p = ps->p;

	if (strcmp(key, "default") == 0) {
		if (scalar(ps, K_DEFAULT, key) == -1)
			return -1;
		if (ps->ntok == 1 && strcmp(ps->tok[0], "kill") == 0)
			p->dflt = POLICY_DEFAULT_KILL;
		else if (ps->ntok == 1 && strcmp(ps->tok[0], "allow") == 0)
			p->dflt = POLICY_DEFAULT_ALLOW;
		else if (ps->ntok == 2 && strcmp(ps->tok[0], "errno") == 0) {
			p->dflt = POLICY_DEFAULT_ERRNO;
			if ((p->dflt_errno = policy_errno_value(ps->tok[1])) <
			    0)
				return unknown_errno(ps, ps->tok[1]);
		} else
			return perr(ps, ps->line, "default: expected "
			    "'errno NAME', 'kill' or 'allow'");
		return 0;
	}
	if (strcmp(key, "allow") == 0 || strcmp(key, "startup-allow") == 0 ||
	    strcmp(key, "kill") == 0)
		return syscall_list(ps, key);
	return unknown_key(ps, key);
}

static int
add_path(struct parser *ps, const char *t, unsigned access, bool startup)
{
	struct policy		*p = ps->p;
	struct policy_path	*pp;
	size_t			 i;

	if (t[0] == '$') {
		size_t	l = strlen(t);
		char	name[80];

		if (l < 4 || t[1] != '{' || t[l - 1] != '}' || l - 3 >=
		    sizeof(name))
			return perr(ps, ps->line, "'%s': a parameter "
			    "reference is written ${NAME} (or ${NAME?} if "
			    "the parameter is optional)", t);
		memcpy(name, t + 2, l - 3);
		name[l - 3] = '\0';
		/* ${NAME?}: the rule is dropped if NAME= is not given. */
		if (l - 3 > 1 && name[l - 4] == '?')
			name[l - 4] = '\0';
		if (!word_chars(name, "-."))
			return perr(ps, ps->line, "'%s': '%s' is not a "
			    "parameter name", t, name);
	} else if (t[0] != '/')
		return perr(ps, ps->line, "'%s': paths must be absolute "
		    "(or ${PARAMETER})", t);
	else if (strlen(t) >= 4096)
		return perr(ps, ps->line, "path too long");
	/* The same path twice: merge the rights. */
	for (i = 0; i < p->npaths; i++) {
		pp = &p->paths[i];
		if (strcmp(pp->param ? pp->param : pp->path, t) == 0 &&
		    pp->startup_only == startup) {
			pp->access |= access;
			return 0;
		}
	}
	pp = realloc(p->paths, (p->npaths + 1) * sizeof(*pp));
	if (pp == NULL)
		return perr(ps, ps->line, "out of memory");
	p->paths = pp;
	pp = &p->paths[p->npaths];
	memset(pp, 0, sizeof(*pp));
	if (t[0] == '$')
		pp->param = strdup(t);
	else
		pp->path = strdup(t);
	if (pp->param == NULL && pp->path == NULL)
		return perr(ps, ps->line, "out of memory");
	pp->access = access;
	pp->startup_only = startup;
	pp->line = ps->line;
	p->npaths++;
	return 0;
}

static int
key_filesystem(struct parser *ps, const char *key)
{
	static const char *const ll[] = { "required", "best-effort", "off",
	    NULL };
	unsigned	access;
	bool		startup;
	size_t		i;
	int		v;

	if (strcmp(key, "landlock") == 0) {
		if (scalar(ps, K_LANDLOCK, key) == -1 ||
		    one_of(ps, key, ps->tok[0], ll, &v) == -1)
			return -1;
		ps->p->landlock = v;
		return 0;
	}
	if (strcmp(key, "read") == 0 || strcmp(key, "startup-read") == 0)
		access = POLICY_ACCESS_READ;
	else if (strcmp(key, "write") == 0 ||
	    strcmp(key, "startup-write") == 0)
		access = POLICY_ACCESS_WRITE;
	else if (strcmp(key, "exec") == 0 ||
	    strcmp(key, "startup-exec") == 0)
		access = POLICY_ACCESS_EXEC;
	else
		return unknown_key(ps, key);
	startup = strncmp(key, "startup-", 8) == 0;
	if (ps->ntok == 0)
		return perr(ps, ps->line, "'%s' needs at least one path", key);
	for (i = 0; i < ps->ntok; i++)
		if (add_path(ps, ps->tok[i], access, startup) == -1)
			return -1;
	return 0;
}

/*
 * tcp-connect ${NAME}, ${NAME?} or ${NAME:-PORT}: the port(s) the
 * plugin parameter NAME names, found when the policy is resolved
 * (resolve.c); ${NAME?} adds none when NAME= is not given, and
 * ${NAME:-PORT} adds PORT then.
 */
static int
add_ref(struct parser *ps, const char *key, const char *t, char ***list,
    size_t *n)
{
	size_t		 l = strlen(t);
	char		 name[80], *dflt, **v;
	const char	*why;
	uint64_t	 port;

	if (l < 4 || t[1] != '{' || t[l - 1] != '}' || l - 3 >= sizeof(name))
		return perr(ps, ps->line, "%s: '%s': a parameter "
		    "reference is written ${NAME}, ${NAME?}%s", key, t,
		    *list == ps->p->port_refs ? " or ${NAME:-PORT}" : "");
	memcpy(name, t + 2, l - 3);
	name[l - 3] = '\0';
	if ((dflt = strstr(name, ":-")) != NULL &&
	    list == &ps->p->port_refs) {
		*dflt = '\0';
		if (uint_parse(dflt + 2, 1, 65535, &port, &why) == -1)
			return perr(ps, ps->line, "allow: '%s': '%s' is not "
			    "a port (1-65535)", t, dflt + 2);
	} else if (l - 3 > 1 && name[l - 4] == '?')
		name[l - 4] = '\0';
	if (!word_chars(name, "-."))
		return perr(ps, ps->line, "%s: '%s': '%s' is not a "
		    "parameter name", key, t, name);
	if ((v = realloc(*list, (*n + 1) * sizeof(*v))) == NULL)
		return perr(ps, ps->line, "out of memory");
	*list = v;
	if ((v[*n] = strdup(t)) == NULL)
		return perr(ps, ps->line, "out of memory");
	(*n)++;
	return 0;
}

/*
 * hosts = ${NAME}...: TCP connects only to the addresses the hosts
 * the parameters name resolve to (resolve.c), on the tcp-connect
 * ports; the broker makes each connect (broker/connect-behalf.c).
 */
static int
key_hosts(struct parser *ps, const char *key)
{
	struct policy	*p = ps->p;
	size_t		 i;

	if (scalar(ps, K_NET_HOSTS, key) == -1)
		return -1;
	p->hosts_line = ps->line;
	for (i = 0; i < ps->ntok; i++) {
		if (ps->tok[i][0] != '$')
			return perr(ps, ps->line, "hosts: '%s': hosts are "
			    "plugin parameters, ${NAME} or ${NAME?}",
			    ps->tok[i]);
		if (add_ref(ps, key, ps->tok[i], &p->host_refs,
		    &p->nhost_refs) == -1)
			return -1;
	}
	return 0;
}

static int
key_network(struct parser *ps, const char *key)
{
	struct policy	*p = ps->p;
	const char	*why;
	size_t		 i;
	bool		 tcp = false;

	if (strcmp(key, "hosts") == 0)
		return key_hosts(ps, key);
	if (strcmp(key, "allow") != 0)
		return unknown_key(ps, key);
	if (scalar(ps, K_NET_ALLOW, key) == -1)
		return -1;
	ps->net_line = ps->line;
	p->net_line = ps->line;
	if (ps->ntok == 0)
		return perr(ps, ps->line, "allow: expected none, unix, all "
		    "or tcp-connect PORT...");
	for (i = 0; i < ps->ntok; i++) {
		const char	*t = ps->tok[i];
		uint64_t	 port;

		if ((strcmp(t, "none") == 0 || strcmp(t, "all") == 0) &&
		    ps->ntok > 1)
			return perr(ps, ps->line, "allow: '%s' must stand "
			    "alone", t);
		if (strcmp(t, "none") == 0)
			p->net = POLICY_NET_NONE;
		else if (strcmp(t, "all") == 0)
			p->net = POLICY_NET_ALL;
		else if (strcmp(t, "unix") == 0) {
			if (p->net & POLICY_NET_UNIX)
				return perr(ps, ps->line, "allow: 'unix' "
				    "twice");
			p->net |= POLICY_NET_UNIX;
			tcp = false;
		} else if (strcmp(t, "tcp-connect") == 0) {
			if (p->net & POLICY_NET_TCP_CONNECT)
				return perr(ps, ps->line, "allow: "
				    "'tcp-connect' twice");
			p->net |= POLICY_NET_TCP_CONNECT;
			tcp = true;
			if (i + 1 == ps->ntok || (!isdigit((unsigned char)
			    ps->tok[i + 1][0]) && ps->tok[i + 1][0] != '$'))
				return perr(ps, ps->line, "allow: "
				    "tcp-connect needs at least one port");
		} else if (tcp && t[0] == '$') {
			if (add_ref(ps, "allow", t, &p->port_refs,
			    &p->nport_refs) == -1)
				return -1;
		} else if (tcp && isdigit((unsigned char)t[0])) {
			uint16_t	*np;

			if (uint_parse(t, 1, 65535, &port, &why) == -1)
				return perr(ps, ps->line, "allow: '%s' is "
				    "not a port (1-65535)", t);
			np = realloc(p->ports, (p->nports + 1) *
			    sizeof(*np));
			if (np == NULL)
				return perr(ps, ps->line, "out of memory");
			p->ports = np;
			p->ports[p->nports++] = port;
		} else
			return perr(ps, ps->line, "allow: unknown value '%s' "
			    "(none, unix, all, tcp-connect PORT...)", t);
	}
	return 0;
}

static int
key_limits(struct parser *ps, const char *key)
{
	struct policy	*p = ps->p;
	const char	*v = ps->tok[0], *why;
	uint64_t	 n;

	if (strcmp(key, "memory") == 0) {
		if (scalar(ps, K_MEMORY, key) == -1)
			return -1;
		p->memory_line = ps->line;
		/* A number: a size, or an error that says why not. */
		if (ps->ntok == 1 && isdigit((unsigned char)v[0])) {
			if (size_parse(v, UINT64_MAX, &p->memory, &why) == -1)
				return perr(ps, ps->line, "memory: '%s' is "
				    "not a size: %s", v, why);
			return 0;
		}
		if (v[0] == '$' && (ps->ntok == 1 || (ps->ntok == 3 &&
		    strcmp(ps->tok[1], "+") == 0))) {
			size_t	l = strlen(v);

			if (l < 4 || v[1] != '{' || v[l - 1] != '}')
				return perr(ps, ps->line, "memory: '%s': a "
				    "parameter reference is written ${NAME}",
				    v);
			if ((p->memory_param = strndup(v + 2, l - 3)) == NULL)
				return perr(ps, ps->line, "out of memory");
			if (!word_chars(p->memory_param, "-."))
				return perr(ps, ps->line, "memory: '%s' is "
				    "not a parameter name", p->memory_param);
			if (ps->ntok == 3 && size_parse(ps->tok[2],
			    UINT64_MAX, &p->memory, &why) == -1)
				return perr(ps, ps->line, "memory: '%s' is "
				    "not a size: %s", ps->tok[2], why);
			return 0;
		}
		return perr(ps, ps->line, "memory: expected SIZE (e.g. 512M), "
		    "0, or ${PARAMETER} + SIZE");
	}
	if (strcmp(key, "open-files") == 0) {
		if (scalar(ps, K_OPEN_FILES, key) == -1)
			return -1;
		if (uint_parse(v, 0, 1 << 20, &n, &why) == -1 ||
		    (n > 0 && n < 16))
			return perr(ps, ps->line, "open-files: '%s' is not 0 "
			    "(unlimited) or a number from 16 to 1048576", v);
		p->open_files = n;
		return 0;
	}
	if (strcmp(key, "cpu-seconds") == 0) {
		if (scalar(ps, K_CPU, key) == -1)
			return -1;
		if (uint_parse(v, 0, UINT32_MAX, &n, &why) == -1)
			return perr(ps, ps->line, "cpu-seconds: '%s' is not "
			    "a number of seconds (0: unlimited)", v);
		p->cpu_seconds = n;
		return 0;
	}
	return unknown_key(ps, key);
}

static int
key_restart(struct parser *ps, const char *key)
{
	struct policy	*p = ps->p;
	const char	*v = ps->tok[0], *why;
	uint64_t	 n;

	if (strcmp(key, "request-timeout") == 0) {
		if (scalar(ps, K_TIMEOUT, key) == -1)
			return -1;
		if (duration_parse(v, &p->request_timeout_ms, &why) == -1)
			return perr(ps, ps->line, "request-timeout: '%s' is "
			    "not a duration (e.g. 30s, 500ms; 0: none): %s",
			    v, why);
		return 0;
	}
	if (strcmp(key, "replays") == 0) {
		if (scalar(ps, K_REPLAYS, key) == -1)
			return -1;
		if (uint_parse(v, 0, 100, &n, &why) == -1)
			return perr(ps, ps->line, "replays: '%s' is not a "
			    "number from 0 to 100", v);
		p->replays = n;
		return 0;
	}
	if (strcmp(key, "intensity") == 0) {
		if (scalar(ps, K_INTENSITY, key) == -1)
			return -1;
		if (intensity_parse(v, &n, &p->intensity_ms, &why) == -1)
			return perr(ps, ps->line, "intensity: '%s' is not "
			    "CRASHES/DURATION (e.g. 5/60s; CRASHES from 1 to "
			    "%d): %s", v, INTENSITY_MAX, why);
		p->intensity_n = n;
		return 0;
	}
	return unknown_key(ps, key);
}

static int
unknown_section(struct parser *ps, const char *name)
{
	struct policy_suggest	sg;
	char			hint[256], list[128];
	int			i;

	policy_suggest_init(&sg, name);
	for (i = 1; i < SEC_COUNT; i++)
		policy_suggest_add(&sg, section_names[i]);
	if (policy_suggest_text(&sg, "'[", "]'", hint, sizeof(hint))[0] !=
	    '\0')
		return perr(ps, ps->line, "unknown section '[%s]' (%s)", name,
		    hint);
	word_list(section_names + 1, ", ", list, sizeof(list));
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
			if (strcmp(s + 1, section_names[i]) == 0)
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
	switch (ps->sec) {
	case SEC_TOP:		return key_top(ps, key);
	case SEC_SYSCALLS:	return key_syscalls(ps, key);
	case SEC_FILESYSTEM:	return key_filesystem(ps, key);
	case SEC_NETWORK:	return key_network(ps, key);
	case SEC_LIMITS:	return key_limits(ps, key);
	case SEC_RESTART:	return key_restart(ps, key);
	default:		break;
	}
	return perr(ps, ps->line, "internal error: section %d", ps->sec);

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
