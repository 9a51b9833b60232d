/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * file: serve a regular file or a block device.  file=PATH (or a bare
 * PATH).
 *
 * FUA and flush are fdatasync; trim punches holes; zeroing uses
 * FALLOC_FL_ZERO_RANGE (or punches a hole when trimming is allowed)
 * and says ENOTSUP otherwise, so the worker falls back to writing
 * zeroes unless the client asked for a fast zero.  Extents come from
 * SEEK_DATA/SEEK_HOLE.  Every connection opens the file afresh, so
 * changes made to it outside nbdbroker are seen by new reads.
 *
 * Data lives in the file, so a worker restart loses nothing that was
 * acknowledged: the plugin is persistent.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static char	*filename;
static int	 file_fd = -1;	/* opened in get_ready */
static bool	 file_rw;	/* file_fd is open for writing */

struct handle {
	int	fd;		/* a duplicate of file_fd */
	bool	readonly;
	bool	is_block;
	bool	can_punch;	/* cleared after EOPNOTSUPP */
	bool	can_zero_range;
	bool	can_seek;	/* SEEK_DATA/SEEK_HOLE work */
};

static void
file_unload(void)
{
	if (file_fd != -1)
		close(file_fd);
	free(filename);
}

static int
file_config(const char *key, const char *value)
{
	if (strcmp(key, "file") == 0) {
		free(filename);
		if ((filename = nbdbroker_realpath(value)) == NULL)
			return -1;
		return 0;
	}
	nbdbroker_error("file: unknown parameter '%s'", key);
	return -1;
}

static int
file_config_complete(void)
{
	struct stat	st;

	if (filename == NULL) {
		nbdbroker_error("file: file=PATH is required");
		return -1;
	}
	if (stat(filename, &st) == -1) {
		nbdbroker_error("file: %s: %m", filename);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		nbdbroker_error("file: %s is not a regular file or a block "
		    "device", filename);
		return -1;
	}
	return 0;
}

/*
 * Open the file before the sandbox closes: for writing if it can be,
 * read-only under -r, so that no descriptor in the worker can write it.
 */
static int
file_get_ready(void)
{
	if (!nbdbroker_read_only()) {
		file_fd = open(filename, O_RDWR | O_CLOEXEC);
		file_rw = file_fd != -1;
		if (file_fd == -1 && errno != EACCES && errno != EROFS &&
		    errno != EPERM) {
			nbdbroker_error("file: open %s: %m", filename);
			return -1;
		}
		if (file_fd == -1)
			nbdbroker_debug("file: %s is not writable, serving "
			    "read-only", filename);
	}
	if (file_fd == -1 &&
	    (file_fd = open(filename, O_RDONLY | O_CLOEXEC)) == -1) {
		nbdbroker_error("file: open %s: %m", filename);
		return -1;
	}
	return 0;
}

static void *
file_open(int readonly)
{
	struct handle	*h;
	struct stat	 st;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		nbdbroker_error("calloc: %m");
		return NULL;
	}
	h->fd = fcntl(file_fd, F_DUPFD_CLOEXEC, 0);
	if (h->fd == -1) {
		nbdbroker_error("file: dup %s: %m", filename);
		free(h);
		return NULL;
	}
	h->readonly = readonly || !file_rw;
	if (fstat(h->fd, &st) == 0)
		h->is_block = S_ISBLK(st.st_mode);
	h->can_punch = h->can_zero_range = h->can_seek = true;
	return h;
}

static void
file_close(void *hv)
{
	struct handle	*h = hv;

	close(h->fd);
	free(h);
}

static int64_t
file_get_size(void *hv)
{
	struct handle	*h = hv;
	struct stat	 st;
	uint64_t	 sz;

	if (h->is_block) {
		if (ioctl(h->fd, BLKGETSIZE64, &sz) == -1) {
			nbdbroker_error("file: BLKGETSIZE64: %m");
			return -1;
		}
		return sz;
	}
	if (fstat(h->fd, &st) == -1) {
		nbdbroker_error("file: fstat: %m");
		return -1;
	}
	return st.st_size;
}

static int
file_can_write(void *hv)
{
	struct handle	*h = hv;

	return !h->readonly;
}

static int
file_can_fua(void *h)
{
	return NBDBROKER_FUA_NATIVE;
}

static int
file_can_multi_conn(void *h)
{
	return 1;	/* fdatasync flushes the shared file for everyone */
}

static int
file_can_cache(void *h)
{
	return NBDBROKER_CACHE_NATIVE;
}

static int
file_pread(void *hv, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	struct handle	*h = hv;
	uint8_t		*p = buf;

	while (count > 0) {
		ssize_t	r = pread(h->fd, p, count, offset);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			nbdbroker_error("file: pread: %m");
			return -1;
		}
		if (r == 0) {
			/* The file shrank under us: the rest reads as zero. */
			memset(p, 0, count);
			return 0;
		}
		p += r;
		offset += r;
		count -= r;
	}
	return 0;
}

static int
do_sync(struct handle *h)
{
	if (fdatasync(h->fd) == -1) {
		nbdbroker_error("file: fdatasync: %m");
		return -1;
	}
	return 0;
}

static int
file_pwrite(void *hv, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	struct handle	*h = hv;
	const uint8_t	*p = buf;

	while (count > 0) {
		ssize_t	r = pwrite(h->fd, p, count, offset);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			nbdbroker_error("file: pwrite: %m");
			return -1;
		}
		p += r;
		offset += r;
		count -= r;
	}
	if (flags & NBDBROKER_FLAG_FUA)
		return do_sync(h);
	return 0;
}

