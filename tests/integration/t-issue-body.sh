#!/bin/sh
# The body of POST /v1/certificates is read in one pass when it has the
# shape stations send (lib/api.c fast_issue_body) and by jansson otherwise.
# Both must read the same request: every JSON spelling of one serial and
# one CSR (key order, white space, the escapes \/ \n \t, a \u escape that
# only jansson reads) gets the same certificate, the first 201 and every
# other 200 with the same certificate_id; the shapes the one-pass reader
# leaves to jansson keep their documented refusals.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config '"serials": {"require_allowlist": true}'
tca_import J-1 J-2 || { fail "serials imported"; done_testing; }
tca_start || { fail "thingcad starts"; done_testing; }
tca_csr dev || { fail "CSR made"; done_testing; }
PEM=$(jq -Rs . "$T/dev.csr")          # "-----BEGIN ...\n...\n" as a JSON string
SLASHED=$(printf '%s' "$PEM" | sed 's,/,\\/,g')

# body NAME STATUS JSON: POST it, check the status and the certificate ID.
ID=
body() {
	_st=$(tca_post /v1/certificates "$ST" "$3")
	_id=$(jbody .certificate_id)
	if [ -z "$ID" ] && [ "$_st" = 201 ]; then ID=$_id; fi
	if [ "$_st" = "$2" ] && [ "$_id" = "$ID" ]; then
		pass "$1: $2, same certificate"
	else
		fail "$1" "$2 $ID" "$_st $_id"
		diag "body: $(head -c 300 "$T/body")"
	fi
}

body "compact, serial first" 201 "{\"serial\":\"J-1\",\"csr\":$PEM}"
jbody .certificate > "$T/dev.pem"
like "$(openssl x509 -in "$T/dev.pem" -noout -subject 2>&1)" "CN *= *J-1" \
	"the certificate names the serial"
body "csr first, white space everywhere" 200 \
	"$(printf ' {\n\t"csr" :\t%s ,\r\n  "serial"  :  "J-1" }\n ' "$PEM")"
body "every / of the PEM escaped as \\/" 200 "{\"serial\":\"J-1\",\"csr\":$SLASHED}"
body "the serial with a \\u escape (jansson)" 200 "{\"serial\":\"J-\\u0031\",\"csr\":$PEM}"

# The refusals of the shapes left to jansson and read_json.
refuse() {
	_st=$(tca_post /v1/certificates "$ST" "$3")
	is "$_st $(jbody .error)" "$2" "$1"
}
refuse "an unknown escape" "400 malformed_request" "{\"serial\":\"J\\q1\",\"csr\":$PEM}"
refuse "a third key" "400 malformed_request" "{\"serial\":\"J-2\",\"csr\":$PEM,\"x\":1}"
refuse "a trailing comma" "400 malformed_request" "{\"serial\":\"J-2\",\"csr\":$PEM,}"
refuse "text after the object" "400 malformed_request" "{\"serial\":\"J-2\",\"csr\":$PEM} x"
refuse "the csr missing" "400 malformed_request" '{"serial":"J-2"}'
refuse "a serial with a raw tab" "400 malformed_request" "$(printf '{"serial":"J\t2","csr":%s}' "$PEM")"
refuse "an unterminated string" "400 malformed_request" '{"serial":"J-2","csr":"abc'
refuse "a serial with \\u0000" "400 serial_invalid" "{\"serial\":\"J-2\\u0000\",\"csr\":$PEM}"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE event = 'issued'")" 1 \
	"one issued entry in the ledger"
tca_stop
done_testing
