/*
 * server.c: the home event loop, from start to exit: its events, the
 * log and the database, the threads, the listeners, readiness, and at
 * the end every record written. What steers it while it runs is
 * control.c's; the listeners are the acceptor's, the threads the pool's.
 */
#include <sys/resource.h>

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "connset.h"
#include "control.h"
#include "db.h"
#include "log.h"
#include "logjson.h"
#include "loop.h"
#include "pace.h"
#include "pool.h"
#include "server.h"
#include "status.h"
#include "watch.h"

/* Home's records: to the JSON log and the database. */
static void
server_record(struct server *srv, const struct usage_rec *rec)
{
	struct server_loop	*sl = (struct server_loop *)((char *)srv -
				    offsetof(struct server_loop, srv));

	record_write(&sl->rec, rec);
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
server_mover_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connset_movers(arg);
}

static void
server_reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connset_reap(arg);
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

/* Open --log-fd or --log-file. Returns 0, or -1 after saying why. */
static int
server_log_init(struct server_loop *sl, const struct opts *o)
{
	char	 name[300];
	int	 fd = o->log_fd;

	if (o->log_file != NULL &&
	    (fd = sl->log_file_fd = control_log_open(o->log_file)) == -1) {
		log_msg("cannot open log file %s: %s", o->log_file,
		    strerror(errno));
		return (-1);
	}
	if (o->log_file != NULL)
		snprintf(name, sizeof name, "log file %s", o->log_file);
	else
		snprintf(name, sizeof name, "log fd %d", fd);
	if (fd != -1 &&
	    (sl->rec.log = logjson_new(sl->srv.base, fd, name)) == NULL) {
		log_msg("out of memory");
		return (-1);
	}
	return (0);
}

/* Make the loop and its events. Returns 0, or -1 after saying why. */
static int
server_events(struct server_loop *sl)
{
	struct server	*srv = &sl->srv;

	if ((srv->base = event_base_new()) == NULL ||
	    event_base_priority_init(srv->base, SERVER_PRIORITIES) == -1 ||
	    (srv->reaper = event_new(srv->base, -1, 0, server_reaper_cb,
	    srv)) == NULL ||
	    (srv->mover = event_new(srv->base, -1, 0, server_mover_cb,
	    srv)) == NULL ||
	    (sl->drain = evtimer_new(srv->base, control_drain_cb,
	    sl)) == NULL ||
	    (sl->drained = event_new(srv->base, -1, EV_PERSIST,
	    control_drained_cb, sl)) == NULL ||
	    (sl->status = evtimer_new(srv->base, control_status_cb,
	    sl)) == NULL ||
	    (sl->watchdog = event_new(srv->base, -1, EV_PERSIST,
	    server_watchdog_cb, sl)) == NULL ||
	    (sl->current = event_new(srv->base, -1, EV_PERSIST,
	    control_current_cb, sl)) == NULL ||
	    (sl->sigint = evsignal_new(srv->base, SIGINT, control_signal_cb,
	    sl)) == NULL ||
	    (sl->sigterm = evsignal_new(srv->base, SIGTERM, control_signal_cb,
	    sl)) == NULL ||
	    (sl->sighup = evsignal_new(srv->base, SIGHUP, control_sighup_cb,
	    sl)) == NULL) {
		log_msg("cannot start the event loop");
		return (-1);
	}
	/*
	 * Signals first: a connection queued when SIGTERM comes must stay
	 * in the listening socket, for the next process to take.
	 */
	event_priority_set(sl->sigint, 0);
	event_priority_set(sl->sigterm, 0);
	/* Caught from now on: one that comes while starting waits its turn. */
	if (evsignal_add(sl->sigint, NULL) == -1 ||
	    evsignal_add(sl->sigterm, NULL) == -1 ||
	    evsignal_add(sl->sighup, NULL) == -1) {
		log_msg("cannot catch signals");
		return (-1);
	}
	return (0);
}

/* Open --usage-db. Returns 0, or -1 after saying why. */
static int
server_db_init(struct server_loop *sl, const char *path)
{
	struct timeval	 tv = { SERVER_CURRENT_S, 0 };
	char		 err[512];

	if ((sl->rec.db = db_open(path, sl->rebooted, err,
	    sizeof err)) == NULL) {
		log_msg("usage db %s: %s", path, err);
		return (-1);
	}
	return (evtimer_add(sl->current, &tv));
}

