/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for worker/nbdkit-abi.c: the nbdkit_* functions the
 * worker exports to nbdkit plugins, with nbdkit 1.32's accepted forms
 * and error texts (recorded from nbdkit 1.32.5), the add_extent rules,
 * the list functions, debug flags and the durability table.  Linked
 * with the SDK and a stub host that records what plugins log.
 */
#include <config.h>

#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "worker.h"

/* The exported functions, as plugins see them (no header declares them). */
int64_t	nbdkit_parse_size(const char *);
int	nbdkit_parse_bool(const char *);
int	nbdkit_parse_int(const char *, const char *, int *);
int	nbdkit_parse_unsigned(const char *, const char *, unsigned *);
int	nbdkit_parse_int8_t(const char *, const char *, int8_t *);
int	nbdkit_parse_uint8_t(const char *, const char *, uint8_t *);
int	nbdkit_parse_int64_t(const char *, const char *, int64_t *);
int	nbdkit_parse_uint64_t(const char *, const char *, uint64_t *);
int	nbdkit_read_password(const char *, char **);
int	nbdkit_nanosleep(unsigned, unsigned);
int	nbdkit_peer_name(struct sockaddr *, socklen_t *);
int	nbdkit_stdio_safe(void);
int	nbdkit_add_extent(struct nbdbroker_extents *, uint64_t, uint64_t,
	    uint32_t);
struct nbdbroker_extents *nbdkit_extents_new(uint64_t, uint64_t);
void	nbdkit_extents_free(struct nbdbroker_extents *);
size_t	nbdkit_extents_count(const struct nbdbroker_extents *);
struct nbdkit_extent {
	uint64_t	offset;
	uint64_t	length;
	uint32_t	type;
};
struct nbdkit_extent nbdkit_get_extent(const struct nbdbroker_extents *,
	    size_t);
struct nbdbroker_exports *nbdkit_exports_new(void);
void	nbdkit_exports_free(struct nbdbroker_exports *);
size_t	nbdkit_exports_count(const struct nbdbroker_exports *);
int	nbdkit_add_export(struct nbdbroker_exports *, const char *,
	    const char *);
struct nbdkit_export {
	char	*name;
	char	*description;
};
struct nbdkit_export nbdkit_get_export(const struct nbdbroker_exports *,
	    size_t);

/* A debug flag variable, found through dlsym like a plugin's. */
__attribute__((visibility("default"))) int unit_debug_foo_bar;

/* Stub host: remembers the last message logged at LOG_ERR. */
static char	last_err[4096];
static int	n_err;

void
sdk_host_log(int level, const char *msg)
{
	if (level <= LOG_ERR) {
		snprintf(last_err, sizeof(last_err), "%s", msg);
		n_err++;
	}
}

void
sdk_host_shutdown(void)
{
}

bool
sdk_host_read_only(void)
{
	return false;
}

static void
reset_log(void)
{
	last_err[0] = '\0';
	n_err = 0;
}

/* nbdkit_parse_size: value, or -1 and nbdkit's message. */
static const struct {
	const char	*in;
	int64_t		 out;
	const char	*err;
} size_cases[] = {
	{ "1G", 1073741824, NULL },
	{ "1g", 1073741824, NULL },
	{ "1024", 1024, NULL },
	{ "0", 0, NULL },
	{ "-0", 0, NULL },
	{ " 12", 12, NULL },
	{ "+5", 5, NULL },
	{ "010", 10, NULL },
	{ "3b", 3, NULL },
	{ "1B", 1, NULL },
	{ "1s", 512, NULL },
	{ "2S", 1024, NULL },
	{ "1k", 1024, NULL },
	{ "1M", 1048576, NULL },
	{ "1T", INT64_C(1099511627776), NULL },
	{ "1P", INT64_C(1125899906842624), NULL },
	{ "1e", INT64_C(1152921504606846976), NULL },
	{ "7E", INT64_C(8070450532247928832), NULL },
	{ "8191P", INT64_C(9222246136947933184), NULL },
	{ "9223372036854775807", INT64_MAX, NULL },
	{ "1.5M", -1, "could not parse size: unknown suffix '.5M'" },
	{ "1GB", -1, "could not parse size: unknown suffix 'GB'" },
	{ "1GiB", -1, "could not parse size: unknown suffix 'GiB'" },
	{ "1 G", -1, "could not parse size: unknown suffix ' G'" },
	{ "12 ", -1, "could not parse size: unknown suffix ' '" },
	{ "0x10", -1, "could not parse size: unknown suffix 'x10'" },
	{ "-1", -1, "size cannot be negative (-1)" },
	{ "-1k", -1, "size cannot be negative (-1k)" },
	{ "-99999999999999999999", -1,
	    "size cannot be negative (-99999999999999999999)" },
	{ "", -1, "could not parse size string ()" },
	{ "abc", -1, "could not parse size string (abc)" },
	{ "-", -1, "could not parse size string (-)" },
	{ "9223372036854775808", -1,
	    "size (9223372036854775808) exceeds maximum value" },
	{ "8E", -1, "overflow computing size (8E)" },
	{ "8192P", -1, "overflow computing size (8192P)" },
};

