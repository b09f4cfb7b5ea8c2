/*
 * watch.h: what the home thread sees of the relay over time, for the
 * operator: moods and histograms of every record, transfer rates over
 * 10 s, 1, 5 and 15 minutes, and at most one line per cause every
 * WATCH_NOTE_S on stderr for refusals and deadlines, with counts, so
 * that an attack does not flood the log. Home thread only.
 */
#ifndef TRANSITD_WATCH_H
#define TRANSITD_WATCH_H

#include <stdint.h>

struct admit;
struct event_base;
struct usage_rec;

#define WATCH_NOTE_S	5
#define WATCH_RATES	4	/* windows: 10 s, 1, 5, 15 min */
#define WATCH_MOODS	6
#define WATCH_HIST_MAX	12

struct watch_hist {
	const char	*name;		/* transitd_NAME */
	const char	*help;
	int		 n;		/* bounds */
	double		 le[WATCH_HIST_MAX];
	uint64_t	 count[WATCH_HIST_MAX + 1];	/* the last: +Inf */
	double		 sum;
	uint64_t	 total;
};

struct watch {
	double			 started;	/* seconds since the epoch */
	uint64_t		 moods[WATCH_MOODS];
	struct watch_hist	 waiting, duration, bytes;
};

extern struct watch	 watch;
extern const char *const watch_mood_names[WATCH_MOODS];
extern const int	 watch_rate_secs[WATCH_RATES];

/* Start the second's tick on base (sweeping a's sources too). 0, -1. */
int	watch_start(struct event_base *, struct admit *a);
void	watch_stop(void);
/* A usage record was written (before blurring). */
void	watch_record(const struct usage_rec *);
/* Bytes a second relayed over window i (WATCH_RATES). */
double	watch_rate(int i);

#endif
