/*
 * usage.c: the blur rules for usage records and the float format of the
 * reference's JSON lines (protocol spec, Blurring, JSON log lines).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"

/* Round n up to a multiple of step. */
static uint64_t
usage_round_up(uint64_t n, uint64_t step)
{
	return ((n + step - 1) / step * step);
}

uint64_t
usage_blur_size(uint64_t n)
{
	if (n == 0)
		return (0);
	if (n < 1000000)
		return (usage_round_up(n, 10000));
	if (n < 1000000000)
		return (usage_round_up(n, 1000000));
	return (usage_round_up(n, 100000000));
}

void
usage_blur(struct usage_rec *rec, unsigned long seconds)
{
	if (seconds == 0)
		return;
	rec->started = (double)seconds * floor(rec->started / seconds);
	rec->total_bytes = usage_blur_size(rec->total_bytes);
}

/*
 * Python's repr() prints the fewest significant digits that read back as
 * the same double, in fixed notation for exponents from -4 to 15 and in
 * scientific notation elsewhere. No library here offers that, so find the
 * digit count with %e, then lay the digits out as Python does.
 *
 * Any decimal of at most 15 digits that reads back as d is d rounded to
 * 15 digits with its zeros cut (the 15-digit grid is coarser than a
 * double's precision), so one %.14e gives every count up to 15; only 16
 * and 17 need a try each. Cheaper by far than trying 1, 2, ... 17: the
 * JSON lines format three doubles per record. Subnormals have fewer bits
 * than that, so they do try every count.
 */
int
usage_fmt_double(char *buf, size_t len, double d)
{
	char	 sci[64], out[400], *dig;
	int	 p, exp, n;

	if (!isfinite(d))
		return (-1);
	for (p = fabs(d) < DBL_MIN ? 1 : 15; p < 17; p++) {
		snprintf(sci, sizeof sci, "%.*e", p - 1, d);
		if (strtod(sci, NULL) == d)
			break;
	}
	if (p == 15 && fabs(d) >= DBL_MIN) {
		/* sci is [-]D.DDDDDDDDDDDDDDe...: drop the trailing zeros. */
		dig = sci + (sci[0] == '-') + 2;
		while (p > 1 && dig[p - 2] == '0')
			p--;
	}
	snprintf(sci, sizeof sci, "%.*e", p - 1, d);
	exp = atoi(strchr(sci, 'e') + 1);
	if (exp >= -4 && exp < 16) {
		n = snprintf(out, sizeof out, "%.*f", p - 1 - exp > 0 ?
		    p - 1 - exp : 0, d);
		if (strchr(out, '.') == NULL)
			n += snprintf(out + n, sizeof out - n, ".0");
	} else
		n = snprintf(out, sizeof out, "%s", sci);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	memcpy(buf, out, n + 1);
	return (n);
}
