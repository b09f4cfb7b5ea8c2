/*
 * server.c: the event loop: listeners (with a pause on descriptor
 * exhaustion), signals, and the reaper that frees closed connections.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "logjson.h"
#include "server.h"

#define SERVER_ACCEPT_PAUSE_S	1
#define SERVER_CURRENT_S	300	/* current row; Munin calls it stale after */
#define SERVER_DB_FLUSH_S	10	/* at exit, retry a refusing database */

struct server_loop {
	struct server		 srv;
	struct evconnlistener	*listeners[2 * OPTS_PORTS_MAX];
	size_t			 nlisteners;
	struct event		*resume;	/* accept again after EMFILE */
	struct event		*sigint, *sigterm, *sighup;
	struct event		*current;	/* rewrite the current row */
	int64_t			 rebooted;
	int			 stopped;
};

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server_loop	*sl = arg;

	(void)l;
	(void)sa;
	(void)salen;
	conn_accept(&sl->srv, fd, 0);
}

static void
server_accept_ws_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server_loop	*sl = arg;

	(void)l;
	(void)sa;
	(void)salen;
	conn_accept(&sl->srv, fd, 1);
}

/* Out of descriptors or memory: stop accepting for a second. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server_loop	*sl = arg;
	struct timeval		 tv = { SERVER_ACCEPT_PAUSE_S, 0 };
	int			 error = EVUTIL_SOCKET_ERROR();
	size_t			 i;

	(void)l;
	if (error == ECONNABORTED || error == EINTR)
		return;
	if (evtimer_pending(sl->resume, NULL))
		return;
	log_msg("accept: %s; pausing for %d s", strerror(error),
	    SERVER_ACCEPT_PAUSE_S);
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_disable(sl->listeners[i]);
	evtimer_add(sl->resume, &tv);
}

static void
server_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;
	size_t			 i;

	(void)fd;
	(void)what;
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_enable(sl->listeners[i]);
}

/* Queue the database's current row. */
static void
server_current(struct server_loop *sl)
{
	struct db_current	 cur;

	if (sl->srv.db == NULL)
		return;
	conn_current(&sl->srv, &cur);
	cur.rebooted = sl->rebooted;
	cur.updated = (int64_t)conn_now();
	db_current(sl->srv.db, &cur);
}

static void
server_current_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_current(arg);
}

static void
server_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_reap(arg);
}

/* SIGINT or SIGTERM: close the listeners, end every connection, stop. */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server_loop	*sl = arg;
	size_t			 i;

	(void)what;
	if (sl->stopped)
		return;
	sl->stopped = 1;
	log_msg("%s: stopping", strsignal(sig));
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_free(sl->listeners[i]);
	sl->nlisteners = 0;
	conn_end_all(&sl->srv);
	event_base_loopbreak(sl->srv.base);
}

/* SIGHUP must not kill a relay (log rotation sends it); nothing to reload. */
static void
server_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	log_msg("SIGHUP: nothing to reload; still serving");
}

/* Raise the soft descriptor limit to the hard one: each pair needs 2+. */
static void
server_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_msg("cannot raise the descriptor limit: %s",
			    strerror(errno));
	}
}

/*
 * Open a listener on ep for TCP or (websocket) WebSocket clients, whose
 * public URL is url (NULL: ws://localhost:PORT/). Returns 0, or -1
 * after saying why.
 */
