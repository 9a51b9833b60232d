/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing and path helpers for plugins: sizes, booleans, integers of
 * every width, paths and passwords.  Pure functions apart from the
 * error messages they log; safe in any callback.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nbdbroker-plugin.h"
#include "size.h"
#include "sdk-host.h"

NBDBROKER_PUBLIC int64_t
nbdbroker_parse_size(const char *str)
{
	const char	*p = str, *why;
	uint64_t	 v;

	while (isspace((unsigned char)*p))
		p++;
	if (size_parse(p, INT64_MAX, &v, &why) == -1) {
		nbdbroker_error("could not parse size '%s': %s", str, why);
		return -1;
	}
	return (int64_t)v;
}

NBDBROKER_PUBLIC int
nbdbroker_parse_bool(const char *str)
{
	static const char *const yes[] = { "1", "true", "t", "yes", "y",
	    "on", NULL };
	static const char *const no[] = { "0", "false", "f", "no", "n",
	    "off", NULL };
	size_t	i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(str, yes[i]) == 0)
			return 1;
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(str, no[i]) == 0)
			return 0;
	nbdbroker_error("could not decipher boolean '%s' "
	    "(use true or false)", str);
	return -1;
}

/*
 * Parse a whole string as a signed or unsigned integer (decimal, 0x
 * hex or 0 octal) and check it against [min, max].
 */
static int
parse_signed(const char *what, const char *str, intmax_t min, intmax_t max,
    intmax_t *r)
{
	char		*end;
	intmax_t	 v;

	errno = 0;
	v = strtoimax(str, &end, 0);
	if (str[0] == '\0' || isspace((unsigned char)str[0]) ||
	    *end != '\0') {
		nbdbroker_error("%s: could not parse number: \"%s\"",
		    what, str);
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		nbdbroker_error("%s: %s out of range", what, str);
		errno = ERANGE;
		return -1;
	}
	*r = v;
	return 0;
}

static int
parse_unsigned(const char *what, const char *str, uintmax_t max,
    uintmax_t *r)
{
	const char	*p = str;
	char		*end;
	uintmax_t	 v;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-') {	/* strtoumax would wrap it silently */
		nbdbroker_error("%s: negative numbers are not allowed: "
		    "\"%s\"", what, str);
		errno = ERANGE;
		return -1;
	}
	errno = 0;
	v = strtoumax(str, &end, 0);
	if (str[0] == '\0' || isspace((unsigned char)str[0]) ||
	    *end != '\0') {
		nbdbroker_error("%s: could not parse number: \"%s\"",
		    what, str);
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v > max) {
		nbdbroker_error("%s: %s out of range", what, str);
		errno = ERANGE;
		return -1;
	}
	*r = v;
	return 0;
}

#define DEFINE_SIGNED(name, type, min, max)				\
NBDBROKER_PUBLIC int							\
name(const char *what, const char *str, type *r)			\
{									\
	intmax_t	v;						\
									\
	if (parse_signed(what, str, (min), (max), &v) == -1)		\
		return -1;						\
	if (r != NULL)							\
		*r = (type)v;						\
	return 0;							\
}

#define DEFINE_UNSIGNED(name, type, max)				\
NBDBROKER_PUBLIC int							\
name(const char *what, const char *str, type *r)			\
{									\
	uintmax_t	v;						\
									\
	if (parse_unsigned(what, str, (max), &v) == -1)			\
		return -1;						\
	if (r != NULL)							\
		*r = (type)v;						\
	return 0;							\
}

DEFINE_SIGNED(nbdbroker_parse_int, int, INT_MIN, INT_MAX)
DEFINE_SIGNED(nbdbroker_parse_int8_t, int8_t, INT8_MIN, INT8_MAX)
DEFINE_SIGNED(nbdbroker_parse_int16_t, int16_t, INT16_MIN, INT16_MAX)
DEFINE_SIGNED(nbdbroker_parse_int32_t, int32_t, INT32_MIN, INT32_MAX)
DEFINE_SIGNED(nbdbroker_parse_int64_t, int64_t, INT64_MIN, INT64_MAX)
DEFINE_UNSIGNED(nbdbroker_parse_unsigned, unsigned, UINT_MAX)
DEFINE_UNSIGNED(nbdbroker_parse_uint8_t, uint8_t, UINT8_MAX)
DEFINE_UNSIGNED(nbdbroker_parse_uint16_t, uint16_t, UINT16_MAX)
DEFINE_UNSIGNED(nbdbroker_parse_uint32_t, uint32_t, UINT32_MAX)
DEFINE_UNSIGNED(nbdbroker_parse_uint64_t, uint64_t, UINT64_MAX)

NBDBROKER_PUBLIC char *
nbdbroker_absolute_path(const char *path)
{
	char	*cwd, *r;

	if (path == NULL || *path == '\0') {
		nbdbroker_error("cannot convert an empty path "
		    "to an absolute path");
		errno = EINVAL;
		return NULL;
	}
	if (*path == '/') {
		if ((r = strdup(path)) == NULL)
			nbdbroker_error("strdup: %m");
		return r;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL) {
		nbdbroker_error("getcwd: %m");
		return NULL;
	}
	if (asprintf(&r, "%s/%s", cwd, path) == -1) {
		nbdbroker_error("asprintf: %m");
		r = NULL;
	}
	free(cwd);
	return r;
}

NBDBROKER_PUBLIC char *
nbdbroker_realpath(const char *path)
{
	char	*r;

	if (path == NULL || *path == '\0') {
		nbdbroker_error("realpath: empty path");
		errno = EINVAL;
		return NULL;
	}
	if ((r = realpath(path, NULL)) == NULL)
		nbdbroker_error("realpath: %s: %m", path);
	return r;
}

/* Read a whole small file (or fd) into a new string, last newline cut. */
int
sdk_read_secret_fd(int fd, const char *what, char **password)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 256) {
			char	*p;

			if (cap >= 64 * 1024) {
				nbdbroker_error("%s: password too long", what);
				goto err;
			}
			cap = cap ? cap * 2 : 256;
			if ((p = realloc(buf, cap)) == NULL) {
				nbdbroker_error("realloc: %m");
				goto err;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			nbdbroker_error("%s: read: %m", what);
			goto err;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		nbdbroker_error("malloc: %m");
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	*password = buf;
	return 0;

 err:
	if (buf != NULL) {
		memset(buf, 0, cap);
		free(buf);
	}
	return -1;
}

NBDBROKER_PUBLIC int
nbdbroker_read_password(const char *value, char **password)
{
	int	fd, r;

	*password = NULL;
	if (strcmp(value, "-") == 0) {
		nbdbroker_error("password=-: plugins run in a worker "
		    "without a terminal; use password=+FILE instead");
		return -1;
	}
	if (value[0] == '-' && value[1] != '\0') {
		nbdbroker_error("password=-FD: descriptors are not passed "
		    "to workers; use password=+FILE instead");
		return -1;
	}
	if (value[0] == '+') {
		if ((fd = open(value + 1, O_RDONLY | O_CLOEXEC)) == -1) {
			nbdbroker_error("open: %s: %m", value + 1);
			return -1;
		}
		r = sdk_read_secret_fd(fd, value + 1, password);
		close(fd);
		return r;
	}
	if ((*password = strdup(value)) == NULL) {
		nbdbroker_error("strdup: %m");
		return -1;
	}
	return 0;
}
