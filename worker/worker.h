/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker-worker: hosts one plugin for the broker.  This header is
 * the module map of worker/.
 *
 * The worker is untrusted from the broker's point of view and trusts
 * the broker: it answers what it is asked over the RPC socket and
 * exits when the socket closes.  It may die at any moment (a plugin
 * crash, a sandbox kill); the broker replays what was in flight.
 */
#ifndef NBDBROKER_WORKER_H
#define NBDBROKER_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"
#include "rpc-frame.h"
#include "rpc-ring.h"
#include "sdk-host.h"

/*
 * nbdkit 1.32's filter ABI (<nbdkit-filter.h>, filter API version 6),
 * as nbdkit-filter(3) and the header describe it: the struct a filter
 * registers and the table of next-layer functions it calls through.
 * nbdkit_backend is our struct layer, nbdkit_context and nbdkit_next
 * are our struct ctx, and nbdkit's extents and exports lists are the
 * SDK's.  Unlike plugins, filters have no stable ABI: only filters
 * built for nbdkit 1.32 are loaded (filter-load.c).
 */
#define FILTER_API_VERSION	6
#define FILTER_VERSION_PREFIX	"1.32."
#define FILTER_ZERO_NONE	0	/* can_zero: no WRITE_ZEROES */
#define FILTER_ZERO_EMULATE	1	/* ... written with pwrite */
#define FILTER_ZERO_NATIVE	2	/* ... the layer's zero */

struct layer;
struct ctx;

/* struct nbdkit_next_ops: a filter calls next->op(next, ...). */
struct next_ops {
	int		(*prepare)(struct ctx *);
	int		(*finalize)(struct ctx *);
	int64_t		(*get_size)(struct ctx *);
	const char	*(*export_description)(struct ctx *);
	int		(*block_size)(struct ctx *, uint32_t *, uint32_t *,
			    uint32_t *);
	int		(*can_write)(struct ctx *);
	int		(*can_flush)(struct ctx *);
	int		(*is_rotational)(struct ctx *);
	int		(*can_trim)(struct ctx *);
	int		(*can_zero)(struct ctx *);
	int		(*can_fast_zero)(struct ctx *);
	int		(*can_extents)(struct ctx *);
	int		(*can_fua)(struct ctx *);
	int		(*can_multi_conn)(struct ctx *);
	int		(*can_cache)(struct ctx *);
	int		(*pread)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, int *);
	int		(*pwrite)(struct ctx *, const void *, uint32_t,
			    uint64_t, uint32_t, int *);
	int		(*flush)(struct ctx *, uint32_t, int *);
	int		(*trim)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
	int		(*zero)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
	int		(*extents)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    struct nbdbroker_extents *, int *);
	int		(*cache)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
};

/* struct nbdkit_filter, member for member. */
struct filter_abi {
	int		  _api_version;
	const char	 *_version;
	const char	 *name;
	const char	 *longname;
	const char	 *description;
	void		(*load)(void);
	void		(*unload)(void);
	int		(*config)(int (*)(struct layer *, const char *,
			    const char *), struct layer *, const char *,
			    const char *);
	int		(*config_complete)(int (*)(struct layer *),
			    struct layer *);
	const char	 *config_help;
	int		(*thread_model)(void);
	int		(*get_ready)(int);
	int		(*after_fork)(struct layer *);
	void		(*cleanup)(struct layer *);
	int		(*preconnect)(int (*)(struct layer *, int),
			    struct layer *, int);
	int		(*list_exports)(int (*)(struct layer *, int,
			    struct nbdbroker_exports *), struct layer *, int,
			    int, struct nbdbroker_exports *);
	const char	*(*default_export)(const char *(*)(struct layer *,
			    int), struct layer *, int, int);
	void		*(*open)(int (*)(struct ctx *, int, const char *),
			    struct ctx *, int, const char *, int);
	void		(*close)(void *);
	int		(*prepare)(struct ctx *, void *, int);
	int		(*finalize)(struct ctx *, void *);
	int64_t		(*get_size)(struct ctx *, void *);
	const char	*(*export_description)(struct ctx *, void *);
	int		(*block_size)(struct ctx *, void *, uint32_t *,
			    uint32_t *, uint32_t *);
	int		(*can_write)(struct ctx *, void *);
	int		(*can_flush)(struct ctx *, void *);
	int		(*is_rotational)(struct ctx *, void *);
	int		(*can_trim)(struct ctx *, void *);
	int		(*can_zero)(struct ctx *, void *);
	int		(*can_fast_zero)(struct ctx *, void *);
	int		(*can_extents)(struct ctx *, void *);
	int		(*can_fua)(struct ctx *, void *);
	int		(*can_multi_conn)(struct ctx *, void *);
	int		(*can_cache)(struct ctx *, void *);
	int		(*pread)(struct ctx *, void *, void *, uint32_t,
			    uint64_t, uint32_t, int *);
	int		(*pwrite)(struct ctx *, void *, const void *, uint32_t,
			    uint64_t, uint32_t, int *);
	int		(*flush)(struct ctx *, void *, uint32_t, int *);
	int		(*trim)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, int *);
	int		(*zero)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, int *);
	int		(*extents)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, struct nbdbroker_extents *, int *);
	int		(*cache)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, int *);
};

