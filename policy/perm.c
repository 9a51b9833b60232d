/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a policy's user may do to a path by its mode bits.  Both sides
 * ask: the broker to judge, at start-up and on each denial, whether
 * the user's own permissions would have allowed an access
 * (broker/deny.c, broker/policy-load.c, broker/open-behalf.c), and a
 * root worker, before it switches user, whether it must keep DAC
 * capabilities for a grant its user cannot reach (worker/sandbox.c).
 */
#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"

/*
 * Can uid/gid reach path with access (POLICY_ACCESS_*; 0 asks for the
 * search permission on each directory above it only)?  Only what the
 * mode bits say: no ACLs, the primary group alone.  What cannot be
 * told (a directory above it cannot be stat()ed, as the asker) counts
 * as allowed; a path that does not exist yet is judged by the
 * directories above it, Landlock deciding whether it may be made.
 */
bool
policy_user_may(const char *path, unsigned access, uid_t uid, gid_t gid)
{
	char		 buf[PATH_MAX], *s;
	struct stat	 st;
	unsigned	 need;

	snprintf(buf, sizeof(buf), "%s", path);
	for (s = buf + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (stat(buf, &st) == -1)
			return true;
		if (!(st.st_uid == uid ? st.st_mode & S_IXUSR :
		    st.st_gid == gid ? st.st_mode & S_IXGRP :
		    st.st_mode & S_IXOTH))
			return false;
		*s = '/';
	}
	need = 0;
	if (access & POLICY_ACCESS_READ)
		need |= 4;
	if (access & POLICY_ACCESS_WRITE)
		need |= 2;
	if (access & POLICY_ACCESS_EXEC)
		need |= 1;
	if (need == 0 || stat(path, &st) == -1)
		return true;
	if (st.st_uid == uid)
		return ((st.st_mode >> 6) & need) == need;
	if (st.st_gid == gid)
		return ((st.st_mode >> 3) & need) == need;
	return (st.st_mode & need) == need;
}
