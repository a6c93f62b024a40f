#!/bin/sh
# The CA hierarchy of AWS's manufacturing guidance with file keys: an
# offline root (ca init), an issuing CA (ca csr on the line host, ca sign
# where the root lives), thingcad issuing devices with the issuing CA and
# the root in ca.chain. Every certificate's profile is checked field by
# field with openssl, the chain with openssl verify; jitp simulate names
# the issuing CA as the one to register; ca sign's refusals leave no file.
. "$THINGCA_SRC/tests/integration/lib.sh"

TCA="$BIN/thingca"

# ext CERT NAME: the value lines of one extension (openssl x509 -ext).
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | sed 1d | sed 's/^ *//'; }
# ext_hdr CERT NAME: its header line ("X509v3 Basic Constraints: critical").
ext_hdr() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | head -n 1; }
# ext_names CERT: the extension names in order, one a line.
ext_names() {
	openssl x509 -in "$1" -noout -text |
		sed -n '/X509v3 extensions:/,/Signature Algorithm:/p' |
		sed -n 's/^ \{12\}\([A-Za-z][A-Za-z0-9 ]*\):.*/\1/p'
}
dn() { openssl x509 -in "$1" -noout "-$2" -nameopt RFC2253 | sed "s/^$2=//"; }
date_of() { openssl x509 -in "$1" -noout "-$2" | sed 's/^[a-zA-Z]*=//'; }
epoch() { date -u -d "$(date_of "$1" "$2")" +%s; }
certid() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

# --- the offline root: EC P-384, so it signs with SHA-384 ---
"$TCA" ca init --key-type ec:P-384 --subject "/C=JP/O=thingca test/CN=thingca test root" \
	--days 3650 --out-cert "$T/root.pem" --out-key "$T/root.key" > "$T/init.out" 2>&1
is "$?" 0 "ca init makes the root"
is "$(grep -o 'register-ca-certificate .*--certificate-mode [A-Z_]*' "$T/init.out" | sed 's/.*--certificate-mode //' | paste -sd,)" "SNI_ONLY,DEFAULT" "ca init's aws lines: SNI_ONLY first, then DEFAULT"
like "$(tr "\n" " " < "$T/init.out")" "root of a hierarchy.*ca sign --root-cert $T/root.pem --root-key $T/root.key" "ca init names the hierarchy's next step"

# --- ca csr on the line host ---
"$TCA" ca csr --subject "/C=JP/O=thingca test/CN=line 1 CA 2027" \
	--out-key "$T/issuing.key" --out-csr "$T/issuing.csr" > "$T/csr.out" 2>&1
is "$?" 0 "ca csr makes the issuing CA's key and CSR"
is "$(stat -c %a "$T/issuing.key")" 600 "the issuing CA's key is 0600"
is "$(openssl req -in "$T/issuing.csr" -noout -verify 2>&1 | tail -n 1)" "Certificate request self-signature verify OK" "the CSR's signature verifies"
csrtext=$(openssl req -in "$T/issuing.csr" -noout -text)
like "$csrtext" "CA:TRUE, pathlen:0" "the CSR asks for CA:TRUE pathLen 0"
like "$csrtext" "NIST CURVE: P-256" "the issuing CA key is EC P-256 (the default)"
is "$(openssl pkey -in "$T/issuing.key" -pubout 2>/dev/null)" "$(openssl req -in "$T/issuing.csr" -noout -pubkey)" "the CSR carries the written key"
"$TCA" ca csr --subject "/CN=x" --out-key "$T/issuing.key" --out-csr "$T/x.csr" > /dev/null 2>&1
is "$?/$([ -e "$T/x.csr" ] && echo csr)" "1/" "ca csr does not write over an existing key"

# --- ca sign where the root lives ---
"$TCA" ca sign --root-cert "$T/root.pem" --root-key "$T/root.key" --csr "$T/issuing.csr" \
	--out-cert "$T/issuing.pem" > "$T/sign.out" 2>&1
