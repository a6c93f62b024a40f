/*
 * entry — JSON and CSV forms of a ledger entry (see entry.h).
 */
#include <string.h>

#include "entry.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *entry_json(const struct ledger_entry *en)
{
	json_t *o = json_object();
	const char *ev = ledger_event_name(en->event);

	if (!o)
		return NULL;
	json_object_set_new(o, "seq", json_integer(en->seq));
	json_object_set_new(o, "time", str_or_null(en->time));
	json_object_set_new(o, "event", str_or_null(ev));
	json_object_set_new(o, "client", str_or_null(en->client));
	json_object_set_new(o, "node", str_or_null(en->node));
	json_object_set_new(o, "serial", str_or_null(en->serial));
	json_object_set_new(o, "thing_name", str_or_null(en->thing_name));
	json_object_set_new(o, "certificate_id",
			    str_or_null(en->certificate_id));
	json_object_set_new(o, "ca_certificate_id",
			    str_or_null(en->ca_certificate_id));
	json_object_set_new(o, "certificate_serial",
			    str_or_null(en->certificate_serial));
	json_object_set_new(o, "spki_sha256", str_or_null(en->spki_sha256));
	json_object_set_new(o, "not_before", str_or_null(en->not_before));
	json_object_set_new(o, "not_after", str_or_null(en->not_after));
	json_object_set_new(o, "reason", str_or_null(en->reason));
	json_object_set_new(o, "reissue",
			    en->reissue < 0 ? json_null()
					    : json_boolean(en->reissue));
	json_object_set_new(o, "prev_hash", json_string(en->prev_hash));
	json_object_set_new(o, "hash", json_string(en->hash));
	return o;
}

const char *entry_csv_header(void)
{
	return "seq,time,event,client,node,serial,thing_name,certificate_id,"
	       "ca_certificate_id,certificate_serial,spki_sha256,not_before,"
	       "not_after,reason,reissue,prev_hash,hash\n";
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double quotes.
 * A field starting with = + - @ TAB or CR is prefixed with ' so that a
 * spreadsheet does not run it as a formula (OWASP, CSV injection): a serial
 * or a client name may start with '-', and a serial_pattern may allow more. */
static void csv_field(FILE *f, const char *s, int last)
{
	const char *p;

	if (s) {
		int quote = strpbrk(s, ",\"\r\n") != NULL;

		if (quote)
			fputc('"', f);
		if (s[0] && strchr("=+-@\t\r", s[0]))
			fputc('\'', f);
		for (p = s; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		if (quote)
			fputc('"', f);
	}
	fputc(last ? '\n' : ',', f);
}

int entry_csv_row(FILE *f, const struct ledger_entry *en)
{
	char seq[24];

	snprintf(seq, sizeof(seq), "%lld", (long long)en->seq);
	csv_field(f, seq, 0);
	csv_field(f, en->time, 0);
	csv_field(f, ledger_event_name(en->event), 0);
	csv_field(f, en->client, 0);
	csv_field(f, en->node, 0);
	csv_field(f, en->serial, 0);
	csv_field(f, en->thing_name, 0);
	csv_field(f, en->certificate_id, 0);
	csv_field(f, en->ca_certificate_id, 0);
	csv_field(f, en->certificate_serial, 0);
	csv_field(f, en->spki_sha256, 0);
	csv_field(f, en->not_before, 0);
	csv_field(f, en->not_after, 0);
	csv_field(f, en->reason, 0);
	csv_field(f,
		  en->reissue < 0 ? NULL
		  : en->reissue	  ? "true"
				  : "false",
		  0);
	csv_field(f, en->prev_hash, 0);
	csv_field(f, en->hash, 1);
	return ferror(f) ? -ERR_IO : 0;
}
