/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * null: a disk that reads as zeroes and discards writes.  size=SIZE
 * (or a bare SIZE; default 0).  Useful for benchmarks and tests; it
 * holds no state, so restarts are invisible.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static int64_t	size;

static int
null_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0)
		return (size = nbdbroker_parse_size(value)) == -1 ? -1 : 0;
	nbdbroker_error("null: unknown parameter '%s'", key);
	return -1;
}

static void *
null_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
null_get_size(void *h)
{
	return size;
}

static int
null_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static int
null_discard(void *h, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	return 0;
}

static int
null_range(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	return 0;
}

static int
null_flush(void *h, uint32_t flags)
{
	return 0;
}

static int
null_yes(void *h)
{
	return 1;
}

static int
null_can_fua(void *h)
{
	return NBDBROKER_FUA_NATIVE;
}

static int
null_can_cache(void *h)
{
	return NBDBROKER_CACHE_NATIVE;
}

static int
null_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
    struct nbdbroker_extents *ext)
{
	return nbdbroker_add_extent(ext, offset, count,
	    NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO);
}

static struct nbdbroker_plugin plugin = {
	.name = "null",
	.longname = "nbdbroker null plugin",
	.version = NBDBROKER_VERSION,
	.description = "A disk that reads as zeroes and discards writes.",
	.config_help = "size=SIZE  size of the disk (default 0)",
	.magic_config_key = "size",
	.config = null_config,
	.open = null_open,
	.get_size = null_get_size,
	.pread = null_pread,
	.pwrite = null_discard,
	.trim = null_range,
	.zero = null_range,
	.cache = null_range,
	.flush = null_flush,
	.can_fua = null_can_fua,
	.can_multi_conn = null_yes,
	.can_fast_zero = null_yes,
	.can_cache = null_can_cache,
	.extents = null_extents,
	.errno_is_preserved = 1,
	.durability = NBDBROKER_DURABILITY_STATELESS,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
