/*
 * conn.c: a connection's life on its loop. Every event goes through
 * conn_event, which steps the lifecycle (life.h) and carries out what
 * it returns: the one place that records, closes and kills. A killed
 * connection is freed by the reaper, after the callbacks that may still
 * hold it have returned.
 */
#include <sys/socket.h>

#include <event2/event.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "record.h"

#define CONN_LINGER_MS	5000	/* wait for the client's FIN this long */
#define CONN_FLUSH_MS	60000	/* a closing conn's reader may stall so long */

struct conn *
conn_of(struct relay_conn *rc)
{
	return ((struct conn *)((char *)rc - offsetof(struct conn, rc)));
}

int
conn_open(struct conn *c)
{
	return (life_open(&c->life));
}

/* Add (on) or delete ev. Returns 0, or -1. */
static int
conn_want(struct event *ev, unsigned on)
{
	if (ev == NULL) {
		errno = ENOMEM;		/* a pair whose adoption failed */
		return (-1);
	}
	return (on ? event_add(ev, NULL) : event_del(ev));
}

/* Whether c reads now. */
static int
conn_wants_read(struct conn *c)
{
	switch (c->life.phase) {
	case LIFE_HANDSHAKE:
	case LIFE_WAITING:
		break;
	case LIFE_RELAYING:
		/* Its peer gone, its close is on the way: keep as is. */
		if (c->peer == NULL)
			return (c->reading);
		if (c->peer->out.len > 0 || c->paused)
			return (0);
		break;
	case LIFE_LINGER:
		return (1);
	default:
		return (0);
	}
	/* A WebSocket client's pings need room for their pongs. */
	return (c->t->can_read == NULL || c->t->can_read(c));
}

/*
 * Add or delete the events so that they match what c waits for. A
 * failure (out of memory, the kernel's epoll limits) would leave c hung
 * without a word: it ends c instead, counted and said.
 */
void
conn_update(struct conn *c)
{
	unsigned	 rd, wr;

	if (c->life.phase == LIFE_CLOSED)
		return;
	rd = conn_wants_read(c);
	wr = c->pendlen > 0 || c->out.len > 0;
	if ((rd == c->reading || conn_want(c->rev, rd) == 0) &&
	    (wr == c->writing || conn_want(c->wev, wr) == 0)) {
		c->reading = rd;
		c->writing = wr;
		return;
	}
	c->srv->event_errors++;
	log_msg("connection %llu: cannot wait for its events: %s",
	    (unsigned long long)c->rc.id, strerror(errno));
	conn_fail(c);
}

/* Read away, without waiting, some of what c's client sent, to its FIN. */
static void
conn_read_away(struct conn *c)
{
	char	 buf[4096];
	ssize_t	 n = 1;
	int	 i;

	for (i = 0; i < 16 && n > 0 && !c->eof; i++)
		if ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) == 0)
			c->eof = 1;
}

/*
 * Close c now and queue it for the reaper. Unread input would make the
 * close a reset, which can destroy bytes the client has not read yet.
 */
static void
conn_kill(struct conn *c)
{
	struct server	*srv = c->srv;

	if (c->rev != NULL)
		event_del(c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	if (c->timer != NULL)
		event_del(c->timer);
	if (srv->pacer != NULL)
		srv->pacer->end(c);
	c->reading = c->writing = 0;
	if (c->queued) {
		TAILQ_REMOVE(&srv->movers, c, mentry);
		c->queued = 0;
	}
	conn_read_away(c);
	close(c->fd);
	pump_free(&c->out);
	if (c->peer != NULL && c->peer->peer == c)
		c->peer->peer = NULL;
	c->peer = NULL;
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	TAILQ_INSERT_TAIL(&srv->dead, c, entry);
	event_active(srv->reaper, EV_READ, 0);
}

/* An open conn's timer is its deadlines' (pacer); then flush, linger. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (conn_open(c) && c->srv->pacer != NULL)
		c->srv->pacer->timer(c);
	else
		conn_event(c, LIFE_EV_TIMER);
}

int
conn_timer(struct conn *c, long ms)
{
	struct timeval	 tv = { ms / 1000, ms % 1000 * 1000 };

	if (ms == 0) {
		if (c->timer != NULL)	/* most conns never need it again */
			event_free(c->timer);
		c->timer = NULL;
		return (0);
	}
	if (c->timer == NULL &&
	    (c->timer = evtimer_new(c->srv->base, conn_timer_cb, c)) == NULL)
		return (-1);
	return (evtimer_add(c->timer, &tv));
}

/* What c's lifecycle needs to know with an event. */
static unsigned
conn_in(struct conn *c)
{
	unsigned	 in = 0;

	if (c->eof)
		in |= LIFE_IN_FIN;
	if (c->t->awaits_bye != NULL && c->t->awaits_bye(c))
		in |= LIFE_IN_AWAIT;
	if (c->t->goodbye != NULL)
		in |= LIFE_IN_GOODBYE;
	return (in);
}

