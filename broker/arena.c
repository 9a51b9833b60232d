/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory payload arenas.  The broker creates each arena once
 * (a memfd, sealed against resizing) and hands the same descriptor to
 * every worker it starts for the backend, so a WRITE payload is still
 * there when a replacement worker replays the request.
 *
 * The "out" arena (payloads to the worker) is additionally sealed with
 * F_SEAL_FUTURE_WRITE after the broker maps it: the worker can map it
 * read-only only, so a crashing or malicious plugin cannot change a
 * payload that will be replayed.  Neither arena can be shrunk by the
 * worker (which would SIGBUS the broker).
 *
 * Slots are page-granular and allocated first-fit from the lowest
 * payload page, so that the pages just freed are the next ones used:
 * the slots in use stay within a few MiB that the caches hold, where a
 * rover walked the whole arena and every payload (the worker's copy
 * into a READ slot, the broker's out of it) missed the caches
 * (docs/benchmarks.md).  Runs in the event loop only.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "broker.h"
#include "fd.h"
#include "log.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif

static bool
bit_get(const uint64_t *bm, uint32_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}

static void
bits_set(uint64_t *bm, uint32_t i, uint32_t n, bool v)
{
	for (; n > 0; i++, n--) {
		if (v)
			bm[i / 64] |= UINT64_C(1) << (i % 64);
		else
			bm[i / 64] &= ~(UINT64_C(1) << (i % 64));
	}
}

int
arena_init(struct arena *a, size_t size, bool seal_writes)
{
	unsigned	 seals = F_SEAL_SHRINK | F_SEAL_GROW;
	int		 fd;
	void		*p;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	size = (size + ARENA_PAGE - 1) / ARENA_PAGE * ARENA_PAGE;
	if ((fd = memfd_create("nbdbroker-arena",
	    MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	/* Keep it clear of the fixed descriptors workers get. */
	if ((fd = fd_move_high(fd)) == -1)
		return -1;
	if (ftruncate(fd, size) == -1)
		goto err_close;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err_close;
	if (seal_writes)
		seals |= F_SEAL_FUTURE_WRITE;
	/* F_SEAL_SEAL last: a worker cannot add seals of its own. */
	if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_SEAL) == -1) {
		munmap(p, size);
		goto err_close;
	}
	a->fd = fd;
	a->base = p;
	a->size = size;
	a->npages = size / ARENA_PAGE;
	a->nfree = a->npages;
	a->bitmap = calloc((a->npages + 63) / 64, sizeof(uint64_t));
	if (a->bitmap == NULL) {
		arena_destroy(a);
		return -1;
	}
	return 0;

 err_close:
	{
		int	saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

/*
 * Keep the first bytes of a (rounded up to pages) out of the payload
 * allocator for good: the ring sets live there (backend-ring.c).
 * Called once, right after arena_init.
 */
void
arena_reserve_head(struct arena *a, size_t bytes)
{
	uint32_t	n = (bytes + ARENA_PAGE - 1) / ARENA_PAGE;

	if (n > a->nfree)
		n = a->nfree;
	bits_set(a->bitmap, 0, n, true);
	a->nfree -= n;
	a->head = n;
}

void
arena_destroy(struct arena *a)
{
	if (a->base != NULL)
		munmap(a->base, a->size);
	if (a->fd != -1)
		close(a->fd);
	free(a->bitmap);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

/* First run of n free pages at or after start, or UINT32_MAX. */
static uint32_t
find_run(const struct arena *a, uint32_t start, uint32_t end, uint32_t n)
{
	uint32_t	i = start, run = 0;

	while (i < end) {
		if (run == 0 && i % 64 == 0 && i + 64 <= end &&
		    a->bitmap[i / 64] == UINT64_MAX) {
			i += 64;	/* skip a full word */
			continue;
		}
		if (bit_get(a->bitmap, i))
			run = 0;
		else if (++run == n)
			return i + 1 - n;
		i++;
	}
	return UINT32_MAX;
}

/*
 * Allocate a slot of at least len bytes.  0, or -1 with errno ENOSPC
 * when no run is free now (the caller waits for arena_free).
 */
int
arena_alloc(struct arena *a, uint32_t len, struct slot *s)
{
	uint32_t	n = (len + ARENA_PAGE - 1) / ARENA_PAGE, p;

	if (n == 0)
		n = 1;
	s->npages = 0;
	if (n > a->nfree) {
		errno = ENOSPC;
		return -1;
	}
	if ((p = find_run(a, a->head, a->npages, n)) == UINT32_MAX) {
		errno = ENOSPC;
		return -1;
	}
	bits_set(a->bitmap, p, n, true);
	a->nfree -= n;
	s->page = p;
	s->npages = n;
	return 0;
}

void
arena_free(struct arena *a, struct slot *s)
{
	if (s->npages == 0)
		return;
	bits_set(a->bitmap, s->page, s->npages, false);
	a->nfree += s->npages;
	s->npages = 0;
}
