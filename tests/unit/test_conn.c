/*
 * test_conn.c: the connection layer (conn.c, input.c, connset.c) on a
 * real event loop and socket pairs, with a fake transport that counts
 * what the lifecycle asks of it. The records are counted instead of
 * written.
 */
#include <sys/socket.h>

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h"
#include "connset.h"
#include "input.h"
#include "limits.h"
#include "logjson.h"
#include "db.h"

/* Not under test: record.c's sinks. */
void
logjson_write(struct logjson *l, const struct usage_rec *r)
{
	(void)l;
	(void)r;
}

void
db_record(struct db *db, const struct usage_rec *r)
{
	(void)db;
	(void)r;
}

static struct {
	int		 goodbyes;	/* goodbye calls */
	int		 last_code;
	int		 destroyed;
	int		 records;
	char		 moods[8][16];
} seen;

static int	 fake_ws;		/* the fake says goodbye, as WebSocket */

static int
fake_init(struct conn *c)
{
	c->rc.ws = fake_ws;
	return (0);
}

static void
fake_read(struct conn *c)
{
	char	 buf[4096];
	size_t	 n;

	if ((n = input_recv(c, buf, sizeof buf)) == 0)
		return;
	input_deliver(c, buf, n);
	conn_update(c);
}

static int
fake_send(struct conn *c, const void *buf, size_t len)
{
	return (pump_put(&c->out, buf, len));
}

static int
fake_reply(struct conn *c, const char *line)
{
	return (fake_send(c, line, strlen(line)));
}

static void
fake_goodbye(struct conn *c, int code)
{
	seen.goodbyes++;
	seen.last_code = code;
	(void)pump_put(&c->out, "BYE", 3);
}

static void
fake_destroy(struct conn *c)
{
	(void)c;
	seen.destroyed++;
}

static const struct transport fake_plain = {
	.init = fake_init, .read = fake_read, .reply = fake_reply,
	.send = fake_send, .send_max = PUMP_BUF, .destroy = fake_destroy,
};
static const struct transport fake_bye = {
	.init = fake_init, .read = fake_read, .reply = fake_reply,
	.send = fake_send, .send_max = PUMP_BUF, .goodbye = fake_goodbye,
	.destroy = fake_destroy,
};

static struct server	 srv;
static struct limits	 lim;

static void
record(struct server *s, const struct usage_rec *r)
{
	(void)s;
	if (seen.records < 8)
		snprintf(seen.moods[seen.records], sizeof seen.moods[0], "%s",
		    r->mood);
	seen.records++;
}

static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connset_reap(arg);
}

static int
setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof seen);
	memset(&srv, 0, sizeof srv);
	connset_init(&srv);
	srv.record = record;
	limits_init(&lim);
	srv.lim = &lim;
	if ((srv.base = event_base_new()) == NULL ||
	    (srv.reaper = event_new(srv.base, -1, 0, reap_cb, &srv)) == NULL)
		return (-1);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	connset_end_all(&srv);
	connset_reap(&srv);
	relay_free(&srv.relay);
	event_free(srv.reaper);
	event_base_free(srv.base);
	pump_pool_flush();
	return (0);
}

/* A client: its end of a socket pair; the other end is accepted. */
static int
client(const struct transport *t)
{
	int	 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	assert_non_null(connset_accept(&srv, sv[1], t, 0));
	return (sv[0]);
}

/* Turn the loop until nothing is left to do now. */
static void
spin(void)
{
	int	 i;

	for (i = 0; i < 20; i++)
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
}

/* Read what the relay sent to fd until EOF (or nothing more for now). */
static size_t
drain(int fd, char *buf, size_t len, int *eof)
{
	size_t	 got = 0;
	ssize_t	 n;

	*eof = 0;
	while (got < len) {
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			*eof = 1;
		if (n <= 0)
			break;
		got += n;
	}
	buf[got < len ? got : len - 1] = '\0';
	return (got);
}

/*
 * A WebSocket-like client whose handshake line is too long: one goodbye
 * (with the "too big" code), not two, then its close; one record.
 */
