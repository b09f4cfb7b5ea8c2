/*
 * transitd-probe: check a transit relay from outside, as an operator
 * would. Two connections through the relay at tcp:HOST:PORT are paired
 * with a fresh random token; then both send for --seconds at once, and
 * every byte that comes out is checked against what went in. A report
 * of one screen says how long pairing took and how fast each way went;
 * the exit status says whether the relay works (0), not (1), or the
 * command line was wrong (2). Works against any relay that speaks the
 * transit protocol, the Python reference too.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <netdb.h>
#include <poll.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"0"
#endif

static void
usage(FILE *f)
{
	fprintf(f, "usage: transitd-probe [--seconds=N] [--timeout=N] "
	    "tcp:HOST:PORT\n"
	    "Pair two connections through the transit relay at HOST:PORT, "
	    "send both ways\nfor N seconds (default %d), check every byte, "
	    "and report. Exit status: 0 the\nrelay works, 1 it does not, 2 "
	    "usage.\n", PROBE_SECONDS);
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "seconds",	required_argument,	NULL, 's' },
		{ "timeout",	required_argument,	NULL, 't' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct probe	 p;
	char		*end;
	double		 v;
	int		 ch;

	probe_init(&p);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:t:hV", longs, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 't':
			v = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(v > 0) ||
			    v > 3600) {
				fprintf(stderr, "transitd-probe: --%s=%s: not "
				    "a number of seconds from 0 to 3600\n",
				    ch == 's' ? "seconds" : "timeout", optarg);
				return (2);
			}
			if (ch == 's')
				p.seconds = v;
			else
				p.timeout = v;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("transitd-probe %s\n", PACKAGE_VERSION);
			return (0);
		default:
			fprintf(stderr, "transitd-probe: unknown option or "
			    "missing value: %s\n", argv[optind - 1]);
			usage(stderr);
			return (2);
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return (2);
	}
	if (probe_endpoint(&p, argv[optind]) == -1) {
		fprintf(stderr, "transitd-probe: %s\n", p.why);
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	p.tty = isatty(STDOUT_FILENO);
	return (probe_run(&p) == 0 ? 0 : 1);
}
