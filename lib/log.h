/*
 * log — where thingcad's lines go: the journal with structured fields when
 * stderr is connected to it (systemd sets $JOURNAL_STREAM), plain lines on
 * stderr otherwise. One line per request outcome; never a secret: callers
 * pass client names, serials and certificate IDs, never tokens or keys.
 */
#ifndef THINGCA_LOG_H
#define THINGCA_LOG_H

#include <syslog.h>

/* Decides journal vs stderr once; verbose enables LOG_DEBUG lines. */
void log_init(int verbose);

/* A free-form line at priority prio (LOG_ERR, LOG_WARNING, LOG_INFO, ...). */
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One request outcome. Any field may be NULL. */
struct log_request {
	const char *method;
	const char *path;
	int status;
	const char *client;
	const char *serial;
	const char *cert_id;
	const char *error;   /* API error code */
	const char *message; /* for a person */
	const char *peer;
	double ms;
};
void log_request(const struct log_request *r);

/* 1 when logging to the journal. */
int log_to_journal(void);

#endif
