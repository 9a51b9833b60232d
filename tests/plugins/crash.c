/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crash: a test plugin that serves a file (so its data survives worker
 * restarts: it declares itself persistent) and misbehaves on command.
 *
 *   file=PATH                the backing file (required)
 *   mode=segv|abort|exit|hang|leak   what to do when triggered
 *                            (default segv; hang sleeps hang-ms; leak
 *                            allocates and touches leak-mb per request)
 *   offset=N                 trigger on any request covering byte N
 *   every=N                  trigger on every Nth data request of a
 *                            worker (counted per worker process)
 *   probability=P            trigger on each data request with
 *                            probability P (0 to 1)
 *   once=PATH                trigger only while PATH does not exist,
 *                            creating it first (so a replay succeeds)
 *   at=load|config_complete|get_ready|open
 *                            trigger at that start-up step instead
 *   unless=PATH              never trigger once PATH exists (the
 *                            "fixed" plugin in crash-loop tests)
 *   hang-ms=N                how long mode=hang sleeps (default 1h)
 *   leak-mb=N                how much mode=leak takes (default 64)
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static char		*path;
static const char	*mode = "segv";
static int64_t		 trig_offset = -1;
static unsigned		 every;
static double		 probability;
static char		*once_path;
static char		*unless_path;
static const char	*at;
static unsigned		 hang_ms = 3600 * 1000;
static unsigned		 leak_mb = 64;
static int		 fd = -1;
static unsigned		 nreq;

static bool
exists(const char *p)
{
	return p != NULL && access(p, F_OK) == 0;
}

/*
 * A real segmentation fault (not raise()): a write to a page mapped
 * with no access, which no compiler may optimise away or flag as
 * undefined behaviour.
 */
