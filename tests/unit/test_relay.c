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

static struct relay_act	 acts[64];
static size_t		 nacts;
static int		 bytewise;

/* Append what one call returned to acts. */
static void
add(const struct relay_act *act, size_t nact)
{
	assert_in_range(nact, 0, RELAY_ACT_MAX);
	assert_in_range(nacts + nact, 0, sizeof acts / sizeof acts[0]);
	memcpy(acts + nacts, act, nact * sizeof *act);
	nacts += nact;
}

/* Feed len bytes of s (whole or byte by byte); return what was used. */
static size_t
input(struct relay *r, struct relay_conn *c, const char *s, size_t len,
    double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 i, nact, rv;

	if (len == 0)
		return (0);
	if (!bytewise) {
		nact = RELAY_ACT_MAX;
		rv = relay_input(r, c, s, len, now, act, &nact);
		assert_in_range(rv, 0, len);
		add(act, nact);
		return (rv);
	}
	for (i = 0; i < len; i++) {
		nact = RELAY_ACT_MAX;
		rv = relay_input(r, c, s + i, 1, now, act, &nact);
		assert_in_range(rv, 0, 1);
		add(act, nact);
		if (c->state == RELAY_PAIRED || c->state == RELAY_DONE)
			return (i + rv);
	}
	return (len);
}

/* Feed a handshake line for token tok and side (NULL: unsided). */
static size_t
hello(struct relay *r, struct relay_conn *c, const char *tok,
    const char *side, const char *more, double now)
{
	char	 buf[256];
	int	 n;

	if (side == NULL)
		n = snprintf(buf, sizeof buf, "please relay %s\n%s", tok,
		    more);
	else
		n = snprintf(buf, sizeof buf, "please relay %s for side %s\n%s",
		    tok, side, more);
	assert_in_range(n, 0, sizeof buf - 1);
	return (input(r, c, buf, n, now));
}

/* Close c, appending the actions to acts. */
static void
cclose(struct relay *r, struct relay_conn *c, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact = RELAY_ACT_MAX;

	relay_close(r, c, now, act, &nact);
	add(act, nact);
}

/* Collect every spare, appending the actions; return how many. */
static int
spares(struct relay *r, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;
	int			 n;

	for (n = 0; n < 16; n++) {
		nact = RELAY_ACT_MAX;
		if (relay_spares(r, now, act, &nact) == 0)
			return (n);
		assert_int_equal(nact, 2);
		add(act, nact);
	}
	fail_msg("relay_spares never returns 0");
	return (-1);
}

/* The index of the first action of type for c (NULL: any), or -1. */
static int
find(enum relay_act_type type, const struct relay_conn *c)
{
	size_t	 i;

	for (i = 0; i < nacts; i++)
		if (acts[i].type == type && (c == NULL || acts[i].conn == c))
			return ((int)i);
	return (-1);
}

