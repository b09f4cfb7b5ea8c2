/*
 * transitd-munin.c: the Munin plugins of transitd, one program called
 * through symlinks named wormhole_transit_GRAPH. It reads the usage
 * database (env.usagedb) read-only and prints the same graphs, fields and
 * values as the reference relay's Python plugins (protocol spec, Munin
 * plugins of the reference), plus wormhole_transit_rates (events) and
 * wormhole_transit_rates_bytes. Called under
 * any other name starting with wormhole_transit_ (the wildcard
 * wormhole_transit_ in the plugin library) it answers autoconf and suggest
 * for munin-node-configure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

/*
 * munin-node-configure reads these markers line by line from the plugin
 * file, binary or not; each must end in a newline so that nothing after
 * it joins the line.
 */
static const char munin_markers[] __attribute__((used)) =
    "\n#%# family=auto\n#%# capabilities=autoconf suggest\n";

#define MUNIN_PREFIX	"wormhole_transit_"
#define MUNIN_STALE	300.0	/* a current row older than this is stale */
#define MUNIN_BUSY_MS	2000	/* wait this long for a writer's lock */
#define MUNIN_MAXFIELD	5

enum munin_kind { MUNIN_ACTIVE, MUNIN_BYTES, MUNIN_EVENTS, MUNIN_RATES,
    MUNIN_BYTE_RATE };

struct munin_field {
	const char	*name;
	const char	*label;
	const char	*info;
};

struct munin_graph {
	const char		*suffix;
	enum munin_kind		 kind;
	int			 since_reboot;	/* only rows after rebooted */
	const char		*title;
	const char		*vlabel;
	const char		*info;
	const char		*args;		/* graph_args, or NULL */
	const char		*type;		/* GAUGE or DERIVE */
	struct munin_field	 fields[MUNIN_MAXFIELD];
};

/* A value to print: n when known, else U. */
struct munin_value {
	int		known;
	long long	n;
};

/* The moods the reference's event graphs count, in its order. */
#define MUNIN_EVENT_FIELDS \
	{ "happy", "Happy", "Pairs that relayed and ended" }, \
	{ "errory", "Errory", "Connections with a bad handshake" }, \
	{ "lonely", "Lonely", "Connections that closed before a partner came" }, \
	{ "redundant", "Redundant", \
	    "Waiters dropped when another connection paired" }

static const struct munin_graph munin_graphs[] = {
	{ "active", MUNIN_ACTIVE, 0,
	  "Magic-Wormhole Transit Active Channels", "Channels",
	  "Connections the transit relay holds now.", NULL, "GAUGE", {
	    { "waiting", "Transit Waiting",
	      "Tokens waiting for a partner" },
	    { "connected", "Transit Connected",
	      "Connections in live pairs (two per pair)" } } },
	{ "bytes", MUNIN_BYTES, 1,
	  "Magic-Wormhole Transit Usage (since reboot)", "Bytes Since Reboot",
	  "Bytes relayed since the relay started.", NULL, "GAUGE", {
	    { "bytes", "Transit Bytes (complete)",
	      "Bytes relayed by finished transfers" },
	    { "incomplete", "Transit Bytes (incomplete)",
	      "Bytes relayed, counting transfers still running" } } },
	{ "bytes_alltime", MUNIN_BYTES, 0,
	  "Magic-Wormhole Transit Usage (all time)", "Bytes Since DB Creation",
	  "Bytes relayed since the usage database was created.", NULL,
	  "GAUGE", {
	    { "bytes", "Transit Bytes (complete)",
	      "Bytes relayed by finished transfers" },
	    { "incomplete", "Transit Bytes (incomplete)",
	      "Bytes relayed, counting transfers still running" } } },
	{ "events", MUNIN_EVENTS, 1,
	  "Magic-Wormhole Transit Server Events (since reboot)",
	  "Events Since Reboot",
	  "Connections ended since the relay started, by mood.", NULL,
	  "GAUGE", {
	    MUNIN_EVENT_FIELDS } },
	{ "events_alltime", MUNIN_EVENTS, 0,
	  "Magic-Wormhole Transit Server Events (all time)", "Events",
	  "Connections ended since the usage database was created, by mood.",
	  NULL, "GAUGE", {
	    MUNIN_EVENT_FIELDS } },
	/* Events and bytes differ by orders of magnitude: one axis each. */
	{ "rates", MUNIN_RATES, 0,
	  "Magic-Wormhole Transit Rates", "per ${graph_period}",
	  "How often connections end, by mood.", "--base 1000 -l 0",
	  "DERIVE", {
	    MUNIN_EVENT_FIELDS } },
	{ "rates_bytes", MUNIN_BYTE_RATE, 0,
	  "Magic-Wormhole Transit Byte Rate", "bytes per ${graph_period}",
	  "How fast finished transfers add to the bytes relayed.",
	  "--base 1024 -l 0", "DERIVE", {
	    { "bytes", "Bytes", "Bytes relayed by finished transfers" } } },
};
#define MUNIN_NGRAPHS	(sizeof munin_graphs / sizeof munin_graphs[0])

