/*
 * test_life.c: the connection's lifecycle (life.h), driven without
 * sockets: every row of the transition table, then whole lives as the
 * relay lives them, then every phase against every event (nothing
 * leaves CLOSED, KILL comes once, nothing goes back to an open phase).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "life.h"

/* A connection in phase p. */
static struct life
at(enum life_phase p)
{
	struct life	 l;

	life_init(&l);
	l.phase = p;
	return (l);
}

/* Step a connection in phase p with ev and in: check next and actions. */
static void
row(enum life_phase p, enum life_ev ev, unsigned in, enum life_phase next,
    unsigned acts)
{
	struct life	 l = at(p);

	assert_int_equal(life_step(&l, ev, in), acts);
	assert_int_equal(l.phase, next);
}

static void
test_open(void **state)
{
	enum life_phase	 p;

	(void)state;
	row(LIFE_HANDSHAKE, LIFE_EV_WAITING, 0, LIFE_WAITING, 0);
	row(LIFE_HANDSHAKE, LIFE_EV_PAIRED, 0, LIFE_RELAYING, 0);
	row(LIFE_WAITING, LIFE_EV_PAIRED, 0, LIFE_RELAYING, 0);
	row(LIFE_RELAYING, LIFE_EV_WAITING, 0, LIFE_RELAYING, 0);
	for (p = LIFE_HANDSHAKE; p <= LIFE_RELAYING; p++) {
		row(p, LIFE_EV_EOF, 0, LIFE_CLOSED,
		    LIFE_RECORD | LIFE_UNPAIR | LIFE_KILL);
		row(p, LIFE_EV_ERROR, 0, LIFE_CLOSED,
		    LIFE_RECORD | LIFE_UNPAIR | LIFE_KILL);
		row(p, LIFE_EV_CLOSE, 0, LIFE_CLOSING, LIFE_UNPAIR |
		    LIFE_GOODBYE | LIFE_FLUSH_TIMER | LIFE_FLUSH);
		row(p, LIFE_EV_QUIT, 0, LIFE_CLOSING, LIFE_RECORD |
		    LIFE_UNPAIR | LIFE_GOODBYE | LIFE_FLUSH_TIMER | LIFE_FLUSH);
		row(p, LIFE_EV_EXPIRE, 0, LIFE_CLOSING, LIFE_RECORD |
		    LIFE_UNPAIR | LIFE_GOODBYE | LIFE_FLUSH_TIMER | LIFE_FLUSH);
		row(p, LIFE_EV_FLUSHED, 0, p, 0);
		row(p, LIFE_EV_BYE, 0, p, 0);
	}
	row(LIFE_HANDSHAKE, LIFE_EV_TIMER, 0, LIFE_HANDSHAKE, LIFE_TIMEOUT);
	row(LIFE_WAITING, LIFE_EV_TIMER, 0, LIFE_WAITING, 0);
	row(LIFE_RELAYING, LIFE_EV_TIMER, 0, LIFE_RELAYING, 0);
}

static void
test_drain(void **state)
{
	(void)state;
	row(LIFE_RELAYING, LIFE_EV_DRAIN, LIFE_IN_GOODBYE, LIFE_RELAYING, 0);
	row(LIFE_WAITING, LIFE_EV_DRAIN, 0, LIFE_CLOSED,
	    LIFE_RECORD | LIFE_UNPAIR | LIFE_KILL);
	row(LIFE_HANDSHAKE, LIFE_EV_DRAIN, 0, LIFE_CLOSED,
	    LIFE_RECORD | LIFE_UNPAIR | LIFE_KILL);
	row(LIFE_WAITING, LIFE_EV_DRAIN, LIFE_IN_GOODBYE, LIFE_CLOSING,
	    LIFE_RECORD | LIFE_UNPAIR | LIFE_GOODBYE | LIFE_FLUSH_TIMER |
	    LIFE_FLUSH);
	row(LIFE_CLOSING, LIFE_EV_DRAIN, LIFE_IN_GOODBYE, LIFE_CLOSING, 0);
}

