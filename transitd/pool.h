/*
 * pool.h: --threads. The first thread (the home server) accepts, reads
 * handshakes and pairs every connection, so matching never crosses
 * threads; a pair that starts moving data between two zero-copy
 * transports (plain TCP) is then handed, whole, to the least loaded
 * thread, which relays it to the end. Records come back to the home
 * thread, which alone writes them (record.h). The connection layer
 * knows none of this: the pool fills in its server's hooks.
 */
#ifndef TRANSITD_POOL_H
#define TRANSITD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "worker.h"

struct recorder;
struct server;
struct pool;

/* Home: every worker has answered the last pool_ask (or was late). */
typedef void	pool_answered_fn(void *);

/*
 * Start nthreads - 1 workers beside home (nthreads > 1), their records
 * going to rec. Returns the pool, or NULL after saying why.
 */
struct pool	*pool_new(struct server *home, struct recorder *rec,
		    int nthreads, pool_answered_fn *, void *arg);
/*
 * Home: ask every worker for its figures, without waiting. The answered
 * function runs once all have answered, or after POOL_ASK_WAIT_S with
 * what the late ones said last (each late one is named in the log). An
 * ask while one is out joins it.
 */
void	pool_ask(struct pool *);
/*
 * Home: the workers' figures as of their last answers, with the pairs
 * handed to a worker since it last counted. A worker that did not
 * answer the last ask in time counts as busy.
 */
void	pool_stats(struct pool *, struct loop_stats *);
/* Home: how many workers missed the last ask's deadline. */
int	pool_late(struct pool *);
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
