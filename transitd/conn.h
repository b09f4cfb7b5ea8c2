/*
 * conn.h: one client connection on an event loop, and the state the
 * connections of a loop share. The protocol's decisions are the core's
 * (relay.h), the phases the lifecycle's (life.h); this layer carries
 * out their actions on sockets, for any transport (transport.h), and
 * knows nothing of threads: a loop's hooks say where records go.
 */
#ifndef TRANSITD_CONN_H
#define TRANSITD_CONN_H

#include <sys/queue.h>

#include <stdint.h>

#include "life.h"
#include "pump.h"
#include "pacer.h"
#include "relay.h"
#include "transport.h"

struct admit;
struct event;
struct event_base;
struct limits;
struct pace_state;
struct usage_rec;
struct server;
struct conn;

TAILQ_HEAD(conn_list, conn);

/* Where a loop's records go (home: record.h; a worker: home's queue). */
typedef void	conn_record_fn(struct server *, const struct usage_rec *);
/* A pair started moving data (--threads may move it to another loop). */
typedef void	conn_moving_fn(struct server *, struct conn *);

struct server {
	struct event_base	*base;
	struct relay		 relay;
	uint64_t		 next_id;
	struct conn_list	 conns;		/* open */
	size_t			 nconns;	/* in conns */
	struct conn_list	 dead;		/* closed, to be freed */
	struct event		*reaper;	/* frees dead after callbacks */
	conn_record_fn		*record;
	conn_moving_fn		*moving;	/* NULL: nothing to do */
	struct conn_list	 movers;	/* pairs to report moving */
	struct event		*mover;		/* reports them after callbacks */
	void			*owner;		/* of the hooks */
	uint64_t		 event_errors;	/* connections ended by a
						   failed event_add */
	const struct limits	*lim;		/* every loop's the same */
	const struct conn_pacer	*pacer;		/* NULL: none */
	struct admit		*admit;		/* sources, or NULL */
};

struct conn {
	struct server		*srv;
	const struct transport	*t;
	void			*tp;		/* the transport's state */
	int			 fd;
	uint32_t		 since;		/* its phase began (pace.h) */
	struct event		*rev;
	struct event		*wev;
	struct event		*timer;
	struct life		 life;
	struct relay_conn	 rc;
	struct conn		*peer;		/* while relaying */
	struct pump		 out;		/* bytes on their way to fd */
	const char		*pend;		/* reply not yet written */
	size_t			 pendlen;
	struct pace_state	*pace;		/* its source, rates: NULL */
	int			 bye;		/* goodbye code, CONN_BYE_* */
	unsigned		 reading:1;	/* rev added */
	unsigned		 writing:1;	/* wev added */
	unsigned		 eof:1;		/* the client's FIN was read */
	unsigned		 failed:1;	/* broke its transport's rules */
	unsigned		 moved:1;	/* its pair reported moving */
	unsigned		 queued:1;	/* on srv->movers */
	unsigned		 paused:1;	/* a rate holds its reads */
	unsigned		 probe:1;	/* /health's own: no record */
	unsigned		 waits:1;	/* one of its source's waiters */
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 mentry;	/* on srv->movers */
};

/* Make c's events on srv's loop (0, or -1); free them. */
int	conn_attach(struct server *, struct conn *);
void	conn_detach(struct conn *);
/* Step c's lifecycle with ev, and carry out what it says. */
void	conn_event(struct conn *, enum life_ev ev);
/* The connection that embeds rc. */
struct conn *conn_of(struct relay_conn *);
/* Carry out a relay core's CLOSE or RECORD (input.c does the others). */
void	conn_relay_act(struct server *, const struct relay_act *);

/* For transports. */
int	conn_open(struct conn *);
/* Make c's events match what it waits for. */
void	conn_update(struct conn *);
/* Write what c is owed. Returns 0, or -1 when c is no longer open. */
int	conn_flush(struct conn *);
/* c's client sent its FIN. */
void	conn_eof(struct conn *);
/* c's socket or transport failed: end it now. */
void	conn_fail(struct conn *);
/* c's client ended its transport, or broke it (failed): close c. */
void	conn_quit(struct conn *, int failed, int bye);
/* Arm c's timer (ms), or free it (0; never from its callback). 0, -1. */
int	conn_timer(struct conn *, long ms);

#endif