START_TEST(test_parse_size)
{
	reset_log();
	ck_assert_int_eq(nbdkit_parse_size(size_cases[_i].in),
	    size_cases[_i].out);
	if (size_cases[_i].err != NULL)
		ck_assert_str_eq(last_err, size_cases[_i].err);
	else
		ck_assert_int_eq(n_err, 0);
}
END_TEST

START_TEST(test_parse_bool)
{
	static const char *const yes[] = { "1", "true", "TRUE", "t", "yes",
	    "Y", "on" };
	static const char *const no[] = { "0", "false", "f", "no", "N",
	    "off", "OFF" };
	size_t	i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_int_eq(nbdkit_parse_bool(yes[i]), 1);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_int_eq(nbdkit_parse_bool(no[i]), 0);
	reset_log();
	ck_assert_int_eq(nbdkit_parse_bool(" true"), -1);
	ck_assert_str_eq(last_err, "could not decipher boolean ( true)");
	ck_assert_int_eq(nbdkit_parse_bool(""), -1);
	ck_assert_str_eq(last_err, "could not decipher boolean ()");
	ck_assert_int_eq(nbdkit_parse_bool("enabled"), -1);
}
END_TEST

#define RANGE	"Numerical result out of range"

/* nbdkit_parse_int: value, or -1 (*r untouched) and the message. */
static const struct {
	const char	*in;
	int		 r;
	int		 out;
	const char	*err;
} int_cases[] = {
	{ "0", 0, 0, NULL },
	{ "-1", 0, -1, NULL },
	{ " -1", 0, -1, NULL },
	{ "+3", 0, 3, NULL },
	{ "0x10", 0, 16, NULL },
	{ "0X1f", 0, 31, NULL },
	{ "-0x10", 0, -16, NULL },
	{ "010", 0, 8, NULL },
	{ "2147483647", 0, INT_MAX, NULL },
	{ "-2147483648", 0, INT_MIN, NULL },
	{ "2147483648", -1, 0,
	    "int: could not parse number: \"2147483648\": " RANGE },
	{ "-2147483649", -1, 0,
	    "int: could not parse number: \"-2147483649\": " RANGE },
	{ "08", -1, 0,
	    "int: could not parse number: \"08\": trailing garbage" },
	{ "1a", -1, 0,
	    "int: could not parse number: \"1a\": trailing garbage" },
	{ "1 ", -1, 0,
	    "int: could not parse number: \"1 \": trailing garbage" },
	{ "0x", -1, 0,
	    "int: could not parse number: \"0x\": trailing garbage" },
	{ "", -1, 0, "int: empty string where we expected a number" },
	{ "abc", -1, 0, "int: empty string where we expected a number" },
	{ "-", -1, 0, "int: empty string where we expected a number" },
	{ "- 1", -1, 0, "int: empty string where we expected a number" },
};

START_TEST(test_parse_int)
{
	int	v = 99;

	reset_log();
	ck_assert_int_eq(nbdkit_parse_int("int", int_cases[_i].in, &v),
	    int_cases[_i].r);
	if (int_cases[_i].r == 0) {
		ck_assert_int_eq(v, int_cases[_i].out);
		ck_assert_int_eq(n_err, 0);
	} else {
		ck_assert_int_eq(v, 99);
		ck_assert_str_eq(last_err, int_cases[_i].err);
	}
	/* NULL result pointer: parse and discard. */
	ck_assert_int_eq(nbdkit_parse_int("int", int_cases[_i].in, NULL),
	    int_cases[_i].r);
}
END_TEST

