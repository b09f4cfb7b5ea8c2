/*
 * handshake.c: the transit handshake line, parsed one byte at a time so
 * that no line is buffered and any split of the input gives the same
 * result (protocol spec, Handshake).
 *
 * The grammar, by offset in the line:
 *	0-12	"please relay "
 *	13-76	token, 64 word characters
 *	77	'\n' (unsided), or
 *	77-86	" for side "
 *	87-102	side, 16 word characters
 *	103	'\n' (sided)
 */
#include <string.h>

#include "handshake.h"

static const char	 handshake_prefix[] = "please relay ";
static const char	 handshake_for[] = " for side ";

#define HS_TOKEN	(sizeof handshake_prefix - 1)
#define HS_FOR		(HS_TOKEN + HANDSHAKE_TOKEN_LEN)
#define HS_SIDE		(HS_FOR + sizeof handshake_for - 1)
#define HS_SIDED_END	(HS_SIDE + HANDSHAKE_SIDE_LEN)

/* Values of _done once a result was returned. */
#define HS_DONE_GOOD	1
#define HS_DONE_BAD	2
#define HS_DONE_TOOLONG	3

/* Word characters as Python's \w matches them in a bytes pattern. */
static int
handshake_word(unsigned char ch)
{
	return ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_');
}

/* Whether ch, not a newline, may stand at offset pos of a good line. */
static int
handshake_fits(struct handshake *hs, size_t pos, unsigned char ch)
{
	if (pos < HS_TOKEN)
		return (ch == (unsigned char)handshake_prefix[pos]);
	if (pos < HS_FOR) {
		hs->token[pos - HS_TOKEN] = ch;
		return (handshake_word(ch));
	}
	if (pos < HS_SIDE)
		return (ch == (unsigned char)handshake_for[pos - HS_FOR]);
	if (pos < HS_SIDED_END) {
		hs->side[pos - HS_SIDE] = ch;
		return (handshake_word(ch));
	}
	return (0);
}

/* The result for a line of hs->_len bytes that just ended. */
static int
handshake_end(struct handshake *hs)
{
	if (hs->_bad)
		return (HANDSHAKE_BAD);
	if (hs->_len == HS_FOR) {
		hs->token[HANDSHAKE_TOKEN_LEN] = '\0';
		hs->side[0] = '\0';
		hs->sided = 0;
		return (0);
	}
	if (hs->_len == HS_SIDED_END) {
		hs->token[HANDSHAKE_TOKEN_LEN] = '\0';
		hs->side[HANDSHAKE_SIDE_LEN] = '\0';
		hs->sided = 1;
		return (0);
	}
	return (HANDSHAKE_BAD);
}

int
handshake_parse(struct handshake *hs, const char *buf, size_t len)
{
	size_t	 i;
	int	 rv;

	switch (hs->_done) {
	case HS_DONE_GOOD:
		return (0);
	case HS_DONE_BAD:
		return (HANDSHAKE_BAD);
	case HS_DONE_TOOLONG:
		return (HANDSHAKE_TOOLONG);
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = buf[i];

		if (ch == '\n') {
			rv = handshake_end(hs);
			if (rv == 0) {
				hs->_done = HS_DONE_GOOD;
				return ((int)(i + 1));
			}
			hs->_done = HS_DONE_BAD;
			return (rv);
		}
		/*
		 * Twisted's LineReceiver drops a connection once it holds
		 * MAX_LENGTH + 1 bytes without a delimiter.
		 */
		if (hs->_len >= HANDSHAKE_MAX_LINE) {
			hs->_done = HS_DONE_TOOLONG;
			return (HANDSHAKE_TOOLONG);
		}
		if (!hs->_bad && !handshake_fits(hs, hs->_len, ch))
			hs->_bad = 1;
		hs->_len++;
	}
	return (HANDSHAKE_PARTIAL);
}

int
handshake_can_end(const struct handshake *hs)
{
	if (hs->_done)
		return (0);
	return (hs->_bad || hs->_len == HS_FOR || hs->_len == HS_SIDED_END);
}