/* How many actions of type there are for c (NULL: any). */
static size_t
count(enum relay_act_type type, const struct relay_conn *c)
{
	size_t	 i, n = 0;

	for (i = 0; i < nacts; i++)
		if (acts[i].type == type && (c == NULL || acts[i].conn == c))
			n++;
	return (n);
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

/* Fail unless c alone got line then RELAY_CLOSE and one record. */
static const struct usage_rec *
check_end(const struct relay_conn *c, const char *line)
{
	int	 s, k, rec;

	assert_int_equal(nacts, line != NULL ? 3 : 2);
	k = find(RELAY_CLOSE, c);
	assert_true(k != -1);
	if (line != NULL) {
		s = find(RELAY_SEND, c);
		assert_true(s != -1 && s < k);
		assert_string_equal(acts[s].line, line);
	}
	rec = find(RELAY_RECORD, NULL);
	assert_true(rec != -1);
	assert_int_equal(c->state, RELAY_DONE);
	return (&acts[rec].rec);
}

/* Fail unless the last input paired a with b and nothing else. */
static void
check_pair(const struct relay_conn *a, const struct relay_conn *b)
{
	int	 p;

	assert_int_equal(nacts, 3);
	assert_int_equal(count(RELAY_SEND, a), 1);
	assert_int_equal(count(RELAY_SEND, b), 1);
	assert_string_equal(acts[find(RELAY_SEND, a)].line, "ok\n");
	assert_string_equal(acts[find(RELAY_SEND, b)].line, "ok\n");
	p = find(RELAY_PAIR, NULL);
	assert_true(p != -1);
	assert_true((acts[p].conn == a && acts[p].peer == b) ||
	    (acts[p].conn == b && acts[p].peer == a));
	assert_int_equal(a->state, RELAY_PAIRED);
	assert_int_equal(b->state, RELAY_PAIRED);
	assert_ptr_equal(a->peer, b);
	assert_ptr_equal(b->peer, a);
}

/* Close every conn, drop the spares and free r; nothing may be left. */
static void
finish(struct relay *r, struct relay_conn **c, size_t n, double now)
{
	size_t	 i;

	spares(r, now);
	for (i = 0; i < n; i++)
		cclose(r, c[i], now);
	assert_int_equal(r->ntokens, 0);
	assert_int_equal(r->npaired, 0);
	relay_free(r);
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
	struct relay		 r;
	struct relay_conn	 a, b, *all[] = { &a, &b };
	size_t			 i, n;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&a, 1, 1000.0);
			relay_conn_init(&b, 2, 1002.5);
			nacts = 0;
			n = hello(&r, &a, TOKA, t[i].side_a, "", 1001.0);
			assert_int_equal(n, 78 + (t[i].side_a ? 26 : 0));
			assert_int_equal(nacts, 0);
			assert_int_equal(a.state, RELAY_WAIT_PARTNER);
			assert_int_equal(r.ntokens, 1);
			n = hello(&r, &b, t[i].tok, t[i].side_b, "", 1003.0);
			assert_int_equal(n, 78 + (t[i].side_b ? 26 : 0));
			if (t[i].pair) {
				check_pair(&a, &b);
				assert_int_equal(a.first, 1);
				assert_int_equal(b.first, 0);
				assert_int_equal(r.ntokens, 0);
				assert_int_equal(r.npaired, 2);
			} else {
				assert_int_equal(nacts, 0);
				assert_int_equal(b.state, RELAY_WAIT_PARTNER);
				assert_int_equal(r.ntokens,
				    strcmp(t[i].tok, TOKA) == 0 ? 1 : 2);
				assert_int_equal(r.npaired, 0);
			}
			assert_int_equal(spares(&r, 1004.0), 0);
			finish(&r, all, 2, 1005.0);
		}
	}
}

/* The longest waiter pairs; the other waiters become redundant spares. */
static void
test_spares(void **state)
{
	static const char	*third[] = { S2, NULL };
	struct relay		 r;
	struct relay_conn	 a, b, d, c, e;
	struct relay_conn	*all[] = { &a, &b, &d, &c, &e };
	const struct usage_rec	*rec;
	size_t			 i, k;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof third / sizeof third[0]; i++) {
			relay_init(&r);
			relay_conn_init(&a, 1, 1000.0);
			relay_conn_init(&b, 2, 1001.0);
			relay_conn_init(&d, 3, 1001.5);
			relay_conn_init(&c, 4, 1002.0);
			relay_conn_init(&e, 5, 1004.0);
			nacts = 0;
			hello(&r, &a, TOKA, S1, "", 1000.0);
			hello(&r, &b, TOKA, S1, "", 1001.0);
			hello(&r, &d, TOKA, S1, "", 1001.5);
			assert_int_equal(nacts, 0);
			assert_int_equal(r.ntokens, 1);
			hello(&r, &c, TOKA, third[i], "", 1002.0);
			check_pair(&a, &c);
			assert_int_equal(r.ntokens, 0);
			assert_int_equal(r.npaired, 2);
			nacts = 0;
			assert_int_equal(spares(&r, 1003.0), 2);
			assert_int_equal(nacts, 4);
			assert_int_equal(count(RELAY_CLOSE, &b), 1);
			assert_int_equal(count(RELAY_CLOSE, &d), 1);
			assert_int_equal(count(RELAY_RECORD, NULL), 2);
			for (k = 0; k < nacts; k++) {
				if (acts[k].type != RELAY_RECORD)
					continue;
				rec = &acts[k].rec;
				if (rec->started == 1001.0)
					check_rec(rec, "redundant", 1001.0,
					    2.0, -1, 0);
				else
					check_rec(rec, "redundant", 1001.5,
					    1.5, -1, 0);
			}
			assert_int_equal(b.state, RELAY_DONE);
			assert_int_equal(d.state, RELAY_DONE);
			nacts = 0;
			cclose(&r, &b, 1003.5);
			cclose(&r, &d, 1003.5);
			assert_int_equal(nacts, 0);
			/* The token was forgotten: a newcomer waits. */
			hello(&r, &e, TOKA, S2, "", 1004.0);
			assert_int_equal(nacts, 0);
			assert_int_equal(e.state, RELAY_WAIT_PARTNER);
			assert_int_equal(r.ntokens, 1);
			finish(&r, all, 5, 1005.0);
		}
	}
}

