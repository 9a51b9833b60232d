/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The export's sandbox policy, on the broker's side: found, parsed and
 * resolved once at start-up, then kept in its wire form for every
 * worker's Config (worker/ applies it; tripwire.c watches it fire).
 *
 * The policy is --policy FILE, else PLUGIN.policy, else default.policy,
 * in --policy-dir or the policy directories; the policy of each
 * --filter (nbdkit-NAME-filter.policy, if there is one) is merged into
 * it.  No policy found, or one that does not parse, resolve or merge,
 * stops the server: there is no unsandboxed fallback.  --check-policy prints what a file resolves to
 * and exits.
 *
 * A policy file is the admin's word: whoever can change it decides
 * what workers may do (mode = log turns the sandbox off).  So a file
 * is read only if it, and every directory above it up to /, is owned
 * by root or the server's user and writable by nobody else (a
 * directory writable by others only with the sticky bit, like /tmp,
 * where nobody else can replace what is in it), as OpenSSH checks
 * what it trusts; and mode = log needs --allow-log-mode as well.
 *
 * Start-up only (and --check-policy): may exit, never runs in the
 * event loop.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "policy.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif
#define POLICY_LOAD_SUBDIR	"/nbdbroker/policies"

static struct policy	*policy;	/* resolved */
static uint8_t		*policy_wire;
static size_t		 policy_wire_len;

/*
 * The export's policy as parsed and resolved, for the supervisor
 * ([restart], isolation).  Borrowed; valid until exit.
 */
const struct policy *
policy_load_parsed(void)
{
	return policy;
}

/* The resolved policy's wire form, for Config.policy. */
const uint8_t *
policy_load_wire(size_t *len, const char **path)
{
	*len = policy_wire_len;
	*path = policy ? policy->file : "";
	return policy_wire;
}

/*
 * Check one object on a policy file's path: owned by root or us, and
 * writable by nobody else; a directory may be writable by others if
 * it is sticky.  Returns 0, or -1 with err set.
 */
static int
safe_object(const char *path, bool dir, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "policy file: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "unsafe policy file: %s is owned by uid "
		    "%u, not by root or the server's user (uid %u)", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(dir && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "unsafe policy file: %s is writable by "
		    "its group or others (mode %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (!dir && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "policy file: %s is not a regular file",
		    path);
		return -1;
	}
	return 0;
}

/* Check path (a real, absolute path) and each directory above it. */
static int
safe_chain(char *real, bool dir, char *err, size_t errlen)
{
	char	*slash;

	for (;;) {
		if (safe_object(real, dir, err, errlen) == -1)
			return -1;
		if (strcmp(real, "/") == 0)
			return 0;
		slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';	/* "/" */
		else
			*slash = '\0';
		dir = true;
	}
}

/*
 * May the policy file at path be trusted?  The file and every
 * directory above it (through symbolic links: the real path's), and
 * the directories above the path as given, with the link itself if
 * it is one, since whoever can change them can point it elsewhere.
 * Returns 0, or -1 with err set.
 */
