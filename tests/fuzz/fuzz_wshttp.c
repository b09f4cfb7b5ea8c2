/*
 * fuzz_wshttp.c: libFuzzer harness for the WebSocket opening handshake.
 * Feeds the input whole and in chunks whose sizes come from the input
 * (exact heap copies), checks that both give the same result, bytes
 * consumed, status, key and subprotocol, that an accepted request is
 * well-formed as far as can be told from outside, that a result is
 * final, and that the response fits in WSHTTP_RESPONSE_MAX. Each input
 * is also tried as header lines of a good request, and some padded to
 * about WSHTTP_MAX bytes, for the size limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wshttp.h"

struct result {
	int		 rv;	/* bytes of the request, or WSHTTP_* */
	int		 status;
	int		 subprotocol;
	char		 key[WSHTTP_KEY_LEN + 1];
};

/*
 * Feed in (len bytes): whole if seed is 0, else in chunks of 1 to 256
 * bytes taken from the input from byte seed on. After a result, the
 * rest is fed too and must give it again (0 for an accepted request).
 */
static void
run(const uint8_t *in, size_t len, size_t seed, struct result *r)
{
	struct wshttp	 h;
	size_t		 pos, k, j = seed;
	char		*b;
	int		 got, final = 0;

	memset(&h, 0, sizeof h);
	memset(r, 0, sizeof *r);
	r->rv = WSHTTP_PARTIAL;
	for (pos = 0; pos < len; pos += k) {
		k = seed == 0 ? len : 1 + in[j++ % len] % 256;
		if (k > len - pos)
			k = len - pos;
		if ((b = malloc(k)) == NULL)
			abort();
		memcpy(b, in + pos, k);
		got = wshttp_parse(&h, b, k);
		free(b);
		if (final) {
			if (got != (r->rv >= 0 ? 0 : WSHTTP_FAIL))
				abort();
			continue;
		}
		if (got == WSHTTP_PARTIAL)
			continue;
		if (got == WSHTTP_FAIL)
			r->rv = WSHTTP_FAIL;
		else if (got > 0 && (size_t)got <= k)
			r->rv = (int)pos + got;
		else
			abort();
		final = 1;
	}
	r->status = h.status;
	r->subprotocol = h.subprotocol;
	memcpy(r->key, h.key, sizeof r->key);
	if (final && wshttp_parse(&h, "\r\n", 2) != (r->rv >= 0 ? 0 :
	    WSHTTP_FAIL))
		abort();
	if (h.status != r->status)
		abort();
}

