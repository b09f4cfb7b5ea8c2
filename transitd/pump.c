/*
 * pump.c: a pipe per direction, taken lazily so that idle pairs cost
 * no pipe, filled and drained with splice(2). Each thread keeps a few
 * empty pipes of ended pairs for the next ones, saving the four system
 * calls of making one (pipe2, F_SETPIPE_SZ) and closing it. If a pipe
 * cannot be had (descriptor limit, pipe budget) or splice refuses the
 * socket, a plain buffer does the same job with read(2) and write(2).
 * WebSocket connections always use the buffer, since their bytes are
 * framed in user space.
 *
 * The pipe budget: the kernel counts the pipe capacity of each user,
 * and past fs.pipe-user-pages-soft (64 MiB by default) an unprivileged
 * user's new pipes get 8 KiB and cannot grow, which would slow every
 * later pair to a crawl. So the relay counts what it holds against a
 * budget of three quarters of that limit (the user's other pipes count
 * too): 1 MiB pipes while under half the budget, the kernel's default
 * 64 KiB ones up to the budget, buffers beyond. A pipe the kernel has
 * shrunk all the same ends the budget where it stands.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pump.h"

#define PUMP_BUF_MIN	1024	/* first allocation of a growing buffer */
#define PUMP_POOL	16	/* empty pipes kept per thread */
#define PUMP_PIPE_DEF	(64 * 1024)	/* the kernel's default pipe */
#define PUMP_PAGE	4096	/* the kernel counts pipes in pages */
#define PUMP_CAP_SYS_ADMIN	21
#define PUMP_CAP_SYS_RESOURCE	24

static _Thread_local struct {
	int	 fd[2];
	size_t	 size;
}				pump_pool[PUMP_POOL];
static _Thread_local int	pump_npool;
static atomic_size_t		pump_budget = SIZE_MAX;
static atomic_size_t		pump_held;	/* capacity of our pipes */
static atomic_int		pump_warned;

/* Close a pipe of the given capacity. */
static void
pump_close_pipe(int fd[2], size_t size)
{
	close(fd[0]);
	close(fd[1]);
	atomic_fetch_sub(&pump_held, size);
}

void
pump_pool_flush(void)
{
	while (pump_npool > 0) {
		pump_npool--;
		pump_close_pipe(pump_pool[pump_npool].fd,
		    pump_pool[pump_npool].size);
	}
}

/* Whether this process may pass the per-user pipe limits (root, mostly). */
static int
pump_privileged(void)
{
	char			 line[256];
	unsigned long long	 eff = 0;
	FILE			*f;

	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return (geteuid() == 0);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return ((eff >> PUMP_CAP_SYS_RESOURCE & 1) ||
	    (eff >> PUMP_CAP_SYS_ADMIN & 1));
}

size_t
pump_budget_init(void)
{
	unsigned long	 pages = 0;
	FILE		*f;

	pump_budget = SIZE_MAX;
	if (pump_privileged())
		return (pump_budget);
	if ((f = fopen("/proc/sys/fs/pipe-user-pages-soft", "re")) != NULL) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	if (pages > 0 && pages < SIZE_MAX / PUMP_PAGE)
		pump_budget = pages * PUMP_PAGE / 4 * 3;
	return (pump_budget);
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
		pump_pool[pump_npool].fd[0] = p->pipe[0];
		pump_pool[pump_npool].fd[1] = p->pipe[1];
		pump_pool[pump_npool].size = p->pipesz;
		pump_npool++;
	} else if (p->pipe[0] != -1)
		pump_close_pipe(p->pipe, p->pipesz);
	free(p->buf);
	pump_init(p);
	p->max = max;
	p->nosplice = nosplice;
}

