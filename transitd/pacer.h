/*
 * pacer.h: what a loop's protections (pace.h) do at its connections'
 * turns; the connection layer (conn.h) calls these without knowing them.
 */
#ifndef TRANSITD_PACER_H
#define TRANSITD_PACER_H

struct conn;

struct conn_pacer {
	void	(*phase)(struct conn *, int old);	/* entered a phase */
	void	(*timer)(struct conn *);	/* open c's timer fired */
	void	(*detach)(struct conn *);	/* c leaves its loop */
	void	(*end)(struct conn *);		/* c is killed */
};

#endif
