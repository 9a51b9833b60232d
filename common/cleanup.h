/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scope-bound cleanup for locals that never escape their function
 * (STYLE.md 3).  If ownership may transfer, use goto instead.
 */
#ifndef NBDBROKER_CLEANUP_H
#define NBDBROKER_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_free(void *ptr)
{
	free(*(void **)ptr);
}

static inline void
cleanup_close(int *fd)
{
	int	saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}

#define CLEANUP_FREE	__attribute__((cleanup(cleanup_free)))
#define CLEANUP_CLOSE	__attribute__((cleanup(cleanup_close)))

#endif /* NBDBROKER_CLEANUP_H */
