/*
 * metrics.c: the Prometheus exposition (metrics.h).
 */
#include <arpa/inet.h>

#include <event2/buffer.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "db.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "watch.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"0"
#endif

void
metrics_now(struct server_loop *sl, struct metrics_now *n)
{
	int	 i;

	memset(n, 0, sizeof *n);
	n->uptime = record_now() - watch.started;
	n->conns = stats_get(&stats.conns);
	n->pairs = stats_get(&stats.relaying) / 2;
	n->tokens = sl->srv.relay.ntokens;
	n->bytes = stats_get(&stats.bytes);
	n->accepted = stats_get(&stats.accepted);
	n->sources = admit_sources(sl->srv.admit);
	db_queue(sl->rec.db, &n->db_queue, &n->db_dropped);
	for (i = 0; i < WATCH_RATES; i++)
		n->rates[i] = watch_rate(i);
	n->draining = sl->stopping;
}

const char *
metrics_range(const struct server_loop *sl, int i, char *buf, size_t len)
{
	const struct cidr	*c = &sl->o->lim.trusted[i];
	char			 a[64];

	if (inet_ntop(c->family, c->addr, a, sizeof a) == NULL)
		snprintf(a, sizeof a, "?");
	snprintf(buf, len, "%s/%d", a, c->bits);
	return (buf);
}

/* HELP and TYPE of metric transitd_name. */
static int
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	return (evbuffer_add_printf(b, "# HELP transitd_%s %s\n"
	    "# TYPE transitd_%s %s\n", name, help, name, type) < 0 ? -1 : 0);
}

/* One metric without labels. */
static int
metrics_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, double v)
{
	if (metrics_head(b, name, type, help) == -1)
		return (-1);
	return (evbuffer_add_printf(b, "transitd_%s %.17g\n", name, v) < 0 ?
	    -1 : 0);
}

static int
metrics_hist(struct evbuffer *b, const struct watch_hist *h)
{
	uint64_t	 cum = 0;
	int		 i, e = 0;

	if (metrics_head(b, h->name, "histogram", h->help) == -1)
		return (-1);
	for (i = 0; i < h->n; i++) {
		cum += h->count[i];
		e |= evbuffer_add_printf(b, "transitd_%s_bucket{le=\"%g\"} "
		    "%llu\n", h->name, h->le[i], (unsigned long long)cum) < 0;
	}
	e |= evbuffer_add_printf(b, "transitd_%s_bucket{le=\"+Inf\"} %llu\n"
	    "transitd_%s_sum %.17g\ntransitd_%s_count %llu\n", h->name,
	    (unsigned long long)h->total, h->name, h->sum, h->name,
	    (unsigned long long)h->total) < 0;
	return (e ? -1 : 0);
}

/* A counter by cause, for the causes from first to last. */
static int
metrics_causes(struct evbuffer *b, const char *name, const char *help,
    int first, int last)
{
	int	 c, e = 0;

	if (metrics_head(b, name, "counter", help) == -1)
		return (-1);
	for (c = first; c < last; c++)
		e |= evbuffer_add_printf(b, "transitd_%s{cause=\"%s\"} %llu\n",
		    name, stats_cause_name(c), (unsigned long long)
		    stats_get(&stats.cause[c])) < 0;
	return (e ? -1 : 0);
}

/* The gauges and counters of the relay now. */
static int
metrics_gauges(struct evbuffer *b, const struct metrics_now *n)
{
	return (metrics_one(b, "uptime_seconds", "gauge", "Seconds since "
	    "the relay started.", n->uptime) |
	    metrics_one(b, "draining", "gauge", "1 while the relay drains "
	    "after SIGTERM.", n->draining) |
	    metrics_one(b, "connections", "gauge", "Client connections open "
	    "now.", (double)n->conns) |
	    metrics_one(b, "pairs", "gauge", "Pairs relaying now.",
	    (double)n->pairs) |
	    metrics_one(b, "waiting_tokens", "gauge", "Tokens waiting for a "
	    "partner now.", (double)n->tokens) |
	    metrics_one(b, "sources_tracked", "gauge", "Sources (addresses "
	    "or IPv6 prefixes) the limits keep now, as keyed hashes.",
	    (double)n->sources) |
	    metrics_one(b, "accepted_connections_total", "counter",
	    "Client connections accepted.", (double)n->accepted) |
	    metrics_one(b, "relayed_bytes_total", "counter", "Bytes relayed, "
	    "both ways, counted as they move.", (double)n->bytes) |
	    metrics_one(b, "db_queue_records", "gauge", "Usage records "
	    "waiting for the database.", (double)n->db_queue) |
	    metrics_one(b, "db_dropped_records_total", "counter", "Usage "
	    "records the database lost.", (double)n->db_dropped));
}

int
metrics_write(struct evbuffer *b, struct server_loop *sl)
{
	static const char *const windows[WATCH_RATES] = { "10s", "1m", "5m",
	    "15m" };
	struct metrics_now	 n;
	int			 i, e;

	metrics_now(sl, &n);
	e = metrics_head(b, "build_info", "gauge", "The relay's version.");
	e |= evbuffer_add_printf(b, "transitd_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION) < 0;
	e |= metrics_gauges(b, &n);
	e |= metrics_head(b, "transfer_rate_bytes_per_second", "gauge",
	    "Bytes a second relayed over the last window.");
	for (i = 0; i < WATCH_RATES; i++)
		e |= evbuffer_add_printf(b, "transitd_transfer_rate_bytes_per_"
		    "second{window=\"%s\"} %.17g\n", windows[i],
		    n.rates[i]) < 0;
	e |= metrics_head(b, "usage_records_total", "counter", "Usage "
	    "records written, by mood.");
	for (i = 0; i < WATCH_MOODS; i++)
		e |= evbuffer_add_printf(b, "transitd_usage_records_total{mood="
		    "\"%s\"} %llu\n", watch_mood_names[i],
		    (unsigned long long)watch.moods[i]) < 0;
	e |= metrics_causes(b, "refused_connections_total", "Connections "
	    "refused at accept or handshake, by limit.", CAUSE_TIMEOUT_END,
	    CAUSE_MAX);
	e |= metrics_causes(b, "timeouts_total", "Connections ended by a "
	    "deadline or session limit, by cause.", 0, CAUSE_TIMEOUT_END);
	e |= metrics_hist(b, &watch.waiting);
	e |= metrics_hist(b, &watch.duration);
	e |= metrics_hist(b, &watch.bytes);
	return (e ? -1 : 0);
}
