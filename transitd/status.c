/*
 * status.c: the operator's HTTP listener and its /status page
 * (status.h). JSON is written with yajl.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <yajl/yajl_gen.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "health.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "stats.h"
#include "status.h"
#include "watch.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"0"
#endif

/* One HTTP connection, held by a reference of ours beside evhttp's. */
struct status_conn {
	struct bufferevent	*bev;		/* NULL: a free slot */
	double			 at;		/* accepted */
};

struct status {
	struct server_loop	*sl;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	struct event		*sweep;		/* every second */
	struct health		*health;
	/*
	 * libevent 2.1's evhttp can neither cap its connections nor end a
	 * client that drips its request byte by byte, and says nothing when
	 * one closes. So each connection's bufferevent is made here and
	 * held: the listener stops at STATUS_CONNS, and the sweep shuts a
	 * connection older than STATUS_HARD_S and forgets those evhttp has
	 * freed (their callbacks cleared).
	 */
	struct status_conn	 conns[STATUS_CONNS];
	int			 nconns;
};

static void
status_key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

static void
status_int(yajl_gen g, const char *k, uint64_t v)
{
	status_key(g, k);
	yajl_gen_integer(g, (long long)v);
}

/* "options": what is in effect. */
static void
status_options(yajl_gen g, struct server_loop *sl)
{
	const struct limits	*l = &sl->o->lim;
	char			 buf[80];
	int			 i;

	status_key(g, "options");
	yajl_gen_map_open(g);
	status_int(g, "threads", (uint64_t)sl->threads);
	status_int(g, "blur_usage", sl->o->blur_usage);
	status_int(g, "drain_timeout", (uint64_t)sl->o->drain_timeout);
	status_int(g, "handshake_timeout", (uint64_t)l->handshake_timeout);
	status_int(g, "keepalive", (uint64_t)l->keepalive);
	status_int(g, "lonely_timeout", (uint64_t)l->lonely_timeout);
	status_int(g, "idle_timeout", (uint64_t)l->idle_timeout);
	status_int(g, "max_session_time", (uint64_t)l->max_session_time);
	status_int(g, "max_session_bytes", l->max_session_bytes);
	status_int(g, "per_session_rate", l->per_session_rate);
	status_int(g, "global_rate", l->global_rate);
	status_int(g, "max_connections", l->max_connections);
	status_int(g, "max_per_ip", l->max_per_ip);
	status_int(g, "max_waiting_per_ip", l->max_waiting_per_ip);
	status_int(g, "ipv6_prefix", (uint64_t)l->ipv6_prefix);
	status_int(g, "daily_bytes_per_ip", l->daily_bytes_per_ip);
	status_key(g, "trusted_net");
	yajl_gen_array_open(g);
	for (i = 0; i < l->ntrusted; i++)
		status_key(g, metrics_range(sl, i, buf, sizeof buf));
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

/* A map of the causes from first to last (stats.h). */
static void
status_causes(yajl_gen g, const char *k, int first, int last)
{
	int	 c;

	status_key(g, k);
	yajl_gen_map_open(g);
	for (c = first; c < last; c++)
		status_int(g, stats_cause_name(c), stats_get(&stats.cause[c]));
	yajl_gen_map_close(g);
}

static void
status_json(yajl_gen g, struct server_loop *sl)
{
	static const char *const rates[WATCH_RATES] = { "10s", "1m", "5m",
	    "15m" };
	struct metrics_now	 n;
	int			 i;

	metrics_now(sl, &n);
	yajl_gen_map_open(g);
	status_key(g, "version");
	status_key(g, PACKAGE_VERSION);
	status_key(g, "uptime_seconds");
	yajl_gen_double(g, n.uptime);
	status_key(g, "draining");
	yajl_gen_bool(g, n.draining);
	status_options(g, sl);
	status_int(g, "connections", n.conns);
	status_int(g, "pairs", n.pairs);
	status_int(g, "waiting_tokens", n.tokens);
	status_int(g, "accepted_connections", n.accepted);
	status_int(g, "bytes_relayed", n.bytes);
	status_key(g, "rates_bytes_per_second");
	yajl_gen_map_open(g);
	for (i = 0; i < WATCH_RATES; i++) {
		status_key(g, rates[i]);
		yajl_gen_double(g, n.rates[i]);
	}
	yajl_gen_map_close(g);
	status_key(g, "moods");
	yajl_gen_map_open(g);
	for (i = 0; i < WATCH_MOODS; i++)
		status_int(g, watch_mood_names[i], watch.moods[i]);
	yajl_gen_map_close(g);
	status_causes(g, "refusals", CAUSE_TIMEOUT_END, CAUSE_MAX);
	status_causes(g, "timeouts", 0, CAUSE_TIMEOUT_END);
	status_int(g, "sources_tracked", n.sources);
	status_key(g, "database");
	yajl_gen_map_open(g);
	status_key(g, "enabled");
	yajl_gen_bool(g, sl->rec.db != NULL);
	status_int(g, "queue", n.db_queue);
	status_int(g, "dropped", n.db_dropped);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

/* Send body with type and code, then close the connection. */
static void
status_reply(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 503 ?
	    "Service Unavailable" : "Not Found", body);
}

static void
status_page_cb(struct evhttp_request *req, void *arg)
{
	struct status		*st = arg;
	struct evbuffer		*b = evbuffer_new();
	yajl_gen		 g;
	const unsigned char	*out;
	size_t			 len;

	if (b == NULL || (g = yajl_gen_alloc(NULL)) == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	status_json(g, st->sl);
	yajl_gen_get_buf(g, &out, &len);
	evbuffer_add(b, out, len);
	yajl_gen_free(g);
	status_reply(req, 200, "application/json", b);
	evbuffer_free(b);
}

static void
status_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct status	*st = arg;
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL || metrics_write(b, st->sl) == -1) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	status_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

static void
status_health_cb(struct evhttp_request *req, void *arg)
{
	health_ask(((struct status *)arg)->health, req);
}

/* A health check is done: answer one request that waited for it. */
static void
status_health_done(void *req, int code, const char *text)
{
	struct evbuffer	*b = evbuffer_new();

	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	status_reply(req, code, "text/plain; charset=utf-8", b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
status_other_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b = evbuffer_new();

	(void)arg;
	if (b != NULL)
		evbuffer_add_printf(b, "not found: try /status, /metrics or "
		    "/health\n");
	status_reply(req, 404, "text/plain; charset=utf-8", b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
status_listening(struct status *st, int on)
{
	struct evconnlistener	*l;

	l = evhttp_bound_socket_get_listener(st->bound);
	if (on)
		evconnlistener_enable(l);
	else
		evconnlistener_disable(l);
}

/* Forget the connections evhttp freed; shut those past their time. */
static void
status_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct status		*st = arg;
	struct status_conn	*sc;
	bufferevent_data_cb	 r, w;
	bufferevent_event_cb	 e;
	double			 now = record_clock();
	int			 i, full = st->nconns == STATUS_CONNS;

	(void)fd;
	(void)what;
	for (i = 0; i < STATUS_CONNS; i++) {
		if ((sc = &st->conns[i])->bev == NULL)
			continue;
		bufferevent_getcb(sc->bev, &r, &w, &e, NULL);
		if (r == NULL && w == NULL && e == NULL) {
			bufferevent_decref(sc->bev);	/* closes it */
			sc->bev = NULL;
			st->nconns--;
		} else if (now - sc->at > STATUS_HARD_S &&
		    bufferevent_getfd(sc->bev) != -1)
			shutdown(bufferevent_getfd(sc->bev), SHUT_RDWR);
	}
	if (full && st->nconns < STATUS_CONNS)
		status_listening(st, 1);
}

/* A connection was accepted: hold it; at the cap, stop accepting. */
static struct bufferevent *
status_bev_cb(struct event_base *base, void *arg)
{
	struct status		*st = arg;
	struct bufferevent	*bev;
	int			 i;

	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return (NULL);
	for (i = 0; i < STATUS_CONNS && st->conns[i].bev != NULL; i++)
		;
	if (i == STATUS_CONNS)
		return (bev);	/* one more of the same accept burst */
	bufferevent_incref(bev);
	st->conns[i].bev = bev;
	st->conns[i].at = record_clock();
	if (++st->nconns == STATUS_CONNS)
		status_listening(st, 0);
	return (bev);
}

/* Set up st's evhttp. Returns 0, or -1. */
static int
status_http(struct status *st, int fd)
{
	struct event_base	*base = st->sl->srv.base;
	struct timeval		 tv = { 1, 0 };

	if ((st->http = evhttp_new(base)) == NULL ||
	    (st->sweep = event_new(base, -1, EV_PERSIST, status_sweep_cb,
	    st)) == NULL || event_add(st->sweep, &tv) == -1 ||
	    (st->health = health_new(st->sl, status_health_done)) == NULL ||
	    (st->bound = evhttp_accept_socket_with_handle(st->http,
	    fd)) == NULL)
		return (-1);
	evhttp_set_timeout(st->http, STATUS_TIMEOUT_S);
	evhttp_set_max_headers_size(st->http, 8192);
	evhttp_set_max_body_size(st->http, 0);
	evhttp_set_allowed_methods(st->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD);
	evhttp_set_bevcb(st->http, status_bev_cb, st);
	if (evhttp_set_cb(st->http, "/status", status_page_cb, st) == -1 ||
	    evhttp_set_cb(st->http, "/metrics", status_metrics_cb, st) == -1 ||
	    evhttp_set_cb(st->http, "/health", status_health_cb, st) == -1)
		return (-1);
	evhttp_set_gencb(st->http, status_other_cb, st);
	return (0);
}

struct status *
status_start(struct server_loop *sl)
{
	const struct endpoint	*ep = &sl->o->status;
	struct status		*st;
	char			 err[256];
	int			 fd, port;

	if ((fd = listen_open(ep, &port, err, sizeof err)) == -1) {
		log_msg("cannot listen for --status on %s port %d: %s",
		    ep->interface[0] != '\0' ? ep->interface : "0.0.0.0",
		    ep->port, err);
		return (NULL);
	}
	if ((st = calloc(1, sizeof *st)) == NULL) {
		close(fd);
		log_msg("--status: out of memory");
		return (NULL);
	}
	st->sl = sl;
	if (status_http(st, fd) == -1) {
		if (st->bound == NULL)
			close(fd);
		status_free(st);
		log_msg("--status: out of memory");
		return (NULL);
	}
	log_msg("status on %s port %d (/status, /metrics, /health)",
	    ep->interface[0] != '\0' ? ep->interface : "0.0.0.0", port);
	return (st);
}

void
status_free(struct status *st)
{
	int	 i;

	if (st == NULL)
		return;
	if (st->http != NULL)
		evhttp_free(st->http);
	for (i = 0; i < STATUS_CONNS; i++)
		if (st->conns[i].bev != NULL)
			bufferevent_decref(st->conns[i].bev);
	if (st->sweep != NULL)
		event_free(st->sweep);
	health_free(st->health);
	free(st);
}
