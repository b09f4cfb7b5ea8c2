/*
 * transit-bench: the load generator behind "make bench" (bench/run.py).
 *
 *   transit-bench stream --connect=HOST:PORT --pairs=N --seconds=S
 *                        [--warmup=S] [--both] [--chunk=BYTES]
 *                        [--relay | --forward --receiver-port=P | --direct]
 *   transit-bench rate   --connect=HOST:PORT --concurrency=C --seconds=S
 *   transit-bench hold   --connect=HOST:PORT --pairs=N [--waiters=M]
 *                        [--relay | --forward --receiver-port=P]
 *   transit-bench nullrelay --listen-port=P [--lifetime=S]
 *
 * Modes: --relay (the default): both sides of a pair connect to the relay
 * at --connect and send "please relay TOKEN for side SIDE\n", and wait for
 * exactly "ok\n". --forward: a plain TCP forwarder (HAProxy) is at
 * --connect and forwards to 127.0.0.1:P (--receiver-port), where this
 * program listens; the sender connects to the forwarder and the
 * connection accepted from it is the receiving side. --direct: the sender
 * connects straight to this program's own listener (no relay at all).
 *
 * stream: establishes the pairs, then streams from a sender thread (its
 * own epoll, large writes from a static buffer) to a receiver thread (its
 * own epoll, recv() with MSG_TRUNC, which on Linux TCP discards without
 * copying); --both makes every side send and receive. After --warmup
 * seconds it counts the bytes received in a window of --seconds; then
 * the senders stop, and it waits until every byte sent has been received
 * (the check that the relay delivered everything). Prints one line:
 *   bytes=B seconds=T MBps=R sent=S received=S pairs=N both=0|1
 *   recv=trunc|copy setup=T drain=T
 * (bytes, seconds, MBps: the window, MBps in 10^6 bytes per second;
 * sent/received: totals over the whole run, warm-up and draining
 * included; setup, drain: seconds to establish the pairs and to receive
 * what was still on its way when the senders stopped).
 *
 * rate: --concurrency loops, each connecting two sides with a fresh token,
 * waiting for "ok\n" on both, closing both, again; counts the pairs done
 * in --seconds after --warmup. Prints: pairs=N seconds=T per_sec=R
 *
 * hold: establishes --waiters lone waiters (handshake sent, nobody to
 * pair with) and prints "waiters-ready N", then, after a line on stdin,
 * --pairs idle pairs (after "ok\n" on every side) and prints "ready";
 * holds them until stdin reaches EOF (at most --max-hold seconds), checks
 * that none was closed by the relay, closes all and exits.
 *
 * nullrelay: not a load generator but a target: the minimal pairing
 * server, on 127.0.0.1:P (0: any free port; it prints the port). One
 * thread, level-triggered epoll; it reads the handshake, pairs two
 * connections with the same token, writes "ok\n" to both, and closes both
 * when either closes. It relays nothing (data after the handshake closes
 * the pair, so a stream through it fails). run.py measures its pairs/s:
 * the most that the machine, shared with the generator, allows. It exits
 * after --lifetime seconds (default 3600) or on a signal.
 *
 * Every wait has a deadline: a connection or handshake that takes more
 * than --timeout seconds (default 10) is an error. Errors print one line
 * on stderr and exit with status 1. Only IPv4 addresses (the benchmark
 * uses loopback).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HS_MAX		128
#define MAX_EVENTS	256
#define SEND_BUF	(1024 * 1024)
#define RECV_BUF	(1024 * 1024)
#define DRAIN_SECONDS	60.0

enum mode { MODE_RELAY, MODE_FORWARD, MODE_DIRECT };

static struct {
	enum mode		 mode;
	struct sockaddr_in	 target;
	bool			 have_target;
	int			 receiver_port;
	long			 pairs;
	long			 waiters;
	double			 seconds;
	double			 warmup;
	bool			 both;
	size_t			 chunk;
	int			 concurrency;
	double			 timeout;
	int			 inflight;
	int			 sources;
	bool			 rst;
	double			 max_hold;
	int			 listen_port;
	double			 lifetime;
} opt = {
	.mode = MODE_RELAY,
	.receiver_port = -1,
	.pairs = 1,
	.seconds = 2.0,
	.warmup = 0.5,
	.chunk = 256 * 1024,
	.concurrency = 32,
	.timeout = 10.0,
	.inflight = 16,
	.sources = -1,
	.max_hold = 600.0,
	.listen_port = -1,
	.lifetime = 3600.0,
};

static char target_str[64];

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("transit-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_for(double s)
{
	struct timespec	 ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Tokens: 64 hex digits from a per-pair counter mixed with a random seed. */
static uint64_t	 seed[2];
static uint64_t	 next_token_id;

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t	 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
seed_tokens(void)
{
	int	 fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || read(fd, seed, sizeof seed) != (ssize_t)sizeof seed)
		die("/dev/urandom: %s", strerror(errno));
	close(fd);
}

/* Writes the handshake of token id for side 'a' or 'b'; returns its length. */
static int
handshake_line(char *out, uint64_t id, char side)
{
	uint64_t	 s = seed[0] ^ (id * 0xd1342543de82ef95ULL);
	uint64_t	 w[4];
	char		 sides[17];
	int		 i;

	for (i = 0; i < 4; i++)
		w[i] = splitmix64(&s) ^ seed[1];
	memset(sides, side, 16);
	sides[16] = '\0';
	return snprintf(out, HS_MAX,
	    "please relay %016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016"
	    PRIx64 " for side %s\n", w[0], w[1], w[2], w[3], sides);
}

