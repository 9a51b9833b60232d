/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test plugin built against nbdkit's installed <nbdkit-plugin.h>
 * that exercises the nbdkit_parse_* helpers.  Each KEY=VALUE names a
 * parser (size, bool, int, unsigned, int8_t ... uint64_t, password)
 * and the string to parse; the plugin logs one line per call with the result,
 * so the same command line can be run under nbdkit and nbdbroker and
 * the messages compared.  config_complete always fails ("parse: done")
 * so the server exits once everything has been parsed.
 */
#include <config.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#define THREAD_MODEL	NBDKIT_THREAD_MODEL_SERIALIZE_ALL_REQUESTS

#define SENTINEL	99	/* fits every type; must survive errors */

#define TRY(type, fn, fmt, cast)					\
	do {								\
		type	v = SENTINEL;					\
									\
		if (fn(key, value, &v) == -1)				\
			nbdkit_error("fail %s(%s) r=%s", key, value,	\
			    v == SENTINEL ? "unchanged" : "changed");	\
		else							\
			nbdkit_error("ok %s(%s) = %" fmt, key, value,	\
			    (cast)v);					\
		return 0;						\
	} while (0)

static int
parse_config(const char *key, const char *value)
{
	if (strcmp(key, "size") == 0) {
		int64_t	r = nbdkit_parse_size(value);

		if (r == -1)
			nbdkit_error("fail size(%s)", value);
		else
			nbdkit_error("ok size(%s) = %" PRId64, value, r);
		return 0;
	}
	if (strcmp(key, "bool") == 0) {
		int	r = nbdkit_parse_bool(value);

		if (r == -1)
			nbdkit_error("fail bool(%s)", value);
		else
			nbdkit_error("ok bool(%s) = %d", value, r);
		return 0;
	}
	if (strcmp(key, "password") == 0) {
		char	*pw = NULL;

		if (nbdkit_read_password(value, &pw) == -1)
			nbdkit_error("fail password(%s)", value);
		else
			nbdkit_error("ok password(%s) = [%s]", value, pw);
		free(pw);
		return 0;
	}
	if (strcmp(key, "int") == 0)
		TRY(int, nbdkit_parse_int, "d", int);
	if (strcmp(key, "unsigned") == 0)
		TRY(unsigned, nbdkit_parse_unsigned, "u", unsigned);
	if (strcmp(key, "int8_t") == 0)
		TRY(int8_t, nbdkit_parse_int8_t, "d", int);
	if (strcmp(key, "uint8_t") == 0)
		TRY(uint8_t, nbdkit_parse_uint8_t, "u", unsigned);
	if (strcmp(key, "int16_t") == 0)
		TRY(int16_t, nbdkit_parse_int16_t, "d", int);
	if (strcmp(key, "uint16_t") == 0)
		TRY(uint16_t, nbdkit_parse_uint16_t, "u", unsigned);
	if (strcmp(key, "int32_t") == 0)
		TRY(int32_t, nbdkit_parse_int32_t, PRId32, int32_t);
	if (strcmp(key, "uint32_t") == 0)
		TRY(uint32_t, nbdkit_parse_uint32_t, PRIu32, uint32_t);
	if (strcmp(key, "int64_t") == 0)
		TRY(int64_t, nbdkit_parse_int64_t, PRId64, int64_t);
	if (strcmp(key, "uint64_t") == 0)
		TRY(uint64_t, nbdkit_parse_uint64_t, PRIu64, uint64_t);
	nbdkit_error("parse: unknown parser '%s'", key);
	return -1;
}

static int
parse_config_complete(void)
{
	nbdkit_error("parse: done");
	return -1;
}

static void *
parse_open(int readonly)
{
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t
parse_get_size(void *h)
{
	return 0;
}

static int
parse_pread(void *h, void *buf, uint32_t count, uint64_t offset,
    uint32_t flags)
{
	memset(buf, 0, count);
	return 0;
}

static struct nbdkit_plugin plugin = {
	.name = "parse",
	.config = parse_config,
	.config_complete = parse_config_complete,
	.open = parse_open,
	.get_size = parse_get_size,
	.pread = parse_pread,
};

NBDKIT_REGISTER_PLUGIN(plugin)
