/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running the loaded plugin (plugin-load.c loaded it): its lifecycle
 * (load, config, config_complete, thread_model, get_ready, after_fork,
 * open, close, cleanup, unload), capability negotiation, and the data
 * path, with the emulations the broker relies on: FUA by flush,
 * WRITE_ZEROES by pwrite, CACHE by pread, extents for plugins without
 * them.  host.p speaks API 2 whatever the plugin's version, so nothing
 * here asks which it is.  The nbdkit differences live in nbdkit-abi.c.
 * Runs in worker threads, under the lock thread-model.c picks (the
 * caller takes it); every callback may block.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "nbd-protocol.h"
#include "worker.h"

struct host	host;

#define HOST_ZERO_BUF	(1024 * 1024)

static const uint8_t	*zero_buf;	/* HOST_ZERO_BUF read-only zeroes */

/*
 * Map the zeroes that emulated WRITE_ZEROES writes.  Called once at
 * start-up, before the sandbox may forbid it.  0, or -1 with the reason
 * in err.
 */
int
host_data_init(char *err, size_t errlen)
{
	zero_buf = mmap(NULL, HOST_ZERO_BUF, PROT_READ,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zero_buf == MAP_FAILED) {
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		zero_buf = NULL;
		return -1;
	}
	return 0;
}

/* True if a seed=... parameter was given (see abi_durability). */
static bool
has_param(const Nbdbroker__Rpc__Config *cfg, const char *key)
{
	size_t	i;

	for (i = 0; i < cfg->n_params; i++)
		if (cfg->params[i]->has_value &&
		    strcmp(cfg->params[i]->key, key) == 0)
			return true;
	return false;
}

/*
 * Set debug flags, then call .load: the first thing the plugin runs.
 * An nbdkit plugin does not declare its durability: it goes by name.
 */
static void
host_call_load(const Nbdbroker__Rpc__Config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->n_debug_flags; i++)
		abi_set_debug_flag(host.dl, host.p.name,
		    cfg->debug_flags[i]->key, cfg->debug_flags[i]->value);
	if (host.p.load != NULL)
		host.p.load();
	host.loaded = true;
	if (host.nbdkit)
		host.p.durability = abi_durability(host.p.name,
		    has_param(cfg, "seed"));
}

/*
 * Copies of the parameters passed to .config: plugins may keep the
 * pointers for as long as they are loaded (nbdkit documents it, and
 * its eval plugin relies on it), but the Config message they came in
 * is freed once the plugin is ready.  Freed after .unload.
 */
static char	**param_strs;
static size_t	  n_param_strs;

static const char *
param_keep(const char *s)
{
	char	**v, *dup;

	if ((v = reallocarray(param_strs, n_param_strs + 1,
	    sizeof(*v))) == NULL)
		fatal("config");
	param_strs = v;
	if ((dup = strdup(s)) == NULL)
		fatal("config");
	param_strs[n_param_strs++] = dup;
	return dup;
}

/*
 * Pass each parameter to .config.  A bare word goes to the plugin's
 * magic_config_key; an nbdkit plugin without one gets nbdkit's older
 * rule: a bare first parameter is "script", any other is an error.
 */
static int
host_call_config(const Nbdbroker__Rpc__Config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->n_params; i++) {
		const Nbdbroker__Rpc__Param	*pa = cfg->params[i];
		const char			*key, *value;

		if (pa->has_value) {
			key = param_keep(pa->key);
			value = param_keep(pa->value);
		} else {
			if (host.p.magic_config_key != NULL)
				key = host.p.magic_config_key;
			else if (host.nbdkit && i == 0)
				key = "script";
			else {
				nbdbroker_error("plugin %s: '%s' is not "
				    "KEY=VALUE and the plugin has no magic "
				    "config key", host.p.name, pa->key);
				return -1;
			}
			value = param_keep(pa->key);
		}
		if (host.p.config == NULL) {
			nbdbroker_error("plugin %s takes no parameters, "
			    "but got %s=%s", host.p.name, key, value);
			return -1;
		}
		if (host.p.config(key, value) == -1) {
			if (rpc_last_error()[0] == '\0')
				nbdbroker_error("plugin %s: parameter %s=%s "
				    "was refused", host.p.name, key, value);
			return -1;
		}
	}
	return 0;
}