/* One loaded filter (filter-load.c fills it, filter-stack.c runs it). */
struct filter {
	void			*dl;		/* dlopen handle */
	char			*path;
	struct filter_abi	 fa;		/* copy of what it registered */
	bool			 loaded;	/* .load ran: call .unload */
};

/*
 * What a context can do (struct ctx's can[], cached as nbdkit caches
 * can_* per connection), indexed by these.  Values are nbdkit's:
 * booleans are 0 or 1, ZERO holds FILTER_ZERO_*, FUA and CACHE hold
 * NBDBROKER_FUA_* and NBDBROKER_CACHE_*.
 */
enum host_cap {
	HOST_CAP_WRITE,
	HOST_CAP_FLUSH,
	HOST_CAP_ROTATIONAL,
	HOST_CAP_MULTI_CONN,
	HOST_CAP_EXTENTS,
	HOST_CAP_CACHE,
	HOST_CAP_TRIM,
	HOST_CAP_ZERO,
	HOST_CAP_FAST_ZERO,
	HOST_CAP_FUA,
	HOST_CAP_N
};

/*
 * What one layer of the stack does (host.c's plugin_ops for the
 * plugin, filter-stack.c's for every filter).  The per-connection
 * calls come from filter-stack.c's ctx_* functions, which keep
 * nbdkit's rules (caching, emulation, preconditions) for every layer
 * alike; *err is the errno for the client when one returns -1.
 */
struct layer_ops {
	int		(*config)(struct layer *, const char *, const char *);
	int		(*config_complete)(struct layer *);
	int		(*preconnect)(struct layer *, int);
	int		(*list_exports)(struct layer *, int, int,
			    struct nbdbroker_exports *);
	const char	*(*default_export)(struct layer *, int, int);
	void		*(*open)(struct ctx *, int, const char *);
	void		(*close)(struct ctx *);
	int		(*prepare)(struct ctx *);
	int		(*finalize)(struct ctx *);
	int64_t		(*get_size)(struct ctx *);
	const char	*(*export_description)(struct ctx *);
	int		(*block_size)(struct ctx *, uint32_t *, uint32_t *,
			    uint32_t *);
	int		(*can)(struct ctx *, enum host_cap);
	int		(*pread)(struct ctx *, void *, uint32_t, uint64_t,
			    uint32_t, int *);
	int		(*pwrite)(struct ctx *, const void *, uint32_t,
			    uint64_t, uint32_t, int *);
	int		(*flush)(struct ctx *, uint32_t, int *);
	int		(*trim)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
	int		(*zero)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
	int		(*extents)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    struct nbdbroker_extents *, int *);
	int		(*cache)(struct ctx *, uint32_t, uint64_t, uint32_t,
			    int *);
};

/*
 * One layer of the stack: a filter, or the plugin at the bottom.  The
 * first --filter is the outermost layer (host.top), as in nbdkit.
 * Filters get a layer as their nbdkit_backend: the one below them.
 */
struct layer {
	const struct layer_ops	*ops;
	const char		*name;		/* the filter's, the plugin's */
	struct filter		*f;		/* NULL: the plugin */
	struct layer		*next;		/* below; NULL for the plugin */
};

/*
 * One layer's context for one connection (nbdkit's context): the
 * layer's handle, the context below it, and what nbdkit caches.  A
 * filter sees it as its nbdkit_context in .open and as nbdkit_next,
 * through ops, which must stay the first member.
 */
struct ctx {
	struct next_ops		 ops;		/* filters call through this */
	struct layer		*l;
	void			*handle;	/* the layer's */
	struct ctx		*next;		/* below, NULL: none */
	int			 state;
#define CTX_OPEN	0x01	/* .open succeeded */
#define CTX_PREPARED	0x02	/* .prepare succeeded */
#define CTX_FAILED	0x04	/* .prepare or .finalize failed */
	bool			 readonly;
	int64_t			 size;		/* -1 until asked */
	int			 can[HOST_CAP_N]; /* -1 until asked */
	bool			 have_block_size;
	uint32_t		 block_min, block_pref, block_max;
	/* The plugin layer: the connection as the plugin sees it. */
	struct sdk_conn		 conn;
};

