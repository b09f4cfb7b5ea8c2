/*
 * health.c: /health's check, a pair through the relay's own matcher
 * (health.h), on the home loop without blocking it.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "loop.h"

struct health_side {
	int		 fd;
	struct sockaddr_storage me;	/* its own address */
	struct event	*ev;
	char		 line[128];	/* its handshake */
	size_t		 sent;
	char		 got[8];	/* what came back */
	size_t		 ngot;
};

struct health {
	struct server_loop	*sl;
	struct health_side	 side[2];
	struct event		*timer;
	int			 running;
	double			 began;
	health_answer_fn	*answer;
	void			*waiting[HEALTH_WAITERS];
	int			 nwaiting;
};

/* The check is over: close its sides, answer everyone waiting. */
static void
health_done(struct health *h, int ok, const char *why)
{
	char	 text[160];
	int	 i;

	for (i = 0; i < 2; i++) {
		if (h->side[i].ev != NULL)
			event_free(h->side[i].ev);
		h->side[i].ev = NULL;
		if (h->side[i].fd != -1)
			close(h->side[i].fd);
		h->side[i].fd = -1;
	}
	evtimer_del(h->timer);
	h->running = 0;
	if (ok)
		snprintf(text, sizeof text, "ok: a pair through the relay took "
		    "%.1f ms", (record_clock() - h->began) * 1000);
	else
		snprintf(text, sizeof text, "failing: %s", why);
	for (i = 0; i < h->nwaiting; i++)
		h->answer(h->waiting[i], ok ? 200 : 503, text);
	h->nwaiting = 0;
}

static void
health_side_cb(evutil_socket_t fd, short what, void *arg)
{
	struct health		*h = arg;
	struct health_side	*s = &h->side[h->side[0].fd == fd ? 0 : 1];
	ssize_t			 n;

	if ((what & EV_WRITE) && s->sent < strlen(s->line)) {
		n = send(fd, s->line + s->sent, strlen(s->line) - s->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			health_done(h, 0, strerror(errno));
			return;
		}
		if (n > 0 && (s->sent += (size_t)n) == strlen(s->line)) {
			event_del(s->ev);
			event_assign(s->ev, event_get_base(s->ev), fd,
			    EV_READ | EV_PERSIST, health_side_cb, h);
			event_add(s->ev, NULL);
		}
		return;
	}
	n = recv(fd, s->got + s->ngot, sizeof s->got - 1 - s->ngot, 0);
	if (n <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		health_done(h, 0, n == 0 ? "the relay closed the pair" :
		    strerror(errno));
		return;
	}
	s->ngot += (size_t)n;
	s->got[s->ngot] = '\0';
	if (strncmp(s->got, "ok\n", s->ngot < 3 ? s->ngot : 3) != 0) {
		health_done(h, 0, "the relay did not say ok");
		return;
	}
	if (strcmp(h->side[0].got, "ok\n") == 0 &&
	    strcmp(h->side[1].got, "ok\n") == 0)
		health_done(h, 1, NULL);
}

static void
health_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_done(arg, 0, "no pair within 5 s");
}

/* Connect side i with token. Returns 0, or -1 with errno. */
static int
health_connect(struct health *h, int i, const char *token)
{
	struct health_side	*s = &h->side[i];
	const struct acceptor	*a = &h->sl->acc;
	socklen_t		 melen = sizeof s->me;

	memset(s, 0, sizeof *s);
	s->fd = -1;
	snprintf(s->line, sizeof s->line, "please relay %s for side %s\n",
	    token, i == 0 ? "healthchecksidea" : "healthchecksideb");
	if ((s->fd = socket(a->local.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(s->fd, (const struct sockaddr *)&a->local, a->locallen) ==
	    -1 && errno != EINPROGRESS)
		return (-1);
	if (getsockname(s->fd, (struct sockaddr *)&s->me, &melen) == -1)
		return (-1);
	if ((s->ev = event_new(h->sl->srv.base, s->fd, EV_WRITE | EV_PERSIST,
	    health_side_cb, h)) == NULL || event_add(s->ev, NULL) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* Start a check. */
static void
health_start(struct health *h)
{
	struct timeval	 tv = { HEALTH_TIMEOUT_S, 0 };
	unsigned char	 rnd[32];
	char		 token[65];
	int		 i;

	h->running = 1;
	h->began = record_clock();
	h->side[0].fd = h->side[1].fd = -1;
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		health_done(h, 0, "no random token");
		return;
	}
	for (i = 0; i < 32; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	for (i = 0; i < 2; i++)
		if (health_connect(h, i, token) == -1) {
			health_done(h, 0, errno == EMFILE || errno == ENFILE ?
			    "out of file descriptors" : strerror(errno));
			return;
		}
	if (evtimer_add(h->timer, &tv) == -1)
		health_done(h, 0, "cannot set a timer");
}

void
health_ask(struct health *h, void *req)
{
	struct server_loop	*sl = h->sl;

	if (sl->stopping) {
		h->answer(req, 503, "draining: not taking connections");
		return;
	}
	if (sl->acc.starved != 0 && time(NULL) - sl->acc.starved <
	    HEALTH_STARVED_S) {
		h->answer(req, 503, "out of file descriptors");
		return;
	}
	if (sl->acc.local.ss_family == 0) {
		h->answer(req, 200, "ok: serving (no plain TCP listener "
		    "to pair through)");
		return;
	}
	if (h->nwaiting == HEALTH_WAITERS) {
		h->answer(req, 503, "busy: too many checks at once");
		return;
	}
	h->waiting[h->nwaiting++] = req;
	if (!h->running)
		health_start(h);
}

/* Whether a and b are the same address and port. */
static int
health_same(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const struct sockaddr_in *)a,
					*b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6	*a6 = (const struct sockaddr_in6 *)a,
					*b6 = (const struct sockaddr_in6 *)b;

	if (a->sa_family != b->ss_family)
		return (0);
	if (a->sa_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	return (a->sa_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	    IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr));
}

int
health_own(void *arg, const struct sockaddr *sa)
{
	struct health	*h = arg;

	return (h->running && (health_same(sa, &h->side[0].me) ||
	    health_same(sa, &h->side[1].me)));
}

struct health *
health_new(struct server_loop *sl, health_answer_fn *answer)
{
	struct health	*h;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return (NULL);
	h->sl = sl;
	h->answer = answer;
	h->side[0].fd = h->side[1].fd = -1;
	if ((h->timer = evtimer_new(sl->srv.base, health_timer_cb,
	    h)) == NULL) {
		free(h);
		return (NULL);
	}
	sl->acc.own = health_own;
	sl->acc.own_arg = h;
	return (h);
}

void
health_free(struct health *h)
{
	if (h == NULL)
		return;
	if (h->running)
		health_done(h, 0, "stopping");
	h->sl->acc.own = NULL;
	event_free(h->timer);
	free(h);
}
