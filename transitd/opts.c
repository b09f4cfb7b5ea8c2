/*
 * opts.c: the command line of twist transitrelay, parsed with
 * getopt_long(3) so that --opt=value, --opt value and -p value all work,
 * and the same options from TRANSITD_* environment variables (envdir,
 * EnvironmentFile=), which an option on the command line overrides.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "opts.h"

enum {
	OPT_LOG_FD = 256,
	OPT_BLUR_USAGE,
	OPT_USAGE_DB,
	OPT_LOG_FILE,
	OPT_DRAIN_TIMEOUT,
	OPT_THREADS,
	OPT_HANDSHAKE_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_LONELY_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_MAX_SESSION_TIME,
	OPT_MAX_SESSION_BYTES,
	OPT_PER_SESSION_RATE,
	OPT_GLOBAL_RATE,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_PER_IP,
	OPT_MAX_WAITING_PER_IP,
	OPT_IPV6_PREFIX,
	OPT_TRUSTED_NET,
	OPT_DAILY_BYTES_PER_IP,
	OPT_STATUS
};

/* Longest value, and longest endpoint in a list, of a variable. */
#define OPTS_ENV_ITEM	512

static const struct option opts_long[] = {
	{ "port",		required_argument,	NULL, 'p' },
	{ "log-fd",		required_argument,	NULL, OPT_LOG_FD },
	{ "blur-usage",		required_argument,	NULL, OPT_BLUR_USAGE },
	{ "usage-db",		required_argument,	NULL, OPT_USAGE_DB },
	{ "websocket",		required_argument,	NULL, 'w' },
	{ "websocket-url",	required_argument,	NULL, 'u' },
	{ "log-file",		required_argument,	NULL, OPT_LOG_FILE },
	{ "drain-timeout",	required_argument,	NULL, OPT_DRAIN_TIMEOUT },
	{ "threads",		required_argument,	NULL, OPT_THREADS },
	{ "handshake-timeout",	required_argument,	NULL,
	    OPT_HANDSHAKE_TIMEOUT },
	{ "keepalive",		required_argument,	NULL, OPT_KEEPALIVE },
	{ "lonely-timeout",	required_argument,	NULL, OPT_LONELY_TIMEOUT },
	{ "idle-timeout",	required_argument,	NULL, OPT_IDLE_TIMEOUT },
	{ "max-session-time",	required_argument,	NULL,
	    OPT_MAX_SESSION_TIME },
	{ "max-session-bytes",	required_argument,	NULL,
	    OPT_MAX_SESSION_BYTES },
	{ "per-session-rate",	required_argument,	NULL,
	    OPT_PER_SESSION_RATE },
	{ "global-rate",	required_argument,	NULL, OPT_GLOBAL_RATE },
	{ "max-connections",	required_argument,	NULL,
	    OPT_MAX_CONNECTIONS },
	{ "max-per-ip",		required_argument,	NULL, OPT_MAX_PER_IP },
	{ "max-waiting-per-ip",	required_argument,	NULL,
	    OPT_MAX_WAITING_PER_IP },
	{ "ipv6-prefix",	required_argument,	NULL, OPT_IPV6_PREFIX },
	{ "trusted-net",	required_argument,	NULL, OPT_TRUSTED_NET },
	{ "daily-bytes-per-ip",	required_argument,	NULL,
	    OPT_DAILY_BYTES_PER_IP },
	{ "status",		required_argument,	NULL, OPT_STATUS },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/* The environment variable of each option that may have a value. */
static const struct {
	int		 ch;
	const char	*name;
	int		 list;	/* endpoints, separated by white space */
} opts_env[] = {
	{ 'p',			"TRANSITD_PORT",		1 },
	{ OPT_LOG_FD,		"TRANSITD_LOG_FD",		0 },
	{ OPT_LOG_FILE,		"TRANSITD_LOG_FILE",		0 },
	{ OPT_BLUR_USAGE,	"TRANSITD_BLUR_USAGE",		0 },
	{ OPT_USAGE_DB,		"TRANSITD_USAGE_DB",		0 },
	{ 'w',			"TRANSITD_WEBSOCKET",		1 },
	{ 'u',			"TRANSITD_WEBSOCKET_URL",	0 },
	{ OPT_DRAIN_TIMEOUT,	"TRANSITD_DRAIN_TIMEOUT",	0 },
	{ OPT_THREADS,		"TRANSITD_THREADS",		0 },
	{ OPT_HANDSHAKE_TIMEOUT, "TRANSITD_HANDSHAKE_TIMEOUT",	0 },
	{ OPT_KEEPALIVE,	"TRANSITD_KEEPALIVE",		0 },
	{ OPT_LONELY_TIMEOUT,	"TRANSITD_LONELY_TIMEOUT",	0 },
	{ OPT_IDLE_TIMEOUT,	"TRANSITD_IDLE_TIMEOUT",	0 },
	{ OPT_MAX_SESSION_TIME,	"TRANSITD_MAX_SESSION_TIME",	0 },
	{ OPT_MAX_SESSION_BYTES, "TRANSITD_MAX_SESSION_BYTES",	0 },
	{ OPT_PER_SESSION_RATE,	"TRANSITD_PER_SESSION_RATE",	0 },
	{ OPT_GLOBAL_RATE,	"TRANSITD_GLOBAL_RATE",		0 },
	{ OPT_MAX_CONNECTIONS,	"TRANSITD_MAX_CONNECTIONS",	0 },
	{ OPT_MAX_PER_IP,	"TRANSITD_MAX_PER_IP",		0 },
	{ OPT_MAX_WAITING_PER_IP, "TRANSITD_MAX_WAITING_PER_IP", 0 },
	{ OPT_IPV6_PREFIX,	"TRANSITD_IPV6_PREFIX",		0 },
	{ OPT_TRUSTED_NET,	"TRANSITD_TRUSTED_NET",		1 },
	{ OPT_DAILY_BYTES_PER_IP, "TRANSITD_DAILY_BYTES_PER_IP", 0 },
	{ OPT_STATUS,		"TRANSITD_STATUS",		0 },
};
#define OPTS_NENV	(sizeof opts_env / sizeof opts_env[0])

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

/*
 * Add endpoint text s, given as label ("--port" or "TRANSITD_PORT"), to
 * eps. Returns 0, or -1 with err.
 */
static int
opts_endpoint(const char *label, const char *s, struct endpoint *eps,
    size_t *n, char *err, size_t errlen)
{
	char	 why[200], vis[128];

	if (*n == OPTS_PORTS_MAX) {
		if (label[0] == '-')
			snprintf(err, errlen, "too many %s options (at most "
			    "%d)", label, OPTS_PORTS_MAX);
		else
			snprintf(err, errlen, "%s: too many endpoints (at most "
			    "%d)", label, OPTS_PORTS_MAX);
		return (-1);
	}
	if (endpoint_parse(s, &eps[*n], why, sizeof why) == -1) {
		snprintf(err, errlen, "%s=%s: %s", label,
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

/*
 * Take value s of option ch, named label in messages. Returns 0, or -1
 * with a one-line message in err.
 */
static int
opts_set(struct opts *o, int ch, const char *label, const char *s,
    char *err, size_t errlen)
{
	char	 vis[128];
	int	 v;

	switch (ch) {
	case 'p':
		return (opts_endpoint(label, s, o->ports, &o->nports, err,
		    errlen));
	case 'w':
		return (opts_endpoint(label, s, o->websockets,
		    &o->nwebsockets, err, errlen));
	case 'u':
		if (!opts_ws_url(s)) {
			snprintf(err, errlen, "%s=%s: not a ws:// or wss:// "
			    "URL with a host", label,
			    endpoint_vis(vis, sizeof vis, s));
			return (-1);
		}
		o->websocket_url = s;
		return (0);
	case OPT_LOG_FD:
		if (endpoint_number(s, 0, 1000000000, &v) == -1) {
			snprintf(err, errlen, "%s=%s: not a file descriptor "
			    "number", label, endpoint_vis(vis, sizeof vis, s));
			return (-1);
		}
		o->log_fd = v;
		return (0);
	case OPT_BLUR_USAGE:
	case OPT_DRAIN_TIMEOUT:
		if (endpoint_number(s, 0, 1000000000, &v) == -1) {
			snprintf(err, errlen, "%s=%s: not a whole number of "
			    "seconds", label, endpoint_vis(vis, sizeof vis, s));
			return (-1);
		}
		if (ch == OPT_BLUR_USAGE)
			o->blur_usage = (unsigned long)v;
		else
			o->drain_timeout = v;
		return (0);
	case OPT_THREADS:
		if (endpoint_number(s, 1, OPTS_THREADS_MAX, &v) == -1) {
			snprintf(err, errlen, "%s=%s: not a number of threads "
			    "from 1 to %d", label, endpoint_vis(vis, sizeof vis,
			    s), OPTS_THREADS_MAX);
			return (-1);
		}
		o->threads = v;
		return (0);
	case OPT_STATUS:
		o->nstatus = 0;		/* the last one counts */
		return (opts_endpoint(label, s, &o->status, &o->nstatus, err,
		    errlen));
	case OPT_USAGE_DB:
	case OPT_LOG_FILE:
		if (*s == '\0') {
			snprintf(err, errlen, "%s needs a file name", label);
			return (-1);
		}
		if (ch == OPT_USAGE_DB)
			o->usage_db = s;
		else
			o->log_file = s;
		return (0);
	}
	return (limits_set(&o->lim, opts_name(ch), label, s, err, errlen));
}

/* The value of variable name in envp, or NULL. */
static const char *
opts_getenv(char *const *envp, const char *name)
{
	size_t	 len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return (*envp + len + 1);
	return (NULL);
}

/*
 * Take the options of envp that the command line did not give (seen).
 * An empty variable counts as unset, as envdir(8) makes it.
 */
static int
opts_from_env(struct opts *o, char *const *envp, const int *seen, char *err,
    size_t errlen)
{
	const char	*s;
	char		 item[OPTS_ENV_ITEM], vis[128];
	size_t		 i, n;

	for (i = 0; i < OPTS_NENV; i++) {
		if (seen[i] || (s = opts_getenv(envp, opts_env[i].name)) ==
		    NULL || *s == '\0')
			continue;
		if (!opts_env[i].list) {
			if (opts_set(o, opts_env[i].ch, opts_env[i].name, s,
			    err, errlen) == -1)
				return (-1);
			continue;
		}
		for (;;) {
			s += strspn(s, " \t\n");
			if (*s == '\0')
				break;
			n = strcspn(s, " \t\n");
			if (n >= sizeof item) {
				snprintf(err, errlen, "%s: endpoint \"%s\" is "
				    "too long", opts_env[i].name,
				    endpoint_vis(vis, 40, s));
				return (-1);
			}
			memcpy(item, s, n);
			item[n] = '\0';
			if (opts_set(o, opts_env[i].ch, opts_env[i].name, item,
			    err, errlen) == -1)
				return (-1);
			s += n;
		}
	}
	return (0);
}

int
opts_parse(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
	return (opts_parse_env(argc, argv, NULL, o, err, errlen));
}

int
opts_parse_env(int argc, char **argv, char *const *envp, struct opts *o,
    char *err, size_t errlen)
{
	char		 why[200], vis[128], label[32];
	int		 ch, seen[OPTS_NENV];
	size_t		 i;

	memset(o, 0, sizeof *o);
	memset(seen, 0, sizeof seen);
	o->log_fd = -1;
	o->drain_timeout = OPTS_DRAIN_DEFAULT;
	limits_init(&o->lim);
	optind = 0;	/* GNU: start over, so this may be called again */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:w:u:hV", opts_long,
	    NULL)) != -1) {
		switch (ch) {
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
		case '?':
			snprintf(err, errlen, "unknown option %s",
			    endpoint_vis(vis, sizeof vis, argv[optind - 1]));
			return (-1);
		default:
			/* The two log destinations are one choice. */
			for (i = 0; i < OPTS_NENV; i++)
				if (opts_env[i].ch == ch ||
				    (opts_env[i].ch == OPT_LOG_FD &&
				    ch == OPT_LOG_FILE) ||
				    (opts_env[i].ch == OPT_LOG_FILE &&
				    ch == OPT_LOG_FD))
					seen[i] = 1;
			snprintf(label, sizeof label, "--%s", opts_name(ch));
			if (opts_set(o, ch, label, optarg, err, errlen) == -1)
				return (-1);
			break;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\"",
		    endpoint_vis(vis, sizeof vis, argv[optind]));
		return (-1);
	}
	/* --help and --version work whatever the environment holds. */
	if (!o->help && !o->version &&
	    opts_from_env(o, envp, seen, err, errlen) == -1)
		return (-1);
	if (o->log_fd != -1 && o->log_file != NULL) {
		snprintf(err, errlen, "--log-fd and --log-file cannot both be "
		    "given");
		return (-1);
	}
	if (o->nports == 0 && endpoint_parse(ENDPOINT_DEFAULT, &o->ports[0],
	    why, sizeof why) == 0)
		o->nports = 1;
	return (0);
}
