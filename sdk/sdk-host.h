/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The contract between the SDK helpers (this directory) and the
 * program that hosts plugins (worker/).  Not installed: plugins see
 * only nbdbroker-plugin.h.
 *
 * The host provides the sdk_host_* functions.  The helpers keep
 * per-thread state: the connection the current callback serves and
 * the errno the plugin set.
 */
#ifndef NBDBROKER_SDK_HOST_H
#define NBDBROKER_SDK_HOST_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Interned strings: freed together when their owner goes away. */
struct sdk_intern {
	char		**strs;
	size_t		  n;
	size_t		  cap;
};

/* Everything the helpers may say about one connection. */
struct sdk_conn {
	const char		*export_name;
	bool			 tls;
	bool			 readonly;
	struct sockaddr_storage	 peer;
	socklen_t		 peer_len;	/* 0: unknown */
	int64_t			 peer_pid;	/* -1: unknown */
	int64_t			 peer_uid;
	int64_t			 peer_gid;
	struct sdk_intern	 intern;
};

struct sdk_extent {
	uint64_t	offset;
	uint64_t	length;
	uint32_t	type;
};

/*
 * Filled by the plugin's extents callback for [start, end).  Extents
 * must be added in ascending, contiguous order (checked from the first
 * one added, even outside the range); parts outside the range are
 * clipped or ignored; neighbours of the same type merge.
 */
struct nbdbroker_extents {
	uint64_t		 start;
	uint64_t		 end;
	struct sdk_extent	*v;
	size_t			 n;
	size_t			 cap;
	size_t			 max;	/* most extents kept */
	uint64_t		 next;	/* where the next extent must start */
	bool			 any;	/* an extent was added: next is set */
};

struct sdk_export {
	char	*name;
	char	*description;		/* NULL: none */
};

struct nbdbroker_exports {
	struct sdk_export	*v;
	size_t			 n;
	size_t			 cap;
	bool			 use_default;	/* nbdbroker_use_default_export */
};

#define SDK_MAX_EXPORTS		10000
#define SDK_MAX_NAME		4096
#define SDK_MAX_EXTENTS		(1u << 16)

/* Provided by the host. */
void	sdk_host_log(int level, const char *msg);
void	sdk_host_shutdown(void);
bool	sdk_host_read_only(void);

/* Per-thread context, set by the host around each callback. */
void		 sdk_set_conn(struct sdk_conn *c);
struct sdk_conn	*sdk_get_conn(void);
void		 sdk_reset_error(void);
int		 sdk_get_error(void);	/* 0 if the plugin set none */
/* Interned strings made outside any connection; freed by sdk_cleanup. */
void		 sdk_intern_free(struct sdk_intern *in);
void		 sdk_cleanup(void);

/* Extents and exports lists, owned by the host. */
void	sdk_extents_init(struct nbdbroker_extents *e, uint64_t start,
	    uint64_t end);
void	sdk_extents_free(struct nbdbroker_extents *e);
/* Append [offset, end) (inside the range) of type; merges neighbours. */
int	sdk_extents_push(struct nbdbroker_extents *e, uint64_t offset,
	    uint64_t end, uint32_t type);
void	sdk_exports_free(struct nbdbroker_exports *x);

/* Shared by the log helpers and the parse functions. */
void	sdk_log_fmt(int level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/*
 * Integer and boolean parsing, shared by our nbdbroker_parse_* and
 * nbdkit's nbdkit_parse_* (worker/nbdkit-abi.c): one conversion and one
 * set of checks, with each API's own messages.  The number is decimal,
 * 0x hex or 0 octal and must be the whole string.
 */
enum sdk_int_result {
	SDK_INT_OK,
	SDK_INT_NEGATIVE,	/* a '-' before an unsigned number */
	SDK_INT_EMPTY,		/* no digits at all */
	SDK_INT_BLANK,		/* leading blanks, without SDK_INT_BLANKS_OK */
	SDK_INT_TRAILING,	/* characters after the number */
	SDK_INT_OVERFLOW,	/* too large for strtoimax/strtoumax */
	SDK_INT_RANGE,		/* outside the type's range */
};

struct sdk_int_dialect {
	unsigned	 flags;
#define SDK_INT_BLANKS_OK	0x01	/* leading blanks are skipped */
#define SDK_INT_OVERFLOW_FIRST	0x02	/* overflow beats trailing garbage */
	/* Log why str was refused; errno is already set (EINVAL, ERANGE). */
	void		(*complain)(enum sdk_int_result res, const char *what,
			    const char *str);
};

/* 0 and *r set, or -1 with errno set and the reason logged. */
int	sdk_parse_signed(const struct sdk_int_dialect *d, const char *what,
	    const char *str, intmax_t min, intmax_t max, intmax_t *r);
int	sdk_parse_unsigned(const struct sdk_int_dialect *d, const char *what,
	    const char *str, uintmax_t max, uintmax_t *r);

/* Define one API's ten PREFIX_parse_<type> functions over dialect d. */
#define SDK_INT_PARSER(vis, name, type, lo, hi, d)			\
vis int									\
name(const char *what, const char *str, type *r)			\
{									\
	intmax_t	v;						\
									\
	if (sdk_parse_signed((d), what, str, (lo), (hi), &v) == -1)	\
		return -1;						\
	if (r != NULL)							\
		*r = (type)v;						\
	return 0;							\
}
#define SDK_UINT_PARSER(vis, name, type, hi, d)				\
vis int									\
name(const char *what, const char *str, type *r)			\
{									\
	uintmax_t	v;						\
									\
	if (sdk_parse_unsigned((d), what, str, (hi), &v) == -1)		\
		return -1;						\
	if (r != NULL)							\
		*r = (type)v;						\
	return 0;							\
}
#define SDK_DEFINE_INT_PARSERS(vis, prefix, d)				\
SDK_INT_PARSER(vis, prefix##_parse_int, int, INT_MIN, INT_MAX, d)	\
SDK_INT_PARSER(vis, prefix##_parse_int8_t, int8_t, INT8_MIN, INT8_MAX, d) \
SDK_INT_PARSER(vis, prefix##_parse_int16_t, int16_t, INT16_MIN,	\
    INT16_MAX, d)							\
SDK_INT_PARSER(vis, prefix##_parse_int32_t, int32_t, INT32_MIN,	\
    INT32_MAX, d)							\
SDK_INT_PARSER(vis, prefix##_parse_int64_t, int64_t, INT64_MIN,	\
    INT64_MAX, d)							\
SDK_UINT_PARSER(vis, prefix##_parse_unsigned, unsigned, UINT_MAX, d)	\
SDK_UINT_PARSER(vis, prefix##_parse_uint8_t, uint8_t, UINT8_MAX, d)	\
SDK_UINT_PARSER(vis, prefix##_parse_uint16_t, uint16_t, UINT16_MAX, d) \
SDK_UINT_PARSER(vis, prefix##_parse_uint32_t, uint32_t, UINT32_MAX, d) \
SDK_UINT_PARSER(vis, prefix##_parse_uint64_t, uint64_t, UINT64_MAX, d)

/* 1 or 0 for the words both APIs take as true or false, else -1. */
int	sdk_bool_word(const char *str);

/* Read all of fd (a password file) into a new string, last newline cut. */
int	sdk_read_secret_fd(int fd, const char *what, char **password);

#endif /* NBDBROKER_SDK_HOST_H */
