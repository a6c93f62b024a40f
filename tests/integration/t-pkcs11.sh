#!/bin/sh
# The CA key in a PKCS#11 token (SoftHSM2, tokens under $T): `ca init --key
# pkcs11:` self-signs on the token, thingcad issues with EC P-256 and RSA-2048
# token keys that are never extractable and never written anywhere; each
# start-up check (PIN, token, object, key vs certificate, test signature)
# fails with its own message; a token that goes away makes issuance and
# /readyz answer 503 and comes back without a restart.
. "$THINGCA_SRC/tests/integration/lib.sh"

MODULE=/usr/lib/softhsm/libsofthsm2.so
for tool in softhsm2-util pkcs11-tool; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool not installed (make deps)"
done
[ -r "$MODULE" ] || skip_all "SoftHSM2 module $MODULE not installed"
[ -n "$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -n 1)" ] ||
	skip_all "OpenSSL pkcs11 engine not installed (libengine-pkcs11-openssl)"

# make check SAN=1: the engine's own leaks are not ours (see the file).
LSAN_OPTIONS="suppressions=$SRC/tests/integration/lsan-pkcs11.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# Slow unwinding: the engine's frames are gone (dlclose) by then, and the
# fast unwinder stops at them before reaching the libcrypto frames above.
ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS

# --- a SoftHSM2 token in $T ---
mkdir -p "$T/tokens"
cat > "$T/softhsm2.conf" <<EOF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
SOFTHSM2_CONF=$T/softhsm2.conf
export SOFTHSM2_CONF
TOKEN="thingca CA"
URI_TOKEN="pkcs11:token=thingca%20CA"
PIN=tca-Pin-5e1f9b
softhsm2-util --init-token --free --label "$TOKEN" --pin "$PIN" --so-pin 12345678 >/dev/null ||
	{ fail "SoftHSM2 token initialised"; done_testing; }
p11() { pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" "$@"; }
p11 --keypairgen --key-type EC:prime256v1 --label ca-ec --id 01 >/dev/null 2>&1
p11 --keypairgen --key-type rsa:2048 --label ca-rsa --id 02 >/dev/null 2>&1
# A broken pair for the test signature: private key A beside public key B
# under one label and ID (a mix-up a token can hold). libp11 shows B, so B's
# certificate passes the match check, but A signs. (SoftHSM2 ignores
# pkcs11-tool's --usage-* for CKA_SIGN, so a key that refuses to sign is not
# at hand.) A is imported from a file, deleted at once; it is no CA key.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out "$T/mixa.der" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkey -pubout -outform DER -out "$T/mixb.der" 2>/dev/null
p11 --write-object "$T/mixa.der" --type privkey --id 03 --label ca-mix >/dev/null 2>&1
p11 --write-object "$T/mixb.der" --type pubkey --id 03 --label ca-mix >/dev/null 2>&1
rm -f "$T/mixa.der"
objs=$(p11 -O 2>/dev/null)
for l in ca-ec ca-rsa; do
	acc=$(printf '%s\n' "$objs" | grep -A4 "^Private Key Object" | grep -A3 "label: *$l\$" | grep 'Access:')
	like "$acc" "sensitive.*never extractable" "$l: generated in the token, CKA_SENSITIVE, CKA_EXTRACTABLE false"
	case "$acc" in *", extractable"*) fail "$l: not extractable" "no 'extractable'" "$acc" ;; esac
done
if p11 --read-object --type privkey --label ca-ec -o "$T/stolen.der" >/dev/null 2>&1 && [ -s "$T/stolen.der" ]; then
	fail "the token refuses to export the private key"
else
	pass "the token refuses to export the private key"
fi
rm -f "$T/stolen.der"

printf '%s\n' "$PIN" > "$T/pin"
chmod 600 "$T/pin"

# --- ca init on the token ---
for k in ec rsa; do
	out=$("$BIN/thingca" ca init --key "$URI_TOKEN;object=ca-$k" --pkcs11-module "$MODULE" \
		--pin-file "$T/pin" --subject "/O=thingca test/CN=token CA $k" --out-cert "$T/ca-$k.pem" </dev/null 2>&1)
	is "$?" 0 "ca init --key pkcs11:...;object=ca-$k makes the CA certificate"
	like "$out" "key stays in the token" "ca init says the key stays in the token"
	is "$(openssl verify -CAfile "$T/ca-$k.pem" "$T/ca-$k.pem" 2>&1)" "$T/ca-$k.pem: OK" "ca-$k.pem is self-signed by the token key"
