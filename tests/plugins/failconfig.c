/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * failconfig: a test plugin that fails during start-up, at the step
 * the command line names, so tests can check that every start-up
 * failure ends the broker with the plugin's reason and a non-zero
 * exit status.
 *
 *   fail-at=config|config_complete|get_ready   where to fail
 *                                   (default config_complete)
 *   quiet=BOOL     fail without an error message, so the worker's
 *                  own fallback message must name the step (give it
 *                  before fail-at=config)
 *   any other key  refused as unknown
 *
 * Test code only; never shipped.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#define THREAD_MODEL	NBDBROKER_THREAD_MODEL_PARALLEL

static const char	*fail_at = "config_complete";
static int		 quiet;

/* Fail (return -1) if stage is the one asked for. */
static int
failconfig_maybe_fail(const char *stage)
{
	if (strcmp(fail_at, stage) != 0)
		return 0;
	if (!quiet)
		nbdbroker_error("failconfig: failing in %s as asked", stage);
	return -1;
}

static int
failconfig_config(const char *key, const char *value)
{
	static const char *const stages[] = {
		"config", "config_complete", "get_ready",
	};
	size_t	i;

	if (strcmp(key, "fail-at") == 0) {
		for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
			if (strcmp(value, stages[i]) == 0)
				break;
		if (i == sizeof(stages) / sizeof(stages[0])) {
			nbdbroker_error("failconfig: fail-at=%s: config, "
			    "config_complete or get_ready", value);
			return -1;
		}
		fail_at = stages[i];
		/* fail-at=config fails right here. */
		return failconfig_maybe_fail("config");
	}
	if (strcmp(key, "quiet") == 0)
		return (quiet = nbdbroker_parse_bool(value)) == -1 ? -1 : 0;
	nbdbroker_error("failconfig: unknown parameter '%s'", key);
	return -1;
}

static int
failconfig_config_complete(void)
{
	return failconfig_maybe_fail("config_complete");
}

static int
failconfig_get_ready(void)
{
	return failconfig_maybe_fail("get_ready");
}

static void *
failconfig_open(int readonly)
{
	return NBDBROKER_HANDLE_NOT_NEEDED;
}

static int64_t
failconfig_get_size(void *h)
{
	return 1024 * 1024;
}

static int
failconfig_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static struct nbdbroker_plugin	plugin = {
	.name = "failconfig",
	.config = failconfig_config,
	.config_complete = failconfig_config_complete,
	.get_ready = failconfig_get_ready,
	.open = failconfig_open,
	.get_size = failconfig_get_size,
	.pread = failconfig_pread,
};

NBDBROKER_REGISTER_PLUGIN(plugin)
