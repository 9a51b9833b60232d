/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NBD wire constants and layouts, written from the NBD protocol
 * specification (doc/proto.md of the NBD project).  Every multi-byte
 * field on the wire is big-endian; the structs below are packed images
 * of the wire format and must be byte-swapped field by field.
 */
#ifndef NBDBROKER_NBD_PROTOCOL_H
#define NBDBROKER_NBD_PROTOCOL_H

#include <assert.h>
#include <stdint.h>

/* Handshake magics. */
#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_OPTS_MAGIC		0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL

/* Handshake flags (server -> client, 16 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE	(1u << 0)
#define NBD_FLAG_NO_ZEROES	(1u << 1)

/* Client flags (client -> server, 32 bits). */
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1u << 0)
#define NBD_FLAG_C_NO_ZEROES		(1u << 1)

/* Options. */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_LIST			3
#define NBD_OPT_PEEK_EXPORT		4
#define NBD_OPT_STARTTLS		5
#define NBD_OPT_INFO			6
#define NBD_OPT_GO			7
#define NBD_OPT_STRUCTURED_REPLY	8
#define NBD_OPT_LIST_META_CONTEXT	9
#define NBD_OPT_SET_META_CONTEXT	10
#define NBD_OPT_EXTENDED_HEADERS	11

/* Option replies. */
#define NBD_REP_ACK		1
#define NBD_REP_SERVER		2
#define NBD_REP_INFO		3
#define NBD_REP_META_CONTEXT	4
#define NBD_REP_ERR_BIT		(1u << 31)
#define NBD_REP_ERR_UNSUP	(NBD_REP_ERR_BIT | 1)
#define NBD_REP_ERR_POLICY	(NBD_REP_ERR_BIT | 2)
#define NBD_REP_ERR_INVALID	(NBD_REP_ERR_BIT | 3)
#define NBD_REP_ERR_PLATFORM	(NBD_REP_ERR_BIT | 4)
#define NBD_REP_ERR_TLS_REQD	(NBD_REP_ERR_BIT | 5)
#define NBD_REP_ERR_UNKNOWN	(NBD_REP_ERR_BIT | 6)
#define NBD_REP_ERR_SHUTDOWN	(NBD_REP_ERR_BIT | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_ERR_BIT | 8)
#define NBD_REP_ERR_TOO_BIG	(NBD_REP_ERR_BIT | 9)

/* NBD_REP_INFO types. */
#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Transmission flags (16 bits). */
#define NBD_FLAG_HAS_FLAGS		(1u << 0)
#define NBD_FLAG_READ_ONLY		(1u << 1)
#define NBD_FLAG_SEND_FLUSH		(1u << 2)
#define NBD_FLAG_SEND_FUA		(1u << 3)
#define NBD_FLAG_ROTATIONAL		(1u << 4)
#define NBD_FLAG_SEND_TRIM		(1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES	(1u << 6)
#define NBD_FLAG_SEND_DF		(1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN		(1u << 8)
#define NBD_FLAG_SEND_RESIZE		(1u << 9)
#define NBD_FLAG_SEND_CACHE		(1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO		(1u << 11)

/* Transmission magics. */
#define NBD_REQUEST_MAGIC		0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC		0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC	0x668e33efu

/* Commands. */
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_CACHE		5
#define NBD_CMD_WRITE_ZEROES	6
#define NBD_CMD_BLOCK_STATUS	7
#define NBD_CMD_RESIZE		8

/* Command flags. */
#define NBD_CMD_FLAG_FUA	(1u << 0)
#define NBD_CMD_FLAG_NO_HOLE	(1u << 1)
#define NBD_CMD_FLAG_DF		(1u << 2)
#define NBD_CMD_FLAG_REQ_ONE	(1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO	(1u << 4)

/* Structured reply flags and types. */
#define NBD_REPLY_FLAG_DONE		(1u << 0)
#define NBD_REPLY_TYPE_NONE		0
#define NBD_REPLY_TYPE_OFFSET_DATA	1
#define NBD_REPLY_TYPE_OFFSET_HOLE	2
#define NBD_REPLY_TYPE_BLOCK_STATUS	5
#define NBD_REPLY_TYPE_ERROR		((1u << 15) | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET	((1u << 15) | 2)

