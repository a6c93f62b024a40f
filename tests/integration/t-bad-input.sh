#!/bin/sh
# Hostile input: one catalogue of bad requests, each answered with its
# documented status and error code (DESIGN.md "HTTP API", README), every
# answer a JSON object {"error", "message"} of two strings, and the ledger
# (row count, newest seq and hash) unchanged by every one of them.
# Attacks that are more than one bad request have their own tests:
# t-batch-fail (answers of a batch whose commit failed), t-observability
# (/metrics costs the ledger nothing per scrape), t-csv (formula cells in
# CSV), t-est (an admin's "superseded" re-enrolling), t-tls (the issuing CA
# as a client CA), t-slow-clients (trickling writers and slow readers),
# t-enroll-check (a lying server), t-revoke-reasons (CRL reasons).
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
MAXB=65536
tca_config "\"limits\": {\"max_body_bytes\": $MAXB}"
tca_start || { fail "thingcad starts"; done_testing; }
allow B-0001 B-0002 B-0003 B-0004 K-1 K-2 K-3 K-4 K-5 K-6 K-7 K-8 K-9 K-10 $(seq -f 'W-%g' 1 16) || { fail "serials allowlisted"; done_testing; }
C=$T/cases
mkdir -p "$C"

# ---------------------------------------------------------------- assertions
# shape FILE: "json" when FILE is exactly {"error": string, "message": string}
shape() {
	jq -e 'type == "object" and (keys == ["error", "message"]) and
		(.error | type == "string") and (.message | type == "string") and
		(.message | length > 0)' "$1" >/dev/null 2>&1 && echo json || echo not-json
}
ORIG=$(ledger_state)
BEFORE=$ORIG
# verdict NAME STATUS CODE GOTSTATUS BODYFILE: one TAP line per case: status,
# code, body shape and ledger unchanged.
verdict() {
	_err=$(jq -r '.error // empty' "$5" 2>/dev/null)
	_now=$(ledger_state)
	_l=same; [ "$_now" = "$BEFORE" ] || _l="changed($_now)"
	if [ "$4 $_err $(shape "$5") $_l" = "$2 $3 json same" ]; then
		pass "$1: $2 $3"
	else
		fail "$1" "$2 $3 json same" "$4 ${_err:-?} $(shape "$5") $_l"
		diag "body: $(head -c 300 "$5" | tr -c '[:print:]' '.')"
	fi
	BEFORE=$_now
}
# post NAME STATUS CODE BODYFILE [PATH [TOKEN [CURL ARGS...]]]: POST with
# Content-Type: application/json unless CURL ARGS set another.
post() {
	_hn=$1 _hs=$2 _hc=$3 _hf=$4 _hp=${5:-/v1/certificates} _ht=${6:-$ST}
	shift 4; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
	_ct='Content-Type: application/json'
	case "$*" in *Content-Type*) _ct='X-Dummy: 1' ;; esac
	_st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 \
		-H "Authorization: Bearer $_ht" -H "$_ct" \
		--data-binary @"$_hf" "$@" "$URL$_hp")
	verdict "$_hn" "$_hs" "$_hc" "$_st" "$T/body"
}
# postj NAME STATUS CODE JSON: POST /v1/certificates with that literal body.
postj() { printf '%s' "$4" > "$C/b"; post "$1" "$2" "$3" "$C/b"; }
# csrcase NAME STATUS CODE CSRFILE [SERIAL]
csrcase() {
	jq -n --arg s "${5-B-0001}" --rawfile c "$4" '{serial: $s, csr: $c}' > "$C/b"
	post "$1" "$2" "$3" "$C/b"
}
# raw NAME STATUS CODE: sends the request in $C/req byte for byte (no
# pipeline: a subshell would lose the test count).
raw() {
	$RAW req "$PORT" 10 < "$C/req" > "$T/rawresp"
	_st=$(head -n 1 "$T/rawresp" | cut -d' ' -f2)
	sed '1,/^\r$/d' "$T/rawresp" > "$T/body"
	verdict "$1" "$2" "$3" "${_st:-none}" "$T/body"
}
# get NAME STATUS CODE PATH [TOKEN]
get() {
	_tok=${5-$AU}
	_st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 --path-as-is \
		${_tok:+-H} ${_tok:+"Authorization: Bearer $_tok"} "$URL$4")
	verdict "$1" "$2" "$3" "$_st" "$T/body"
}