START_TEST(test_parse_unsigned_and_widths)
{
	unsigned	u = 99;
	int8_t		i8 = 99;
	uint8_t		u8 = 99;
	int64_t		i64 = 99;
	uint64_t	u64 = 99;

	reset_log();
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", "-1", &u), -1);
	ck_assert_str_eq(last_err,
	    "unsigned: negative numbers are not allowed");
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", "\t-1", &u), -1);
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", "--1", &u), -1);
	ck_assert_int_eq(u, 99);
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", "4294967296", &u),
	    -1);
	ck_assert_str_eq(last_err,
	    "unsigned: could not parse number: \"4294967296\": " RANGE);
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", " +1", &u), 0);
	ck_assert_uint_eq(u, 1);
	ck_assert_int_eq(nbdkit_parse_unsigned("unsigned", "4294967295", &u),
	    0);
	ck_assert_uint_eq(u, 4294967295u);

	ck_assert_int_eq(nbdkit_parse_int8_t("int8_t", "-128", &i8), 0);
	ck_assert_int_eq(i8, -128);
	ck_assert_int_eq(nbdkit_parse_int8_t("int8_t", "128", &i8), -1);
	ck_assert_str_eq(last_err,
	    "int8_t: could not parse number: \"128\": " RANGE);
	ck_assert_int_eq(i8, -128);
	ck_assert_int_eq(nbdkit_parse_uint8_t("uint8_t", "0x100", &u8), -1);
	ck_assert_str_eq(last_err,
	    "uint8_t: could not parse number: \"0x100\": " RANGE);
	ck_assert_int_eq(nbdkit_parse_uint8_t("uint8_t", "-0", &u8), -1);
	ck_assert_str_eq(last_err,
	    "uint8_t: negative numbers are not allowed");
	ck_assert_int_eq(u8, 99);

	ck_assert_int_eq(nbdkit_parse_int64_t("int64_t",
	    "-9223372036854775808", &i64), 0);
	ck_assert_int_eq(i64, INT64_MIN);
	ck_assert_int_eq(nbdkit_parse_int64_t("int64_t",
	    "99999999999999999999x", &i64), -1);
	ck_assert_str_eq(last_err, "int64_t: could not parse number: "
	    "\"99999999999999999999x\": " RANGE);
	ck_assert_int_eq(nbdkit_parse_uint64_t("uint64_t",
	    "0xffffffffffffffff", &u64), 0);
	ck_assert_uint_eq(u64, UINT64_MAX);
	ck_assert_int_eq(nbdkit_parse_uint64_t("uint64_t",
	    "18446744073709551616", &u64), -1);
	ck_assert_uint_eq(u64, UINT64_MAX);
}
END_TEST

static char *
write_tmp(const char *data, size_t len)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof(path), "/tmp/check-nbdkit-abi.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(test_read_password)
{
	char	*pw = (char *)"x", *path, arg[80];

	ck_assert_int_eq(nbdkit_read_password("plain", &pw), 0);
	ck_assert_str_eq(pw, "plain");
	free(pw);
	ck_assert_int_eq(nbdkit_read_password("", &pw), 0);
	ck_assert_str_eq(pw, "");
	free(pw);

	/* All trailing newlines go; a carriage return stays. */
	path = write_tmp("secret\n\n", 8);
	snprintf(arg, sizeof(arg), "+%s", path);
	ck_assert_int_eq(nbdkit_read_password(arg, &pw), 0);
	ck_assert_str_eq(pw, "secret");
	free(pw);
	unlink(path);
	path = write_tmp("x\r\n", 3);
	snprintf(arg, sizeof(arg), "+%s", path);
	ck_assert_int_eq(nbdkit_read_password(arg, &pw), 0);
	ck_assert_str_eq(pw, "x\r");
	free(pw);
	unlink(path);

	reset_log();
	ck_assert_int_eq(nbdkit_read_password("+/nonexistent/pw", &pw), -1);
	ck_assert_ptr_null(pw);
	ck_assert_str_eq(last_err,
	    "open /nonexistent/pw: No such file or directory");
	ck_assert_int_eq(nbdkit_read_password("-", &pw), -1);
	ck_assert_ptr_nonnull(strstr(last_err,
	    "stdin is not a tty, cannot read password interactively"));
	ck_assert_int_eq(nbdkit_read_password("-5", &pw), -1);
	ck_assert_ptr_nonnull(strstr(last_err, "use password=+FILE"));
	ck_assert_ptr_null(pw);
	ck_assert_int_eq(nbdkit_stdio_safe(), 0);
}
END_TEST

static void
check_extents(const struct nbdbroker_extents *e, size_t n,
    const uint64_t (*want)[3])
{
	size_t	i;

	ck_assert_uint_eq(e->n, n);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(e->v[i].offset, want[i][0]);
		ck_assert_uint_eq(e->v[i].length, want[i][1]);
		ck_assert_uint_eq(e->v[i].type, want[i][2]);
	}
}

