/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plugin as the bottom layer of the stack (plugin_ops): its
 * per-client callbacks with what nbdkit does for plugins that lack
 * them (cap_rules: the defaults of nbdkit-plugin(3)), its error
 * convention (nbdbroker_set_error or errno, turned into the *err of
 * the layer above), FUA emulated by a flush for a plugin that cannot
 * take it, and WRITE_ZEROES written with pwrite when its zero says
 * ENOTSUP.  host.p speaks API 2 whatever the plugin's version, so
 * nothing here asks which it is.
 *
 * Every call runs with the plugin's view of the connection (its
 * context's conn: the export name it was opened with) as the SDK's
 * current connection.  Called from filter-stack.c's ctx_* functions on
 * worker threads, under the stack's lock; every callback may block.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

/*
 * Around every call into the plugin for context c: the plugin's view
 * of the connection, no error yet.  Returns what plugin_leave restores.
 */
static struct sdk_conn *
plugin_enter(struct ctx *c)
{
	struct sdk_conn	*saved = sdk_get_conn();

	sdk_set_conn(&c->conn);
	sdk_reset_error();
	errno = 0;
	return saved;
}

static void
plugin_leave(struct sdk_conn *saved)
{
	sdk_set_conn(saved);
}

/* The errno the client should see after a callback returned -1. */
int
plugin_errno(int saved_errno)
{
	int	e = sdk_get_error();

	if (e == 0 && host.p.errno_is_preserved)
		e = saved_errno;
	return e > 0 ? e : EIO;
}

/* Start-up and per-client calls: the bottom of each chain. */

/*
 * A parameter the filters above passed on.  The key of a bare word was
 * chosen by host.c (the magic config key).
 */
static int
plugin_config(struct layer *l, const char *key, const char *value)
{
	(void)l;
	if (host.p.config == NULL) {
		nbdbroker_error("plugin %s takes no parameters, but got %s=%s",
		    host.p.name, key, value);
		return -1;
	}
	return host.p.config(key, value);
}

static int
plugin_config_complete(struct layer *l)
{
	(void)l;
	if (host.p.config_complete == NULL)
		return 0;
	return host.p.config_complete();
}

static int
plugin_preconnect(struct layer *l, int readonly)
{
	(void)l;
	if (host.p.preconnect == NULL)
		return 0;
	return host.p.preconnect(readonly);
}

/* Without .list_exports the list is the default export alone. */
static int
plugin_list_exports(struct layer *l, int readonly, int tls,
    struct nbdbroker_exports *x)
{
	(void)l;
	if (host.p.list_exports == NULL)
		return nbdbroker_use_default_export(x);
	return host.p.list_exports(readonly, tls, x);
}

static const char *
plugin_default_export(struct layer *l, int readonly, int tls)
{
	const char	*name;

	(void)l;
	if (host.p.default_export == NULL)
		return "";
	if ((name = host.p.default_export(readonly, tls)) == NULL)
		nbdbroker_error("plugin %s: no default export", host.p.name);
	return name;
}

static void *
plugin_open(struct ctx *c, int readonly, const char *name)
{
	struct sdk_conn	*saved;
	void		*h;

	(void)name;		/* it is c->conn.export_name */
	saved = plugin_enter(c);
	/*
	 * A plugin that preserves errno says why (ENOENT: no such export;
	 * EACCES: the sandbox refused a file), which picks the client's
	 * error (broker/nbd-handshake.c).
	 */
	if ((h = host.p.open(readonly)) == NULL && sdk_get_error() == 0)
		nbdbroker_set_error(plugin_errno(errno));
	plugin_leave(saved);
	return h;
}

static void
plugin_close(struct ctx *c)
{
	struct sdk_conn	*saved;

	saved = plugin_enter(c);
	if (host.p.close != NULL)
		host.p.close(c->handle);
	plugin_leave(saved);
}

static int64_t
plugin_get_size(struct ctx *c)
{
	struct sdk_conn	*saved;
	int64_t		 size;

	saved = plugin_enter(c);
	size = host.p.get_size(c->handle);
	plugin_leave(saved);
	return size;
}

