/*
 * transport.h: what differs between a plain TCP client and a WebSocket
 * one, as operations on a connection. The connection layer calls only
 * these, and a transport talks back only through conn.h's functions for
 * transports and input.h.
 */
#ifndef TRANSITD_TRANSPORT_H
#define TRANSITD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

struct conn;

#define CONN_BYE_NORMAL	0	/* the partner left, drain... */
#define CONN_BYE_TOOBIG	(-1)	/* a handshake message was too long */

struct transport {
	/* Make c one of this transport's (NULL: nothing). 0, or -1. */
	int	(*init)(struct conn *);
	/* The socket is readable (and c is open). */
	void	(*read)(struct conn *);
	/* Queue a reply line of the relay ("ok\n", ...). Returns 0 or -1. */
	int	(*reply)(struct conn *, const char *line);
	/* Queue len relayed bytes; they fit. Returns 0, or -1 with errno. */
	int	(*send)(struct conn *, const void *, size_t);
	/* Most relayed bytes one send may take while out is empty. */
	size_t	  send_max;
	/* Relayed bytes may go from a socket straight to its pump. */
	int	  zero_copy;
	/* Whether c has room for what a read may call for (NULL: yes). */
	int	(*can_read)(struct conn *);
	/* Queue the goodbye with code (CONN_BYE_*, or the transport's own). */
	void	(*goodbye)(struct conn *, int code);
	/* Lingering c awaits the client's goodbye before it shuts. */
	int	(*awaits_bye)(struct conn *);
	/* Bytes read while lingering: 1 when the client's goodbye came. */
	int	(*linger_read)(struct conn *, uint8_t *, size_t);
	/* Some of what c was owed was written (NULL: nothing to do). */
	void	(*wrote)(struct conn *);
	/* Whether c is still in its transport's own opening (NULL: no). */
	int	(*upgrading)(struct conn *);
	/* c's deadline passed before it had a handshake. */
	void	(*timeout)(struct conn *);
	/* Free what init added. */
	void	(*destroy)(struct conn *);
};

#endif