# ------------------------------------------------------------ test material
tca_csr good ec:P-256
GOODPEM=$(cat "$T/good.csr")
openssl req -in "$T/good.csr" -outform DER -out "$T/good.der"

# --- PEM and CSR -----------------------------------------------------------
printf '%s\n' '-----BEGIN CERTIFICATE REQUEST-----' 'this is not base64 !!!' \
	'-----END CERTIFICATE REQUEST-----' > "$C/notb64.csr"
csrcase "PEM armour around text that is not base64" 400 malformed_csr "$C/notb64.csr"
n=$(wc -l < "$T/good.csr")
head -n $((n / 2)) "$T/good.csr" > "$C/half.csr"
csrcase "PEM truncated in the middle" 400 malformed_csr "$C/half.csr"
head -n $((n - 1)) "$T/good.csr" > "$C/noend.csr"
csrcase "PEM without its END line" 400 malformed_csr "$C/noend.csr"
sed '2d' "$T/good.csr" > "$C/lineout.csr"
csrcase "PEM with a base64 line left out" 400 malformed_csr "$C/lineout.csr"
{ echo '-----BEGIN CERTIFICATE REQUEST-----'
  head -c 300 /dev/urandom | base64 -w 64
  echo '-----END CERTIFICATE REQUEST-----'; } > "$C/garbage.csr"
csrcase "random bytes, well base64-encoded, inside PEM armour" 400 malformed_csr "$C/garbage.csr"
{ echo '-----BEGIN CERTIFICATE REQUEST-----'
  head -c 100 "$T/good.der" | base64 -w 64
  echo '-----END CERTIFICATE REQUEST-----'; } > "$C/cutder.csr"
csrcase "PEM of a DER cut short" 400 malformed_csr "$C/cutder.csr"
{ echo '-----BEGIN CERTIFICATE REQUEST-----'
  { cat "$T/good.der"; printf 'trailing'; } | base64 -w 64
  echo '-----END CERTIFICATE REQUEST-----'; } > "$C/trailder.csr"
csrcase "PEM of a DER with bytes after it" 400 malformed_csr "$C/trailder.csr"
# DER where PEM is expected: raw bytes make the JSON invalid UTF-8; the same
# bytes as \u00XX escapes make a JSON string that is not PEM.
{ printf '{"serial":"B-0001","csr":"'; cat "$T/good.der"; printf '"}'; } > "$C/rawder.json"
post "raw DER bytes in the JSON string" 400 malformed_request "$C/rawder.json"
od -An -v -tx1 "$T/good.der" | tr -s ' \n' '  ' | sed 's/ *$//; s/^ *//; s/ /\n/g' |
	awk 'BEGIN { printf "{\"serial\":\"B-0001\",\"csr\":\"" } { printf "\\u00%s", $1 } END { printf "\"}" }' > "$C/escder.json"
post "DER bytes (as JSON u00XX escapes) instead of PEM" 400 malformed_csr "$C/escder.json"
base64 -w 0 "$T/good.der" > "$C/b64only.csr"
csrcase "base64 of the DER without PEM armour" 400 malformed_csr "$C/b64only.csr"
tca_csr good2 ec:P-256
cat "$T/good.csr" "$T/good2.csr" > "$C/two.csr"
csrcase "two CSR PEM blocks" 400 malformed_csr "$C/two.csr"
{ cat "$T/good.csr"; echo 'some text after the block'; } > "$C/after.csr"
csrcase "text after the END line" 400 malformed_csr "$C/after.csr"
csrcase "a certificate PEM instead of a CSR" 400 malformed_csr "$T/ca.pem"
csrcase "a private key PEM instead of a CSR" 400 malformed_csr "$T/good.key"
{ echo '-----BEGIN CERTIFICATE REQUEST-----'; echo 'Proc-Type: 4,ENCRYPTED'; echo
  sed '1d' "$T/good.csr"; } > "$C/hdr.csr"
csrcase "PEM with RFC 1421 headers" 400 malformed_csr "$C/hdr.csr"
printf '   \n\t' > "$C/blank.csr"
csrcase "CSR of whitespace only" 400 malformed_csr "$C/blank.csr"
: > "$C/empty.csr"
csrcase "empty CSR string" 400 malformed_csr "$C/empty.csr"

