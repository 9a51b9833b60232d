/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for broker/nbd-validate.c, linked alone: validate_request()
 * (which NBD requests reach the worker, and the errno the others get)
 * and validate_opt_info() (the NBD_OPT_INFO/GO payload).
 *
 * Two kinds of check: tables of cases whose answers were worked out by
 * hand from the NBD protocol and the rules in README.md, and rules
 * that must hold for every combination of command, flags, range and
 * export (for instance "ENOSPC only for writes").
 */
#include <config.h>

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

#define KiB	1024u
#define MiB	(1024u * 1024)

/* The exports requests are checked against. */
enum exp_kind {
	EXP_RW,		/* writable, everything advertised, structured */
	EXP_BARE,	/* writable, nothing optional advertised, simple */
	EXP_RO,		/* read-only (-r), flush and cache advertised */
	EXP_BIG,	/* like EXP_RW, 64 MiB */
	EXP_SMALLMAX,	/* like EXP_RW, plugin block maximum 1 MiB */
	EXP_NKINDS,
};

static const char *const exp_names[] = {
	"rw", "bare", "ro", "big", "smallmax",
};

#define RW_FLAGS	(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | \
	NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | \
	NBD_FLAG_SEND_DF | NBD_FLAG_SEND_CACHE | NBD_FLAG_SEND_FAST_ZERO)

/* Fill c as the handshake would have for an export of kind k. */
static void
make_conn(struct conn *c, enum exp_kind k)
{
	memset(c, 0, sizeof(*c));
	c->flags = CONN_FIXED_NEWSTYLE | CONN_STRUCTURED;
	c->eflags = RW_FLAGS;
	c->size = 1 * MiB;
	c->block_max = BROKER_MAX_REQUEST;
	switch (k) {
	case EXP_RW:
		break;
	case EXP_BARE:
		c->flags = CONN_FIXED_NEWSTYLE;
		c->eflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_WRITE_ZEROES;
		break;
	case EXP_RO:
		c->eflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY |
		    NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_DF |
		    NBD_FLAG_SEND_CACHE;
		break;
	case EXP_BIG:
		c->size = 64 * MiB;
		break;
	case EXP_SMALLMAX:
		c->size = 64 * MiB;
		c->block_max = 1 * MiB;
		break;
	default:
		abort();
	}
}

struct tx_case {
	const char	*what;
	enum exp_kind	 exp;
	uint16_t	 cmd;
	uint16_t	 flags;
	uint64_t	 offset;
	uint32_t	 count;
	int		 want;		/* 0 or errno */
};

#define FUA	NBD_CMD_FLAG_FUA
#define NOHOLE	NBD_CMD_FLAG_NO_HOLE
#define DF	NBD_CMD_FLAG_DF
#define REQONE	NBD_CMD_FLAG_REQ_ONE
#define FASTZ	NBD_CMD_FLAG_FAST_ZERO
#define END	(1 * MiB)		/* size of the 1 MiB exports */

