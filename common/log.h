/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging for the broker and the worker.  Messages go to stderr,
 * syslog or nowhere; debug messages only with -v.  Peer-controlled
 * bytes must pass through log_escape() before they reach a format.
 */
#ifndef NBDBROKER_LOG_H
#define NBDBROKER_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

enum log_dest {
	LOG_DEST_STDERR,
	LOG_DEST_SYSLOG,
	LOG_DEST_NULL,
};

void	log_init(const char *ident, enum log_dest dest, int verbose);
void	log_set_dest(enum log_dest dest);
int	log_verbose(void);
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(int level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)

/* Log with ": strerror(errno)" appended, then exit(1). */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* Log, then exit(1). */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy at most len bytes of src into dst as printable ASCII (C-style
 * escapes for everything else), truncating with "..." so the result,
 * NUL included, fits in dstlen.  Returns dst.
 */
char	*log_escape(char *dst, size_t dstlen, const void *src, size_t len);

/*
 * A line another process wrote with log.c's stderr format, "IDENT[PID]:
 * LEVEL: message": returns the message and sets *level; any other line
 * is returned as it is, *level untouched.  So a worker's own lines are
 * re-logged by the broker with one prefix, not two.
 */
const char *log_strip_prefix(const char *line, const char *ident,
	    int *level);

/*
 * Append " key=value" to the string in buf (size len, truncating): the
 * greppable tail of a log line.  The value is double-quoted (with \"
 * and \\ escaped) when empty or holding a space, '"', backslash or '='.
 * Returns buf.
 */
char	*log_kv(char *buf, size_t len, const char *key, const char *value);

#endif /* NBDBROKER_LOG_H */
