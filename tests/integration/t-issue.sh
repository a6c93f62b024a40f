#!/bin/sh
# Issuance end to end: a station POSTs CSRs to the real daemon over HTTP and
# gets JITP-ready chained bundles, checked with openssl field by field
# against DESIGN.md "Device certificate profile", and recorded in the ledger.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token line1-station1 station)
AU=$(tca_token audit auditor)
tca_config
tca_start || { fail "thingcad starts"; done_testing; }
pass "thingcad starts and listens on 127.0.0.1:$PORT"
tca_import SN-0001 SN-0002 SN-0003 SN-0004 SN-0005 SN-RACE

# --- P-256 device ---
tca_csr p256 ec:P-256 "/CN=evil/O=Attacker"
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0001 "$T/p256.csr")")
is "$st" 201 "P-256 CSR issued (201)"
is "$(jbody .serial)" SN-0001 "answer names the serial"
is "$(jbody .thing_name)" SN-0001 "thing_name is the serial ({serial} template)"
jbody .certificate > "$T/p256.crt"
jbody .chain > "$T/p256.chain"
seq1=$(jbody .ledger_seq)
id=$(openssl x509 -in "$T/p256.crt" -outform DER | sha256sum | cut -d' ' -f1)
is "$(jbody .certificate_id)" "$id" "certificate_id is SHA-256 of the DER (AWS IoT certificate ID)"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/p256.crt" 2>&1)" "$T/p256.crt: OK" "openssl verify accepts the device certificate"
is "$(grep -c 'BEGIN CERTIFICATE' "$T/p256.chain")" 2 "chain holds device certificate + CA"
is "$(openssl x509 -in "$T/p256.chain" -noout -fingerprint)" "$(openssl x509 -in "$T/p256.crt" -noout -fingerprint)" "chain starts with the device certificate"
sed -n '/END CERTIFICATE/,$p' "$T/p256.chain" | sed 1d > "$T/chain-ca.pem"
is "$(openssl x509 -in "$T/chain-ca.pem" -noout -fingerprint)" "$(openssl x509 -in "$T/ca.pem" -noout -fingerprint)" "chain continues with the issuing CA"
subj=$(openssl x509 -in "$T/p256.crt" -noout -subject -nameopt RFC2253)
is "$subj" "subject=CN=SN-0001,serialNumber=SN-0001,OU=device,O=MyOrg,L=Tokyo,ST=Tokyo,C=JP" "subject is the profile's RDNs, serialNumber, CN (CSR subject ignored)"
asn=$(openssl asn1parse -in "$T/p256.crt" 2>/dev/null)
like "$(printf '%s\n' "$asn" | grep -A1 ':commonName' | tail -n 1)" "UTF8STRING +:SN-0001" "CN is a UTF8String"
like "$(printf '%s\n' "$asn" | grep -A1 ':serialNumber' | tail -n 1)" "PRINTABLESTRING +:SN-0001" "serialNumber is a PrintableString"
text=$(openssl x509 -in "$T/p256.crt" -noout -text)
is "$(printf '%s\n' "$text" | grep 'X509v3 ' | grep -vc 'X509v3 extensions')" 5 "exactly five extensions"
like "$(printf '%s\n' "$text" | grep -A1 'Basic Constraints' | tr -d '\n')" "critical +CA:FALSE" "basicConstraints critical CA:FALSE"
like "$(printf '%s\n' "$text" | grep -A1 'Key Usage: critical' | tail -n 1)" "^ *Digital Signature$" "keyUsage critical digitalSignature only for EC"
like "$(printf '%s\n' "$text" | grep -A1 'Extended Key Usage')" "TLS Web Client Authentication" "extendedKeyUsage clientAuth"
like "$text" "Subject Key Identifier" "subjectKeyIdentifier present"
ski=$(openssl x509 -in "$T/ca.pem" -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')
aki=$(printf '%s\n' "$text" | grep -A1 'Authority Key Identifier' | tail -n 1 | tr -d ' ' | sed 's/^keyid://')
is "$aki" "$ski" "authorityKeyIdentifier is the CA's key id"
like "$text" "Signature Algorithm: ecdsa-with-SHA256" "signed with SHA-256"
sn=$(openssl x509 -in "$T/p256.crt" -noout -serial | cut -d= -f2)
like "${#sn}" "^(2[4-9]|3[0-2])$" "serial is 16 random bytes (hex length ${#sn})"
nb=$(date -d "$(openssl x509 -in "$T/p256.crt" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$T/p256.crt" -noout -enddate | cut -d= -f2)" +%s)
now=$(date +%s)
canb=$(date -d "$(openssl x509 -in "$T/ca.pem" -noout -startdate | cut -d= -f2)" +%s)
want_nb=$((now - 300))
[ "$canb" -gt "$want_nb" ] && want_nb=$canb
like "$((nb - want_nb))" "^-?[0-9]$" "notBefore is now - 300 s, but not before the CA's notBefore"
like "$(( (na - now) / 86400 ))" "^(3649|3650)$" "validity ends 3650 days from now"

# ledger row
row=$(tca_sql "SELECT event, client, serial, thing_name, certificate_id FROM ledger WHERE seq = $seq1")
is "$row" "issued|line1-station1|SN-0001|SN-0001|$id" "ledger holds the issuance with station and certificate ID"

# --- retry with the same key: 200, same answer ---
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0001 "$T/p256.csr")")
is "$st" 200 "retry with the same key answers 200"
is "$(jbody .certificate_id)" "$id" "retry gets the same certificate"
is "$(jbody .ledger_seq)" "$seq1" "retry gets the same ledger_seq"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-0001' AND event='issued'")" 1 "retry adds no ledger entry"

