/*
 * pool.c: worker threads, each with its own event loop, relaying the
 * plain TCP pairs that the home thread hands them (pool.h). Threads
 * talk through mutex-guarded queues, each with an eventfd to wake its
 * reader; an eventfd is written only when its queue was empty, so a
 * busy queue costs no system call per item. Home asks for counts
 * (drain, current row, STATUS=) and waits for the answer: that is rare,
 * and keeps the answers exact.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <event2/event.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "log.h"
#include "opts.h"
#include "pool.h"

#define POOL_ASK_WAIT_S	2	/* a worker answers long before this */

struct worker {
	struct server	 srv;		/* its own loop and connections */
	struct pool	*pool;
	pthread_t	 thread;
	int		 started;
	int		 efd;		/* eventfd: wakes the worker */
	struct event	*wake;
	atomic_size_t	 load;		/* pairs, for the choice of a worker */
	pthread_mutex_t	 lock;		/* guards what follows */
	pthread_cond_t	 answered;
	struct conn_list inbox;		/* first conns of handed pairs */
	int		 asked;		/* home waits for stats */
	int		 end;		/* end everything and stop */
	struct pool_stats stats;
};

struct pool {
	struct server	*home;
	struct worker	*workers;
	int		 nworkers;
	int		 next;		/* where the search for the least loaded
					   starts, so that ties rotate */
	size_t		*relayed;	/* pairs handed to thread i (0: home
					   kept it); home's alone */
	int		 efd;		/* eventfd: wakes home for records */
	struct event	*wake;
	pthread_mutex_t	 lock;		/* guards recs */
	struct usage_rec *recs;		/* records of ended pairs */
	size_t		 nrecs, cap;
};

int
pool_default_threads(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : n > OPTS_THREADS_MAX ? OPTS_THREADS_MAX : (int)n);
}

/* Wake the reader of efd. */
static void
pool_kick(int efd)
{
	uint64_t	 one = 1;

	if (write(efd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_msg("eventfd: %s", strerror(errno));
}

static void
pool_unkick(int efd)
{
	uint64_t	 n;

	if (read(efd, &n, sizeof n) == -1 && errno != EAGAIN) {
		/* Nothing was pending: a spurious wake-up. */
	}
}

/* Home: write the records the workers queued. */
static void
pool_records(struct pool *p)
{
	struct usage_rec	*recs;
	size_t			 i, n;

	pthread_mutex_lock(&p->lock);
	recs = p->recs;
	n = p->nrecs;
	p->recs = NULL;
	p->nrecs = p->cap = 0;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < n; i++)
		conn_record(p->home, &recs[i]);
	free(recs);
}

static void
pool_home_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	pool_unkick(fd);
	pool_records(arg);
}

void
pool_record(struct worker *w, const struct usage_rec *rec)
{
	struct pool		*p = w->pool;
	struct usage_rec	*recs;
	size_t			 cap;
	int			 first;

	atomic_fetch_sub_explicit(&w->load, 1, memory_order_relaxed);
	pthread_mutex_lock(&p->lock);
	if (p->nrecs == p->cap) {
		cap = p->cap > 0 ? 2 * p->cap : 64;
		if ((recs = realloc(p->recs, cap * sizeof *recs)) == NULL) {
			pthread_mutex_unlock(&p->lock);
			log_msg("out of memory: a usage record is lost");
			return;
		}
		p->recs = recs;
		p->cap = cap;
	}
	p->recs[p->nrecs++] = *rec;
	first = p->nrecs == 1;
	pthread_mutex_unlock(&p->lock);
	if (first)
		pool_kick(p->efd);
}

/* Worker: what it holds now. */
static void
pool_count(struct worker *w, struct pool_stats *st)
{
	struct db_current	 cur;

	conn_current(&w->srv, &cur);
	st->npaired = cur.connected;
	st->incomplete_bytes = cur.incomplete_bytes;
	st->nconns = w->srv.nconns;
	st->busy = conn_busy(&w->srv);
}

/* Worker: take handed pairs, answer home, or stop. */
static void
pool_worker_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct conn_list	 in;
	struct conn		*c;
	int			 asked, end;

	(void)what;
	pool_unkick(fd);
	TAILQ_INIT(&in);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&in, &w->inbox, entry);
	asked = w->asked;
	end = w->end;
	pthread_mutex_unlock(&w->lock);
	while ((c = TAILQ_FIRST(&in)) != NULL) {
		TAILQ_REMOVE(&in, c, entry);
		conn_adopt_pair(&w->srv, c);
	}
	if (end) {
		conn_end_all(&w->srv);
		event_base_loopbreak(w->srv.base);
	}
	if (asked) {
		struct pool_stats st;

		pool_count(w, &st);
		pthread_mutex_lock(&w->lock);
		w->stats = st;
		w->asked = 0;
		pthread_cond_signal(&w->answered);
		pthread_mutex_unlock(&w->lock);
	}
}

static void
pool_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_reap(arg);
}

static void *
pool_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_dispatch(w->srv.base) == -1)
		log_msg("a worker's event loop failed");
	conn_end_all(&w->srv);
	conn_reap(&w->srv);
	pump_pool_flush();
	return (NULL);
}

