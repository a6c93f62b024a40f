#!/bin/sh
# Every error code of DESIGN.md "HTTP API" with its status, in the order the
# issuance rules apply, and the ledger unchanged by every refusal.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
tca_config '"limits": {"max_body_bytes": 4096}'
tca_start || { fail "thingcad starts"; done_testing; }
tca_import E-0001 E-0002 E-0003 E-0004

count() { tca_sql "SELECT count(*) FROM ledger"; }
# expect NAME STATUS CODE: checks the last answer
expect() {
	is "$st/$(jbody .error)" "$2/$3" "$1"
}

tca_csr good ec:P-256
GOOD=$(tca_json E-0001 "$T/good.csr")
before=$(count)

st=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$GOOD" "$URL/v1/certificates")
expect "no token" 401 unauthorized
st=$(tca_post /v1/certificates "not-a-token" "$GOOD")
expect "unknown token" 401 unauthorized
st=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Basic $ST" --data-binary "$GOOD" "$URL/v1/certificates")
expect "not a Bearer token" 401 unauthorized
st=$(tca_post /v1/certificates "$AU" "$GOOD")
expect "auditor may not issue" 403 forbidden
st=$(tca_get /v1/ledger "$ST")
expect "station may not read the ledger" 403 forbidden
st=$(tca_post /v1/serials "$ST" '{"serials":["X-1"]}')
expect "station may not import serials" 403 forbidden

big=$(head -c 5000 /dev/zero | tr '\0' 'a')
st=$(tca_post /v1/certificates "$ST" "{\"serial\":\"E-0001\",\"csr\":\"$big\"}")
expect "body over max_body_bytes" 413 payload_too_large
st=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ST" -H 'Content-Type: application/json' -H 'Content-Length: 99999999999' --data-binary 'x' "$URL/v1/certificates" 2>/dev/null)
expect "absurd Content-Length" 413 payload_too_large

st=$(tca_post /v1/certificates "$ST" '{"serial": "E-0001", "csr": ')
expect "truncated JSON" 400 malformed_request
st=$(tca_post /v1/certificates "$ST" '["E-0001"]')
expect "JSON array instead of object" 400 malformed_request
st=$(tca_post /v1/certificates "$ST" '{"serial": "E-0001"}')
expect "missing csr" 400 malformed_request
st=$(tca_post /v1/certificates "$ST" "$(printf '%s' "$GOOD" | jq -c '. + {extra: 1}')")
expect "unexpected field" 400 malformed_request
st=$(tca_post /v1/certificates "$ST" '{"serial": 12, "csr": "x"}')
expect "serial of the wrong type" 400 malformed_request
st=$(tca_post /v1/certificates "$ST" '{"serial": "E-0001", "serial": "E-0002", "csr": "x"}')
expect "duplicate JSON key" 400 malformed_request
st=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ST" -H 'Content-Type: text/plain' --data-binary "$GOOD" "$URL/v1/certificates")
expect "wrong content type" 415 unsupported_media_type

st=$(tca_post /v1/certificates "$ST" "$(tca_json 'E 0001' "$T/good.csr")")
expect "serial outside serial_pattern" 400 serial_invalid
st=$(tca_post /v1/certificates "$ST" "$(tca_json "$(printf 'A%.0s' $(seq 1 65))" "$T/good.csr")")
expect "serial over 64 characters" 400 serial_invalid
st=$(tca_post /v1/certificates "$ST" "{\"serial\":\"E-00\\u00001\",\"csr\":\"x\"}")
expect "NUL inside the serial" 400 serial_invalid
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-9999 "$T/good.csr")")
expect "serial not imported" 404 serial_unknown

st=$(tca_post /v1/certificates "$ST" '{"serial": "E-0001", "csr": "not a csr"}')
expect "CSR that is not PEM" 400 malformed_csr
head -n 3 "$T/good.csr" > "$T/trunc.csr"
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/trunc.csr")")
expect "truncated CSR" 400 malformed_csr
# Flip one bit inside the signature (the last bytes of the DER).
openssl req -in "$T/good.csr" -outform DER -out "$T/good.der"
len=$(stat -c %s "$T/good.der")
b=$(od -An -tu1 -j $((len - 5)) -N1 "$T/good.der" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$T/good.der" bs=1 seek=$((len - 5)) conv=notrunc 2>/dev/null
openssl req -inform DER -in "$T/good.der" -out "$T/badsig.csr" 2>/dev/null
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/badsig.csr")")
expect "CSR whose signature does not verify" 400 csr_signature_invalid
tca_csr ed ed25519
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/ed.csr")")
expect "Ed25519 key (AWS IoT refuses it)" 422 key_type_not_allowed
tca_csr weak rsa:1024
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/weak.csr")")
expect "RSA-1024 key" 422 key_type_not_allowed

# Rule order: the serial's rules (3) come before the CSR's (4).
st=$(tca_post /v1/certificates "$ST" '{"serial": "E-9999", "csr": "not a csr"}')
expect "unknown serial with a broken CSR: the serial rule answers" 404 serial_unknown
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-9999 "$T/ed.csr")")
expect "unknown serial with an Ed25519 key: the serial rule answers" 404 serial_unknown

is "$(count)" "$before" "no refusal changed the ledger"

st=$(tca_post /v1/certificates "$ST" "$GOOD")
is "$st" 201 "the good CSR issues"
id=$(jbody .certificate_id)
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0002 "$T/good.csr")")
expect "the same key for another serial" 409 public_key_reused
tca_csr second ec:P-256
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/second.csr")")
expect "another key for an issued serial" 409 serial_already_issued

st=$(tca_post "/v1/certificates/$id/revoke" "$AD" '{"reason": "keyCompromise", "reissue": false}')
is "$st" 200 "admin revokes"
st=$(tca_post /v1/certificates "$ST" "$(tca_json E-0001 "$T/second.csr")")
expect "serial blocked by a revocation" 409 serial_revoked
st=$(tca_post "/v1/certificates/$id/revoke" "$AD" '{"reason": "keyCompromise"}')
expect "revoking twice" 409 already_revoked
st=$(tca_post "/v1/certificates/$(printf '%064d' 0)/revoke" "$AD" '{}')
expect "revoking an unknown certificate" 404 not_found

st=$(tca_get /v1/nothing-here)
expect "unknown path" 404 not_found
st=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X DELETE "$URL/v1/certificates")
expect "wrong method" 405 method_not_allowed
like "$(grep -i '^allow:' "$T/hdr")" "POST" "405 carries an Allow header"
st=$(tca_get /v1/certificates "$ST")
expect "GET on the issuance path" 405 method_not_allowed

tca_stop
done_testing