static const struct tx_case	tx_cases[] = {
	/* READ */
	{ "read", EXP_RW, NBD_CMD_READ, 0, 0, 4096, 0 },
	{ "read last byte", EXP_RW, NBD_CMD_READ, 0, END - 1, 1, 0 },
	{ "read to the end", EXP_RW, NBD_CMD_READ, 0, END - 512, 512, 0 },
	{ "read across the end", EXP_RW, NBD_CMD_READ, 0, END - 512, 1024,
	    EINVAL },
	{ "read at the end", EXP_RW, NBD_CMD_READ, 0, END, 1, EINVAL },
	{ "read far past the end", EXP_RW, NBD_CMD_READ, 0, 1ULL << 63, 512,
	    EINVAL },
	{ "read offset+count wraps", EXP_RW, NBD_CMD_READ, 0, UINT64_MAX, 2,
	    EINVAL },
	{ "read zero bytes", EXP_RW, NBD_CMD_READ, 0, 0, 0, EINVAL },
	{ "read 32 MiB", EXP_BIG, NBD_CMD_READ, 0, 0, 32 * MiB, 0 },
	{ "read 32 MiB + 1", EXP_BIG, NBD_CMD_READ, 0, 0, 32 * MiB + 1,
	    EINVAL },
	{ "read 33 MiB past a 1 MiB end", EXP_RW, NBD_CMD_READ, 0, 0,
	    33 * MiB, EINVAL },
	{ "read at plugin maximum", EXP_SMALLMAX, NBD_CMD_READ, 0, 0, 1 * MiB,
	    0 },
	{ "read over plugin maximum", EXP_SMALLMAX, NBD_CMD_READ, 0, 0,
	    1 * MiB + 1, EINVAL },
	{ "read DF, structured", EXP_RW, NBD_CMD_READ, DF, 0, 512, 0 },
	{ "read DF, simple replies", EXP_BARE, NBD_CMD_READ, DF, 0, 512,
	    EINVAL },
	/* The spec: FUA is valid on every command once SEND_FUA is
	 * advertised (ignored where nothing is written). */
	{ "read FUA", EXP_RW, NBD_CMD_READ, FUA, 0, 512, 0 },
	{ "read FUA not advertised", EXP_BARE, NBD_CMD_READ, FUA, 0, 512,
	    EINVAL },
	{ "read NO_HOLE", EXP_RW, NBD_CMD_READ, NOHOLE, 0, 512, EINVAL },
	{ "read REQ_ONE", EXP_RW, NBD_CMD_READ, REQONE, 0, 512, EINVAL },
	{ "read FAST_ZERO", EXP_RW, NBD_CMD_READ, FASTZ, 0, 512, EINVAL },
	{ "read unknown flag 0x20", EXP_RW, NBD_CMD_READ, 0x20, 0, 512,
	    EINVAL },
	{ "read unknown flag 0x8000", EXP_RW, NBD_CMD_READ, 0x8000, 0, 512,
	    EINVAL },
	{ "read read-only", EXP_RO, NBD_CMD_READ, 0, 0, 512, 0 },
	{ "read read-only past end", EXP_RO, NBD_CMD_READ, 0, END, 512,
	    EINVAL },

	/* WRITE */
	{ "write", EXP_RW, NBD_CMD_WRITE, 0, 0, 4096, 0 },
	{ "write FUA", EXP_RW, NBD_CMD_WRITE, FUA, 4096, 4096, 0 },
	{ "write FUA not advertised", EXP_BARE, NBD_CMD_WRITE, FUA, 0, 512,
	    EINVAL },
	{ "write to the end", EXP_RW, NBD_CMD_WRITE, 0, END - 512, 512, 0 },
	{ "write across the end", EXP_RW, NBD_CMD_WRITE, 0, END - 512, 1024,
	    ENOSPC },
	{ "write at the end", EXP_RW, NBD_CMD_WRITE, 0, END, 1, ENOSPC },
	{ "write offset+count wraps", EXP_RW, NBD_CMD_WRITE, 0, UINT64_MAX,
	    2, ENOSPC },
	{ "write zero bytes", EXP_RW, NBD_CMD_WRITE, 0, 0, 0, EINVAL },
	{ "write 32 MiB", EXP_BIG, NBD_CMD_WRITE, 0, 0, 32 * MiB, 0 },
	{ "write 32 MiB + 1", EXP_BIG, NBD_CMD_WRITE, 0, 0, 32 * MiB + 1,
	    EINVAL },
	{ "write 33 MiB past a 1 MiB end", EXP_RW, NBD_CMD_WRITE, 0, 0,
	    33 * MiB, EINVAL },
	{ "write over plugin maximum", EXP_SMALLMAX, NBD_CMD_WRITE, 0, 0,
	    1 * MiB + 1, EINVAL },
	{ "write DF", EXP_RW, NBD_CMD_WRITE, DF, 0, 512, EINVAL },
	{ "write NO_HOLE", EXP_RW, NBD_CMD_WRITE, NOHOLE, 0, 512, EINVAL },
	{ "write FAST_ZERO", EXP_RW, NBD_CMD_WRITE, FASTZ, 0, 512, EINVAL },
	{ "write unknown flag", EXP_RW, NBD_CMD_WRITE, 0x40, 0, 512, EINVAL },
	{ "write read-only", EXP_RO, NBD_CMD_WRITE, 0, 0, 512, EPERM },
	{ "write read-only past end", EXP_RO, NBD_CMD_WRITE, 0, END, 512,
	    EPERM },
	{ "write read-only zero bytes", EXP_RO, NBD_CMD_WRITE, 0, 0, 0,
	    EPERM },
	/* FUA is not advertised read-only, so the flag is refused first. */
	{ "write FUA read-only", EXP_RO, NBD_CMD_WRITE, FUA, 0, 512, EINVAL },

	/* WRITE_ZEROES */
	{ "zero", EXP_RW, NBD_CMD_WRITE_ZEROES, 0, 0, 65536, 0 },
	{ "zero FUA", EXP_RW, NBD_CMD_WRITE_ZEROES, FUA, 0, 512, 0 },
	{ "zero NO_HOLE", EXP_RW, NBD_CMD_WRITE_ZEROES, NOHOLE, 0, 512, 0 },
	{ "zero FAST_ZERO", EXP_RW, NBD_CMD_WRITE_ZEROES, FASTZ, 0, 512, 0 },
	{ "zero all flags", EXP_RW, NBD_CMD_WRITE_ZEROES, FUA | NOHOLE | FASTZ,
	    0, 512, 0 },
	{ "zero FAST_ZERO not advertised", EXP_BARE, NBD_CMD_WRITE_ZEROES,
	    FASTZ, 0, 512, EINVAL },
	{ "zero FUA not advertised", EXP_BARE, NBD_CMD_WRITE_ZEROES, FUA, 0,
	    512, EINVAL },
	{ "zero NO_HOLE, bare export", EXP_BARE, NBD_CMD_WRITE_ZEROES, NOHOLE,
	    0, 512, 0 },
	{ "zero across the end", EXP_RW, NBD_CMD_WRITE_ZEROES, 0, END - 512,
	    1024, ENOSPC },
	{ "zero offset+count wraps", EXP_RW, NBD_CMD_WRITE_ZEROES, 0,
	    UINT64_MAX, 2, ENOSPC },
	{ "zero zero bytes", EXP_RW, NBD_CMD_WRITE_ZEROES, 0, 0, 0, EINVAL },
	/* No payload: the 32 MiB limit does not apply. */
	{ "zero 48 MiB", EXP_BIG, NBD_CMD_WRITE_ZEROES, 0, 0, 48 * MiB, 0 },
	{ "zero over plugin maximum", EXP_SMALLMAX, NBD_CMD_WRITE_ZEROES, 0,
	    0, 8 * MiB, 0 },
	{ "zero DF", EXP_RW, NBD_CMD_WRITE_ZEROES, DF, 0, 512, EINVAL },
	{ "zero REQ_ONE", EXP_RW, NBD_CMD_WRITE_ZEROES, REQONE, 0, 512,
	    EINVAL },
	{ "zero read-only", EXP_RO, NBD_CMD_WRITE_ZEROES, 0, 0, 512, EPERM },
	{ "zero read-only past end", EXP_RO, NBD_CMD_WRITE_ZEROES, 0, END,
	    512, EPERM },

	/* TRIM */
	{ "trim", EXP_RW, NBD_CMD_TRIM, 0, 0, 65536, 0 },
	{ "trim FUA", EXP_RW, NBD_CMD_TRIM, FUA, 0, 65536, 0 },
	{ "trim across the end", EXP_RW, NBD_CMD_TRIM, 0, END - 512, 1024,
	    EINVAL },
	{ "trim at the end", EXP_RW, NBD_CMD_TRIM, 0, END, 1, EINVAL },
	{ "trim zero bytes", EXP_RW, NBD_CMD_TRIM, 0, 0, 0, EINVAL },
	{ "trim 48 MiB", EXP_BIG, NBD_CMD_TRIM, 0, 0, 48 * MiB, 0 },
	{ "trim not advertised", EXP_BARE, NBD_CMD_TRIM, 0, 0, 512, EINVAL },
	{ "trim NO_HOLE", EXP_RW, NBD_CMD_TRIM, NOHOLE, 0, 512, EINVAL },
	{ "trim FAST_ZERO", EXP_RW, NBD_CMD_TRIM, FASTZ, 0, 512, EINVAL },
	{ "trim read-only", EXP_RO, NBD_CMD_TRIM, 0, 0, 512, EPERM },

	/* FLUSH */
	{ "flush", EXP_RW, NBD_CMD_FLUSH, 0, 0, 0, 0 },
	{ "flush read-only", EXP_RO, NBD_CMD_FLUSH, 0, 0, 0, 0 },
	{ "flush with offset", EXP_RW, NBD_CMD_FLUSH, 0, 512, 0, EINVAL },
	{ "flush with count", EXP_RW, NBD_CMD_FLUSH, 0, 0, 512, EINVAL },
	{ "flush not advertised", EXP_BARE, NBD_CMD_FLUSH, 0, 0, 0, EINVAL },
	{ "flush FUA", EXP_RW, NBD_CMD_FLUSH, FUA, 0, 0, 0 },

	/* CACHE */
	{ "cache", EXP_RW, NBD_CMD_CACHE, 0, 0, 65536, 0 },
	{ "cache read-only", EXP_RO, NBD_CMD_CACHE, 0, 0, 65536, 0 },
	{ "cache 48 MiB", EXP_BIG, NBD_CMD_CACHE, 0, 0, 48 * MiB, 0 },
	{ "cache across the end", EXP_RW, NBD_CMD_CACHE, 0, END - 512, 1024,
	    EINVAL },
	{ "cache zero bytes", EXP_RW, NBD_CMD_CACHE, 0, 0, 0, EINVAL },
	{ "cache not advertised", EXP_BARE, NBD_CMD_CACHE, 0, 0, 512, EINVAL },
	{ "cache FUA", EXP_RW, NBD_CMD_CACHE, FUA, 0, 512, 0 },

	/* BLOCK_STATUS without base:allocation selected (the export
	 * kinds here never select it). */
	{ "block status", EXP_RW, NBD_CMD_BLOCK_STATUS, 0, 0, 512, EINVAL },
	{ "block status REQ_ONE", EXP_RW, NBD_CMD_BLOCK_STATUS, REQONE, 0, 512,
	    EINVAL },

	/* Commands that do not exist (or that we do not offer). */
	{ "resize", EXP_RW, NBD_CMD_RESIZE, 0, 0, 0, EINVAL },
	{ "command 9", EXP_RW, 9, 0, 0, 512, EINVAL },
	{ "command 0xffff", EXP_RW, 0xffff, 0, 0, 512, EINVAL },
};