/* .thread_model may only make the model stricter (tm_restrict). */
static int
host_call_thread_model(void)
{
	int	tm;

	if (host.p.thread_model == NULL)
		return 0;
	if ((tm = host.p.thread_model()) == -1)
		return -1;
	tm_restrict(tm);
	return 0;
}

/*
 * Set debug flags and run load, config for each parameter,
 * config_complete, thread_model, get_ready and after_fork.  On failure
 * *stage names the step.
 */
int
host_configure(const Nbdbroker__Rpc__Config *cfg, const char **stage)
{
	*stage = "load";
	host_call_load(cfg);

	*stage = "config";
	if (host_call_config(cfg) == -1)
		return -1;

	*stage = "config_complete";
	if (host.p.config_complete != NULL && host.p.config_complete() == -1) {
		if (rpc_last_error()[0] == '\0')
			nbdbroker_error("plugin %s: configuration is "
			    "incomplete", host.p.name);
		return -1;
	}

	*stage = "thread_model";
	if (host_call_thread_model() == -1)
		return -1;

	*stage = "get_ready";
	if (host.p.get_ready != NULL && host.p.get_ready() == -1)
		return -1;
	*stage = "after_fork";
	if (host.p.after_fork != NULL && host.p.after_fork() == -1)
		return -1;
	host.started = true;
	*stage = NULL;
	return 0;
}

/*
 * nbdbroker --dump-plugin: describe the plugin on stdout as KEY=VALUE
 * lines (nbdkit --dump-plugin's keys), then let .dump_plugin add its
 * own.  Like nbdkit, runs load, config for each parameter and
 * thread_model, but not config_complete.  Returns 0, or -1 if a
 * callback failed (it has said why).
 */
int
host_dump(const Nbdbroker__Rpc__Config *cfg)
{
	static const char *const durability[] = {
		"unspecified", "stateless", "persistent", "volatile",
	};
	const struct nbdbroker_plugin	*p = &host.p;
	const struct {
		const char	*name;
		bool		 set;
	} has[] = {
#define HAS(f)	{ #f, p->f != NULL }
		HAS(load), HAS(unload), HAS(dump_plugin), HAS(config),
		HAS(config_complete), HAS(config_help), HAS(thread_model),
		HAS(get_ready), HAS(after_fork), HAS(cleanup),
		HAS(preconnect), HAS(list_exports), HAS(default_export),
		HAS(open), HAS(close), HAS(export_description),
		HAS(get_size), HAS(block_size), HAS(can_write),
		HAS(can_flush), HAS(is_rotational), HAS(can_trim),
		HAS(can_zero), HAS(can_fast_zero), HAS(can_fua),
		HAS(can_multi_conn), HAS(can_extents), HAS(can_cache),
		HAS(pread), HAS(pwrite), HAS(flush), HAS(trim), HAS(zero),
		HAS(extents), HAS(cache),
#undef HAS
	};
	size_t	i;

	host_call_load(cfg);
	if (host_call_config(cfg) == -1 || host_call_thread_model() == -1)
		return -1;

	printf("path=%s\n", host.path);
	printf("name=%s\n", p->name);
	if (p->version != NULL)
		printf("version=%s\n", p->version);
	printf("api_version=%d\n", host.api_version);
	printf("struct_size=%" PRIu64 "\n", host.struct_size);
	printf("nbdkit_plugin=%d\n", host.nbdkit);
	printf("max_thread_model=%s\n", tm_name(tm_declared()));
	printf("thread_model=%s\n", tm_name(tm_model()));
	printf("errno_is_preserved=%d\n", p->errno_is_preserved != 0);
	if (p->magic_config_key != NULL)
		printf("magic_config_key=%s\n", p->magic_config_key);
	printf("durability=%s\n", durability[p->durability]);
	for (i = 0; i < sizeof(has) / sizeof(has[0]); i++)
		if (has[i].set)
			printf("has_%s=1\n", has[i].name);
	fflush(stdout);
	if (p->dump_plugin != NULL) {
		p->dump_plugin();
		fflush(stdout);
	}
	return 0;
}

void
host_unload(void)
{
	if (host.loaded) {
		if (host.started && host.p.cleanup != NULL)
			host.p.cleanup();
		if (host.p.unload != NULL)
			host.p.unload();
		host.loaded = false;
	}
	while (n_param_strs > 0)
		free(param_strs[--n_param_strs]);
	free(param_strs);
	param_strs = NULL;
	sdk_cleanup();
	/* The plugin stays mapped: its atexit handlers may still run. */
}