static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
tcp_socket(void)
{
	int	 fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);

	if (fd == -1)
		die("socket: %s%s", strerror(errno), errno == EMFILE ?
		    " (raise the descriptor limit: ulimit -n)" : "");
	return fd;
}

/* A listener on 127.0.0.1:port (0: any free port); returns the port too. */
static int
listen_loopback(int port, int *bound)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd = tcp_socket(), one = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		die("bind 127.0.0.1:%d: %s", port, strerror(errno));
	if (listen(fd, 4096) == -1)
		die("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("getsockname: %s", strerror(errno));
	*bound = ntohs(sin.sin_port);
	return fd;
}

/* Rotating source addresses 127.0.0.2.. for rate mode (more ports). */
static unsigned	 next_source;

static int
connect_target(void)
{
	int	 fd = tcp_socket();

	if (opt.sources > 0) {
		struct sockaddr_in	 src;
		int			 one = 1;

		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof one);
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000002u +
		    next_source++ % (unsigned)opt.sources);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) == -1)
			die("bind to a 127.0.0.x source: %s", strerror(errno));
	}
	if (connect(fd, (struct sockaddr *)&opt.target, sizeof opt.target)
	    == -1 && errno != EINPROGRESS)
		die("connect to %s: %s", target_str, strerror(errno));
	return fd;
}

