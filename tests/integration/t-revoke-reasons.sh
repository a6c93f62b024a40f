#!/bin/sh
# Revocation reasons are RFC 5280 5.3.1 CRLReason names, matched in any
# case and stored as the RFC spells them, so that the CRL carries the
# reasonCode; anything else (a typo, free text, certificateHold, which a
# final revocation cannot honour) is refused and the ledger is unchanged:
# 400 malformed_request from the API, exit 2 from `thingca revoke`.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config
tca_import R-1 R-2 R-3 R-4 R-5
tca_start || { fail "thingcad starts"; done_testing; }
TCA="$BIN/thingca -c $T/thingca.json"
for s in R-1 R-2 R-3 R-4 R-5; do
	tca_csr "$s" ec:P-256
	tca_post /v1/certificates "$ST" "$(tca_json "$s" "$T/$s.csr")" > /dev/null
	eval "ID_$(echo "$s" | tr -d -)=$(jbody .certificate_id)"
	eval "SN_$(echo "$s" | tr -d -)=$(jbody .certificate | openssl x509 -noout -serial | cut -d= -f2)"
done
revoke() { tca_post "/v1/certificates/$1/revoke" "$AD" "{\"reason\": \"$2\"}"; }

before=$(ledger_state)
for r in keyCompromize stolen certificateHold removeFromCRL "" "key compromise"; do
	is "$(revoke "$ID_R1" "$r")/$(jbody .error)" "400/malformed_request" "API: reason '$r' is refused"
done
like "$(revoke "$ID_R1" keyCompromize; jbody .message)" "RFC 5280 5.3.1" "... the message names RFC 5280 5.3.1"
$TCA revoke "$ID_R1" --reason keyCompromize > /dev/null 2> "$T/err"
is "$?" 2 "thingca revoke --reason keyCompromize exits 2"
like "$(cat "$T/err")" "RFC 5280 5.3.1" "... and says why"
$TCA revoke "$ID_R1" --reason certificateHold > /dev/null 2>&1
is "$?" 2 "thingca revoke --reason certificateHold exits 2"
is "$(ledger_state)" "$before" "nothing was recorded"

is "$(revoke "$ID_R1" KEYCOMPROMISE)/$(jbody .reason)" "200/keyCompromise" "API: KEYCOMPROMISE is stored as keyCompromise"
$TCA revoke "$ID_R2" --reason cessationofoperation > /dev/null 2>&1
is "$?" 0 "thingca revoke --reason cessationofoperation"
is "$(tca_post "/v1/certificates/$ID_R3/revoke" "$AD" '{}')/$(jbody .reason)" "200/unspecified" "no reason: unspecified"
is "$(revoke "$ID_R4" aacompromise)/$(jbody .reason)" "200/aACompromise" "aACompromise (any case)"
$TCA revoke "$ID_R5" > /dev/null 2>&1
is "$?" 0 "thingca revoke without --reason"
is "$(tca_sql "SELECT certificate_id || '=' || reason FROM ledger WHERE event='revoked' ORDER BY seq" | tr '\n' ' ')" \
	"$ID_R1=keyCompromise $ID_R2=cessationOfOperation $ID_R3=unspecified $ID_R4=aACompromise $ID_R5=unspecified " "the ledger holds the canonical names (unspecified by default, API and CLI)"

is "$(tca_get /v1/crl)" 200 "GET /v1/crl"
openssl crl -inform DER -in "$T/body" -noout -text > "$T/crl.txt"
# reason_of SERIAL: the CRL reason of that certificate serial ("" if none).
reason_of() { awk -v s="Serial Number: $1" 'index($0, s) { f = 1; next } f && /Serial Number:/ { exit } f && /CRL Reason Code/ { getline; gsub(/^ +/, ""); print; exit }' "$T/crl.txt"; }
is "$(reason_of "$SN_R1")" "Key Compromise" "the CRL carries keyCompromise"
is "$(reason_of "$SN_R2")" "Cessation Of Operation" "... cessationOfOperation"
is "$(reason_of "$SN_R3")" "" "... and no reasonCode for unspecified (RFC 5280 5.3.1)"
is "$(reason_of "$SN_R4")" "AA Compromise" "... aACompromise"
tca_stop
done_testing
