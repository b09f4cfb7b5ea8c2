/*
 * test_sdproto.c: systemd's socket activation, notification socket and
 * watchdog variables, parsed as sd_listen_fds(3), sd_notify(3) and
 * sd_watchdog_enabled(3) describe them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sdproto.h"

/* Sockets passed to this process, with names picking the transport. */
static void
test_listen_fds(void **state)
{
	struct sdproto_fds	 sf;
	char			 err[256];

	(void)state;
	assert_int_equal(sdproto_listen_fds("42", "2", "tcp:websocket", 42,
	    &sf, err, sizeof err), 2);
	assert_int_equal(sf.n, 2);
	assert_int_equal(sf.fd[0].websocket, 0);
	assert_int_equal(sf.fd[0].namelen, 3);
	assert_memory_equal(sf.fd[0].name, "tcp", 3);
	assert_int_equal(sf.fd[1].websocket, 1);
	/* systemd's default names are the socket units'. */
	assert_int_equal(sdproto_listen_fds("7", "3",
	    "transitd.socket:transitd-websocket.socket:WS", 7, &sf, err,
	    sizeof err), 3);
	assert_int_equal(sf.fd[0].websocket, 0);
	assert_int_equal(sf.fd[1].websocket, 1);
	assert_int_equal(sf.fd[2].websocket, 1);
	/* Fewer names than sockets: the rest are unnamed TCP ones. */
	assert_int_equal(sdproto_listen_fds("7", "3", "websocket", 7, &sf,
	    err, sizeof err), 3);
	assert_int_equal(sf.fd[0].websocket, 1);
	assert_int_equal(sf.fd[1].websocket, 0);
	assert_int_equal(sf.fd[1].namelen, 0);
	assert_int_equal(sf.fd[2].websocket, 0);
	/* More names than sockets, and no names at all. */
	assert_int_equal(sdproto_listen_fds("7", "1", "a:websocket", 7, &sf,
	    err, sizeof err), 1);
	assert_int_equal(sf.fd[0].websocket, 0);
	assert_int_equal(sdproto_listen_fds("7", "1", NULL, 7, &sf, err,
	    sizeof err), 1);
	assert_int_equal(sf.fd[0].namelen, 0);
	assert_int_equal(sdproto_listen_fds("7", "0", NULL, 7, &sf, err,
	    sizeof err), 0);
}

/* Variables meant for another process, or absent, pass nothing. */
static void
test_listen_fds_not_ours(void **state)
{
	struct sdproto_fds	 sf;
	char			 err[256];

	(void)state;
	assert_int_equal(sdproto_listen_fds("41", "2", NULL, 42, &sf, err,
	    sizeof err), 0);
	assert_int_equal(sdproto_listen_fds(NULL, "2", NULL, 42, &sf, err,
	    sizeof err), 0);
	assert_int_equal(sdproto_listen_fds("42", NULL, NULL, 42, &sf, err,
	    sizeof err), 0);
	assert_int_equal(sdproto_listen_fds("x42", "2", NULL, 42, &sf, err,
	    sizeof err), 0);
	assert_int_equal(sf.n, 0);
}

/* A bad count is an error that says so in one line. */
static void
test_listen_fds_bad(void **state)
{
	static const char *const bad[] = { "", "x", "-1", "2x", "65",
	    "99999999999999999999" };
	struct sdproto_fds	 sf;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(sdproto_listen_fds("9", bad[i], NULL, 9, &sf,
		    err, sizeof err), -1);
		assert_true(err[0] != '\0' && strchr(err, '\n') == NULL);
	}
	assert_int_equal(sdproto_listen_fds("9", "64", NULL, 9, &sf, err,
	    sizeof err), 64);
}

static void
test_is_websocket(void **state)
{
	(void)state;
	assert_true(sdproto_is_websocket("websocket", 9));
	assert_true(sdproto_is_websocket("WebSocket-public", 16));
	assert_true(sdproto_is_websocket("ws", 2));
	assert_false(sdproto_is_websocket("wss", 3));
	assert_false(sdproto_is_websocket("tcp", 3));
	assert_false(sdproto_is_websocket("websocke", 8));
	/* Only the first len bytes count. */
	assert_false(sdproto_is_websocket("tcp:websocket", 3));
	assert_false(sdproto_is_websocket("", 0));
}

static void
test_watchdog(void **state)
{
	(void)state;
	assert_int_equal(sdproto_watchdog("30000000", NULL, 5), 30000000);
	assert_int_equal(sdproto_watchdog("30000000", "5", 5), 30000000);
	assert_int_equal(sdproto_watchdog("30000000", "6", 5), 0);
	assert_int_equal(sdproto_watchdog(NULL, NULL, 5), 0);
	assert_int_equal(sdproto_watchdog("0", NULL, 5), 0);
	assert_int_equal(sdproto_watchdog("3s", NULL, 5), 0);
}

static void
test_notify_addr(void **state)
{
	struct sockaddr_un	 sun;
	char			 path[sizeof sun.sun_path + 2];
	socklen_t		 len;

	(void)state;
	len = sdproto_notify_addr("/run/systemd/notify", &sun);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
	assert_int_equal(sun.sun_family, AF_UNIX);
	assert_string_equal(sun.sun_path, "/run/systemd/notify");
	/* Abstract: a leading NUL, and the length says where it ends. */
	len = sdproto_notify_addr("@sd-notify", &sun);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 10);
	assert_int_equal(sun.sun_path[0], '\0');
	assert_memory_equal(sun.sun_path + 1, "sd-notify", 9);
	assert_int_equal(sdproto_notify_addr(NULL, &sun), 0);
	assert_int_equal(sdproto_notify_addr("", &sun), 0);
	assert_int_equal(sdproto_notify_addr("@", &sun), 0);
	assert_int_equal(sdproto_notify_addr("relative", &sun), 0);
	/* A path must fit with its NUL; an abstract name needs none. */
	memset(path, 'a', sizeof path);
	path[0] = '/';
	path[sizeof sun.sun_path - 1] = '\0';
	assert_int_not_equal(sdproto_notify_addr(path, &sun), 0);
	path[sizeof sun.sun_path - 1] = 'a';
	path[sizeof sun.sun_path] = '\0';
	assert_int_equal(sdproto_notify_addr(path, &sun), 0);
	path[0] = '@';
	assert_int_equal(sdproto_notify_addr(path, &sun),
	    sizeof(struct sockaddr_un));
	path[sizeof sun.sun_path] = 'a';
	path[sizeof sun.sun_path + 1] = '\0';
	assert_int_equal(sdproto_notify_addr(path, &sun), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_fds),
		cmocka_unit_test(test_listen_fds_not_ours),
		cmocka_unit_test(test_listen_fds_bad),
		cmocka_unit_test(test_is_websocket),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_notify_addr),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