# Bad signatures: a bit flipped in the signature, and one in the signed part.
len=$(stat -c %s "$T/good.der")
flip() { # flip FILE OFFSET OUTPEM
	cp "$1" "$C/flip.der"
	_b=$(od -An -tu1 -j "$2" -N1 "$C/flip.der" | tr -d ' ')
	printf "$(printf '\\%03o' $((_b ^ 1)))" | dd of="$C/flip.der" bs=1 seek="$2" conv=notrunc 2>/dev/null
	openssl req -inform DER -in "$C/flip.der" -out "$3" 2>/dev/null ||
		{ echo '-----BEGIN CERTIFICATE REQUEST-----'; base64 -w 64 "$C/flip.der"; echo '-----END CERTIFICATE REQUEST-----'; } > "$3"
}
flip "$T/good.der" $((len - 5)) "$C/badsig.csr"
csrcase "CSR signature with a flipped bit" 400 csr_signature_invalid "$C/badsig.csr"
# The subject CN's last byte sits just before the SubjectPublicKeyInfo; flip
# a byte of the CN "good" (found by its offset in the DER).
off=$(grep -obUaP 'good' "$T/good.der" | head -n 1 | cut -d: -f1)
if [ -n "$off" ]; then
	flip "$T/good.der" "$off" "$C/badtbs.csr"
	csrcase "CSR whose signed subject was altered" 400 csr_signature_invalid "$C/badtbs.csr"
else fail "CSR whose signed subject was altered" "CN found in DER" "not found"; fi
# A CSR carrying the public key of one key pair, signed by another: rebuild
# the request by hand (perl splices the SPKI of key 2 into request 1).
openssl pkey -in "$T/good2.key" -pubout -outform DER -out "$C/pub2.der" 2>/dev/null
openssl pkey -in "$T/good.key" -pubout -outform DER -out "$C/pub1.der" 2>/dev/null
perl -e 'local $/; open F, "<", $ARGV[0]; binmode F; my $d = <F>; open A, "<", $ARGV[1]; binmode A; my $a = <A>; open B, "<", $ARGV[2]; binmode B; my $b = <B>; my $i = index($d, $a); die "spki not found\n" if $i < 0 || length $a != length $b; substr($d, $i, length $a) = $b; binmode STDOUT; print $d' \
	"$T/good.der" "$C/pub1.der" "$C/pub2.der" > "$C/swap.der" 2>/dev/null &&
	{ echo '-----BEGIN CERTIFICATE REQUEST-----'; base64 -w 64 "$C/swap.der"; echo '-----END CERTIFICATE REQUEST-----'; } > "$C/swap.csr"
csrcase "CSR whose public key is not the one that signed it" 400 csr_signature_invalid "$C/swap.csr"

# Keys AWS IoT (and profile.key_types) refuse.
# Each on its own allowlisted serial: one wrongly issued does not hide the next.
kn=0
keycase() { # keycase NAME GENPKEY-ARGS...
	_name=$1; shift
	kn=$((kn + 1))
	if openssl genpkey "$@" -out "$C/k.key" 2>/dev/null &&
		openssl req -new -key "$C/k.key" -subj /CN=k -out "$C/k.csr" 2>/dev/null; then
		csrcase "$_name key" 422 key_type_not_allowed "$C/k.csr" "K-$kn"
	else
		pass "$_name key # SKIP openssl cannot make one here"
	fi
}
keycase RSA-1024 -algorithm RSA -pkeyopt rsa_keygen_bits:1024
keycase RSA-2056 -algorithm RSA -pkeyopt rsa_keygen_bits:2056
keycase Ed25519 -algorithm ED25519
keycase Ed448 -algorithm ED448
keycase secp256k1 -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1
keycase brainpoolP256r1 -algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1
keycase P-521 -algorithm EC -pkeyopt ec_paramgen_curve:P-521
keycase "P-256 with explicit curve parameters" -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:explicit
if openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out "$C/dsa.param" 2>/dev/null; then
	keycase DSA-1024 -paramfile "$C/dsa.param"
else pass "DSA key # SKIP openssl cannot make DSA parameters"; fi