START_TEST(test_tx_table)
{
	const struct tx_case	*t = &tx_cases[_i];
	struct conn		 c;
	int			 got;

	make_conn(&c, t->exp);
	got = validate_request(&c, t->cmd, t->flags, t->offset, t->count);
	ck_assert_msg(got == t->want, "%s (%s export): got %s (%d), want "
	    "%s (%d)", t->what, exp_names[t->exp], got ? strerror(got) : "ok",
	    got, t->want ? strerror(t->want) : "ok", t->want);
}
END_TEST

static bool
is_write_cmd(uint16_t cmd)
{
	return cmd == NBD_CMD_WRITE || cmd == NBD_CMD_TRIM ||
	    cmd == NBD_CMD_WRITE_ZEROES;
}

/* The command flags each command may carry at all (FUA: any known
 * command, per the spec, once advertised). */
static uint16_t
flags_for(uint16_t cmd)
{
	switch (cmd) {
	case NBD_CMD_READ:
		return FUA | DF;
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
	case NBD_CMD_FLUSH:
	case NBD_CMD_CACHE:
		return FUA;
	case NBD_CMD_WRITE_ZEROES:
		return FUA | NOHOLE | FASTZ;
	case NBD_CMD_BLOCK_STATUS:
		return FUA | REQONE;
	default:
		return 0;
	}
}

