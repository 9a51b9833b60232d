/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tlsinfo: a test plugin that shows what it is told about TLS.  The
 * export is 1 MiB on a TLS connection and 512 KiB otherwise
 * (nbdbroker_is_tls() in get_size), and NBD_OPT_LIST offers "tls" or
 * "plain" (the tls argument of list_exports).  Reads return zeroes.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static void *
tlsinfo_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
tlsinfo_get_size(void *h)
{
	return nbdbroker_is_tls() ? 1024 * 1024 : 512 * 1024;
}

static int
tlsinfo_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static int
tlsinfo_list_exports(int readonly, int is_tls, struct nbdbroker_exports *x)
{
	return nbdbroker_add_export(x, is_tls ? "tls" : "plain", NULL);
}

static struct nbdbroker_plugin plugin = {
	.name = "tlsinfo",
	.open = tlsinfo_open,
	.get_size = tlsinfo_get_size,
	.pread = tlsinfo_pread,
	.list_exports = tlsinfo_list_exports,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
