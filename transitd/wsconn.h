/*
 * wsconn.h: WebSocket clients (protocol spec, WebSocket flavour): the
 * Upgrade request, then frames in both directions around the same relay
 * as plain TCP clients, so the two kinds pair freely.
 */
#ifndef TRANSITD_WSCONN_H
#define TRANSITD_WSCONN_H

#include "conn.h"

#define WSCONN_RESERVE		512	/* out room kept for control frames */

extern const struct transport	wsconn_transport;

#endif
