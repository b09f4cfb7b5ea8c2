/*
 * wsconn.h: WebSocket clients (protocol spec, WebSocket flavour): the
 * Upgrade request, then frames in both directions around the same relay
 * as plain TCP clients, so the two kinds pair freely.
 */
#ifndef TRANSITD_WSCONN_H
#define TRANSITD_WSCONN_H

#include <stdint.h>

struct conn;

#define WSCONN_UPGRADE_S	10	/* to complete the Upgrade request */
#define WSCONN_RESERVE		512	/* out room kept for control frames */

/* Make c a WebSocket client. Returns 0, or -1 when out of memory. */
int	wsconn_new(struct conn *);
/* Free what wsconn_new added (nothing for a TCP client). */
void	wsconn_free(struct conn *);
/* Whether c has room to answer what it may read (a ping). */
int	wsconn_can_read(struct conn *);
/* Whether the relay closed c and the client's close has not come. */
int	wsconn_awaits_close(struct conn *);
/*
 * Look for the client's close in bytes it sent while c lingers. Returns
 * 1 when it came now (or the client broke the protocol), else 0.
 */
int	wsconn_linger_read(struct conn *, uint8_t *, size_t);
/* c's timer fired while it was not closing: the Upgrade took too long. */
void	wsconn_timeout(struct conn *);

#endif
