/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recorder-v2: an API 2 test plugin that records every data callback
 * and the flags it received (record.h), so tests can check what the
 * broker and the worker pass on.  A RAM disk underneath keeps reads
 * honest.  Requests are serialized, so the log is in execution order.
 *
 *   size=SIZE               disk size (default 1M, at most 64M)
 *   log=PATH                append "pwrite off=0 count=512 flags=fua"...
 *   fua=native|emulate|none what can_fua answers (default native)
 *   trim=BOOL, flush=BOOL   advertise trim / flush (default true)
 *
 * Test code only; never shipped.
 */
#include <config.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#include "record.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

#define REC_MAX_SIZE	(64 * 1024 * 1024)

static int64_t	 size = 1024 * 1024;
static uint8_t	*disk;
static int	 fua_mode = NBDBROKER_FUA_NATIVE;
static int	 can_trim = 1;
static int	 can_flush = 1;

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
			nbdbroker_error("recorder-v2: size=%s is over 64M",
			    value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "log") == 0)
		return record_open(value);
	if (strcmp(key, "fua") == 0) {
		if (strcmp(value, "native") == 0)
			fua_mode = NBDBROKER_FUA_NATIVE;
		else if (strcmp(value, "emulate") == 0)
			fua_mode = NBDBROKER_FUA_EMULATE;
		else if (strcmp(value, "none") == 0)
			fua_mode = NBDBROKER_FUA_NONE;
		else {
			nbdbroker_error("recorder-v2: fua=%s: native, "
			    "emulate or none", value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "trim") == 0)
		return (can_trim = nbdbroker_parse_bool(value)) == -1 ? -1 : 0;
	if (strcmp(key, "flush") == 0)
		return (can_flush = nbdbroker_parse_bool(value)) == -1 ? -1 :
		    0;
	nbdbroker_error("recorder-v2: unknown parameter '%s'", key);
	return -1;
}

static int
rec_config_complete(void)
{
	if ((disk = calloc(1, size ? size : 1)) == NULL) {
		nbdbroker_error("recorder-v2: calloc: %m");
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

static int
rec_can_fua(void *h)
{
	return fua_mode;
}

static int
rec_can_trim(void *h)
{
	return can_trim;
}

static int
rec_can_flush(void *h)
{
	return can_flush;
}

static int
rec_yes(void *h)
{
	return 1;
}

static int
rec_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	char	fl[64];

	record_line("pread off=%" PRIu64 " count=%" PRIu32 " flags=%s",
	    offset, count, record_flags(flags, fl, sizeof(fl)));
	memcpy(buf, disk + offset, count);
	return 0;
}

static int
rec_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	char	fl[64];

	record_line("pwrite off=%" PRIu64 " count=%" PRIu32 " flags=%s",
	    offset, count, record_flags(flags, fl, sizeof(fl)));
	memcpy(disk + offset, buf, count);
	return 0;
}

static int
rec_flush(void *h, uint32_t flags)
{
	char	fl[64];

	record_line("flush flags=%s", record_flags(flags, fl, sizeof(fl)));
	return 0;
}

static int
rec_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	char	fl[64];

	record_line("trim off=%" PRIu64 " count=%" PRIu32 " flags=%s",
	    offset, count, record_flags(flags, fl, sizeof(fl)));
	memset(disk + offset, 0, count);
	return 0;
}

static int
rec_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	char	fl[64];

	record_line("zero off=%" PRIu64 " count=%" PRIu32 " flags=%s",
	    offset, count, record_flags(flags, fl, sizeof(fl)));
	memset(disk + offset, 0, count);
	return 0;
}

static struct nbdbroker_plugin	plugin = {
	.name = "recorder-v2",
	.description = "Test plugin: records API 2 callbacks and flags.",
	.unload = rec_unload,
	.config = rec_config,
	.config_complete = rec_config_complete,
	.open = rec_open,
	.get_size = rec_get_size,
	.can_fua = rec_can_fua,
	.can_trim = rec_can_trim,
	.can_flush = rec_can_flush,
	.can_zero = rec_yes,
	.can_fast_zero = rec_yes,
	.pread = rec_pread,
	.pwrite = rec_pwrite,
	.flush = rec_flush,
	.trim = rec_trim,
	.zero = rec_zero,
	.durability = NBDBROKER_DURABILITY_VOLATILE,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
