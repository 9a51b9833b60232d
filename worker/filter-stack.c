/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack: nbdkit filters above the plugin, each layer reached only
 * through the one above (host.top is what the broker talks to).  Two
 * halves, as in nbdkit:
 *
 * - per layer (struct layer, a filter's nbdkit_backend): the chained
 *   start-up and per-client calls (config, config_complete,
 *   preconnect, list_exports, default_export), each layer calling the
 *   next through the stack_* function passed to it, and the filters'
 *   share of the lifecycle (load, thread_model, get_ready, after_fork
 *   inner to outer; cleanup outer to inner; unload inner to outer);
 * - per connection (struct ctx, a filter's nbdkit_context and
 *   nbdkit_next): open (outer to inner, each filter opening the layer
 *   below through next_open or nbdkit_next_context_open), prepare
 *   (inner to outer), finalize and close (outer to inner), and every
 *   query and data call.  The ctx_* functions keep nbdkit's rules for
 *   every layer alike: get_size, block_size and the can_* answers are
 *   cached per context; writes, trims and zeroes need can_write, FUA
 *   needs can_fua; zeroes a layer can only emulate are written with
 *   its pwrite, and CACHE it can only emulate is a pread; a layer
 *   without extents reports one data extent; errors reach the caller
 *   as *err, EIO if a layer forgot to say.
 *
 * The filters' own callbacks are filter-layer.c's.  Called from worker
 * threads under the lock thread-model.c picks for the whole stack (the
 * strictest model of all the layers), from filters' own threads, and
 * at start-up; every callback may block.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "worker.h"

#define STACK_ZERO_BUF	(1024 * 1024)
#define STACK_MAX_NAME	4096		/* an export name (NBD's limit) */

static const uint8_t	*zero_buf;	/* STACK_ZERO_BUF read-only zeroes */
static __thread int	 cur_tls;	/* the client's, for filters' calls */

/*
 * Map the zeroes that emulated WRITE_ZEROES writes.  Called once at
 * start-up, before the sandbox may forbid it.  0, or -1 with the reason
 * in err.
 */
int
stack_data_init(char *err, size_t errlen)
{
	zero_buf = mmap(NULL, STACK_ZERO_BUF, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zero_buf == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		zero_buf = NULL;
		return -1;
	}
	return 0;
}

/* Whether the client of this thread's calls negotiated TLS. */
void
stack_set_tls(bool tls)
{
	cur_tls = tls;
}

bool
stack_tls(void)
{
	return cur_tls;
}

/* Per layer: the chained calls. */

int
stack_config(struct layer *l, const char *key, const char *value)
{
	return l->ops->config(l, key, value);
}

int
stack_config_complete(struct layer *l)
{
	return l->ops->config_complete(l);
}

int
stack_preconnect(struct layer *l, int readonly)
{
	return l->ops->preconnect(l, readonly);
}

/*
 * The default export of l: "" for a plugin without .default_export.
 * Borrowed: valid as long as the layer says (an interned string).
 */
const char *
stack_default_export(struct layer *l, int readonly, int tls)
{
	const char	*name;
	int		 saved = cur_tls;

	cur_tls = tls;
	name = l->ops->default_export(l, readonly, tls);
	cur_tls = saved;
	if (name != NULL && strlen(name) > STACK_MAX_NAME) {
		nbdbroker_error("%s: default export name is longer than %d "
		    "bytes", l->name, STACK_MAX_NAME);
		return NULL;
	}
	return name;
}

/*
 * l's export list.  A layer that asked for the default export in it
 * (nbdkit_use_default_export) gets its own default added here, before
 * the layer above sees the list, as nbdkit does at every layer.
 */
int
stack_list_exports(struct layer *l, int readonly, int tls,
    struct nbdbroker_exports *x)
{
	const char	*def;
	int		 saved = cur_tls, r;
	size_t		 i;

	cur_tls = tls;
	r = l->ops->list_exports(l, readonly, tls, x);
	cur_tls = saved;
	if (r == -1 || !x->use_default)
		return r;
	x->use_default = false;
	if ((def = stack_default_export(l, readonly, tls)) == NULL)
		return -1;
	for (i = 0; i < x->n; i++)
		if (strcmp(x->v[i].name, def) == 0)
			return 0;
	return nbdbroker_add_export(x, def, NULL);
}

/* Per layer: the filters' share of the lifecycle (host.c: the plugin's). */

void
stack_filters_load(void)
{
	size_t	i;

	for (i = host.nfilters; i-- > 0; ) {
		struct filter	*f = &host.filters[i];

		if (f->fa.load != NULL)
			f->fa.load();
		f->loaded = true;
	}
}

/* Each filter's .thread_model may only make the model stricter. */
int
stack_filters_thread_model(void)
{
	size_t	i;
	int	tm;

	for (i = host.nfilters; i-- > 0; ) {
		const struct filter	*f = &host.filters[i];

		if (f->fa.thread_model == NULL)
			continue;
		if ((tm = f->fa.thread_model()) == -1)
			return -1;
		tm_restrict(tm);
	}
	return 0;
}

int
stack_filters_get_ready(void)
{
	size_t	i;

	for (i = host.nfilters; i-- > 0; ) {
		const struct filter	*f = &host.filters[i];

		if (f->fa.get_ready != NULL &&
		    f->fa.get_ready(tm_model()) == -1)
			return -1;
	}
	return 0;
}

int
stack_filters_after_fork(void)
{
	size_t	i;

	for (i = host.nfilters; i-- > 0; ) {
		const struct filter	*f = &host.filters[i];

		if (f->fa.after_fork != NULL &&
		    f->fa.after_fork(host.layers[i].next) == -1)
			return -1;
	}
	return 0;
}

void
stack_filters_cleanup(void)
{
	size_t	i;

	for (i = 0; i < host.nfilters; i++) {
		const struct filter	*f = &host.filters[i];

		if (f->fa.cleanup != NULL)
			f->fa.cleanup(host.layers[i].next);
	}
}

void
stack_filters_unload(void)
{
	size_t	i;

	for (i = host.nfilters; i-- > 0; ) {
		struct filter	*f = &host.filters[i];

		if (f->loaded && f->fa.unload != NULL)
			f->fa.unload();
		f->loaded = false;
	}
}

/* Per connection: contexts. */

static int	next_can_write(struct ctx *c);
static int	next_can_flush(struct ctx *c);
static int	next_is_rotational(struct ctx *c);
static int	next_can_trim(struct ctx *c);
static int	next_can_zero(struct ctx *c);
static int	next_can_fast_zero(struct ctx *c);
static int	next_can_extents(struct ctx *c);
static int	next_can_fua(struct ctx *c);
static int	next_can_multi_conn(struct ctx *c);
static int	next_can_cache(struct ctx *c);

/* What every context holds for the filter above it to call. */
static const struct next_ops	next_ops = {
	.prepare = ctx_prepare,
	.finalize = ctx_finalize,
	.get_size = ctx_get_size,
	.export_description = ctx_export_description,
	.block_size = ctx_block_size,
	.can_write = next_can_write,
	.can_flush = next_can_flush,
	.is_rotational = next_is_rotational,
	.can_trim = next_can_trim,
	.can_zero = next_can_zero,
	.can_fast_zero = next_can_fast_zero,
	.can_extents = next_can_extents,
	.can_fua = next_can_fua,
	.can_multi_conn = next_can_multi_conn,
	.can_cache = next_can_cache,
	.pread = ctx_pread,
	.pwrite = ctx_pwrite,
	.flush = ctx_flush,
	.trim = ctx_trim,
	.zero = ctx_zero,
	.extents = ctx_extents,
	.cache = ctx_cache,
};

static void
ctx_free(struct ctx *c)
{
	sdk_intern_free(&c->conn.intern);
	free((char *)c->conn.export_name);
	free(c);
}

/*
 * Open a context of layer l for export name (readonly or not), for
 * the connection conn (NULL: one shared by every connection).  The
 * plugin sees the connection with name as its export.  Returns a new
 * context, not yet prepared (close with ctx_close), or NULL if the
 * layer's .open failed (it has said why).
 */
struct ctx *
ctx_open(struct layer *l, int readonly, const char *name,
    const struct sdk_conn *conn)
{
	struct ctx	*c;
	void		*h;
	size_t		 i;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		nbdbroker_error("%s: open: %m", l->name);
		nbdbroker_set_error(ENOMEM);
		return NULL;
	}
	c->ops = next_ops;
	c->l = l;
	c->readonly = readonly != 0;
	c->size = -1;
	for (i = 0; i < HOST_CAP_N; i++)
		c->can[i] = -1;
	if (l->f == NULL) {
		if (conn != NULL)
			c->conn = *conn;
		else
			c->conn.peer_pid = c->conn.peer_uid =
			    c->conn.peer_gid = -1;
		memset(&c->conn.intern, 0, sizeof(c->conn.intern));
		c->conn.readonly = c->readonly;
		if ((c->conn.export_name = strdup(name)) == NULL) {
			nbdbroker_error("%s: open: %m", l->name);
			nbdbroker_set_error(ENOMEM);
			free(c);
			return NULL;
		}
	}
	if ((h = l->ops->open(c, readonly, name)) == NULL) {
		/* A filter whose .open failed after opening the layer below. */
		ctx_close(c->next);
		ctx_free(c);
		return NULL;
	}
	c->handle = h;
	c->state = CTX_OPEN;
	return c;
}

