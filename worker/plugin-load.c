/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading a plugin: dlopen it, find out which ABI it speaks (ours or
 * nbdkit 1.32's, which share one struct layout), copy its struct into
 * host.p, check what every plugin must have, and normalise it so that
 * nothing after load needs to know the plugin's API version: host.p's
 * data callbacks always have API 2's signatures.  For an API 1 plugin
 * they are the shims below, the only code that calls API 1 callbacks;
 * its _*_v1 slots in host.p are always NULL.
 *
 * Runs once, at start-up (or for --dump-plugin), before the plugin's
 * .load; never on a worker thread.
 */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "worker.h"

/*
 * How much of a plugin's struct the worker reads.  Ours: at least up
 * to the API 1 callbacks, at most all of struct nbdbroker_plugin.  An
 * nbdkit plugin's struct nbdkit_plugin is ours without the members we
 * appended (384 bytes in nbdkit 1.32 on LP64); nothing past it is read
 * from an nbdkit plugin, whatever its _struct_size says.  The oldest
 * nbdkit plugins end before errno_is_preserved; every plugin must at
 * least reach the API 1 pread slot.
 */
#define LOAD_OURS_MIN	offsetof(struct nbdbroker_plugin, errno_is_preserved)
#define LOAD_NBDKIT_MAX	offsetof(struct nbdbroker_plugin, durability)
#define LOAD_NBDKIT_MIN	offsetof(struct nbdbroker_plugin, _pwrite_v1)

_Static_assert(LOAD_NBDKIT_MAX == 48 * sizeof(void *),
    "nbdkit 1.32 struct nbdkit_plugin layout");

/*
 * An API 1 plugin's own callbacks, moved out of host.p at load.  Only
 * the shims call them.
 */
static struct {
	int	(*pread)(void *, void *, uint32_t, uint64_t);
	int	(*pwrite)(void *, const void *, uint32_t, uint64_t);
	int	(*flush)(void *);
	int	(*trim)(void *, uint32_t, uint64_t);
	int	(*zero)(void *, uint32_t, uint64_t, int);
	int	(*can_fua)(void *);
} v1;

/*
 * The API 1 shims: API 2 signatures over API 1 callbacks.  API 1 has
 * no flags.  FUA is a flush after the call (an API 1 plugin's FUA is
 * at most emulated, so the data path does that flush itself and never
 * passes FUA here; the shims still honour the API 2 contract); zero's
 * may_trim is NBDBROKER_FLAG_MAY_TRIM; an API 1 zero cannot promise
 * to be fast, so FAST_ZERO fails at once with EOPNOTSUPP (nbdkit's
 * rule; the client then writes the zeroes itself).
 */
static int
api1_flush(void *h, uint32_t flags)
{
	(void)flags;
	return v1.flush(h);
}

static int
api1_fua(void *h, uint32_t flags)
{
	return flags & NBDBROKER_FLAG_FUA ? api1_flush(h, 0) : 0;
}

static int
api1_pread(void *h, void *buf, uint32_t count, uint64_t off, uint32_t flags)
{
	(void)flags;
	return v1.pread(h, buf, count, off);
}

static int
api1_pwrite(void *h, const void *buf, uint32_t count, uint64_t off,
    uint32_t flags)
{
	int	r = v1.pwrite(h, buf, count, off);

	return r == 0 ? api1_fua(h, flags) : r;
}

static int
api1_trim(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
	int	r = v1.trim(h, count, off);

	return r == 0 ? api1_fua(h, flags) : r;
}

static int
api1_zero(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
	int	r;

	if (flags & NBDBROKER_FLAG_FAST_ZERO) {
		errno = EOPNOTSUPP;
		return -1;
	}
	r = v1.zero(h, count, off, !!(flags & NBDBROKER_FLAG_MAY_TRIM));
	return r == 0 ? api1_fua(h, flags) : r;
}

/* nbdkit's rule: an API 1 plugin cannot take FUA natively. */
static int
api1_can_fua(void *h)
{
	int	v = v1.can_fua(h);

	return v >= NBDBROKER_FUA_NATIVE ? NBDBROKER_FUA_EMULATE : v;
}

/*
 * Make host.p speak API 2 whatever the plugin's version: an API 1
 * plugin's data callbacks (and can_fua) move to v1 and the API 2 slots
 * get shims for those it has; API 2 slots it cannot have set on
 * purpose are cleared.  An API 2 plugin cannot have set the _*_v1
 * slots on purpose either: they are cleared.
 */
static void
load_normalise(void)
{
	struct nbdbroker_plugin	*p = &host.p;

	if (host.api_version == 1) {
		v1.pread = p->_pread_v1;
		v1.pwrite = p->_pwrite_v1;
		v1.flush = p->_flush_v1;
		v1.trim = p->_trim_v1;
		v1.zero = p->_zero_v1;
		v1.can_fua = p->can_fua;
		p->pread = v1.pread != NULL ? api1_pread : NULL;
		p->pwrite = v1.pwrite != NULL ? api1_pwrite : NULL;
		p->flush = v1.flush != NULL ? api1_flush : NULL;
		p->trim = v1.trim != NULL ? api1_trim : NULL;
		p->zero = v1.zero != NULL ? api1_zero : NULL;
		p->can_fua = v1.can_fua != NULL ? api1_can_fua : NULL;
	}
	p->_pread_v1 = NULL;
	p->_pwrite_v1 = NULL;
	p->_flush_v1 = NULL;
	p->_trim_v1 = NULL;
	p->_zero_v1 = NULL;
}

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
 * dlopen failed.  The usual reason for an nbdkit plugin is a function
 * of nbdkit's that the worker does not provide: say which, and why
 * that may be, rather than only passing on the loader's message.
 */
static void
load_error(const char *path, const char *how, const char *dlerr, char *err,
    size_t errlen)
{
	const char	*u = strstr(dlerr, "undefined symbol: ");
	const char	*base = strrchr(path, '/');
	size_t		 blen, hl = strlen(how);

	base = base ? base + 1 : path;
	blen = strlen(base);
	/* The loader names what it opened: the descriptor, not the file. */
	if (strncmp(dlerr, how, hl) == 0 && dlerr[hl] == ':')
		dlerr += hl + 1;
	while (*dlerr == ' ')
		dlerr++;
	if (u == NULL) {
		set_err(err, errlen, "cannot load plugin %s: %s", path, dlerr);
		return;
	}
	u += strlen("undefined symbol: ");
	if (blen > 10 && strcmp(base + blen - 10, "-filter.so") == 0)
		set_err(err, errlen, "%s: this looks like an nbdkit filter, "
		    "which goes above a plugin with --filter (it needs %s, "
		    "which nbdbroker-worker does not provide to plugins)",
		    path, u);
	else if (strncmp(u, "nbdkit_", 7) == 0)
		set_err(err, errlen, "%s: the plugin needs %s, an nbdkit "
		    "function nbdbroker-worker does not provide (it provides "
		    "nbdkit 1.32's plugin API; plugins built for a newer "
		    "nbdkit, or using nbdkit's internals, cannot be hosted)",
		    path, u);
	else
		set_err(err, errlen, "%s: the plugin needs the symbol %s, "
		    "which nothing loaded provides", path, u);
}

/*
 * dlopen the plugin (from fd, if not -1), find out which ABI it speaks
 * (ours, through nbdbroker_plugin_register, or nbdkit's, through
 * plugin_init) and copy its struct into host.p: as many bytes as the
 * plugin declared, never more than that ABI defines, the rest zero.
 * Checks the API version and the callbacks every plugin must have,
 * then normalises host.p to API 2.  .load is called later, by
 * host_configure, once debug flags are set.  Returns 0, or -1 with the
 * reason in err.
 */
int
host_load(const char *path, int fd, char *err, size_t errlen)
{
	char			 fdpath[64];
	const char		*how;
	struct nbdbroker_plugin	*(*reg)(void);
	struct nbdbroker_plugin	*p;
	size_t			 n, max = sizeof(host.p), min = LOAD_OURS_MIN;

	if ((host.path = strdup(path)) == NULL) {
		set_err(err, errlen, "strdup: %s", strerror(errno));
		return -1;
	}
	/*
	 * Through the descriptor opened before the sandbox, when there is
	 * one: the user the worker runs as may not be able to reach the
	 * path (a build tree under a private home, a 0700 directory).
	 */
	if (fd >= 0)
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	how = fd >= 0 ? fdpath : path;
	host.dl = dlopen(how, RTLD_NOW | RTLD_LOCAL);
	if (host.dl == NULL) {
		load_error(path, how, dlerror(), err, errlen);
		return -1;
	}
	*(void **)&reg = dlsym(host.dl, "nbdbroker_plugin_register");
	if (reg == NULL) {
		*(void **)&reg = dlsym(host.dl, "plugin_init");
		if (reg != NULL) {
			host.nbdkit = true;
			abi_prepare_env();
			max = LOAD_NBDKIT_MAX;
			min = LOAD_NBDKIT_MIN;
		} else if (dlsym(host.dl, "filter_init") != NULL) {
			set_err(err, errlen, "%s: this is an nbdkit filter, "
			    "not a plugin; give it with --filter=%s above a "
			    "plugin", path, path);
			return -1;
		} else {
			set_err(err, errlen, "%s: not a plugin (neither "
			    "nbdbroker_plugin_register nor nbdkit's "
			    "plugin_init is defined)", path);
			return -1;
		}
	}
	if ((p = reg()) == NULL) {
		set_err(err, errlen, "%s: plugin registration returned NULL",
		    path);
		return -1;
	}
	if (p->_api_version < 1 || p->_api_version > 2) {
		set_err(err, errlen, "%s: plugin uses API version %d; this "
		    "worker supports versions 1 to 2", path, p->_api_version);
		return -1;
	}
	if (p->_struct_size < min || p->_struct_size > 65536) {
		set_err(err, errlen, "%s: implausible plugin struct size "
		    "%" PRIu64, path, p->_struct_size);
		return -1;
	}
	host.struct_size = p->_struct_size;
	n = p->_struct_size < max ? p->_struct_size : max;
	memset(&host.p, 0, sizeof(host.p));
	memcpy(&host.p, p, n);
	host.api_version = p->_api_version;
	if (tm_declare(p->_thread_model) == -1) {
		set_err(err, errlen, "%s: unknown thread model %d", path,
		    p->_thread_model);
		return -1;
	}

	if (host.p.name == NULL || host.p.name[0] == '\0') {
		set_err(err, errlen, "%s: plugin has no .name", path);
		return -1;
	}
	if (!plugin_name_valid(host.p.name)) {
		set_err(err, errlen, "%s: plugin name must be [A-Za-z0-9_-]+, "
		    "at most %d characters", path, PLUGIN_NAME_MAX);
		return -1;
	}
	if (host.p.open == NULL) {
		set_err(err, errlen, "plugin %s: required callback .open "
		    "is missing", host.p.name);
		return -1;
	}
	if (host.p.get_size == NULL) {
		set_err(err, errlen, "plugin %s: required callback .get_size "
		    "is missing", host.p.name);
		return -1;
	}
	load_normalise();
	if (host.p.pread == NULL) {
		set_err(err, errlen, "plugin %s: required callback .pread "
		    "is missing", host.p.name);
		return -1;
	}
	if (host.p.durability < NBDBROKER_DURABILITY_UNSPECIFIED ||
	    host.p.durability > NBDBROKER_DURABILITY_VOLATILE)
		host.p.durability = NBDBROKER_DURABILITY_UNSPECIFIED;
	return 0;
}
