/*
 * transitd.c: main: the command line, then the server.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "opts.h"
#include "server.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"0"
#endif

static const char	 transitd_usage[] =
"usage: transitd [--port=ENDPOINT]... [--log-fd=N] [--blur-usage=SECONDS]\n"
"                [--usage-db=FILE] [--websocket=ENDPOINT]...\n"
"                [--websocket-url=URL]\n"
"\n"
"A magic-wormhole transit relay: pairs clients that send the same token\n"
"and relays bytes between them.\n"
"\n"
"  -p, --port=ENDPOINT       listen here (may be repeated); default\n"
"                            tcp:4001:interface=\\:\\: (IPv4 and IPv6)\n"
"      --log-fd=N            write one JSON usage line per record to fd N\n"
"      --blur-usage=SECONDS  round times and sizes in usage records\n"
"      --usage-db=FILE       record usage in an SQLite database\n"
"  -w, --websocket=ENDPOINT  also listen for WebSocket clients (may be\n"
"                            repeated)\n"
"  -u, --websocket-url=URL   their public ws:// or wss:// URL, printed at\n"
"                            start; default ws://localhost:PORT/\n"
"  -h, --help                print this and exit\n"
"  -V, --version             print the version and exit\n"
"\n"
"ENDPOINT: tcp:PORT[:interface=ADDR][:backlog=N], '\\:' for a ':' in ADDR.\n";

int
main(int argc, char **argv)
{
	struct opts	 o;
	char		 err[512];

	if (opts_parse(argc, argv, &o, err, sizeof err) == -1) {
		log_msg("%s (see transitd --help)", err);
		return (2);
	}
	if (o.help) {
		fputs(transitd_usage, stdout);
		return (0);
	}
	if (o.version) {
		printf("transitd %s\n", PACKAGE_VERSION);
		return (0);
	}
	return (server_run(&o));
}
