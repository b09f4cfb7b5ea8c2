/*
 * server.c: the event loop: listeners (bound, or passed by a service
 * manager; with a pause on descriptor exhaustion), signals and graceful
 * drain, notifications to the service manager, and the reaper that
 * frees closed connections.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "listen.h"
#include "log.h"
#include "logjson.h"
#include "pool.h"
#include "server.h"
#include "service.h"

#define SERVER_ACCEPT_PAUSE_S	1
#define SERVER_CURRENT_S	300	/* current row; Munin calls it stale after */
#define SERVER_DB_FLUSH_S	10	/* at exit, retry a refusing database */
#define SERVER_STATUS_S		1	/* STATUS= at most this often */
#define SERVER_DRAIN_CHECK_MS	20	/* draining: are the pairs done? */
#define SERVER_PRIORITIES	2	/* signals, then the rest */
#define SERVER_LISTENERS_MAX	(SDPROTO_FDS_MAX > 2 * OPTS_PORTS_MAX ? \
				    SDPROTO_FDS_MAX : 2 * OPTS_PORTS_MAX)

struct server_loop {
	struct server		 srv;
	const struct opts	*o;
	struct service		 svc;
	struct evconnlistener	*listeners[SERVER_LISTENERS_MAX];
	size_t			 nlisteners;
	struct event		*resume;	/* accept again after EMFILE */
	struct event		*sigint, *sigterm, *sighup;
	struct event		*current;	/* rewrite the current row */
	struct event		*status;	/* STATUS= to the manager */
	struct event		*watchdog;	/* WATCHDOG=1 to the manager */
	struct event		*drain;		/* --drain-timeout is up */
	struct event		*drained;	/* check for the end of pairs */
	int			 log_file_fd;	/* --log-file, or -1 */
	int			 npassed;	/* sockets from the manager */
	struct {
		int		 websocket;
		int		 port;
		char		 addr[64];
	}			 passed[SDPROTO_FDS_MAX];
	int64_t			 rebooted;
	int			 stopping;	/* a SIGTERM came: draining */
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
	pump_pool_flush();	/* spare pipes hold descriptors */
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

/* What every thread holds: home's counts plus the workers'. */
static void
server_stats(struct server_loop *sl, struct pool_stats *st)
{
	struct server	*srv = &sl->srv;

	memset(st, 0, sizeof *st);
	if (srv->pool != NULL)
		pool_stats(srv->pool, st);
	st->npaired += srv->relay.npaired;
	st->nconns += srv->nconns;
}

/* How many connections of pairs still relay, in every thread. */
static size_t
server_busy(struct server_loop *sl)
{
	struct pool_stats	 st;

	server_stats(sl, &st);
	return (st.busy + conn_busy(&sl->srv));
}

/* Queue the database's current row. */
static void
server_current(struct server_loop *sl)
{
	struct db_current	 cur;
	struct pool_stats	 st;

	if (sl->srv.db == NULL)
		return;
	conn_current(&sl->srv, &cur);
	if (sl->srv.pool != NULL) {
		pool_stats(sl->srv.pool, &st);
		cur.connected += st.npaired;
		cur.incomplete_bytes += st.incomplete_bytes;
	}
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

/* The plural ending of n things. */
static const char *
server_s(size_t n)
{
	return (n == 1 ? "" : "s");
}

/*
 * The manager's STATUS= line: what the relay is doing. The timer is set
 * anew after each look, SERVER_STATUS_S from then: a periodic one keeps
 * its grid, so a late tick would be followed by one less than
 * SERVER_STATUS_S later.
 */
static void
server_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct timeval		 tv = { SERVER_STATUS_S, 0 };
	struct pool_stats	 st;
	size_t			 pairs;
	char			 status[200];

	(void)fd;
	(void)what;
	if (sl->svc.fd == -1)
		return;
	server_stats(sl, &st);
	pairs = st.npaired / 2;
	snprintf(status, sizeof status, "%s%zu pair%s relaying, %zu waiting "
	    "for a partner, %zu connection%s", sl->stopping ? "draining: " : "",
	    pairs, server_s(pairs), sl->srv.relay.ntokens, st.nconns,
	    server_s(st.nconns));
	service_status(&sl->svc, status);
	/* From now, not from when this turn of the loop began. */
	event_base_update_cache_time(sl->srv.base);
	if (evtimer_add(sl->status, &tv) == -1)
		log_msg("cannot set the STATUS= timer");
}

static void
server_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;

