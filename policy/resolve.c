/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Resolving a parsed policy for one export, in the broker: ${NAME}
 * references become the plugin parameter's value (an absolute, real
 * path, which must exist), the user is looked up, and the paths the
 * worker needs at start-up (the plugin, the dynamic loader's
 * directories) are added.  Errors name the policy file and the line
 * of the setting that cannot be resolved.
 *
 * Every path becomes real (no symbolic link in it) and is pinned to
 * the device and inode it names now: each worker grants a rule only to
 * that object (worker/sandbox-landlock.c), whatever the path names by
 * the time the worker starts.
 *
 * Trust: ${NAME} hands authority to whoever writes the command line
 * (file=/etc/shadow makes ${file} mean /etc/shadow).  That is the
 * admin who starts the server; a policy file cannot widen it.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "number.h"
#include "policy.h"
#include "size.h"

static int
rerr(const struct policy *p, char *err, size_t errlen, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
rerr(const struct policy *p, char *err, size_t errlen, int line,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(err, errlen, "%s:%d: ", p->file, line);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whether env's parameter pa is a value of plugin parameter name. */
static bool
param_is(const struct policy *p, const struct policy_param *pa,
    const char *name)
{
	if (pa->key != NULL)
		return strcmp(pa->key, name) == 0;
	return p->magic_key != NULL && strcmp(p->magic_key, name) == 0;
}

/*
 * The value of plugin parameter name: the last name=VALUE, or, if
 * name is the policy's magic-config-key, the last bare word.
 */
static const char *
param_value(const struct policy *p, const struct policy_env *env,
    const char *name)
{
	const char	*v = NULL;
	size_t		 i;

	for (i = 0; i < env->nparams; i++)
		if (param_is(p, &env->params[i], name))
			v = env->params[i].value;
	return v;
}

/*
 * The nth value (0: the first) of plugin parameter name, in command
 * line order, or NULL if it is given fewer times.  A path rule names
 * every value of a repeated parameter (split's file=A file=B).
 */
static const char *
param_nth(const struct policy *p, const struct policy_env *env,
    const char *name, unsigned nth)
{
	size_t	i;

	for (i = 0; i < env->nparams; i++)
		if (param_is(p, &env->params[i], name) && nth-- == 0)
			return env->params[i].value;
	return NULL;
}

/* How many times plugin parameter name is given. */
static unsigned
param_count(const struct policy *p, const struct policy_env *env,
    const char *name)
{
	unsigned	n = 0;
	size_t		i;

	for (i = 0; i < env->nparams; i++)
		if (param_is(p, &env->params[i], name))
			n++;
	return n;
}

/*
 * Split a reference the parser accepted, ${NAME}, ${NAME?} or
 * ${NAME:-VALUE}, into NAME (in name), whether it is optional, and
 * VALUE (NULL when there is none; it points into name).
 */
static void
ref_split(const char *ref, char *name, size_t namelen, bool *optional,
    const char **dflt)
{
	size_t	 l = strlen(ref);
	char	*d;

	snprintf(name, namelen, "%.*s", (int)(l - 3), ref + 2);
	*optional = false;
	*dflt = NULL;
	if ((d = strstr(name, ":-")) != NULL) {
		*d = '\0';
		*dflt = d + 2;
	} else if ((l = strlen(name)) > 0 && name[l - 1] == '?') {
		*optional = true;
		name[l - 1] = '\0';
	}
}

/*
 * The policy needs plugin parameter name (at line, for what) and the
 * command line does not give it.  The mistake is on the command line,
 * so it is said as the plugin's parameter error, with the parameter
 * given that looks most like it (a typo: sise=1G for size=), and the
 * policy line as the reason it is needed.  Before any worker runs:
 * without the value the policy cannot be enforced, and the plugin's
 * own code must not run under anything else.
 */
static int
missing_param(const struct policy *p, const struct policy_env *env,
    int line, const char *name, const char *what, char *err, size_t errlen)
{
	struct policy_suggest	sg;
	char			hint[256];
	size_t			i;

	policy_suggest_init(&sg, name);
	for (i = 0; i < env->nparams; i++)
		if (env->params[i].key != NULL)
			policy_suggest_add(&sg, env->params[i].key);
	policy_suggest_text(&sg, "", "=", hint, sizeof(hint));
	snprintf(err, errlen, "%s: no parameter %s= given%s%s%s%s; the "
	    "policy %s:%d needs it for %s", env->plugin_name ?
	    env->plugin_name : "plugin", name, p->magic_key &&
	    strcmp(p->magic_key, name) == 0 ? ", nor a bare word" : "",
	    hint[0] != '\0' ? " (" : "", hint, hint[0] != '\0' ? ")" : "",
	    p->file, line, what);
	return -1;
}

/*
 * Pin pp to what its real path names now.  lstat: realpath left no
 * link to follow, and a link put there since is not what was resolved.
 */
static int
identify(struct policy_path *pp)
{
	struct stat	st;

	if (lstat(pp->path, &st) == -1)
		return -1;
	if (S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	pp->dev = st.st_dev;
	pp->ino = st.st_ino;
	return 0;
}

/*
 * Add a path rule to p, real and pinned, as the resolver adds what the
 * worker itself needs (the loader's paths, the plugin; the broker adds
 * each filter's .so the same way): an optional path that does not
 * exist is left out; a rule for the same real path and stage gets the
 * access added (/lib is /usr/lib on merged-/usr systems).  Returns 0,
 * or -1 with errno.
 */
int
policy_add_path(struct policy *p, const char *path, unsigned access,
    bool startup_only, bool optional, const char *why)
{
	struct policy_path	*pp;
	char			*real;
	size_t			 i;

	if ((real = realpath(path, NULL)) == NULL)
		return optional && errno != ENOMEM ? 0 : -1;
	for (i = 0; i < p->npaths; i++) {
		pp = &p->paths[i];
		if (pp->path != NULL && pp->param == NULL &&
		    strcmp(pp->path, real) == 0 &&
		    pp->startup_only == startup_only) {
			pp->access |= access;
			pp->optional = pp->optional && optional;
			free(real);
			return 0;
		}
	}
	pp = realloc(p->paths, (p->npaths + 1) * sizeof(*pp));
	if (pp == NULL) {
		free(real);
		return -1;
	}
	p->paths = pp;
	pp = &p->paths[p->npaths];
	memset(pp, 0, sizeof(*pp));
	pp->path = real;
	pp->access = access;
	pp->startup_only = startup_only;
	pp->optional = optional;
	pp->why = why;
	if (identify(pp) == -1) {
		free(real);
		return optional && errno != ENOMEM ? 0 : -1;
	}
	p->npaths++;
	return 0;
}

static int
resolve_user(struct policy *p, const struct policy_env *env, char *err,
    size_t errlen)
{
	const char	*name = p->user ? p->user : "nobody", *why;
	struct passwd	*pw;
	uint64_t	 n;

	p->switch_user = env->root && !p->user_keep;
	if (p->user_keep)
		return 0;
	if (uint_parse(name, 0, UINT32_MAX - 1, &n, &why) == 0) {
		if ((pw = getpwuid(n)) != NULL) {
			p->uid = pw->pw_uid;
			p->gid = pw->pw_gid;
		} else {
			p->uid = n;
			p->gid = n;
		}
	} else if ((pw = getpwnam(name)) != NULL) {
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
	} else
		return rerr(p, err, errlen, p->user_line ? p->user_line : 1,
		    "user: no user '%s'%s", name, p->user ? "" :
		    " (the default; set user = NAME or user = keep)");
	if (p->uid == 0 || p->gid == 0)
		return rerr(p, err, errlen, p->user_line ? p->user_line : 1,
		    "user: '%s' is root (uid %u, gid %u), not an "
		    "unprivileged user", name, (unsigned)p->uid,
		    (unsigned)p->gid);
	return 0;
}

static int
resolve_path(struct policy *p, struct policy_path *pp,
    const struct policy_env *env, char *err, size_t errlen)
{
	char		 name[80], what[96], *joined = NULL, *real;
	const char	*v, *dflt;
	bool		 optional;

	if (pp->param != NULL) {
		ref_split(pp->param, name, sizeof(name), &optional, &dflt);
		if ((v = param_nth(p, env, name, pp->nth)) == NULL) {
			if (env->check_only)
				return 0;	/* printed as ${NAME} */
			if (optional)
				return 1;	/* not given: no rule */
			snprintf(what, sizeof(what), "the path %s",
			    pp->param);
			return missing_param(p, env, pp->line, name, what, err,
			    errlen);
		}
		if (*v == '\0')
			return rerr(p, err, errlen, pp->line, "%s: the %s= "
			    "parameter is empty", pp->param, name);
		if (v[0] != '/' && env->cwd != NULL) {
			if (asprintf(&joined, "%s/%s", env->cwd, v) == -1)
				return rerr(p, err, errlen, pp->line,
				    "out of memory");
			v = joined;
		}
		if ((real = realpath(v, NULL)) == NULL) {
			rerr(p, err, errlen, pp->line, "%s = '%s': %s",
			    pp->param, v, strerror(errno));
			free(joined);
			return -1;
		}
		free(joined);
	} else if ((real = realpath(pp->path, NULL)) == NULL)
		return rerr(p, err, errlen, pp->line, "'%s': %s", pp->path,
		    strerror(errno));
	free(pp->path);
	pp->path = real;
	if (identify(pp) == -1)
		return rerr(p, err, errlen, pp->line, "'%s': %s", pp->path,
		    strerror(errno));
	return 0;
}

/*
 * The TCP port a plugin parameter's value names, for tcp-connect
 * ${NAME}: a port (10809), HOST:PORT or [IPV6]:PORT, or a URL,
 * SCHEME://[USER@]HOST[:PORT][/...], whose port is the scheme's
 * (http 80, https 443, nbd and nbds 10809, ssh 22, ftp 21) when the URL
 * gives none.  Returns 0 with *port, 1 when the value names no TCP
 * connection (a +unix URL: nbd+unix:///?socket=...), or -1 with *why.
 */
static int
port_of(const char *v, uint16_t *port, const char **why)
{
	static const struct {
		const char	*scheme;
		uint16_t	 port;
	} dflt[] = {
		{ "http", 80 }, { "https", 443 }, { "nbd", 10809 },
		{ "nbds", 10809 }, { "ssh", 22 }, { "ftp", 21 },
	};
	const char	*sep, *host, *end, *at, *colon;
	char		 num[8];
	uint64_t	 n;
	size_t		 i, l;

	if ((sep = strstr(v, "://")) != NULL) {
		l = sep - v;
		if (l > 5 && strncmp(sep - 5, "+unix", 5) == 0)
			return 1;
		host = sep + 3;
		end = host + strcspn(host, "/?#");
		/* userinfo: up to the last @ of the authority */
		for (at = host; at < end; at++)
			if (*at == '@')
				host = at + 1;
		if (*host == '[') {
			if ((colon = memchr(host, ']', end - host)) == NULL) {
				*why = "an IPv6 address without ']'";
				return -1;
			}
			colon++;
			if (colon < end && *colon != ':') {
				*why = "something after ']' that is not :PORT";
				return -1;
			}
		} else if ((colon = memchr(host, ':', end - host)) == NULL)
			colon = end;
		if (colon < end) {
			if ((size_t)(end - colon - 1) >= sizeof(num))
				goto bad_port;
			snprintf(num, sizeof(num), "%.*s",
			    (int)(end - colon - 1), colon + 1);
			goto number;
		}
		for (i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
			if (strlen(dflt[i].scheme) == l &&
			    strncasecmp(v, dflt[i].scheme, l) == 0) {
				*port = dflt[i].port;
				return 0;
			}
		*why = "a URL with no port, of a scheme with no known port";
		return -1;
	}
	if ((colon = strrchr(v, ':')) != NULL) {
		if (v[0] == '[' ? colon[-1] != ']' :
		    memchr(v, ':', colon - v) != NULL) {
			*why = "an IPv6 address without [ADDRESS]:PORT";
			return -1;
		}
		v = colon + 1;
	} else if (!isdigit((unsigned char)v[0])) {
		*why = "a host without :PORT";
		return -1;
	}
	if (strlen(v) >= sizeof(num))
		goto bad_port;
	snprintf(num, sizeof(num), "%s", v);
 number:
	if (uint_parse(num, 1, 65535, &n, why) == -1)
		goto bad_port;
	*port = n;
	return 0;

 bad_port:
	*why = "the port is not a number 1-65535";
	return -1;
}

/* Add port to p's tcp-connect ports, once. */
static int
add_port(struct policy *p, uint16_t port)
{
	uint16_t	*v;
	size_t		 i;

	for (i = 0; i < p->nports; i++)
		if (p->ports[i] == port)
			return 0;
	if ((v = realloc(p->ports, (p->nports + 1) * sizeof(*v))) == NULL)
		return -1;
	p->ports = v;
	p->ports[p->nports++] = port;
	return 0;
}

/*
 * tcp-connect ${NAME}: the ports every value of NAME= names (port_of);
 * ${NAME?} none and ${NAME:-PORT} PORT when NAME= is not given.  Each
 * port is logged by the broker with the policy (policy_print), and the
 * reference is gone once resolved.
 */
static int
resolve_ports(struct policy *p, const struct policy_env *env, char *err,
    size_t errlen)
{
	char		 name[80], what[96];
	const char	*ref, *v, *why, *dflt;
	uint64_t	 n;
	uint16_t	 port;
	unsigned	 k;
	size_t		 i;
	bool		 optional;
	int		 r;

	for (i = 0; i < p->nport_refs; i++) {
		ref = p->port_refs[i];
		ref_split(ref, name, sizeof(name), &optional, &dflt);
		if (param_count(p, env, name) == 0) {
			if (dflt != NULL) {
				if (uint_parse(dflt, 1, 65535, &n,
				    &why) == -1 || add_port(p, n) == -1)
					goto oom;
				continue;
			}
			if (optional)
				continue;
			snprintf(what, sizeof(what), "[network] tcp-connect "
			    "%s", ref);
			return missing_param(p, env, p->net_line, name, what,
			    err, errlen);
		}
		for (k = 0; (v = param_nth(p, env, name, k)) != NULL; k++) {
			if ((r = port_of(v, &port, &why)) == -1) {
				snprintf(err, errlen, "%s: parameter %s=%s "
				    "names no TCP port: %s; the policy %s:%d "
				    "reads it for [network] tcp-connect %s",
				    env->plugin_name ? env->plugin_name :
				    "plugin", name, v, why, p->file,
				    p->net_line, ref);
				return -1;
			}
			if (r == 0 && add_port(p, port) == -1)
				goto oom;
		}
	}
	for (i = 0; i < p->nport_refs; i++)
		free(p->port_refs[i]);
	free(p->port_refs);
	p->port_refs = NULL;
	p->nport_refs = 0;
	return 0;

 oom:
	return rerr(p, err, errlen, p->net_line, "out of memory");
}

/*
 * The host a plugin parameter's value names, for hosts = ${NAME}: a
 * host name or address, HOST:PORT, [IPV6]:PORT, or a URL's host.
 * Returns 0 with host, 1 when the value names no TCP connection (a
 * +unix URL), or -1 with *why.
 */
static int
host_of(const char *v, char *host, size_t len, const char **why)
{
	const char	*sep, *h = v, *end, *at, *colon;

	if ((sep = strstr(v, "://")) != NULL) {
		if (sep - v > 5 && strncmp(sep - 5, "+unix", 5) == 0)
			return 1;
		h = sep + 3;
		end = h + strcspn(h, "/?#");
		for (at = h; at < end; at++)
			if (*at == '@')
				h = at + 1;
	} else
		end = v + strlen(v);
	if (*h == '[') {
		if ((colon = memchr(h, ']', end - h)) == NULL) {
			*why = "an IPv6 address without ']'";
			return -1;
		}
		h++;
		end = colon;
	} else if ((colon = memchr(h, ':', end - h)) != NULL &&
	    memchr(colon + 1, ':', end - colon - 1) == NULL)
		end = colon;	/* HOST:PORT; more colons: IPv6 */
	if (end == h || (size_t)(end - h) >= len) {
		*why = end == h ? "no host" : "the host name is too long";
		return -1;
	}
	snprintf(host, len, "%.*s", (int)(end - h), h);
	if (strspn(host, "0123456789") == strlen(host)) {
		*why = "a port, not a host";
		return -1;
	}
	return 0;
}

/* Add what host resolved to (ai) to p->addrs, once each. */
static int
add_addrs(struct policy *p, const struct addrinfo *ai, const char *ref,
    const char *host)
{
	struct policy_addr	 a, *v;
	size_t			 i;

	for (; ai != NULL; ai = ai->ai_next) {
		memset(&a, 0, sizeof(a));
		a.family = ai->ai_family;
		if (ai->ai_family == AF_INET)
			memcpy(a.addr, &((struct sockaddr_in *)
			    ai->ai_addr)->sin_addr, 4);
		else if (ai->ai_family == AF_INET6)
			memcpy(a.addr, &((struct sockaddr_in6 *)
			    ai->ai_addr)->sin6_addr, 16);
		else
			continue;
		for (i = 0; i < p->naddrs; i++)
			if (p->addrs[i].family == a.family &&
			    memcmp(p->addrs[i].addr, a.addr, 16) == 0)
				break;
		if (i < p->naddrs)
			continue;
		if ((v = realloc(p->addrs, (p->naddrs + 1) *
		    sizeof(*v))) == NULL)
			return -1;
		p->addrs = v;
		a.ref = ref;
		if ((a.host = strdup(host)) == NULL)
			return -1;
		p->addrs[p->naddrs++] = a;
	}
	return 0;
}

/*
 * hosts = ${NAME}: the addresses the host of every value of NAME=
 * resolves to, now (getaddrinfo, in the broker at start-up): the
 * broker connects the worker to those only, on the tcp-connect ports.
 * ${NAME?} adds none when NAME= is not given.  The references stay
 * (the addresses point at them, for the broker's messages).
 */
static int
resolve_hosts(struct policy *p, const struct policy_env *env, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *ai;
	char		 name[80], what[96], host[256];
	const char	*ref, *v, *why, *dflt;
	unsigned	 k;
	size_t		 i;
	bool		 optional;
	int		 r;

	for (i = 0; i < p->nhost_refs; i++) {
		ref = p->host_refs[i];
		ref_split(ref, name, sizeof(name), &optional, &dflt);
		if (param_count(p, env, name) == 0) {
			if (optional)
				continue;
			snprintf(what, sizeof(what), "[network] hosts %s",
			    ref);
			return missing_param(p, env, p->hosts_line, name,
			    what, err, errlen);
		}
		for (k = 0; (v = param_nth(p, env, name, k)) != NULL; k++) {
			if ((r = host_of(v, host, sizeof(host), &why)) == 1)
				continue;
			if (r == -1) {
				snprintf(err, errlen, "%s: parameter %s=%s "
				    "names no host: %s; the policy %s:%d "
				    "reads it for [network] hosts %s",
				    env->plugin_name ? env->plugin_name :
				    "plugin", name, v, why, p->file,
				    p->hosts_line, ref);
				return -1;
			}
			memset(&hints, 0, sizeof(hints));
			hints.ai_family = AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			if ((r = getaddrinfo(host, NULL, &hints, &ai)) != 0) {
				snprintf(err, errlen, "%s: parameter %s=%s: "
				    "host %s: %s; the policy %s:%d reads it "
				    "for [network] hosts %s",
				    env->plugin_name ? env->plugin_name :
				    "plugin", name, v, host, gai_strerror(r),
				    p->file, p->hosts_line, ref);
				return -1;
			}
			r = add_addrs(p, ai, ref, host);
			freeaddrinfo(ai);
			if (r == -1)
				return rerr(p, err, errlen, p->hosts_line,
				    "out of memory");
		}
	}
	p->hosts_resolved = true;
	return 0;
}

/*
 * -r: the export is read-only, and so is every path the policy names.
 * Write access goes from each rule (its read stays); a rule left with
 * no access is dropped.  The worker is told -r as well, but a
 * compromised worker would not listen: without the grant, Landlock
 * refuses it write access to the export's files whatever it does.
 */
static void
drop_writes(struct policy *p)
{
	size_t	i;

	for (i = 0; i < p->npaths; ) {
		p->paths[i].access &= ~POLICY_ACCESS_WRITE;
		if (p->paths[i].access != 0) {
			i++;
			continue;
		}
		free(p->paths[i].param);
		free(p->paths[i].path);
		memmove(&p->paths[i], &p->paths[i + 1],
		    (p->npaths - i - 1) * sizeof(p->paths[i]));
		p->npaths--;
	}
	p->readonly = true;
}

/*
 * A path rule that references a parameter given several times becomes
 * one rule per value (nth 0, 1, ...), in command line order, each then
 * resolved, checked and pinned like any other: split file=A file=B is
 * granted A and B, not only B.  Returns 0, or -1 (out of memory).
 */
static int
expand_repeated(struct policy *p, const struct policy_env *env)
{
	struct policy_path	*v;
	char			 name[80];
	const char		*dflt;
	size_t			 i, k;
	unsigned		 n;
	bool			 optional;

	for (i = 0; i < p->npaths; i++) {
		if (p->paths[i].param == NULL || p->paths[i].nth != 0)
			continue;
		ref_split(p->paths[i].param, name, sizeof(name), &optional,
		    &dflt);
		if ((n = param_count(p, env, name)) < 2)
			continue;
		v = realloc(p->paths, (p->npaths + n - 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		p->paths = v;
		memmove(&p->paths[i + n], &p->paths[i + 1],
		    (p->npaths - i - 1) * sizeof(*v));
		/* Copies without strings first: p stays whole for free. */
		for (k = 1; k < n; k++) {
			v = &p->paths[i + k];
			*v = p->paths[i];
			v->path = v->param = NULL;
			v->nth = k;
		}
		p->npaths += n - 1;
		for (k = 1; k < n; k++) {
			v = &p->paths[i + k];
			if ((v->param = strdup(p->paths[i].param)) == NULL ||
			    (p->paths[i].path != NULL &&
			    (v->path = strdup(p->paths[i].path)) == NULL))
				return -1;
		}
		i += n - 1;
	}
	return 0;
}

/*
 * Resolve p for the export described by env.  Returns 0, or -1 with
 * err set to "file:line: problem".  Called once per policy.
 */
int
policy_resolve(struct policy *p, const struct policy_env *env, char *err,
    size_t errlen)
{
	size_t		 i, n = p->npaths;
	const char	*v;

	if (p->resolved)
		return 0;
	if (resolve_user(p, env, err, errlen) == -1)
		return -1;
	if (!env->check_only && expand_repeated(p, env) == -1)
		goto oom;
	n = p->npaths;
	for (i = 0; i < n; ) {
		int	r = resolve_path(p, &p->paths[i], env, err, errlen);

		if (r == -1)
			return -1;
		if (r == 1) {	/* an optional ${NAME?} not given: drop it */
			free(p->paths[i].param);
			free(p->paths[i].path);
			memmove(&p->paths[i], &p->paths[i + 1],
			    (n - i - 1) * sizeof(p->paths[i]));
			n--;
			p->npaths--;
			continue;
		}
		i++;
	}
	if (!env->check_only && (resolve_ports(p, env, err, errlen) == -1 ||
	    resolve_hosts(p, env, err, errlen) == -1))
		return -1;
	if (env->readonly)
		drop_writes(p);
	if (p->memory_param != NULL) {
		const char	*why;
		uint64_t	 sz;

		if ((v = param_value(p, env, p->memory_param)) == NULL) {
			if (!env->check_only)
				return missing_param(p, env, p->memory_line,
				    p->memory_param, "[limits] memory", err,
				    errlen);
		} else if (size_parse(v, UINT64_MAX, &sz, &why) == -1) {
			snprintf(err, errlen, "%s: parameter %s=%s is not a "
			    "size: %s; the policy %s:%d reads it for [limits] "
			    "memory", env->plugin_name ? env->plugin_name :
			    "plugin", p->memory_param, v, why, p->file,
			    p->memory_line);
			return -1;
		} else if (sz > UINT64_MAX - p->memory)
			return rerr(p, err, errlen, p->memory_line, "memory: "
			    "the plugin parameter %s=%s is too large",
			    p->memory_param, v);
		else {
			p->memory += sz;
			free(p->memory_param);
			p->memory_param = NULL;
		}
	}

	/* What the worker needs to load the plugin, at start-up only. */
	if (env->plugin_path != NULL && policy_add_path(p, env->plugin_path,
	    POLICY_ACCESS_READ, true, false, "the plugin") == -1)
		return rerr(p, err, errlen, 1, "the plugin %s: %s",
		    env->plugin_path, strerror(errno));
	for (i = 0; policy_loader_paths[i] != NULL; i++)
		if (access(policy_loader_paths[i], F_OK) == 0 &&
		    policy_add_path(p, policy_loader_paths[i],
		    POLICY_ACCESS_READ, true, true, "the dynamic loader") == -1)
			goto oom;
	/* The broker passes LD_LIBRARY_PATH on to the worker. */
	if ((v = getenv("LD_LIBRARY_PATH")) != NULL) {
		char	*copy, *dir, *save = NULL;

		if ((copy = strdup(v)) == NULL)
			goto oom;
		for (dir = strtok_r(copy, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save))
			if (dir[0] == '/' && access(dir, F_OK) == 0 &&
			    policy_add_path(p, dir, POLICY_ACCESS_READ, true,
			    true, "LD_LIBRARY_PATH") == -1) {
				free(copy);
				goto oom;
			}
		free(copy);
	}
	p->arch = seccomp_arch_native();
	p->resolved = true;
	return 0;

 oom:
	return rerr(p, err, errlen, 1, "out of memory");
}

/* The path rule that came from ${param} (e.g. "${file}"), or NULL. */
const struct policy_path *
policy_path_find(const struct policy *p, const char *param)
{
	size_t	i;

	for (i = 0; i < p->npaths; i++)
		if (p->paths[i].param != NULL &&
		    strcmp(p->paths[i].param, param) == 0)
			return &p->paths[i];
	return NULL;
}