static void
ep_ctl(int epfd, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(epfd, op, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
}

/*
 * One outgoing connection being set up: connect, send the handshake (if
 * any), wait for "ok\n" (if wanted).
 */
enum cstate { C_CONNECTING, C_HANDSHAKE, C_WAIT_OK, C_READY };

struct conn {
	int		 fd;
	enum cstate	 state;
	long		 item;		/* pair or waiter number */
	unsigned char	 hs_len, hs_off, got, want_ok;
	char		 hs[HS_MAX];
	char		 rbuf[4];
};

static void
conn_start(struct conn *c, int epfd, long item, uint64_t token, char side,
    bool handshake, bool want_ok)
{
	c->fd = connect_target();
	c->state = C_CONNECTING;
	c->item = item;
	c->hs_len = handshake ? handshake_line(c->hs, token, side) : 0;
	c->hs_off = c->got = 0;
	c->want_ok = want_ok;
	if (handshake && want_ok) {
		/*
		 * On loopback the connect has usually completed already: send
		 * the handshake at once and wait for "ok" (saves a wake-up).
		 */
		ssize_t	 n = send(c->fd, c->hs, c->hs_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->hs_off = (unsigned char)n;
			c->state = n == c->hs_len ? C_WAIT_OK : C_HANDSHAKE;
			ep_ctl(epfd, EPOLL_CTL_ADD, c->fd,
			    c->state == C_WAIT_OK ? EPOLLIN : EPOLLOUT, c);
			return;
		}
	}
	ep_ctl(epfd, EPOLL_CTL_ADD, c->fd, EPOLLOUT, c);
}

static void __attribute__((noreturn))
bad_reply(struct conn *c)
{
	char	 more[80], shown[256];
	ssize_t	 n;
	size_t	 i, j = 0;
	char	 all[96];
	size_t	 len = c->got;

	memcpy(all, c->rbuf, len);
	n = recv(c->fd, more, sizeof more, MSG_DONTWAIT);
	if (n > 0) {
		memcpy(all + len, more, (size_t)n);
		len += (size_t)n;
	}
	for (i = 0; i < len && j + 5 < sizeof shown; i++) {
		unsigned char	 ch = (unsigned char)all[i];

		if (ch == '\n')
			j += (size_t)snprintf(shown + j, sizeof shown - j, "\\n");
		else if (ch >= 0x20 && ch < 0x7f)
			shown[j++] = (char)ch;
		else
			j += (size_t)snprintf(shown + j, sizeof shown - j,
			    "\\x%02x", ch);
	}
	shown[j] = '\0';
	die("item %ld: expected \"ok\\n\" from the relay at %s, got \"%s\"",
	    c->item, target_str, shown);
}

/* Advance c on an event; true when it has become ready. Dies on errors. */
static bool
conn_step(struct conn *c, int epfd, uint32_t events)
{
	ssize_t	 n;

	if (c->state == C_CONNECTING) {
		int		 err = 0;
		socklen_t	 len = sizeof err;

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0)
			die("item %ld: connect to %s: %s", c->item, target_str,
			    strerror(err));
		if (!(events & EPOLLOUT))
			return false;
		if (c->hs_len == 0) {
			c->state = C_READY;
			ep_ctl(epfd, EPOLL_CTL_DEL, c->fd, 0, NULL);
			return true;
		}
		c->state = C_HANDSHAKE;
	}
	if (c->state == C_HANDSHAKE) {
		n = send(c->fd, c->hs + c->hs_off, c->hs_len - c->hs_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			die("item %ld: sending the handshake to %s: %s",
			    c->item, target_str, strerror(errno));
		}
		c->hs_off += (unsigned char)n;
		if (c->hs_off < c->hs_len)
			return false;
		if (!c->want_ok) {
			c->state = C_READY;
			ep_ctl(epfd, EPOLL_CTL_DEL, c->fd, 0, NULL);
			return true;
		}
		c->state = C_WAIT_OK;
		ep_ctl(epfd, EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
		return false;
	}
	if (c->state == C_WAIT_OK) {
		n = recv(c->fd, c->rbuf + c->got, 3 - c->got, MSG_DONTWAIT);
		if (n == 0) {
			if (c->got > 0)
				bad_reply(c);
			die("item %ld: the relay at %s closed the connection "
			    "before \"ok\"", c->item, target_str);
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			die("item %ld: waiting for \"ok\" from %s: %s", c->item,
			    target_str, strerror(errno));
		}
		c->got += (unsigned char)n;
		if (memcmp(c->rbuf, "ok\n", c->got) != 0)
			bad_reply(c);
		if (c->got < 3)
			return false;
		c->state = C_READY;
		ep_ctl(epfd, EPOLL_CTL_DEL, c->fd, 0, NULL);
		return true;
	}
	return false;
}

static char	 listener_mark;	/* epoll data of the listener */

/*
 * Establish npairs pairs and nwaiters lone waiters, at most opt.inflight
 * at a time. Relay mode: both sides of a pair handshake and wait for "ok";
 * forward/direct: the sender connects, and the receiver is a connection
 * accepted on lfd. Fills send_fds/recv_fds (npairs each) and waiter_fds.
 */
static void
establish(long npairs, long nwaiters, int lfd, int *send_fds, int *recv_fds,
    int *waiter_fds)
{
	bool		 relay = opt.mode == MODE_RELAY;
	long		 nitems = npairs + nwaiters;
	long		 nconns = (relay ? 2 * npairs : npairs) + nwaiters;
	struct conn	*conns = calloc((size_t)(nconns ? nconns : 1),
	    sizeof *conns);
	double		*started = calloc((size_t)(nitems ? nitems : 1),
	    sizeof *started);
	unsigned char	*ready = calloc((size_t)(nitems ? nitems : 1), 1);
	long		 nstarted = 0, ndone = 0, oldest = 0, accepted = 0;
	long		 connected = 0, i;
	double		 last_connect = now(), t;
	struct epoll_event evs[MAX_EVENTS];
	int		 epfd = epoll_create1(EPOLL_CLOEXEC);

	if (conns == NULL || started == NULL || ready == NULL || epfd == -1)
		die("out of memory or descriptors");
	if (lfd != -1 && npairs > 0)
		ep_ctl(epfd, EPOLL_CTL_ADD, lfd, EPOLLIN, &listener_mark);

	for (;;) {
		/* Non-relay pairs are complete once connected and accepted. */
		long	 complete = relay ? ndone : ndone - connected +
		    (connected < accepted ? connected : accepted);

		if (complete == nitems)
			break;
		while (nstarted < nitems &&
		    nstarted - complete < opt.inflight) {
			long		 k = nstarted++;
			uint64_t	 tok = next_token_id++;

			started[k] = now();
			if (k < npairs && relay) {
				conn_start(&conns[2 * k], epfd, k, tok, 'a',
				    true, true);
				conn_start(&conns[2 * k + 1], epfd, k, tok, 'b',
				    true, true);
			} else if (k < npairs) {
				conn_start(&conns[k], epfd, k, tok, 'a', false,
				    false);
			} else {
				long	 c = (relay ? 2 * npairs : npairs) +
				    k - npairs;

				conn_start(&conns[c], epfd, k, tok, 'a', true,
				    false);
			}
		}
		int n = epoll_wait(epfd, evs, MAX_EVENTS, 100);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listener_mark) {
				for (;;) {
					int	 fd = accept4(lfd, NULL, NULL,
					    SOCK_NONBLOCK | SOCK_CLOEXEC);

					if (fd == -1) {
						if (errno == EAGAIN ||
						    errno == EINTR ||
						    errno == ECONNABORTED)
							break;
						die("accept: %s",
						    strerror(errno));
					}
					if (accepted >= npairs)
						die("accepted more connections "
						    "than pairs (%ld)", npairs);
					recv_fds[accepted++] = fd;
				}
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			if (!conn_step(c, epfd, evs[i].events))
				continue;
			if (c->item < npairs && relay) {
				if (++ready[c->item] < 2)
					continue;
			} else if (c->item < npairs) {
				connected++;
				last_connect = now();
			}
			ready[c->item] = 2;
			ndone++;
		}
		/* Deadlines: the oldest unfinished item, and the accepts. */
		t = now();
		while (oldest < nstarted && ready[oldest] == 2)
			oldest++;
		if (oldest < nstarted && ready[oldest] != 2 &&
		    t - started[oldest] > opt.timeout)
			die("%s %ld: not %s within %g s (relay at %s)",
			    oldest < npairs ? "pair" : "waiter", oldest,
			    oldest < npairs && relay ? "paired (\"ok\" on both "
			    "sides)" : "connected", opt.timeout, target_str);
		if (!relay && accepted < connected &&
		    t - last_connect > opt.timeout)
			die("only %ld of %ld connections through %s arrived at "
			    "the receiver listener within %g s", accepted,
			    connected, target_str, opt.timeout);
	}
	close(epfd);
	for (i = 0; i < npairs; i++) {
		send_fds[i] = relay ? conns[2 * i].fd : conns[i].fd;
		if (relay)
			recv_fds[i] = conns[2 * i + 1].fd;
	}
	for (i = 0; i < nwaiters; i++)
		waiter_fds[i] = conns[(relay ? 2 * npairs : npairs) + i].fd;
	free(conns);
	free(started);
	free(ready);
}

