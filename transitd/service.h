/*
 * service.h: talking to a service manager: the sockets it passed
 * (socket activation) and notifications of readiness, status, watchdog
 * and stopping on NOTIFY_SOCKET. Without systemd, all of it is a no-op.
 */
#ifndef TRANSITD_SERVICE_H
#define TRANSITD_SERVICE_H

#include <sys/socket.h>
#include <sys/un.h>

#include <stdint.h>

#include "sdproto.h"

struct service {
	int			 fd;		/* -1: no NOTIFY_SOCKET */
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;
	uint64_t		 watchdog_usec;	/* 0: no watchdog */
	int			 failing;	/* a send failed; said once */
	char			 status[256];	/* the last STATUS= sent */
};

/* Read NOTIFY_SOCKET and the watchdog's variables; never fails. */
void	service_init(struct service *);
/* Send msg ("READY=1", ...; lines split by '\n'), if there is a socket. */
void	service_notify(struct service *, const char *msg);
/* Send STATUS=status unless it is the one sent last. */
void	service_status(struct service *, const char *status);
void	service_free(struct service *);
/*
 * The sockets passed to this process; the variables are unset so that
 * no child takes them too (the strings stay, so sf's names remain). Returns their number, 0 when
 * none, or -1 with a one-line reason in err.
 */
int	service_listen_fds(struct sdproto_fds *, char *err, size_t errlen);

#endif
