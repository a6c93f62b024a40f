#!/bin/sh
# Regenerates the CSR fixtures of t-csr and t-profile (see README). Run from
# this directory with the openssl 3.0 CLI; the keys are thrown away.
set -eu
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

req() { # req KEYFILE OUT [extra args]
	k=$1; o=$2; shift 2
	openssl req -new -key "$k" -subj "/CN=fixture-$o" -out "$o.csr" "$@"
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$t/p256.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$t/p384.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$t/k1.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1 -out "$t/bp.key"
for b in 1024 2048 3072 4096; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$b -out "$t/rsa$b.key"
done
openssl genpkey -algorithm ED25519 -out "$t/ed25519.key"
openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048 -out "$t/dsa.param"
openssl genpkey -paramfile "$t/dsa.param" -out "$t/dsa.key"

req "$t/p256.key" p256
req "$t/p384.key" p384
req "$t/rsa2048.key" rsa2048
req "$t/rsa3072.key" rsa3072
req "$t/rsa4096.key" rsa4096
req "$t/rsa1024.key" rsa1024
req "$t/dsa.key" dsa
req "$t/ed25519.key" ed25519
req "$t/k1.key" secp256k1
req "$t/bp.key" brainpool

# DER form of the P-256 request.
openssl req -in p256.csr -outform DER -out p256.der

# A request that asks for CA:TRUE, a SAN and its own subject: t-profile checks
# none of it reaches the certificate.
openssl req -new -key "$t/p256.key" -subj "/C=XX/O=Evil/CN=evil" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "subjectAltName=DNS:evil.example" \
	-addext "keyUsage=critical,keyCertSign" -out evil.csr

# Bad signature: the last byte of the DER is the last byte of the signature
# BIT STRING; flipping it keeps the encoding valid but breaks the signature.
openssl req -in rsa2048.csr -outform DER -out "$t/r.der"
python3 - "$t/r.der" "$t/bad.der" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[-1] ^= 0x01
open(sys.argv[2], 'wb').write(d)
PY
{ printf -- '-----BEGIN CERTIFICATE REQUEST-----\n'; base64 -w 64 "$t/bad.der"; printf -- '-----END CERTIFICATE REQUEST-----\n'; } > badsig.csr

# Hostile shapes.
head -c 300 p256.csr > truncated.csr
head -c 512 /dev/urandom | base64 > garbage.csr
cat p256.csr p384.csr > two.csr
{ cat p256.csr; echo 'trailing text'; } > trailing.csr
: > empty.csr
{ echo 'Some explanatory text (RFC 7468 2)'; cat p256.csr; printf '\n\n'; } > leading-text.csr
# A private key where a request is expected.
openssl pkey -in "$t/p256.key" -out privkey.pem
# DER with one byte appended after the request.
{ cat p256.der; printf '\0'; } > p256-trailing.der

# SPKI SHA-256 computed by the openssl CLI, for t-csr to compare against.
for f in p256 rsa2048; do
	openssl req -in $f.csr -pubkey -noout | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1 > $f.spki-sha256
done
