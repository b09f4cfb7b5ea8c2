/*
 * listen.c: binding the sockets named by endpoints.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

int
listen_open(const struct endpoint *ep, int *port, char *err, size_t errlen)
{
	struct addrinfo		 hints, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss;
	char			 serv[16];
	int			 fd, rv, on = 1, off = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = ep->family6 ? AF_INET6 :
	    ep->interface[0] == '\0' ? AF_INET : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof serv, "%d", ep->port);
	rv = getaddrinfo(ep->interface[0] == '\0' ? NULL : ep->interface,
	    serv, &hints, &ai);
	if (rv != 0) {
		snprintf(err, errlen, "interface \"%s\": %s", ep->interface,
		    gai_strerror(rv));
		return (-1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 && errno == EAFNOSUPPORT && ep->family6 &&
	    strcmp(ep->interface, "::") == 0) {
		/* No IPv6 on this host: "::" still means every address. */
		struct endpoint ep4 = *ep;

		freeaddrinfo(ai);
		ep4.family6 = 0;
		ep4.interface[0] = '\0';
		return (listen_open(&ep4, port, err, errlen));
	}
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	/* "::" serves IPv4 too, whatever net.ipv6.bindv6only says. */
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
		    sizeof off);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, ep->backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		goto fail;
	freeaddrinfo(ai);
	*port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return (fd);

fail:
	snprintf(err, errlen, "%s", strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return (-1);
}

int
listen_passed(int fd, char *addr, size_t addrlen, int *port, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof ss, len;
	int			 type, on, fl;
	const void		*a;

	len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1) {
		snprintf(err, errlen, "%s", errno == ENOTSOCK ?
		    "not a socket" : strerror(errno));
		return (-1);
	}
	len = sizeof on;
	if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &on, &len) == -1 || !on) {
		snprintf(err, errlen, "not a listening stream socket");
		return (-1);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		snprintf(err, errlen, "not a TCP socket");
		return (-1);
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (-1);
	}
	a = ss.ss_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
	if (inet_ntop(ss.ss_family, a, addr, addrlen) == NULL)
		snprintf(addr, addrlen, "?");
	*port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return (0);
}
