/*
 * acceptor.c: listeners on libevent's evconnlistener (acceptor.h).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acceptor.h"
#include "admit.h"
#include "conn.h"
#include "connset.h"
#include "listen.h"
#include "log.h"
#include "service.h"
#include "stats.h"
#include "tcpconn.h"
#include "wsconn.h"

#define ACCEPTOR_PAUSE_S	1

/*
 * Admit a client of transport t from sa, or refuse it at once, before
 * anything is allocated for it: closed and counted (admit.h).
 */
static void
acceptor_take(struct acceptor *a, int fd, const struct sockaddr *sa,
    const struct transport *t)
{
	struct server	*srv = a->srv;
	struct conn	*c;
	uint64_t	 src = 0;
	int		 cause, probe;

	probe = a->own != NULL && a->own(a->own_arg, sa);
	if (!probe && (cause = admit_accept(srv->admit, srv->lim, sa,
	    stats_get(&stats.conns), &src)) != 0) {
		stats_add(&stats.cause[cause], 1);
		close(fd);
		return;
	}
	if ((c = connset_accept(srv, fd, t, src)) != NULL)
		c->probe = probe;
}

static void
acceptor_tcp_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)salen;
	acceptor_take(arg, fd, sa, &tcpconn_transport);
}

static void
acceptor_ws_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)salen;
	acceptor_take(arg, fd, sa, &wsconn_transport);
}

/* Out of descriptors or memory: stop accepting for a second. */
static void
acceptor_error_cb(struct evconnlistener *l, void *arg)
{
	struct acceptor	*a = arg;
	struct timeval	 tv = { ACCEPTOR_PAUSE_S, 0 };
	int		 error = EVUTIL_SOCKET_ERROR();
	size_t		 i;

	(void)l;
	if (error == ECONNABORTED || error == EINTR)
		return;
	if (error == EMFILE || error == ENFILE)
		a->starved = time(NULL);
	if (evtimer_pending(a->resume, NULL))
		return;
	pump_pool_flush();	/* spare pipes hold descriptors */
	log_msg("accept: %s; pausing for %d s", strerror(error),
	    ACCEPTOR_PAUSE_S);
	for (i = 0; i < a->n; i++)
		evconnlistener_disable(a->listeners[i]);
	if (evtimer_add(a->resume, &tv) == -1)
		log_msg("cannot set the timer to accept again");
}

static void
acceptor_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor	*a = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < a->n; i++)
		evconnlistener_enable(a->listeners[i]);
}

/*
 * --keepalive: a peer gone without a word is found within about twice
 * secs (idle secs, then five probes secs/5 apart). 0 keeps the system's.
 */
static void
acceptor_keepalive(int fd, int secs)
{
	int	 idle = secs, intvl = secs / 5 > 0 ? secs / 5 : 1, cnt = 5;

	if (secs <= 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof idle) == -1 || setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
	    &intvl, sizeof intvl) == -1 || setsockopt(fd, IPPROTO_TCP,
	    TCP_KEEPCNT, &cnt, sizeof cnt) == -1)
		log_msg("cannot set --keepalive=%d: %s", secs, strerror(errno));
}

/* Keep where a client on this host reaches listener fd (for /health). */
static void
acceptor_local(struct acceptor *a, int fd)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&a->local;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&a->local;

	a->locallen = sizeof a->local;
	if (getsockname(fd, (struct sockaddr *)&a->local, &a->locallen) ==
	    -1) {
		a->local.ss_family = 0;
		return;
	}
	if (a->local.ss_family == AF_INET && s4->sin_addr.s_addr ==
	    htonl(INADDR_ANY))
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (a->local.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
		s6->sin6_addr = in6addr_loopback;
}

/*
 * Accept on listening socket fd, at addr and port, for TCP or
 * (websocket) WebSocket clients, whose public URL is url (NULL:
 * ws://localhost:PORT/). Returns 0, or -1 after saying why.
 */