static int
server_listen_one(struct server_loop *sl, const struct endpoint *ep,
    int websocket, const char *url)
{
	const char	*addr = ep->interface[0] != '\0' ? ep->interface :
			    "0.0.0.0";
	char		 err[256], vis[256];
	int		 fd, port;

	if ((fd = listen_open(ep, &port, err, sizeof err)) == -1) {
		log_msg("cannot listen%s on %s port %d: %s",
		    websocket ? " for WebSocket" : "", addr, ep->port, err);
		return (-1);
	}
	sl->listeners[sl->nlisteners] = evconnlistener_new(sl->srv.base,
	    websocket ? server_accept_ws_cb : server_accept_cb, sl,
	    LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (sl->listeners[sl->nlisteners] == NULL) {
		log_msg("cannot listen: out of memory");
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(sl->listeners[sl->nlisteners++],
	    server_accept_error_cb);
	if (!websocket)
		log_msg("listening on %s port %d", addr, port);
	else if (url != NULL)
		log_msg("listening for WebSocket on %s port %d (%s)", addr, port,
		    endpoint_vis(vis, sizeof vis, url));
	else
		log_msg("listening for WebSocket on %s port %d "
		    "(ws://localhost:%d/)", addr, port, port);
	return (0);
}

/* Open the listeners of o. Returns 0, or -1 after saying why. */
static int
server_listen(struct server_loop *sl, const struct opts *o)
{
	size_t	 i;

	for (i = 0; i < o->nports; i++)
		if (server_listen_one(sl, &o->ports[i], 0, NULL) == -1)
			return (-1);
	for (i = 0; i < o->nwebsockets; i++)
		if (server_listen_one(sl, &o->websockets[i], 1,
		    o->websocket_url) == -1)
			return (-1);
	if (o->websocket_url != NULL && o->nwebsockets == 0)
		log_msg("--websocket-url is ignored without --websocket");
	return (0);
}

int
server_run(const struct opts *o)
{
	struct server_loop	*sl;
	struct server		*srv;
	size_t			 i;
	int			 rv = 1;

	signal(SIGPIPE, SIG_IGN);
	server_raise_nofile();
	log_libevent_init();
	if ((sl = calloc(1, sizeof *sl)) == NULL) {
		log_msg("out of memory");
		return (1);
	}
	srv = &sl->srv;
	relay_init(&srv->relay);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->dead);
	srv->blur = o->blur_usage;
	if ((srv->base = event_base_new()) == NULL ||
	    (srv->reaper = event_new(srv->base, -1, 0, server_reaper_cb,
	    srv)) == NULL ||
	    (sl->resume = evtimer_new(srv->base, server_resume_cb,
	    sl)) == NULL ||
	    (sl->sigint = evsignal_new(srv->base, SIGINT, server_signal_cb,
	    sl)) == NULL ||
	    (sl->sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb,
	    sl)) == NULL ||
	    (sl->sighup = evsignal_new(srv->base, SIGHUP, server_sighup_cb,
	    sl)) == NULL) {
		log_msg("cannot start the event loop");
		goto out;
	}
	if (o->log_fd != -1 &&
	    (srv->log = logjson_new(srv->base, o->log_fd)) == NULL) {
		log_msg("out of memory");
		goto out;
	}
	sl->rebooted = (int64_t)conn_now();
	if (o->usage_db != NULL) {
		char err[512];
		struct timeval tv = { SERVER_CURRENT_S, 0 };

		if ((srv->db = db_open(o->usage_db, sl->rebooted, err,
		    sizeof err)) == NULL) {
			log_msg("usage db %s: %s", o->usage_db, err);
			goto out;
		}
		if ((sl->current = event_new(srv->base, -1, EV_PERSIST,
		    server_current_cb, sl)) == NULL) {
			log_msg("out of memory");
			goto out;
		}
		evtimer_add(sl->current, &tv);
	}
	if (server_listen(sl, o) == -1)
		goto out;
	evsignal_add(sl->sigint, NULL);
	evsignal_add(sl->sigterm, NULL);
	evsignal_add(sl->sighup, NULL);
	if (event_base_dispatch(srv->base) == -1)
		log_msg("event loop failed");
	else
		rv = 0;
out:
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_free(sl->listeners[i]);
	conn_end_all(srv);
	conn_reap(srv);
	if (rv == 0)
		server_current(sl);
	db_close(srv->db, SERVER_DB_FLUSH_S);
	logjson_free(srv->log);
	relay_free(&srv->relay);
	if (sl->sigint != NULL)
		event_free(sl->sigint);
	if (sl->sigterm != NULL)
		event_free(sl->sigterm);
	if (sl->sighup != NULL)
		event_free(sl->sighup);
	if (sl->resume != NULL)
		event_free(sl->resume);
	if (sl->current != NULL)
		event_free(sl->current);
	if (srv->reaper != NULL)
		event_free(srv->reaper);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(sl);
	return (rv);
}
