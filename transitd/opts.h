/*
 * opts.h: the command line, the same as the reference's twist
 * transitrelay options plus --help and --version. Pure parsing.
 */
#ifndef TRANSITD_OPTS_H
#define TRANSITD_OPTS_H

#include <stddef.h>

#include "endpoint.h"

#define OPTS_PORTS_MAX	16

struct opts {
	struct endpoint	 ports[OPTS_PORTS_MAX];
	size_t		 nports;
	struct endpoint	 websockets[OPTS_PORTS_MAX];	/* --websocket */
	size_t		 nwebsockets;
	const char	*websocket_url;		/* NULL: derive from the port */
	int		 log_fd;		/* -1: none */
	unsigned long	 blur_usage;		/* 0: none */
	const char	*usage_db;		/* NULL: none */
	int		 help;
	int		 version;
};

/*
 * Parse argv into o. Returns 0, or -1 with a one-line message in err
 * (the caller exits with status 2).
 */
int	opts_parse(int argc, char **argv, struct opts *o, char *err,
	    size_t errlen);

#endif
