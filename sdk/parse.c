/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parsing and path helpers for plugins: sizes, booleans, integers of
 * every width, paths and passwords.  Pure functions apart from the
 * error messages they log; safe in any callback.  The integer and
 * boolean parsing is also nbdkit's (worker/nbdkit-abi.c), which adds
 * only its own messages and leniencies (sdk-host.h).
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

int
sdk_bool_word(const char *str)
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
	return -1;
}

NBDBROKER_PUBLIC int
nbdbroker_parse_bool(const char *str)
{
	int	r;

	if ((r = sdk_bool_word(str)) == -1)
		nbdbroker_error("could not decipher boolean '%s' "
		    "(use true or false)", str);
	return r;
}

/*
 * Classify what strtoimax/strtoumax made of the whole of str (end and
 * err are its end pointer and errno).  The checks are the same for
 * every dialect; their order and whether leading blanks are allowed
 * are the dialect's.
 */
static enum sdk_int_result
int_classify(const struct sdk_int_dialect *d, const char *str,
    const char *end, int err)
{
	if ((d->flags & SDK_INT_OVERFLOW_FIRST) && err == ERANGE)
		return SDK_INT_OVERFLOW;
	if (end == str)
		return SDK_INT_EMPTY;
	if (!(d->flags & SDK_INT_BLANKS_OK) && isspace((unsigned char)*str))
		return SDK_INT_BLANK;
	if (*end != '\0')
		return SDK_INT_TRAILING;
	if (err == ERANGE)
		return SDK_INT_OVERFLOW;
	return SDK_INT_OK;
}

/* Set errno for a failed parse and let the dialect say why. */
static int
int_fail(const struct sdk_int_dialect *d, enum sdk_int_result res,
    const char *what, const char *str)
{
	switch (res) {
	case SDK_INT_NEGATIVE:
	case SDK_INT_OVERFLOW:
	case SDK_INT_RANGE:
		errno = ERANGE;
		break;
	default:
		errno = EINVAL;
		break;
	}
	d->complain(res, what, str);	/* logging keeps errno */
	return -1;
}

int
sdk_parse_signed(const struct sdk_int_dialect *d, const char *what,
    const char *str, intmax_t min, intmax_t max, intmax_t *r)
{
	enum sdk_int_result	 res;
	char			*end;
	intmax_t		 v;

	errno = 0;
	v = strtoimax(str, &end, 0);
	if ((res = int_classify(d, str, end, errno)) == SDK_INT_OK &&
	    (v < min || v > max))
		res = SDK_INT_RANGE;
	if (res != SDK_INT_OK)
		return int_fail(d, res, what, str);
	*r = v;
	return 0;
}

int
sdk_parse_unsigned(const struct sdk_int_dialect *d, const char *what,
    const char *str, uintmax_t max, uintmax_t *r)
{
	enum sdk_int_result	 res;
	const char		*p = str;
	char			*end;
	uintmax_t		 v;

	/* strtoumax would take "-1" as its two's complement. */
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-')
		return int_fail(d, SDK_INT_NEGATIVE, what, str);
	errno = 0;
	v = strtoumax(str, &end, 0);
	if ((res = int_classify(d, str, end, errno)) == SDK_INT_OK &&
	    v > max)
		res = SDK_INT_RANGE;
	if (res != SDK_INT_OK)
		return int_fail(d, res, what, str);
	*r = v;
	return 0;
}

/* Our dialect: any malformed string gets one message. */
static void
sdk_int_complain(enum sdk_int_result res, const char *what, const char *str)
{
	switch (res) {
	case SDK_INT_NEGATIVE:
		nbdbroker_error("%s: negative numbers are not allowed: "
		    "\"%s\"", what, str);
		break;
	case SDK_INT_OVERFLOW:
	case SDK_INT_RANGE:
		nbdbroker_error("%s: %s out of range", what, str);
		break;
	default:
		nbdbroker_error("%s: could not parse number: \"%s\"",
		    what, str);
		break;
	}
}

/* Decimal, 0x hex or 0 octal; the whole string, no leading blanks. */
static const struct sdk_int_dialect	sdk_ints = {
	.flags = 0,
	.complain = sdk_int_complain,
};

SDK_DEFINE_INT_PARSERS(NBDBROKER_PUBLIC, nbdbroker, &sdk_ints)

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