void
host_fill_ready(Nbdbroker__Rpc__Ready *r)
{
	r->name = (char *)host.p.name;
	r->longname = (char *)(host.p.longname ? host.p.longname : "");
	r->version = (char *)(host.p.version ? host.p.version : "");
	r->description = (char *)(host.p.description ?
	    host.p.description : "");
	r->api_version = host.api_version;
	r->thread_model = wire_thread_model(tm_model());
	r->durability = wire_durability(host.p.durability);
	r->has_list_exports = host.p.list_exports != NULL;
	r->nbdkit_plugin = host.nbdkit;
}

/* The errno the client should see after a callback returned -1. */
static int
callback_errno(int saved_errno)
{
	int	e = sdk_get_error();

	if (e == 0 && host.p.errno_is_preserved)
		e = saved_errno;
	return e > 0 ? e : EIO;
}

/* Validate what block_size returned; 0 if acceptable. */
static int
check_block_size(uint32_t min, uint32_t pref, uint32_t max)
{
	if (min == 0 && pref == 0 && max == 0)
		return 0;
	if (min == 0 || min > 65536 || (min & (min - 1)) != 0)
		return -1;
	if (pref < 512 || pref < min || pref > 32 * 1024 * 1024 ||
	    (pref & (pref - 1)) != 0)
		return -1;
	if (max != 0xffffffff && (max < pref || max % min != 0))
		return -1;
	return 0;
}

/*
 * Capability negotiation, one row per capability, in the order the
 * plugin's can_* callbacks are called.  A plugin without the callback
 * gets nbdkit's default (nbdkit-plugin(3)).  The answers land in
 * struct handle's cap[] and, for a yes, set the row's RPC_CAP_* bits in
 * OpenReply.caps; FUA and CACHE are three-valued and travel on their
 * own.
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
	CAP_CACHE_MODE,		/* NBDBROKER_CACHE_* */
	CAP_FUA_MODE,		/* NBDBROKER_FUA_* */
};

#define CAP_NO_IMPL	((size_t)-1)
#define CAP_FN(m)	offsetof(struct nbdbroker_plugin, m)

