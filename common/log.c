/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging shared by the broker and the worker.  Thread-safe: each
 * message is formatted into a local buffer and written with a single
 * write(2), so lines from different threads never interleave.
 */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "nbdbroker";
static enum log_dest	 log_dest = LOG_DEST_STDERR;
static int		 log_verb;

void
log_init(const char *ident, enum log_dest dest, int verbose)
{
	log_ident = ident;
	log_verb = verbose;
	log_set_dest(dest);
}

void
log_set_dest(enum log_dest dest)
{
	if (dest == LOG_DEST_SYSLOG && log_dest != LOG_DEST_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_dest = dest;
}

int
log_verbose(void)
{
	return log_verb;
}

static const char *
level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char	 buf[8192];
	int	 n, m, saved = errno;

	if (level >= LOG_DEBUG && !log_verb)
		goto out;
	switch (log_dest) {
	case LOG_DEST_NULL:
		break;
	case LOG_DEST_SYSLOG:
		vsyslog(level, fmt, ap);
		break;
	case LOG_DEST_STDERR:
		n = snprintf(buf, sizeof(buf), "%s[%ld]: %s: ", log_ident,
		    (long)getpid(), level_name(level));
		if (n < 0 || (size_t)n >= sizeof(buf))
			break;
		m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
		if (m < 0)
			break;
		n += m;
		if ((size_t)n > sizeof(buf) - 2)
			n = sizeof(buf) - 2;
		buf[n++] = '\n';
		/* Best effort: a log line that cannot be written is lost. */
		if (write(STDERR_FILENO, buf, n) == -1)
			break;
		break;
	}
 out:
	errno = saved;
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	msg[4096];
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s: %s", msg, strerror(saved));
	exit(EXIT_FAILURE);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

char *
log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	const unsigned char	*s = src;
	size_t			 i, o = 0;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		char	tmp[5];
		size_t	tl;

		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			tmp[0] = s[i];
			tl = 1;
		} else if (s[i] == '\\') {
			memcpy(tmp, "\\\\", 2);
			tl = 2;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", s[i]);
			tl = 4;
		}
		if (o + tl + 4 > dstlen) {	/* room for "..." + NUL */
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
	}
	dst[o] = '\0';
	return dst;
}

const char *
log_strip_prefix(const char *line, const char *ident, int *level)
{
	static const struct {
		const char	*name;
		int		 level;
	} levels[] = {
		{ "error: ", LOG_ERR }, { "warning: ", LOG_WARNING },
		{ "info: ", LOG_INFO }, { "debug: ", LOG_DEBUG },
	};
	size_t		 il = strlen(ident), i;
	const char	*p = line + il;

	if (strncmp(line, ident, il) != 0 || *p != '[')
		return line;
	for (p++; *p >= '0' && *p <= '9'; p++)
		;
	if (p == line + il + 1 || strncmp(p, "]: ", 3) != 0)
		return line;
	p += 3;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strncmp(p, levels[i].name, strlen(levels[i].name)) == 0) {
			*level = levels[i].level;
			return p + strlen(levels[i].name);
		}
	return line;
}

char *
log_kv(char *buf, size_t len, const char *key, const char *value)
{
	size_t	o = strnlen(buf, len);
	bool	quote = *value == '\0' || strpbrk(value, " \"\\=") != NULL;

	if (o + 1 >= len)
		return buf;
	o += snprintf(buf + o, len - o, " %s=%s", key, quote ? "\"" : "");
	for (; *value != '\0' && o + 3 < len; value++) {
		if (*value == '"' || *value == '\\')
			buf[o++] = '\\';
		buf[o++] = *value;
	}
	if (o >= len)
		o = len - 1;
	if (quote && o + 1 < len)
		buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
