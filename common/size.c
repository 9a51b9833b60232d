/* SPDX-License-Identifier: BSD-3-Clause */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

int
size_parse(const char *s, uint64_t max, uint64_t *v, const char **why)
{
	unsigned long long	n;
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
	switch (*end) {
	case '\0':				break;
	case 'b': case 'B':			end++; break;
	case 's': case 'S':	shift = 9;	end++; break;
	case 'k': case 'K':	shift = 10;	end++; break;
	case 'm': case 'M':	shift = 20;	end++; break;
	case 'g': case 'G':	shift = 30;	end++; break;
	case 't': case 'T':	shift = 40;	end++; break;
	case 'p': case 'P':	shift = 50;	end++; break;
	case 'e': case 'E':	shift = 60;	end++; break;
	default:
		*why = "unknown suffix (use b, s, k, M, G, T, P or E)";
		return -1;
	}
	/* "1G", "1GB" and "1GiB" (not "1sB": s is not a power of 1024). */
	if (shift > 9 && (strcmp(end, "B") == 0 || strcmp(end, "iB") == 0))
		end += strlen(end);
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
