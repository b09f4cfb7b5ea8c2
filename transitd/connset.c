/*
 * connset.c: operations on all the connections of a loop (connset.h).
 */
#include <sys/ioctl.h>

#include <linux/sockios.h>

#include <event2/event.h>

#include <stdlib.h>
#include <unistd.h>

#include "admit.h"
#include "conn.h"
#include "connset.h"
#include "db.h"
#include "log.h"
#include "pace.h"
#include "record.h"

void
connset_init(struct server *srv)
{
	relay_init(&srv->relay);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->dead);
	TAILQ_INIT(&srv->movers);
}

void
connset_moving(struct conn *c)
{
	struct server	*srv = c->srv;

	c->moved = c->peer->moved = 1;
	c->queued = 1;
	TAILQ_INSERT_TAIL(&srv->movers, c, mentry);
	event_active(srv->mover, EV_READ, 0);
}

void
connset_movers(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->movers)) != NULL) {
		TAILQ_REMOVE(&srv->movers, c, mentry);
		c->queued = 0;
		/* Still a live pair (its peer may have ended meanwhile). */
		if (c->life.phase == LIFE_RELAYING && c->peer != NULL &&
		    c->peer->life.phase == LIFE_RELAYING && srv->moving != NULL)
			srv->moving(srv, c);
	}
}

void
connset_end_all(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_fail(c);
}

void
connset_drain(struct server *srv)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_event(c, LIFE_EV_DRAIN);
	}
}

/* Whether the kernel still holds bytes for c's client, unsent or unacked. */
static int
connset_unsent(struct conn *c)
{
	int	 n;

	return (ioctl(c->fd, SIOCOUTQ, &n) == 0 && n > 0);
}

size_t
connset_busy(struct server *srv)
{
	struct conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->life.relayed && (c->life.phase == LIFE_RELAYING ||
		    c->out.len > 0 || connset_unsent(c)))
			n++;
	return (n);
}

void
connset_current(struct server *srv, struct db_current *cur)
{
	struct conn	*c;

	cur->connected = srv->relay.npaired;
	cur->waiting = srv->relay.ntokens;
	cur->incomplete_bytes = 0;
	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->rc.state == RELAY_PAIRED)
			cur->incomplete_bytes += c->rc.bytes;
}

struct conn *
connset_accept(struct server *srv, int fd, const struct transport *t,
    uint64_t src)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		goto fail;
	c->fd = fd;
	c->t = t;
	pump_init(&c->out);
	life_init(&c->life);
	/* SO_KEEPALIVE and TCP_NODELAY come from the listener. */
	relay_conn_init(&c->rc, ++srv->next_id, record_now());
	if (conn_attach(srv, c) == -1 || (t->init != NULL && t->init(c) == -1))
		goto fail;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	/* On the list first: a timer that cannot be set ends c. */
	if (pace_accept(c, src) == -1) {
		TAILQ_REMOVE(&srv->conns, c, entry);
		srv->nconns--;
		goto fail;
	}
	conn_update(c);
	return (c);

fail:
	log_msg("cannot take a connection: out of memory");
	if (c != NULL) {
		conn_detach(c);
		if (t->destroy != NULL)
			t->destroy(c);
		free(c);
	}
	admit_release(srv->admit, src, 0);
	close(fd);
	return (NULL);
}

void
connset_reap(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->dead)) != NULL) {
		TAILQ_REMOVE(&srv->dead, c, entry);
		conn_detach(c);
		/* Here, not in conn_kill: a transport's read may still use it. */
		if (c->t->destroy != NULL)
			c->t->destroy(c);
		free(c);
	}
}

void
connset_release(struct conn *c)
{
	struct server	*srv = c->srv;

	conn_detach(c);
	c->reading = c->writing = 0;
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
}

void
connset_adopt_pair(struct server *srv, struct conn *c)
{
	struct conn	*p = c->peer;
	int		 ok;

	/* Both go on the list first, so that either can end the other. */
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	TAILQ_INSERT_TAIL(&srv->conns, p, entry);
	srv->nconns += 2;
	srv->relay.npaired += 2;
	ok = conn_attach(srv, c) == 0;
	ok = conn_attach(srv, p) == 0 && ok;
	if (!ok) {
		log_msg("cannot take a pair: out of memory");
		conn_fail(c);
		return;
	}
	/* Its timers were home's: armed again here. */
	pace_arm(c);
	pace_arm(p);
	conn_update(c);
	conn_update(p);
}
