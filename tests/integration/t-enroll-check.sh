#!/bin/sh
# `thingca enroll` trusts nothing the server says: against a fake server
# (rawhttp.pl serve) answering what a compromised or confused one might, it
# writes no certificate that does not parse, is not for device.key, does
# not verify against the CA of GET /v1/ca, or comes with another chain; and
# it prints the answer's text without terminal control characters.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
tca_import E-1 E-2
tca_start || { fail "thingcad starts"; done_testing; }
# Real answers from the real daemon: E-1 for the device key, E-2 for another.
tca_csr dev ec:P-256
is "$(tca_post /v1/certificates "$ST" "$(tca_json E-1 "$T/dev.csr")")" 201 "a real answer for the device key"
cp "$T/body" "$T/good.json"
tca_csr other ec:P-256
is "$(tca_post /v1/certificates "$ST" "$(tca_json E-2 "$T/other.csr")")" 201 "a real answer for another key"
cp "$T/body" "$T/other.json"
tca_get /v1/ca > /dev/null
cp "$T/body" "$T/ca-chain.pem"
tca_stop
# A rogue CA's certificate for the device key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/rogue.key" \
	-subj "/CN=thingca test CA" -days 30 -out "$T/rogue.pem" 2>/dev/null
openssl x509 -req -in "$T/dev.csr" -CA "$T/rogue.pem" -CAkey "$T/rogue.key" -CAcreateserial \
	-days 30 -out "$T/rogue-dev.pem" 2>/dev/null

mkdir -p "$T/fake"
printf '200\n' > "$T/fake/GET_v1_ca"
cat "$T/ca-chain.pem" >> "$T/fake/GET_v1_ca"
$RAW serve "$T/fake.port" 120 "$T/fake" &
FP=$!
i=0
while [ ! -s "$T/fake.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
FURL="http://127.0.0.1:$(cat "$T/fake.port")"

# answer CASE STATUS JQ-FILTER: the fake answers POST /v1/certificates with
# good.json through FILTER; enroll runs in $T/CASE with the device key.
answer() {
	{ echo "$2"; jq -c --rawfile other "$T/other.json" --rawfile rogue "$T/rogue-dev.pem" \
		--rawfile rca "$T/rogue.pem" "$3" "$T/good.json"; } > "$T/fake/POST_v1_certificates"
	mkdir -p "$T/$1"
	cp "$T/dev.key" "$T/$1/device.key"
	chmod 600 "$T/$1/device.key"
	"$BIN/thingca" enroll --url "$FURL" --token "$ST" --serial E-1 --out "$T/$1" > "$T/$1.out" 2> "$T/$1.err"
}
refused() { # CASE REGEX NAME
	is "$RC" 1 "$3: exit 1"
	like "$(cat "$T/$1.err")" "$2" "... saying why"
	if [ -e "$T/$1/device.crt" ] || [ -e "$T/$1/device-bundle.pem" ]; then
		fail "... and writes no certificate" "no device.crt" "$(ls "$T/$1")"
	else pass "... and writes no certificate"; fi
}
answer junk 201 '.certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"'; RC=$?
refused junk "not one PEM certificate" "a certificate that does not parse"
answer two 201 '.certificate = .certificate + .certificate'; RC=$?
refused two "not one PEM certificate \(2 found\)" "two certificates for one"
answer otherkey 201 '.certificate = ($other | fromjson | .certificate) | .chain = ($other | fromjson | .chain)'; RC=$?
refused otherkey "not for device.key" "a certificate for another key"
answer rogue 201 '.certificate = $rogue | .chain = $rogue + $rca'; RC=$?
refused rogue "does not verify against the CA of GET /v1/ca" "a certificate from another CA"
answer badchain 201 '.chain = .certificate + $rca'; RC=$?
refused badchain "chain is not the certificate followed by the CA chain" "a chain with another CA"
answer nochain 201 '.chain = .certificate'; RC=$?
refused nochain "chain is not" "a chain without the CA"

# Control characters from the server are not sent to the terminal.
answer esc 201 '.thing_name = "E-1\u001b]0;owned\u0007\u001b[2J" | .not_after = "\u009b31m2036"'; RC=$?
is "$RC" 0 "a valid answer with escapes in its text is accepted"
if LC_ALL=C grep -q "$(printf '[\033\007\233]')" "$T/esc.out"; then fail "... and printed without control characters" "none" "$(od -c "$T/esc.out" | head -n 3)"
else pass "... and printed without control characters"; fi
like "$(cat "$T/esc.out")" "thing_name +E-1\?\]0;owned\?\?\[2J" "... replaced by '?'"
is "$(openssl x509 -in "$T/esc/device.crt" -outform DER | sha256sum | cut -d' ' -f1)" "$(jq -r .certificate_id "$T/good.json")" "device.crt is the verified certificate"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/esc/device-bundle.pem" 2>&1)" "$T/esc/device-bundle.pem: OK" "the bundle verifies"
{ echo 409; printf '{"error":"serial_already_issued\\u001b[31m","message":"no \\u001b]0;owned\\u0007 way"}\n'; } > "$T/fake/POST_v1_certificates"
mkdir -p "$T/esc409"
"$BIN/thingca" enroll --url "$FURL" --token "$ST" --serial E-1 --out "$T/esc409" > /dev/null 2> "$T/esc409.err"
is "$?" 1 "a refusal with escapes: exit 1"
if LC_ALL=C grep -q "$(printf '[\033\007]')" "$T/esc409.err"; then fail "... printed without control characters" "none" "$(od -c "$T/esc409.err" | head -n 3)"
else pass "... printed without control characters"; fi
like "$(cat "$T/esc409.err")" "refused \(409 serial_already_issued\?\[31m\): no \?\]0;owned\? way" "... replaced by '?'"

kill "$FP" 2>/dev/null
wait "$FP" 2>/dev/null
done_testing