/* The loaded plugin and filters (plugin-load.c and filter-load.c). */
struct host {
	void			*dl;		/* dlopen handle */
	char			*path;
	/* Normalised copy: API 2 signatures, _*_v1 slots NULL. */
	struct nbdbroker_plugin	 p;
	uint64_t		 struct_size;	/* as the plugin declared */
	int			 api_version;
	bool			 nbdkit;	/* hosted via the nbdkit ABI */
	bool			 loaded;	/* .load ran: call .unload */
	bool			 started;	/* .after_fork ran: .cleanup */
	bool			 readonly;	/* -r (Config.readonly) */
	struct filter		*filters;	/* outermost first */
	size_t			 nfilters;
	struct layer		*layers;	/* nfilters + 1, plugin last */
	struct layer		*top;		/* what the broker talks to */
};

/* One open handle (the top context), serving one NBD connection. */
struct handle {
	uint64_t		 id;
	struct ctx		*top;		/* NULL once closed */
	struct sdk_conn		 conn;		/* what the SDK helpers see */
	pthread_mutex_t		 lock;		/* see thread-model.c */
};

/* One data request, in the plugin's terms (host_request). */
struct host_req {
	uint32_t		 type;		/* NBD_CMD_* */
	uint32_t		 flags;		/* NBDBROKER_FLAG_* */
	uint64_t		 offset;
	uint32_t		 count;
	void			*rbuf;		/* READ: count bytes to fill */
	const void		*wbuf;		/* WRITE: count bytes */
};

extern struct host	 host;

/* dispatch.c */
void	dispatch_init(void);
void	dispatch(RpcEnvelope *env);
int	dispatch_sqe(const struct rpc_sqe *e);
void	dispatch_shutdown(void);

/* dump.c */
int	dump_main(int argc, char **argv);

/* filter-load.c */
int	filter_load(size_t n, char *const *paths, const int *fds, char *err,
	    size_t errlen);
void	filter_set_debug_flag(const char *flag, const char *value);
int	filter_durability(int plugin, const Nbdbroker__Rpc__Config *cfg);
bool	filter_has_list_exports(void);

/* filter-layer.c */
extern const struct layer_ops	filter_ops;

/* filter-stack.c: layers */
int	stack_data_init(char *err, size_t errlen);
void	stack_set_tls(bool tls);
bool	stack_tls(void);
int	stack_config(struct layer *l, const char *key, const char *value);
int	stack_config_complete(struct layer *l);
int	stack_preconnect(struct layer *l, int readonly);
int	stack_list_exports(struct layer *l, int readonly, int tls,
	    struct nbdbroker_exports *x);
const char *stack_default_export(struct layer *l, int readonly, int tls);
void	stack_filters_load(void);
int	stack_filters_thread_model(void);
int	stack_filters_get_ready(void);
int	stack_filters_after_fork(void);
void	stack_filters_cleanup(void);
void	stack_filters_unload(void);
/* filter-stack.c: contexts */
struct ctx *ctx_open(struct layer *l, int readonly, const char *name,
	    const struct sdk_conn *conn);
void	ctx_close(struct ctx *c);
int	ctx_prepare(struct ctx *c);
int	ctx_finalize(struct ctx *c);
int64_t	ctx_get_size(struct ctx *c);
const char *ctx_export_description(struct ctx *c);
int	ctx_block_size(struct ctx *c, uint32_t *min, uint32_t *pref,
	    uint32_t *max);
int	ctx_can(struct ctx *c, enum host_cap cap);
int	ctx_pread(struct ctx *c, void *buf, uint32_t count, uint64_t off,
	    uint32_t flags, int *err);
int	ctx_pwrite(struct ctx *c, const void *buf, uint32_t count,
	    uint64_t off, uint32_t flags, int *err);
int	ctx_flush(struct ctx *c, uint32_t flags, int *err);
int	ctx_trim(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
	    int *err);
int	ctx_zero(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
	    int *err);
int	ctx_emulate_zero(struct ctx *c, uint32_t count, uint64_t off,
	    uint32_t flags, int *err);
int	ctx_extents(struct ctx *c, uint32_t count, uint64_t off,
	    uint32_t flags, struct nbdbroker_extents *ext, int *err);