/* Whether the export advertised what each flag in flags needs. */
static bool
flags_advertised(const struct conn *c, uint16_t flags)
{
	if ((flags & FUA) && !(c->eflags & NBD_FLAG_SEND_FUA))
		return false;
	if ((flags & FASTZ) && !(c->eflags & NBD_FLAG_SEND_FAST_ZERO))
		return false;
	if ((flags & DF) && !(c->flags & CONN_STRUCTURED))
		return false;
	return true;
}

/*
 * Every command (0-10 and a few wild ones) with every flag
 * combination over every kind of range on every export: the answers
 * must obey the rules stated in the comments below.
 */
START_TEST(test_tx_rules)
{
	static const uint16_t	cmds[] = { 0, 1, 3, 4, 5, 6, 7, 8, 9, 10,
	    0x100, 0xffff };
	static const struct {
		uint64_t	offset;
		uint32_t	count;
	} ranges[] = {
		{ 0, 512 }, { 0, 0 }, { 4096, 1 }, { END - 1, 1 },
		{ END - 1, 2 }, { END, 0 }, { END, 1 }, { 1ULL << 40, 512 },
		{ UINT64_MAX, 1 }, { UINT64_MAX - 511, 512 },
		{ 0, 32 * MiB }, { 0, 32 * MiB + 1 }, { 0, UINT32_MAX },
	};
	size_t		ci, ri;
	unsigned	fl, ek, nzero = 0, nchecked = 0;

	for (ek = 0; ek < EXP_NKINDS; ek++)
	for (ci = 0; ci < sizeof(cmds) / sizeof(cmds[0]); ci++)
	for (ri = 0; ri < sizeof(ranges) / sizeof(ranges[0]); ri++)
	for (fl = 0; fl < 0x40; fl++) {
		uint16_t	cmd = cmds[ci], flags = fl;
		uint64_t	off = ranges[ri].offset;
		uint32_t	cnt = ranges[ri].count;
		struct conn	c;
		int		got;
		bool		in_range;

		if (fl == 0x3f)
			flags = 0x8000 | 0x1;	/* a high unknown bit */
		make_conn(&c, ek);
		got = validate_request(&c, cmd, flags, off, cnt);
		nchecked++;
		in_range = off <= (uint64_t)c.size &&
		    cnt <= (uint64_t)c.size - off;

		/* Only these answers exist. */
		ck_assert_msg(got == 0 || got == EINVAL || got == EPERM ||
		    got == ENOSPC, "cmd %u flags 0x%x: errno %d", cmd, flags,
		    got);
		/* ENOSPC is for writes that carry data or zeroes. */
		if (got == ENOSPC)
			ck_assert_msg((cmd == NBD_CMD_WRITE ||
			    cmd == NBD_CMD_WRITE_ZEROES) && !in_range &&
			    !(c.eflags & NBD_FLAG_READ_ONLY),
			    "cmd %u off %llu count %u: ENOSPC", cmd,
			    (unsigned long long)off, cnt);
		/* EPERM is for writing commands on read-only exports. */
		if (got == EPERM)
			ck_assert_msg(is_write_cmd(cmd) &&
			    (c.eflags & NBD_FLAG_READ_ONLY),
			    "cmd %u on %s: EPERM", cmd, exp_names[ek]);
		/* A writing command with allowed flags on a read-only
		 * export is always EPERM, whatever the range. */
		if (is_write_cmd(cmd) && (c.eflags & NBD_FLAG_READ_ONLY) &&
		    (flags & ~flags_for(cmd)) == 0 &&
		    flags_advertised(&c, flags))
			ck_assert_int_eq(got, EPERM);
		/* A flag the command cannot carry is always EINVAL. */
		if (flags & ~flags_for(cmd))
			ck_assert_msg(got == EINVAL, "cmd %u flags 0x%x: %d",
			    cmd, flags, got);
		if (got != 0)
			continue;
		/* What passes is a known command with advertised flags,
		 * a sane range, and a payload within limits. */
		nzero++;
		ck_assert_msg(cmd <= NBD_CMD_WRITE_ZEROES &&
		    cmd != NBD_CMD_DISC, "cmd %u passed", cmd);
		ck_assert(flags_advertised(&c, flags));
		ck_assert(!is_write_cmd(cmd) ||
		    !(c.eflags & NBD_FLAG_READ_ONLY));
		if (cmd == NBD_CMD_FLUSH) {
			ck_assert(off == 0 && cnt == 0);
			ck_assert(c.eflags & NBD_FLAG_SEND_FLUSH);
			continue;
		}
		ck_assert_msg(cnt > 0 && in_range, "cmd %u off %llu count %u "
		    "passed on %s", cmd, (unsigned long long)off, cnt,
		    exp_names[ek]);
		if (cmd == NBD_CMD_READ || cmd == NBD_CMD_WRITE)
			ck_assert_uint_le(cnt, c.block_max);
		if (cmd == NBD_CMD_TRIM)
			ck_assert(c.eflags & NBD_FLAG_SEND_TRIM);
		if (cmd == NBD_CMD_CACHE)
			ck_assert(c.eflags & NBD_FLAG_SEND_CACHE);
	}
	/* The rules above were not vacuous. */
	ck_assert_uint_gt(nzero, 100);
	ck_assert_uint_eq(nchecked, EXP_NKINDS * 12 * 13 * 0x40);
}
END_TEST

