/*
 * tls — GnuTLS for the HTTPS listeners (see tls.h).
 *
 * libmicrohttpd does the handshake with the key, certificate and trust list
 * we give it as PEM text. It asks for a client certificate only when it was
 * given a trust list (MHD_OPTION_HTTPS_MEM_TRUST) and never checks it: the
 * handshake succeeds with any certificate, or none. So the check happens
 * here, per request, against the same trust list (the session's
 * credentials): gnutls_certificate_verify_peers2 checks the chain, the
 * signatures and the validity period. The handshake itself already proved
 * that the client holds the certificate's key (TLS CertificateVerify).
 * Which client (or device) a certificate belongs to is auth.c's and est.c's
 * business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"
#include "util.h"

void tls_files_clear(struct tls_files *f)
{
	if (!f)
		return;
	free(f->cert);
	secret_free(f->key, f->key_len);
	free(f->client_ca);
	memset(f, 0, sizeof(*f));
}

/* Does the certificate match the key, and do both parse? */
static int check_pair(const struct tls_files *f, const struct listen_cfg *l,
		      struct errd *e)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t c, k;
	int r, rc = 0;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	c.data = (unsigned char *)f->cert;
	c.size = (unsigned)strlen(f->cert);
	k.data = (unsigned char *)f->key;
	k.size = (unsigned)f->key_len;
	r = gnutls_certificate_set_x509_key_mem(cred, &c, &k,
						GNUTLS_X509_FMT_PEM);
	if (r < 0)
		rc = err_set(e, ERR_CONFIG_INVALID,
			     "listen %s: tls.certificate %s and tls.key %s: %s",
			     l->address, l->tls_certificate, l->tls_key,
			     gnutls_strerror(r));
	if (rc == 0 && f->client_ca) {
		c.data = (unsigned char *)f->client_ca;
		c.size = (unsigned)strlen(f->client_ca);
		r = gnutls_certificate_set_x509_trust_mem(cred, &c,
							  GNUTLS_X509_FMT_PEM);
		if (r <= 0)
			rc = err_set(e, ERR_CONFIG_INVALID,
				     "listen %s: tls.client_ca %s: no PEM "
				     "certificate in it%s%s",
				     l->address, l->tls_client_ca,
				     r < 0 ? ": " : "",
				     r < 0 ? gnutls_strerror(r) : "");
	}
	gnutls_certificate_free_credentials(cred);
	return rc;
}

int tls_files_load(const struct listen_cfg *l, struct tls_files *f,
		   struct errd *e)
{
	size_t n;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = file_read(l->tls_certificate, TLS_FILE_MAX, &f->cert, &n, e);
	if (rc == 0)
		rc = file_read_secret(l->tls_key, TLS_FILE_MAX, &f->key,
				      &f->key_len, e);
	if (rc == 0 && l->tls_client_ca)
		rc = file_read(l->tls_client_ca, TLS_FILE_MAX, &f->client_ca,
			       &n, e);
	if (rc == 0)
		rc = check_pair(f, l, e);
	if (rc)
		tls_files_clear(f);
	return rc;
}

void tls_peer_get(void *session, struct tls_peer *p)
{
	gnutls_session_t s = session;
	const gnutls_datum_t *certs;
	unsigned int n = 0, status = 0;
	gnutls_datum_t out = {NULL, 0};
	int r;

	memset(p, 0, sizeof(*p));
	if (!s || gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0)
		return;
	p->der = certs[0].data;
	p->der_len = certs[0].size;
	r = gnutls_certificate_verify_peers2(s, &status);
	if (r < 0) {
		snprintf(p->why, sizeof(p->why), "%s", gnutls_strerror(r));
		return;
	}
	if (status == 0) {
		p->verified = 1;
		return;
	}
	if (gnutls_certificate_verification_status_print(
		status, GNUTLS_CRT_X509, &out, 0) == 0 &&
	    out.data) {
		snprintf(p->why, sizeof(p->why), "%s", (char *)out.data);
		gnutls_free(out.data);
	} else {
		snprintf(p->why, sizeof(p->why), "verification status 0x%x",
			 status);
	}
}
