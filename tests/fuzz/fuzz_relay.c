/*
 * fuzz_relay.c: libFuzzer harness for the relay core. The input is a
 * script of events on a few connections (bytes, closes, relayed byte
 * counts) drawn from a few tokens; checks that every connection ends with
 * exactly one record (one per pair) and the counters return to zero.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define NCONN	8

static struct relay_conn	 conns[NCONN];
static int			 records[NCONN];

static void
fuzz_acts(struct relay_act *act, size_t nact)
{
	size_t	 i;

	if (nact > RELAY_ACT_MAX)
		abort();
	for (i = 0; i < nact; i++) {
		if (act[i].type != RELAY_RECORD)
			continue;
		records[act[i].conn - conns]++;
		if (strcmp(act[i].rec.mood, "happy") == 0)
			records[act[i].conn->peer - conns]++;
	}
}

/* Give every spare its record. */
static void
fuzz_spares(struct relay *r, double now)
{
	struct relay_act	 act[RELAY_ACT_MAX];
	size_t			 nact;

	while (relay_spares(r, now, act, &nact))
		fuzz_acts(act, nact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct relay		 r;
	struct relay_act	 act[RELAY_ACT_MAX];
	char			 line[128];
	size_t			 i, nact, n;
	double			 now = 1000;
	int			 k;

	relay_init(&r);
	memset(records, 0, sizeof records);
	for (i = 0; i < NCONN; i++)
		relay_conn_init(&conns[i], i, now);
	for (i = 0; i + 1 < len; i += 2, now += 0.5) {
		struct relay_conn *c = &conns[data[i] % NCONN];

		switch (data[i] / NCONN % 4) {
		case 0:		/* a handshake on one of 2 tokens, 3 sides */
			k = data[i + 1];
			n = (size_t)snprintf(line, sizeof line,
			    "please relay %064d%s%.16d\n%s", k % 2,
			    k & 4 ? " for side " : "", k % 3,
			    k & 8 ? "x" : "");
			if (!(k & 4))
				n = (size_t)snprintf(line, sizeof line,
				    "please relay %064d\n%s", k % 2,
				    k & 8 ? "x" : "");
			relay_input(&r, c, line, n, now, act, &nact);
			break;
		case 1:		/* raw bytes */
			relay_input(&r, c, (const char *)data + i + 1, 1, now,
			    act, &nact);
			break;
		case 2:
			relay_close(&r, c, now, act, &nact);
			break;
		default:
			/* WebSocket: a message ends, or a frame is broken. */
			c->ws = data[i + 1] & 1;
			if (data[i + 1] & 2)
				relay_message_end(&r, c, now, act, &nact);
			else if (data[i + 1] & 4)
				relay_fail(&r, c, now, act, &nact);
			else {
				if (c->state == RELAY_PAIRED)
					c->bytes += data[i + 1];
				nact = 0;
			}
			break;
		}
		fuzz_acts(act, nact);
		fuzz_spares(&r, now);
	}
	for (i = 0; i < NCONN; i++) {
		relay_close(&r, &conns[i], now, act, &nact);
		fuzz_acts(act, nact);
		fuzz_spares(&r, now);
	}
	for (i = 0; i < NCONN; i++)
		if (records[i] != 1)
			abort();
	if (r.ntokens != 0 || r.npaired != 0)
		abort();
	relay_free(&r);
	return (0);
}
