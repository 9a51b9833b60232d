/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test filter built against nbdkit's installed <nbdkit-filter.h>
 * that passes everything through and says so: each callback writes
 * "TRACE NAME CALLBACK" on stderr, and appends it to NAME-file=PATH if
 * given (opened in .config, so that .cleanup and .unload, which run
 * when the server is already going, are recorded too), so a test can
 * compare the order in which nbdkit and nbdbroker call the filters of
 * a stack.  Built twice, as trace1 and trace2 (TRACE_NAME), so that
 * two can be stacked.  NAME-readonly=true makes it open the layer
 * below read-only; NAME-export=EXPORT passes EXPORT down as the export.
 */
#include <config.h>

#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nbdkit-filter.h>

#ifndef TRACE_NAME
#define TRACE_NAME	"trace1"
#endif

#define T(what)		trace("%s", what)

static int		 down_readonly;
static const char	*down_export;
static int		 trace_fd = -1;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line, written at once: threads may trace at the same time. */
static void
trace(const char *fmt, ...)
{
	char	line[256];
	va_list	ap;
	int	n;

	n = snprintf(line, sizeof(line), "TRACE %s ", TRACE_NAME);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	if (trace_fd != -1) {
		strcat(line, "\n");
		if (write(trace_fd, line, strlen(line)) == -1)
			fprintf(stderr, "TRACE " TRACE_NAME ": write: %m\n");
	}
}


static void
trace_load(void)
{
	T("load");
}

static void
trace_unload(void)
{
	T("unload");
}

static int
trace_config(nbdkit_next_config *next, nbdkit_backend *nxdata,
    const char *key, const char *value)
{
	trace("config %s=%s", key, value);
	if (strcmp(key, TRACE_NAME "-readonly") == 0) {
		if ((down_readonly = nbdkit_parse_bool(value)) == -1)
			return -1;
		return 0;
	}
	if (strcmp(key, TRACE_NAME "-export") == 0) {
		down_export = value;
		return 0;
	}
	if (strcmp(key, TRACE_NAME "-file") == 0) {
		trace_fd = open(value, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (trace_fd == -1) {
			nbdkit_error(TRACE_NAME ": %s: %m", value);
			return -1;
		}
		return 0;
	}
	return next(nxdata, key, value);
}

static int
trace_config_complete(nbdkit_next_config_complete *next,
    nbdkit_backend *nxdata)
{
	T("config_complete");
	return next(nxdata);
}

static int
trace_thread_model(void)
{
	T("thread_model");
	return NBDKIT_THREAD_MODEL_PARALLEL;
}

static int
trace_get_ready(int thread_model)
{
	trace("get_ready %d", thread_model);
	return 0;
}

static int
trace_after_fork(nbdkit_backend *backend)
{
	T("after_fork");
	return 0;
}

static void
trace_cleanup(nbdkit_backend *backend)
{
	T("cleanup");
}

static int
trace_preconnect(nbdkit_next_preconnect *next, nbdkit_backend *nxdata,
    int readonly)
{
	T("preconnect");
	return next(nxdata, readonly);
}

static int
trace_list_exports(nbdkit_next_list_exports *next, nbdkit_backend *nxdata,
    int readonly, int is_tls, struct nbdkit_exports *exports)
{
	T("list_exports");
	return next(nxdata, readonly, exports);
}

static const char *
trace_default_export(nbdkit_next_default_export *next,
    nbdkit_backend *nxdata, int readonly, int is_tls)
{
	T("default_export");
	return next(nxdata, readonly);
}

static void *
trace_open(nbdkit_next_open *next, nbdkit_context *context, int readonly,
    const char *exportname, int is_tls)
{
	trace("open readonly=%d export=%s", readonly, exportname);
	if (next(context, readonly || down_readonly,
	    down_export ? down_export : exportname) == -1)
		return NULL;
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static void
trace_close(void *handle)
{
	T("close");
}

static int
trace_prepare(nbdkit_next *next, void *handle, int readonly)
{
	trace("prepare readonly=%d", readonly);
	return 0;
}

static int
trace_finalize(nbdkit_next *next, void *handle)
{
	T("finalize");
	return 0;
}

static int64_t
trace_get_size(nbdkit_next *next, void *handle)
{
	T("get_size");
	return next->get_size(next);
}

static int
trace_can_write(nbdkit_next *next, void *handle)
{
	T("can_write");
	return next->can_write(next);
}

static int
trace_can_zero(nbdkit_next *next, void *handle)
{
	T("can_zero");
	return next->can_zero(next);
}

static int
trace_pread(nbdkit_next *next, void *handle, void *buf, uint32_t count,
    uint64_t offset, uint32_t flags, int *err)
{
	T("pread");
	return next->pread(next, buf, count, offset, flags, err);
}

static int
trace_pwrite(nbdkit_next *next, void *handle, const void *buf,
    uint32_t count, uint64_t offset, uint32_t flags, int *err)
{
	trace("pwrite fua=%d", !!(flags & NBDKIT_FLAG_FUA));
	return next->pwrite(next, buf, count, offset, flags, err);
}

static int
trace_flush(nbdkit_next *next, void *handle, uint32_t flags, int *err)
{
	T("flush");
	return next->flush(next, flags, err);
}

static int
trace_zero(nbdkit_next *next, void *handle, uint32_t count, uint64_t offset,
    uint32_t flags, int *err)
{
	T("zero");
	return next->zero(next, count, offset, flags, err);
}

static struct nbdkit_filter filter = {
	.name = TRACE_NAME,
	.longname = "nbdbroker test filter " TRACE_NAME,
	.load = trace_load,
	.unload = trace_unload,
	.config = trace_config,
	.config_complete = trace_config_complete,
	.thread_model = trace_thread_model,
	.get_ready = trace_get_ready,
	.after_fork = trace_after_fork,
	.cleanup = trace_cleanup,
	.preconnect = trace_preconnect,
	.list_exports = trace_list_exports,
	.default_export = trace_default_export,
	.open = trace_open,
	.close = trace_close,
	.prepare = trace_prepare,
	.finalize = trace_finalize,
	.get_size = trace_get_size,
	.can_write = trace_can_write,
	.can_zero = trace_can_zero,
	.pread = trace_pread,
	.pwrite = trace_pwrite,
	.flush = trace_flush,
	.zero = trace_zero,
};

NBDKIT_REGISTER_FILTER(filter)