static int
file_flush(void *hv, uint32_t flags)
{
	return do_sync(hv);
}

static bool
unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOSYS || e == ENOTTY;
}

static int
file_trim(void *hv, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct handle	*h = hv;

	if (h->can_punch && !h->is_block) {
		if (fallocate(h->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, offset, count) == 0)
			goto done;
		if (!unsupported(errno)) {
			nbdbroker_error("file: punch hole: %m");
			return -1;
		}
		h->can_punch = false;
	}
	/* Trim is advisory: doing nothing is correct. */
 done:
	if (flags & NBDBROKER_FLAG_FUA)
		return do_sync(h);
	return 0;
}

static int
file_zero(void *hv, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct handle	*h = hv;

	if (h->is_block) {
		uint64_t	range[2] = { offset, count };

		if (ioctl(h->fd, BLKZEROOUT, range) == 0)
			goto done;
		if (!unsupported(errno)) {
			nbdbroker_error("file: BLKZEROOUT: %m");
			return -1;
		}
		goto notsup;
	}
	if ((flags & NBDBROKER_FLAG_MAY_TRIM) && h->can_punch) {
		if (fallocate(h->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, offset, count) == 0)
			goto done;
		if (!unsupported(errno)) {
			nbdbroker_error("file: punch hole: %m");
			return -1;
		}
		h->can_punch = false;
	}
	if (h->can_zero_range) {
		if (fallocate(h->fd, FALLOC_FL_ZERO_RANGE |
		    FALLOC_FL_KEEP_SIZE, offset, count) == 0)
			goto done;
		if (!unsupported(errno)) {
			nbdbroker_error("file: zero range: %m");
			return -1;
		}
		h->can_zero_range = false;
	}
 notsup:
	/* The worker writes zeroes instead, unless FAST_ZERO was asked. */
	nbdbroker_set_error(ENOTSUP);
	return -1;
 done:
	if (flags & NBDBROKER_FLAG_FUA)
		return do_sync(h);
	return 0;
}

static int
file_can_fast_zero(void *hv)
{
	struct handle	*h = hv;

	return !h->is_block;	/* fallocate is fast where it works */
}

static int
file_cache(void *hv, uint32_t count, uint64_t offset, uint32_t flags)
{
	struct handle	*h = hv;
	int		 e;

	if ((e = posix_fadvise(h->fd, offset, count,
	    POSIX_FADV_WILLNEED)) != 0) {
		nbdbroker_set_error(e);
		nbdbroker_error("file: posix_fadvise: %s", strerror(e));
		return -1;
	}
	return 0;
}

static int
file_can_extents(void *hv)
{
	struct handle	*h = hv;

	if (h->is_block)
		return 0;
	/* Probe once: some filesystems do not support SEEK_DATA. */
	if (lseek(h->fd, 0, SEEK_DATA) == -1 && errno != ENXIO)
		h->can_seek = false;
	return h->can_seek;
}

static int
file_extents(void *hv, uint32_t count, uint64_t offset, uint32_t flags,
    struct nbdbroker_extents *ext)
{
	struct handle	*h = hv;
	uint64_t	 end = offset + count;

	while (offset < end) {
		off_t	data, hole;

		data = lseek(h->fd, offset, SEEK_DATA);
		if (data == -1 && errno == ENXIO) {
			/* A hole up to the end of the file. */
			return nbdbroker_add_extent(ext, offset, end - offset,
			    NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO);
		}
		if (data == -1) {
			nbdbroker_error("file: SEEK_DATA: %m");
			return -1;
		}
		if ((uint64_t)data > offset) {
			uint64_t	len = (uint64_t)data - offset;

			if (len > end - offset)
				len = end - offset;
			if (nbdbroker_add_extent(ext, offset, len,
			    NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO) == -1)
				return -1;
			offset += len;
			if (flags & NBDBROKER_FLAG_REQ_ONE)
				return 0;
			continue;
		}
		hole = lseek(h->fd, offset, SEEK_HOLE);
		if (hole == -1) {
			nbdbroker_error("file: SEEK_HOLE: %m");
			return -1;
		}
		{
			uint64_t	len = (uint64_t)hole - offset;

			if (len > end - offset)
				len = end - offset;
			if (len == 0)
				len = end - offset;
			if (nbdbroker_add_extent(ext, offset, len, 0) == -1)
				return -1;
			offset += len;
		}
		if (flags & NBDBROKER_FLAG_REQ_ONE)
			return 0;
	}
	return 0;
}

static struct nbdbroker_plugin plugin = {
	.name = "file",
	.longname = "nbdbroker file plugin",
	.version = NBDBROKER_VERSION,
	.description = "Serve a file or block device.",
	.config_help = "file=PATH  (required) the file or block device",
	.magic_config_key = "file",
	.unload = file_unload,
	.config = file_config,
	.config_complete = file_config_complete,
	.get_ready = file_get_ready,
	.open = file_open,
	.close = file_close,
	.get_size = file_get_size,
	.can_write = file_can_write,
	.can_fua = file_can_fua,
	.can_multi_conn = file_can_multi_conn,
	.can_cache = file_can_cache,
	.can_fast_zero = file_can_fast_zero,
	.can_extents = file_can_extents,
	.pread = file_pread,
	.pwrite = file_pwrite,
	.flush = file_flush,
	.trim = file_trim,
	.zero = file_zero,
	.cache = file_cache,
	.extents = file_extents,
	.errno_is_preserved = 1,
	.durability = NBDBROKER_DURABILITY_PERSISTENT,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
