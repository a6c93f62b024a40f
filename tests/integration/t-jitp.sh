#!/bin/sh
# The seed JITP workflow (DESIGN.md "The seed workflow this replaces",
# docs/jitp.md) end to end, locally: CA, verification certificate, daemon,
# enrolment, registration config, policy, and `jitp simulate` of what AWS IoT
# would do on first connect, including the refusals.
. "$THINGCA_SRC/tests/integration/lib.sh"

TCA="$BIN/thingca"
ROLE=arn:aws:iam::123456789012:role/JITPRole
# The manual workflow's files; the copies in tests/data/jitp/ when the shared
# examples are not beside the repository.
EX="$SRC/../shared/examples"
[ -f "$EX/jitp-registration-config.json" ] || EX=
seed_regcfg=${EX:+$EX/jitp-registration-config.json}
seed_regcfg=${seed_regcfg:-$SRC/tests/data/jitp/seed-registration-config.json}
seed_policy=${EX:+$EX/jitp-policy.json}
seed_policy=${seed_policy:-$SRC/tests/data/jitp/seed-policy.json}
DATA="$SRC/tests/data/jitp"
for f in "$seed_regcfg" "$seed_policy" "$DATA/bad-missing-dnq.json" \
	"$DATA/bad-certificate-id.json" "$DATA/bad-policy-name-and-document.json" \
	"$DATA/bad-fn-join.json"; do
	[ -f "$f" ] || { fail "fixture $f exists"; done_testing; }
done
diag "seed registration config: $seed_regcfg"

# --- seed step 1: the CA (no C=JP needed on the CA itself) ---
"$TCA" ca init --subject "/O=thingca test/CN=thingca JITP test CA" \
	--out-cert "$T/ca.pem" --out-key "$T/ca.key" > "$T/init.out" 2>&1