static const char *
plugin_export_description(struct ctx *c)
{
	struct sdk_conn	*saved;
	const char	*d = NULL;

	saved = plugin_enter(c);
	if (host.p.export_description != NULL)
		d = host.p.export_description(c->handle);
	plugin_leave(saved);
	return d;
}

static int
plugin_block_size(struct ctx *c, uint32_t *min, uint32_t *pref,
    uint32_t *max)
{
	struct sdk_conn	*saved;
	int		 r = 0;

	*min = *pref = *max = 0;
	saved = plugin_enter(c);
	if (host.p.block_size != NULL)
		r = host.p.block_size(c->handle, min, pref, max);
	plugin_leave(saved);
	return r;
}

/*
 * Capabilities, one row per capability: the plugin's can_* callback,
 * or nbdkit's default for a plugin without it (nbdkit-plugin(3)).
 * filter-stack.c's ctx_can has already applied the rules every layer
 * shares (read-only, what needs can_write), and caches the answer.
 */
enum cap_default {
	CAP_DFLT_NO,
	CAP_DFLT_YES,
	CAP_DFLT_IMPL,		/* yes iff the callback it enables exists */
	CAP_DFLT_NOT_ZERO,	/* yes iff zeroes are emulated (fail fast) */
	CAP_DFLT_CACHE,		/* NATIVE iff .cache exists, else NONE */
	CAP_DFLT_FUA,		/* EMULATE iff the handle flushes, else NONE */
};

enum cap_kind {
	CAP_BOOL,		/* 0 or 1: a positive answer is a yes */
	CAP_ZERO_MODE,		/* a yes is FILTER_ZERO_NATIVE, else EMULATE */
	CAP_CACHE_MODE,		/* NBDBROKER_CACHE_* */
	CAP_FUA_MODE,		/* NBDBROKER_FUA_* */
};

#define CAP_NO_IMPL	((size_t)-1)
#define CAP_FN(m)	offsetof(struct nbdbroker_plugin, m)

static const struct cap_rule {
	size_t		 query;		/* CAP_FN(can_*): int (*)(void *) */
	size_t		 impl;		/* CAP_FN(what it enables), or
					   CAP_NO_IMPL */
	enum cap_default dflt;
	enum cap_kind	 kind;
	bool		 needs_impl;	/* a yes without impl is a no */
} cap_rules[HOST_CAP_N] = {
	[HOST_CAP_WRITE] = { CAP_FN(can_write), CAP_FN(pwrite),
	    CAP_DFLT_IMPL, CAP_BOOL, false },
	[HOST_CAP_FLUSH] = { CAP_FN(can_flush), CAP_FN(flush),
	    CAP_DFLT_IMPL, CAP_BOOL, false },
	[HOST_CAP_ROTATIONAL] = { CAP_FN(is_rotational), CAP_NO_IMPL,
	    CAP_DFLT_NO, CAP_BOOL, false },
	[HOST_CAP_MULTI_CONN] = { CAP_FN(can_multi_conn), CAP_NO_IMPL,
	    CAP_DFLT_NO, CAP_BOOL, false },
	[HOST_CAP_EXTENTS] = { CAP_FN(can_extents), CAP_FN(extents),
	    CAP_DFLT_IMPL, CAP_BOOL, true },
	[HOST_CAP_CACHE] = { CAP_FN(can_cache), CAP_FN(cache),
	    CAP_DFLT_CACHE, CAP_CACHE_MODE, false },
	[HOST_CAP_TRIM] = { CAP_FN(can_trim), CAP_FN(trim),
	    CAP_DFLT_IMPL, CAP_BOOL, true },
	[HOST_CAP_ZERO] = { CAP_FN(can_zero), CAP_FN(zero),
	    CAP_DFLT_YES, CAP_ZERO_MODE, true },
	[HOST_CAP_FAST_ZERO] = { CAP_FN(can_fast_zero), CAP_NO_IMPL,
	    CAP_DFLT_NOT_ZERO, CAP_BOOL, false },
	[HOST_CAP_FUA] = { CAP_FN(can_fua), CAP_NO_IMPL,
	    CAP_DFLT_FUA, CAP_FUA_MODE, false },
};

