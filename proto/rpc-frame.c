/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame encoding and decoding for the broker <-> worker protocol.
 * Runs in both processes.  Never trusts the peer: the length prefix is
 * checked against RPC_MAX_FRAME before any allocation, and a frame
 * that protobuf-c cannot decode, or whose body is not one we know, is
 * an error the caller turns into "kill the worker" (broker) or "exit"
 * (worker).  Decoding a frame may allocate at most RPC_DECODE_BUDGET()
 * bytes: protobuf-c allocates per element, so a small frame of many
 * empty entries would otherwise cost the decoder many times its size.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc-frame.h"

int
rpc_buf_reserve(struct rpc_buf *b, size_t n)
{
	size_t	 len = b->end - b->start, ncap;
	uint8_t	*p;

	if (b->cap - b->end >= n)
		return 0;
	if (b->start > 0) {		/* compact first */
		memmove(b->data, b->data + b->start, len);
		b->start = 0;
		b->end = len;
		if (b->cap - b->end >= n)
			return 0;
	}
	ncap = b->cap ? b->cap : 4096;
	while (ncap - len < n) {
		if (ncap > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

void
rpc_buf_consume(struct rpc_buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

void
rpc_buf_free(struct rpc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->cap = b->start = b->end = 0;
}

int
rpc_frame_check(const uint8_t hdr[RPC_HDR_SIZE], uint32_t *lenp)
{
	uint32_t	len;

	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > RPC_MAX_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	*lenp = len;
	return 0;
}

int
rpc_frame_encode(struct rpc_buf *b, const RpcEnvelope *env)
{
	size_t	 len;
	uint8_t	*p;

	len = nbdbroker__rpc__envelope__get_packed_size(env);
	if (len == 0 || len > RPC_MAX_FRAME) {
		errno = EMSGSIZE;
		return -1;
	}
	if (rpc_buf_reserve(b, RPC_HDR_SIZE + len) == -1)
		return -1;
	p = b->data + b->end;
	p[0] = len >> 24;
	p[1] = len >> 16;
	p[2] = len >> 8;
	p[3] = len;
	nbdbroker__rpc__envelope__pack(env, p + RPC_HDR_SIZE);
	b->end += RPC_HDR_SIZE + len;
	return 0;
}

/* What one unpack may still allocate. */
struct decode_budget {
	size_t	left;
	bool	exceeded;
};

static void *
budget_alloc(void *data, size_t size)
{
	struct decode_budget	*db = data;

	if (size > db->left) {
		db->exceeded = true;
		return NULL;
	}
	db->left -= size;
	return malloc(size);
}

static void
budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

int
rpc_frame_decode(struct rpc_buf *b, RpcEnvelope **envp)
{
	RpcEnvelope		*env;
	uint32_t		 len;
	struct decode_budget	 db = { 0, false };
	ProtobufCAllocator	 a = {
		.alloc = budget_alloc,
		.free = budget_free,
		.allocator_data = &db,
	};

	*envp = NULL;
	if (rpc_buf_len(b) < RPC_HDR_SIZE)
		return 0;
	if (rpc_frame_check(b->data + b->start, &len) == -1)
		return -1;
	if (rpc_buf_len(b) < RPC_HDR_SIZE + (size_t)len)
		return 0;
	db.left = RPC_DECODE_BUDGET(len);
	env = nbdbroker__rpc__envelope__unpack(&a, len,
	    b->data + b->start + RPC_HDR_SIZE);
	rpc_buf_consume(b, RPC_HDR_SIZE + len);
	if (env == NULL) {
		errno = db.exceeded ? EOVERFLOW : EBADMSG;
		return -1;
	}
	if (env->body_case == NBDBROKER__RPC__ENVELOPE__BODY__NOT_SET) {
		nbdbroker__rpc__envelope__free_unpacked(env, NULL);
		errno = EBADMSG;
		return -1;
	}
	*envp = env;
	return 1;
}

void
rpc_envelope_free(RpcEnvelope *env)
{
	if (env != NULL)
		nbdbroker__rpc__envelope__free_unpacked(env, NULL);
}

const char *
rpc_body_name(int body_case)
{
	switch (body_case) {
	case NBDBROKER__RPC__ENVELOPE__BODY_HELLO:	return "Hello";
	case NBDBROKER__RPC__ENVELOPE__BODY_CONFIG:	return "Config";
	case NBDBROKER__RPC__ENVELOPE__BODY_READY:	return "Ready";
	case NBDBROKER__RPC__ENVELOPE__BODY_FAILED:	return "Failed";
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN:	return "Open";
	case NBDBROKER__RPC__ENVELOPE__BODY_OPEN_REPLY:	return "OpenReply";
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE:	return "Close";
	case NBDBROKER__RPC__ENVELOPE__BODY_CLOSE_REPLY: return "CloseReply";
	case NBDBROKER__RPC__ENVELOPE__BODY_LIST_EXPORTS: return "ListExports";
	case NBDBROKER__RPC__ENVELOPE__BODY_EXPORT_LIST: return "ExportList";
	case NBDBROKER__RPC__ENVELOPE__BODY_SHUTDOWN_REQUEST:
		return "ShutdownRequest";
	case NBDBROKER__RPC__ENVELOPE__BODY_START:	return "Start";
	case NBDBROKER__RPC__ENVELOPE__BODY_REQUEST:	return "Request";
	case NBDBROKER__RPC__ENVELOPE__BODY_REPLY:	return "Reply";
	case NBDBROKER__RPC__ENVELOPE__BODY_LOG:	return "Log";
	default:					return "unknown";
	}
}
