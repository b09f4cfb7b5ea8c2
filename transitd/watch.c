/*
 * watch.c: moods, histograms, rates and the operator's notes (watch.h).
 */
#include <event2/event.h>

#include <string.h>
#include <time.h>

#include "admit.h"
#include "log.h"
#include "record.h"
#include "stats.h"
#include "usage.h"
#include "watch.h"

#define WATCH_RING	901	/* a sample a second: 15 minutes and one */
#define WATCH_SWEEP_S	60	/* forget sources with nothing left */

const char *const watch_mood_names[WATCH_MOODS] = { "happy", "lonely",
    "redundant", "errory", "impatient", "empty" };
const int	 watch_rate_secs[WATCH_RATES] = { 10, 60, 300, 900 };

struct watch	 watch = {
	.waiting = { "waiting_time_seconds", "Seconds between the two "
	    "connections of a pair.", 10, { 0.1, 0.5, 1, 2, 5, 10, 30, 60,
	    300, 1800 }, { 0 }, 0, 0 },
	.duration = { "session_duration_seconds", "Seconds from the first "
	    "connection of a pair to its end.", 9, { 1, 10, 60, 300, 900,
	    1800, 3600, 10800, 86400 }, { 0 }, 0, 0 },
	.bytes = { "session_bytes", "Bytes a pair relayed, both ways.", 10,
	    { 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12 }, { 0 },
	    0, 0 },
};

static struct {
	struct event	*tick;
	struct admit	*admit;
	uint64_t	 ring[WATCH_RING];	/* stats.bytes, each second */
	unsigned	 at, filled;		/* next slot; slots taken */
	unsigned	 ticks;
	uint64_t	 noted[CAUSE_MAX];	/* counts already said */
} watch_io;

static void
watch_hist_add(struct watch_hist *h, double v)
{
	int	 i;

	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	h->count[i]++;
	h->sum += v;
	h->total++;
}

void
watch_record(const struct usage_rec *rec)
{
	int	 i;

	for (i = 0; i < WATCH_MOODS; i++)
		if (strcmp(rec->mood, watch_mood_names[i]) == 0)
			watch.moods[i]++;
	if (strcmp(rec->mood, "happy") != 0)
		return;
	if (rec->has_waiting)
		watch_hist_add(&watch.waiting, rec->waiting_time);
	watch_hist_add(&watch.duration, rec->total_time);
	watch_hist_add(&watch.bytes, (double)rec->total_bytes);
}

double
watch_rate(int i)
{
	unsigned	 secs = (unsigned)watch_rate_secs[i], back, then;

	if (watch_io.filled < 2)
		return (0);
	/* Over what the ring holds, while it holds less than the window. */
	back = secs < watch_io.filled - 1 ? secs : watch_io.filled - 1;
	then = (watch_io.at + WATCH_RING - 1 - back) % WATCH_RING;
	return ((double)(watch_io.ring[(watch_io.at + WATCH_RING - 1) %
	    WATCH_RING] - watch_io.ring[then]) / back);
}

/* One line per cause with news, at most every WATCH_NOTE_S. */
static void
watch_notes(void)
{
	uint64_t	 n, new;
	int		 c;

	for (c = 0; c < CAUSE_MAX; c++) {
		n = stats_get(&stats.cause[c]);
		if ((new = n - watch_io.noted[c]) == 0)
			continue;
		watch_io.noted[c] = n;
		/* A pair's deadlines end both of its connections. */
		log_msg("%s %llu %s%s in the last %d s: --%s (%llu since "
		    "start)", c < CAUSE_TIMEOUT_END ? "ended" : "refused",
		    (unsigned long long)new, c >= CAUSE_IDLE &&
		    c < CAUSE_TIMEOUT_END ? "pair" : "connection",
		    new == 1 ? "" : "s", WATCH_NOTE_S, stats_cause_option(c),
		    (unsigned long long)n);
	}
}

static void
watch_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	watch_io.ring[watch_io.at] = stats_get(&stats.bytes);
	watch_io.at = (watch_io.at + 1) % WATCH_RING;
	if (watch_io.filled < WATCH_RING)
		watch_io.filled++;
	watch_io.ticks++;
	if (watch_io.ticks % WATCH_NOTE_S == 0)
		watch_notes();
	if (watch_io.ticks % WATCH_SWEEP_S == 0)
		admit_sweep(watch_io.admit, (int64_t)time(NULL) / 86400);
}

int
watch_start(struct event_base *base, struct admit *a)
{
	struct timeval	 tv = { 1, 0 };

	watch.started = record_now();
	watch_io.admit = a;
	if ((watch_io.tick = event_new(base, -1, EV_PERSIST, watch_tick_cb,
	    NULL)) == NULL || event_add(watch_io.tick, &tv) == -1) {
		log_msg("cannot start the status timer");
		return (-1);
	}
	watch_tick_cb(-1, 0, NULL);
	return (0);
}

void
watch_stop(void)
{
	if (watch_io.tick != NULL)
		event_free(watch_io.tick);
	watch_io.tick = NULL;
	watch_notes();	/* what the last seconds held */
}
