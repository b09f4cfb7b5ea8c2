/*
 * log.c: one line per message on stderr, written with a single write(2)
 * so that lines from a busy server never interleave.
 */
#include <event2/event.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void
log_msg(const char *fmt, ...)
{
	char	 line[1024];
	va_list	 ap;
	int	 n;

	n = snprintf(line, sizeof line, "transitd: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	n = (int)strcspn(line, "\n");
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) == -1) {
		/* Nowhere left to say it. */
	}
}

static void
log_libevent_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_msg("libevent: %s", msg);
}

void
log_libevent_init(void)
{
	event_set_log_callback(log_libevent_cb);
}
