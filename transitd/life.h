/*
 * life.h: the life of one client connection, from accept to close, as a
 * sans-IO state machine. The I/O layer (conn.c) feeds it events with
 * what it knows of the socket, and carries out the actions it returns,
 * in the order of their bits. The protocol itself (matching, moods) is
 * relay.h's; this is when a connection reads, writes, closes and frees.
 *
 *   phase       event            next       actions
 *   HANDSHAKE   WAITING          WAITING    -
 *   HANDSHAKE,  PAIRED           RELAYING   -
 *    WAITING
 *   open        EOF, ERROR       CLOSED     RECORD UNPAIR KILL
 *   open        CLOSE            CLOSING    UNPAIR GOODBYE FLUSH_TIMER
 *                                           FLUSH (the timer bounds even
 *                                           the goodbye's flush)
 *   open        QUIT             CLOSING    RECORD, then as CLOSE
 *   HANDSHAKE,  DRAIN            CLOSING    RECORD, then as CLOSE (a
 *    WAITING                                transport with a goodbye)
 *                                CLOSED     RECORD UNPAIR KILL (without)
 *   open        EXPIRE           CLOSING    RECORD, then as CLOSE (a
 *                                           deadline or limit ends it)
 *   HANDSHAKE   TIMER            HANDSHAKE  TIMEOUT (the transport's)
 *   CLOSING     PROGRESS         CLOSING    FLUSH_TIMER
 *   CLOSING     FLUSHED          CLOSED     KILL (the client's FIN is here)
 *                                LINGER     [SHUT] LINGER_TIMER
 *   CLOSING,    EOF, ERROR,      CLOSED     RECORD KILL (RECORD finds
 *    LINGER      TIMER                      nothing left to record)
 *   LINGER      BYE              LINGER     SHUT
 *   CLOSED      any              CLOSED     -
 *
 * "open" is HANDSHAKE, WAITING or RELAYING. Any other pair does nothing.
 */
#ifndef TRANSITD_LIFE_H
#define TRANSITD_LIFE_H

enum life_phase {
	LIFE_HANDSHAKE = 0,	/* reading the handshake (or an Upgrade) */
	LIFE_WAITING,		/* its token registered, no partner yet */
	LIFE_RELAYING,		/* paired: bytes move both ways */
	LIFE_CLOSING,		/* flushing what its client is owed */
	LIFE_LINGER,		/* write side done: reading to the FIN */
	LIFE_CLOSED		/* socket closed; freed after the callbacks */
};

enum life_ev {
	LIFE_EV_WAITING,	/* the relay registered its token */
	LIFE_EV_PAIRED,		/* the relay paired it */
	LIFE_EV_EOF,		/* the client's FIN was read */
	LIFE_EV_ERROR,		/* its socket or transport failed */
	LIFE_EV_CLOSE,		/* the relay ends it (partner gone, bad
				   handshake, impatient...) */
	LIFE_EV_QUIT,		/* its client ended its transport (a
				   WebSocket close, or broke its protocol) */
	LIFE_EV_DRAIN,		/* the server stops taking connections */
	LIFE_EV_TIMER,		/* its timer fired */
	LIFE_EV_PROGRESS,	/* closing: some owed bytes were written */
	LIFE_EV_FLUSHED,	/* closing: every owed byte was written */
	LIFE_EV_BYE,		/* lingering: the client's goodbye came */
	LIFE_EV_EXPIRE,		/* a deadline or limit of the relay's ends
				   it (--idle-timeout, ...), recorded as
				   it stands */
	LIFE_EV_MAX
};

/* What the I/O layer knows with an event (bits of the in argument). */
#define LIFE_IN_FIN	0x2	/* the client's FIN is here already */
#define LIFE_IN_AWAIT	0x4	/* its transport awaits the client's
				   goodbye before the write side shuts */
#define LIFE_IN_GOODBYE	0x8	/* its transport says goodbye on close */

/* Actions, carried out in the order of these bits. */
#define LIFE_RECORD	0x001	/* the relay ends it: its record, and the
				   close of its partner */
#define LIFE_UNPAIR	0x002	/* forget its partner */
#define LIFE_GOODBYE	0x004	/* queue its transport's goodbye */
#define LIFE_FLUSH_TIMER 0x008	/* (re)arm the timer for a slow reader */
#define LIFE_FLUSH	0x010	/* write what it is owed */
#define LIFE_SHUT	0x020	/* shut the write side */
#define LIFE_LINGER_TIMER 0x040	/* arm the timer for the client's FIN */
#define LIFE_TIMEOUT	0x080	/* its transport's own deadline passed */
#define LIFE_KILL	0x100	/* close the socket; free it later */

struct life {
	enum life_phase	 phase;
	int		 relayed;	/* was in a pair */
};

void		 life_init(struct life *);
/* Take event ev (with the LIFE_IN_ bits in): returns LIFE_ actions. */
unsigned	 life_step(struct life *, enum life_ev ev, unsigned in);
/* Whether the phase is HANDSHAKE, WAITING or RELAYING. */
int		 life_open(const struct life *);
const char	*life_phase_name(enum life_phase);

#endif
