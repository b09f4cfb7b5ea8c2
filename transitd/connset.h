/*
 * connset.h: the connections of a loop: taken, freed, moved to
 * another loop, ended, drained and counted.
 */
#ifndef TRANSITD_CONNSET_H
#define TRANSITD_CONNSET_H

#include <stddef.h>

struct conn;
struct db_current;
struct server;
struct transport;

/* Set up srv's lists and relay (its base and hooks are the caller's). */
void	connset_init(struct server *);
/*
 * Take a freshly accepted socket of transport t. Closes it and returns
 * -1 on failure.
 */
struct conn *connset_accept(struct server *, int fd, const struct transport *t,
	    uint64_t src);
/*
 * Paired c started moving data: report it to srv's moving hook once the
 * callbacks are over (connset_movers, from srv->mover's callback), not
 * from inside c's own read.
 */
void	connset_moving(struct conn *c);
void	connset_movers(struct server *);
/* Free the connections closed since the last call. */
void	connset_reap(struct server *);
/*
 * Take c, in a live pair, off its loop (connset_release, on that loop's
 * thread), then give c and its peer to srv's (connset_adopt_pair, on
 * srv's thread; if that fails they end, with their record).
 */
void	connset_release(struct conn *);
void	connset_adopt_pair(struct server *, struct conn *);

/* End every connection, each with its usage record (server stopping). */
void	connset_end_all(struct server *);
/*
 * The server stops accepting: end every connection that is not in a
 * pair, with its record (and its transport's goodbye, if any).
 */
void	connset_drain(struct server *);
/*
 * How many connections of pairs still relay: paired, or with bytes owed
 * to their client in the relay or in the kernel (unsent or unacked).
 * Closing one of those could lose the bytes: a client that sends after
 * the close gets a reset, and the kernel drops what it held for it.
 */
size_t	connset_busy(struct server *);
/* Fill the live counts of the database's current row. */
void	connset_current(struct server *, struct db_current *);

#endif
