/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The nbdkit ABI: the nbdkit_* functions unmodified nbdkit plugins
 * import (exported to them through nbdkit-abi.syms), and the rules the
 * worker applies to an nbdkit plugin that differ from ours (debug
 * flags, durability by plugin name, PATH).
 *
 * Written from nbdkit's documentation (nbdkit-plugin(3), the list
 * and extents functions of nbdkit-filter(3)) and checked against nbdkit 1.32's
 * observable behaviour.  Where nbdkit's semantics differ from our
 * SDK's (size suffixes, error texts, the add_extent rules, peer_name
 * truncation, password trimming), these follow nbdkit; the rest share
 * the SDK's code and per-thread state.  Runs inside plugin callbacks,
 * on any worker thread; never called by our own plugins.  nbdkit_ is
 * nbdkit's namespace: the worker's own functions here are abi_*.
 */
#include <config.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "worker.h"

/* nbdkit-filter.h's element types, returned by value. */
struct nbdkit_extent {
	uint64_t	offset;
	uint64_t	length;
	uint32_t	type;
};

struct nbdkit_export {
	char		*name;
	char		*description;
};

_Static_assert(sizeof(struct nbdkit_extent) == sizeof(struct sdk_extent),
    "extent layout");
_Static_assert(sizeof(struct nbdkit_export) == sizeof(struct sdk_export),
    "export layout");

/*
 * The exported functions, declared here because nothing in the worker
 * calls them: they exist for plugin code only.  nbdkit's opaque list
 * types are our own lists.
 */
#define ABI_PUBLIC	__attribute__((__visibility__("default")))
#define ABI_PRINTF(f, a) __attribute__((__format__(__printf__, f, a)))

ABI_PUBLIC void nbdkit_error(const char *, ...) ABI_PRINTF(1, 2);
ABI_PUBLIC void nbdkit_verror(const char *, va_list) ABI_PRINTF(1, 0);
ABI_PUBLIC void nbdkit_debug(const char *, ...) ABI_PRINTF(1, 2);
ABI_PUBLIC void nbdkit_vdebug(const char *, va_list) ABI_PRINTF(1, 0);
ABI_PUBLIC void nbdkit_set_error(int);
ABI_PUBLIC char *nbdkit_absolute_path(const char *);
ABI_PUBLIC char *nbdkit_realpath(const char *);
ABI_PUBLIC int64_t nbdkit_parse_size(const char *);
ABI_PUBLIC int nbdkit_parse_bool(const char *);
ABI_PUBLIC int nbdkit_parse_int(const char *, const char *, int *);
ABI_PUBLIC int nbdkit_parse_unsigned(const char *, const char *,
    unsigned *);
ABI_PUBLIC int nbdkit_parse_int8_t(const char *, const char *, int8_t *);
ABI_PUBLIC int nbdkit_parse_uint8_t(const char *, const char *,
    uint8_t *);
ABI_PUBLIC int nbdkit_parse_int16_t(const char *, const char *,
    int16_t *);
ABI_PUBLIC int nbdkit_parse_uint16_t(const char *, const char *,
    uint16_t *);
ABI_PUBLIC int nbdkit_parse_int32_t(const char *, const char *,
    int32_t *);
ABI_PUBLIC int nbdkit_parse_uint32_t(const char *, const char *,
    uint32_t *);
ABI_PUBLIC int nbdkit_parse_int64_t(const char *, const char *,
    int64_t *);
ABI_PUBLIC int nbdkit_parse_uint64_t(const char *, const char *,
    uint64_t *);
ABI_PUBLIC int nbdkit_read_password(const char *, char **);
ABI_PUBLIC int nbdkit_stdio_safe(void);
ABI_PUBLIC int nbdkit_nanosleep(unsigned, unsigned);
ABI_PUBLIC const char *nbdkit_export_name(void);
ABI_PUBLIC int nbdkit_is_tls(void);
ABI_PUBLIC int nbdkit_peer_name(struct sockaddr *, socklen_t *);
ABI_PUBLIC int64_t nbdkit_peer_pid(void);
ABI_PUBLIC int64_t nbdkit_peer_uid(void);
ABI_PUBLIC int64_t nbdkit_peer_gid(void);
ABI_PUBLIC void nbdkit_shutdown(void);
ABI_PUBLIC const char *nbdkit_strdup_intern(const char *);
ABI_PUBLIC const char *nbdkit_strndup_intern(const char *, size_t);
ABI_PUBLIC const char *nbdkit_printf_intern(const char *, ...)
    ABI_PRINTF(1, 2);
