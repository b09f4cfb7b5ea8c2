/*
 * worker.c: a worker thread (worker.h). Home and worker talk through
 * mutex-guarded queues, each with an eventfd to wake its reader; an
 * eventfd is written only when its queue was empty, so a busy queue
 * costs no system call per item.
 */
#include <sys/eventfd.h>

#include <event2/event.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connset.h"
#include "db.h"
#include "log.h"
#include "worker.h"

void
worker_kick(int efd)
{
	uint64_t	 one = 1;

	if (write(efd, &one, sizeof one) == -1 && errno != EAGAIN)
		log_msg("eventfd: %s", strerror(errno));
}

void
worker_unkick(int efd)
{
	uint64_t	 n;

	if (read(efd, &n, sizeof n) == -1 && errno != EAGAIN) {
		/* Nothing was pending: a spurious wake-up. */
	}
}

/* A pair ended with this record: to home's mailbox. */
static void
worker_record(struct server *srv, const struct usage_rec *rec)
{
	struct worker		*w = srv->owner;
	struct worker_home	*h = w->home;
	struct usage_rec	*recs;
	size_t			 cap;
	int			 first;

	atomic_fetch_sub_explicit(&w->load, 1, memory_order_relaxed);
	pthread_mutex_lock(&h->lock);
	if (h->nrecs == h->cap) {
		cap = h->cap > 0 ? 2 * h->cap : 64;
		if ((recs = realloc(h->recs, cap * sizeof *recs)) == NULL) {
			pthread_mutex_unlock(&h->lock);
			log_msg("out of memory: a usage record is lost");
			return;
		}
		h->recs = recs;
		h->cap = cap;
	}
	h->recs[h->nrecs++] = *rec;
	first = h->nrecs == 1;
	pthread_mutex_unlock(&h->lock);
	if (first)
		worker_kick(h->efd);
}

/* What w holds now. */
static void
worker_count(struct worker *w, struct loop_stats *st)
{
	struct db_current	 cur;

	connset_current(&w->srv, &cur);
	st->npaired = cur.connected;
	st->incomplete_bytes = cur.incomplete_bytes;
	st->nconns = w->srv.nconns;
	st->busy = connset_busy(&w->srv);
}

/* Take handed pairs, answer home, or stop. */
static void
worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct conn_list	 in;
	struct conn		*c;
	struct loop_stats	 st;
	uint64_t		 asked;
	int			 end;

	(void)what;
	worker_unkick(fd);
	TAILQ_INIT(&in);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&in, &w->inbox, entry);
	asked = w->asked != w->answered ? w->asked : 0;
	end = w->end;
	pthread_mutex_unlock(&w->lock);
	while ((c = TAILQ_FIRST(&in)) != NULL) {
		TAILQ_REMOVE(&in, c, entry);
		connset_adopt_pair(&w->srv, c);
		w->adopted++;
	}
	if (end) {
		connset_end_all(&w->srv);
		event_base_loopbreak(w->srv.base);
	}
	if (asked == 0)
		return;
	worker_count(w, &st);
	pthread_mutex_lock(&w->lock);
	w->stats = st;
	w->counted = w->adopted;
	w->answered = asked;
	pthread_mutex_unlock(&w->lock);
	worker_kick(w->home->efd);
}

static void
worker_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connset_reap(arg);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_dispatch(w->srv.base) == -1)
		log_msg("a worker's event loop failed");
	connset_end_all(&w->srv);
	connset_reap(&w->srv);
	pump_pool_flush();
	return (NULL);
}

/* Set up w's loop. Returns 0, or -1 with errno. */
static int
worker_init(struct worker *w, struct worker_home *home, int index)
{
	struct server	*srv = &w->srv;

	w->home = home;
	w->index = index;
	w->efd = -1;
	connset_init(srv);
	TAILQ_INIT(&w->inbox);
	srv->record = worker_record;
	srv->owner = w;
	pthread_mutex_init(&w->lock, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (srv->base = event_base_new()) == NULL ||
	    (srv->reaper = event_new(srv->base, -1, 0, worker_reaper_cb,
	    srv)) == NULL ||
	    (w->wake = event_new(srv->base, w->efd, EV_READ | EV_PERSIST,
	    worker_wake_cb, w)) == NULL ||
	    event_add(w->wake, NULL) == -1)
		return (-1);
	return (0);
}

int
worker_start(struct worker *w, struct worker_home *home, int index)
{
	sigset_t	 all, old;
	char		 name[16];
	int		 err;

	if (worker_init(w, home, index) == -1)
		return (-1);
	/* Signals are home's: the workers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		errno = err;
		return (-1);
	}
	w->started = 1;
	/* For top -H and ps -L: which thread is which. */
	snprintf(name, sizeof name, "transitd-%d", index % 1000);
	(void)pthread_setname_np(w->thread, name);
	return (0);
}

void
worker_hand(struct worker *w, struct conn *c)
{
	int	 first;

	atomic_fetch_add_explicit(&w->load, 1, memory_order_relaxed);
	c->srv = c->peer->srv = &w->srv;
	pthread_mutex_lock(&w->lock);
	first = TAILQ_EMPTY(&w->inbox);
	TAILQ_INSERT_TAIL(&w->inbox, c, entry);
	pthread_mutex_unlock(&w->lock);
	if (first)
		worker_kick(w->efd);
}

void
worker_ask(struct worker *w, uint64_t gen)
{
	pthread_mutex_lock(&w->lock);
	w->asked = gen;
	pthread_mutex_unlock(&w->lock);
	worker_kick(w->efd);
}

void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	w->end = 1;
	pthread_mutex_unlock(&w->lock);
	worker_kick(w->efd);
}

void
worker_free(struct worker *w)
{
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
}
