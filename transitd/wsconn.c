/*
 * wsconn.c: the WebSocket transport of a connection. Until the Upgrade
 * request is complete the client talks HTTP (wshttp.c); then each
 * binary message's payload is a byte stream for the relay, as TCP bytes
 * are, and what the relay sends goes out as binary messages (ws.c).
 * Everything for the client, frames and HTTP alike, is queued in order
 * in its out buffer; WSCONN_RESERVE bytes of it stay free for the
 * control frames a read may call for.
 */

#include <event2/event.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "ws.h"
#include "wsconn.h"
#include "wshttp.h"

/* Less than a pump may take, so a read's payload and frames always fit. */
#define WSCONN_READ	(PUMP_BUF - 64)

struct wsconn {
	struct wshttp		*http;		/* until upgraded */
	struct ws_parser	 parser;
	int			 closed;	/* close frame queued */
	int			 peer_closed;	/* no close to await */
	int			 pong;		/* a ping awaits its pong */
	uint8_t			 pongbuf[WS_CONTROL_MAX];
	size_t			 ponglen;
};

static void	wsconn_read(struct conn *);
static int	wsconn_reply(struct conn *, const char *);
static int	wsconn_send(struct conn *, const void *, size_t);
static void	wsconn_close(struct conn *, int);

/*
 * A send takes at most WSCONN_READ bytes, so that after one the reserve
 * is still free and the client's own pings are read.
 */
static const struct conn_ops wsconn_ops = {
	wsconn_read, wsconn_reply, wsconn_send, WSCONN_READ, wsconn_close
};

int
wsconn_new(struct conn *c)
{
	if ((c->ws = calloc(1, sizeof *c->ws)) == NULL ||
	    (c->ws->http = calloc(1, sizeof *c->ws->http)) == NULL) {
		free(c->ws);
		c->ws = NULL;
		return (-1);
	}
	c->ops = &wsconn_ops;
	pump_init_buf(&c->out, PUMP_BUF + WSCONN_RESERVE);
	return (0);
}

void
wsconn_free(struct conn *c)
{
	if (c->ws == NULL)
		return;
	free(c->ws->http);
	free(c->ws);
	c->ws = NULL;
}

int
wsconn_can_read(struct conn *c)
{
	return (c->out.max - c->out.len >= WSCONN_RESERVE);
}

/* Queue one frame; it must fit whole. Returns 0, or -1 with errno. */
static int
wsconn_frame(struct conn *c, int opcode, const void *buf, size_t len)
{
	uint8_t	 hdr[WS_HEADER_MAX];
	size_t	 hlen = ws_header(hdr, opcode, len);

	if (c->out.len + hlen + len > c->out.max) {
		errno = ENOBUFS;
		return (-1);
	}
	if (pump_put(&c->out, hdr, hlen) == -1 ||
	    pump_put(&c->out, buf, len) == -1)
		return (-1);
	return (0);
}

static int
wsconn_send(struct conn *c, const void *buf, size_t len)
{
	return (wsconn_frame(c, WS_OP_BINARY, buf, len));
}

static int
wsconn_reply(struct conn *c, const char *line)
{
	return (wsconn_send(c, line, strlen(line)));
}

/* Queue the close frame, once; it always fits in the reserve. */
static void
wsconn_goodbye(struct conn *c, uint16_t code)
{
	uint8_t	 frame[4];

	if (c->ws->closed || c->ws->http != NULL)
		return;
	c->ws->closed = 1;
	(void)pump_put(&c->out, frame, ws_close_frame(frame, code));
}

/* The relay ends c (its partner left, a bad handshake...). */
static void
wsconn_close(struct conn *c, int toobig)
{
	wsconn_goodbye(c, toobig ? WS_CLOSE_TOO_BIG : WS_CLOSE_NORMAL);
}

/*
 * c ends with a close frame of code: the client's own close answered,
 * or (failed) its protocol error, which makes an unpaired client errory.
 */
static void
wsconn_end(struct conn *c, uint16_t code, int failed)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;

	wsconn_goodbye(c, code);
	/* The client's close is answered; a broken client is not waited for. */
	c->ws->peer_closed = 1;
	if (failed)
		relay_fail(&c->srv->relay, &c->rc, conn_now(), act, &nact);
	else
		relay_close(&c->srv->relay, &c->rc, conn_now(), act, &nact);
	conn_run(c->srv, act, nact);
	conn_close_soon(c);
}

/* Refuse the Upgrade request with an HTTP status and close. */
static void
wsconn_refuse(struct conn *c, int status)
{
	char	 resp[WSHTTP_RESPONSE_MAX];
	size_t	 len;

	len = wshttp_response(c->ws->http, status, resp);
	free(c->ws->http);
	c->ws->http = NULL;
	c->ws->closed = 1;	/* no WebSocket, so no close frame */
	(void)pump_put(&c->out, resp, len);
	wsconn_end(c, 0, 0);
}

