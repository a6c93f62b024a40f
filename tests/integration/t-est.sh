#!/bin/sh
# EST (RFC 7030) with strongSwan's client: `pki --estca` fetches the CA
# chain, `pki --est` enrols devices over HTTPS with HTTP Basic (station name
# and token) and re-enrols them with their current certificate
# (simplereenroll); curl covers the rest (station client certificates,
# errors, labels). Every EST issuance is a ledger entry exactly like one of
# POST /v1/certificates.
. "$THINGCA_SRC/tests/integration/lib.sh"

command -v pki >/dev/null || skip_all "strongSwan pki missing (strongswan-pki)"

# pki prints plugin noise on stderr; keep it out of the TAP stream.
PKI() { pki "$@" 2>> "$T/pki.err"; }

# pki_csr NAME DN: $T/NAME.key and $T/NAME.csr made by strongSwan's pki;
# strongSwan spells the subject serialNumber "serialNumber=" ("SN=" is
# surname, as in OpenSSL).
pki_csr() {
	PKI --gen --type ecdsa --size 256 --outform pem > "$T/$1.key" &&
	PKI --req --type priv --in "$T/$1.key" --dn "$2" --outform pem > "$T/$1.csr"
}
# est_b64 CSRFILE: the base64 DER body of simpleenroll.
est_b64() { openssl req -in "$1" -outform DER | base64; }
# p7_cert FILE: the first certificate of a base64 PKCS#7 answer, as PEM.
p7_cert() { base64 -d "$1" | openssl pkcs7 -inform DER -print_certs 2>/dev/null | sed -n '/BEGIN/,/END/p'; }
id_of() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

tca_ca ec:P-256
"$BIN/thingca" ca server-cert --ip 127.0.0.1 --dns localhost \
	--ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/server.pem" --out-key "$T/server.key" > /dev/null ||
	fail "ca server-cert"
# A station CA and a station certificate for client-certificate enrolment.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/stca.key" -out "$T/stca.pem" -subj "/CN=station CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n' > "$T/client.ext"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/st2.key" \
	-subj "/CN=line1-station2" -out "$T/st2.csr" 2>/dev/null
openssl x509 -req -in "$T/st2.csr" -CA "$T/stca.pem" -CAkey "$T/stca.key" -CAcreateserial \
	-days 30 -extfile "$T/client.ext" -out "$T/st2.pem" 2>/dev/null
cat "$T/ca.pem" "$T/stca.pem" > "$T/client-ca.pem"

ST=$(tca_token line1-station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
cat > "$T/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0",
    {"address": "127.0.0.1:0", "tls": {"certificate": "$T/server.pem", "key": "$T/server.key", "client_ca": "$T/client-ca.pem"}}],
  "ledger": "$T/ledger.db",
  "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"},
  "clients": [$(paste -sd, "$T/clients.entries"),
    {"name": "line1-station2", "role": "station", "ca": "$T/stca.pem", "cn": "line1-station2"}]
}
JSON
# est_start: tca_start, then S and E for the HTTPS listener.
est_start() {
	tca_start || return 1
	P1=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | sed -n 2p)
	S="https://127.0.0.1:$P1"
	E="$S/.well-known/est"
}
est_start || { fail "thingcad starts"; done_testing; }
pass "thingcad starts with an HTTPS listener"
tca_import SN-0001 SN-0002 SN-0003 SN-0004 SN-0005 SN-0006 SN-0007

# hs URL [CURL ARGS]: HTTPS request, prints the status; body in $T/body.
hs() {
	_u=$1
	shift
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 30 --cacert "$T/ca.pem" "$@" "$_u"
}
# enroll OP BODYFILE [CURL ARGS]: POST an EST request.
enroll() {
	_op=$1 _b=$2
	shift 2
	hs "$E/$_op" -H 'Content-Type: application/pkcs10' --data-binary @"$_b" "$@"
}
body() { cat "$T/body"; }
log_has() { grep -c -- "$1" "$T/daemon.log"; }

