/*
 * usage.c: the blur rules for usage records and the float format of the
 * reference's JSON lines (protocol spec, Blurring, JSON log lines).
 */
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
 * Python's repr() prints the shortest text that reads back as the same
 * double, in fixed notation from 1e-4 up to 1e16 and with an exponent
 * elsewhere. No library here offers that, so try precisions in turn.
 */
int
usage_fmt_double(char *buf, size_t len, double d)
{
	char	 tmp[64];
	double	 a = fabs(d);
	int	 p, n = -1, fixed = (a == 0 || (a >= 1e-4 && a < 1e16));

	if (!isfinite(d))
		return (-1);
	for (p = fixed ? 0 : 1; p <= 17; p++) {
		n = snprintf(tmp, sizeof tmp, fixed ? "%.*f" : "%.*g", p, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (strspn(tmp, "-0123456789") == (size_t)n)
		n = snprintf(tmp + n, sizeof tmp - n, ".0") + n;
	if (n < 0 || (size_t)n >= len)
		return (-1);
	memcpy(buf, tmp, n + 1);
	return (n);
}
