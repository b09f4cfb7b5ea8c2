/*
 * limits.h: what protects a public relay (--handshake-timeout and the
 * rest): plain values from the command line, read by every thread.
 * 0 means off for each, except where a default is given.
 */
#ifndef TRANSITD_LIMITS_H
#define TRANSITD_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define LIMITS_HANDSHAKE_DEFAULT	60	/* seconds */
#define LIMITS_KEEPALIVE_DEFAULT	300	/* seconds */
#define LIMITS_IPV6_PREFIX_DEFAULT	64
#define LIMITS_TRUSTED_MAX		32
#define LIMITS_SECONDS_MAX		315360000	/* ten years */

/* An address range of --trusted-net. */
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order; v4 in the first 4 */
	int		 bits;
};

struct limits {
	int		 handshake_timeout;	/* s */
	int		 keepalive;		/* s: TCP keepalive idle */
	int		 lonely_timeout;	/* s */
	int		 idle_timeout;		/* s */
	int		 max_session_time;	/* s */
	uint64_t	 max_session_bytes;
	uint64_t	 per_session_rate;	/* bytes/s */
	uint64_t	 global_rate;		/* bytes/s */
	uint64_t	 max_connections;
	uint64_t	 max_per_ip;
	uint64_t	 max_waiting_per_ip;
	int		 ipv6_prefix;		/* bits that make a source */
	uint64_t	 daily_bytes_per_ip;
	struct cidr	 trusted[LIMITS_TRUSTED_MAX];
	int		 ntrusted;
};

void	limits_init(struct limits *);
/*
 * Take value s of the option of long name (as "idle-timeout"), given as
 * label. Returns 0, or -1 with a one-line message in err.
 */
int	limits_set(struct limits *, const char *name, const char *label,
	    const char *s, char *err, size_t errlen);
/* Parse "ADDR/BITS" (or a bare address) into c. Returns 0, or -1. */
int	limits_cidr_parse(const char *s, struct cidr *c);
/*
 * Parse a count: digits, then an optional k, M, G, T (powers of 1000)
 * or Ki, Mi, Gi, Ti (of 1024), then an optional "/s". 0, or -1.
 */
int	limits_bytes(const char *s, uint64_t *out);

#endif
