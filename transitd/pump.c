/*
 * pump.c: a pipe per direction, taken lazily so that idle pairs cost
 * no pipe, filled and drained with splice(2). Each thread keeps a few
 * empty pipes of ended pairs for the next ones, saving the four system
 * calls of making one (pipe2, F_SETPIPE_SZ) and closing it. If a pipe cannot be had
 * (descriptor limit) or splice refuses the socket, a plain buffer does
 * the same job with read(2) and write(2). WebSocket connections always
 * use the buffer, since their bytes are framed in user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pump.h"

#define PUMP_BUF_MIN	1024	/* first allocation of a growing buffer */
#define PUMP_POOL	16	/* empty pipes kept per thread */

static _Thread_local int	pump_pool[PUMP_POOL][2];
static _Thread_local int	pump_npool;

void
pump_pool_flush(void)
{
	while (pump_npool > 0) {
		pump_npool--;
		close(pump_pool[pump_npool][0]);
		close(pump_pool[pump_npool][1]);
	}
}

void
pump_init(struct pump *p)
{
	memset(p, 0, sizeof *p);
	p->pipe[0] = p->pipe[1] = -1;
	p->max = PUMP_BUF;
}

void
pump_init_buf(struct pump *p, size_t max)
{
	pump_init(p);
	p->nosplice = 1;
	p->max = max;
}

void
pump_free(struct pump *p)
{
	size_t	 max = p->max;
	int	 nosplice = p->nosplice;

	if (p->pipe[0] != -1 && p->len == 0 && pump_npool < PUMP_POOL) {
		/* Empty, and already sized: keep it for the next pair. */
		pump_pool[pump_npool][0] = p->pipe[0];
		pump_pool[pump_npool][1] = p->pipe[1];
		pump_npool++;
	} else if (p->pipe[0] != -1) {
		close(p->pipe[0]);
		close(p->pipe[1]);
	}
	free(p->buf);
	pump_init(p);
	p->max = max;
	p->nosplice = nosplice;
}

/* Get a pipe, unless this pump uses its buffer (or no pipe can be had). */
static void
pump_ready(struct pump *p)
{
	if (p->pipe[0] != -1 || p->nosplice)
		return;
	if (pump_npool > 0) {
		pump_npool--;
		p->pipe[0] = pump_pool[pump_npool][0];
		p->pipe[1] = pump_pool[pump_npool][1];
		return;
	}
	if (pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
		/* A bigger pipe means fewer wake-ups; default is fine too. */
		(void)fcntl(p->pipe[0], F_SETPIPE_SZ, PUMP_MAX);
		return;
	}
	p->pipe[0] = p->pipe[1] = -1;
	p->nosplice = 1;
}

/*
 * Make the buffer hold need bytes from its start, moving pending bytes
 * there. Returns 0, or -1 with errno (ENOBUFS past max, ENOMEM).
 */
static int
pump_room(struct pump *p, size_t need)
{
	size_t	 cap;
	char	*buf;

	if (need > p->max) {
		errno = ENOBUFS;
		return (-1);
	}
	if (p->off > 0 && p->len > 0)
		memmove(p->buf, p->buf + p->off, p->len);
	p->off = 0;
	if (need <= p->cap)
		return (0);
	for (cap = p->cap > 0 ? p->cap : PUMP_BUF_MIN; cap < need; cap *= 2)
		;
	if (cap > p->max)
		cap = p->max;
	if ((buf = realloc(p->buf, cap)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	p->buf = buf;
	p->cap = cap;
	return (0);
}

/* Give up splicing: keep pending bytes by reading them into a buffer. */
static int
pump_unsplice(struct pump *p)
{
	size_t	 cap = p->max > p->len ? p->max : p->len;
	char	*buf;
	ssize_t	 n;

	if ((buf = malloc(cap)) == NULL)
		return (-1);
	n = p->len > 0 ? read(p->pipe[0], buf, p->len) : 0;
	close(p->pipe[0]);
	close(p->pipe[1]);
	p->pipe[0] = p->pipe[1] = -1;
	p->buf = buf;
	p->cap = p->max = cap;
	p->off = 0;
	p->len = n > 0 ? (size_t)n : 0;
	p->nosplice = 1;
	return (0);
}

ssize_t
pump_fill(struct pump *p, int src)
{
	ssize_t	 n;

	pump_ready(p);
	if (p->pipe[0] != -1) {
		n = splice(src, NULL, p->pipe[1], NULL, PUMP_MAX - p->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && pump_unsplice(p) == 0)
			return (pump_fill(p, src));
	} else {
		if (p->len >= p->max) {
			errno = EAGAIN;
			return (-1);
		}
		if (pump_room(p, p->max) == -1)
			return (-1);
		n = read(src, p->buf + p->len, p->max - p->len);
	}
	if (n > 0)
		p->len += n;
	return (n);
}

int
pump_put(struct pump *p, const void *data, size_t len)
{
	ssize_t	 n;

	if (len == 0)
		return (0);
	pump_ready(p);
	if (p->pipe[0] != -1) {
		n = write(p->pipe[1], data, len);
		if (n == (ssize_t)len) {
			p->len += len;
			return (0);
		}
		if (n > 0)
			p->len += n;
		if (n >= 0)
			errno = ENOBUFS;
		return (-1);
	}
	if (pump_room(p, p->len + len) == -1)
		return (-1);
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return (0);
}

ssize_t
pump_drain(struct pump *p, int dst)
{
	ssize_t	 n;

	if (p->len == 0)
		return (0);
	if (p->pipe[0] != -1) {
		n = splice(p->pipe[0], NULL, dst, NULL, p->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && pump_unsplice(p) == 0)
			return (pump_drain(p, dst));
	} else {
		n = write(dst, p->buf + p->off, p->len);
		if (n > 0)
			p->off += n;
	}
	if (n > 0)
		p->len -= n;
	if (p->len == 0 && p->buf != NULL) {
		/* An idle connection keeps no buffer. */
		free(p->buf);
		p->buf = NULL;
		p->cap = p->off = 0;
	}
	return (n);
}
