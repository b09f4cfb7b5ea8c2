/*
 * control.h: what an operator and a service manager see of the home
 * loop and steer it by: signals (stop and drain, reload), STATUS=, the
 * database's current row. Figures from other threads are asked for and
 * arrive later (pool.h): control_ask runs what waited for them.
 */
#ifndef TRANSITD_CONTROL_H
#define TRANSITD_CONTROL_H

#include <event2/util.h>

struct server_loop;

/* Do what want (SERVER_WANT_*) needs, once the figures are in. */
void	control_ask(struct server_loop *, unsigned want);
/* The figures are in (the pool's answered function). */
void	control_answered(void *);
/* Send STATUS= now; queue the database's current row now. */
void	control_status(struct server_loop *);
void	control_current(struct server_loop *);
/* Open --log-file for appending, not blocking. Returns the fd, or -1. */
int	control_log_open(const char *path);

/* Callbacks of the loop's events (arg: the server_loop). */
void	control_signal_cb(evutil_socket_t, short, void *);
void	control_sighup_cb(evutil_socket_t, short, void *);
void	control_status_cb(evutil_socket_t, short, void *);
void	control_current_cb(evutil_socket_t, short, void *);
void	control_drain_cb(evutil_socket_t, short, void *);
void	control_drained_cb(evutil_socket_t, short, void *);

#endif
