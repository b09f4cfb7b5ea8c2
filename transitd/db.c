/*
 * db.c: the usage database. The event loop only appends to a queue under
 * a mutex; the writer thread takes the whole queue at once and writes it
 * in one transaction, so batches grow with the load. When SQLite refuses
 * (busy reader, disk full, permissions, folder gone) the batch is kept,
 * the trouble is reported once per episode, and the write is retried
 * every second; past DB_QUEUE_MAX records the newest are dropped and
 * counted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define DB_RETRY_S	1
#define DB_BUSY_MS	500
/*
 * A transaction costs its fsyncs whatever its size: after one, records
 * gather this long before the next (unless stopping), so that a busy
 * relay writes hundreds per transaction instead of a handful.
 */
#define DB_GROUP_MS	100

/* The schema, compiled in from db/usage-v1.sql. */
static const char	 db_schema[] =
#include "schema.h"
;

/* Seconds of the monotonic clock: a step of the wall clock moves nothing. */
static time_t
db_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec);
}

/* A condition whose timed waits count on the monotonic clock. */
static void
db_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t	 attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

struct db_row {
	struct usage_rec	 rec;
};

struct db {
	char			*path;
	sqlite3			*sql;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	/* Under lock: */
	struct db_row		*queue;		/* records not yet taken */
	size_t			 nqueue;
	struct db_current	 cur;
	int			 has_cur;
	int			 stop;		/* 1: flush and end */
	time_t			 deadline;	/* give up retrying then
						   (CLOCK_MONOTONIC) */
	int			 idle;		/* the writer waits for work */
	unsigned long		 dropped;	/* records lost to the bound */
	/* Writer thread only: */
	struct db_row		*batch;
	size_t			 nbatch;
	int			 trouble;	/* an episode is going on */
};

/* Run sql; returns the SQLite result code. */
static int
db_exec(sqlite3 *sql, const char *q)
{
	return (sqlite3_exec(sql, q, NULL, NULL, NULL));
}

/* Create a new database at path through a temporary file and rename. */
static int
db_create(const char *path, char *err, size_t errlen)
{
	char		*tmp;
	sqlite3		*sql = NULL;
	mode_t		 mask;
	int		 fd, rc;

	if (asprintf(&tmp, "%s.XXXXXX", path) == -1) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	/* mkstemp makes 0600; let the umask decide who may read it. */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	close(fd);
	rc = sqlite3_open(tmp, &sql);
	if (rc == SQLITE_OK)
		rc = db_exec(sql, "BEGIN");
	if (rc == SQLITE_OK)
		rc = db_exec(sql, db_schema);
	if (rc == SQLITE_OK)
		rc = db_exec(sql, "INSERT INTO version (version) VALUES (1)");
	if (rc == SQLITE_OK)
		rc = db_exec(sql, "COMMIT");
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "cannot create the database: %s",
		    sql != NULL ? sqlite3_errmsg(sql) : sqlite3_errstr(rc));
	if (sqlite3_close(sql) != SQLITE_OK && rc == SQLITE_OK) {
		snprintf(err, errlen, "cannot close the new database");
		rc = SQLITE_ERROR;
	}
	if (rc == SQLITE_OK && rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp,
		    strerror(errno));
		rc = SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		unlink(tmp);
	free(tmp);
	return (rc == SQLITE_OK ? 0 : -1);
}

/* Check the version row of an open database. */
static int
db_check(sqlite3 *sql, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	int		 rc, version = -1;

	rc = sqlite3_prepare_v2(sql, "SELECT version FROM version", -1, &st,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "not a usage database (%s)",
		    sqlite3_errmsg(sql));
		return (-1);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "not a usage database (%s)",
		    rc == SQLITE_DONE ? "no version row" : sqlite3_errstr(rc));
		return (-1);
	}
	if (version != DB_VERSION) {
		snprintf(err, errlen, "schema version %d, transitd knows only "
		    "version %d", version, DB_VERSION);
		return (-1);
	}
	return (0);
}

