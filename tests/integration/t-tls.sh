#!/bin/sh
# HTTPS listeners: `thingca ca server-cert` makes the daemon's certificate;
# TLS 1.2 and 1.3 only; stations authenticate with a client certificate
# (pinned by SHA-256, or a station CA plus CN) or a token; a listener with
# require_client_cert refuses a token alone.
. "$THINGCA_SRC/tests/integration/lib.sh"

command -v openssl >/dev/null || skip_all "openssl missing"

# station_cert NAME CN CAKEY CAPEM: $T/NAME.key, $T/NAME.pem (clientAuth).
station_cert() {
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$T/client.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -subj "/O=line/CN=$2" -out "$T/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$T/$1.csr" -CA "$4" -CAkey "$3" -CAcreateserial \
		-days 30 -extfile "$T/client.ext" -out "$T/$1.pem" 2>/dev/null
}
# self_ca NAME CN: a self-signed CA $T/NAME.pem, $T/NAME.key.
self_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.pem" -subj "/CN=$2" -days 30 \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

tca_ca ec:P-256

# --- thingca ca server-cert ---
"$BIN/thingca" ca server-cert --ip 127.0.0.1 --dns localhost \
	--ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/server.pem" --out-key "$T/server.key" > "$T/sc.out" 2>&1
is "$?" 0 "ca server-cert succeeds"
is "$(stat -c %a "$T/server.key")" 600 "server key is written 0600"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/server.pem" 2>&1)" "$T/server.pem: OK" "server certificate verifies against the chosen CA"
text=$(openssl x509 -in "$T/server.pem" -noout -text)
like "$(printf '%s\n' "$text" | grep -A1 'Subject Alternative Name' | tail -n 1)" "IP Address:127.0.0.1, DNS:localhost" "SANs hold the IP and DNS name"
like "$(printf '%s\n' "$text" | grep -A1 'Extended Key Usage' | tail -n 1)" "^ *TLS Web Server Authentication$" "extendedKeyUsage serverAuth"
like "$(printf '%s\n' "$text" | grep -A1 'Basic Constraints' | tr -d '\n')" "critical.*CA:FALSE" "basicConstraints critical CA:FALSE"
"$BIN/thingca" ca server-cert --ip 127.0.0.1 --ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/server.pem" --out-key "$T/server.key" > /dev/null 2>&1
is "$?" 1 "ca server-cert refuses to overwrite without --force"
"$BIN/thingca" ca server-cert --dns 'a,DNS:evil' --ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/x.pem" --out-key "$T/x.key" > /dev/null 2>&1
is "$?" 2 "ca server-cert refuses a DNS name with a comma (usage)"

# --- stations: a token, a station CA + CN, a pinned certificate ---
self_ca stca "line station CA"
station_cert st2 line1-station2 "$T/stca.key" "$T/stca.pem"
station_cert st3 line1-station3 "$T/stca.key" "$T/stca.pem"
station_cert wrongcn line9-other "$T/stca.key" "$T/stca.pem"
self_ca rogueca "rogue CA"
station_cert rogue line1-station2 "$T/rogueca.key" "$T/rogueca.pem"
st3_sha=$(openssl x509 -in "$T/st3.pem" -outform DER | sha256sum | cut -d' ' -f1)
cat "$T/ca.pem" "$T/stca.pem" > "$T/client-ca.pem"
ST=$(tca_token line1-station1 station)
cat > "$T/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0",
    {"address": "127.0.0.1:0", "tls": {"certificate": "$T/server.pem", "key": "$T/server.key", "client_ca": "$T/client-ca.pem"}},
    {"address": "127.0.0.1:0", "tls": {"certificate": "$T/server.pem", "key": "$T/server.key", "client_ca": "$T/client-ca.pem", "require_client_cert": true}}],
  "ledger": "$T/ledger.db",
  "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"},
  "serials": {"require_allowlist": false},
  "clients": [$(cat "$T/clients.entries"),
    {"name": "line1-station2", "role": "station", "ca": "$T/stca.pem", "cn": "line1-station2"},
    {"name": "line1-station3", "role": "station", "certificate_sha256": "$st3_sha"}]
}
JSON
tca_start || { fail "thingcad starts with HTTPS listeners"; done_testing; }
pass "thingcad starts with HTTPS listeners"
ports=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log")
P1=$(printf '%s\n' "$ports" | sed -n 2p)
P2=$(printf '%s\n' "$ports" | sed -n 3p)
S1="https://127.0.0.1:$P1"
S2="https://127.0.0.1:$P2"

