/*
 * admit.h: the sources (guard.h) a relay has seen, for --max-per-ip,
 * --max-waiting-per-ip and --daily-bytes-per-ip. A source is kept only
 * as a keyed hash (HMAC-SHA-256 with a key made at start and never
 * written anywhere), so a memory dump does not tell who used the relay.
 * Any thread may call these; a mutex guards the table.
 */
#ifndef TRANSITD_ADMIT_H
#define TRANSITD_ADMIT_H

#include <stdint.h>

#include "limits.h"
#include "stats.h"

struct sockaddr;
struct admit;

/* Most sources kept at once (about 40 bytes each). */
#define ADMIT_MAX_SOURCES	(1024 * 1024)

/* A table for l; NULL when l limits no source (or out of memory). */
struct admit	*admit_new(const struct limits *l);
void		 admit_free(struct admit *);
/*
 * A connection from sa arrives, with open connections now: 0 with its
 * source in *src (0: not counted, as a trusted one), or the cause of its
 * refusal. a may be NULL.
 */
int		 admit_accept(struct admit *a, const struct limits *l,
		    const struct sockaddr *sa, uint64_t open, uint64_t *src);
/* A counted connection of src closed, on day (days since the epoch). */
void		 admit_release(struct admit *, uint64_t src, int64_t day);
/* Forget the sources with nothing left of day. */
void		 admit_sweep(struct admit *, int64_t day);
/* A connection of src starts waiting (1: 0, or -1 over the limit) or
   stops (-1). */
int		 admit_wait(struct admit *, uint64_t src, int delta);
/* Bytes relayed for src, on day (days since the epoch). */
void		 admit_charge(struct admit *, uint64_t src, uint64_t n,
		    int64_t day);
/* Whether src has used its --daily-bytes-per-ip on day. */
int		 admit_over_budget(struct admit *, uint64_t src, int64_t day);
/* Sources kept now. */
uint64_t	 admit_sources(struct admit *);

#endif
