/*
 * ws.c: RFC 6455 frames from clients, parsed one event at a time, and
 * the few frames a server writes.
 *
 * Written here rather than taken from wslay (libwslay-dev): wslay pulls
 * bytes through I/O callbacks and its event API queues whole messages
 * in malloc'd memory, while the relay must unmask payload in place,
 * hand it on as it arrives and stop reading when the partner is full.
 * What is left is a header state machine of about a hundred lines.
 */
#include <string.h>

#include "ws.h"

enum {
	WS_S_HEADER = 0,	/* reading a frame header into _hdr */
	WS_S_DATA,		/* streaming a data frame's payload */
	WS_S_CONTROL,		/* collecting a control frame's payload */
	WS_S_DONE		/* closed or failed: ignore the rest */
};

static size_t
ws_fail(struct ws_parser *p, struct ws_ev *ev, uint16_t code, size_t used)
{
	p->_state = WS_S_DONE;
	ev->type = WS_EV_ERROR;
	ev->code = code;
	return (used);
}

/* Whether s (len bytes) is well-formed UTF-8 (RFC 3629). */
static int
ws_utf8(const uint8_t *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3, cp = s[i] & 0x07, min = 0x10000;
		} else
			return (0);
		if (i + n >= len)
			return (0);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/* Whether a client may close with code (RFC 6455 section 7.4). */
static int
ws_close_code_ok(uint16_t code)
{
	if (code >= 3000 && code <= 4999)
		return (1);
	return ((code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014));
}

/* A control frame's payload is complete: report it. */
static void
ws_control(struct ws_parser *p, struct ws_ev *ev)
{
	uint16_t	 code;

	p->_state = WS_S_HEADER;
	ev->data = p->_ctl;
	ev->len = p->_clen;
	switch (p->_op) {
	case WS_OP_PING:
		ev->type = WS_EV_PING;
		return;
	case WS_OP_PONG:
		ev->type = WS_EV_PONG;
		return;
	}
	p->_state = WS_S_DONE;
	if (p->_clen == 0) {
		ev->type = WS_EV_CLOSE;
		ev->code = WS_CLOSE_NO_STATUS;
		return;
	}
	code = (uint16_t)(p->_ctl[0] << 8 | p->_ctl[1]);
	ev->type = WS_EV_ERROR;
	if (p->_clen == 1 || !ws_close_code_ok(code))
		ev->code = WS_CLOSE_PROTOCOL;
	else if (!ws_utf8(p->_ctl + 2, p->_clen - 2))
		ev->code = WS_CLOSE_BAD_DATA;
	else {
		ev->type = WS_EV_CLOSE;
		ev->code = code;
		ev->data = p->_ctl + 2;
		ev->len = p->_clen - 2;
	}
}

/*
 * Check the first two header bytes. Returns the whole header's length,
 * or 0 after failing the connection with the close code in *code.
 */
static size_t
ws_header_check(struct ws_parser *p, uint16_t *code)
{
	uint8_t	 b0 = p->_hdr[0], b1 = p->_hdr[1], len7 = b1 & 0x7f;
	*code = WS_CLOSE_PROTOCOL;
	p->_fin = (b0 & 0x80) != 0;
	p->_op = b0 & 0x0f;
	/* No extension was negotiated, and clients must mask (5.2, 5.3). */
	if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0)
		return (0);
	switch (p->_op) {
	case WS_OP_CONT:
		if (!p->_inmsg)
			return (0);
		break;
	case WS_OP_TEXT:
		if (!p->_inmsg)
			*code = WS_CLOSE_UNSUPPORTED;
		return (0);
	case WS_OP_BINARY:
		if (p->_inmsg)
			return (0);
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!p->_fin || len7 > WS_CONTROL_MAX)
			return (0);
		break;
	default:
		return (0);
	}
	return (2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4);
}

