/*
 * fuzz_ws.c: libFuzzer harness for the WebSocket frame parser. Feeds the
 * input whole and in chunks whose sizes come from the input, checks each
 * event (bytes consumed, progress, DATA within the buffer and ending
 * where the call stopped, control payloads of at most 125 bytes, nothing
 * after a close or error), and compares the event sequence of both runs
 * with that of a simple reference parser of the whole input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

/* The event log, as in test_ws.c: bytes, LOG_END, LOG_EV | type... */
#define LOG_END	0x100
#define LOG_EV	0x1000

struct evlog {
	uint32_t	*v;
	size_t		 n;
	size_t		 cap;
};

/* Append one value to a log. */
static void
log_put(struct evlog *l, uint32_t v)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 1024 : l->cap * 2;
		if ((l->v = realloc(l->v, l->cap * sizeof l->v[0])) == NULL)
			abort();
	}
	l->v[l->n++] = v;
}

/* Append an event to a log. */
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

/*
 * Whether s (n bytes) is UTF-8, by the table of RFC 3629 section 4
 * (written apart from ws.c's check on purpose).
 */
static int
ref_utf8(const uint8_t *s, size_t n)
{
	size_t	 i = 0;
	uint8_t	 lo, hi;
	int	 k, more;

	while (i < n) {
		if (s[i] <= 0x7f) {
			i++;
			continue;
		}
		lo = 0x80, hi = 0xbf;
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			more = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			more = 2;
			if (s[i] == 0xe0)
				lo = 0xa0;
			else if (s[i] == 0xed)
				hi = 0x9f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			more = 3;
			if (s[i] == 0xf0)
				lo = 0x90;
			else if (s[i] == 0xf4)
				hi = 0x8f;
		} else
			return (0);
		if (n - i - 1 < (size_t)more)
			return (0);
		if (s[i + 1] < lo || s[i + 1] > hi)
			return (0);
		for (k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return (0);
		i += more + 1;
	}
	return (1);
}

/*
 * The reference: frames parsed from the whole input at once, payload of
 * a frame cut short by the end of the input reported as far as it goes.
 */
static void
ref_parse(const uint8_t *in, size_t len, struct evlog *l)
{
	uint8_t		 b0, b1, op, fin, len7, p[WS_CONTROL_MAX];
	const uint8_t	*mask;
	uint64_t	 plen;
	size_t		 pos = 0, hl, avail, i;
	int		 inmsg = 0, ext;
	uint16_t	 code;

	while (len - pos >= 2) {
		b0 = in[pos], b1 = in[pos + 1];
		fin = b0 >> 7, op = b0 & 0x0f, len7 = b1 & 0x7f;
		if ((b0 & 0x70) || !(b1 & 0x80))
			goto fail;
		if (op == WS_OP_TEXT) {
			log_ev(l, WS_EV_ERROR, inmsg ? WS_CLOSE_PROTOCOL :
			    WS_CLOSE_UNSUPPORTED, NULL, 0, 0);
			return;
		}
		if ((op == WS_OP_CONT && !inmsg) ||
		    (op == WS_OP_BINARY && inmsg))
			goto fail;
		if (op >= 8 && (op > WS_OP_PONG || !fin || len7 > 125))
			goto fail;
		if (op > WS_OP_BINARY && op < 8)
			goto fail;
		ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
		hl = 2 + ext + 4;
		if (len - pos < hl)
			return;
		plen = len7;
		if (ext > 0) {
			plen = 0;
			for (i = 0; i < (size_t)ext; i++)
				plen = plen << 8 | in[pos + 2 + i];
			if ((ext == 2 && plen < 126) ||
			    (ext == 8 && (plen <= 0xffff ||
			    plen > 0x7fffffffffffffffULL)))
				goto fail;
		}
		mask = in + pos + hl - 4;
		pos += hl;
		avail = len - pos;
		if (plen < avail)
			avail = (size_t)plen;
		if (op >= 8) {
			if (avail < plen)
				return;
			for (i = 0; i < avail; i++)
				p[i] = in[pos + i] ^ mask[i & 3];
			pos += avail;
			if (op != WS_OP_CLOSE) {
				log_ev(l, op == WS_OP_PING ? WS_EV_PING :
				    WS_EV_PONG, 0, p, avail, 0);
				continue;
			}
			if (avail == 0) {
				log_ev(l, WS_EV_CLOSE, WS_CLOSE_NO_STATUS,
				    NULL, 0, 0);
				return;
			}
			if (avail == 1)
				goto fail;
			code = (uint16_t)(p[0] << 8 | p[1]);
			if (!((code >= 1000 && code <= 1003) ||
			    (code >= 1007 && code <= 1014) ||
			    (code >= 3000 && code <= 4999)))
				goto fail;
			if (!ref_utf8(p + 2, avail - 2))
				log_ev(l, WS_EV_ERROR, WS_CLOSE_BAD_DATA, NULL,
				    0, 0);
			else
				log_ev(l, WS_EV_CLOSE, code, p + 2, avail - 2,
				    0);
			return;
		}
		inmsg = !fin;
		for (i = 0; i < avail; i++)
			log_put(l, in[pos + i] ^ mask[i & 3]);
		if (avail < plen)
			return;
		if (fin)
			log_put(l, LOG_END);
		pos += avail;
	}
	return;
fail:
	log_ev(l, WS_EV_ERROR, WS_CLOSE_PROTOCOL, NULL, 0, 0);
}

