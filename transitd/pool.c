/*
 * pool.c: the workers of --threads as one pool (pool.h): the choice of
 * a thread for a pair, the records that come home, and asks for the
 * workers' figures. Home never waits for a worker: it asks, and is
 * woken when the answers are in.
 */
#include <sys/eventfd.h>

#include <event2/event.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "connset.h"
#include "log.h"
#include "opts.h"
#include "pool.h"
#include "record.h"
#include "worker.h"

#define POOL_ASK_WAIT_S	2	/* a worker answers long before this */

struct pool {
	struct server	*home;
	struct recorder	*rec;
	struct worker	*workers;
	int		*late;		/* worker i missed an ask's deadline */
	int		 nworkers;
	int		 next;		/* where the search for the least loaded
					   starts, so that ties rotate */
	size_t		*relayed;	/* pairs handed to thread i (0: home
					   kept it) */
	uint64_t	 gen;		/* of the last ask */
	int		 asking;	/* an ask is out */
	struct event	*deadline;	/* of the ask */
	pool_answered_fn *answered;
	void		*arg;
	struct worker_home mail;	/* records and answers for home */
	struct event	*wake;
};

int
pool_default_threads(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : n > OPTS_THREADS_MAX ? OPTS_THREADS_MAX : (int)n);
}

/* Home: write the records the workers queued. */
static void
pool_records(struct pool *p)
{
	struct usage_rec	*recs;
	size_t			 i, n;

	pthread_mutex_lock(&p->mail.lock);
	recs = p->mail.recs;
	n = p->mail.nrecs;
	p->mail.recs = NULL;
	p->mail.nrecs = p->mail.cap = 0;
	pthread_mutex_unlock(&p->mail.lock);
	for (i = 0; i < n; i++)
		record_write(p->rec, &recs[i]);
	free(recs);
}

/* Home: the ask is over (all answered, or the deadline passed). */
static void
pool_done(struct pool *p)
{
	p->asking = 0;
	evtimer_del(p->deadline);
	p->answered(p->arg);
}

/* Home: whether every worker has answered the last ask. */
static int
pool_all_answered(struct pool *p)
{
	struct worker	*w;
	int		 i, all = 1;

	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		pthread_mutex_lock(&w->lock);
		if (w->answered == p->gen)
			p->late[i] = 0;
		else
			all = 0;
		pthread_mutex_unlock(&w->lock);
	}
	return (all);
}

static void
pool_home_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = arg;

	(void)what;
	worker_unkick(fd);
	pool_records(p);
	if (p->asking && pool_all_answered(p))
		pool_done(p);
}

/* Home: an ask's deadline passed; the late workers are named. */
static void
pool_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = arg;
	struct worker	*w;
	int		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		pthread_mutex_lock(&w->lock);
		if (w->answered != p->gen && !p->late[i]) {
			p->late[i] = 1;
			log_msg("thread transitd-%d did not answer in %d s: its "
			    "figures are old, and it counts as busy", w->index,
			    POOL_ASK_WAIT_S);
		}
		pthread_mutex_unlock(&w->lock);
	}
	pool_done(p);
}

void
pool_ask(struct pool *p)
{
	struct timeval	 tv = { POOL_ASK_WAIT_S, 0 };
	int		 i;

	if (p->asking)
		return;
	p->asking = 1;
	p->gen++;
	for (i = 0; i < p->nworkers; i++)
		worker_ask(&p->workers[i], p->gen);
	if (evtimer_add(p->deadline, &tv) == -1)
		log_msg("cannot set the deadline of the threads' figures");
}

/* Home: the load of thread i (0 is home). */
static size_t
pool_load(struct pool *p, int i)
{
	if (i == 0)
		return (p->home->relay.npaired / 2);
	return (atomic_load_explicit(&p->workers[i - 1].load,
	    memory_order_relaxed));
}

/*
 * Home: c, paired with c->peer, moves data; move the pair to the least
 * loaded thread (which may be home: then nothing happens). A pair with
 * a transport that frames in user space (WebSocket) stays home.
 */
static void
pool_moving(struct server *home, struct conn *c)
{
	struct pool	*p = home->owner;
	struct conn	*peer = c->peer;
	size_t		 load, best;
	int		 i, k, pick, n = p->nworkers + 1;

	if (!c->t->zero_copy || !peer->t->zero_copy)
		return;
	pick = p->next;
	best = pool_load(p, pick);
	for (k = 1; k < n && best > 0; k++) {
		i = (p->next + k) % n;
		if ((load = pool_load(p, i)) < best) {
			best = load;
			pick = i;
		}
	}
	p->next = (p->next + 1) % n;
	p->relayed[pick]++;
	if (pick == 0)
		return;
	connset_release(c);
	connset_release(peer);
	home->relay.npaired -= 2;
	worker_hand(&p->workers[pick - 1], c);
}

