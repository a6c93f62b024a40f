/*
 * issue — rules 3 to 7 of DESIGN.md "HTTP API", in that order.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "issue.h"
#include "util.h"
#include "x509.h"

void issue_result_clear(struct issue_result *res)
{
	if (!res)
		return;
	ledger_entry_clear(&res->entry);
	memset(res, 0, sizeof(*res));
}

int issue_check_serial(struct issuer *is, const char *serial, char *thing_name,
		       struct errd *e)
{
	int rc;

	rc = profile_check_serial(is->profile, serial, thing_name, e);
	if (rc)
		return rc;
	/* Allowlist and revocation block only: whether an existing
	 * certificate is a retry or a conflict needs the key (rule 6). */
	rc = ledger_check_issue(is->ledger, serial, NULL,
				is->cfg->require_allowlist,
				is->cfg->profile.unique_public_keys, NULL, e);
	if (rc == -ERR_SERIAL_ALREADY_ISSUED) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

/* A certificate this serial already has: the same key means a station
 * retrying after a lost answer (200, same body); another key is refused. */
static int existing_answer(struct ledger_entry *existing, const char *spki,
			   const char *thing_name, struct issue_result *res,
			   struct errd *e)
{
	if (existing->spki_sha256 && strcmp(existing->spki_sha256, spki) == 0) {
		res->created = 0;
		res->entry = *existing;
		memset(existing, 0, sizeof(*existing));
		snprintf(res->thing_name, sizeof(res->thing_name), "%s",
			 res->entry.thing_name ? res->entry.thing_name
					       : thing_name);
		err_clear(e);
		return 0;
	}
	return err_set(e, ERR_SERIAL_ALREADY_ISSUED,
		       "serial %s already has certificate %s for another key; "
		       "revoke it with reissue to issue again",
		       existing->serial ? existing->serial : "?",
		       existing->certificate_id ? existing->certificate_id
						: "?");
}

static int fill_entry(struct ledger_entry *en, struct profile_cert *c,
		      const char *client, const char *serial,
		      const char *thing_name, const char *spki,
		      const char *ca_id)
{
	char id[65], nb[21], na[21];

	sha256_hex(c->der, c->der_len, id);
	time_rfc3339(c->not_before, nb);
	time_rfc3339(c->not_after, na);
	en->event = LEDGER_ISSUED;
	en->client = strdup(client);
	en->serial = strdup(serial);
	en->thing_name = strdup(thing_name);
	en->certificate_id = strdup(id);
	/* Which issuing CA signed it: after a rotation an auditor lists what
	 * each CA covers (docs/jitp.md "Rotating an issuing CA"). */
	en->ca_certificate_id = strdup(ca_id);
	en->certificate_serial = strdup(c->serial_hex);
	en->spki_sha256 = strdup(spki);
	en->not_before = strdup(nb);
	en->not_after = strdup(na);
	en->reissue = -1;
	/* The ledger entry takes the DER over. */
	en->der = c->der;
	en->der_len = c->der_len;
	c->der = NULL;
	if (!en->client || !en->serial || !en->thing_name ||
	    !en->certificate_id || !en->ca_certificate_id ||
	    !en->certificate_serial || !en->spki_sha256 || !en->not_before ||
	    !en->not_after)
		return -ERR_NOMEM;
	return 0;
}

int issue_with_csr(struct issuer *is, const char *client, const char *serial,
		   const char *thing_name, const struct csr *csr,
		   struct issue_result *res, struct errd *e)
{
	const struct config *cfg = is->cfg;
	struct ledger_entry existing = {0};
	const char *spki = csr_spki_sha256(csr);
	struct errd le = {0};
	struct spki_ref key;
	struct profile_cert cert = {0};
	int rc, lrc;

