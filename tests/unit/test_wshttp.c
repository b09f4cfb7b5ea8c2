/*
 * test_wshttp.c: the WebSocket opening handshake, wshttp_parse(),
 * wshttp_response() and wshttp_accept(), against the behaviour contract
 * (Upgrade request) and RFC 6455 section 4.2. Every request is fed
 * whole, byte by byte and split at every point into two calls, each
 * piece an exact-size heap copy so that ASan catches over-reads, and
 * must be decided at the same byte each time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wshttp.h"

/* A literal with its length, so that it may hold NUL bytes. */
#define L(s)	s, sizeof(s) - 1

/* The opening handshake of RFC 6455 section 1.3. */
#define RFCKEY	"dGhlIHNhbXBsZSBub25jZQ=="
#define RFCACC	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define RL	"GET /chat HTTP/1.1\r\n"
#define HOST	"Host: server.example.com\r\n"
#define UPG	"Upgrade: websocket\r\n"
#define CONN	"Connection: Upgrade\r\n"
#define KEY	"Sec-WebSocket-Key: " RFCKEY "\r\n"
#define VER	"Sec-WebSocket-Version: 13\r\n"
#define RFCREQ	RL HOST UPG CONN KEY \
		"Origin: http://example.com\r\n" \
		"Sec-WebSocket-Protocol: chat, superchat\r\n" \
		VER "\r\n"
/* The fields a request needs, and a whole minimal request. */
#define FIELDS	HOST UPG CONN KEY VER
#define REQ	RL FIELDS "\r\n"

/* The 101 response to the RFC request, without and with transit_relay. */
#define RESP101	"HTTP/1.1 101 Switching Protocols\r\n" \
		"Upgrade: websocket\r\n" \
		"Connection: Upgrade\r\n" \
		"Sec-WebSocket-Accept: " RFCACC "\r\n"
#define RESPSUB	"Sec-WebSocket-Protocol: transit_relay\r\n"

struct rcase {
	const char	*s;
	size_t		 n;
	int		 status;	/* 101, 0 (partial) or the refusal */
	const char	*at;	/* decided once this has arrived (NULL: all) */
	int		 subprotocol;	/* 101: transit_relay was offered */
};

