/*
 * test_ws.c: the RFC 6455 frame parser ws_parse() and the server frames
 * of ws_header() and ws_close_frame() against the behaviour contract
 * (Framing). Every parse case is fed whole, byte by byte and split at
 * every point into two calls, each piece an exact-size heap copy so
 * that ASan catches over-reads, and must give the same sequence of
 * events each time: the payload of DATA events concatenated, the ends
 * of messages, control events with their payload, close and error codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ws.h"

/* A literal with its length, so that it may hold NUL bytes. */
#define L(s)	(const uint8_t *)(s), sizeof(s) - 1

/* Frame header bytes: FIN, and the first byte of a final frame of op. */
#define FIN	0x80
#define B_CONT	(FIN | WS_OP_CONT)
#define B_TEXT	(FIN | WS_OP_TEXT)
#define B_BIN	(FIN | WS_OP_BINARY)
#define B_CLOSE	(FIN | WS_OP_CLOSE)
#define B_PING	(FIN | WS_OP_PING)
#define B_PONG	(FIN | WS_OP_PONG)

/* Cases longer than this are split at fewer points (see parse_all). */
#define SPLIT_ALL_MAX	4096

/* The masking key of the examples of RFC 6455 section 5.7. */
static const uint8_t rfcmask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/*
 * An event log: the payload of DATA events as the byte values, the end
 * of a message as LOG_END, other events as LOG_EV | type followed by
 * their code and length where they have one, then their payload.
 */
#define LOG_END	0x100
#define LOG_EV	0x1000

struct evlog {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

/* A growing byte string: the frames of a case. */
struct bytes {
	uint8_t		*b;
	size_t		 n;
	size_t		 cap;
	unsigned	 frames;	/* frames put, to vary the mask */
};

/* Append one value to a log. */
static void
log_put(struct evlog *l, uint32_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 256 : l->cap * 2;
		l->v = realloc(l->v, l->cap * sizeof l->v[0]);
		assert_non_null(l->v);
	}
	l->v[l->n++] = v;
}

/* Append an event (or an expected one) to a log. */
static void
log_ev(struct evlog *l, enum ws_ev_type type, uint16_t code,
    const uint8_t *data, size_t len, int end)
{
	size_t	 i;

	switch (type) {
	case WS_EV_NONE:
		return;
	case WS_EV_DATA:
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		log_put(l, LOG_EV | type);
		log_put(l, (uint32_t)len);
		break;
	case WS_EV_CLOSE:
		log_put(l, LOG_EV | type);
		log_put(l, code);
		log_put(l, (uint32_t)len);
		break;
	case WS_EV_ERROR:
		log_put(l, LOG_EV | type);
		log_put(l, code);
		return;
	}
	for (i = 0; i < len; i++)
		log_put(l, data[i]);
	if (type == WS_EV_DATA && end)
		log_put(l, LOG_END);
}

/* Expect message payload, and the end of the message if end. */
static void
want_data(struct evlog *l, const uint8_t *data, size_t len, int end)
{
	log_ev(l, WS_EV_DATA, 0, data, len, end);
}

/* Expect a ping or pong of payload. */
static void
want_ctl(struct evlog *l, enum ws_ev_type type, const uint8_t *data,
    size_t len)
{
	log_ev(l, type, 0, data, len, 0);
}

/* Expect a close with code and reason. */
static void
want_close(struct evlog *l, uint16_t code, const uint8_t *reason,
    size_t len)
{
	log_ev(l, WS_EV_CLOSE, code, reason, len, 0);
}

/* Expect a protocol error with code. */
static void
want_error(struct evlog *l, uint16_t code)
{
	log_ev(l, WS_EV_ERROR, code, NULL, 0, 0);
}