static const char *munin_moods[] = { "happy", "errory", "lonely",
    "redundant" };
#define MUNIN_NMOODS	(sizeof munin_moods / sizeof munin_moods[0])

/* Return the graph a plugin name selects, or NULL (the wildcard). */
static const struct munin_graph *
munin_graph_find(const char *name)
{
	size_t	i;

	if (strncmp(name, MUNIN_PREFIX, strlen(MUNIN_PREFIX)) != 0)
		return (NULL);
	name += strlen(MUNIN_PREFIX);
	for (i = 0; i < MUNIN_NGRAPHS; i++) {
		if (strcmp(name, munin_graphs[i].suffix) == 0)
			return (&munin_graphs[i]);
	}
	return (NULL);
}

/* Return the number of fields of a graph. */
static size_t
munin_graph_nfields(const struct munin_graph *g)
{
	size_t	n;

	for (n = 0; n < MUNIN_MAXFIELD && g->fields[n].name != NULL; n++)
		;
	return (n);
}

/* Print the config of a graph; it never reads the database. */
static void
munin_config(const struct munin_graph *g)
{
	const struct munin_field	*f;
	size_t				 i, n;

	printf("graph_title %s\n", g->title);
	printf("graph_vlabel %s\n", g->vlabel);
	if (g->args != NULL)
		printf("graph_args %s\n", g->args);
	printf("graph_category wormhole\n");
	printf("graph_info %s\n", g->info);
	n = munin_graph_nfields(g);
	for (i = 0; i < n; i++) {
		f = &g->fields[i];
		printf("%s.label %s\n", f->name, f->label);
		printf("%s.draw LINE1\n", f->name);
		printf("%s.type %s\n", f->name, g->type);
		if (strcmp(g->type, "DERIVE") == 0)
			printf("%s.min 0\n", f->name);
		printf("%s.info %s\n", f->name, f->info);
	}
}

/* Print the graph names for munin-node-configure, one a line. */
static void
munin_suggest(void)
{
	size_t	i;

	for (i = 0; i < MUNIN_NGRAPHS; i++)
		printf("%s\n", munin_graphs[i].suffix);
}

/* Put the last error of db in err, with a hint where SQLite gives none. */
static void
munin_db_error(sqlite3 *db, char *err, size_t len)
{
	const char	*hint = "";

#ifdef SQLITE_READONLY_DIRECTORY
	/*
	 * A reader of a WAL database must create its -shm file when no
	 * writer holds the database open.
	 */
	if (sqlite3_extended_errcode(db) == SQLITE_READONLY_DIRECTORY)
		hint = " (a WAL database with no writer, in a directory this "
		    "user cannot write: is the relay running?)";
#endif
	snprintf(err, len, "%s%s", sqlite3_errmsg(db), hint);
}

/* Open path read-only; 0, or -1 with the reason in err. */
static int
munin_db_open(sqlite3 **db, const char *path, char *err, size_t len)
{
	int	rc;

	*db = NULL;
	rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		if (*db != NULL)
			munin_db_error(*db, err, len);
		else
			snprintf(err, len, "%s", sqlite3_errstr(rc));
		sqlite3_close(*db);
		*db = NULL;
		return (-1);
	}
	sqlite3_busy_timeout(*db, MUNIN_BUSY_MS);
	return (0);
}

/*
 * Run sql, which returns at most one row of one column, binding bind
 * (if not NULL) to ?1 and text (if not NULL) to ?2; 0 with the value in
 * *out (NULL is not known), or -1 with the reason in err.
 */
