/*
 * wshttp.h: the HTTP/1.1 Upgrade request that opens a WebSocket (RFC
 * 6455 section 4.2), parsed strictly and incrementally, and the response
 * to it. Sans-IO: no allocation, no I/O.
 */
#ifndef TRANSITD_WSHTTP_H
#define TRANSITD_WSHTTP_H

#include <stddef.h>

#define WSHTTP_MAX		8192	/* whole request, blank line included */
#define WSHTTP_FIELDS_MAX	64
#define WSHTTP_KEY_LEN		24	/* base64 of 16 bytes */
#define WSHTTP_RESPONSE_MAX	512

#define WSHTTP_PARTIAL	-2	/* all input consumed, request not complete */
#define WSHTTP_FAIL	-1	/* refuse it: status holds the HTTP status */

/* Caller-zeroed parser state; fields starting with _ are private. */
struct wshttp {
	int		 status;	/* 101 once accepted, or the error */
	char		 key[WSHTTP_KEY_LEN + 1];	/* Sec-WebSocket-Key */
	int		 subprotocol;	/* the client offered transit_relay */
	char		 _line[WSHTTP_MAX];	/* the line being read */
	size_t		 _llen;
	size_t		 _total;	/* bytes of the request so far */
	unsigned	 _nlines;
	unsigned	 _seen;		/* WSHTTP_F_* bits */
};

/*
 * Feed the next len bytes. Returns the bytes of buf that completed the
 * request (status 101; the rest of buf is WebSocket frames),
 * WSHTTP_PARTIAL when all of buf was consumed without completing it, or
 * WSHTTP_FAIL when it must be refused with status. After a result other
 * than WSHTTP_PARTIAL the state is final: further calls return 0 (no
 * byte is the request's any more) after a 101, WSHTTP_FAIL after a
 * refusal.
 */
int	wshttp_parse(struct wshttp *, const char *buf, size_t len);

/*
 * Write the response for status (101 with the accept key of h, or an
 * error page that closes the connection) into out, of WSHTTP_RESPONSE_MAX
 * bytes. Returns its length, or 0 if the accept key cannot be computed.
 */
size_t	wshttp_response(const struct wshttp *h, int status, char *out);

/* Sec-WebSocket-Accept for key into out (29 bytes). Returns 0 or -1. */
int	wshttp_accept(const char *key, char *out);

#endif