/* Forget a log's contents. */
static void
log_reset(struct evlog *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Append n bytes to s. */
static void
put(struct bytes *s, const void *p, size_t n)
{
	if (s->n + n > s->cap) {
		while (s->n + n > s->cap)
			s->cap = s->cap == 0 ? 256 : s->cap * 2;
		s->b = realloc(s->b, s->cap);
		assert_non_null(s->b);
	}
	if (n > 0)
		memcpy(s->b + s->n, p, n);
	s->n += n;
}

/* Append one byte to s. */
static void
put1(struct bytes *s, uint8_t c)
{
	put(s, &c, 1);
}

/* Append a masking key, then payload masked with it. */
static void
put_masked(struct bytes *s, const uint8_t mask[4], const void *payload,
    size_t n)
{
	const uint8_t	*p = payload;
	size_t		 i;

	put(s, mask, 4);
	for (i = 0; i < n; i++)
		put1(s, p[i] ^ mask[i & 3]);
}

/*
 * Append a masked client frame with first byte b0 and the minimal
 * length encoding. The mask differs from frame to frame.
 */
static void
put_frame(struct bytes *s, uint8_t b0, const void *payload, size_t n)
{
	uint8_t		 mask[4];
	int		 i;

	for (i = 0; i < 4; i++)
		mask[i] = rfcmask[i] ^ (uint8_t)(s->frames * 0x5b + i);
	s->frames++;
	put1(s, b0);
	if (n < 126)
		put1(s, 0x80 | (uint8_t)n);
	else if (n <= 0xffff) {
		put1(s, 0x80 | 126);
		put1(s, (uint8_t)(n >> 8));
		put1(s, (uint8_t)n);
	} else {
		put1(s, 0x80 | 127);
		for (i = 0; i < 8; i++)
			put1(s, (uint8_t)((uint64_t)n >> (56 - 8 * i)));
	}
	put_masked(s, mask, payload, n);
}

/* Append a masked close frame with code and reason. */
static void
put_close(struct bytes *s, uint16_t code, const void *reason, size_t n)
{
	uint8_t	 p[WS_CONTROL_MAX];

	assert_true(n + 2 <= sizeof p);
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	if (n > 0)
		memcpy(p + 2, reason, n);
	put_frame(s, B_CLOSE, p, n + 2);
}

/* Forget the bytes of s. */
static void
bytes_reset(struct bytes *s)
{
	free(s->b);
	memset(s, 0, sizeof *s);
}

/*
 * Check one event of ws_parse() on b (avail bytes) that consumed used:
 * DATA lies within what was consumed and ends there, controls are
 * short, and after a close or error nothing more is reported.
 */
static void
check_ev(const struct ws_ev *ev, const uint8_t *b, size_t avail, size_t used,
    int final, const char *where)
{
	if (used == 0 || used > avail)
		fail_msg("%s: consumed %zu of %zu", where, used, avail);
	if (final) {
		if (ev->type != WS_EV_NONE || used != avail)
			fail_msg("%s: event %d, consumed %zu of %zu after the "
			    "end", where, ev->type, used, avail);
		return;
	}
	switch (ev->type) {
	case WS_EV_NONE:
		break;
	case WS_EV_DATA:
		if (ev->len == 0) {
			if (!ev->end)
				fail_msg("%s: empty DATA not at the end", where);
		} else if (ev->data < b || ev->data + ev->len != b + used)
			fail_msg("%s: DATA outside what was consumed", where);
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
	case WS_EV_CLOSE:
		if (ev->len > WS_CONTROL_MAX || (ev->len > 0 &&
		    ev->data == NULL))
			fail_msg("%s: control payload of %zu", where, ev->len);
		break;
	case WS_EV_ERROR:
		if (ev->code != WS_CLOSE_PROTOCOL &&
		    ev->code != WS_CLOSE_UNSUPPORTED &&
		    ev->code != WS_CLOSE_BAD_DATA)
			fail_msg("%s: error code %u", where, ev->code);
		break;
	default:
		fail_msg("%s: event type %d", where, ev->type);
	}
}

/*
 * Feed in (n bytes) in a first call of first bytes, then calls of step
 * bytes, each from an exact heap copy, calling again on the rest of a
 * piece until it is consumed; log the events into got.
 */
static void
run(const uint8_t *in, size_t n, size_t first, size_t step,
    struct evlog *got)
{
	struct ws_parser	 p;
	struct ws_ev		 ev;
	uint8_t			*b, dummy = 0;
	size_t			 pos, k, off, used;
	int			 final = 0;
	char			 where[64];

	memset(&p, 0, sizeof p);
	for (pos = 0; pos < n; pos += k) {
		k = pos == 0 ? first : step;
		if (k > n - pos)
			k = n - pos;
		b = malloc(k);
		assert_non_null(b);
		memcpy(b, in + pos, k);
		for (off = 0; off < k; off += used) {
			used = ws_parse(&p, b + off, k - off, &ev);
			snprintf(where, sizeof where, "first %zu step %zu at "
			    "%zu", first, step, pos + off);
			check_ev(&ev, b + off, k - off, used, final, where);
			log_ev(got, ev.type, ev.code, ev.data, ev.len, ev.end);
			if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_ERROR)
				final = 1;
		}
		free(b);
	}
	/* Nothing in, nothing out. */
	assert_int_equal(ws_parse(&p, &dummy, 0, &ev), 0);
	assert_int_equal(ev.type, WS_EV_NONE);
}

/* Compare a log with the expected one. */
static void
log_compare(const struct evlog *got, const struct evlog *want, size_t first,
    size_t step)
{
	size_t	 i;

	for (i = 0; i < got->n && i < want->n; i++)
		if (got->v[i] != want->v[i])
			fail_msg("first %zu step %zu: event log differs at %zu:"
			    " got %#x, want %#x", first, step, i, got->v[i],
			    want->v[i]);
	if (got->n != want->n)
		fail_msg("first %zu step %zu: event log of %zu, want %zu",
		    first, step, got->n, want->n);
}

/* Feed in one way and compare its events with want. */
static void
feed(const uint8_t *in, size_t n, const struct evlog *want, size_t first,
    size_t step)
{
	struct evlog	 got;

	memset(&got, 0, sizeof got);
	run(in, n, first, step, &got);
	log_compare(&got, want, first, step);
	log_reset(&got);
}

