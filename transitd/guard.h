/*
 * guard.h: the pure parts of a relay's protections: address ranges
 * (--trusted-net), the source an address counts as (--ipv6-prefix), and
 * token buckets (--per-session-rate, --global-rate). No I/O, no clock:
 * callers pass the time.
 */
#ifndef TRANSITD_GUARD_H
#define TRANSITD_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

struct sockaddr;

/* A source: family and address, masked to its group. */
#define GUARD_SOURCE_LEN	17

/* Whether sa is in c. An IPv4-mapped IPv6 address counts as IPv4. */
int	guard_cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* Whether sa is in one of l's --trusted-net ranges. */
int	guard_trusted(const struct limits *l, const struct sockaddr *sa);
/*
 * The source sa counts as: an IPv4 address, or its IPv6 address's first
 * v6bits bits. Fills out; returns 0, or -1 for another family.
 */
int	guard_source(const struct sockaddr *sa, int v6bits,
	    uint8_t out[GUARD_SOURCE_LEN]);

/*
 * A token bucket (syncthing's relay uses the same): it fills at rate
 * bytes a second up to burst, and a read takes at most what it holds.
 */
struct bucket {
	double		 tokens;
	double		 last;		/* when it was filled, in seconds */
};

/* The burst of a bucket of rate: a tenth of a second, 16 KiB at least. */
double	bucket_burst(uint64_t rate);
/* Start full, at now. */
void	bucket_init(struct bucket *, uint64_t rate, double now);
/* Bytes that may move now (whole bytes). */
size_t	bucket_allow(struct bucket *, uint64_t rate, double now);
/* n bytes moved. */
void	bucket_take(struct bucket *, size_t n);
/* Seconds until it holds want bytes (0: it does). */
double	bucket_wait(const struct bucket *, uint64_t rate, size_t want);

#endif
