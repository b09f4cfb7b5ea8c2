/*
 * test_handshake.c: handshake_parse() against the protocol spec
 * (Handshake). Every case is fed whole, byte by byte and split at every
 * point into two calls, and must give the same result each time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handshake.h"

#define H16	"0123456789abcdef"
#define H15	"0123456789abcde"
#define TOK	H16 H16 H16 H16
#define T63	H16 H16 H16 H15
#define TOKW	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
		"abcdefghijklmnopqrstuvwxyz0123456789__"
#define SIDE	H16
#define SIDEW	"Side_Of_The_Pair"
#define PR	"please relay "
#define FS	" for side "

/* A literal with its length, so that it may hold NUL bytes. */
#define L(s)	s, sizeof(s) - 1

#define GOOD	0

struct hcase {
	const char	*s;
	size_t		 n;
	int		 rv;		/* GOOD or HANDSHAKE_* */
	const char	*token;		/* GOOD: expected fields */
	const char	*side;
};

static const struct hcase good[] = {
	{ L(PR TOK "\n"), GOOD, TOK, NULL },
	{ L(PR TOKW "\n"), GOOD, TOKW, NULL },
	{ L(PR TOK FS SIDE "\n"), GOOD, TOK, SIDE },
	{ L(PR TOKW FS SIDEW "\n"), GOOD, TOKW, SIDEW },
	/* Bytes after the line are not the handshake's. */
	{ L(PR TOK "\nextra"), GOOD, TOK, NULL },
	{ L(PR TOK FS SIDE "\nhello\n"), GOOD, TOK, SIDE },
	{ L(PR TOK "\n" PR TOKW "\n"), GOOD, TOK, NULL },
};

