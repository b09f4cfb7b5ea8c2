/*
 * test_relay.c: token matching, moods and usage records of the relay
 * core (protocol spec, Handshake, Matching, Moods and usage records).
 * Every case runs twice: lines fed whole, then byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay.h"

#define H16	"0123456789abcdef"
#define TOKA	H16 H16 H16 H16
#define TOKB	"fedcba9876543210fedcba9876543210" \
		"fedcba9876543210fedcba9876543210"
#define S1	H16
#define S2	"Side_Of_The_Pair"
#define BAD	"bad handshake\n"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static struct relay		 r;
static struct relay_conn	 conn[5];
static size_t			 nconn;
static struct relay_act		 acts[64];	/* what the last call gave */
static size_t			 nacts;
static int			 bytewise;

/* Append what one call returned to acts. */
static void
add(const struct relay_act *act, size_t nact)
{
	assert_in_range(nact, 0, RELAY_ACT_MAX);
	assert_in_range(nacts + nact, 0, nitems(acts));
	memcpy(acts + nacts, act, nact * sizeof *act);
	nacts += nact;
}

/* Start r with n conns, ids 1 to n, accepted at the times that follow. */
static void
begin(size_t n, ...)
{
	va_list	 ap;
	size_t	 i;

	assert_in_range(n, 1, nitems(conn));
	relay_init(&r);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		relay_conn_init(&conn[i], i + 1, va_arg(ap, double));
	va_end(ap);
	nconn = n;
	nacts = 0;
}

/* Feed s to c (whole or byte by byte) and return how much was used. */
static size_t
input(struct relay_conn *c, const char *s, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 i, nact, rv, len = strlen(s);
	size_t			 step = bytewise ? 1 : len;

	nacts = 0;
	for (i = 0; i < len; i += step) {
		nact = RELAY_ACT_MAX;
		rv = relay_input(&r, c, s + i, step, now, act, &nact);
		assert_in_range(rv, 0, step);
		add(act, nact);
		if (!bytewise || c->state == RELAY_PAIRED ||
		    c->state == RELAY_DONE)
			return (i + rv);
	}
	return (len);
}

/* Feed a handshake line for token tok and side (NULL: unsided). */
static size_t
hello(struct relay_conn *c, const char *tok, const char *side,
    const char *more, double now)
{
	char	 buf[256];
	int	 n;

	n = snprintf(buf, sizeof buf, "please relay %s%s%s\n%s", tok,
	    side != NULL ? " for side " : "", side != NULL ? side : "", more);
	assert_in_range(n, 0, sizeof buf - 1);
	return (input(c, buf, now));
}

/* Close c, keeping the actions in acts. */
static void
cclose(struct relay_conn *c, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact = RELAY_ACT_MAX;

	nacts = 0;
	relay_close(&r, c, now, act, &nact);
	add(act, nact);
}

/* Collect every spare, keeping the actions; return how many. */
static int
spares(double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;
	int			 n;

	nacts = 0;
	for (n = 0; n < 16; n++) {
		nact = RELAY_ACT_MAX;
		if (relay_spares(&r, now, act, &nact) == 0)
			return (n);
		assert_int_equal(nact, 2);
		add(act, nact);
	}
	fail_msg("relay_spares never returns 0");
	return (-1);
}

/* The first action of type for c (NULL: any), failing if there is none. */
static const struct relay_act *
act_of(enum relay_act_type type, const struct relay_conn *c)
{
	size_t	 i;

	for (i = 0; i < nacts; i++)
		if (acts[i].type == type && (c == NULL || acts[i].conn == c))
			return (&acts[i]);
	fail_msg("no action of type %d for conn %p", (int)type, (void *)c);
	return (NULL);
}