/*
 * Close c and everything below it that is still associated with it,
 * outermost first (nbdkit's .close order).  NULL is ignored.
 */
void
ctx_close(struct ctx *c)
{
	struct ctx	*next;

	if (c == NULL)
		return;
	if (c->state & CTX_OPEN)
		c->l->ops->close(c);
	next = c->next;
	ctx_free(c);
	ctx_close(next);
}

/*
 * Prepare c: the layers below first (those opened through .open and
 * not prepared yet), then c's own .prepare.  Returns 0 or -1.
 */
int
ctx_prepare(struct ctx *c)
{
	if (c == NULL)
		return -1;
	if (c->state & CTX_FAILED)
		return -1;
	if (c->state & CTX_PREPARED)
		return 0;
	if (c->next != NULL && ctx_prepare(c->next) == -1)
		return -1;
	if (c->l->ops->prepare != NULL && c->l->ops->prepare(c) == -1) {
		c->state |= CTX_FAILED;
		return -1;
	}
	c->state |= CTX_PREPARED;
	return 0;
}

/*
 * Finalize c, then the layers below it (outermost first), each only if
 * it was prepared.  Returns 0 or -1.
 */
int
ctx_finalize(struct ctx *c)
{
	if (c == NULL)
		return -1;
	if (c->state & CTX_FAILED)
		return -1;
	if (c->state & CTX_PREPARED) {
		if (c->l->ops->finalize != NULL &&
		    c->l->ops->finalize(c) == -1) {
			c->state |= CTX_FAILED;
			return -1;
		}
		c->state &= ~CTX_PREPARED;
	}
	return c->next != NULL ? ctx_finalize(c->next) : 0;
}

