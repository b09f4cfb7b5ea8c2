/*
 * probe.h: transitd-probe's run: connect, pair, send both ways, check,
 * report.
 */
#ifndef TRANSITD_PROBE_H
#define TRANSITD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_SECONDS	3	/* of sending, by default */
#define PROBE_TIMEOUT	10	/* for each step, by default */
#define PROBE_BLOCK	65536	/* the pattern repeats after it */

struct probe_side {
	int		 fd;
	double		 connected;	/* ms to connect */
	char		 hello[128];	/* its handshake */
	size_t		 hellosent;
	char		 reply[16];	/* what the relay said */
	size_t		 nreply;
	uint64_t	 sent;		/* relayed bytes sent */
	uint64_t	 got;		/* and received, checked */
	uint64_t	 sendgen, recvgen;	/* pattern states */
	uint8_t		 pend[65536];	/* generated, not yet sent */
	size_t		 npend, offpend;
};

struct probe {
	double		 seconds, timeout;
	char		 host[256], port[16];
	char		 why[512];	/* why it failed */
	int		 tty;
	struct probe_side side[2];
	double		 pairing;	/* ms from both handshakes to both ok */
	double		 elapsed[2];	/* s: side i's bytes all arrived */
};

void	probe_init(struct probe *);
/* Parse "tcp:HOST:PORT" (or tcp:host=H:port=P). 0, or -1 with why. */
int	probe_endpoint(struct probe *, const char *);
/* Probe the relay and print the report. 0: it works; -1. */
int	probe_run(struct probe *);

#endif
