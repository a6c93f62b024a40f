/*
 * entry — a ledger entry as auditors see it: the JSON object of DESIGN.md
 * "HTTP API" and one CSV row. The API and the `thingca ledger` commands both
 * print entries through here, so the two never disagree.
 */
#ifndef THINGCA_ENTRY_H
#define THINGCA_ENTRY_H

#include <stdio.h>

#include <jansson.h>

#include "ledger_entry.h"

/* JSON object with seq, time, event, client, node, serial, thing_name,
 * certificate_id, ca_certificate_id, certificate_serial, spki_sha256,
 * not_before, not_after, reason, reissue, prev_hash, hash (null where the event
 * has no value). New reference, NULL on out-of-memory. */
json_t *entry_json(const struct ledger_entry *en);

/* The CSV header line (with "\n"), columns in entry_json's order. */
const char *entry_csv_header(void);

/* One CSV row (RFC 4180 quoting) for en, with "\n". 0 or -ERR_IO. */
int entry_csv_row(FILE *f, const struct ledger_entry *en);

#endif
