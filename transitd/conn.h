/*
 * conn.h: one client connection as the event loop sees it, and the
 * server state the connections share. The protocol decisions are the
 * core's (relay.h); this layer moves bytes and runs the actions.
 */
#ifndef TRANSITD_CONN_H
#define TRANSITD_CONN_H

#include <sys/queue.h>

#include <stdint.h>

#include "pump.h"
#include "relay.h"

struct event;
struct event_base;
struct logjson;
struct db;
struct db_current;
struct pool;
struct worker;
struct usage_rec;

TAILQ_HEAD(conn_list, conn);

struct server {
	struct event_base	*base;
	struct relay		 relay;
	struct logjson		*log;		/* NULL: no --log-fd */
	struct db		*db;		/* NULL: no --usage-db */
	unsigned long		 blur;		/* --blur-usage, 0: none */
	uint64_t		 next_id;
	struct conn_list	 conns;		/* open */
	size_t			 nconns;	/* in conns */
	struct conn_list	 dead;		/* closed, to be freed */
	struct event		*reaper;	/* frees dead after callbacks */
	struct pool		*pool;		/* home of --threads, or NULL */
	struct worker		*worker;	/* a worker's, or NULL */
};

struct conn;
struct wsconn;

/* What differs between a plain TCP client and a WebSocket one. */
struct conn_ops {
	/* The socket is readable. */
	void	(*read)(struct conn *);
	/* Queue a reply line of the relay ("ok\n", ...). Returns 0 or -1. */
	int	(*reply)(struct conn *, const char *line);
	/* Queue len relayed bytes; they fit. Returns 0, or -1 with errno. */
	int	(*send)(struct conn *, const void *, size_t);
	/* Most relayed bytes one send may take while out is empty. */
	size_t	  send_max;
	/* The relay ends the connection: queue a goodbye, if any. */
	void	(*close)(struct conn *, int toobig);
};

struct conn {
	struct server		*srv;
	const struct conn_ops	*ops;
	struct wsconn		*ws;		/* WebSocket state, or NULL */
	int			 fd;
	struct event		*rev;
	struct event		*wev;
	struct event		*timer;		/* lingering close */
	struct relay_conn	 rc;
	struct conn		*peer;		/* while relaying */
	struct pump		 out;		/* bytes on their way to fd */
	const char		*pend;		/* reply not yet written */
	size_t			 pendlen;
	int			 flags;
#define CONN_READING	0x1	/* rev added */
#define CONN_WRITING	0x2	/* wev added */
#define CONN_CLOSING	0x4	/* flush out, then linger */
#define CONN_LINGER	0x8	/* write side shut, discarding input */
#define CONN_DEAD	0x10	/* fd closed, on srv->dead */
#define CONN_RELAYED	0x20	/* was in a pair */
#define CONN_EOF	0x40	/* the client's FIN was read */
#define CONN_SETTLED	0x80	/* its thread is chosen (--threads) */
	TAILQ_ENTRY(conn)	 entry;
};

/* Seconds since the epoch, as the usage records want them. */
double	conn_now(void);
/*
 * Take a freshly accepted socket of a TCP (websocket 0) or WebSocket
 * listener. Closes it and returns -1 on failure.
 */
int	conn_accept(struct server *, int fd, int websocket);
/* End every connection, each with its usage record (server stopping). */
void	conn_end_all(struct server *);
/*
 * The server stops accepting: end every connection that is not in a
 * pair, with its record (a WebSocket one with a close frame).
 */
void	conn_drain(struct server *);
/*
 * How many connections of pairs still relay: paired, or with bytes owed
 * to their client in the relay or in the kernel (unsent or unacked).
 * Closing one of those could lose the bytes: a client that sends after
 * the close gets a reset, and the kernel drops what it held for it.
 */
size_t	conn_busy(struct server *);
/* Fill the live counts of the database's current row. */
void	conn_current(struct server *, struct db_current *);
/* Free the connections closed since the last call. */
void	conn_reap(struct server *);
/* Write a record: JSON line and database row (home thread). */
void	conn_record(struct server *, const struct usage_rec *);
/*
 * --threads: take c, in a live pair, off its thread's loop (conn_release,
 * on that thread), then give c and its peer to srv's (conn_adopt_pair,
 * on srv's thread; if that fails they end, with their record).
 */
void	conn_release(struct conn *);
void	conn_adopt_pair(struct server *, struct conn *);

/* For the transports (wsconn.c): the relay's side of a connection. */
void	conn_update(struct conn *);
int	conn_flush(struct conn *);
void	conn_close_soon(struct conn *);
void	conn_ended(struct conn *);
void	conn_run(struct server *, struct relay_act *, size_t);
size_t	conn_recv(struct conn *, void *, size_t);
void	conn_input(struct conn *, const char *, size_t);
int	conn_forward(struct conn *, const void *, size_t);
int	conn_timer(struct conn *, int secs);

#endif