	(void)fd;
	(void)what;
	service_notify(&sl->svc, "WATCHDOG=1");
}

static void
server_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;

	(void)fd;
	(void)what;
	conn_reap(&sl->srv);
}

/* Draining: stop once no pair is left and every relayed byte written. */
static void
server_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;

	(void)fd;
	(void)what;
	if (server_busy(sl) == 0) {
		log_msg("drained: every pair has finished");
		event_base_loopbreak(sl->srv.base);
	}
}

static void
server_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct pool_stats	 st;
	size_t			 pairs;

	(void)fd;
	(void)what;
	server_stats(sl, &st);
	pairs = st.npaired / 2;
	log_msg("drain timeout (%d s): ending %zu pair%s now",
	    sl->o->drain_timeout, pairs, server_s(pairs));
	event_base_loopbreak(sl->srv.base);
}

/*
 * SIGINT or SIGTERM: stop accepting, end the connections that are not
 * in a pair, and let the pairs finish for up to --drain-timeout; the
 * same signal again ends them at once. Either way every record is
 * written before exit.
 */
static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct server		*srv = &sl->srv;
	struct timeval		 tv = { sl->o->drain_timeout, 0 };
	struct timeval		 check = { 0, SERVER_DRAIN_CHECK_MS * 1000 };
	struct pool_stats	 st;
	size_t			 i, pairs;

	(void)what;
	server_stats(sl, &st);
	pairs = st.npaired / 2;
	if (sl->stopping) {
		log_msg("%s again: ending %zu pair%s now", strsignal(sig), pairs,
		    server_s(pairs));
		event_base_loopbreak(srv->base);
		return;
	}
	sl->stopping = 1;
	service_notify(&sl->svc, "STOPPING=1");
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_free(sl->listeners[i]);
	sl->nlisteners = 0;
	evtimer_del(sl->resume);
	conn_drain(srv);
	server_current(sl);	/* the waiters are gone */
	server_stats(sl, &st);
	pairs = st.npaired / 2;
	if (st.busy + conn_busy(srv) == 0 || sl->o->drain_timeout == 0) {
		log_msg("%s: stopping", strsignal(sig));
		event_base_loopbreak(srv->base);
		return;
	}
	log_msg("%s: stopping; %zu pair%s may finish for up to %d s (send it "
	    "again to end them now)", strsignal(sig), pairs, server_s(pairs),
	    sl->o->drain_timeout);
	evtimer_add(sl->drain, &tv);
	evtimer_add(sl->drained, &check);
	server_status_cb(-1, 0, sl);
}

/*
 * Open --log-file for appending. Returns the descriptor, or -1. Not
 * blocking, even to open: a FIFO without a reader must not stop the relay.
 */
static int
server_log_open(const char *path)
{
	return (open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK, 0666));
}

/*
 * SIGHUP (log rotation, systemctl reload): reopen --log-file; nothing
 * else can change without a restart. It never drops a connection.
 */