/* After a pairing the token is forgotten; newcomers pair afresh. */
static void
test_forget(void **state)
{
	struct relay		 r;
	struct relay_conn	 a, b, c, d, *all[] = { &a, &b, &c, &d };

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		relay_init(&r);
		relay_conn_init(&a, 1, 1000.0);
		relay_conn_init(&b, 2, 1000.0);
		relay_conn_init(&c, 3, 1000.0);
		relay_conn_init(&d, 4, 1000.0);
		hello(&r, &a, TOKA, NULL, "", 1001.0);
		hello(&r, &b, TOKA, NULL, "", 1002.0);
		nacts = 0;
		hello(&r, &c, TOKA, NULL, "", 1003.0);
		assert_int_equal(nacts, 0);
		assert_int_equal(c.state, RELAY_WAIT_PARTNER);
		assert_int_equal(r.ntokens, 1);
		assert_int_equal(r.npaired, 2);
		hello(&r, &d, TOKA, NULL, "", 1004.0);
		check_pair(&c, &d);
		assert_int_equal(r.ntokens, 0);
		assert_int_equal(r.npaired, 4);
		finish(&r, all, 4, 1005.0);
	}
}

/* A bad line gets "bad handshake", is closed, and records errory. */
static void
test_bad(void **state)
{
	static const char	*t[] = {
		"\n",
		"please relay short\n",
		"please relay " TOKA "\r\n",
		"please relay " TOKA " for side " S1 "\r\n",
		"please relay " TOKA " for side " S1 "\nmore",
		"Please relay " TOKA "\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	struct relay		 r;
	struct relay_conn	 w, c, *all[] = { &w, &c };
	const struct usage_rec	*rec;
	size_t			 i;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&w, 1, 1000.0);
			relay_conn_init(&c, 2, 1002.5);
			/* A same-side waiter, which nothing here may pair. */
			hello(&r, &w, TOKA, S1, "", 1001.0);
			nacts = 0;
			input(&r, &c, t[i], strlen(t[i]), 1003.0);
			if (i == 4) {
				/* Good but impatient, a control row. */
				rec = check_end(&c, "impatient\n");
				check_rec(rec, "impatient", 1002.5, 0.5, -1, 0);
			} else {
				rec = check_end(&c, "bad handshake\n");
				check_rec(rec, "errory", 1002.5, 0.5, -1, 0);
			}
			assert_int_equal(w.state, RELAY_WAIT_PARTNER);
			assert_int_equal(r.ntokens, 1);
			nacts = 0;
			cclose(&r, &c, 1003.5);
			assert_int_equal(nacts, 0);
			finish(&r, all, 2, 1005.0);
		}
	}
}

/* Lines past 1024 bytes are closed without reply and record empty. */
static void
test_toolong(void **state)
{
	static char		 buf[HANDSHAKE_MAX_LINE + 8];
	static const struct {
		size_t		 len;
		int		 nl;
		const char	*mood;
	} t[] = {
		{ HANDSHAKE_MAX_LINE + 1, 0, "empty" },
		{ HANDSHAKE_MAX_LINE + 1, 1, "empty" },
		{ HANDSHAKE_MAX_LINE + 5, 0, "empty" },
		{ HANDSHAKE_MAX_LINE, 1, "errory" },
	};
	struct relay		 r;
	struct relay_conn	 c, *all[] = { &c };
	const struct usage_rec	*rec;
	size_t			 i, n;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&c, 1, 1000.0);
			memset(buf, 'a', sizeof buf);
			memcpy(buf, "please relay ", 13);
			n = t[i].len;
			if (t[i].nl)
				buf[n++] = '\n';
			nacts = 0;
			input(&r, &c, buf, n, 1000.5);
			if (strcmp(t[i].mood, "empty") == 0)
				rec = check_end(&c, NULL);
			else
				rec = check_end(&c, "bad handshake\n");
			check_rec(rec, t[i].mood, 1000.0, 0.5, -1, 0);
			nacts = 0;
			cclose(&r, &c, 1001.0);
			assert_int_equal(nacts, 0);
			finish(&r, all, 1, 1002.0);
		}
	}
}

