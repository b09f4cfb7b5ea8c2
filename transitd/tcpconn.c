/*
 * tcpconn.c: plain TCP clients (tcpconn.h). A direction reads only
 * while the peer's pump is empty, so a stalled receiver stops its
 * sender and each direction holds at most PUMP_MAX bytes (TCP flow
 * control does the rest).
 */
#include <errno.h>
#include <string.h>

#include "conn.h"
#include "connset.h"
#include "input.h"
#include "pace.h"
#include "tcpconn.h"

#define TCPCONN_READ_BUF	16384	/* one read before pairing */
#define TCPCONN_LOOPS		8	/* reads per wake-up, for fairness */

/* The client's bytes before pairing. */
static void
tcpconn_read_unpaired(struct conn *c)
{
	char	 buf[TCPCONN_READ_BUF];
	size_t	 n;

	if ((n = input_recv(c, buf, sizeof buf)) == 0)
		return;
	input_deliver(c, buf, n);
	conn_update(c);
}

/*
 * Move bytes from paired c to a peer that frames them (WebSocket):
 * through memory, at most what one send may take.
 */
static void
tcpconn_read_copy(struct conn *c)
{
	char	 buf[PUMP_BUF];
	size_t	 max = c->peer->t->send_max, n;

	if (max > sizeof buf)
		max = sizeof buf;
	if (c->peer->out.len > 0 || (max = pace_reserve(c, max)) == 0) {
		conn_update(c);
		return;
	}
	n = input_recv(c, buf, max);
	pace_refund(c, max - n);
	if (n == 0)
		return;
	input_deliver(c, buf, n);
	if (conn_open(c))
		conn_update(c);
}

/* Move bytes from paired c into its peer's pump, and on to its socket. */
static void
tcpconn_read_paired(struct conn *c)
{
	struct conn	*p = c->peer;
	ssize_t		 n;
	size_t		 max;
	int		 i;

	for (i = 0; i < TCPCONN_LOOPS && p->out.len == 0; i++) {
		if ((max = pace_reserve(c, PUMP_MAX)) == 0)
			break;	/* paused, or ended */
		n = pump_fill_max(&p->out, c->fd, max);
		pace_refund(c, n > 0 ? max - (size_t)n : max);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (n == -1) {
			conn_fail(c);
			return;
		}
		/* Counted first: a failing flush ends the pair, recorded. */
		if (pace_count(c, (size_t)n) == -1 || conn_flush(p) == -1 ||
		    c->peer != p)
			return;
	}
	if (!conn_open(c))
		return;
	conn_update(c);
	/*
	 * Once a pair moves data it is said (--threads may move it). Not
	 * before: most pairs that never send (a client's spare connections,
	 * probes) end soon, and cost less where they are.
	 */
	if (!c->moved && c->srv->moving != NULL && conn_open(c) &&
	    c->peer == p && conn_open(p))
		connset_moving(c);
}

static void
tcpconn_read(struct conn *c)
{
	if (c->life.phase != LIFE_RELAYING)
		tcpconn_read_unpaired(c);
	else if (c->peer == NULL)
		conn_update(c);
	else if (c->peer->t->zero_copy)
		tcpconn_read_paired(c);
	else
		tcpconn_read_copy(c);
}

/* The reply goes before any relayed byte; it is a static string. */
static int
tcpconn_reply(struct conn *c, const char *line)
{
	c->pend = line;
	c->pendlen = strlen(line);
	return (0);
}

static int
tcpconn_send(struct conn *c, const void *buf, size_t len)
{
	return (pump_put(&c->out, buf, len));
}

const struct transport tcpconn_transport = {
	.read = tcpconn_read,
	.reply = tcpconn_reply,
	.send = tcpconn_send,
	.send_max = PUMP_BUF,
	.zero_copy = 1,
};
