/*
 * usage.h: usage records and the blur rules (protocol spec, Moods and
 * usage records, Blurring). Pure functions, no I/O.
 */
#ifndef TRANSITD_USAGE_H
#define TRANSITD_USAGE_H

#include <stddef.h>
#include <stdint.h>

/* One record per pair or per unpaired connection. */
struct usage_rec {
	double		 started;	/* epoch seconds of first acceptance */
	double		 total_time;	/* seconds from started to the end */
	double		 waiting_time;	/* seconds between acceptances */
	int		 has_waiting;	/* 0: waiting_time is null */
	uint64_t	 total_bytes;	/* both directions */
	const char	*mood;		/* static string: "happy", ... */
};

/* Round n up as the reference's blur_size() does; 0 stays 0. */
uint64_t	usage_blur_size(uint64_t n);
/* Blur started (down to a multiple of seconds) and total_bytes; 0: none. */
void		usage_blur(struct usage_rec *, unsigned long seconds);
/*
 * Format d as Python's repr() does for floats (shortest text that reads
 * back the same, always with a '.' or an exponent), into buf of len bytes.
 * Returns the length written, or -1 if it does not fit or d is not finite.
 */
int		usage_fmt_double(char *buf, size_t len, double d);

#endif