# Keys encoded as no key generator writes them (400: junk or 10 KB of
# rsaEncryption parameters, bytes after the RSAPublicKey, long-form or
# padded INTEGERs, non-minimal lengths) and RSA keys no generator makes
# (422, CA/B Forum BR 6.1.6: e = 1, 3, 65535, even, over 2^256-1; a prime,
# square or small-factor modulus), each self-signed validly: fixtures of
# tests/data/csr (README). Re-encodings of one key (compressed point, RSA
# without parameters) count as that key: t-canonical-key.sh.
wn=0
for f in enc-rsa-junkparams enc-rsa-bigparams enc-rsa-trailing enc-rsa-longint \
	enc-rsa-padded enc-rsa-longseq enc-p256-longlen; do
	wn=$((wn + 1))
	csrcase "key encoding $f" 400 malformed_csr "$SRC/tests/data/csr/$f.csr" "W-$wn"
done
for f in weak-rsa-e1 weak-rsa-e3 weak-rsa-e65535 weak-rsa-even weak-rsa-ebig \
	weak-rsa-prime weak-rsa-square weak-rsa-factor3 weak-rsa-factor751; do
	wn=$((wn + 1))
	csrcase "RSA key $f" 422 key_type_not_allowed "$SRC/tests/data/csr/$f.csr" "W-$wn"
done

# Order of the rules: a bad serial is reported before a bad CSR.
csrcase "bad serial and bad CSR: serial first" 400 serial_invalid "$C/garbage.csr" "B 0001"
csrcase "unknown serial and bad CSR: serial first" 404 serial_unknown "$C/garbage.csr" "B-9999"

# --- serials ---------------------------------------------------------------
big=$(head -c 10240 /dev/zero | tr '\0' 'A')
csrcase "serial of 10 KB" 400 serial_invalid "$T/good.csr" "$big"
csrcase "serial of 65 characters" 400 serial_invalid "$T/good.csr" "$(head -c 65 /dev/zero | tr '\0' 'A')"
csrcase "empty serial" 400 serial_invalid "$T/good.csr" ""
for esc in 'u0000:NUL' 'n:newline' 't:tab' 'r:carriage return' 'u001b:ESC' 'u007f:DEL' 'u0020:space' '/:slash' '%00:percent-encoded NUL'; do
	case ${esc%%:*} in u*|n|t|r) e="\\${esc%%:*}" ;; *) e=${esc%%:*} ;; esac
	printf '{"serial":"B-00%s01","csr":%s}' "$e" "$(jq -Rs . "$T/good.csr")" > "$C/b"
	post "serial with ${esc#*:} inside" 400 serial_invalid "$C/b"
done
printf '{"serial":"B-0001\\u0000","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "allowlisted serial followed by a NUL escape" 400 serial_invalid "$C/b"
printf '{"serial":"B-00\\u00e901","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "serial with e-acute (JSON escape)" 400 serial_invalid "$C/b"
printf '{"serial":"B-00\303\25101","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "serial with e-acute (raw UTF-8)" 400 serial_invalid "$C/b"
printf '{"serial":"B-00\357\274\22101","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "serial with a fullwidth digit (U+FF11)" 400 serial_invalid "$C/b"
printf '{"serial":"B\342\200\22201","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "serial with a non-ASCII hyphen (U+2011)" 400 serial_invalid "$C/b"

