/*
 * probe.c: one probe of a relay (probe.h), with poll(2): two sockets
 * and a few seconds need no event library.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

static double
probe_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof *p);
	p->seconds = PROBE_SECONDS;
	p->timeout = PROBE_TIMEOUT;
	p->side[0].fd = p->side[1].fd = -1;
}

int
probe_endpoint(struct probe *p, const char *s)
{
	const char	*rest, *colon;
	char		*end;
	long		 port;

	if (strncmp(s, "tcp:", 4) != 0) {
		snprintf(p->why, sizeof p->why, "%s: not tcp:HOST:PORT", s);
		return (-1);
	}
	rest = s + 4;
	if (strncmp(rest, "host=", 5) == 0) {
		rest += 5;
		if ((colon = strstr(rest, ":port=")) == NULL)
			goto bad;
		snprintf(p->host, sizeof p->host, "%.*s", (int)(colon - rest),
		    rest);
		rest = colon + 6;
	} else {
		/* The last colon ends the host: [::1]:4001 or ::1:4001. */
		if ((colon = strrchr(rest, ':')) == NULL || colon == rest)
			goto bad;
		if (rest[0] == '[' && colon[-1] == ']')
			snprintf(p->host, sizeof p->host, "%.*s",
			    (int)(colon - rest - 2), rest + 1);
		else
			snprintf(p->host, sizeof p->host, "%.*s",
			    (int)(colon - rest), rest);
		rest = colon + 1;
	}
	port = strtol(rest, &end, 10);
	if (*rest == '\0' || *end != '\0' || port < 1 || port > 65535)
		goto bad;
	snprintf(p->port, sizeof p->port, "%ld", port);
	return (0);
bad:
	snprintf(p->why, sizeof p->why, "%s: not tcp:HOST:PORT (a port from "
	    "1 to 65535)", s);
	return (-1);
}

/* Connect side i, waiting at most the timeout. 0, or -1 with why. */
static int
probe_connect(struct probe *p, int i)
{
	struct addrinfo		 hints, *res, *ai;
	struct probe_side	*s = &p->side[i];
	struct pollfd		 pfd;
	double			 t0 = probe_clock();
	socklen_t		 len = sizeof(int);
	int			 rc, err = 0, on = 1;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(p->host, p->port, &hints, &res)) != 0) {
		snprintf(p->why, sizeof p->why, "cannot find %s: %s", p->host,
		    gai_strerror(rc));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK,
		    0)) == -1)
			continue;
		if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno == EINPROGRESS) {
			pfd.fd = s->fd;
			pfd.events = POLLOUT;
			if ((rc = poll(&pfd, 1, (int)(p->timeout * 1000))) == 0)
				err = ETIMEDOUT;
			else if (rc == -1 || getsockopt(s->fd, SOL_SOCKET,
			    SO_ERROR, &err, &len) == -1)
				err = errno;
		} else
			err = errno == EINPROGRESS ? 0 : errno;
		if (err == 0)
			break;
		close(s->fd);
		s->fd = -1;
	}
	freeaddrinfo(res);
	if (s->fd == -1) {
		snprintf(p->why, sizeof p->why, "cannot connect to %s port %s: "
		    "%s", p->host, p->port, strerror(err != 0 ? err :
		    EADDRNOTAVAIL));
		return (-1);
	}
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	s->connected = (probe_clock() - t0) * 1000;
	return (0);
}

/* Fill buf with len random bytes from the system. 0, or -1. */
static int
probe_random(void *buf, size_t len)
{
	FILE	*f = fopen("/dev/urandom", "rb");
	size_t	 n = 0;

	if (f != NULL) {
		n = fread(buf, 1, len, f);
		fclose(f);
	}
	return (n == len ? 0 : -1);
}

