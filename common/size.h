/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sizes as admins and plugin users write them, shared by the broker's
 * command line, the policy parser and the plugin SDK.  (nbdkit's
 * nbdkit_parse_size keeps nbdkit's own, narrower syntax: see
 * worker/nbdkit-abi.c.)
 */
#ifndef NBDBROKER_SIZE_H
#define NBDBROKER_SIZE_H

#include <stdint.h>

/*
 * A decimal number with at most one suffix: b (bytes), s (512-byte
 * sectors), k, M, G, T, P or E (powers of 1024, either case; "G",
 * "GB" and "GiB" are the same).  No sign, no leading blanks.  Returns
 * 0 and *v, or -1 with *why saying what is wrong (a static string)
 * if s is not a size or exceeds max.
 */
int	size_parse(const char *s, uint64_t max, uint64_t *v, const char **why);

#endif /* NBDBROKER_SIZE_H */
