/*
 * conn.c: client connections. Before pairing, bytes go to the protocol
 * core (relay_input); after, they move from one socket to the peer's
 * pump and on to the peer's socket. A direction reads only while the
 * peer's pump is empty, so a stalled receiver stops its sender and each
 * direction holds at most PUMP_MAX bytes (TCP flow control does the
 * rest). Connections are freed by the reaper, after the callbacks that
 * may still hold them have returned.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <linux/sockios.h>

#include <event2/event.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "log.h"
#include "logjson.h"
#include "pool.h"
#include "wsconn.h"

#define CONN_READ_BUF	16384	/* one read before pairing */
#define CONN_LOOPS	8	/* reads per wake-up, for fairness */
#define CONN_LINGER_S	5	/* wait for the client's FIN this long */
#define CONN_FLUSH_S	60	/* a closing conn's reader may stall this long */

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_tcp_read(struct conn *);
static int	conn_tcp_reply(struct conn *, const char *);
static int	conn_tcp_send(struct conn *, const void *, size_t);

static const struct conn_ops conn_tcp_ops = {
	conn_tcp_read, conn_tcp_reply, conn_tcp_send, PUMP_BUF, NULL
};

double
conn_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

static struct conn *
conn_of(struct relay_conn *rc)
{
	return ((struct conn *)((char *)rc - offsetof(struct conn, rc)));
}

/* Add or delete the events so that they match what c waits for. */
void
conn_update(struct conn *c)
{
	int	 rd = 0, wr;

	if (c->flags & CONN_DEAD)
		return;
	switch (c->rc.state) {
	case RELAY_WAIT_LINE:
	case RELAY_WAIT_PARTNER:
		rd = 1;
		break;
	case RELAY_PAIRED:
		/* No peer yet: between its "ok" and the pairing; keep as is. */
		rd = c->peer == NULL ? (c->flags & CONN_READING) != 0 :
		    c->peer->out.len == 0;
		break;
	default:
		rd = (c->flags & CONN_LINGER) != 0;
		break;
	}
	/* A WebSocket client's pings need room for their pongs. */
	if (rd && c->ws != NULL && !(c->flags & CONN_LINGER))
		rd = wsconn_can_read(c);
	wr = c->pendlen > 0 || c->out.len > 0;
	if (rd && !(c->flags & CONN_READING))
		event_add(c->rev, NULL);
	else if (!rd && (c->flags & CONN_READING))
		event_del(c->rev);
	if (wr && !(c->flags & CONN_WRITING))
		event_add(c->wev, NULL);
	else if (!wr && (c->flags & CONN_WRITING))
		event_del(c->wev);
	c->flags = (c->flags & ~(CONN_READING | CONN_WRITING)) |
	    (rd ? CONN_READING : 0) | (wr ? CONN_WRITING : 0);
}

/*
 * Read away, without waiting, a little of what c's client has sent, up
 * to its FIN if that is here (CONN_EOF).
 */
static void
conn_read_away(struct conn *c)
{
	char	 buf[4096];
	ssize_t	 n = 1;
	int	 i;

	for (i = 0; i < 16 && n > 0 && !(c->flags & CONN_EOF); i++)
		if ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) == 0)
			c->flags |= CONN_EOF;
}

/*
 * Close c's socket. Input left unread would make the close reset the
 * connection, and a reset can destroy bytes the client has not read yet:
 * what has arrived is read away first.
 */
static void
conn_close_fd(struct conn *c)
{
	conn_read_away(c);
	close(c->fd);
}