/* Sets up the listener of forward/direct modes (direct: also the target). */
static int
receiver_listener(void)
{
	int	 port, lfd;

	if (opt.mode == MODE_RELAY)
		return -1;
	if (opt.mode == MODE_FORWARD && opt.receiver_port < 0)
		die("--forward needs --receiver-port");
	lfd = listen_loopback(opt.mode == MODE_FORWARD ? opt.receiver_port : 0,
	    &port);
	if (opt.mode == MODE_DIRECT) {
		memset(&opt.target, 0, sizeof opt.target);
		opt.target.sin_family = AF_INET;
		opt.target.sin_port = htons(port);
		opt.target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		snprintf(target_str, sizeof target_str, "127.0.0.1:%d", port);
		opt.have_target = true;
	}
	return lfd;
}

/* ---- stream ---- */

static char	 send_buf[SEND_BUF];
static char	 recv_buf[RECV_BUF];
static bool	 use_trunc = true;

struct streamer {
	const char		*name;
	int			 epfd;
	bool			 sender;
	pthread_t		 thread;
	_Atomic uint64_t	 total;
	atomic_bool		 stop;
	atomic_bool		 failed;
	char			 error[256];
};

static void
streamer_fail(struct streamer *s, const char *what, int err)
{
	snprintf(s->error, sizeof s->error, "%s: %s", what,
	    err ? strerror(err) : "the peer closed the connection");
	atomic_store(&s->failed, true);
}

static void *
streamer_run(void *arg)
{
	struct streamer		*s = arg;
	struct epoll_event	 evs[MAX_EVENTS];
	uint64_t		 total = 0;
	int			 i, k, n;
	ssize_t			 r;

	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		n = epoll_wait(s->epfd, evs, MAX_EVENTS, 20);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			streamer_fail(s, "epoll_wait", errno);
			break;
		}
		for (i = 0; i < n; i++) {
			int	 fd = evs[i].data.fd;

			for (k = 0; k < 4; k++) {
				if (s->sender) {
					r = send(fd, send_buf, opt.chunk,
					    MSG_NOSIGNAL | MSG_DONTWAIT);
				} else {
					r = recv(fd, recv_buf, RECV_BUF,
					    MSG_DONTWAIT |
					    (use_trunc ? MSG_TRUNC : 0));
					if (r == -1 && use_trunc &&
					    (errno == EINVAL ||
					    errno == EOPNOTSUPP)) {
						use_trunc = false;
						continue;
					}
				}
				if (r > 0) {
					total += (uint64_t)r;
					if ((size_t)r < (s->sender ? opt.chunk :
					    RECV_BUF))
						break;
					continue;
				}
				if (r == -1 && (errno == EAGAIN ||
				    errno == EINTR))
					break;
				streamer_fail(s, s->sender ? "send" : "recv",
				    r == 0 ? 0 : errno);
				(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd,
				    NULL);
				break;
			}
			atomic_store_explicit(&s->total, total,
			    memory_order_relaxed);
		}
		if (atomic_load(&s->failed))
			break;
	}
	atomic_store(&s->total, total);
	return NULL;
}

static void
streamer_start(struct streamer *s, const char *name, bool sender, int *fds,
    long nfds, int *fds2, long nfds2)
{
	long	 i;
	int	 err;

	memset(s, 0, sizeof *s);
	s->name = name;
	s->sender = sender;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd == -1)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < nfds + nfds2; i++) {
		struct epoll_event	 ev;
		int			 fd = i < nfds ? fds[i] : fds2[i - nfds];

		memset(&ev, 0, sizeof ev);
		ev.events = sender ? EPOLLOUT : EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	err = pthread_create(&s->thread, NULL, streamer_run, s);
	if (err != 0)
		die("pthread_create: %s", strerror(err));
}

static void
streamer_stop(struct streamer *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->epfd);
}

static void
check_streamers(struct streamer *a, struct streamer *b)
{
	if (atomic_load(&a->failed))
		die("%s side: %s", a->name, a->error);
	if (atomic_load(&b->failed))
		die("%s side: %s", b->name, b->error);
}

/* Sleep s seconds, watching both threads for errors. */
static void
watch(struct streamer *a, struct streamer *b, double s)
{
	double	 end = now() + s;

	while (now() < end) {
		check_streamers(a, b);
		sleep_for(end - now() < 0.02 ? end - now() : 0.02);
	}
	check_streamers(a, b);
}

/*
 * Check that recv(MSG_TRUNC) on a TCP socket discards without copying (as
 * Linux does); otherwise receive into the buffer.
 */
static void
probe_trunc(void)
{
	int		 port, lfd = listen_loopback(0, &port), cfd, afd = -1;
	struct sockaddr_in sin;
	char		 b[8];
	ssize_t		 r = -1;
	double		 end = now() + 2;

	use_trunc = false;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cfd = tcp_socket();
	if (connect(cfd, (struct sockaddr *)&sin, sizeof sin) == -1 &&
	    errno != EINPROGRESS)
		goto out;
	while (afd == -1 && now() < end) {
		afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (afd == -1)
			sleep_for(0.001);
	}
	if (afd == -1)
		goto out;
	while (send(cfd, "0123456789", 10, MSG_NOSIGNAL) != 10 && now() < end)
		sleep_for(0.001);
	memset(b, 'x', sizeof b);
	while (now() < end) {
		r = recv(afd, b, 4, MSG_TRUNC | MSG_DONTWAIT);
		if (r != -1 || errno != EAGAIN)
			break;
		sleep_for(0.001);
	}
	if (r != 4 || memcmp(b, "xxxx", 4) != 0)
		goto out;
	r = recv(afd, b, sizeof b, MSG_DONTWAIT);
	use_trunc = r == 6 && memcmp(b, "456789", 6) == 0;
out:
	if (afd != -1)
		close(afd);
	close(cfd);
	close(lfd);
}

