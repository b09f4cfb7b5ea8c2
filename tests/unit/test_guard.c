/*
 * test_guard.c: the protections' pure parts: option values (limits.h),
 * address ranges and sources, token buckets (guard.h), and the table of
 * sources (admit.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admit.h"
#include "guard.h"
#include "limits.h"

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return (ss);
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
test_limits_values(void **state)
{
	struct limits	 l;
	char		 err[200];
	uint64_t	 n;

	(void)state;
	limits_init(&l);
	assert_int_equal(l.handshake_timeout, 60);
	assert_int_equal(l.keepalive, 300);
	assert_int_equal(l.ipv6_prefix, 64);
	assert_int_equal(l.max_per_ip, 0);
	assert_int_equal(limits_bytes("1500", &n), 0);
	assert_int_equal(n, 1500);
	assert_int_equal(limits_bytes("10k", &n), 0);
	assert_int_equal(n, 10000);
	assert_int_equal(limits_bytes("2Mi/s", &n), 0);
	assert_int_equal(n, 2 * 1024 * 1024);
	assert_int_equal(limits_bytes("5G", &n), 0);
	assert_true(n == 5000000000ULL);
	assert_int_equal(limits_bytes("", &n), -1);
	assert_int_equal(limits_bytes("-1", &n), -1);
	assert_int_equal(limits_bytes("3x", &n), -1);
	assert_int_equal(limits_bytes("99999999999T", &n), -1);
	assert_int_equal(limits_set(&l, "idle-timeout", "--idle-timeout",
	    "30", err, sizeof err), 0);
	assert_int_equal(l.idle_timeout, 30);
	assert_int_equal(limits_set(&l, "global-rate", "--global-rate",
	    "1M/s", err, sizeof err), 0);
	assert_true(l.global_rate == 1000000);
	assert_int_equal(limits_set(&l, "ipv6-prefix", "--ipv6-prefix", "129",
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "--ipv6-prefix=129"));
	assert_int_equal(limits_set(&l, "trusted-net", "--trusted-net",
	    "10.0.0.0/33", err, sizeof err), -1);
	assert_int_equal(limits_set(&l, "trusted-net", "--trusted-net",
	    "2001:db8::/32", err, sizeof err), 0);
	assert_int_equal(l.ntrusted, 1);
	assert_int_equal(limits_set(&l, "lonely-timeout", "--lonely-timeout",
	    "soon", err, sizeof err), -1);
	/* Ten years at most: a deadline in tenths fits 32 bits. */
	assert_int_equal(limits_set(&l, "idle-timeout", "--idle-timeout",
	    "315360000", err, sizeof err), 0);
	assert_int_equal(limits_set(&l, "idle-timeout", "--idle-timeout",
	    "315360001", err, sizeof err), -1);
}

static void
test_ranges(void **state)
{
	struct limits		 l;
	struct cidr		 c;
	struct sockaddr_storage	 a = addr("192.0.2.77"), b = addr("192.0.3.1"),
				 m = addr("::ffff:192.0.2.5"),
				 v6 = addr("2001:db8:1::5");

	(void)state;
	assert_int_equal(limits_cidr_parse("192.0.2.0/24", &c), 0);
	assert_true(guard_cidr_match(&c, SA(a)));
	assert_false(guard_cidr_match(&c, SA(b)));
	assert_true(guard_cidr_match(&c, SA(m)));	/* mapped: IPv4 */
	assert_false(guard_cidr_match(&c, SA(v6)));
	assert_int_equal(limits_cidr_parse("192.0.2.77", &c), 0);
	assert_int_equal(c.bits, 32);
	assert_true(guard_cidr_match(&c, SA(a)));
	assert_int_equal(limits_cidr_parse("2001:db8::/33", &c), 0);
	assert_true(guard_cidr_match(&c, SA(v6)));
	assert_int_equal(limits_cidr_parse("0.0.0.0/0", &c), 0);
	assert_true(guard_cidr_match(&c, SA(b)));
	assert_int_equal(limits_cidr_parse("nonsense/8", &c), -1);
	assert_int_equal(limits_cidr_parse("10.0.0.0/", &c), -1);
	limits_init(&l);
	assert_false(guard_trusted(&l, SA(a)));
	assert_int_equal(limits_cidr_parse("192.0.2.0/25", &l.trusted[0]), 0);
	l.ntrusted = 1;
	assert_true(guard_trusted(&l, SA(a)));
	assert_false(guard_trusted(&l, SA(b)));
}

