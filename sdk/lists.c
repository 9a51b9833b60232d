/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Extents and export lists that plugins fill through the SDK.  The
 * host creates them around the callback and reads them afterwards.
 * Plugin input is checked here: extents out of order are refused, not
 * passed on (the broker checks again before a client sees them).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbdbroker-plugin.h"
#include "sdk-host.h"

void
sdk_extents_init(struct nbdbroker_extents *e, uint64_t start, uint64_t end)
{
	memset(e, 0, sizeof(*e));
	e->start = start;
	e->end = end;
	e->max = SDK_MAX_EXTENTS;
}

void
sdk_extents_free(struct nbdbroker_extents *e)
{
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}

int
sdk_extents_push(struct nbdbroker_extents *e, uint64_t offset, uint64_t end,
    uint32_t type)
{
	struct sdk_extent	*last = e->n ? &e->v[e->n - 1] : NULL;

	if (last != NULL && last->type == type &&
	    last->offset + last->length == offset) {
		last->length = end - last->offset;
		return 0;
	}
	if (e->n >= e->max)		/* enough to answer; drop the rest */
		return 0;
	if (e->n == e->cap) {
		size_t			 ncap = e->cap ? e->cap * 2 : 16;
		struct sdk_extent	*p;

		if ((p = reallocarray(e->v, ncap, sizeof(*p))) == NULL)
			return -1;
		e->v = p;
		e->cap = ncap;
	}
	e->v[e->n].offset = offset;
	e->v[e->n].length = end - offset;
	e->v[e->n].type = type;
	e->n++;
	return 0;
}

NBDBROKER_PUBLIC int
nbdbroker_add_extent(struct nbdbroker_extents *e, uint64_t offset,
    uint64_t length, uint32_t type)
{
	uint64_t	end;

	if (offset + length < offset) {
		nbdbroker_error("nbdbroker_add_extent: offset %llu"
		    " + length overflows", (unsigned long long)offset);
		errno = ERANGE;
		return -1;
	}
	if (type & ~(uint32_t)(NBDBROKER_EXTENT_HOLE | NBDBROKER_EXTENT_ZERO)) {
		nbdbroker_error("nbdbroker_add_extent: unknown type bits 0x%x",
		    type);
		errno = EINVAL;
		return -1;
	}
	if (length == 0)
		return 0;
	if ((e->any && offset != e->next) || (!e->any && offset > e->start)) {
		nbdbroker_error("nbdbroker_add_extent: extents must be "
		    "contiguous and ascending: got offset %llu, expected %llu",
		    (unsigned long long)offset,
		    (unsigned long long)(e->any ? e->next : e->start));
		errno = EINVAL;
		return -1;
	}
	end = offset + length;
	e->any = true;
	e->next = end;
	/* Only the part inside [start, end) is kept. */
	if (end <= e->start || offset >= e->end)
		return 0;
	if (offset < e->start)
		offset = e->start;
	if (end > e->end)
		end = e->end;
	if (sdk_extents_push(e, offset, end, type) == -1) {
		nbdbroker_error("nbdbroker_add_extent: %m");
		return -1;
	}
	return 0;
}

void
sdk_exports_free(struct nbdbroker_exports *x)
{
	size_t	i;

	for (i = 0; i < x->n; i++) {
		free(x->v[i].name);
		free(x->v[i].description);
	}
	free(x->v);
	x->v = NULL;
	x->n = x->cap = 0;
}

NBDBROKER_PUBLIC int
nbdbroker_add_export(struct nbdbroker_exports *x, const char *name,
    const char *description)
{
	struct sdk_export	*ent;

	if (name == NULL || strlen(name) > SDK_MAX_NAME ||
	    (description != NULL && strlen(description) > SDK_MAX_NAME)) {
		nbdbroker_error("nbdbroker_add_export: name or description "
		    "missing or longer than %d bytes", SDK_MAX_NAME);
		errno = EINVAL;
		return -1;
	}
	if (x->n >= SDK_MAX_EXPORTS) {
		nbdbroker_error("nbdbroker_add_export: more than %d exports",
		    SDK_MAX_EXPORTS);
		errno = E2BIG;
		return -1;
	}
	if (x->n == x->cap) {
		size_t			 ncap = x->cap ? x->cap * 2 : 8;
		struct sdk_export	*p;

		if ((p = reallocarray(x->v, ncap, sizeof(*p))) == NULL) {
			nbdbroker_error("nbdbroker_add_export: %m");
			return -1;
		}
		x->v = p;
		x->cap = ncap;
	}
	ent = &x->v[x->n];
	ent->name = strdup(name);
	ent->description = description ? strdup(description) : NULL;
	if (ent->name == NULL || (description && ent->description == NULL)) {
		free(ent->name);
		free(ent->description);
		nbdbroker_error("nbdbroker_add_export: %m");
		return -1;
	}
	x->n++;
	return 0;
}

NBDBROKER_PUBLIC int
nbdbroker_use_default_export(struct nbdbroker_exports *x)
{
	x->use_default = true;
	return 0;
}
