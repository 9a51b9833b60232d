/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the policy parser.  The input is a policy file's
 * text.  It is parsed (policy_parse_buf) and resolved as
 * `nbdbroker --check-policy` does (no plugin parameters, not root: the
 * resolver only looks users and paths up); a policy that resolves is
 * encoded to the wire form the broker sends a worker, decoded as a
 * worker would, and encoded again: both steps must succeed and the two
 * encodings must be the same bytes (nothing the parser accepts is lost
 * or changed on the way to the worker).  Then the decoded policy is
 * compiled to both stages' seccomp filters (built, never loaded).
 * Every refusal must name the file, and nothing may leak.
 *
 * Test code only; never installed.
 */
#include <config.h>

#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn))
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz-policy: %s%s%s\n", what, err ? ": " : "",
	    err ? err : "");
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p, *q;
	uint8_t		*w1, *w2;
	size_t		 l1, l2;
	char		 err[1024];
	struct policy_env env = {
		.cwd = "/",
		.plugin_path = "/nonexistent/nbdbroker-fuzz-plugin.so",
		.check_only = true,
	};
	enum policy_stage st;
	void		*ctx;

	if (size > POLICY_MAX_SIZE)
		return 0;
	err[0] = '\0';
	p = policy_parse_buf("fuzz.policy", (const char *)data, size, err,
	    sizeof(err));
	if (p == NULL) {
		/* Every refusal says where: "fuzz.policy" and a line. */
		if (strncmp(err, "fuzz.policy", 11) != 0)
			fail("an error that does not name the file", err);
		return 0;
	}
	if (policy_resolve(p, &env, err, sizeof(err)) == -1) {
		if (strstr(err, "fuzz.policy") == NULL)
			fail("a resolver error that does not name the file",
			    err);
		policy_free(p);
		return 0;
	}
	if (policy_encode(p, &w1, &l1) == -1)
		fail("a parsed policy does not encode", NULL);
	q = policy_decode(w1, l1, err, sizeof(err));
	if (q == NULL)
		fail("an encoded policy does not decode", err);
	if (policy_encode(q, &w2, &l2) == -1)
		fail("a decoded policy does not encode", NULL);
	if (l1 != l2 || memcmp(w1, w2, l1) != 0)
		fail("encode(decode(encode(p))) != encode(p)", NULL);
	for (st = POLICY_STAGE_STARTUP; st <= POLICY_STAGE_SERVING; st++) {
		ctx = policy_seccomp_build(q, st, SCMP_ACT_KILL_PROCESS, 1,
		    err, sizeof(err));
		if (ctx != NULL)
			seccomp_release(ctx);
	}
	free(w2);
	free(w1);
	policy_free(q);
	policy_free(p);
	return 0;
}
