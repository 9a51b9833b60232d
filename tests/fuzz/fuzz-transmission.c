/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the NBD transmission phase.  A client completes a
 * correct handshake (chosen by the input's first bytes), then the rest
 * of the input is what it sends: request headers, WRITE payloads,
 * garbage.  The fake worker serves an export whose size, capabilities
 * and errors the input chooses too, so every branch of validate_request,
 * slot allocation, payload reading, draining and reply building is
 * reachable.
 *
 * Input: 5 bytes of configuration (see below), then the client's
 * bytes after the handshake.  Up to 7 more clients may send the same
 * bytes at the same time (byte 4), so that connections compete for
 * the arenas and wait for each other.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-harness.h"

/* Byte 0. */
#define F_STRUCTURED		0x01
#define F_META			0x02
#define F_READONLY		0x04
#define F_EXPORT_NAME		0x08	/* EXPORT_NAME, not GO */
#define F_NO_READ		0x10	/* the client never reads */
#define F_PER_CONNECTION	0x20
#define F_LIFO			0x40
#define F_ZEROES		0x80	/* no NO_ZEROES */
/* Byte 1: RPC_CAP_* bits 0-7.  Byte 2: fua 0-1, cache 2-3, errors 4-5,
 * size 6-7.  Byte 3: block_max 0-1, block_min 2-3, chunk 4-7.
 * Byte 4: more clients 0-2, which do not read their replies: 3. */
#define F4_MORE(f)		((f) & 7)
#define F4_MORE_NO_READ		0x08

/*
 * The export's size and block sizes.  READ and WRITE payloads are
 * capped at 4 MiB (block_max; a plugin that names none gets 4 MiB
 * here, and the broker's own 32 MiB clamp is fuzz-worker's to
 * reach): an input full of large READs used to spend its time
 * copying replies through the socket, not in the broker.  Eight
 * clients still fill the 64 MiB arenas and wait for each other.
 */
static const int64_t	sizes[4] = {
	0, 1024 * 1024, 4 * 1024 * 1024 + 511, INT64_MAX,
};
static const uint32_t	block_maxes[4] = { 4u << 20, 4096, 65536, 1u << 20 };
static const uint32_t	block_mins[4] = { 0, 1, 512, 4096 };

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in		 in = { data, size };
	struct fz_config	 cfg = { 0 };
	const uint8_t		*p;
	uint8_t			 f0, f1, f2, f3, f4;
	size_t			 n, chunk;
	unsigned		 variant;
	int			 k, i, more[7];

	f0 = fz_u8(&in);
	f1 = fz_u8(&in);
	f2 = fz_u8(&in);
	f3 = fz_u8(&in);
	f4 = fz_u8(&in);
	cfg.per_connection = f0 & F_PER_CONNECTION;
	cfg.readonly = f0 & F_READONLY;
	cfg.replays = 2;
	cfg.request_timeout_ms = 30000;
	cfg.exp.caps = f1;
	cfg.exp.fua = f2 & 3;
	cfg.exp.cache = (f2 >> 2) & 3;
	switch ((f2 >> 4) & 3) {
	case 1:
		cfg.exp.reply_err = EIO;
		cfg.exp.err_every = 3;
		break;
	case 2:
		cfg.exp.reply_err = ENOSPC;
		cfg.exp.err_every = 2;
		break;
	case 3:
		cfg.exp.reply_err = EINVAL;
		cfg.exp.err_every = 1;
		break;
	}
	cfg.exp.size = sizes[f2 >> 6];
	cfg.exp.block_max = block_maxes[f3 & 3];
	cfg.exp.block_min = block_mins[(f3 >> 2) & 3];
	/* As a worker may report them (else the broker kills it): none,
	 * or a power-of-two minimum, a preferred size of at least 512
	 * and the minimum, and a maximum of at least that (or none). */
	if (cfg.exp.block_min != 0 || cfg.exp.block_max != 0) {
		if (cfg.exp.block_min == 0)
			cfg.exp.block_min = 1;
		cfg.exp.block_pref = cfg.exp.block_min > 512 ?
		    cfg.exp.block_min : 512;
		if (cfg.exp.block_max == 0)
			cfg.exp.block_max = UINT32_MAX;
	}
	cfg.exp.durability = RPC_DURABILITY_PERSISTENT;
	cfg.exp.has_list = true;
	cfg.exp.lifo = f0 & F_LIFO;
	chunk = f3 >> 4 ? (size_t)1 << (f3 >> 4) : 0;

	fz_setup(&cfg);
	if ((k = fz_client_new()) == -1) {
		fz_teardown();
		return 0;
	}
	if (f0 & F_NO_READ)
		fz_client(k)->reading = false;
	variant = (f0 & F_EXPORT_NAME ? 0 : 1) |
	    (f0 & F_STRUCTURED ? 4 : 0) | (f0 & F_META ? 8 : 0) |
	    (f0 & F_ZEROES ? 16 : 0);
	fz_client_handshake(k, variant);
	for (i = 0; i < F4_MORE(f4); i++) {
		if ((more[i] = fz_client_new()) == -1)
			continue;
		if (f4 & F4_MORE_NO_READ)
			fz_client(more[i])->reading = false;
		fz_client_handshake(more[i], variant);
	}
	fz_run();
	while (in.len > 0) {
		n = fz_bytes(&in, chunk ? chunk : in.len, &p);
		fz_client_send(k, p, n);
		for (i = 0; i < F4_MORE(f4); i++)
			fz_client_send(more[i], p, n);
		fz_run();
	}
	fz_teardown();
	return 0;
}
