/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nbdbroker plugin API.
 *
 * A plugin is a shared object that defines one struct nbdbroker_plugin
 * and registers it with NBDBROKER_REGISTER_PLUGIN.  It is loaded by
 * nbdbroker-worker, a sandboxed process of its own: a plugin that
 * crashes takes down only its worker, which the broker restarts.
 *
 * Define NBDBROKER_API_VERSION (2 is current) and THREAD_MODEL before
 * registering.  API 2 passes a flags argument to pread, pwrite, flush,
 * trim and zero; API 1 keeps the older signatures (no flags; zero takes
 * may_trim), and the worker emulates FUA for it with a flush.
 *
 * The layout of struct nbdbroker_plugin up to and including block_size
 * matches nbdkit 1.32's struct nbdkit_plugin, so that code written for
 * one reads naturally for the other.  Members are only ever appended.
 *
 * This header is self-contained and C90 and C++ clean.
 */
#ifndef NBDBROKER_PLUGIN_H
#define NBDBROKER_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/socket.h>

#include <nbdbroker-version.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NBDBROKER_API_VERSION
#define NBDBROKER_API_VERSION 1
#elif (NBDBROKER_API_VERSION - 0) < 1 || NBDBROKER_API_VERSION > 2
#error "unsupported NBDBROKER_API_VERSION (1 and 2 exist)"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NBDBROKER_PUBLIC	__attribute__((__visibility__("default")))
#define NBDBROKER_PRINTF(f, a)	__attribute__((__format__(__printf__, f, a)))
#else
#define NBDBROKER_PUBLIC
#define NBDBROKER_PRINTF(f, a)
#endif

/* Thread models, least to most parallel.  See THREAD_MODEL. */
#define NBDBROKER_THREAD_MODEL_SERIALIZE_CONNECTIONS	0
#define NBDBROKER_THREAD_MODEL_SERIALIZE_ALL_REQUESTS	1
#define NBDBROKER_THREAD_MODEL_SERIALIZE_REQUESTS	2
#define NBDBROKER_THREAD_MODEL_PARALLEL			3

/* Flags passed to data callbacks (API 2). */
#define NBDBROKER_FLAG_MAY_TRIM		(1 << 0) /* zero: may punch holes */
#define NBDBROKER_FLAG_FUA		(1 << 1) /* persist before returning */
#define NBDBROKER_FLAG_REQ_ONE		(1 << 2) /* extents: one is enough */
#define NBDBROKER_FLAG_FAST_ZERO	(1 << 3) /* zero: fail if not fast */

/* Return values of can_fua. */
#define NBDBROKER_FUA_NONE	0
#define NBDBROKER_FUA_EMULATE	1	/* worker calls flush after the write */
#define NBDBROKER_FUA_NATIVE	2	/* plugin honours NBDBROKER_FLAG_FUA */

/* Return values of can_cache. */
#define NBDBROKER_CACHE_NONE	0
#define NBDBROKER_CACHE_EMULATE	1	/* worker reads and discards */
#define NBDBROKER_CACHE_NATIVE	2

/* Extent types for nbdbroker_add_extent. */
#define NBDBROKER_EXTENT_HOLE	(1 << 0)
#define NBDBROKER_EXTENT_ZERO	(1 << 1)

/*
 * What survives when a worker dies (the `durability` member).  The
 * broker restarts stateless and persistent plugins invisibly; after a
 * volatile plugin that accepted writes dies, its clients get errors.
 */
#define NBDBROKER_DURABILITY_UNSPECIFIED	0	/* treated as volatile */
#define NBDBROKER_DURABILITY_STATELESS		1
#define NBDBROKER_DURABILITY_PERSISTENT		2
#define NBDBROKER_DURABILITY_VOLATILE		3

/* A handle for plugins that need no per-connection state. */
#define NBDBROKER_HANDLE_NOT_NEEDED	((void *)&errno)

struct nbdbroker_extents;
struct nbdbroker_exports;

struct nbdbroker_plugin {
	/* Set by NBDBROKER_REGISTER_PLUGIN; do not assign. */
	uint64_t	  _struct_size;
	int		  _api_version;
	int		  _thread_model;

	/* Append only: never reorder, remove or retype a member. */
	const char	 *name;		/* required: [a-z0-9_-]+ */
	const char	 *longname;
	const char	 *version;
	const char	 *description;

	void		(*load)(void);
	void		(*unload)(void);