/*
 * Feed in whole, byte by byte and split at every point into two calls
 * (past SPLIT_ALL_MAX bytes: at every point of the first and last 64
 * bytes and every 1021st between); each must give the events of want.
 */
static void
parse_all(const uint8_t *in, size_t n, const struct evlog *want)
{
	size_t	 i;

	feed(in, n, want, n, n);
	feed(in, n, want, 1, 1);
	for (i = 1; i < n; i++) {
		if (n > SPLIT_ALL_MAX && i > 64 && i < n - 64 && i % 1021 != 0)
			continue;
		feed(in, n, want, i, n);
	}
}

/* Check a case in s against want, then forget both. */
static void
check_case(struct bytes *s, struct evlog *want)
{
	parse_all(s->b, s->n, want);
	bytes_reset(s);
	log_reset(want);
}

/* A case that must fail with code (whatever it is fed first). */
static void
check_error(struct bytes *s, uint16_t code)
{
	struct evlog	 want;

	memset(&want, 0, sizeof want);
	want_error(&want, code);
	check_case(s, &want);
}

/* RFC 6455 5.7: the unmasked "Hello" is refused, clients must mask. */
static void
test_rfc_unmasked_text(void **state)
{
	struct bytes	 s;

	(void)state;
	memset(&s, 0, sizeof s);
	put(&s, L("\x81\x05\x48\x65\x6c\x6c\x6f"));
	check_error(&s, WS_CLOSE_PROTOCOL);
	/* Binary or not. */
	put(&s, L("\x82\x05\x48\x65\x6c\x6c\x6f"));
	check_error(&s, WS_CLOSE_PROTOCOL);
}

/* RFC 6455 5.7: the masked "Hello" is text (1003); as binary, "Hello". */
static void
test_rfc_masked_text(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put(&s, L("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"));
	check_error(&s, WS_CLOSE_UNSUPPORTED);

	put(&s, L("\x82\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"));
	want_data(&want, L("Hello"), 1);
	check_case(&s, &want);
}

/* RFC 6455 5.7: the fragmented unmasked text is refused; masked, too. */
static void
test_rfc_fragmented(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put(&s, L("\x01\x03\x48\x65\x6c"));
	put(&s, L("\x80\x02\x6c\x6f"));
	check_error(&s, WS_CLOSE_PROTOCOL);

	/* Masked, a text message is still refused. */
	put1(&s, WS_OP_TEXT);
	put1(&s, 0x83);
	put_masked(&s, rfcmask, "Hel", 3);
	put1(&s, B_CONT);
	put1(&s, 0x82);
	put_masked(&s, rfcmask, "lo", 2);
	check_error(&s, WS_CLOSE_UNSUPPORTED);

	/* Masked and binary, it is "Hel" then "lo" and the end. */
	put1(&s, WS_OP_BINARY);
	put1(&s, 0x83);
	put_masked(&s, rfcmask, "Hel", 3);
	put1(&s, B_CONT);
	put1(&s, 0x82);
	put_masked(&s, rfcmask, "lo", 2);
	want_data(&want, L("Hello"), 1);
	check_case(&s, &want);
}

/* RFC 6455 5.7: an unmasked ping is refused, a masked one is a ping. */
static void
test_rfc_ping(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put(&s, L("\x89\x05\x48\x65\x6c\x6c\x6f"));
	check_error(&s, WS_CLOSE_PROTOCOL);

	put(&s, L("\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"));
	want_ctl(&want, WS_EV_PING, L("Hello"));
	check_case(&s, &want);

	/* The masked pong of the RFC, and the unmasked one. */
	put(&s, L("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"));
	want_ctl(&want, WS_EV_PONG, L("Hello"));
	check_case(&s, &want);
	put(&s, L("\x8a\x05\x48\x65\x6c\x6c\x6f"));
	check_error(&s, WS_CLOSE_PROTOCOL);
}

/* Fill n bytes with a pattern that is not periodic in 4. */
static uint8_t *
pattern(size_t n)
{
	uint8_t	*p;
	size_t	 i;

	p = malloc(n);
	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
	return (p);
}

/*
 * An RFC 6455 5.7 binary message of n bytes: the server writes header
 * hdr (hlen bytes) for it; from a client, unmasked, it is refused, and
 * masked (header mhdr) it is its n bytes.
 */
static void
check_rfc_binary(const uint8_t *hdr, size_t hlen, const char *mhdr,
    size_t n)
{
	uint8_t			 out[WS_HEADER_MAX], *p;
	struct bytes		 s;
	struct evlog		 want;

	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	p = pattern(n);

	assert_int_equal(ws_header(out, WS_OP_BINARY, n), hlen);
	assert_memory_equal(out, hdr, hlen);

	put(&s, hdr, hlen);
	put(&s, p, n);
	check_error(&s, WS_CLOSE_PROTOCOL);

	put(&s, mhdr, hlen);
	put_masked(&s, rfcmask, p, n);
	assert_int_equal(s.n, hlen + 4 + n);
	want_data(&want, p, n, 1);
	check_case(&s, &want);
	free(p);
}

