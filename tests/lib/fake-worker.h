/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake-worker: what its two files share (fake-worker.c talks to the
 * broker and serves; fake-worker-modes.c holds the modes and their
 * misbehaviours).  Test code only.
 */
#ifndef NBDBROKER_FAKE_WORKER_H
#define NBDBROKER_FAKE_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc-frame.h"
#include "rpc-ring.h"

#define FAKE_BAD_MAJOR		99	/* what bad-version claims */
#define FAKE_READ_CHUNK		65536
#define FAKE_LIFETIME_S		600	/* never outlive a test */
#define FAKE_DEFAULT_SIZE	(64 * 1024 * 1024)
#define FAKE_LOG_FLOOD		100000	/* what log-flood sends */
#define FAKE_NFDS		8	/* descriptors send-fds passes */
#define FAKE_LIST_FLOOD		2000000	/* exports or extents in a flood */
#define FAKE_DOORBELLS		100000	/* what ring-doorbell-flood rings */
#define FAKE_MAX_EXTENTS	65536	/* what extents-max sends */

/* Exit statuses (the broker logs them). */
#define FAKE_EXIT_DONE		2	/* finished its act */
#define FAKE_EXIT_PROTO		3	/* the broker said an odd thing */
#define FAKE_EXIT_USAGE		4

/* What a misbehaviour leaves to do with the request that triggered it. */
#define FAKE_ANSWER		1	/* answer it correctly too */
#define FAKE_DONE		0	/* nothing: it was dealt with */
#define FAKE_EXIT		(-1)	/* exit (FAKE_EXIT_DONE) */


struct fake_mode;

struct fake {
	int		 fd;		/* RPC socket (RPC_WORKER_FD) */
	struct rpc_buf	 rbuf;		/* bytes from the broker */
	const struct fake_mode *mode;
	/* Options. */
	unsigned	 nth;		/* misbehave on this request */
	int64_t		 offset;	/* ... or those touching it */
	unsigned	 instances;	/* ... in workers up to this */
	int		 disk;		/* --disk, or -1: zeros */
	int64_t		 size;		/* export size */
	unsigned	 open_delay_ms;	/* later workers open slowly */
	unsigned	 ready_delay_ms;	/* every worker starts slowly */
	uint32_t	 block_min;	/* --block-size: what Open says */
	uint32_t	 block_pref;
	uint32_t	 block_max;
	/* State. */
	uint32_t	 instance;	/* from Config */
	unsigned	 ndata;		/* data requests received */
	uint64_t	 next_handle;
	const uint8_t	*arena_out;	/* WRITE payloads, read-only */
	size_t		 arena_out_size;
	uint8_t		*arena_in;	/* READ results */
	size_t		 arena_in_size;
	/* Rings (ring-* modes), when the broker offered them. */
	const struct rpc_ring_out *rout;
	struct rpc_ring_in *rin;
	uint32_t	 cq_tail;	/* the ring thread's */
	uint32_t	 cq_skew;	/* added to each cq_tail published */
	uint32_t	 sq_skew;	/* added to each sq_head published */
	pthread_mutex_t	 wlock;		/* socket writes, two threads */
	/* ring-* modes: the misbehaviour on the ring (NULL: none). */
	int		(*ring_bad)(struct fake *f, const struct rpc_sqe *e);
};

struct fake_mode {
	const char	*name;
	const char	*help;
	int		(*run)(struct fake *f);	/* the exit status */
	int		(*bad)(struct fake *f, const RpcEnvelope *req);
};

/* fake-worker.c: talking to the broker, serving, the rings. */
void	fake_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	fake_write(struct fake *f, const void *p, size_t n);
int	fake_send(struct fake *f, const RpcEnvelope *env);
int	send_hello(struct fake *f);
int	do_request(struct fake *f, const Nbdbroker__Rpc__Request *rq);
int	answer_request(struct fake *f, const RpcEnvelope *m);
void	ring_post(struct fake *f, uint64_t id, int32_t err);
void	ring_doorbell(void);
int	serve(struct fake *f);
int	mode_bad_version(struct fake *f);
int	mode_silent(struct fake *f);
int	mode_exit_at_start(struct fake *f);

/* fake-worker-modes.c: the modes and their misbehaviours. */
struct fake_ring_bad {
	const char	*name;
	int		(*bad)(struct fake *f, const struct rpc_sqe *e);
};
extern const struct fake_mode		fake_modes[];
extern const size_t			fake_nmodes;
extern const struct fake_ring_bad	fake_ring_bads[];
extern const size_t			fake_nring_bads;

#endif /* NBDBROKER_FAKE_WORKER_H */
