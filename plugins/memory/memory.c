/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memory: a sparse RAM disk.  size=SIZE (or a bare SIZE).
 *
 * The disk is an array of 1 GiB directories of 64 KiB chunks,
 * allocated on first write; unwritten chunks read as zeroes and are
 * reported as holes.  Reads and writes run in parallel under a shared
 * lock (chunks are installed with compare-and-swap); freeing chunks
 * (trim, zero) takes the lock exclusively.
 *
 * The data lives in the worker process, so it is lost when the worker
 * dies: the plugin declares itself volatile and the broker tells
 * clients so instead of serving a silently empty disk.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

#define CHUNK_SHIFT	16
#define CHUNK		(UINT64_C(1) << CHUNK_SHIFT)
#define DIR_SHIFT	30			/* 1 GiB per directory */
#define DIR_CHUNKS	(UINT64_C(1) << (DIR_SHIFT - CHUNK_SHIFT))
#define MAX_SIZE	(UINT64_C(1) << 50)	/* 1 PiB */

static int64_t		 size = -1;
static uint8_t		***dirs;	/* dirs[i][j]: chunk or NULL */
static uint64_t		 ndirs;
static pthread_rwlock_t	 lock = PTHREAD_RWLOCK_INITIALIZER;

static void
memory_unload(void)
{
	uint64_t	i, j;

	for (i = 0; i < ndirs && dirs != NULL; i++) {
		if (dirs[i] == NULL)
			continue;
		for (j = 0; j < DIR_CHUNKS; j++)
			free(dirs[i][j]);
		free(dirs[i]);
	}
	free(dirs);
}

static int
memory_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0) {
		if ((size = nbdbroker_parse_size(value)) == -1)
			return -1;
		if ((uint64_t)size > MAX_SIZE) {
			nbdbroker_error("size=%s: the memory plugin holds at "
			    "most 1P", value);
			return -1;
		}
		return 0;
	}
	nbdbroker_error("memory: unknown parameter '%s'", key);
	return -1;
}

static int
memory_config_complete(void)
{
	if (size == -1) {
		nbdbroker_error("memory: size=SIZE is required");
		return -1;
	}
	ndirs = ((uint64_t)size + (UINT64_C(1) << DIR_SHIFT) - 1) >>
	    DIR_SHIFT;
	if (ndirs == 0)
		ndirs = 1;
	if ((dirs = calloc(ndirs, sizeof(*dirs))) == NULL) {
		nbdbroker_error("calloc: %m");
		return -1;
	}
	return 0;
}

static void *
memory_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
memory_get_size(void *h)
{
	return size;
}

