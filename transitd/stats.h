/*
 * stats.h: the relay's live figures, shared by every thread: bytes as
 * they move, connections and pairs now, and why connections were
 * refused or ended early, by cause. Counters are relaxed atomics: each
 * is exact, and a reader sees each one's latest value.
 */
#ifndef TRANSITD_STATS_H
#define TRANSITD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Why a connection was refused at accept or ended by a deadline. */
enum stats_cause {
	CAUSE_HANDSHAKE = 0,	/* --handshake-timeout */
	CAUSE_LONELY,		/* --lonely-timeout */
	CAUSE_IDLE,		/* --idle-timeout */
	CAUSE_SESSION_TIME,	/* --max-session-time */
	CAUSE_SESSION_BYTES,	/* --max-session-bytes */
	CAUSE_TIMEOUT_END,	/* (the refusals follow) */
	CAUSE_MAX_CONNECTIONS = CAUSE_TIMEOUT_END,
	CAUSE_PER_IP,		/* --max-per-ip */
	CAUSE_WAITING_PER_IP,	/* --max-waiting-per-ip */
	CAUSE_BUDGET,		/* --daily-bytes-per-ip */
	CAUSE_MAX
};

struct stats {
	atomic_uint_fast64_t	 bytes;		/* relayed, both ways */
	atomic_uint_fast64_t	 conns;		/* client connections open */
	atomic_uint_fast64_t	 relaying;	/* of them, in live pairs */
	atomic_uint_fast64_t	 accepted;	/* since start */
	atomic_uint_fast64_t	 cause[CAUSE_MAX];
};

extern struct stats	 stats;

/* The option of a cause, as "max-per-ip"; its label, as "idle". */
const char	*stats_cause_option(enum stats_cause);
const char	*stats_cause_name(enum stats_cause);

static inline void
stats_add(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void
stats_sub(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_sub_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
stats_get(atomic_uint_fast64_t *c)
{
	return (atomic_load_explicit(c, memory_order_relaxed));
}

#endif
