/*
 * pool.h: --threads. The first thread (the home server) accepts, reads
 * handshakes and pairs every connection, so matching never crosses
 * threads; a plain TCP pair that starts moving data is then handed,
 * whole, to the least loaded thread, which relays it to the end. Records come back to the home
 * thread, which alone writes the JSON lines and the database.
 * WebSocket connections stay home (their path frames in user space).
 */
#ifndef TRANSITD_POOL_H
#define TRANSITD_POOL_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct server;
struct usage_rec;
struct worker;
struct pool;

/* What the workers hold, summed (asked of each, in its own thread). */
struct pool_stats {
	size_t		 npaired;	/* connections in live pairs */
	size_t		 nconns;	/* open connections */
	size_t		 busy;		/* as conn_busy() */
	uint64_t	 incomplete_bytes;	/* of the live pairs */
};

/*
 * Start nthreads - 1 workers beside home (nthreads > 1). Returns the
 * pool, or NULL after saying why.
 */
struct pool	*pool_new(struct server *home, int nthreads);
/*
 * Home: c, paired with c->peer, moves data; move the pair to the least
 * loaded thread (which may be home: then nothing happens).
 */
void	pool_handoff(struct pool *, struct conn *c);
/* Worker: a pair ended with this record; home writes it. */
void	pool_record(struct worker *, const struct usage_rec *);
/* Home: the workers' counts, exact at the time of the call. */
void	pool_stats(struct pool *, struct pool_stats *);
/*
 * Home, at the end of a run: say how the pairs that moved data were
 * spread, in thread order (transitd, transitd-1, ...), for an operator
 * sizing --threads.
 */
void	pool_report(struct pool *);
/*
 * Home, at exit: end every worker's connections (each with its record),
 * stop and join the threads, write their last records, free the pool.
 */
void	pool_free(struct pool *);
/* The number of threads to use by default: one per online core. */
int	pool_default_threads(void);

#endif