/* RFC 6455 5.7: 256 bytes in a binary message, 16-bit length. */
static void
test_rfc_256(void **state)
{
	static const uint8_t	 hdr[] = { 0x82, 0x7e, 0x01, 0x00 };

	(void)state;
	check_rfc_binary(hdr, sizeof hdr, "\x82\xfe\x01\x00", 256);
}

/* RFC 6455 5.7: 64 KiB in a binary message, 64-bit length. */
static void
test_rfc_64k(void **state)
{
	static const uint8_t	 hdr[] = { 0x82, 0x7f, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x01, 0x00, 0x00 };

	(void)state;
	check_rfc_binary(hdr, sizeof hdr,
	    "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00", 65536);
}

/* A fragmented binary message with controls between its fragments. */
static void
test_fragmented_controls(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_frame(&s, WS_OP_BINARY, "Hel", 3);
	put_frame(&s, B_PING, "ping", 4);
	put_frame(&s, WS_OP_CONT, "l", 1);
	put_frame(&s, B_PONG, "", 0);
	put_frame(&s, B_PING, "", 0);
	put_frame(&s, WS_OP_CONT, "", 0);
	put_frame(&s, B_CONT, "o", 1);
	put_frame(&s, B_BIN, "next", 4);
	want_data(&want, L("Hel"), 0);
	want_ctl(&want, WS_EV_PING, L("ping"));
	want_data(&want, L("l"), 0);
	want_ctl(&want, WS_EV_PONG, L(""));
	want_ctl(&want, WS_EV_PING, L(""));
	want_data(&want, L("o"), 1);
	want_data(&want, L("next"), 1);
	check_case(&s, &want);

	/* A close in the middle of a message ends it all. */
	put_frame(&s, WS_OP_BINARY, "Hel", 3);
	put_close(&s, 1000, "", 0);
	put_frame(&s, B_CONT, "lo", 2);
	want_data(&want, L("Hel"), 0);
	want_close(&want, 1000, L(""));
	check_case(&s, &want);
}

/* Frames without payload: empty messages, empty fragments, controls. */
static void
test_zero_length(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_frame(&s, B_BIN, "", 0);
	put_frame(&s, B_BIN, "", 0);
	want_data(&want, L(""), 1);
	want_data(&want, L(""), 1);
	check_case(&s, &want);

	/* Empty fragments, then an empty end. */
	put_frame(&s, WS_OP_BINARY, "", 0);
	put_frame(&s, WS_OP_CONT, "", 0);
	put_frame(&s, B_CONT, "", 0);
	want_data(&want, L(""), 1);
	check_case(&s, &want);

	/* Payload, then an empty end; an empty start, then payload. */
	put_frame(&s, WS_OP_BINARY, "ab", 2);
	put_frame(&s, B_CONT, "", 0);
	put_frame(&s, WS_OP_BINARY, "", 0);
	put_frame(&s, B_CONT, "cd", 2);
	want_data(&want, L("ab"), 1);
	want_data(&want, L("cd"), 1);
	check_case(&s, &want);

	put_frame(&s, B_PING, "", 0);
	put_frame(&s, B_PONG, "", 0);
	put_frame(&s, B_BIN, "x", 1);
	want_ctl(&want, WS_EV_PING, L(""));
	want_ctl(&want, WS_EV_PONG, L(""));
	want_data(&want, L("x"), 1);
	check_case(&s, &want);
}

/* A continuation frame with no message open is refused. */
static void
test_continuation_alone(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_frame(&s, B_CONT, "x", 1);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put_frame(&s, WS_OP_CONT, "", 0);
	check_error(&s, WS_CLOSE_PROTOCOL);

	/* Nor after a message that has ended. */
	put_frame(&s, WS_OP_BINARY, "a", 1);
	put_frame(&s, B_CONT, "b", 1);
	put_frame(&s, B_CONT, "c", 1);
	want_data(&want, L("ab"), 1);
	want_error(&want, WS_CLOSE_PROTOCOL);
	check_case(&s, &want);

	/* Nor after a whole one. */
	put_frame(&s, B_BIN, "a", 1);
	put_frame(&s, WS_OP_CONT, "b", 1);
	want_data(&want, L("a"), 1);
	want_error(&want, WS_CLOSE_PROTOCOL);
	check_case(&s, &want);
}

/* A new data frame while a fragmented message is open is refused. */
static void
test_data_in_message(void **state)
{
	static const uint8_t	 op[] = { B_BIN, WS_OP_BINARY, B_TEXT,
	    WS_OP_TEXT };
	struct bytes		 s;
	struct evlog		 want;
	size_t			 i;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	for (i = 0; i < sizeof op; i++) {
		put_frame(&s, WS_OP_BINARY, "a", 1);
		put_frame(&s, op[i], "b", 1);
		want_data(&want, L("a"), 0);
		want_error(&want, WS_CLOSE_PROTOCOL);
		check_case(&s, &want);
	}
}

