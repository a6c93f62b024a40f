/*
 * log — journal or stderr, decided once at start (see log.h).
 *
 * The journal is used when $JOURNAL_STREAM names the device:inode of our
 * stderr, which is how systemd tells a service its stderr is the journal;
 * sd_journal_send then carries the THINGCA_* fields that make
 * `journalctl THINGCA_SERIAL=...` work.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

static int use_journal;
static int log_verbose;

/* JOURNAL_STREAM is "<device>:<inode>" of stderr (systemd.exec(5)).
 * 0 or -1 when it is not two numbers. */
static int journal_stream(const char *js, unsigned long long *dev,
			  unsigned long long *ino)
{
	char *end;

	errno = 0;
	*dev = strtoull(js, &end, 10);
	if (end == js || *end != ':' || errno)
		return -1;
	js = end + 1;
	*ino = strtoull(js, &end, 10);
	if (end == js || errno)
		return -1;
	return 0;
}

void log_init(int verbose)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_verbose = verbose;
	use_journal = 0;
	if (js && journal_stream(js, &dev, &ino) == 0 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		use_journal = 1;
}

int log_to_journal(void)
{
	return use_journal;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void stderr_line(int prio, const char *text)
{
	char ts[21];

	time_rfc3339(time(NULL), ts);
	fprintf(stderr, "%s thingcad[%d]: %s: %s\n", ts, (int)getpid(),
		prio_name(prio), text);
}

void log_msg(int prio, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (prio == LOG_DEBUG && !log_verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (use_journal)
		sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", prio,
				"SYSLOG_IDENTIFIER=thingcad", NULL);
	else
		stderr_line(prio, buf);
}

/* Copies s into out[n] with control and non-ASCII bytes as '?': a request's
 * fields come from the network and must not forge log lines. */
static const char *clean(const char *s, char *out, size_t n)
{
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; s[i] && i + 1 < n; i++) {
		out[i] = s[i];
		if (s[i] < 0x20 || s[i] > 0x7e)
			out[i] = '?';
	}
	out[i] = '\0';
	return out;
}

void log_request(const struct log_request *req)
{
	struct log_request c = *req, *r = &c;
	char path[256], client[128], serial[80], msg[600];
	char buf[1400];
	int prio;

	c.path = clean(req->path, path, sizeof(path));
	c.client = clean(req->client, client, sizeof(client));
	c.serial = clean(req->serial, serial, sizeof(serial));
	c.message = clean(req->message, msg, sizeof(msg));
	prio = r->status >= 500	  ? LOG_ERR
	       : r->status >= 400 ? LOG_WARNING
				  : LOG_INFO;

	snprintf(buf, sizeof(buf),
		 "%s %s %d client=%s serial=%s cert_id=%s error=%s peer=%s "
		 "%.1fms%s%s",
		 r->method ? r->method : "-", r->path ? r->path : "-",
		 r->status, r->client ? r->client : "-",
		 r->serial ? r->serial : "-", r->cert_id ? r->cert_id : "-",
		 r->error ? r->error : "-", r->peer ? r->peer : "-", r->ms,
		 r->message ? ": " : "", r->message ? r->message : "");
	if (!use_journal) {
		stderr_line(prio, buf);
		return;
	}
	sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", prio,
			"SYSLOG_IDENTIFIER=thingcad", "THINGCA_STATUS=%d",
			r->status, "THINGCA_CLIENT=%s",
			r->client ? r->client : "", "THINGCA_SERIAL=%s",
			r->serial ? r->serial : "", "THINGCA_CERT_ID=%s",
			r->cert_id ? r->cert_id : "", "THINGCA_ERROR=%s",
			r->error ? r->error : "", NULL);
}
