/*
 * issue — the issuance rules 3 to 7 of DESIGN.md "HTTP API", shared by the
 * JSON API and EST: serial rules, allowlist and revocation, CSR and key
 * policy, public-key reuse, one certificate per serial with idempotent
 * retries, and "no certificate leaves without its ledger entry committed".
 *
 * The expensive work (CSR verification, CA signature) runs in the calling
 * thread, in parallel; the ledger's single writer then re-checks the rules
 * inside its transaction, so two racing requests for one serial end with
 * exactly one certificate: the loser gets the winner's certificate when its
 * key is the same (a retry), 409 serial_already_issued otherwise, and its own
 * freshly signed certificate is thrown away unseen.
 */
#ifndef THINGCA_ISSUE_H
#define THINGCA_ISSUE_H

#include <stddef.h>

#include "ca.h"
#include "config.h"
#include "csr.h"
#include "err.h"
#include "ledger.h"
#include "profile.h"

struct issuer {
	const struct config *cfg;
	struct ca *ca;
	struct profile *profile;
	struct ledger *ledger;
};

/* The outcome: the ledger's `issued` entry (with DER) and whether it is new. */
struct issue_result {
	int created; /* 1: new (201); 0: a retry (200) */
	struct ledger_entry entry;
	char thing_name[THING_NAME_MAX + 1];
};

/* Frees what res holds (NULL is a no-op). */
void issue_result_clear(struct issue_result *res);

/* Rule 3: serial pattern and ThingName rules, allowlist, revocation block.
 * Fills thing_name[THING_NAME_MAX + 1]. 0 or the documented error. */
int issue_check_serial(struct issuer *is, const char *serial, char *thing_name,
		       struct errd *e);

/* Rules 3 to 7 for a parsed CSR (its signature already checked) of a serial
 * that passed profile_check_serial: one ledger read answers the allowlist,
 * revocation, key reuse and existing-certificate rules, the key type is
 * judged in its place between them, then sign, record, answer. 0 with
 * *res. */
int issue_with_csr(struct issuer *is, const char *client, const char *serial,
		   const char *thing_name, const struct csr *csr,
		   struct issue_result *res, struct errd *e);

/* The whole of rules 3 to 7 for a PEM CSR (POST /v1/certificates). */
int issue_pem(struct issuer *is, const char *client, const char *serial,
	      const char *csr_pem, size_t csr_len, struct issue_result *res,
	      struct errd *e);

/* PEM of a DER certificate (malloc'd). NULL on failure. */
char *issue_der_to_pem(const unsigned char *der, size_t len);

#endif
