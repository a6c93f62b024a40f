/*
 * deadline — cut off connections that trickle.
 *
 * libmicrohttpd's connection timeout counts idle time only: a client that
 * sends one header byte a second is never idle and holds its connection,
 * and its slot, for ever. Here every connection carries a deadline for the
 * part of the request it is in (headers, then body); one thread sleeps until
 * the earliest deadline and shuts the late sockets down (shutdown(2), not
 * close: the server still owns the descriptor and closes it when it sees
 * the end of the stream). With no deadline pending the thread waits on a
 * condition variable: an idle daemon does not wake.
 */
#ifndef THINGCA_DEADLINE_H
#define THINGCA_DEADLINE_H

#include <stdint.h>

struct deadlines;
struct deadline;

/* Starts the watcher thread. NULL on out-of-memory or thread failure. */
struct deadlines *deadlines_new(void);

/* Stops the thread and frees every entry still tracked (NULL: no-op). */
void deadlines_free(struct deadlines *d);

/* Tracks socket fd with no deadline yet. NULL on out-of-memory. */
struct deadline *deadline_add(struct deadlines *d, int fd);

/* Sets the entry's deadline to now + ns (0: none, e.g. while the handler
 * runs). */
void deadline_set(struct deadlines *d, struct deadline *t, uint64_t ns);

/* Stops tracking and frees t (NULL: no-op). Call before the descriptor is
 * closed, so a reused number is never shut down by mistake. */
void deadline_remove(struct deadlines *d, struct deadline *t);

/* Sockets shut down so far (for tests and logs). */
uint64_t deadlines_cut(struct deadlines *d);

#endif
