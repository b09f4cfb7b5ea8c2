/*
 * relay.c: the token table, matching and moods (protocol spec, Matching,
 * Moods and usage records). Waiters of one token sit on a list in the
 * order they registered, so a newcomer pairs with the longest waiting
 * one it may match; the table is a tsearch(3) tree keyed by token.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

struct relay_token {
	char			 token[HANDSHAKE_TOKEN_LEN + 1];
	struct relay_conn_list	 waiters;
};

static int
relay_token_cmp(const void *a, const void *b)
{
	const struct relay_token *ta = a, *tb = b;

	return (memcmp(ta->token, tb->token, HANDSHAKE_TOKEN_LEN));
}

void
relay_init(struct relay *r)
{
	memset(r, 0, sizeof *r);
	TAILQ_INIT(&r->spares);
}

static void
relay_token_free(void *p)
{
	free(p);
}

void
relay_free(struct relay *r)
{
	tdestroy(r->tokens, relay_token_free);
	r->tokens = NULL;
	r->ntokens = 0;
}

void
relay_conn_init(struct relay_conn *c, uint64_t id, double now)
{
	memset(c, 0, sizeof *c);
	c->id = id;
	c->state = RELAY_WAIT_LINE;
	c->started = now;
}

/* Append an action. */
static struct relay_act *
relay_act(struct relay_act *act, size_t *nact, enum relay_act_type type,
    struct relay_conn *c)
{
	struct relay_act	*a = &act[(*nact)++];

	memset(a, 0, sizeof *a);
	a->type = type;
	a->conn = c;
	return (a);
}

/* Append the record of an unpaired conn, ending at now. */
static void
relay_record_alone(struct relay_act *act, size_t *nact,
    struct relay_conn *c, const char *mood, double now)
{
	struct relay_act	*a = relay_act(act, nact, RELAY_RECORD, c);

	a->rec.started = c->started;
	a->rec.total_time = now - c->started;
	a->rec.has_waiting = 0;
	a->rec.total_bytes = 0;
	a->rec.mood = mood;
	c->state = RELAY_DONE;
}

/* Remove the token of conn from the table once it has no waiter. */
static void
relay_token_drop(struct relay *r, struct relay_token *t)
{
	tdelete(t, &r->tokens, relay_token_cmp);
	free(t);
	r->ntokens--;
}

/* Take a waiting conn off its token. */
static void
relay_unregister(struct relay *r, struct relay_conn *c)
{
	struct relay_token	*t = c->tok;

	if (t == NULL)
		return;
	TAILQ_REMOVE(&t->waiters, c, entry);
	c->tok = NULL;
	if (TAILQ_EMPTY(&t->waiters))
		relay_token_drop(r, t);
}

/* Whether two handshakes may pair: unsided on either end, or sides differ. */
static int
relay_match(const struct handshake *a, const struct handshake *b)
{
	return (!a->sided || !b->sided || strcmp(a->side, b->side) != 0);
}

/*
 * Register a conn with a good handshake: pair it with the longest waiting
 * match, or make it wait. Returns the peer, or NULL if it waits; NULL
 * with c->tok still NULL when the table could not grow.
 */
static struct relay_conn *
relay_register(struct relay *r, struct relay_conn *c)
{
	struct relay_token	 key, *t, **tp;
	struct relay_conn	*w, *s;

	memcpy(key.token, c->hs.token, sizeof key.token);
	tp = tfind(&key, &r->tokens, relay_token_cmp);
	if (tp != NULL) {
		t = *tp;
		TAILQ_FOREACH(w, &t->waiters, entry) {
			if (relay_match(&w->hs, &c->hs))
				break;
		}
		if (w != NULL) {
			/* The rest are spares: closed at once, token forgotten. */
			TAILQ_REMOVE(&t->waiters, w, entry);
			w->tok = NULL;
			while ((s = TAILQ_FIRST(&t->waiters)) != NULL) {
				TAILQ_REMOVE(&t->waiters, s, entry);
				s->tok = NULL;
				s->state = RELAY_SPARE;
				TAILQ_INSERT_TAIL(&r->spares, s, entry);
			}
			relay_token_drop(r, t);
			return (w);
		}
		TAILQ_INSERT_TAIL(&t->waiters, c, entry);
		c->tok = t;
		return (NULL);
	}
	if ((t = malloc(sizeof *t)) == NULL)
		return (NULL);
	memcpy(t->token, c->hs.token, sizeof t->token);
	TAILQ_INIT(&t->waiters);
	if (tsearch(t, &r->tokens, relay_token_cmp) == NULL) {
		free(t);
		return (NULL);
	}
	r->ntokens++;
	TAILQ_INSERT_TAIL(&t->waiters, c, entry);
	c->tok = t;
	return (NULL);
}

