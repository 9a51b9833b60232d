/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The nbdkit conventions the broker's command line follows, so that
 * nbdkit users feel at home: short names for nbdkit's own plugins
 * (nbdkit:NAME, and a fallback for names we do not bundle), nbdkit's
 * filters (--filter=NAME|PATH, the first outermost), nbdkit's rule for
 * telling KEY=VALUE from a bare word, -D debug flags, --dump-plugin
 * and a plugin's --help and --version, and the parameters an nbdkit
 * plugin needs from us to survive restarts (a pinned seed for the
 * random plugins).
 *
 * Start-up code only: may exit on bad input; never loads plugin or
 * filter code (the worker does, even for --dump-plugin and --help).
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "names.h"

#ifndef NBDKIT_PLUGINDIR
#define NBDKIT_PLUGINDIR	"/usr/lib/nbdkit/plugins"
#endif
#ifndef NBDKIT_FILTERDIR
#define NBDKIT_FILTERDIR	"/usr/lib/nbdkit/filters"
#endif

/* Where nbdkit's plugins are: --nbdkit-plugin-dir, else configure's. */
const char *
cli_nbdkit_plugin_dir(void)
{
	return broker.cfg.nbdkit_plugin_dir != NULL ?
	    broker.cfg.nbdkit_plugin_dir : NBDKIT_PLUGINDIR;
}

/*
 * The language plugin a scripted plugin names on its #! line
 * ("#!/usr/sbin/nbdkit python": python), into buf; "sh" if it names
 * none we can read.
 */
static void
cli_script_language(const char *script, char *buf, size_t len)
{
	char	 line[256], *w, *nbdkit;
	FILE	*fp;

	snprintf(buf, len, "sh");
	if ((fp = fopen(script, "re")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, "#!", 2) == 0) {
		nbdkit = line + 2 + strspn(line + 2, " \t");
		w = nbdkit + strcspn(nbdkit, " \t\n");
		if (*w != '\0' && *w != '\n' && w - nbdkit >= 6 &&
		    strncmp(w - 6, "nbdkit", 6) == 0) {
			w += strspn(w, " \t");
			w[strcspn(w, " \t\n")] = '\0';
			if (*w != '\0' && strchr(w, '/') == NULL)
				snprintf(buf, len, "%s", w);
		}
	}
	fclose(fp);
}

/*
 * The absolute path of nbdkit's plugin NAME (DIR/nbdkit-NAME-plugin.so),
 * as a new string, or NULL if there is none.  With required, a missing
 * plugin ends the program with what was tried instead.  nbdkit's
 * scripted plugins (an executable nbdkit-NAME-plugin with a #! line
 * naming nbdkit) are not plugins we can load: say so.
 */
char *
cli_nbdkit_plugin_path(const char *name, bool required)
{
	const char	*dir = cli_nbdkit_plugin_dir();
	char		*so, *script, *path, lang[64];

	if (asprintf(&so, "%s/nbdkit-%s-plugin.so", dir, name) == -1 ||
	    asprintf(&script, "%s/nbdkit-%s-plugin", dir, name) == -1)
		fatal("asprintf");
	if ((path = realpath(so, NULL)) != NULL) {
		free(so);
		free(script);
		return path;
	}
	if (access(script, X_OK) == 0) {
		cli_script_language(script, lang, sizeof(lang));
		fatalx("%s is a script for nbdkit's language plugins, which "
		    "nbdbroker cannot run by name; run the language plugin "
		    "with the script instead: nbdkit:%s %s", script, lang,
		    script);
	}
	if (required)
		fatalx("nbdkit plugin '%s' not found (looked for %s; "
		    "--nbdkit-plugin-dir changes where)", name, so);
	free(so);
	free(script);
	return NULL;
}

/* --filter=ARG, in command-line order (the first is outermost). */
void
cli_add_filter(const char *arg)
{
	struct config	 *cfg = &broker.cfg;
	char		**v;

	if (arg[0] == '\0')
		fatalx("--filter: give a filter's name or the path of its .so");
	if ((v = reallocarray(cfg->filters, cfg->nfilters + 1,
	    sizeof(*v))) == NULL || (v[cfg->nfilters] = strdup(arg)) == NULL)
		fatal("--filter");
	cfg->filters = v;
	cfg->nfilters++;
}

/*
 * Where nbdkit's filters are: beside --nbdkit-plugin-dir's plugins
 * (nbdkit installs both under one directory), else configure's.
 */
const char *
cli_nbdkit_filter_dir(void)
{
	static char	*dir;
	const char	*pd = broker.cfg.nbdkit_plugin_dir;
	char		*parent, *slash;
	size_t		 l;

	if (pd == NULL)
		return NBDKIT_FILTERDIR;
	if (dir == NULL) {
		if ((parent = strdup(pd)) == NULL)
			fatal("strdup");
		for (l = strlen(parent); l > 1 && parent[l - 1] == '/'; )
			parent[--l] = '\0';
		if ((slash = strrchr(parent, '/')) != NULL)
			*slash = '\0';
		if (asprintf(&dir, "%s/filters", slash == NULL ? "." :
		    parent) == -1)
			fatal("asprintf");
		free(parent);
	}
	return dir;
}