# --- another key for an issued serial ---
tca_csr other ec:P-256
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0001 "$T/other.csr")")
is "$st/$(jbody .error)" "409/serial_already_issued" "another key for an issued serial is refused"

# --- RSA-2048 device ---
tca_csr rsa rsa:2048
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0002 "$T/rsa.csr")")
is "$st" 201 "RSA-2048 CSR issued"
jbody .chain > "$T/rsa.chain"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/rsa.chain" 2>&1)" "$T/rsa.chain: OK" "RSA device certificate verifies"
like "$(openssl x509 -in "$T/rsa.chain" -noout -ext keyUsage | tail -n 1)" "Digital Signature, Key Encipherment" "RSA device gets keyEncipherment too"

# --- a CSR asking for CA:TRUE and a SAN gets neither ---
cat > "$T/evil.cnf" <<CNF
[req]
distinguished_name = dn
req_extensions = ext
prompt = no
[dn]
CN = evil.example.com
[ext]
basicConstraints = critical, CA:TRUE
subjectAltName = DNS:evil.example.com
keyUsage = keyCertSign
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/evil.key" 2>/dev/null
openssl req -new -key "$T/evil.key" -config "$T/evil.cnf" -out "$T/evil.csr" 2>/dev/null
like "$(openssl req -in "$T/evil.csr" -noout -text)" "CA:TRUE" "the hostile CSR does ask for CA:TRUE"
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0003 "$T/evil.csr")")
is "$st" 201 "hostile CSR still issued (only its key is used)"
jbody .certificate > "$T/evil.crt"
evtext=$(openssl x509 -in "$T/evil.crt" -noout -text)
like "$(printf '%s\n' "$evtext" | grep -A1 'Basic Constraints' | tail -n 1)" "CA:FALSE" "no CA:TRUE copied"
case "$evtext" in *"Subject Alternative Name"*|*evil.example.com*) fail "no SAN or CSR subject copied" "none" "copied";; *) pass "no SAN or CSR subject copied";; esac

# --- Accept: application/pem-certificate-chain ---
tca_csr pemonly ec:P-384
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0004 "$T/pemonly.csr")" -H 'Accept: application/pem-certificate-chain' -D "$T/hdr")
is "$st" 201 "P-384 CSR issued with PEM answer"
like "$(grep -i '^content-type' "$T/hdr")" "application/pem-certificate-chain" "PEM chain content type"
is "$(grep -c 'BEGIN CERTIFICATE' "$T/body")" 2 "bare PEM chain: device + CA"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/body" 2>&1)" "$T/body: OK" "bare PEM chain verifies"

# --- GET /v1/ca and /healthz without a token ---
is "$(tca_get /v1/ca)" 200 "GET /v1/ca needs no token"
is "$(openssl x509 -in "$T/body" -noout -fingerprint)" "$(openssl x509 -in "$T/ca.pem" -noout -fingerprint)" "GET /v1/ca serves the issuing CA"
is "$(tca_get /healthz)" 200 "GET /healthz"

# --- 32 parallel requests for one serial with different keys ---
i=0
while [ $i -lt 32 ]; do
	tca_csr "race$i" ec:P-256
	tca_json SN-RACE "$T/race$i.csr" > "$T/race$i.json"
	i=$((i + 1))
done
i=0
while [ $i -lt 32 ]; do
	curl -s -o "$T/race$i.out" -w '%{http_code}\n' --max-time 30 \
		-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
		--data-binary @"$T/race$i.json" "$URL/v1/certificates" > "$T/race$i.code" &
	i=$((i + 1))
done
race_done() { [ "$(cat "$T"/race*.code 2>/dev/null | wc -l)" -ge 32 ]; }
wait_until 300 race_done
sleep 0.2
is "$(cat "$T"/race*.code | grep -c '^201$')" 1 "32 racing keys for one serial: exactly one 201"
is "$(cat "$T"/race*.code | grep -c '^409$')" 31 "the other 31 get 409"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-RACE' AND event='issued'")" 1 "exactly one certificate in the ledger"

# --- thingca enroll: a rerun in the same directory reuses the key ---
out1=$("$BIN/thingca" enroll --url "$URL" --token "$ST" --serial SN-0005 --out "$T/enr" 2>&1)
is "$?" 0 "thingca enroll issues"
is "$(stat -c %a "$T/enr/device.key")" 600 "device.key is written 0600"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/enr/device-bundle.pem" 2>&1)" "$T/enr/device-bundle.pem: OK" "the enrolled bundle verifies"
id1=$(openssl x509 -in "$T/enr/device.crt" -outform DER | sha256sum | cut -d' ' -f1)
out2=$("$BIN/thingca" enroll --url "$URL" --token "$ST" --serial SN-0005 --out "$T/enr" 2>&1)
is "$?" 0 "running enroll again (say after a lost answer) succeeds"
like "$out2" "received the existing certificate" "... with the certificate already issued"
is "$(openssl x509 -in "$T/enr/device.crt" -outform DER | sha256sum | cut -d' ' -f1)" "$id1" "... the same one, for the key kept in device.key"
out3=$("$BIN/thingca" enroll --url "$URL" --token "$ST" --serial SN-0005 --out "$T/enr-other" 2>&1)
is "$?" 1 "enroll with a new key for an issued serial is refused"
like "$out3" "serial_already_issued" "... naming the error code"

tca_stop
is "$STOP_RC" 0 "SIGTERM stops thingcad with status 0"
like "$(cat "$T/daemon.log")" "POST /v1/certificates 201 client=line1-station1 serial=SN-0001 cert_id=$id" "one log line per request outcome"
done_testing
