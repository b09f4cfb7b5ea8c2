/*
 * test_endpoint.c: endpoint_parse() on Twisted server endpoint strings
 * (protocol spec, Command line of the reference).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint.h"

/* Good strings give their port, interface, family and backlog. */
static void
test_good(void **state)
{
	static const struct {
		const char	*s;
		int		 port;
		const char	*interface;
		int		 family6;
		int		 backlog;
	} t[] = {
		{ "tcp:4001", 4001, "", 0, ENDPOINT_BACKLOG },
		{ "tcp:4001:interface=\\:\\:", 4001, "::", 1,
		    ENDPOINT_BACKLOG },
		{ ENDPOINT_DEFAULT, 4001, "::", 1, ENDPOINT_BACKLOG },
		{ "tcp:port=4001:interface=127.0.0.1:backlog=5", 4001,
		    "127.0.0.1", 0, 5 },
		{ "tcp:interface=127.0.0.1:port=4002", 4002, "127.0.0.1", 0,
		    ENDPOINT_BACKLOG },
		{ "tcp:4001:127.0.0.1", 4001, "127.0.0.1", 0,
		    ENDPOINT_BACKLOG },
		{ "tcp:4001:interface=\\:\\:1:backlog=50", 4001, "::1", 1, 50 },
		{ "tcp6:4001", 4001, "::", 1, ENDPOINT_BACKLOG },
		{ "tcp6:4003:interface=\\:\\:1", 4003, "::1", 1,
		    ENDPOINT_BACKLOG },
		{ "tcp:0", 0, "", 0, ENDPOINT_BACKLOG },
		{ "tcp:65535", 65535, "", 0, ENDPOINT_BACKLOG },
	};
	struct endpoint	 ep;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&ep, 0x55, sizeof ep);
		err[0] = '\0';
		if (endpoint_parse(t[i].s, &ep, err, sizeof err) != 0)
			fail_msg("%s: failed: %s", t[i].s, err);
		if (ep.port != t[i].port || ep.family6 != t[i].family6 ||
		    ep.backlog != t[i].backlog ||
		    strcmp(ep.interface, t[i].interface) != 0)
			fail_msg("%s: got port %d interface \"%.*s\" family6 "
			    "%d backlog %d", t[i].s, ep.port,
			    ENDPOINT_ADDR_MAX - 1, ep.interface, ep.family6,
			    ep.backlog);
	}
}

/* Bad strings give -1 and a one-line reason. */
static void
test_bad(void **state)
{
	static const char	*t[] = {
		"",
		"tcp",
		"tcp:",
		"tcp6:",
		"udp:4001",
		"unix:/x",
		"ssl:4001",
		"tcp:65536",
		"tcp:99999999999999999999",
		"tcp:-1",
		"tcp:abc",
		"tcp:4001x",
		"tcp:4001:foo=bar",
		"tcp:4001:backlog=x",
		"tcp:4001:interface=1.2.3.4:backlog=5:extra",
		"tcp:port=abc",
		"tcp:4001:port=4002",
		"tcp:interface=127.0.0.1",
		"tcp:backlog=5",
		"tcp:40\n01",
		"udp\n:4001",
	};
	struct endpoint		 ep;
	char			 err[256];
	size_t			 i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(err, 0, sizeof err);
		if (endpoint_parse(t[i], &ep, err, sizeof err) != -1) {
			print_error("\"%s\": not refused\n", t[i]);
			bad++;
		} else if (err[0] == '\0' || strchr(err, '\n') != NULL) {
			print_error("\"%s\": bad message \"%s\"\n", t[i],
			    err);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