ABI_PUBLIC const char *nbdkit_vprintf_intern(const char *, va_list)
    ABI_PRINTF(1, 0);
ABI_PUBLIC int nbdkit_add_extent(struct nbdbroker_extents *, uint64_t,
    uint64_t, uint32_t);
ABI_PUBLIC struct nbdbroker_extents *nbdkit_extents_new(uint64_t,
    uint64_t);
ABI_PUBLIC void nbdkit_extents_free(struct nbdbroker_extents *);
ABI_PUBLIC size_t nbdkit_extents_count(const struct nbdbroker_extents *);
ABI_PUBLIC struct nbdkit_extent nbdkit_get_extent(
    const struct nbdbroker_extents *, size_t);
ABI_PUBLIC struct nbdbroker_extents *nbdkit_extents_full(struct ctx *,
    uint32_t, uint64_t, uint32_t, int *);
ABI_PUBLIC int nbdkit_extents_aligned(struct ctx *, uint32_t, uint64_t,
    uint32_t, uint32_t, struct nbdbroker_extents *, int *);
ABI_PUBLIC int nbdkit_add_export(struct nbdbroker_exports *, const char *,
    const char *);
ABI_PUBLIC int nbdkit_use_default_export(struct nbdbroker_exports *);
ABI_PUBLIC struct nbdbroker_exports *nbdkit_exports_new(void);
ABI_PUBLIC void nbdkit_exports_free(struct nbdbroker_exports *);
ABI_PUBLIC size_t nbdkit_exports_count(const struct nbdbroker_exports *);
ABI_PUBLIC struct nbdkit_export nbdkit_get_export(
    const struct nbdbroker_exports *, size_t);

/* Messages. */

ABI_PUBLIC void
nbdkit_verror(const char *fmt, va_list args)
{
	sdk_log_fmt(LOG_ERR, fmt, args);
}

ABI_PUBLIC void
nbdkit_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sdk_log_fmt(LOG_ERR, fmt, ap);
	va_end(ap);
}

ABI_PUBLIC void
nbdkit_vdebug(const char *fmt, va_list args)
{
	sdk_log_fmt(LOG_DEBUG, fmt, args);
}

