/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test plugin built against nbdkit's installed <nbdkit-plugin.h>
 * that uses the callbacks and helpers the worker must provide and
 * reports what it saw in the first bytes of the disk, one "key=value"
 * per line, so a test reads them back through a real client:
 *
 *   export, script (nbdkit's bare-first-parameter rule), scale (the
 *   -D api.scale=N debug flag) and load_scale (its value in .load),
 *   ready, forked (get_ready then after_fork), preconnects, tls,
 *   uid, pid, family (of nbdkit_peer_name), sleep (nbdkit_nanosleep)
 *
 * Exports "a" (the default, 1M * scale) and "b" (2M * scale), each
 * with a description; any other name is refused with ENOENT.  Every
 * write fails with errno ENOSPC, left in errno (errno_is_preserved).
 * .thread_model asks for serialize_requests; .cleanup writes
 * cleanup=PATH; .dump_plugin prints api_dump=yes.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#define THREAD_MODEL	NBDKIT_THREAD_MODEL_PARALLEL

NBDKIT_DLL_PUBLIC int	api_debug_scale = 1;

static int		 load_scale;
static const char	*script = "";
static const char	*cleanup_path;
static int		 ready, forked;
static unsigned		 preconnects;

struct api_handle {
	const char	*name;		/* interned */
	int64_t		 size;
};

static void
api_load(void)
{
	load_scale = api_debug_scale;
}

static int
api_config(const char *key, const char *value)
{
	if (strcmp(key, "script") == 0) {
		script = value;		/* kept: valid while loaded */
		return 0;
	}
	if (strcmp(key, "cleanup") == 0) {
		cleanup_path = value;
		return 0;
	}
	nbdkit_error("api: unknown parameter '%s'", key);
	return -1;
}

static int
api_thread_model(void)
{
	return NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS;
}

static int
api_get_ready(void)
{
	ready = 1;
	return 0;
}

static int
api_after_fork(void)
{
	forked = ready ? 1 : -1;
	return 0;
}

static void
api_cleanup(void)
{
	int	fd;

	if (cleanup_path == NULL)
		return;
	fd = open(cleanup_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (fd != -1) {
		if (write(fd, "cleanup\n", 8) != 8)
			nbdkit_error("api: write: %m");
		close(fd);
	}
}

static void
api_dump_plugin(void)
{
	printf("api_dump=yes\n");
}

static int
api_preconnect(int readonly)
{
	__atomic_add_fetch(&preconnects, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int
api_list_exports(int readonly, int is_tls, struct nbdkit_exports *exports)
{
	if (nbdkit_add_export(exports, "a", "export a") == -1 ||
	    nbdkit_add_export(exports, "b", NULL) == -1)
		return -1;
	return 0;
}

static const char *
api_default_export(int readonly, int is_tls)
{
	return "a";
}

static void *
api_open(int readonly)
{
	const char		*name = nbdkit_export_name();
	struct api_handle	*h;

	if (name == NULL)
		return NULL;
	if (strcmp(name, "a") != 0 && strcmp(name, "b") != 0) {
		nbdkit_error("api: no export '%s'", name);
		nbdkit_set_error(ENOENT);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		nbdkit_error("calloc: %m");
		return NULL;
	}
	h->name = nbdkit_strdup_intern(name);
	h->size = (name[0] == 'a' ? 1 : 2) * 1024 * 1024 *
	    (int64_t)api_debug_scale;
	return h;
}

static void
api_close(void *handle)
{
	free(handle);
}

static const char *
api_export_description(void *handle)
{
	struct api_handle	*h = handle;

	return nbdkit_printf_intern("description of %s", h->name);
}

static int64_t
api_get_size(void *handle)
{
	struct api_handle	*h = handle;

	return h->size;
}

static int
api_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
    uint32_t *maximum)
{
	*minimum = 512;
	*preferred = 4096;
	*maximum = 1024 * 1024;
	return 0;
}

static int
api_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	struct api_handle	*h = handle;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 info[1024];
	int			 n, family = -1, slept;

	memset(buf, 0, count);
	if (offset >= sizeof(info))
		return 0;
	if (nbdkit_peer_name((struct sockaddr *)&ss, &sslen) == 0)
		family = ss.ss_family;
	slept = nbdkit_nanosleep(0, 1000) == 0;
	n = snprintf(info, sizeof(info),
	    "export=%s\nscript=%s\nscale=%d\nload_scale=%d\nready=%d\n"
	    "forked=%d\npreconnects=%u\ntls=%d\nuid=%" PRId64 "\n"
	    "pid=%" PRId64 "\nfamily=%d\nsleep=%d\n",
	    h->name, script, api_debug_scale, load_scale, ready, forked,
	    __atomic_load_n(&preconnects, __ATOMIC_SEQ_CST), nbdkit_is_tls(),
	    nbdkit_peer_uid(), nbdkit_peer_pid(), family, slept);
	if (n > 0 && offset < (uint64_t)n)
		memcpy(buf, info + offset, (uint64_t)n - offset < count ?
		    (uint64_t)n - offset : count);
	return 0;
}

static int
api_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	errno = ENOSPC;
	return -1;
}

static struct nbdkit_plugin plugin = {
	.name = "api",
	.version = "1.0",
	.load = api_load,
	.config = api_config,
	.thread_model = api_thread_model,
	.get_ready = api_get_ready,
	.after_fork = api_after_fork,
	.cleanup = api_cleanup,
	.dump_plugin = api_dump_plugin,
	.preconnect = api_preconnect,
	.list_exports = api_list_exports,
	.default_export = api_default_export,
	.open = api_open,
	.close = api_close,
	.export_description = api_export_description,
	.get_size = api_get_size,
	.block_size = api_block_size,
	.pread = api_pread,
	.pwrite = api_pwrite,
	.errno_is_preserved = 1,
};

NBDKIT_REGISTER_PLUGIN(plugin)
