/*
 * pump.c: a pipe per direction, created lazily so that idle pairs cost
 * no pipe, filled and drained with splice(2). If a pipe cannot be had
 * (descriptor limit) or splice refuses the socket, a plain buffer does
 * the same job with read(2) and write(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pump.h"

void
pump_init(struct pump *p)
{
	memset(p, 0, sizeof *p);
	p->pipe[0] = p->pipe[1] = -1;
}

void
pump_free(struct pump *p)
{
	if (p->pipe[0] != -1) {
		close(p->pipe[0]);
		close(p->pipe[1]);
	}
	free(p->buf);
	pump_init(p);
}

/* Get a pipe or a buffer. Returns 0, or -1 with errno. */
static int
pump_ready(struct pump *p)
{
	if (p->pipe[0] != -1 || p->buf != NULL)
		return (0);
	if (!p->nosplice && pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) == 0) {
		/* A bigger pipe means fewer wake-ups; default is fine too. */
		(void)fcntl(p->pipe[0], F_SETPIPE_SZ, PUMP_MAX);
		return (0);
	}
	p->pipe[0] = p->pipe[1] = -1;
	p->nosplice = 1;
	if ((p->buf = malloc(PUMP_BUF)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	p->cap = PUMP_BUF;
	return (0);
}

/* Give up splicing: keep pending bytes by reading them into a buffer. */
static int
pump_unsplice(struct pump *p)
{
	size_t	 cap = PUMP_BUF > p->len ? PUMP_BUF : p->len;
	char	*buf;
	ssize_t	 n;

	if ((buf = malloc(cap)) == NULL)
		return (-1);
	n = p->len > 0 ? read(p->pipe[0], buf, p->len) : 0;
	close(p->pipe[0]);
	close(p->pipe[1]);
	p->pipe[0] = p->pipe[1] = -1;
	p->buf = buf;
	p->cap = cap;
	p->off = 0;
	p->len = n > 0 ? (size_t)n : 0;
	p->nosplice = 1;
	return (0);
}

ssize_t
pump_fill(struct pump *p, int src)
{
	ssize_t	 n;
	size_t	 room;

	if (pump_ready(p) == -1)
		return (-1);
	if (p->buf == NULL) {
		n = splice(src, NULL, p->pipe[1], NULL, PUMP_MAX - p->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && pump_unsplice(p) == 0)
			return (pump_fill(p, src));
	} else {
		if (p->off > 0 && p->len > 0)
			memmove(p->buf, p->buf + p->off, p->len);
		p->off = 0;
		room = p->cap - p->len;
		if (room == 0) {
			errno = EAGAIN;
			return (-1);
		}
		n = read(src, p->buf + p->len, room);
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
	if (pump_ready(p) == -1)
		return (-1);
	if (p->buf == NULL) {
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
	if (p->off > 0 && p->len > 0)
		memmove(p->buf, p->buf + p->off, p->len);
	p->off = 0;
	if (len > p->cap - p->len) {
		errno = ENOBUFS;
		return (-1);
	}
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
	if (p->buf == NULL) {
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
	if (p->len == 0)
		p->off = 0;
	return (n);
}
