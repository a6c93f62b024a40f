/*
 * deadline — a list of tracked sockets and one thread that shuts down those
 * past their deadline (see deadline.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "deadline.h"
#include "util.h"

struct deadline {
	struct deadline *prev, *next;
	int fd;
	uint64_t at_ns; /* CLOCK_MONOTONIC; 0: none */
};

struct deadlines {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct deadline *head;
	int stopping;
	uint64_t cut;
	uint64_t wake_at; /* when the watcher wakes; 0: not planned */
};

static void *watch(void *arg)
{
	struct deadlines *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		uint64_t now = now_ns(), next = 0;
		struct deadline *t;

		for (t = d->head; t; t = t->next) {
			if (!t->at_ns)
				continue;
			if (t->at_ns <= now) {
				/* The server sees EOF/EPIPE and closes it. */
				shutdown(t->fd, SHUT_RDWR);
				t->at_ns = 0;
				d->cut++;
			} else if (!next || t->at_ns < next) {
				next = t->at_ns;
			}
		}
		d->wake_at = next;
		if (!next) {
			pthread_cond_wait(&d->cv, &d->mu);
		} else {
			/* now_ns is CLOCK_MONOTONIC; so is the condvar. */
			struct timespec ts = {(time_t)(next / 1000000000ULL),
					      (long)(next % 1000000000ULL)};

			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

struct deadlines *deadlines_new(void)
{
	struct deadlines *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	if (!d)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->thread, NULL, watch, d) != 0) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return NULL;
	}
	return d;
}

void deadlines_free(struct deadlines *d)
{
	struct deadline *t, *n;

	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stopping = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	for (t = d->head; t; t = n) {
		n = t->next;
		free(t);
	}
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

struct deadline *deadline_add(struct deadlines *d, int fd)
{
	struct deadline *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fd = fd;
	pthread_mutex_lock(&d->mu);
	t->next = d->head;
	if (d->head)
		d->head->prev = t;
	d->head = t;
	pthread_mutex_unlock(&d->mu);
	return t;
}

void deadline_set(struct deadlines *d, struct deadline *t, uint64_t ns)
{
	if (!t)
		return;
	pthread_mutex_lock(&d->mu);
	t->at_ns = ns ? now_ns() + ns : 0;
	/* Wake the watcher only when it must wake earlier than planned:
	 * deadlines are now + a fixed timeout, so that is rare under load. */
	if (ns && (!d->wake_at || t->at_ns < d->wake_at)) {
		d->wake_at = t->at_ns;
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

void deadline_remove(struct deadlines *d, struct deadline *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&d->mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		d->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&d->mu);
	free(t);
}

uint64_t deadlines_cut(struct deadlines *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->mu);
	n = d->cut;
	pthread_mutex_unlock(&d->mu);
	return n;
}
