/*
 * record.c: the one path of a usage record (record.h).
 */
#include <time.h>

#include "db.h"
#include "logjson.h"
#include "record.h"
#include "usage.h"

void
record_write(struct recorder *r, const struct usage_rec *in)
{
	struct usage_rec	 rec = *in;

	if (r->seen != NULL)
		r->seen(in);
	usage_blur(&rec, r->blur);
	if (r->log != NULL)
		logjson_write(r->log, &rec);
	if (r->db != NULL)
		db_record(r->db, &rec);
}

double
record_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

double
record_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}