/*
 * Turn each --filter into the absolute path of a readable .so, or
 * exit: a path (anything with a '/' or ".so") as it is, a name as
 * nbdkit's filter DIR/nbdkit-NAME-filter.so.  Also makes what Config
 * carries.
 */
void
cli_resolve_filters(void)
{
	struct config	*cfg = &broker.cfg;
	const char	*arg;
	char		*so;
	size_t		 i;

	if (cfg->nfilters == 0)
		return;
	if ((cfg->filter_paths = calloc(cfg->nfilters,
	    sizeof(*cfg->filter_paths))) == NULL ||
	    (cfg->rpc_filters = calloc(cfg->nfilters,
	    sizeof(*cfg->rpc_filters))) == NULL)
		fatal("--filter");
	for (i = 0; i < cfg->nfilters; i++) {
		arg = cfg->filters[i];
		if (strchr(arg, '/') != NULL || strstr(arg, ".so") != NULL) {
			if ((cfg->filter_paths[i] = realpath(arg, NULL)) ==
			    NULL)
				fatalx("filter %s: %s", arg, strerror(errno));
		} else {
			if (!plugin_name_valid(arg))
				fatalx("--filter=%s: not a filter name (1 to "
				    "%d of [A-Za-z0-9_-]) or a path", arg,
				    PLUGIN_NAME_MAX);
			if (asprintf(&so, "%s/nbdkit-%s-filter.so",
			    cli_nbdkit_filter_dir(), arg) == -1)
				fatal("asprintf");
			if ((cfg->filter_paths[i] = realpath(so, NULL)) ==
			    NULL)
				fatalx("nbdkit filter '%s' not found (looked "
				    "for %s; --nbdkit-plugin-dir DIR/plugins "
				    "makes it DIR/filters)", arg, so);
			free(so);
		}
		if ((cfg->rpc_filters[i] = calloc(1,
		    sizeof(*cfg->rpc_filters[i]))) == NULL)
			fatal("--filter");
		nbdbroker__rpc__filter__init(cfg->rpc_filters[i]);
		cfg->rpc_filters[i]->path = cfg->filter_paths[i];
	}
}

/*
 * The policy name of the filter at path: "nbdkit-NAME-filter" for
 * nbdkit's nbdkit-NAME-filter.so (wherever it is), else the file name
 * without .so.  A new string.
 */
char *
cli_filter_policy_name(const char *path)
{
	const char	*base = strrchr(path, '/');
	char		*name;
	size_t		 l;

	base = base ? base + 1 : path;
	if ((name = strdup(base)) == NULL)
		fatal("strdup");
	if ((l = strlen(name)) > 3 && strcmp(name + l - 3, ".so") == 0)
		name[l - 3] = '\0';
	return name;
}

/*
 * nbdkit's rule: KEY=VALUE only if KEY starts with a letter and holds
 * only letters, digits, '.', '_' and '-'; anything else (a path with
 * '=' in it, a data string) is a bare word for the magic config key.
 * Returns the '=' that ends the key, or NULL for a bare word.
 */