done
like "$(openssl x509 -in "$T/ca-rsa.pem" -noout -text)" "Public-Key: \(2048 bit\)" "the RSA CA is RSA-2048"
like "$(openssl x509 -in "$T/ca-ec.pem" -noout -text)" "NIST CURVE: P-256" "the EC CA is P-256"

ST=$(tca_token line1 station)

# p11_config FILE CERT OBJECT [PINFILE] [LEDGER]: a configuration with a token key.
p11_config() {
	cat > "$1" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "${5:-$T/ledger.db}",
  "ca": {"certificate": "$2", "key": "$URI_TOKEN;object=$3",
         "pkcs11_module": "$MODULE", "key_pin_file": "${4:-$T/pin}"},
  "clients": [$(paste -sd, "$T/clients.entries")]
}
JSON
}

# start_fails CONFIG NAME REGEX: refused at start, the PIN never logged.
start_fails() { tca_start_fails "$1" "$2" "$3" "$PIN"; }

# --- issuance with each token key ---
n=0
for k in ec rsa; do
	p11_config "$T/thingca.json" "$T/ca-$k.pem" "ca-$k" "$T/pin" "$T/ledger-$k.db"
	tca_start || { fail "thingcad starts with the $k token key"; continue; }
	pass "thingcad starts with the $k token key"
	tca_import SN-$k-1 SN-$k-2 SN-$k-3 SN-$k-4 SN-$k-5 SN-$k-6
	for dev in p256 rsa; do
		n=$((n + 1))
		if [ "$dev" = rsa ]; then tca_csr "dev$n" rsa:2048; else tca_csr "dev$n" ec:P-256; fi
		st=$(tca_post /v1/certificates "$ST" "$(tca_json "SN-$k-$n" "$T/dev$n.csr")")
		is "$st" 201 "$k CA issues for a $dev device"
		jbody .certificate > "$T/dev$n.crt"
		is "$(openssl verify -CAfile "$T/ca-$k.pem" "$T/dev$n.crt" 2>&1)" "$T/dev$n.crt: OK" "openssl verify accepts the $dev device certificate of the $k token CA"
	done
	is "$(tca_get /readyz)" 200 "/readyz is 200 with the $k token key"
	tca_stop
	is "$STOP_RC" 0 "thingcad ($k token) stops cleanly"
done

# The key never appears as a file: no private key in $T (outside the token
# directory) whose public half is a CA's.
leak=
for f in $(grep -rl 'PRIVATE KEY' "$T" --exclude-dir=tokens 2>/dev/null); do
	pub=$(openssl pkey -in "$f" -pubout 2>/dev/null)
	for k in ec rsa; do
		[ -n "$pub" ] && [ "$pub" = "$(openssl x509 -in "$T/ca-$k.pem" -noout -pubkey)" ] && leak="$leak $f"
	done
done
is "$leak" "" "no file under \$T holds a CA private key"

# --- each start-up check fails with its own message ---
printf '9999\n' > "$T/badpin"
chmod 600 "$T/badpin"
p11_config "$T/c-pin.json" "$T/ca-ec.pem" ca-ec "$T/badpin"
start_fails "$T/c-pin.json" "wrong PIN" "PIN refused by token $TOKEN: check ca.key_pin_file"

p11_config "$T/c-tok.json" "$T/ca-ec.pem" ca-ec
sed -i 's/token=thingca%20CA/token=no-such-token/' "$T/c-tok.json"
start_fails "$T/c-tok.json" "missing token" "no token matching 'token=no-such-token' in module $MODULE: check the URI's token= label and that the HSM is plugged in"

p11_config "$T/c-obj.json" "$T/ca-ec.pem" no-such-key
start_fails "$T/c-obj.json" "wrong object label" "no private key 'object=no-such-key' on token $TOKEN: list keys with pkcs11-tool --module $MODULE"

p11_config "$T/c-mis.json" "$T/ca-ec.pem" ca-rsa
start_fails "$T/c-mis.json" "key not matching the certificate" "key in the token does not match ca.certificate"

