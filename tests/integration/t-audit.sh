#!/bin/sh
# The auditor's questions, answered against the real daemon and database:
# serial import (good, bad line, duplicates), allowlist refusal, the ledger
# API with filters, pagination, CSV and roles, the CLI reading the same file
# while the daemon runs, revocation with and without reissue, and the CRL.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
S1=$(tca_token line1-station1 station)
S2=$(tca_token line2-station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
tca_config
TCA="$BIN/thingca -c $T/thingca.json"

# --- import ---
printf 'A-0001\nA-0002\n# a comment\n\nA-0003\n' > "$T/batch1.txt"
out=$($TCA serials import --batch b1 "$T/batch1.txt" 2>&1)
is "$?" 0 "serials import of a plain list"
like "$out" "imported 3 serials \(0 already present\)" "import counts what it added"
printf 'serial,board\nA-0004,rev2\n"A-0005",rev2\nA-0001,rev1\n' > "$T/batch2.csv"
out=$($TCA serials import --batch b2 "$T/batch2.csv" 2>&1)
like "$out" "imported 2 serials \(1 already present\)" "CSV with a header: duplicates harmless and counted"
printf 'A-0010\nA 0011\nA-0012\n' > "$T/bad.txt"
out=$($TCA serials import --batch bad "$T/bad.txt" 2>&1)
is "$?" 1 "a bad line fails the import"
like "$out" "bad.txt:2:" "the bad line is named with its line number"
is "$(tca_sql "SELECT count(*) FROM serials WHERE serial IN ('A-0010','A-0012')")" 0 "nothing from that file was imported"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE event='serials_imported'")" 2 "each import is a ledger entry"

tca_start || { fail "thingcad starts"; done_testing; }
st=$(tca_post /v1/serials "$AD" '{"batch": "api1", "serials": ["A-0006", "A-0007", "A-0001"]}')
is "$st/$(jbody .added)/$(jbody .already_present)" "200/2/1" "POST /v1/serials adds and counts"
st=$(tca_post /v1/serials "$AD" '{"batch": "api2", "serials": ["A-0008", "bad serial!", "A-0009"]}')
is "$st/$(jbody .error)" "400/serial_invalid" "POST /v1/serials refuses a bad serial"
like "$(jbody .message)" "serials\[1\]" "and names the first bad one"
is "$(tca_sql "SELECT count(*) FROM serials WHERE serial='A-0008'")" 0 "all or none"

# --- issuance from two stations ---
issue() { # TOKEN SERIAL NAME
	tca_csr "$3" ec:P-256
	tca_post /v1/certificates "$1" "$(tca_json "$2" "$T/$3.csr")" >/dev/null
	jbody .certificate_id
}
ID1=$(issue "$S1" A-0001 d1)
ID2=$(issue "$S1" A-0002 d2)
ID3=$(issue "$S2" A-0003 d3)
ID4=$(issue "$S2" A-0004 d4)
st=$(tca_post /v1/certificates "$S1" "$(tca_json A-9999 "$T/d1.csr")")
is "$st/$(jbody .error)" "404/serial_unknown" "a serial never imported is refused"

# --- the ledger API ---
is "$(tca_get /v1/ledger "$S1")/$(jbody .error)" "403/forbidden" "a station may not read the ledger"
is "$(tca_get /v1/ledger)/$(jbody .error)" "401/unauthorized" "the ledger needs a token"
is "$(tca_get '/v1/ledger?station=line2-station1' "$AU")" 200 "auditor lists by station"
is "$(jbody '[.entries[].serial] | join(",")')" "A-0003,A-0004" "what line2-station1 issued"
tca_get "/v1/ledger?serial=A-0002" "$AU" >/dev/null
is "$(jbody '.entries | length')/$(jbody '.entries[0].certificate_id')" "1/$ID2" "filter by serial"
tca_get "/v1/ledger?thing_name=A-0004" "$AU" >/dev/null
is "$(jbody '.entries[0].certificate_id')" "$ID4" "filter by thing name"
tca_get "/v1/ledger?event=serials_imported" "$AU" >/dev/null
is "$(jbody '.entries | length')" 3 "filter by event"
tca_get "/v1/ledger?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z" "$AU" >/dev/null
is "$(jbody '.entries | length')/$(jbody .next)" "0/null" "a time window with nothing in it"
tomorrow=$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)
yesterday=$(date -u -d yesterday +%Y-%m-%dT00:00:00Z)
tca_get "/v1/ledger?event=issued&since=$yesterday&until=$tomorrow" "$AU" >/dev/null
is "$(jbody '.entries | length')" 4 "since/until cover today's issuances"
e=$(jbody '.entries[0] | keys | sort | join(",")')
is "$e" "ca_certificate_id,certificate_id,certificate_serial,client,event,hash,node,not_after,not_before,prev_hash,reason,reissue,seq,serial,spki_sha256,thing_name,time" "entry fields"
# Years before 1970 would order after today in the stored text form (year
# 999 is "0999" nowhere): refused, not an inverted filter.
is "$(tca_get "/v1/ledger?until=0999-01-01T00:00:00Z" "$AU")/$(jbody .error)" "400/malformed_request" "until in year 999 is refused"
like "$(jbody .message)" "until must be 1970-01-01T00:00:00Z or later" "... saying why"
$TCA ledger list --since 0999-01-01T00:00:00Z > "$T/old.out" 2> "$T/old.err"
is "$?" 2 "thingca ledger list --since 0999-...: exit 2"
like "$(cat "$T/old.err")" "since must be 1970-01-01T00:00:00Z or later" "... saying why"
is "$(wc -c < "$T/old.out" | tr -d ' ')" 0 "... and lists nothing"
$TCA ledger export --until 1969-12-31T23:59:59Z > /dev/null 2>&1
is "$?" 2 "thingca ledger export --until 1969-...: exit 2"

