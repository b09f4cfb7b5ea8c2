/*
 * sdproto.c: systemd's environment protocols, parsed by hand: they are
 * a few numbers and names, and parsing them here rather than linking
 * libsystemd keeps transitd free of it under daemontools, runit or any
 * other supervisor (sd_notify(3) documents the protocol as stable and
 * meant to be reimplemented).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sdproto.h"

/* s as a decimal number of at most 18 digits, or -1. */
static long long
sdproto_number(const char *s)
{
	long long	 v = 0;
	size_t		 i;

	if (s == NULL || *s == '\0' || strlen(s) > 18)
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

int
sdproto_is_websocket(const char *name, size_t len)
{
	size_t	 i;

	if (len == 2 && strncasecmp(name, "ws", 2) == 0)
		return (1);
	for (i = 0; i + 9 <= len; i++)
		if (strncasecmp(name + i, "websocket", 9) == 0)
			return (1);
	return (0);
}

int
sdproto_listen_fds(const char *pid, const char *fds, const char *names,
    long mypid, struct sdproto_fds *sf, char *err, size_t errlen)
{
	long long	 p, n;
	const char	*s = names;
	size_t		 len;
	int		 i;

	memset(sf, 0, sizeof *sf);
	if (pid == NULL || fds == NULL)
		return (0);
	if ((p = sdproto_number(pid)) != mypid)
		return (0);	/* meant for a process that exec'd us */
	if ((n = sdproto_number(fds)) == -1) {
		snprintf(err, errlen, "LISTEN_FDS=%.20s is not a number", fds);
		return (-1);
	}
	if (n > SDPROTO_FDS_MAX) {
		snprintf(err, errlen, "%lld sockets passed (LISTEN_FDS), at "
		    "most %d are taken", n, SDPROTO_FDS_MAX);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (s != NULL && *s != '\0') {
			len = strcspn(s, ":");
			sf->fd[i].name = s;
			sf->fd[i].namelen = len;
			sf->fd[i].websocket = sdproto_is_websocket(s, len);
			s += len;
			if (*s == ':')
				s++;
		}
	}
	sf->n = (int)n;
	return (sf->n);
}

uint64_t
sdproto_watchdog(const char *usec, const char *pid, long mypid)
{
	long long	 u;

	if (pid != NULL && sdproto_number(pid) != mypid)
		return (0);
	if ((u = sdproto_number(usec)) <= 0)
		return (0);
	return ((uint64_t)u);
}

socklen_t
sdproto_notify_addr(const char *s, struct sockaddr_un *sun)
{
	size_t	 len;

	memset(sun, 0, sizeof *sun);
	if (s == NULL || (s[0] != '/' && s[0] != '@') ||
	    (len = strlen(s)) < 2 || len > sizeof sun->sun_path)
		return (0);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, s, len);
	if (s[0] == '@') {
		/* The abstract namespace: a NUL first, and no terminator. */
		sun->sun_path[0] = '\0';
		return ((socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    len));
	}
	if (len == sizeof sun->sun_path)
		return (0);	/* no room for the terminating NUL */
	return ((socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    1));
}
