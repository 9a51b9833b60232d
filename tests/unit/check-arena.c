/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for broker/arena.c, linked alone: the payload slots
 * (lowest free run first, so freed pages are the next ones used; no
 * slot in the reserved head; ENOSPC when no run is long enough, even
 * with enough free pages in pieces) and the seals a worker meets (the
 * "out" arena cannot be mapped writable, neither can be resized).
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "broker.h"

#define NPAGES	64

START_TEST(test_lowest_first)
{
	struct arena	a;
	struct slot	s[4];

	ck_assert_int_eq(arena_init(&a, NPAGES * ARENA_PAGE, false), 0);
	arena_reserve_head(&a, ARENA_PAGE + 1);		/* two pages */
	ck_assert_uint_eq(a.nfree, NPAGES - 2);
	ck_assert_int_eq(arena_alloc(&a, 0, &s[0]), 0);	/* rounds to 1 */
	ck_assert_uint_eq(s[0].page, 2);
	ck_assert_uint_eq(s[0].npages, 1);
	ck_assert_int_eq(arena_alloc(&a, 3 * ARENA_PAGE, &s[1]), 0);
	ck_assert_uint_eq(s[1].page, 3);
	ck_assert_int_eq(arena_alloc(&a, ARENA_PAGE + 1, &s[2]), 0);
	ck_assert_uint_eq(s[2].page, 6);
	ck_assert_uint_eq(s[2].npages, 2);
	ck_assert_uint_eq(slot_offset(&s[2]), 6 * ARENA_PAGE);

	/* The pages just freed are the next ones used, not later ones. */
	arena_free(&a, &s[0]);
	ck_assert_uint_eq(s[0].npages, 0);
	ck_assert_int_eq(arena_alloc(&a, 100, &s[0]), 0);
	ck_assert_uint_eq(s[0].page, 2);
	arena_free(&a, &s[1]);
	ck_assert_int_eq(arena_alloc(&a, 2 * ARENA_PAGE, &s[3]), 0);
	ck_assert_uint_eq(s[3].page, 3);
	/* Too long for the one page left in the hole: after s[2]. */
	ck_assert_int_eq(arena_alloc(&a, 2 * ARENA_PAGE, &s[1]), 0);
	ck_assert_uint_eq(s[1].page, 8);
	ck_assert_uint_eq(a.nfree, NPAGES - 2 - 7);

	/* Freeing twice (npages 0) is harmless. */
	arena_free(&a, &s[1]);
	arena_free(&a, &s[1]);
	ck_assert_uint_eq(a.nfree, NPAGES - 2 - 5);
	arena_destroy(&a);
	ck_assert_int_eq(a.fd, -1);
}
END_TEST

START_TEST(test_nospace)
{
	struct arena	a;
	struct slot	s[NPAGES], t;
	unsigned	i;

	ck_assert_int_eq(arena_init(&a, NPAGES * ARENA_PAGE, false), 0);
	for (i = 0; i < NPAGES; i++) {
		ck_assert_int_eq(arena_alloc(&a, ARENA_PAGE, &s[i]), 0);
		ck_assert_uint_eq(s[i].page, i);
	}
	errno = 0;
	ck_assert_int_eq(arena_alloc(&a, 1, &t), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(t.npages, 0);

	/* Two free pages, apart: a two-page slot still does not fit. */
	arena_free(&a, &s[10]);
	arena_free(&a, &s[20]);
	errno = 0;
	ck_assert_int_eq(arena_alloc(&a, 2 * ARENA_PAGE, &t), -1);
	ck_assert_int_eq(errno, ENOSPC);
	arena_free(&a, &s[11]);
	ck_assert_int_eq(arena_alloc(&a, 2 * ARENA_PAGE, &t), 0);
	ck_assert_uint_eq(t.page, 10);

	/* More than the whole arena. */
	errno = 0;
	ck_assert_int_eq(arena_alloc(&a, (NPAGES + 1) * ARENA_PAGE, &t), -1);
	ck_assert_int_eq(errno, ENOSPC);
	arena_destroy(&a);
}
END_TEST

START_TEST(test_seals)
{
	struct arena	a;
	void		*p;

	ck_assert_int_eq(arena_init(&a, NPAGES * ARENA_PAGE - 100, true), 0);
	ck_assert_uint_eq(a.size, NPAGES * ARENA_PAGE);	/* rounded up */
	/* The broker's own mapping stays writable. */
	memset(a.base, 0xa5, a.size);
	/* A worker's cannot be. */
	p = mmap(NULL, a.size, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	ck_assert(p == MAP_FAILED);
	ck_assert_int_eq(errno, EPERM);
	p = mmap(NULL, a.size, PROT_READ, MAP_SHARED, a.fd, 0);
	ck_assert(p != MAP_FAILED);
	ck_assert_uint_eq(((unsigned char *)p)[a.size - 1], 0xa5);
	munmap(p, a.size);
	ck_assert_int_eq(ftruncate(a.fd, ARENA_PAGE), -1);
	ck_assert_int_eq(ftruncate(a.fd, 2 * a.size), -1);
	arena_destroy(&a);

	/* The "in" arena: writable by the worker, still not resizable. */
	ck_assert_int_eq(arena_init(&a, NPAGES * ARENA_PAGE, false), 0);
	p = mmap(NULL, a.size, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd, 0);
	ck_assert(p != MAP_FAILED);
	munmap(p, a.size);
	ck_assert_int_eq(ftruncate(a.fd, ARENA_PAGE), -1);
	ck_assert_int_eq(fcntl(a.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	arena_destroy(&a);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("arena");
	TCase	*tc = tcase_create("arena");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_lowest_first);
	tcase_add_test(tc, test_nospace);
	tcase_add_test(tc, test_seals);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
