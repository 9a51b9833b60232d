/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test plugin built against nbdkit's installed <nbdkit-plugin.h>
 * that imports a function no nbdkit ever had, as a plugin built for a
 * newer nbdkit would: loading it must fail at once, naming the symbol.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#define THREAD_MODEL	NBDKIT_THREAD_MODEL_PARALLEL

extern int	nbdkit_from_the_future(void);

static void *
undefined_open(int readonly)
{
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t
undefined_get_size(void *h)
{
	return nbdkit_from_the_future();
}

static int
undefined_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static struct nbdkit_plugin plugin = {
	.name = "undefined",
	.open = undefined_open,
	.get_size = undefined_get_size,
	.pread = undefined_pread,
};

NBDKIT_REGISTER_PLUGIN(plugin)