/* Accepted requests; "at" marks their end when more follows. */
static const struct rcase good[] = {
	{ L(RFCREQ), 101, NULL, 0 },
	{ L(REQ), 101, NULL, 0 },
	/* Bytes after the blank line are WebSocket frames. */
	{ L(REQ "\x82\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 101,
	    "\r\n\r\n", 0 },
	{ L(RFCREQ "GET / HTTP/1.1\r\n\r\n"), 101, "\r\n\r\n", 0 },
	/* Header names in any case. */
	{ L(RL "HOST: x\r\nupgrade: websocket\r\nCONNECTION: upgrade\r\n"
	    "sec-websocket-key: " RFCKEY "\r\nSEC-WEBSOCKET-VERSION: 13\r\n"
	    "\r\n"), 101, NULL, 0 },
	{ L(RL "hOsT: x\r\nUpGrAdE: websocket\r\nconnection: Upgrade\r\n"
	    "Sec-Websocket-Key: " RFCKEY "\r\nsec-websocket-version: 13\r\n"
	    "\r\n"), 101, NULL, 0 },
	/* Token lists and case in Connection and Upgrade. */
	{ L(RL HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER "\r\n"),
	    101, NULL, 0 },
	{ L(RL HOST UPG "Connection: Upgrade, keep-alive\r\n" KEY VER "\r\n"),
	    101, NULL, 0 },
	{ L(RL HOST UPG "Connection: keep-alive,upgrade\r\n" KEY VER "\r\n"),
	    101, NULL, 0 },
	{ L(RL HOST UPG "Connection: close , UPGRADE ,x\r\n" KEY VER "\r\n"),
	    101, NULL, 0 },
	{ L(RL HOST "Upgrade: WebSocket\r\n" CONN KEY VER "\r\n"), 101, NULL,
	    0 },
	{ L(RL HOST "Upgrade: WEBSOCKET\r\n" CONN KEY VER "\r\n"), 101, NULL,
	    0 },
	{ L(RL HOST "Upgrade: h2c, websocket\r\n" CONN KEY VER "\r\n"), 101,
	    NULL, 0 },
	/* Whitespace around values. */
	{ L(RL "Host:x\r\nUpgrade:\twebsocket \r\nConnection:Upgrade\t\r\n"
	    "Sec-WebSocket-Key: \t" RFCKEY " \t\r\n"
	    "Sec-WebSocket-Version:13  \r\n\r\n"), 101, NULL, 0 },
	/* Any order; other fields ignored. */
	{ L(RL VER KEY "User-Agent: test/1.0\r\n" CONN UPG HOST
	    "Origin: null\r\nX-Empty:\r\n\r\n"), 101, NULL, 0 },
	{ L(RL FIELDS "Content-Length: 0\r\n\r\n"), 101, NULL, 0 },
	{ L("GET / HTTP/1.1\r\n" FIELDS "\r\n"), 101, NULL, 0 },
	{ L("GET /v1?a=b&c=%20 HTTP/1.1\r\n" FIELDS "\r\n"), 101, NULL, 0 },
	{ L("GET ws://relay.example:4002/v1 HTTP/1.1\r\n" FIELDS "\r\n"), 101,
	    NULL, 0 },
	/* Field values may hold obs-text. */
	{ L(RL FIELDS "X-Latin1: caf\xe9\r\n\r\n"), 101, NULL, 0 },
	/* The transit_relay subprotocol, exactly. */
	{ L(RL FIELDS "Sec-WebSocket-Protocol: transit_relay\r\n\r\n"), 101,
	    NULL, 1 },
	{ L(RL FIELDS "Sec-WebSocket-Protocol: chat, transit_relay\r\n\r\n"),
	    101, NULL, 1 },
	{ L(RL FIELDS "Sec-WebSocket-Protocol: chat\r\n"
	    "sec-websocket-protocol: transit_relay, x\r\n\r\n"), 101, NULL,
	    1 },
	{ L(RL FIELDS "Sec-WebSocket-Protocol: Transit_Relay\r\n\r\n"), 101,
	    NULL, 0 },
	{ L(RL FIELDS "Sec-WebSocket-Protocol: transit_relay_v2\r\n\r\n"), 101,
	    NULL, 0 },
	{ L(RL FIELDS "Sec-WebSocket-Protocol: transit\r\n\r\n"), 101, NULL,
	    0 },
	/* Not complete yet. */
	{ L(RL FIELDS "\r"), 0, NULL, 0 },
	{ L(RL FIELDS), 0, NULL, 0 },
	{ L("GET"), 0, NULL, 0 },
	{ L("\r"), 0, NULL, 0 },
};

/* Refused requests: each at its first bad line, or at the blank line. */
static const struct rcase bad[] = {
	/* Bare LF line endings. */
	{ L("GET /chat HTTP/1.1\n" FIELDS "\r\n"), 400, "HTTP/1.1\n", 0 },
	{ L(RL "Host: x\n" UPG CONN KEY VER "\r\n"), 400, "Host: x\n", 0 },
	{ L(RL FIELDS "\n"), 400, NULL, 0 },
	{ L("\n"), 400, NULL, 0 },
	/* Controls inside a line: CR, NUL, DEL and others. */
	{ L(RL "Host: a\rb\r\n" UPG CONN KEY VER "\r\n"), 400, "b\r\n", 0 },
	{ L(RL "Host: x\r\r\n" UPG CONN KEY VER "\r\n"), 400, "\r\r\n", 0 },
	{ L(RL FIELDS "X-A: a\0zz\r\n\r\n"), 400, "zz\r\n", 0 },
	{ L(RL FIELDS "X-\0zz: a\r\n\r\n"), 400, "zz: a\r\n", 0 },
	{ L("GET /c\0zz HTTP/1.1\r\n" FIELDS "\r\n"), 400, "HTTP/1.1\r\n", 0 },
	{ L(RL FIELDS "X-A: a\x7fzz\r\n\r\n"), 400, "zz\r\n", 0 },
	{ L(RL FIELDS "X-A: a\x01zz\r\n\r\n"), 400, "zz\r\n", 0 },
	{ L(RL FIELDS "\r\r\n"), 400, NULL, 0 },
	/* Line folding. */
	{ L(RL "X-A: a\r\n b\r\n" FIELDS "\r\n"), 400, " b\r\n", 0 },
	{ L(RL "X-A: a\r\n\tb\r\n" FIELDS "\r\n"), 400, "\tb\r\n", 0 },
	{ L(RL FIELDS " \r\n\r\n"), 400, " \r\n", 0 },
	/* Malformed field lines. */
	{ L(RL "Host : x\r\n" UPG CONN KEY VER "\r\n"), 400, "Host : x\r\n",
	    0 },
	{ L(RL "Host\t: x\r\n" UPG CONN KEY VER "\r\n"), 400, "x\r\n", 0 },
	{ L(RL FIELDS "Sec-WebSocket-Version : 13\r\n\r\n"), 400, " : 13\r\n",
	    0 },
	{ L(RL "Host x\r\n" UPG CONN KEY VER "\r\n"), 400, "Host x\r\n", 0 },
	{ L(RL FIELDS ": x\r\n\r\n"), 400, ": x\r\n", 0 },
	{ L(RL FIELDS "X(A): x\r\n\r\n"), 400, "X(A): x\r\n", 0 },
	{ L(RL FIELDS "X\xe9: x\r\n\r\n"), 400, ": x\r\n", 0 },
	{ L(RL FIELDS "X-A\r\n\r\n"), 400, "X-A\r\n", 0 },
	/* Duplicates of fields that must appear once; an empty Host. */
	{ L(RL HOST UPG "Host: other\r\n" CONN KEY VER "\r\n"), 400,
	    "other\r\n", 0 },
	{ L(RL HOST UPG "host: server.example.com\r\n" CONN KEY VER "\r\n"),
	    400, "host: server.example.com\r\n", 0 },
	{ L(RL FIELDS KEY "\r\n"), 400, VER KEY, 0 },
	{ L(RL FIELDS "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"),
	    400, "Dw==\r\n", 0 },
	{ L(RL FIELDS VER "\r\n"), 400, VER VER, 0 },
	{ L(RL FIELDS "Sec-WebSocket-Version: 8\r\n\r\n"), 400, ": 8\r\n", 0 },
	{ L(RL "Host:\r\n" UPG CONN KEY VER "\r\n"), 400, "Host:\r\n", 0 },
	{ L(RL "Host:  \t\r\n" UPG CONN KEY VER "\r\n"), 400, "\t\r\n", 0 },
	/* Bad keys: length, characters, padding. */
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n"
	    VER "\r\n"), 400, "Q=\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n"
	    VER "\r\n"), 400, "Q===\r\n", 0 },
	{ L(RL HOST UPG CONN
	    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
	    VER "\r\n"), 400, "A=\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"
	    VER "\r\n"), 400, "A\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n"
	    VER "\r\n"), 400, "QAA\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ*==\r\n"
	    VER "\r\n"), 400, "*==\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ_==\r\n"
	    VER "\r\n"), 400, "_==\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ-==\r\n"
	    VER "\r\n"), 400, "-==\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbX=sZSBub25jZQ==\r\n"
	    VER "\r\n"), 400, "Q==\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBu b25jZQ==\r\n"
	    VER "\r\n"), 400, "Q==\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=A\r\n"
	    VER "\r\n"), 400, "=A\r\n", 0 },
	{ L(RL HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER "\r\n"), 400,
	    "Key:\r\n", 0 },
	/* A body. */
	{ L(RL FIELDS "Content-Length: 5\r\n\r\nhello"), 400, "5\r\n", 0 },
	{ L(RL "Content-Length: 1\r\n" FIELDS "\r\n"), 400, "Length: 1\r\n",
	    0 },
	{ L(RL FIELDS "Content-Length: x\r\n\r\n"), 400, "x\r\n", 0 },
	{ L(RL FIELDS "Content-Length: -0\r\n\r\n"), 400, "-0\r\n", 0 },
	{ L(RL FIELDS "Content-Length:\r\n\r\n"), 400, "Length:\r\n", 0 },
	{ L(RL FIELDS "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400,
	    "chunked\r\n", 0 },
	{ L(RL "transfer-encoding: identity\r\n" FIELDS "\r\n"), 400,
	    "identity\r\n", 0 },
	/* The request line. */
	{ L("GET /chat HTTP/1.0\r\n" FIELDS "\r\n"), 505, "1.0\r\n", 0 },
	{ L("GET /chat HTTP/2.0\r\n" FIELDS "\r\n"), 505, "2.0\r\n", 0 },
	{ L("GET /chat HTTP/0.9\r\n" FIELDS "\r\n"), 505, "0.9\r\n", 0 },
	{ L("POST /chat HTTP/1.1\r\n" FIELDS "\r\n"), 405, "1.1\r\n", 0 },
	{ L("HEAD /chat HTTP/1.1\r\n" FIELDS "\r\n"), 405, "1.1\r\n", 0 },
	{ L("get /chat HTTP/1.1\r\n" FIELDS "\r\n"), 405, "1.1\r\n", 0 },
	{ L("CONNECT x:1 HTTP/1.1\r\n" FIELDS "\r\n"), 405, "1.1\r\n", 0 },
	{ L("GET /chat\r\n" FIELDS "\r\n"), 400, "chat\r\n", 0 },
	{ L("GET\r\n" FIELDS "\r\n"), 400, "GET\r\n", 0 },
	{ L("GET  /chat HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("GET /chat  HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L(" GET /chat HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("GET /chat HTTP/1.1 \r\n" FIELDS "\r\n"), 400, "1.1 \r\n", 0 },
	{ L("GET /chat HTTP/1.1 x\r\n" FIELDS "\r\n"), 400, "1.1 x\r\n", 0 },
	{ L("GET /chat http/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("GET /chat HTTP/11\r\n" FIELDS "\r\n"), 400, "11\r\n", 0 },
	{ L("GET /chat HTTP/1.10\r\n" FIELDS "\r\n"), 400, "10\r\n", 0 },
	{ L("GET /chat HTTP/a.b\r\n" FIELDS "\r\n"), 400, "a.b\r\n", 0 },
	{ L("GET /a\tb HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("GET /caf\xe9 HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("G(T /chat HTTP/1.1\r\n" FIELDS "\r\n"), 400, "1.1\r\n", 0 },
	{ L("\r\n" REQ), 400, "\r\n", 0 },
	{ L("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"), 400, NULL,
	    0 },
	{ L("please relay 0123456789abcdef\r\n"), 400, NULL, 0 },
	/* Missing fields, in the order they are checked at the end. */
	{ L(RL UPG CONN KEY VER "\r\n"), 400, NULL, 0 },
	{ L(RL HOST CONN KEY VER "\r\n"), 426, NULL, 0 },
	{ L("GET / HTTP/1.1\r\nHost: example.com\r\n"
	    "Accept: text/html\r\n\r\n"), 426, NULL, 0 },
	{ L(RL HOST "Upgrade: h2c\r\n" CONN KEY VER "\r\n"), 426, NULL, 0 },
	{ L(RL HOST "Upgrade: websocket2\r\n" CONN KEY VER "\r\n"), 426, NULL,
	    0 },
	{ L(RL HOST "Upgrade: web socket\r\n" CONN KEY VER "\r\n"), 426, NULL,
	    0 },
	{ L(RL HOST UPG KEY VER "\r\n"), 400, NULL, 0 },
	{ L(RL HOST UPG "Connection: keep-alive\r\n" KEY VER "\r\n"), 400,
	    NULL, 0 },
	{ L(RL HOST UPG "Connection: Upgrade-Insecure\r\n" KEY VER "\r\n"),
	    400, NULL, 0 },
	{ L(RL HOST UPG CONN KEY "\r\n"), 400, NULL, 0 },
	{ L(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n\r\n"), 426,
	    NULL, 0 },
	{ L(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 14\r\n\r\n"), 426,
	    NULL, 0 },
	{ L(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n"), 426,
	    NULL, 0 },
	{ L(RL HOST UPG CONN KEY "Sec-WebSocket-Version: 013\r\n\r\n"), 426,
	    NULL, 0 },
	{ L(RL HOST UPG CONN VER "\r\n"), 400, NULL, 0 },
};

/* Where in s (n bytes) the first at ends; n + 1 if it does not occur. */
static size_t
find_end(const char *s, size_t n, const char *at)
{
	size_t	 alen = strlen(at), i;

	for (i = 0; i + alen <= n; i++)
		if (memcmp(s + i, at, alen) == 0)
			return (i + alen);
	return (n + 1);
}

/*
 * Feed s in a first call of first bytes, then calls of step bytes, each
 * from an exact heap copy. Until byte decide the result is partial;
 * the call with it returns the bytes of it up to decide (101) or
 * WSHTTP_FAIL; later calls return 0 or WSHTTP_FAIL again.
 */
static void
feed(const char *s, size_t n, int status, size_t decide, int subprotocol,
    const char *key, size_t first, size_t step)
{
	struct wshttp	 h;
	size_t		 pos, k;
	char		*b;
	int		 got, want;

	memset(&h, 0, sizeof h);
	for (pos = 0; pos < n; pos += k) {
		k = pos == 0 ? first : step;
		if (k > n - pos)
			k = n - pos;
		b = malloc(k);
		assert_non_null(b);
		memcpy(b, s + pos, k);
		got = wshttp_parse(&h, b, k);
		free(b);
		if (pos + k < decide)
			want = WSHTTP_PARTIAL;
		else if (status != 101)
			want = WSHTTP_FAIL;
		else if (pos < decide)
			want = (int)(decide - pos);
		else
			want = 0;
		if (got != want)
			fail_msg("first %zu step %zu at %zu len %zu: got %d, "
			    "want %d", first, step, pos, k, got, want);
	}
	if (decide > n) {
		assert_int_equal(h.status, 0);
		return;
	}
	assert_int_equal(h.status, status);
	if (status == 101) {
		assert_string_equal(h.key, key);
		assert_int_equal(h.subprotocol, subprotocol);
	}
	/* The result is final. */
	want = status == 101 ? 0 : WSHTTP_FAIL;
	assert_int_equal(wshttp_parse(&h, L(REQ)), want);
	assert_int_equal(wshttp_parse(&h, L("\n")), want);
	assert_int_equal(wshttp_parse(&h, "", 0), want);
	assert_int_equal(h.status, status);
	if (status == 101)
		assert_string_equal(h.key, key);
}

/* Feed s whole, byte by byte and split at every point into two calls. */
static void
feed_all(const char *s, size_t n, int status, size_t decide,
    int subprotocol, const char *key)
{
	size_t	 i;

	feed(s, n, status, decide, subprotocol, key, n, n);
	feed(s, n, status, decide, subprotocol, key, 1, 1);
	for (i = 1; i < n; i++)
		feed(s, n, status, decide, subprotocol, key, i, n);
}

/* Feed a case of the tables. */
static void
feed_case(const struct rcase *c)
{
	size_t	 decide;

	if (c->status == 0)
		decide = c->n + 1;
	else if (c->at == NULL)
		decide = c->n;
	else {
		decide = find_end(c->s, c->n, c->at);
		assert_true(decide <= c->n);
	}
	feed_all(c->s, c->n, c->status, decide, c->subprotocol, RFCKEY);
}

/* Good requests are accepted with their key, for any split. */
static void
test_good(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		feed_case(&good[i]);
}

/* Bad requests are refused with their status at their first bad line. */
static void
test_bad(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		feed_case(&bad[i]);
}

/* The request of RFC 6455 1.3, in one call: its length and its key. */
static void
test_rfc_request(void **state)
{
	static const char	 s[] = RFCREQ "\x82\x80\0\0\0\0";
	struct wshttp		 h;

	(void)state;
	memset(&h, 0, sizeof h);
	assert_int_equal(wshttp_parse(&h, s, sizeof s - 1),
	    (int)sizeof(RFCREQ) - 1);
	assert_int_equal(h.status, 101);
	assert_string_equal(h.key, RFCKEY);
	assert_int_equal(h.subprotocol, 0);
}

/*
 * Build a request: RL, nfields - 5 fields X-F5..., a field of pad bytes
 * (if pad > 0), FIELDS and the blank line. Returns its length.
 */
static size_t
build(char **out, unsigned nfields, size_t pad)
{
	char		*s;
	size_t		 n = 0, cap;
	unsigned	 i;

	cap = sizeof(RL FIELDS) + nfields * 16 + pad + 16;
	s = malloc(cap);
	assert_non_null(s);
	memcpy(s, RL, sizeof RL - 1);
	n = sizeof RL - 1;
	for (i = 5; i < nfields; i++)
		n += (size_t)snprintf(s + n, cap - n, "X-F%u: %u\r\n", i, i);
	if (pad > 0) {
		memcpy(s + n, "X-Pad: ", 7);
		n += 7;
		memset(s + n, 'p', pad);
		n += pad;
		memcpy(s + n, "\r\n", 2);
		n += 2;
	}
	memcpy(s + n, FIELDS "\r\n", sizeof(FIELDS "\r\n") - 1);
	n += sizeof(FIELDS "\r\n") - 1;
	assert_true(n <= cap);
	*out = s;
	return (n);
}

/* 8192 bytes up to the blank line are accepted, 8193 refused (431). */
static void
test_size(void **state)
{
	char	*s, *t;
	size_t	 n, base;

	(void)state;
	base = build(&s, 5, 1) - 1;
	free(s);

	n = build(&s, 5, WSHTTP_MAX - base);
	assert_int_equal(n, WSHTTP_MAX);
	feed_all(s, n, 101, n, 0, RFCKEY);
	/* Frames after it do not count. */
	t = malloc(n + 6);
	assert_non_null(t);
	memcpy(t, s, n);
	memcpy(t + n, "\x82\x80\0\0\0\0", 6);
	feed_all(t, n + 6, 101, n, 0, RFCKEY);
	free(t);
	/* Less the last byte: not yet complete. */
	feed_all(s, n - 1, 0, n, 0, RFCKEY);
	free(s);

	/* One byte more: refused at byte 8193, its final LF. */
	n = build(&s, 5, WSHTTP_MAX - base + 1);
	assert_int_equal(n, WSHTTP_MAX + 1);
	feed_all(s, n, 431, WSHTTP_MAX + 1, 0, NULL);
	free(s);

	/* Refused at byte 8193 whatever it is; 8192 are still partial. */
	n = build(&s, 5, WSHTTP_MAX);
	feed_all(s, n, 431, WSHTTP_MAX + 1, 0, NULL);
	s[WSHTTP_MAX] = '\0';
	s[WSHTTP_MAX - 1] = '\r';
	feed_all(s, WSHTTP_MAX, 0, WSHTTP_MAX + 1, 0, NULL);
	free(s);

	/* One line that never ends. */
	s = malloc(WSHTTP_MAX + 100);
	assert_non_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', WSHTTP_MAX + 95);
	feed_all(s, WSHTTP_MAX + 100, 431, WSHTTP_MAX + 1, 0, NULL);
	free(s);
}

/* 64 header fields are accepted, 65 refused (431) at the 65th. */
static void
test_fields(void **state)
{
	char	*s;
	size_t	 n;

	(void)state;
	n = build(&s, WSHTTP_FIELDS_MAX, 0);
	feed_all(s, n, 101, n, 0, RFCKEY);
	free(s);

	/* The 65th field line is the last, VER. */
	n = build(&s, WSHTTP_FIELDS_MAX + 1, 0);
	feed_all(s, n, 431, n - 2, 0, NULL);
	free(s);

	n = build(&s, WSHTTP_FIELDS_MAX + 40, 0);
	feed_all(s, n, 431, find_end(s, n, "X-F69: 69\r\n"), 0, NULL);
	free(s);
}

/* The 101 response, with the accept key and transit_relay if offered. */
static void
test_response_101(void **state)
{
	static const char	 s[] = RL FIELDS
	    "Sec-WebSocket-Protocol: transit_relay\r\n\r\n";
	char			 out[WSHTTP_RESPONSE_MAX];
	struct wshttp		 h;

	(void)state;
	memset(&h, 0, sizeof h);
	assert_int_equal(wshttp_parse(&h, L(RFCREQ)), sizeof(RFCREQ) - 1);
	memset(out, 0xee, sizeof out);
	assert_int_equal(wshttp_response(&h, 101, out),
	    sizeof(RESP101 "\r\n") - 1);
	assert_memory_equal(out, RESP101 "\r\n", sizeof(RESP101 "\r\n") - 1);

	memset(&h, 0, sizeof h);
	assert_int_equal(wshttp_parse(&h, L(s)), sizeof s - 1);
	assert_int_equal(h.subprotocol, 1);
	memset(out, 0xee, sizeof out);
	assert_int_equal(wshttp_response(&h, 101, out),
	    sizeof(RESP101 RESPSUB "\r\n") - 1);
	assert_memory_equal(out, RESP101 RESPSUB "\r\n",
	    sizeof(RESP101 RESPSUB "\r\n") - 1);
}

/* Whether the response r (n bytes) has the header line f. */
static int
has_field(const char *r, size_t n, const char *f)
{
	char	 line[128];

	snprintf(line, sizeof line, "\r\n%s\r\n", f);
	return (find_end(r, n, line) <= n);
}

/*
 * Error responses: the status line, Connection: close, a body of
 * Content-Length bytes, Allow: GET for 405, Upgrade: websocket and
 * Sec-WebSocket-Version: 13 for 426.
 */
static void
test_response_error(void **state)
{
	static const struct {
		int		 status;
		const char	*line;
	} t[] = {
		{ 400, "HTTP/1.1 400 Bad Request\r\n" },
		{ 405, "HTTP/1.1 405 Method Not Allowed\r\n" },
		{ 408, "HTTP/1.1 408 Request Timeout\r\n" },
		{ 426, "HTTP/1.1 426 Upgrade Required\r\n" },
		{ 431, "HTTP/1.1 431 Request Header Fields Too Large\r\n" },
		{ 505, "HTTP/1.1 505 HTTP Version Not Supported\r\n" },
	};
	char		 out[WSHTTP_RESPONSE_MAX + 1], cl[64];
	struct wshttp	 h;
	size_t		 i, n, hend, body;

	(void)state;
	memset(&h, 0, sizeof h);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(out, 0xee, sizeof out);
		n = wshttp_response(&h, t[i].status, out);
		assert_true(n > 0 && n < WSHTTP_RESPONSE_MAX);
		assert_int_equal(out[WSHTTP_RESPONSE_MAX], (char)0xee);
		assert_memory_equal(out, t[i].line, strlen(t[i].line));
		hend = find_end(out, n, "\r\n\r\n");
		assert_true(hend <= n);
		body = n - hend;
		assert_true(body > 0);
		/* A short text body, one line. */
		assert_int_equal(out[n - 1], '\n');
		assert_null(memchr(out + hend, '\r', body));
		snprintf(cl, sizeof cl, "Content-Length: %zu", body);
		assert_true(has_field(out, hend, cl));
		assert_true(has_field(out, hend, "Connection: close"));
		assert_int_equal(has_field(out, hend, "Allow: GET"),
		    t[i].status == 405);
		assert_int_equal(has_field(out, hend,
		    "Sec-WebSocket-Version: 13"), t[i].status == 426);
		assert_int_equal(has_field(out, hend, "Upgrade: websocket"),
		    t[i].status == 426);
		assert_false(has_field(out, hend, "Connection: Upgrade"));
	}

	/* Exactly, for one. */
	n = wshttp_response(&h, 405, out);
	assert_int_equal(n, sizeof("HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Connection: close\r\nAllow: GET\r\n\r\nMethod Not Allowed\n") - 1);
	assert_memory_equal(out, "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 19\r\n"
	    "Connection: close\r\nAllow: GET\r\n\r\nMethod Not Allowed\n", n);
}

/* The response to each refused request of the table is its status's. */
static void
test_response_refused(void **state)
{
	char		 out[WSHTTP_RESPONSE_MAX], line[64];
	struct wshttp	 h;
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&h, 0, sizeof h);
		assert_int_equal(wshttp_parse(&h, bad[i].s, bad[i].n),
		    WSHTTP_FAIL);
		n = wshttp_response(&h, h.status, out);
		assert_true(n > 0 && n < WSHTTP_RESPONSE_MAX);
		snprintf(line, sizeof line, "HTTP/1.1 %d ", bad[i].status);
		assert_memory_equal(out, line, strlen(line));
	}
}

/* Sec-WebSocket-Accept: base64 of SHA-1 of the key and the GUID. */
static void
test_accept(void **state)
{
	static const struct {
		const char	*key;
		const char	*accept;
	} t[] = {
		{ RFCKEY, RFCACC },
		{ "x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" },
		{ "AAAAAAAAAAAAAAAAAAAAAA==", "ICX+Yqv66kxgM0FcWaLWlFLwTAI=" },
	};
	char	 out[29 + 1];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(out, 0xee, sizeof out);
		assert_int_equal(wshttp_accept(t[i].key, out), 0);
		assert_string_equal(out, t[i].accept);
		assert_int_equal(out[29], (char)0xee);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_rfc_request),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_response_101),
		cmocka_unit_test(test_response_error),
		cmocka_unit_test(test_response_refused),
		cmocka_unit_test(test_accept),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
