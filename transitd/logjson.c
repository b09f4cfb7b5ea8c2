/*
 * logjson.c: JSON usage lines on an inherited descriptor. Lines are
 * queued in an evbuffer and written without blocking: a reader that is
 * slow gets them later, one that is gone or too slow loses them, and
 * those lost are counted and reported on stderr once per episode, so the
 * relay never waits on its log. The lines of one turn of the event loop
 * go out in one write.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <yajl/yajl_gen.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logjson.h"

#define LOGJSON_RETRY_MS	100

struct logjson {
	int		 fd;
	char		 name[128];	/* for messages */
	struct evbuffer	*queue;
	struct event	*retry;
	struct event	*soon;		/* flush once this turn's lines are in */
	unsigned long	 lost;		/* lines lost in all */
	unsigned long	 episode;	/* lines lost since the last success */
};

struct logjson_out {
	char	*buf;
	size_t	 len, n;
	int	 overflow;
};

/*
 * yajl prints a separator as its own one-byte call; Python's json.dumps
 * puts a space after each, so add it here. Our keys and values never
 * are a lone ',' or ':', so nothing else is touched.
 */
static void
logjson_print_cb(void *ctx, const char *s, size_t len)
{
	struct logjson_out	*o = ctx;
	int			 sep = (len == 1 && (*s == ',' || *s == ':'));

	if (o->n + len + sep >= o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->buf + o->n, s, len);
	o->n += len;
	if (sep)
		o->buf[o->n++] = ' ';
}

static void
logjson_string(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void
logjson_double(yajl_gen g, double d)
{
	char	 num[64];
	int	 n;

	if ((n = usage_fmt_double(num, sizeof num, d)) == -1)
		yajl_gen_null(g);
	else
		yajl_gen_number(g, num, n);
}

int
logjson_format(const struct usage_rec *rec, char *buf, size_t len)
{
	struct logjson_out	 o = { buf, len, 0, 0 };
	yajl_gen		 g;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		return (-1);
	yajl_gen_config(g, yajl_gen_print_callback, logjson_print_cb, &o);
	yajl_gen_map_open(g);
	logjson_string(g, "started");
	logjson_double(g, rec->started);
	logjson_string(g, "total_time");
	logjson_double(g, rec->total_time);
	logjson_string(g, "waiting_time");
	if (rec->has_waiting)
		logjson_double(g, rec->waiting_time);
	else
		yajl_gen_null(g);
	logjson_string(g, "total_bytes");
	yajl_gen_integer(g, (long long)rec->total_bytes);
	logjson_string(g, "mood");
	logjson_string(g, rec->mood);
	yajl_gen_map_close(g);
	yajl_gen_free(g);
	if (o.overflow || o.n + 1 >= len)
		return (-1);
	buf[o.n++] = '\n';
	buf[o.n] = '\0';
	return ((int)o.n);
}

/* Drop everything queued, counting its lines as lost. */
static void
logjson_drop(struct logjson *lj, int error)
{
	size_t	 len = evbuffer_get_length(lj->queue);
	char	*p, *end;
	size_t	 lines = 0;

	if (len > 0 && (p = (char *)evbuffer_pullup(lj->queue, -1)) != NULL)
		for (end = p + len; (p = memchr(p, '\n', end - p)) != NULL;
		    p++)
			lines++;
	evbuffer_drain(lj->queue, len);
	if (lj->episode == 0)
		log_msg("%s: cannot write usage lines (%s); counting "
		    "lost lines", lj->name, strerror(error));
	lj->episode += lines;
	lj->lost += lines;
}

/* Write what the descriptor takes now; retry later if it is full. */
static void
logjson_flush(struct logjson *lj)
{
	int	 n;

	while (evbuffer_get_length(lj->queue) > 0) {
		n = evbuffer_write(lj->queue, lj->fd);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN) {
				struct timeval tv = { 0, LOGJSON_RETRY_MS *
				    1000 };
				evtimer_add(lj->retry, &tv);
				return;
			}
			continue;
		}
		logjson_drop(lj, n == 0 ? EPIPE : errno);
		return;
	}
	if (lj->episode > 0) {
		log_msg("%s: writing again after losing %lu usage "
		    "line%s", lj->name, lj->episode, lj->episode == 1 ? "" : "s");
		lj->episode = 0;
	}
}

static void
logjson_soon_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logjson	*lj = arg;

	(void)fd;
	(void)what;
	if (!evtimer_pending(lj->retry, NULL))
		logjson_flush(lj);
}

static void
logjson_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logjson_flush(arg);
}

/* Make fd non-blocking: the relay never waits for its log. */
static void
logjson_nonblock(struct logjson *lj, int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		log_msg("%s: %s; usage lines will be lost", lj->name,
		    strerror(errno));
	else if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		log_msg("%s: cannot make it non-blocking: %s", lj->name,
		    strerror(errno));
}

struct logjson *
logjson_new(struct event_base *base, int fd, const char *name)
{
	struct logjson	*lj;

	if ((lj = calloc(1, sizeof *lj)) == NULL)
		return (NULL);
	lj->fd = fd;
	snprintf(lj->name, sizeof lj->name, "%s", name);
	lj->queue = evbuffer_new();
	lj->retry = evtimer_new(base, logjson_retry_cb, lj);
	lj->soon = event_new(base, -1, 0, logjson_soon_cb, lj);
	if (lj->queue == NULL || lj->retry == NULL || lj->soon == NULL) {
		logjson_free(lj);
		return (NULL);
	}
	logjson_nonblock(lj, fd);
	return (lj);
}

void
logjson_write(struct logjson *lj, const struct usage_rec *rec)
{
	char	 line[512];
	int	 n;

	if ((n = logjson_format(rec, line, sizeof line)) == -1)
		return;
	if (evbuffer_get_length(lj->queue) + n > LOGJSON_QUEUE_MAX ||
	    evbuffer_add(lj->queue, line, n) == -1) {
		if (lj->episode == 0)
			log_msg("%s: reader too slow; counting lost "
			    "usage lines", lj->name);
		lj->episode++;
		lj->lost++;
		return;
	}
	/* After the callbacks already due: they may add lines too. */
	if (!evtimer_pending(lj->retry, NULL))
		event_active(lj->soon, EV_READ, 0);
}

int
logjson_set_fd(struct logjson *lj, int fd)
{
	int	 old = lj->fd;

	evtimer_del(lj->retry);
	logjson_flush(lj);
	evtimer_del(lj->retry);
	logjson_nonblock(lj, fd);
	lj->fd = fd;
	logjson_flush(lj);
	return (old);
}

void
logjson_free(struct logjson *lj)
{
	struct pollfd	 pfd;
	int		 i;

	if (lj == NULL)
		return;
	if (lj->queue != NULL && lj->retry != NULL) {
		evtimer_del(lj->retry);
		for (i = 0; i < 10 && evbuffer_get_length(lj->queue) > 0;
		    i++) {
			pfd.fd = lj->fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, LOGJSON_RETRY_MS);
			logjson_flush(lj);
			evtimer_del(lj->retry);
		}
		if (evbuffer_get_length(lj->queue) > 0)
			logjson_drop(lj, EAGAIN);
		if (lj->lost > 0)
			log_msg("%s: %lu usage line%s lost in all",
			    lj->name, lj->lost, lj->lost == 1 ? "" : "s");
	}
	if (lj->queue != NULL)
		evbuffer_free(lj->queue);
	if (lj->retry != NULL)
		event_free(lj->retry);
	if (lj->soon != NULL)
		event_free(lj->soon);
	free(lj);
}
