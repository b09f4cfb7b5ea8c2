/*
 * server.h: the relay server: listeners, connections and the event loop
 * that runs the protocol core's actions.
 */
#ifndef TRANSITD_SERVER_H
#define TRANSITD_SERVER_H

#include "opts.h"

/*
 * Listen on the endpoints of o and serve until SIGINT or SIGTERM.
 * Returns the exit status: 0 after a signal, 1 when it could not start
 * (after saying why on stderr).
 */
int	server_run(const struct opts *o);

#endif
