/* SPDX-License-Identifier: BSD-3-Clause */
#include <config.h>

#include <stddef.h>

#include "names.h"

bool
plugin_name_valid(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
		    s[n] == '_'))
			return false;
	return n > 0 && n <= PLUGIN_NAME_MAX;
}
