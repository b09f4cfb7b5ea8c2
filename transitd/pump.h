/*
 * pump.h: the bytes on their way to one connection, held in a pipe and
 * moved with splice(2) (no copy through user space), or in a fixed
 * buffer where splice cannot serve. Either way a pump holds at most
 * PUMP_MAX bytes, which bounds memory per direction.
 */
#ifndef TRANSITD_PUMP_H
#define TRANSITD_PUMP_H

#include <sys/types.h>

#include <stddef.h>

#define PUMP_MAX	(1024 * 1024)	/* the largest pipe (pipe-max-size) */
#define PUMP_BUF	(64 * 1024)

struct pump {
	int	 pipe[2];	/* -1 until data first flows */
	char	*buf;		/* fallback when no pipe can be had; grown
				   as needed, freed when drained */
	size_t	 cap;		/* buf: its size */
	size_t	 max;		/* buf: the most it may hold (PUMP_BUF) */
	size_t	 off;		/* buf: start of pending bytes */
	size_t	 len;		/* bytes pending (in the pipe or buf) */
	size_t	 pipesz;	/* pipe: its capacity */
	int	 nosplice;	/* use buf from now on */
};

void	pump_init(struct pump *);
/* Use a buffer of at most max bytes, never a pipe (WebSocket frames). */
void	pump_init_buf(struct pump *, size_t max);
void	pump_free(struct pump *);
/*
 * Move from src into the pump as much as it has room for. Returns the
 * count, 0 at end of file, or -1 with errno (EAGAIN: nothing to read).
 */
ssize_t	pump_fill(struct pump *, int src);
/* The same, moving at most max bytes (a rate's share). */
ssize_t	pump_fill_max(struct pump *, int src, size_t max);
/* Queue len bytes from memory. Returns 0, or -1 if they do not fit. */
int	pump_put(struct pump *, const void *, size_t);
/* Write pending bytes to dst. Returns the count, or -1 with errno. */
ssize_t	pump_drain(struct pump *, int dst);
/* Close the empty pipes this thread keeps (at exit, or short of fds). */
void	pump_pool_flush(void);
/*
 * Read the pipe budget of this process (see pump.c) before any pipe is
 * made: unlimited when privileged. Returns it in bytes.
 */
size_t	pump_budget_init(void);

#endif
