/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-thread plugin context: the connection a callback serves, the
 * errno the plugin set, interned strings, and the log helpers.  Runs
 * in the worker, inside plugin callbacks; never blocks except to log.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "nbdbroker-plugin.h"
#include "sdk-host.h"

static __thread struct sdk_conn	*cur_conn;
static __thread int		 cur_error;
static struct sdk_intern	 global_intern;

void
sdk_set_conn(struct sdk_conn *c)
{
	cur_conn = c;
}

struct sdk_conn *
sdk_get_conn(void)
{
	return cur_conn;
}

void
sdk_reset_error(void)
{
	cur_error = 0;
}

int
sdk_get_error(void)
{
	return cur_error;
}

NBDBROKER_PUBLIC void
nbdbroker_set_error(int err)
{
	cur_error = err;
}

void
sdk_log_fmt(int level, const char *fmt, va_list ap)
{
	char	msg[4096];
	int	saved = errno;

	/* %m refers to the errno the plugin had when it called us. */
	errno = saved;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sdk_host_log(level, msg);
	errno = saved;
}

NBDBROKER_PUBLIC void
nbdbroker_verror(const char *fmt, va_list args)
{
	sdk_log_fmt(LOG_ERR, fmt, args);
}

NBDBROKER_PUBLIC void
nbdbroker_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sdk_log_fmt(LOG_ERR, fmt, ap);
	va_end(ap);
}

NBDBROKER_PUBLIC void
nbdbroker_vdebug(const char *fmt, va_list args)
{
	sdk_log_fmt(LOG_DEBUG, fmt, args);
}

NBDBROKER_PUBLIC void
nbdbroker_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sdk_log_fmt(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

NBDBROKER_PUBLIC const char *
nbdbroker_export_name(void)
{
	if (cur_conn == NULL) {
		nbdbroker_error("nbdbroker_export_name: "
		    "called outside a connection");
		return NULL;
	}
	return cur_conn->export_name;
}

NBDBROKER_PUBLIC int
nbdbroker_is_tls(void)
{
	if (cur_conn == NULL) {
		nbdbroker_error("nbdbroker_is_tls: called outside a connection");
		return -1;
	}
	return cur_conn->tls;
}

NBDBROKER_PUBLIC int
nbdbroker_peer_name(struct sockaddr *addr, socklen_t *addrlen)
{
	if (cur_conn == NULL || cur_conn->peer_len == 0) {
		nbdbroker_error("nbdbroker_peer_name: no peer address known");
		return -1;
	}
	if (*addrlen < cur_conn->peer_len) {
		nbdbroker_error("nbdbroker_peer_name: buffer too small");
		return -1;
	}
	memcpy(addr, &cur_conn->peer, cur_conn->peer_len);
	*addrlen = cur_conn->peer_len;
	return 0;
}

static int64_t
peer_cred(const char *fn, int64_t v)
{
	if (v < 0) {
		nbdbroker_error("%s: not known for this connection "
		    "(only for Unix domain sockets)", fn);
		return -1;
	}
	return v;
}

NBDBROKER_PUBLIC int64_t
nbdbroker_peer_pid(void)
{
	return peer_cred("nbdbroker_peer_pid",
	    cur_conn ? cur_conn->peer_pid : -1);
}

NBDBROKER_PUBLIC int64_t
nbdbroker_peer_uid(void)
{
	return peer_cred("nbdbroker_peer_uid",
	    cur_conn ? cur_conn->peer_uid : -1);
}

NBDBROKER_PUBLIC int64_t
nbdbroker_peer_gid(void)
{
	return peer_cred("nbdbroker_peer_gid",
	    cur_conn ? cur_conn->peer_gid : -1);
}

NBDBROKER_PUBLIC int
nbdbroker_read_only(void)
{
	return sdk_host_read_only();
}

NBDBROKER_PUBLIC void
nbdbroker_shutdown(void)
{
	sdk_host_shutdown();
}

NBDBROKER_PUBLIC int
nbdbroker_stdio_safe(void)
{
	/* A worker's stdin is /dev/null and its stdout goes to the log. */
	return 0;
}

NBDBROKER_PUBLIC int
nbdbroker_nanosleep(unsigned sec, unsigned nsec)
{
	struct timespec	ts = { .tv_sec = sec, .tv_nsec = nsec };

	if (nsec >= 1000000000u) {
		nbdbroker_error("nbdbroker_nanosleep: nsec out of range");
		errno = EINVAL;
		return -1;
	}
	while (nanosleep(&ts, &ts) == -1) {
		if (errno != EINTR) {
			nbdbroker_error("nanosleep: %m");
			return -1;
		}
	}
	return 0;
}

/* Interning. */

static struct sdk_intern *
intern_pool(void)
{
	return cur_conn ? &cur_conn->intern : &global_intern;
}

static const char *
intern_add(char *s)
{
	struct sdk_intern	*in = intern_pool();

	if (s == NULL) {
		nbdbroker_error("intern: %m");
		return NULL;
	}
	if (in->n == in->cap) {
		size_t	 ncap = in->cap ? in->cap * 2 : 16;
		char	**p = reallocarray(in->strs, ncap, sizeof(*p));

		if (p == NULL) {
			nbdbroker_error("intern: %m");
			free(s);
			return NULL;
		}
		in->strs = p;
		in->cap = ncap;
	}
	in->strs[in->n++] = s;
	return s;
}

void
sdk_intern_free(struct sdk_intern *in)
{
	size_t	i;

	for (i = 0; i < in->n; i++)
		free(in->strs[i]);
	free(in->strs);
	in->strs = NULL;
	in->n = in->cap = 0;
}

void
sdk_cleanup(void)
{
	sdk_intern_free(&global_intern);
}

NBDBROKER_PUBLIC const char *
nbdbroker_strdup_intern(const char *str)
{
	return intern_add(strdup(str));
}

NBDBROKER_PUBLIC const char *
nbdbroker_strndup_intern(const char *str, size_t n)
{
	return intern_add(strndup(str, n));
}

NBDBROKER_PUBLIC const char *
nbdbroker_vprintf_intern(const char *fmt, va_list args)
{
	char	*s;

	if (vasprintf(&s, fmt, args) == -1)
		s = NULL;
	return intern_add(s);
}

NBDBROKER_PUBLIC const char *
nbdbroker_printf_intern(const char *fmt, ...)
{
	va_list		 ap;
	const char	*r;

	va_start(ap, fmt);
	r = nbdbroker_vprintf_intern(fmt, ap);
	va_end(ap);
	return r;
}
