/*
 * test_opts.c: opts_parse() on the reference's command line (protocol
 * spec, Command line of the reference). Every case runs in this one
 * process, so opts_parse must reset getopt itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

#define ARGS_MAX	8

struct ocase {
	const char	*argv[ARGS_MAX];
	int		 rv;
	const char	*ports[3];	/* rv 0: endpoints, in order */
	int		 log_fd;
	unsigned long	 blur;
	int		 help, version;
	const char	*msg;		/* rv -1: part of the message */
};

static const struct ocase cases[] = {
	{ { NULL }, 0, { ENDPOINT_DEFAULT }, -1, 0, 0, 0, NULL },
	{ { "--port=tcp:4002" }, 0, { "tcp:4002" }, -1, 0, 0, 0, NULL },
	{ { "--log-fd=abc" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--port", "tcp:4003:interface=127.0.0.1" }, 0,
	    { "tcp:4003:interface=127.0.0.1" }, -1, 0, 0, 0, NULL },
	{ { "-p", "tcp:4004" }, 0, { "tcp:4004" }, -1, 0, 0, 0, NULL },
	{ { "--frobnicate" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "-ptcp:4005" }, 0, { "tcp:4005" }, -1, 0, 0, 0, NULL },
	{ { "--port=tcp:4006", "--port", "tcp6:4007" }, 0,
	    { "tcp:4006", "tcp6:4007" }, -1, 0, 0, 0, NULL },
	{ { "--port" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--log-fd=3" }, 0, { ENDPOINT_DEFAULT }, 3, 0, 0, 0, NULL },
	{ { "--log-fd", "7", "--blur-usage=3600" }, 0, { ENDPOINT_DEFAULT },
	    7, 3600, 0, 0, NULL },
	{ { "--blur-usage", "60", "-p", "tcp:0" }, 0, { "tcp:0" }, -1, 60,
	    0, 0, NULL },
	{ { "extra" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--log-fd=-1" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--log-fd=" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--blur-usage=x" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--blur-usage=-5" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--port=bogus" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--port=tcp:40\n01" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--port=tcp:4001", "extra" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--usage-db=x" }, 0, { ENDPOINT_DEFAULT }, -1, 0, 0, 0, NULL },
	{ { "--usage-db", "y", "-p", "tcp:0" }, 0, { "tcp:0" }, -1, 0, 0, 0,
	    NULL },
	{ { "--usage-db=" }, -1, { NULL }, 0, 0, 0, 0, "file name" },
	{ { "--websocket=bogus" }, -1, { NULL }, 0, 0, 0, 0, "--websocket" },
	{ { "-w" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "--websocket-url=http://x/" }, -1, { NULL }, 0, 0, 0, 0,
	    "--websocket-url" },
	{ { "-u", "ws://" }, -1, { NULL }, 0, 0, 0, 0, "ws://" },
	{ { "-u", "ws:///path" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "-u", "ws://a b/" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "-u", "wss://x/#frag" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "-u", "x" }, -1, { NULL }, 0, 0, 0, 0, NULL },
	{ { "-u", "ws://x/" }, 0, { ENDPOINT_DEFAULT }, -1, 0, 0, 0, NULL },
	{ { "--help" }, 0, { NULL }, -1, 0, 1, 0, NULL },
	{ { "--version" }, 0, { NULL }, -1, 0, 0, 1, NULL },
	{ { "--port=tcp:4008" }, 0, { "tcp:4008" }, -1, 0, 0, 0, NULL },
};

/* Whether got is the endpoint that s parses to. */
static int
same_port(const struct endpoint *got, const char *s)
{
	struct endpoint	 want;
	char		 err[256];

	memset(&want, 0, sizeof want);
	assert_int_equal(endpoint_parse(s, &want, err, sizeof err), 0);
	return (got->port == want.port && got->family6 == want.family6 &&
	    got->backlog == want.backlog &&
	    strcmp(got->interface, want.interface) == 0);
}

/* Run case c; print what differs and return 1, or return 0. */
static int
check(const struct ocase *c)
{
	char		*argv[ARGS_MAX + 2];
	struct opts	 o;
	const char	*name;
	char		 err[256];
	size_t		 i, n;
	int		 argc, rv;

	argv[0] = (char *)"transitd";
	for (argc = 1; c->argv[argc - 1] != NULL; argc++)
		argv[argc] = (char *)c->argv[argc - 1];
	argv[argc] = NULL;
	memset(&o, 0x55, sizeof o);
	memset(err, 0, sizeof err);
	name = c->argv[0] != NULL ? c->argv[0] : "(none)";
	rv = opts_parse(argc, argv, &o, err, sizeof err);
	if (rv != c->rv) {
		print_error("%s: got %d, want %d (%s)\n", name, rv, c->rv,
		    err);
		return (1);
	}
	if (rv == -1) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL ||
		    (c->msg != NULL && strstr(err, c->msg) == NULL)) {
			print_error("%s: bad message \"%s\"\n", name, err);
			return (1);
		}
		return (0);
	}
	if (o.log_fd != c->log_fd || o.blur_usage != c->blur ||
	    o.help != c->help || o.version != c->version) {
		print_error("%s: got log_fd %d blur %lu help %d version %d\n",
		    name, o.log_fd, o.blur_usage, o.help, o.version);
		return (1);
	}
	if (c->help || c->version)
		return (0);
	for (n = 0; n < 3 && c->ports[n] != NULL; n++)
		continue;
	if (o.nports != n) {
		print_error("%s: got %zu ports, want %zu\n", name, o.nports,
		    n);
		return (1);
	}
	for (i = 0; i < n; i++) {
		if (!same_port(&o.ports[i], c->ports[i])) {
			print_error("%s: port %zu is %d \"%.*s\", want %s\n",
			    name, i, o.ports[i].port, ENDPOINT_ADDR_MAX - 1,
			    o.ports[i].interface, c->ports[i]);
			return (1);
		}
	}
	return (0);
}

/* Each command line gives its options or a one-line error. */
static void
test_opts(void **state)
{
	size_t	 i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		bad += check(&cases[i]);
	assert_int_equal(bad, 0);
}

/* The same command lines give the same answers when run again. */
static void
test_opts_again(void **state)
{
	size_t	 i, bad = 0;

	(void)state;
	for (i = sizeof cases / sizeof cases[0]; i > 0; i--)
		bad += check(&cases[i - 1]);
	assert_int_equal(bad, 0);
}

/* --websocket endpoints and --websocket-url, in every form. */
static void
test_opts_websocket(void **state)
{
	char		*a1[] = { "transitd", "--websocket=tcp:4002", "-w",
			    "tcp:4003:interface=127.0.0.1", "-u",
			    "wss://relay.example:443/transit", NULL };
	char		*a2[] = { "transitd", "--websocket", "tcp:4002",
			    "--websocket-url", "WS://x:1", NULL };
	char		*a3[] = { "transitd", NULL };
	struct opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(opts_parse(6, a1, &o, err, sizeof err), 0);
	assert_int_equal(o.nwebsockets, 2);
	assert_int_equal(o.websockets[0].port, 4002);
	assert_int_equal(o.websockets[1].port, 4003);
	assert_string_equal(o.websockets[1].interface, "127.0.0.1");
	assert_string_equal(o.websocket_url, "wss://relay.example:443/transit");
	/* --websocket adds no TCP port: the default one stays. */
	assert_int_equal(o.nports, 1);
	assert_int_equal(o.ports[0].port, 4001);
	assert_int_equal(opts_parse(5, a2, &o, err, sizeof err), 0);
	assert_int_equal(o.nwebsockets, 1);
	assert_string_equal(o.websocket_url, "WS://x:1");
	assert_int_equal(opts_parse(1, a3, &o, err, sizeof err), 0);
	assert_int_equal(o.nwebsockets, 0);
	assert_null(o.websocket_url);
}

/* At most OPTS_PORTS_MAX ports are taken. */
/* --usage-db keeps its file name, in both forms. */
static void
test_opts_usage_db(void **state)
{
	char		*a1[] = { "transitd", "--usage-db=/var/x.db", NULL };
	char		*a2[] = { "transitd", "--usage-db", "y.db", NULL };
	char		*a3[] = { "transitd", NULL };
	struct opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(opts_parse(2, a1, &o, err, sizeof err), 0);
	assert_string_equal(o.usage_db, "/var/x.db");
	assert_int_equal(opts_parse(3, a2, &o, err, sizeof err), 0);
	assert_string_equal(o.usage_db, "y.db");
	assert_int_equal(opts_parse(1, a3, &o, err, sizeof err), 0);
	assert_null(o.usage_db);
}

static void
test_opts_many(void **state)
{
	char		*argv[OPTS_PORTS_MAX + 3];
	char		 port[OPTS_PORTS_MAX + 1][32];
	struct opts	 o;
	char		 err[256];
	int		 i;

	(void)state;
	argv[0] = (char *)"transitd";
	for (i = 0; i <= OPTS_PORTS_MAX; i++) {
		snprintf(port[i], sizeof port[i], "--port=tcp:%d", 5000 + i);
		argv[i + 1] = port[i];
	}
	argv[OPTS_PORTS_MAX + 2] = NULL;
	assert_int_equal(opts_parse(OPTS_PORTS_MAX + 1, argv, &o, err,
	    sizeof err), 0);
	assert_int_equal(o.nports, OPTS_PORTS_MAX);
	for (i = 0; i < OPTS_PORTS_MAX; i++)
		assert_int_equal(o.ports[i].port, 5000 + i);
	err[0] = '\0';
	assert_int_equal(opts_parse(OPTS_PORTS_MAX + 2, argv, &o, err,
	    sizeof err), -1);
	assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
}

/* Each option comes from its TRANSITD_ variable unless given. */
static void
test_opts_env(void **state)
{
	char		*a0[] = { "transitd", NULL };
	char		*a1[] = { "transitd", "--port=tcp:4100", "--blur-usage",
			    "60", NULL };
	char		*env[] = { "PATH=/bin", "TRANSITD_PORT= tcp:4001\t"
			    "tcp:4002:interface=127.0.0.1 \n",
			    "TRANSITD_BLUR_USAGE=3600", "TRANSITD_LOG_FD=",
			    "TRANSITD_USAGE_DB=/var/lib/transitd/usage.sqlite",
			    "TRANSITD_WEBSOCKET=tcp:4003",
			    "TRANSITD_WEBSOCKET_URL=wss://relay.example/",
			    "TRANSITD_DRAIN_TIMEOUT=5", "TRANSITD_MUNIN=x",
			    "TRANSITD=/usr/sbin/transitd", NULL };
	char		*env2[] = { "TRANSITD_LOG_FILE=/var/log/t.log", NULL };
	struct opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(opts_parse_env(1, a0, env, &o, err, sizeof err), 0);
	assert_int_equal(o.nports, 2);
	assert_int_equal(o.ports[0].port, 4001);
	assert_int_equal(o.ports[1].port, 4002);
	assert_string_equal(o.ports[1].interface, "127.0.0.1");
	assert_int_equal(o.blur_usage, 3600);
	assert_int_equal(o.log_fd, -1);		/* empty means unset */
	assert_string_equal(o.usage_db, "/var/lib/transitd/usage.sqlite");
	assert_int_equal(o.nwebsockets, 1);
	assert_int_equal(o.websockets[0].port, 4003);
	assert_string_equal(o.websocket_url, "wss://relay.example/");
	assert_int_equal(o.drain_timeout, 5);
	assert_null(o.log_file);
	/* The command line wins, option by option. */
	assert_int_equal(opts_parse_env(4, a1, env, &o, err, sizeof err), 0);
	assert_int_equal(o.nports, 1);
	assert_int_equal(o.ports[0].port, 4100);
	assert_int_equal(o.blur_usage, 60);
	assert_int_equal(o.drain_timeout, 5);
	assert_int_equal(o.nwebsockets, 1);
	/* Without variables: the defaults. */
	assert_int_equal(opts_parse_env(1, a0, NULL, &o, err, sizeof err), 0);
	assert_int_equal(o.drain_timeout, OPTS_DRAIN_DEFAULT);
	assert_int_equal(o.nports, 1);
	assert_int_equal(o.ports[0].port, 4001);
	assert_int_equal(opts_parse_env(1, a0, env2, &o, err, sizeof err), 0);
	assert_string_equal(o.log_file, "/var/log/t.log");
}

/* A bad variable is a one-line error that names it. */
static void
test_opts_env_bad(void **state)
{
	static const char *const bad[][2] = {
		{ "TRANSITD_PORT=tcp:4001 bogus", "TRANSITD_PORT=bogus" },
		{ "TRANSITD_BLUR_USAGE=1h", "TRANSITD_BLUR_USAGE=1h" },
		{ "TRANSITD_LOG_FD=x", "TRANSITD_LOG_FD=x" },
		{ "TRANSITD_DRAIN_TIMEOUT=-1", "TRANSITD_DRAIN_TIMEOUT" },
		{ "TRANSITD_WEBSOCKET_URL=http://x/", "TRANSITD_WEBSOCKET_URL" },
		{ "TRANSITD_WEBSOCKET=tcp:99999", "TRANSITD_WEBSOCKET" },
	};
	char		*a0[] = { "transitd", NULL, NULL };
	char		*a1[] = { "transitd", "--log-fd=3", NULL };
	char		*env[2], *env2[] = { "TRANSITD_LOG_FILE=/x", NULL };
	char		*env3[] = { "TRANSITD_LOG_FILE=/x", "TRANSITD_LOG_FD=3",
			    NULL };
	char		 many[OPTS_PORTS_MAX * 10 + 32], err[256];
	struct opts	 o;
	size_t		 i;
	int		 n;

	(void)state;
	env[1] = NULL;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		env[0] = (char *)bad[i][0];
		err[0] = '\0';
		assert_int_equal(opts_parse_env(1, a0, env, &o, err,
		    sizeof err), -1);
		assert_non_null(strstr(err, bad[i][1]));
		assert_null(strchr(err, '\n'));
	}
	/* Too many endpoints in one variable. */
	n = snprintf(many, sizeof many, "TRANSITD_PORT=");
	for (i = 0; i <= OPTS_PORTS_MAX; i++)
		n += snprintf(many + n, sizeof many - n, "tcp:%zu ", 5000 + i);
	env[0] = many;
	assert_int_equal(opts_parse_env(1, a0, env, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "too many"));
	/* --help and --version ignore the environment. */
	env[0] = (char *)bad[0][0];
	a0[1] = "--help";
	assert_int_equal(opts_parse_env(2, a0, env, &o, err, sizeof err), 0);
	assert_int_equal(o.help, 1);
	a0[1] = "-V";
	assert_int_equal(opts_parse_env(2, a0, env, &o, err, sizeof err), 0);
	assert_int_equal(o.version, 1);
	a0[1] = NULL;
	/* Both usage line destinations: the command line's wins over the
	 * environment's; both in the environment is an error. */
	assert_int_equal(opts_parse_env(2, a1, env2, &o, err, sizeof err), 0);
	assert_int_equal(o.log_fd, 3);
	assert_null(o.log_file);
	assert_int_equal(opts_parse_env(1, a0, env3, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--log-file"));
}

/* --drain-timeout and --log-file on the command line. */
static void
test_opts_drain_log_file(void **state)
{
	char		*a1[] = { "transitd", "--drain-timeout=0",
			    "--log-file", "/tmp/u.log", NULL };
	char		*a2[] = { "transitd", "--drain-timeout=x", NULL };
	char		*a3[] = { "transitd", "--log-file=", NULL };
	struct opts	 o;
	char		 err[256];

	(void)state;
	assert_int_equal(opts_parse(4, a1, &o, err, sizeof err), 0);
	assert_int_equal(o.drain_timeout, 0);
	assert_string_equal(o.log_file, "/tmp/u.log");
	assert_int_equal(opts_parse(2, a2, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--drain-timeout=x"));
	assert_int_equal(opts_parse(2, a3, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "--log-file needs a file name"));
}

/* --threads: 1 to OPTS_THREADS_MAX, default 0 (one per core). */
static void
test_opts_threads(void **state)
{
	char		*a0[] = { "transitd", NULL };
	char		*a1[] = { "transitd", "--threads=4", NULL };
	char		*a2[] = { "transitd", "--threads", "1", NULL };
	static const char *const bad[] = { "0", "-1", "x", "", "257",
			    "99999999999", "4x" };
	char		*env[] = { "TRANSITD_THREADS=3", NULL };
	char		*env0[] = { "TRANSITD_THREADS=0", NULL };
	char		 arg[64], err[256];
	char		*a3[] = { "transitd", arg, NULL };
	struct opts	 o;
	size_t		 i;

	(void)state;
	assert_int_equal(opts_parse(1, a0, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, 0);
	assert_int_equal(opts_parse(2, a1, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, 4);
	assert_int_equal(opts_parse(3, a2, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, 1);
	snprintf(arg, sizeof arg, "--threads=%d", OPTS_THREADS_MAX);
	assert_int_equal(opts_parse(2, a3, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, OPTS_THREADS_MAX);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(arg, sizeof arg, "--threads=%s", bad[i]);
		assert_int_equal(opts_parse(2, a3, &o, err, sizeof err), -1);
		assert_non_null(strstr(err, "not a number of threads from 1 "
		    "to 256"));
	}
	assert_int_equal(opts_parse_env(1, a0, env, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, 3);
	assert_int_equal(opts_parse_env(2, a1, env, &o, err, sizeof err), 0);
	assert_int_equal(o.threads, 4);
	assert_int_equal(opts_parse_env(1, a0, env0, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "TRANSITD_THREADS"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_opts_again),
		cmocka_unit_test(test_opts_many),
		cmocka_unit_test(test_opts_usage_db),
		cmocka_unit_test(test_opts_websocket),
		cmocka_unit_test(test_opts_env),
		cmocka_unit_test(test_opts_env_bad),
		cmocka_unit_test(test_opts_drain_log_file),
		cmocka_unit_test(test_opts_threads),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