/* validate_opt_info */

/* Build NBD_OPT_INFO data: u32 namelen, name, u16 ninfos, u16s. */
static size_t
opt_build(uint8_t *buf, uint32_t namelen_field, const char *name,
    size_t namelen, uint16_t ninfos_field, const uint16_t *infos,
    size_t ninfos)
{
	uint32_t	nl = htobe32(namelen_field);
	uint16_t	ni = htobe16(ninfos_field), v;
	size_t		p = 0, i;

	memcpy(buf + p, &nl, 4);
	p += 4;
	memcpy(buf + p, name, namelen);
	p += namelen;
	memcpy(buf + p, &ni, 2);
	p += 2;
	for (i = 0; i < ninfos; i++) {
		v = htobe16(infos[i]);
		memcpy(buf + p, &v, 2);
		p += 2;
	}
	return p;
}

static uint8_t	optbuf[BROKER_MAX_NAME + 1024];

START_TEST(test_info_empty_name)
{
	const char	*name = NULL;
	const uint8_t	*infos = NULL;
	uint32_t	 namelen = 99;
	uint16_t	 ninfos = 99;
	size_t		 len = opt_build(optbuf, 0, "", 0, 0, NULL, 0);

	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &name, &namelen,
	    &infos, &ninfos), 0);
	ck_assert_uint_eq(namelen, 0);
	ck_assert_uint_eq(ninfos, 0);
	ck_assert_ptr_eq(name, (const char *)optbuf + 4);
	ck_assert_ptr_eq(infos, optbuf + 6);
}
END_TEST