is "$?" 0 "ca sign makes the issuing CA certificate"
I="$T/issuing.pem"
R="$T/root.pem"
is "$(openssl verify -x509_strict -CAfile "$R" "$I" 2>&1)" "$I: OK" "openssl verify -x509_strict: the issuing CA verifies under the root"
like "$(openssl x509 -in "$I" -noout -text)" "Version: 3 \(0x2\)" "issuing CA: X.509 v3"
ser=$(openssl x509 -in "$I" -noout -serial | sed 's/serial=//')
is "${#ser}" 32 "issuing CA: 16-octet serial"
case "$ser" in [0-7]*) pass "issuing CA: serial positive" ;; *) fail "issuing CA: serial positive" "first hex digit 0-7" "$ser" ;; esac
is "$(dn "$I" subject)" "CN=line 1 CA 2027,O=thingca test,C=JP" "issuing CA: subject from the CSR"
is "$(dn "$I" issuer)" "$(dn "$R" subject)" "issuing CA: issuer is the root's subject"
is "$(ext_names "$I" | paste -sd,)" "X509v3 Basic Constraints,X509v3 Key Usage,X509v3 Subject Key Identifier,X509v3 Authority Key Identifier" "issuing CA: exactly basicConstraints, keyUsage, SKI, AKI"
is "$(ext_hdr "$I" basicConstraints)" "X509v3 Basic Constraints: critical" "basicConstraints is critical"
is "$(ext "$I" basicConstraints)" "CA:TRUE, pathlen:0" "basicConstraints CA:TRUE, pathLenConstraint 0"
is "$(ext_hdr "$I" keyUsage)" "X509v3 Key Usage: critical" "keyUsage is critical"
is "$(ext "$I" keyUsage)" "Certificate Sign, CRL Sign" "keyUsage keyCertSign + cRLSign, nothing else"
is "$(ext "$I" authorityKeyIdentifier)" "$(ext "$R" subjectKeyIdentifier)" "AKI = the root's SKI"
# P-256: the subjectPublicKey is the last 65 octets of the SPKI.
skid=$(openssl x509 -in "$I" -noout -pubkey | openssl pkey -pubin -outform DER | tail -c 65 |
	openssl sha1 -binary | od -An -tx1 | tr -d ' \n' | tr a-f A-F | sed 's/../&:/g;s/:$//')
is "$(ext "$I" subjectKeyIdentifier)" "$skid" "SKI = SHA-1 of the subjectPublicKey (RFC 5280 4.2.1.2 method 1)"
like "$(openssl x509 -in "$I" -noout -text)" "Signature Algorithm: ecdsa-with-SHA384" "the P-384 root signs with SHA-384"
is "$(date_of "$I" enddate)" "$(date_of "$R" enddate)" "without --days the issuing CA ends with the root"
[ "$(epoch "$I" startdate)" -ge "$(epoch "$R" startdate)" ] && pass "notBefore not before the root's" ||
	fail "notBefore not before the root's" "$(date_of "$R" startdate)" "$(date_of "$I" startdate)"
like "$(cat "$T/sign.out")" "certificate id \(SHA-256\): $(certid "$I")" "ca sign prints the issuing CA's certificate ID"
# The registration lines: SNI_ONLY first, then DEFAULT with a verification cert.
modes=$(grep -o 'register-ca-certificate .*--certificate-mode [A-Z_]*' "$T/sign.out" | sed 's/.*--certificate-mode //' | paste -sd,)
is "$modes" "SNI_ONLY,DEFAULT" "the aws lines offer SNI_ONLY first, then DEFAULT"
like "$(grep 'certificate-mode SNI_ONLY' "$T/sign.out")" "--ca-certificate file://$I " "SNI_ONLY line registers the issuing CA, not the root"
case "$(grep 'certificate-mode SNI_ONLY' "$T/sign.out")" in *verification*) fail "SNI_ONLY has no verification certificate" ;; *) pass "SNI_ONLY has no verification certificate" ;; esac
like "$(grep 'certificate-mode DEFAULT' "$T/sign.out")" "--verification-certificate file://" "DEFAULT mode names the verification certificate"
like "$(tr '\n' ' ' < "$T/sign.out")" "must send SNI .*full +ATS endpoint, <prefix>-ats\.iot\.<region>\.amazonaws\.com" "the SNI_ONLY note: SNI with the full ATS endpoint"

