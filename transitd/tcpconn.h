/*
 * tcpconn.h: the plain TCP transport. Before pairing its bytes go to
 * the relay; after, they move from its socket into the peer's pump by
 * splice(2) when the peer takes them that way, else through memory.
 */
#ifndef TRANSITD_TCPCONN_H
#define TRANSITD_TCPCONN_H

#include "conn.h"

extern const struct transport	tcpconn_transport;

#endif
