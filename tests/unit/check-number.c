/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for common/number.c: the number and duration grammars the
 * broker's command line and the policy parser share.  Tables of good
 * inputs with their values and bad inputs with the reason given; the
 * edges (UINT64_MAX, one past it, each unit's overflow) are worked out
 * by hand.
 */
#include <config.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

#define U64MAX		"18446744073709551615"
#define U64MAX_PLUS1	"18446744073709551616"

static const struct {
	const char	*s;
	uint64_t	 min, max;
	int		 r;
	uint64_t	 v;		/* when r == 0 */
	const char	*why;		/* when r == -1 */
} uint_cases[] = {
	{ "0", 0, 10, 0, 0, NULL },
	{ "7", 0, 10, 0, 7, NULL },
	{ "10", 0, 10, 0, 10, NULL },
	{ "007", 0, 10, 0, 7, NULL },
	{ "1", 1, 1, 0, 1, NULL },
	{ "256", 1, 256, 0, 256, NULL },
	{ U64MAX, 0, UINT64_MAX, 0, UINT64_MAX, NULL },
	/* Range. */
	{ "0", 1, 256, -1, 0, "too small" },
	{ "257", 1, 256, -1, 0, "too large" },
	{ "11", 0, 10, -1, 0, "too large" },
	{ U64MAX, 0, UINT64_MAX - 1, -1, 0, "too large" },
	/* Overflow, however large the range. */
	{ U64MAX_PLUS1, 0, UINT64_MAX, -1, 0, "too large" },
	{ "99999999999999999999999", 0, UINT64_MAX, -1, 0, "too large" },
	/* Not a number, or more than one. */
	{ "", 0, 10, -1, 0, "expected a decimal number" },
	{ "x", 0, 10, -1, 0, "expected a decimal number" },
	{ "-1", 0, 10, -1, 0, "expected a decimal number" },
	{ "-0", 0, 10, -1, 0, "expected a decimal number" },
	{ "+1", 0, 10, -1, 0, "expected a decimal number" },
	{ " 1", 0, 10, -1, 0, "expected a decimal number" },
	{ "\t1", 0, 10, -1, 0, "expected a decimal number" },
	{ "1 ", 0, 10, -1, 0, "trailing characters" },
	{ "1\n", 0, 10, -1, 0, "trailing characters" },
	{ "0x10", 0, 100, -1, 0, "trailing characters" },
	{ "1.5", 0, 10, -1, 0, "trailing characters" },
	{ "1e3", 0, 10000, -1, 0, "trailing characters" },
	{ "5/60s", 0, 10, -1, 0, "trailing characters" },
	{ "2k", 0, 10000, -1, 0, "trailing characters" },
};

START_TEST(test_uint_table)
{
	uint64_t	 v = 12345;
	const char	*why = NULL;
	int		 r;

	r = uint_parse(uint_cases[_i].s, uint_cases[_i].min,
	    uint_cases[_i].max, &v, &why);
	ck_assert_msg(r == uint_cases[_i].r, "'%s': returned %d, want %d",
	    uint_cases[_i].s, r, uint_cases[_i].r);
	if (r == 0)
		ck_assert_msg(v == uint_cases[_i].v, "'%s': %llu, want %llu",
		    uint_cases[_i].s, (unsigned long long)v,
		    (unsigned long long)uint_cases[_i].v);
	else {
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, uint_cases[_i].why);
		ck_assert_uint_eq(v, 12345);	/* untouched on failure */
	}
}
END_TEST

#define UNIT_ERR	"unknown unit (use ms, s, m or h)"

