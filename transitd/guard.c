/*
 * guard.c: address ranges, sources and token buckets (guard.h).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

/* sa's family and address bytes, an IPv4-mapped IPv6 one as IPv4. */
static int
guard_addr(const struct sockaddr *sa, const uint8_t **addr)
{
	const struct sockaddr_in6	*s6;

	if (sa->sa_family == AF_INET) {
		*addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->
		    sin_addr;
		return (AF_INET);
	}
	if (sa->sa_family != AF_INET6)
		return (-1);
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		*addr = s6->sin6_addr.s6_addr + 12;
		return (AF_INET);
	}
	*addr = s6->sin6_addr.s6_addr;
	return (AF_INET6);
}

/* Whether the first bits of a and b agree. */
static int
guard_prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int	 whole = bits / 8, rest = bits % 8;
	uint8_t	 mask;

	if (memcmp(a, b, whole) != 0)
		return (0);
	if (rest == 0)
		return (1);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] & mask) == (b[whole] & mask));
}

int
guard_cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*addr = NULL;

	if (guard_addr(sa, &addr) != c->family)
		return (0);
	return (guard_prefix_eq(addr, c->addr, c->bits));
}

int
guard_trusted(const struct limits *l, const struct sockaddr *sa)
{
	int	 i;

	for (i = 0; i < l->ntrusted; i++)
		if (guard_cidr_match(&l->trusted[i], sa))
			return (1);
	return (0);
}

int
guard_source(const struct sockaddr *sa, int v6bits,
    uint8_t out[GUARD_SOURCE_LEN])
{
	const uint8_t	*addr = NULL;
	int		 family, i, bits;

	memset(out, 0, GUARD_SOURCE_LEN);
	if ((family = guard_addr(sa, &addr)) == -1)
		return (-1);
	out[0] = family == AF_INET ? 4 : 6;
	bits = family == AF_INET ? 32 : v6bits;
	for (i = 0; i < bits / 8; i++)
		out[1 + i] = addr[i];
	if (bits % 8 != 0)
		out[1 + i] = addr[i] & (uint8_t)(0xff << (8 - bits % 8));
	return (0);
}

double
bucket_burst(uint64_t rate)
{
	double	 b = (double)rate / 10;

	return (b < 16384 ? 16384 : b);
}

void
bucket_init(struct bucket *b, uint64_t rate, double now)
{
	b->tokens = bucket_burst(rate);
	b->last = now;
}

size_t
bucket_allow(struct bucket *b, uint64_t rate, double now)
{
	double	 burst = bucket_burst(rate);

	if (now > b->last) {
		b->tokens += (now - b->last) * (double)rate;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last = now;
	return (b->tokens >= 1 ? (size_t)b->tokens : 0);
}

void
bucket_take(struct bucket *b, size_t n)
{
	b->tokens -= (double)n;
}

double
bucket_wait(const struct bucket *b, uint64_t rate, size_t want)
{
	double	 lack = (double)want - b->tokens;

	return (lack <= 0 || rate == 0 ? 0 : lack / (double)rate);
}