static int
munin_db_scalar(sqlite3 *db, const char *sql, sqlite3_value *bind,
    const char *text, struct munin_value *out, char *err, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	out->known = 0;
	out->n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (bind != NULL && sqlite3_bind_value(st, 1, bind) != SQLITE_OK)
		goto fail;
	if (text != NULL &&
	    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			out->known = 1;
			out->n = sqlite3_column_int64(st, 0);
		}
	} else if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return (0);

fail:
	munin_db_error(db, err, len);
	sqlite3_finalize(st);
	return (-1);
}

/*
 * Fill v with the values of g from the usage table; st holds the current
 * row. Returns 0, or -1 with the reason in err.
 */
static int
munin_fill(sqlite3 *db, sqlite3_stmt *st, const struct munin_graph *g,
    struct munin_value *v, char *err, size_t len)
{
	sqlite3_value		*rebooted;
	struct munin_value	 sum, incomplete;
	const char		*sql;
	size_t			 i;

	/*
	 * "Since reboot" compares started with rebooted as the reference
	 * does, whatever their types (floats from the reference, a float
	 * started from an unblurred transitd).
	 */
	rebooted = g->since_reboot ? sqlite3_column_value(st, 0) : NULL;
	incomplete.known = sqlite3_column_type(st, 4) != SQLITE_NULL;
	incomplete.n = sqlite3_column_int64(st, 4);
	switch (g->kind) {
	case MUNIN_ACTIVE:
		v[0].known = sqlite3_column_type(st, 3) != SQLITE_NULL;
		v[0].n = sqlite3_column_int64(st, 3);
		v[1].known = sqlite3_column_type(st, 2) != SQLITE_NULL;
		v[1].n = sqlite3_column_int64(st, 2);
		return (0);
	case MUNIN_BYTES:
		sql = g->since_reboot ? "SELECT SUM(`total_bytes`) FROM "
		    "`usage` WHERE `started` > ?1" :
		    "SELECT SUM(`total_bytes`) FROM `usage`";
		if (munin_db_scalar(db, sql, rebooted, NULL, &sum, err,
		    len) == -1)
			return (-1);
		v[0].known = 1;
		v[0].n = sum.known ? sum.n : 0;
		v[1].known = incomplete.known;
		v[1].n = (long long)((unsigned long long)v[0].n +
		    (unsigned long long)incomplete.n);
		return (0);
	default:
		break;
	}
	if (g->kind == MUNIN_BYTE_RATE) {
		if (munin_db_scalar(db, "SELECT SUM(`total_bytes`) FROM "
		    "`usage`", NULL, NULL, &sum, err, len) == -1)
			return (-1);
		v[0].known = 1;
		v[0].n = sum.known ? sum.n : 0;
		return (0);
	}
	/* MUNIN_EVENTS and MUNIN_RATES: rows per mood. */
	sql = g->since_reboot ? "SELECT COUNT(*) FROM `usage` WHERE "
	    "`started` > ?1 AND `result` = ?2" :
	    "SELECT COUNT(*) FROM `usage` WHERE `result` = ?2";
	for (i = 0; i < MUNIN_NMOODS; i++)
		if (munin_db_scalar(db, sql, rebooted, munin_moods[i], &v[i],
		    err, len) == -1)
			return (-1);
	return (0);
}

/*
 * Fill v with the values of g, or leave every one unknown (U) when the
 * current row is stale or missing; 0, or -1 with the reason in err.
 */
static int
munin_fetch_values(sqlite3 *db, const struct munin_graph *g,
    struct munin_value *v, char *err, size_t len)
{
	sqlite3_stmt		*st;
	struct timespec		 ts;
	double			 now;
	size_t			 i, n;
	int			 rc;

	n = munin_graph_nfields(g);
	for (i = 0; i < n; i++)
		v[i].known = 0;

	/*
	 * Read the current row first: when its writer has not touched it for
	 * five minutes the relay is not running, and the graphs show a gap
	 * (the reference exits 1 instead; protocol spec, Munin plugins). The
	 * statement stays open to the end, so that every query reads the
	 * same snapshot, and ?1 binds rebooted straight from its row.
	 */
	if (sqlite3_prepare_v2(db, "SELECT `rebooted`, `updated`, "
	    "`connected`, `waiting`, `incomplete_bytes` FROM `current`", -1,
	    &st, NULL) != SQLITE_OK) {
		munin_db_error(db, err, len);
		return (-1);
	}
	rc = sqlite3_step(st);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		munin_db_error(db, err, len);
		rc = -1;
	} else if (rc != SQLITE_ROW ||
	    sqlite3_column_type(st, 1) == SQLITE_NULL ||
	    now > sqlite3_column_double(st, 1) + MUNIN_STALE)
		rc = 0;
	else
		rc = munin_fill(db, st, g, v, err, len);
	sqlite3_finalize(st);
	return (rc);
}

