/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the log-line helpers of common/log.c that operators
 * rely on: log_kv (the key=value tail: quoting, escaping, truncation
 * that always leaves a terminated string) and log_strip_prefix (a
 * worker's own "nbdbroker-worker[PID]: LEVEL: " prefix, recognised
 * exactly and nothing else).
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const struct {
	const char	*key, *value, *want;
} kv_cases[] = {
	{ "plugin", "memory", " plugin=memory" },
	{ "worker", "4171", " worker=4171" },
	{ "policy", "/etc/a b.policy", " policy=\"/etc/a b.policy\"" },
	{ "export", "", " export=\"\"" },
	{ "export", "a\"b", " export=\"a\\\"b\"" },
	{ "export", "a\\b", " export=\"a\\\\b\"" },
	{ "export", "k=v", " export=\"k=v\"" },
	{ "cause", "tripwire", " cause=tripwire" },
};

START_TEST(test_kv_table)
{
	char	buf[128] = "";

	log_kv(buf, sizeof(buf), kv_cases[_i].key, kv_cases[_i].value);
	ck_assert_str_eq(buf, kv_cases[_i].want);
}
END_TEST

/* Tails add up, in order. */
START_TEST(test_kv_append)
{
	char	buf[128] = "worker 1 died";

	log_kv(buf, sizeof(buf), "plugin", "memory");
	log_kv(buf, sizeof(buf), "cause", "signal");
	ck_assert_str_eq(buf, "worker 1 died plugin=memory cause=signal");
}
END_TEST

/*
 * Whatever the sizes, the result is terminated within the buffer, and
 * nothing past it is written.
 */
START_TEST(test_kv_truncates)
{
	char		buf[64];
	const char	*values[] = {
		"x", "a b c d e f g h", "\"\"\"\"\"\"\"\"",
	};
	size_t		len, v, i;

	for (len = 1; len <= sizeof(buf); len++)
		for (v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			memset(buf, 'Z', sizeof(buf));
			buf[0] = '\0';
			log_kv(buf, len, "key", values[v]);
			ck_assert_uint_lt(strnlen(buf, sizeof(buf)), len);
			log_kv(buf, len, "more", values[v]);
			ck_assert_uint_lt(strnlen(buf, sizeof(buf)), len);
			for (i = len; i < sizeof(buf); i++)	/* untouched */
				ck_assert_int_eq(buf[i], 'Z');
		}
}
END_TEST

static const struct {
	const char	*line;
	int		 level;		/* -1: untouched */
	const char	*want;
} strip_cases[] = {
	{ "nbdbroker-worker[6759]: warning: sandbox: x", LOG_WARNING,
	  "sandbox: x" },
	{ "nbdbroker-worker[1]: error: boom", LOG_ERR, "boom" },
	{ "nbdbroker-worker[1]: info: hi", LOG_INFO, "hi" },
	{ "nbdbroker-worker[1]: debug: ", LOG_DEBUG, "" },
	/* Not the format: returned as they are. */
	{ "nbdkit: sh[1]: error: x", -1, NULL },
	{ "nbdbroker-worker: error: x", -1, NULL },
	{ "nbdbroker-worker[]: error: x", -1, NULL },
	{ "nbdbroker-worker[12x]: error: x", -1, NULL },
	{ "nbdbroker-worker[12]: fatal: x", -1, NULL },
	{ "nbdbroker-worker[12] error: x", -1, NULL },
	{ "xnbdbroker-worker[12]: error: x", -1, NULL },
	{ "plain text from a plugin", -1, NULL },
	{ "", -1, NULL },
};

START_TEST(test_strip_table)
{
	int		 level = -1;
	const char	*line = strip_cases[_i].line, *got;

	got = log_strip_prefix(line, "nbdbroker-worker", &level);
	ck_assert_int_eq(level, strip_cases[_i].level);
	if (strip_cases[_i].want == NULL)
		ck_assert_ptr_eq(got, line);
	else
		ck_assert_str_eq(got, strip_cases[_i].want);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tk = tcase_create("log_kv");
	TCase	*ts = tcase_create("log_strip_prefix");

	tcase_add_loop_test(tk, test_kv_table, 0,
	    sizeof(kv_cases) / sizeof(kv_cases[0]));
	tcase_add_test(tk, test_kv_append);
	tcase_add_test(tk, test_kv_truncates);
	suite_add_tcase(s, tk);
	tcase_add_loop_test(ts, test_strip_table, 0,
	    sizeof(strip_cases) / sizeof(strip_cases[0]));
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
