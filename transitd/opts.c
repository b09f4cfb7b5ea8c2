/*
 * opts.c: the command line of twist transitrelay, parsed with
 * getopt_long(3) so that --opt=value, --opt value and -p value all work.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
			if (o->nports == OPTS_PORTS_MAX) {
				snprintf(err, errlen, "too many --port options "
				    "(at most %d)", OPTS_PORTS_MAX);
				return (-1);
			}
			if (endpoint_parse(optarg, &o->ports[o->nports], why,
			    sizeof why) == -1) {
				snprintf(err, errlen, "--port=%s: %s",
				    endpoint_vis(vis, sizeof vis, optarg), why);
				return (-1);
			}
			o->nports++;
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
		case 'w':
		case 'u':
			snprintf(err, errlen, "--%s: not supported yet",
			    opts_name(ch));
			return (-1);
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
