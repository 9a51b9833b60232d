/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sizes as admins and plugin users write them, shared by the broker's
 * command line, the policy parser and the plugin SDK
 * (nbdbroker_parse_size), so a size means the same everywhere.
 * (nbdkit's nbdkit_parse_size keeps nbdkit's own, narrower syntax: see
 * worker/nbdkit-abi.c.)
 */
#ifndef NBDBROKER_SIZE_H
#define NBDBROKER_SIZE_H

#include <stdint.h>

/*
 * A decimal number with at most one suffix:
 *   b                  bytes (the same as no suffix)
 *   s                  512-byte sectors
 *   k, M, G, T, P, E   powers of 1024 (2^10 ... 2^60), either case
 *   KiB, MiB ... EiB   the same, spelt out ("1G" is "1GiB")
 * KB, MB, GB, TB, PB and EB are refused: some tools read them as
 * powers of 1000, others as powers of 1024, and a guess is off by up to
 * 15%.  No sign, no blanks, no fractions.  Returns 0 and *v, or -1
 * with *why saying what is wrong (a static string) if s is not a size
 * or exceeds max.
 */
int	size_parse(const char *s, uint64_t max, uint64_t *v, const char **why);

#endif /* NBDBROKER_SIZE_H */