/* Fail unless a double is exactly what the times passed in make it. */
static void
check_dbl(double got, double want, const char *what)
{
	if (got != want)
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* Fail unless rec is the given record (waiting < 0: null). */
static void
check_rec(const struct usage_rec *rec, const char *mood, double started,
    double total, double waiting, uint64_t bytes)
{
	assert_non_null(rec->mood);
	assert_string_equal(rec->mood, mood);
	check_dbl(rec->started, started, "started");
	check_dbl(rec->total_time, total, "total_time");
	assert_int_equal(rec->has_waiting, waiting >= 0);
	if (waiting >= 0)
		check_dbl(rec->waiting_time, waiting, "waiting_time");
	assert_int_equal(rec->total_bytes, bytes);
}

/* Fail unless r has ntokens tokens waiting and npaired conns paired. */
static void
check_counts(size_t ntokens, size_t npaired)
{
	assert_int_equal(r.ntokens, ntokens);
	assert_int_equal(r.npaired, npaired);
}

/* Fail unless the last call gave nothing and left c waiting. */
static void
check_wait(const struct relay_conn *c, size_t ntokens, size_t npaired)
{
	assert_int_equal(nacts, 0);
	assert_int_equal(c->state, RELAY_WAIT_PARTNER);
	check_counts(ntokens, npaired);
}

/* Feed c an unsided or sided hello on TOKA that must leave it waiting. */
static void
hello_wait(struct relay_conn *c, const char *side, double now,
    size_t npaired)
{
	hello(c, TOKA, side, "", now);
	check_wait(c, 1, npaired);
}

/* Fail unless c alone got line (NULL: none), a close if closed, a record. */
static void
check_end(const struct relay_conn *c, const char *line, int closed,
    const char *mood, double started, double total)
{
	const struct relay_act	*s;

	assert_int_equal(nacts, (line != NULL) + (closed != 0) + 1);
	if (closed)
		act_of(RELAY_CLOSE, c);
	if (line != NULL) {
		s = act_of(RELAY_SEND, c);
		assert_true(s < act_of(RELAY_CLOSE, c));
		assert_string_equal(s->line, line);
	}
	check_rec(&act_of(RELAY_RECORD, c)->rec, mood, started, total, -1, 0);
	assert_int_equal(c->state, RELAY_DONE);
}

/* Fail unless closing c again gives nothing. */
static void
check_reclose(struct relay_conn *c, double now)
{
	cclose(c, now);
	assert_int_equal(nacts, 0);
}

/* Fail unless the last input paired a (waiting first) with b alone. */
static void
check_pair(const struct relay_conn *a, const struct relay_conn *b,
    size_t npaired)
{
	const struct relay_act	*p;

	assert_int_equal(nacts, 3);
	assert_string_equal(act_of(RELAY_SEND, a)->line, "ok\n");
	assert_string_equal(act_of(RELAY_SEND, b)->line, "ok\n");
	p = act_of(RELAY_PAIR, NULL);
	assert_true((p->conn == a && p->peer == b) ||
	    (p->conn == b && p->peer == a));
	assert_int_equal(a->state, RELAY_PAIRED);
	assert_int_equal(b->state, RELAY_PAIRED);
	assert_ptr_equal(a->peer, b);
	assert_ptr_equal(b->peer, a);
	assert_int_equal(a->first, 1);
	assert_int_equal(b->first, 0);
	check_counts(0, npaired);
}

/* Close every conn, drop the spares and free r; nothing may be left. */
static void
finish(double now)
{
	size_t	 i;

	spares(now);
	for (i = 0; i < nconn; i++)
		cclose(&conn[i], now);
	check_counts(0, 0);
	relay_free(&r);
}

/* Same token pairs unless both sides are given and equal. */
static void
test_match(void **state)
{
	static const struct {
		const char	*tok, *side_a, *side_b;
		int		 pair;
	} t[] = {
		{ TOKA, NULL, NULL, 1 },
		{ TOKA, S1, S2, 1 },
		{ TOKA, NULL, S1, 1 },
		{ TOKA, S1, NULL, 1 },
		{ TOKA, S1, S1, 0 },
		{ TOKB, NULL, NULL, 0 },
		{ TOKB, S1, S2, 0 },
	};
	struct relay_conn	*a = &conn[0], *b = &conn[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		begin(2, 1000.0, 1002.5);
		assert_int_equal(hello(a, TOKA, t[i].side_a, "", 1001.0),
		    78 + (t[i].side_a ? 26 : 0));
		check_wait(a, 1, 0);
		assert_int_equal(hello(b, t[i].tok, t[i].side_b, "", 1003.0),
		    78 + (t[i].side_b ? 26 : 0));
		if (t[i].pair)
			check_pair(a, b, 2);
		else
			check_wait(b, strcmp(t[i].tok, TOKA) == 0 ? 1 : 2, 0);
		assert_int_equal(spares(1004.0), 0);
		finish(1005.0);
	}
}

/* The longest waiter pairs; the other waiters become redundant spares. */
static void
test_spares(void **state)
{
	static const char	*third[] = { S2, NULL };
	struct relay_conn	*a = &conn[0], *b = &conn[1], *d = &conn[2];
	struct relay_conn	*c = &conn[3], *e = &conn[4], *x;
	size_t			 i, k;

	(void)state;
	for (i = 0; i < nitems(third); i++) {
		begin(5, 1000.0, 1001.0, 1001.5, 1002.0, 1004.0);
		for (k = 0; k < 3; k++)
			hello_wait(&conn[k], S1, conn[k].started, 0);
		hello(c, TOKA, third[i], "", 1002.0);
		check_pair(a, c, 2);
		assert_int_equal(spares(1003.0), 2);
		assert_int_equal(nacts, 4);
		for (x = b; x <= d; x++) {
			act_of(RELAY_CLOSE, x);
			check_rec(&act_of(RELAY_RECORD, x)->rec, "redundant",
			    x->started, 1003.0 - x->started, -1, 0);
			assert_int_equal(x->state, RELAY_DONE);
		}
		check_reclose(b, 1003.5);
		check_reclose(d, 1003.5);
		/* The token was forgotten: a newcomer waits. */
		hello_wait(e, S2, 1004.0, 2);
		finish(1005.0);
	}
}

/* After a pairing the token is forgotten; newcomers pair afresh. */
static void
test_forget(void **state)
{
	struct relay_conn	*a = &conn[0], *b = &conn[1], *c = &conn[2];
	struct relay_conn	*d = &conn[3];

	(void)state;
	begin(4, 1000.0, 1000.0, 1000.0, 1000.0);
	hello_wait(a, NULL, 1001.0, 0);
	hello(b, TOKA, NULL, "", 1002.0);
	check_pair(a, b, 2);
	hello_wait(c, NULL, 1003.0, 2);
	hello(d, TOKA, NULL, "", 1004.0);
	check_pair(c, d, 4);
	finish(1005.0);
}

/* A conn that never pairs ends alone, with the reply and mood of its line. */
static void
test_alone(void **state)
{
	static char		 buf[HANDSHAKE_MAX_LINE + 8];
	static const struct {
		size_t		 pad;		/* "please relay a.." length */
		const char	*line;		/* after the pad */
		int		 closed;	/* by the relay, else by us */
		const char	*reply, *mood;
	} t[] = {
		/* A bad line gets "bad handshake", is closed, is errory. */
		{ 0, "\n", 1, BAD, "errory" },
		{ 0, "please relay short\n", 1, BAD, "errory" },
		{ 0, "please relay " TOKA "\r\n", 1, BAD, "errory" },
		{ 0, "please relay " TOKA " for side " S1 "\r\n", 1, BAD,
		    "errory" },
		{ 0, "Please relay " TOKA "\n", 1, BAD, "errory" },
		{ 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1, BAD, "errory" },
		/* Good but impatient, a control row. */
		{ 0, "please relay " TOKA " for side " S1 "\nmore", 1,
		    "impatient\n", "impatient" },
		/* Past 1024 bytes: closed without reply, recorded empty. */
		{ HANDSHAKE_MAX_LINE + 1, "", 1, NULL, "empty" },
		{ HANDSHAKE_MAX_LINE + 1, "\n", 1, NULL, "empty" },
		{ HANDSHAKE_MAX_LINE + 5, "", 1, NULL, "empty" },
		{ HANDSHAKE_MAX_LINE, "\n", 1, BAD, "errory" },
		/* Closing before the line ends records empty, nothing else. */
		{ 0, "", 0, NULL, "empty" },
		{ 0, "please rel", 0, NULL, "empty" },
		{ 0, "please relay " TOKA, 0, NULL, "empty" },
		{ 0, "please relay " TOKA " for side " S1, 0, NULL, "empty" },
		{ 0, "junk\r", 0, NULL, "empty" },
	};
	struct relay_conn	*w = &conn[0], *c = &conn[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		memset(buf, 'a', t[i].pad);
		memcpy(buf, "please relay ", t[i].pad > 0 ? 13 : 0);
		snprintf(buf + t[i].pad, sizeof buf - t[i].pad, "%s",
		    t[i].line);
		begin(2, 1000.0, 1002.5);
		/* A same-side waiter, which nothing here may pair. */
		hello_wait(w, S1, 1001.0, 0);
		if (t[i].closed) {
			input(c, buf, 1003.0);
		} else {
			assert_int_equal(input(c, buf, 1003.0), strlen(buf));
			assert_int_equal(nacts, 0);
			assert_int_equal(c->state, RELAY_WAIT_LINE);
			cclose(c, 1007.5);
		}
		check_end(c, t[i].reply, t[i].closed, t[i].mood, 1002.5,
		    t[i].closed ? 0.5 : 5.0);
		assert_int_equal(w->state, RELAY_WAIT_PARTNER);
		assert_int_equal(r.ntokens, 1);
		check_reclose(c, 1008.0);
		finish(1009.0);
	}
}

/* Closing while waiting records lonely and unregisters the conn. */
static void
test_lonely(void **state)
{
	struct relay_conn	*a = &conn[0], *b = &conn[1], *c = &conn[2];

	(void)state;
	begin(3, 1000.0, 1001.0, 1006.0);
	hello_wait(a, NULL, 1000.5, 0);
	cclose(a, 1004.0);
	check_end(a, NULL, 0, "lonely", 1000.0, 4.0);
	assert_int_equal(r.ntokens, 0);
	/* The closed one is gone: a newcomer waits, the next pairs with it. */
	hello_wait(b, NULL, 1005.0, 0);
	hello(c, TOKA, NULL, "", 1006.0);
	check_pair(b, c, 2);
	finish(1008.0);

	/* Of two same-side waiters, the one left still pairs. */
	begin(3, 1000.0, 1001.0, 1002.0);
	hello_wait(a, S1, 1000.0, 0);
	hello_wait(b, S1, 1001.0, 0);
	cclose(a, 1001.5);
	check_end(a, NULL, 0, "lonely", 1000.0, 1.5);
	assert_int_equal(r.ntokens, 1);
	hello(c, TOKA, S2, "", 1002.0);
	check_pair(b, c, 2);
	finish(1003.0);
}

/* Bytes after the line while waiting are impatience. */
static void
test_impatient(void **state)
{
	static const struct {
		const char	*more, *later;
	} t[] = {
		{ "x", NULL },
		{ "hello\n", NULL },
		{ "", "x" },
		{ "", "please relay " TOKA "\n" },
	};
	struct relay_conn	*a = &conn[0], *b = &conn[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		begin(2, 1000.0, 1004.0);
		hello(a, TOKA, NULL, t[i].more, 1001.0);
		if (t[i].later != NULL) {
			check_wait(a, 1, 0);
			input(a, t[i].later, 1003.0);
		}
		check_end(a, "impatient\n", 1, "impatient", 1000.0,
		    t[i].later != NULL ? 3.0 : 1.0);
		assert_int_equal(r.ntokens, 0);
		check_reclose(a, 1003.5);
		/* Unregistered: a newcomer waits. */
		hello_wait(b, NULL, 1004.0, 0);
		finish(1005.0);
	}
}

/* A pair ends in one happy record, whichever side closes first. */
static void
test_happy(void **state)
{
	static const struct {
		double		 ta, tb, wait;	/* accept times, and between */
		const char	*side_a, *side_b;
		const char	*more;		/* after b's line, to relay */
		int		 a_first;	/* a closes first */
	} t[] = {
		{ 1000.0, 1002.5, 2.5, NULL, S1, "", 1 },
		{ 1000.0, 1002.5, 2.5, NULL, S1, "", 0 },
		{ 1002.5, 1000.0, 2.5, NULL, S1, "", 1 },
		{ 1002.5, 1000.0, 2.5, NULL, S1, "", 0 },
		{ 1000.0, 1001.0, 1.0, S1, NULL, "hello", 0 },
		{ 1000.0, 1001.0, 1.0, S1, S2, "x", 0 },
		{ 1000.0, 1001.0, 1.0, S1, NULL, "please relay " TOKA "\n",
		    0 },
	};
	struct relay_conn	*a = &conn[0], *b = &conn[1], *x, *y;
	size_t			 i, more;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		begin(2, t[i].ta, t[i].tb);
		hello_wait(a, t[i].side_a, 1003.0, 0);
		assert_int_equal(hello(b, TOKA, t[i].side_b, t[i].more,
		    1003.5), t[i].side_b != NULL ? 104 : 78);
		check_pair(a, b, 2);
		more = strlen(t[i].more);
		a->bytes += 100;
		b->bytes += 23 + more;
		x = t[i].a_first ? a : b;
		y = t[i].a_first ? b : a;
		cclose(x, 1010.0);
		assert_int_equal(nacts, 2);
		act_of(RELAY_CLOSE, y);
		check_rec(&act_of(RELAY_RECORD, NULL)->rec, "happy", 1000.0,
		    10.0, t[i].wait, 123 + more);
		assert_int_equal(x->state, RELAY_DONE);
		assert_int_equal(y->state, RELAY_DONE);
		assert_int_equal(r.npaired, 0);
		check_reclose(y, 1010.25);
		check_reclose(x, 1010.5);
		check_reclose(y, 1010.5);
		finish(1011.0);
	}
}