/* A text message is refused with 1003, also as a first fragment. */
static void
test_text(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_frame(&s, B_TEXT, "", 0);
	check_error(&s, WS_CLOSE_UNSUPPORTED);
	put_frame(&s, WS_OP_TEXT, "x", 1);
	check_error(&s, WS_CLOSE_UNSUPPORTED);

	/* After a binary message. */
	put_frame(&s, B_BIN, "a", 1);
	put_frame(&s, B_TEXT, "b", 1);
	want_data(&want, L("a"), 1);
	want_error(&want, WS_CLOSE_UNSUPPORTED);
	check_case(&s, &want);
}

/* RSV1, RSV2 and RSV3 must be 0: no extension was negotiated. */
static void
test_rsv(void **state)
{
	static const uint8_t	 op[] = { B_BIN, WS_OP_BINARY, B_PING,
	    B_PONG, B_CLOSE, B_TEXT };
	struct bytes		 s;
	struct evlog		 want;
	size_t			 i, j;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	for (i = 0; i < sizeof op; i++)
		for (j = 0x10; j <= 0x70; j += 0x10) {
			put_frame(&s, op[i] | (uint8_t)j, "", 0);
			check_error(&s, WS_CLOSE_PROTOCOL);
		}
	/* On a continuation. */
	put_frame(&s, WS_OP_BINARY, "a", 1);
	put_frame(&s, B_CONT | 0x40, "b", 1);
	want_data(&want, L("a"), 0);
	want_error(&want, WS_CLOSE_PROTOCOL);
	check_case(&s, &want);
}

/* Opcodes 3 to 7 and 0xB to 0xF are refused, final or not. */
static void
test_opcodes(void **state)
{
	struct bytes	 s;
	struct evlog	 want;
	int		 op;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	for (op = 0; op < 16; op++) {
		if (op < 3 || (op >= 8 && op <= 0xa))
			continue;
		put_frame(&s, FIN | (uint8_t)op, "", 0);
		check_error(&s, WS_CLOSE_PROTOCOL);
		put_frame(&s, (uint8_t)op, "abc", 3);
		check_error(&s, WS_CLOSE_PROTOCOL);
		/* Inside a message too. */
		put_frame(&s, WS_OP_BINARY, "a", 1);
		put_frame(&s, FIN | (uint8_t)op, "", 0);
		want_data(&want, L("a"), 0);
		want_error(&want, WS_CLOSE_PROTOCOL);
		check_case(&s, &want);
	}
}

/* Control frames must be final, with at most 125 bytes of payload. */
static void
test_control_frames(void **state)
{
	static const uint8_t	 op[] = { WS_OP_CLOSE, WS_OP_PING,
	    WS_OP_PONG };
	uint8_t			 p[WS_CONTROL_MAX + 3];
	struct bytes		 s;
	struct evlog		 want;
	size_t			 i;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	memset(p, 'p', sizeof p);
	p[0] = 0x03;	/* a close code of 1000 */
	p[1] = 0xe8;
	for (i = 0; i < sizeof op; i++) {
		/* Without FIN. */
		put_frame(&s, op[i], p, 2);
		check_error(&s, WS_CLOSE_PROTOCOL);
		/* A 16-bit length, even if small, or a 64-bit one. */
		put1(&s, FIN | op[i]);
		put(&s, L("\xfe\x00\x02"));
		put_masked(&s, rfcmask, p, 2);
		check_error(&s, WS_CLOSE_PROTOCOL);
		put_frame(&s, FIN | op[i], p, 126);
		check_error(&s, WS_CLOSE_PROTOCOL);
		put1(&s, FIN | op[i]);
		put(&s, L("\xff\x00\x00\x00\x00\x00\x00\x00\x02"));
		put_masked(&s, rfcmask, p, 2);
		check_error(&s, WS_CLOSE_PROTOCOL);
	}

	/* 125 bytes is the most. */
	put_frame(&s, B_PING, p, WS_CONTROL_MAX);
	put_frame(&s, B_PONG, p, WS_CONTROL_MAX);
	put_frame(&s, B_CLOSE, p, WS_CONTROL_MAX);
	want_ctl(&want, WS_EV_PING, p, WS_CONTROL_MAX);
	want_ctl(&want, WS_EV_PONG, p, WS_CONTROL_MAX);
	want_close(&want, 1000, p + 2, WS_CONTROL_MAX - 2);
	check_case(&s, &want);
}

