/*
 * fuzz_handshake.c: libFuzzer harness for the handshake parser. Checks
 * that any split of the input gives the result of feeding it whole, and
 * that a good line names a token of word characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handshake.h"

/* Feed data in pieces cut at the given points; returns the final result. */
static int
fuzz_feed(const uint8_t *data, size_t len, size_t cut)
{
	struct handshake	 hs;
	int			 rv;

	memset(&hs, 0, sizeof hs);
	if (cut > len)
		cut = len;
	rv = handshake_parse(&hs, (const char *)data, cut);
	if (rv >= 0)
		return (rv);
	if (rv != HANDSHAKE_PARTIAL)
		return (rv);
	rv = handshake_parse(&hs, (const char *)data + cut, len - cut);
	if (rv >= 0) {
		if (strlen(hs.token) != HANDSHAKE_TOKEN_LEN)
			abort();
		return (rv + (int)cut);
	}
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	int	 whole;
	size_t	 cut;

	whole = fuzz_feed(data, len, len);
	if (whole > (int)len || (whole > 0 && data[whole - 1] != '\n'))
		abort();
	cut = len > 0 ? data[0] % (len + 1) : 0;
	if (fuzz_feed(data, len, cut) != whole)
		abort();
	return (0);
}