/* Close c now and queue it for the reaper. */
static void
conn_kill(struct conn *c)
{
	struct server	*srv = c->srv;

	if (c->flags & CONN_DEAD)
		return;
	if (c->rev != NULL)
		event_del(c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	if (c->timer != NULL)
		event_del(c->timer);
	conn_close_fd(c);
	pump_free(&c->out);
	if (c->peer != NULL && c->peer->peer == c)
		c->peer->peer = NULL;
	c->peer = NULL;
	c->flags = CONN_DEAD;
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	TAILQ_INSERT_TAIL(&srv->dead, c, entry);
	event_active(srv->reaper, EV_READ, 0);
}

/* A timeout: of a lingering or closing conn, or of a WebSocket upgrade. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if ((c->flags & (CONN_CLOSING | CONN_LINGER)) || c->ws == NULL)
		conn_kill(c);
	else
		wsconn_timeout(c);
}

/* Arm c's timer for secs. Returns 0, or -1 when out of memory. */
int
conn_timer(struct conn *c, int secs)
{
	struct timeval	 tv = { secs, 0 };

	if (c->timer == NULL &&
	    (c->timer = evtimer_new(c->srv->base, conn_timer_cb, c)) == NULL)
		return (-1);
	evtimer_add(c->timer, &tv);
	return (0);
}

/*
 * All that was queued for c is written: shut the write side and read
 * until the client's FIN (or a timeout) before closing, since closing
 * with unread input would reset the connection and could destroy bytes
 * the client has not read yet.
 */
static void
conn_linger(struct conn *c)
{
	/*
	 * A plain client that has closed too (both ends of a pair often
	 * close at once) needs no wait: its FIN is here, and the close
	 * sends ours after what the kernel still holds for it.
	 */
	if (c->ws == NULL) {
		conn_read_away(c);
		if (c->flags & CONN_EOF) {
			conn_kill(c);
			return;
		}
	}
	/*
	 * A WebSocket client first answers the relay's close frame; its
	 * close arrives while lingering (wsconn_linger_read), then the
	 * write side is shut (RFC 6455 section 7.1.1).
	 */
	if ((c->ws == NULL || !wsconn_awaits_close(c)) &&
	    shutdown(c->fd, SHUT_WR) == -1) {
		conn_kill(c);
		return;
	}
	if (conn_timer(c, CONN_LINGER_S) == -1) {
		conn_kill(c);
		return;
	}
	c->flags |= CONN_LINGER;
	conn_update(c);
}

/*
 * Write the pending reply, then the pump, to c. Returns 0, or -1 when c
 * ended (its socket failed, or it was closing and is done).
 */
int
conn_flush(struct conn *c)
{
	ssize_t	 n;

	/* The reply ("ok\n", ...) goes before any relayed byte. */
	while (c->pendlen > 0 || c->out.len > 0) {
		if (c->pendlen > 0)
			n = write(c->fd, c->pend, c->pendlen);
		else
			n = pump_drain(&c->out, c->fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			goto out;
		if (n <= 0)
			goto fail;
		if (c->pendlen > 0) {
			c->pend += n;
			c->pendlen -= n;
		} else if (c->flags & CONN_CLOSING) {
			/* Progress: a slow reader keeps its tail. */
			conn_timer(c, CONN_FLUSH_S);
		}
	}
	if ((c->flags & (CONN_CLOSING | CONN_LINGER)) == CONN_CLOSING) {
		conn_linger(c);
		return (-1);
	}
out:
	conn_update(c);
	if (c->peer != NULL)
		conn_update(c->peer);
	return (0);
fail:
	conn_ended(c);
	return (-1);
}

/*
 * Begin closing c: stop reading, flush what it is owed and its
 * transport's goodbye, linger.
 */
void
conn_close_soon(struct conn *c)
{
	if (c->flags & (CONN_DEAD | CONN_CLOSING))
		return;
	if (c->peer != NULL && c->peer->peer == c)
		c->peer->peer = NULL;
	c->peer = NULL;
	if (c->ops->close != NULL)
		c->ops->close(c, 0);
	c->flags |= CONN_CLOSING;
	/* A closing conn with bytes to flush must keep making progress. */
	if (c->out.len > 0 && conn_timer(c, CONN_FLUSH_S) == -1) {
		conn_kill(c);
		return;
	}
	conn_flush(c);
}

void
conn_record(struct server *srv, const struct usage_rec *r)
{
	struct usage_rec	 rec = *r;

	usage_blur(&rec, srv->blur);
	if (srv->log != NULL)
		logjson_write(srv->log, &rec);
	if (srv->db != NULL)
		db_record(srv->db, &rec);
}

/* Run the core's actions. */
void
conn_run(struct server *srv, struct relay_act *act, size_t nact)
{
	struct conn		*c, *p;
	size_t			 i;

	for (i = 0; i < nact; i++) {
		c = conn_of(act[i].conn);
		switch (act[i].type) {
		case RELAY_SEND:
			if (c->flags & (CONN_CLOSING | CONN_DEAD))
				break;
			if (c->ops->reply(c, act[i].line) == -1)
				conn_ended(c);
			else
				conn_flush(c);
			break;
		case RELAY_PAIR:
			p = conn_of(act[i].peer);
			/* A reply that failed may have ended either already. */
			if ((c->flags | p->flags) & (CONN_CLOSING | CONN_DEAD))
				break;
			c->peer = p;
			p->peer = c;
			c->flags |= CONN_RELAYED;
			p->flags |= CONN_RELAYED;
			conn_update(c);
			conn_update(p);
			break;
		case RELAY_CLOSE:
			if (act[i].toobig && c->ops->close != NULL &&
			    !(c->flags & (CONN_CLOSING | CONN_DEAD)))
				c->ops->close(c, 1);
			conn_close_soon(c);
			break;
		case RELAY_RECORD:
			if (srv->worker != NULL)
				pool_record(srv->worker, &act[i].rec);
			else
				conn_record(srv, &act[i].rec);
			break;
		}
	}
}

/* The client of c is gone (EOF or error): end it and what it implies. */
void
conn_ended(struct conn *c)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;

	if (c->flags & CONN_DEAD)
		return;
	relay_close(&c->srv->relay, &c->rc, conn_now(), act, &nact);
	conn_kill(c);
	conn_run(c->srv, act, nact);
}

/*
 * Bytes (or WebSocket payload) that c's client sent before pairing go to
 * the core; what follows a handshake that made the pair is relayed.
 */
void
conn_input(struct conn *c, const char *buf, size_t len)
{
	struct server		*srv = c->srv;
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact, used;
	double			 now = conn_now();

	used = relay_input(&srv->relay, &c->rc, buf, len, now, act, &nact);
	conn_run(srv, act, nact);
	while (relay_spares(&srv->relay, now, act, &nact))
		conn_run(srv, act, nact);
	if (c->rc.state == RELAY_PAIRED && c->peer != NULL && used < len)
		conn_forward(c, buf + used, len - used);
}

/*
 * The client of paired c sent len bytes: count them and queue them for
 * the peer. Returns 0, or -1 when c or its peer ended.
 */
int
conn_forward(struct conn *c, const void *buf, size_t len)
{
	struct conn	*p = c->peer;

	c->rc.bytes += len;
	if (p->ops->send(p, buf, len) == -1) {
		log_msg("connection %llu: cannot queue %zu bytes: %s",
		    (unsigned long long)c->rc.id, len, strerror(errno));
		conn_ended(c);
		return (-1);
	}
	return (conn_flush(p));
}

/*
 * Read up to len bytes from c's client. Returns the count, or 0 when
 * there is nothing to do: nothing to read yet, or the client is gone
 * (EOF or an error), in which case c has been ended.
 */
size_t
conn_recv(struct conn *c, void *buf, size_t len)
{
	ssize_t	 n;

	n = recv(c->fd, buf, len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n == 0)
		c->flags |= CONN_EOF;
	if (n <= 0) {
		conn_ended(c);
		return (0);
	}
	return ((size_t)n);
}

/* A plain client's bytes before pairing. */
static void
conn_read_unpaired(struct conn *c)
{
	char		 buf[CONN_READ_BUF];
	size_t		 n;

	if ((n = conn_recv(c, buf, sizeof buf)) == 0)
		return;
	conn_input(c, buf, n);
	conn_update(c);
}

/*
 * Move bytes from paired c to a peer that frames them (WebSocket):
 * through memory, at most what one send may take.
 */
static void
conn_read_copy(struct conn *c)
{
	char		 buf[PUMP_BUF];
	size_t		 max = c->peer->ops->send_max, n;

	if (c->peer->out.len > 0) {
		conn_update(c);
		return;
	}
	if ((n = conn_recv(c, buf, max < sizeof buf ? max : sizeof buf)) == 0)
		return;
	if (conn_forward(c, buf, n) == 0)
		conn_update(c);
}

/* Move bytes from paired c to its peer. */
static void
conn_read_paired(struct conn *c)
{
	struct conn	*p = c->peer;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < CONN_LOOPS && p->out.len == 0; i++) {
		n = pump_fill(&p->out, c->fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == 0)
			c->flags |= CONN_EOF;
		if (n <= 0) {
			conn_ended(c);
			return;
		}
		c->rc.bytes += n;
		if (conn_flush(p) == -1)
			return;
	}
	conn_update(c);
	/*
	 * --threads: a pair that moves data may go to another thread, once.
	 * Not before: most pairs that never send (a client's spare
	 * connections, probes) end soon, and cost less where they are.
	 */
	if (c->srv->pool != NULL && !(c->flags & CONN_SETTLED) &&
	    c->peer == p && !((c->flags | p->flags) & (CONN_CLOSING |
	    CONN_DEAD))) {
		c->flags |= CONN_SETTLED;
		p->flags |= CONN_SETTLED;
		pool_handoff(c->srv->pool, c);
	}
}