/* ntokens counts waiting tokens and npaired conns in live pairs. */
static void
test_counters(void **state)
{
	static const struct {
		size_t		 k;	/* conn[k] */
		const char	*tok;	/* NULL: close conn[k] */
		size_t		 ntokens, npaired;
	} t[] = {
		{ 0, TOKA, 1, 0 },
		{ 2, TOKB, 2, 0 },
		{ 1, TOKA, 1, 2 },
		{ 3, TOKB, 0, 4 },
		{ 1, NULL, 0, 2 },
		{ 0, NULL, 0, 2 },
		{ 2, NULL, 0, 0 },
	};
	size_t			 i;

	(void)state;
	begin(4, 1000.0, 1000.0, 1000.0, 1000.0);
	check_counts(0, 0);
	for (i = 0; i < nitems(t); i++) {
		if (t[i].tok != NULL)
			hello(&conn[t[i].k], t[i].tok, NULL, "", 1001.0);
		else
			cclose(&conn[t[i].k], 1002.0);
		check_counts(t[i].ntokens, t[i].npaired);
	}
	finish(1003.0);
}

/* End c's WebSocket message, keeping the actions in acts. */
static void
msg_end(struct relay_conn *c, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact = RELAY_ACT_MAX;

	nacts = 0;
	relay_message_end(&r, c, now, act, &nact);
	add(act, nact);
}

