/*
 * input.c: what a client sends, as its transport delivers it: before
 * pairing, the relay core's input (its handshake); after, bytes for
 * its peer, counted and queued there.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>

#include "conn.h"
#include "input.h"
#include "log.h"
#include "pace.h"
#include "record.h"

/* Carry out the relay core's actions. */
static void
input_run(struct server *srv, struct relay_act *act, size_t nact)
{
	struct conn		*c, *p;
	size_t			 i;

	for (i = 0; i < nact; i++) {
		c = conn_of(act[i].conn);
		switch (act[i].type) {
		case RELAY_SEND:
			if (!conn_open(c))
				break;
			if (c->t->reply(c, act[i].line) == -1)
				conn_fail(c);
			else
				conn_flush(c);
			break;
		case RELAY_PAIR:
			p = conn_of(act[i].peer);
			/* A reply that failed may have ended either already. */
			if (!conn_open(c) || !conn_open(p))
				break;
			c->peer = p;
			p->peer = c;
			conn_event(c, LIFE_EV_PAIRED);
			conn_event(p, LIFE_EV_PAIRED);
			conn_update(c);
			conn_update(p);
			break;
		default:
			conn_relay_act(srv, &act[i]);
			break;
		}
	}
}

/*
 * After the core took c's input: c may be waiting now; carry out the
 * actions, then close the waiters a pairing made redundant.
 */
static void
input_after(struct conn *c, struct relay_act *act, size_t nact, double now)
{
	struct server	*srv = c->srv;

	if (c->rc.state == RELAY_WAIT_PARTNER) {
		conn_event(c, LIFE_EV_WAITING);
		/* Against token squatting (--max-waiting-per-ip). */
		if (pace_waiting(c) == -1)
			pace_end(c, CAUSE_WAITING_PER_IP);
	}
	input_run(srv, act, nact);
	while (relay_spares(&srv->relay, now, act, &nact))
		input_run(srv, act, nact);
}

/* The client of paired c sent len bytes: count them, queue them. */
static void
input_forward(struct conn *c, const void *buf, size_t len)
{
	struct conn	*p = c->peer;

	if (p->t->send(p, buf, len) == -1) {
		log_msg("connection %llu: cannot queue %zu bytes: %s",
		    (unsigned long long)c->rc.id, len, strerror(errno));
		conn_fail(c);
		return;
	}
	if (pace_count(c, len) == 0)
		conn_flush(p);
}

void
input_deliver(struct conn *c, const void *buf, size_t len)
{
	struct server		*srv = c->srv;
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact, used;
	double			 now;

	if (c->life.phase == LIFE_RELAYING) {
		if (c->peer != NULL && len > 0)
			input_forward(c, buf, len);
		return;
	}
	if (!conn_open(c) || len == 0)
		return;
	/* A source over its budget gets the line clients take as failure. */
	if (c->rc.state == RELAY_WAIT_LINE && pace_over_budget(c)) {
		c->failed = 1;
		if (c->t->reply(c, "bad handshake\n") == -1)
			conn_fail(c);
		else
			pace_end(c, CAUSE_BUDGET);
		return;
	}
	now = record_now();
	used = relay_input(&srv->relay, &c->rc, buf, len, now, act, &nact);
	input_after(c, act, nact, now);
	/* What followed the handshake that made the pair is relayed. */
	if (c->life.phase == LIFE_RELAYING && c->peer != NULL && used < len)
		input_forward(c, (const char *)buf + used, len - used);
}

void
input_message_end(struct conn *c)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;
	double			 now = record_now();

	if (!conn_open(c) || c->rc.state != RELAY_WAIT_LINE)
		return;
	relay_message_end(&c->srv->relay, &c->rc, now, act, &nact);
	input_after(c, act, nact, now);
}

size_t
input_recv(struct conn *c, void *buf, size_t len)
{
	ssize_t	 n;

	n = recv(c->fd, buf, len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n == 0)
		conn_eof(c);
	else if (n == -1)
		conn_fail(c);
	return (n > 0 ? (size_t)n : 0);
}
