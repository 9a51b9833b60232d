/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path's shared-memory rings: a fixed, versioned layout that
 * both the broker and the worker map (the same machine, so native
 * little-endian).  READ, WRITE, FLUSH, TRIM, WRITE_ZEROES and CACHE
 * travel as submission queue entries (SQEs) from broker to worker and
 * come back as completion queue entries (CQEs); everything else stays
 * a protobuf frame on the RPC socket (rpc-frame.h).
 *
 * Where: each ring set takes the first pages of the two payload
 * arenas.  The out-arena (the worker maps it read-only) holds what
 * only the broker writes: the SQ, sq_tail, cq_head, and whether the
 * broker needs a doorbell.  The in-arena holds what the worker writes:
 * the CQ, cq_tail, sq_head, and whether the worker sleeps.  The
 * region holds RPC_RING_SETS sets so that two workers of one backend
 * (an old and a new one during a live reload) never share rings;
 * Config tells a worker which set is its own (by offset).
 *
 * Indices are free-running uint32 counters; an entry lives at
 * index % entries.  Each ring has as many entries as the broker can
 * have requests in flight per worker, so an honest peer never finds
 * one full.
 *
 * Ordering (both directions alike): the producer writes its entries,
 * then store-releases the tail; the consumer load-acquires the tail,
 * then reads the entries, then store-releases its head.  Doorbells go
 * only to a peer that said it sleeps: the producer, after publishing
 * its tail, issues a full fence and loads the peer's flag; a consumer
 * about to sleep stores its flag, issues a full fence and re-checks
 * the tail before sleeping.  One of the two always sees the other's
 * store, so no wake-up is lost.
 *
 * Doorbells: broker -> worker is FUTEX_WAKE on sq_tail itself (a
 * shared futex: it keys on the memfd page, so the broker's read-write
 * and the worker's read-only mappings name the same word); worker ->
 * broker is a write to the eventfd RPC_WORKER_EVENT_FD, watched by the
 * broker's event loop.  The broker never waits on a futex.
 *
 * The worker is untrusted: the broker copies each CQE out of shared
 * memory before it looks at it, and checks cq_tail and sq_head against
 * what it submitted (broker/backend-ring.c).
 */
#ifndef NBDBROKER_RPC_RING_H
#define NBDBROKER_RPC_RING_H

#include <stddef.h>
#include <stdint.h>

#define RPC_RING_MAGIC		0x4e425252u	/* "NBRR" */
#define RPC_RING_VERSION	1
#define RPC_RING_ENTRIES	4096	/* per ring; a power of two */
#define RPC_RING_SETS		2	/* per backend: live reload */
#define RPC_RING_PAGE		4096

/* Hello.features and Ready.features. */
#define RPC_FEATURE_RINGS	(1u << 0)

/*
 * One request, broker -> worker: everything a Request frame carries.
 * flags are RPC_FLAG_* (rpc-frame.h), type the NBD command.
 */
struct rpc_sqe {
	uint64_t	id;		/* Envelope.id of a frame */
	uint64_t	handle;		/* from OpenReply */
	uint64_t	offset;
	uint64_t	slot;		/* payload's byte offset in its arena */
	uint32_t	count;
	uint16_t	type;		/* NBD_CMD_* */
	uint16_t	reserved0;	/* 0 */
	uint32_t	flags;		/* RPC_FLAG_* */
	uint32_t	reserved1[5];	/* 0 */
};

/* One answer, worker -> broker. */
struct rpc_cqe {
	uint64_t	id;		/* the SQE's */
	int32_t		err;		/* 0, or an errno (1..4095) */
	uint32_t	flags;		/* 0; room for later */
};

/*
 * The header of a set's part of the out-arena; the broker writes all
 * of it.  Counters sit on cache lines of their own (64 bytes apart).
 */
struct rpc_ring_out {
	uint32_t	magic;		/* RPC_RING_MAGIC */
	uint32_t	version;	/* RPC_RING_VERSION */
	uint32_t	entries;	/* RPC_RING_ENTRIES */
	uint32_t	sqe_size;	/* sizeof(struct rpc_sqe) */
	uint8_t		pad0[48];
	uint32_t	sq_tail;	/* SQEs published; the futex word */
	uint8_t		pad1[60];
	uint32_t	cq_head;	/* CQEs the broker has taken */
	uint8_t		pad2[60];
	uint32_t	broker_wait;	/* 1: ring the eventfd on completion */
	uint8_t		pad3[RPC_RING_PAGE - 196];
	struct rpc_sqe	sq[RPC_RING_ENTRIES];
};

/* The header of a set's part of the in-arena; the worker writes it. */
struct rpc_ring_in {
	uint32_t	magic;		/* RPC_RING_MAGIC (broker sets it) */
	uint32_t	version;
	uint32_t	entries;
	uint32_t	cqe_size;	/* sizeof(struct rpc_cqe) */
	uint8_t		pad0[48];
	uint32_t	cq_tail;	/* CQEs published */
	uint8_t		pad1[60];
	uint32_t	sq_head;	/* SQEs the worker has taken */
	uint8_t		pad2[60];
	uint32_t	worker_sleeps;	/* 1: FUTEX_WAKE sq_tail on submit */
	uint8_t		pad3[RPC_RING_PAGE - 196];
	struct rpc_cqe	cq[RPC_RING_ENTRIES];
};

_Static_assert(sizeof(struct rpc_sqe) == 64, "SQE layout");
_Static_assert(sizeof(struct rpc_cqe) == 16, "CQE layout");
_Static_assert(offsetof(struct rpc_sqe, count) == 32 &&
    offsetof(struct rpc_sqe, type) == 36 &&
    offsetof(struct rpc_sqe, flags) == 40, "SQE field offsets");
_Static_assert(offsetof(struct rpc_ring_out, sq_tail) == 64 &&
    offsetof(struct rpc_ring_out, cq_head) == 128 &&
    offsetof(struct rpc_ring_out, broker_wait) == 192 &&
    offsetof(struct rpc_ring_out, sq) == RPC_RING_PAGE, "out header");
_Static_assert(offsetof(struct rpc_ring_in, cq_tail) == 64 &&
    offsetof(struct rpc_ring_in, sq_head) == 128 &&
    offsetof(struct rpc_ring_in, worker_sleeps) == 192 &&
    offsetof(struct rpc_ring_in, cq) == RPC_RING_PAGE, "in header");
_Static_assert(sizeof(struct rpc_ring_out) % RPC_RING_PAGE == 0 &&
    sizeof(struct rpc_ring_in) % RPC_RING_PAGE == 0, "page multiples");
_Static_assert((RPC_RING_ENTRIES & (RPC_RING_ENTRIES - 1)) == 0,
    "entries: a power of two");

/* Bytes each arena reserves at its start for the ring sets. */
#define RPC_RING_OUT_REGION	(RPC_RING_SETS * sizeof(struct rpc_ring_out))
#define RPC_RING_IN_REGION	(RPC_RING_SETS * sizeof(struct rpc_ring_in))

#endif /* NBDBROKER_RPC_RING_H */
