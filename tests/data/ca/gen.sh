#!/bin/sh
# Regenerates the CA fixtures of t-ca and t-profile (see README). Run from this
# directory with the openssl 3.0 CLI. Test keys only: never use them.
set -eu
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# v3 extensions of a CA and of a leaf.
cat > "$t/ext.cnf" <<'CNF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[noku]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
[noski]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = none
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
CNF

selfsigned() { # selfsigned KEY OUT SUBJECT SECTION
	openssl req -new -x509 -key "$1" -subj "$3" -days 7300 \
		-config "$t/ext.cnf" -extensions "$4" -out "$2"
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca-p256.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ca-p384.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca-rsa2048.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out inter.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key

selfsigned ca-p256.key ca-p256.pem "/C=JP/O=thingca test/CN=Test P-256 CA" ca
selfsigned ca-p384.key ca-p384.pem "/C=JP/O=thingca test/CN=Test P-384 CA" ca
selfsigned ca-rsa2048.key ca-rsa2048.pem "/C=JP/O=thingca test/CN=Test RSA CA" ca
# CA:TRUE but no keyCertSign.
selfsigned ca-p256.key noku.pem "/CN=Test CA without keyCertSign" noku
# No subjectKeyIdentifier (RFC 5280 4.2.1.2 requires it in CA certificates).
selfsigned ca-p256.key noski.pem "/CN=Test CA without SKI" noski
# A leaf (CA:FALSE) with its own key.
selfsigned leaf.key leaf.pem "/CN=Test leaf" leaf

# An intermediate signed by the P-256 root, and a chain file that repeats the
# intermediate and the root: ca_open must keep intermediate + root once each.
openssl req -new -key inter.key -subj "/C=JP/O=thingca test/CN=Test Intermediate" \
	-out "$t/inter.csr"
openssl x509 -req -in "$t/inter.csr" -CA ca-p256.pem -CAkey ca-p256.key \
	-set_serial 0x1001 -days 7300 -extfile "$t/ext.cnf" -extensions ca \
	-out inter.pem
cat inter.pem ca-p256.pem ca-p256.pem > chain-dups.pem

# PKCS#8-encrypted copy of ca-p256.key; passphrase in passphrase.txt (with
# the trailing newline an editor would leave).
printf 'correct horse battery staple\n' > passphrase.txt
printf 'wrong passphrase\n' > wrong-passphrase.txt
openssl pkcs8 -topk8 -v2 aes-256-cbc -in ca-p256.key \
	-passout file:passphrase.txt -out ca-p256-enc.key

# Expired and not-yet-valid CAs: openssl 3.0's `x509` cannot set dates, so
# `openssl ca -selfsign` with -startdate/-enddate (key ca-p256.key).
mkdir "$t/db"
: > "$t/db/index.txt"
cat > "$t/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $t/db/index.txt
new_certs_dir = $t/db
serial = $t/db/serial
default_md = sha256
policy = p
x509_extensions = x
unique_subject = no
[p]
commonName = supplied
[x]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
CNF
echo 01 > "$t/db/serial"
openssl req -new -key ca-p256.key -subj "/CN=Test expired CA" -out "$t/exp.csr"
openssl ca -batch -config "$t/ca.cnf" -selfsign -keyfile ca-p256.key \
	-in "$t/exp.csr" -startdate 20200101000000Z -enddate 20210101000000Z \
	-notext -out expired.pem
openssl req -new -key ca-p256.key -subj "/CN=Test future CA" -out "$t/fut.csr"
openssl ca -batch -config "$t/ca.cnf" -selfsign -keyfile ca-p256.key \
	-in "$t/fut.csr" -startdate 20990101000000Z -enddate 21000101000000Z \
	-notext -out notyet.pem

chmod 600 ./*.key
