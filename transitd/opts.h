/*
 * opts.h: the command line, the same as the reference's twist
 * transitrelay options plus --help, --version, --log-file and
 * --drain-timeout and --threads, also read from the environment. Pure parsing.
 */
#ifndef TRANSITD_OPTS_H
#define TRANSITD_OPTS_H

#include <stddef.h>

#include "endpoint.h"
#include "limits.h"

#define OPTS_PORTS_MAX	16
/* Seconds live pairs may go on after SIGTERM (--drain-timeout). */
#define OPTS_DRAIN_DEFAULT	60
/* Most --threads; the default is one per online core. */
#define OPTS_THREADS_MAX	256

struct opts {
	struct endpoint	 ports[OPTS_PORTS_MAX];
	size_t		 nports;
	struct endpoint	 websockets[OPTS_PORTS_MAX];	/* --websocket */
	size_t		 nwebsockets;
	const char	*websocket_url;		/* NULL: derive from the port */
	int		 log_fd;		/* -1: none */
	const char	*log_file;		/* NULL: none */
	int		 drain_timeout;		/* seconds */
	int		 threads;		/* 0: one per core */
	unsigned long	 blur_usage;		/* 0: none */
	const char	*usage_db;		/* NULL: none */
	struct limits	 lim;			/* protections */
	struct endpoint	 status;		/* --status */
	size_t		 nstatus;		/* 0 or 1 */
	int		 help;
	int		 version;
};

/*
 * Parse argv into o. Returns 0, or -1 with a one-line message in err
 * (the caller exits with status 2).
 */
int	opts_parse(int argc, char **argv, struct opts *o, char *err,
	    size_t errlen);
/*
 * The same, also taking each option the command line does not give from
 * its variable in envp (TRANSITD_PORT, TRANSITD_USAGE_DB, ...: TRANSITD_
 * and the option's name, upper case, '-' as '_'); an empty one is unset.
 * TRANSITD_PORT and TRANSITD_WEBSOCKET take endpoints separated by white
 * space. envp may be NULL.
 */
int	opts_parse_env(int argc, char **argv, char *const *envp,
	    struct opts *o, char *err, size_t errlen);

#endif
