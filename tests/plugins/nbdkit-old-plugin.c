/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test plugin built against nbdkit's installed <nbdkit-plugin.h>
 * that looks like one built against an old nbdkit: API version 1 (no
 * flags; zero takes may_trim) and a struct cut at an older member.
 * nbdkit's archived old plugin binaries are not available here, so the
 * cut is made by declaring a smaller _struct_size than sizeof the
 * struct, with CUT naming the first member the old header lacked:
 *
 *   errno_is_preserved   nbdkit 1.1.x, before errno_is_preserved
 *   zero                 nbdkit 1.0, before zero (hence before FUA)
 *
 * Members past the cut are set to things the host must never use
 * (get_ready aborts, can_multi_conn is true, a magic config key, and
 * with CUT=zero a zero that writes 0xff): a host that read past
 * _struct_size would crash or serve wrong data.
 *
 * The disk is 1M of memory, initially 0x01 bytes, with pwrite, flush
 * (counted) and trim; reads of the last 8 bytes return the flush count
 * as a big-endian integer, so a test can see FUA emulated by flush.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBDKIT_API_VERSION 1
#include <nbdkit-plugin.h>

#ifndef CUT
#error "define CUT to a struct nbdkit_plugin member"
#endif

#define THREAD_MODEL	NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS
#define DISK_SIZE	(1024 * 1024)

static uint8_t	disk[DISK_SIZE];
static uint64_t	flushes;

static void
old_load(void)
{
	memset(disk, 0x01, sizeof(disk));
}

static void *
old_open(int readonly)
{
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t
old_get_size(void *h)
{
	return DISK_SIZE;
}

static int
old_pread(void *h, void *buf, uint32_t count, uint64_t offset)
{
	uint8_t		*p = buf;
	uint64_t	 i;

	memcpy(buf, disk + offset, count);
	for (i = offset; i < offset + count; i++)
		if (i >= DISK_SIZE - 8)
			p[i - offset] = (uint8_t)(flushes >> (8 * (DISK_SIZE -
			    1 - i)));
	return 0;
}

static int
old_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset)
{
	memcpy(disk + offset, buf, count);
	return 0;
}

static int
old_flush(void *h)
{
	__atomic_add_fetch(&flushes, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int
old_trim(void *h, uint32_t count, uint64_t offset)
{
	memset(disk + offset, 0, count);
	return 0;
}

/*
 * Inside the struct when CUT is errno_is_preserved.  When CUT is zero
 * it is past the cut and fills with ZERO_FILL (0xff): the host must
 * emulate zeroing with pwrite instead.
 */
#ifndef ZERO_FILL
#define ZERO_FILL	0
#endif

static int
old_zero(void *h, uint32_t count, uint64_t offset, int may_trim)
{
	memset(disk + offset, ZERO_FILL, count);
	return 0;
}

/* Past the cut: must never be called. */

static int
bad_get_ready(void)
{
	abort();
}

static int
bad_can_multi_conn(void *h)
{
	return 1;
}

static struct nbdkit_plugin plugin = {
	.name = "old",
	.version = "1.0",
	.load = old_load,
	.open = old_open,
	.get_size = old_get_size,
	.pread = old_pread,
	.pwrite = old_pwrite,
	.flush = old_flush,
	.trim = old_trim,
	.zero = old_zero,
	.magic_config_key = "size",
	.can_multi_conn = bad_can_multi_conn,
	.get_ready = bad_get_ready,
};

/* NBDKIT_REGISTER_PLUGIN, with the struct size an old header had. */
NBDKIT_DLL_PUBLIC struct nbdkit_plugin *plugin_init(void);

NBDKIT_DLL_PUBLIC struct nbdkit_plugin *
plugin_init(void)
{
	plugin._struct_size = offsetof(struct nbdkit_plugin, CUT);
	plugin._api_version = NBDKIT_API_VERSION;
	plugin._thread_model = THREAD_MODEL;
	return &plugin;
}
