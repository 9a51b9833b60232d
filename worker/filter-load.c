/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading nbdkit filters: dlopen each one (through the descriptor the
 * worker opened before its sandbox), check that it was built for the
 * filter ABI the worker speaks (nbdkit 1.32's, filter API version 6:
 * unlike plugins, filters only run on the nbdkit they were built for),
 * copy what it registered into host.filters, and build the stack,
 * host.layers: the filters in command-line order (the first --filter
 * is the outermost, as in nbdkit), the plugin last.  Also the rules
 * that depend on which filters are loaded: debug flags by name, and
 * what survives a restart.
 *
 * Runs once, at start-up (or for --dump-plugin), after the plugin has
 * been loaded and before any .load; never on a worker thread.
 */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "worker.h"

/* The layouts nbdkit 1.32's <nbdkit-filter.h> gives on LP64. */
_Static_assert(sizeof(struct filter_abi) == 41 * sizeof(void *),
    "struct nbdkit_filter layout");
_Static_assert(offsetof(struct filter_abi, open) == 17 * sizeof(void *),
    "struct nbdkit_filter layout (open)");
_Static_assert(offsetof(struct filter_abi, cache) == 40 * sizeof(void *),
    "struct nbdkit_filter layout (cache)");
_Static_assert(sizeof(struct next_ops) == 22 * sizeof(void *),
    "struct nbdkit_next_ops layout");
_Static_assert(offsetof(struct ctx, ops) == 0,
    "filters call through the start of their nbdkit_next");

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * nbdkit's rule for a filter's name: ASCII letters and digits, and
 * dashes anywhere but first.
 */
