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

#define WORKER_DEFAULT_THREADS	16
#define WORKER_MAX_THREADS	256

/*
 * An nbdkit plugin's struct nbdkit_plugin is ours without the members
 * we appended (384 bytes in nbdkit 1.32 on LP64); nothing past it is
 * read from an nbdkit plugin, whatever its _struct_size says.  The
 * oldest nbdkit plugins end before errno_is_preserved; every plugin
 * must at least reach the API 1 pread slot.
 */
#define COMPAT_STRUCT_SIZE	offsetof(struct nbdbroker_plugin, durability)
#define COMPAT_MIN_STRUCT	offsetof(struct nbdbroker_plugin, _pwrite_v1)

/* The loaded plugin (host.c). */
struct host {
	void			*dl;		/* dlopen handle */
	char			*path;
	struct nbdbroker_plugin	 p;		/* normalized copy */
	uint64_t		 struct_size;	/* as the plugin declared */
	int			 api_version;
	int			 max_thread_model; /* THREAD_MODEL */
	int			 thread_model;	/* effective */
	bool			 nbdkit;	/* hosted via the nbdkit ABI */
	bool			 loaded;	/* .load ran: call .unload */
	bool			 started;	/* .after_fork ran: .cleanup */
	pthread_mutex_t		 all_lock;	/* SERIALIZE_ALL_REQUESTS */
};

/* One open plugin handle, serving one NBD connection. */
struct handle {
	uint64_t		 id;
	void			*h;		/* plugin's handle */
	struct sdk_conn		 conn;		/* what the SDK helpers see */
	pthread_mutex_t		 lock;		/* SERIALIZE_REQUESTS */
	int64_t			 size;
	bool			 readonly;
	bool			 can_write;
	bool			 can_flush;
	bool			 can_trim;
	bool			 zero_native;	/* else emulated with pwrite */
	bool			 can_fast_zero;
	bool			 can_extents;
	int			 fua;		/* NBDBROKER_FUA_* */
	int			 cache;		/* NBDBROKER_CACHE_* */
};

extern struct host	 host;

/* dump.c */
int	dump_main(int argc, char **argv);

/* host.c */
int	host_load(const char *path, int fd, char *err, size_t errlen);
int	host_configure(const Nbdbroker__Rpc__Config *cfg, const char **stage);
int	host_dump(const Nbdbroker__Rpc__Config *cfg);
void	host_unload(void);
void	host_fill_ready(Nbdbroker__Rpc__Ready *r);
int	host_open(struct handle *hd, const Nbdbroker__Rpc__Open *o,
	    Nbdbroker__Rpc__OpenReply *r);
void	host_close(struct handle *hd);
int	host_request(struct handle *hd, const Nbdbroker__Rpc__Request *rq,
	    Nbdbroker__Rpc__Reply *rp, struct nbdbroker_extents *ext);
int	host_list_exports(const Nbdbroker__Rpc__ListExports *le,
	    struct nbdbroker_exports *x);
void	host_lock_request(struct handle *hd);
void	host_unlock_request(struct handle *hd);

/* nbdkit-compat.c */
int	compat_durability(const char *name, bool seed_given);
void	compat_set_debug_flag(void *dl, const char *plugin, const char *flag,
	    const char *value);
void	compat_prepare_env(void);

/* rpc-server.c */
int	rpc_server_init(int fd, int arena_out_fd, int arena_in_fd);
int	rpc_recv_one(RpcEnvelope **envp);	/* before serving starts */
int	rpc_send(const RpcEnvelope *env);
void	rpc_serve(unsigned threads);
void	rpc_send_log(int level, const char *msg);
bool	rpc_verbose(void);
void	rpc_set_verbose(bool v);
const uint8_t	*rpc_arena_out(uint64_t slot, uint32_t count);
uint8_t		*rpc_arena_in(uint64_t slot, uint32_t count);
/* Last error message a plugin logged (for Failed), or "". */
const char	*rpc_last_error(void);

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
