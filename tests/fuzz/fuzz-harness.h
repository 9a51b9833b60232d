/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The in-process broker the fuzz targets drive.  The real broker code
 * (broker/ except main.c, process.c and listen.c) runs on a libevent
 * loop; clients are socketpairs handed to conn_new(); workers are fake,
 * in-process endpoints behind the real supervisor: posix_spawn(),
 * kill() and posix_spawn_file_actions_adddup2() are replaced at link
 * time (-Wl,--wrap) so that sup_start() "spawns" a fake worker on the
 * other end of its socketpair, and SIGKILL closes that end.
 *
 * A fake worker answers correctly on its own (serving an export
 * described by struct fz_export) unless the target drives it by hand,
 * over frames or, once fz_set_rings() says so, through the rings: it
 * takes SQEs from its backend's out-arena and writes CQEs into the
 * in-arena (in-process, through the broker's own mappings).
 * Time is virtual (now_ms() is wrapped), so request timeouts can be
 * fuzzed deterministically.
 *
 * Every iteration starts from nothing (fz_setup) and ends with
 * everything freed (fz_teardown): clients hang up, workers behave,
 * and every connection must then be freed, or the harness aborts (a
 * connection the broker never frees is a leak in a long-running
 * server).  LeakSanitizer sees the rest.
 *
 * Test code only; never installed.
 */
#ifndef NBDBROKER_FUZZ_HARNESS_H
#define NBDBROKER_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

#define FZ_MAX_CLIENTS		16
#define FZ_MAX_WORKERS		64	/* live fake workers at once */
#define FZ_PID_BASE		5000000	/* above any real pid_max */

/* The export a fake worker serves when it answers on its own. */
struct fz_export {
	int64_t		 size;
	uint32_t	 caps;		/* RPC_CAP_* */
	uint32_t	 fua;
	uint32_t	 cache;
	uint32_t	 block_min, block_pref, block_max;
	int		 open_err;	/* errno for every Open, or 0 */
	int		 list_err;
	int		 reply_err;	/* errno for data requests */
	unsigned	 err_every;	/* ... for every Nth one (0: none) */
	uint32_t	 durability;
	bool		 has_list;
	bool		 lifo;		/* answer the newest first */
};

struct fz_config {
	bool		 per_connection;
	bool		 readonly;
	unsigned	 replays;
	uint64_t	 request_timeout_ms;
	unsigned	 intensity;	/* deaths a minute, then backoff */
	bool		 manual;	/* workers wait for fz_answer() */
	bool		 manual_startup;	/* ... Hello and Config too */
	struct fz_export exp;
};

/* A fake worker process. */
struct fz_worker {
	pid_t		 pid;
	int		 fd;		/* our end of the socket, or -1 */
	int		 errfd;		/* its stderr pipe's write end */
	struct rpc_buf	 rbuf;		/* from the broker */
	struct rpc_buf	 wbuf;		/* to the broker */
	bool		 manual;
	bool		 exited;	/* the "process" is gone ... */
	bool		 reaped;	/* ... and the broker was told */
	int		 status;	/* wait status */
	uint64_t	 next_handle;
	unsigned	 nreplies;
	RpcEnvelope	**q;		/* received, not yet answered */
	size_t		 nq, capq;
	uint64_t	 stale[8];	/* ids answered already */
	unsigned	 nstale;
	/* The rings (proto/rpc-ring.h), if its Ready said it serves them. */
	bool		 rings;
	uint32_t	 sq_head;	/* SQEs taken */
	uint32_t	 cq_tail;	/* CQEs written */
	struct rpc_sqe	*sq;		/* taken, not yet answered */
	size_t		 nsq, capsq;
};

/* A client connection, seen from the client. */
struct fz_client {
	int		 fd;		/* -1: closed */
	uint8_t		*out;		/* bytes still to send */
	size_t		 outlen, outoff;
	bool		 reading;	/* reads (and drops) replies */
	uint64_t	 got;		/* bytes received */
};

/* Reading the fuzz input. */
struct fz_in {
	const uint8_t	*p;
	size_t		 len;
};

uint8_t		 fz_u8(struct fz_in *in);
uint16_t	 fz_u16(struct fz_in *in);
uint32_t	 fz_u32(struct fz_in *in);
uint64_t	 fz_u64(struct fz_in *in);
/* Up to n bytes (fewer at the end of the input); returns how many. */
size_t		 fz_bytes(struct fz_in *in, size_t n, const uint8_t **p);

void	fz_init(void);			/* once per process */
void	fz_setup(const struct fz_config *cfg);
void	fz_run(void);			/* until nothing moves */
void	fz_teardown(void);
void	fz_advance(uint64_t ms);	/* virtual clock */
void	fz_fire_timers(void);		/* restart backoff: now */

/* Clients. */
int	fz_client_new(void);		/* index, or -1 */
struct fz_client *fz_client(int k);	/* NULL if k is not open */
void	fz_client_send(int k, const void *p, size_t n);
void	fz_client_close(int k);
void	fz_client_handshake(int k, unsigned variant);
void	fz_client_request(int k, uint16_t cmd, uint16_t flags,
	    uint64_t cookie, uint64_t offset, uint32_t count,
	    uint32_t payload);
int	fz_nclients(void);

/* Fake workers. */
struct fz_worker *fz_worker(int k);	/* k < 0: the newest live one */
int	fz_nworkers(void);
int	fz_worker_send(struct fz_worker *w, const RpcEnvelope *env);
void	fz_worker_raw(struct fz_worker *w, const void *p, size_t n);
void	fz_worker_flush(struct fz_worker *w);
void	fz_worker_answer(struct fz_worker *w, size_t i);
void	fz_worker_exit(struct fz_worker *w, int status);
void	fz_worker_reap(struct fz_worker *w);
void	fz_spawn_failures(unsigned n);
/* Rings: workers whose Ready comes later serve them (or not). */
void	fz_set_rings(bool on);
/* w's backend while w serves its rings, else NULL. */
struct backend *fz_worker_ring(struct fz_worker *w);
void	fz_worker_ring_post(struct fz_worker *w, uint64_t id, int32_t err);
void	fz_worker_ring_doorbell(struct fz_worker *w);

#endif /* NBDBROKER_FUZZ_HARNESS_H */