/* Check one event of a call on b (avail bytes) that consumed used. */
static void
check_ev(const struct ws_ev *ev, const uint8_t *b, size_t avail, size_t used,
    int final)
{
	if (used == 0 || used > avail)
		abort();
	if (final) {
		if (ev->type != WS_EV_NONE || used != avail)
			abort();
		return;
	}
	switch (ev->type) {
	case WS_EV_NONE:
		/* Nothing to say only when all was taken. */
		if (used != avail)
			abort();
		break;
	case WS_EV_DATA:
		if (ev->len == 0) {
			if (!ev->end)
				abort();
		} else if (ev->data < b || ev->data + ev->len != b + used)
			abort();
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		if (ev->len > WS_CONTROL_MAX ||
		    (ev->len > 0 && ev->data == NULL))
			abort();
		break;
	case WS_EV_CLOSE:
		if (ev->len > WS_CONTROL_MAX - 2 ||
		    (ev->len > 0 && ev->data == NULL) ||
		    !ref_utf8(ev->data, ev->len))
			abort();
		break;
	case WS_EV_ERROR:
		if (ev->code != WS_CLOSE_PROTOCOL &&
		    ev->code != WS_CLOSE_UNSUPPORTED &&
		    ev->code != WS_CLOSE_BAD_DATA)
			abort();
		break;
	default:
		abort();
	}
}

/*
 * Feed in (len bytes) in chunks, from exact heap copies: whole if seed
 * is 0, else of sizes 1 to 64 taken from the input from byte seed on.
 */
static void
run(const uint8_t *in, size_t len, size_t seed, struct evlog *l)
{
	struct ws_parser	 p;
	struct ws_ev		 ev;
	uint8_t			*b, dummy = 0;
	size_t			 pos, k, off, used, j = seed;
	int			 final = 0;

	memset(&p, 0, sizeof p);
	for (pos = 0; pos < len; pos += k) {
		if (seed == 0)
			k = len;
		else {
			k = 1 + in[j++ % len] % 64;
			/* Now and then a chunk of many frames. */
			if (k == 64)
				k = 1 + in[j++ % len] * 8;
		}
		if (k > len - pos)
			k = len - pos;
		if ((b = malloc(k)) == NULL)
			abort();
		memcpy(b, in + pos, k);
		for (off = 0; off < k; off += used) {
			used = ws_parse(&p, b + off, k - off, &ev);
			check_ev(&ev, b + off, k - off, used, final);
			log_ev(l, ev.type, ev.code, ev.data, ev.len, ev.end);
			if (ev.type == WS_EV_CLOSE || ev.type == WS_EV_ERROR)
				final = 1;
		}
		free(b);
	}
	if (ws_parse(&p, &dummy, 0, &ev) != 0 || ev.type != WS_EV_NONE)
		abort();
}

/* Whether two logs are the same. */
static int
log_same(const struct evlog *a, const struct evlog *b)
{
	return (a->n == b->n && (a->n == 0 ||
	    memcmp(a->v, b->v, a->n * sizeof a->v[0]) == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct evlog	 ref, whole, split;

	memset(&ref, 0, sizeof ref);
	memset(&whole, 0, sizeof whole);
	memset(&split, 0, sizeof split);
	ref_parse(data, len, &ref);
	run(data, len, 0, &whole);
	if (!log_same(&whole, &ref))
		abort();
	if (len > 0) {
		run(data, len, 1 + data[0] % len, &split);
		if (!log_same(&split, &ref))
			abort();
	}
	free(ref.v);
	free(whole.v);
	free(split.v);
	return (0);
}