/* Closing before the line ends records empty, with no other action. */
static void
test_empty(void **state)
{
	static const char	*t[] = {
		"",
		"please rel",
		"please relay " TOKA,
		"please relay " TOKA " for side " S1,
		"junk\r",
	};
	struct relay		 r;
	struct relay_conn	 c, *all[] = { &c };
	size_t			 i;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&c, 1, 1000.0);
			nacts = 0;
			assert_int_equal(input(&r, &c, t[i], strlen(t[i]),
			    1001.0), strlen(t[i]));
			assert_int_equal(nacts, 0);
			assert_int_equal(c.state, RELAY_WAIT_LINE);
			cclose(&r, &c, 1005.0);
			assert_int_equal(nacts, 1);
			assert_int_equal(acts[0].type, RELAY_RECORD);
			check_rec(&acts[0].rec, "empty", 1000.0, 5.0, -1, 0);
			assert_int_equal(c.state, RELAY_DONE);
			nacts = 0;
			cclose(&r, &c, 1006.0);
			assert_int_equal(nacts, 0);
			finish(&r, all, 1, 1007.0);
		}
	}
}

/* Closing while waiting records lonely and unregisters the conn. */
static void
test_lonely(void **state)
{
	struct relay		 r;
	struct relay_conn	 a, b, c, *all[] = { &a, &b, &c };

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		relay_init(&r);
		relay_conn_init(&a, 1, 1000.0);
		relay_conn_init(&b, 2, 1001.0);
		relay_conn_init(&c, 3, 1006.0);
		hello(&r, &a, TOKA, NULL, "", 1000.5);
		nacts = 0;
		cclose(&r, &a, 1004.0);
		assert_int_equal(nacts, 1);
		assert_int_equal(acts[0].type, RELAY_RECORD);
		check_rec(&acts[0].rec, "lonely", 1000.0, 4.0, -1, 0);
		assert_int_equal(a.state, RELAY_DONE);
		assert_int_equal(r.ntokens, 0);
		/* The closed one is gone: a newcomer waits. */
		nacts = 0;
		hello(&r, &b, TOKA, NULL, "", 1005.0);
		assert_int_equal(nacts, 0);
		assert_int_equal(b.state, RELAY_WAIT_PARTNER);
		assert_int_equal(r.ntokens, 1);
		/* The next one pairs with the newcomer. */
		hello(&r, &c, TOKA, NULL, "", 1006.0);
		check_pair(&b, &c);
		finish(&r, all, 3, 1008.0);

		/* Of two same-side waiters, the one left still pairs. */

		relay_init(&r);
		relay_conn_init(&a, 1, 1000.0);
		relay_conn_init(&b, 2, 1001.0);
		relay_conn_init(&c, 3, 1002.0);
		hello(&r, &a, TOKA, S1, "", 1000.0);
		hello(&r, &b, TOKA, S1, "", 1001.0);
		nacts = 0;
		cclose(&r, &a, 1001.5);
		assert_int_equal(nacts, 1);
		assert_int_equal(acts[0].type, RELAY_RECORD);
		check_rec(&acts[0].rec, "lonely", 1000.0, 1.5, -1, 0);
		assert_int_equal(r.ntokens, 1);
		nacts = 0;
		hello(&r, &c, TOKA, S2, "", 1002.0);
		check_pair(&b, &c);
		finish(&r, all, 3, 1003.0);
	}
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
	struct relay		 r;
	struct relay_conn	 a, b, *all[] = { &a, &b };
	const struct usage_rec	*rec;
	size_t			 i;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&a, 1, 1000.0);
			relay_conn_init(&b, 2, 1004.0);
			nacts = 0;
			hello(&r, &a, TOKA, NULL, t[i].more, 1001.0);
			if (t[i].later != NULL) {
				assert_int_equal(nacts, 0);
				input(&r, &a, t[i].later, strlen(t[i].later),
				    1003.0);
			}
			rec = check_end(&a, "impatient\n");
			check_rec(rec, "impatient", 1000.0,
			    t[i].later != NULL ? 3.0 : 1.0, -1, 0);
			assert_int_equal(r.ntokens, 0);
			nacts = 0;
			cclose(&r, &a, 1003.5);
			assert_int_equal(nacts, 0);
			/* Unregistered: a newcomer waits. */
			hello(&r, &b, TOKA, NULL, "", 1004.0);
			assert_int_equal(nacts, 0);
			assert_int_equal(b.state, RELAY_WAIT_PARTNER);
			finish(&r, all, 2, 1005.0);
		}
	}
}