/* Fail c (a broken WebSocket frame), keeping the actions in acts. */
static void
cfail(struct relay_conn *c, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact = RELAY_ACT_MAX;

	nacts = 0;
	relay_fail(&r, c, now, act, &nact);
	add(act, nact);
}

/*
 * The end of a WebSocket message ends the handshake line when what came
 * is a whole handshake without its newline, or can no longer be one;
 * a proper beginning of a handshake waits for the next message.
 */
static void
test_message_end(void **state)
{
	static const struct {
		const char	*msg;	/* the first message(s) */
		const char	*next;	/* a second message, or NULL */
		int		 result;	/* 0 wait, 1 good, 2 bad */
	} t[] = {
		{ "please relay " TOKA, NULL, 1 },
		{ "please relay " TOKA " for side " S1, NULL, 1 },
		{ "please relay " TOKA " for side", " " S1 "\n", 1 },
		{ "please relay ", TOKA "\n", 1 },
		{ "please relay " TOKA " for side " S1 "x", NULL, 2 },
		{ "hello", NULL, 2 },
		{ "please relay " TOKA " ", NULL, 0 },
		{ "please relay " TOKA " for side 0123", NULL, 0 },
		{ "", NULL, 0 },
		{ "please relay " TOKA "\r", NULL, 2 },
	};
	struct relay_conn	*a = &conn[0], *b = &conn[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		begin(2, 1000.0, 1001.0);
		a->ws = 1;
		input(a, t[i].msg, 1000.5);
		assert_int_equal(nacts, 0);
		msg_end(a, 1000.5);
		if (t[i].next != NULL) {
			assert_int_equal(nacts, 0);
			input(a, t[i].next, 1000.6);
			msg_end(a, 1000.6);
		}
		switch (t[i].result) {
		case 0:
			assert_int_equal(nacts, 0);
			assert_int_equal(a->state, RELAY_WAIT_LINE);
			break;
		case 1:
			check_wait(a, 1, 0);
			/* A newline now would be impatience, not a line end. */
			hello(b, TOKA, S2, "", 1001.0);
			check_pair(a, b, 2);
			msg_end(a, 1001.5);
			assert_int_equal(nacts, 0);
			break;
		case 2:
			check_end(a, BAD, 1, "errory", 1000.0,
			    t[i].next != NULL ? 0.6 : 0.5);
			break;
		}
		finish(1002.0);
	}
}

