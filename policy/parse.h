/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy parser's insides, shared by parse.c (lines, sections,
 * the checks at the end) and parse-keys.c (each section's keys).  Not
 * an interface: policy.h is.
 */
#ifndef NBDBROKER_POLICY_PARSE_H
#define NBDBROKER_POLICY_PARSE_H

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define MAX_TOKENS	512

enum section {
	SEC_TOP,
	SEC_SYSCALLS,
	SEC_FILESYSTEM,
	SEC_NETWORK,
	SEC_LIMITS,
	SEC_RESTART,
	SEC_COUNT,
};

/* Scalar keys: each may be set once. */
enum scalar {
	K_FORMAT, K_MODE, K_ISOLATION, K_USER, K_MAGIC, K_DURABILITY,
	K_DEFAULT, K_LANDLOCK, K_NET_ALLOW, K_MEMORY, K_OPEN_FILES, K_CPU,
	K_TIMEOUT, K_REPLAYS, K_INTENSITY, K_SHUTDOWN, K_NET_HOSTS, K_BEHALF,
	K_COUNT,
};

/* What the parser knows about one syscall while reading. */
struct acc {
	uint32_t	 startup;
	uint32_t	 serving;
	bool		 kill;
	int		 allow_line;
	const char	*allow_via;
	int		 kill_line;
	const char	*kill_via;
};

struct parser {
	const char	*file;
	int		 line;
	char		*err;
	size_t		 errlen;
	struct policy	*p;
	enum section	 sec;
	bool		 seen_sec[SEC_COUNT];
	int		 seen_key[K_COUNT];	/* line, 0: not yet */
	bool		 format_seen;
	int		 net_line;
	struct acc	*acc;			/* [POLICY_MAX_NR] */
	/* Scratch for the tokens of one line. */
	char		*tok[MAX_TOKENS];
	size_t		 ntok;
};

/* "", then each section's name, as written between brackets. */
extern const char *const parse_section_names[SEC_COUNT + 1];

/* The key in ps->tok's line, in section ps->sec: 0, or -1 with the error. */
int	parse_key(struct parser *ps, const char *key);

static inline int
perr(struct parser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the error "file:line: message"; returns -1. */
static inline int
perr(struct parser *ps, int line, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->file, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

/* "a, b, c or d" from a NULL-terminated list, into buf. */
static inline const char *
word_list(const char *const *names, const char *last_sep, char *buf,
    size_t len)
{
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
		    i == 0 ? "" : names[i + 1] == NULL ? last_sep : ", ",
		    names[i]);
	return buf;
}

/* Is s a non-empty word of letters, digits, _ and extra? */
static inline bool
word_chars(const char *s, const char *extra)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' &&
		    strchr(extra, *s) == NULL)
			return false;
	return true;
}

#endif /* NBDBROKER_POLICY_PARSE_H */