static void
cmd_stream(void)
{
	long		 n = opt.pairs, i;
	int		*sfds, *rfds, lfd;
	struct streamer	 snd, rcv;
	uint64_t	 r0, r1, sent, received;
	double		 t0, t1, drain_end, setup, drained;

	if (n < 1)
		die("--pairs must be at least 1");
	for (i = 0; i < SEND_BUF; i++)
		send_buf[i] = (char)splitmix64(&seed[1]);
	probe_trunc();
	lfd = receiver_listener();
	sfds = calloc((size_t)n, sizeof *sfds);
	rfds = calloc((size_t)n, sizeof *rfds);
	if (sfds == NULL || rfds == NULL)
		die("out of memory");
	setup = now();
	establish(n, 0, lfd, sfds, rfds, NULL);
	setup = now() - setup;
	if (lfd != -1)
		close(lfd);

	if (opt.both) {
		streamer_start(&rcv, "receiving", false, sfds, n, rfds, n);
		streamer_start(&snd, "sending", true, sfds, n, rfds, n);
	} else {
		streamer_start(&rcv, "receiving", false, rfds, n, NULL, 0);
		streamer_start(&snd, "sending", true, sfds, n, NULL, 0);
	}
	watch(&snd, &rcv, opt.warmup);
	r0 = atomic_load(&rcv.total);
	t0 = now();
	watch(&snd, &rcv, opt.seconds);
	r1 = atomic_load(&rcv.total);
	t1 = now();
	streamer_stop(&snd);
	sent = atomic_load(&snd.total);
	/* Everything sent must arrive: wait for it (bounded). */
	drain_end = now() + DRAIN_SECONDS;
	while ((received = atomic_load(&rcv.total)) < sent &&
	    now() < drain_end) {
		check_streamers(&snd, &rcv);
		sleep_for(0.002);
	}
	drained = now() - t1;
	streamer_stop(&rcv);
	check_streamers(&snd, &rcv);
	received = atomic_load(&rcv.total);
	if (received != sent)
		die("after %g s of draining, received %" PRIu64 " bytes of "
		    "%" PRIu64 " sent", DRAIN_SECONDS, received, sent);
	for (i = 0; i < n; i++) {
		close(sfds[i]);
		close(rfds[i]);
	}
	printf("bytes=%" PRIu64 " seconds=%.3f MBps=%.1f sent=%" PRIu64
	    " received=%" PRIu64 " pairs=%ld both=%d recv=%s setup=%.3f"
	    " drain=%.3f\n", r1 - r0, t1 - t0,
	    (double)(r1 - r0) / (t1 - t0) / 1e6, sent, received, n,
	    opt.both ? 1 : 0, use_trunc ? "trunc" : "copy", setup, drained);
	free(sfds);
	free(rfds);
}

/* ---- rate ---- */

struct rpair {
	struct conn	 side[2];
	int		 ready;
	double		 started;
	bool		 live;
};

static void
rpair_start(struct rpair *p, int epfd, long item)
{
	uint64_t	 tok = next_token_id++;

	conn_start(&p->side[0], epfd, item, tok, 'a', true, true);
	conn_start(&p->side[1], epfd, item, tok, 'b', true, true);
	p->ready = 0;
	p->started = now();
	p->live = true;
}

/* Close both sides (--rst: with a reset, leaving no TIME_WAIT). */
static void
close_pair(struct rpair *p)
{
	static const struct linger	 rst = { 1, 0 };
	int				 i;

	for (i = 0; i < 2; i++) {
		if (opt.rst)
			(void)setsockopt(p->side[i].fd, SOL_SOCKET, SO_LINGER,
			    &rst, sizeof rst);
		close(p->side[i].fd);
	}
}

static void
cmd_rate(void)
{
	int		 c = opt.concurrency, i, n;
	struct rpair	*pairs = calloc((size_t)c, sizeof *pairs);
	struct epoll_event evs[MAX_EVENTS];
	int		 epfd = epoll_create1(EPOLL_CLOEXEC);
	double		 start, count_from, end, t;
	long		 counted = 0, total = 0;

	if (opt.mode != MODE_RELAY)
		die("rate needs --relay");
	if (c < 1)
		die("--concurrency must be at least 1");
	if (pairs == NULL || epfd == -1)
		die("out of memory or descriptors");
	start = now();
	count_from = start + opt.warmup;
	end = count_from + opt.seconds;
	for (i = 0; i < c; i++)
		rpair_start(&pairs[i], epfd, i);
	while ((t = now()) < end) {
		n = epoll_wait(epfd, evs, MAX_EVENTS, 20);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct conn	*cn = evs[i].data.ptr;
			struct rpair	*p = &pairs[cn->item];

			if (!conn_step(cn, epfd, evs[i].events))
				continue;
			if (++p->ready < 2)
				continue;
			close_pair(p);
			p->live = false;
			total++;
			t = now();
			if (t >= count_from && t < end)
				counted++;
			if (t < end)
				rpair_start(p, epfd, cn->item);
		}
		t = now();
		for (i = 0; i < c; i++)
			if (pairs[i].live && t - pairs[i].started >
			    opt.timeout)
				die("pair not paired (\"ok\" on both sides) "
				    "within %g s (relay at %s)", opt.timeout,
				    target_str);
	}
	for (i = 0; i < c; i++)
		if (pairs[i].live) {
			close(pairs[i].side[0].fd);
			close(pairs[i].side[1].fd);
		}
	close(epfd);
	free(pairs);
	printf("pairs=%ld seconds=%.3f per_sec=%.1f total=%ld\n", counted,
	    opt.seconds, counted / opt.seconds, total);
}

