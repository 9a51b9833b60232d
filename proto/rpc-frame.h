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
#define RPC_PROTOCOL_MINOR	1

#define RPC_HDR_SIZE		4
/* Largest frame either side accepts (extents replies are the biggest). */
#define RPC_MAX_FRAME		(4u * 1024 * 1024)

/* Fixed descriptors in a freshly exec'd worker. */
#define RPC_WORKER_FD		3	/* socketpair end */
#define RPC_WORKER_ARENA_OUT_FD	4	/* broker -> worker payloads, read-only */
#define RPC_WORKER_ARENA_IN_FD	5	/* worker -> broker payloads */

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
 * or -1 with errno: EMSGSIZE for a bad length, EBADMSG for a frame
 * that does not decode or carries no known body.
 */
int	rpc_frame_decode(struct rpc_buf *b, RpcEnvelope **envp);
void	rpc_envelope_free(RpcEnvelope *env);

/* Name of an Envelope body case, for logs. */
const char	*rpc_body_name(int body_case);

#endif /* NBDBROKER_RPC_FRAME_H */
