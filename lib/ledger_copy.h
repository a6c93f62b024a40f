/*
 * ledger_copy — `thingca ledger copy`: a whole ledger, entries exactly as
 * stored and the serial allowlist, into an empty database or a new SQLite
 * file, between backends or files; both sides verified to the same head.
 */
#ifndef THINGCA_LEDGER_COPY_H
#define THINGCA_LEDGER_COPY_H

#include <stdint.h>

#include "err.h"

struct ledger_copy_result {
	int64_t entries;  /* copied */
	int64_t serials;  /* allowlisted serials copied */
	int64_t head_seq; /* the head both sides verify to */
	char head_hash[65];
};

/* Copies the ledger at from (a path or a postgresql:// URI, opened
 * read-only) into to: a path that must not exist (made 0600, removed
 * again when the copy fails), or the URI of a database holding no ledger
 * entries and no serials (its schema is created). One transaction on the
 * destination; the source chain is checked entry by entry while copying;
 * then both are verified in full and must end at the same head. 0 with
 * *res filled; -ERR_IO for a destination that exists or is not empty
 * (nothing written), -ERR_LEDGER_CORRUPT for a source chain that does not
 * verify, -ERR_LEDGER_UNAVAILABLE, -ERR_CONFIG_INVALID (a URI holding a
 * password). e says which. */
int ledger_copy(const char *from, const char *to,
		struct ledger_copy_result *res, struct errd *e);

#endif