/* Is the callback at offset off (CAP_FN) of host.p set? */
static bool
cap_plugin_has(size_t off)
{
	void	(*fn)(void);

	if (off == CAP_NO_IMPL)
		return false;
	memcpy(&fn, (const char *)&host.p + off, sizeof(fn));
	return fn != NULL;
}

/* The answer of a plugin without the row's can_* callback. */
static int
cap_default(const struct cap_rule *r, struct ctx *c, bool impl)
{
	int	v;

	switch (r->dflt) {
	case CAP_DFLT_NO:
		return 0;
	case CAP_DFLT_YES:
		return 1;
	case CAP_DFLT_IMPL:
		return impl;
	case CAP_DFLT_NOT_ZERO:
		/* nbdkit: an API 1 zero fails fast zeroes at once. */
		if (host.nbdkit && host.api_version == 1)
			return 1;
		if ((v = ctx_can(c, HOST_CAP_ZERO)) == -1)
			return -1;
		return v != FILTER_ZERO_NATIVE;
	case CAP_DFLT_CACHE:
		return impl ? NBDBROKER_CACHE_NATIVE : NBDBROKER_CACHE_NONE;
	case CAP_DFLT_FUA:
		/*
		 * nbdkit emulates FUA with the plugin's .flush whenever it
		 * has one, whatever its can_flush says.
		 */
		if (host.nbdkit)
			return host.p.flush != NULL ? NBDBROKER_FUA_EMULATE :
			    NBDBROKER_FUA_NONE;
		if ((v = ctx_can(c, HOST_CAP_FLUSH)) == -1)
			return -1;
		return v ? NBDBROKER_FUA_EMULATE : NBDBROKER_FUA_NONE;
	}
	abort();
	/* NOTREACHED */
}

/* Turn an answer (callback's or default) into what the context keeps. */
static int
cap_settle(const struct cap_rule *r, struct ctx *c, int v, bool impl)
{
	int	f;

	switch (r->kind) {
	case CAP_BOOL:
		return v > 0 && (impl || !r->needs_impl);
	case CAP_ZERO_MODE:
		return v > 0 && impl ? FILTER_ZERO_NATIVE :
		    FILTER_ZERO_EMULATE;
	case CAP_CACHE_MODE:
		/* Native without .cache: the worker reads and discards. */
		if (v == NBDBROKER_CACHE_NATIVE && !impl)
			v = NBDBROKER_CACHE_EMULATE;
		return v >= NBDBROKER_CACHE_NONE &&
		    v <= NBDBROKER_CACHE_NATIVE ? v : NBDBROKER_CACHE_NONE;
	case CAP_FUA_MODE:
		/* Above NATIVE is NATIVE; other odd answers are EMULATE. */
		if (v > NBDBROKER_FUA_NATIVE)
			v = NBDBROKER_FUA_NATIVE;
		else if (v < NBDBROKER_FUA_NONE)
			v = NBDBROKER_FUA_EMULATE;
		/*
		 * Emulated FUA is a flush: none without one (for nbdkit
		 * plugins, without a .flush callback, as nbdkit decides).
		 */
		if (v == NBDBROKER_FUA_EMULATE && host.nbdkit) {
			if (host.p.flush == NULL)
				v = NBDBROKER_FUA_NONE;
		} else if (v == NBDBROKER_FUA_EMULATE) {
			if ((f = ctx_can(c, HOST_CAP_FLUSH)) == -1)
				return -1;
			if (!f)
				v = NBDBROKER_FUA_NONE;
		}
		return v;
	}
	abort();
	/* NOTREACHED */
}

static int
plugin_can(struct ctx *c, enum host_cap cap)
{
	const struct cap_rule	*r = &cap_rules[cap];
	bool			 impl = cap_plugin_has(r->impl);
	int			(*query)(void *);
	int			 v;
	struct sdk_conn		*saved;

	memcpy(&query, (const char *)&host.p + r->query, sizeof(query));
	if (query == NULL)
		v = cap_default(r, c, impl);
	else {
		saved = plugin_enter(c);
		v = query(c->handle);
		plugin_leave(saved);
	}
	if (v == -1)
		return -1;
	return cap_settle(r, c, v, impl);
}

/* The data path. */

/*
 * FUA the plugin cannot take is a flush after the call: strip it from
 * *flags and say whether to flush.
 */
