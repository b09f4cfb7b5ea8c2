/*
 * admit.c: the table of sources (admit.h): chained buckets of entries,
 * each freed once it has no connection and no bytes of today left.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "guard.h"

#define ADMIT_BUCKETS	16384	/* a power of two */

struct admit_src {
	uint64_t		 key;
	uint32_t		 conns;		/* open */
	uint32_t		 waiting;	/* of them, waiters */
	uint64_t		 bytes;		/* relayed on day */
	int64_t			 day;
	struct admit_src	*next;
};

struct admit {
	pthread_mutex_t		 lock;
	const struct limits	*lim;
	uint8_t			 secret[32];	/* the hash's key */
	uint64_t		 n;
	struct admit_src	*bucket[ADMIT_BUCKETS];
};

struct admit *
admit_new(const struct limits *l)
{
	struct admit	*a;

	if (l->max_per_ip == 0 && l->max_waiting_per_ip == 0 &&
	    l->daily_bytes_per_ip == 0)
		return (NULL);
	if ((a = calloc(1, sizeof *a)) == NULL)
		return (NULL);
	if (RAND_bytes(a->secret, sizeof a->secret) != 1) {
		free(a);
		return (NULL);
	}
	pthread_mutex_init(&a->lock, NULL);
	a->lim = l;
	return (a);
}

void
admit_free(struct admit *a)
{
	struct admit_src	*s;
	size_t			 i;

	if (a == NULL)
		return;
	for (i = 0; i < ADMIT_BUCKETS; i++)
		while ((s = a->bucket[i]) != NULL) {
			a->bucket[i] = s->next;
			free(s);
		}
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a->secret, sizeof a->secret);
	free(a);
}

/* The keyed hash of sa's source (never 0), or 0. */
static uint64_t
admit_key(struct admit *a, const struct sockaddr *sa)
{
	uint8_t		 src[GUARD_SOURCE_LEN], md[EVP_MAX_MD_SIZE];
	unsigned	 mdlen = 0;
	uint64_t	 k;

	if (guard_source(sa, a->lim->ipv6_prefix, src) == -1 ||
	    HMAC(EVP_sha256(), a->secret, sizeof a->secret, src, sizeof src,
	    md, &mdlen) == NULL || mdlen < sizeof k)
		return (0);
	memcpy(&k, md, sizeof k);
	explicit_bzero(src, sizeof src);
	return (k != 0 ? k : 1);
}

/* The entry of key (made when make), or NULL. Under the lock. */
static struct admit_src *
admit_find(struct admit *a, uint64_t key, int make)
{
	struct admit_src	**sp = &a->bucket[key & (ADMIT_BUCKETS - 1)];
	struct admit_src	*s;

	for (s = *sp; s != NULL; s = s->next)
		if (s->key == key)
			return (s);
	if (!make || a->n >= ADMIT_MAX_SOURCES ||
	    (s = calloc(1, sizeof *s)) == NULL)
		return (NULL);
	s->key = key;
	s->next = *sp;
	*sp = s;
	a->n++;
	return (s);
}

/* Free s if nothing of it is left (bytes of an old day are not). */
static void
admit_tidy(struct admit *a, struct admit_src *s, int64_t day)
{
	struct admit_src	**sp = &a->bucket[s->key & (ADMIT_BUCKETS - 1)];

	if (s->conns > 0 || s->waiting > 0 || (s->bytes > 0 && s->day >=
	    day))
		return;
	while (*sp != s)
		sp = &(*sp)->next;
	*sp = s->next;
	free(s);
	a->n--;
}

int
admit_accept(struct admit *a, const struct limits *l,
    const struct sockaddr *sa, uint64_t open, uint64_t *src)
{
	struct admit_src	*s;
	int			 cause = 0;

	*src = 0;
	if (guard_trusted(l, sa))
		return (0);
	if (l->max_connections > 0 && open >= l->max_connections)
		return (CAUSE_MAX_CONNECTIONS);
	if (a == NULL || (*src = admit_key(a, sa)) == 0)
		return (0);
	pthread_mutex_lock(&a->lock);
	if ((s = admit_find(a, *src, 1)) == NULL)
		*src = 0;	/* the table is full: not limited */
	else if (l->max_per_ip > 0 && s->conns >= l->max_per_ip)
		cause = CAUSE_PER_IP;
	else if (l->max_waiting_per_ip > 0 &&
	    s->waiting >= l->max_waiting_per_ip)
		cause = CAUSE_WAITING_PER_IP;
	else
		s->conns++;
	if (cause != 0) {
		admit_tidy(a, s, s->day);
		*src = 0;
	}
	pthread_mutex_unlock(&a->lock);
	return (cause);
}

void
admit_release(struct admit *a, uint64_t src, int64_t day)
{
	struct admit_src	*s;

	if (a == NULL || src == 0)
		return;
	pthread_mutex_lock(&a->lock);
	if ((s = admit_find(a, src, 0)) != NULL && s->conns > 0) {
		s->conns--;
		admit_tidy(a, s, day);
	}
	pthread_mutex_unlock(&a->lock);
}

int
admit_wait(struct admit *a, uint64_t src, int delta)
{
	struct admit_src	*s;
	int			 r = 0;

	if (a == NULL || src == 0)
		return (0);
	pthread_mutex_lock(&a->lock);
	if ((s = admit_find(a, src, 0)) != NULL) {
		if (delta < 0 && s->waiting > 0)
			s->waiting--;
		else if (delta > 0 && a->lim->max_waiting_per_ip > 0 &&
		    s->waiting >= a->lim->max_waiting_per_ip)
			r = -1;
		else if (delta > 0)
			s->waiting++;
	}
	pthread_mutex_unlock(&a->lock);
	return (r);
}

void
admit_charge(struct admit *a, uint64_t src, uint64_t n, int64_t day)
{
	struct admit_src	*s;

	if (a == NULL || src == 0 || a->lim->daily_bytes_per_ip == 0)
		return;
	pthread_mutex_lock(&a->lock);
	if ((s = admit_find(a, src, 0)) != NULL) {
		if (s->day != day) {
			s->day = day;
			s->bytes = 0;
		}
		s->bytes += n;
	}
	pthread_mutex_unlock(&a->lock);
}

int
admit_over_budget(struct admit *a, uint64_t src, int64_t day)
{
	struct admit_src	*s;
	int			 over = 0;

	if (a == NULL || src == 0 || a->lim->daily_bytes_per_ip == 0)
		return (0);
	pthread_mutex_lock(&a->lock);
	if ((s = admit_find(a, src, 0)) != NULL)
		over = s->day == day && s->bytes >= a->lim->daily_bytes_per_ip;
	pthread_mutex_unlock(&a->lock);
	return (over);
}

void
admit_sweep(struct admit *a, int64_t day)
{
	struct admit_src	*s, *next;
	size_t			 i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < ADMIT_BUCKETS; i++)
		for (s = a->bucket[i]; s != NULL; s = next) {
			next = s->next;
			admit_tidy(a, s, day);
		}
	pthread_mutex_unlock(&a->lock);
}

uint64_t
admit_sources(struct admit *a)
{
	uint64_t	 n;

	if (a == NULL)
		return (0);
	pthread_mutex_lock(&a->lock);
	n = a->n;
	pthread_mutex_unlock(&a->lock);
	return (n);
}