/* ---- hold ---- */

/* Wait for a line (or EOF: returns false) on stdin, at most s seconds. */
static bool
stdin_line(double s, bool want_eof)
{
	double		 end = now() + s;
	struct pollfd	 pfd = { .fd = 0, .events = POLLIN };
	char		 b[256];
	ssize_t		 r;

	for (;;) {
		double	 left = end - now();

		if (left <= 0)
			die("held for %g s without being told to stop", s);
		if (poll(&pfd, 1, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (pfd.revents == 0)
			continue;
		r = read(0, b, sizeof b);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		if (!want_eof && memchr(b, '\n', (size_t)r) != NULL)
			return true;
	}
}

/* How many of fds the peer has closed (or reset). */
static long
count_closed(int *fds, long n)
{
	long	 closed = 0, i;
	char	 b[64];

	for (i = 0; i < n; i++) {
		ssize_t	 r = recv(fds[i], b, sizeof b, MSG_DONTWAIT | MSG_PEEK);

		if (r == 0 || (r == -1 && errno != EAGAIN))
			closed++;
	}
	return closed;
}

static void
cmd_hold(void)
{
	long	 np = opt.pairs, nw = opt.waiters, closed = 0, i;
	int	*sfds = calloc((size_t)np + 1, sizeof *sfds);
	int	*rfds = calloc((size_t)np + 1, sizeof *rfds);
	int	*wfds = calloc((size_t)nw + 1, sizeof *wfds);
	int	 lfd;

	if (np < 0 || nw < 0)
		die("--pairs and --waiters must not be negative");
	if (sfds == NULL || rfds == NULL || wfds == NULL)
		die("out of memory");
	if (opt.mode == MODE_DIRECT)
		die("hold needs --relay or --forward");
	if (nw > 0 && opt.mode != MODE_RELAY)
		die("--waiters needs --relay");
	lfd = receiver_listener();
	if (nw > 0) {
		/*
		 * In batches, each followed by a probe pair: its "ok" shows
		 * that the relay has accepted the batch (accepts are in
		 * order), so a small listen backlog (the Python relay's is
		 * 50) never overflows into SYN retransmits.
		 */
		for (i = 0; i < nw; i += opt.inflight) {
			long	 b = nw - i < opt.inflight ? nw - i :
			    opt.inflight;
			int	 ps, pr;

			establish(0, b, -1, NULL, NULL, wfds + i);
			establish(1, 0, -1, &ps, &pr, NULL);
			close(ps);
			close(pr);
		}
		printf("waiters-ready %ld\n", nw);
		fflush(stdout);
		if (!stdin_line(opt.max_hold, false))
			goto done;
	}
	establish(np, 0, lfd, sfds, rfds, NULL);
	printf("ready pairs=%ld waiters=%ld\n", np, nw);
	fflush(stdout);
	(void)stdin_line(opt.max_hold, true);
	closed = count_closed(sfds, np) + count_closed(rfds, np) +
	    count_closed(wfds, nw);
	for (i = 0; i < np; i++) {
		close(sfds[i]);
		close(rfds[i]);
	}
done:
	for (i = 0; i < nw; i++)
		close(wfds[i]);
	if (lfd != -1)
		close(lfd);
	if (closed > 0)
		die("the relay closed %ld of the held connections", closed);
	printf("released\n");
}

/* ---- nullrelay ---- */

/*
 * The least a relay must do to pair: one thread, level-triggered epoll, a
 * non-blocking accept4 loop, read "please relay TOKEN for side SIDE\n",
 * pair two connections with the same token through a hash table, write
 * "ok\n" to both, and close both when either one closes or fails. No
 * records, no linger, no limits, no relaying: data after the handshake
 * closes the pair. run.py measures its pairs/s as the ceiling that
 * the machine (shared with the generator) allows.
 */
#define NR_MAXFD	65536
#define NR_BUCKETS	4096		/* a power of 2 */
#define NR_LISTENER	UINT32_MAX

enum nstate { N_FREE, N_HANDSHAKE, N_WAITING, N_PAIRED };

struct nconn {
	uint32_t	 gen;		/* bumped on close: stale events */
	unsigned char	 state;
	unsigned char	 len;		/* handshake bytes read */
	unsigned char	 tok_off, tok_len;
	int		 peer;		/* N_PAIRED */
	int		 next;		/* N_WAITING: hash chain, -1 ends */
	uint32_t	 hash;
	char		 buf[HS_MAX];
};

static struct nconn	*nconns;
static int		 nbucket[NR_BUCKETS];
static int		 nepfd;
static uint64_t		 npaired;
static char		 nscratch[16];

static uint32_t
fnv1a(const char *s, size_t n)
{
	uint32_t	 h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
nr_unchain(int fd)
{
	int	*p = &nbucket[nconns[fd].hash & (NR_BUCKETS - 1)];

	while (*p != -1 && *p != fd)
		p = &nconns[*p].next;
	if (*p == fd)
		*p = nconns[fd].next;
}

static void
nr_close(int fd)
{
	struct nconn	*c = &nconns[fd];

	if (c->state == N_WAITING)
		nr_unchain(fd);
	c->state = N_FREE;
	c->gen++;
	close(fd);
}

static void
nr_close_pair(int fd)
{
	int	 peer = nconns[fd].state == N_PAIRED ? nconns[fd].peer : -1;

	nr_close(fd);
	if (peer != -1)
		nr_close(peer);
}

/* A complete handshake line is in c->buf: pair it or make it wait. */
static void
nr_handshake(int fd)
{
	static const char	 prefix[] = "please relay ", mid[] = " for side ";
	struct nconn		*c = &nconns[fd];
	char			*tok, *end;
	int			*p;

	c->buf[c->len] = '\0';
	if (strncmp(c->buf, prefix, sizeof prefix - 1) != 0) {
		(void)send(fd, "bad handshake\n", 14, MSG_NOSIGNAL);
		nr_close(fd);
		return;
	}
	tok = c->buf + sizeof prefix - 1;
	end = strstr(tok, mid);
	if (end == NULL)
		end = strchr(tok, '\n');
	c->tok_off = (unsigned char)(tok - c->buf);
	c->tok_len = (unsigned char)(end - tok);
	c->hash = fnv1a(tok, c->tok_len);
	for (p = &nbucket[c->hash & (NR_BUCKETS - 1)]; *p != -1;
	    p = &nconns[*p].next) {
		struct nconn	*w = &nconns[*p];

		if (w->hash == c->hash && w->tok_len == c->tok_len &&
		    memcmp(w->buf + w->tok_off, tok, c->tok_len) == 0)
			break;
	}
	if (*p == -1) {
		c->state = N_WAITING;
		c->next = nbucket[c->hash & (NR_BUCKETS - 1)];
		nbucket[c->hash & (NR_BUCKETS - 1)] = fd;
		return;
	}
	int peer = *p;
	*p = nconns[peer].next;
	c->state = nconns[peer].state = N_PAIRED;
	c->peer = peer;
	nconns[peer].peer = fd;
	npaired++;
	if (send(fd, "ok\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT) != 3 ||
	    send(peer, "ok\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT) != 3)
		nr_close_pair(fd);
}

static void
nr_readable(int fd)
{
	struct nconn	*c = &nconns[fd];
	ssize_t		 r;
	char		*nl;

	if (c->state != N_HANDSHAKE) {
		/*
		 * Waiting or paired: EOF or an error closes (both sides of a
		 * pair); so do data, which this relay does not relay (a
		 * stream through it fails at once).
		 */
		r = recv(fd, nscratch, sizeof nscratch, MSG_DONTWAIT);
		if (r != -1 || (errno != EAGAIN && errno != EINTR))
			nr_close_pair(fd);
		return;
	}
	r = recv(fd, c->buf + c->len, sizeof c->buf - 1 - c->len,
	    MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		nr_close(fd);
		return;
	}
	nl = memchr(c->buf + c->len, '\n', (size_t)r);
	c->len += (unsigned char)r;
	if (nl != NULL) {
		/* Bytes after the line (data) are ignored. */
		c->len = (unsigned char)(nl + 1 - c->buf);
		nr_handshake(fd);
	} else if (c->len == sizeof c->buf - 1) {
		(void)send(fd, "bad handshake\n", 14, MSG_NOSIGNAL);
		nr_close(fd);
	}
}

static void
cmd_nullrelay(void)
{
	struct epoll_event	 evs[MAX_EVENTS];
	int			 port, lfd, i, n;
	double			 end = now() + opt.lifetime;

	if (opt.listen_port < 0)
		die("nullrelay needs --listen-port=P (0: any free port)");
	nconns = calloc(NR_MAXFD, sizeof *nconns);
	if (nconns == NULL)
		die("out of memory");
	for (i = 0; i < NR_BUCKETS; i++)
		nbucket[i] = -1;
	lfd = listen_loopback(opt.listen_port, &port);
	nepfd = epoll_create1(EPOLL_CLOEXEC);
	if (nepfd == -1)
		die("epoll_create1: %s", strerror(errno));
	{
		struct epoll_event	 ev = { .events = EPOLLIN,
		    .data.u64 = NR_LISTENER };

		if (epoll_ctl(nepfd, EPOLL_CTL_ADD, lfd, &ev) == -1)
			die("epoll_ctl: %s", strerror(errno));
	}
	printf("nullrelay listening on 127.0.0.1:%d for at most %g s\n", port,
	    opt.lifetime);
	fflush(stdout);
	while (now() < end) {
		n = epoll_wait(nepfd, evs, MAX_EVENTS, 1000);
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			uint32_t	 fd = (uint32_t)evs[i].data.u64;
			uint32_t	 gen = (uint32_t)(evs[i].data.u64 >> 32);

			if (fd != NR_LISTENER) {
				if (nconns[fd].state != N_FREE &&
				    nconns[fd].gen == gen)
					nr_readable((int)fd);
				continue;
			}
			for (;;) {
				struct epoll_event	 ev;
				int			 cfd = accept4(lfd, NULL,
				    NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (cfd == -1) {
					if (errno == EAGAIN || errno == EINTR ||
					    errno == ECONNABORTED)
						break;
					die("accept: %s", strerror(errno));
				}
				if (cfd >= NR_MAXFD)
					die("descriptor %d: more than %d", cfd,
					    NR_MAXFD);
				nconns[cfd].state = N_HANDSHAKE;
				nconns[cfd].len = 0;
				ev.events = EPOLLIN;
				ev.data.u64 = (uint64_t)nconns[cfd].gen << 32 |
				    (uint32_t)cfd;
				if (epoll_ctl(nepfd, EPOLL_CTL_ADD, cfd, &ev)
				    == -1)
					die("epoll_ctl: %s", strerror(errno));
				/* The handshake has usually arrived already. */
				nr_readable(cfd);
			}
		}
	}
	printf("nullrelay: %" PRIu64 " pairs, lifetime of %g s over\n",
	    npaired, opt.lifetime);
}

/* ---- main ---- */

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: transit-bench stream --connect=HOST:PORT --pairs=N --seconds=S\n"
"                            [--warmup=S] [--both] [--chunk=BYTES]\n"
"       transit-bench rate --connect=HOST:PORT --concurrency=C --seconds=S\n"
"       transit-bench hold --connect=HOST:PORT --pairs=N [--waiters=M]\n"
"       transit-bench nullrelay --listen-port=P [--lifetime=S]\n"
"  modes: --relay (default) | --forward --receiver-port=P | --direct\n"
"  other: --timeout=S (connect/handshake, default 10) --inflight=N\n"
"         --sources=N (rotate 127.0.0.2.. source addresses)\n"
"         --max-hold=S (hold: default 600)\n");
	exit(status);
}

static double
num(const char *name, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		die("bad --%s: %s", name, s);
	return v;
}

static void
parse_target(const char *s)
{
	char		 host[64];
	const char	*colon = strrchr(s, ':');
	size_t		 hl;

	if (colon == NULL || (hl = (size_t)(colon - s)) >= sizeof host)
		die("bad --connect (want HOST:PORT): %s", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&opt.target, 0, sizeof opt.target);
	opt.target.sin_family = AF_INET;
	opt.target.sin_port = htons((uint16_t)num("connect", colon + 1, 1,
	    65535));
	if (inet_pton(AF_INET, host, &opt.target.sin_addr) != 1)
		die("bad --connect host (want an IPv4 address): %s", host);
	snprintf(target_str, sizeof target_str, "%s:%u", host,
	    ntohs(opt.target.sin_port));
	opt.have_target = true;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect",		required_argument, NULL, 'c' },
		{ "relay",		no_argument,	   NULL, 'R' },
		{ "forward",		no_argument,	   NULL, 'F' },
		{ "direct",		no_argument,	   NULL, 'D' },
		{ "receiver-port",	required_argument, NULL, 'P' },
		{ "listen-receiver",	no_argument,	   NULL, 'F' },
		{ "pairs",		required_argument, NULL, 'n' },
		{ "waiters",		required_argument, NULL, 'w' },
		{ "seconds",		required_argument, NULL, 's' },
		{ "warmup",		required_argument, NULL, 'W' },
		{ "both",		no_argument,	   NULL, 'b' },
		{ "chunk",		required_argument, NULL, 'k' },
		{ "concurrency",	required_argument, NULL, 'C' },
		{ "timeout",		required_argument, NULL, 't' },
		{ "inflight",		required_argument, NULL, 'i' },
		{ "sources",		required_argument, NULL, 'S' },
		{ "rst",		no_argument,	   NULL, 'r' },
		{ "max-hold",		required_argument, NULL, 'H' },
		{ "listen-port",	required_argument, NULL, 'L' },
		{ "lifetime",		required_argument, NULL, 'T' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*cmd;
	int		 ch;

	if (argc < 2)
		usage(2);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		usage(0);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': parse_target(optarg); break;
		case 'R': opt.mode = MODE_RELAY; break;
		case 'F': opt.mode = MODE_FORWARD; break;
		case 'D': opt.mode = MODE_DIRECT; break;
		case 'P': opt.receiver_port = (int)num("receiver-port", optarg,
		    1, 65535); break;
		case 'n': opt.pairs = (long)num("pairs", optarg, 0, 1e6); break;
		case 'w': opt.waiters = (long)num("waiters", optarg, 0, 1e6);
			break;
		case 's': opt.seconds = num("seconds", optarg, 0.01, 3600);
			break;
		case 'W': opt.warmup = num("warmup", optarg, 0, 3600); break;
		case 'b': opt.both = true; break;
		case 'k': opt.chunk = (size_t)num("chunk", optarg, 1,
		    SEND_BUF); break;
		case 'C': opt.concurrency = (int)num("concurrency", optarg, 1,
		    10000); break;
		case 't': opt.timeout = num("timeout", optarg, 0.1, 3600);
			break;
		case 'i': opt.inflight = (int)num("inflight", optarg, 1, 1e5);
			break;
		case 'S': opt.sources = (int)num("sources", optarg, 0, 250);
			break;
		case 'r': opt.rst = true; break;
		case 'H': opt.max_hold = num("max-hold", optarg, 1, 86400);
			break;
		case 'L': opt.listen_port = (int)num("listen-port", optarg,
		    0, 65535); break;
		case 'T': opt.lifetime = num("lifetime", optarg, 0.1, 86400);
			break;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (!opt.have_target && opt.mode != MODE_DIRECT &&
	    strcmp(cmd, "nullrelay") != 0)
		die("--connect=HOST:PORT is needed");
	if (opt.sources < 0)
		opt.sources = strcmp(cmd, "rate") == 0 ? 200 : 0;
	raise_nofile();
	seed_tokens();
	if (strcmp(cmd, "stream") == 0)
		cmd_stream();
	else if (strcmp(cmd, "rate") == 0)
		cmd_rate();
	else if (strcmp(cmd, "hold") == 0)
		cmd_hold();
	else if (strcmp(cmd, "nullrelay") == 0)
		cmd_nullrelay();
	else
		usage(2);
	return 0;
}