static void
test_closing(void **state)
{
	(void)state;
	row(LIFE_CLOSING, LIFE_EV_PROGRESS, 0, LIFE_CLOSING, LIFE_FLUSH_TIMER);
	row(LIFE_CLOSING, LIFE_EV_FLUSHED, LIFE_IN_FIN, LIFE_CLOSED, LIFE_KILL);
	row(LIFE_CLOSING, LIFE_EV_FLUSHED, 0, LIFE_LINGER,
	    LIFE_SHUT | LIFE_LINGER_TIMER);
	/* A WebSocket waits for the client's close frame before it shuts. */
	row(LIFE_CLOSING, LIFE_EV_FLUSHED, LIFE_IN_AWAIT | LIFE_IN_FIN,
	    LIFE_LINGER, LIFE_LINGER_TIMER);
	row(LIFE_CLOSING, LIFE_EV_CLOSE, 0, LIFE_CLOSING, 0);
	row(LIFE_LINGER, LIFE_EV_QUIT, 0, LIFE_LINGER, 0);
	row(LIFE_CLOSING, LIFE_EV_TIMER, 0, LIFE_CLOSED,
	    LIFE_RECORD | LIFE_KILL);
	row(LIFE_CLOSING, LIFE_EV_ERROR, 0, LIFE_CLOSED,
	    LIFE_RECORD | LIFE_KILL);
	row(LIFE_LINGER, LIFE_EV_BYE, 0, LIFE_LINGER, LIFE_SHUT);
	row(LIFE_LINGER, LIFE_EV_EOF, 0, LIFE_CLOSED, LIFE_RECORD | LIFE_KILL);
	row(LIFE_LINGER, LIFE_EV_TIMER, 0, LIFE_CLOSED,
	    LIFE_RECORD | LIFE_KILL);
	row(LIFE_LINGER, LIFE_EV_FLUSHED, 0, LIFE_LINGER, 0);
	row(LIFE_LINGER, LIFE_EV_PROGRESS, 0, LIFE_LINGER, 0);
	row(LIFE_LINGER, LIFE_EV_CLOSE, 0, LIFE_LINGER, 0);
}

/* A pair's life: handshake, wait, relay, partner gone, flush, linger. */
static void
test_whole_life(void **state)
{
	struct life	 l;

	(void)state;
	life_init(&l);
	assert_true(life_open(&l));
	assert_int_equal(life_step(&l, LIFE_EV_WAITING, 0), 0);
	assert_int_equal(life_step(&l, LIFE_EV_PAIRED, 0), 0);
	assert_true(l.relayed);
	assert_int_equal(life_step(&l, LIFE_EV_CLOSE, 0),
	    LIFE_UNPAIR | LIFE_GOODBYE | LIFE_FLUSH_TIMER | LIFE_FLUSH);
	assert_false(life_open(&l));
	assert_int_equal(life_step(&l, LIFE_EV_PROGRESS, 0),
	    LIFE_FLUSH_TIMER);
	assert_int_equal(life_step(&l, LIFE_EV_FLUSHED, 0),
	    LIFE_SHUT | LIFE_LINGER_TIMER);
	assert_int_equal(life_step(&l, LIFE_EV_EOF, 0),
	    LIFE_RECORD | LIFE_KILL);
	assert_int_equal(l.phase, LIFE_CLOSED);
	assert_string_equal(life_phase_name(l.phase), "closed");
}

/* Every phase against every event and input: the invariants hold. */
static void
test_every_step(void **state)
{
	enum life_phase	 p;
	int		 ev;
	unsigned	 in, acts;
	struct life	 l;

	(void)state;
	for (p = LIFE_HANDSHAKE; p <= LIFE_CLOSED; p++)
		for (ev = 0; ev < LIFE_EV_MAX; ev++)
			for (in = 0; in < 16; in++) {
				l = at(p);
				acts = life_step(&l, ev, in);
				if (p == LIFE_CLOSED)
					assert_int_equal(acts, 0);
				/* Killed exactly when it becomes closed. */
				assert_int_equal(!!(acts & LIFE_KILL),
				    p != LIFE_CLOSED && l.phase == LIFE_CLOSED);
				/* Never back to an open phase once closing. */
				if (!(p <= LIFE_RELAYING))
					assert_false(life_open(&l));
				/* Phases only move forward. */
				assert_true(l.phase >= p);
				/* A record only as the connection ends. */
				if (acts & LIFE_RECORD)
					assert_false(life_open(&l));
			}
	assert_string_equal(life_phase_name(LIFE_CLOSED + 1), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_closing),
		cmocka_unit_test(test_whole_life),
		cmocka_unit_test(test_every_step),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
