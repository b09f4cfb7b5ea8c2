/*
 * endpoint.c: Twisted's server endpoint strings for TCP. Arguments are
 * split on ':' with '\' escaping the next character; each is "key=value"
 * or, in order, port, interface, backlog (twisted _parseTCP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"

#define EP_ARG_MAX	ENDPOINT_ADDR_MAX

char *
endpoint_vis(char *dst, size_t len, const char *src)
{
	size_t		 n = 0;
	unsigned char	 ch;

	for (; (ch = *src) != '\0'; src++) {
		if (ch >= 0x20 && ch < 0x7f) {
			if (n + 1 >= len)
				break;
			dst[n++] = ch;
		} else {
			if (n + 4 >= len)
				break;
			snprintf(dst + n, len - n, "\\x%02x", ch);
			n += 4;
		}
	}
	if (len > 0)
		dst[n] = '\0';
	return (dst);
}

int
endpoint_number(const char *s, long min, long max, int *out)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = (int)v;
	return (0);
}

/*
 * Copy the next argument of *sp, unescaped, into arg. Returns 1 when one
 * was read, 0 at the end, -1 when it is too long.
 */
static int
endpoint_next(const char **sp, char *arg, size_t len, int *eq)
{
	const char	*s = *sp;
	size_t		 n = 0;

	if (s == NULL)
		return (0);
	*eq = -1;
	for (; *s != '\0' && *s != ':'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '=' && *eq == -1)
			*eq = (int)n;
		if (n + 1 >= len)
			return (-1);
		arg[n++] = *s;
	}
	arg[n] = '\0';
	*sp = (*s == ':') ? s + 1 : NULL;
	return (1);
}

/* Set field which (0 port, 1 interface, 2 backlog) from value. */
static int
endpoint_set(struct endpoint *ep, int which, const char *value, char *err,
    size_t errlen)
{
	char	 vis[64];

	switch (which) {
	case 0:
		if (endpoint_number(value, 0, 65535, &ep->port) == -1) {
			snprintf(err, errlen, "bad port \"%s\" (0 to 65535)",
			    endpoint_vis(vis, sizeof vis, value));
			return (-1);
		}
		return (0);
	case 1:
		snprintf(ep->interface, sizeof ep->interface, "%s", value);
		return (0);
	case 2:
		if (endpoint_number(value, 1, 65535, &ep->backlog) == -1) {
			snprintf(err, errlen, "bad backlog \"%s\"",
			    endpoint_vis(vis, sizeof vis, value));
			return (-1);
		}
		return (0);
	}
	snprintf(err, errlen, "too many arguments");
	return (-1);
}

int
endpoint_parse(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
	static const char *const keys[] = { "port", "interface", "backlog" };
	char		 arg[EP_ARG_MAX], vis[64];
	int		 eq, which, pos = 0, seen = 0, rv;
	size_t		 k;

	memset(ep, 0, sizeof *ep);
	ep->backlog = ENDPOINT_BACKLOG;
	if (strncmp(s, "tcp:", 4) == 0)
		s += 4;
	else if (strncmp(s, "tcp6:", 5) == 0) {
		s += 5;
		ep->family6 = 1;
		strcpy(ep->interface, "::");
	} else {
		snprintf(err, errlen, "unsupported endpoint \"%s\" (want "
		    "tcp:PORT[:interface=ADDR][:backlog=N])",
		    endpoint_vis(arg, sizeof arg, s));
		return (-1);
	}
	while ((rv = endpoint_next(&s, arg, sizeof arg, &eq)) == 1) {
		if (eq == -1)
			which = pos++;
		else {
			arg[eq] = '\0';
			for (k = 0; k < 3; k++)
				if (strcmp(arg, keys[k]) == 0)
					break;
			if (k == 3) {
				snprintf(err, errlen, "unknown endpoint "
				    "argument \"%s\"", endpoint_vis(vis,
				    sizeof vis, arg));
				return (-1);
			}
			which = (int)k;
		}
		if (which < 3 && (seen & (1 << which))) {
			snprintf(err, errlen, "%s given twice", keys[which]);
			return (-1);
		}
		if (endpoint_set(ep, which, eq == -1 ? arg : arg + eq + 1,
		    err, errlen) == -1)
			return (-1);
		seen |= 1 << which;
	}
	if (rv == -1) {
		snprintf(err, errlen, "endpoint argument too long");
		return (-1);
	}
	if (!(seen & 1)) {
		snprintf(err, errlen, "endpoint has no port");
		return (-1);
	}
	if (strchr(ep->interface, ':') != NULL)
		ep->family6 = 1;
	return (0);
}