/* A filter called the layer below without having opened it. */
static int
no_ctx(int *err)
{
	nbdbroker_error("filter: call to the layer below, but no context "
	    "is open there (its .open did not call next)");
	if (err != NULL)
		*err = EIO;
	return -1;
}

/* get_size, cached: asked once per context. */
int64_t
ctx_get_size(struct ctx *c)
{
	int64_t	size;

	if (c == NULL)
		return no_ctx(NULL);
	if (c->size >= 0)
		return c->size;
	if ((size = c->l->ops->get_size(c)) < 0) {
		if (size != -1)
			nbdbroker_error("%s: get_size returned %" PRId64,
			    c->l->name, size);
		return -1;
	}
	c->size = size;
	return size;
}

const char *
ctx_export_description(struct ctx *c)
{
	if (c == NULL) {
		no_ctx(NULL);
		return NULL;
	}
	return c->l->ops->export_description(c);
}

/* block_size, cached; all 0: no preference. */
int
ctx_block_size(struct ctx *c, uint32_t *min, uint32_t *pref, uint32_t *max)
{
	if (c == NULL)
		return no_ctx(NULL);
	if (!c->have_block_size) {
		uint32_t	a = 0, b = 0, d = 0;

		if (c->l->ops->block_size(c, &a, &b, &d) == -1)
			return -1;
		c->block_min = a;
		c->block_pref = b;
		c->block_max = d;
		c->have_block_size = true;
	}
	*min = c->block_min;
	*pref = c->block_pref;
	*max = c->block_max;
	return 0;
}

/*
 * What c can do (enum host_cap), cached.  nbdkit's preconditions come
 * first, for every layer: a read-only context cannot write; trim,
 * zero and FUA need can_write; fast zero needs zeroes.  Returns the
 * answer (see enum host_cap), or -1 if a callback failed.
 */
