/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pure checks of what NBD clients send: option payloads and request
 * headers.  No I/O and no calls into the rest of the broker, so the
 * unit tests and fuzz targets can link this file alone.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "broker.h"

/*
 * Parse NBD_OPT_INFO/GO data: u32 name length, name, u16 number of
 * info requests, u16 each.  0, or -1 if the lengths do not add up.
 */
int
validate_opt_info(const uint8_t *data, uint32_t len, const char **name,
    uint32_t *namelen, const uint8_t **infos, uint16_t *ninfos)
{
	uint32_t	nl;
	uint16_t	ni;

	if (len < 6)
		return -1;
	memcpy(&nl, data, 4);
	nl = be32toh(nl);
	if (nl > BROKER_MAX_NAME || nl > len - 6)
		return -1;
	memcpy(&ni, data + 4 + nl, 2);
	ni = be16toh(ni);
	if ((uint64_t)len != 6 + (uint64_t)nl + 2 * (uint64_t)ni)
		return -1;
	*name = (const char *)data + 4;
	*namelen = nl;
	*infos = data + 6 + nl;
	*ninfos = ni;
	return 0;
}

/*
 * Parse NBD_OPT_LIST/SET_META_CONTEXT data: u32 export name length,
 * name, u32 number of queries, then each query as u32 length and
 * string.  Calls fn for each query (stopping if it returns -1).
 * Returns 0, or -1 if the lengths do not add up exactly or a string
 * is too long or contains NUL.
 */
int
validate_meta_context(const uint8_t *data, uint32_t len,
    const char **name, uint32_t *namelen, uint32_t *nqueries,
    int (*fn)(void *arg, const char *q, uint32_t qlen), void *arg)
{
	uint32_t	off = 0, nl, nq, i, ql;

	if (len < 8)
		return -1;
	memcpy(&nl, data, 4);
	nl = be32toh(nl);
	if (nl > BROKER_MAX_NAME || nl > len - 8)
		return -1;
	if (memchr(data + 4, '\0', nl) != NULL)
		return -1;
	*name = (const char *)data + 4;
	*namelen = nl;
	off = 4 + nl;
	memcpy(&nq, data + off, 4);
	nq = be32toh(nq);
	off += 4;
	/* Each query needs at least its 4-byte length. */
	if (nq > (len - off) / 4)
		return -1;
	for (i = 0; i < nq; i++) {
		if (len - off < 4)
			return -1;
		memcpy(&ql, data + off, 4);
		ql = be32toh(ql);
		off += 4;
		if (ql > BROKER_MAX_NAME || ql > len - off)
			return -1;
		if (memchr(data + off, '\0', ql) != NULL)
			return -1;
		if (fn != NULL && fn(arg, (const char *)data + off, ql) == -1)
			return -1;
		off += ql;
	}
	if (off != len)
		return -1;
	*nqueries = nq;
	return 0;
}

static bool
is_write_cmd(uint16_t cmd)
{
	return cmd == NBD_CMD_WRITE || cmd == NBD_CMD_TRIM ||
	    cmd == NBD_CMD_WRITE_ZEROES;
}

/*
 * Check one request against the export.  Returns 0 if it may go to the
 * worker, else the errno to answer with.
 */
int
validate_request(const struct conn *c, uint16_t cmd, uint16_t flags,
    uint64_t offset, uint32_t count)
{
	uint16_t	allowed = 0;

	switch (cmd) {
	case NBD_CMD_READ:
		allowed = NBD_CMD_FLAG_DF;
		break;
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
		break;
	case NBD_CMD_WRITE_ZEROES:
		allowed = NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
		break;
	case NBD_CMD_BLOCK_STATUS:
		allowed = NBD_CMD_FLAG_REQ_ONE;
		break;
	case NBD_CMD_FLUSH:
	case NBD_CMD_CACHE:
		break;
	default:
		return EINVAL;		/* unknown command */
	}
	/* FUA is valid on every command once advertised (it is ignored
	 * where nothing is written); without SEND_FUA it is invalid. */
	if (c->eflags & NBD_FLAG_SEND_FUA)
		allowed |= NBD_CMD_FLAG_FUA;
	if (flags & ~allowed)
		return EINVAL;
	if ((flags & NBD_CMD_FLAG_FAST_ZERO) &&
	    !(c->eflags & NBD_FLAG_SEND_FAST_ZERO))
		return EINVAL;
	if ((flags & NBD_CMD_FLAG_DF) && !(c->flags & CONN_STRUCTURED))
		return EINVAL;

	if (is_write_cmd(cmd) && (c->eflags & NBD_FLAG_READ_ONLY))
		return EPERM;
	switch (cmd) {
	case NBD_CMD_FLUSH:
		if (!(c->eflags & NBD_FLAG_SEND_FLUSH))
			return EINVAL;
		return offset == 0 && count == 0 ? 0 : EINVAL;
	case NBD_CMD_TRIM:
		if (!(c->eflags & NBD_FLAG_SEND_TRIM))
			return EINVAL;
		break;
	case NBD_CMD_CACHE:
		if (!(c->eflags & NBD_FLAG_SEND_CACHE))
			return EINVAL;
		break;
	case NBD_CMD_BLOCK_STATUS:
		if (!(c->flags & CONN_META_ALLOC))
			return EINVAL;	/* no meta context negotiated */
		break;
	default:
		break;
	}
	if (count == 0)
		return EINVAL;
	if ((cmd == NBD_CMD_READ || cmd == NBD_CMD_WRITE) &&
	    count > c->block_max)
		return EINVAL;
	if (offset > (uint64_t)c->size ||
	    count > (uint64_t)c->size - offset)
		return (cmd == NBD_CMD_WRITE || cmd == NBD_CMD_WRITE_ZEROES) ?
		    ENOSPC : EINVAL;
	return 0;
}