static void
probe_hex(char *out, const uint8_t *in, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* Say what side i got instead of "ok\n", into why. */
static void
probe_said(struct probe *p, int i, const char *what)
{
	struct probe_side	*s = &p->side[i];
	char			 vis[64];
	size_t			 j, k = 0;

	for (j = 0; j < s->nreply && k + 5 < sizeof vis; j++)
		k += (size_t)snprintf(vis + k, sizeof vis - k,
		    s->reply[j] >= ' ' && s->reply[j] < 127 ? "%c" : "\\x%02x",
		    (unsigned char)s->reply[j]);
	vis[k] = '\0';
	snprintf(p->why, sizeof p->why, "connection %c: %s%s%s%s", 'A' + i,
	    what, s->nreply > 0 ? " (it said \"" : "", vis,
	    s->nreply > 0 ? "\")" : "");
}

/*
 * Side i may write its handshake or read its reply (revents). Returns 1
 * once it has its "ok", 0 while it waits, -1 with why.
 */
static int
probe_pair_step(struct probe *p, int i, short revents)
{
	struct probe_side	*s = &p->side[i];
	ssize_t			 n;

	if (revents & POLLOUT) {
		n = send(s->fd, s->hello + s->hellosent, strlen(s->hello) -
		    s->hellosent, 0);
		if (n > 0)
			s->hellosent += (size_t)n;
		return (0);
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return (0);
	if ((n = recv(s->fd, s->reply + s->nreply, 3 - s->nreply, 0)) <= 0) {
		probe_said(p, i, "the relay closed it instead of pairing");
		return (-1);
	}
	s->nreply += (size_t)n;
	if (memcmp(s->reply, "ok\n", s->nreply) != 0) {
		/* Take the rest of its line, to say it. */
		n = recv(s->fd, s->reply + s->nreply, sizeof s->reply - 1 -
		    s->nreply, MSG_DONTWAIT);
		s->nreply += n > 0 ? (size_t)n : 0;
		probe_said(p, i, "the relay refused the handshake");
		return (-1);
	}
	return (s->nreply == 3);
}

/* Send both handshakes and wait for both "ok\n". 0, or -1 with why. */
static int
probe_pair(struct probe *p)
{
	struct pollfd	 pfd[2];
	uint8_t		 rnd[48];
	char		 token[65], side[2][17];
	double		 t0, end;
	int		 i, r, done;

	if (probe_random(rnd, sizeof rnd) == -1) {
		snprintf(p->why, sizeof p->why, "cannot read /dev/urandom");
		return (-1);
	}
	probe_hex(token, rnd, 32);
	probe_hex(side[0], rnd + 32, 8);
	probe_hex(side[1], rnd + 40, 8);
	for (i = 0; i < 2; i++)
		snprintf(p->side[i].hello, sizeof p->side[i].hello,
		    "please relay %s for side %s\n", token, side[i]);
	t0 = probe_clock();
	end = t0 + p->timeout;
	for (done = 0; done < 2;) {
		for (i = 0; i < 2; i++) {
			struct probe_side *s = &p->side[i];

			pfd[i].fd = s->fd;
			pfd[i].events = s->hellosent < strlen(s->hello) ?
			    POLLOUT : s->nreply < 3 ? POLLIN : 0;
		}
		if (poll(pfd, 2, (int)((end - probe_clock()) * 1000) + 1) <= 0
		    || probe_clock() > end) {
			for (i = 0; i < 2 && p->side[i].nreply == 3; i++)
				;
			probe_said(p, i, "no \"ok\" within the timeout: no "
			    "pair");
			return (-1);
		}
		for (i = 0; i < 2; i++) {
			if ((r = probe_pair_step(p, i, pfd[i].revents)) == -1)
				return (-1);
			done += r;
		}
	}
	p->pairing = (probe_clock() - t0) * 1000;
	return (0);
}

/*
 * The stream of direction d at offset k: a random block of its own,
 * with the block number added, so that a byte lost, doubled or moved
 * shows.
 */
static uint8_t	 probe_block[2][PROBE_BLOCK];

static void
probe_fill(int d, uint64_t off, uint8_t *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++, off++)
		buf[i] = probe_block[d][off % PROBE_BLOCK] +
		    (uint8_t)(off / PROBE_BLOCK);
}

/* Whether buf holds direction d's bytes from off. */
static int
probe_check(int d, uint64_t off, const uint8_t *buf, size_t len)
{
	uint8_t	 want[PROBE_BLOCK];
	size_t	 n;

	while (len > 0) {
		n = len < sizeof want ? len : sizeof want;
		probe_fill(d, off, want, n);
		if (memcmp(want, buf, n) != 0)
			return (0);
		off += n;
		buf += n;
		len -= n;
	}
	return (1);
}

/* Side i may write: send the next of its stream. 0, or -1 with why. */
static int
probe_send(struct probe *p, int i)
{
	struct probe_side	*s = &p->side[i];
	ssize_t			 n;

	if (s->offpend == s->npend) {
		probe_fill(i, s->sent, s->pend, sizeof s->pend);
		s->npend = sizeof s->pend;
		s->offpend = 0;
	}
	n = send(s->fd, s->pend + s->offpend, s->npend - s->offpend, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n <= 0) {
		snprintf(p->why, sizeof p->why, "connection %c: sending failed "
		    "after %llu bytes: %s", 'A' + i,
		    (unsigned long long)s->sent, strerror(errno));
		return (-1);
	}
	s->offpend += (size_t)n;
	s->sent += (uint64_t)n;
	return (0);
}

/* Side i may read: take and check. 0, or -1 with why. */
static int
probe_recv(struct probe *p, int i)
{
	struct probe_side	*s = &p->side[i];
	uint8_t			 buf[65536];
	ssize_t			 n;

	n = recv(s->fd, buf, sizeof buf, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n <= 0) {
		snprintf(p->why, sizeof p->why, "connection %c: the relay "
		    "closed it after %llu of %llu bytes: %s", 'A' + i,
		    (unsigned long long)s->got,
		    (unsigned long long)p->side[1 - i].sent,
		    n == 0 ? "end of file" : strerror(errno));
		return (-1);
	}
	if (!probe_check(1 - i, s->got, buf, (size_t)n)) {
		snprintf(p->why, sizeof p->why, "bytes %c to %c differ from "
		    "what was sent, near byte %llu", 'B' - i, 'A' + i,
		    (unsigned long long)s->got);
		return (-1);
	}
	s->got += (uint64_t)n;
	return (0);
}

static void
probe_progress(struct probe *p, double secs, int last)
{
	double	 ab = (double)p->side[1].got / secs / 1e6;
	double	 ba = (double)p->side[0].got / secs / 1e6;

	if (p->tty)
		printf("\r  relaying  %4.1f s   A->B %8.1f MB/s   B->A %8.1f "
		    "MB/s%s", secs, ab, ba, last ? "\r\033[K" : "");
	else if (!last)
		printf("  relaying  %.0f s: A->B %.1f MB/s, B->A %.1f MB/s\n",
		    secs, ab, ba);
	fflush(stdout);
}

/* Send both ways for the seconds, then wait for every byte. 0, or -1. */
static int
probe_relay(struct probe *p)
{
	struct pollfd	 pfd[2];
	double		 t0 = probe_clock(), now, stop, next = 0;
	int		 i, sending = 1;

	if (probe_random(probe_block, sizeof probe_block) == -1) {
		snprintf(p->why, sizeof p->why, "cannot read /dev/urandom");
		return (-1);
	}
	stop = t0 + p->seconds;
	for (;;) {
		now = probe_clock();
		if (sending && now >= stop)
			sending = 0;
		if (!sending && p->side[1].got == p->side[0].sent &&
		    p->side[0].got == p->side[1].sent)
			break;
		if (now > stop + p->timeout) {
			snprintf(p->why, sizeof p->why, "the relay held back "
			    "%llu bytes for %.0f s", (unsigned long long)
			    (p->side[0].sent + p->side[1].sent -
			    p->side[0].got - p->side[1].got), p->timeout);
			return (-1);
		}
		if (now >= next) {
			if (next > 0)
				probe_progress(p, now - t0, 0);
			next = now + (p->tty ? 0.2 : 1);
		}
		for (i = 0; i < 2; i++) {
			pfd[i].fd = p->side[i].fd;
			pfd[i].events = POLLIN | (sending ? POLLOUT : 0);
			if (!sending && p->side[i].got == p->side[1 - i].sent)
				pfd[i].events = 0;
		}
		if (poll(pfd, 2, 100) == -1 && errno != EINTR) {
			snprintf(p->why, sizeof p->why, "poll: %s",
			    strerror(errno));
			return (-1);
		}
		for (i = 0; i < 2; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    probe_recv(p, i) == -1)
				return (-1);
			if ((pfd[i].revents & POLLOUT) && sending &&
			    probe_send(p, i) == -1)
				return (-1);
		}
		for (i = 0; i < 2; i++)
			if (!sending && p->elapsed[1 - i] == 0 &&
			    p->side[i].got == p->side[1 - i].sent)
				p->elapsed[1 - i] = probe_clock() - t0;
	}
	for (i = 0; i < 2; i++)
		if (p->elapsed[i] == 0)
			p->elapsed[i] = probe_clock() - t0;
	probe_progress(p, probe_clock() - t0, 1);
	return (0);
}