void
conn_event(struct conn *c, enum life_ev ev)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 i, nact = 0;
	unsigned		 a;
	enum life_phase		 old = c->life.phase;

	/* A closing plain client's FIN may be here: then no linger. */
	if (ev == LIFE_EV_FLUSHED && c->life.phase == LIFE_CLOSING &&
	    c->t->linger_read == NULL)
		conn_read_away(c);
	a = life_step(&c->life, ev, conn_in(c));
	if (c->life.phase != old && c->srv->pacer != NULL)
		c->srv->pacer->phase(c, old);
	if (a & LIFE_RECORD) {
		if (c->failed)
			relay_fail(&c->srv->relay, &c->rc, record_now(), act,
			    &nact);
		else
			relay_close(&c->srv->relay, &c->rc, record_now(), act,
			    &nact);
	}
	if ((a & LIFE_UNPAIR) && c->peer != NULL) {
		if (c->peer->peer == c)
			c->peer->peer = NULL;
		c->peer = NULL;
	}
	if ((a & LIFE_GOODBYE) && c->t->goodbye != NULL)
		c->t->goodbye(c, c->bye);
	if ((a & LIFE_TIMEOUT) && c->t->timeout != NULL)
		c->t->timeout(c);
	if (a & LIFE_KILL)
		conn_kill(c);
	else if (((a & LIFE_SHUT) && shutdown(c->fd, SHUT_WR) == -1) ||
	    ((a & LIFE_FLUSH_TIMER) && conn_timer(c, CONN_FLUSH_MS) == -1) ||
	    ((a & LIFE_LINGER_TIMER) && conn_timer(c, CONN_LINGER_MS) == -1))
		conn_fail(c);
	/* The partner's close and the record, after c's own changes. */
	for (i = 0; i < nact; i++)
		conn_relay_act(c->srv, &act[i]);
	if (a & LIFE_FLUSH)
		conn_flush(c);
	else if (a & (LIFE_SHUT | LIFE_LINGER_TIMER))
		conn_update(c);
}

void
conn_fail(struct conn *c)
{
	conn_event(c, LIFE_EV_ERROR);
}

void
conn_eof(struct conn *c)
{
	c->eof = 1;
	conn_event(c, LIFE_EV_EOF);
}

void
conn_quit(struct conn *c, int failed, int bye)
{
	if (!conn_open(c))
		return;
	c->failed = failed != 0;
	c->bye = bye;
	conn_event(c, LIFE_EV_QUIT);
}

int
conn_flush(struct conn *c)
{
	ssize_t	 n;
	int	 wrote = 0;

	if (c->life.phase == LIFE_CLOSED)
		return (-1);
	/* The reply ("ok\n", ...) goes before any relayed byte. */
	while (c->pendlen > 0 || c->out.len > 0) {
		if (c->pendlen > 0)
			n = write(c->fd, c->pend, c->pendlen);
		else
			n = pump_drain(&c->out, c->fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_fail(c);
			return (-1);
		}
		if (c->pendlen > 0) {
			c->pend += n;
			c->pendlen -= n;
		} else
			wrote = 1;
	}
	if (wrote && c->t->wrote != NULL)
		c->t->wrote(c);
	/* Only a closing conn cares (saving the steps on the data path). */
	if (c->life.phase == LIFE_CLOSING) {
		/* Progress: a slow reader keeps its tail. */
		if (wrote)
			conn_event(c, LIFE_EV_PROGRESS);
		if (c->pendlen == 0 && c->out.len == 0)
			conn_event(c, LIFE_EV_FLUSHED);
	}
	if (!conn_open(c))
		return (-1);
	conn_update(c);
	if (c->peer != NULL)
		conn_update(c->peer);
	return (conn_open(c) ? 0 : -1);
}

void
conn_relay_act(struct server *srv, const struct relay_act *a)
{
	struct conn	*c = conn_of(a->conn);

	if (a->type == RELAY_CLOSE) {
		if (a->toobig)
			c->bye = CONN_BYE_TOOBIG;
		conn_event(c, LIFE_EV_CLOSE);
	} else if (a->type == RELAY_RECORD && !c->probe)
		srv->record(srv, &a->rec);
}

/*
 * Discard what a lingering client still sends, until its FIN; its
 * transport looks for its goodbye in it.
 */
static void
conn_read_linger(struct conn *c)
{
	uint8_t	 buf[4096];
	ssize_t	 n;

	n = recv(c->fd, buf, sizeof buf, 0);
	if (n == 0)
		conn_eof(c);
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		conn_event(c, LIFE_EV_ERROR);
	else if (n > 0 && c->t->linger_read != NULL &&
	    c->t->linger_read(c, buf, n))
		conn_event(c, LIFE_EV_BYE);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->life.phase == LIFE_LINGER)
		conn_read_linger(c);
	else if (conn_open(c))
		c->t->read(c);
	else
		conn_update(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

int
conn_attach(struct server *srv, struct conn *c)
{
	c->srv = srv;
	c->rev = event_new(srv->base, c->fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	c->wev = event_new(srv->base, c->fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	return (c->rev == NULL || c->wev == NULL ? -1 : 0);
}

void
conn_detach(struct conn *c)
{
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->timer != NULL)
		event_free(c->timer);
	c->rev = c->wev = c->timer = NULL;
	if (c->srv->pacer != NULL)
		c->srv->pacer->detach(c);
}