# --- not UTF-8, not JSON, wrong JSON -------------------------------------------
printf '{"serial":"B-00\377\37701","csr":%s}' "$(jq -Rs . "$T/good.csr")" > "$C/b"
post "raw 0xff bytes in the serial" 400 malformed_request "$C/b"
printf '{"serial":"B-0001","csr":"\377%s"}' "x" > "$C/b"
post "raw 0xff byte in the CSR string" 400 malformed_request "$C/b"
printf '{"serial":"B-00\300\26101","csr":"x"}' > "$C/b"
post "overlong UTF-8 (0xc0 0xb1)" 400 malformed_request "$C/b"
printf '{"serial":"B-00\355\240\20001","csr":"x"}' > "$C/b"
post "UTF-8-encoded surrogate (0xed 0xa0 0x80)" 400 malformed_request "$C/b"
postj "lone surrogate escape (ud800)" 400 malformed_request '{"serial":"B-00\ud80001","csr":"x"}'
printf '\357\273\277{"serial":"B-0001","csr":"x"}' > "$C/b"
post "UTF-8 byte order mark before the JSON" 400 malformed_request "$C/b"
postj "duplicate key serial" 400 malformed_request "{\"serial\":\"B-0001\",\"serial\":\"B-0002\",\"csr\":$(jq -Rs . "$T/good.csr")}"
postj "duplicate key csr" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$(jq -Rs . "$T/good2.csr"),\"csr\":$(jq -Rs . "$T/good.csr")}"
{ printf '{"serial":"B-0001","csr":'; head -c 10000 /dev/zero | tr '\0' '['; head -c 10000 /dev/zero | tr '\0' ']'; printf '}'; } > "$C/b"
post "10,000 levels of nested arrays" 400 malformed_request "$C/b"
{ head -c 10000 /dev/zero | sed 's/\x0/{"a":/g'; printf '1'; head -c 10000 /dev/zero | tr '\0' '}'; } > "$C/b"
post "10,000 levels of nested objects" 400 malformed_request "$C/b"
P=$(jq -Rs . "$T/good.csr")
postj "serial as a number" 400 malformed_request "{\"serial\":1,\"csr\":$P}"
postj "serial as a huge number" 400 malformed_request "{\"serial\":1e999999,\"csr\":$P}"
postj "serial as true" 400 malformed_request "{\"serial\":true,\"csr\":$P}"
postj "serial as null" 400 malformed_request "{\"serial\":null,\"csr\":$P}"
postj "serial as an array" 400 malformed_request "{\"serial\":[\"B-0001\"],\"csr\":$P}"
postj "serial as an object" 400 malformed_request "{\"serial\":{\"s\":\"B-0001\"},\"csr\":$P}"
postj "csr as a number" 400 malformed_request '{"serial":"B-0001","csr":0}'
postj "csr as false" 400 malformed_request '{"serial":"B-0001","csr":false}'
postj "csr as null" 400 malformed_request '{"serial":"B-0001","csr":null}'
postj "csr as an array of lines" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$(jq -R . "$T/good.csr" | jq -sc .)}"
: > "$C/b"
post "empty body" 400 malformed_request "$C/b"
postj "body null" 400 malformed_request 'null'
postj "body true" 400 malformed_request 'true'
postj "body a string" 400 malformed_request '"B-0001"'
postj "body a number" 400 malformed_request '42'
postj "body []" 400 malformed_request '[]'
postj "body {}" 400 malformed_request '{}'
postj "body with two JSON objects" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$P}{}"
postj "body with trailing garbage" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$P} x"
postj "single quotes" 400 malformed_request "{'serial':'B-0001','csr':'x'}"
postj "trailing comma" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$P,}"
postj "comment in JSON" 400 malformed_request "{/* c */\"serial\":\"B-0001\",\"csr\":$P}"
postj "NaN" 400 malformed_request '{"serial":NaN,"csr":"x"}'
postj "field names in another case" 400 malformed_request "{\"Serial\":\"B-0001\",\"CSR\":$P}"
postj "extra field" 400 malformed_request "{\"serial\":\"B-0001\",\"csr\":$P,\"thing_name\":\"admin\"}"
printf '{"serial":"B-0001","csr":%s,"x\000y":1}' "$P" > "$C/b"
post "raw NUL byte in the body" 400 malformed_request "$C/b"

