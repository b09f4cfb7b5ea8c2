/*
 * test_pump.c: the pump (pump.h) on real socket pairs, with faults
 * injected by wrapping splice(2), read(2) and write(2) at link time
 * (-Wl,--wrap): the splice path, the buffer path, short writes, EAGAIN,
 * and a splice that fails in the middle of a stream.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pump.h"

ssize_t	__real_splice(int, loff_t *, int, loff_t *, size_t, unsigned int);
ssize_t	__real_read(int, void *, size_t);
ssize_t	__real_write(int, const void *, size_t);

static struct {
	int	 splice_einval;	/* the next splice fails with EINVAL */
	int	 splice_eagain;	/* the next splice would block */
	int	 read_short;	/* the next read of a pipe returns half */
	int	 read_fail;	/* the next read of a pipe fails (EIO) */
	size_t	 write_max;	/* writes take at most this much (0: any) */
	int	 write_eagain;	/* the next write would block */
} fault;

ssize_t
__wrap_splice(int in, loff_t *inoff, int out, loff_t *outoff, size_t len,
    unsigned int flags)
{
	if (fault.splice_einval || fault.splice_eagain) {
		errno = fault.splice_einval ? EINVAL : EAGAIN;
		fault.splice_einval = fault.splice_eagain = 0;
		return (-1);
	}
	return (__real_splice(in, inoff, out, outoff, len, flags));
}

/* Only reads of pipes are faulted (the pump reads its pipe so). */
static int
is_pipe(int fd)
{
	struct stat	 st;

	return (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode));
}

ssize_t
__wrap_read(int fd, void *buf, size_t len)
{
	if (fault.read_fail && is_pipe(fd)) {
		fault.read_fail = 0;
		errno = EIO;
		return (-1);
	}
	if (fault.read_short && is_pipe(fd) && len > 1) {
		fault.read_short = 0;
		len /= 2;
	}
	return (__real_read(fd, buf, len));
}

ssize_t
__wrap_write(int fd, const void *buf, size_t len)
{
	if (fault.write_eagain) {
		fault.write_eagain = 0;
		errno = EAGAIN;
		return (-1);
	}
	if (fault.write_max > 0 && len > fault.write_max)
		len = fault.write_max;
	return (__real_write(fd, buf, len));
}

/* Two socket pairs: the source client writes to src, dst to its reader. */
static int	 src_peer, src, dst, dst_peer;
static uint8_t	*data, *got;
#define DATA	(200 * 1024)

