/*
 * test_usage.c: the blur rules and the float format of usage records
 * (protocol spec, Moods and usage records, Blurring, JSON log lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "usage.h"

/* Fail unless two doubles are exactly equal. */
static void
check_dbl(double got, double want, const char *what)
{
	if (got != want)
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* Sizes round up by the reference's three steps; 0 stays 0. */
static void
test_blur_size(void **state)
{
	static const struct {
		uint64_t	 n, want;
	} t[] = {
		{ 0, 0 },
		{ 1, 10000 },
		{ 9999, 10000 },
		{ 10000, 10000 },
		{ 10001, 20000 },
		{ 990001, 1000000 },
		{ 999999, 1000000 },
		{ 1000000, 1000000 },
		{ 1000001, 2000000 },
		{ 999999999, 1000000000 },
		{ 1000000000, 1000000000 },
		{ 1000000001, 1100000000 },
		{ 1100000000, 1100000000 },
		{ 1100000001, 1200000000 },
		{ 123456789012, 123500000000 },
	};
	size_t		 i;
	uint64_t	 got;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		got = usage_blur_size(t[i].n);
		if (got != t[i].want)
			fail_msg("blur_size(%ju): got %ju, want %ju",
			    (uintmax_t)t[i].n, (uintmax_t)got,
			    (uintmax_t)t[i].want);
	}
}

/* Blurring floors started, rounds bytes up and keeps the durations. */
static void
test_blur(void **state)
{
	static const struct {
		double		 started;
		uint64_t	 bytes;
		unsigned long	 seconds;
		double		 want_started;
		uint64_t	 want_bytes;
	} t[] = {
		{ 1795421773.91, 1, 3600, 1795420800.0, 10000 },
		{ 1795421773.9136212, 1000001, 3600, 1795420800.0, 2000000 },
		{ 1795420800.0, 0, 3600, 1795420800.0, 0 },
		{ 1795421773.91, 10001, 60, 1795421760.0, 20000 },
		{ 1795421773.91, 10001, 1, 1795421773.0, 20000 },
		{ 1795421773.91, 1, 0, 1795421773.91, 1 },
		{ 1795421773.91, 10001, 0, 1795421773.91, 10001 },
	};
	struct usage_rec	 r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&r, 0, sizeof r);
		r.started = t[i].started;
		r.total_time = 12.25;
		r.waiting_time = 2.5;
		r.has_waiting = 1;
		r.total_bytes = t[i].bytes;
		r.mood = "happy";
		usage_blur(&r, t[i].seconds);
		check_dbl(r.started, t[i].want_started, "started");
		assert_int_equal(r.total_bytes, t[i].want_bytes);
		check_dbl(r.total_time, 12.25, "total_time");
		check_dbl(r.waiting_time, 2.5, "waiting_time");
		assert_int_equal(r.has_waiting, 1);
		assert_string_equal(r.mood, "happy");
	}
}

/* Doubles print as Python's repr(float) prints them. */
static void
test_fmt_double(void **state)
{
	static const struct {
		double		 d;
		const char	*want;
	} t[] = {
		{ 1795421773.9136212, "1795421773.9136212" },
		{ 1795420800.0, "1795420800.0" },
		{ 0.5, "0.5" },
		{ 0.1, "0.1" },
		{ 0.0, "0.0" },
		{ -0.0, "-0.0" },
		{ -2.5, "-2.5" },
		{ 1e-05, "1e-05" },
		{ 0.0001, "0.0001" },
		{ 2.5e-07, "2.5e-07" },
		{ 1000000000.0, "1000000000.0" },
		{ 123.456, "123.456" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 0.003333333333333333, "0.003333333333333333" },
		{ 1795421773.9136212 - 1795421773.911, "0.002621173858642578" },
		{ 0.012345678901234568, "0.012345678901234568" },
		{ 0.00012345678901234567, "0.00012345678901234567" },
		{ 1.2345678901234567e-05, "1.2345678901234568e-05" },
		{ 1234567890123456.8, "1234567890123456.8" },
		{ 1e15, "1000000000000000.0" },
		{ 1e16, "1e+16" },
		{ 12345678901234568.0, "1.2345678901234568e+16" },
		{ 1.0000000000000002e16, "1.0000000000000002e+16" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 5e-324, "5e-324" },
	};
	char	 buf[64];
	size_t	 i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(buf, 'x', sizeof buf);
		if (usage_fmt_double(buf, sizeof buf, t[i].d) !=
		    (int)strlen(t[i].want) || strcmp(buf, t[i].want) != 0) {
			print_error("fmt(%.17g): got \"%.*s\", want \"%s\"\n",
			    t[i].d, (int)sizeof buf - 1, buf, t[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Non-finite values and short buffers give -1. */
static void
test_fmt_double_errors(void **state)
{
	char	 buf[64];

	(void)state;
	assert_int_equal(usage_fmt_double(buf, sizeof buf, NAN), -1);
	assert_int_equal(usage_fmt_double(buf, sizeof buf, INFINITY), -1);
	assert_int_equal(usage_fmt_double(buf, sizeof buf, -INFINITY), -1);
	assert_int_equal(usage_fmt_double(buf, 0, 0.5), -1);
	assert_int_equal(usage_fmt_double(buf, 3, 0.5), -1);
	assert_int_equal(usage_fmt_double(buf, 4, 0.5), 3);
	assert_string_equal(buf, "0.5");
	assert_int_equal(usage_fmt_double(buf, 18, 1795421773.9136212), -1);
	assert_int_equal(usage_fmt_double(buf, 19, 1795421773.9136212), 18);
	assert_string_equal(buf, "1795421773.9136212");
	assert_int_equal(usage_fmt_double(buf, 12, 1795420800.0), -1);
	assert_int_equal(usage_fmt_double(buf, 13, 1795420800.0), 12);
	assert_string_equal(buf, "1795420800.0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blur_size),
		cmocka_unit_test(test_blur),
		cmocka_unit_test(test_fmt_double),
		cmocka_unit_test(test_fmt_double_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