static void
server_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct timespec		 ts;
	char			 msg[64];
	int			 fd;

	(void)sig;
	(void)what;
	if (sl->stopping) {
		log_msg("SIGHUP: stopping; ignored");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	service_notify(&sl->svc, msg);
	if (sl->o->log_file == NULL)
		log_msg("SIGHUP: nothing to reload; still serving");
	else if ((fd = server_log_open(sl->o->log_file)) == -1)
		log_msg("SIGHUP: cannot reopen %s: %s; still writing to the "
		    "old file", sl->o->log_file, strerror(errno));
	else {
		close(logjson_set_fd(sl->srv.log, fd));
		sl->log_file_fd = fd;
		log_msg("SIGHUP: reopened %s; still serving", sl->o->log_file);
	}
	service_notify(&sl->svc, "READY=1");
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
 * Accept on listening socket fd, at addr and port, for TCP or
 * (websocket) WebSocket clients, whose public URL is url (NULL:
 * ws://localhost:PORT/). Returns 0, or -1 after saying why.
 */
static int
server_add_listener(struct server_loop *sl, int fd, int websocket,
    const char *addr, int port, const char *url)
{
	struct evconnlistener	*l;
	char			 vis[256];
	int			 on = 1;

	/*
	 * Keepalive finds dead peers; no Nagle delay on relayed bytes.
	 * Accepted sockets inherit both, saving two calls per connection.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	l = evconnlistener_new(sl->srv.base, websocket ? server_accept_ws_cb :
	    server_accept_cb, sl, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l == NULL) {
		log_msg("cannot listen: out of memory");
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(l, server_accept_error_cb);
	sl->listeners[sl->nlisteners++] = l;
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

/* Bind a listener on ep. Returns 0, or -1 after saying why. */
static int
server_listen_one(struct server_loop *sl, const struct endpoint *ep,
    int websocket, const char *url)
{
	const char	*addr = ep->interface[0] != '\0' ? ep->interface :
			    "0.0.0.0";
	char		 err[256];
	int		 fd, port;

	if ((fd = listen_open(ep, &port, err, sizeof err)) == -1) {
		log_msg("cannot listen%s on %s port %d: %s",
		    websocket ? " for WebSocket" : "", addr, ep->port, err);
		return (-1);
	}
	return (server_add_listener(sl, fd, websocket, addr, port, url));
}

/*
 * Take the sockets a service manager passed (socket activation), before
 * this process opens any descriptor of its own that could be mistaken
 * for a missing one. Returns 0, or -1 after saying why.
 */
static int
server_take_passed(struct server_loop *sl)
{
	struct sdproto_fds	 sf;
	char			 err[256], name[64], vis[64];
	int			 i, fd;

	if ((sl->npassed = service_listen_fds(&sf, err, sizeof err)) == -1) {
		log_msg("socket activation: %s", err);
		return (-1);
	}
	for (i = 0; i < sl->npassed; i++) {
		fd = SDPROTO_FDS_START + i;
		snprintf(name, sizeof name, "%.*s", (int)sf.fd[i].namelen,
		    sf.fd[i].name != NULL ? sf.fd[i].name : "");
		if (listen_passed(fd, sl->passed[i].addr,
		    sizeof sl->passed[i].addr, &sl->passed[i].port, err,
		    sizeof err) == -1) {
			log_msg("socket %d (%s) from the service manager: %s",
			    fd, name[0] != '\0' ? endpoint_vis(vis, sizeof vis,
			    name) : "unnamed", err);
			return (-1);
		}
		sl->passed[i].websocket = sf.fd[i].websocket;
	}
	return (0);
}

/* Open the listeners of o. Returns 0, or -1 after saying why. */
static int
server_listen(struct server_loop *sl, const struct opts *o)
{
	size_t	 i;
	int	 n, nws = 0;

	if (sl->npassed > 0) {
		log_msg("using %d sockets passed by the service manager; not "
		    "binding --port or --websocket", sl->npassed);
		for (n = 0; n < sl->npassed; n++) {
			nws += sl->passed[n].websocket;
			if (server_add_listener(sl, SDPROTO_FDS_START + n,
			    sl->passed[n].websocket, sl->passed[n].addr,
			    sl->passed[n].port, o->websocket_url) == -1)
				return (-1);
		}
	} else {
		for (i = 0; i < o->nports; i++)
			if (server_listen_one(sl, &o->ports[i], 0, NULL) == -1)
				return (-1);
		for (i = 0; i < o->nwebsockets; i++)
			if (server_listen_one(sl, &o->websockets[i], 1,
			    o->websocket_url) == -1)
				return (-1);
		nws = (int)o->nwebsockets;
	}
	if (o->websocket_url != NULL && nws == 0)
		log_msg("--websocket-url is ignored without a WebSocket "
		    "listener");
	return (0);
}

/* Make the timer ev fire every usec microseconds. */
static void
server_every(struct event *ev, uint64_t usec)
{
	struct timeval	 tv = { (time_t)(usec / 1000000),
			    (suseconds_t)(usec % 1000000) };

	evtimer_add(ev, &tv);
}

/* Open --log-fd or --log-file. Returns 0, or -1 after saying why. */
static int
server_log_init(struct server_loop *sl, const struct opts *o)
{
	char	 name[300];
	int	 fd = o->log_fd;

	if (o->log_file != NULL &&
	    (fd = sl->log_file_fd = server_log_open(o->log_file)) == -1) {
		log_msg("cannot open log file %s: %s", o->log_file,
		    strerror(errno));
		return (-1);
	}
	if (o->log_file != NULL)
		snprintf(name, sizeof name, "log file %s", o->log_file);
	else
		snprintf(name, sizeof name, "log fd %d", fd);
	if (fd != -1 &&
	    (sl->srv.log = logjson_new(sl->srv.base, fd, name)) == NULL) {
		log_msg("out of memory");
		return (-1);
	}
	return (0);
}

int
server_run(const struct opts *o)
{
	struct server_loop	*sl;
	struct server		*srv;
	size_t			 i;
	int			 rv = 1, threads;

	signal(SIGPIPE, SIG_IGN);
	server_raise_nofile();
	pump_budget_init();
	log_libevent_init();
	if ((sl = calloc(1, sizeof *sl)) == NULL) {
		log_msg("out of memory");
		return (1);
	}
	sl->o = o;
	sl->log_file_fd = -1;
	sl->svc.fd = -1;
	srv = &sl->srv;
	relay_init(&srv->relay);
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->dead);
	srv->blur = o->blur_usage;
	if (server_take_passed(sl) == -1)
		goto out;
	service_init(&sl->svc);
	if ((srv->base = event_base_new()) == NULL ||
	    event_base_priority_init(srv->base, SERVER_PRIORITIES) == -1 ||
	    (srv->reaper = event_new(srv->base, -1, 0, server_reaper_cb,
	    sl)) == NULL ||
	    (sl->resume = evtimer_new(srv->base, server_resume_cb,
	    sl)) == NULL ||
	    (sl->drain = evtimer_new(srv->base, server_drain_cb,
	    sl)) == NULL ||
	    (sl->drained = event_new(srv->base, -1, EV_PERSIST,
	    server_drained_cb, sl)) == NULL ||
	    (sl->status = event_new(srv->base, -1, 0,
	    server_status_cb, sl)) == NULL ||
	    (sl->watchdog = event_new(srv->base, -1, EV_PERSIST,
	    server_watchdog_cb, sl)) == NULL ||
	    (sl->sigint = evsignal_new(srv->base, SIGINT, server_signal_cb,
	    sl)) == NULL ||
	    (sl->sigterm = evsignal_new(srv->base, SIGTERM, server_signal_cb,
	    sl)) == NULL ||
	    (sl->sighup = evsignal_new(srv->base, SIGHUP, server_sighup_cb,
	    sl)) == NULL) {
		log_msg("cannot start the event loop");
		goto out;
	}
	/*
	 * Signals first: a connection queued when SIGTERM comes must stay
	 * in the listening socket, for the next process to take.
	 */
	event_priority_set(sl->sigint, 0);
	event_priority_set(sl->sigterm, 0);
	/* Caught from now on: one that comes while starting waits its turn. */
	evsignal_add(sl->sigint, NULL);
	evsignal_add(sl->sigterm, NULL);
	evsignal_add(sl->sighup, NULL);
	if (server_log_init(sl, o) == -1)
		goto out;
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
	threads = o->threads > 0 ? o->threads : pool_default_threads();
	if (threads > 1 && pool_new(srv, threads) == NULL)
		goto out;
	if (server_listen(sl, o) == -1)
		goto out;
	if (sl->svc.fd != -1) {
		/* Twice per interval, as sd_watchdog_enabled(3) advises. */
		if (sl->svc.watchdog_usec > 0) {
			uint64_t every = sl->svc.watchdog_usec > 2000 ?
			    sl->svc.watchdog_usec / 2 : 1000;

			server_every(sl->watchdog, every);
			log_msg("watchdog: WATCHDOG=1 every %g s",
			    (double)every / 1e6);
		}
		service_notify(&sl->svc, "READY=1");
		server_status_cb(-1, 0, sl);
	}
	if (event_base_dispatch(srv->base) == -1)
		log_msg("event loop failed");
	else
		rv = 0;
	if (srv->pool != NULL)
		pool_report(srv->pool);
out:
	for (i = 0; i < sl->nlisteners; i++)
		evconnlistener_free(sl->listeners[i]);
	pool_free(srv->pool);
	conn_end_all(srv);
	conn_reap(srv);
	pump_pool_flush();
	if (rv == 0)
		server_current(sl);
	db_close(srv->db, SERVER_DB_FLUSH_S);
	logjson_free(srv->log);
	if (sl->log_file_fd != -1)
		close(sl->log_file_fd);
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
	if (sl->drain != NULL)
		event_free(sl->drain);
	if (sl->drained != NULL)
		event_free(sl->drained);
	if (sl->status != NULL)
		event_free(sl->status);
	if (sl->watchdog != NULL)
		event_free(sl->watchdog);
	if (srv->reaper != NULL)
		event_free(srv->reaper);
	if (srv->base != NULL)
		event_base_free(srv->base);
	service_free(&sl->svc);
	free(sl);
	return (rv);
}