static void
segv(void)
{
	volatile char	*p = mmap(NULL, 4096, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	/* Die of the signal itself, even if a sanitizer runtime would
	 * catch it and exit with a status instead. */
	signal(SIGSEGV, SIG_DFL);
	p[0] = 1;
	abort();	/* not reached */
}

/* Do what mode says; returns only for leak and finite hangs. */
static void
trigger(const char *where)
{
	if (exists(unless_path))
		return;
	if (once_path != NULL) {
		int	mfd;

		if (exists(once_path))
			return;
		mfd = open(once_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (mfd != -1)
			close(mfd);
	}
	nbdbroker_debug("crash: triggering %s at %s", mode, where);
	if (strcmp(mode, "segv") == 0)
		segv();
	else if (strcmp(mode, "abort") == 0)
		abort();
	else if (strcmp(mode, "exit") == 0)
		_exit(3);
	else if (strcmp(mode, "hang") == 0) {
		struct timespec	ts = { hang_ms / 1000,
		    (hang_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	} else if (strcmp(mode, "leak") == 0) {
		size_t	n = (size_t)leak_mb << 20;
		char	*p = malloc(n);

		if (p != NULL)
			memset(p, 0xa5, n);	/* never freed */
	}
}

static void
maybe_trigger(uint64_t offset, uint32_t count)
{
	unsigned	n = __atomic_add_fetch(&nreq, 1, __ATOMIC_SEQ_CST);

	if (at != NULL)
		return;
	if (trig_offset >= 0 && (uint64_t)trig_offset >= offset &&
	    (uint64_t)trig_offset < offset + count)
		trigger("offset");
	else if (every > 0 && n % every == 0)
		trigger("every");
	else if (probability > 0 && drand48() < probability)
		trigger("probability");
}

static int
crash_config(const char *key, const char *value)
{
	if (strcmp(key, "file") == 0)
		return (path = nbdbroker_realpath(value)) ? 0 : -1;
	if (strcmp(key, "mode") == 0) {
		if (strcmp(value, "segv") && strcmp(value, "abort") &&
		    strcmp(value, "exit") && strcmp(value, "hang") &&
		    strcmp(value, "leak")) {
			nbdbroker_error("crash: unknown mode '%s'", value);
			return -1;
		}
		mode = nbdbroker_strdup_intern(value);
		return 0;
	}
	if (strcmp(key, "offset") == 0)
		return nbdbroker_parse_int64_t("offset", value, &trig_offset);
	if (strcmp(key, "every") == 0)
		return nbdbroker_parse_unsigned("every", value, &every);
	if (strcmp(key, "probability") == 0) {
		char	*end;

		probability = strtod(value, &end);
		if (*end != '\0' || probability < 0 || probability > 1) {
			nbdbroker_error("crash: probability must be 0 to 1");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "once") == 0)
		return (once_path = strdup(value)) ? 0 : -1;
	if (strcmp(key, "unless") == 0)
		return (unless_path = strdup(value)) ? 0 : -1;
	if (strcmp(key, "at") == 0) {
		at = nbdbroker_strdup_intern(value);
		return 0;
	}
	if (strcmp(key, "hang-ms") == 0)
		return nbdbroker_parse_unsigned("hang-ms", value, &hang_ms);
	if (strcmp(key, "leak-mb") == 0)
		return nbdbroker_parse_unsigned("leak-mb", value, &leak_mb);
	nbdbroker_error("crash: unknown parameter '%s'", key);
	return -1;
}

static int
crash_config_complete(void)
{
	if (path == NULL) {
		nbdbroker_error("crash: file=PATH is required");
		return -1;
	}
	srand48(getpid() ^ time(NULL));
	if (at != NULL && strcmp(at, "config_complete") == 0)
		trigger("config_complete");
	return 0;
}

static void
crash_load(void)
{
	/* Parameters are not known yet: "at=load" is read from the env. */
	const char	*e = getenv("CRASH_PLUGIN_AT_LOAD");

	if (e != NULL && !exists(e))
		abort();
}

static int
crash_get_ready(void)
{
	if (at != NULL && strcmp(at, "get_ready") == 0)
		trigger("get_ready");
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
		nbdbroker_error("crash: open %s: %m", path);
		return -1;
	}
	return 0;
}

static void
crash_unload(void)
{
	if (fd != -1)
		close(fd);
	free(path);
	free(once_path);
	free(unless_path);
}

static void *
crash_open(int readonly)
{
	if (at != NULL && strcmp(at, "open") == 0)
		trigger("open");
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
crash_get_size(void *h)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		nbdbroker_error("crash: fstat: %m");
		return -1;
	}
	return st.st_size;
}

static int
crash_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	maybe_trigger(offset, count);
	if (pread(fd, buf, count, offset) != (ssize_t)count) {
		nbdbroker_error("crash: pread: %m");
		return -1;
	}
	return 0;
}

static int
crash_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	maybe_trigger(offset, count);
	if (pwrite(fd, buf, count, offset) != (ssize_t)count) {
		nbdbroker_error("crash: pwrite: %m");
		return -1;
	}
	if ((flags & NBDBROKER_FLAG_FUA) && fdatasync(fd) == -1)
		return -1;
	return 0;
}

static int
crash_flush(void *h, uint32_t flags)
{
	return fdatasync(fd);
}

static int
crash_can_fua(void *h)
{
	return NBDBROKER_FUA_NATIVE;
}

static int
crash_can_multi_conn(void *h)
{
	return 1;
}

static struct nbdbroker_plugin plugin = {
	.name = "crash",
	.version = NBDBROKER_VERSION,
	.description = "A file-backed test plugin that crashes on command.",
	.load = crash_load,
	.unload = crash_unload,
	.config = crash_config,
	.config_complete = crash_config_complete,
	.get_ready = crash_get_ready,
	.open = crash_open,
	.get_size = crash_get_size,
	.pread = crash_pread,
	.pwrite = crash_pwrite,
	.flush = crash_flush,
	.can_fua = crash_can_fua,
	.can_multi_conn = crash_can_multi_conn,
	.errno_is_preserved = 1,
	.durability = NBDBROKER_DURABILITY_PERSISTENT,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
