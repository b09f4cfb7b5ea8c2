/*
 * limits.c: the protections' options (limits.h), by their long names,
 * so that opts.c only passes them on. Pure parsing.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "limits.h"

void
limits_init(struct limits *l)
{
	memset(l, 0, sizeof *l);
	l->handshake_timeout = LIMITS_HANDSHAKE_DEFAULT;
	l->keepalive = LIMITS_KEEPALIVE_DEFAULT;
	l->ipv6_prefix = LIMITS_IPV6_PREFIX_DEFAULT;
}

int
limits_bytes(const char *s, uint64_t *out)
{
	static const char	 units[] = "kMGT";
	const char		*u;
	char			*end;
	unsigned long long	 v, mul = 1, base = 1000;
	int			 i;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	if (*end != '\0' && (u = strchr(units, *end == 'K' ? 'k' : *end)) !=
	    NULL) {
		end++;
		if (*end == 'i') {
			base = 1024;
			end++;
		}
		for (i = 0; i <= u - units; i++)
			mul *= base;
	}
	if (strcmp(end, "/s") == 0)
		end += 2;
	if (*end != '\0' || (v != 0 && mul > UINT64_MAX / v))
		return (-1);
	*out = v * mul;
	return (0);
}

/* The options that take seconds, and where each goes. */
static int *
limits_seconds(struct limits *l, const char *name)
{
	if (strcmp(name, "handshake-timeout") == 0)
		return (&l->handshake_timeout);
	if (strcmp(name, "keepalive") == 0)
		return (&l->keepalive);
	if (strcmp(name, "lonely-timeout") == 0)
		return (&l->lonely_timeout);
	if (strcmp(name, "idle-timeout") == 0)
		return (&l->idle_timeout);
	if (strcmp(name, "max-session-time") == 0)
		return (&l->max_session_time);
	return (NULL);
}

/* The options that take a count (of bytes, bytes/s, connections). */
static uint64_t *
limits_count(struct limits *l, const char *name)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} counts[] = {
		{ "max-session-bytes", offsetof(struct limits,
		    max_session_bytes) },
		{ "per-session-rate", offsetof(struct limits,
		    per_session_rate) },
		{ "global-rate", offsetof(struct limits, global_rate) },
		{ "max-connections", offsetof(struct limits,
		    max_connections) },
		{ "max-per-ip", offsetof(struct limits, max_per_ip) },
		{ "max-waiting-per-ip", offsetof(struct limits,
		    max_waiting_per_ip) },
		{ "daily-bytes-per-ip", offsetof(struct limits,
		    daily_bytes_per_ip) },
	};
	size_t	 i;

	for (i = 0; i < sizeof counts / sizeof counts[0]; i++)
		if (strcmp(name, counts[i].name) == 0)
			return ((uint64_t *)((char *)l + counts[i].off));
	return (NULL);
}

int
limits_cidr_parse(const char *s, struct cidr *c)
{
	char		 buf[64], *slash, *end;
	long		 bits;
	int		 max;

	if (strlen(s) >= sizeof buf)
		return (-1);
	snprintf(buf, sizeof buf, "%s", s);
	memset(c, 0, sizeof *c);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return (-1);
	c->bits = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return (-1);
		bits = strtol(slash, &end, 10);
		if (*end != '\0' || bits < 0 || bits > max)
			return (-1);
		c->bits = (int)bits;
	}
	return (0);
}

/* --trusted-net: one more range. */
static int
limits_trusted(struct limits *l, const char *label, const char *s,
    char *err, size_t errlen)
{
	char	 vis[128];

	if (l->ntrusted == LIMITS_TRUSTED_MAX) {
		snprintf(err, errlen, "%s: too many ranges (at most %d)",
		    label, LIMITS_TRUSTED_MAX);
		return (-1);
	}
	if (limits_cidr_parse(s, &l->trusted[l->ntrusted]) == -1) {
		snprintf(err, errlen, "%s=%s: not an address range "
		    "(ADDRESS/BITS, such as 192.0.2.0/24 or 2001:db8::/32)",
		    label, endpoint_vis(vis, sizeof vis, s));
		return (-1);
	}
	l->ntrusted++;
	return (0);
}

int
limits_set(struct limits *l, const char *name, const char *label,
    const char *s, char *err, size_t errlen)
{
	char		 vis[128];
	uint64_t	*n;
	int		*secs, v;

	if (strcmp(name, "trusted-net") == 0)
		return (limits_trusted(l, label, s, err, errlen));
	if (strcmp(name, "ipv6-prefix") == 0) {
		if (endpoint_number(s, 1, 128, &v) == -1) {
			snprintf(err, errlen, "%s=%s: not a prefix length "
			    "from 1 to 128", label,
			    endpoint_vis(vis, sizeof vis, s));
			return (-1);
		}
		l->ipv6_prefix = v;
		return (0);
	}
	if ((secs = limits_seconds(l, name)) != NULL) {
		if (endpoint_number(s, 0, LIMITS_SECONDS_MAX, &v) == -1) {
			snprintf(err, errlen, "%s=%s: not a whole number of "
			    "seconds (at most %d)", label, endpoint_vis(vis,
			    sizeof vis, s), LIMITS_SECONDS_MAX);
			return (-1);
		}
		*secs = v;
		return (0);
	}
	if ((n = limits_count(l, name)) == NULL)
		return (0);
	if (limits_bytes(s, n) == -1) {
		snprintf(err, errlen, "%s=%s: not a number (digits, then k, M, "
		    "G, Ki, Mi or Gi if you like)", label,
		    endpoint_vis(vis, sizeof vis, s));
		return (-1);
	}
	return (0);
}
