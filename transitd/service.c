/*
 * service.c: the service manager's sockets and notifications. Each
 * notification is one datagram on NOTIFY_SOCKET, sent without blocking;
 * a manager that stops listening costs a line on stderr, never the relay.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "service.h"

void
service_init(struct service *sv)
{
	memset(sv, 0, sizeof *sv);
	sv->fd = -1;
	sv->watchdog_usec = sdproto_watchdog(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), (long)getpid());
	if ((sv->addrlen = sdproto_notify_addr(getenv("NOTIFY_SOCKET"),
	    &sv->addr)) == 0) {
		if (getenv("NOTIFY_SOCKET") != NULL)
			log_msg("NOTIFY_SOCKET is not a socket address; not "
			    "notifying the service manager");
		return;
	}
	if ((sv->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		log_msg("NOTIFY_SOCKET: %s; not notifying the service manager",
		    strerror(errno));
}

void
service_notify(struct service *sv, const char *msg)
{
	if (sv->fd == -1)
		return;
	if (sendto(sv->fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sv->addr, sv->addrlen) == -1) {
		if (!sv->failing)
			log_msg("NOTIFY_SOCKET: %s", strerror(errno));
		sv->failing = 1;
		return;
	}
	sv->failing = 0;
}

void
service_status(struct service *sv, const char *status)
{
	char	 msg[sizeof sv->status + 8];

	if (sv->fd == -1 || strcmp(status, sv->status) == 0)
		return;
	snprintf(sv->status, sizeof sv->status, "%s", status);
	snprintf(msg, sizeof msg, "STATUS=%s", sv->status);
	service_notify(sv, msg);
}

void
service_free(struct service *sv)
{
	if (sv->fd != -1)
		close(sv->fd);
	sv->fd = -1;
}

int
service_listen_fds(struct sdproto_fds *sf, char *err, size_t errlen)
{
	int	 n;

	n = sdproto_listen_fds(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    getenv("LISTEN_FDNAMES"), (long)getpid(), sf, err, errlen);
	if (n != 0) {
		/* Ours now; a child must not take them too. */
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");	/* sf keeps pointing into it */
	}
	return (n);
}
