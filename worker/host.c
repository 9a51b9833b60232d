/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Running the stack (the plugin plugin-load.c loaded, under the
 * filters filter-load.c loaded): its lifecycle in nbdkit's order
 * (load, config, config_complete, thread_model, get_ready, after_fork,
 * then cleanup and unload), --dump-plugin, Ready, and what the broker
 * asks of the top of the stack: open a handle and negotiate what it
 * can do, serve a data request, list the exports, close.  The rules
 * each layer keeps (caching, emulations, preconditions) live in
 * filter-stack.c, the plugin's own (its defaults, FUA by flush) in
 * layer-plugin.c; with no filter the top is the plugin.  Runs in
 * worker threads, under the lock thread-model.c picks (the caller
 * takes it); every callback may block.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "nbd-protocol.h"
#include "worker.h"

struct host	host;

static int	 durability;	/* of the whole stack, for Ready */

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
 * Set debug flags, then call .load: the plugin's first, then each
 * filter's, innermost first (nbdkit's order).  An nbdkit plugin does
 * not declare its durability: it goes by name, and a filter that keeps
 * data in the worker makes the whole stack volatile.
 */
static void
host_call_load(const Nbdbroker__Rpc__Config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->n_debug_flags; i++)
		filter_set_debug_flag(cfg->debug_flags[i]->key,
		    cfg->debug_flags[i]->value);
	if (host.p.load != NULL)
		host.p.load();
	host.loaded = true;
	stack_filters_load();
	if (host.nbdkit)
		host.p.durability = abi_durability(host.p.name,
		    has_param(cfg, "seed"));
	durability = filter_durability(host.p.durability, cfg);
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
 * Pass each parameter to the top of the stack's .config: the outermost
 * filter takes what is its own and passes the rest on, down to the
 * plugin.  A bare word is for the plugin's magic_config_key; an nbdkit
 * plugin without one gets nbdkit's older rule: a bare first parameter
 * is "script", any other is an error.
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
		if (stack_config(host.top, key, value) == -1) {
			if (rpc_last_error()[0] == '\0')
				nbdbroker_error("%s %s: parameter %s=%s was "
				    "refused", host.top->f ? "filter" :
				    "plugin", host.top->name, key, value);
			return -1;
		}
	}
	return 0;
}

/*
 * .thread_model may only make the model stricter (tm_restrict): the
 * plugin's, then each filter's, innermost first.  The model in force
 * is the strictest of them all.
 */
static int
host_call_thread_model(void)
{
	int	tm;

	if (host.p.thread_model != NULL) {
		if ((tm = host.p.thread_model()) == -1)
			return -1;
		tm_restrict(tm);
	}
	return stack_filters_thread_model();
}

/*
 * Set debug flags and run load, config for each parameter,
 * config_complete, thread_model, get_ready and after_fork through the
 * stack.  On failure *stage names the step.
 */
int
host_configure(const Nbdbroker__Rpc__Config *cfg, const char **stage)
{
	host.readonly = cfg->readonly;
	*stage = "load";
	host_call_load(cfg);

	*stage = "config";
	if (host_call_config(cfg) == -1)
		return -1;

	*stage = "config_complete";
	if (stack_config_complete(host.top) == -1) {
		if (rpc_last_error()[0] == '\0')
			nbdbroker_error("%s %s: configuration is incomplete",
			    host.top->f ? "filter" : "plugin",
			    host.top->name);
		return -1;
	}

	*stage = "thread_model";
	if (host_call_thread_model() == -1)
		return -1;

	*stage = "get_ready";
	if (host.p.get_ready != NULL && host.p.get_ready() == -1)
		return -1;
	if (stack_filters_get_ready() == -1)
		return -1;
	*stage = "after_fork";
	if (host.p.after_fork != NULL && host.p.after_fork() == -1)
		return -1;
	host.started = true;
	if (stack_filters_after_fork() == -1)
		return -1;
	*stage = NULL;
	return 0;
}

/*
 * nbdbroker --dump-plugin: describe the plugin on stdout as KEY=VALUE
 * lines (nbdkit --dump-plugin's keys), then let .dump_plugin add its
 * own.  Like nbdkit, runs load, config for each parameter and
 * thread_model through the whole stack, but not config_complete, and
 * says nothing of the filters but what they did to the thread model.
 * Returns 0, or -1 if a callback failed (it has said why).
 */