/* Tell the manager the relay is ready, and start its timers. */
static void
server_ready(struct server_loop *sl)
{
	struct timeval	 tv;
	uint64_t	 every;

	if (sl->svc.fd == -1)
		return;
	/* Twice per interval, as sd_watchdog_enabled(3) advises. */
	if (sl->svc.watchdog_usec > 0) {
		every = sl->svc.watchdog_usec > 2000 ?
		    sl->svc.watchdog_usec / 2 : 1000;
		tv.tv_sec = (time_t)(every / 1000000);
		tv.tv_usec = (suseconds_t)(every % 1000000);
		if (evtimer_add(sl->watchdog, &tv) == -1)
			log_msg("cannot set the watchdog timer");
		log_msg("watchdog: WATCHDOG=1 every %g s", (double)every / 1e6);
	}
	service_notify(&sl->svc, "READY=1");
	/* Nothing was handed to other threads yet: home's figures are all. */
	control_status(sl);
}

/* Everything up to serving. Returns 0, or -1 after saying why. */
static int
server_start(struct server_loop *sl, const struct opts *o)
{
	int	 threads;

	if (acceptor_take_passed(&sl->acc) == -1)
		return (-1);
	service_init(&sl->svc);
	if (server_events(sl) == -1 || server_log_init(sl, o) == -1)
		return (-1);
	sl->rebooted = (int64_t)record_now();
	if (o->usage_db != NULL && server_db_init(sl, o->usage_db) == -1)
		return (-1);
	threads = sl->threads = o->threads > 0 ? o->threads :
	    pool_default_threads();
	if (threads > 1 && (sl->pool = pool_new(&sl->srv, &sl->rec, threads,
	    control_answered, sl)) == NULL)
		return (-1);
	if (acceptor_listen(&sl->acc, &sl->srv, o) == -1 ||
	    watch_start(sl->srv.base, sl->srv.admit) == -1 ||
	    (o->nstatus > 0 && (sl->http = status_start(sl)) == NULL))
		return (-1);
	server_ready(sl);
	return (0);
}

static void
server_free_event(struct event *ev)
{
	if (ev != NULL)
		event_free(ev);
}

/* End what is left (every record written) and free it all. */
static void
server_end(struct server_loop *sl, int served)
{
	struct server	*srv = &sl->srv;

	status_free(sl->http);
	sl->http = NULL;
	acceptor_stop(&sl->acc);
	pool_free(sl->pool);
	sl->pool = NULL;
	connset_end_all(srv);
	connset_reap(srv);
	watch_stop();
	admit_free(srv->admit);
	srv->admit = NULL;
	pump_pool_flush();
	if (served)
		control_current(sl);
	db_close(sl->rec.db, SERVER_DB_FLUSH_S);
	logjson_free(sl->rec.log);
	if (sl->log_file_fd != -1)
		close(sl->log_file_fd);
	relay_free(&srv->relay);
	server_free_event(sl->sigint);
	server_free_event(sl->sigterm);
	server_free_event(sl->sighup);
	server_free_event(sl->current);
	server_free_event(sl->drain);
	server_free_event(sl->drained);
	server_free_event(sl->status);
	server_free_event(sl->watchdog);
	server_free_event(srv->reaper);
	server_free_event(srv->mover);
	if (srv->base != NULL)
		event_base_free(srv->base);
	service_free(&sl->svc);
	if (srv->event_errors > 0)
		log_msg("%llu connection%s ended because %s events could not "
		    "be set", (unsigned long long)srv->event_errors,
		    srv->event_errors == 1 ? "" : "s",
		    srv->event_errors == 1 ? "its" : "their");
}

int
server_run(const struct opts *o)
{
	struct server_loop	*sl;
	int			 rv = 1;

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
	connset_init(&sl->srv);
	sl->srv.record = server_record;
	sl->srv.lim = &o->lim;
	sl->srv.pacer = &pace_pacer;
	pace_global_init(&o->lim);
	sl->rec.blur = o->blur_usage;
	sl->rec.seen = watch_record;
	if ((sl->srv.admit = admit_new(&o->lim)) == NULL &&
	    (o->lim.max_per_ip > 0 || o->lim.max_waiting_per_ip > 0 ||
	    o->lim.daily_bytes_per_ip > 0)) {
		log_msg("out of memory");
		free(sl);
		return (1);
	}
	if (server_start(sl, o) == 0) {
		if (event_base_dispatch(sl->srv.base) == -1)
			log_msg("event loop failed");
		else
			rv = 0;
		if (sl->pool != NULL)
			pool_report(sl->pool);
	}
	server_end(sl, rv == 0);
	free(sl);
	return (rv);
}