/* Get a pipe, unless this pump uses its buffer (or no pipe can be had). */
static void
pump_ready(struct pump *p)
{
	size_t	 held, budget;
	int	 sz = -1;

	if (p->pipe[0] != -1 || p->nosplice)
		return;
	if (pump_npool > 0) {
		pump_npool--;
		p->pipe[0] = pump_pool[pump_npool].fd[0];
		p->pipe[1] = pump_pool[pump_npool].fd[1];
		p->pipesz = pump_pool[pump_npool].size;
		return;
	}
	held = atomic_load(&pump_held);
	budget = atomic_load(&pump_budget);
	if (held + PUMP_PIPE_DEF > budget ||
	    pipe2(p->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		goto nopipe;
	/* A bigger pipe means fewer system calls; the default does too. */
	if (held + PUMP_MAX <= budget / 2)
		sz = fcntl(p->pipe[0], F_SETPIPE_SZ, PUMP_MAX);
	if (sz == -1)
		sz = fcntl(p->pipe[0], F_GETPIPE_SZ);
	if (sz >= 0 && sz < PUMP_PIPE_DEF) {
		close(p->pipe[0]);
		close(p->pipe[1]);
		atomic_store(&pump_budget, held);
		goto nopipe;
	}
	p->pipesz = sz > 0 ? (size_t)sz : PUMP_PIPE_DEF;
	atomic_fetch_add(&pump_held, p->pipesz);
	return;

nopipe:
	p->pipe[0] = p->pipe[1] = -1;
	p->nosplice = 1;
	if (atomic_load(&pump_held) + PUMP_PIPE_DEF > atomic_load(&pump_budget)
	    && !atomic_exchange(&pump_warned, 1))
		log_msg("pipes: the budget for fs.pipe-user-pages-soft is used "
		    "(%zu MiB); more pairs relay through buffers (raise it, or "
		    "give the relay CAP_SYS_RESOURCE)",
		    atomic_load(&pump_held) >> 20);
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

/*
 * Give up splicing: keep the pending bytes by reading them into a
 * buffer. Returns 0, or -1 with errno when they cannot all be kept: the
 * stream would have a hole, so the caller ends the pair instead.
 */
static int
pump_unsplice(struct pump *p)
{
	size_t	 cap = p->max > p->len ? p->max : p->len, got = 0;
	char	*buf;
	ssize_t	 n = 0;
	int	 err = 0;

	if ((buf = malloc(cap)) == NULL)
		err = ENOMEM;
	while (buf != NULL && got < p->len && err == 0) {
		if ((n = read(p->pipe[0], buf + got, p->len - got)) > 0)
			got += n;
		else if (n == 0)
			err = EIO;	/* the pipe holds less than counted */
		else if (errno != EINTR)
			err = errno == EAGAIN ? EIO : errno;
	}
	pump_close_pipe(p->pipe, p->pipesz);
	p->pipe[0] = p->pipe[1] = -1;
	p->nosplice = 1;
	p->off = 0;
	if (err != 0) {
		free(buf);
		p->len = 0;
		errno = err;
		return (-1);
	}
	p->buf = buf;
	p->cap = p->max = cap;
	return (0);
}

ssize_t
pump_fill(struct pump *p, int src)
{
	return (pump_fill_max(p, src, PUMP_MAX));
}

ssize_t
pump_fill_max(struct pump *p, int src, size_t max)
{
	ssize_t	 n;
	size_t	 room;

	pump_ready(p);
	if (p->pipe[0] != -1) {
		room = p->pipesz - p->len;
		n = splice(src, NULL, p->pipe[1], NULL, room < max ? room : max,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL)
			return (pump_unsplice(p) == 0 ?
			    pump_fill_max(p, src, max) : -1);
	} else {
		if (p->len >= p->max) {
			errno = EAGAIN;
			return (-1);
		}
		if (pump_room(p, p->max) == -1)
			return (-1);
		room = p->max - p->len;
		n = read(src, p->buf + p->len, room < max ? room : max);
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
		if (n == -1 && errno == EINVAL)
			return (pump_unsplice(p) == 0 ? pump_drain(p, dst) : -1);
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
