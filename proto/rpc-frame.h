/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Framing for the broker <-> worker protocol: a 4-byte big-endian
 * length, then one protobuf-c Envelope.  Used by both sides; never
 * trusts the peer: lengths are checked before anything is allocated.
 */
#ifndef NBDBROKER_RPC_FRAME_H
#define NBDBROKER_RPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nbdbroker.pb-c.h"

#define RPC_PROTOCOL_MAJOR	1
#define RPC_PROTOCOL_MINOR	4	/* 2: Config.filters; 3: rings;
					   4: Config.hold, Start */

#define RPC_HDR_SIZE		4
/* Largest frame either side accepts (extents replies are the biggest). */
#define RPC_MAX_FRAME		(4u * 1024 * 1024)
/*
 * Bytes decoding a frame of len bytes may allocate: its strings and
 * bytes (at most len), and per element a struct or an array slot.
 * Elements are bounded absolutely by the receivers (10,000 exports,
 * 65,536 extents: about 0.6 and 0.8 MiB of structs and arrays), so a
 * real message fits in 2 * len + 2 MiB; a frame of millions of empty
 * entries fails here instead of costing the decoder 30 times its size.
 */
#define RPC_DECODE_BUDGET(len)	(2 * (size_t)(len) + 2 * 1024 * 1024)

/* Fixed descriptors in a freshly exec'd worker. */
#define RPC_WORKER_FD		3	/* socketpair end */
#define RPC_WORKER_ARENA_OUT_FD	4	/* broker -> worker payloads, read-only */
#define RPC_WORKER_ARENA_IN_FD	5	/* worker -> broker payloads */
/* 6 is POLICY_NOTIFY_FD (policy/policy.h). */
#define RPC_WORKER_EVENT_FD	7	/* eventfd: completions (rpc-ring.h) */
/*
 * Its memory cgroup's cgroup.procs (v1: tasks), opened by the broker,
 * when it has one: the worker writes "0" there (joins) before anything
 * else.
 */
#define RPC_WORKER_CGROUP_FD	8

/*
 * Values carried in the messages' fields.  They are the wire format:
 * defined here and nowhere else, never taken from the plugin SDK (whose
 * values the worker maps to and from these, worker/wire.c).  Changing
 * one is an incompatible change (RPC_PROTOCOL_MAJOR).
 */

/* Capability bits of OpenReply.caps. */
#define RPC_CAP_WRITE		(1u << 0)
#define RPC_CAP_FLUSH		(1u << 1)
#define RPC_CAP_ROTATIONAL	(1u << 2)
#define RPC_CAP_TRIM		(1u << 3)
#define RPC_CAP_ZERO		(1u << 4)
#define RPC_CAP_FAST_ZERO	(1u << 5)
#define RPC_CAP_MULTI_CONN	(1u << 6)
#define RPC_CAP_EXTENTS		(1u << 7)
#define RPC_CAP_DF		(1u << 8)

/* Bits of Request.flags (the broker sends only those the command takes). */
#define RPC_FLAG_MAY_TRIM	(1u << 0)	/* WRITE_ZEROES: may punch */
#define RPC_FLAG_FUA		(1u << 1)	/* persist before replying */
#define RPC_FLAG_REQ_ONE	(1u << 2)	/* BLOCK_STATUS: one will do */
#define RPC_FLAG_FAST_ZERO	(1u << 3)	/* WRITE_ZEROES: fail if slow */

/* Ready.thread_model: the plugin's effective model, least parallel first. */
#define RPC_THREAD_MODEL_SERIALIZE_CONNECTIONS	0
#define RPC_THREAD_MODEL_SERIALIZE_ALL_REQUESTS	1
#define RPC_THREAD_MODEL_SERIALIZE_REQUESTS	2
#define RPC_THREAD_MODEL_PARALLEL		3

/* Ready.durability: what survives the worker's death. */
#define RPC_DURABILITY_UNSPECIFIED	0	/* treated as volatile */
#define RPC_DURABILITY_STATELESS	1
#define RPC_DURABILITY_PERSISTENT	2
#define RPC_DURABILITY_VOLATILE		3

/* OpenReply.fua: how FUA is honoured. */
#define RPC_FUA_NONE		0
#define RPC_FUA_EMULATE		1	/* the worker flushes after the write */
#define RPC_FUA_NATIVE		2

/* OpenReply.cache: how CACHE is honoured. */
#define RPC_CACHE_NONE		0
#define RPC_CACHE_EMULATE	1	/* the worker reads and discards */
#define RPC_CACHE_NATIVE	2

/* Reply.extent_type holds NBD_STATE_* bits (nbd-protocol.h). */

typedef Nbdbroker__Rpc__Envelope	RpcEnvelope;

/*
 * A growable byte buffer with a consumed prefix.  Bytes in
 * [start, end) are valid; append at end, consume from start.
 */
struct rpc_buf {
	uint8_t		*data;
	size_t		 cap;
	size_t		 start;
	size_t		 end;
};

static inline size_t
rpc_buf_len(const struct rpc_buf *b)
{
	return b->end - b->start;
}

/* Make room for n more bytes after end.  0, or -1 with errno. */
int	rpc_buf_reserve(struct rpc_buf *b, size_t n);
void	rpc_buf_consume(struct rpc_buf *b, size_t n);
void	rpc_buf_free(struct rpc_buf *b);

/*
 * Check a frame header: 0 and *lenp set, or -1 with errno EMSGSIZE
 * (zero or over RPC_MAX_FRAME).
 */
int	rpc_frame_check(const uint8_t hdr[RPC_HDR_SIZE], uint32_t *lenp);

/* Append one framed Envelope to b.  0, or -1 with errno. */
int	rpc_frame_encode(struct rpc_buf *b, const RpcEnvelope *env);

/*
 * Take the next complete frame from b.  Returns 1 and a new Envelope
 * in *envp (free with rpc_envelope_free), 0 if more bytes are needed,
 * or -1 with errno: EMSGSIZE for a bad length, EOVERFLOW for a frame
 * that would take more than RPC_DECODE_BUDGET() to decode, EBADMSG for
 * a frame that does not decode or carries no known body.
 */
int	rpc_frame_decode(struct rpc_buf *b, RpcEnvelope **envp);
void	rpc_envelope_free(RpcEnvelope *env);

/* Name of an Envelope body case, for logs. */
const char	*rpc_body_name(int body_case);

#endif /* NBDBROKER_RPC_FRAME_H */
