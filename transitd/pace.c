/*
 * pace.c: a connection's deadlines and rates (pace.h).
 */
#include <event2/event.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "admit.h"
#include "conn.h"
#include "guard.h"
#include "limits.h"
#include "pace.h"
#include "record.h"

/*
 * What only some connections need, made when a limit first does: its
 * source, its last byte, its rate state (the session's bucket is its
 * first side's; each side has its own timer to read again).
 */
struct pace_state {
	struct bucket	 bucket;
	struct event	*resume;
	uint64_t	 src;		/* its source (admit.h), or 0 */
	uint32_t	 active;	/* --idle-timeout: its last byte */
};

/* c's state, made now if it has none. NULL: out of memory. */
static struct pace_state *
pace_alloc(struct conn *c)
{
	if (c->pace == NULL)
		c->pace = calloc(1, sizeof *c->pace);
	return (c->pace);
}

/* When c last moved a byte (its pairing, if unknown). */
static uint32_t
pace_active(const struct conn *c)
{
	return (c->pace != NULL && c->pace->active != 0 ? c->pace->active :
	    c->since);
}

/* c's source, or 0 (here, not in struct conn: most have none). */
static uint64_t
pace_src(const struct conn *c)
{
	return (c->pace != NULL ? c->pace->src : 0);
}

/* --global-rate: one bucket for every thread. */
static struct {
	pthread_mutex_t	 lock;
	struct bucket	 bucket;
	uint64_t	 rate;
} pace_global = { PTHREAD_MUTEX_INITIALIZER, { 0, 0 }, 0 };

