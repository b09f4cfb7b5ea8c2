/*
 * record.h: where a finished connection's usage record goes: blurred,
 * then a JSON line (--log-fd, --log-file) and a database row
 * (--usage-db). Every record of every thread ends in record_write, on
 * the home thread.
 */
#ifndef TRANSITD_RECORD_H
#define TRANSITD_RECORD_H

struct db;
struct logjson;
struct usage_rec;

struct recorder {
	struct logjson	*log;		/* NULL: no JSON lines */
	struct db	*db;		/* NULL: no database */
	unsigned long	 blur;		/* --blur-usage, 0: none */
	/* Sees every record before its blur (watch.h), or NULL. */
	void		(*seen)(const struct usage_rec *);
};

void	record_write(struct recorder *, const struct usage_rec *);
/* Seconds of the monotonic clock, for intervals. */
double	record_clock(void);
/* Seconds since the epoch, as the usage records want them. */
double	record_now(void);

#endif