static int
acceptor_add(struct acceptor *a, int fd, int websocket, const char *addr,
    int port, const char *url)
{
	struct evconnlistener	*l;
	char			 vis[256];
	int			 on = 1;

	/*
	 * Keepalive finds dead peers; no Nagle delay on relayed bytes.
	 * Accepted sockets inherit both, saving calls per connection.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	acceptor_keepalive(fd, a->srv->lim->keepalive);
	if (!websocket && a->local.ss_family == 0)
		acceptor_local(a, fd);
	l = evconnlistener_new(a->srv->base, websocket ? acceptor_ws_cb :
	    acceptor_tcp_cb, a, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l == NULL) {
		log_msg("cannot listen: out of memory");
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(l, acceptor_error_cb);
	a->listeners[a->n++] = l;
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
acceptor_bind(struct acceptor *a, const struct endpoint *ep, int websocket,
    const char *url)
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
	return (acceptor_add(a, fd, websocket, addr, port, url));
}

int
acceptor_take_passed(struct acceptor *a)
{
	struct sdproto_fds	 sf;
	char			 err[256], name[64], vis[64];
	int			 i, fd;

	if ((a->npassed = service_listen_fds(&sf, err, sizeof err)) == -1) {
		log_msg("socket activation: %s", err);
		return (-1);
	}
	for (i = 0; i < a->npassed; i++) {
		fd = SDPROTO_FDS_START + i;
		snprintf(name, sizeof name, "%.*s", (int)sf.fd[i].namelen,
		    sf.fd[i].name != NULL ? sf.fd[i].name : "");
		if (listen_passed(fd, a->passed[i].addr,
		    sizeof a->passed[i].addr, &a->passed[i].port, err,
		    sizeof err) == -1) {
			log_msg("socket %d (%s) from the service manager: %s",
			    fd, name[0] != '\0' ? endpoint_vis(vis, sizeof vis,
			    name) : "unnamed", err);
			return (-1);
		}
		a->passed[i].websocket = sf.fd[i].websocket;
	}
	return (0);
}

/* Listen on the passed sockets. Returns the WebSocket ones, or -1. */
static int
acceptor_listen_passed(struct acceptor *a, const struct opts *o)
{
	int	 n, nws = 0;

	log_msg("using %d sockets passed by the service manager; not "
	    "binding --port or --websocket", a->npassed);
	for (n = 0; n < a->npassed; n++) {
		nws += a->passed[n].websocket;
		if (acceptor_add(a, SDPROTO_FDS_START + n,
		    a->passed[n].websocket, a->passed[n].addr,
		    a->passed[n].port, o->websocket_url) == -1)
			return (-1);
	}
	return (nws);
}

int
acceptor_listen(struct acceptor *a, struct server *srv, const struct opts *o)
{
	size_t	 i;
	int	 nws;

	a->srv = srv;
	if ((a->resume = evtimer_new(srv->base, acceptor_resume_cb,
	    a)) == NULL) {
		log_msg("cannot listen: out of memory");
		return (-1);
	}
	if (a->npassed > 0) {
		if ((nws = acceptor_listen_passed(a, o)) == -1)
			return (-1);
	} else {
		for (i = 0; i < o->nports; i++)
			if (acceptor_bind(a, &o->ports[i], 0, NULL) == -1)
				return (-1);
		for (i = 0; i < o->nwebsockets; i++)
			if (acceptor_bind(a, &o->websockets[i], 1,
			    o->websocket_url) == -1)
				return (-1);
		nws = (int)o->nwebsockets;
	}
	if (o->websocket_url != NULL && nws == 0)
		log_msg("--websocket-url is ignored without a WebSocket "
		    "listener");
	return (0);
}

void
acceptor_stop(struct acceptor *a)
{
	size_t	 i;

	for (i = 0; i < a->n; i++)
		evconnlistener_free(a->listeners[i]);
	a->n = 0;
	if (a->resume != NULL) {
		event_free(a->resume);
		a->resume = NULL;
	}
}
