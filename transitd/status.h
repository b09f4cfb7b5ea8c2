/*
 * status.h: --status=ENDPOINT, an HTTP listener on libevent's evhttp for
 * the operator: GET /status (JSON), /metrics (Prometheus, metrics.h) and
 * /health (health.h). It runs on the home loop and only reads figures,
 * so a slow or hostile HTTP client never stalls relaying: each of its
 * connections serves one request, waits at most STATUS_TIMEOUT_S for a
 * read or write and is shut after STATUS_HARD_S whatever it does, and
 * at most STATUS_CONNS are open at once.
 */
#ifndef TRANSITD_STATUS_H
#define TRANSITD_STATUS_H

struct server_loop;
struct status;

#define STATUS_TIMEOUT_S	5
#define STATUS_HARD_S		10
#define STATUS_CONNS		64

/* Listen on sl->o->status. Returns the listener, or NULL after saying
   why. */
struct status	*status_start(struct server_loop *sl);
void		 status_free(struct status *);
#endif
