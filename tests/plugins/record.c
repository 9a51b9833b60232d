/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Call recording for the test plugins (see record.h).  Linked into
 * each test plugin; keeps no state besides the log descriptor, which
 * is opened while the plugin is configured.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NBDBROKER_API_VERSION 2
#include "nbdbroker-plugin.h"

#include "record.h"

#define RECORD_LINE_MAX	256

static int	record_fd = -1;

int
record_open(const char *path)
{
	if (record_fd != -1)
		close(record_fd);
	record_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644);
	if (record_fd == -1) {
		nbdbroker_error("log=%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
record_line(const char *fmt, ...)
{
	char	line[RECORD_LINE_MAX];
	va_list	ap;
	int	n;

	if (record_fd == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: O_APPEND keeps concurrent lines whole. */
	if (write(record_fd, line, n) != n)
		nbdbroker_error("record: short write to the log");
}

const char *
record_flags(uint32_t flags, char *buf, size_t len)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} names[] = {
		{ NBDBROKER_FLAG_FUA, "fua" },
		{ NBDBROKER_FLAG_MAY_TRIM, "may_trim" },
		{ NBDBROKER_FLAG_FAST_ZERO, "fast_zero" },
		{ NBDBROKER_FLAG_REQ_ONE, "req_one" },
	};
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		flags &= ~names[i].bit;
		used += snprintf(buf + used, len - used, "%s%s",
		    used ? "," : "", names[i].name);
		if (used >= len)
			return buf;
	}
	if (flags != 0)
		used += snprintf(buf + used, len - used, "%s0x%x",
		    used ? "," : "", flags);
	if (used == 0)
		snprintf(buf, len, "none");
	return buf;
}