/* Check an accepted request (rv bytes of in) and its response. */
static void
check_accepted(const uint8_t *in, const struct result *r)
{
	struct wshttp	 h;
	char		 out[WSHTTP_RESPONSE_MAX], acc[32];
	size_t		 i, n;

	if (r->status != 101 || r->rv < 4 || r->rv > WSHTTP_MAX ||
	    memcmp(in + r->rv - 4, "\r\n\r\n", 4) != 0 ||
	    memcmp(in, "GET ", 4) != 0)
		abort();
	/* Every line ends in CRLF, no other control but tab. */
	for (i = 0; i < (size_t)r->rv; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			abort();
		if (in[i] == '\r' && in[i + 1] != '\n')
			abort();
		if ((in[i] < ' ' && in[i] != '\t' && in[i] != '\r' &&
		    in[i] != '\n') || in[i] == 0x7f)
			abort();
	}
	if (strlen(r->key) != WSHTTP_KEY_LEN ||
	    strcmp(r->key + 22, "==") != 0 ||
	    strspn(r->key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/") != 22)
		abort();
	memset(&h, 0, sizeof h);
	memcpy(h.key, r->key, sizeof h.key);
	h.subprotocol = r->subprotocol;
	h.status = 101;
	n = wshttp_response(&h, 101, out);
	if (n == 0 || n >= WSHTTP_RESPONSE_MAX ||
	    memcmp(out, "HTTP/1.1 101 ", 13) != 0 ||
	    memcmp(out + n - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (wshttp_accept(r->key, acc) != 0 || strlen(acc) != 28 ||
	    memmem(out, n, acc, 28) == NULL)
		abort();
	if ((memmem(out, n, "transit_relay", 13) != NULL) !=
	    (r->subprotocol != 0))
		abort();
}

/* Check a refusal and its response. */
static void
check_refused(const struct result *r)
{
	struct wshttp	 h;
	char		 out[WSHTTP_RESPONSE_MAX];
	size_t		 n;

	switch (r->status) {
	case 400:
	case 405:
	case 426:
	case 431:
	case 505:
		break;
	default:
		abort();
	}
	memset(&h, 0, sizeof h);
	n = wshttp_response(&h, r->status, out);
	if (n == 0 || n >= WSHTTP_RESPONSE_MAX ||
	    memmem(out, n, "\r\nConnection: close\r\n", 21) == NULL)
		abort();
}

/* Feed data (len bytes) whole and in two ways of chunks, and check. */
static void
check(const uint8_t *data, size_t len)
{
	struct result	 whole, split;

	run(data, len, 0, &whole);
	if (len > 0) {
		run(data, len, 1 + data[0] % len, &split);
		if (split.rv != whole.rv || split.status != whole.status ||
		    split.subprotocol != whole.subprotocol ||
		    strcmp(split.key, whole.key) != 0)
			abort();
		run(data, len, len, &split);
		if (split.rv != whole.rv || split.status != whole.status)
			abort();
	}
	if (whole.rv >= 0)
		check_accepted(data, &whole);
	else if (whole.rv == WSHTTP_FAIL)
		check_refused(&whole);
	else if (whole.status != 0 || len > WSHTTP_MAX)
		abort();
}

/*
 * The input with a field "X-Pad: ppp..." after its first line, long
 * enough that the request (if it ends where it did) is within 2 bytes
 * of WSHTTP_MAX, so that the size limit is fuzzed without long inputs.
 * Returns its length, 0 if the input has no line or is not one of the
 * quarter (by length) padded, since 8 KiB inputs are slow.
 */
static size_t
pad(const uint8_t *data, size_t len, uint8_t **out)
{
	const uint8_t	*e;
	size_t		 at, m, n;
	uint8_t		*b;

	if (len < 2 || len % 4 != 0 ||
	    (e = memmem(data, len, "\r\n", 2)) == NULL)
		return (0);
	at = (size_t)(e - data) + 2;
	if (len + 9 > WSHTTP_MAX + 2)
		return (0);
	m = WSHTTP_MAX + 2 - len - 9 - (len / 4) % 5;
	n = len + 9 + m;
	if ((b = malloc(n)) == NULL)
		abort();
	memcpy(b, data, at);
	memcpy(b + at, "X-Pad: ", 7);
	memset(b + at + 7, 'p', m);
	memcpy(b + at + 7 + m, "\r\n", 2);
	memcpy(b + at + 9 + m, data + at, len - at);
	*out = b;
	return (n);
}

/*
 * The input as header lines of a good request, between its fields and
 * its blank line, so that fields are fuzzed even without a corpus.
 * Returns its length.
 */
static size_t
embed(const uint8_t *data, size_t len, uint8_t **out)
{
	static const char	 head[] = "GET /v1 HTTP/1.1\r\n"
	    "Host: relay.example\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n";
	uint8_t			*b;

	if ((b = malloc(sizeof head - 1 + len + 2)) == NULL)
		abort();
	memcpy(b, head, sizeof head - 1);
	memcpy(b + sizeof head - 1, data, len);
	memcpy(b + sizeof head - 1 + len, "\r\n", 2);
	*out = b;
	return (sizeof head - 1 + len + 2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t	*b;
	size_t	 n;

	check(data, len);
	n = embed(data, len, &b);
	check(b, n);
	free(b);
	if ((n = pad(data, len, &b)) > 0) {
		check(b, n);
		free(b);
	}
	return (0);
}