static bool
filter_name_valid(const char *name)
{
	const char	*s;

	if (name == NULL || name[0] == '\0' || name[0] == '-' ||
	    strlen(name) > PLUGIN_NAME_MAX)
		return false;
	for (s = name; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/*
 * dlopen failed.  The usual reason is an nbdkit function the worker
 * does not provide (a filter built for a newer nbdkit): say which.
 */
static void
load_error(const char *path, const char *dlerr, char *err, size_t errlen)
{
	const char	*u = strstr(dlerr, "undefined symbol: ");

	if (u != NULL && strncmp(u + 18, "nbdkit_", 7) == 0)
		set_err(err, errlen, "filter %s: it needs %s, an nbdkit "
		    "function nbdbroker-worker does not provide (it provides "
		    "nbdkit 1.32's filter API)", path, u + 18);
	else
		set_err(err, errlen, "cannot load filter %s: %s", path,
		    dlerr);
}

/*
 * Load one filter from path (through fd, if not -1) into f.  Returns
 * 0, or -1 with the reason in err.
 */
static int
filter_load_one(struct filter *f, const char *path, int fd, char *err,
    size_t errlen)
{
	char			 fdpath[64];
	struct filter_abi	*(*reg)(void);
	struct filter_abi	*fa;
	const char		*v;

	if ((f->path = strdup(path)) == NULL) {
		set_err(err, errlen, "strdup: %s", strerror(errno));
		return -1;
	}
	if (fd >= 0)
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	f->dl = dlopen(fd >= 0 ? fdpath : path, RTLD_NOW | RTLD_LOCAL);
	if (f->dl == NULL) {
		load_error(path, dlerror(), err, errlen);
		return -1;
	}
	*(void **)&reg = dlsym(f->dl, "filter_init");
	if (reg == NULL) {
		if (dlsym(f->dl, "plugin_init") != NULL ||
		    dlsym(f->dl, "nbdbroker_plugin_register") != NULL)
			set_err(err, errlen, "%s is a plugin, not a filter",
			    path);
		else
			set_err(err, errlen, "%s: not an nbdkit filter "
			    "(filter_init is not defined)", path);
		return -1;
	}
	if ((fa = reg()) == NULL) {
		set_err(err, errlen, "%s: filter registration returned NULL",
		    path);
		return -1;
	}
	if (fa->_api_version != FILTER_API_VERSION) {
		set_err(err, errlen, "%s: filter uses API version %d; "
		    "nbdbroker-worker hosts nbdkit 1.32's filters, API "
		    "version %d", path, fa->_api_version, FILTER_API_VERSION);
		return -1;
	}
	v = fa->_version != NULL ? fa->_version : "(none)";
	if (strncmp(v, FILTER_VERSION_PREFIX,
	    strlen(FILTER_VERSION_PREFIX)) != 0) {
		set_err(err, errlen, "%s: filter was built for nbdkit %s; "
		    "filters have no stable ABI, and nbdbroker-worker hosts "
		    "those built for nbdkit 1.32", path, v);
		return -1;
	}
	memcpy(&f->fa, fa, sizeof(f->fa));
	if (!filter_name_valid(f->fa.name)) {
		set_err(err, errlen, "%s: filter name must be ASCII letters, "
		    "digits and non-leading dashes, at most %d characters",
		    path, PLUGIN_NAME_MAX);
		return -1;
	}
	return 0;
}

/*
 * Load the n filters at paths (opened as fds, -1: by path), outermost
 * first, and build the stack with the plugin (already loaded) at the
 * bottom.  With n = 0 the stack is the plugin alone.  Returns 0, or -1
 * with the reason in err.
 */
int
filter_load(size_t n, char *const *paths, const int *fds, char *err,
    size_t errlen)
{
	size_t	i, k;

	if (n > 0 && (host.filters = calloc(n, sizeof(*host.filters))) ==
	    NULL) {
		set_err(err, errlen, "calloc: %s", strerror(errno));
		return -1;
	}
	host.nfilters = n;
	for (i = 0; i < n; i++) {
		if (filter_load_one(&host.filters[i], paths[i],
		    fds != NULL ? fds[i] : -1, err, errlen) == -1)
			return -1;
		for (k = 0; k < i; k++)
			if (strcmp(host.filters[k].fa.name,
			    host.filters[i].fa.name) == 0) {
				set_err(err, errlen, "filter %s is given "
				    "twice (%s and %s)",
				    host.filters[i].fa.name,
				    host.filters[k].path, paths[i]);
				return -1;
			}
	}
	if ((host.layers = calloc(n + 1, sizeof(*host.layers))) == NULL) {
		set_err(err, errlen, "calloc: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		host.layers[i].ops = &filter_ops;
		host.layers[i].name = host.filters[i].fa.name;
		host.layers[i].f = &host.filters[i];
		host.layers[i].next = &host.layers[i + 1];
	}
	host.layers[n].ops = &plugin_ops;
	host.layers[n].name = host.p.name;
	host.top = &host.layers[0];
	return 0;
}

/*
 * -D NAME.FLAG=N: the int NAME_debug_FLAG of the filter called NAME,
 * or else of the plugin (which warns if it is not called NAME either).
 */
void
filter_set_debug_flag(const char *flag, const char *value)
{
	size_t	i, nlen = strcspn(flag, ".");

	for (i = 0; i < host.nfilters; i++) {
		const struct filter	*f = &host.filters[i];

		if (strlen(f->fa.name) == nlen &&
		    strncmp(flag, f->fa.name, nlen) == 0 && flag[nlen] == '.') {
			abi_set_debug_flag(f->dl, f->fa.name, flag, value);
			return;
		}
	}
	abi_set_debug_flag(host.dl, host.p.name, flag, value);
}

/* The value of the last key=VALUE in cfg, or NULL. */
static const char *
cfg_param(const Nbdbroker__Rpc__Config *cfg, const char *key)
{
	const char	*v = NULL;
	size_t		 i;

	for (i = 0; i < cfg->n_params; i++)
		if (cfg->params[i]->has_value &&
		    strcmp(cfg->params[i]->key, key) == 0)
			v = cfg->params[i]->value;
	return v;
}

/*
 * What survives a restart of the whole stack, given the plugin's
 * durability: a filter that keeps written data in the worker (cow's
 * overlay; cache's, unless it writes through) makes it volatile
 * whatever the plugin is; every other filter leaves it as it is.
 */
int
filter_durability(int plugin, const Nbdbroker__Rpc__Config *cfg)
{
	const char	*mode;
	size_t		 i;

	for (i = 0; i < host.nfilters; i++) {
		const char	*name = host.filters[i].fa.name;

		if (strcmp(name, "cow") == 0)
			return NBDBROKER_DURABILITY_VOLATILE;
		if (strcmp(name, "cache") == 0) {
			mode = cfg_param(cfg, "cache");
			if (mode == NULL || strcmp(mode, "writethrough") != 0)
				return NBDBROKER_DURABILITY_VOLATILE;
		}
	}
	return plugin;
}

/* Does any layer have .list_exports (the broker's has_list_exports)? */
bool
filter_has_list_exports(void)
{
	size_t	i;

	for (i = 0; i < host.nfilters; i++)
		if (host.filters[i].fa.list_exports != NULL)
			return true;
	return host.p.list_exports != NULL;
}