/* Print the values of g from the database; the exit status. */
static int
munin_fetch(const char *self, const struct munin_graph *g)
{
	struct munin_value	 v[MUNIN_MAXFIELD];
	sqlite3			*db;
	const char		*path;
	char			 err[512];
	size_t			 i, n;

	path = getenv("usagedb");
	if (path == NULL || *path == '\0') {
		fprintf(stderr, "%s: env.usagedb is not set (plugin-conf.d)\n",
		    self);
		return (1);
	}
	if (munin_db_open(&db, path, err, sizeof err) == -1 ||
	    munin_fetch_values(db, g, v, err, sizeof err) == -1) {
		fprintf(stderr, "%s: %s: %s\n", self, path, err);
		sqlite3_close(db);
		return (1);
	}
	sqlite3_close(db);

	n = munin_graph_nfields(g);
	for (i = 0; i < n; i++) {
		if (v[i].known)
			printf("%s.value %lld\n", g->fields[i].name, v[i].n);
		else
			printf("%s.value U\n", g->fields[i].name);
	}
	return (0);
}

/* Print yes, or no and the reason, for munin-node-configure. */
static void
munin_autoconf(void)
{
	struct munin_value	 v;
	sqlite3			*db;
	const char		*path;
	char			 err[512];

	path = getenv("usagedb");
	if (path == NULL || *path == '\0') {
		printf("no (env.usagedb is not set)\n");
		return;
	}
	if (munin_db_open(&db, path, err, sizeof err) == -1) {
		printf("no (cannot open %s: %s)\n", path, err);
		return;
	}
	/* The queries of every graph must compile: the tables and columns. */
	if (munin_db_scalar(db, "SELECT COUNT(`rebooted`) + COUNT(`updated`) "
	    "+ COUNT(`connected`) + COUNT(`waiting`) + "
	    "COUNT(`incomplete_bytes`) FROM `current`", NULL, NULL, &v, err,
	    sizeof err) == -1 ||
	    munin_db_scalar(db, "SELECT COUNT(`started`) + "
	    "COUNT(`total_bytes`) + COUNT(`result`) FROM `usage`", NULL, NULL,
	    &v, err, sizeof err) == -1 ||
	    munin_db_scalar(db, "SELECT `version` FROM `version`", NULL, NULL,
	    &v, err, sizeof err) == -1)
		printf("no (cannot read %s as a usage database: %s)\n",
		    path, err);
	else if (!v.known || v.n != 1)
		printf("no (%s is not a usage database of version 1)\n", path);
	else
		printf("yes\n");
	sqlite3_close(db);
}

/* Run the plugin named by argv[0] with its Munin argument. */
int
main(int argc, char **argv)
{
	const struct munin_graph	*g;
	const char			*self, *arg;
	int				 rc = 0;

	self = argc > 0 && argv[0] != NULL ? argv[0] : MUNIN_PREFIX;
	if (strrchr(self, '/') != NULL)
		self = strrchr(self, '/') + 1;
	g = munin_graph_find(self);
	arg = argc > 1 ? argv[1] : "";

	if (strcmp(arg, "autoconf") == 0)
		munin_autoconf();
	else if (strcmp(arg, "suggest") == 0)
		munin_suggest();
	else if (strcmp(arg, "config") != 0 && strcmp(arg, "fetch") != 0 &&
	    *arg != '\0') {
		fprintf(stderr, "%s: unknown argument %s (want config, "
		    "autoconf, suggest or none)\n", self, arg);
		return (1);
	} else if (g == NULL) {
		fprintf(stderr, "%s: not a graph: link this program as "
		    MUNIN_PREFIX "GRAPH (run with suggest for the list)\n",
		    self);
		return (1);
	} else if (strcmp(arg, "config") == 0)
		munin_config(g);
	else
		rc = munin_fetch(self, g);

	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "%s: write error\n", self);
		return (1);
	}
	return (rc);
}
