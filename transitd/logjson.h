/*
 * logjson.h: the JSON usage lines of --log-fd, formatted with yajl
 * exactly as the reference's json.dumps() writes them.
 */
#ifndef TRANSITD_LOGJSON_H
#define TRANSITD_LOGJSON_H

#include <stddef.h>

#include "usage.h"

struct event_base;
struct logjson;

/* Most bytes queued for a slow reader before lines are dropped. */
#define LOGJSON_QUEUE_MAX	(1024 * 1024)

/*
 * Format rec as one line ending in '\n' into buf. Returns its length, or
 * -1 if it does not fit.
 */
int		 logjson_format(const struct usage_rec *, char *buf,
		     size_t len);
/*
 * Start writing lines to fd (made non-blocking), called name in messages
 * ("log fd 3"). NULL on no memory.
 */
struct logjson	*logjson_new(struct event_base *, int fd, const char *name);
/* Queue the line of rec; never blocks; counts it as lost if it cannot. */
void		 logjson_write(struct logjson *, const struct usage_rec *);
/*
 * Write to fd (made non-blocking) from now on (--log-file reopened): what
 * the old descriptor takes now goes there, the rest to fd. Returns the
 * old descriptor.
 */
int		 logjson_set_fd(struct logjson *, int fd);
/* Try for up to a second to write what is queued, then free. */
void		 logjson_free(struct logjson *);

#endif
