/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sizes as admins and plugin users write them (size.h).  The one
 * grammar for the broker's command line, the policy parser and the
 * plugin SDK: every multiple is a power of 1024, and the suffixes that
 * could also mean a power of 1000 (KB, MB, GB, ...) are refused rather
 * than guessed at.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

/*
 * Why "1MB" is refused, one static message per multiple (messages are
 * static strings, so they cannot quote what was typed).
 */
static const char *const ambiguous[] = {
	"KB is ambiguous (1000 or 1024 bytes?): write K or KiB "
	    "(powers of 1024)",
	"MB is ambiguous (10^6 or 2^20 bytes?): write M or MiB "
	    "(powers of 1024)",
	"GB is ambiguous (10^9 or 2^30 bytes?): write G or GiB "
	    "(powers of 1024)",
	"TB is ambiguous (10^12 or 2^40 bytes?): write T or TiB "
	    "(powers of 1024)",
	"PB is ambiguous (10^15 or 2^50 bytes?): write P or PiB "
	    "(powers of 1024)",
	"EB is ambiguous (10^18 or 2^60 bytes?): write E or EiB "
	    "(powers of 1024)",
};

int
size_parse(const char *s, uint64_t max, uint64_t *v, const char **why)
{
	static const char	 mult[] = "kmgtpe";	/* 2^10 ... 2^60 */
	unsigned long long	 n;
	const char		*m;
	char			*end;
	int			 shift = 0;

	if (!isdigit((unsigned char)*s)) {
		*why = "expected a number";
		return -1;
	}
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno == ERANGE) {
		*why = "too large";
		return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	else if (*end == 's' || *end == 'S') {
		shift = 9;
		end++;
	} else if (*end != '\0' && (m = strchr(mult, tolower((unsigned char)
	    *end))) != NULL) {
		shift = 10 * (int)(m - mult + 1);
		end++;
		/* "1G" and "1GiB" are the same; "1GB" is refused. */
		if (strcmp(end, "iB") == 0)
			end += 2;
		else if (strcmp(end, "B") == 0 || strcmp(end, "b") == 0) {
			*why = ambiguous[m - mult];
			return -1;
		}
	} else if (*end == '.' || *end == ',') {
		*why = "a whole number is needed (write 1536M, not 1.5G)";
		return -1;
	} else if (*end != '\0') {
		*why = "unknown suffix (use b, s, K, M, G, T, P, E, or KiB, "
		    "MiB, GiB, TiB, PiB, EiB)";
		return -1;
	}
	if (*end != '\0') {
		*why = "trailing characters";
		return -1;
	}
	if (n > (max >> shift)) {
		*why = "too large";
		return -1;
	}
	*v = (uint64_t)n << shift;
	return 0;
}