/* base:allocation states. */
#define NBD_STATE_HOLE	(1u << 0)
#define NBD_STATE_ZERO	(1u << 1)

/* Errors on the wire. */
#define NBD_SUCCESS	0
#define NBD_EPERM	1
#define NBD_EIO		5
#define NBD_ENOMEM	12
#define NBD_EINVAL	22
#define NBD_ENOSPC	28
#define NBD_EOVERFLOW	75
#define NBD_ENOTSUP	95
#define NBD_ESHUTDOWN	108

/* Wire layouts. */
struct nbd_new_handshake {
	uint64_t	nbdmagic;	/* NBD_MAGIC */
	uint64_t	version;	/* NBD_OPTS_MAGIC */
	uint16_t	gflags;		/* handshake flags */
} __attribute__((packed));
static_assert(sizeof(struct nbd_new_handshake) == 18, "wire size");

struct nbd_option {
	uint64_t	version;	/* NBD_OPTS_MAGIC */
	uint32_t	option;
	uint32_t	optlen;		/* bytes of option data that follow */
} __attribute__((packed));
static_assert(sizeof(struct nbd_option) == 16, "wire size");

struct nbd_fixed_new_option_reply {
	uint64_t	magic;		/* NBD_REP_MAGIC */
	uint32_t	option;
	uint32_t	reply;
	uint32_t	replylen;
} __attribute__((packed));
static_assert(sizeof(struct nbd_fixed_new_option_reply) == 20, "wire size");

/* Reply to NBD_OPT_EXPORT_NAME (the 124 zero bytes are sent apart). */
struct nbd_export_name_reply {
	uint64_t	exportsize;
	uint16_t	eflags;
} __attribute__((packed));
static_assert(sizeof(struct nbd_export_name_reply) == 10, "wire size");

struct nbd_request {
	uint32_t	magic;		/* NBD_REQUEST_MAGIC */
	uint16_t	flags;		/* NBD_CMD_FLAG_* */
	uint16_t	type;		/* NBD_CMD_* */
	uint64_t	handle;		/* opaque, echoed in the reply */
	uint64_t	offset;
	uint32_t	count;
} __attribute__((packed));
static_assert(sizeof(struct nbd_request) == 28, "wire size");

struct nbd_simple_reply {
	uint32_t	magic;		/* NBD_SIMPLE_REPLY_MAGIC */
	uint32_t	error;		/* NBD_E* */
	uint64_t	handle;
} __attribute__((packed));
static_assert(sizeof(struct nbd_simple_reply) == 16, "wire size");

struct nbd_structured_reply {
	uint32_t	magic;		/* NBD_STRUCTURED_REPLY_MAGIC */
	uint16_t	flags;		/* NBD_REPLY_FLAG_* */
	uint16_t	type;		/* NBD_REPLY_TYPE_* */
	uint64_t	handle;
	uint32_t	length;		/* payload bytes that follow */
} __attribute__((packed));
static_assert(sizeof(struct nbd_structured_reply) == 20, "wire size");

struct nbd_structured_reply_error {
	uint32_t	error;		/* NBD_E* */
	uint16_t	len;		/* message bytes that follow */
} __attribute__((packed));
static_assert(sizeof(struct nbd_structured_reply_error) == 6, "wire size");

struct nbd_block_descriptor {
	uint32_t	length;
	uint32_t	status_flags;	/* NBD_STATE_* */
} __attribute__((packed));
static_assert(sizeof(struct nbd_block_descriptor) == 8, "wire size");

/* Names for logs; return "unknown" for values out of range. */
const char	*nbd_opt_name(uint32_t opt);
const char	*nbd_cmd_name(uint16_t cmd);
const char	*nbd_rep_name(uint32_t rep);

#endif /* NBDBROKER_NBD_PROTOCOL_H */