/* Lengths must use their minimal encoding; 64 bits without the top bit. */
static void
test_lengths(void **state)
{
	uint8_t		*p;
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	p = pattern(65535);

	/* 16 bits for 0 and 125 bytes. */
	put(&s, L("\x82\xfe\x00\x00"));
	put_masked(&s, rfcmask, "", 0);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xfe\x00\x7d"));
	put_masked(&s, rfcmask, p, 125);
	check_error(&s, WS_CLOSE_PROTOCOL);

	/* 64 bits for 0, 125, 126 and 65535 bytes. */
	put(&s, L("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x00"));
	put_masked(&s, rfcmask, "", 0);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x7d"));
	put_masked(&s, rfcmask, p, 125);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x7e"));
	put_masked(&s, rfcmask, p, 126);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff"));
	put_masked(&s, rfcmask, p, 8);
	check_error(&s, WS_CLOSE_PROTOCOL);

	/* The top bit of a 64-bit length. */
	put(&s, L("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"));
	put_masked(&s, rfcmask, p, 8);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff"));
	put_masked(&s, rfcmask, p, 8);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put(&s, L("\x82\xff\x80\x00\x00\x00\x00\x01\x00\x00"));
	put_masked(&s, rfcmask, p, 8);
	check_error(&s, WS_CLOSE_PROTOCOL);

	/* The smallest of each is good: 126 and 65535 in 16 bits. */
	put_frame(&s, B_BIN, p, 126);
	want_data(&want, p, 126, 1);
	check_case(&s, &want);
	put_frame(&s, B_BIN, p, 65535);
	assert_int_equal(s.n, 4 + 4 + 65535);
	want_data(&want, p, 65535, 1);
	check_case(&s, &want);

	/* The largest 64-bit length: streamed as it comes, never ended. */
	put(&s, L("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff"));
	put_masked(&s, rfcmask, p, 300);
	want_data(&want, p, 300, 0);
	check_case(&s, &want);
	free(p);
}

/* A close without payload has no status: 1005; with 1 byte: refused. */
static void
test_close_empty(void **state)
{
	struct bytes	 s;
	struct evlog	 want;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_frame(&s, B_CLOSE, "", 0);
	want_close(&want, WS_CLOSE_NO_STATUS, L(""));
	check_case(&s, &want);

	put_frame(&s, B_CLOSE, "\x03", 1);
	check_error(&s, WS_CLOSE_PROTOCOL);
	put_frame(&s, B_CLOSE, "\xe8", 1);
	check_error(&s, WS_CLOSE_PROTOCOL);
}

/* Close codes a client may send are reported, others refused. */
static void
test_close_codes(void **state)
{
	static const uint16_t	 bad[] = { 0, 1, 999, 1004, 1005, 1006, 1015,
	    1016, 1100, 2000, 2999, 5000, 5001, 65535 };
	static const uint16_t	 good[] = { 1000, 1001, 1002, 1003, 1007, 1008,
	    1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
	struct bytes		 s;
	struct evlog		 want;
	size_t			 i;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put_close(&s, bad[i], "", 0);
		check_error(&s, WS_CLOSE_PROTOCOL);
		put_close(&s, bad[i], "bye", 3);
		check_error(&s, WS_CLOSE_PROTOCOL);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		put_close(&s, good[i], "", 0);
		want_close(&want, good[i], L(""));
		check_case(&s, &want);
		put_close(&s, good[i], "bye", 3);
		want_close(&want, good[i], L("bye"));
		check_case(&s, &want);
	}
}

