/*
 * pace.h: a connection's deadlines and rates (limits.h), on top of its
 * lifecycle: each deadline or limit that ends a connection is the
 * lifecycle's EXPIRE event, recorded with the mood the relay gives the
 * phase it ended in (empty, lonely, happy with the bytes so far), and
 * counted by cause (stats.h).
 *
 *   phase       deadline
 *   HANDSHAKE   --handshake-timeout from accept (a WebSocket's Upgrade
 *               also within PACE_UPGRADE_S: then a 408)
 *   WAITING     --lonely-timeout from its token's registration
 *   RELAYING    --max-session-time from pairing; --idle-timeout from the
 *               last byte either way (kept by the pair's first side)
 *
 * Rates are token buckets that a read reserves from before it reads and
 * refunds what it did not use, so that threads never overdraw a shared
 * one; an empty bucket pauses reading until it holds enough again.
 */
#ifndef TRANSITD_PACE_H
#define TRANSITD_PACE_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct conn;
struct conn_pacer;
struct limits;

#define PACE_UPGRADE_S	10	/* a WebSocket's Upgrade request */

/* Now, in tenths of a second since some fixed point. */
uint32_t	pace_now(void);
/* c entered phase (from old): start its deadline, count it. */
void		pace_phase(struct conn *c, int old);
/* (Re)arm c's timer for its next deadline. */
void		pace_arm(struct conn *c);
/* c's timer fired while it was open. */
void		pace_timer(struct conn *c);
/* End open c for cause: counted, recorded, closed. */
void		pace_end(struct conn *c, enum stats_cause cause);
/* Paired c may read up to want: how much it may now (0: it paused). */
size_t		pace_reserve(struct conn *c, size_t want);
/* Of what pace_reserve granted, unused bytes were not read. */
void		pace_refund(struct conn *c, size_t unused);
/* n bytes from c went to its peer. Returns 0, or -1 when c ended. */
int		pace_count(struct conn *c, size_t n);
/*
 * New c, of source src (admit.h; 0: none), is open: counted, its
 * handshake's deadline started. 0, or -1 out of memory.
 */
int		pace_accept(struct conn *c, uint64_t src);
/* c's token registered: -1 when its source has too many waiters. */
int		pace_waiting(struct conn *c);
/* c's source is over its daily budget. */
int		pace_over_budget(struct conn *c);
/* c leaves its loop (free its events) or ends (free the rest). */
void		pace_detach(struct conn *c);
void		pace_free(struct conn *c);
/* The hooks a loop's connections call (conn.h). */
extern const struct conn_pacer pace_pacer;
/* The process's rate bucket (--global-rate), before any thread. */
void		pace_global_init(const struct limits *);

#endif
