/*
 * worker.h: one worker thread of --threads, with its own event loop and
 * connections: it takes the pairs home hands it, relays them to their
 * end, sends their records home, and answers home's asks for figures.
 * The pool (pool.h) decides who gets what.
 */
#ifndef TRANSITD_WORKER_H
#define TRANSITD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "conn.h"

struct usage_rec;

/* What a loop holds (a worker's answer; summed over threads by home). */
struct loop_stats {
	size_t		 npaired;	/* connections in live pairs */
	size_t		 nconns;	/* open connections */
	size_t		 busy;		/* as connset_busy() */
	uint64_t	 incomplete_bytes;	/* of the live pairs */
};

/* Home's mailbox: the records of ended pairs, and a wake-up for home. */
struct worker_home {
	int			 efd;	/* eventfd: wakes home */
	pthread_mutex_t		 lock;	/* guards recs */
	struct usage_rec	*recs;
	size_t			 nrecs, cap;
};

struct worker {
	struct server		 srv;		/* its own loop and conns */
	struct worker_home	*home;
	int			 index;		/* thread transitd-index */
	pthread_t		 thread;
	int			 started;
	int			 efd;		/* eventfd: wakes the worker */
	struct event		*wake;
	atomic_size_t		 load;		/* pairs it relays */
	pthread_mutex_t		 lock;		/* guards what follows */
	struct conn_list	 inbox;		/* first conns of handed pairs */
	uint64_t		 asked;		/* the ask to answer */
	uint64_t		 answered;	/* the ask stats answer */
	int			 end;		/* end everything and stop */
	struct loop_stats	 stats;
	uint64_t		 counted;	/* pairs taken when stats were */
	uint64_t		 adopted;	/* its own count of pairs taken */
};

/* Wake the reader of an eventfd; take its wake-up. */
void	worker_kick(int efd);
void	worker_unkick(int efd);
/* Set up worker w (number index) and start its thread. 0, or -1. */
int	worker_start(struct worker *, struct worker_home *, int index);
/* Home: hand w the pair of c (released from home's loop). */
void	worker_hand(struct worker *, struct conn *c);
/* Home: ask w for its figures, as ask number gen. */
void	worker_ask(struct worker *, uint64_t gen);
/* Home: tell w to end its connections and stop; then free it. */
void	worker_stop(struct worker *);
void	worker_free(struct worker *);

#endif