# --- cacerts ---
PKI --estca --url "$S" --cacert "$T/ca.pem" --caout "$T/estca.pem" --outform pem
is "$?" 0 "pki --estca fetches the CA chain"
is "$(openssl x509 -in "$T/estca.pem" -noout -fingerprint 2>&1)" "$(openssl x509 -in "$T/ca.pem" -noout -fingerprint)" "it is the issuing CA"
is "$(hs "$E/cacerts")" 200 "GET cacerts without authentication"
like "$(grep -i '^content-type' "$T/headers")" "application/pkcs7-mime" "cacerts is application/pkcs7-mime"
is "$(p7_cert "$T/body" | openssl x509 -noout -fingerprint)" "$(openssl x509 -in "$T/ca.pem" -noout -fingerprint)" "cacerts is a base64 certs-only PKCS#7 of the chain"
is "$(hs "$E/csrattrs")" 204 "csrattrs: 204, no attributes required"
is "$(hs "$E/cacerts" -X POST)" 405 "cacerts is GET only"
is "$(hs "$E/serverkeygen" -X POST)" 404 "serverkeygen is not offered"
like "$(body)" "^not_found: .*serverkeygen" "and the reason names the thingca error code"

# --- simpleenroll with pki and HTTP Basic ---
pki_csr dev1 "C=JP, O=Line, serialNumber=SN-0001, CN=dev1"
like "$(openssl req -in "$T/dev1.csr" -noout -subject)" "serialNumber = SN-0001" "pki --req puts serialNumber into the CSR subject"
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1.csr" --userpass "line1-station1:$ST" \
	--outform pem > "$T/dev1.pem"
is "$?" 0 "pki --est enrols a device with HTTP Basic (station name and token)"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/dev1.pem" 2>&1)" "$T/dev1.pem: OK" "the EST certificate verifies with openssl"
is "$(openssl x509 -in "$T/dev1.pem" -noout -subject -nameopt RFC2253)" \
	"subject=CN=SN-0001,serialNumber=SN-0001,OU=device,O=MyOrg,L=Tokyo,ST=Tokyo,C=JP" \
	"profile subject, serial from the CSR's serialNumber (CSR's other RDNs ignored)"
id1=$(id_of "$T/dev1.pem")
is "$(tca_sql "SELECT event, client, serial, thing_name, certificate_id FROM ledger WHERE certificate_id='$id1'")" \
	"issued|line1-station1|SN-0001|SN-0001|$id1" "ledger entry as for POST /v1/certificates (event, client, serial, ID)"
is "$(openssl x509 -in "$T/dev1.pem" -pubkey -noout)" "$(openssl pkey -in "$T/dev1.key" -pubout)" "certified key is the CSR's"

PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1.csr" --userpass "line1-station1:$ST" \
	--outform pem > "$T/dev1-retry.pem"
is "$?" 0 "retry with the same CSR succeeds"
is "$(id_of "$T/dev1-retry.pem")" "$id1" "retry returns the same certificate"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-0001' AND event='issued'")" 1 "retry adds no ledger entry"

pki_csr dev1x "C=JP, O=Line, serialNumber=SN-0001, CN=dev1"
: > "$T/pki.err"
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1x.csr" --userpass "line1-station1:$ST" \
	--outform pem > "$T/dev1x.pem"
is "$?" 1 "a second enrolment of SN-0001 with another key: pki exits 1"
like "$(cat "$T/pki.err")" "EST request failed: HTTP 409" "pki reports HTTP 409"
is "$(log_has 'POST /.well-known/est/simpleenroll 409 client=line1-station1 serial=SN-0001 .*error=serial_already_issued')" 1 "the daemon logs 409 serial_already_issued"
est_b64 "$T/dev1x.csr" > "$T/dev1x.b64"
is "$(enroll simpleenroll "$T/dev1x.b64" -u "line1-station1:$ST")" 409 "same refusal with curl"
like "$(body)" "^serial_already_issued: serial SN-0001 already has certificate" "plain-text reason names the thingca error code"

# --- authentication ---
pki_csr dev2 "C=JP, serialNumber=SN-0002, CN=dev2"
est_b64 "$T/dev2.csr" > "$T/dev2.b64"
is "$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/pkcs10' \
	--data-binary @"$T/dev2.b64" -u "line1-station1:$ST" "$URL/.well-known/est/simpleenroll")" 401 \
	"HTTP Basic over plain HTTP is refused (401)"
