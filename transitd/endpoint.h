/*
 * endpoint.h: Twisted server endpoint strings, as the reference's --port
 * takes them ("tcp:4001:interface=\:\:"). Pure parsing, no sockets.
 */
#ifndef TRANSITD_ENDPOINT_H
#define TRANSITD_ENDPOINT_H

#include <stddef.h>

#define ENDPOINT_ADDR_MAX	256
#define ENDPOINT_DEFAULT	"tcp:4001:interface=\\:\\:"
#define ENDPOINT_BACKLOG	1024

struct endpoint {
	int	 family6;			/* tcp6: or an IPv6 interface */
	int	 port;				/* 0 to 65535 */
	char	 interface[ENDPOINT_ADDR_MAX];	/* "" means every IPv4 address */
	int	 backlog;
};

/*
 * Parse s: "tcp:" or "tcp6:" then, positionally or as key=value, port,
 * interface and backlog; a backslash escapes the next character. Returns
 * 0, or -1 with a one-line reason in err.
 */
int	endpoint_parse(const char *s, struct endpoint *, char *err,
	    size_t errlen);

/*
 * Parse s, a whole decimal number of digits only, in [min, max] (both
 * within int). Returns 0, or -1 if it is not one.
 */
int	endpoint_number(const char *s, long min, long max, int *out);

/*
 * Copy user text src into dst (of len bytes) for a one-line message:
 * control and non-ASCII bytes become \xHH, and it is cut to fit.
 * Returns dst.
 */
char	*endpoint_vis(char *dst, size_t len, const char *src);

#endif