	memset(res, 0, sizeof(*res));
	/* One look at the ledger, before signing, answers rules 3, 5 and 6
	 * (a retry costs no signature); the key type (rule 4) is judged
	 * between them so the documented order of errors holds. */
	lrc =
	    ledger_check_issue(is->ledger, serial, spki, cfg->require_allowlist,
			       cfg->profile.unique_public_keys, &existing, &le);
	if (lrc && lrc != -ERR_PUBLIC_KEY_REUSED &&
	    lrc != -ERR_SERIAL_ALREADY_ISSUED) {
		rc = lrc;
		if (e)
			*e = le;
		goto out;
	}
	rc = csr_check_key(csr, cfg->profile.key_types, e);
	if (rc)
		goto out;
	if (lrc == -ERR_SERIAL_ALREADY_ISSUED) {
		rc = existing_answer(&existing, spki, thing_name, res, e);
		goto out;
	}
	if (lrc) {
		rc = lrc;
		if (e)
			*e = le;
		goto out;
	}
	csr_get0_key(csr, &key);
	rc = profile_issue_der(is->profile, is->ca, serial, thing_name, &key,
			       &cert, e);
	if (rc)
		goto out;
	rc = fill_entry(&res->entry, &cert, client, serial, thing_name, spki,
			ca_certificate_id(is->ca));
	if (rc) {
		err_set(e, -rc, "cannot encode the certificate");
		goto out;
	}
	/* Rule 6/7: the writer re-checks in its transaction and commits before
	 * we answer; on failure the certificate is discarded unseen. */
	rc =
	    ledger_record_issue(is->ledger, &res->entry, cfg->require_allowlist,
				cfg->profile.unique_public_keys, &existing, e);
	if (rc == -ERR_SERIAL_ALREADY_ISSUED) {
		/* Lost a race: answer as for a retry, or refuse. */
		ledger_entry_clear(&res->entry);
		rc = existing_answer(&existing, spki, thing_name, res, e);
		goto out;
	}
	if (rc)
		goto out;
	res->created = 1;
	snprintf(res->thing_name, sizeof(res->thing_name), "%s", thing_name);
out:
	if (rc)
		issue_result_clear(res);
	ledger_entry_clear(&existing);
	profile_cert_clear(&cert);
	return rc;
}

int issue_pem(struct issuer *is, const char *client, const char *serial,
	      const char *csr_pem, size_t csr_len, struct issue_result *res,
	      struct errd *e)
{
	char thing_name[THING_NAME_MAX + 1];
	struct csr *csr = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = profile_check_serial(is->profile, serial, thing_name, e);
	if (rc)
		return rc;
	rc = csr_parse_pem(csr_pem, csr_len, &csr, e);
	if (rc) {
		/* Rule 3 before rule 4: a serial the ledger refuses is
		 * reported as such even when its CSR is broken too. (The
		 * ledger is read here only on this error path; a good CSR
		 * gets its one look in issue_with_csr.) */
		struct errd le = {0};
		int lrc = issue_check_serial(is, serial, thing_name, &le);

		if (lrc) {
			if (e)
				*e = le;
			return lrc;
		}
		return rc;
	}
	rc = issue_with_csr(is, client, serial, thing_name, csr, res, e);
	csr_free(csr);
	return rc;
}

/* PEM straight from the DER, without d2i_X509: in OpenSSL 3.0 parsing a
 * certificate also decodes its public key through the provider decoders,
 * which made this function 15% of thingcad's CPU under load (make bench,
 * docs/performance.md). The DER is our own signature's or the hash-chained
 * ledger's, so there is nothing to check here. */
char *issue_der_to_pem(const unsigned char *der, size_t len)
{
	BIO *b = NULL;
	char *out = NULL;

	if (!der || len == 0 || len > (size_t)LONG_MAX)
		goto out;
	b = BIO_new(BIO_s_mem());
	if (!b || PEM_write_bio(b, PEM_STRING_X509, "", der, (long)len) <= 0)
		goto out;
	out = x509_bio_strdup(b, NULL);
out:
	BIO_free(b);
	return out;
}