# --days inside the root's life; --subject overrides; CSR extensions ignored.
cat > "$T/evil.cnf" <<CNF
[req]
distinguished_name = dn
req_extensions = ext
prompt = no
[dn]
CN = from the CSR
[ext]
basicConstraints = critical, CA:TRUE, pathlen:5
keyUsage = critical, keyCertSign, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:evil.example.com
nameConstraints = permitted;DNS:example.com
CNF
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/evil.key" 2>/dev/null
openssl req -new -key "$T/evil.key" -config "$T/evil.cnf" -out "$T/evil.csr" 2>/dev/null
"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/evil.csr" --days 30 \
	--subject "/O=thingca test/CN=line 2 CA" --out-cert "$T/evil.pem" > "$T/evil.out" 2>&1
is "$?" 0 "ca sign --days 30 --subject with a CSR full of extensions"
is "$(dn "$T/evil.pem" subject)" "CN=line 2 CA,O=thingca test" "--subject overrides the CSR's subject"
is "$(ext_names "$T/evil.pem" | paste -sd,)" "X509v3 Basic Constraints,X509v3 Key Usage,X509v3 Subject Key Identifier,X509v3 Authority Key Identifier" "none of the CSR's extensions is copied"
is "$(ext "$T/evil.pem" basicConstraints)/$(ext "$T/evil.pem" keyUsage)" "CA:TRUE, pathlen:0/Certificate Sign, CRL Sign" "pathLen 0 and keyUsage stay ours"
span=$(($(epoch "$T/evil.pem" enddate) - $(date +%s)))
[ "$span" -gt $((30 * 86400 - 120)) ] && [ "$span" -le $((30 * 86400)) ] && pass "--days 30: notAfter 30 days from now" ||
	fail "--days 30: notAfter 30 days from now" "~$((30 * 86400))" "$span"
like "$(openssl x509 -in "$T/evil.pem" -noout -text)" "Public-Key: \(2048 bit\)" "an RSA-2048 issuing CA is accepted"

# --- the refusals: exit 1, a message, no certificate written ---
refuse() { # NAME REGEX ca-sign-args...
	_name=$1 _re=$2
	shift 2
	rm -f "$T/refused.pem"
	"$TCA" ca sign --out-cert "$T/refused.pem" "$@" > "$T/refused.out" 2>&1
	_rc=$?
	is "$_rc/$([ -e "$T/refused.pem" ] && echo written)" "1/" "$_name: exit 1, nothing written"
	like "$(cat "$T/refused.out")" "$_re" "$_name: says why"
}
tca_csr device ec:P-256 "/CN=SN-0001"
refuse "a device CSR (no CA request)" "does not request a CA" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/device.csr"
openssl req -new -key "$T/evil.key" -subj "/CN=leaf" -addext "basicConstraints=critical,CA:FALSE" -out "$T/leaf.csr" 2>/dev/null
refuse "a CSR asking for CA:FALSE" "does not request a CA" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/leaf.csr"
refuse "--days past the root's notAfter" "outlive the root .*at most 36[0-9][0-9] days" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/issuing.csr" --days 3660
"$TCA" ca init --subject "/CN=another root" --out-cert "$T/other.pem" --out-key "$T/other.key" > /dev/null 2>&1
refuse "a root key that does not match the root certificate" "does not match the key" \
	--root-cert "$R" --root-key "$T/other.key" --csr "$T/issuing.csr"
chmod 644 "$T/root.key"
refuse "a root key readable by others" "root .*(group|others|0600|mode)" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/issuing.csr"
chmod 600 "$T/root.key"
refuse "an issuing CA (pathLen 0) as the root" "pathLenConstraint 0 allows no CA below it" \
	--root-cert "$I" --root-key "$T/issuing.key" --csr "$T/evil.csr"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/weak.key" 2>/dev/null
