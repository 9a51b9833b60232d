/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test plugin built against nbdkit's installed <nbdkit-plugin.h>
 * that crashes once: it serves nbdkit's pattern (each 8-byte word is
 * its own offset, big-endian) and segfaults on the crash-at=N'th pread
 * of its process, unless the marker=PATH file exists, which it creates
 * just before crashing.  The worker that replaces it therefore serves
 * the same bytes without crashing again: a client should see no error.
 */
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#define THREAD_MODEL	NBDKIT_THREAD_MODEL_PARALLEL

static int64_t		 size = 16 * 1024 * 1024;
static const char	*marker;
static unsigned		 crash_at = 1;
static unsigned		 preads;

static int
crash_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0)
		return (size = nbdkit_parse_size(value)) == -1 ? -1 : 0;
	if (strcmp(key, "marker") == 0) {
		marker = value;		/* valid while the plugin is loaded */
		return 0;
	}
	if (strcmp(key, "crash-at") == 0)
		return nbdkit_parse_unsigned("crash-at", value, &crash_at);
	nbdkit_error("crash: unknown parameter '%s'", key);
	return -1;
}

static int
crash_config_complete(void)
{
	if (marker == NULL) {
		nbdkit_error("crash: marker=PATH is required");
		return -1;
	}
	return 0;
}

static void *
crash_open(int readonly)
{
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t
crash_get_size(void *h)
{
	return size;
}

/* A null pointer the compiler cannot see through. */
static int *volatile	 null;

static void
crash_now(void)
{
	int	fd;

	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return;		/* crashed before: serve normally */
	close(fd);
	nbdkit_debug("crash: crashing on purpose");
	/* Die of the signal even under a sanitizer's SEGV handler. */
	signal(SIGSEGV, SIG_DFL);
	*null = 1;
}

static int
crash_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	uint8_t		*p = buf;
	uint64_t	 i;

	if (__atomic_add_fetch(&preads, 1, __ATOMIC_SEQ_CST) == crash_at)
		crash_now();
	for (i = offset; i < offset + count; i++)
		p[i - offset] = (uint8_t)((i & ~UINT64_C(7)) >> (56 - 8 *
		    (i & 7)));
	return 0;
}

static struct nbdkit_plugin plugin = {
	.name = "crash",
	.config = crash_config,
	.config_complete = crash_config_complete,
	.open = crash_open,
	.get_size = crash_get_size,
	.pread = crash_pread,
};

NBDKIT_REGISTER_PLUGIN(plugin)
