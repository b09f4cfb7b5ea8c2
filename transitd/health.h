/*
 * health.h: GET /health. 200 when the relay serves and a pair made
 * through its own matcher works: two connections from this host to its
 * first TCP listener (on loopback when it listens on every address), with a fresh random token, must both get "ok".
 * These two are the relay's own: not limited, not recorded. 503 while
 * draining, out of file descriptors, or when the pair fails.
 */
#ifndef TRANSITD_HEALTH_H
#define TRANSITD_HEALTH_H

struct server_loop;
struct sockaddr;
struct health;

#define HEALTH_TIMEOUT_S	5	/* for the pair to get its "ok"s */
#define HEALTH_STARVED_S	10	/* out of fds this recently: 503 */
#define HEALTH_WAITERS		32	/* requests awaiting one check */

/* Answer request req with an HTTP code and a line of text. */
typedef void	health_answer_fn(void *req, int code, const char *text);

struct health	*health_new(struct server_loop *, health_answer_fn *);
void		 health_free(struct health *);
/* Answer req once a check (started now, or running) is done. */
void		 health_ask(struct health *, void *req);
/* Whether sa is one of a running check's connections (acceptor.h). */
int		 health_own(void *health, const struct sockaddr *sa);

#endif
