/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Call recording for the test plugins in this directory.  A plugin
 * given log=PATH appends one line per callback to PATH, e.g.
 * "pwrite off=0 count=512 flags=fua", so a shell test can check what
 * reached the plugin.  The plugin runs in the worker, a separate
 * process: lines are written with O_APPEND and one write(2) each, so
 * they never interleave or tear.  Test code only; never shipped.
 */
#ifndef NBDBROKER_TEST_RECORD_H
#define NBDBROKER_TEST_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* Open (create, append to) the log.  0, or -1 with an error logged. */
int	record_open(const char *path);
/* Append one line (the newline is added); a no-op without a log. */
void	record_line(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Write NBDBROKER_FLAG_* bits as "fua,may_trim", "none" for 0, with
 * unknown bits in hex.  Returns buf.
 */
const char *record_flags(uint32_t flags, char *buf, size_t len);

#endif /* NBDBROKER_TEST_RECORD_H */
