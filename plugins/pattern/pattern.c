/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pattern: a read-only disk in which every 8-byte word holds its own
 * byte offset, big-endian (the layout of nbdkit's pattern plugin), so
 * any misplaced or corrupted read is detectable.  size=SIZE (or a bare
 * SIZE).  Stateless.
 */
#include <config.h>

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static int64_t	size = -1;

static int
pattern_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0)
		return (size = nbdbroker_parse_size(value)) == -1 ? -1 : 0;
	nbdbroker_error("pattern: unknown parameter '%s'", key);
	return -1;
}

static int
pattern_config_complete(void)
{
	if (size == -1) {
		nbdbroker_error("pattern: size=SIZE is required");
		return -1;
	}
	return 0;
}

static void *
pattern_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
pattern_get_size(void *h)
{
	return size;
}

static int
pattern_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	uint8_t		*p = buf;
	uint64_t	 word = offset & ~UINT64_C(7), be;
	uint32_t	 skip = offset & 7, n;

	while (count > 0) {
		be = htobe64(word);
		n = 8 - skip < count ? 8 - skip : count;
		memcpy(p, (uint8_t *)&be + skip, n);
		p += n;
		count -= n;
		word += 8;
		skip = 0;
	}
	return 0;
}

static int
pattern_yes(void *h)
{
	return 1;
}

static int
pattern_can_cache(void *h)
{
	return NBDBROKER_CACHE_NATIVE;
}

static int
pattern_cache(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	return 0;
}

static struct nbdbroker_plugin plugin = {
	.name = "pattern",
	.longname = "nbdbroker pattern plugin",
	.version = NBDBROKER_VERSION,
	.description = "A read-only disk where each 8-byte word holds its "
	    "offset (big-endian).",
	.config_help = "size=SIZE  (required) size of the disk",
	.magic_config_key = "size",
	.config = pattern_config,
	.config_complete = pattern_config_complete,
	.open = pattern_open,
	.get_size = pattern_get_size,
	.pread = pattern_pread,
	.can_multi_conn = pattern_yes,
	.can_cache = pattern_can_cache,
	.cache = pattern_cache,
	.errno_is_preserved = 1,
	.durability = NBDBROKER_DURABILITY_STATELESS,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