/* A close reason must be UTF-8: well-formed is reported, else 1007. */
static void
test_close_reason(void **state)
{
	static const struct {
		const uint8_t	*s;
		size_t		 n;
	} good[] = {
		{ L("a") },
		{ L("\xc2\x80") },			/* U+0080 */
		{ L("caf\xc3\xa9") },			/* U+00E9 */
		{ L("\xdf\xbf") },			/* U+07FF */
		{ L("\xe0\xa0\x80") },			/* U+0800 */
		{ L("\xe2\x82\xac") },			/* U+20AC */
		{ L("\xed\x9f\xbf") },			/* U+D7FF */
		{ L("\xee\x80\x80") },			/* U+E000 */
		{ L("\xef\xbf\xbf") },			/* U+FFFF */
		{ L("\xf0\x90\x80\x80") },		/* U+10000 */
		{ L("\xf0\x9f\x98\x80 ok") },		/* U+1F600 */
		{ L("\xf4\x8f\xbf\xbf") },		/* U+10FFFF */
		{ L("\x7f\x01") },
		{ L("\0") },
	}, bad[] = {
		{ L("\xc0\x80") },			/* overlong NUL */
		{ L("\xc0\xaf") },			/* overlong '/' */
		{ L("\xc1\xbf") },
		{ L("\xe0\x80\xaf") },
		{ L("\xe0\x9f\xbf") },			/* overlong U+07FF */
		{ L("\xf0\x80\x80\xaf") },
		{ L("\xf0\x8f\xbf\xbf") },		/* overlong U+FFFF */
		{ L("\xed\xa0\x80") },			/* U+D800 */
		{ L("\xed\xbf\xbf") },			/* U+DFFF */
		{ L("\xed\xa0\xbd\xed\xb8\x80") },	/* a CESU-8 pair */
		{ L("\xf4\x90\x80\x80") },		/* U+110000 */
		{ L("\xf5\x80\x80\x80") },
		{ L("\xf7\xbf\xbf\xbf") },
		{ L("\xf8\x88\x80\x80\x80") },		/* 5 bytes */
		{ L("\xfc\x84\x80\x80\x80\x80") },	/* 6 bytes */
		{ L("\xfe") },
		{ L("\xff") },
		{ L("\xc3") },				/* truncated */
		{ L("ok\xe2\x82") },
		{ L("\xf0\x9f\x98") },
		{ L("\xc3" "a") },
		{ L("\xe2\x82" "a") },
		{ L("\xf0\x9f\x98" "a") },
		{ L("\x80") },				/* lone continuation */
		{ L("a\xbf") },
		{ L("\xc3\xa9\xa9") },
	};
	uint8_t		 r[WS_CONTROL_MAX - 2], cont[WS_CONTROL_MAX];
	struct bytes	 s;
	struct evlog	 want;
	size_t		 i;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	memset(cont, 0x80, sizeof cont);
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		put_close(&s, 1000, good[i].s, good[i].n);
		want_close(&want, 1000, good[i].s, good[i].n);
		check_case(&s, &want);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		put_close(&s, 1000, bad[i].s, bad[i].n);
		check_error(&s, WS_CLOSE_BAD_DATA);
		/* A bad code is a protocol error first. */
		put_close(&s, 1005, bad[i].s, bad[i].n);
		check_error(&s, WS_CLOSE_PROTOCOL);
		/*
		 * After a ping of continuation bytes, so that a check
		 * reading past the reason finds them.
		 */
		put_frame(&s, B_PING, cont, sizeof cont);
		put_close(&s, 1000, bad[i].s, bad[i].n);
		want_ctl(&want, WS_EV_PING, cont, sizeof cont);
		want_error(&want, WS_CLOSE_BAD_DATA);
		check_case(&s, &want);
	}

	/* The longest reason, ending in a 4-byte sequence: good, cut: bad. */
	memset(r, 'r', sizeof r);
	memcpy(r + sizeof r - 4, "\xf0\x9f\x98\x80", 4);
	put_close(&s, 4000, r, sizeof r);
	want_close(&want, 4000, r, sizeof r);
	check_case(&s, &want);
	r[sizeof r - 1] = 'r';
	put_close(&s, 4000, r, sizeof r);
	check_error(&s, WS_CLOSE_BAD_DATA);
}

/* After a close or an error the parser takes everything, says nothing. */
static void
test_final(void **state)
{
	static const uint8_t	 after[] = { 0x82, 0x81, 0, 0, 0, 0, 'x',
	    0x81, 0x05, 0xff, 0xff };
	struct ws_parser	 p;
	struct ws_ev		 ev;
	struct bytes		 s;
	struct evlog		 want;
	uint8_t			*b;
	size_t			 n;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&want, 0, sizeof want);
	put_close(&s, 1000, "", 0);
	put_frame(&s, B_BIN, "data", 4);
	put_frame(&s, B_PING, "ping", 4);
	put(&s, L("\xff\xff\xff"));
	want_close(&want, 1000, L(""));
	check_case(&s, &want);

	put_frame(&s, B_BIN, "a", 1);
	put(&s, L("\x82\x05"));
	put_frame(&s, B_BIN, "data", 4);
	put_frame(&s, B_CLOSE, "", 0);
	want_data(&want, L("a"), 1);
	want_error(&want, WS_CLOSE_PROTOCOL);
	check_case(&s, &want);

	/* Called directly: all consumed, nothing unmasked any more. */
	memset(&p, 0, sizeof p);
	put_frame(&s, B_CLOSE, "", 0);
	n = ws_parse(&p, s.b, s.n, &ev);
	assert_int_equal(n, s.n);
	assert_int_equal(ev.type, WS_EV_CLOSE);
	assert_int_equal(ev.code, WS_CLOSE_NO_STATUS);
	bytes_reset(&s);
	b = malloc(sizeof after);
	assert_non_null(b);
	memcpy(b, after, sizeof after);
	for (n = 0; n <= sizeof after; n++) {
		assert_int_equal(ws_parse(&p, b, n, &ev), n);
		assert_int_equal(ev.type, WS_EV_NONE);
		assert_memory_equal(b, after, sizeof after);
	}
	free(b);
}

