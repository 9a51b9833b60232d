/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recorder-v1: an API 1 test plugin with the old callback signatures
 * (no flags; zero takes may_trim).  It records every data callback
 * (record.h) so tests can check that the worker emulates FUA with a
 * flush right after the write and never hands this plugin flags.  A
 * RAM disk underneath keeps reads honest; requests are serialized.
 *
 *   size=SIZE        disk size (default 1M, at most 64M)
 *   log=PATH         append "pwrite off=0 count=512", "flush", ...
 *
 * Built twice: as recorder-v1 without can_fua (the usual API 1 plugin),
 * and with -DRECORDER_FUA_NATIVE as recorder-v1-fua, whose can_fua
 * answers NBDBROKER_FUA_NATIVE although an API 1 pwrite cannot take
 * the flag: the worker must emulate FUA for it all the same.
 *
 * Test code only; never shipped.
 */
#include <config.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBDBROKER_API_VERSION 1
#include "nbdbroker-plugin.h"

#include "record.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

#ifdef RECORDER_FUA_NATIVE
#define REC_NAME	"recorder-v1-fua"
#else
#define REC_NAME	"recorder-v1"
#endif
#define REC_MAX_SIZE	(64 * 1024 * 1024)

static int64_t	 size = 1024 * 1024;
static uint8_t	*disk;

static void
rec_unload(void)
{
	free(disk);
}

static int
rec_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0) {
		if ((size = nbdbroker_parse_size(value)) == -1)
			return -1;
		if (size > REC_MAX_SIZE) {
			nbdbroker_error("%s: size=%s is over 64M",
			    REC_NAME, value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "log") == 0)
		return record_open(value);
	nbdbroker_error("%s: unknown parameter '%s'", REC_NAME, key);
	return -1;
}

static int
rec_config_complete(void)
{
	if ((disk = calloc(1, size ? size : 1)) == NULL) {
		nbdbroker_error("%s: calloc: %m", REC_NAME);
		return -1;
	}
	return 0;
}

static void *
rec_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
rec_get_size(void *h)
{
	return size;
}

#ifdef RECORDER_FUA_NATIVE
static int
rec_can_fua(void *h)
{
	return NBDBROKER_FUA_NATIVE;
}
#endif

static int
rec_pread(void *h, void *buf, uint32_t count, uint64_t offset)
{
	record_line("pread off=%" PRIu64 " count=%" PRIu32, offset, count);
	memcpy(buf, disk + offset, count);
	return 0;
}

static int
rec_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset)
{
	record_line("pwrite off=%" PRIu64 " count=%" PRIu32, offset, count);
	memcpy(disk + offset, buf, count);
	return 0;
}

static int
rec_flush(void *h)
{
	record_line("flush");
	return 0;
}

static int
rec_trim(void *h, uint32_t count, uint64_t offset)
{
	record_line("trim off=%" PRIu64 " count=%" PRIu32, offset, count);
	memset(disk + offset, 0, count);
	return 0;
}

static int
rec_zero(void *h, uint32_t count, uint64_t offset, int may_trim)
{
	record_line("zero off=%" PRIu64 " count=%" PRIu32 " may_trim=%d",
	    offset, count, may_trim);
	memset(disk + offset, 0, count);
	return 0;
}

static struct nbdbroker_plugin	plugin = {
	.name = REC_NAME,
#ifdef RECORDER_FUA_NATIVE
	.can_fua = rec_can_fua,
#endif
	.description = "Test plugin: records API 1 callbacks.",
	.unload = rec_unload,
	.config = rec_config,
	.config_complete = rec_config_complete,
	.open = rec_open,
	.get_size = rec_get_size,
	.pread = rec_pread,
	.pwrite = rec_pwrite,
	.flush = rec_flush,
	.trim = rec_trim,
	.zero = rec_zero,
	.durability = NBDBROKER_DURABILITY_VOLATILE,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