int
ctx_can(struct ctx *c, enum host_cap cap)
{
	int	v, w;

	if (c == NULL)
		return no_ctx(NULL);
	if ((v = c->can[cap]) != -1)
		return v;
	switch (cap) {
	case HOST_CAP_WRITE:
		if (c->readonly) {
			v = 0;
			goto out;
		}
		break;
	case HOST_CAP_TRIM:
	case HOST_CAP_ZERO:
	case HOST_CAP_FUA:
		if ((w = ctx_can(c, HOST_CAP_WRITE)) != 1) {
			if (w == -1)
				return -1;
			v = 0;
			goto out;
		}
		break;
	case HOST_CAP_FAST_ZERO:
		if ((w = ctx_can(c, HOST_CAP_ZERO)) <= FILTER_ZERO_NONE) {
			if (w == -1)
				return -1;
			v = 0;
			goto out;
		}
		break;
	default:
		break;
	}
	if ((v = c->l->ops->can(c, cap)) == -1)
		return -1;
	switch (cap) {
	case HOST_CAP_ZERO:
	case HOST_CAP_FUA:
	case HOST_CAP_CACHE:
		/* Three-valued; what is above the top is the top. */
		v = v < 0 ? 0 : v > 2 ? 2 : v;
		break;
	default:
		v = v > 0;
		break;
	}
 out:
	c->can[cap] = v;
	return v;
}

#define NEXT_CAN(fn, cap)						\
static int								\
next_##fn(struct ctx *c)						\
{									\
	return ctx_can(c, cap);						\
}
NEXT_CAN(can_write, HOST_CAP_WRITE)
NEXT_CAN(can_flush, HOST_CAP_FLUSH)
NEXT_CAN(is_rotational, HOST_CAP_ROTATIONAL)
NEXT_CAN(can_trim, HOST_CAP_TRIM)
NEXT_CAN(can_zero, HOST_CAP_ZERO)
NEXT_CAN(can_fast_zero, HOST_CAP_FAST_ZERO)
NEXT_CAN(can_extents, HOST_CAP_EXTENTS)
NEXT_CAN(can_fua, HOST_CAP_FUA)
NEXT_CAN(can_multi_conn, HOST_CAP_MULTI_CONN)
NEXT_CAN(can_cache, HOST_CAP_CACHE)
#undef NEXT_CAN

/*
 * Refuse a request outside [0, size) of c, as nbdkit refuses to pass
 * one on (a filter's arithmetic gone wrong must not reach the plugin).
 */
static bool
ctx_in_range(struct ctx *c, uint32_t count, uint64_t off, int *err)
{
	int64_t	size = ctx_get_size(c);

	if (size == -1) {
		*err = EIO;
		return false;
	}
	if (off > (uint64_t)size || count > (uint64_t)size - off) {
		nbdbroker_error("%s: request beyond the end: offset %" PRIu64
		    " count %" PRIu32 " size %" PRId64, c->l->name, off, count,
		    size);
		*err = EINVAL;
		return false;
	}
	return true;
}

/* The result of a layer's data call: -1 always comes with an errno. */
static int
ctx_result(int r, int *err)
{
	if (r == 0)
		return 0;
	if (*err <= 0)
		*err = EIO;
	return -1;
}

/* FUA only goes to a layer that takes it. */
static uint32_t
ctx_fua(struct ctx *c, uint32_t flags)
{
	if ((flags & NBDBROKER_FLAG_FUA) &&
	    ctx_can(c, HOST_CAP_FUA) <= NBDBROKER_FUA_NONE)
		flags &= ~NBDBROKER_FLAG_FUA;
	return flags;
}

/*
 * The data calls.  A filter may pass no err (nbdkit's scan filter
 * does, for its background cache requests): nothing is written then.
 */
int
ctx_pread(struct ctx *c, void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	int	ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if (!ctx_in_range(c, count, off, err))
		return -1;
	*err = 0;
	return ctx_result(c->l->ops->pread(c, buf, count, off, flags, err),
	    err);
}

int
ctx_pwrite(struct ctx *c, const void *buf, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	int	ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if (ctx_can(c, HOST_CAP_WRITE) != 1) {
		*err = EROFS;
		return -1;
	}
	if (!ctx_in_range(c, count, off, err))
		return -1;
	*err = 0;
	return ctx_result(c->l->ops->pwrite(c, buf, count, off,
	    ctx_fua(c, flags), err), err);
}