size_t
relay_input(struct relay *r, struct relay_conn *c, const char *buf,
    size_t len, double now, struct relay_act *act, size_t *nact)
{
	struct relay_conn	*p;
	struct relay_act	*a;
	int			 rv;

	*nact = 0;
	if (c->state == RELAY_WAIT_PARTNER && len > 0)
		goto impatient;
	if (c->state != RELAY_WAIT_LINE)
		return (0);
	rv = handshake_parse(&c->hs, buf, len);
	switch (rv) {
	case HANDSHAKE_PARTIAL:
		return (len);
	case HANDSHAKE_TOOLONG:
		/*
		 * The reference closes without a reply; mood stays empty.
		 * Over WebSocket it is a message too big: errory.
		 */
		relay_act(act, nact, RELAY_CLOSE, c)->toobig = c->ws;
		relay_record_alone(act, nact, c, c->ws ? "errory" : "empty",
		    now);
		return (len);
	case HANDSHAKE_BAD:
		relay_act(act, nact, RELAY_SEND, c)->line = "bad handshake\n";
		relay_act(act, nact, RELAY_CLOSE, c);
		relay_record_alone(act, nact, c, "errory", now);
		return (len);
	}
	p = relay_register(r, c);
	if (p == NULL && c->tok == NULL) {
		/* Out of memory: treat it as the server refusing this one. */
		relay_act(act, nact, RELAY_CLOSE, c);
		relay_record_alone(act, nact, c, "errory", now);
		return (len);
	}
	if (p == NULL) {
		c->state = RELAY_WAIT_PARTNER;
		if ((size_t)rv == len)
			return (len);
		goto impatient;
	}
	c->state = p->state = RELAY_PAIRED;
	c->peer = p;
	p->peer = c;
	c->first = 0;
	p->first = 1;
	r->npaired += 2;
	relay_act(act, nact, RELAY_SEND, p)->line = "ok\n";
	relay_act(act, nact, RELAY_SEND, c)->line = "ok\n";
	a = relay_act(act, nact, RELAY_PAIR, c);
	a->peer = p;
	/*
	 * Bytes in the read that completes a pair are not impatience: the
	 * pair exists, so they are relayed (protocol spec, Handshake).
	 */
	return ((size_t)rv);

impatient:
	relay_unregister(r, c);
	relay_act(act, nact, RELAY_SEND, c)->line = "impatient\n";
	relay_act(act, nact, RELAY_CLOSE, c);
	relay_record_alone(act, nact, c, "impatient", now);
	return (len);
}

void
relay_close(struct relay *r, struct relay_conn *c, double now,
    struct relay_act *act, size_t *nact)
{
	struct relay_conn	*p = c->peer, *f;
	struct relay_act	*a;

	*nact = 0;
	switch (c->state) {
	case RELAY_WAIT_LINE:
		relay_record_alone(act, nact, c, "empty", now);
		break;
	case RELAY_WAIT_PARTNER:
		relay_unregister(r, c);
		relay_record_alone(act, nact, c, "lonely", now);
		break;
	case RELAY_PAIRED:
		/* One record per pair, whichever side ends first. */
		f = c->first ? c : p;
		relay_act(act, nact, RELAY_CLOSE, p);
		a = relay_act(act, nact, RELAY_RECORD, f);
		a->rec.started = c->started < p->started ? c->started :
		    p->started;
		a->rec.total_time = now - a->rec.started;
		a->rec.waiting_time = c->started < p->started ?
		    p->started - c->started : c->started - p->started;
		a->rec.has_waiting = 1;
		a->rec.total_bytes = c->bytes + p->bytes;
		a->rec.mood = "happy";
		c->state = p->state = RELAY_DONE;
		r->npaired -= 2;
		break;
	case RELAY_SPARE:
		TAILQ_REMOVE(&r->spares, c, entry);
		relay_act(act, nact, RELAY_CLOSE, c);
		relay_record_alone(act, nact, c, "redundant", now);
		break;
	case RELAY_DONE:
		break;
	}
}

void
relay_message_end(struct relay *r, struct relay_conn *c, double now,
    struct relay_act *act, size_t *nact)
{
	*nact = 0;
	if (c->state == RELAY_WAIT_LINE && handshake_can_end(&c->hs))
		relay_input(r, c, "\n", 1, now, act, nact);
}

void
relay_fail(struct relay *r, struct relay_conn *c, double now,
    struct relay_act *act, size_t *nact)
{
	*nact = 0;
	switch (c->state) {
	case RELAY_WAIT_PARTNER:
		relay_unregister(r, c);
		/* FALLTHROUGH */
	case RELAY_WAIT_LINE:
		relay_record_alone(act, nact, c, "errory", now);
		break;
	default:
		relay_close(r, c, now, act, nact);
		break;
	}
}

int
relay_spares(struct relay *r, double now, struct relay_act *act,
    size_t *nact)
{
	struct relay_conn	*c;

	*nact = 0;
	if ((c = TAILQ_FIRST(&r->spares)) == NULL)
		return (0);
	relay_close(r, c, now, act, nact);
	return (1);
}
