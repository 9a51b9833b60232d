/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test plugin for --learn-policy (test-learn-*.sh): a disk kept in a
 * temporary file, with threads, as real plugins have them.
 *
 *   dir=DIR      where each connection makes its scratch file
 *                (mkstemp, unlinked at once; required)
 *   conf=FILE    read once at config (its first line is the size in
 *                bytes; optional, default 1M)
 *
 * Every write is made by a thread of the plugin's own, started for it
 * and joined.  So learning must see a start-up read (conf), a
 * directory written while serving (dir) and threads.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static char	*dir;
static int64_t	 size = 1024 * 1024;

struct scratch {
	int	fd;
};

/* One pwrite, made by a thread of its own. */
struct job {
	int		 fd;
	const void	*buf;
	uint32_t	 count;
	uint64_t	 offset;
	int		 err;
};

static int
scratch_config(const char *key, const char *value)
{
	FILE	*fp;
	char	 line[64];

	if (strcmp(key, "dir") == 0) {
		free(dir);
		dir = strdup(value);
		return dir ? 0 : -1;
	}
	if (strcmp(key, "conf") == 0) {
		if ((fp = fopen(value, "r")) == NULL) {
			nbdbroker_error("conf: %s: %s", value,
			    strerror(errno));
			return -1;
		}
		if (fgets(line, sizeof(line), fp) != NULL)
			size = strtoll(line, NULL, 10);
		fclose(fp);
		return size > 0 ? 0 : -1;
	}
	nbdbroker_error("unknown parameter '%s'", key);
	return -1;
}

static int
scratch_config_complete(void)
{
	if (dir == NULL) {
		nbdbroker_error("dir= is required");
		return -1;
	}
	return 0;
}

static void *
scratch_open(int readonly)
{
	struct scratch	*h;
	char		 path[4096];

	(void)readonly;
	snprintf(path, sizeof(path), "%s/scratch.XXXXXX", dir);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->fd = mkstemp(path)) == -1) {
		nbdbroker_error("mkstemp %s: %s", path, strerror(errno));
		free(h);
		return NULL;
	}
	unlink(path);
	if (ftruncate(h->fd, size) == -1) {
		nbdbroker_error("ftruncate: %s", strerror(errno));
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

static void
scratch_close(void *handle)
{
	struct scratch	*h = handle;

	close(h->fd);
	free(h);
}

static int64_t
scratch_get_size(void *handle)
{
	(void)handle;
	return size;
}

static int
scratch_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	struct scratch	*h = handle;

	(void)flags;
	if (pread(h->fd, buf, count, offset) != (ssize_t)count) {
		nbdbroker_error("pread: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void *
job_run(void *arg)
{
	struct job	*j = arg;

	if (pwrite(j->fd, j->buf, j->count, j->offset) != (ssize_t)j->count)
		j->err = errno ? errno : EIO;
	return NULL;
}

static int
scratch_pwrite(void *handle, const void *buf, uint32_t count,
    uint64_t offset, uint32_t flags)
{
	struct scratch	*h = handle;
	struct job	 j = { h->fd, buf, count, offset, 0 };
	pthread_t	 t;
	int		 r;

	(void)flags;
	if ((r = pthread_create(&t, NULL, job_run, &j)) != 0) {
		nbdbroker_error("pthread_create: %s", strerror(r));
		return -1;
	}
	pthread_join(t, NULL);
	if (j.err != 0) {
		nbdbroker_error("pwrite: %s", strerror(j.err));
		return -1;
	}
	return 0;
}

static struct nbdbroker_plugin	plugin = {
	.name = "scratch",
	.magic_config_key = "dir",
	.config = scratch_config,
	.config_complete = scratch_config_complete,
	.open = scratch_open,
	.close = scratch_close,
	.get_size = scratch_get_size,
	.pread = scratch_pread,
	.pwrite = scratch_pwrite,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
