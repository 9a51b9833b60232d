/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's title in ps and top: "nbdbroker-worker: PLUGIN (broker
 * PID)", so that an admin can tell which worker serves what.  It is
 * written over the command-line area the kernel shows as
 * /proc/PID/cmdline (the area is fixed when the process starts: the
 * title is cut to fit it).  The kernel's own 15-byte name (comm,
 * "nbdbroker-worke") stays: the audit log and the seccomp log name the
 * worker by it, and a plugin name would not fit.
 *
 * Called from the worker's main thread before it serves: nothing else
 * reads argv by then.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "worker.h"

static char	*title_area;	/* argv[0]'s first byte */
static size_t	 title_size;	/* bytes up to the last argument's NUL */

/*
 * Remember where the arguments are, before anything moves them (getopt
 * permutes the pointers, not the strings).  The area is the one
 * stretch of memory from the first argument to the end of the last.
 */
void
title_init(int argc, char **argv)
{
	char	*start = NULL, *end = NULL;
	int	 i;

	for (i = 0; i < argc; i++) {
		char	*e = argv[i] + strlen(argv[i]) + 1;

		if (start == NULL || argv[i] < start)
			start = argv[i];
		if (end == NULL || e > end)
			end = e;
	}
	if (start != NULL) {
		title_area = start;
		title_size = end - start;
	}
}

/*
 * Set the title from fmt, cut to the area's size; the rest of the area
 * is cleared, so that no argument shows after it.
 */
void
title_set(const char *fmt, ...)
{
	va_list	ap;

	if (title_area == NULL || title_size < 2)
		return;
	memset(title_area, 0, title_size);
	va_start(ap, fmt);
	vsnprintf(title_area, title_size, fmt, ap);
	va_end(ap);
}