static void
probe_way(struct probe *p, int from)
{
	double		 secs = p->elapsed[from];
	uint64_t	 n = p->side[from].sent;

	printf("  %c -> %c      %.1f MB in %.2f s: %.1f MB/s, every byte "
	    "checked\n", 'A' + from, 'B' - from, (double)n / 1e6, secs,
	    secs > 0 ? (double)n / secs / 1e6 : 0);
}

int
probe_run(struct probe *p)
{
	int	 i, rv = -1;

	printf("transitd-probe: the relay at %s port %s\n", p->host, p->port);
	fflush(stdout);
	if (probe_connect(p, 0) == -1 || probe_connect(p, 1) == -1)
		goto out;
	printf("  connect    %.1f ms, %.1f ms\n", p->side[0].connected,
	    p->side[1].connected);
	if (probe_pair(p) == -1)
		goto out;
	printf("  pairing    %.1f ms (both connections got \"ok\")\n",
	    p->pairing);
	fflush(stdout);
	if (probe_relay(p) == -1)
		goto out;
	probe_way(p, 0);
	probe_way(p, 1);
	rv = 0;
out:
	for (i = 0; i < 2; i++)
		if (p->side[i].fd != -1)
			close(p->side[i].fd);
	if (p->tty && rv == -1 && p->side[0].sent > 0)
		printf("\n");
	if (rv == 0)
		printf("  result     the relay works\n");
	else
		printf("  result     the relay does NOT work: %s\n", p->why);
	fflush(stdout);
	return (rv);
}