/*
 * Discard what a lingering client still sends, until its FIN; a
 * WebSocket client's close frame, which shuts the write side, is
 * looked for in it.
 */
static void
conn_read_linger(struct conn *c)
{
	char	 buf[4096];
	ssize_t	 n;

	n = recv(c->fd, buf, sizeof buf, 0);
	if (n == 0)
		c->flags |= CONN_EOF;
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
		conn_kill(c);
	else if (n > 0 && c->ws != NULL && wsconn_linger_read(c,
	    (uint8_t *)buf, n) && shutdown(c->fd, SHUT_WR) == -1)
		conn_kill(c);
}

/* A plain TCP client is readable. */
static void
conn_tcp_read(struct conn *c)
{
	if (c->rc.state == RELAY_PAIRED && c->peer != NULL) {
		if (c->peer->ws != NULL)
			conn_read_copy(c);
		else
			conn_read_paired(c);
	} else if (c->rc.state == RELAY_WAIT_LINE ||
	    c->rc.state == RELAY_WAIT_PARTNER)
		conn_read_unpaired(c);
	else
		conn_update(c);
}

/* The reply goes before any relayed byte; it is a static string. */
static int
conn_tcp_reply(struct conn *c, const char *line)
{
	c->pend = line;
	c->pendlen = strlen(line);
	return (0);
}

