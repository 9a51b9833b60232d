/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A filter as a layer of the stack (filter_ops): each of its
 * callbacks, given the context below as nbdkit_next (or the layer
 * below as nbdkit_backend, and the stack_* function that calls it as
 * next), or, for a callback the filter lacks, the same call straight
 * to the layer below, as nbdkit does.  Also the nbdkit functions of
 * filters that manage contexts by hand (nbdkit-filter(3),
 * "nbdkit_next").
 *
 * Called from filter-stack.c on worker threads, under the stack's
 * lock, and at start-up; every callback may block.
 */
#include <config.h>

#include <stddef.h>

#include "worker.h"

#define ABI_PUBLIC	__attribute__((__visibility__("default")))

static int	no_handle;	/* the handle of a filter without .open */

/* What filters get as next_list_exports and next_default_export. */
static int
next_list_exports(struct layer *l, int readonly, struct nbdbroker_exports *x)
{
	return stack_list_exports(l, readonly, stack_tls(), x);
}

static const char *
next_default_export(struct layer *l, int readonly)
{
	return stack_default_export(l, readonly, stack_tls());
}

static struct filter_abi *
fa_of(const struct layer *l)
{
	return &l->f->fa;
}

static int
filter_config(struct layer *l, const char *key, const char *value)
{
	if (fa_of(l)->config != NULL)
		return fa_of(l)->config(stack_config, l->next, key, value);
	return stack_config(l->next, key, value);
}

static int
filter_config_complete(struct layer *l)
{
	if (fa_of(l)->config_complete != NULL)
		return fa_of(l)->config_complete(stack_config_complete,
		    l->next);
	return stack_config_complete(l->next);
}

static int
filter_preconnect(struct layer *l, int readonly)
{
	if (fa_of(l)->preconnect != NULL)
		return fa_of(l)->preconnect(stack_preconnect, l->next,
		    readonly);
	return stack_preconnect(l->next, readonly);
}

static int
filter_list_exports(struct layer *l, int readonly, int tls,
    struct nbdbroker_exports *x)
{
	if (fa_of(l)->list_exports != NULL)
		return fa_of(l)->list_exports(next_list_exports, l->next,
		    readonly, tls, x);
	return stack_list_exports(l->next, readonly, tls, x);
}

static const char *
filter_default_export(struct layer *l, int readonly, int tls)
{
	if (fa_of(l)->default_export != NULL)
		return fa_of(l)->default_export(next_default_export, l->next,
		    readonly, tls);
	return stack_default_export(l->next, readonly, tls);
}

/*
 * next_open: open the layer below c for the same connection and
 * associate it with c (what nbdkit_context_set_next does).
 */
static int
next_open(struct ctx *c, int readonly, const char *name)
{
	struct ctx	*n;

	if ((n = ctx_open(c->l->next, readonly, name, sdk_get_conn())) ==
	    NULL)
		return -1;
	ctx_close(c->next);	/* .open called next twice */
	c->next = n;
	return 0;
}

static void *
filter_open(struct ctx *c, int readonly, const char *name)
{
	if (fa_of(c->l)->open != NULL)
		return fa_of(c->l)->open(next_open, c, readonly, name,
		    stack_tls());
	return next_open(c, readonly, name) == 0 ? &no_handle : NULL;
}

static void
filter_close(struct ctx *c)
{
	if (fa_of(c->l)->close != NULL)
		fa_of(c->l)->close(c->handle);
}

static int
filter_prepare(struct ctx *c)
{
	if (fa_of(c->l)->prepare != NULL)
		return fa_of(c->l)->prepare(c->next, c->handle, c->readonly);
	return 0;
}

static int
filter_finalize(struct ctx *c)
{
	if (fa_of(c->l)->finalize != NULL)
		return fa_of(c->l)->finalize(c->next, c->handle);
	return 0;
}

static int64_t
filter_get_size(struct ctx *c)
{
	if (fa_of(c->l)->get_size != NULL)
		return fa_of(c->l)->get_size(c->next, c->handle);
	return ctx_get_size(c->next);
}

static const char *
filter_export_description(struct ctx *c)
{
	if (fa_of(c->l)->export_description != NULL)
		return fa_of(c->l)->export_description(c->next, c->handle);
	return ctx_export_description(c->next);
}

static int
filter_block_size(struct ctx *c, uint32_t *min, uint32_t *pref,
    uint32_t *max)
{
	if (fa_of(c->l)->block_size != NULL)
		return fa_of(c->l)->block_size(c->next, c->handle, min, pref,
		    max);
	return ctx_block_size(c->next, min, pref, max);
}

