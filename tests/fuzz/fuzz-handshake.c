/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the NBD handshake.  The input is what one client sends
 * from the moment it connects (greeting flags, options, whatever
 * follows), fed to the real broker (conn.c, nbd-handshake.c,
 * nbd-validate.c, and on into transmission if it gets there) with a
 * correct fake worker behind it.
 *
 * Input: byte 0 flags (see below), byte 1 chunk size (0: everything
 * at once; else the client sends that many bytes per event-loop
 * round), then the client's bytes.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-harness.h"

#define F_PER_CONNECTION	0x01
#define F_READONLY		0x02
#define F_OPEN_FAILS		0x04
#define F_LIST_FAILS		0x08
#define F_NO_LIST		0x10
#define F_NO_READ		0x20	/* the client never reads */
#define F_TWO_CLIENTS		0x40	/* another sends the same */
#define F_LIFO			0x80

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in		 in = { data, size };
	struct fz_config	 cfg = { 0 };
	const uint8_t		*p;
	uint8_t			 f, chunk;
	size_t			 n;
	int			 k, k2 = -1;

	f = fz_u8(&in);
	chunk = fz_u8(&in);
	cfg.per_connection = f & F_PER_CONNECTION;
	cfg.readonly = f & F_READONLY;
	cfg.replays = 2;
	cfg.request_timeout_ms = 30000;
	cfg.exp.size = 1024 * 1024;
	cfg.exp.caps = 0x1ff;
	cfg.exp.fua = RPC_FUA_NATIVE;
	cfg.exp.cache = RPC_CACHE_EMULATE;
	cfg.exp.open_err = f & F_OPEN_FAILS ? ENOENT : 0;
	cfg.exp.list_err = f & F_LIST_FAILS ? EIO : 0;
	cfg.exp.has_list = !(f & F_NO_LIST);
	cfg.exp.durability = RPC_DURABILITY_PERSISTENT;
	cfg.exp.lifo = f & F_LIFO;

	fz_setup(&cfg);
	if ((k = fz_client_new()) != -1 && (f & F_NO_READ))
		fz_client(k)->reading = false;
	if (f & F_TWO_CLIENTS)
		k2 = fz_client_new();
	while (in.len > 0) {
		n = fz_bytes(&in, chunk ? chunk : in.len, &p);
		fz_client_send(k, p, n);
		fz_client_send(k2, p, n);
		fz_run();
	}
	fz_teardown();		/* the clients hang up */
	return 0;
}
