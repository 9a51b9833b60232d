/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reload: a test plugin built several times from this one source, so
 * that test-reload-*.sh can install a new build over the path the
 * broker loads and send SIGHUP.  A disk kept in a file.
 *
 *   file=PATH      the disk (required; magic key), opened in get_ready
 *                  so that a policy that does not allow it fails the
 *                  worker's start
 *
 * Build macros:
 *   RELOAD_VERSION "X"   the version the plugin reports (Ready, and
 *                        every export's description: "reload X")
 *   RELOAD_SIZE_DELTA N  report the file's size plus N bytes
 *   RELOAD_NO_TRIM       no trim (one capability fewer)
 *   RELOAD_FAIL_CONFIG   fail in config_complete
 *
 * Test code only; never shipped.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

#ifndef RELOAD_VERSION
#define RELOAD_VERSION	"0"
#endif
#ifndef RELOAD_SIZE_DELTA
#define RELOAD_SIZE_DELTA	0
#endif

static const char	*path;
static int		 fd = -1;

static int
reload_config(const char *key, const char *value)
{
	if (strcmp(key, "file") != 0) {
		nbdbroker_error("reload: unknown parameter '%s'", key);
		return -1;
	}
	path = nbdbroker_strdup_intern(value);
	return path == NULL ? -1 : 0;
}

static int
reload_config_complete(void)
{
#ifdef RELOAD_FAIL_CONFIG
	nbdbroker_error("reload %s: this build fails its configuration",
	    RELOAD_VERSION);
	return -1;
#else
	if (path == NULL) {
		nbdbroker_error("reload: file=PATH is required");
		return -1;
	}
	return 0;
#endif
}

static int
reload_get_ready(void)
{
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		nbdbroker_error("reload: %s: %m", path);
		return -1;
	}
	return 0;
}

static void *
reload_open(int readonly)
{
	(void)readonly;
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static const char *
reload_export_description(void *h)
{
	(void)h;
	return "reload " RELOAD_VERSION;
}

static int64_t
reload_get_size(void *h)
{
	struct stat	st;

	(void)h;
	if (fstat(fd, &st) == -1) {
		nbdbroker_error("reload: fstat: %m");
		return -1;
	}
	return st.st_size + RELOAD_SIZE_DELTA;
}

static int
reload_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	ssize_t	n;

	(void)h;
	(void)flags;
	while (count > 0) {
		if ((n = pread(fd, buf, count, offset)) == -1) {
			nbdbroker_error("reload: pread: %m");
			return -1;
		}
		if (n == 0) {	/* past the file's end (RELOAD_SIZE_DELTA) */
			memset(buf, 0, count);
			n = count;
		}
		buf = (char *)buf + n;
		count -= n;
		offset += n;
	}
	return 0;
}

static int
reload_flush(void *h, uint32_t flags)
{
	(void)h;
	(void)flags;
	if (fdatasync(fd) == -1) {
		nbdbroker_error("reload: fdatasync: %m");
		return -1;
	}
	return 0;
}

static int
reload_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	ssize_t	n;

	(void)h;
	while (count > 0) {
		if ((n = pwrite(fd, buf, count, offset)) == -1) {
			nbdbroker_error("reload: pwrite: %m");
			return -1;
		}
		buf = (const char *)buf + n;
		count -= n;
		offset += n;
	}
	if (flags & NBDBROKER_FLAG_FUA)
		return reload_flush(h, 0);
	return 0;
}

#ifndef RELOAD_NO_TRIM
/* Trimming is advisory: the data may stay. */
static int
reload_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)count;
	(void)offset;
	(void)flags;
	return 0;
}
#endif

static struct nbdbroker_plugin	plugin = {
	.name = "reload",
	.version = RELOAD_VERSION,
	.magic_config_key = "file",
	.config = reload_config,
	.config_complete = reload_config_complete,
	.get_ready = reload_get_ready,
	.open = reload_open,
	.export_description = reload_export_description,
	.get_size = reload_get_size,
	.pread = reload_pread,
	.pwrite = reload_pwrite,
	.flush = reload_flush,
#ifndef RELOAD_NO_TRIM
	.trim = reload_trim,
#endif
	.durability = NBDBROKER_DURABILITY_PERSISTENT,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