static const struct hcase bad[] = {
	{ L("\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK "\r\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS SIDE "\r\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L("please  relay " TOK "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR " " TOK "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(" " PR TOK "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK " \n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK " for  side " SIDE "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS " " SIDE "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS SIDE " \n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK " for sid " SIDE "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK " " SIDE "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L("please relay\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR T63 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK "0\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS H15 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS H16 "0\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR "-" T63 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR "." T63 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR "\xff" T63 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR T63 "\xe9" "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR "\0" T63 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS "-" H15 "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS H15 "\x80" "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK FS H15 "\0" "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L("Please relay " TOK "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L("PLEASE RELAY " TOK "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L(PR TOK " FOR SIDE " SIDE "\n"), HANDSHAKE_BAD, NULL, NULL },
	{ L("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"), HANDSHAKE_BAD,
	    NULL, NULL },
	{ L("GET / HTTP/1.1\r\n"), HANDSHAKE_BAD, NULL, NULL },
	/* Not final before the newline. */
	{ L(PR TOK), HANDSHAKE_PARTIAL, NULL, NULL },
	{ L(PR TOK FS SIDE), HANDSHAKE_PARTIAL, NULL, NULL },
	{ L("\r"), HANDSHAKE_PARTIAL, NULL, NULL },
	{ L("\0\0\0"), HANDSHAKE_PARTIAL, NULL, NULL },
};

/* Stream bytes after which the result of s is known (n + 1: never). */
static size_t
decide_at(const char *s, size_t n, int rv)
{
	const char	*nl;

	if (rv == HANDSHAKE_TOOLONG)
		return (HANDSHAKE_MAX_LINE + 1);
	if ((nl = memchr(s, '\n', n)) == NULL)
		return (n + 1);
	return (nl - s + 1);
}

/* Feed s in a first call of first bytes, then calls of step bytes. */
static void
feed(const char *s, size_t n, int rv, const char *token, const char *side,
    size_t first, size_t step)
{
	struct handshake	 hs;
	size_t			 pos, k, decide;
	char			*b;
	int			 got, want;

	memset(&hs, 0, sizeof hs);
	decide = decide_at(s, n, rv);
	for (pos = 0; pos < n; pos += k) {
		k = pos == 0 ? first : step;
		if (k > n - pos)
			k = n - pos;
		/* An exact heap copy, so that ASan catches over-reads. */
		b = malloc(k);
		assert_non_null(b);
		memcpy(b, s + pos, k);
		got = handshake_parse(&hs, b, k);
		free(b);
		if (pos + k < decide)
			want = HANDSHAKE_PARTIAL;
		else if (rv != GOOD)
			want = rv;
		else if (pos < decide)
			want = (int)(decide - pos);
		else {
			/* After a good line nothing more is handshake. */
			if (got < 0)
				fail_msg("first %zu step %zu at %zu: got %d "
				    "after a good line", first, step, pos, got);
			continue;
		}
		if (got != want)
			fail_msg("first %zu step %zu at %zu len %zu: got %d, "
			    "want %d", first, step, pos, k, got, want);
	}
	if (rv == HANDSHAKE_BAD || rv == HANDSHAKE_TOOLONG) {
		assert_int_equal(handshake_parse(&hs, "x", 1), rv);
		assert_int_equal(handshake_parse(&hs, "\n", 1), rv);
		assert_int_equal(handshake_parse(&hs, PR TOK "\n",
		    sizeof(PR TOK "\n") - 1), rv);
	}
	if (rv == GOOD) {
		assert_true(handshake_parse(&hs, PR TOKW "\n",
		    sizeof(PR TOKW "\n") - 1) >= 0);
		assert_true(handshake_parse(&hs, "x", 1) >= 0);
		assert_string_equal(hs.token, token);
		assert_int_equal(hs.sided, side != NULL);
		assert_string_equal(hs.side, side != NULL ? side : "");
	}
}

/* Feed s whole, byte by byte and split at every point into two calls. */
static void
feed_all(const char *s, size_t n, int rv, const char *token,
    const char *side)
{
	size_t	 i;

	feed(s, n, rv, token, side, n, n);
	feed(s, n, rv, token, side, 1, 1);
	for (i = 1; i < n; i++)
		feed(s, n, rv, token, side, i, n);
}

/* Good lines give their length, token and side for any split. */
static void
test_good(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		feed_all(good[i].s, good[i].n, good[i].rv, good[i].token,
		    good[i].side);
}

/* Good lines consume only up to their newline when more follows. */
static void
test_good_trailing(void **state)
{
	struct handshake	 hs;
	const char		 s[] = PR TOK "\nextra";

	(void)state;
	memset(&hs, 0, sizeof hs);
	assert_int_equal(handshake_parse(&hs, s, sizeof s - 1),
	    (int)sizeof(PR TOK "\n") - 1);
	memset(&hs, 0, sizeof hs);
	assert_int_equal(handshake_parse(&hs, s, 10), HANDSHAKE_PARTIAL);
	assert_int_equal(handshake_parse(&hs, s + 10, sizeof s - 11),
	    (int)sizeof(PR TOK "\n") - 11);
	assert_string_equal(hs.token, TOK);
	assert_int_equal(hs.sided, 0);
}

/* Bad lines are HANDSHAKE_BAD once their newline arrives, not before. */
static void
test_bad(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		feed_all(bad[i].s, bad[i].n, bad[i].rv, NULL, NULL);
}

/* A line is too long past 1024 bytes, with or without its newline. */
static void
test_length(void **state)
{
	static char	 buf[HANDSHAKE_MAX_LINE + 16];
	static const struct {
		size_t	 len;	/* bytes before the newline */
		int	 nl;
		int	 rv;
	} t[] = {
		{ HANDSHAKE_MAX_LINE - 1, 1, HANDSHAKE_BAD },
		{ HANDSHAKE_MAX_LINE, 1, HANDSHAKE_BAD },
		{ HANDSHAKE_MAX_LINE + 1, 1, HANDSHAKE_TOOLONG },
		{ HANDSHAKE_MAX_LINE + 2, 1, HANDSHAKE_TOOLONG },
		{ HANDSHAKE_MAX_LINE, 0, HANDSHAKE_PARTIAL },
		{ HANDSHAKE_MAX_LINE + 1, 0, HANDSHAKE_TOOLONG },
		{ HANDSHAKE_MAX_LINE + 8, 0, HANDSHAKE_TOOLONG },
	};
	size_t		 i, n;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		/* A good start, so only the length makes it fail. */
		memset(buf, 'a', sizeof buf);
		memcpy(buf, PR, sizeof PR - 1);
		n = t[i].len;
		if (t[i].nl)
			buf[n++] = '\n';
		feed_all(buf, n, t[i].rv, NULL, NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_good_trailing),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_length),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
