/*
 * opts.c: the command line of twist transitrelay, parsed with
 * getopt_long(3) so that --opt=value, --opt value and -p value all work.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "opts.h"

enum {
	OPT_LOG_FD = 256,
	OPT_BLUR_USAGE,
	OPT_USAGE_DB
};

static const struct option opts_long[] = {
	{ "port",		required_argument,	NULL, 'p' },
	{ "log-fd",		required_argument,	NULL, OPT_LOG_FD },
	{ "blur-usage",		required_argument,	NULL, OPT_BLUR_USAGE },
	{ "usage-db",		required_argument,	NULL, OPT_USAGE_DB },
	{ "websocket",		required_argument,	NULL, 'w' },
	{ "websocket-url",	required_argument,	NULL, 'u' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/* The option's name as the user wrote it, for messages. */
static const char *
opts_name(int ch)
{
	const struct option	*o;

	for (o = opts_long; o->name != NULL; o++)
		if (o->val == ch)
			return (o->name);
	return ("?");
}

/* Add endpoint text s of option ch to eps. Returns 0, or -1 with err. */
static int
opts_endpoint(int ch, const char *s, struct endpoint *eps, size_t *n,
    char *err, size_t errlen)
{
	char	 why[200], vis[128];

	if (*n == OPTS_PORTS_MAX) {
		snprintf(err, errlen, "too many --%s options (at most %d)",
		    opts_name(ch), OPTS_PORTS_MAX);
		return (-1);
	}
	if (endpoint_parse(s, &eps[*n], why, sizeof why) == -1) {
		snprintf(err, errlen, "--%s=%s: %s", opts_name(ch),
		    endpoint_vis(vis, sizeof vis, s), why);
		return (-1);
	}
	(*n)++;
	return (0);
}

/*
 * Whether s is a WebSocket URL a client could use: ws:// or wss://, a
 * host, and no spaces, controls or fragment (as autobahn demands).
 */
static int
opts_ws_url(const char *s)
{
	size_t	 i;

	if (strncasecmp(s, "ws://", 5) == 0)
		s += 5;
	else if (strncasecmp(s, "wss://", 6) == 0)
		s += 6;
	else
		return (0);
	if (*s == '\0' || strchr("/?:#", *s) != NULL)
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '#')
			return (0);
	return (1);
}

int
opts_parse(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
	char		 why[200], vis[128];
	int		 ch, v;

	memset(o, 0, sizeof *o);
	o->log_fd = -1;
	optind = 0;	/* GNU: start over, so this may be called again */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:w:u:hV", opts_long,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (opts_endpoint(ch, optarg, o->ports, &o->nports,
			    err, errlen) == -1)
				return (-1);
			break;
		case 'w':
			if (opts_endpoint(ch, optarg, o->websockets,
			    &o->nwebsockets, err, errlen) == -1)
				return (-1);
			break;
		case 'u':
			if (!opts_ws_url(optarg)) {
				snprintf(err, errlen, "--websocket-url=%s: not a "
				    "ws:// or wss:// URL with a host",
				    endpoint_vis(vis, sizeof vis, optarg));
				return (-1);
			}
			o->websocket_url = optarg;
			break;
		case OPT_LOG_FD:
			if (endpoint_number(optarg, 0, 1000000000, &v) == -1) {
				snprintf(err, errlen, "--log-fd=%s: not a file "
				    "descriptor number",
				    endpoint_vis(vis, sizeof vis, optarg));
				return (-1);
			}
			o->log_fd = v;
			break;
		case OPT_BLUR_USAGE:
			if (endpoint_number(optarg, 0, 1000000000, &v) == -1) {
				snprintf(err, errlen, "--blur-usage=%s: not a "
				    "whole number of seconds",
				    endpoint_vis(vis, sizeof vis, optarg));
				return (-1);
			}
			o->blur_usage = (unsigned long)v;
			break;
		case OPT_USAGE_DB:
			if (*optarg == '\0') {
				snprintf(err, errlen, "--usage-db needs a file "
				    "name");
				return (-1);
			}
			o->usage_db = optarg;
			break;
		case 'h':
			o->help = 1;
			break;
		case 'V':
			o->version = 1;
			break;
		case ':':
			snprintf(err, errlen, "option %s needs a value",
			    endpoint_vis(vis, sizeof vis, argv[optind - 1]));
			return (-1);
		default:
			snprintf(err, errlen, "unknown option %s",
			    endpoint_vis(vis, sizeof vis, argv[optind - 1]));
			return (-1);
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\"",
		    endpoint_vis(vis, sizeof vis, argv[optind]));
		return (-1);
	}
	if (o->nports == 0 && endpoint_parse(ENDPOINT_DEFAULT, &o->ports[0],
	    why, sizeof why) == 0)
		o->nports = 1;
	return (0);
}