static int
filter_can(struct ctx *c, enum host_cap cap)
{
	const struct filter_abi	*fa = fa_of(c->l);
	int			(*fn)(struct ctx *, void *) = NULL;

	switch (cap) {
	case HOST_CAP_WRITE:		fn = fa->can_write; break;
	case HOST_CAP_FLUSH:		fn = fa->can_flush; break;
	case HOST_CAP_ROTATIONAL:	fn = fa->is_rotational; break;
	case HOST_CAP_MULTI_CONN:	fn = fa->can_multi_conn; break;
	case HOST_CAP_EXTENTS:		fn = fa->can_extents; break;
	case HOST_CAP_CACHE:		fn = fa->can_cache; break;
	case HOST_CAP_TRIM:		fn = fa->can_trim; break;
	case HOST_CAP_ZERO:		fn = fa->can_zero; break;
	case HOST_CAP_FAST_ZERO:	fn = fa->can_fast_zero; break;
	case HOST_CAP_FUA:		fn = fa->can_fua; break;
	case HOST_CAP_N:		break;
	}
	if (fn != NULL)
		return fn(c->next, c->handle);
	return ctx_can(c->next, cap);
}

static int
filter_pread(struct ctx *c, void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	if (fa_of(c->l)->pread != NULL)
		return fa_of(c->l)->pread(c->next, c->handle, buf, count, off,
		    flags, err);
	return ctx_pread(c->next, buf, count, off, flags, err);
}

static int
filter_pwrite(struct ctx *c, const void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	if (fa_of(c->l)->pwrite != NULL)
		return fa_of(c->l)->pwrite(c->next, c->handle, buf, count, off,
		    flags, err);
	return ctx_pwrite(c->next, buf, count, off, flags, err);
}

static int
filter_flush(struct ctx *c, uint32_t flags, int *err)
{
	if (fa_of(c->l)->flush != NULL)
		return fa_of(c->l)->flush(c->next, c->handle, flags, err);
	return ctx_flush(c->next, flags, err);
}

static int
filter_trim(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	if (fa_of(c->l)->trim != NULL)
		return fa_of(c->l)->trim(c->next, c->handle, count, off, flags,
		    err);
	return ctx_trim(c->next, count, off, flags, err);
}

static int
filter_zero(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	if (fa_of(c->l)->zero != NULL)
		return fa_of(c->l)->zero(c->next, c->handle, count, off, flags,
		    err);
	return ctx_zero(c->next, count, off, flags, err);
}

static int
filter_extents(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    struct nbdbroker_extents *ext, int *err)
{
	if (fa_of(c->l)->extents != NULL)
		return fa_of(c->l)->extents(c->next, c->handle, count, off,
		    flags, ext, err);
	return ctx_extents(c->next, count, off, flags, ext, err);
}

static int
filter_cache(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	if (fa_of(c->l)->cache != NULL)
		return fa_of(c->l)->cache(c->next, c->handle, count, off, flags,
		    err);
	return ctx_cache(c->next, count, off, flags, err);
}

const struct layer_ops	filter_ops = {
	.config = filter_config,
	.config_complete = filter_config_complete,
	.preconnect = filter_preconnect,
	.list_exports = filter_list_exports,
	.default_export = filter_default_export,
	.open = filter_open,
	.close = filter_close,
	.prepare = filter_prepare,
	.finalize = filter_finalize,
	.get_size = filter_get_size,
	.export_description = filter_export_description,
	.block_size = filter_block_size,
	.can = filter_can,
	.pread = filter_pread,
	.pwrite = filter_pwrite,
	.flush = filter_flush,
	.trim = filter_trim,
	.zero = filter_zero,
	.extents = filter_extents,
	.cache = filter_cache,
};

/*
 * The nbdkit functions for filters that manage contexts by hand
 * (nbdkit-filter(3), "nbdkit_next").  Declared here: only filter code
 * calls them.
 */
ABI_PUBLIC struct layer *nbdkit_context_get_backend(struct ctx *);
ABI_PUBLIC struct ctx *nbdkit_next_context_open(struct layer *, int,
    const char *, int);
ABI_PUBLIC void nbdkit_next_context_close(struct ctx *);
ABI_PUBLIC struct ctx *nbdkit_context_set_next(struct ctx *, struct ctx *);

/* The layer below the filter whose context this is. */
ABI_PUBLIC struct layer *
nbdkit_context_get_backend(struct ctx *c)
{
	return c->l->next;
}

/*
 * A context of layer l (the backend a filter was given) that the
 * filter prepares, finalizes and closes itself.  Not shared: for the
 * current connection; shared: for none in particular (the plugin sees
 * no TLS and the export name given).
 */
ABI_PUBLIC struct ctx *
nbdkit_next_context_open(struct layer *l, int readonly, const char *name,
    int shared)
{
	const struct sdk_conn	*conn = shared ? NULL : sdk_get_conn();

	if (l == NULL) {
		nbdbroker_error("nbdkit_next_context_open: no backend");
		return NULL;
	}
	if (!shared && conn == NULL) {
		nbdbroker_error("nbdkit_next_context_open: not shared, but "
		    "called outside any client connection");
		return NULL;
	}
	return ctx_open(l, readonly, name != NULL ? name : "", conn);
}

ABI_PUBLIC void
nbdkit_next_context_close(struct ctx *c)
{
	ctx_close(c);
}

/* Associate next with c (NULL: none); returns the one it replaces. */
ABI_PUBLIC struct ctx *
nbdkit_context_set_next(struct ctx *c, struct ctx *next)
{
	struct ctx	*old = c->next;

	c->next = next;
	return old;
}