static bool
plugin_fua_emulated(struct ctx *c, uint32_t *flags)
{
	if (!(*flags & NBDBROKER_FLAG_FUA) ||
	    ctx_can(c, HOST_CAP_FUA) == NBDBROKER_FUA_NATIVE)
		return false;
	*flags &= ~NBDBROKER_FLAG_FUA;
	return ctx_can(c, HOST_CAP_FUA) == NBDBROKER_FUA_EMULATE;
}

static int
plugin_flush(struct ctx *c, uint32_t flags, int *err)
{
	struct sdk_conn	*saved;
	int		 r;

	(void)flags;
	saved = plugin_enter(c);
	if ((r = host.p.flush(c->handle, 0)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	return r;
}

/* After a call that took FUA by emulation: flush if it succeeded. */
static int
plugin_fua_done(struct ctx *c, int r, bool fua, int *err)
{
	if (r == 0 && fua)
		r = plugin_flush(c, 0, err);
	return r;
}

static int
plugin_pread(struct ctx *c, void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	struct sdk_conn	*saved;
	int		 r;

	(void)flags;
	saved = plugin_enter(c);
	if ((r = host.p.pread(c->handle, buf, count, off, 0)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	return r;
}

static int
plugin_pwrite(struct ctx *c, const void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	struct sdk_conn	*saved;
	bool		 fua = plugin_fua_emulated(c, &flags);
	int		 r;

	saved = plugin_enter(c);
	if ((r = host.p.pwrite(c->handle, buf, count, off, flags)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	return plugin_fua_done(c, r, fua, err);
}

static int
plugin_trim(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	struct sdk_conn	*saved;
	bool		 fua = plugin_fua_emulated(c, &flags);
	int		 r;

	saved = plugin_enter(c);
	if ((r = host.p.trim(c->handle, count, off, flags)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	return plugin_fua_done(c, r, fua, err);
}

/*
 * Native zeroes; if the plugin says it cannot this time (ENOTSUP) and
 * the client did not ask for a fast zero, they are written instead.
 */
static int
plugin_zero(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	struct sdk_conn	*saved;
	uint32_t	 orig = flags;
	bool		 fua = plugin_fua_emulated(c, &flags);
	int		 r;

	saved = plugin_enter(c);
	if ((r = host.p.zero(c->handle, count, off, flags)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	if (r == -1 && (*err == ENOTSUP || *err == EOPNOTSUPP) &&
	    !(orig & NBDBROKER_FLAG_FAST_ZERO)) {
		*err = 0;
		return ctx_emulate_zero(c, count, off, orig, err);
	}
	return plugin_fua_done(c, r, fua, err);
}

static int
plugin_extents(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    struct nbdbroker_extents *ext, int *err)
{
	struct sdk_conn	*saved;
	size_t		 n0 = ext->n;
	int		 r;

	saved = plugin_enter(c);
	if ((r = host.p.extents(c->handle, count, off, flags, ext)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	if (r == 0 && ext->n == n0 && n0 == 0) {
		nbdbroker_error("plugin %s: extents callback returned no "
		    "extents for offset %" PRIu64, host.p.name, off);
		*err = EIO;
		return -1;
	}
	return r;
}

static int
plugin_cache(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	struct sdk_conn	*saved;
	int		 r;

	(void)flags;
	saved = plugin_enter(c);
	if ((r = host.p.cache(c->handle, count, off, 0)) == -1)
		*err = plugin_errno(errno);
	plugin_leave(saved);
	return r;
}

const struct layer_ops	plugin_ops = {
	.config = plugin_config,
	.config_complete = plugin_config_complete,
	.preconnect = plugin_preconnect,
	.list_exports = plugin_list_exports,
	.default_export = plugin_default_export,
	.open = plugin_open,
	.close = plugin_close,
	.prepare = NULL,
	.finalize = NULL,
	.get_size = plugin_get_size,
	.export_description = plugin_export_description,
	.block_size = plugin_block_size,
	.can = plugin_can,
	.pread = plugin_pread,
	.pwrite = plugin_pwrite,
	.flush = plugin_flush,
	.trim = plugin_trim,
	.zero = plugin_zero,
	.extents = plugin_extents,
	.cache = plugin_cache,
};
