/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy parser, each section's keys: what a key takes, each
 * value checked, and the error when a key or value is unknown (with
 * what it might have meant).  parse.c reads the lines and calls
 * parse_key for each setting.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "parse.h"
#include "policy.h"
#include "size.h"

const char *const parse_section_names[SEC_COUNT + 1] = {
	"", "syscalls", "filesystem", "network", "limits", "restart", NULL,
};

/* The keys of each section, for messages ("did you mean"). */
static const char *const keys_top[] = { "format", "mode", "isolation",
    "durability", "user", "magic-config-key", "allow-shutdown", NULL };
static const char *const keys_syscalls[] = { "default", "allow",
    "startup-allow", "kill", NULL };
static const char *const keys_filesystem[] = { "landlock", "read",
    "write", "exec", "startup-read", "startup-write", "startup-exec",
    "open-on-behalf", NULL };
static const char *const keys_network[] = { "allow", NULL };
static const char *const keys_limits[] = { "memory", "open-files",
    "cpu-seconds", NULL };
static const char *const keys_restart[] = { "request-timeout",
    "replays", "intensity", NULL };
static const char *const *const section_keys[SEC_COUNT] = {
	keys_top, keys_syscalls, keys_filesystem, keys_network,
	keys_limits, keys_restart,
};

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
		    parse_section_names[ps->sec]);
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
	    "[%s])", key, where, key, parse_section_names[i]);
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
		if (!policy_param_name_ok(v))
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
		if (!policy_param_name_ok(name))
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
	if (strcmp(key, "open-on-behalf") == 0) {
		static const char *const yesno[] = { "no", "yes", NULL };

		if (scalar(ps, K_BEHALF, key) == -1 ||
		    one_of(ps, key, ps->tok[0], yesno, &v) == -1)
			return -1;
		ps->p->no_behalf = v == 0;
		ps->p->no_behalf_line = ps->line;
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
	if (!policy_param_name_ok(name))
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
			if (!policy_param_name_ok(p->memory_param))
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

int
parse_key(struct parser *ps, const char *key)
{
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
}
