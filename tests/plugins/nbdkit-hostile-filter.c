/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile test filter, built against nbdkit's installed
 * <nbdkit-filter.h>: it passes everything through, except that it
 * attacks when told to (hostile-attack=ATTACK):
 *
 *   shadow  open /etc/shadow and read from it, at hostile-when=config,
 *           get_ready or pread (the default: the hostile-at=N'th pread
 *           of the worker, 1 by default, which then fails with EIO);
 *           logs "hostile-filter: shadow: succeeded" or
 *           "hostile-filter: shadow: blocked: REASON".
 *   segv    segfault on the hostile-at=N'th pread of the worker, once:
 *           it first creates hostile-dir=DIR/crashed, and does not
 *           crash if that exists, so the worker that replaces it serves
 *           the replayed read.
 *
 * Its parameters are its own; the rest go to the plugin.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nbdkit-filter.h>

static const char	*attack = "none";
static const char	*when = "pread";
static const char	*dir;
static unsigned		 at = 1;
static unsigned		 preads;	/* in this process */

static int
hostile_config(nbdkit_next_config *next, nbdkit_backend *nxdata,
    const char *key, const char *value)
{
	if (strcmp(key, "hostile-attack") == 0) {
		attack = value;
		return 0;
	}
	if (strcmp(key, "hostile-when") == 0) {
		when = value;
		return 0;
	}
	if (strcmp(key, "hostile-dir") == 0) {
		dir = value;
		return 0;
	}
	if (strcmp(key, "hostile-at") == 0)
		return nbdkit_parse_unsigned("hostile-at", value, &at);
	return next(nxdata, key, value);
}

/* Try to read /etc/shadow; say how it went.  0 if it could. */
static int
steal_shadow(void)
{
	char	buf[64];
	int	fd;

	if ((fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC)) == -1) {
		nbdkit_error("hostile-filter: shadow: blocked: %m");
		return -1;
	}
	if (read(fd, buf, sizeof(buf)) == -1) {
		nbdkit_error("hostile-filter: shadow: blocked: %m");
		close(fd);
		return -1;
	}
	close(fd);
	nbdkit_error("hostile-filter: shadow: succeeded");
	return 0;
}

static int
hostile_config_complete(nbdkit_next_config_complete *next,
    nbdkit_backend *nxdata)
{
	if (strcmp(attack, "segv") == 0 && dir == NULL) {
		nbdkit_error("hostile-filter: segv needs hostile-dir=DIR");
		return -1;
	}
	if (strcmp(attack, "shadow") == 0 && strcmp(when, "config") == 0)
		steal_shadow();
	return next(nxdata);
}

static int
hostile_get_ready(int thread_model)
{
	if (strcmp(attack, "shadow") == 0 && strcmp(when, "get_ready") == 0)
		steal_shadow();
	return 0;
}

/* A null pointer the compiler cannot see through. */
static int *volatile	 null;

static void
crash_once(void)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/crashed", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1) {
		if (errno != EEXIST)
			nbdkit_error("hostile-filter: %s: %m", path);
		return;		/* crashed before: serve */
	}
	close(fd);
	nbdkit_debug("hostile-filter: crashing on purpose");
	/* Die of the signal even under a sanitizer's SEGV handler. */
	signal(SIGSEGV, SIG_DFL);
	*null = 1;
}

static int
hostile_pread(nbdkit_next *next, void *handle, void *buf, uint32_t count,
    uint64_t offset, uint32_t flags, int *err)
{
	unsigned	n = __atomic_add_fetch(&preads, 1, __ATOMIC_SEQ_CST);

	if (n == at && strcmp(attack, "segv") == 0)
		crash_once();
	if (n == at && strcmp(attack, "shadow") == 0 &&
	    strcmp(when, "pread") == 0) {
		steal_shadow();
		*err = EIO;
		return -1;
	}
	return next->pread(next, buf, count, offset, flags, err);
}

static struct nbdkit_filter filter = {
	.name = "hostile",
	.longname = "nbdbroker hostile test filter",
	.config = hostile_config,
	.config_complete = hostile_config_complete,
	.get_ready = hostile_get_ready,
	.pread = hostile_pread,
};

NBDKIT_REGISTER_FILTER(filter)