openssl req -new -key "$T/weak.key" -subj "/CN=weak CA" -addext "basicConstraints=critical,CA:TRUE" -out "$T/weak.csr" 2>/dev/null
refuse "an RSA-1024 issuing CA key" "not one AWS IoT registers as a CA" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/weak.csr"
refuse "the root's subject for the issuing CA" "subject is the root's" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/issuing.csr" --subject "/C=JP/O=thingca test/CN=thingca test root"
# A CSR whose signature was tampered with (last signature octet flipped).
openssl req -in "$T/issuing.csr" -outform DER -out "$T/t.der"
perl -e 'local $/; open F, "<", $ARGV[0]; $d = <F>; substr($d, -1, 1) = chr(ord(substr($d, -1, 1)) ^ 1); open G, ">", $ARGV[1]; print G $d' "$T/t.der" "$T/t2.der"
{ echo "-----BEGIN CERTIFICATE REQUEST-----"; base64 -w 64 "$T/t2.der"; echo "-----END CERTIFICATE REQUEST-----"; } > "$T/tampered.csr"
refuse "a CSR whose signature does not verify" "signature does not verify|cannot be checked" \
	--root-cert "$R" --root-key "$T/root.key" --csr "$T/tampered.csr"
"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/issuing.csr" --out-cert "$I" > "$T/again.out" 2>&1
is "$?" 1 "ca sign does not write over an existing certificate without --force"

# --previous: the same subject again is a warning (AWS: 10 per subject).
"$TCA" ca csr --subject "/C=JP/O=thingca test/CN=line 1 CA 2027" --out-key "$T/i2.key" --out-csr "$T/i2.csr" > /dev/null 2>&1
"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/i2.csr" --previous "$I" \
	--out-cert "$T/i2.pem" > "$T/i2.out" 2>&1
is "$?" 0 "ca sign with --previous of the same subject still signs"
like "$(cat "$T/i2.out")" "warning: 1 issuing CA certificate given with --previous already has this subject; AWS IoT registers at most 10" "a reused subject is a warning naming AWS's limit of 10"
"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/evil.csr" --previous "$I" \
	--out-cert "$T/i3.pem" > "$T/i3.out" 2>&1
case "$(cat "$T/i3.out")" in *warning*) fail "a subject of its own: no warning" "" "$(cat "$T/i3.out")" ;; *) pass "a subject of its own: no warning" ;; esac

# --- thingcad with the issuing CA and the root in ca.chain ---
# ca.chain also holds the issuing CA and the root twice: no duplicates.
cat "$I" "$R" "$R" > "$T/chain.pem"
ST=$(tca_token line1-station1 station)
tca_config
sed -i "s|\"ca\": {[^}]*}|\"ca\": {\"certificate\": \"$I\", \"key\": \"$T/issuing.key\", \"chain\": \"$T/chain.pem\"}|" "$T/thingca.json"
# A ca.chain of another root (a rotation half done) stops start-up.
sed "s|\"chain\": \"[^\"]*\"|\"chain\": \"$T/other.pem\"|" "$T/thingca.json" > "$T/wrongchain.json"
tca_start_fails "$T/wrongchain.json" "ca.chain of another root" "ca\.chain .*other\.pem: /CN=another root did not sign .*line 1 CA 2027 \(ca\.certificate\)"
tca_start || { fail "thingcad starts with the issuing CA"; done_testing; }
pass "thingcad starts with the issuing CA and ca.chain = root"
tca_import SN-0001 SN-0002
tca_csr d1 ec:P-256
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-0001 "$T/d1.csr")")
is "$st" 201 "a device certificate is issued"
jbody .certificate > "$T/d1.crt"
jbody .chain > "$T/d1.chain"
D="$T/d1.crt"
is "$(grep -c 'BEGIN CERTIFICATE' "$T/d1.chain")" 3 "the chain is three certificates: no duplicates"
csplit -s -z -f "$T/part" "$T/d1.chain" '/-----BEGIN CERTIFICATE-----/' '{*}'
is "$(certid "$T/part00")/$(certid "$T/part01")/$(certid "$T/part02")" "$(certid "$D")/$(certid "$I")/$(certid "$R")" "in order: device, issuing CA, root"
is "$(openssl verify -x509_strict -CAfile "$R" -untrusted "$I" "$D" 2>&1)" "$D: OK" "openssl verify -CAfile root -untrusted issuing accepts the device"
is "$(dn "$D" issuer)" "$(dn "$I" subject)" "device: issuer is the issuing CA"
is "$(ext "$D" authorityKeyIdentifier)" "$(ext "$I" subjectKeyIdentifier)" "device: AKI = the issuing CA's SKI"
is "$(ext_names "$D" | paste -sd,)" "X509v3 Basic Constraints,X509v3 Key Usage,X509v3 Extended Key Usage,X509v3 Subject Key Identifier,X509v3 Authority Key Identifier" "device: the profile's five extensions"
is "$(ext_hdr "$D" basicConstraints)/$(ext "$D" basicConstraints)" "X509v3 Basic Constraints: critical/CA:FALSE" "device: basicConstraints critical CA:FALSE"
is "$(ext_hdr "$D" keyUsage)/$(ext "$D" keyUsage)" "X509v3 Key Usage: critical/Digital Signature" "device: keyUsage critical digitalSignature"
is "$(ext "$D" extendedKeyUsage)" "TLS Web Client Authentication" "device: extendedKeyUsage clientAuth"
like "$(openssl x509 -in "$D" -noout -text)" "Signature Algorithm: ecdsa-with-SHA256" "device: signed with SHA-256 by the P-256 issuing CA"
[ "$(epoch "$D" enddate)" -le "$(epoch "$I" enddate)" ] && pass "device: notAfter within the issuing CA's" ||
	fail "device: notAfter within the issuing CA's" "<= $(date_of "$I" enddate)" "$(date_of "$D" enddate)"
