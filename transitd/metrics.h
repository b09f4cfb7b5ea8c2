/*
 * metrics.h: GET /metrics, the figures of /status in the Prometheus text
 * exposition format 0.0.4: HELP and TYPE for each, counters ending in
 * _total, units in the names, and histograms of waiting time, session
 * duration and session bytes (watch.h). It passes promtool check
 * metrics.
 */
#ifndef TRANSITD_METRICS_H
#define TRANSITD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct server_loop;

/* What /status and /metrics tell, read at once on the home thread. */
struct metrics_now {
	double		 uptime;
	uint64_t	 conns, pairs, tokens, bytes, accepted;
	uint64_t	 db_queue, db_dropped, sources;
	double		 rates[4];
	int		 draining;
};

/* The figures now. */
void		 metrics_now(struct server_loop *, struct metrics_now *);
/* The text of --trusted-net range i ("10.0.0.0/8"), into buf. */
const char	*metrics_range(const struct server_loop *, int i, char *buf,
		    size_t len);

/* Append the exposition to b. Returns 0, or -1 out of memory. */
int	metrics_write(struct evbuffer *b, struct server_loop *);

#endif
