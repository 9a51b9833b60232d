/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Numbers and durations as admins write them: one grammar for each,
 * shared by the broker's command line and the policy parser, so that
 * a value accepted in one place is accepted in the other.  (Sizes
 * have their own grammar: size.h.)
 */
#ifndef NBDBROKER_NUMBER_H
#define NBDBROKER_NUMBER_H

#include <stdint.h>

/*
 * A decimal number from min to max: digits only, so no sign, no
 * blanks, no base prefix and nothing after the digits.  Returns 0 and
 * *v, or -1 with *why saying what is wrong (a static string: "expected
 * a decimal number", "trailing characters", "too small", "too large").
 */
int	uint_parse(const char *s, uint64_t min, uint64_t max, uint64_t *v,
	    const char **why);

/*
 * A duration in milliseconds: a decimal number and a unit, ms, s, m
 * or h; a bare number means seconds (as in systemd).  Strict like
 * uint_parse: no sign, no blanks, nothing after the unit.  0 parses
 * (in any unit); whether it means "never" or is refused is the
 * caller's business.  Returns 0 and *ms, or -1 with *why (a static
 * string).
 */
int	duration_parse(const char *s, uint64_t *ms, const char **why);

/*
 * A restart intensity, "N/PERIOD" (e.g. "5/60s"): N from 1 to
 * INTENSITY_MAX deaths per a non-zero duration_parse() period.  The
 * same grammar and range for --intensity and a policy's intensity =.
 * Returns 0 with *n and *ms, or -1 with *why (a static string).
 */
#define INTENSITY_MAX	100000
int	intensity_parse(const char *s, uint64_t *n, uint64_t *ms,
	    const char **why);

#endif /* NBDBROKER_NUMBER_H */