# pagination: walk every entry with limit=2
total=$(tca_sql "SELECT count(*) FROM ledger")
after=0 seen="" pages=0
while [ $pages -lt 50 ]; do
	tca_get "/v1/ledger?limit=2&after=$after" "$AU" >/dev/null
	seen="$seen $(jbody '[.entries[].seq] | map(tostring) | join(" ")')"
	nx=$(jbody .next)
	pages=$((pages + 1))
	[ "$nx" = null ] && break
	after=$nx
done
is "$(echo $seen | tr ' ' '\n' | sort -n | uniq | wc -l)" "$total" "pagination visits every entry"
is "$(echo $seen | wc -w)" "$total" "pagination visits no entry twice"
is "$pages" "$(( (total + 1) / 2 ))" "pages of 2"

st=$(tca_get "/v1/ledger?station=line1-station1" "$AU" -H 'Accept: text/csv' -D "$T/hdr")
is "$st" 200 "CSV export"
like "$(grep -i '^content-type' "$T/hdr")" "text/csv" "CSV content type"
is "$(head -n 1 "$T/body")" "seq,time,event,client,node,serial,thing_name,certificate_id,ca_certificate_id,certificate_serial,spki_sha256,not_before,not_after,reason,reissue,prev_hash,hash" "CSV header"
is "$(sed 1d "$T/body" | cut -d, -f6 | tr '\n' ' ')" "A-0001 A-0002 " "CSV rows"
st=$(tca_get "/v1/ledger?limit=5000" "$AU")
is "$st/$(jbody .error)" "400/malformed_request" "limit over 1000 refused"
st=$(tca_get "/v1/ledger?colour=blue" "$AU")
is "$st/$(jbody .error)" "400/malformed_request" "unknown filter refused"

tca_get /v1/ledger/head "$AU" >/dev/null
hseq=$(jbody .seq) hhash=$(jbody .hash)
is "$hseq:$hhash" "$($TCA ledger head)" "API head equals the CLI's head (read while the daemon runs)"
is "$(tca_get "/v1/certificates/$ID3" "$AU")" 200 "fetch a certificate by its AWS certificate ID"
jbody .certificate > "$T/fetched.pem"
is "$(openssl x509 -in "$T/fetched.pem" -outform DER | sha256sum | cut -d' ' -f1)" "$ID3" "its PEM hashes to the ID"
is "$(jbody .entry.client)/$(jbody .revocation)" "line2-station1/null" "entry names the station; not revoked"
is "$(tca_get "/v1/certificates/$(printf '%064d' 7)" "$AU")/$(jbody .error)" "404/not_found" "unknown certificate ID"