const char *
cli_param_split(const char *param)
{
	const char	*eq = strchr(param, '='), *p;

	if (eq == NULL || eq == param ||
	    !((*param >= 'a' && *param <= 'z') ||
	    (*param >= 'A' && *param <= 'Z')))
		return NULL;
	for (p = param + 1; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return NULL;
	return eq;
}

/*
 * -D NAME.FLAG=N: checked here, sent to each worker, which sets the
 * plugin's int NAME_debug_FLAG before .load (see worker/nbdkit-abi.c).
 * N is an int as nbdkit reads it (C syntax: a sign, 0x and 0 prefixes),
 * not our number grammar (number.h): nbdkit's users write these flags.
 * Returns 0, or -1 if arg is malformed.
 */
int
cli_add_debug_flag(const char *arg)
{
	struct config		 *cfg = &broker.cfg;
	Nbdbroker__Rpc__Param	 *pa, **v;
	const char		 *eq = strchr(arg, '=');
	const char		 *dot = strchr(arg, '.');
	char			 *end;
	long			  n;

	if (eq == NULL || dot == NULL || dot == arg || dot > eq ||
	    dot + 1 == eq || eq[1] == '\0')
		return -1;
	errno = 0;
	n = strtol(eq + 1, &end, 0);
	if (errno != 0 || *end != '\0' || n < INT_MIN || n > INT_MAX)
		return -1;
	v = reallocarray(cfg->debug_flags, cfg->ndebug_flags + 1,
	    sizeof(*v));
	if (v == NULL || (pa = calloc(1, sizeof(*pa))) == NULL)
		fatal("-D");
	cfg->debug_flags = v;
	nbdbroker__rpc__param__init(pa);
	if ((pa->key = strndup(arg, eq - arg)) == NULL ||
	    (pa->value = strdup(eq + 1)) == NULL)
		fatal("-D");
	pa->has_value = true;
	cfg->debug_flags[cfg->ndebug_flags++] = pa;
	return 0;
}

static bool
is_nbdkit_plugin_file(const char *path, const char *name)
{
	const char	*base = strrchr(path, '/');
	char		 want[64];

	base = base ? base + 1 : path;
	snprintf(want, sizeof(want), "nbdkit-%s-plugin.so", name);
	return strcmp(base, want) == 0;
}

/*
 * Parameters an nbdkit plugin needs from us.  nbdkit's random and
 * sparse-random plugins pick a seed of their own when given none, so
 * a restarted worker would serve other bytes than the one that died:
 * choose the seed once, here, and give every worker the same one.
 */
void
cli_adjust_params(void)
{
	struct config	 *cfg = &broker.cfg;
	char		**v, *seed;
	uint32_t	  s;
	size_t		  i;

	if (!is_nbdkit_plugin_file(cfg->plugin_path, "random") &&
	    !is_nbdkit_plugin_file(cfg->plugin_path, "sparse-random"))
		return;
	for (i = 0; i < cfg->nparams; i++)
		if (strncmp(cfg->params[i], "seed=", 5) == 0)
			return;
	if (getrandom(&s, sizeof(s), 0) != sizeof(s))
		fatal("getrandom");
	if ((v = calloc(cfg->nparams + 2, sizeof(*v))) == NULL ||
	    asprintf(&seed, "seed=%u", s) == -1)
		fatal("seed");
	memcpy(v, cfg->params, cfg->nparams * sizeof(*v));
	v[cfg->nparams++] = seed;
	cfg->params = v;
	log_info("plugin %s: no seed= given; using %s for every worker, so "
	    "that a restarted worker serves the same data", cfg->plugin_arg,
	    seed);
}

/*
 * The worker's describe-and-exit mode, on our stdout and stderr:
 * --dump-plugin (KEY=VALUE lines), or `PLUGIN --help` and `PLUGIN
 * --version` (--show=help|version: the plugin's help or version after
 * ours).  Parameters are split here by the same rule as for serving.
 * For --dump-plugin the broker becomes the worker; otherwise it waits
 * for it, so that the caller can add what only the broker knows.
 * Returns 0 if the worker succeeded, else -1 (it has said why).
 */
int
cli_describe_plugin(void)
{
	const struct config	 *cfg = &broker.cfg;
	char			**argv;
	size_t			  i, n = 0, dbg;
	pid_t			  pid;
	int			  status;

	argv = calloc(5 + 2 * (cfg->nfilters + cfg->ndebug_flags +
	    cfg->nparams), sizeof(*argv));
	if (argv == NULL)
		fatal("calloc");
	argv[n++] = cfg->worker_path;
	argv[n++] = (char *)"--dump-plugin";
	argv[n++] = cfg->plugin_path;
	if (cfg->describe == DESCRIBE_HELP)
		argv[n++] = (char *)"--show=help";
	else if (cfg->describe == DESCRIBE_VERSION)
		argv[n++] = (char *)"--show=version";
	for (i = 0; i < cfg->nfilters; i++) {
		argv[n++] = (char *)"--filter";
		argv[n++] = cfg->filter_paths[i];
	}
	dbg = n;	/* --debug-flag NAME.FLAG=N pairs from here */
	for (i = 0; i < cfg->ndebug_flags; i++) {
		argv[n++] = (char *)"--debug-flag";
		if (asprintf(&argv[n++], "%s=%s", cfg->debug_flags[i]->key,
		    cfg->debug_flags[i]->value) == -1)
			fatal("asprintf");
	}
	for (i = 0; i < cfg->nparams; i++) {
		argv[n++] = cli_param_split(cfg->params[i]) ?
		    (char *)"--param" : (char *)"--bare";
		argv[n++] = cfg->params[i];
	}
	argv[n] = NULL;
	fflush(stdout);
	if (cfg->describe == DESCRIBE_DUMP) {
		execv(cfg->worker_path, argv);
		fatal("execv %s", cfg->worker_path);
	}
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		execv(cfg->worker_path, argv);
		fprintf(stderr, "nbdbroker: execv %s: %s\n", cfg->worker_path,
		    strerror(errno));
		_exit(127);
	}
	for (i = 0; i < cfg->ndebug_flags; i++)
		free(argv[dbg + 2 * i + 1]);	/* the asprintf'd values */
	free(argv);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
