/*
 * wsconn.c: the WebSocket transport of a connection. Until the Upgrade
 * request is complete the client talks HTTP (wshttp.c); then each
 * binary message's payload is a byte stream for the relay, as TCP bytes
 * are, and what the relay sends goes out as binary messages (ws.c).
 * Everything for the client, frames and HTTP alike, is queued in order
 * in its out buffer; WSCONN_RESERVE bytes of it stay free for the
 * control frames a read may call for. It talks to the connection only
 * through conn.h's functions for transports.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "input.h"
#include "log.h"
#include "pace.h"
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

static int
wsconn_init(struct conn *c)
{
	struct wsconn	*ws;

	if ((ws = calloc(1, sizeof *ws)) == NULL ||
	    (ws->http = calloc(1, sizeof *ws->http)) == NULL) {
		free(ws);
		return (-1);
	}
	c->tp = ws;
	c->rc.ws = 1;		/* the relay's rules for WebSocket lines */
	pump_init_buf(&c->out, PUMP_BUF + WSCONN_RESERVE);
	return (0);
}

/* The client has a while to complete its Upgrade request (pace.h). */
static int
wsconn_upgrading(struct conn *c)
{
	return (((struct wsconn *)c->tp)->http != NULL);
}

static void
wsconn_destroy(struct conn *c)
{
	struct wsconn	*ws = c->tp;

	if (ws == NULL)
		return;
	free(ws->http);
	free(ws);
	c->tp = NULL;
}

static int
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

/*
 * Queue the close frame, once (it always fits in the reserve): code is
 * CONN_BYE_NORMAL, CONN_BYE_TOOBIG or a close code of the client's.
 */
static void
wsconn_goodbye(struct conn *c, int code)
{
	struct wsconn	*ws = c->tp;
	uint8_t		 frame[4];

	if (ws->closed || ws->http != NULL)
		return;
	ws->closed = 1;
	if (code == CONN_BYE_NORMAL)
		code = WS_CLOSE_NORMAL;
	else if (code == CONN_BYE_TOOBIG)
		code = WS_CLOSE_TOO_BIG;
	(void)pump_put(&c->out, frame, ws_close_frame(frame, code));
}

/*
 * c ends with a close frame of code: the client's own close answered,
 * or (failed) its protocol error, which makes an unpaired client errory.
 */
static void
wsconn_end(struct conn *c, uint16_t code, int failed)
{
	/* The client's close is answered; a broken client is not waited for. */
	((struct wsconn *)c->tp)->peer_closed = 1;
	conn_quit(c, failed, code);
}

/* Refuse the Upgrade request with an HTTP status and close. */
static void
wsconn_refuse(struct conn *c, int status)
{
	struct wsconn	*ws = c->tp;
	char		 resp[WSHTTP_RESPONSE_MAX];
	size_t		 len;

	len = wshttp_response(ws->http, status, resp);
	free(ws->http);
	ws->http = NULL;
	ws->closed = 1;		/* no WebSocket, so no close frame */
	(void)pump_put(&c->out, resp, len);
	wsconn_end(c, 0, 0);
}

static int
wsconn_awaits_bye(struct conn *c)
{
	struct wsconn	*ws = c->tp;

	return (ws->closed && !ws->peer_closed);
}

static int
wsconn_linger_read(struct conn *c, uint8_t *buf, size_t len)
{
	struct wsconn	*ws = c->tp;
	struct ws_ev	 ev;
	size_t		 off = 0;

	if (ws->peer_closed)
		return (0);
	while (off < len && !ws->peer_closed) {
		off += ws_parse(&ws->parser, buf + off, len - off, &ev);
		if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_ERROR)
			ws->peer_closed = 1;
	}
	return (ws->peer_closed);
}

static void
wsconn_timeout(struct conn *c)
{
	if (((struct wsconn *)c->tp)->http != NULL)
		wsconn_refuse(c, 408);
}

/* Queue the pong a ping asked for, once there is room for it. */
static void
wsconn_pong(struct conn *c)
{
	struct wsconn	*ws = c->tp;

	if (!ws->pong || !conn_open(c))
		return;
	if (wsconn_frame(c, WS_OP_PONG, ws->pongbuf, ws->ponglen) == -1)
		return;		/* kept for wsconn_wrote */
	ws->pong = 0;
	conn_flush(c);
}

/* Some of the output was written: a pong kept waiting may fit now. */
static void
wsconn_wrote(struct conn *c)
{
	if (((struct wsconn *)c->tp)->pong)
		wsconn_pong(c);
}

/* Handle the frames in buf, until c closes. */
static void
wsconn_frames(struct conn *c, uint8_t *buf, size_t len)
{
	struct wsconn	*ws = c->tp;
	struct ws_ev	 ev;
	size_t		 off = 0;

	while (off < len && conn_open(c)) {
		off += ws_parse(&ws->parser, buf + off, len - off, &ev);
		switch (ev.type) {
		case WS_EV_DATA:
			input_deliver(c, ev.data, ev.len);
			if (ev.end)
				input_message_end(c);
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
	wsconn_pong(c);
}

/* The Upgrade request is complete: answer 101. Returns 0, or -1. */
static int
wsconn_upgraded(struct conn *c)
{
	struct wsconn	*ws = c->tp;
	char		 resp[WSHTTP_RESPONSE_MAX];
	size_t		 len;

	if ((len = wshttp_response(ws->http, 101, resp)) == 0) {
		log_msg("connection %llu: cannot compute the WebSocket "
		    "accept key", (unsigned long long)c->rc.id);
		wsconn_refuse(c, 503);
		return (-1);
	}
	free(ws->http);
	ws->http = NULL;
	pace_arm(c);	/* its handshake's deadline, now without the Upgrade's */
	if (pump_put(&c->out, resp, len) == -1) {
		conn_fail(c);
		return (-1);
	}
	return (conn_flush(c));
}

static void
wsconn_read(struct conn *c)
{
	struct wsconn	*ws = c->tp;
	uint8_t		 buf[WSCONN_READ];
	size_t		 off = 0, n, max = sizeof buf;
	int		 rv, paired = c->life.phase == LIFE_RELAYING;

	/* Paired, the peer must have room for what one read brings. */
	if (paired && (c->peer == NULL || c->peer->out.len > 0 ||
	    (max = pace_reserve(c, max)) == 0)) {
		conn_update(c);
		return;
	}
	n = input_recv(c, buf, max);
	if (paired)
		pace_refund(c, max - n);
	if (n == 0)
		return;
	if (ws->http != NULL) {
		rv = wshttp_parse(ws->http, (char *)buf, n);
		if (rv == WSHTTP_PARTIAL)
			return;
		if (rv == WSHTTP_FAIL) {
			wsconn_refuse(c, ws->http->status);
			return;
		}
		if (wsconn_upgraded(c) == -1)
			return;
		off = rv;
	}
	wsconn_frames(c, buf + off, n - off);
	conn_update(c);
}

/*
 * A send takes at most WSCONN_READ bytes, so that after one the reserve
 * is still free and the client's own pings are read.
 */
const struct transport wsconn_transport = {
	.init = wsconn_init,
	.read = wsconn_read,
	.reply = wsconn_reply,
	.send = wsconn_send,
	.send_max = WSCONN_READ,
	.can_read = wsconn_can_read,
	.goodbye = wsconn_goodbye,
	.awaits_bye = wsconn_awaits_bye,
	.linger_read = wsconn_linger_read,
	.wrote = wsconn_wrote,
	.timeout = wsconn_timeout,
	.upgrading = wsconn_upgrading,
	.destroy = wsconn_destroy,
};
