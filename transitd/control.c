/*
 * control.c: signals, drain, STATUS= and the current row (control.h).
 */
#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connset.h"
#include "control.h"
#include "db.h"
#include "log.h"
#include "logjson.h"
#include "loop.h"
#include "pool.h"
#include "record.h"

/* What every thread holds: home's counts plus the workers' last ones. */
static void
control_stats(struct server_loop *sl, struct loop_stats *st)
{
	memset(st, 0, sizeof *st);
	if (sl->pool != NULL)
		pool_stats(sl->pool, st);
	st->npaired += sl->srv.relay.npaired;
	st->nconns += sl->srv.nconns;
}

/* Do what want needs once the threads' figures are in. */
void
control_ask(struct server_loop *sl, unsigned want)
{
	sl->want |= want;
	if (sl->pool != NULL)
		pool_ask(sl->pool);
	else
		control_answered(sl);
}

/* Queue the database's current row. */
void
control_current(struct server_loop *sl)
{
	struct db_current	 cur;
	struct loop_stats	 st;

	if (sl->rec.db == NULL)
		return;
	connset_current(&sl->srv, &cur);
	if (sl->pool != NULL) {
		pool_stats(sl->pool, &st);
		cur.connected += st.npaired;
		cur.incomplete_bytes += st.incomplete_bytes;
	}
	cur.rebooted = sl->rebooted;
	cur.updated = (int64_t)record_now();
	db_current(sl->rec.db, &cur);
}

void
control_current_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_ask(arg, SERVER_WANT_CURRENT);
}

/* The plural ending of n things. */
static const char *
control_s(size_t n)
{
	return (n == 1 ? "" : "s");
}

/*
 * The manager's STATUS= line: what the relay is doing. The timer is set
 * anew after each line, SERVER_STATUS_S from then: a periodic one keeps
 * its grid, so a late tick would be followed by one less than
 * SERVER_STATUS_S later.
 */
void
control_status(struct server_loop *sl)
{
	struct timeval		 tv = { SERVER_STATUS_S, 0 };
	struct loop_stats	 st;
	size_t			 pairs;
	char			 status[200];
	int			 late;

	if (sl->svc.fd == -1)
		return;
	control_stats(sl, &st);
	pairs = st.npaired / 2;
	late = sl->pool != NULL ? pool_late(sl->pool) : 0;
	snprintf(status, sizeof status, "%s%zu pair%s relaying, %zu waiting "
	    "for a partner, %zu connection%s%s", sl->stopping ? "draining: " :
	    "", pairs, control_s(pairs), sl->srv.relay.ntokens, st.nconns,
	    control_s(st.nconns), late > 0 ? " (a thread is not answering: "
	    "its figures are old)" : "");
	service_status(&sl->svc, status);
	/* From now, not from when this turn of the loop began. */
	event_base_update_cache_time(sl->srv.base);
	if (evtimer_add(sl->status, &tv) == -1)
		log_msg("cannot set the STATUS= timer");
}

void
control_status_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_ask(arg, SERVER_WANT_STATUS);
}

/* How many connections of pairs still relay, in every thread. */
static size_t
control_busy(struct server_loop *sl)
{
	struct loop_stats	 st;

	control_stats(sl, &st);
	return (st.busy + connset_busy(&sl->srv));
}

/* Draining: ask whether the pairs are done. */
void
control_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_ask(arg, SERVER_WANT_DRAINED);
}

/* Draining: stop once no pair is left and every relayed byte written. */
static void
control_drained(struct server_loop *sl)
{
	if (control_busy(sl) == 0) {
		log_msg("drained: every pair has finished");
		event_base_loopbreak(sl->srv.base);
	}
}

void
control_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct loop_stats	 st;
	size_t			 pairs;

	(void)fd;
	(void)what;
	control_stats(sl, &st);
	pairs = st.npaired / 2;
	log_msg("drain timeout (%d s): ending %zu pair%s now",
	    sl->o->drain_timeout, pairs, control_s(pairs));
	event_base_loopbreak(sl->srv.base);
}

