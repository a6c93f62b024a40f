/*
 * profile — the device certificate profile (DESIGN.md "Device certificate
 * profile"): which serials are acceptable, the ThingName they map to, and the
 * certificate the CA builds for them. The CA decides everything; the CSR
 * contributes only its public key.
 */
#ifndef THINGCA_PROFILE_H
#define THINGCA_PROFILE_H

#include <stddef.h>
#include <openssl/x509.h>

#include "ca.h"
#include "config.h"
#include "err.h"
#include "thing.h"
#include "x509.h"

/* RFC 5280 ub-serial-number (X520SerialNumber) is 64; THING_NAME_MAX,
 * ub-common-name, is thing.h's. */
#define SERIAL_MAX 64

struct profile;

/* Compiles serial_pattern and checks the thing_name template. 0, or
 * -ERR_CONFIG_INVALID naming the key. The cfg must outlive the profile. */
int profile_new(const struct profile_cfg *cfg, struct profile **out,
		struct errd *e);

/* NULL is a no-op. */
void profile_free(struct profile *p);

/* Checks a device serial: matches serial_pattern, printable (no NUL or
 * control bytes), PrintableString alphabet and <= 64 chars when
 * subject_serial_number is on, and the ThingName it yields matches AWS's
 * [a-zA-Z0-9:_-]+ and is <= 64 chars. Writes the ThingName into
 * thing_name[THING_NAME_MAX + 1]. 0 or -ERR_SERIAL_INVALID saying which rule.
 */
int profile_check_serial(const struct profile *p, const char *serial,
			 char *thing_name, struct errd *e);

/* As profile_check_serial for len bytes that may hold a NUL (a JSON string
 * can): an embedded NUL is refused like any control byte. */
int profile_check_serial_n(const struct profile *p, const char *serial,
			   size_t len, char *thing_name, struct errd *e);

/* The configuration the profile was made from (lent: valid as long as the
 * profile). */
const struct profile_cfg *profile_get0_cfg(const struct profile *p);

/* A device certificate as profile_issue_der makes it. */
struct profile_cert {
	unsigned char *der; /* malloc'd */
	size_t der_len;
	char serial_hex[2 * X509_SERIAL_BYTES + 1]; /* lowercase */
	time_t not_before, not_after;
};

/* Frees c->der and zeroes c. */
void profile_cert_clear(struct profile_cert *c);

/* Builds the device certificate for serial / thing_name / key and signs it
 * with the CA: subject = configured RDNs, serialNumber (PrintableString),
 * CN (UTF8String); 16 random serial octets, positive; validity now -
 * backdate to + validity_days clamped to the CA's validity; exactly the
 * five extensions; key's SubjectPublicKeyInfo (csr_get0_key: the key's
 * canonical DER, spki.h) copied byte for byte. The DER
 * is written directly: in OpenSSL 3.0 building it as an X509 object cost
 * more than the signature (docs/performance.md). serial and thing_name
 * must have passed profile_check_serial. 0 with *out filled (clear it),
 * -ERR_SIGNER_UNAVAILABLE, -ERR_CA_INVALID (CA expired) or -ERR_INTERNAL. */
int profile_issue_der(const struct profile *p, struct ca *ca,
		      const char *serial, const char *thing_name,
		      const struct spki_ref *key, struct profile_cert *out,
		      struct errd *e);

/* The same certificate for a public key given as an EVP_PKEY (encoded
 * canonically, spki_of_pkey), parsed back into an X509 (caller frees): for
 * tests and tools, not the request path. */
int profile_issue(const struct profile *p, struct ca *ca, const char *serial,
		  const char *thing_name, EVP_PKEY *pub, X509 **out,
		  struct errd *e);

#endif