ABI_PUBLIC void
nbdkit_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sdk_log_fmt(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

ABI_PUBLIC void
nbdkit_set_error(int err)
{
	nbdbroker_set_error(err);
}

/* Parsing, with nbdkit's accepted forms and error texts. */

/*
 * A size in bytes: a decimal number (leading blanks and a sign
 * allowed, as strtoimax takes them) and at most one suffix letter: b,
 * k, M, G, T, P, E (powers of 1024, either case) or s (512-byte
 * sectors).  No "MB" or "MiB", no fractions, no hex.
 */
ABI_PUBLIC int64_t
nbdkit_parse_size(const char *str)
{
	char		*end;
	intmax_t	 v;
	int64_t		 scale = 1;
	int		 shift = 0;

	errno = 0;
	v = strtoimax(str, &end, 10);
	if (end == str) {
		nbdkit_error("could not parse size string (%s)", str);
		return -1;
	}
	if (v < 0) {
		nbdkit_error("size cannot be negative (%s)", str);
		return -1;
	}
	if (errno != 0 || v > INT64_MAX) {
		nbdkit_error("size (%s) exceeds maximum value", str);
		return -1;
	}
	switch (*end) {
	case '\0':
	case 'b': case 'B':		break;
	case 'k': case 'K':	shift = 10; break;
	case 'm': case 'M':	shift = 20; break;
	case 'g': case 'G':	shift = 30; break;
	case 't': case 'T':	shift = 40; break;
	case 'p': case 'P':	shift = 50; break;
	case 'e': case 'E':	shift = 60; break;
	case 's': case 'S':	scale = 512; break;
	default:
		goto bad_suffix;
	}
	if (*end != '\0' && end[1] != '\0')
		goto bad_suffix;
	if (shift > 0)
		scale = INT64_C(1) << shift;
	if (v > INT64_MAX / scale) {
		nbdkit_error("overflow computing size (%s)", str);
		return -1;
	}
	return (int64_t)v * scale;

 bad_suffix:
	nbdkit_error("could not parse size: unknown suffix '%s'", end);
	return -1;
}

ABI_PUBLIC int
nbdkit_parse_bool(const char *str)
{
	int	r;

	if ((r = sdk_bool_word(str)) == -1)
		nbdkit_error("could not decipher boolean (%s)", str);
	return r;
}

/*
 * nbdkit's integer dialect: leading blanks are skipped, a number too
 * large for strtoimax is reported before trailing characters, and each
 * failure has its own text.
 */
static void
abi_int_complain(enum sdk_int_result res, const char *what, const char *str)
{
	switch (res) {
	case SDK_INT_NEGATIVE:
		nbdkit_error("%s: negative numbers are not allowed", what);
		break;
	case SDK_INT_EMPTY:
		nbdkit_error("%s: empty string where we expected a number",
		    what);
		break;
	case SDK_INT_OVERFLOW:
	case SDK_INT_RANGE:
		nbdkit_error("%s: could not parse number: \"%s\": %m",
		    what, str);
		break;
	default:
		nbdkit_error("%s: could not parse number: \"%s\": "
		    "trailing garbage", what, str);
		break;
	}
}

static const struct sdk_int_dialect	abi_ints = {
	.flags = SDK_INT_BLANKS_OK | SDK_INT_OVERFLOW_FIRST,
	.complain = abi_int_complain,
};

SDK_DEFINE_INT_PARSERS(ABI_PUBLIC, nbdkit, &abi_ints)

/* Paths, passwords, stdio, sleeping. */

ABI_PUBLIC char *
nbdkit_absolute_path(const char *path)
{
	return nbdbroker_absolute_path(path);
}

ABI_PUBLIC char *
nbdkit_realpath(const char *path)
{
	return nbdbroker_realpath(path);
}

/*
 * PASSWORD (taken as is), +FILE (the file's contents, all trailing
 * newlines cut, but not carriage returns), or, in nbdkit, "-" (the
 * terminal) and -FD (an inherited descriptor).  A worker has neither a
 * terminal nor the user's descriptors, so those two fail clearly.
 */
ABI_PUBLIC int
nbdkit_read_password(const char *value, char **password)
{
	size_t	len;
	int	fd, r;

	*password = NULL;
	if (strcmp(value, "-") == 0) {
		nbdkit_error("stdin is not a tty, cannot read password "
		    "interactively (nbdbroker runs plugins in a worker "
		    "without a terminal: use password=+FILE)");
		errno = ENOTTY;
		return -1;
	}
	if (value[0] == '-') {
		nbdkit_error("password=%s: nbdbroker does not pass file "
		    "descriptors to its workers: use password=+FILE", value);
		errno = EBADF;
		return -1;
	}
	if (value[0] != '+') {
		if ((*password = strdup(value)) == NULL) {
			nbdkit_error("strdup: %m");
			return -1;
		}
		return 0;
	}
	if ((fd = open(value + 1, O_RDONLY | O_CLOEXEC)) == -1) {
		nbdkit_error("open %s: %m", value + 1);
		return -1;
	}
	r = sdk_read_secret_fd(fd, value + 1, password);
	close(fd);
	if (r == -1)
		return -1;
	len = strlen(*password);
	while (len > 0 && (*password)[len - 1] == '\n')
		(*password)[--len] = '\0';
	return 0;
}

ABI_PUBLIC int
nbdkit_stdio_safe(void)
{
	/* A worker's stdin is /dev/null and its stdout goes to the log. */
	return 0;
}

ABI_PUBLIC int
nbdkit_nanosleep(unsigned sec, unsigned nsec)
{
	struct timespec	ts;

	if (sec > INT_MAX || (sec == INT_MAX && nsec >= 1000000000u)) {
		nbdkit_error("nbdkit_nanosleep: cannot sleep longer than "
		    "%d seconds", INT_MAX);
		errno = EINVAL;
		return -1;
	}
	ts.tv_sec = (time_t)sec + nsec / 1000000000u;
	ts.tv_nsec = nsec % 1000000000u;
	while (nanosleep(&ts, &ts) == -1) {
		if (errno != EINTR) {
			nbdkit_error("nanosleep: %m");
			return -1;
		}
	}
	return 0;
}

/* The current connection. */

ABI_PUBLIC const char *
nbdkit_export_name(void)
{
	if (sdk_get_conn() == NULL) {
		nbdkit_error("no connection in this thread");
		return NULL;
	}
	return sdk_get_conn()->export_name;
}

ABI_PUBLIC int
nbdkit_is_tls(void)
{
	if (sdk_get_conn() == NULL) {
		nbdkit_error("no connection in this thread");
		return -1;
	}
	return sdk_get_conn()->tls;
}

/* getpeername(2) semantics: a short buffer truncates the address. */
ABI_PUBLIC int
nbdkit_peer_name(struct sockaddr *addr, socklen_t *addrlen)
{
	const struct sdk_conn	*c = sdk_get_conn();
	socklen_t		 n;

	if (c == NULL) {
		nbdkit_error("no connection in this thread");
		return -1;
	}
	if (c->peer_len == 0) {
		nbdkit_error("nbdkit_peer_name: the client's address is "
		    "not known");
		return -1;
	}
	n = *addrlen < c->peer_len ? *addrlen : c->peer_len;
	memcpy(addr, &c->peer, n);
	*addrlen = c->peer_len;
	return 0;
}

ABI_PUBLIC int64_t
nbdkit_peer_pid(void)
{
	return nbdbroker_peer_pid();
}

ABI_PUBLIC int64_t
nbdkit_peer_uid(void)
{
	return nbdbroker_peer_uid();
}

ABI_PUBLIC int64_t
nbdkit_peer_gid(void)
{
	return nbdbroker_peer_gid();
}

ABI_PUBLIC void
nbdkit_shutdown(void)
{
	nbdbroker_shutdown();
}

/* Interned strings: the SDK's pools (per connection, else global). */

ABI_PUBLIC const char *
nbdkit_strdup_intern(const char *str)
{
	return nbdbroker_strdup_intern(str);
}

ABI_PUBLIC const char *
nbdkit_strndup_intern(const char *str, size_t n)
{
	return nbdbroker_strndup_intern(str, n);
}

ABI_PUBLIC const char *
nbdkit_vprintf_intern(const char *fmt, va_list args)
{
	return nbdbroker_vprintf_intern(fmt, args);
}

ABI_PUBLIC const char *
nbdkit_printf_intern(const char *fmt, ...)
{
	va_list		 ap;
	const char	*r;

	va_start(ap, fmt);
	r = nbdbroker_vprintf_intern(fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Extents, nbdkit's rules: contiguous and ascending from the first
 * extent added; extents wholly before the range or from its end on
 * are ignored, one straddling an edge is clipped (a length past the
 * largest disk means "to the end"); the first extent kept must not
 * start after the range does.  Only the four documented
 * types are accepted (the broker passes types to clients unchanged).
 */
ABI_PUBLIC int
nbdkit_add_extent(struct nbdbroker_extents *e, uint64_t offset,
    uint64_t length, uint32_t type)
{
	uint64_t	end;

	if (e->any && offset != e->next) {
		nbdkit_error("nbdkit_add_extent: extents must be added in "
		    "ascending order and must be contiguous");
		errno = ERANGE;
		return -1;
	}
	if (type & ~(uint32_t)(NBDBROKER_EXTENT_HOLE |
	    NBDBROKER_EXTENT_ZERO)) {
		nbdkit_error("nbdkit_add_extent: unknown extent type 0x%"
		    PRIx32, type);
		errno = EINVAL;
		return -1;
	}
	/* Past the largest disk (even past 2^64) is to the end. */
	end = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
	e->any = true;
	e->next = end;
	if (length == 0 || offset >= e->end)
		return 0;
	if (end > e->end)
		end = e->end;
	if (e->n == 0) {
		if (end <= e->start)
			return 0;
		if (offset > e->start) {
			nbdkit_error("nbdkit_add_extent: first extent must "
			    "not be > start (%" PRIu64 ")", e->start);
			errno = ERANGE;
			return -1;
		}
		offset = e->start;
	}
	if (sdk_extents_push(e, offset, end, type) == -1) {
		nbdkit_error("nbdkit_add_extent: %m");
		return -1;
	}
	return 0;
}

/* Extents lists a plugin (or filter code) makes for itself. */
ABI_PUBLIC struct nbdbroker_extents *
nbdkit_extents_new(uint64_t start, uint64_t end)
{
	struct nbdbroker_extents	*e;

	if (start > INT64_MAX || end > INT64_MAX || start >= end) {
		nbdkit_error("nbdkit_extents_new: invalid range [%" PRIu64
		    ", %" PRIu64 ")", start, end);
		errno = ERANGE;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		nbdkit_error("nbdkit_extents_new: %m");
		return NULL;
	}
	sdk_extents_init(e, start, end);
	return e;
}

/* Frees only lists from nbdkit_extents_new; the host owns the rest. */
ABI_PUBLIC void
nbdkit_extents_free(struct nbdbroker_extents *e)
{
	if (e == NULL)
		return;
	sdk_extents_free(e);
	free(e);
}

ABI_PUBLIC size_t
nbdkit_extents_count(const struct nbdbroker_extents *e)
{
	return e->n;
}

ABI_PUBLIC struct nbdkit_extent
nbdkit_get_extent(const struct nbdbroker_extents *e, size_t i)
{
	struct nbdkit_extent	r = { 0, 0, 0 };

	if (i < e->n) {
		r.offset = e->v[i].offset;
		r.length = e->v[i].length;
		r.type = e->v[i].type;
	}
	return r;
}

/*
 * Filters' helpers over the layer below (nbdkit-filter(3)).  The full
 * extents of [offset, offset + count): as many calls to next as it
 * takes, REQ_ONE dropped.  Returns a new list (nbdkit_extents_free), or
 * NULL with *err set.
 */
ABI_PUBLIC struct nbdbroker_extents *
nbdkit_extents_full(struct ctx *next, uint32_t count, uint64_t offset,
    uint32_t flags, int *err)
{
	struct nbdbroker_extents	*all, *part = NULL;
	uint64_t			 pos = offset, end = offset + count;
	size_t				 i;

	if ((all = nbdkit_extents_new(offset, end)) == NULL) {
		*err = errno;
		return NULL;
	}
	flags &= ~NBDBROKER_FLAG_REQ_ONE;
	while (pos < end) {
		if ((part = nbdkit_extents_new(pos, end)) == NULL) {
			*err = errno;
			goto err;
		}
		if (next->ops.extents(next, end - pos, pos, flags, part,
		    err) == -1)
			goto err;
		if (part->n == 0) {
			nbdkit_error("nbdkit_extents_full: the layer below "
			    "returned no extents at offset %" PRIu64, pos);
			*err = EIO;
			goto err;
		}
		for (i = 0; i < part->n; i++)
			if (nbdkit_add_extent(all, part->v[i].offset,
			    part->v[i].length, part->v[i].type) == -1) {
				*err = errno;
				goto err;
			}
		pos = part->v[part->n - 1].offset + part->v[part->n - 1].length;
		nbdkit_extents_free(part);
		part = NULL;
	}
	return all;

 err:
	nbdkit_extents_free(part);
	nbdkit_extents_free(all);
	return NULL;
}

/*
 * The type of the align-byte block at pos, which straddles extents:
 * what all the extents in it have in common.  raw holds extents from
 * *i on; those that end inside the block are consumed, and if raw
 * ends before the block does, the rest is asked of next.  0 or -1
 * with *err set.
 */
static int
abi_block_type(struct ctx *next, const struct nbdbroker_extents *raw,
    size_t *i, uint64_t pos, uint32_t align, uint32_t flags,
    uint32_t *type, int *err)
{
	struct nbdbroker_extents	*more;
	uint64_t			 end = pos + align, got = pos;
	size_t				 k;

	*type = NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO;
	for (; *i < raw->n && got < end; ) {
		const struct sdk_extent	*e = &raw->v[*i];

		*type &= e->type;
		got = e->offset + e->length;
		if (got <= end)
			(*i)++;
	}
	while (got < end) {
		if ((more = nbdkit_extents_new(got, end)) == NULL) {
			*err = errno;
			return -1;
		}
		if (next->ops.extents(next, end - got, got,
		    flags & ~NBDBROKER_FLAG_REQ_ONE, more, err) == -1 ||
		    more->n == 0) {
			if (more->n == 0 && *err == 0) {
				nbdkit_error("nbdkit_extents_aligned: the "
				    "layer below returned no extents at "
				    "offset %" PRIu64, got);
				*err = EIO;
			}
			nbdkit_extents_free(more);
			return -1;
		}
		for (k = 0; k < more->n; k++)
			*type &= more->v[k].type;
		got = more->v[more->n - 1].offset + more->v[more->n - 1].length;
		nbdkit_extents_free(more);
	}
	return 0;
}

/*
 * Extents of [offset, offset + count) from next into ext, every one a
 * multiple of align (a power of 2; offset and count must be aligned):
 * where the layer below reports differing extents within one block,
 * the block is one extent of what they all share.  0, or -1 with *err
 * set.
 */
ABI_PUBLIC int
nbdkit_extents_aligned(struct ctx *next, uint32_t count, uint64_t offset,
    uint32_t flags, uint32_t align, struct nbdbroker_extents *ext, int *err)
{
	struct nbdbroker_extents	*raw;
	uint64_t			 pos = offset, e_end, cut;
	uint32_t			 type;
	size_t				 i = 0;
	int				 r = -1;

	if (align == 0 || (align & (align - 1)) != 0 || offset % align != 0 ||
	    count % align != 0 || count == 0) {
		nbdkit_error("nbdkit_extents_aligned: offset %" PRIu64 " and "
		    "count %" PRIu32 " must be multiples of %" PRIu32 ", a "
		    "power of 2", offset, count, align);
		*err = EINVAL;
		return -1;
	}
	if ((raw = nbdkit_extents_new(offset, offset + count)) == NULL) {
		*err = errno;
		return -1;
	}
	if (next->ops.extents(next, count, offset, flags, raw, err) == -1)
		goto out;
	while (i < raw->n) {
		const struct sdk_extent	*e = &raw->v[i];

		e_end = e->offset + e->length;
		if (e_end <= pos) {
			i++;
			continue;
		}
		/* Whole blocks of one extent pass as they are. */
		cut = e_end - e_end % align;
		if (cut > pos) {
			if (nbdkit_add_extent(ext, pos, cut - pos, e->type) ==
			    -1) {
				*err = errno;
				goto out;
			}
			pos = cut;
			if (cut == e_end) {
				i++;
				continue;
			}
		}
		if (abi_block_type(next, raw, &i, pos, align, flags, &type,
		    err) == -1)
			goto out;
		if (nbdkit_add_extent(ext, pos, align, type) == -1) {
			*err = errno;
			goto out;
		}
		pos += align;
	}
	r = 0;
 out:
	nbdkit_extents_free(raw);
	return r;
}

/* Export lists. */

ABI_PUBLIC int
nbdkit_add_export(struct nbdbroker_exports *x, const char *name,
    const char *description)
{
	return nbdbroker_add_export(x, name, description);
}

ABI_PUBLIC int
nbdkit_use_default_export(struct nbdbroker_exports *x)
{
	return nbdbroker_use_default_export(x);
}

ABI_PUBLIC struct nbdbroker_exports *
nbdkit_exports_new(void)
{
	struct nbdbroker_exports	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		nbdkit_error("nbdkit_exports_new: %m");
	return x;
}

/* Frees only lists from nbdkit_exports_new; the host owns the rest. */
ABI_PUBLIC void
nbdkit_exports_free(struct nbdbroker_exports *x)
{
	if (x == NULL)
		return;
	sdk_exports_free(x);
	free(x);
}

ABI_PUBLIC size_t
nbdkit_exports_count(const struct nbdbroker_exports *x)
{
	return x->n;
}

ABI_PUBLIC struct nbdkit_export
nbdkit_get_export(const struct nbdbroker_exports *x, size_t i)
{
	struct nbdkit_export	r = { NULL, NULL };

	if (i < x->n) {
		r.name = x->v[i].name;
		r.description = x->v[i].description;
	}
	return r;
}

/* Rules for hosting an nbdkit plugin. */

/*
 * What survives a worker restart, by the name of the nbdkit plugin
 * (nbdkit plugins do not say).  Unknown plugins are unspecified,
 * which the broker treats as volatile; the admin's policy can say
 * otherwise.  seed_given tells whether the user passed seed=.
 */
int
abi_durability(const char *name, bool seed_given)
{
	static const struct {
		const char	*name;
		int		 durability;
	} table[] = {
		/* Data lives in a file the worker does not own. */
		{ "file",	NBDBROKER_DURABILITY_PERSISTENT },
		/* Data lives in the worker's memory. */
		{ "memory",	NBDBROKER_DURABILITY_VOLATILE },
		{ "data",	NBDBROKER_DURABILITY_VOLATILE },
		{ "tmpdisk",	NBDBROKER_DURABILITY_VOLATILE },
		/* Contents are a function of the parameters alone. */
		{ "null",	NBDBROKER_DURABILITY_STATELESS },
		{ "zero",	NBDBROKER_DURABILITY_STATELESS },
		{ "full",	NBDBROKER_DURABILITY_STATELESS },
		{ "pattern",	NBDBROKER_DURABILITY_STATELESS },
	};
	size_t	i;

	/* Same seed, same bytes; without one each worker picks its own. */
	if (strcmp(name, "random") == 0 || strcmp(name, "sparse-random") == 0)
		return seed_given ? NBDBROKER_DURABILITY_STATELESS :
		    NBDBROKER_DURABILITY_UNSPECIFIED;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(name, table[i].name) == 0)
			return table[i].durability;
	return NBDBROKER_DURABILITY_UNSPECIFIED;
}

/*
 * Set the plugin's debug flag variable for -D NAME.FLAG=VALUE: an int
 * called NAME_debug_FLAG, with '.' and '-' read as '_' (nbdkit's
 * convention).  Flags for other names, or variables the plugin lacks,
 * are warned about and ignored, as nbdkit does.
 */
void
abi_set_debug_flag(void *dl, const char *plugin, const char *flag,
    const char *value)
{
	char	 sym[256], *p;
	int	*var;
	long	 v;
	size_t	 nlen;

	nlen = strcspn(flag, ".");
	if (flag[nlen] != '.' || flag[nlen + 1] == '\0') {
		log_warn("-D %s: must be NAME.FLAG=N; ignored", flag);
		return;
	}
	if (strncmp(flag, "nbdkit", nlen) == 0 && nlen == 6) {
		log_warn("-D %s: nbdbroker has none of nbdkit's server debug "
		    "flags; ignored", flag);
		return;
	}
	if (strlen(plugin) != nlen || strncmp(flag, plugin, nlen) != 0) {
		log_warn("-D %s: the plugin is called %s; ignored", flag,
		    plugin);
		return;
	}
	if ((size_t)snprintf(sym, sizeof(sym), "%s_debug_%s", plugin,
	    flag + nlen + 1) >= sizeof(sym)) {
		log_warn("-D %s: name too long; ignored", flag);
		return;
	}
	for (p = sym; *p != '\0'; p++)
		if (*p == '.' || *p == '-')
			*p = '_';
	if ((var = dlsym(dl, sym)) == NULL) {
		log_warn("-D %s: %s does not contain a global variable "
		    "called %s", flag, plugin, sym);
		return;
	}
	v = strtol(value, NULL, 0);
	*var = v < INT_MIN ? INT_MIN : v > INT_MAX ? INT_MAX : (int)v;
	log_debug("debug flag %s = %d", sym, *var);
}

/*
 * nbdkit plugins run in the user's environment; the broker gives every
 * worker a fresh one with PATH=WORKER_PATH.  Language plugins (cc, sh,
 * eval) and tmpdisk start programs that need one (gcc finds cc1 and ld
 * through it, tmpdisk runs mkfs from /usr/sbin): a worker started
 * without PATH (by hand, or by an older broker) gets the same.
 */
void
abi_prepare_env(void)
{
	if (getenv("PATH") != NULL)
		return;
	if (setenv("PATH", WORKER_PATH, 0) == -1)
		log_warn("setenv PATH: %s", strerror(errno));
}
