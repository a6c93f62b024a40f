/*
 * t-deadline — the watcher shuts down sockets past their deadline, and only
 * those: a socket with no deadline, a removed one and one whose deadline
 * moved later stay open.
 */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "tap.h"
#include "util.h"

/* Waits up to ms for the peer of fd to see end-of-stream: 1 yes, 0 no. */
static int eof_within(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;

	if (poll(&p, 1, ms) != 1)
		return 0;
	return read(fd, &c, 1) == 0;
}

int main(void)
{
	struct deadlines *d = deadlines_new();
	struct deadline *a, *b, *c, *later;
	int sa[2], sb[2], sc[2], sl[2];
	uint64_t t0;

	ok(d != NULL, "watcher starts");
	if (!d)
		return done_testing();
	socketpair(AF_UNIX, SOCK_STREAM, 0, sa);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sb);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sc);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sl);
	a = deadline_add(d, sa[0]);
	b = deadline_add(d, sb[0]);
	c = deadline_add(d, sc[0]);
	later = deadline_add(d, sl[0]);
	deadline_set(d, later, 50ULL * 1000000);
	deadline_set(d, later, 5000ULL * 1000000); /* moved later */
	deadline_set(d, b, 0);			   /* none */
	deadline_set(d, c, 100ULL * 1000000);
	deadline_remove(d, c); /* no longer tracked */
	t0 = now_ns();
	deadline_set(d, a, 200ULL * 1000000);
	ok(eof_within(sa[1], 2000), "a socket past its deadline is shut down");
	is_int((now_ns() - t0) / 100000000 >= 1, 1,
	       "not before its deadline (%llu ms)",
	       (unsigned long long)((now_ns() - t0) / 1000000));
	ok(!eof_within(sb[1], 300), "a socket without a deadline stays open");
	ok(!eof_within(sc[1], 100), "a removed socket stays open");
	ok(!eof_within(sl[1], 100),
	   "a deadline moved later is not applied early");
	is_int(deadlines_cut(d), 1, "one socket cut");
	deadlines_free(d);
	ok(1, "watcher stops and frees what is still tracked");
	return done_testing();
}
