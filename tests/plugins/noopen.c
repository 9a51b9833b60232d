/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * noopen: a broken test plugin that lacks the required .open callback.
 * The worker must refuse to load it, and the broker must say so and
 * exit non-zero before it listens.  Test code only; never shipped.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static int64_t
noopen_get_size(void *h)
{
	return 1024 * 1024;
}

static int
noopen_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static struct nbdbroker_plugin	plugin = {
	.name = "noopen",
	.get_size = noopen_get_size,
	.pread = noopen_pread,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
