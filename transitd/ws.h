/*
 * ws.h: RFC 6455 framing, server side (protocol spec, WebSocket flavour).
 * Sans-IO: the parser takes the bytes a client sent and returns one
 * event at a time; payload is unmasked in place and handed out as it
 * arrives, so a message of any size is streamed, never held whole.
 */
#ifndef TRANSITD_WS_H
#define TRANSITD_WS_H

#include <stddef.h>
#include <stdint.h>

/* Close status codes (RFC 6455 section 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_PROTOCOL	1002	/* broken framing */
#define WS_CLOSE_UNSUPPORTED	1003	/* a text message */
#define WS_CLOSE_NO_STATUS	1005	/* close frame without a code */
#define WS_CLOSE_BAD_DATA	1007	/* close reason not UTF-8 */
#define WS_CLOSE_TOO_BIG	1009

#define WS_CONTROL_MAX		125	/* payload of a control frame */
#define WS_HEADER_MAX		10	/* a server frame's header */

#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

enum ws_ev_type {
	WS_EV_NONE = 0,	/* all input consumed, nothing to report */
	WS_EV_DATA,	/* data, len: binary payload, unmasked; end: the
			   message ends with it (len may then be 0) */
	WS_EV_PING,	/* data, len: answer with a pong of it */
	WS_EV_PONG,	/* unsolicited or not: nothing to do */
	WS_EV_CLOSE,	/* the client closes with code (WS_CLOSE_NO_STATUS
			   when it gave none); answer and close */
	WS_EV_ERROR	/* the client broke the protocol: close with code */
};

struct ws_ev {
	enum ws_ev_type	 type;
	uint8_t		*data;	/* WS_EV_DATA: within the caller's buffer */
	size_t		 len;
	int		 end;	/* WS_EV_DATA */
	uint16_t	 code;	/* WS_EV_CLOSE, WS_EV_ERROR */
};

/* Caller-zeroed parser state; fields starting with _ are private. */
struct ws_parser {
	uint8_t		 _state;
	uint8_t		 _hdr[14];	/* the frame header so far */
	uint8_t		 _hlen;		/* bytes of _hdr seen */
	uint8_t		 _op;		/* opcode of the current frame */
	uint8_t		 _fin;
	uint8_t		 _inmsg;	/* a fragmented message is open */
	uint8_t		 _mask[4];
	uint8_t		 _mpos;		/* next mask byte, 0 to 3 */
	uint64_t	 _left;		/* payload bytes still to come */
	uint8_t		 _ctl[WS_CONTROL_MAX];	/* a control payload */
	uint8_t		 _clen;
	uint8_t		 _done;		/* a close or error was returned */
};

/*
 * Parse buf (len bytes the client sent; unmasked in place). Returns the
 * bytes consumed and fills *ev with at most one event; call again with
 * the rest until all is consumed. After WS_EV_CLOSE or WS_EV_ERROR the
 * parser is final: it consumes everything and reports nothing more.
 */
size_t	ws_parse(struct ws_parser *, uint8_t *buf, size_t len,
	    struct ws_ev *ev);

/*
 * Write the header of an unmasked server frame with FIN set into hdr
 * (WS_HEADER_MAX bytes). Returns its length.
 */
size_t	ws_header(uint8_t *hdr, int opcode, uint64_t len);

/*
 * Write a whole close frame with code (no reason) into frame (4 bytes).
 * Returns its length.
 */
size_t	ws_close_frame(uint8_t *frame, uint16_t code);

#endif