printf '%s\n' "$PIN" > "$T/openpin"
chmod 644 "$T/openpin"
p11_config "$T/c-open.json" "$T/ca-ec.pem" ca-ec "$T/openpin"
start_fails "$T/c-open.json" "PIN file readable by others" "openpin is readable by group or others.*chmod 600"

# Test signature: a CA certificate for the mixed-up pair's public key B
# (issued by the EC token CA through OpenSSL's own engine support), then
# thingcad refuses the pair whose private half does not make B's signatures.
openssl pkey -pubin -inform DER -in "$T/mixb.der" -out "$T/nosign.pub" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/tmp-req.key" 2>/dev/null
openssl req -new -key "$T/tmp-req.key" -subj "/CN=mixed-up CA" -out "$T/nosign.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' > "$T/ca.ext"
cat > "$T/openssl-p11.cnf" <<EOF
openssl_conf = init
[init]
engines = engines
[engines]
pkcs11 = pkcs11
[pkcs11]
MODULE_PATH = $MODULE
PIN = $PIN
EOF
OPENSSL_CONF=$T/openssl-p11.cnf openssl x509 -req -in "$T/nosign.csr" -force_pubkey "$T/nosign.pub" \
	-CA "$T/ca-ec.pem" -CAkeyform engine -engine pkcs11 -CAkey "$URI_TOKEN;object=ca-ec" \
	-days 30 -extfile "$T/ca.ext" -out "$T/ca-nosign.pem" >/dev/null 2>&1
rm -f "$T/tmp-req.key"
if [ -s "$T/ca-nosign.pem" ]; then
	p11_config "$T/c-sig.json" "$T/ca-nosign.pem" ca-mix
	start_fails "$T/c-sig.json" "test signature that does not verify" "test signature failed"
else
	fail "made a CA certificate for the mixed-up key (openssl x509 -engine pkcs11)"
fi

# Nothing waits on stdin for a PIN: no PIN configured, stdin a never-ending pipe.
p11_config "$T/c-nopin.json" "$T/ca-ec.pem" ca-ec
sed -i '/key_pin_file/s/, *"key_pin_file": "[^"]*"//' "$T/c-nopin.json"
mkfifo "$T/stdin"
sleep 60 > "$T/stdin" &
SLEEPER=$!
timeout 30 "$BIN/thingcad" -c "$T/c-nopin.json" < "$T/stdin" >/dev/null 2> "$T/fail.log"
rc=$?
kill "$SLEEPER" 2>/dev/null
wait "$SLEEPER" 2>/dev/null
is "$rc" 1 "no PIN: thingcad exits 1 at once instead of prompting"
like "$(cat "$T/fail.log")" "token $TOKEN needs a PIN" "no PIN: the message says to configure one"

# PIN through the URI's pin-source, and through the systemd credential.
p11_config "$T/c-src.json" "$T/ca-ec.pem" "ca-ec?pin-source=file:$T/pin" "$T/pin" "$T/ledger-ec.db"
sed -i '/key_pin_file/s/, *"key_pin_file": "[^"]*"//' "$T/c-src.json"
if tca_start "$T/c-src.json"; then pass "PIN from pin-source=file: in the URI"; else fail "PIN from pin-source=file: in the URI"; fi
tca_stop
mkdir -p "$T/creds"
cp "$T/pin" "$T/creds/ca.pin"
chmod 600 "$T/creds/ca.pin"
p11_config "$T/c-cred.json" "$T/ca-ec.pem" ca-ec "$T/badpin" "$T/ledger-ec.db"
if CREDENTIALS_DIRECTORY=$T/creds tca_start "$T/c-cred.json"; then
	pass "PIN from \$CREDENTIALS_DIRECTORY/ca.pin (wins over ca.key_pin_file)"
else
	fail "PIN from \$CREDENTIALS_DIRECTORY/ca.pin (wins over ca.key_pin_file)"
fi
tca_stop

# --- verification-cert signs with the token key through ca.* ---
p11_config "$T/thingca.json" "$T/ca-ec.pem" ca-ec "$T/pin" "$T/ledger-ec.db"
"$BIN/thingca" -c "$T/thingca.json" ca verification-cert --code 0123456789abcdef \
	--out-cert "$T/verif.pem" --out-key "$T/verif.key" </dev/null >/dev/null 2>&1
