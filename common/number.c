/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The number and duration grammars (number.h).  Digits are read here,
 * not by strtoull, which would take leading blanks, a sign (and wrap
 * a negative number around) and depends on the locale.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "number.h"

/* Leading decimal digits of s into *v; *end is the first non-digit. */
static int
read_digits(const char *s, uint64_t *v, const char **end, const char **why)
{
	uint64_t	n = 0;
	unsigned	d;

	if (*s < '0' || *s > '9') {
		*why = "expected a decimal number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		d = *s - '0';
		if (n > (UINT64_MAX - d) / 10) {
			*why = "too large";
			return -1;
		}
		n = n * 10 + d;
	}
	*v = n;
	*end = s;
	return 0;
}

int
uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *v,
    const char **why)
{
	const char	*end;
	uint64_t	 n;

	if (read_digits(s, &n, &end, why) == -1)
		return -1;
	if (*end != '\0') {
		*why = "trailing characters";
		return -1;
	}
	if (n < min) {
		*why = "too small";
		return -1;
	}
	if (n > max) {
		*why = "too large";
		return -1;
	}
	*v = n;
	return 0;
}

int
duration_parse(const char *s, uint64_t *ms, const char **why)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "", 1000 },		/* seconds */
		{ "m", 60 * 1000 },
		{ "h", 60 * 60 * 1000 },
	};
	const char	*end;
	uint64_t	 n;
	size_t		 i;

	if (read_digits(s, &n, &end, why) == -1)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0])) {
		*why = "unknown unit (use ms, s, m or h)";
		return -1;
	}
	if (n > UINT64_MAX / units[i].ms) {
		*why = "too large";
		return -1;
	}
	*ms = n * units[i].ms;
	return 0;
}

int
intensity_parse(const char *s, uint64_t *n, uint64_t *ms, const char **why)
{
	const char	*slash = strchr(s, '/');
	char		 num[32];

	if (slash == NULL || (size_t)(slash - s) >= sizeof(num)) {
		*why = "no '/' between the count and the period";
		return -1;
	}
	memcpy(num, s, slash - s);
	num[slash - s] = '\0';
	if (uint_parse(num, 1, INTENSITY_MAX, n, why) == -1)
		return -1;
	if (duration_parse(slash + 1, ms, why) == -1)
		return -1;
	if (*ms == 0) {
		*why = "the period must not be 0";
		return -1;
	}
	return 0;
}
