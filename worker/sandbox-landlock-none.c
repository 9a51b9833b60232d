/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Landlock for systems whose C library does not know the Landlock
 * syscalls (picked by configure).  A policy that requires Landlock
 * fails; best-effort goes on, saying what is not enforced.
 */
#include <config.h>

#include <stdio.h>

#include "log.h"
#include "policy.h"
#include "worker.h"

int
sandbox_landlock_prepare(const struct policy *p, char *err, size_t errlen)
{
	if (p->landlock == POLICY_LANDLOCK_OFF || p->mode == POLICY_MODE_LOG)
		return 0;
	if (p->landlock == POLICY_LANDLOCK_REQUIRED) {
		snprintf(err, errlen, "landlock: this worker was built "
		    "without Landlock support; policy %s requires it "
		    "(landlock = required)", p->file);
		return -1;
	}
	log_warn("sandbox: built without Landlock: the [filesystem] rules of "
	    "%s are NOT enforced (landlock = best-effort)", p->file);
	return 0;
}

bool
sandbox_landlock_active(void)
{
	return false;
}

int
sandbox_landlock_abi(void)
{
	return 0;
}

int
sandbox_landlock_enter(enum policy_stage st, char *err, size_t errlen)
{
	(void)st;
	(void)err;
	(void)errlen;
	return 0;
}