/*
 * A broken WebSocket frame makes an unpaired conn errory (waiting or
 * not) and ends a pair as a close does; a WebSocket handshake too long
 * closes with toobig, errory, where a TCP one is empty.
 */
static void
test_fail(void **state)
{
	struct relay_conn	*a = &conn[0], *b = &conn[1];
	char			 junk[1100];
	int			 ws;

	(void)state;
	begin(2, 1000.0, 1001.0);
	cfail(a, 1000.5);
	check_end(a, NULL, 0, "errory", 1000.0, 0.5);
	check_reclose(a, 1000.75);
	finish(1002.0);

	begin(2, 1000.0, 1001.0);
	hello_wait(a, NULL, 1000.5, 0);
	cfail(a, 1001.0);
	check_end(a, NULL, 0, "errory", 1000.0, 1.0);
	assert_int_equal(r.ntokens, 0);
	hello_wait(b, NULL, 1001.5, 0);
	finish(1002.0);

	begin(2, 1000.0, 1001.0);
	hello_wait(a, NULL, 1000.5, 0);
	hello(b, TOKA, NULL, "", 1001.0);
	check_pair(a, b, 2);
	cfail(b, 1003.0);
	assert_int_equal(nacts, 2);
	act_of(RELAY_CLOSE, a);
	check_rec(&act_of(RELAY_RECORD, NULL)->rec, "happy", 1000.0, 3.0,
	    1.0, 0);
	finish(1004.0);

	memset(junk, 'x', sizeof junk - 1);
	junk[sizeof junk - 1] = '\0';
	for (ws = 0; ws <= 1; ws++) {
		begin(1, 1000.0);
		a->ws = ws;
		input(a, junk, 1000.5);
		check_end(a, NULL, 1, ws ? "errory" : "empty", 1000.0, 0.5);
		assert_int_equal(act_of(RELAY_CLOSE, a)->toobig, ws);
		finish(1001.0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_spares),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_lonely),
		cmocka_unit_test(test_impatient),
		cmocka_unit_test(test_happy),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_message_end),
		cmocka_unit_test(test_fail),
	};
	int	 rv = 0;

	for (bytewise = 0; bytewise < 2; bytewise++)
		rv += cmocka_run_group_tests(tests, NULL, NULL);
	return (rv);
}
