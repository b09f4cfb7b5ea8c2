/*
 * loop.h: the home thread's loop, shared by its setup (server.c) and
 * its control (control.c).
 */
#ifndef TRANSITD_LOOP_H
#define TRANSITD_LOOP_H

#include "acceptor.h"
#include "conn.h"
#include "opts.h"
#include "record.h"
#include "service.h"

struct pool;
struct status;

#define SERVER_CURRENT_S	300	/* current row; Munin calls it stale after */
#define SERVER_DB_FLUSH_S	10	/* at exit, retry a refusing database */
#define SERVER_STATUS_S		1	/* STATUS= at most this often */
#define SERVER_DRAIN_CHECK_MS	20	/* draining: are the pairs done? */
#define SERVER_PRIORITIES	2	/* signals, then the rest */

/* What waits for the threads' figures (control_ask). */
#define SERVER_WANT_CURRENT	0x1	/* the database's current row */
#define SERVER_WANT_STATUS	0x2	/* STATUS= */
#define SERVER_WANT_STOP	0x4	/* a first SIGTERM: stop now, or drain */
#define SERVER_WANT_DRAINED	0x8	/* draining: are the pairs done? */

struct server_loop {
	struct server		 srv;
	struct recorder		 rec;
	const struct opts	*o;
	struct service		 svc;
	struct acceptor		 acc;
	struct pool		*pool;		/* --threads > 1 */
	int			 threads;	/* in all, home's too */
	struct status		*http;		/* --status, or NULL */
	struct event		*sigint, *sigterm, *sighup;
	struct event		*current;	/* rewrite the current row */
	struct event		*status;	/* STATUS= to the manager */
	struct event		*watchdog;	/* WATCHDOG=1 to the manager */
	struct event		*drain;		/* --drain-timeout is up */
	struct event		*drained;	/* check for the end of pairs */
	int			 log_file_fd;	/* --log-file, or -1 */
	int64_t			 rebooted;
	int			 stopping;	/* a SIGTERM came: draining */
	int			 signo;		/* which */
	unsigned		 want;		/* SERVER_WANT_* */
};

#endif