is "$(tca_get /v1/ca)" 200 "GET /v1/ca"
is "$(certid "$T/body")" "$(certid "$I")" "GET /v1/ca serves the issuing CA"
# thingca enroll writes the same chained bundle.
"$TCA" enroll --url "$URL" --token "$ST" --serial SN-0002 --out "$T/dev2" > "$T/enroll.out" 2>&1
is "$?" 0 "thingca enroll against the issuing CA"
is "$(openssl verify -CAfile "$R" -untrusted "$T/dev2/device-bundle.pem" "$T/dev2/device-bundle.pem" 2>&1)" "$T/dev2/device-bundle.pem: OK" "the enrolled bundle verifies against the root alone"
tca_stop
is "$STOP_RC" 0 "thingcad stops"

# --- jitp simulate: AWS registers the signing CA, not the root ---
"$TCA" jitp simulate --template "$SRC/tests/data/jitp/seed-registration-config.json" \
	--cert "$T/d1.chain" > "$T/sim.out" 2> "$T/sim.err"
is "$?" 0 "jitp simulate on the three-certificate bundle"
is "$(jq -r .ca.id "$T/sim.out")" "$(certid "$I")" "simulate: the CA to register is the issuing CA"
is "$(jq -r .ca.self_signed "$T/sim.out")" false "simulate: ... which is not a self-signed root"
like "$(cat "$T/sim.err")" "must have registered CA $(certid "$I") .*not the root" "simulate says so"
# A bundle without its issuing CA (device + root only) is a warning.
cat "$D" "$R" > "$T/noissuer.pem"
"$TCA" jitp simulate --template "$SRC/tests/data/jitp/seed-registration-config.json" \
	--cert "$T/noissuer.pem" > "$T/sim2.out" 2> "$T/sim2.err"
like "$(cat "$T/sim2.err")" "warning: the bundle has no certificate of the device's issuer" "simulate warns when the bundle lacks the issuing CA"
is "$(jq -r .ca "$T/sim2.out")" null "... and names no CA"

# --- the verification certificate of the issuing CA (DEFAULT mode) ---
(cd "$T" && "$TCA" ca verification-cert --code 0123456789abcdef --ca-cert issuing.pem --ca-key issuing.key \
	--out-cert verif.pem --out-key verif.key) > "$T/verif.out" 2>&1
is "$?" 0 "ca verification-cert with the issuing CA"
is "$(openssl verify -CAfile "$R" -untrusted "$I" "$T/verif.pem" 2>&1)" "$T/verif.pem: OK" "the verification certificate chains to the root through the issuing CA"
is "$(dn "$T/verif.pem" issuer)" "$(dn "$I" subject)" "... signed by the issuing CA (the CA being registered)"
modes=$(grep -o 'register-ca-certificate .*--certificate-mode [A-Z_]*' "$T/verif.out" | sed 's/.*--certificate-mode //' | paste -sd,)
is "$modes" "SNI_ONLY,DEFAULT" "verification-cert's aws lines: SNI_ONLY first, then DEFAULT"
like "$(grep 'certificate-mode DEFAULT' "$T/verif.out")" "--verification-certificate file://verif\.pem" "DEFAULT mode with this verification certificate"
done_testing
