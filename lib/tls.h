/*
 * tls — what thingca needs from GnuTLS, the TLS library libmicrohttpd is
 * built with on Debian: the files of an HTTPS listener (server certificate,
 * key, client CA) read and checked before the listener starts, the priority
 * string that keeps TLS to 1.2 and 1.3 without anonymous or NULL suites, and
 * a connection's client certificate. Only this module and http.c include
 * GnuTLS or libmicrohttpd headers; http.c hands the session over as void *.
 */
#ifndef THINGCA_TLS_H
#define THINGCA_TLS_H

#include <stddef.h>

#include "config.h"
#include "err.h"

/* GnuTLS priority string of every HTTPS listener: TLS 1.3 and 1.2 only;
 * no anonymous key exchange, no NULL cipher, no static-RSA key exchange
 * (forward secrecy for every session), no SHA-1 or CBC suites beyond
 * what NORMAL already drops; the server's order wins. */
#define TLS_PRIORITIES                                                         \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-ANON-DH:-ANON-ECDH:"      \
	"-RSA:-NULL:%SERVER_PRECEDENCE"

/* A PEM file we load for a listener: a few certificates at most. */
#define TLS_FILE_MAX ((size_t)256 * 1024)

/* The PEM texts of one HTTPS listener (NUL-terminated, malloc'd). */
struct tls_files {
	char *cert; /* server certificate (+ chain) */
	char *key;  /* its private key (0600) */
	size_t key_len;
	char *client_ca; /* NULL: no client certificates asked for */
};

/* Reads and checks l's tls files: the key not readable by group or
 * others, the certificate and key parse and match (GnuTLS), the client CA
 * parses. 0 with *f filled, or -ERR_CONFIG_INVALID / -ERR_IO /
 * -ERR_CA_INVALID naming the file and what is wrong. */
int tls_files_load(const struct listen_cfg *l, struct tls_files *f,
		   struct errd *e);

/* Frees what f holds (the key zeroed); NULL is a no-op. */
void tls_files_clear(struct tls_files *f);

/* A connection's client certificate, as far as TLS tells. */
struct tls_peer {
	const unsigned char *der; /* leaf certificate, lent from the
				     session; NULL when none was sent */
	size_t der_len;
	int verified;  /* 1: chains to the listener's
			  client_ca and is valid now */
	char why[160]; /* when not verified: why */
};

/* Fills *p from a gnutls_session_t (passed as void *; NULL gives "no
 * certificate"). Never fails: a failure shows as der NULL or verified 0. */
void tls_peer_get(void *session, struct tls_peer *p);

#endif