like "$(body)" "^unauthorized: HTTP Basic credentials are refused over plain HTTP" "and says why"
is "$(enroll simpleenroll "$T/dev2.b64" -u "line1-station1:wrong")" 401 "a wrong token is refused"
like "$(grep -i '^www-authenticate' "$T/headers")" "Basic realm" "401 over TLS asks for Basic credentials"
is "$(enroll simpleenroll "$T/dev2.b64" -u "audit:$ST")" 401 "a token under another client's name is refused"
is "$(enroll simpleenroll "$T/dev2.b64" -u "audit:$AU")" 403 "an auditor may not enrol (403)"
is "$(enroll simpleenroll "$T/dev2.b64")" 401 "no credentials: 401"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-0002'")" 0 "refusals leave no ledger entry"

# --- simpleenroll with a station client certificate ---
is "$(enroll simpleenroll "$T/dev2.b64" --cert "$T/st2.pem" --key "$T/st2.key")" 200 "a station client certificate enrols (curl --cert)"
like "$(grep -i '^content-type' "$T/headers")" "application/pkcs7-mime; smime-type=certs-only" "answer is a certs-only PKCS#7"
p7_cert "$T/body" > "$T/dev2.pem"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/dev2.pem" 2>&1)" "$T/dev2.pem: OK" "it holds the issued certificate"
is "$(tca_sql "SELECT client, serial FROM ledger WHERE serial='SN-0002' AND event='issued'")" "line1-station2|SN-0002" "ledger names the certificate's station"

# --- labels, request errors ---
pki_csr dev3 "C=JP, serialNumber=SN-0003, CN=dev3"
est_b64 "$T/dev3.csr" | tr -d '\n' | fold -w 50 | sed 's/$/\r/' > "$T/dev3.b64"
is "$(enroll line-1/simpleenroll "$T/dev3.b64" -u "line1-station1:$ST" -H 'Content-Transfer-Encoding: 7bit')" 200 \
	"a label selects the default profile; CRLF line breaks and Content-Transfer-Encoding are tolerated (RFC 8951)"
is "$(hs "$E/bad_label/cacerts")" 404 "a label outside [A-Za-z0-9-] is 404"
pki_csr nosn "C=JP, CN=SN-0004"
est_b64 "$T/nosn.csr" > "$T/nosn.b64"
is "$(enroll simpleenroll "$T/nosn.b64" -u "line1-station1:$ST")" 400 "a CSR without serialNumber is 400"
like "$(body)" "^serial_invalid: the CSR subject has no serialNumber" "and says where the serial is read"
printf 'not base64!!' > "$T/junk.b64"
is "$(enroll simpleenroll "$T/junk.b64" -u "line1-station1:$ST")" 400 "a body that is not base64 is 400"
printf 'aGVsbG8gd29ybGQ=' > "$T/junk.b64"
is "$(enroll simpleenroll "$T/junk.b64" -u "line1-station1:$ST")/$(body | cut -d: -f1)" 400/malformed_csr "base64 that is no CSR is 400 malformed_csr"
is "$(hs "$E/simpleenroll" -H 'Content-Type: application/json' --data-binary @"$T/dev2.b64" -u "line1-station1:$ST")" 415 \
	"another media type is 415"
pki_csr unk "C=JP, serialNumber=SN-9999, CN=x"
est_b64 "$T/unk.csr" > "$T/unk.b64"
is "$(enroll simpleenroll "$T/unk.b64" -u "line1-station1:$ST")/$(body | cut -d: -f1)" 404/serial_unknown "a serial not imported is 404 serial_unknown"

# --- simplereenroll with pki: re-key ---
pki_csr dev1n "C=JP, O=Line, serialNumber=SN-0001, CN=dev1"
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1n.csr" --cert "$T/dev1.pem" --key "$T/dev1.key" \
	--outform pem > "$T/dev1n.pem"