uint32_t
pace_now(void)
{
	struct timespec	 ts;

	/* Tenths of a second wrap after 13 years. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((uint32_t)((uint64_t)ts.tv_sec * 10 + ts.tv_nsec / 100000000));
}

static int64_t
pace_day(void)
{
	return ((int64_t)time(NULL) / 86400);
}

const struct conn_pacer pace_pacer = {
	.phase = pace_phase,
	.timer = pace_timer,
	.detach = pace_detach,
	.end = pace_free,
};

void
pace_global_init(const struct limits *l)
{
	pace_global.rate = l->global_rate;
	bucket_init(&pace_global.bucket, l->global_rate, record_clock());
}

/*
 * The next deadline of open c, in tenths from its phase's start (0:
 * none); *cause says whose it is.
 */
static uint32_t
pace_deadline(struct conn *c, enum stats_cause *cause)
{
	const struct limits	*l = c->srv->lim;
	uint32_t		 d = 0, idle;

	*cause = CAUSE_HANDSHAKE;
	switch (c->life.phase) {
	case LIFE_HANDSHAKE:
		d = (uint32_t)l->handshake_timeout * 10;
		if (c->t->upgrading != NULL && c->t->upgrading(c) &&
		    (d == 0 || d > PACE_UPGRADE_S * 10))
			d = PACE_UPGRADE_S * 10;
		return (d);
	case LIFE_WAITING:
		*cause = CAUSE_LONELY;
		return ((uint32_t)l->lonely_timeout * 10);
	case LIFE_RELAYING:
		/* One side keeps the pair's deadlines. */
		if (!c->rc.first || c->peer == NULL)
			return (0);
		if (l->max_session_time > 0) {
			*cause = CAUSE_SESSION_TIME;
			d = (uint32_t)l->max_session_time * 10;
		}
		if (l->idle_timeout > 0) {
			idle = (pace_active(c) > pace_active(c->peer) ?
			    pace_active(c) : pace_active(c->peer)) - c->since +
			    (uint32_t)l->idle_timeout * 10;
			if (d == 0 || idle < d) {
				*cause = CAUSE_IDLE;
				d = idle;
			}
		}
		return (d);
	default:
		return (0);
	}
}

void
pace_arm(struct conn *c)
{
	enum stats_cause	 cause;
	uint32_t		 d, gone;

	if (!conn_open(c))
		return;
	if ((d = pace_deadline(c, &cause)) == 0) {
		(void)conn_timer(c, 0);
		return;
	}
	gone = pace_now() - c->since;
	if (conn_timer(c, d > gone ? (long)(d - gone) * 100 : 1) == -1)
		conn_fail(c);
}

void
pace_end(struct conn *c, enum stats_cause cause)
{
	if (!conn_open(c))
		return;
	stats_add(&stats.cause[cause], 1);
	conn_event(c, LIFE_EV_EXPIRE);
}

void
pace_timer(struct conn *c)
{
	enum stats_cause	 cause;
	uint32_t		 d;

	if ((d = pace_deadline(c, &cause)) == 0)
		return;
	if (pace_now() - c->since < d) {
		pace_arm(c);	/* a byte moved since: later */
		return;
	}
	/* A WebSocket still in its Upgrade gets its 408. */
	if (c->life.phase == LIFE_HANDSHAKE && c->t->upgrading != NULL &&
	    c->t->upgrading(c)) {
		stats_add(&stats.cause[cause], 1);
		conn_event(c, LIFE_EV_TIMER);
		return;
	}
	pace_end(c, cause);
}

void
pace_phase(struct conn *c, int old)
{
	uint32_t	 now = pace_now();

	if (old == LIFE_RELAYING)
		stats_sub(&stats.relaying, 1);
	if (old == LIFE_WAITING && c->waits) {
		admit_wait(c->srv->admit, pace_src(c), -1);
		c->waits = 0;
	}
	if (c->life.phase == LIFE_RELAYING)
		stats_add(&stats.relaying, 1);
	if (!conn_open(c))
		return;
	c->since = now;
	if (c->life.phase == LIFE_RELAYING && c->srv->lim->idle_timeout > 0 &&
	    pace_alloc(c) != NULL)
		c->pace->active = now;
	pace_arm(c);
}

int
pace_accept(struct conn *c, uint64_t src)
{
	if (src != 0) {
		if (pace_alloc(c) == NULL)
			return (-1);
		c->pace->src = src;
	}
	/* Undone by pace_free, when c is killed. */
	stats_add(&stats.conns, 1);
	stats_add(&stats.accepted, 1);
	c->since = pace_now();
	pace_arm(c);		/* --handshake-timeout */
	return (0);
}

int
pace_waiting(struct conn *c)
{
	if (pace_src(c) == 0 || c->srv->admit == NULL)
		return (0);
	if (admit_wait(c->srv->admit, pace_src(c), 1) == -1)
		return (-1);
	c->waits = 1;
	return (0);
}

int
pace_over_budget(struct conn *c)
{
	return (c->srv->lim->daily_bytes_per_ip > 0 && pace_src(c) != 0 &&
	    admit_over_budget(c->srv->admit, pace_src(c), pace_day()));
}

static void
pace_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	c->paused = 0;
	conn_update(c);
}

/* c's rate state (and its session's), made on first use. */
static struct pace_state *
pace_state(struct conn *c)
{
	struct pace_state	*ps = c->pace;

	if (ps == NULL) {
		if ((ps = calloc(1, sizeof *ps)) == NULL)
			return (NULL);
		bucket_init(&ps->bucket, c->srv->lim->per_session_rate,
		    record_clock());
		c->pace = ps;
	}
	if (ps->resume == NULL && (ps->resume = evtimer_new(c->srv->base,
	    pace_resume_cb, c)) == NULL)
		return (NULL);
	return (ps);
}

/* Reserve up to want from bucket b of rate; *wait: when there is more. */
static size_t
pace_take(struct bucket *b, uint64_t rate, size_t want, double now,
    double *wait)
{
	size_t	 n = bucket_allow(b, rate, now);

	if (n < want)
		want = n;
	bucket_take(b, want);
	if (want == 0) {
		double w = bucket_wait(b, rate, 4096);

		if (w > *wait)
			*wait = w;
	}
	return (want);
}

/* Pause c until its buckets hold bytes again, wait seconds from now. */
static void
pace_pause(struct conn *c, struct pace_state *ps, double wait)
{
	struct timeval	 tv;

	if (wait < 0.001)
		wait = 0.001;
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
	c->paused = 1;
	if (evtimer_add(ps->resume, &tv) == -1)
		conn_fail(c);
}