START_TEST(test_info_name_and_infos)
{
	static const uint16_t	req[] = { NBD_INFO_NAME, NBD_INFO_BLOCK_SIZE,
	    NBD_INFO_DESCRIPTION };
	const char		*name;
	const uint8_t		*infos;
	uint32_t		 namelen;
	uint16_t		 ninfos, v;
	size_t			 len;

	len = opt_build(optbuf, 4, "disk", 4, 3, req, 3);
	ck_assert_uint_eq(len, 4 + 4 + 2 + 6);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &name, &namelen,
	    &infos, &ninfos), 0);
	ck_assert_uint_eq(namelen, 4);
	ck_assert_int_eq(memcmp(name, "disk", 4), 0);
	ck_assert_uint_eq(ninfos, 3);
	memcpy(&v, infos + 2, 2);
	ck_assert_uint_eq(be16toh(v), NBD_INFO_BLOCK_SIZE);
	memcpy(&v, infos + 4, 2);
	ck_assert_uint_eq(be16toh(v), NBD_INFO_DESCRIPTION);
}
END_TEST

START_TEST(test_info_longest_name)
{
	static char	name[BROKER_MAX_NAME + 1];
	const char	*n;
	const uint8_t	*infos;
	uint32_t	 namelen;
	uint16_t	 ninfos;
	size_t		 len;

	memset(name, 'x', sizeof(name));
	len = opt_build(optbuf, BROKER_MAX_NAME, name, BROKER_MAX_NAME, 0,
	    NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), 0);
	ck_assert_uint_eq(namelen, BROKER_MAX_NAME);

	/* One byte more is too long, even though the lengths add up. */
	len = opt_build(optbuf, BROKER_MAX_NAME + 1, name,
	    BROKER_MAX_NAME + 1, 0, NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
}
END_TEST