is "$?" 0 "pki --est --cert/--key re-enrols with a new key (simplereenroll)"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/dev1n.pem" 2>&1)" "$T/dev1n.pem: OK" "the new certificate verifies"
is "$(openssl x509 -in "$T/dev1n.pem" -pubkey -noout)" "$(openssl pkey -in "$T/dev1n.key" -pubout)" "it certifies the new key"
id1n=$(id_of "$T/dev1n.pem")
is "$(tca_sql "SELECT event, client, reason, reissue FROM ledger WHERE certificate_id='$id1' ORDER BY seq")" \
	"issued|line1-station1||
revoked|device:SN-0001|superseded|1" "the old certificate is revoked as superseded, reissue allowed"
is "$(tca_sql "SELECT event, client, serial FROM ledger WHERE certificate_id='$id1n'")" "issued|device:SN-0001|SN-0001" \
	"the new one is issued under the same serial"
n_before=$(tca_sql "SELECT count(*) FROM ledger")
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1n.csr" --cert "$T/dev1.pem" --key "$T/dev1.key" \
	--outform pem > "$T/dev1n-retry.pem"
is "$?/$(id_of "$T/dev1n-retry.pem")" "0/$id1n" "a retry with the old certificate gets the new one (lost answer)"
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1n.csr" --cert "$T/dev1n.pem" --key "$T/dev1n.key" \
	--outform pem > "$T/dev1n-same.pem"
is "$?/$(id_of "$T/dev1n-same.pem")" "0/$id1n" "re-enrolling with the same key returns the current certificate"
is "$(tca_sql "SELECT count(*) FROM ledger")" "$n_before" "neither adds a ledger entry"
pki_csr dev1z "C=JP, O=Line, serialNumber=SN-0001, CN=dev1"
: > "$T/pki.err"
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev1z.csr" --cert "$T/dev1.pem" --key "$T/dev1.key" \
	--outform pem > /dev/null
is "$?" 1 "the superseded certificate cannot re-key again"
like "$(cat "$T/pki.err")" "HTTP 409" "refused with 409"
est_b64 "$T/dev1z.csr" > "$T/dev1z.b64"
is "$(enroll simplereenroll "$T/dev1z.b64" --cert "$T/dev1.pem" --key "$T/dev1.key")" 409 "same with curl"
like "$(body)" "^serial_already_issued:" "because the serial has its successor"
is "$(enroll simplereenroll "$T/dev1z.b64")" 401 "simplereenroll without a client certificate is 401"
is "$(enroll simplereenroll "$T/dev1z.b64" --cert "$T/st2.pem" --key "$T/st2.key")" 401 "a certificate this CA did not issue is 401"
is "$(enroll simplereenroll "$T/dev2.b64" --cert "$T/dev1n.pem" --key "$T/dev1n.key")" 403 "a CSR naming another device is 403"
is "$(enroll simplereenroll "$T/dev1z.b64" -u "line1-station1:$ST")" 401 "a station token does not re-enrol"

# --- an admin's "superseded" is a revocation like any other ---
pki_csr dev5 "C=JP, serialNumber=SN-0005, CN=dev5"
est_b64 "$T/dev5.csr" > "$T/dev5.b64"
enroll simpleenroll "$T/dev5.b64" -u "line1-station1:$ST" > /dev/null
p7_cert "$T/body" > "$T/dev5.pem"
id5=$(id_of "$T/dev5.pem")
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $AD" -H 'Content-Type: application/json' \
	--data '{"reason": "superseded", "reissue": true}' "$URL/v1/certificates/$id5/revoke")" 200 "an admin revokes a certificate as superseded"
pki_csr dev5n "C=JP, serialNumber=SN-0005, CN=dev5"
est_b64 "$T/dev5n.csr" > "$T/dev5n.b64"
n_before=$(tca_sql "SELECT count(*) FROM ledger")
is "$(enroll simplereenroll "$T/dev5n.b64" --cert "$T/dev5.pem" --key "$T/dev5.key")" 401 \
	"the certificate an admin revoked (as superseded) cannot re-enrol"
like "$(body)" "^unauthorized: the client certificate .* was revoked" "and says it was revoked"
is "$(tca_sql "SELECT count(*) FROM ledger")" "$n_before" "nothing recorded"