static const struct cap_rule {
	enum host_cap	 cap;
	size_t		 query;		/* CAP_FN(can_*): int (*)(void *) */
	size_t		 impl;		/* CAP_FN(what it enables), CAP_NO_IMPL */
	enum cap_default dflt;
	enum cap_kind	 kind;
	unsigned	 flags;
#define CAP_IF_RW	0x01	/* asked if the client may write, else no */
#define CAP_IF_WRITE	0x02	/* asked if the handle can write, else no */
#define CAP_NEEDS_IMPL	0x04	/* a yes without impl is a no */
	uint32_t	 rpc;		/* RPC_CAP_* bits for a yes */
} cap_rules[] = {
	{ HOST_CAP_WRITE, CAP_FN(can_write), CAP_FN(pwrite),
	  CAP_DFLT_IMPL, CAP_BOOL, CAP_IF_RW,
	  RPC_CAP_WRITE | RPC_CAP_ZERO },	/* zeroes: native or pwrite */
	{ HOST_CAP_FLUSH, CAP_FN(can_flush), CAP_FN(flush),
	  CAP_DFLT_IMPL, CAP_BOOL, 0,
	  RPC_CAP_FLUSH },
	{ HOST_CAP_ROTATIONAL, CAP_FN(is_rotational), CAP_NO_IMPL,
	  CAP_DFLT_NO, CAP_BOOL, 0,
	  RPC_CAP_ROTATIONAL },
	{ HOST_CAP_MULTI_CONN, CAP_FN(can_multi_conn), CAP_NO_IMPL,
	  CAP_DFLT_NO, CAP_BOOL, 0,
	  RPC_CAP_MULTI_CONN },
	{ HOST_CAP_EXTENTS, CAP_FN(can_extents), CAP_FN(extents),
	  CAP_DFLT_IMPL, CAP_BOOL, CAP_NEEDS_IMPL,
	  RPC_CAP_EXTENTS },
	{ HOST_CAP_CACHE, CAP_FN(can_cache), CAP_FN(cache),
	  CAP_DFLT_CACHE, CAP_CACHE_MODE, 0,
	  0 },
	{ HOST_CAP_TRIM, CAP_FN(can_trim), CAP_FN(trim),
	  CAP_DFLT_IMPL, CAP_BOOL, CAP_IF_WRITE | CAP_NEEDS_IMPL,
	  RPC_CAP_TRIM },
	{ HOST_CAP_ZERO, CAP_FN(can_zero), CAP_FN(zero),
	  CAP_DFLT_YES, CAP_BOOL, CAP_IF_WRITE | CAP_NEEDS_IMPL,
	  0 },
	{ HOST_CAP_FAST_ZERO, CAP_FN(can_fast_zero), CAP_NO_IMPL,
	  CAP_DFLT_NOT_ZERO, CAP_BOOL, CAP_IF_WRITE,
	  RPC_CAP_FAST_ZERO },
	{ HOST_CAP_FUA, CAP_FN(can_fua), CAP_NO_IMPL,
	  CAP_DFLT_FUA, CAP_FUA_MODE, CAP_IF_WRITE,
	  0 },
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
cap_default(const struct cap_rule *c, const struct handle *hd, bool impl)
{
	switch (c->dflt) {
	case CAP_DFLT_NO:
		return 0;
	case CAP_DFLT_YES:
		return 1;
	case CAP_DFLT_IMPL:
		return impl;
	case CAP_DFLT_NOT_ZERO:
		return !hd->cap[HOST_CAP_ZERO];
	case CAP_DFLT_CACHE:
		return impl ? NBDBROKER_CACHE_NATIVE : NBDBROKER_CACHE_NONE;
	case CAP_DFLT_FUA:
		return hd->cap[HOST_CAP_FLUSH] ? NBDBROKER_FUA_EMULATE :
		    NBDBROKER_FUA_NONE;
	}
	abort();
	/* NOTREACHED */
}

/* Turn an answer (callback's or default) into what the handle keeps. */
static int
cap_settle(const struct cap_rule *c, const struct handle *hd, int v,
    bool impl)
{
	switch (c->kind) {
	case CAP_BOOL:
		return v > 0 && (impl || !(c->flags & CAP_NEEDS_IMPL));
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
		/* Emulated FUA is a flush: none without one. */
		if (v == NBDBROKER_FUA_EMULATE && !hd->cap[HOST_CAP_FLUSH])
			v = NBDBROKER_FUA_NONE;
		return v;
	}
	abort();
	/* NOTREACHED */
}

/*
 * Ask the plugin (or its defaults) for every capability of hd, in
 * cap_rules order, and set the RPC_CAP_* bits in *caps.  Returns 0, or
 * -1 if a can_* callback failed.
 */
static int
cap_negotiate(struct handle *hd, bool readonly, uint32_t *caps)
{
	size_t	i;

	*caps = 0;
	for (i = 0; i < sizeof(cap_rules) / sizeof(cap_rules[0]); i++) {
		const struct cap_rule	*c = &cap_rules[i];
		bool			 impl = cap_plugin_has(c->impl);
		int			(*query)(void *);
		int			 v;

		hd->cap[c->cap] = 0;
		if (((c->flags & CAP_IF_RW) && readonly) ||
		    ((c->flags & CAP_IF_WRITE) && !hd->cap[HOST_CAP_WRITE]))
			continue;
		memcpy(&query, (const char *)&host.p + c->query,
		    sizeof(query));
		if (query == NULL)
			v = cap_default(c, hd, impl);
		else if ((v = query(hd->h)) == -1)
			return -1;
		hd->cap[c->cap] = cap_settle(c, hd, v, impl);
		if (c->kind == CAP_BOOL && hd->cap[c->cap])
			*caps |= c->rpc;
	}
	return 0;
}

/*
 * Open a plugin handle for one connection and gather what the broker
 * needs to answer the client: size, capabilities, block sizes and
 * description.  hd->conn.export_name holds the name the client asked
 * for; it is replaced by the plugin's default export for "".  Called
 * with the request lock held.  Fills r; returns 0, or -1 with r->err
 * set (and nothing else in r meaningful).
 */
int
host_open(struct handle *hd, const Nbdbroker__Rpc__Open *o,
    Nbdbroker__Rpc__OpenReply *r)
{
	const struct nbdbroker_plugin	*p = &host.p;
	const char			*name = hd->conn.export_name;
	int64_t				 size;
	uint32_t			 bmin = 0, bpref = 0, bmax = 0;

	sdk_reset_error();
	if (p->preconnect != NULL && p->preconnect(o->readonly) == -1)
		goto err;
	if (name[0] == '\0' && p->default_export != NULL) {
		char	*dup;

		if ((name = p->default_export(o->readonly, o->tls)) == NULL) {
			nbdbroker_error("plugin %s: no default export",
			    p->name);
			nbdbroker_set_error(ENOENT);
			goto err;
		}
		if ((dup = strdup(name)) == NULL)
			goto err;
		free((char *)hd->conn.export_name);
		hd->conn.export_name = dup;
	}
	r->canonical_name = (char *)hd->conn.export_name;

	if ((hd->h = p->open(o->readonly)) == NULL) {
		if (sdk_get_error() == 0)
			nbdbroker_set_error(EIO);
		goto err;
	}
	if ((size = p->get_size(hd->h)) < 0) {
		if (size != -1)
			nbdbroker_error("plugin %s: get_size returned %" PRId64,
			    p->name, size);
		goto err_close;
	}
	if (cap_negotiate(hd, o->readonly, &r->caps) == -1)
		goto err_close;
	r->fua = wire_fua(hd->cap[HOST_CAP_FUA]);
	r->cache = wire_cache(hd->cap[HOST_CAP_CACHE]);

	if (p->block_size != NULL) {
		if (p->block_size(hd->h, &bmin, &bpref, &bmax) == -1)
			goto err_close;
		if (check_block_size(bmin, bpref, bmax) == -1) {
			nbdbroker_error("plugin %s: block_size returned "
			    "invalid sizes %" PRIu32 "/%" PRIu32 "/%" PRIu32,
			    p->name, bmin, bpref, bmax);
			nbdbroker_set_error(EINVAL);
			goto err_close;
		}
		r->block_min = bmin;
		r->block_preferred = bpref;
		r->block_max = bmax;
	}
	if (p->export_description != NULL) {
		const char	*d = p->export_description(hd->h);

		if (d != NULL) {
			r->description = (char *)d;
			r->has_description = true;
		}
	}
	r->size = size;
	r->handle = hd->id;
	r->err = 0;
	return 0;

 err_close:
	{
		int	e = callback_errno(errno);

		if (p->close != NULL)
			p->close(hd->h);
		hd->h = NULL;
		nbdbroker_set_error(e);
	}
 err:
	r->err = callback_errno(errno);
	return -1;
}

void
host_close(struct handle *hd)
{
	if (hd->h != NULL && host.p.close != NULL)
		host.p.close(hd->h);
	hd->h = NULL;
}

static int
emulate_zero(struct handle *hd, uint32_t count, uint64_t off)
{
	while (count > 0) {
		uint32_t	n = count < HOST_ZERO_BUF ? count :
		    HOST_ZERO_BUF;

		if (host.p.pwrite(hd->h, zero_buf, n, off, 0) == -1)
			return -1;
		off += n;
		count -= n;
	}
	return 0;
}

static int
do_zero(struct handle *hd, uint32_t count, uint64_t off, uint32_t flags)
{
	int	e;

	if (!hd->cap[HOST_CAP_ZERO]) {
		if (flags & NBDBROKER_FLAG_FAST_ZERO) {
			nbdbroker_set_error(ENOTSUP);
			return -1;
		}
		return emulate_zero(hd, count, off);
	}
	sdk_reset_error();
	errno = 0;
	if (host.p.zero(hd->h, count, off, flags) == 0)
		return 0;
	e = callback_errno(errno);
	if ((e == ENOTSUP || e == EOPNOTSUPP) &&
	    !(flags & NBDBROKER_FLAG_FAST_ZERO)) {
		sdk_reset_error();
		return emulate_zero(hd, count, off);
	}
	nbdbroker_set_error(e);
	return -1;
}

static int
emulate_cache(struct handle *hd, uint32_t count, uint64_t off)
{
	static __thread uint8_t	*scratch;
	const uint32_t		 chunk = 1024 * 1024;

	if (scratch == NULL && (scratch = malloc(chunk)) == NULL)
		return -1;
	while (count > 0) {
		uint32_t	n = count < chunk ? count : chunk;

		if (host.p.pread(hd->h, scratch, n, off, 0) == -1)
			return -1;
		off += n;
		count -= n;
	}
	return 0;
}

/* Fill ext for [offset, offset+count); all data if no extents. */
static int
do_extents(struct handle *hd, uint32_t count, uint64_t off, uint32_t flags,
    struct nbdbroker_extents *ext)
{
	sdk_extents_init(ext, off, off + count);
	if (!hd->cap[HOST_CAP_EXTENTS])
		return nbdbroker_add_extent(ext, off, count, 0);
	if (host.p.extents(hd->h, count, off, flags, ext) == -1)
		return -1;
	if (ext->n == 0) {
		nbdbroker_error("plugin %s: extents callback returned no "
		    "extents for offset %" PRIu64, host.p.name, off);
		nbdbroker_set_error(EIO);
		return -1;
	}
	return 0;
}

/*
 * Serve one data request on hd: rq's flags are NBDBROKER_FLAG_*, and
 * its buffer is there for READ (rbuf) and WRITE (wbuf).  The broker
 * has validated the request against what host_open reported.  FUA is
 * passed to a plugin that takes it natively and is otherwise a flush
 * after the command.  Returns 0, or the errno the client should see;
 * for BLOCK_STATUS the extents are left in *ext for the caller to send
 * and free.  Called with tm_lock(hd) held.
 */
int
host_request(struct handle *hd, const struct host_req *rq,
    struct nbdbroker_extents *ext)
{
	uint32_t	 flags = rq->flags, count = rq->count;
	uint64_t	 off = rq->offset;
	int		 r = -1;
	bool		 fua_emul = false;

	sdk_reset_error();
	errno = 0;
	if ((flags & NBDBROKER_FLAG_FUA) &&
	    hd->cap[HOST_CAP_FUA] != NBDBROKER_FUA_NATIVE) {
		flags &= ~NBDBROKER_FLAG_FUA;
		fua_emul = true;
	}

	switch (rq->type) {
	case NBD_CMD_READ:
		r = host.p.pread(hd->h, rq->rbuf, count, off, 0);
		break;
	case NBD_CMD_WRITE:
		if (!hd->cap[HOST_CAP_WRITE]) {
			nbdbroker_set_error(EROFS);
			break;
		}
		r = host.p.pwrite(hd->h, rq->wbuf, count, off, flags);
		break;
	case NBD_CMD_FLUSH:
		r = hd->cap[HOST_CAP_FLUSH] ? host.p.flush(hd->h, 0) : 0;
		fua_emul = false;
		break;
	case NBD_CMD_TRIM:
		if (!hd->cap[HOST_CAP_TRIM]) {	/* trim is advisory */
			r = 0;
			fua_emul = false;
			break;
		}
		r = host.p.trim(hd->h, count, off, flags);
		break;
	case NBD_CMD_WRITE_ZEROES:
		if (!hd->cap[HOST_CAP_WRITE]) {
			nbdbroker_set_error(EROFS);
			break;
		}
		r = do_zero(hd, count, off, flags);
		break;
	case NBD_CMD_CACHE:
		fua_emul = false;
		if (hd->cap[HOST_CAP_CACHE] == NBDBROKER_CACHE_NATIVE)
			r = host.p.cache(hd->h, count, off, 0);
		else if (hd->cap[HOST_CAP_CACHE] == NBDBROKER_CACHE_EMULATE)
			r = emulate_cache(hd, count, off);
		else
			r = 0;
		break;
	case NBD_CMD_BLOCK_STATUS:
		fua_emul = false;
		r = do_extents(hd, count, off,
		    flags & NBDBROKER_FLAG_REQ_ONE, ext);
		break;
	default:
		nbdbroker_error("worker: unknown request type %" PRIu32,
		    rq->type);
		nbdbroker_set_error(EINVAL);
		break;
	}
	if (r == 0 && fua_emul)
		r = host.p.flush(hd->h, 0);
	return r == 0 ? 0 : callback_errno(errno);
}

/*
 * Collect the plugin's export list.  Without list_exports the list is
 * the default export alone (named by default_export, else "").
 */
int
host_list_exports(const Nbdbroker__Rpc__ListExports *le,
    struct nbdbroker_exports *x)
{
	const char	*def = "";
	size_t		 i;

	memset(x, 0, sizeof(*x));
	sdk_reset_error();
	if (host.p.list_exports != NULL) {
		if (host.p.list_exports(le->readonly, le->tls, x) == -1)
			return -1;
	} else
		x->use_default = true;
	if (!x->use_default)
		return 0;
	if (host.p.default_export != NULL &&
	    (def = host.p.default_export(le->readonly, le->tls)) == NULL)
		return -1;
	for (i = 0; i < x->n; i++)
		if (strcmp(x->v[i].name, def) == 0)
			return 0;
	return nbdbroker_add_export(x, def, NULL);
}
