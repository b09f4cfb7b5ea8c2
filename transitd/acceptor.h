/*
 * acceptor.h: the relay's listeners (bound from --port and --websocket,
 * or passed by a service manager), each handing accepted sockets to the
 * connection layer with its transport, and a pause when descriptors or
 * memory run out.
 */
#ifndef TRANSITD_ACCEPTOR_H
#define TRANSITD_ACCEPTOR_H

#include <sys/socket.h>

#include <stddef.h>
#include <time.h>

#include "opts.h"
#include "sdproto.h"

struct event;
struct evconnlistener;
struct server;

#define ACCEPTOR_MAX	(SDPROTO_FDS_MAX > 2 * OPTS_PORTS_MAX ? \
			    SDPROTO_FDS_MAX : 2 * OPTS_PORTS_MAX)

struct acceptor {
	struct server		*srv;
	struct evconnlistener	*listeners[ACCEPTOR_MAX];
	size_t			 n;
	struct event		*resume;	/* accept again after EMFILE */
	int			 npassed;	/* sockets from the manager */
	struct {
		int		 websocket;
		int		 port;
		char		 addr[64];
	}			 passed[SDPROTO_FDS_MAX];
	/* The first plain TCP listener, as a client on this host reaches
	   it (/health pairs through it); its family 0 when there is none. */
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
	time_t			 starved;	/* last out of descriptors */
	/* Whether an accepted client is one of our own (/health's). */
	int			(*own)(void *, const struct sockaddr *);
	void			*own_arg;
};

/*
 * Take the sockets a service manager passed (socket activation), before
 * this process opens any descriptor of its own that could be mistaken
 * for a missing one. Returns 0, or -1 after saying why.
 */
int	acceptor_take_passed(struct acceptor *);
/*
 * Listen for srv: on the passed sockets, else on the endpoints of o.
 * Returns 0, or -1 after saying why.
 */
int	acceptor_listen(struct acceptor *, struct server *,
	    const struct opts *);
/* Stop accepting: close the listeners (SIGTERM, exit). */
void	acceptor_stop(struct acceptor *);

#endif
