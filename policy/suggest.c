/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "Did you mean ...?" for names an admin typed: syscalls, groups,
 * sections, keys and values in a policy, plugin parameters a policy
 * refers to.  The distance is the optimal string alignment distance
 * (insertions, deletions, substitutions and swaps of two neighbours
 * each cost 1), without regard to case, and only close names are
 * offered: a suggestion far from what was typed is noise.  Pure: no
 * allocation, nothing touches the system.
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define SUGGEST_MAX_LEN		(POLICY_SUGGEST_LEN - 1)

/*
 * The distance between a and b, ignoring case; SUGGEST_MAX_LEN + 1 if
 * either is longer than SUGGEST_MAX_LEN.
 */
static unsigned
distance(const char *a, const char *b)
{
	unsigned	d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
	size_t		la = strlen(a), lb = strlen(b), i, j;

	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return SUGGEST_MAX_LEN + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			int	 ca = tolower((unsigned char)a[i - 1]);
			int	 cb = tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)
			    b[j - 2]) && tolower((unsigned char)a[i - 2]) ==
			    cb && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/*
 * How far a name of len characters may be from a suggestion: one edit
 * up to 5 characters, two up to 10, three beyond ("opne" -> "open",
 * "@file-raed" -> "@file-read", "@network-io" -> "@network"; but
 * "ENOPE" is too far from ENOMEM, ENODEV and ENOSPC alike).
 */
static unsigned
limit(size_t len)
{
	return len <= 5 ? 1 : len <= 10 ? 2 : 3;
}

/* Start looking for names close to typed (borrowed until done). */
void
policy_suggest_init(struct policy_suggest *sg, const char *typed)
{
	memset(sg, 0, sizeof(*sg));
	sg->typed = typed;
	sg->max = limit(strlen(typed));
}

/*
 * Consider name (copied): kept if it is as close as the closest so
 * far, and close enough.  The same name twice counts once; an exact
 * match (same case) is no suggestion.
 */
void
policy_suggest_add(struct policy_suggest *sg, const char *name)
{
	unsigned	d;
	size_t		i;

	if (strcmp(name, sg->typed) == 0)
		return;
	d = distance(sg->typed, name);
	if (d > sg->max || (sg->n > 0 && d > sg->dist))
		return;
	if (sg->n == 0 || d < sg->dist) {
		sg->dist = d;
		sg->n = 0;
	}
	for (i = 0; i < sg->n; i++)
		if (strcmp(sg->best[i], name) == 0)
			return;
	if (sg->n < POLICY_SUGGEST_MAX)
		snprintf(sg->best[sg->n++], POLICY_SUGGEST_LEN, "%s", name);
}

/*
 * "did you mean 'open'?" (or "'open' or 'openat'?"), each name
 * between pre and post, into buf; "" if nothing was close.  Returns
 * buf.
 */
const char *
policy_suggest_text(const struct policy_suggest *sg, const char *pre,
    const char *post, char *buf, size_t len)
{
	size_t	i, used;

	buf[0] = '\0';
	if (sg->n == 0 || len == 0)
		return buf;
	used = snprintf(buf, len, "did you mean ");
	for (i = 0; i < sg->n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s%s%s",
		    i == 0 ? "" : i + 1 == sg->n ? " or " : ", ", pre,
		    sg->best[i], post);
	if (used < len)
		snprintf(buf + used, len - used, "?");
	return buf;
}