is "$?" 0 "thingca ca init makes the CA"
is "$(stat -c %a "$T/ca.key")" 600 "CA key is 0600"
CAID=$(openssl x509 -in "$T/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)

# --- seed step 2: the verification certificate ---
CODE=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
is "${#CODE}" 64 "registration code is 64 hex characters"
(cd "$T" && "$TCA" ca verification-cert --code "$CODE" --ca-cert ca.pem --ca-key ca.key \
	--out-cert verif.pem --out-key verif.key) > "$T/verif.out" 2>&1
is "$?" 0 "thingca ca verification-cert exits 0"
is "$(openssl x509 -in "$T/verif.pem" -noout -subject -nameopt RFC2253 2>&1)" "subject=CN=$CODE" "verification certificate CN is the code"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/verif.pem" 2>&1)" "$T/verif.pem: OK" "openssl verify accepts it against the CA"
is "$(openssl x509 -in "$T/verif.pem" -noout -issuer -nameopt RFC2253)" \
	"issuer=$(openssl x509 -in "$T/ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" "issuer is the CA's subject"
is "$(stat -c %a "$T/verif.key")" 600 "verification key is 0600"
line=$(grep 'aws iot register-ca-certificate' "$T/verif.out")
like "$line" "--ca-certificate file://ca\.pem" "register-ca-certificate line names the CA file"
like "$line" "--verification-certificate file://verif\.pem" "... and the verification certificate"
like "$(cat "$T/verif.out")" "$CAID" "the CA certificate ID (SHA-256 of its DER) is printed"
(cd "$T" && "$TCA" ca verification-cert --code "$CODE" --ca-cert ca.pem --ca-key ca.key \
	--out-cert verif2.pem --out-key verif.key) > "$T/verif2.out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ ! -e "$T/verif2.pem" ] && [ -s "$T/verif.key" ] && pass "an existing verification key is not written over (exit $rc)" ||
	fail "an existing verification key is not written over" "exit != 0, no verif2.pem" "exit $rc"

# --- seed step 6: thingcad with the default profile (C=JP ...), enrol devices ---
ST=$(tca_token line1-station1 station)
tca_config '"profile": {"subject": {"C": "JP", "ST": "Tokyo", "L": "Tokyo", "O": "MyOrg", "OU": "device"}}'
tca_start || { fail "thingcad starts"; done_testing; }
pass "thingcad starts on 127.0.0.1:$PORT"
tca_import JITP-0001 JITP-0002 JITP-0003
for s in JITP-0001 JITP-0002 JITP-0003; do
	"$TCA" enroll --url "$URL" --token "$ST" --serial "$s" --out "$T/dev-$s" > "$T/enroll-$s.out" 2>&1
	is "$?" 0 "thingca enroll $s exits 0"
done
DEV="$T/dev-JITP-0001"
B="$DEV/device-bundle.pem"
is "$(stat -c %a "$DEV/device.key")" 600 "device.key is 0600"
is "$(grep -c 'BEGIN CERTIFICATE' "$B")" 2 "bundle holds device certificate + CA"
is "$(openssl verify -CAfile "$T/ca.pem" "$B" 2>&1)" "$B: OK" "bundle verifies against the CA"
is "$(openssl x509 -in "$B" -noout -subject -nameopt RFC2253)" \
	"subject=CN=JITP-0001,serialNumber=JITP-0001,OU=device,O=MyOrg,L=Tokyo,ST=Tokyo,C=JP" "device subject per the profile"
CID=$(openssl x509 -in "$B" -outform DER | sha256sum | cut -d' ' -f1)

# --- seed step 4: registration config from the profile ---
"$TCA" -c "$T/thingca.json" jitp template --role-arn "$ROLE" \
	--attribute version=v1 --attribute country=Country --out "$T/regcfg.json" 2> "$T/tpl.err"
is "$?" 0 "jitp template exits 0"
is "$(jq -r .roleArn "$T/regcfg.json")" "$ROLE" "registration config carries the role ARN"
is "$(jq -r '.templateBody | type' "$T/regcfg.json")" string "templateBody is a string"
body=$(jq -r .templateBody "$T/regcfg.json")
is "$(printf '%s' "$body" | jq -c '.Resources.certificate.Properties')" \
	'{"CertificateId":{"Ref":"AWS::IoT::Certificate::Id"},"Status":"ACTIVE"}' "template activates the certificate by its Id"
is "$(printf '%s' "$body" | jq -r '.Parameters | keys | sort | join(",")')" \
	"AWS::IoT::Certificate::CommonName,AWS::IoT::Certificate::Country,AWS::IoT::Certificate::Id,AWS::IoT::Certificate::Organization,AWS::IoT::Certificate::OrganizationalUnit,AWS::IoT::Certificate::SerialNumber,AWS::IoT::Certificate::StateName" \
	"template declares exactly what the profile's certificates carry"

# --- seed step 7, offline: simulate ---
sim() { "$TCA" jitp simulate "$@" > "$T/sim.out" 2> "$T/sim.err"; }
sim --template "$T/regcfg.json" --cert "$B"
is "$?" 0 "simulate generated template + enrolled bundle: exit 0"
is "$(jq -r .thing.name "$T/sim.out")" JITP-0001 "Thing name is the serial"
is "$(jq -c -S .thing.attributes "$T/sim.out")" '{"country":"JP","version":"v1"}' "Thing attributes version=v1, country=JP"
is "$(jq -r .certificate.id "$T/sim.out")" "$CID" "certificate id is SHA-256 of the DER"
is "$(jq -r .certificate.status "$T/sim.out")" ACTIVE "certificate status ACTIVE"
is "$(jq -r .policy.name "$T/sim.out")" jitp-things-policy "policy jitp-things-policy"

sim --template "$seed_regcfg" --cert "$B"
is "$?" 0 "simulate the seed registration config against the enrolled device: exit 0"
is "$(jq -r .thing.name "$T/sim.out")" JITP-0001 "seed: Thing name is the serial"
is "$(jq -r .thing.attributes.country "$T/sim.out")" JP "seed: country JP"
is "$(jq -r .certificate.id "$T/sim.out")/$(jq -r .certificate.status "$T/sim.out")" "$CID/ACTIVE" "seed: certificate id and ACTIVE"
is "$(jq -r .policy.name "$T/sim.out")" jitp-things-policy "seed: policy name"

# A bare template body is accepted too.
jq -r .templateBody "$seed_regcfg" > "$T/seed-body.json"
sim --template "$T/seed-body.json" --cert "$B"
is "$?" 0 "simulate a bare template body: exit 0"

# refuse TEMPLATE CERT REGEX NAME: exit 1, the reason on stderr.
refuse() {
	sim --template "$1" --cert "$2"
	_rc=$?
	is "$_rc" 1 "$4: exit 1"
	like "$(cat "$T/sim.err")" "$3" "$4: reason printed"
	is "$(wc -c < "$T/sim.out" | tr -d ' ')" 0 "$4: nothing on stdout"
}
refuse "$DATA/bad-missing-dnq.json" "$B" "DistinguishedNameQualifier.*no dnQualifier" "DNQualifier declared, certificate lacks it"
refuse "$DATA/bad-certificate-id.json" "$B" "CertificateId must be exactly" "CertificateId not Ref AWS::IoT::Certificate::Id"
refuse "$DATA/bad-policy-name-and-document.json" "$B" "PolicyName.*PolicyDocument|PolicyDocument.*PolicyName" "PolicyName together with PolicyDocument"
refuse "$DATA/bad-fn-join.json" "$B" "Fn::Join is not supported" "Fn::Join"
sim --template "$DATA/bad-many.json" --cert "$B"
is "$?" 1 "a template with five faults: exit 1"
like "$(cat "$T/sim.err")" "5 reasons" "... and every reason is reported, not just the first"

# A certificate whose CN is not a valid ThingName: thingca never issues one,
# so make it with openssl, signed by the test CA.
cat > "$T/bad.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
C = JP
CN = bad name/x
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/bad.key" 2>/dev/null
openssl req -new -key "$T/bad.key" -config "$T/bad.cnf" -out "$T/bad.csr" 2>/dev/null
openssl x509 -req -in "$T/bad.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 30 -sha256 -extfile "$T/bad.cnf" -extensions ext -out "$T/bad.crt" 2>/dev/null
is "$(openssl x509 -in "$T/bad.crt" -noout -subject -nameopt RFC2253 2>&1)" 'subject=CN=bad name/x,C=JP' "openssl-made certificate has CN 'bad name/x'"
cat "$T/bad.crt" "$T/ca.pem" > "$T/bad-bundle.pem"
refuse "$seed_regcfg" "$T/bad-bundle.pem" "ThingName" "bad ThingName 'bad name/x'"
like "$(cat "$T/sim.err")" "bad name/x" "bad ThingName: the name is quoted"

# --- over the daemon's ledger (read-only while it runs) ---
"$TCA" -c "$T/thingca.json" jitp simulate --template "$T/regcfg.json" --ledger "$T/ledger.db" > "$T/led.out" 2> "$T/led.err"
is "$?" 0 "simulate --ledger, good template: exit 0"
like "$(cat "$T/led.out")" "^3 certificates checked, 0 would fail" "all 3 certificates pass"
"$TCA" -c "$T/thingca.json" jitp simulate --template "$seed_regcfg" --ledger "$T/ledger.db" > "$T/led.out" 2> "$T/led.err"
is "$?" 0 "simulate --ledger, seed template: exit 0"
"$TCA" -c "$T/thingca.json" jitp simulate --template "$DATA/bad-missing-dnq.json" --ledger "$T/ledger.db" > "$T/led.out" 2> "$T/led.err"
is "$?" 1 "simulate --ledger, DNQualifier template: exit 1"
like "$(cat "$T/led.out")" "3 certificates checked, 3 would fail" "count printed: 3 of 3 would fail"
like "$(cat "$T/led.out")" "$CID serial=JITP-0001" "the failing certificate ID and serial are printed"
like "$(cat "$T/led.out")" "DistinguishedNameQualifier" "with the reason"
tca_stop
is "$STOP_RC" 0 "thingcad stops with status 0"

# --- seed step 3: the IoT policy ---
"$TCA" jitp policy --region ap-northeast-1 --account 123456789012 --out "$T/policy.json" 2> "$T/pol.err"
is "$?" 0 "jitp policy exits 0"
is "$(jq -S . "$T/policy.json" 2>&1)" "$(jq -S . "$seed_policy")" "jitp policy equals the seed policy (jq -S)"
"$TCA" jitp policy --region ap-northeast-1 --account 12345 > /dev/null 2>&1
is "$?" 1 "a malformed account is refused"

done_testing