# --- sizes -----------------------------------------------------------------
# A CSR string over the CSR limit (32 KiB of PEM) in a body under the cap.
{ cat "$T/good.csr"; head -c 40000 /dev/zero | tr '\0' ' '; } > "$C/fat.csr"
csrcase "CSR string of 40 KB (body under max_body_bytes)" 400 malformed_csr "$C/fat.csr"
# A body exactly one byte over the cap (whitespace padding keeps it JSON).
body=$(jq -nc --rawfile c "$T/good.csr" '{serial: "B-0002", csr: $c}')
pad=$((MAXB + 1 - ${#body}))
{ printf '%s' "$body"; head -c $pad /dev/zero | tr '\0' ' '; } > "$C/over.json"
is "$(stat -c %s "$C/over.json")" $((MAXB + 1)) "(test body is max_body_bytes + 1 bytes)"
post "body of max_body_bytes + 1" 413 payload_too_large "$C/over.json"
post "body of max_body_bytes + 1, chunked" 413 payload_too_large "$C/over.json" /v1/certificates "$ST" -H 'Transfer-Encoding: chunked'
head -c 1000000 /dev/zero | tr '\0' ' ' > "$C/mega.json"
post "1 MB chunked body" 413 payload_too_large "$C/mega.json" /v1/certificates "$ST" -H 'Transfer-Encoding: chunked'
printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999999999\r\n\r\n{}' "$ST" > "$C/req"
$RAW req "$PORT" 10 < "$C/req" > "$T/rawresp"
# MHD refuses a Content-Length it cannot parse before the application sees
# the request, with its own HTML body: only the status can be asserted.
is "$(head -n 1 "$T/rawresp" | cut -d' ' -f2)" 413 "Content-Length beyond 64 bits: 413 (answered by MHD itself)"
is "$(ledger_state)" "$BEFORE" "... ledger unchanged"
printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 18446744073709551615\r\n\r\n{}' "$ST" > "$C/req"
raw "Content-Length 2^64-1" 413 payload_too_large
printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{}' "$ST" $((MAXB + 1)) > "$C/req"
raw "Content-Length max_body_bytes + 1 (body never sent)" 413 payload_too_large
# Chunked, by hand: 40 chunks of 2 KB = 80 KB over the 64 KiB cap.
{ printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' "$ST"
  i=0; while [ $i -lt 40 ]; do printf '800\r\n'; head -c 2048 /dev/zero | tr '\0' ' '; printf '\r\n'; i=$((i + 1)); done
  printf '0\r\n\r\n'; } > "$C/req"
raw "chunked body over the cap (raw)" 413 payload_too_large

# Requests MHD refuses before the application sees them (its own HTML
# bodies): only the status is asserted; the daemon must stay up.
mhd_status() { # mhd_status NAME WANT
	$RAW req "$PORT" 10 < "$C/req" > "$T/rawresp"
	is "$(head -n 1 "$T/rawresp" | cut -d' ' -f2)" "$2" "$1: $2 (answered by MHD itself)"
}
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n' "$(head -c 40000 /dev/zero | tr '\0' a)" > "$C/req"
mhd_status "a 40 KB header" 431
printf 'GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n' > "$C/req"
mhd_status "HTTP/9.9" 505
printf 'GARBAGE\r\n\r\n' > "$C/req"
$RAW req "$PORT" 10 < "$C/req" > "$T/rawresp"
gst=$(head -n 1 "$T/rawresp" | cut -d' ' -f2)
case "$gst" in
""|[45][0-9][0-9]) pass "a request line of garbage: refused or closed, never served (${gst:-closed})" ;;
*) fail "a request line of garbage: refused or closed, never served" "4xx, 5xx or closed" "$gst" ;;
esac
is "$(ledger_state)" "$BEFORE" "... ledger unchanged by these"

# --- media types -----------------------------------------------------------
printf '%s' "$(jq -nc --rawfile c "$T/good.csr" '{serial: "B-0001", csr: $c}')" > "$C/good.json"
post "Content-Type: text/plain" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: text/plain'
post "Content-Type: application/x-www-form-urlencoded" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: application/x-www-form-urlencoded'
post "Content-Type: multipart/form-data" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: multipart/form-data; boundary=x'
post "Content-Type: application/jsonp" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: application/jsonp'
post "Content-Type: application/json-seq" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: application/json-seq'
post "Content-Type: application/x-pem-file" 415 unsupported_media_type "$C/good.json" /v1/certificates "$ST" -H 'Content-Type: application/x-pem-file'
post "POST /v1/serials as form data" 415 unsupported_media_type "$C/good.json" /v1/serials "$AD" -H 'Content-Type: application/x-www-form-urlencoded'

# --- methods and paths -------------------------------------------------------
for m in PUT DELETE PATCH OPTIONS TRACE FOO; do
	_st=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' --max-time 10 -X "$m" \
		-H "Authorization: Bearer $ST" "$URL/v1/certificates")
	verdict "$m /v1/certificates" 405 method_not_allowed "$_st" "$T/body"
	like "$(grep -i '^allow:' "$T/hdr" | tr -d '\r')" '^[Aa]llow: POST$' "... with Allow: POST"
done
for m in POST PUT DELETE; do
	_st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -X "$m" -H "Authorization: Bearer $AU" "$URL/v1/ledger")
	verdict "$m /v1/ledger" 405 method_not_allowed "$_st" "$T/body"
