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
/* c's timer fired while it was not closing: the Upgrade took too long. */
void	wsconn_timeout(struct conn *);

#endif
