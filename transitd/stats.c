/*
 * stats.c: the shared figures (stats.h).
 */
#include "stats.h"

struct stats	 stats;

static const struct {
	const char	*option;
	const char	*name;
} stats_causes[CAUSE_MAX] = {
	{ "handshake-timeout",	"handshake" },
	{ "lonely-timeout",	"lonely" },
	{ "idle-timeout",	"idle" },
	{ "max-session-time",	"session_time" },
	{ "max-session-bytes",	"session_bytes" },
	{ "max-connections",	"max_connections" },
	{ "max-per-ip",		"per_ip" },
	{ "max-waiting-per-ip",	"waiting_per_ip" },
	{ "daily-bytes-per-ip",	"daily_bytes" },
};

const char *
stats_cause_option(enum stats_cause c)
{
	return ((unsigned)c < CAUSE_MAX ? stats_causes[c].option : "?");
}

const char *
stats_cause_name(enum stats_cause c)
{
	return ((unsigned)c < CAUSE_MAX ? stats_causes[c].name : "?");
}
