/*
 * fuzz_life.c: libFuzzer harness for the connection lifecycle (life.c)
 * driven together with the relay core (relay.c), as conn.c drives them
 * but without sockets. The input is a script of events on a few
 * connection slots: accept, bytes (handshakes on two tokens, junk,
 * extra bytes), end of a WebSocket message, EOF, error, the client's
 * goodbye, timer, writes done, drain. Checked after every step, and
 * once everything is ended:
 * - one record per pair and one per unpaired connection, never two;
 * - no record while a connection is open, none missing at the end;
 * - a connection is killed once, only after the relay is done with it;
 * - the relay's counters match the connections and never wrap.
 * AddressSanitizer finds what the relay would leak or use after free.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "life.h"
#include "relay.h"

#define NSLOT	6

struct slot {
	struct relay_conn	 rc;
	struct life		 life;
	int			 accepted;	/* in use since accept */
	int			 killed;
	int			 peer;		/* linked partner, or -1 */
	int			 owed;		/* bytes queued for the client */
	int			 ws;		/* a goodbye-saying transport */
	int			 failed;
	int			 records;	/* records that count it */
};

static struct slot	 slots[NSLOT];
static struct relay	 r;
static double		 now;

#define CHECK(x)	do { if (!(x)) { fprintf(stderr, "fuzz_life: %s " \
			    "(line %d)\n", #x, __LINE__); abort(); } } while (0)

static void	step(int, enum life_ev);

static int
index_of(struct relay_conn *rc)
{
	return ((int)((struct slot *)(void *)((char *)rc -
	    offsetof(struct slot, rc)) - slots));
}

/* A record: it counts its connection (and, happy, the partner). */
static void
record(struct relay_act *a)
{
	int	 i = index_of(a->conn);

	CHECK(!life_open(&slots[i].life));
	CHECK(++slots[i].records == 1);
	if (strcmp(a->rec.mood, "happy") == 0) {
		int	 p = index_of(a->conn->peer);

		CHECK(!life_open(&slots[p].life));
		CHECK(++slots[p].records == 1);
	}
}

/* Carry out the core's actions, as conn.c and input.c do. */
static void
run(struct relay_act *act, size_t nact)
{
	size_t	 k;
	int	 i, p;

	CHECK(nact <= RELAY_ACT_MAX);
	for (k = 0; k < nact; k++) {
		i = index_of(act[k].conn);
		switch (act[k].type) {
		case RELAY_SEND:
			if (life_open(&slots[i].life))
				slots[i].owed = 1;
			break;
		case RELAY_PAIR:
			p = index_of(act[k].peer);
			if (!life_open(&slots[i].life) ||
			    !life_open(&slots[p].life))
				break;
			slots[i].peer = p;
			slots[p].peer = i;
			step(i, LIFE_EV_PAIRED);
			step(p, LIFE_EV_PAIRED);
			break;
		case RELAY_CLOSE:
			step(i, LIFE_EV_CLOSE);
			break;
		case RELAY_RECORD:
			record(&act[k]);
			break;
		}
	}
}

static void
spares(void)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;

	while (relay_spares(&r, now, act, &nact))
		run(act, nact);
}

/* Step slot i's lifecycle and carry out its actions (conn_event). */
static void
step(int i, enum life_ev ev)
{
	struct slot		*s = &slots[i];
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact = 0;
	unsigned		 a, in = 0;

	if (!s->accepted || s->killed)
		return;
	if (s->ws)
		in |= LIFE_IN_GOODBYE | LIFE_IN_AWAIT;
	a = life_step(&s->life, ev, in);
	if (a & LIFE_RECORD) {
		if (s->failed)
			relay_fail(&r, &s->rc, now, act, &nact);
		else
			relay_close(&r, &s->rc, now, act, &nact);
	}
	if ((a & LIFE_UNPAIR) && s->peer != -1) {
		if (slots[s->peer].peer == i)
			slots[s->peer].peer = -1;
		s->peer = -1;
	}
	if ((a & LIFE_GOODBYE) && s->ws)
		s->owed = 1;
	if (a & LIFE_KILL)
		s->killed = 1;
	run(act, nact);
	/* The relay must be done with it: its memory is reused. */
	if (a & LIFE_KILL)
		CHECK(s->rc.state == RELAY_DONE);
	CHECK(!(a & LIFE_KILL) || s->life.phase == LIFE_CLOSED);
}

