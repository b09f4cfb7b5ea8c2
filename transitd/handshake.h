/*
 * handshake.h: the incremental parser for the transit handshake line
 * (protocol spec, Handshake). Sans-IO: no allocation, no I/O.
 */
#ifndef TRANSITD_HANDSHAKE_H
#define TRANSITD_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define HANDSHAKE_TOKEN_LEN	64
#define HANDSHAKE_SIDE_LEN	16
/* Longest first line (without its newline) the reference accepts. */
#define HANDSHAKE_MAX_LINE	1024

#define HANDSHAKE_BAD		-1	/* a complete line that is not a handshake */
#define HANDSHAKE_PARTIAL	-2	/* all input consumed, line not complete */
#define HANDSHAKE_TOOLONG	-3	/* line exceeds HANDSHAKE_MAX_LINE */

/* Caller-zeroed parser state; fields starting with _ are private. */
struct handshake {
	char		 token[HANDSHAKE_TOKEN_LEN + 1];
	char		 side[HANDSHAKE_SIDE_LEN + 1];
	int		 sided;		/* set when the line had "for side" */
	uint16_t	 _len;		/* bytes of the line seen so far */
	uint8_t		 _bad;		/* the line already deviates */
	uint8_t		 _done;		/* a result was returned */
};

/*
 * Feed the next len bytes of the stream. Returns the number of bytes of
 * buf that completed a good line (including its '\n'; the rest of buf
 * follows the handshake), HANDSHAKE_PARTIAL when all of buf was consumed
 * without completing the line, HANDSHAKE_BAD when a bad line ended, or
 * HANDSHAKE_TOOLONG when the line passed HANDSHAKE_MAX_LINE bytes. Any
 * split of the same stream gives the same result. After a result other
 * than HANDSHAKE_PARTIAL the state is final: further calls return the
 * same error again, or 0 after a good line (no byte is handshake any more).
 */
int	handshake_parse(struct handshake *, const char *buf, size_t len);

/*
 * Whether a newline now would end the line with a result: the bytes so
 * far are a whole handshake, or already not one. Returns 0 while they
 * are a proper beginning of a handshake, or after a result.
 */
int	handshake_can_end(const struct handshake *);

#endif
