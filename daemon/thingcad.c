/*
 * thingcad — the thingca service: loads the configuration, the CA and the
 * ledger, serves the HTTP API, and talks to systemd (notify, watchdog,
 * socket activation, reload, stop). Everything it does lives in lib/; this
 * file wires it together and owns the process: signals, exit status.
 *
 * Signals are blocked in every thread (before any thread starts) and taken
 * synchronously by the main thread with sigtimedwait, which also wakes it
 * for the watchdog, STATUS= and the ledger anchor line.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "util.h"

/* How long SIGTERM waits for requests in flight before stopping anyway: a
 * request is bounded by connection_timeout_s plus one signature and commit. */
#define SHUTDOWN_GRACE_S 30
/* STATUS= refresh period when nothing else wakes the main loop. */
#define STATUS_PERIOD_S 10

static void usage(FILE *f)
{
	fprintf(f,
		"usage: thingcad [-c FILE] [-v]\n"
		"  -c, --config FILE  configuration (default %s)\n"
		"  -v, --verbose      debug log lines\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n"
		"Runs in the foreground; SIGHUP reloads clients, SIGTERM "
		"stops after requests in flight.\n",
		CONFIG_DEFAULT_PATH);
}

static void log_head(struct ledger *l, const char *when)
{
	int64_t seq = 0;
	char hash[65] = "";
	struct errd e = {0};

	if (ledger_head(l, &seq, hash, &e) == 0)
		/* SEQ:HASH, as `thingca ledger head` prints it and `ledger
		 * verify --head` takes it */
		log_msg(LOG_NOTICE, "ledger head at %s: %lld:%s", when,
			(long long)seq, hash);
	else
		log_msg(LOG_ERR, "ledger head at %s unavailable: %s", when,
			e.msg);
}

/* Under socket activation only systemd's sockets are served: say so for
 * each "listen" entry that no inherited socket stands for, instead of
 * leaving it out silently. */
static void warn_unserved(const struct config *cfg,
			  const struct http_server *srv)
{
	size_t i, j, n = http_listener_count(srv);

	for (i = 0; i < cfg->n_listen; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(cfg->listen[i].address,
				   http_listener_name(srv, j)) == 0)
				break;
		if (j == n)
			log_msg(LOG_WARNING,
				"listen[%zu] %s: not served: under socket "
				"activation thingcad serves only the sockets "
				"systemd passes, and none has this address "
				"(add ListenStream=%s to thingcad.socket, or "
				"remove the entry)",
				i, cfg->listen[i].address,
				cfg->listen[i].address);
	}
}

/* STATUS= for systemctl status: cheap counts only (the head is one indexed
 * row; counting unissued serials walks the allowlist, so that figure is in
 * /metrics, computed on demand). */
static void notify_status(struct api *a)
{
	int64_t seq = 0;
	char hash[65];

	ledger_head(a->issuer.ledger, &seq, hash, NULL);
	sd_notifyf(0,
		   "STATUS=issued %llu, refused %llu since start; ledger head "
		   "seq %lld",
		   (unsigned long long)metrics_issued_total(a->metrics),
		   (unsigned long long)metrics_refused_total(a->metrics),
		   (long long)seq);
}

/* SIGHUP: new clients table from the file, or keep the old one. */
static void reload(struct api *a, const char *path)
{
	struct config *nc = NULL;
	struct errd e = {0};

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)(now_ns() / 1000));
	if (config_load(path, &nc, &e) < 0) {
		log_msg(LOG_ERR,
			"reload refused, the running configuration stays: %s",
			e.msg);
	} else if (auth_swap(a->auth, nc->clients, nc->n_clients) < 0) {
		log_msg(LOG_ERR, "reload failed: out of memory");
	} else {
		log_msg(LOG_NOTICE, "reloaded %zu clients from %s",
			nc->n_clients, path);
	}
	config_free(nc);
	sd_notify(0, "READY=1");
	notify_status(a);
}

/* Watchdog: ping only when the serving path works: the ledger writer answers
 * a no-op transaction (a wedged writer blocks here and the ping never comes),
 * and requests in flight keep completing. */