/* The relay's counters against the connections. */
static void
check_counts(void)
{
	size_t	 paired = 0;
	int	 i;

	for (i = 0; i < NSLOT; i++)
		if (slots[i].accepted && slots[i].rc.state == RELAY_PAIRED)
			paired++;
	CHECK(r.npaired == paired);
	CHECK(r.ntokens <= NSLOT);
}

/* Bytes from slot i's client: a handshake, junk, or more. */
static void
input(int i, uint8_t k)
{
	struct slot		*s = &slots[i];
	struct relay_act	 act[RELAY_ACT_MAX];
	char			 line[128];
	size_t			 n, nact;

	if (!s->accepted || !life_open(&s->life) ||
	    s->life.phase == LIFE_RELAYING)
		return;
	if (k & 0x80)
		n = (size_t)snprintf(line, sizeof line, "%s", k & 1 ?
		    "please relay nothing\n" : "x");
	else if (k & 4)
		n = (size_t)snprintf(line, sizeof line, "please relay %064d "
		    "for side %016d\n%s", k % 2, k / 8 % 3, k & 64 ? "x" : "");
	else
		n = (size_t)snprintf(line, sizeof line, "please relay %064d\n%s",
		    k % 2, k & 64 ? "x" : "");
	if (k & 32)
		n = n > 20 ? 20 : n;	/* the line goes on later */
	relay_input(&r, &s->rc, line, n, now, act, &nact);
	if (s->rc.state == RELAY_WAIT_PARTNER)
		step(i, LIFE_EV_WAITING);
	run(act, nact);
	spares();
}

static void
message_end(int i)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;

	if (!slots[i].accepted || !life_open(&slots[i].life) ||
	    slots[i].rc.state != RELAY_WAIT_LINE)
		return;
	relay_message_end(&r, &slots[i].rc, now, act, &nact);
	if (slots[i].rc.state == RELAY_WAIT_PARTNER)
		step(i, LIFE_EV_WAITING);
	run(act, nact);
	spares();
}

/* A new connection in slot i, if the last one there is gone. */
static void
accept_slot(int i, uint8_t k)
{
	struct slot	*s = &slots[i];

	if (s->accepted && !s->killed)
		return;
	/* Its predecessor has its one record before the slot is reused. */
	CHECK(!s->accepted || s->records == 1);
	memset(s, 0, sizeof *s);
	s->peer = -1;
	s->accepted = 1;
	s->ws = k & 1;
	relay_conn_init(&s->rc, (uint64_t)i, now);
	s->rc.ws = s->ws;
	life_init(&s->life);
}

static void
event(int i, uint8_t op, uint8_t k)
{
	struct slot	*s = &slots[i];

	switch (op % 11) {
	case 0:
		accept_slot(i, k);
		break;
	case 1:
	case 2:
		input(i, k);
		break;
	case 3:
		message_end(i);
		break;
	case 4:
		step(i, LIFE_EV_EOF);
		break;
	case 5:
		step(i, LIFE_EV_ERROR);
		break;
	case 6:
		if (s->accepted && life_open(&s->life)) {
			s->failed = k & 1;
			step(i, LIFE_EV_QUIT);
		}
		break;
	case 7:
		step(i, LIFE_EV_TIMER);
		break;
	case 8:		/* writes: some, or all */
		if (k & 1 || !s->owed)
			step(i, LIFE_EV_PROGRESS);
		else {
			s->owed = 0;
			step(i, LIFE_EV_FLUSHED);
		}
		break;
	case 9:
		step(i, LIFE_EV_BYE);
		break;
	case 10:	/* the server drains */
		for (i = 0; i < NSLOT; i++)
			step(i, LIFE_EV_DRAIN);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t	 j;
	int	 i, round;

	relay_init(&r);
	memset(slots, 0, sizeof slots);
	now = 1000;
	for (j = 0; j + 2 < len; j += 3, now += 0.25) {
		event(data[j] % NSLOT, data[j + 1], data[j + 2]);
		check_counts();
	}
	/* The server stops: every connection ends, with its record. */
	for (round = 0; round < 4; round++)
		for (i = 0; i < NSLOT; i++)
			step(i, round < 2 ? LIFE_EV_ERROR : LIFE_EV_TIMER);
	for (i = 0; i < NSLOT; i++) {
		if (!slots[i].accepted)
			continue;
		CHECK(slots[i].killed);
		CHECK(slots[i].records == 1);
	}
	CHECK(r.ntokens == 0 && r.npaired == 0);
	relay_free(&r);
	return (0);
}