int
host_dump(const Nbdbroker__Rpc__Config *cfg)
{
	static const char *const durs[] = {
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
	printf("durability=%s\n", durs[durability]);
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

/*
 * The worker is done: .cleanup (filters outermost first, then the
 * plugin) if the stack started, then .unload (plugin first, then the
 * filters, innermost first, as nbdkit does).
 */
void
host_unload(void)
{
	if (host.started) {
		stack_filters_cleanup();
		if (host.p.cleanup != NULL)
			host.p.cleanup();
		host.started = false;
	}
	if (host.loaded) {
		if (host.p.unload != NULL)
			host.p.unload();
		host.loaded = false;
	}
	stack_filters_unload();
	while (n_param_strs > 0)
		free(param_strs[--n_param_strs]);
	free(param_strs);
	param_strs = NULL;
	sdk_cleanup();
	/* Plugin and filters stay mapped: atexit handlers may still run. */
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
	r->durability = wire_durability(durability);
	r->has_list_exports = filter_has_list_exports();
	r->nbdkit_plugin = host.nbdkit;
	r->magic_config_key = (char *)(host.p.magic_config_key ?
	    host.p.magic_config_key : "");
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
 * The capabilities the broker learns from the top context, in the
 * order they are asked (and so the order a plugin's can_* callbacks
 * run), with the RPC_CAP_* bit each sets when it is a yes (above
 * FILTER_ZERO_NONE for zeroes).  FUA and CACHE travel on their own.
 */
static const struct {
	enum host_cap	cap;
	uint32_t	rpc;
} open_caps[] = {
	{ HOST_CAP_WRITE,	RPC_CAP_WRITE },
	{ HOST_CAP_FLUSH,	RPC_CAP_FLUSH },
	{ HOST_CAP_ROTATIONAL,	RPC_CAP_ROTATIONAL },
	{ HOST_CAP_MULTI_CONN,	RPC_CAP_MULTI_CONN },
	{ HOST_CAP_EXTENTS,	RPC_CAP_EXTENTS },
	{ HOST_CAP_CACHE,	0 },
	{ HOST_CAP_TRIM,	RPC_CAP_TRIM },
	{ HOST_CAP_ZERO,	RPC_CAP_ZERO },
	{ HOST_CAP_FAST_ZERO,	RPC_CAP_FAST_ZERO },
	{ HOST_CAP_FUA,		0 },
};

/*
 * Open a handle for one connection and gather what the broker needs
 * to answer the client: size, capabilities, block sizes and
 * description, all from the top of the stack.  hd->conn.export_name
 * holds the name the client asked for; it is replaced by the default
 * export for "" (asked of the top, as nbdkit does, before .open).
 * Called with the request lock held.  Fills r; returns 0, or -1 with
 * r->err set (and nothing else in r meaningful).
 */
int
host_open(struct handle *hd, const Nbdbroker__Rpc__Open *o,
    Nbdbroker__Rpc__OpenReply *r)
{
	struct ctx	*top;
	const char	*name = hd->conn.export_name;
	int64_t		 size;
	uint32_t	 bmin, bpref, bmax;
	size_t		 i;
	int		 v;

	sdk_reset_error();
	stack_set_tls(o->tls);
	if (stack_preconnect(host.top, o->readonly) == -1)
		goto err;
	if (name[0] == '\0') {
		char	*dup;

		if ((name = stack_default_export(host.top, o->readonly,
		    o->tls)) == NULL) {
			nbdbroker_set_error(ENOENT);
			goto err;
		}
		if ((dup = strdup(name)) == NULL)
			goto err;
		free((char *)hd->conn.export_name);
		hd->conn.export_name = dup;
	}
	r->canonical_name = (char *)hd->conn.export_name;

	if ((top = ctx_open(host.top, o->readonly, hd->conn.export_name,
	    &hd->conn)) == NULL) {
		if (sdk_get_error() == 0)
			nbdbroker_set_error(EIO);
		goto err;
	}
	hd->top = top;
	if (ctx_prepare(top) == -1 || (size = ctx_get_size(top)) < 0)
		goto err_close;
	r->caps = 0;
	for (i = 0; i < sizeof(open_caps) / sizeof(open_caps[0]); i++) {
		if ((v = ctx_can(top, open_caps[i].cap)) == -1)
			goto err_close;
		if (v > 0)
			r->caps |= open_caps[i].rpc;
	}
	/*
	 * One connection at a time: a client that opened several, as
	 * multi-conn invites, would wait for itself.  nbdkit does not
	 * offer it then either.
	 */
	if (tm_model() == NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS)
		r->caps &= ~RPC_CAP_MULTI_CONN;
	r->fua = wire_fua(top->can[HOST_CAP_FUA]);
	r->cache = wire_cache(top->can[HOST_CAP_CACHE]);

	if (ctx_block_size(top, &bmin, &bpref, &bmax) == -1)
		goto err_close;
	if (check_block_size(bmin, bpref, bmax) == -1) {
		nbdbroker_error("%s: block_size returned invalid sizes %" PRIu32
		    "/%" PRIu32 "/%" PRIu32, host.top->name, bmin, bpref, bmax);
		nbdbroker_set_error(EINVAL);
		goto err_close;
	}
	r->block_min = bmin;
	r->block_preferred = bpref;
	r->block_max = bmax;
	{
		const char	*d = ctx_export_description(top);

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
		int	e = plugin_errno(errno);

		host_close(hd);
		nbdbroker_set_error(e);
	}
 err:
	r->err = plugin_errno(errno);
	return -1;
}

/* Finalize and close hd's stack of contexts, outermost first. */
void
host_close(struct handle *hd)
{
	if (hd->top == NULL)
		return;
	ctx_finalize(hd->top);
	ctx_close(hd->top);
	hd->top = NULL;
}

/*
 * Serve one data request on hd: rq's flags are NBDBROKER_FLAG_*, and
 * its buffer is there for READ (rbuf) and WRITE (wbuf).  The broker
 * has validated the request against what host_open reported; what it
 * did not ask for (FUA the top cannot take, a flush or trim it cannot
 * do) is dropped here.  Returns 0, or the errno the client should
 * see; for BLOCK_STATUS the extents are left in *ext for the caller to
 * send and free.  Called with tm_lock(hd) held.
 */
int
host_request(struct handle *hd, const struct host_req *rq,
    struct nbdbroker_extents *ext)
{
	struct ctx	*top = hd->top;
	uint32_t	 flags = rq->flags, count = rq->count;
	uint64_t	 off = rq->offset;
	int		 r = -1, err = 0;

	sdk_reset_error();
	errno = 0;
	if (top->can[HOST_CAP_FUA] <= NBDBROKER_FUA_NONE)
		flags &= ~NBDBROKER_FLAG_FUA;

	switch (rq->type) {
	case NBD_CMD_READ:
		r = ctx_pread(top, rq->rbuf, count, off, 0, &err);
		break;
	case NBD_CMD_WRITE:
		r = ctx_pwrite(top, rq->wbuf, count, off,
		    flags & NBDBROKER_FLAG_FUA, &err);
		break;
	case NBD_CMD_FLUSH:
		r = top->can[HOST_CAP_FLUSH] == 1 ? ctx_flush(top, 0, &err) :
		    0;
		break;
	case NBD_CMD_TRIM:
		/* Trim is advisory. */
		r = top->can[HOST_CAP_TRIM] == 1 ? ctx_trim(top, count, off,
		    flags & NBDBROKER_FLAG_FUA, &err) : 0;
		break;
	case NBD_CMD_WRITE_ZEROES:
		r = ctx_zero(top, count, off, flags & (NBDBROKER_FLAG_FUA |
		    NBDBROKER_FLAG_MAY_TRIM | NBDBROKER_FLAG_FAST_ZERO), &err);
		break;
	case NBD_CMD_CACHE:
		r = top->can[HOST_CAP_CACHE] > NBDBROKER_CACHE_NONE ?
		    ctx_cache(top, count, off, 0, &err) : 0;
		break;
	case NBD_CMD_BLOCK_STATUS:
		sdk_extents_init(ext, off, off + count);
		r = ctx_extents(top, count, off,
		    flags & NBDBROKER_FLAG_REQ_ONE, ext, &err);
		if (r == 0 && ext->n == 0) {
			nbdbroker_error("%s: extents returned no extents for "
			    "offset %" PRIu64, host.top->name, off);
			err = EIO;
			r = -1;
		}
		break;
	default:
		nbdbroker_error("worker: unknown request type %" PRIu32,
		    rq->type);
		err = EINVAL;
		break;
	}
	if (r == 0)
		return 0;
	return err > 0 ? err : EIO;
}

/*
 * Collect the top of the stack's export list.  A plugin without
 * list_exports lists its default export alone (named by
 * default_export, else "").
 */
int
host_list_exports(const Nbdbroker__Rpc__ListExports *le,
    struct nbdbroker_exports *x)
{
	memset(x, 0, sizeof(*x));
	sdk_reset_error();
	return stack_list_exports(host.top, le->readonly, le->tls, x);
}
