/*
 * db.h: the SQLite usage database (--usage-db). Rows are written by a
 * thread of their own, so a slow disk or a reader holding the database
 * never stalls relaying; records wait in a bounded queue meanwhile.
 */
#ifndef TRANSITD_DB_H
#define TRANSITD_DB_H

#include <stddef.h>
#include <stdint.h>

#include "usage.h"

#define DB_VERSION	1
/* Records kept in memory while the database cannot be written. */
#define DB_QUEUE_MAX	100000

struct db;

/* The `current` row. */
struct db_current {
	int64_t		 rebooted;
	int64_t		 updated;
	int64_t		 connected;
	int64_t		 waiting;
	int64_t		 incomplete_bytes;
};

/*
 * Open path, creating it atomically (a temporary file in the same folder,
 * renamed) when it does not exist, write the current row of a relay that
 * started at rebooted (before returning, unless the database is busy),
 * and start the writer thread. Returns
 * NULL with a one-line reason in err when the file is not a usage
 * database of version DB_VERSION or cannot be opened.
 */
struct db	*db_open(const char *path, int64_t rebooted, char *err,
		     size_t errlen);
/* Queue a usage row (already blurred); never blocks on the database. */
void		 db_record(struct db *, const struct usage_rec *);
/* Records waiting to be written (NULL db: none), and records lost. */
void		 db_queue(struct db *, uint64_t *queued, uint64_t *dropped);
/* Queue the current row, replacing one not yet written; never blocks. */
void		 db_current(struct db *, const struct db_current *);
/*
 * Write what is queued (trying for up to timeout seconds while the
 * database refuses), stop the thread and close. Says on stderr what was
 * lost, if anything.
 */
void		 db_close(struct db *, int timeout);

#endif
