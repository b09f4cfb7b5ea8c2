/*
 * input.h: a client's bytes, from its transport to the relay core or
 * to its peer.
 */
#ifndef TRANSITD_INPUT_H
#define TRANSITD_INPUT_H

#include <stddef.h>

struct conn;

/* Bytes from c's client: its handshake, then relayed to its peer. */
void	input_deliver(struct conn *, const void *, size_t);
/* A message of c's client ended (the WebSocket handshake rule). */
void	input_message_end(struct conn *);

/* Read from c's client: the count, or 0 (nothing yet, or c ended). */
size_t	input_recv(struct conn *, void *, size_t);

#endif
