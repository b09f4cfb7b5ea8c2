/*
 * log.h: messages to stderr, one line each, prefixed "transitd: ", with
 * no timestamps (a supervisor's logger adds its own).
 */
#ifndef TRANSITD_LOG_H
#define TRANSITD_LOG_H

void	log_msg(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Route libevent's own warnings through log_msg. */
void	log_libevent_init(void);

#endif
