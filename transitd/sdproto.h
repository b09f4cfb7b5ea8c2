/*
 * sdproto.h: the service manager's side of systemd's protocols, as
 * environment variables give them: socket activation (LISTEN_PID,
 * LISTEN_FDS, LISTEN_FDNAMES; sd_listen_fds(3)), the notification
 * socket (NOTIFY_SOCKET; sd_notify(3)) and the watchdog (WATCHDOG_USEC,
 * WATCHDOG_PID). Pure parsing, no syscalls.
 */
#ifndef TRANSITD_SDPROTO_H
#define TRANSITD_SDPROTO_H

#include <sys/socket.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdint.h>

#define SDPROTO_FDS_START	3	/* SD_LISTEN_FDS_START */
#define SDPROTO_FDS_MAX		64

/* The passed sockets: descriptors SDPROTO_FDS_START to + n - 1. */
struct sdproto_fds {
	int		 n;
	struct {
		const char	*name;		/* in the names string */
		size_t		 namelen;	/* 0: none given */
		int		 websocket;	/* else plain TCP */
	} fd[SDPROTO_FDS_MAX];
};

/*
 * Read the socket activation variables (each may be NULL) for process
 * mypid. Returns the number of sockets passed, 0 when none were passed
 * to this process (no LISTEN_PID, or another's), or -1 with a one-line
 * reason in err. Names shorter or longer than the list are tolerated:
 * a socket without a name is a TCP one.
 */
int	sdproto_listen_fds(const char *pid, const char *fds,
	    const char *names, long mypid, struct sdproto_fds *,
	    char *err, size_t errlen);
/*
 * Whether a socket named name (FileDescriptorName=, which defaults to
 * the socket unit's name) serves WebSocket clients: "ws", or any name
 * with "websocket" in it, in any case.
 */
int	sdproto_is_websocket(const char *name, size_t len);
/*
 * The watchdog interval in microseconds that WATCHDOG_USEC and
 * WATCHDOG_PID (either may be NULL) ask of process mypid, or 0.
 */
uint64_t sdproto_watchdog(const char *usec, const char *pid, long mypid);
/*
 * Fill sun with NOTIFY_SOCKET's address: a path, or "@name" in the
 * abstract namespace. Returns the address length, or 0 if s is not one.
 */
socklen_t sdproto_notify_addr(const char *s, struct sockaddr_un *sun);

#endif