# CLI listing while the daemon runs
out=$($TCA ledger list --station line1-station1 2>&1)
like "$out" "A-0002" "thingca ledger list filters by station"
out=$($TCA ledger show "$ID1" --pem 2>&1)
like "$out" "BEGIN CERTIFICATE" "thingca ledger show prints the PEM"
$TCA ledger export --format csv > "$T/export.csv"
is "$(wc -l < "$T/export.csv")" "$((total + 1))" "thingca ledger export --format csv: header + every entry"
$TCA ledger export --format json > "$T/export.json"
is "$(jq length "$T/export.json")" "$total" "thingca ledger export --format json"

# --- revocation ---
st=$(tca_post "/v1/certificates/$ID1/revoke" "$S1" '{"reason": "keyCompromise"}')
is "$st/$(jbody .error)" "403/forbidden" "a station may not revoke"
st=$(tca_post "/v1/certificates/$ID1/revoke" "$AD" '{"reason": "keyCompromise", "reissue": false}')
is "$st/$(jbody .event)/$(jbody .certificate_id)/$(jbody .reissue)" "200/revoked/$ID1/false" "revoke without reissue answers the entry"
tca_csr d1b ec:P-256
st=$(tca_post /v1/certificates "$S1" "$(tca_json A-0001 "$T/d1b.csr")")
is "$st/$(jbody .error)" "409/serial_revoked" "the serial stays blocked, even for a new key"
st=$(tca_post /v1/certificates "$S1" "$(tca_json A-0001 "$T/d1.csr")")
is "$st/$(jbody .error)" "409/serial_revoked" "...and for its old key"

out=$($TCA revoke "$ID2" --reason superseded --reissue 2>&1)
is "$?" 0 "thingca revoke with --reissue"
like "$out" "aws iot update-certificate --certificate-id $ID2 --new-status REVOKED" "prints the aws line for the certificate ID"
tca_csr d2b ec:P-256
st=$(tca_post /v1/certificates "$S1" "$(tca_json A-0002 "$T/d2b.csr")")
is "$st" 201 "with reissue, the reworked board gets a certificate for its new key"
st=$(tca_post /v1/certificates "$S1" "$(tca_json A-0002 "$T/d2.csr")")
is "$st/$(jbody .error)" "409/public_key_reused" "the revoked key is never certified again"

# --- CRL ---
is "$(tca_get /v1/crl)" 200 "GET /v1/crl needs no token"
cp "$T/body" "$T/crl.der"
out=$(openssl crl -inform DER -in "$T/crl.der" -CAfile "$T/ca.pem" -noout 2>&1)
like "$out" "verify OK" "openssl crl verifies the CRL with the CA"
crltext=$(openssl crl -inform DER -in "$T/crl.der" -noout -text)
for id in d1 d2; do
	sn=$(openssl x509 -in "$T/$id.pem" -noout -serial 2>/dev/null | cut -d= -f2)
	[ -n "$sn" ] || sn=$(tca_sql "SELECT upper(certificate_serial) FROM ledger WHERE event='issued' AND serial='A-000${id#d}' ORDER BY seq LIMIT 1")
	like "$crltext" "Serial Number: 0*$sn" "the CRL lists revoked certificate of $id"
done
like "$crltext" "Key Compromise" "reason code carried"
like "$crltext" "X509v3 CRL Number" "CRL number present"
like "$crltext" "X509v3 Authority Key Identifier" "CRL AKI present"
n1=$(printf '%s\n' "$crltext" | sed -n '/CRL Number/{n;p}' | tr -d ' ')
st=$(tca_post "/v1/certificates/$ID3/revoke" "$AD" '{"reason": "cessationOfOperation"}')
tca_get /v1/crl "" -H 'Accept: application/x-pem-file' >/dev/null
like "$(head -n 1 "$T/body")" "BEGIN X509 CRL" "PEM CRL on request"
n2=$(openssl crl -in "$T/body" -noout -text | sed -n '/CRL Number/{n;p}' | tr -d ' ')
[ "$n2" -gt "$n1" ] 2>/dev/null && pass "CRL number increases after a revocation ($n1 -> $n2)" || fail "CRL number increases" ">$n1" "$n2"

out=$($TCA ledger verify 2>&1)
is "$?" 0 "ledger verify passes after all of it"
tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
done_testing