static int
setup(void **state)
{
	int	 a[2], b[2], big = 1 << 20, i;

	(void)state;
	memset(&fault, 0, sizeof fault);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) == -1)
		return (-1);
	src_peer = a[0];
	src = a[1];
	dst = b[0];
	dst_peer = b[1];
	for (i = 0; i < 4; i++)
		(void)setsockopt(i < 2 ? a[i] : b[i - 2], SOL_SOCKET,
		    i % 2 ? SO_RCVBUF : SO_SNDBUF, &big, sizeof big);
	fcntl(src, F_SETFL, O_NONBLOCK);
	fcntl(dst, F_SETFL, O_NONBLOCK);
	fcntl(dst_peer, F_SETFL, O_NONBLOCK);
	data = malloc(DATA);
	got = malloc(DATA + 1);
	for (i = 0; i < DATA; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	return (data == NULL || got == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	(void)state;
	close(src_peer);
	close(src);
	close(dst);
	close(dst_peer);
	free(data);
	free(got);
	pump_pool_flush();
	return (0);
}

/* Read what dst's reader has, appending at got + *have. */
static void
collect(size_t *have)
{
	ssize_t	 n;

	while ((n = __real_read(dst_peer, got + *have, DATA + 1 - *have)) > 0)
		*have += n;
}

/*
 * Send data[from, len) through the pump: the client writes, the pump
 * fills from src and drains to dst, the reader collects at got + from.
 * Fails on any error of the pump. Returns the bytes collected in all.
 */
static size_t
relay_from(struct pump *p, size_t from, size_t len)
{
	size_t	 sent = from, have = from;
	ssize_t	 n;
	int	 rounds;

	for (rounds = 0; rounds < 100000 && have < len; rounds++) {
		if (sent < len && (n = __real_write(src_peer, data + sent,
		    len - sent > 8192 ? 8192 : len - sent)) > 0)
			sent += n;
		n = pump_fill(p, src);
		assert_true(n > 0 || (n == -1 && errno == EAGAIN));
		while (p->len > 0) {
			n = pump_drain(p, dst);
			if (n == -1 && errno == EAGAIN)
				break;
			assert_true(n > 0);
		}
		collect(&have);
	}
	return (have);
}

static size_t
relay(struct pump *p, size_t len)
{
	return (relay_from(p, 0, len));
}

static void
test_splice_path(void **state)
{
	struct pump	 p;

	(void)state;
	pump_init(&p);
	assert_int_equal(relay(&p, DATA), DATA);
	assert_memory_equal(got, data, DATA);
	assert_int_not_equal(p.pipe[0], -1);	/* it spliced */
	assert_int_equal(p.nosplice, 0);
	pump_free(&p);
}

static void
test_buffer_short_writes(void **state)
{
	struct pump	 p;

	(void)state;
	pump_init_buf(&p, PUMP_BUF);
	fault.write_max = 777;
	assert_int_equal(relay(&p, DATA), DATA);
	assert_memory_equal(got, data, DATA);
	assert_int_equal(p.pipe[0], -1);
	assert_null(p.buf);			/* drained: no buffer kept */
	pump_free(&p);
}

/* A drain that would block loses nothing; both paths; then EOF. */
static void
test_eagain_and_eof(void **state)
{
	struct pump	 p;
	size_t		 have = 0;
	int		 buffered;

	(void)state;
	for (buffered = 0; buffered < 2; buffered++) {
		if (buffered)
			pump_init_buf(&p, PUMP_BUF);
		else
			pump_init(&p);
		assert_int_equal(pump_fill(&p, src), -1);
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(pump_put(&p, data, 1000), 0);
		assert_int_equal(p.pipe[0] == -1, buffered);
		fault.write_eagain = fault.splice_eagain = 1;
		assert_int_equal(pump_drain(&p, dst), -1);
		assert_int_equal(errno, EAGAIN);
		fault.write_eagain = fault.splice_eagain = 0;
		assert_int_equal(p.len, 1000);		/* nothing lost */
		assert_int_equal(pump_drain(&p, dst), 1000);
		have = 0;
		collect(&have);
		assert_int_equal(have, 1000);
		assert_memory_equal(got, data, 1000);
		pump_free(&p);
	}
	shutdown(src_peer, SHUT_WR);
	pump_init(&p);
	assert_int_equal(pump_fill(&p, src), 0);
	pump_free(&p);
}

/* Fill the pipe with len bytes of data, without draining. */
static void
fill_pipe(struct pump *p, size_t len)
{
	size_t	 sent = 0;
	ssize_t	 n;

	while (sent < len) {
		n = __real_write(src_peer, data + sent, len - sent);
		assert_true(n > 0);
		sent += n;
	}
	while (p->len < len) {
		n = pump_fill(p, src);
		assert_true(n > 0);
	}
	assert_int_not_equal(p->pipe[0], -1);
}

/*
 * splice gives up mid-stream: the bytes in the pipe go on through a
 * buffer, and so does the rest of the stream, on the same pump.
 */
static void
test_splice_fails_mid_stream(void **state)
{
	struct pump	 p;
	size_t		 have = 0;

	(void)state;
	pump_init(&p);
	fill_pipe(&p, 30000);
	fault.splice_einval = 1;
	while (p.len > 0)
		assert_true(pump_drain(&p, dst) > 0);
	assert_int_equal(p.pipe[0], -1);
	assert_int_equal(p.nosplice, 1);
	collect(&have);
	assert_int_equal(have, 30000);
	assert_int_equal(relay_from(&p, 30000, DATA), DATA);
	assert_memory_equal(got, data, DATA);
	pump_free(&p);
}

/*
 * Giving up splice, a short read of the pipe must not drop the rest: it
 * reads on, and every byte arrives. A failed read must not leave a hole
 * in the stream: the pump fails instead, and the pair ends.
 */
static void
test_unsplice_no_hole(void **state)
{
	struct pump	 p;
	size_t		 have = 0;

	(void)state;
	pump_init(&p);
	fill_pipe(&p, 30000);
	fault.splice_einval = fault.read_short = 1;
	while (p.len > 0)
		assert_true(pump_drain(&p, dst) > 0);
	collect(&have);
	assert_int_equal(have, 30000);
	assert_memory_equal(got, data, 30000);
	pump_free(&p);

	pump_init(&p);
	fill_pipe(&p, 30000);
	fault.splice_einval = fault.read_fail = 1;
	assert_int_equal(pump_drain(&p, dst), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(p.len, 0);
	pump_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_splice_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_buffer_short_writes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_eagain_and_eof, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_splice_fails_mid_stream,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsplice_no_hole,
		    setup, teardown),
	};

	pump_budget_init();
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