/* The header in _hdr (hlen bytes) is complete: set up for the payload. */
static int
ws_header_done(struct ws_parser *p, size_t hlen, struct ws_ev *ev)
{
	uint8_t		 len7 = p->_hdr[1] & 0x7f;
	uint64_t	 len = len7;
	int		 i;

	if (len7 == 126) {
		len = (uint64_t)p->_hdr[2] << 8 | p->_hdr[3];
		if (len < 126)
			return (-1);	/* not the minimal encoding (5.2) */
	} else if (len7 == 127) {
		len = 0;
		for (i = 0; i < 8; i++)
			len = len << 8 | p->_hdr[2 + i];
		if (len >> 63 || len <= 0xffff)
			return (-1);
	}
	memcpy(p->_mask, p->_hdr + hlen - 4, 4);
	p->_mpos = 0;
	p->_left = len;
	p->_hlen = 0;
	if (p->_op & 0x8) {
		p->_clen = 0;
		p->_state = WS_S_CONTROL;
		if (len == 0)
			ws_control(p, ev);
		return (0);
	}
	p->_inmsg = !p->_fin;
	p->_state = WS_S_DATA;
	if (len == 0) {
		p->_state = WS_S_HEADER;
		if (p->_fin) {
			ev->type = WS_EV_DATA;
			ev->data = NULL;
			ev->len = 0;
			ev->end = 1;
		}
	}
	return (0);
}

/*
 * Unmask n bytes at buf in place, continuing the mask at _mpos: eight
 * bytes at a time (the mask repeats every four), which compilers turn
 * into vector code, since this runs over every relayed byte.
 */
static void
ws_unmask(struct ws_parser *p, uint8_t *buf, size_t n)
{
	uint8_t		 m[8];
	uint64_t	 m64, v;
	size_t		 i;

	for (i = 0; i < 8; i++)
		m[i] = p->_mask[(p->_mpos + i) & 3];
	memcpy(&m64, m, 8);
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, buf + i, 8);
		v ^= m64;
		memcpy(buf + i, &v, 8);
	}
	for (; i < n; i++)
		buf[i] ^= m[i & 7];
	p->_mpos = (p->_mpos + n) & 3;
}

size_t
ws_parse(struct ws_parser *p, uint8_t *buf, size_t len, struct ws_ev *ev)
{
	size_t		 i = 0, n, need;
	uint16_t	 code;

	memset(ev, 0, sizeof *ev);
	if (p->_state == WS_S_DONE)
		return (len);
	while (i < len && p->_state == WS_S_HEADER) {
		p->_hdr[p->_hlen++] = buf[i++];
		if (p->_hlen < 2)
			continue;
		if ((need = ws_header_check(p, &code)) == 0)
			return (ws_fail(p, ev, code, i));
		if (p->_hlen < need)
			continue;
		if (ws_header_done(p, need, ev) == -1)
			return (ws_fail(p, ev, WS_CLOSE_PROTOCOL, i));
		if (ev->type != WS_EV_NONE)
			return (i);
	}
	if (i == len)
		return (i);
	n = len - i;
	if (n > p->_left)
		n = (size_t)p->_left;
	if (p->_state == WS_S_CONTROL) {
		memcpy(p->_ctl + p->_clen, buf + i, n);
		ws_unmask(p, p->_ctl + p->_clen, n);
		p->_clen += n;
		p->_left -= n;
		if (p->_left == 0)
			ws_control(p, ev);
		return (i + n);
	}
	ws_unmask(p, buf + i, n);
	p->_left -= n;
	ev->type = WS_EV_DATA;
	ev->data = buf + i;
	ev->len = n;
	if (p->_left == 0) {
		p->_state = WS_S_HEADER;
		ev->end = p->_fin;
	}
	return (i + n);
}

size_t
ws_header(uint8_t *hdr, int opcode, uint64_t len)
{
	int	 i;

	hdr[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		return (2);
	}
	if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		return (4);
	}
	hdr[1] = 127;
	for (i = 0; i < 8; i++)
		hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return (10);
}

size_t
ws_close_frame(uint8_t *frame, uint16_t code)
{
	frame[0] = 0x80 | WS_OP_CLOSE;
	frame[1] = 2;
	frame[2] = (uint8_t)(code >> 8);
	frame[3] = (uint8_t)code;
	return (4);
}