static void
test_sources(void **state)
{
	uint8_t			 x[GUARD_SOURCE_LEN], y[GUARD_SOURCE_LEN];
	struct sockaddr_storage	 a = addr("2001:db8:1:2:aaaa::1"),
				 b = addr("2001:db8:1:2:bbbb::9"),
				 c = addr("2001:db8:1:3::1"),
				 d = addr("198.51.100.1"),
				 e = addr("::ffff:198.51.100.1");

	(void)state;
	/* One /64 is one source; the next /64 another. */
	assert_int_equal(guard_source(SA(a), 64, x), 0);
	assert_int_equal(guard_source(SA(b), 64, y), 0);
	assert_memory_equal(x, y, sizeof x);
	assert_int_equal(guard_source(SA(c), 64, y), 0);
	assert_memory_not_equal(x, y, sizeof x);
	/* With /48 they are one; with /128 each address is its own. */
	assert_int_equal(guard_source(SA(c), 48, y), 0);
	assert_int_equal(guard_source(SA(a), 48, x), 0);
	assert_memory_equal(x, y, sizeof x);
	assert_int_equal(guard_source(SA(a), 128, x), 0);
	assert_int_equal(guard_source(SA(b), 128, y), 0);
	assert_memory_not_equal(x, y, sizeof x);
	/* IPv4, mapped or not, is the whole address. */
	assert_int_equal(guard_source(SA(d), 64, x), 0);
	assert_int_equal(guard_source(SA(e), 64, y), 0);
	assert_memory_equal(x, y, sizeof x);
	/* A /57 keeps 7 bits of the eighth byte. */
	a = addr("2001:db8:1:2:ff::");
	b = addr("2001:db8:1:0:ff::");
	assert_int_equal(guard_source(SA(a), 57, x), 0);
	assert_int_equal(guard_source(SA(b), 57, y), 0);
	assert_memory_equal(x, y, sizeof x);
}

static void
test_bucket(void **state)
{
	struct bucket	 b;
	uint64_t	 rate = 1000000;	/* burst: 100 kB */

	(void)state;
	bucket_init(&b, rate, 16.0);
	assert_int_equal(bucket_allow(&b, rate, 16.0), 100000);
	bucket_take(&b, 100000);
	assert_int_equal(bucket_allow(&b, rate, 16.0), 0);
	assert_true(bucket_wait(&b, rate, 4096) > 0.004);
	assert_true(bucket_wait(&b, rate, 4096) < 0.0042);
	/* Half a second fills it only to its burst. */
	assert_int_equal(bucket_allow(&b, rate, 16.5), 100000);
	bucket_take(&b, 30000);
	assert_int_equal(bucket_allow(&b, rate, 16.515625), 85625);
	assert_true(bucket_wait(&b, rate, 4096) == 0);
	/* A small rate still moves whole reads: 16 KiB at least. */
	assert_true(bucket_burst(1000) == 16384);
	/* Time going backwards does not drain it. */
	assert_int_equal(bucket_allow(&b, rate, 9.0), 85625);
}

static void
test_admit(void **state)
{
	struct limits		 l;
	struct admit		*a;
	struct sockaddr_storage	 x = addr("203.0.113.1"),
				 y = addr("203.0.113.2"),
				 t = addr("10.1.1.1");
	uint64_t		 s1, s2, s3, sy, st;

	(void)state;
	limits_init(&l);
	assert_null(admit_new(&l));		/* nothing to keep */
	/* max-connections alone needs no table. */
	l.max_connections = 3;
	assert_int_equal(admit_accept(NULL, &l, SA(x), 3, &s1),
	    CAUSE_MAX_CONNECTIONS);
	assert_int_equal(admit_accept(NULL, &l, SA(x), 2, &s1), 0);
	assert_true(s1 == 0);
	l.max_connections = 0;
	l.max_per_ip = 2;
	l.max_waiting_per_ip = 1;
	l.daily_bytes_per_ip = 1000;
	assert_int_equal(limits_cidr_parse("10.0.0.0/8", &l.trusted[0]), 0);
	l.ntrusted = 1;
	assert_non_null(a = admit_new(&l));
	assert_int_equal(admit_accept(a, &l, SA(x), 0, &s1), 0);
	assert_int_equal(admit_accept(a, &l, SA(x), 0, &s2), 0);
	assert_true(s1 != 0 && s1 == s2);
	assert_int_equal(admit_accept(a, &l, SA(x), 0, &s3), CAUSE_PER_IP);
	assert_int_equal(admit_accept(a, &l, SA(y), 0, &sy), 0);
	assert_true(sy != s1);
	assert_int_equal(admit_accept(a, &l, SA(t), 0, &st), 0);
	assert_true(st == 0);			/* trusted: not counted */
	assert_true(admit_sources(a) == 2);
	/* Waiters: one per source. */
	assert_int_equal(admit_wait(a, s1, 1), 0);
	assert_int_equal(admit_wait(a, s2, 1), -1);
	admit_release(a, s2, 100);
	assert_int_equal(admit_accept(a, &l, SA(x), 0, &s3),
	    CAUSE_WAITING_PER_IP);
	admit_wait(a, s1, -1);
	/* Budgets: per day, both ways counted by the caller. */
	assert_false(admit_over_budget(a, s1, 100));
	admit_charge(a, s1, 600, 100);
	admit_charge(a, s1, 400, 100);
	assert_true(admit_over_budget(a, s1, 100));
	assert_false(admit_over_budget(a, sy, 100));
	assert_false(admit_over_budget(a, s1, 101));	/* a new day */
	/* A source with bytes of today stays after its last connection. */
	admit_release(a, s1, 100);
	assert_true(admit_sources(a) == 2);
	admit_release(a, sy, 100);
	assert_true(admit_sources(a) == 1);
	admit_sweep(a, 101);
	assert_true(admit_sources(a) == 0);
	admit_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits_values),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_admit),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