# --- interrupted re-key: the device's own revocation, no successor yet ---
# What a re-key leaves when issuing fails after its revocation (signer or
# ledger unavailable): a real re-key of SN-0007, then its last entry (the
# new certificate, never delivered) cut off the stopped daemon's ledger.
# A prefix of a valid chain: it verifies.
pki_csr dev7 "C=JP, serialNumber=SN-0007, CN=dev7"
est_b64 "$T/dev7.csr" > "$T/dev7.b64"
enroll simpleenroll "$T/dev7.b64" -u "line1-station1:$ST" > /dev/null
p7_cert "$T/body" > "$T/dev7.pem"
pki_csr dev7n "C=JP, serialNumber=SN-0007, CN=dev7"
est_b64 "$T/dev7n.csr" > "$T/dev7n.b64"
is "$(enroll simplereenroll "$T/dev7n.b64" --cert "$T/dev7.pem" --key "$T/dev7.key")" 200 "SN-0007 re-keys"
tca_stop
tca_sql "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='ledger'" > "$T/trig.names"
{
	echo "BEGIN;"
	sed 's/^/DROP TRIGGER /; s/$/;/' "$T/trig.names"
	echo "DELETE FROM ledger WHERE seq = (SELECT max(seq) FROM ledger) AND serial = 'SN-0007' AND event = 'issued';"
	tca_sql "SELECT sql || ';' FROM sqlite_master WHERE type='trigger' AND tbl_name='ledger'"
	echo "COMMIT;"
} > "$T/cut.sql"
sqlite3 "$T/ledger.db" < "$T/cut.sql"
is "$(tca_sql "SELECT event || '|' || client || '|' || reason FROM ledger WHERE seq = (SELECT max(seq) FROM ledger)")" \
	"revoked|device:SN-0007|superseded" "the ledger ends with the device's own revocation"
"$BIN/thingca" -c "$T/thingca.json" ledger verify > /dev/null 2>&1
is "$?" 0 "... and verifies"
est_start || { fail "thingcad restarts"; done_testing; }
PKI --est --url "$S" --cacert "$T/ca.pem" --in "$T/dev7n.csr" --cert "$T/dev7.pem" --key "$T/dev7.key" \
	--outform pem > "$T/dev7n.pem"
is "$?" 0 "a re-key interrupted after the revocation completes on retry"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/dev7n.pem" 2>&1)" "$T/dev7n.pem: OK" "with a certificate that verifies"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-0007' AND event='revoked'")" 1 "without a second revocation"
# Revoked for another reason: no re-enrolment.
id7n=$(id_of "$T/dev7n.pem")
curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $AD" -H 'Content-Type: application/json' \
	--data '{"reason": "keyCompromise", "reissue": true}' "$URL/v1/certificates/$id7n/revoke"
pki_csr dev7z "C=JP, serialNumber=SN-0007, CN=dev7"
est_b64 "$T/dev7z.csr" > "$T/dev7z.b64"
is "$(enroll simplereenroll "$T/dev7z.b64" --cert "$T/dev7n.pem" --key "$T/dev7n.key")" 401 "a certificate revoked as keyCompromise cannot re-enrol"
is "$(enroll simplereenroll "$T/dev7z.b64" --cert "$T/dev7.pem" --key "$T/dev7.key")" 401 "nor can its superseded predecessor"

# --- est.serial_from CN ---
tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
sed -i 's/^  "ledger":/  "est": {"serial_from": "CN"},\n  "ledger":/' "$T/thingca.json"
est_start || { fail "thingcad restarts with est.serial_from CN"; done_testing; }
pki_csr dev6 "C=JP, O=Line, CN=SN-0006"
est_b64 "$T/dev6.csr" > "$T/dev6.b64"
is "$(enroll simpleenroll "$T/dev6.b64" -u "line1-station1:$ST")" 200 "with est.serial_from CN the CN carries the serial"
is "$(tca_sql "SELECT serial FROM ledger WHERE serial='SN-0006' AND event='issued'")" SN-0006 "ledger has the serial from the CN"

"$BIN/thingca" -c "$T/thingca.json" ledger verify > /dev/null 2>&1
is "$?" 0 "the ledger's hash chain verifies"

done_testing
