#!/bin/sh
# A CA key file encrypted as PKCS#8 (openssl genpkey -aes-256-cbc): thingcad
# decrypts it at start with ca.key_passphrase_file or the systemd credential
# $CREDENTIALS_DIRECTORY/ca.passphrase, and refuses a wrong, missing or
# world-readable passphrase with a message saying which.
. "$THINGCA_SRC/tests/integration/lib.sh"

PASS=tca-pass-8c2d71
printf '%s\n' "$PASS" > "$T/pass"
chmod 600 "$T/pass"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
	-pass "file:$T/pass" -out "$T/ca.key" 2>/dev/null
chmod 600 "$T/ca.key"
like "$(head -n 1 "$T/ca.key")" "BEGIN ENCRYPTED PRIVATE KEY" "the CA key is an encrypted PKCS#8 file"
openssl req -new -x509 -key "$T/ca.key" -passin "file:$T/pass" -days 3650 \
	-subj "/O=thingca test/CN=encrypted-key CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out "$T/ca.pem" 2>/dev/null
[ -s "$T/ca.pem" ] || { fail "made the CA certificate"; done_testing; }

ST=$(tca_token line1 station)

# enc_config FILE [PASSFILE]: ca.key_passphrase_file = PASSFILE (none when empty).
enc_config() {
	_pf=
	[ -n "${2:-}" ] && _pf=", \"key_passphrase_file\": \"$2\""
	cat > "$1" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$T/ledger.db",
  "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"$_pf},
  "clients": [$(paste -sd, "$T/clients.entries")]
}
JSON
}

# start_fails CONFIG NAME REGEX: refused at start, the passphrase never logged.
start_fails() { tca_start_fails "$1" "$2" "$3" "$PASS"; }

# issue_ok SERIAL NAME: one issuance that openssl verify accepts.
issue_ok() {
	tca_csr "$1" ec:P-256
	_st=$(tca_post /v1/certificates "$ST" "$(tca_json "$1" "$T/$1.csr")")
	is "$_st" 201 "$2: issues a certificate"
	jbody .certificate > "$T/$1.crt"
	is "$(openssl verify -CAfile "$T/ca.pem" "$T/$1.crt" 2>&1)" "$T/$1.crt: OK" "$2: openssl verify accepts it"
}

# --- the right passphrase ---
enc_config "$T/thingca.json" "$T/pass"
if tca_start; then
	pass "thingcad starts with the encrypted key and ca.key_passphrase_file"
	tca_import SN-E1 SN-E2 SN-E3
	issue_ok SN-E1 "passphrase file"
	is "$(tca_get /readyz)" 200 "/readyz is 200"
	tca_stop
	is "$STOP_RC" 0 "thingcad stops cleanly"
else
	fail "thingcad starts with the encrypted key and ca.key_passphrase_file"
fi

# --- refusals at start ---
printf 'not-the-passphrase\n' > "$T/wrong"
chmod 600 "$T/wrong"
enc_config "$T/c-wrong.json" "$T/wrong"
start_fails "$T/c-wrong.json" "wrong passphrase" "could not decrypt CA key .*ca.key with .*wrong: wrong passphrase"

enc_config "$T/c-none.json" ""
start_fails "$T/c-none.json" "no passphrase" "CA key .*ca.key is encrypted; set ca.key_passphrase_file"

cp "$T/pass" "$T/open-pass"
chmod 644 "$T/open-pass"
enc_config "$T/c-open.json" "$T/open-pass"
start_fails "$T/c-open.json" "passphrase file readable by others" "open-pass is readable by group or others.*chmod 600"

# --- the passphrase as a systemd credential (LoadCredential=ca.passphrase) ---
mkdir -p "$T/creds"
cp "$T/pass" "$T/creds/ca.passphrase"
chmod 600 "$T/creds/ca.passphrase"
enc_config "$T/c-cred.json" ""
if CREDENTIALS_DIRECTORY=$T/creds tca_start "$T/c-cred.json"; then
	pass "thingcad starts with \$CREDENTIALS_DIRECTORY/ca.passphrase"
	issue_ok SN-E2 "credential"
	tca_stop
else
	fail "thingcad starts with \$CREDENTIALS_DIRECTORY/ca.passphrase"
fi
enc_config "$T/c-cred2.json" "$T/wrong"
if CREDENTIALS_DIRECTORY=$T/creds tca_start "$T/c-cred2.json"; then
	pass "the credential wins over a (wrong) ca.key_passphrase_file"
	tca_stop
else
	fail "the credential wins over a (wrong) ca.key_passphrase_file"
fi

# The decrypted key is never written back.
is "$(head -n 1 "$T/ca.key")" "-----BEGIN ENCRYPTED PRIVATE KEY-----" "the key file stays encrypted"
is "$(grep -rl 'BEGIN PRIVATE KEY' "$T" 2>/dev/null | xargs -r -n1 sh -c 'openssl pkey -in "$0" -pubout 2>/dev/null' | grep -c "$(openssl x509 -in "$T/ca.pem" -noout -pubkey | sed -n 2p)")" 0 "no decrypted copy of the CA key under \$T"
done_testing