int
wsconn_awaits_close(struct conn *c)
{
	return (c->ws->closed && !c->ws->peer_closed);
}

int
wsconn_linger_read(struct conn *c, uint8_t *buf, size_t len)
{
	struct ws_ev	 ev;
	size_t		 off = 0;

	if (c->ws->peer_closed)
		return (0);
	while (off < len && !c->ws->peer_closed) {
		off += ws_parse(&c->ws->parser, buf + off, len - off, &ev);
		if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_ERROR)
			c->ws->peer_closed = 1;
	}
	return (c->ws->peer_closed);
}

void
wsconn_timeout(struct conn *c)
{
	if (c->ws->http != NULL)
		wsconn_refuse(c, 408);
}

/* Payload from the client: the relay's input before pairing, then relayed. */
static void
wsconn_data(struct conn *c, const struct ws_ev *ev)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;
	double			 now;

	switch (c->rc.state) {
	case RELAY_WAIT_LINE:
	case RELAY_WAIT_PARTNER:
		if (ev->len > 0)
			conn_input(c, (const char *)ev->data, ev->len);
		if (!ev->end || c->rc.state != RELAY_WAIT_LINE ||
		    (c->flags & (CONN_CLOSING | CONN_DEAD)))
			break;
		now = conn_now();
		relay_message_end(&c->srv->relay, &c->rc, now, act, &nact);
		conn_run(c->srv, act, nact);
		while (relay_spares(&c->srv->relay, now, act, &nact))
			conn_run(c->srv, act, nact);
		break;
	case RELAY_PAIRED:
		if (c->peer != NULL && ev->len > 0)
			conn_forward(c, ev->data, ev->len);
		break;
	default:
		break;
	}
}

/* Handle the frames in buf, until c closes. */
static void
wsconn_frames(struct conn *c, uint8_t *buf, size_t len)
{
	struct wsconn	*ws = c->ws;
	struct ws_ev	 ev;
	size_t		 off = 0;

	while (off < len && !(c->flags & (CONN_CLOSING | CONN_DEAD))) {
		off += ws_parse(&ws->parser, buf + off, len - off, &ev);
		switch (ev.type) {
		case WS_EV_DATA:
			wsconn_data(c, &ev);
			break;
		case WS_EV_PING:
			/* Only the latest ping of a read needs its pong (5.5.3). */
			memcpy(ws->pongbuf, ev.data, ev.len);
			ws->ponglen = ev.len;
			ws->pong = 1;
			break;
		case WS_EV_CLOSE:
			wsconn_end(c, ev.code == WS_CLOSE_NO_STATUS ?
			    WS_CLOSE_NORMAL : ev.code, 0);
			return;
		case WS_EV_ERROR:
			wsconn_end(c, ev.code, 1);
			return;
		default:
			break;
		}
	}
	if (!(c->flags & (CONN_CLOSING | CONN_DEAD)) && ws->pong) {
		ws->pong = 0;
		if (wsconn_frame(c, WS_OP_PONG, ws->pongbuf, ws->ponglen) == 0)
			conn_flush(c);
	}
}

/* The Upgrade request is complete: answer 101. Returns 0, or -1. */
static int
wsconn_upgraded(struct conn *c)
{
	char	 resp[WSHTTP_RESPONSE_MAX];
	size_t	 len;

	if ((len = wshttp_response(c->ws->http, 101, resp)) == 0) {
		log_msg("connection %llu: cannot compute the WebSocket "
		    "accept key", (unsigned long long)c->rc.id);
		wsconn_refuse(c, 503);
		return (-1);
	}
	free(c->ws->http);
	c->ws->http = NULL;
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (pump_put(&c->out, resp, len) == -1) {
		conn_ended(c);
		return (-1);
	}
	return (conn_flush(c));
}

static void
wsconn_read(struct conn *c)
{
	uint8_t		 buf[WSCONN_READ];
	size_t		 off = 0, n;
	int		 rv;

	/* Paired, the peer must have room for what one read brings. */
	if (c->rc.state == RELAY_PAIRED &&
	    (c->peer == NULL || c->peer->out.len > 0)) {
		conn_update(c);
		return;
	}
	if ((n = conn_recv(c, buf, sizeof buf)) == 0)
		return;
	if (c->ws->http != NULL) {
		rv = wshttp_parse(c->ws->http, (char *)buf, n);
		if (rv == WSHTTP_PARTIAL)
			return;
		if (rv == WSHTTP_FAIL) {
			wsconn_refuse(c, c->ws->http->status);
			return;
		}
		if (wsconn_upgraded(c) == -1)
			return;
		off = rv;
	}
	wsconn_frames(c, buf + off, n - off);
	if (!(c->flags & CONN_DEAD))
		conn_update(c);
}