/* One call reports one event and consumes no further. */
static void
test_one_event(void **state)
{
	struct ws_parser	 p;
	struct ws_ev		 ev;
	struct bytes		 s;
	size_t			 off, n, one;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&p, 0, sizeof p);
	put_frame(&s, B_PING, "p", 1);
	one = s.n;
	put_frame(&s, B_BIN, "Hello", 5);
	put_frame(&s, B_PONG, "", 0);

	n = ws_parse(&p, s.b, s.n, &ev);
	assert_int_equal(n, one);
	assert_int_equal(ev.type, WS_EV_PING);
	assert_int_equal(ev.len, 1);
	assert_memory_equal(ev.data, "p", 1);
	off = n;

	/* The payload is unmasked in place, just before what is left. */
	n = ws_parse(&p, s.b + off, s.n - off, &ev);
	assert_int_equal(n, 2 + 4 + 5);
	assert_int_equal(ev.type, WS_EV_DATA);
	assert_ptr_equal(ev.data, s.b + off + 6);
	assert_int_equal(ev.len, 5);
	assert_true(ev.end);
	assert_memory_equal(s.b + off + 6, "Hello", 5);
	off += n;

	n = ws_parse(&p, s.b + off, s.n - off, &ev);
	assert_int_equal(n, s.n - off);
	assert_int_equal(ev.type, WS_EV_PONG);
	assert_int_equal(ev.len, 0);
	bytes_reset(&s);

	/* No bytes: nothing consumed, nothing reported. */
	assert_int_equal(ws_parse(&p, (uint8_t *)"", 0, &ev), 0);
	assert_int_equal(ev.type, WS_EV_NONE);
}

/* ws_header writes the minimal header of a final unmasked frame. */
static void
test_header(void **state)
{
	static const struct {
		int		 op;
		uint64_t	 len;
		size_t		 n;
		const char	*hdr;
	} t[] = {
		{ WS_OP_BINARY, 0, 2, "\x82\x00" },
		{ WS_OP_BINARY, 1, 2, "\x82\x01" },
		{ WS_OP_BINARY, 125, 2, "\x82\x7d" },
		{ WS_OP_BINARY, 126, 4, "\x82\x7e\x00\x7e" },
		{ WS_OP_BINARY, 256, 4, "\x82\x7e\x01\x00" },
		{ WS_OP_BINARY, 65535, 4, "\x82\x7e\xff\xff" },
		{ WS_OP_BINARY, 65536, 10,
		    "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" },
		{ WS_OP_BINARY, 4294967296ULL, 10,
		    "\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00" },
		{ WS_OP_BINARY, 0x0123456789abcdefULL, 10,
		    "\x82\x7f\x01\x23\x45\x67\x89\xab\xcd\xef" },
		{ WS_OP_CLOSE, 2, 2, "\x88\x02" },
		{ WS_OP_PING, 0, 2, "\x89\x00" },
		{ WS_OP_PONG, 125, 2, "\x8a\x7d" },
		{ WS_OP_TEXT, 5, 2, "\x81\x05" },
		{ WS_OP_CONT, 70000, 10,
		    "\x80\x7f\x00\x00\x00\x00\x00\x01\x11\x70" },
	};
	uint8_t		 hdr[WS_HEADER_MAX + 1];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(hdr, 0xee, sizeof hdr);
		assert_int_equal(ws_header(hdr, t[i].op, t[i].len), t[i].n);
		assert_memory_equal(hdr, t[i].hdr, t[i].n);
		/* Nothing written past it. */
		assert_int_equal(hdr[t[i].n], 0xee);
	}
}

/* ws_close_frame writes a whole unmasked close frame with the code. */
static void
test_close_frame(void **state)
{
	static const struct {
		uint16_t	 code;
		const char	*frame;
	} t[] = {
		{ 1000, "\x88\x02\x03\xe8" },
		{ 1002, "\x88\x02\x03\xea" },
		{ 1003, "\x88\x02\x03\xeb" },
		{ 1007, "\x88\x02\x03\xef" },
		{ 1009, "\x88\x02\x03\xf1" },
		{ 4999, "\x88\x02\x13\x87" },
	};
	struct ws_parser	 p;
	struct ws_ev		 ev;
	uint8_t			 f[5], m[10];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(f, 0xee, sizeof f);
		assert_int_equal(ws_close_frame(f, t[i].code), 4);
		assert_memory_equal(f, t[i].frame, 4);
		assert_int_equal(f[4], 0xee);

		/* Masked with a zero key, a client close the parser takes. */
		memcpy(m, f, 2);
		m[1] |= 0x80;
		memset(m + 2, 0, 4);
		memcpy(m + 6, f + 2, 2);
		memset(&p, 0, sizeof p);
		assert_int_equal(ws_parse(&p, m, 8, &ev), 8);
		assert_int_equal(ev.type, WS_EV_CLOSE);
		assert_int_equal(ev.code, t[i].code);
		assert_int_equal(ev.len, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_unmasked_text),
		cmocka_unit_test(test_rfc_masked_text),
		cmocka_unit_test(test_rfc_fragmented),
		cmocka_unit_test(test_rfc_ping),
		cmocka_unit_test(test_rfc_256),
		cmocka_unit_test(test_rfc_64k),
		cmocka_unit_test(test_fragmented_controls),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_continuation_alone),
		cmocka_unit_test(test_data_in_message),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_rsv),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_control_frames),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_close_empty),
		cmocka_unit_test(test_close_codes),
		cmocka_unit_test(test_close_reason),
		cmocka_unit_test(test_final),
		cmocka_unit_test(test_one_event),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_close_frame),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
