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
#include "sdk-host.h"

/* The loaded plugin (plugin-load.c fills it, host.c runs it). */
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
};

/*
 * What a handle can do, as host_open negotiated it (host.c's
 * cap_rules): struct handle's cap[], indexed by these.  Booleans are 0
 * or 1; FUA and CACHE hold NBDBROKER_FUA_* and NBDBROKER_CACHE_*.
 */
enum host_cap {
	HOST_CAP_WRITE,
	HOST_CAP_FLUSH,
	HOST_CAP_ROTATIONAL,
	HOST_CAP_MULTI_CONN,
	HOST_CAP_EXTENTS,
	HOST_CAP_CACHE,
	HOST_CAP_TRIM,
	HOST_CAP_ZERO,		/* native; else pwrite writes the zeroes */
	HOST_CAP_FAST_ZERO,
	HOST_CAP_FUA,
	HOST_CAP_N
};

/* One open plugin handle, serving one NBD connection. */
struct handle {
	uint64_t		 id;
	void			*h;		/* plugin's handle */
	struct sdk_conn		 conn;		/* what the SDK helpers see */
	pthread_mutex_t		 lock;		/* see thread-model.c */
	int			 cap[HOST_CAP_N]; /* by enum host_cap */
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
void	dispatch_shutdown(void);

/* dump.c */
int	dump_main(int argc, char **argv);

/* host.c */
int	host_data_init(char *err, size_t errlen);
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

/* nbdkit-abi.c */
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
/* sandbox-seccomp.c */
int	sandbox_seccomp_prepare(const struct policy *p, char *err,
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
