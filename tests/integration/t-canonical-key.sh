#!/bin/sh
# One key, one SubjectPublicKeyInfo, end to end (DESIGN.md "Device
# certificate profile"): the same key sent in another encoding a device may
# use (compressed or hybrid EC point, RSA without parameters) is the same
# key for public_key_reused, for a station's retry and for "a revoked key
# is never certified again", and its certificate carries the canonical
# encoding; encodings no key generator writes are 400 malformed_csr; RSA
# keys no generator makes (CA/B Forum BR 6.1.6) are 422
# key_type_not_allowed. Every refusal leaves the ledger as it was.
# Fixtures: tests/data/csr/enc-*.csr, weak-*.csr (README there).
. "$THINGCA_SRC/tests/integration/lib.sh"

D=$THINGCA_SRC/tests/data/csr
tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config
tca_start || { fail "thingcad starts"; done_testing; }
tca_import E-1 E-2 E-3 R-1 R-2 R-3 W-1 W-2 W-3 W-4 W-5 W-6 W-7 W-8 W-9 W-10 M-1

rows() { tca_sql "SELECT count(*) FROM ledger"; }
# request NAME SERIAL CSR STATUS [CODE]: one POST; the status (and error
# code) as expected.
request() {
	_st=$(tca_post /v1/certificates "$ST" "$(tca_json "$2" "$D/$3")")
	_code=$(jbody '.error // empty')
	if [ "$_st${5:+/$5}" = "$4${5:+/$5}" ] && [ "${5:-}" = "$_code" ]; then
		pass "$1: $4${5:+ $5}"
	else
		fail "$1" "$4${5:+ $5}" "$_st $_code"
		diag "body: $(head -c 300 "$T/body")"
	fi
}
# canon CSR: SHA-256 of the canonical SPKI of CSR's key, by the openssl CLI.
canon() {
	openssl req -in "$D/$1" -pubkey -noout 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
# certspki: the SubjectPublicKeyInfo of the last answer's certificate, hex
# (openssl keeps the point form it decoded).
certspki() {
	jbody .certificate | openssl x509 -noout -pubkey 2>/dev/null |
		openssl pkey -pubin -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n'
}
# --- EC: compressed first, then the canonical and hybrid forms of the key ---
EC=$(canon enc-p256.csr)
request "P-256 key with a compressed point" E-1 enc-p256-compressed.csr 201
ID_E1=$(jbody .certificate_id)
is "$(tca_sql "SELECT spki_sha256 FROM ledger WHERE serial = 'E-1'")" "$EC" \
	"ledger spki_sha256 is the canonical key's (openssl pkey -outform DER | sha256sum)"
want=$(openssl req -in "$D/enc-p256.csr" -pubkey -noout | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n')
is "$(certspki)" "$want" "the certificate's SubjectPublicKeyInfo is canonical (uncompressed point)"
like "$(certspki)" "^3059301306072a8648ce3d020106082a8648ce3d030107034200" "the point in the certificate starts 0x04"
request "the same key, canonical, for another serial" E-2 enc-p256.csr 409 public_key_reused
request "the same key, hybrid point, for another serial" E-2 enc-p256-hybrid.csr 409 public_key_reused
request "the station retries E-1 with the canonical form" E-1 enc-p256.csr 200
is "$(jbody .certificate_id)" "$ID_E1" "the retry answers the same certificate"
request "P-256 SPKI with a non-minimal length" E-3 enc-p256-longlen.csr 400 malformed_csr

# --- RSA: canonical first; the parameterless form is the same key ---------
request "RSA key, canonical" R-1 enc-rsa.csr 201
ID_R1=$(jbody .certificate_id)
request "the same RSA key without NULL parameters, another serial" R-2 enc-rsa-noparams.csr 409 public_key_reused
is "$(tca_sql "SELECT spki_sha256 FROM ledger WHERE serial = 'R-1'")" "$(canon enc-rsa.csr)" "RSA spki_sha256 canonical"
# Revoked, the serial may be issued again, but never for this key again.
st=$(tca_post "/v1/certificates/$ID_R1/revoke" "$AD" '{"reason": "keyCompromise", "reissue": true}')
is "$st/$(jbody .event)" "200/revoked" "R-1 revoked (reissue allowed)"
request "revoked RSA key re-encoded, its own serial" R-1 enc-rsa-noparams.csr 409 public_key_reused
like "$(jbody .message)" "revoked" "the message says the key was revoked"
request "revoked RSA key re-encoded, a new serial" R-3 enc-rsa-noparams.csr 409 public_key_reused
request "revoked RSA key canonical, a new serial" R-3 enc-rsa.csr 409 public_key_reused
st=$(tca_post "/v1/certificates/$ID_E1/revoke" "$AD" '{"reason": "keyCompromise", "reissue": true}')
is "$st" 200 "E-1 revoked (reissue allowed)"
request "revoked EC key, hybrid point, its own serial" E-1 enc-p256-hybrid.csr 409 public_key_reused
request "revoked EC key, canonical, a new serial" E-3 enc-p256.csr 409 public_key_reused

# --- encodings no generator writes: 400, nothing recorded -------------------
BEFORE=$(rows)
for f in enc-rsa-junkparams enc-rsa-bigparams enc-rsa-trailing enc-rsa-longint \
	enc-rsa-padded enc-rsa-longseq enc-p256-longlen; do
	request "$f" M-1 "$f.csr" 400 malformed_csr
done
is "$(rows)" "$BEFORE" "the ledger has no new row after the malformed keys"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial = 'M-1'")" 0 "M-1 has no entry"

# --- RSA keys no generator makes: 422, nothing recorded --------------------
BEFORE=$(rows)
n=0
for f in weak-rsa-e1 weak-rsa-e3 weak-rsa-e65535 weak-rsa-even weak-rsa-ebig \
	weak-rsa-prime weak-rsa-square weak-rsa-factor3 weak-rsa-factor751; do
	n=$((n + 1))
	request "$f" "W-$n" "$f.csr" 422 key_type_not_allowed
	like "$(jbody .message)" "BR 6.1.6" "$f: the message cites CA/B Forum BR 6.1.6"
done
is "$(rows)" "$BEFORE" "the ledger has no new row after the weak RSA keys"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial LIKE 'W-%'")" 0 "no W- serial has an entry"
request "RSA e = 2^256-1, the largest exponent allowed" W-10 rsa-emax.csr 201

tca_stop
done_testing