static const struct {
	const char	*s;
	int		 r;
	uint64_t	 ms;		/* when r == 0 */
	const char	*why;		/* when r == -1 */
} dur_cases[] = {
	/* Each unit; a bare number is seconds. */
	{ "250ms", 0, 250, NULL },
	{ "30s", 0, 30000, NULL },
	{ "30", 0, 30000, NULL },
	{ "45", 0, 45000, NULL },
	{ "2m", 0, 120000, NULL },
	{ "1h", 0, 3600000, NULL },
	{ "36h", 0, 129600000, NULL },
	/* Zero in every spelling (the caller decides what it means). */
	{ "0", 0, 0, NULL },
	{ "0ms", 0, 0, NULL },
	{ "0s", 0, 0, NULL },
	{ "0m", 0, 0, NULL },
	{ "0h", 0, 0, NULL },
	{ "000s", 0, 0, NULL },
	/* The largest of each unit, and one more. */
	{ U64MAX "ms", 0, UINT64_MAX, NULL },
	{ U64MAX_PLUS1 "ms", -1, 0, "too large" },
	{ "18446744073709551s", 0, UINT64_C(18446744073709551000), NULL },
	{ "18446744073709552s", -1, 0, "too large" },
	{ "18446744073709552", -1, 0, "too large" },
	{ "307445734561825m", 0, UINT64_C(18446744073709500000), NULL },
	{ "307445734561826m", -1, 0, "too large" },
	{ "5124095576030h", 0, UINT64_C(18446744073708000000), NULL },
	{ "5124095576031h", -1, 0, "too large" },
	{ "99999999999999999999999h", -1, 0, "too large" },
	/* Not a duration. */
	{ "", -1, 0, "expected a decimal number" },
	{ "s", -1, 0, "expected a decimal number" },
	{ "ms", -1, 0, "expected a decimal number" },
	{ "-1s", -1, 0, "expected a decimal number" },
	{ "+1s", -1, 0, "expected a decimal number" },
	{ " 1s", -1, 0, "expected a decimal number" },
	{ "1 s", -1, 0, UNIT_ERR },
	{ "1s ", -1, 0, UNIT_ERR },
	{ "1S", -1, 0, UNIT_ERR },
	{ "1M", -1, 0, UNIT_ERR },
	{ "1H", -1, 0, UNIT_ERR },
	{ "1d", -1, 0, UNIT_ERR },
	{ "1us", -1, 0, UNIT_ERR },
	{ "1sec", -1, 0, UNIT_ERR },
	{ "1min", -1, 0, UNIT_ERR },
	{ "1mss", -1, 0, UNIT_ERR },
	{ "1m30s", -1, 0, UNIT_ERR },
	{ "1.5s", -1, 0, UNIT_ERR },
	{ "0x10s", -1, 0, UNIT_ERR },
	{ "5/60s", -1, 0, UNIT_ERR },
};

START_TEST(test_duration_table)
{
	uint64_t	 ms = 12345;
	const char	*why = NULL;
	int		 r;

	r = duration_parse(dur_cases[_i].s, &ms, &why);
	ck_assert_msg(r == dur_cases[_i].r, "'%s': returned %d, want %d",
	    dur_cases[_i].s, r, dur_cases[_i].r);
	if (r == 0)
		ck_assert_msg(ms == dur_cases[_i].ms,
		    "'%s': %llu ms, want %llu", dur_cases[_i].s,
		    (unsigned long long)ms,
		    (unsigned long long)dur_cases[_i].ms);
	else {
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why, dur_cases[_i].why);
		ck_assert_uint_eq(ms, 12345);	/* untouched on failure */
	}
}
END_TEST

/*
 * Every number from 0 to 100000 in each unit parses to itself times
 * the unit, and the bare number is the same as "s".
 */
START_TEST(test_duration_units)
{
	char		 buf[32];
	uint64_t	 n, ms, bare;
	const char	*why;

	for (n = 0; n <= 100000; n += 7) {
		snprintf(buf, sizeof(buf), "%llums", (unsigned long long)n);
		ck_assert_int_eq(duration_parse(buf, &ms, &why), 0);
		ck_assert_uint_eq(ms, n);
		snprintf(buf, sizeof(buf), "%llus", (unsigned long long)n);
		ck_assert_int_eq(duration_parse(buf, &ms, &why), 0);
		ck_assert_uint_eq(ms, n * 1000);
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
		ck_assert_int_eq(duration_parse(buf, &bare, &why), 0);
		ck_assert_uint_eq(bare, ms);
		snprintf(buf, sizeof(buf), "%llum", (unsigned long long)n);
		ck_assert_int_eq(duration_parse(buf, &ms, &why), 0);
		ck_assert_uint_eq(ms, n * 60000);
		snprintf(buf, sizeof(buf), "%lluh", (unsigned long long)n);
		ck_assert_int_eq(duration_parse(buf, &ms, &why), 0);
		ck_assert_uint_eq(ms, n * 3600000);
		ck_assert_int_eq(uint_parse(buf, 0, UINT64_MAX, &ms, &why),
		    -1);
		ck_assert_str_eq(why, "trailing characters");
	}
}
END_TEST

static Suite *
number_suite(void)
{
	Suite	*s = suite_create("number");
	TCase	*tu = tcase_create("uint_parse");
	TCase	*td = tcase_create("duration_parse");

	tcase_add_loop_test(tu, test_uint_table, 0,
	    sizeof(uint_cases) / sizeof(uint_cases[0]));
	suite_add_tcase(s, tu);
	tcase_add_loop_test(td, test_duration_table, 0,
	    sizeof(dur_cases) / sizeof(dur_cases[0]));
	tcase_add_test(td, test_duration_units);
	suite_add_tcase(s, td);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(number_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