done
get "GET /v1/nope" 404 not_found /v1/nope
get "GET /" 404 not_found /
get "GET /v2/certificates" 404 not_found /v2/certificates
get "GET /v1/certificates/<not hex>" 404 not_found "/v1/certificates/$(printf 'z%.0s' $(seq 1 64))"
get "GET /v1/certificates/<63 hex>" 404 not_found "/v1/certificates/$(printf '0%.0s' $(seq 1 63))"
get "GET /v1/certificates/<65 hex>" 404 not_found "/v1/certificates/$(printf '0%.0s' $(seq 1 65))"
get "GET /v1/certificates/<unknown id>" 404 not_found "/v1/certificates/$(printf '0%.0s' $(seq 1 64))"
get "GET /v1/certificates/<id>/extra" 404 not_found "/v1/certificates/$(printf '0%.0s' $(seq 1 64))/extra"
get "GET /v1/certificates/../ledger" 404 not_found /v1/certificates/../ledger
get "GET /v1/../v1/ledger" 404 not_found /v1/../v1/ledger
get "GET /v1/ledger/.." 404 not_found /v1/ledger/..
get "GET /v1/%2e%2e/v1/ledger" 404 not_found /v1/%2e%2e/v1/ledger
get "GET //v1/ledger" 404 not_found //v1/ledger
get "GET /v1/ledger/" 404 not_found /v1/ledger/
get "GET /v1/LEDGER" 404 not_found /v1/LEDGER
get "GET a path of 8000 characters" 404 not_found "/v1/$(head -c 8000 /dev/zero | tr '\0' 'a')"
printf 'GET /v1/ledger%%00/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$AU" > "$C/req"
raw "GET /v1/ledger%00/x (encoded NUL)" 404 not_found
printf 'POST /v1/certificates%%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
	"$ST" "$(stat -c %s "$C/good.json")" "$(cat "$C/good.json")" > "$C/req"
raw "POST /v1/certificates%00 (encoded NUL)" 404 not_found
printf 'GET ../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' > "$C/req"
raw "request target not starting with /" 404 not_found

# --- GET /v1/ledger query strings (auditor) ---------------------------------------
for q in limit=0 limit=5000 limit=1001 limit=-1 limit=abc limit=1e3 limit= 'limit=10%00' \
	after=-5 after=x since=garbage since=2026-13-45T00:00:00Z 'since=2026-01-01' \
	until=yesterday event=deleted event= unknown=1 'serial=B-0001&bogus=' 'limit=10&sort=desc' \
	since=0999-01-01T00:00:00Z until=0999-01-01T00:00:00Z since=1969-12-31T23:59:59Z \
	'since=1970-01-01T00:30:00%2B01:00'; do
	get "GET /v1/ledger?$q" 400 malformed_request "/v1/ledger?$q"
done
get "GET /v1/ledger without a token" 401 unauthorized /v1/ledger ""
get "GET /v1/ledger with a station token" 403 forbidden /v1/ledger "$ST"

# --- authentication oddities ----------------------------------------------
csrtok() { # csrtok NAME AUTHVALUE
	_st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -H "Authorization: $2" \
		-H 'Content-Type: application/json' --data-binary @"$C/good.json" "$URL/v1/certificates")
	verdict "$1" 401 unauthorized "$_st" "$T/body"
}
csrtok "empty Bearer token" "Bearer "
csrtok "token of 8 KB" "Bearer $(head -c 8192 /dev/zero | tr '\0' 'x')"
csrtok "station token with a suffix" "Bearer ${ST}x"
csrtok "station token truncated" "Bearer $(printf '%s' "$ST" | cut -c 2-)"
csrtok "lowercase scheme twice" "Bearer Bearer $ST"

