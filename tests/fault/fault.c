/*
 * fault.c: an LD_PRELOAD library for the fault tests. epoll_ctl(2)
 * fails with ENOSPC (the kernel's max_user_watches) for the sockets
 * whose peer is at TRANSITD_FAULT_EPOLL_PORT, as an event_add of
 * libevent's would fail on a loaded machine.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <sys/prctl.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
fault_port(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	const char		*want = getenv("TRANSITD_FAULT_EPOLL_PORT");

	if (want == NULL ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return (0);
	if (ss.ss_family == AF_INET)
		return (ntohs(((struct sockaddr_in *)&ss)->sin_port) ==
		    atoi(want));
	if (ss.ss_family == AF_INET6)
		return (ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) ==
		    atoi(want));
	return (0);
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	static int	(*real)(int, int, int, struct epoll_event *);

	if (real == NULL)
		real = (int (*)(int, int, int, struct epoll_event *))
		    dlsym(RTLD_NEXT, "epoll_ctl");
	if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && fault_port(fd)) {
		errno = ENOSPC;
		return (-1);
	}
	return (real(epfd, op, fd, ev));
}

int
epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	static int	(*real)(int, struct epoll_event *, int, int);
	struct timespec	 tick = { 0, 10 * 1000 * 1000 };
	const char	*stall = getenv("TRANSITD_FAULT_STALL");
	char		 name[16] = "";
	int		 n;

	if (real == NULL)
		real = (int (*)(int, struct epoll_event *, int, int))
		    dlsym(RTLD_NEXT, "epoll_wait");
	n = real(epfd, ev, max, timeout);
	if (stall != NULL && prctl(PR_GET_NAME, name) == 0 &&
	    strcmp(name, "transitd-1") == 0)
		while (access(stall, F_OK) == 0)
			nanosleep(&tick, NULL);
	return (n);
}