int	ctx_cache(struct ctx *c, uint32_t count, uint64_t off, uint32_t flags,
	    int *err);

/* host.c */
int	host_configure(const Nbdbroker__Rpc__Config *cfg, const char **stage);
int	host_dump(const Nbdbroker__Rpc__Config *cfg);
void	host_unload(void);
void	host_fill_ready(Nbdbroker__Rpc__Ready *r);
int	host_open(struct handle *hd, const Nbdbroker__Rpc__Open *o,
	    Nbdbroker__Rpc__OpenReply *r);
void	host_close(struct handle *hd);
int	host_request(struct handle *hd, const struct host_req *rq,
	    struct nbdbroker_extents *ext);
int	host_list_exports(const Nbdbroker__Rpc__ListExports *le,
	    struct nbdbroker_exports *x);

/* layer-plugin.c */
extern const struct layer_ops	plugin_ops;
int	plugin_errno(int saved_errno);

/* nbdkit-abi.c */
/* nbdkit's rules for extents, which the stack applies to every layer. */
__attribute__((__visibility__("default")))
int	nbdkit_add_extent(struct nbdbroker_extents *e, uint64_t offset,
	    uint64_t length, uint32_t type);
int	abi_durability(const char *name, bool seed_given);
void	abi_set_debug_flag(void *dl, const char *plugin, const char *flag,
	    const char *value);
void	abi_prepare_env(void);

/* plugin-load.c */
int	host_load(const char *path, int fd, char *err, size_t errlen);

/* title.c */
void	title_init(int argc, char **argv);
void	title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* rpc-server.c */
int	rpc_server_init(int fd, int arena_out_fd, int arena_in_fd);
int	rpc_recv_one(RpcEnvelope **envp);	/* before serving starts */
int	rpc_send(const RpcEnvelope *env);
void	rpc_serve(unsigned threads);
bool	rpc_ring_supported(void);
int	rpc_ring_attach(uint32_t entries, uint64_t out_off, uint64_t in_off,
	    char *err, size_t errlen);
bool	rpc_ring_on(void);
void	rpc_ring_detach(void);
void	rpc_send_log(int level, const char *msg);
void	rpc_set_verbose(bool v);
const uint8_t	*rpc_arena_out(uint64_t slot, uint32_t count);
uint8_t		*rpc_arena_in(uint64_t slot, uint32_t count);
/* Last error message a plugin logged (for Failed), or "". */
const char	*rpc_last_error(void);

/* thread-model.c */
int	tm_declare(int declared);
void	tm_restrict(int tm);
int	tm_model(void);
int	tm_declared(void);
const char *tm_name(int tm);
unsigned tm_pool_threads_bound(unsigned requested);
unsigned tm_pool_threads(unsigned requested);
bool	tm_open_admit(void *open);
void	*tm_open_done(void);
void	*tm_parked_take(void);
void	tm_lock(struct handle *hd);
void	tm_unlock(struct handle *hd);

/* wire.c: RPC_* wire values from and to the SDK's NBDBROKER_* */
uint32_t wire_to_sdk_flags(uint32_t wire);
uint32_t wire_thread_model(int tm);
uint32_t wire_durability(int d);
uint32_t wire_fua(int fua);
uint32_t wire_cache(int cache);
uint32_t wire_extent_type(uint32_t type);

/* sandbox.c: the admin's policy, in two stages (policy/). */
struct policy;
enum policy_stage;
int	sandbox_stage1(const uint8_t *wire, size_t len,
	    const char *plugin_path, pid_t broker, unsigned threads,
	    char *err, size_t errlen);
int	sandbox_stage2(char *err, size_t errlen);
/* sandbox-limits.c */
int	sandbox_limits_apply(const struct policy *p, unsigned threads,
	    char *err, size_t errlen);
const char *sandbox_limits_describe(void);
bool	sandbox_limits_address_space(void);
/* sandbox-seccomp.c */
int	sandbox_seccomp_prepare(struct policy *p, char *err,
	    size_t errlen);
int	sandbox_seccomp_enter(enum policy_stage st, char *err, size_t errlen);
bool	sandbox_seccomp_loaded(void);
/* sandbox-landlock.c or sandbox-landlock-none.c */
int	sandbox_landlock_prepare(const struct policy *p, char *err,
	    size_t errlen);
int	sandbox_landlock_enter(enum policy_stage st, char *err,
	    size_t errlen);
bool	sandbox_landlock_active(void);
int	sandbox_landlock_abi(void);

#endif /* NBDBROKER_WORKER_H */