static int
pool_worker_init(struct pool *p, struct worker *w)
{
	struct server	*srv = &w->srv;

	w->pool = p;
	w->efd = -1;
	relay_init(&srv->relay);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->dead);
	TAILQ_INIT(&w->inbox);
	srv->worker = w;
	srv->blur = p->home->blur;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->answered, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (srv->base = event_base_new()) == NULL ||
	    (srv->reaper = event_new(srv->base, -1, 0, pool_reaper_cb,
	    srv)) == NULL ||
	    (w->wake = event_new(srv->base, w->efd, EV_READ | EV_PERSIST,
	    pool_worker_cb, w)) == NULL ||
	    event_add(w->wake, NULL) == -1)
		return (-1);
	return (0);
}

struct pool *
pool_new(struct server *home, int nthreads)
{
	struct pool	*p;
	sigset_t	 all, old;
	char		 name[16];
	int		 i, err;

	if ((p = calloc(1, sizeof *p)) == NULL ||
	    (p->workers = calloc(nthreads - 1, sizeof *p->workers)) == NULL ||
	    (p->relayed = calloc(nthreads, sizeof *p->relayed)) == NULL) {
		if (p != NULL)
			free(p->workers);
		free(p);
		log_msg("cannot start %d threads: out of memory", nthreads);
		return (NULL);
	}
	p->home = home;
	p->efd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->wake = event_new(home->base, p->efd, EV_READ | EV_PERSIST,
	    pool_home_cb, p)) == NULL || event_add(p->wake, NULL) == -1) {
		log_msg("cannot start %d threads: %s", nthreads,
		    strerror(errno));
		pool_free(p);
		return (NULL);
	}
	/* Signals are home's: the workers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads - 1; i++) {
		p->nworkers++;
		if (pool_worker_init(p, &p->workers[i]) == -1) {
			log_msg("cannot start %d threads: %s", nthreads,
			    strerror(errno));
			break;
		}
		if ((err = pthread_create(&p->workers[i].thread, NULL,
		    pool_main, &p->workers[i])) != 0) {
			log_msg("cannot start %d threads: %s", nthreads,
			    strerror(err));
			break;
		}
		p->workers[i].started = 1;
		/* For top -H and ps -L: which thread is which. */
		snprintf(name, sizeof name, "transitd-%d", (i + 1) % 1000);
		(void)pthread_setname_np(p->workers[i].thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (i < nthreads - 1) {
		pool_free(p);
		return (NULL);
	}
	home->pool = p;
	return (p);
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

void
pool_handoff(struct pool *p, struct conn *c)
{
	struct worker	*w;
	struct conn	*peer = c->peer;
	size_t		 load, best;
	int		 i, k, pick, n = p->nworkers + 1, first;

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
	w = &p->workers[pick - 1];
	conn_release(c);
	conn_release(peer);
	p->home->relay.npaired -= 2;
	atomic_fetch_add_explicit(&w->load, 1, memory_order_relaxed);
	c->srv = peer->srv = &w->srv;
	pthread_mutex_lock(&w->lock);
	first = TAILQ_EMPTY(&w->inbox);
	TAILQ_INSERT_TAIL(&w->inbox, c, entry);
	pthread_mutex_unlock(&w->lock);
	if (first)
		pool_kick(w->efd);
}

void
pool_stats(struct pool *p, struct pool_stats *sum)
{
	struct worker	*w;
	struct timespec	 until;
	int		 i;

	memset(sum, 0, sizeof *sum);
	/* Ask them all first, so that they count at the same time. */
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		pthread_mutex_lock(&w->lock);
		w->asked = 1;
		pthread_mutex_unlock(&w->lock);
		pool_kick(w->efd);
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += POOL_ASK_WAIT_S;
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		pthread_mutex_lock(&w->lock);
		while (w->asked && pthread_cond_timedwait(&w->answered,
		    &w->lock, &until) != ETIMEDOUT)
			;
		if (w->asked) {
			/* Stuck? Count what it was handed as busy. */
			log_msg("a worker did not answer in %d s",
			    POOL_ASK_WAIT_S);
			w->stats.busy = w->stats.nconns = 1;
		}
		sum->npaired += w->stats.npaired;
		sum->nconns += w->stats.nconns;
		sum->busy += w->stats.busy;
		sum->incomplete_bytes += w->stats.incomplete_bytes;
		pthread_mutex_unlock(&w->lock);
	}
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
	struct worker	*w;
	int		 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		w->end = 1;
		pthread_mutex_unlock(&w->lock);
		pool_kick(w->efd);
	}
	for (i = 0; i < p->nworkers; i++) {
		w = &p->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->wake != NULL)
			event_free(w->wake);
		if (w->srv.reaper != NULL)
			event_free(w->srv.reaper);
		if (w->srv.base != NULL)
			event_base_free(w->srv.base);
		if (w->efd != -1)
			close(w->efd);
		relay_free(&w->srv.relay);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->answered);
	}
	pool_records(p);
	if (p->home != NULL && p->home->pool == p)
		p->home->pool = NULL;
	if (p->wake != NULL)
		event_free(p->wake);
	if (p->efd != -1)
		close(p->efd);
	pthread_mutex_destroy(&p->lock);
	free(p->workers);
	free(p->relayed);
	free(p);
}