static int healthy(struct api *a, struct http_server *srv,
		   uint64_t *last_completed, time_t *last_progress,
		   unsigned stall_s)
{
	uint64_t done = http_completed(srv);
	time_t now = time(NULL);

	if (ledger_ping(a->issuer.ledger, NULL) < 0)
		return 0;
	if (done != *last_completed || http_inflight(srv) == 0) {
		*last_completed = done;
		*last_progress = now;
		return 1;
	}
	return now - *last_progress < (time_t)stall_s;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct config *cfg = NULL;
	struct api a = {0};
	struct http_server *srv = NULL;
	struct http_opts ho = {0};
	struct errd e = {0};
	sigset_t sigs;
	int fds[64], nfds = 0, opt, verbose = 0, status = 1, i;
	uint64_t wd_usec = 0, last_completed = 0;
	time_t last_progress = time(NULL), next_anchor = 0, next_status = 0;
	unsigned stall_s;

	while ((opt = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("thingcad %s\n", THINGCA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Before any thread exists, so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_init(verbose);

	if (config_load(path, &cfg, &e) < 0) {
		log_msg(LOG_ERR, "configuration: %s", e.msg);
		goto out;
	}
	a.issuer.cfg = cfg;
	if (!cfg->profile.subject_given)
		log_msg(LOG_WARNING,
			"%s has no profile.subject: device "
			"certificates get the built-in DEMO subject C=JP, "
			"ST=Tokyo, L=Tokyo, O=MyOrg, OU=device; set "
			"profile.subject to your organisation's RDNs "
			"(docs/configuration.md)",
			path);
	if (ca_open(&cfg->ca, &a.issuer.ca, &e) < 0) {
		log_msg(LOG_ERR, "CA: %s", e.msg);
		goto out;
	}
	if (profile_new(&cfg->profile, &a.issuer.profile, &e) < 0) {
		log_msg(LOG_ERR, "profile: %s", e.msg);
		goto out;
	}
	if (ledger_open(cfg->ledger, 0, &a.issuer.ledger, &e) < 0 ||
	    ledger_set_node(a.issuer.ledger, cfg->node, &e) < 0) {
		log_msg(LOG_ERR, "ledger %s: %s", cfg->ledger, e.msg);
		goto out;
	}
	a.auth = auth_new(cfg->clients, cfg->n_clients);
	a.metrics = metrics_new();
	a.crl = crl_cache_new(cfg->crl.next_update_hours);
	if (!a.auth || !a.metrics || !a.crl) {
		log_msg(LOG_ERR, "out of memory");
		goto out;
	}
	nfds = sd_listen_fds(1);
	if (nfds < 0) {
		log_msg(LOG_ERR, "socket activation: %s", strerror(-nfds));
		goto out;
	}
	if (nfds > (int)(sizeof(fds) / sizeof(fds[0])))
		nfds = (int)(sizeof(fds) / sizeof(fds[0]));
	for (i = 0; i < nfds; i++)
		fds[i] = SD_LISTEN_FDS_START + i;
	ho.max_body_bytes = cfg->limits.max_body_bytes;
	ho.max_connections = cfg->limits.max_connections;
	ho.connection_timeout_s = cfg->limits.connection_timeout_s;
	if (http_start(cfg->listen, cfg->n_listen, fds, (size_t)nfds, &ho,
		       api_handle, &a, &srv, &e) < 0) {
		log_msg(LOG_ERR, "%s", e.msg);
		goto out;
	}
	for (i = 0; i < (int)http_listener_count(srv); i++)
		log_msg(LOG_NOTICE, "serving on %s%s",
			http_listener_name(srv, (size_t)i),
			nfds ? " (from systemd)" : "");
	if (nfds && cfg->listen_given)
		warn_unserved(cfg, srv);
	log_msg(LOG_NOTICE,
		"thingcad %s ready: CA %ld days to expiry, %zu clients",
		THINGCA_VERSION, ca_days_left(a.issuer.ca), auth_count(a.auth));
	log_head(a.issuer.ledger, "start");
	sd_notify(0, "READY=1");
	notify_status(&a);

	if (sd_watchdog_enabled(0, &wd_usec) <= 0)
		wd_usec = 0;
	stall_s = 2 * cfg->limits.connection_timeout_s;
	if (stall_s < 60)
		stall_s = 60;
	if (cfg->ledger_anchor_interval_s > 0)
		next_anchor = time(NULL) + cfg->ledger_anchor_interval_s;
	next_status = time(NULL) + STATUS_PERIOD_S;

	for (;;) {
		struct timespec ts;
		uint64_t wait_us = STATUS_PERIOD_S * 1000000ULL;
		time_t now;
		int sig;

		if (wd_usec && wd_usec / 2 < wait_us)
			wait_us = wd_usec / 2;
		if (next_anchor) {
			time_t left = next_anchor - time(NULL);
			uint64_t a_us =
			    left > 0 ? (uint64_t)left * 1000000 : 1000;

			if (a_us < wait_us)
				wait_us = a_us;
		}
		ts.tv_sec = (time_t)(wait_us / 1000000);
		ts.tv_nsec = (long)(wait_us % 1000000) * 1000;
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			reload(&a, path);
		now = time(NULL);
		if (wd_usec &&
		    healthy(&a, srv, &last_completed, &last_progress, stall_s))
			sd_notify(0, "WATCHDOG=1");
		if (now >= next_status) {
			notify_status(&a);
			next_status = now + STATUS_PERIOD_S;
		}
		if (next_anchor && now >= next_anchor) {
			log_head(a.issuer.ledger, "anchor");
			next_anchor = now + cfg->ledger_anchor_interval_s;
		}
	}

	sd_notify(0, "STOPPING=1\nSTATUS=finishing requests in flight");
	log_msg(LOG_NOTICE, "stopping: finishing %u requests in flight",
		http_inflight(srv));
	http_quiesce(srv);
	for (i = 0; i < SHUTDOWN_GRACE_S * 20 && http_inflight(srv) > 0; i++)
		usleep(50 * 1000);
	if (http_inflight(srv) > 0)
		log_msg(LOG_WARNING, "stopping with %u requests unfinished",
			http_inflight(srv));
	http_stop(srv);
	srv = NULL;
	log_head(a.issuer.ledger, "stop");
	status = 0;
out:
	http_stop(srv);
	metrics_free(a.metrics); /* joins its thread, which reads the ledger */
	ledger_close(a.issuer.ledger);
	crl_cache_free(a.crl);
	auth_free(a.auth);
	profile_free(a.issuer.profile);
	ca_free(a.issuer.ca);
	config_free(cfg);
	return status;
}