/* Bytes after the line that completes a pair are left to relay. */
static void
test_pair_more(void **state)
{
	static const struct {
		const char	*side;
		const char	*more;
	} t[] = {
		{ NULL, "hello" },
		{ S2, "x" },
		{ NULL, "please relay " TOKA "\n" },
	};
	struct relay		 r;
	struct relay_conn	 a, b, *all[] = { &a, &b };
	size_t			 i, n;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&a, 1, 1000.0);
			relay_conn_init(&b, 2, 1001.0);
			hello(&r, &a, TOKA, S1, "", 1000.5);
			nacts = 0;
			n = hello(&r, &b, TOKA, t[i].side, t[i].more, 1002.0);
			assert_int_equal(n, t[i].side != NULL ? 104 : 78);
			check_pair(&a, &b);
			assert_int_equal(r.npaired, 2);
			b.bytes += strlen(t[i].more);
			nacts = 0;
			cclose(&r, &b, 1003.0);
			assert_int_equal(nacts, 2);
			check_rec(&acts[find(RELAY_RECORD, NULL)].rec, "happy",
			    1000.0, 3.0, 1.0, a.bytes + b.bytes);
			finish(&r, all, 2, 1004.0);
		}
	}
}

/* A pair ends in one happy record whichever side closes first. */
static void
test_happy(void **state)
{
	static const struct {
		double	 ta, tb;	/* accept times; a registers first */
		int	 a_first;	/* a closes first */
	} t[] = {
		{ 1000.0, 1002.5, 1 },
		{ 1000.0, 1002.5, 0 },
		{ 1002.5, 1000.0, 1 },
		{ 1002.5, 1000.0, 0 },
	};
	struct relay		 r;
	struct relay_conn	 a, b, *x, *y, *all[] = { &a, &b };
	size_t			 i;
	int			 k;

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		for (i = 0; i < sizeof t / sizeof t[0]; i++) {
			relay_init(&r);
			relay_conn_init(&a, 1, t[i].ta);
			relay_conn_init(&b, 2, t[i].tb);
			hello(&r, &a, TOKA, NULL, "", 1003.0);
			nacts = 0;
			hello(&r, &b, TOKA, S1, "", 1003.5);
			check_pair(&a, &b);
			a.bytes += 100;
			b.bytes += 23;
			x = t[i].a_first ? &a : &b;
			y = t[i].a_first ? &b : &a;
			nacts = 0;
			cclose(&r, x, 1010.0);
			assert_int_equal(nacts, 2);
			k = find(RELAY_CLOSE, NULL);
			assert_true(k != -1);
			assert_ptr_equal(acts[k].conn, y);
			k = find(RELAY_RECORD, NULL);
			assert_true(k != -1);
			check_rec(&acts[k].rec, "happy", 1000.0, 10.0, 2.5,
			    123);
			assert_int_equal(x->state, RELAY_DONE);
			assert_int_equal(r.npaired, 0);
			nacts = 0;
			cclose(&r, y, 1010.25);
			cclose(&r, x, 1010.5);
			cclose(&r, y, 1010.5);
			assert_int_equal(nacts, 0);
			finish(&r, all, 2, 1011.0);
		}
	}
}

/* ntokens counts waiting tokens and npaired conns in live pairs. */
static void
test_counters(void **state)
{
	struct relay		 r;
	struct relay_conn	 a1, a2, b1, b2;
	struct relay_conn	*all[] = { &a1, &a2, &b1, &b2 };

	(void)state;
	for (bytewise = 0; bytewise < 2; bytewise++) {
		relay_init(&r);
		relay_conn_init(&a1, 1, 1000.0);
		relay_conn_init(&a2, 2, 1000.0);
		relay_conn_init(&b1, 3, 1000.0);
		relay_conn_init(&b2, 4, 1000.0);
		assert_int_equal(r.ntokens, 0);
		assert_int_equal(r.npaired, 0);
		hello(&r, &a1, TOKA, NULL, "", 1001.0);
		assert_int_equal(r.ntokens, 1);
		hello(&r, &b1, TOKB, NULL, "", 1001.0);
		assert_int_equal(r.ntokens, 2);
		hello(&r, &a2, TOKA, NULL, "", 1001.0);
		assert_int_equal(r.ntokens, 1);
		assert_int_equal(r.npaired, 2);
		hello(&r, &b2, TOKB, NULL, "", 1001.0);
		assert_int_equal(r.ntokens, 0);
		assert_int_equal(r.npaired, 4);
		cclose(&r, &a2, 1002.0);
		assert_int_equal(r.npaired, 2);
		cclose(&r, &a1, 1002.0);
		assert_int_equal(r.npaired, 2);
		cclose(&r, &b1, 1002.0);
		assert_int_equal(r.npaired, 0);
		finish(&r, all, 4, 1003.0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_spares),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_toolong),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_lonely),
		cmocka_unit_test(test_impatient),
		cmocka_unit_test(test_pair_more),
		cmocka_unit_test(test_happy),
		cmocka_unit_test(test_counters),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
