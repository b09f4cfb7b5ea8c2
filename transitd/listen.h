/*
 * listen.h: listening sockets for endpoints.
 */
#ifndef TRANSITD_LISTEN_H
#define TRANSITD_LISTEN_H

#include <stddef.h>

#include "endpoint.h"

/*
 * Bind and listen on ep (an IPv6 "::" socket also serves IPv4). Returns
 * the non-blocking descriptor and sets *port to the bound port, or
 * returns -1 with a one-line reason in err.
 */
int	listen_open(const struct endpoint *ep, int *port, char *err,
	    size_t errlen);

/*
 * Take fd, passed by a service manager: it must be a listening stream
 * socket, and is made non-blocking and close-on-exec. Fills addr and
 * *port with where it listens. Returns 0, or -1 with a reason in err.
 */
int	listen_passed(int fd, char *addr, size_t addrlen, int *port,
	    char *err, size_t errlen);

#endif