	int		(*config)(const char *key, const char *value);
	int		(*config_complete)(void);
	const char	 *config_help;

	void		*(*open)(int readonly);		/* required */
	void		(*close)(void *handle);

	int64_t		(*get_size)(void *handle);	/* required */

	int		(*can_write)(void *handle);
	int		(*can_flush)(void *handle);
	int		(*is_rotational)(void *handle);
	int		(*can_trim)(void *handle);

#if NBDBROKER_API_VERSION == 1
	int		(*pread)(void *handle, void *buf, uint32_t count,
			    uint64_t offset);
	int		(*pwrite)(void *handle, const void *buf,
			    uint32_t count, uint64_t offset);
	int		(*flush)(void *handle);
	int		(*trim)(void *handle, uint32_t count, uint64_t offset);
	int		(*zero)(void *handle, uint32_t count, uint64_t offset,
			    int may_trim);
#else
	int		(*_pread_v1)(void *, void *, uint32_t, uint64_t);
	int		(*_pwrite_v1)(void *, const void *, uint32_t,
			    uint64_t);
	int		(*_flush_v1)(void *);
	int		(*_trim_v1)(void *, uint32_t, uint64_t);
	int		(*_zero_v1)(void *, uint32_t, uint64_t, int);
#endif

	/* Nonzero: callbacks leave errno meaningful on failure. */
	int		  errno_is_preserved;

	void		(*dump_plugin)(void);

	int		(*can_zero)(void *handle);
	int		(*can_fua)(void *handle);

#if NBDBROKER_API_VERSION == 1
	int		(*_unused1)(void *, void *, uint32_t, uint64_t,
			    uint32_t);
	int		(*_unused2)(void *, const void *, uint32_t, uint64_t,
			    uint32_t);
	int		(*_unused3)(void *, uint32_t);
	int		(*_unused4)(void *, uint32_t, uint64_t, uint32_t);
	int		(*_unused5)(void *, uint32_t, uint64_t, uint32_t);
#else
	int		(*pread)(void *handle, void *buf, uint32_t count,
			    uint64_t offset, uint32_t flags);
	int		(*pwrite)(void *handle, const void *buf,
			    uint32_t count, uint64_t offset, uint32_t flags);
	int		(*flush)(void *handle, uint32_t flags);
	int		(*trim)(void *handle, uint32_t count, uint64_t offset,
			    uint32_t flags);
	int		(*zero)(void *handle, uint32_t count, uint64_t offset,
			    uint32_t flags);
#endif

	/* A bare word on the command line is taken as this key's value. */
	const char	 *magic_config_key;

	int		(*can_multi_conn)(void *handle);

	int		(*can_extents)(void *handle);
	int		(*extents)(void *handle, uint32_t count,
			    uint64_t offset, uint32_t flags,
			    struct nbdbroker_extents *extents);
	int		(*can_cache)(void *handle);
	int		(*cache)(void *handle, uint32_t count, uint64_t offset,
			    uint32_t flags);

	int		(*thread_model)(void);

	int		(*can_fast_zero)(void *handle);

	int		(*preconnect)(int readonly);

	int		(*get_ready)(void);
	int		(*after_fork)(void);

	int		(*list_exports)(int readonly, int is_tls,
			    struct nbdbroker_exports *exports);
	const char	*(*default_export)(int readonly, int is_tls);
	const char	*(*export_description)(void *handle);

	void		(*cleanup)(void);

	int		(*block_size)(void *handle, uint32_t *minimum,
			    uint32_t *preferred, uint32_t *maximum);

	/* nbdbroker only, from here on. */
	int		  durability;	/* NBDBROKER_DURABILITY_* */
};

/*
 * Defines the entry point the worker looks up.  THREAD_MODEL must be
 * defined (to one of NBDBROKER_THREAD_MODEL_*) before this is used.
 */
#ifdef __cplusplus
#define NBDBROKER_CXX_LANG_C	extern "C"
#else
#define NBDBROKER_CXX_LANG_C
#endif

#define NBDBROKER_REGISTER_PLUGIN(plugin)				\
	NBDBROKER_CXX_LANG_C NBDBROKER_PUBLIC struct nbdbroker_plugin *	\
	nbdbroker_plugin_register(void);				\
	NBDBROKER_CXX_LANG_C NBDBROKER_PUBLIC struct nbdbroker_plugin *	\
	nbdbroker_plugin_register(void)					\
	{								\
		(plugin)._struct_size = sizeof(plugin);			\
		(plugin)._api_version = NBDBROKER_API_VERSION;		\
		(plugin)._thread_model = THREAD_MODEL;			\
		return &(plugin);					\
	}