int
ctx_flush(struct ctx *c, uint32_t flags, int *err)
{
	int	ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if (ctx_can(c, HOST_CAP_FLUSH) != 1) {
		*err = EINVAL;
		return -1;
	}
	*err = 0;
	return ctx_result(c->l->ops->flush(c, flags, err), err);
}

int
ctx_trim(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	int	ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if (ctx_can(c, HOST_CAP_TRIM) != 1) {
		*err = ctx_can(c, HOST_CAP_WRITE) == 1 ? EINVAL : EROFS;
		return -1;
	}
	if (!ctx_in_range(c, count, off, err))
		return -1;
	*err = 0;
	return ctx_result(c->l->ops->trim(c, count, off, ctx_fua(c, flags),
	    err), err);
}

/*
 * Write zeroes with c's own pwrite, for a layer that cannot write
 * them natively (or a plugin whose zero said ENOTSUP).  FUA goes with
 * the last write only.
 */
int
ctx_emulate_zero(struct ctx *c, uint32_t count, uint64_t off,
    uint32_t flags, int *err)
{
	while (count > 0) {
		uint32_t	n = count < STACK_ZERO_BUF ? count :
		    STACK_ZERO_BUF;

		if (ctx_pwrite(c, zero_buf, n, off, n == count ?
		    (flags & NBDBROKER_FLAG_FUA) : 0, err) == -1)
			return -1;
		off += n;
		count -= n;
	}
	return 0;
}

int
ctx_zero(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	int	z, ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if ((z = ctx_can(c, HOST_CAP_ZERO)) <= FILTER_ZERO_NONE) {
		*err = z == -1 ? EIO : ctx_can(c, HOST_CAP_WRITE) == 1 ?
		    EINVAL : EROFS;
		return -1;
	}
	if (!ctx_in_range(c, count, off, err))
		return -1;
	if ((flags & NBDBROKER_FLAG_FAST_ZERO) &&
	    (z == FILTER_ZERO_EMULATE || ctx_can(c, HOST_CAP_FAST_ZERO) != 1)) {
		*err = ENOTSUP;
		return -1;
	}
	flags = ctx_fua(c, flags);
	if (z == FILTER_ZERO_EMULATE)
		return ctx_emulate_zero(c, count, off, flags, err);
	*err = 0;
	return ctx_result(c->l->ops->zero(c, count, off, flags, err), err);
}

/*
 * Extents of [off, off + count) into ext.  A layer that cannot tell
 * reports the range as data, as nbdkit does.
 */
int
ctx_extents(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    struct nbdbroker_extents *ext, int *err)
{
	int	e, ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if ((e = ctx_can(c, HOST_CAP_EXTENTS)) == -1) {
		*err = EIO;
		return -1;
	}
	if (!ctx_in_range(c, count, off, err))
		return -1;
	if (e == 0) {
		if (nbdkit_add_extent(ext, off, count, 0) == -1) {
			*err = errno;
			return -1;
		}
		return 0;
	}
	*err = 0;
	return ctx_result(c->l->ops->extents(c, count, off, flags, ext, err),
	    err);
}

int
ctx_cache(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
    int *err)
{
	static __thread uint8_t	*scratch;
	int			 m, ignored;

	if (c == NULL)
		return no_ctx(err);
	if (err == NULL)
		err = &ignored;
	if ((m = ctx_can(c, HOST_CAP_CACHE)) <= NBDBROKER_CACHE_NONE) {
		*err = m == -1 ? EIO : EINVAL;
		return -1;
	}
	if (!ctx_in_range(c, count, off, err))
		return -1;
	*err = 0;
	if (m == NBDBROKER_CACHE_NATIVE)
		return ctx_result(c->l->ops->cache(c, count, off, flags, err),
		    err);
	/* Emulated: read and discard. */
	if (scratch == NULL && (scratch = malloc(STACK_ZERO_BUF)) == NULL) {
		*err = ENOMEM;
		return -1;
	}
	while (count > 0) {
		uint32_t	n = count < STACK_ZERO_BUF ? count :
		    STACK_ZERO_BUF;

		if (ctx_pread(c, scratch, n, off, 0, err) == -1)
			return -1;
		off += n;
		count -= n;
	}
	return 0;
}