/* Write the batch and the current row in one transaction. */
static int
db_write(struct db *db, const struct db_current *cur)
{
	sqlite3_stmt	*st = NULL;
	size_t		 i;
	int		 rc;

	if ((rc = db_exec(db->sql, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return (rc);
	rc = sqlite3_prepare_v2(db->sql, "INSERT INTO usage (started, "
	    "total_time, waiting_time, total_bytes, result) VALUES "
	    "(?, ?, ?, ?, ?)", -1, &st, NULL);
	for (i = 0; rc == SQLITE_OK && i < db->nbatch; i++) {
		const struct usage_rec *r = &db->batch[i].rec;

		sqlite3_reset(st);
		sqlite3_bind_double(st, 1, r->started);
		sqlite3_bind_double(st, 2, r->total_time);
		if (r->has_waiting)
			sqlite3_bind_double(st, 3, r->waiting_time);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)r->total_bytes);
		sqlite3_bind_text(st, 5, r->mood, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK :
		    sqlite3_errcode(db->sql);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && cur != NULL)
		rc = db_exec(db->sql, "DELETE FROM current");
	if (rc == SQLITE_OK && cur != NULL) {
		char q[256];

		snprintf(q, sizeof q, "INSERT INTO current (rebooted, updated, "
		    "connected, waiting, incomplete_bytes) VALUES (%lld, %lld, "
		    "%lld, %lld, %lld)", (long long)cur->rebooted,
		    (long long)cur->updated, (long long)cur->connected,
		    (long long)cur->waiting, (long long)cur->incomplete_bytes);
		rc = db_exec(db->sql, q);
	}
	if (rc == SQLITE_OK)
		rc = db_exec(db->sql, "COMMIT");
	if (rc != SQLITE_OK)
		(void)db_exec(db->sql, "ROLLBACK");
	return (rc);
}

/* Move the queue onto the batch, within the bound. Called under lock. */
static void
db_take(struct db *db)
{
	size_t	 room = DB_QUEUE_MAX - db->nbatch;
	size_t	 n = db->nqueue < room ? db->nqueue : room;

	memcpy(db->batch + db->nbatch, db->queue, n * sizeof *db->queue);
	db->nbatch += n;
	db->dropped += db->nqueue - n;
	db->nqueue = 0;
}

static void *
db_thread(void *arg)
{
	struct db		*db = arg;
	struct db_current	 cur;
	struct timespec		 ts;
	int			 has_cur, stop, rc;

	pthread_mutex_lock(&db->lock);
	for (;;) {
		db->idle = 1;
		while (!db->stop && db->nqueue == 0 && !db->has_cur &&
		    db->nbatch == 0)
			pthread_cond_wait(&db->wake, &db->lock);
		db->idle = 0;
		db_take(db);
		cur = db->cur;
		has_cur = db->has_cur;
		db->has_cur = 0;
		stop = db->stop;
		pthread_mutex_unlock(&db->lock);

		if (db->nbatch == 0 && !has_cur && stop)
			return (NULL);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rc = db_write(db, has_cur ? &cur : NULL);
		pthread_mutex_lock(&db->lock);
		if (rc == SQLITE_OK) {
			if (db->trouble)
				log_msg("usage db %s: writing again", db->path);
			db->trouble = 0;
			db->nbatch = 0;
			ts.tv_nsec += DB_GROUP_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!db->stop && pthread_cond_timedwait(&db->wake,
			    &db->lock, &ts) != ETIMEDOUT)
				;
			continue;
		}
		if (!db->trouble)
			log_msg("usage db %s: cannot write (%s); keeping "
			    "records to retry", db->path, sqlite3_errstr(rc));
		db->trouble = 1;
		if (has_cur && !db->has_cur) {
			db->cur = cur;
			db->has_cur = 1;
		}
		if (db->stop && db_clock() >= db->deadline) {
			db->dropped += db->nbatch;
			db->nbatch = 0;
			db->has_cur = 0;
			pthread_mutex_unlock(&db->lock);
			return (NULL);
		}
		/* New records must not hasten the retry: wait the full time. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += DB_RETRY_S;
		while (pthread_cond_timedwait(&db->wake, &db->lock, &ts) !=
		    ETIMEDOUT)
			;
	}
}

struct db *
db_open(const char *path, int64_t rebooted, char *err, size_t errlen)
{
	struct db	*db;
	int		 rc;

	if (access(path, F_OK) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s", strerror(errno));
			return (NULL);
		}
		if (db_create(path, err, errlen) == -1)
			return (NULL);
	}
	if ((db = calloc(1, sizeof *db)) == NULL ||
	    (db->path = strdup(path)) == NULL ||
	    (db->queue = calloc(DB_QUEUE_MAX, sizeof *db->queue)) == NULL ||
	    (db->batch = calloc(DB_QUEUE_MAX, sizeof *db->batch)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", db->sql != NULL ?
		    sqlite3_errmsg(db->sql) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db->sql, DB_BUSY_MS);
	if (db_check(db->sql, err, errlen) == -1)
		goto fail;
	/* Fresh at once for Munin; the thread retries if this is refused. */
	db->cur.rebooted = db->cur.updated = rebooted;
	db->has_cur = db_write(db, &db->cur) != SQLITE_OK;
	pthread_mutex_init(&db->lock, NULL);
	db_cond_init(&db->wake);
	if ((rc = pthread_create(&db->thread, NULL, db_thread, db)) == 0)
		(void)pthread_setname_np(db->thread, "transitd-db");
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a thread: %s",
		    strerror(rc));
		goto fail;
	}
	return (db);

fail:
	if (db != NULL) {
		sqlite3_close(db->sql);
		free(db->batch);
		free(db->queue);
		free(db->path);
		free(db);
	}
	return (NULL);
}

void
db_record(struct db *db, const struct usage_rec *rec)
{
	pthread_mutex_lock(&db->lock);
	if (db->nqueue < DB_QUEUE_MAX) {
		db->queue[db->nqueue++].rec = *rec;
		/* Only a writer idle for want of work needs waking. */
		if (db->idle)
			pthread_cond_signal(&db->wake);
	} else
		db->dropped++;
	pthread_mutex_unlock(&db->lock);
}

void
db_queue(struct db *db, uint64_t *queued, uint64_t *dropped)
{
	*queued = *dropped = 0;
	if (db == NULL)
		return;
	pthread_mutex_lock(&db->lock);
	*queued = db->nqueue;
	*dropped = db->dropped;
	pthread_mutex_unlock(&db->lock);
}

void
db_current(struct db *db, const struct db_current *cur)
{
	pthread_mutex_lock(&db->lock);
	db->cur = *cur;
	db->has_cur = 1;
	pthread_cond_signal(&db->wake);
	pthread_mutex_unlock(&db->lock);
}

void
db_close(struct db *db, int timeout)
{
	if (db == NULL)
		return;
	pthread_mutex_lock(&db->lock);
	db->stop = 1;
	db->deadline = db_clock() + timeout;
	pthread_cond_signal(&db->wake);
	pthread_mutex_unlock(&db->lock);
	pthread_join(db->thread, NULL);
	if (db->dropped > 0)
		log_msg("usage db %s: %lu usage records could not be written",
		    db->path, db->dropped);
	sqlite3_close(db->sql);
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->wake);
	free(db->batch);
	free(db->queue);
	free(db->path);
	free(db);
}
