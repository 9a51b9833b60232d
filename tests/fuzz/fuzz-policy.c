/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TODO(issue4): fuzz target for the policy parser -- a SKELETON, NOT
 * BUILT.  policy/ (parse.c, wire.c, policy.h) lives on the issue4-policy
 * branch and is not on main yet.  Once it is merged:
 *   1. add fuzz-policy (and fuzz-policy-replay) to Makefile.am, linking
 *      $(top_builddir)/policy/libpolicy.la (or its sources, for
 *      coverage) with -I$(top_srcdir)/policy -I$(top_builddir)/policy;
 *   2. add "policy" to FUZZ_NAMES and to test-fuzz-replay.sh;
 *   3. check the calls below against the merged policy.h.
 * corpus/policy/ and policy.dict are ready.
 *
 * Written against the API visible on issue4-policy: the input is a
 * policy file's text; it is parsed (policy_parse_buf), and a policy
 * that parses is encoded to the wire form the broker sends a worker
 * and decoded again (policy_encode, policy_decode), as a worker would;
 * both must succeed, and nothing may leak.  The resolver and the
 * seccomp compiler touch the system and are left out.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p, *q;
	uint8_t		*wire;
	size_t		 len;
	char		 err[1024];

	if (size > POLICY_MAX_SIZE)
		return 0;
	p = policy_parse_buf("fuzz.policy", (const char *)data, size, err,
	    sizeof(err));
	if (p == NULL)
		return 0;
	if (policy_encode(p, &wire, &len) == -1)
		abort();		/* a parsed policy must encode */
	q = policy_decode(wire, len, err, sizeof(err));
	if (q == NULL)
		abort();		/* ... and decode */
	policy_free(q);
	free(wire);
	policy_free(p);
	return 0;
}