static int
conn_tcp_send(struct conn *c, const void *buf, size_t len)
{
	return (pump_put(&c->out, buf, len));
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->flags & CONN_LINGER)
		conn_read_linger(c);
	else
		c->ops->read(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush(arg);
}

int
conn_accept(struct server *srv, int fd, int websocket)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		goto fail;
	c->srv = srv;
	c->fd = fd;
	c->ops = &conn_tcp_ops;
	pump_init(&c->out);
	if (websocket && wsconn_new(c) == -1)
		goto fail;
	c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb,
	    c);
	c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		goto fail;
	/* SO_KEEPALIVE and TCP_NODELAY come from the listener. */
	relay_conn_init(&c->rc, ++srv->next_id, conn_now());
	c->rc.ws = websocket;
	/* A WebSocket client has a while to complete its Upgrade request. */
	if (websocket && conn_timer(c, WSCONN_UPGRADE_S) == -1)
		goto fail;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	conn_update(c);
	return (0);

fail:
	log_msg("cannot take a connection: out of memory");
	if (c != NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		if (c->timer != NULL)
			event_free(c->timer);
		wsconn_free(c);
		free(c);
	}
	close(fd);
	return (-1);
}

void
conn_release(struct conn *c)
{
	struct server	*srv = c->srv;

	event_free(c->rev);
	event_free(c->wev);
	if (c->timer != NULL)
		event_free(c->timer);
	c->rev = c->wev = c->timer = NULL;
	c->flags &= ~(CONN_READING | CONN_WRITING);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
}

/* Give c the events of srv's loop and put it on srv's list. */
static int
conn_adopt(struct server *srv, struct conn *c)
{
	c->srv = srv;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	c->rev = event_new(srv->base, c->fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	c->wev = event_new(srv->base, c->fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	return (c->rev == NULL || c->wev == NULL ? -1 : 0);
}

void
conn_adopt_pair(struct server *srv, struct conn *c)
{
	struct conn	*p = c->peer;
	int		 ok;

	/* Both go on the list first, so that either can end the other. */
	ok = conn_adopt(srv, c) == 0;
	ok = conn_adopt(srv, p) == 0 && ok;
	srv->relay.npaired += 2;
	if (!ok) {
		log_msg("cannot take a pair: out of memory");
		conn_kill(p);
		conn_ended(c);
		return;
	}
	conn_update(c);
	conn_update(p);
}

void
conn_end_all(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_ended(c);
}

void
conn_drain(struct server *srv)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	struct conn		*c, *next;
	size_t			 nact;

	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->rc.state != RELAY_WAIT_LINE &&
		    c->rc.state != RELAY_WAIT_PARTNER)
			continue;
		/* A plain client is dropped, as the reference drops it. */
		if (c->ws == NULL) {
			conn_ended(c);
			continue;
		}
		/* A WebSocket one gets its close frame; its record is all. */
		relay_close(&srv->relay, &c->rc, conn_now(), act, &nact);
		conn_run(srv, act, nact);
		conn_close_soon(c);
	}
}

/* Whether the kernel still holds bytes for c's client, unsent or unacked. */
static int
conn_unsent(struct conn *c)
{
	int	 n;

	return (ioctl(c->fd, SIOCOUTQ, &n) == 0 && n > 0);
}

size_t
conn_busy(struct server *srv)
{
	struct conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &srv->conns, entry)
		if ((c->flags & CONN_RELAYED) && (c->rc.state == RELAY_PAIRED ||
		    c->out.len > 0 || conn_unsent(c)))
			n++;
	return (n);
}

void
conn_current(struct server *srv, struct db_current *cur)
{
	struct conn	*c;

	cur->connected = srv->relay.npaired;
	cur->waiting = srv->relay.ntokens;
	cur->incomplete_bytes = 0;
	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->rc.state == RELAY_PAIRED)
			cur->incomplete_bytes += c->rc.bytes;
}

void
conn_reap(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->dead)) != NULL) {
		TAILQ_REMOVE(&srv->dead, c, entry);
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		if (c->timer != NULL)
			event_free(c->timer);
		/* Here, not in conn_kill: a WebSocket read may still use it. */
		wsconn_free(c);
		free(c);
	}
}
