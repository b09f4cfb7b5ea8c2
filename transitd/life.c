/*
 * life.c: the connection's phases and their transitions (life.h has the
 * table). Each event is one function of the phase it finds; none of
 * them does I/O.
 */
#include "life.h"

void
life_init(struct life *l)
{
	l->phase = LIFE_HANDSHAKE;
	l->relayed = 0;
}

int
life_open(const struct life *l)
{
	return (l->phase <= LIFE_RELAYING);
}

const char *
life_phase_name(enum life_phase p)
{
	static const char *const names[] = { "handshake", "waiting",
	    "relaying", "closing", "linger", "closed" };

	return ((unsigned)p <= LIFE_CLOSED ? names[p] : "?");
}

/* The relay ends an open connection: flush, with a goodbye, then linger. */
static unsigned
life_close(struct life *l)
{
	l->phase = LIFE_CLOSING;
	/* The goodbye may be owed: the timer bounds even that. */
	return (LIFE_UNPAIR | LIFE_GOODBYE | LIFE_FLUSH_TIMER | LIFE_FLUSH);
}

/* Its client is gone, or it is done: close now. */
static unsigned
life_kill(struct life *l, unsigned acts)
{
	l->phase = LIFE_CLOSED;
	return (acts | LIFE_KILL);
}

/* Everything owed is written: close, or wait for the client's FIN. */
static unsigned
life_flushed(struct life *l, unsigned in)
{
	if ((in & (LIFE_IN_FIN | LIFE_IN_AWAIT)) == LIFE_IN_FIN)
		return (life_kill(l, 0));
	l->phase = LIFE_LINGER;
	return ((in & LIFE_IN_AWAIT ? 0 : LIFE_SHUT) | LIFE_LINGER_TIMER);
}

static unsigned
life_step_open(struct life *l, enum life_ev ev, unsigned in)
{
	switch (ev) {
	case LIFE_EV_WAITING:
		if (l->phase == LIFE_HANDSHAKE)
			l->phase = LIFE_WAITING;
		return (0);
	case LIFE_EV_PAIRED:
		if (l->phase != LIFE_RELAYING) {
			l->phase = LIFE_RELAYING;
			l->relayed = 1;
		}
		return (0);
	case LIFE_EV_EOF:
	case LIFE_EV_ERROR:
		return (life_kill(l, LIFE_RECORD | LIFE_UNPAIR));
	case LIFE_EV_CLOSE:
		return (life_close(l));
	case LIFE_EV_QUIT:
	case LIFE_EV_EXPIRE:
		return (LIFE_RECORD | life_close(l));
	case LIFE_EV_DRAIN:
		/* Pairs finish; the others end, as the reference ends them. */
		if (l->phase == LIFE_RELAYING)
			return (0);
		if (in & LIFE_IN_GOODBYE)
			return (LIFE_RECORD | life_close(l));
		return (life_kill(l, LIFE_RECORD | LIFE_UNPAIR));
	case LIFE_EV_TIMER:
		return (l->phase == LIFE_HANDSHAKE ? LIFE_TIMEOUT : 0);
	default:
		return (0);
	}
}

unsigned
life_step(struct life *l, enum life_ev ev, unsigned in)
{
	if (life_open(l))
		return (life_step_open(l, ev, in));
	if (l->phase == LIFE_CLOSED)
		return (0);
	switch (ev) {
	case LIFE_EV_EOF:
	case LIFE_EV_ERROR:
	case LIFE_EV_TIMER:
		return (life_kill(l, LIFE_RECORD));
	case LIFE_EV_PROGRESS:
		return (l->phase == LIFE_CLOSING ? LIFE_FLUSH_TIMER : 0);
	case LIFE_EV_FLUSHED:
		return (l->phase == LIFE_CLOSING ? life_flushed(l, in) : 0);
	case LIFE_EV_BYE:
		return (l->phase == LIFE_LINGER ? LIFE_SHUT : 0);
	default:
		return (0);
	}
}