/* Payloads whose lengths do not add up, each refused. */
START_TEST(test_info_bad_lengths)
{
	static const uint16_t	two[] = { NBD_INFO_NAME, NBD_INFO_BLOCK_SIZE };
	const char		*n;
	const uint8_t		*infos;
	uint32_t		 namelen;
	uint16_t		 ninfos;
	size_t			 len, l;

	/* Shorter than the fixed 6 bytes. */
	len = opt_build(optbuf, 0, "", 0, 0, NULL, 0);
	for (l = 0; l < len; l++)
		ck_assert_msg(validate_opt_info(optbuf, l, &n, &namelen,
		    &infos, &ninfos) == -1, "length %zu accepted", l);

	/* Name length beyond the payload. */
	len = opt_build(optbuf, 5, "disk", 4, 0, NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
	len = opt_build(optbuf, UINT32_MAX, "disk", 4, 0, NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
	len = opt_build(optbuf, UINT32_MAX - 5, "", 0, 0, NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);

	/* Info count says 2, one is there; says 1, two are there. */
	len = opt_build(optbuf, 4, "disk", 4, 2, two, 1);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
	len = opt_build(optbuf, 4, "disk", 4, 1, two, 2);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
	/* Count 0xffff with nothing behind it. */
	len = opt_build(optbuf, 0, "", 0, 0xffff, NULL, 0);
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), -1);
	/* A trailing odd byte. */
	len = opt_build(optbuf, 4, "disk", 4, 2, two, 2);
	optbuf[len] = 0;
	ck_assert_int_eq(validate_opt_info(optbuf, len + 1, &n, &namelen,
	    &infos, &ninfos), -1);
	/* And the exact length is accepted. */
	ck_assert_int_eq(validate_opt_info(optbuf, len, &n, &namelen,
	    &infos, &ninfos), 0);
	ck_assert_uint_eq(ninfos, 2);
}
END_TEST

static Suite *
validate_suite(void)
{
	Suite	*s = suite_create("nbd-validate");
	TCase	*tx = tcase_create("validate_request");
	TCase	*hs = tcase_create("validate_opt_info");

	tcase_add_loop_test(tx, test_tx_table, 0,
	    sizeof(tx_cases) / sizeof(tx_cases[0]));
	tcase_add_test(tx, test_tx_rules);
	suite_add_tcase(s, tx);
	tcase_add_test(hs, test_info_empty_name);
	tcase_add_test(hs, test_info_name_and_infos);
	tcase_add_test(hs, test_info_longest_name);
	tcase_add_test(hs, test_info_bad_lengths);
	suite_add_tcase(s, hs);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(validate_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