static int
policy_file_safe(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*real = NULL, *copy = NULL, *parent;
	int		 r = -1;

	if ((real = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "policy file: %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (safe_chain(real, false, err, errlen) == -1)
		goto out;
	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "policy file: %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "unsafe policy file: the link %s is "
		    "owned by uid %u, not by root or the server's user (uid "
		    "%u)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	free(real);
	real = NULL;
	if ((copy = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	parent = dirname(copy);
	if ((real = realpath(parent, NULL)) == NULL) {
		snprintf(err, errlen, "policy file: %s: %s", parent,
		    strerror(errno));
		goto out;
	}
	r = safe_chain(real, true, err, errlen);
 out:
	free(real);
	free(copy);
	return r;
}

/* Parse the policy file at path, if it may be trusted. */
static struct policy *
parse_safe(const char *path, char *err, size_t errlen)
{
	if (policy_file_safe(path, err, errlen) == -1)
		return NULL;
	return policy_parse_file(path, err, errlen);
}

/*
 * PLUGIN's policy name, from the .so it resolved to: "memory" for
 * nbdbroker-memory-plugin.so (bundled or not), "nbdkit-memory" for
 * nbdkit's nbdkit-memory-plugin.so (however it was named on the command
 * line: nbdkit:memory, a fallback, or a path), else the file name
 * without .so.
 */
static void
policy_name(char *buf, size_t len)
{
	const char	*base;
	size_t		 l;

	base = strrchr(broker.cfg.plugin_path, '/');
	base = base ? base + 1 : broker.cfg.plugin_path;
	if (strncmp(base, "nbdbroker-", 10) == 0)
		base += 10;
	snprintf(buf, len, "%s", base);
	if ((l = strlen(buf)) > 3 && strcmp(buf + l - 3, ".so") == 0)
		buf[l -= 3] = '\0';
	if (l > 7 && strcmp(buf + l - 7, "-plugin") == 0)
		buf[l - 7] = '\0';
}

/* Add each directory of a colon-separated list to dirs. */
static void
add_dirs(char *list, const char **dirs, size_t *nd, size_t max)
{
	char	*d, *save = NULL;

	for (d = strtok_r(list, ":", &save); d != NULL && *nd < max;
	    d = strtok_r(NULL, ":", &save))
		dirs[(*nd)++] = d;
}

/*
 * The policy directories, in search order, into dirs (at most max):
 * --policy-dir, else $NBDBROKER_POLICY_DIR and
 * $NBDBROKER_SRC_POLICY_DIR (colon-separated lists; the build tree's
 * ./nbdbroker sets them), else the installed one.  Returns how many.
 * The strings stay valid until the next call.
 */
static size_t
policy_dirs(const char **dirs, size_t max)
{
	static char	*lists[3];
	const char	*e;
	size_t		 nd = 0;

	if (broker.cfg.policy_dir != NULL) {
		free(lists[0]);
		if ((lists[0] = strdup(broker.cfg.policy_dir)) != NULL)
			add_dirs(lists[0], dirs, &nd, max);
		return nd;
	}
	if ((e = getenv("NBDBROKER_POLICY_DIR")) != NULL && *e) {
		free(lists[1]);
		if ((lists[1] = strdup(e)) != NULL)
			add_dirs(lists[1], dirs, &nd, max);
	}
	if ((e = getenv("NBDBROKER_SRC_POLICY_DIR")) != NULL && *e) {
		free(lists[2]);
		if ((lists[2] = strdup(e)) != NULL)
			add_dirs(lists[2], dirs, &nd, max);
	}
	if (nd == 0)
		dirs[nd++] = SYSCONFDIR POLICY_LOAD_SUBDIR;
	return nd;
}

/*
 * Look for NAME.policy in every policy directory, then (if fallback)
 * default.policy.
 */
static char *
find_policy(const char *name, bool fallback, char *tried, size_t triedlen)
{
	const char	*dirs[16];
	const char	*names[2] = { name, "default" };
	size_t		 nd, i, k;
	char		 path[PATH_MAX];

	nd = policy_dirs(dirs, 16);
	tried[0] = '\0';
	for (k = 0; k < (fallback ? 2 : 1); k++)
		for (i = 0; i < nd; i++) {
			snprintf(path, sizeof(path), "%s/%s.policy", dirs[i],
			    names[k]);
			if (access(path, F_OK) == 0)
				return strdup(path);
			if (strlen(tried) + strlen(path) + 3 < triedlen) {
				if (tried[0] != '\0')
					strcat(tried, ", ");
				strcat(tried, path);
			}
		}
	return NULL;
}

/*
 * Resolve p for the plugin (or filter) name and its parameters.  With
 * readonly (-r, for the plugin's own policy) no path keeps write
 * access: the export's files cannot be written even by a worker that
 * ignores -r.  A filter's policy keeps its grants: they are the
 * filter's own files (a log, a cache, an overlay), not the export's.
 */
static int
resolve(struct policy *p, char **args, size_t nargs, const char *name,
    const char *plugin, bool readonly, bool check_only, char *err,
    size_t errlen)
{
	struct policy_param	*pv;
	struct policy_env	 env;
	char			 cwd[PATH_MAX];
	size_t			 i;
	int			 r;

	if ((pv = calloc(nargs + 1, sizeof(*pv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nargs; i++) {
		/* Split as the worker will (nbdkit's rule). */
		const char	*eq = cli_param_split(args[i]);

		if (eq != NULL) {
			if ((pv[i].key = strndup(args[i], eq - args[i])) ==
			    NULL) {
				snprintf(err, errlen, "out of memory");
				r = -1;
				goto out;
			}
			pv[i].value = eq + 1;
		} else
			pv[i].value = args[i];
	}
	memset(&env, 0, sizeof(env));
	env.params = pv;
	env.nparams = nargs;
	env.cwd = getcwd(cwd, sizeof(cwd));
	env.plugin_path = plugin;
	env.plugin_name = name;
	env.root = geteuid() == 0;
	env.readonly = readonly;
	env.check_only = check_only;
	r = policy_resolve(p, &env, err, errlen);
 out:
	for (i = 0; i < nargs; i++)
		free((char *)pv[i].key);
	free(pv);
	return r;
}

/*
 * Merge the policy of each --filter into p (policy/merge.c: the union
 * of what they allow), and let the worker read each filter's .so at
 * start-up.  A filter's policy is nbdkit-NAME-filter.policy (for
 * nbdkit's nbdkit-NAME-filter.so) in the policy directories; a filter
 * without one needs nothing the plugin's policy does not give.
 * Returns 0, or -1 with err set.
 */
static int
merge_filter_policies(struct policy *p, char **args, size_t nargs,
    bool check_only, char *err, size_t errlen)
{
	const struct config	*cfg = &broker.cfg;
	struct policy		*q;
	char			 tried[2048], *name, *path;
	size_t			 i;
	int			 r;

	for (i = 0; i < cfg->nfilters; i++) {
		/*
		 * Like the loader's paths, what the worker itself needs (so
		 * "optional"): no grant a root worker keeps its DAC
		 * capabilities at start-up for.
		 */
		if (policy_add_path(p, cfg->filter_paths[i],
		    POLICY_ACCESS_READ, true, true, "a filter") == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		name = cli_filter_policy_name(cfg->filter_paths[i]);
		path = find_policy(name, false, tried, sizeof(tried));
		if (path == NULL) {
			log_debug("filter %s: no policy of its own (looked "
			    "for %s): the plugin's covers it", cfg->filters[i],
			    tried);
			free(name);
			continue;
		}
		free(name);
		if ((q = parse_safe(path, err, errlen)) == NULL) {
			free(path);
			return -1;
		}
		free(path);
		r = resolve(q, args, nargs, cfg->filters[i], NULL, false,
		    check_only, err, errlen);
		if (r == 0)
			r = policy_merge(p, q, err, errlen);
		policy_free(q);
		if (r == -1)
			return -1;
	}
	return 0;
}

/*
 * --learn-policy: the worker runs under learn.c's base policy (the
 * built-in set, everything else handed to the broker), resolved and
 * merged like any other, then opened wide: nothing is denied.
 */
static void
learn_load(void)
{
	struct config	*cfg = &broker.cfg;
	char		 name[256], tried[2048], err[1024];
	char		*usual;

	policy_name(name, sizeof(name));
	usual = find_policy(name, true, tried, sizeof(tried));
	if ((policy = learn_base(usual, err, sizeof(err))) == NULL)
		fatalx("--learn-policy: %s", err);
	free(usual);
	if (resolve(policy, cfg->params, cfg->nparams, cfg->plugin_arg,
	    cfg->plugin_path, cfg->readonly, false, err, sizeof(err)) == -1 ||
	    merge_filter_policies(policy, cfg->params, cfg->nparams, false,
	    err, sizeof(err)) == -1)
		fatalx("%s", err);
	learn_open(policy);
	if (policy_encode(policy, &policy_wire, &policy_wire_len) == -1)
		fatal("sandbox policy: encode");
	log_info("plugin %s: --learn-policy %s: nothing is denied; every "
	    "syscall the worker makes goes through the broker (slow)",
	    cfg->plugin_arg, cfg->learn_path);
}

/*
 * Under open-on-behalf = no the worker's user's own permissions are
 * final: say at start which of the policy's grants that user cannot
 * reach, rather than leave the operator with the plugin's EACCES.
 */
static void
warn_unreachable(const struct policy *p)
{
	const struct policy_path	*pp;
	char				 at[PATH_MAX + 32], nb[PATH_MAX + 32];
	size_t				 i;

	for (i = 0; p->no_behalf && p->switch_user && i < p->npaths; i++) {
		pp = &p->paths[i];
		if (pp->line <= 0 || pp->path == NULL ||
		    policy_user_may(pp->path, pp->access, p->uid, p->gid))
			continue;
		log_warn("sandbox policy %s: user %s cannot reach %s (%s), "
		    "and open-on-behalf = no (%s) keeps the broker from "
		    "opening it for the worker: the plugin will be refused "
		    "it", p->file, p->user ? p->user : "nobody", pp->path,
		    policy_where(pp->file, pp->line, at, sizeof(at)),
		    policy_where(p->no_behalf_file, p->no_behalf_line, nb,
		    sizeof(nb)));
	}
}

/*
 * Start-up: load, resolve and encode the export's policy, or exit.
 * Called once the plugin path is known, before any worker starts.
 */
void
policy_load_init(void)
{
	struct config	*cfg = &broker.cfg;
	char		 name[256], tried[2048], err[1024];
	char		*path;
	size_t		 i;

	if (cfg->learn_path != NULL) {
		learn_load();
		return;
	}
	if (cfg->policy_path != NULL)
		path = strdup(cfg->policy_path);
	else {
		policy_name(name, sizeof(name));
		if ((path = find_policy(name, true, tried, sizeof(tried))) ==
		    NULL)
			fatalx("no sandbox policy for plugin %s (looked for "
			    "%s); give one with --policy FILE",
			    cfg->plugin_arg, tried);
	}
	if (path == NULL)
		fatal("strdup");
	if ((policy = parse_safe(path, err, sizeof(err))) == NULL)
		fatalx("sandbox policy: %s", err);
	/* "PLUGIN: no parameter size= given ..." or "FILE:LINE: ...". */
	if (resolve(policy, cfg->params, cfg->nparams, cfg->plugin_arg,
	    cfg->plugin_path, cfg->readonly, false, err, sizeof(err)) == -1 ||
	    merge_filter_policies(policy, cfg->params, cfg->nparams, false,
	    err, sizeof(err)) == -1)
		fatalx("%s", err);
	/*
	 * Log mode turns the sandbox off; a policy file alone may not do
	 * that.  (A build made --with-sandbox=log was made to.)
	 */
	if (policy->mode == POLICY_MODE_LOG && !cfg->allow_log_mode &&
	    !SANDBOX_FORCE_LOG)
		fatalx("sandbox policy %s says mode = log (nothing is "
		    "denied): give --allow-log-mode as well to run it",
		    policy->file);
	if (SANDBOX_FORCE_LOG && policy->mode != POLICY_MODE_LOG) {
		log_warn("sandbox policy %s: this nbdbroker was built with "
		    "--with-sandbox=log: mode = log, nothing is denied",
		    policy->file);
		policy->mode = POLICY_MODE_LOG;
	}
	if (policy_encode(policy, &policy_wire, &policy_wire_len) == -1)
		fatal("sandbox policy: encode");
	if (cfg->policy_path == NULL)
		cfg->policy_path = path;
	else
		free(path);
	log_info("plugin %s: sandbox policy %s (%s)", cfg->plugin_arg,
	    policy->file, policy->mode == POLICY_MODE_LOG ? "mode = log: "
	    "nothing is denied, the kernel logs what would be" : "enforce");
	warn_unreachable(policy);
	/* [network] hosts: what the broker will connect the worker to. */
	name[0] = '\0';
	for (i = 0; i < policy->nports && strlen(name) + 7 < sizeof(name);
	    i++)
		snprintf(name + strlen(name), 7, " %u", policy->ports[i]);
	for (i = 0; i < policy->naddrs; i++) {
		char	ip[INET6_ADDRSTRLEN] = "?";

		inet_ntop(policy->addrs[i].family, policy->addrs[i].addr, ip,
		    sizeof(ip));
		log_info("plugin %s: sandbox: hosts %s=%s: %s, TCP port(s)%s",
		    cfg->plugin_arg, policy->addrs[i].ref,
		    policy->addrs[i].host, ip, policy->nports ? name :
		    " none");
	}
	if ((policy->net & POLICY_NET_HOSTS) && policy->naddrs == 0)
		log_info("plugin %s: sandbox: hosts: no parameter names a "
		    "host: no TCP connection", cfg->plugin_arg);
}

/* The policy before the last reload, until the reload is over. */
static struct policy	*prev_policy;
static uint8_t		*prev_wire;
static size_t		 prev_wire_len;
static struct policy	**old_policies;	/* replaced by reloads */
static size_t		  nold_policies;

static int
keep_policy(struct policy *p)
{
	struct policy	**v;

	if ((v = reallocarray(old_policies, nold_policies + 1,
	    sizeof(*v))) == NULL)
		return -1;
	old_policies = v;
	old_policies[nold_policies++] = p;
	return 0;
}

/*
 * A reload (reload.c): read the policy file again, with the checks of
 * start-up (a safe path, parse, resolve, merge the filters' policies,
 * log mode only if allowed), and make it the one the next workers get.
 * The old one is kept for policy_load_revert().  Returns 0, or -1 with
 * err set, and the current policy unchanged.
 */
int
policy_load_reload(char *err, size_t errlen)
{
	struct config	*cfg = &broker.cfg;
	struct policy	*p;
	uint8_t		*wire;
	size_t		 len;

	if (cfg->learn_path != NULL) {
		snprintf(err, errlen, "not with --learn-policy");
		return -1;
	}
	if ((p = parse_safe(cfg->policy_path, err, errlen)) == NULL)
		return -1;
	if (resolve(p, cfg->params, cfg->nparams, cfg->plugin_arg,
	    cfg->plugin_path, cfg->readonly, false, err, errlen) == -1 ||
	    merge_filter_policies(p, cfg->params, cfg->nparams, false,
	    err, errlen) == -1)
		goto err;
	if (p->mode == POLICY_MODE_LOG && !cfg->allow_log_mode &&
	    !SANDBOX_FORCE_LOG) {
		snprintf(err, errlen, "sandbox policy %s says mode = log "
		    "(nothing is denied), and --allow-log-mode was not given",
		    p->file);
		goto err;
	}
	if (SANDBOX_FORCE_LOG)
		p->mode = POLICY_MODE_LOG;
	if (p->isolation != policy->isolation) {
		snprintf(err, errlen, "sandbox policy %s: isolation cannot "
		    "change while the server runs", p->file);
		goto err;
	}
	if (policy_encode(p, &wire, &len) == -1) {
		snprintf(err, errlen, "sandbox policy %s: encode: %s",
		    p->file, strerror(errno));
		goto err;
	}
	/*
	 * Old policies are kept (a few KiB each, reachable): a worker
	 * started under one may still be named by its strings.
	 */
	if (prev_policy != NULL && keep_policy(prev_policy) == -1) {
		snprintf(err, errlen, "out of memory");
		free(wire);
		goto err;
	}
	free(prev_wire);
	prev_policy = policy;
	prev_wire = policy_wire;
	prev_wire_len = policy_wire_len;
	policy = p;
	policy_wire = wire;
	policy_wire_len = len;
	return 0;

 err:
	policy_free(p);
	return -1;
}

/* Every backend refused the reload: the old policy is back. */
void
policy_load_revert(void)
{
	struct policy	*p = policy;
	uint8_t		*wire = policy_wire;

	if (prev_policy == NULL)
		return;
	policy = prev_policy;
	policy_wire = prev_wire;
	policy_wire_len = prev_wire_len;
	prev_policy = p;
	prev_wire = wire;
	prev_wire_len = 0;
}

/*
 * nbdbroker --check-policy FILE [--filter=F...] [PLUGIN [KEY=VALUE...]]:
 * print what FILE resolves to (for PLUGIN and its parameters, if
 * given), merged with the policies of the filters, if any.
 * Returns the exit status.
 */
int
policy_load_check(const char *file, char **args, size_t nargs)
{
	struct policy	*p;
	char		 err[1024];
	char		*plugin = NULL;

	if ((p = parse_safe(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nbdbroker: %s\n", err);
		return EXIT_FAILURE;
	}
	if (nargs > 0 && (strchr(args[0], '/') != NULL ||
	    strstr(args[0], ".so") != NULL))
		plugin = realpath(args[0], NULL);
	if (resolve(p, nargs > 0 ? args + 1 : NULL, nargs > 0 ? nargs - 1 :
	    0, nargs > 0 ? args[0] : NULL, plugin, broker.cfg.readonly,
	    nargs == 0, err, sizeof(err)) == -1 ||
	    merge_filter_policies(p, nargs > 0 ? args + 1 : NULL, nargs > 0 ?
	    nargs - 1 : 0, nargs == 0, err, sizeof(err)) == -1) {
		fprintf(stderr, "nbdbroker: %s\n", err);
		policy_free(p);
		free(plugin);
		return EXIT_FAILURE;
	}
	policy_print(p, stdout);
	policy_free(p);
	free(plugin);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * The policy directories, in search order, colon-separated into buf:
 * for --dump-config.
 */
void
policy_load_dirs(char *buf, size_t len)
{
	const char	*dirs[16];
	size_t		 nd, i, used = 0;

	nd = policy_dirs(dirs, 16);
	buf[0] = '\0';
	for (i = 0; i < nd && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    i > 0 ? ":" : "", dirs[i]);
}

/*
 * The policy file the server would run the plugin under (--policy, or
 * the one found for cfg->plugin_path), as a new string; NULL if there
 * is none, with the paths tried in tried.  Loads nothing: for
 * `nbdbroker PLUGIN --help`.
 */
char *
policy_load_find(char *tried, size_t triedlen)
{
	char	name[256];

	tried[0] = '\0';
	if (broker.cfg.policy_path != NULL)
		return strdup(broker.cfg.policy_path);
	policy_name(name, sizeof(name));
	return find_policy(name, true, tried, triedlen);
}
