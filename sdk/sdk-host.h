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
/* Read all of fd (a password file) into a new string, last newline cut. */
int	sdk_read_secret_fd(int fd, const char *what, char **password);

#endif /* NBDBROKER_SDK_HOST_H */