START_TEST(test_add_extent_rules)
{
	struct nbdbroker_extents	e;
	static const uint64_t		w1[][3] = {
		{ 100, 100, 0 }, { 200, 100, 3 },
	};
	static const uint64_t		w2[][3] = { { 100, 50, 2 } };

	/* Whole-disk extents: before the range ignored, edges clipped,
	 * past the end ignored but still checked for contiguity. */
	sdk_extents_init(&e, 100, 300);
	ck_assert_int_eq(nbdkit_add_extent(&e, 0, 50, 0), 0);
	ck_assert_int_eq(nbdkit_add_extent(&e, 50, 100, 0), 0);
	ck_assert_int_eq(nbdkit_add_extent(&e, 150, 50, 0), 0);	/* merges */
	ck_assert_int_eq(nbdkit_add_extent(&e, 200, 0, 3), 0);
	ck_assert_int_eq(nbdkit_add_extent(&e, 200, 150, 3), 0);
	ck_assert_int_eq(nbdkit_add_extent(&e, 350, 10, 0), 0);
	check_extents(&e, 2, w1);
	reset_log();
	ck_assert_int_eq(nbdkit_add_extent(&e, 400, 10, 0), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_str_eq(last_err, "nbdkit_add_extent: extents must be "
	    "added in ascending order and must be contiguous");
	sdk_extents_free(&e);

	/* Gaps before the range are caught too. */
	sdk_extents_init(&e, 100, 300);
	ck_assert_int_eq(nbdkit_add_extent(&e, 0, 10, 0), 0);
	ck_assert_int_eq(nbdkit_add_extent(&e, 20, 10, 0), -1);
	sdk_extents_free(&e);

	/* The first extent kept must not start after the range. */
	sdk_extents_init(&e, 100, 300);
	ck_assert_int_eq(nbdkit_add_extent(&e, 101, 10, 0), -1);
	ck_assert_str_eq(last_err,
	    "nbdkit_add_extent: first extent must not be > start (100)");
	sdk_extents_free(&e);

	/* Only the four documented types. */
	sdk_extents_init(&e, 100, 150);
	ck_assert_int_eq(nbdkit_add_extent(&e, 100, 10, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(nbdkit_add_extent(&e, 90, 100, 2), 0);
	check_extents(&e, 1, w2);
	sdk_extents_free(&e);

	/*
	 * A length past the largest disk, even past 2^64, is "to the
	 * end" and clipped, as nbdkit 1.32 takes it (its extentlist
	 * filter ends its list with one).
	 */
	sdk_extents_init(&e, 100, 150);
	ck_assert_int_eq(nbdkit_add_extent(&e, 90, UINT64_MAX - 90, 2), 0);
	check_extents(&e, 1, w2);
	sdk_extents_free(&e);
	sdk_extents_init(&e, 100, 150);
	ck_assert_int_eq(nbdkit_add_extent(&e, 90, UINT64_MAX, 2), 0);
	check_extents(&e, 1, w2);
	sdk_extents_free(&e);
}
END_TEST

/* Our own add_extent accepts extents past the end of the range too. */
START_TEST(test_nbdbroker_add_extent_past_end)
{
	struct nbdbroker_extents	e;
	static const uint64_t		w[][3] = { { 0, 100, 0 } };

	sdk_extents_init(&e, 0, 100);
	ck_assert_int_eq(nbdbroker_add_extent(&e, 0, 150, 0), 0);
	ck_assert_int_eq(nbdbroker_add_extent(&e, 150, 50, 3), 0);
	ck_assert_int_eq(nbdbroker_add_extent(&e, 300, 50, 3), -1);
	check_extents(&e, 1, w);
	sdk_extents_free(&e);
}
END_TEST

START_TEST(test_lists)
{
	struct nbdbroker_extents	*e;
	struct nbdbroker_exports	*x;
	struct nbdkit_extent		 ex;
	struct nbdkit_export		 xp;

	ck_assert_ptr_null(nbdkit_extents_new(10, 10));
	ck_assert_ptr_null(nbdkit_extents_new(0, UINT64_MAX));
	ck_assert_ptr_nonnull(e = nbdkit_extents_new(10, 30));
	ck_assert_int_eq(nbdkit_add_extent(e, 0, 20, 0), 0);
	ck_assert_int_eq(nbdkit_add_extent(e, 20, 20, 3), 0);
	ck_assert_uint_eq(nbdkit_extents_count(e), 2);
	ex = nbdkit_get_extent(e, 1);
	ck_assert_uint_eq(ex.offset, 20);
	ck_assert_uint_eq(ex.length, 10);
	ck_assert_uint_eq(ex.type, 3);
	nbdkit_extents_free(e);
	nbdkit_extents_free(NULL);

	ck_assert_ptr_nonnull(x = nbdkit_exports_new());
	ck_assert_int_eq(nbdkit_add_export(x, "a", "desc"), 0);
	ck_assert_int_eq(nbdkit_add_export(x, "b", NULL), 0);
	ck_assert_uint_eq(nbdkit_exports_count(x), 2);
	xp = nbdkit_get_export(x, 0);
	ck_assert_str_eq(xp.name, "a");
	ck_assert_str_eq(xp.description, "desc");
	xp = nbdkit_get_export(x, 1);
	ck_assert_ptr_null(xp.description);
	nbdkit_exports_free(x);
}
END_TEST

START_TEST(test_peer_name_truncates)
{
	struct sdk_conn		c;
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	uint8_t			buf[4];
	socklen_t		len = sizeof(buf);

	memset(&c, 0, sizeof(c));
	reset_log();
	sdk_set_conn(NULL);
	ck_assert_int_eq(nbdkit_peer_name((struct sockaddr *)buf, &len), -1);
	sdk_set_conn(&c);
	ck_assert_int_eq(nbdkit_peer_name((struct sockaddr *)buf, &len), -1);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/sock");
	memcpy(&c.peer, &sun, sizeof(sun));
	c.peer_len = sizeof(sun);
	ck_assert_int_eq(nbdkit_peer_name((struct sockaddr *)buf, &len), 0);
	ck_assert_uint_eq(len, sizeof(sun));	/* the real length */
	ck_assert_int_eq(memcmp(buf, &sun, sizeof(buf)), 0);
	sdk_set_conn(NULL);
}
END_TEST

START_TEST(test_nanosleep)
{
	ck_assert_int_eq(nbdkit_nanosleep(0, 1000), 0);
	ck_assert_int_eq(nbdkit_nanosleep(0, 1000001000), 0);	/* > 1 s */
	ck_assert_int_eq(nbdkit_nanosleep((unsigned)INT_MAX + 1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_debug_flags)
{
	void	*dl = dlopen(NULL, RTLD_NOW);

	ck_assert_ptr_nonnull(dl);
	unit_debug_foo_bar = 0;
	abi_set_debug_flag(dl, "unit", "unit.foo.bar", "7");
	ck_assert_int_eq(unit_debug_foo_bar, 7);
	abi_set_debug_flag(dl, "unit", "unit.foo_bar", "0x10");
	ck_assert_int_eq(unit_debug_foo_bar, 16);
	abi_set_debug_flag(dl, "other", "unit.foo_bar", "1");
	abi_set_debug_flag(dl, "unit", "nbdkit.foo_bar", "1");
	abi_set_debug_flag(dl, "unit", "unit.nosuch", "1");
	ck_assert_int_eq(unit_debug_foo_bar, 16);
	dlclose(dl);
}
END_TEST

START_TEST(test_durability)
{
	ck_assert_int_eq(abi_durability("file", false),
	    NBDBROKER_DURABILITY_PERSISTENT);
	ck_assert_int_eq(abi_durability("memory", false),
	    NBDBROKER_DURABILITY_VOLATILE);
	ck_assert_int_eq(abi_durability("data", false),
	    NBDBROKER_DURABILITY_VOLATILE);
	ck_assert_int_eq(abi_durability("null", false),
	    NBDBROKER_DURABILITY_STATELESS);
	ck_assert_int_eq(abi_durability("pattern", false),
	    NBDBROKER_DURABILITY_STATELESS);
	ck_assert_int_eq(abi_durability("random", true),
	    NBDBROKER_DURABILITY_STATELESS);
	ck_assert_int_eq(abi_durability("sparse-random", false),
	    NBDBROKER_DURABILITY_UNSPECIFIED);
	ck_assert_int_eq(abi_durability("curl", false),
	    NBDBROKER_DURABILITY_UNSPECIFIED);
}
END_TEST

static Suite *
abi_suite(void)
{
	Suite	*s = suite_create("nbdkit-abi");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_size, 0,
	    sizeof(size_cases) / sizeof(size_cases[0]));
	tcase_add_test(tc, test_parse_bool);
	tcase_add_loop_test(tc, test_parse_int, 0,
	    sizeof(int_cases) / sizeof(int_cases[0]));
	tcase_add_test(tc, test_parse_unsigned_and_widths);
	tcase_add_test(tc, test_read_password);
	tcase_add_test(tc, test_add_extent_rules);
	tcase_add_test(tc, test_nbdbroker_add_extent_past_end);
	tcase_add_test(tc, test_lists);
	tcase_add_test(tc, test_peer_name_truncates);
	tcase_add_test(tc, test_nanosleep);
	tcase_add_test(tc, test_debug_flags);
	tcase_add_test(tc, test_durability);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(abi_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