/* Start the workers' threads. Returns 0, or -1 after saying why. */
static int
pool_start(struct pool *p, int nthreads)
{
	int	 i;

	for (i = 0; i < nthreads - 1; i++) {
		p->nworkers++;
		/* Every loop keeps the same limits and sources. */
		p->workers[i].srv.lim = p->home->lim;
		p->workers[i].srv.admit = p->home->admit;
		p->workers[i].srv.pacer = p->home->pacer;
		if (worker_start(&p->workers[i], &p->mail, i + 1) == -1) {
			log_msg("cannot start %d threads: %s", nthreads,
			    strerror(errno));
			return (-1);
		}
	}
	return (0);
}

struct pool *
pool_new(struct server *home, struct recorder *rec, int nthreads,
    pool_answered_fn *answered, void *arg)
{
	struct pool	*p;

	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->workers = calloc(nthreads - 1, sizeof *p->workers)) == NULL ||
	    (p->late = calloc(nthreads - 1, sizeof *p->late)) == NULL ||
	    (p->relayed = calloc(nthreads, sizeof *p->relayed)) == NULL) {
		if (p != NULL) {
			free(p->workers);
			free(p->late);
		}
		free(p);
		log_msg("cannot start %d threads: out of memory", nthreads);
		return (NULL);
	}
	p->home = home;
	p->rec = rec;
	p->answered = answered;
	p->arg = arg;
	pthread_mutex_init(&p->mail.lock, NULL);
	if ((p->mail.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->wake = event_new(home->base, p->mail.efd, EV_READ |
	    EV_PERSIST, pool_home_cb, p)) == NULL ||
	    event_add(p->wake, NULL) == -1 ||
	    (p->deadline = evtimer_new(home->base, pool_deadline_cb,
	    p)) == NULL) {
		log_msg("cannot start %d threads: %s", nthreads,
		    strerror(errno));
		pool_free(p);
		return (NULL);
	}
	if (pool_start(p, nthreads) == -1) {
		pool_free(p);
		return (NULL);
	}
	home->moving = pool_moving;
	home->owner = p;
	return (p);
}

void
pool_stats(struct pool *p, struct loop_stats *sum)
{
	struct worker	*w;
	uint64_t	 inflight;
	int		 i;

	memset(sum, 0, sizeof *sum);
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		pthread_mutex_lock(&w->lock);
		/*
		 * Pairs handed after the worker counted are in neither
		 * thread's figures: they count as what they are, live pairs.
		 */
		inflight = p->relayed[i + 1] - w->counted;
		sum->npaired += w->stats.npaired + 2 * inflight;
		sum->nconns += w->stats.nconns + 2 * inflight;
		/* Stuck? Count what it was handed as busy. */
		sum->busy += (p->late[i] && w->stats.busy == 0 ? 1 :
		    w->stats.busy) + 2 * inflight;
		sum->incomplete_bytes += w->stats.incomplete_bytes;
		pthread_mutex_unlock(&w->lock);
	}
}

int
pool_late(struct pool *p)
{
	int	 i, n = 0;

	for (i = 0; i < p->nworkers; i++)
		n += p->late[i];
	return (n);
}

void
pool_report(struct pool *p)
{
	char	 line[OPTS_THREADS_MAX * 21 + 1];	/* " %zu" each */
	size_t	 off = 0;
	int	 i;

	line[0] = '\0';
	for (i = 0; i <= p->nworkers; i++)
		off += snprintf(line + off, sizeof line - off, " %zu",
		    p->relayed[i]);
	log_msg("pairs relayed per thread:%s", line);
}

void
pool_free(struct pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nworkers; i++)
		worker_stop(&p->workers[i]);
	for (i = 0; i < p->nworkers; i++)
		worker_free(&p->workers[i]);
	pool_records(p);
	if (p->home != NULL && p->home->owner == p) {
		p->home->moving = NULL;
		p->home->owner = NULL;
	}
	if (p->deadline != NULL)
		event_free(p->deadline);
	if (p->wake != NULL)
		event_free(p->wake);
	if (p->mail.efd > 0)
		close(p->mail.efd);
	pthread_mutex_destroy(&p->mail.lock);
	free(p->workers);
	free(p->late);
	free(p->relayed);
	free(p);
}