is "$?" 0 "ca verification-cert signs with the token key"
is "$(openssl verify -CAfile "$T/ca-ec.pem" "$T/verif.pem" 2>&1)" "$T/verif.pem: OK" "the verification certificate verifies against the token CA"
rm -f "$T/verif.pem" "$T/verif.key"
"$BIN/thingca" ca verification-cert --code 0123456789abcdef --ca-cert "$T/ca-rsa.pem" \
	--ca-key "$URI_TOKEN;object=ca-rsa" --pkcs11-module "$MODULE" --pin-file "$T/pin" \
	--out-cert "$T/verif.pem" --out-key "$T/verif.key" </dev/null >/dev/null 2>&1
is "$?" 0 "ca verification-cert --ca-key pkcs11:... --pkcs11-module --pin-file (no configuration)"
is "$(openssl verify -CAfile "$T/ca-rsa.pem" "$T/verif.pem" 2>&1)" "$T/verif.pem: OK" "that verification certificate verifies against the RSA token CA"

# --- 16 concurrent issuances through the token ---
tca_start || { fail "thingcad restarts"; done_testing; }
i=0
serials=
while [ $i -lt 16 ]; do serials="$serials SN-par-$i"; i=$((i + 1)); done
# shellcheck disable=SC2086
tca_import $serials
i=0
while [ $i -lt 16 ]; do
	tca_csr "par$i" ec:P-256
	tca_json "SN-par-$i" "$T/par$i.csr" > "$T/par$i.json"
	i=$((i + 1))
done
i=0
while [ $i -lt 16 ]; do
	curl -s -o "$T/par$i.out" -w '%{http_code}\n' --max-time 30 \
		-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
		--data-binary @"$T/par$i.json" "$URL/v1/certificates" > "$T/par$i.code" &
	i=$((i + 1))
done
par_done() { [ "$(cat "$T"/par*.code 2>/dev/null | wc -l)" -ge 16 ]; }
wait_until 300 par_done
is "$(cat "$T"/par*.code | grep -c '^201$')" 16 "16 concurrent issuances signed by the token all succeed"
bad=0
i=0
while [ $i -lt 16 ]; do
	jq -r .certificate "$T/par$i.out" > "$T/par$i.crt" 2>/dev/null
	[ "$(openssl verify -CAfile "$T/ca-ec.pem" "$T/par$i.crt" 2>&1)" = "$T/par$i.crt: OK" ] || bad=$((bad + 1))
	i=$((i + 1))
done
is "$bad" 0 "every concurrently signed certificate verifies"

# --- the token goes away while thingcad runs, then comes back ---
tca_import SN-gone-1 SN-gone-2 SN-back-1 SN-back-2
tca_csr gone ec:P-256
mv "$T/tokens" "$T/tokens.away"
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-gone-1 "$T/gone.csr")")
is "$st/$(jbody .error)" "503/signer_unavailable" "token removed: issuance answers 503 signer_unavailable"
sleep 1.1
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-gone-2 "$T/gone.csr")")
is "$st/$(jbody .error)" "503/signer_unavailable" "token still away: still 503 after a reopen attempt"
st=$(tca_get /readyz)
is "$st $(jbody .status)" "503 not_ready" "token removed: /readyz answers 503"
diag "readyz while the token is away: $(cat "$T/body")"
kill -0 "$PID" 2>/dev/null && pass "thingcad keeps running without its token" || fail "thingcad keeps running without its token"

mv "$T/tokens.away" "$T/tokens"
tca_csr back ec:P-256
i=0
st=
while [ $i -lt 30 ]; do
	st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-back-1 "$T/back.csr")")
	[ "$st" = 201 ] && break
	sleep 0.5
	i=$((i + 1))
done
is "$st" 201 "token back: issuance works again without a restart (after $i retries)"
jbody .certificate > "$T/back.crt"
is "$(openssl verify -CAfile "$T/ca-ec.pem" "$T/back.crt" 2>&1)" "$T/back.crt: OK" "the certificate after recovery verifies"
is "$(tca_get /readyz)" 200 "token back: /readyz answers 200"
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-gone-1 "$T/gone.csr")")
is "$st" 201 "a serial refused while the token was away can be issued now"
like "$(cat "$T/daemon.log")" "signer_unavailable" "the 503s are logged"
if grep -q "$PIN" "$T/daemon.log"; then fail "the PIN never appears in the log"; else pass "the PIN never appears in the log"; fi
tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly after the outage"
done_testing