# --- other routes with bad bodies ----------------------------------------------
printf '{"serials":["ok-1","bad serial"]}' > "$C/b"
post "POST /v1/serials with one bad serial (all or none)" 400 serial_invalid "$C/b" /v1/serials "$AD"
printf '{"serials":["ok-2","\\u0000"]}' > "$C/b"
post "POST /v1/serials with a NUL serial" 400 serial_invalid "$C/b" /v1/serials "$AD"
printf '{"serials":["ok-3","%s"]}' "$big" > "$C/b"
post "POST /v1/serials with a 10 KB serial" 400 serial_invalid "$C/b" /v1/serials "$AD"
printf '{"serials":[]}' > "$C/b"
post "POST /v1/serials with no serials" 400 malformed_request "$C/b" /v1/serials "$AD"
printf '{"serials":"ok-4"}' > "$C/b"
post "POST /v1/serials with a string" 400 malformed_request "$C/b" /v1/serials "$AD"
printf '{"serials":[1,2]}' > "$C/b"
post "POST /v1/serials with numbers" 400 serial_invalid "$C/b" /v1/serials "$AD"
printf '{"serials":["ok-5"],"batch":""}' > "$C/b"
post "POST /v1/serials with an empty batch" 400 malformed_request "$C/b" /v1/serials "$AD"
printf '{"serials":["ok-6"],"batch":"%s"}' "$(head -c 200 /dev/zero | tr '\0' b)" > "$C/b"
post "POST /v1/serials with a 200-byte batch" 400 malformed_request "$C/b" /v1/serials "$AD"
ZID=$(printf '0%.0s' $(seq 1 64))
printf '{"reason":"superseded","reissue":"yes"}' > "$C/b"
post "revoke with reissue as a string" 400 malformed_request "$C/b" "/v1/certificates/$ZID/revoke" "$AD"
printf '{"reason":"%s"}' "$(head -c 300 /dev/zero | tr '\0' r)" > "$C/b"
post "revoke with a 300-byte reason" 400 malformed_request "$C/b" "/v1/certificates/$ZID/revoke" "$AD"
# RFC 5280 5.3.1 names only: a typo would drop the CRL's reasonCode.
for r in keyCompromize stolen certificateHold removeFromCRL "key compromise" ""; do
	printf '{"reason":"%s"}' "$r" > "$C/b"
	post "revoke with reason '$r'" 400 malformed_request "$C/b" "/v1/certificates/$ZID/revoke" "$AD"
done
printf '{"reason":"keyCompromise\\u0000"}' > "$C/b"
post "revoke with a NUL in the reason" 400 malformed_request "$C/b" "/v1/certificates/$ZID/revoke" "$AD"
printf '{"reason":"keyCompromise"}' > "$C/b"
post "revoke an unknown certificate" 404 not_found "$C/b" "/v1/certificates/$ZID/revoke" "$AD"

# --- unauthenticated floods ---------------------------------------------------
# /metrics: 40 scrapes at once run at most one computation of its gauges.
gauges() { tca_get /metrics > /dev/null; sed -n 's/^thingca_gauges_computations_total //p' "$T/body"; }
c0=$(gauges)
curl -s --parallel --parallel-max 40 --max-time 20 $(for i in $(seq 1 40); do printf -- '-o /dev/null %s/metrics ' "$URL"; done) 2>/dev/null
c1=$(gauges)
if [ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -le 1 ]; then pass "40 scrapes of /metrics at once: at most one gauge computation ($c0 -> $c1)"
else fail "40 scrapes of /metrics at once: at most one gauge computation" "$c0 -> <= $((c0 + 1))" "$c0 -> $c1"; fi

is "$(ledger_state)" "$ORIG" "the whole catalogue left the ledger as it was (rows|seq|hash)"
st=$(tca_get /healthz)
is "$st" 200 "the daemon still serves after the catalogue"
alive "$PID" && pass "thingcad is still running" || fail "thingcad is still running" running dead

# --- just inside the limits: accepted --------------------------------------------
body=$(jq -nc --rawfile c "$T/good.csr" '{serial: "B-0003", csr: $c}')
pad=$((MAXB - ${#body}))
{ printf '%s' "$body"; head -c $pad /dev/zero | tr '\0' ' '; } > "$C/exact.json"
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $ST" \
	-H 'Content-Type: application/json; charset=utf-8' --data-binary @"$C/exact.json" "$URL/v1/certificates")
is "$st" 201 "a body of exactly max_body_bytes (charset parameter) is issued"
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $ST" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary "$(jq -nc --rawfile c "$T/good2.csr" '{serial: "B-0004", csr: $c}')" "$URL/v1/certificates")
is "$st" 201 "a chunked body under the cap is issued"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE event='issued'")" 2 "the ledger holds exactly those two issuances"
"$BIN/thingca" ledger verify --ledger "$T/ledger.db" > "$T/verify.out" 2>&1
is "$?" 0 "thingca ledger verify passes"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
done_testing