/* The bucket of c's session, or NULL. */
static struct bucket *
pace_session(struct conn *c)
{
	struct pace_state	*ps;

	if (c->srv->lim->per_session_rate == 0 || c->peer == NULL)
		return (NULL);
	ps = c->rc.first ? c->pace : c->peer->pace;
	return (ps != NULL ? &ps->bucket : NULL);
}

size_t
pace_reserve(struct conn *c, size_t want)
{
	const struct limits	*l = c->srv->lim;
	struct pace_state	*ps;
	struct bucket		*sess;
	uint64_t		 done;
	double			 now, wait = 0;
	size_t			 got, g;

	if (l->max_session_bytes > 0 && c->peer != NULL) {
		done = c->rc.bytes + c->peer->rc.bytes;
		if (done >= l->max_session_bytes) {
			pace_end(c, CAUSE_SESSION_BYTES);
			return (0);
		}
		if (want > l->max_session_bytes - done)
			want = (size_t)(l->max_session_bytes - done);
	}
	if ((l->per_session_rate == 0 && l->global_rate == 0) ||
	    c->peer == NULL)
		return (want);
	/* Out of memory: unlimited rather than stuck. */
	if ((ps = pace_state(c)) == NULL || (l->per_session_rate > 0 &&
	    pace_state(c->peer) == NULL))
		return (want);
	now = record_clock();
	got = want;
	if ((sess = pace_session(c)) != NULL)
		got = pace_take(sess, l->per_session_rate, got, now, &wait);
	if (l->global_rate > 0 && got > 0) {
		/* Turns: a read takes at most an eighth of the burst. */
		if (got > bucket_burst(l->global_rate) / 8 && got > 16384)
			got = (size_t)(bucket_burst(l->global_rate) / 8 > 16384 ?
			    bucket_burst(l->global_rate) / 8 : 16384);
		pthread_mutex_lock(&pace_global.lock);
		g = pace_take(&pace_global.bucket, pace_global.rate, got, now,
		    &wait);
		pthread_mutex_unlock(&pace_global.lock);
		if (sess != NULL)
			sess->tokens += (double)(got - g);
		got = g;
	}
	if (got == 0)
		pace_pause(c, ps, wait);
	return (got);
}

void
pace_refund(struct conn *c, size_t unused)
{
	struct bucket	*sess;

	if (unused == 0)
		return;
	if ((sess = pace_session(c)) != NULL)
		sess->tokens += (double)unused;
	if (c->srv->lim->global_rate > 0) {
		pthread_mutex_lock(&pace_global.lock);
		pace_global.bucket.tokens += (double)unused;
		pthread_mutex_unlock(&pace_global.lock);
	}
}

int
pace_count(struct conn *c, size_t n)
{
	const struct limits	*l = c->srv->lim;
	struct conn		*p = c->peer;
	int64_t			 day;

	c->rc.bytes += n;
	stats_add(&stats.bytes, n);
	if (l->idle_timeout > 0 && c->pace != NULL)
		c->pace->active = pace_now();
	if (l->daily_bytes_per_ip > 0) {
		day = pace_day();
		admit_charge(c->srv->admit, pace_src(c), n, day);
		if (p != NULL)
			admit_charge(c->srv->admit, pace_src(p), n, day);
	}
	if (l->max_session_bytes > 0 && p != NULL && conn_open(c) &&
	    c->rc.bytes + p->rc.bytes >= l->max_session_bytes) {
		pace_end(c, CAUSE_SESSION_BYTES);
		return (-1);
	}
	return (conn_open(c) ? 0 : -1);
}

void
pace_detach(struct conn *c)
{
	if (c->pace != NULL && c->pace->resume != NULL) {
		event_free(c->pace->resume);
		c->pace->resume = NULL;
	}
	c->paused = 0;
}

void
pace_free(struct conn *c)
{
	pace_detach(c);
	if (pace_src(c) != 0)
		admit_release(c->srv->admit, pace_src(c), pace_day());
	free(c->pace);
	c->pace = NULL;
	stats_sub(&stats.conns, 1);
}