static void
test_toobig_one_goodbye(void **state)
{
	char	 junk[1100], buf[64];
	int	 fd, eof;

	(void)state;
	fake_ws = 1;
	fd = client(&fake_bye);
	memset(junk, 'x', sizeof junk);
	assert_int_equal(write(fd, junk, sizeof junk), sizeof junk);
	spin();
	assert_int_equal(seen.goodbyes, 1);
	assert_int_equal(seen.last_code, CONN_BYE_TOOBIG);
	assert_int_equal(seen.records, 1);
	assert_string_equal(seen.moods[0], "errory");
	/* The goodbye is written; the relay lingers for the client's FIN. */
	drain(fd, buf, sizeof buf, &eof);
	assert_string_equal(buf, "BYE");
	shutdown(fd, SHUT_WR);
	spin();
	drain(fd, buf, sizeof buf, &eof);
	assert_true(eof);
	assert_int_equal(srv.nconns, 0);
	assert_int_equal(seen.destroyed, 1);
	close(fd);
	fake_ws = 0;
}

/* A pair relays; one side's EOF closes the other; one happy record. */
static void
test_pair_one_record(void **state)
{
	char	 hs[100], buf[64];
	int	 a, b, eof;

	(void)state;
	snprintf(hs, sizeof hs, "please relay %064d\n", 7);
	a = client(&fake_plain);
	b = client(&fake_plain);
	assert_int_equal(write(a, hs, strlen(hs)), strlen(hs));
	spin();
	assert_int_equal(srv.relay.ntokens, 1);
	assert_int_equal(write(b, hs, strlen(hs)), strlen(hs));
	spin();
	drain(a, buf, sizeof buf, &eof);
	assert_string_equal(buf, "ok\n");
	drain(b, buf, sizeof buf, &eof);
	assert_string_equal(buf, "ok\n");
	assert_int_equal(srv.relay.npaired, 2);
	assert_int_equal(write(a, "hello", 5), 5);
	spin();
	drain(b, buf, sizeof buf, &eof);
	assert_string_equal(buf, "hello");
	close(a);
	spin();
	drain(b, buf, sizeof buf, &eof);
	assert_true(eof);
	assert_int_equal(seen.records, 1);
	assert_string_equal(seen.moods[0], "happy");
	assert_int_equal(srv.relay.npaired, 0);
	assert_int_equal(seen.goodbyes, 0);	/* plain: no goodbye */
	close(b);
	spin();
	assert_int_equal(srv.nconns, 0);
}

/* Draining: a waiter with a goodbye gets it and its record; one without
 * is dropped with its record; a pair stays. */
static void
test_drain(void **state)
{
	char	 hs[100], buf[64];
	int	 w1, w2, a, b, eof;

	(void)state;
	w1 = client(&fake_bye);
	w2 = client(&fake_plain);
	a = client(&fake_plain);
	b = client(&fake_plain);
	snprintf(hs, sizeof hs, "please relay %064d\n", 1);
	assert_int_equal(write(w1, hs, strlen(hs)), strlen(hs));
	snprintf(hs, sizeof hs, "please relay %064d\n", 2);
	assert_int_equal(write(w2, hs, strlen(hs)), strlen(hs));
	snprintf(hs, sizeof hs, "please relay %064d\n", 3);
	assert_int_equal(write(a, hs, strlen(hs)), strlen(hs));
	spin();
	assert_int_equal(write(b, hs, strlen(hs)), strlen(hs));
	spin();
	connset_drain(&srv);
	spin();
	assert_int_equal(seen.records, 2);
	assert_string_equal(seen.moods[0], "lonely");
	assert_string_equal(seen.moods[1], "lonely");
	assert_int_equal(seen.goodbyes, 1);
	drain(w1, buf, sizeof buf, &eof);
	assert_string_equal(buf, "BYE");
	drain(w2, buf, sizeof buf, &eof);
	assert_true(eof);
	assert_int_equal(srv.relay.npaired, 2);		/* the pair stays */
	assert_int_equal(connset_busy(&srv), 2);
	close(w1);
	close(w2);
	close(a);
	close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_toobig_one_goodbye, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pair_one_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
	};

	pump_budget_init();
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