/* Helpers provided by the worker. */

/* Report an error; the message goes to the broker's log. */
extern void	nbdbroker_error(const char *fmt, ...) NBDBROKER_PRINTF(1, 2);
extern void	nbdbroker_verror(const char *fmt, va_list args)
		    NBDBROKER_PRINTF(1, 0);
/* A debug message, shown only with the broker's -v. */
extern void	nbdbroker_debug(const char *fmt, ...) NBDBROKER_PRINTF(1, 2);
extern void	nbdbroker_vdebug(const char *fmt, va_list args)
		    NBDBROKER_PRINTF(1, 0);
/* Set the errno the client sees for the failing callback. */
extern void	nbdbroker_set_error(int err);

extern char	*nbdbroker_absolute_path(const char *path);
extern char	*nbdbroker_realpath(const char *path);
/* "1G", "512k", "4096", "2GiB", "8s" (sectors) -> bytes, or -1 with an
 * error logged.  Integers only, one suffix, powers of 1024; "1GB" is
 * refused as ambiguous. */
extern int64_t	 nbdbroker_parse_size(const char *str);
/* 1/0 for true/false words, -1 with an error logged. */
extern int	 nbdbroker_parse_bool(const char *str);
extern int	 nbdbroker_parse_int(const char *what, const char *str, int *r);
extern int	 nbdbroker_parse_unsigned(const char *what, const char *str,
		    unsigned *r);
extern int	 nbdbroker_parse_int8_t(const char *what, const char *str,
		    int8_t *r);
extern int	 nbdbroker_parse_uint8_t(const char *what, const char *str,
		    uint8_t *r);
extern int	 nbdbroker_parse_int16_t(const char *what, const char *str,
		    int16_t *r);
extern int	 nbdbroker_parse_uint16_t(const char *what, const char *str,
		    uint16_t *r);
extern int	 nbdbroker_parse_int32_t(const char *what, const char *str,
		    int32_t *r);
extern int	 nbdbroker_parse_uint32_t(const char *what, const char *str,
		    uint32_t *r);
extern int	 nbdbroker_parse_int64_t(const char *what, const char *str,
		    int64_t *r);
extern int	 nbdbroker_parse_uint64_t(const char *what, const char *str,
		    uint64_t *r);
extern int	 nbdbroker_read_password(const char *value, char **password);
extern int	 nbdbroker_nanosleep(unsigned sec, unsigned nsec);
extern int	 nbdbroker_stdio_safe(void);

/* The connection the current callback serves. */
extern const char *nbdbroker_export_name(void);
extern int	 nbdbroker_is_tls(void);
extern int	 nbdbroker_peer_name(struct sockaddr *addr, socklen_t *addrlen);
extern int64_t	 nbdbroker_peer_pid(void);
extern int64_t	 nbdbroker_peer_uid(void);
extern int64_t	 nbdbroker_peer_gid(void);

/* 1 if the server exports read-only (-r), from config on: a plugin can
 * open its files read-only before any connection.  The server refuses
 * writes itself whatever open() is told. */
extern int	 nbdbroker_read_only(void);

/* Ask the server to shut down gracefully.  Only a request: the server
 * honours it where the admin's policy says allow-shutdown = yes (under
 * isolation = connection, by ending this connection only), and
 * otherwise logs it and goes on serving. */
extern void	 nbdbroker_shutdown(void);

/* Strings that live until the current connection (or, outside one,
 * the plugin) is closed. */
extern const char *nbdbroker_strdup_intern(const char *str);
extern const char *nbdbroker_strndup_intern(const char *str, size_t n);
extern const char *nbdbroker_printf_intern(const char *fmt, ...)
		    NBDBROKER_PRINTF(1, 2);
extern const char *nbdbroker_vprintf_intern(const char *fmt, va_list args)
		    NBDBROKER_PRINTF(1, 0);

extern int	 nbdbroker_add_extent(struct nbdbroker_extents *extents,
		    uint64_t offset, uint64_t length, uint32_t type);
extern int	 nbdbroker_add_export(struct nbdbroker_exports *exports,
		    const char *name, const char *description);
extern int	 nbdbroker_use_default_export(struct nbdbroker_exports *exports);

#ifdef __cplusplus
}
#endif

#endif /* NBDBROKER_PLUGIN_H */
