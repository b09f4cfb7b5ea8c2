/*
 * relay.h: token matching and the per-connection state machine with its
 * moods (protocol spec, Matching, Moods and usage records). Sans-IO: the
 * caller feeds bytes and events with the time, and runs the actions that
 * come back. The caller owns every struct relay_conn (embedded in its own
 * connection object); the relay only links them by token.
 */
#ifndef TRANSITD_RELAY_H
#define TRANSITD_RELAY_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "usage.h"

enum relay_state {
	RELAY_WAIT_LINE = 0,	/* reading the handshake line */
	RELAY_WAIT_PARTNER,	/* good handshake, token registered */
	RELAY_PAIRED,		/* relaying to peer */
	RELAY_SPARE,		/* dropped by a pairing, not yet collected */
	RELAY_DONE		/* recorded; waiting to be freed */
};

struct relay_token;

struct relay_conn {
	uint64_t		 id;
	double			 started;	/* accept time */
	uint64_t		 bytes;		/* received after pairing; the
						   caller adds what it relays */
	struct handshake	 hs;
	enum relay_state	 state;		/* here, it fills hs's tail */
	struct relay_conn	*peer;
	int			 first;		/* registered before peer */
	int			 ws;		/* a WebSocket client */
	struct relay_token	*tok;
	TAILQ_ENTRY(relay_conn)	 entry;		/* waiters of tok */
};

enum relay_act_type {
	RELAY_SEND,		/* write line to conn, before anything else */
	RELAY_PAIR,		/* conn and peer are paired: relay from now */
	RELAY_CLOSE,		/* flush what is queued to conn, then close it */
	RELAY_RECORD		/* emit rec */
};

struct relay_act {
	enum relay_act_type	 type;
	struct relay_conn	*conn;
	struct relay_conn	*peer;
	const char		*line;	/* RELAY_SEND: "ok\n", ... */
	int			 toobig;	/* RELAY_CLOSE: a WebSocket
						   handshake was too long */
	struct usage_rec	 rec;	/* RELAY_RECORD */
};

/* Most actions relay_input or relay_close returns at once. */
#define RELAY_ACT_MAX	4

TAILQ_HEAD(relay_conn_list, relay_conn);

struct relay {
	void			*tokens;	/* tsearch(3) tree of tokens */
	size_t			 ntokens;	/* tokens waiting */
	size_t			 npaired;	/* connections in live pairs */
	struct relay_conn_list	 spares;	/* redundant, to be closed */
};

void	relay_init(struct relay *);
/* Free the token table; every conn must have been closed first. */
void	relay_free(struct relay *);
/* Start a connection accepted at now. */
void	relay_conn_init(struct relay_conn *, uint64_t id, double now);

/*
 * Feed bytes received on a conn that is not paired yet. Fills act with
 * up to RELAY_ACT_MAX actions and sets *nact. Returns the bytes of buf
 * the handshake used: after RELAY_PAIR the rest of buf was sent by a
 * paired client and must be relayed to its peer (and counted in bytes).
 * A pairing also makes the other waiters of the token spares: collect
 * them with relay_spares() after every call.
 */
size_t	relay_input(struct relay *, struct relay_conn *, const char *buf,
	    size_t len, double now, struct relay_act *act, size_t *nact);

/*
 * The connection ended (EOF, error, or the server ends it). Fills act
 * with its record and, when conn was paired, RELAY_CLOSE of the peer and
 * the pair's single record; a spare gets its redundant record here.
 * Idempotent: a conn already done gives none.
 */
void	relay_close(struct relay *, struct relay_conn *, double now,
	    struct relay_act *act, size_t *nact);

/*
 * A WebSocket client's binary message ended. The reference takes the
 * whole first message as the handshake line, newline or not: if the
 * bytes so far are a complete handshake without its newline, or can no
 * longer be one, this ends the line as a newline would (same actions
 * as relay_input); otherwise the line goes on in the next message.
 */
void	relay_message_end(struct relay *, struct relay_conn *, double now,
	    struct relay_act *act, size_t *nact);

/*
 * The client broke its transport's protocol (a WebSocket text message
 * or bad frame): like relay_close, but an unpaired conn is errory.
 */
void	relay_fail(struct relay *, struct relay_conn *, double now,
	    struct relay_act *act, size_t *nact);

/*
 * Take the next spare waiter dropped by a pairing: fills act with its
 * RELAY_CLOSE and its record (mood redundant) and returns 1, or returns
 * 0 when there is none. Call until it returns 0.
 */
int	relay_spares(struct relay *, double now, struct relay_act *act,
	    size_t *nact);

#endif