/* After the first SIGTERM, with fresh figures: stop now, or drain. */
static void
control_stop(struct server_loop *sl)
{
	struct timeval		 tv = { sl->o->drain_timeout, 0 };
	struct timeval		 check = { 0, SERVER_DRAIN_CHECK_MS * 1000 };
	struct loop_stats	 st;
	size_t			 pairs;

	control_stats(sl, &st);
	pairs = st.npaired / 2;
	if (control_busy(sl) == 0 || sl->o->drain_timeout == 0) {
		log_msg("%s: stopping", strsignal(sl->signo));
		event_base_loopbreak(sl->srv.base);
		return;
	}
	log_msg("%s: stopping; %zu pair%s may finish for up to %d s (send it "
	    "again to end them now)", strsignal(sl->signo), pairs,
	    control_s(pairs), sl->o->drain_timeout);
	if (evtimer_add(sl->drain, &tv) == -1 ||
	    evtimer_add(sl->drained, &check) == -1) {
		log_msg("cannot set the drain timers: ending the pairs now");
		event_base_loopbreak(sl->srv.base);
	}
}

/* The threads' figures are in: do what waited for them. */
void
control_answered(void *arg)
{
	struct server_loop	*sl = arg;
	unsigned		 want = sl->want;

	sl->want = 0;
	if (want & SERVER_WANT_CURRENT)
		control_current(sl);
	if (want & SERVER_WANT_STATUS)
		control_status(sl);
	if (want & SERVER_WANT_STOP)
		control_stop(sl);
	else if ((want & SERVER_WANT_DRAINED) && sl->stopping)
		control_drained(sl);
}

/*
 * SIGINT or SIGTERM: stop accepting, end the connections that are not
 * in a pair, and let the pairs finish for up to --drain-timeout; the
 * same signal again ends them at once. Either way every record is
 * written before exit.
 */
void
control_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server_loop	*sl = arg;
	struct loop_stats	 st;
	size_t			 pairs;

	(void)what;
	if (sl->stopping) {
		control_stats(sl, &st);
		pairs = st.npaired / 2;
		log_msg("%s again: ending %zu pair%s now", strsignal(sig), pairs,
		    control_s(pairs));
		event_base_loopbreak(sl->srv.base);
		return;
	}
	sl->stopping = 1;
	sl->signo = sig;
	service_notify(&sl->svc, "STOPPING=1");
	acceptor_stop(&sl->acc);
	connset_drain(&sl->srv);
	/* The waiters are gone: the current row says so. */
	/*
	 * Say so at once, with the threads' latest figures (a second old at
	 * most while STATUS= runs); whether to wait for pairs is decided on
	 * fresh ones.
	 */
	control_status(sl);
	control_ask(sl, SERVER_WANT_CURRENT | SERVER_WANT_STOP);
}

/*
 * Open --log-file for appending. Returns the descriptor, or -1. Not
 * blocking, even to open: a FIFO without a reader must not stop the relay.
 */
int
control_log_open(const char *path)
{
	return (open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK, 0666));
}

/*
 * SIGHUP (log rotation, systemctl reload): reopen --log-file; nothing
 * else can change without a restart. It never drops a connection.
 */
void
control_sighup_cb(evutil_socket_t sig, short what, void *arg)
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
	else if ((fd = control_log_open(sl->o->log_file)) == -1)
		log_msg("SIGHUP: cannot reopen %s: %s; still writing to the "
		    "old file", sl->o->log_file, strerror(errno));
	else {
		close(logjson_set_fd(sl->rec.log, fd));
		sl->log_file_fd = fd;
		log_msg("SIGHUP: reopened %s; still serving", sl->o->log_file);
	}
	service_notify(&sl->svc, "READY=1");
}