# hs URL [CURL ARGS]: HTTPS request, prints the status; body in $T/body.
hs() {
	_u=$1
	shift
	curl -s -o "$T/body" -w '%{http_code}' --max-time 30 --cacert "$T/ca.pem" "$@" "$_u"
}

is "$(hs "$S1/healthz")" 200 "HTTPS answers with the server certificate (--cacert)"
is "$(hs "https://localhost:$P1/healthz")" 200 "the DNS SAN matches too"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/healthz")" 200 "the plain listener still serves HTTP"

# --- protocol versions ---
is "$(hs "$S1/healthz" --tlsv1.2 --tls-max 1.2)" 200 "TLS 1.2 works"
is "$(hs "$S1/healthz" --tlsv1.3)" 200 "TLS 1.3 works"
hs "$S1/healthz" --tlsv1.1 --tls-max 1.1 > /dev/null
is "$?" 35 "curl --tls-max 1.1 fails the handshake"
hs "$S1/healthz" --tlsv1 --tls-max 1.0 > /dev/null
is "$?" 35 "curl --tls-max 1.0 fails the handshake"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' 2>&1)
like "$out" "Cipher is \(NONE\)" "openssl s_client -tls1_1 gets no session"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_2 -CAfile "$T/ca.pem" 2>&1)
like "$out" "Cipher is ECDHE-" "openssl s_client -tls1_2 negotiates an ECDHE suite"
out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$P1" -tls1_2 -cipher 'aNULL:eNULL@SECLEVEL=0' 2>&1)
like "$out" "Cipher is \(NONE\)" "anonymous and NULL suites are refused"

# --- JSON API over HTTPS ---
tca_csr d1 ec:P-256
printf '%s' "$(tca_json SN-T1 "$T/d1.csr")" > "$T/req.json"
post() { # URL [CURL ARGS]
	_u=$1
	shift
	hs "$_u/v1/certificates" -H 'Content-Type: application/json' --data-binary @"$T/req.json" "$@"
}
is "$(post "$S1" -H "Authorization: Bearer $ST")" 201 "token over HTTPS issues"
is "$(tca_sql "SELECT client FROM ledger WHERE serial='SN-T1'")" line1-station1 "ledger names the token's station"

tca_csr d2 ec:P-256
printf '%s' "$(tca_json SN-T2 "$T/d2.csr")" > "$T/req.json"
is "$(post "$S1" --cert "$T/st2.pem" --key "$T/st2.key")" 201 "client certificate from the station CA (cn matches) issues without a token"
is "$(tca_sql "SELECT client FROM ledger WHERE serial='SN-T2'")" line1-station2 "ledger names the certificate's station"

tca_csr d3 ec:P-256
printf '%s' "$(tca_json SN-T3 "$T/d3.csr")" > "$T/req.json"
is "$(post "$S2" --cert "$T/st3.pem" --key "$T/st3.key")" 201 "pinned certificate (certificate_sha256) issues on the mTLS-only listener"
is "$(tca_sql "SELECT client FROM ledger WHERE serial='SN-T3'")" line1-station3 "ledger names the pinned station"

tca_csr d4 ec:P-256
printf '%s' "$(tca_json SN-T4 "$T/d4.csr")" > "$T/req.json"
st=$(post "$S2" -H "Authorization: Bearer $ST")
is "$st/$(jbody .error)" 401/unauthorized "a token alone on a require_client_cert listener is refused"
like "$(jbody .message)" "requires a client certificate" "the message says a client certificate is required"
st=$(post "$S2" --cert "$T/wrongcn.pem" --key "$T/wrongcn.key" -H "Authorization: Bearer $ST")
is "$st/$(jbody .error)" 401/unauthorized "station CA certificate with another CN is no client there"
like "$(jbody .message)" "belongs to no configured client" "the message says so"
st=$(post "$S1" --cert "$T/rogue.pem" --key "$T/rogue.key" -H "Authorization: Bearer $ST")
is "$st/$(jbody .error)" 401/unauthorized "a certificate outside client_ca is refused, token or not"
like "$(jbody .message)" "client certificate refused" "the message names the certificate"
st=$(post "$S1")
is "$st/$(jbody .error)" 401/unauthorized "no certificate and no token: 401"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-T4'")" 0 "refused requests leave no ledger entry"
is "$(hs "$S2/v1/ca")" 200 "GET /v1/ca needs no certificate even on the mTLS-only listener"