/* The chunk holding offset, or NULL; alloc creates it (shared lock). */
static uint8_t *
chunk_get(uint64_t offset, bool alloc)
{
	uint64_t	  d = offset >> DIR_SHIFT;
	uint64_t	  c = (offset >> CHUNK_SHIFT) & (DIR_CHUNKS - 1);
	uint8_t		**dir, *ch;

	dir = __atomic_load_n(&dirs[d], __ATOMIC_ACQUIRE);
	if (dir == NULL) {
		uint8_t	**nd;

		if (!alloc)
			return NULL;
		if ((nd = calloc(DIR_CHUNKS, sizeof(*nd))) == NULL)
			return NULL;
		if (!__atomic_compare_exchange_n(&dirs[d], &dir, nd, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			free(nd);	/* another thread won */
		else
			dir = nd;
	}
	ch = __atomic_load_n(&dir[c], __ATOMIC_ACQUIRE);
	if (ch == NULL && alloc) {
		uint8_t	*nc;

		if ((nc = calloc(1, CHUNK)) == NULL)
			return NULL;
		if (!__atomic_compare_exchange_n(&dir[c], &ch, nc, false,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			free(nc);
		else
			ch = nc;
	}
	return ch;
}

static int
memory_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	uint8_t	*p = buf;

	pthread_rwlock_rdlock(&lock);
	while (count > 0) {
		uint64_t	 in = offset & (CHUNK - 1);
		uint32_t	 n = CHUNK - in < count ? CHUNK - in : count;
		uint8_t		*ch = chunk_get(offset, false);

		if (ch != NULL)
			memcpy(p, ch + in, n);
		else
			memset(p, 0, n);
		p += n;
		offset += n;
		count -= n;
	}
	pthread_rwlock_unlock(&lock);
	return 0;
}

static int
memory_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	const uint8_t	*p = buf;
	int		 r = 0;

	pthread_rwlock_rdlock(&lock);
	while (count > 0) {
		uint64_t	 in = offset & (CHUNK - 1);
		uint32_t	 n = CHUNK - in < count ? CHUNK - in : count;
		uint8_t		*ch = chunk_get(offset, true);

		if (ch == NULL) {
			nbdbroker_error("memory: out of memory");
			nbdbroker_set_error(ENOMEM);
			r = -1;
			break;
		}
		memcpy(ch + in, p, n);
		p += n;
		offset += n;
		count -= n;
	}
	pthread_rwlock_unlock(&lock);
	return r;
}

/* Zero [offset, offset+count): whole chunks are freed. */
static int
memory_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	pthread_rwlock_wrlock(&lock);
	while (count > 0) {
		uint64_t	 in = offset & (CHUNK - 1);
		uint32_t	 n = CHUNK - in < count ? CHUNK - in : count;
		uint64_t	 d = offset >> DIR_SHIFT;
		uint64_t	 c = (offset >> CHUNK_SHIFT) & (DIR_CHUNKS - 1);

		if (dirs[d] != NULL && dirs[d][c] != NULL) {
			if (n == CHUNK) {
				free(dirs[d][c]);
				dirs[d][c] = NULL;
			} else
				memset(dirs[d][c] + in, 0, n);
		}
		offset += n;
		count -= n;
	}
	pthread_rwlock_unlock(&lock);
	return 0;
}

static int
memory_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	return memory_zero(h, count, offset, flags);
}

static int
memory_flush(void *h, uint32_t flags)
{
	return 0;
}

static int
memory_can_fua(void *h)
{
	return NBDBROKER_FUA_NATIVE;
}

static int
memory_can_multi_conn(void *h)
{
	return 1;
}

static int
memory_can_fast_zero(void *h)
{
	return 1;
}

static int
memory_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
    struct nbdbroker_extents *ext)
{
	int	r = 0;

	pthread_rwlock_rdlock(&lock);
	while (count > 0) {
		uint64_t	in = offset & (CHUNK - 1);
		uint32_t	n = CHUNK - in < count ? CHUNK - in : count;
		uint32_t	type = chunk_get(offset, false) != NULL ? 0 :
		    NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO;

		if (nbdbroker_add_extent(ext, offset, n, type) == -1) {
			r = -1;
			break;
		}
		offset += n;
		count -= n;
		if (flags & NBDBROKER_FLAG_REQ_ONE)
			break;
	}
	pthread_rwlock_unlock(&lock);
	return r;
}

static struct nbdbroker_plugin plugin = {
	.name = "memory",
	.longname = "nbdbroker sparse memory plugin",
	.version = NBDBROKER_VERSION,
	.description = "A sparse RAM disk of size=SIZE bytes.",
	.config_help = "size=SIZE  (required) size of the disk, e.g. 1G",
	.magic_config_key = "size",
	.unload = memory_unload,
	.config = memory_config,
	.config_complete = memory_config_complete,
	.open = memory_open,
	.get_size = memory_get_size,
	.pread = memory_pread,
	.pwrite = memory_pwrite,
	.zero = memory_zero,
	.trim = memory_trim,
	.flush = memory_flush,
	.can_fua = memory_can_fua,
	.can_multi_conn = memory_can_multi_conn,
	.can_fast_zero = memory_can_fast_zero,
	.extents = memory_extents,
	.errno_is_preserved = 1,
	.durability = NBDBROKER_DURABILITY_VOLATILE,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
