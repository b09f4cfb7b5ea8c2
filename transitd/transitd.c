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
"usage: transitd [--port=ENDPOINT]... [--log-fd=N | --log-file=FILE]\n"
"                [--blur-usage=SECONDS] [--usage-db=FILE]\n"
"                [--websocket=ENDPOINT]... [--websocket-url=URL]\n"
"                [--drain-timeout=SECONDS] [--threads=N]\n"
"                [--status=ENDPOINT] [protections...]\n"
"\n"
"A magic-wormhole transit relay: pairs clients that send the same token\n"
"and relays bytes between them.\n"
"\n"
"  -p, --port=ENDPOINT       listen here (may be repeated); default\n"
"                            tcp:4001:interface=\\:\\: (IPv4 and IPv6)\n"
"      --log-fd=N            write one JSON usage line per record to fd N\n"
"      --log-file=FILE       append them to FILE instead (reopened on\n"
"                            SIGHUP)\n"
"      --blur-usage=SECONDS  round times and sizes in usage records\n"
"      --usage-db=FILE       record usage in an SQLite database\n"
"  -w, --websocket=ENDPOINT  also listen for WebSocket clients (may be\n"
"                            repeated)\n"
"  -u, --websocket-url=URL   their public ws:// or wss:// URL, printed at\n"
"                            start; default ws://localhost:PORT/\n"
"      --drain-timeout=SECONDS\n"
"                            after SIGTERM, let live pairs finish for up\n"
"                            to this long; default 60, 0 ends them at once\n"
"      --threads=N           relay pairs on N threads; default one per core\n"
"      --status=ENDPOINT     serve /status, /metrics and /health over HTTP\n"
"\n"
"Protections (0 turns one off; see \"Running a public relay\" in README):\n"
"      --handshake-timeout=SECONDS  close a client without a handshake;\n"
"                            default 60\n"
"      --keepalive=SECONDS   TCP keepalive: a vanished peer is found in\n"
"                            about twice this; default 300\n"
"      --lonely-timeout=SECONDS     close a waiter with no partner\n"
"      --idle-timeout=SECONDS       close a pair with no byte either way\n"
"      --max-session-time=SECONDS   close a pair after this long\n"
"      --max-session-bytes=BYTES    close a pair after this many bytes\n"
"      --per-session-rate=BYTES/S   bytes a second for each pair\n"
"      --global-rate=BYTES/S        bytes a second for all pairs\n"
"      --max-connections=N   refuse connections beyond N\n"
"      --max-per-ip=N        refuse a source's connections beyond N\n"
"      --max-waiting-per-ip=N       refuse a source's waiters beyond N\n"
"      --ipv6-prefix=BITS    an IPv6 source is its /BITS; default 64\n"
"      --trusted-net=CIDR    exempt this range from the limits (repeatable)\n"
"      --daily-bytes-per-ip=BYTES   refuse a source's handshakes once it\n"
"                            relayed this many bytes today (UTC)\n"
"BYTES take k, M, G (powers of 1000) or Ki, Mi, Gi (of 1024).\n"
"\n"
"  -h, --help                print this and exit\n"
"  -V, --version             print the version and exit\n"
"\n"
"ENDPOINT: tcp:PORT[:interface=ADDR][:backlog=N], '\\:' for a ':' in ADDR.\n"
"\n"
"Every option may also come from the environment: TRANSITD_PORT,\n"
"TRANSITD_LOG_FD, TRANSITD_LOG_FILE, TRANSITD_BLUR_USAGE, TRANSITD_USAGE_DB,\n"
"TRANSITD_WEBSOCKET, TRANSITD_WEBSOCKET_URL, TRANSITD_DRAIN_TIMEOUT,\n"
"TRANSITD_THREADS, TRANSITD_STATUS, TRANSITD_IDLE_TIMEOUT... (TRANSITD_ and\n"
"the option's name; endpoints and ranges separated by spaces); the command\n"
"line wins.\n"
"Sockets passed by a service manager (LISTEN_FDS) replace --port and\n"
"--websocket.\n";

extern char	**environ;

int
main(int argc, char **argv)
{
	struct opts	 o;
	char		 err[512];

	if (opts_parse_env(argc, argv, environ, &o, err, sizeof err) == -1) {
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