# --- configuration checks ---
tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
bad_config() { # JSON_CLIENT_ENTRY WANT NAME
	cat > "$T/bad.json" <<JSON
{"listen": ["127.0.0.1:0"], "ledger": "$T/ledger.db",
 "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"}, $1}
JSON
	"$BIN/thingcad" -c "$T/bad.json" > "$T/bad.log" 2>&1 &
	_bp=$!
	wait_until 100 _proc_gone "$_bp"
	kill -KILL $_bp 2>/dev/null
	wait $_bp 2>/dev/null
	like "$(cat "$T/bad.log")" "$2" "$3"
}
bad_config '"clients": [{"name": "s", "role": "station", "ca": "'"$T"'/stca.pem"}]' \
	"clients\[0\]\.cn: required with ca" "ca without cn stops start-up"
bad_config '"clients": [{"name": "s", "role": "station", "ca": "'"$T"'/none.pem", "cn": "s"}]' \
	"clients\[0\]\.ca: .*none\.pem" "an unreadable station CA stops start-up naming the key"
# A client CA that is the issuing CA (or in ca.chain): every device
# certificate chains to it, so a device certificate with the client's CN
# (a station picks the serial) would authenticate as that client.
bad_config '"clients": [{"name": "ops", "role": "admin", "ca": "'"$T"'/ca.pem", "cn": "A-1"}]' \
	"clients\[0\]\.ca: .*/ca\.pem holds the issuing CA's key \(ca\.certificate\)" "the issuing CA as a client CA stops start-up naming the key"
openssl req -x509 -new -key "$T/ca.key" -subj "/CN=thingca test CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out "$T/ca-again.pem" 2>/dev/null
cat "$T/stca.pem" "$T/ca-again.pem" > "$T/mixed-ca.pem"
bad_config '"clients": [{"name": "ops", "role": "admin", "ca": "'"$T"'/mixed-ca.pem", "cn": "A-1"}]' \
	"clients\[0\]\.ca: .*mixed-ca\.pem holds the issuing CA's key" "... also re-issued, second in a file"
cat > "$T/bad.json" <<JSON
{"listen": ["127.0.0.1:0"], "ledger": "$T/ledger.db",
 "ca": {"certificate": "$T/ca.pem", "chain": "$T/stca.pem", "key": "$T/ca.key"},
 "clients": [{"name": "ops", "role": "admin", "ca": "$T/stca.pem", "cn": "A-1"}]}
JSON
timeout 20 "$BIN/thingcad" -c "$T/bad.json" > "$T/bad.log" 2>&1
like "$(cat "$T/bad.log")" "clients\[0\]\.ca: .*stca\.pem holds the issuing CA's key \(a certificate of ca\.chain\)" "a ca.chain certificate as a client CA stops start-up"
bad_config '"clients": [{"name": "s", "role": "station", "certificate_sha256": "ABC"}]' \
	"clients\[0\]\.certificate_sha256: expected 64 lowercase hex" "a bad certificate_sha256 stops start-up"
bad_config '"clients": [{"name": "s", "role": "station", "cert": "x"}]' \
	"clients\[0\]\.cert: unknown key" "unknown client keys stay errors"
bad_config '"est": {"serial_from": "UID"}' \
	'est\.serial_from: must be "serialNumber" or "CN"' "est.serial_from is checked"
cp "$T/stca.key" "$T/other.key" && chmod 600 "$T/other.key"
cat > "$T/bad.json" <<JSON
{"listen": [{"address": "127.0.0.1:0", "tls": {"certificate": "$T/server.pem", "key": "$T/other.key"}}],
 "ledger": "$T/ledger.db", "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"}}
JSON
timeout 20 "$BIN/thingcad" -c "$T/bad.json" > "$T/bad.log" 2>&1
like "$(cat "$T/bad.log")" "tls.certificate .* and tls.key .*other.key" "a key that does not match the certificate stops start-up"
chmod 644 "$T/other.key"
cat > "$T/bad.json" <<JSON
{"listen": [{"address": "127.0.0.1:0", "tls": {"certificate": "$T/server.pem", "key": "$T/other.key"}}],
 "ledger": "$T/ledger.db", "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"}}
JSON
timeout 20 "$BIN/thingcad" -c "$T/bad.json" > "$T/bad.log" 2>&1
like "$(cat "$T/bad.log")" "other.key.*(chmod|group|others)" "a TLS key readable by others stops start-up"

done_testing
