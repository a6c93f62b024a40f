#!/bin/sh
# The hierarchy with keys in a PKCS#11 token (SoftHSM2 under $T): the root
# key in the token (ca init --key pkcs11:, ca sign --root-key pkcs11:), an
# issuing CA whose key stays in the token (ca csr --key pkcs11:) and one
# from a file, both signed by the token root; thingcad issues with the
# token issuing CA and the root in ca.chain; every device chains to the
# root with openssl verify; no CA private key is ever a file.
. "$THINGCA_SRC/tests/integration/lib.sh"

MODULE=/usr/lib/softhsm/libsofthsm2.so
for tool in softhsm2-util pkcs11-tool; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool not installed (make deps)"
done
[ -r "$MODULE" ] || skip_all "SoftHSM2 module $MODULE not installed"
[ -n "$(find /usr/lib -name pkcs11.so -path '*engines-3*' 2>/dev/null | head -n 1)" ] ||
	skip_all "OpenSSL pkcs11 engine not installed (libengine-pkcs11-openssl)"
LSAN_OPTIONS="suppressions=$SRC/tests/integration/lsan-pkcs11.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS

TCA="$BIN/thingca"
mkdir -p "$T/tokens"
cat > "$T/softhsm2.conf" <<EOF
directories.tokendir = $T/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
SOFTHSM2_CONF=$T/softhsm2.conf
export SOFTHSM2_CONF
TOKEN="thingca hier"
URI="pkcs11:token=thingca%20hier"
PIN=tca-Hier-7c2d
softhsm2-util --init-token --free --label "$TOKEN" --pin "$PIN" --so-pin 12345678 >/dev/null ||
	{ fail "SoftHSM2 token initialised"; done_testing; }
p11() { pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" "$@"; }
p11 --keypairgen --key-type EC:secp384r1 --label root --id 11 >/dev/null 2>&1
p11 --keypairgen --key-type EC:prime256v1 --label line1 --id 12 >/dev/null 2>&1
printf '%s\n' "$PIN" > "$T/pin"
chmod 600 "$T/pin"
P11="--pkcs11-module $MODULE --pin-file $T/pin"
certid() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null | sed 1d | sed 's/^ *//'; }

# --- the root in the token ---
# shellcheck disable=SC2086
"$TCA" ca init --key "$URI;object=root" $P11 --subject "/O=thingca test/CN=token root" \
	--out-cert "$T/root.pem" > "$T/init.out" 2>&1
is "$?" 0 "ca init --key pkcs11: makes the root on the token"
R="$T/root.pem"

# --- an issuing CA whose key stays in the token ---
# shellcheck disable=SC2086
"$TCA" ca csr --key "$URI;object=line1" $P11 --subject "/O=thingca test/CN=line 1 token CA" \
	--out-csr "$T/line1.csr" > "$T/csr.out" 2>&1
is "$?" 0 "ca csr --key pkcs11: makes the CSR on the token"
like "$(cat "$T/csr.out")" "key stays in the token" "ca csr says the key stays in the token"
is "$(openssl req -in "$T/line1.csr" -noout -verify 2>&1 | tail -n 1)" "Certificate request self-signature verify OK" "the token-signed CSR verifies"
is "$(openssl req -in "$T/line1.csr" -noout -pubkey)" "$(p11 --read-object --type pubkey --label line1 -o /dev/stdout 2>/dev/null | openssl pkey -pubin -inform DER 2>/dev/null)" "the CSR carries the token key"
"$TCA" ca csr --key "$URI;object=line1" --key-type rsa:2048 --subject "/CN=x" --out-csr "$T/x.csr" > "$T/x.out" 2>&1
is "$?" 2 "ca csr refuses --key pkcs11: with --key-type (usage, exit 2)"

# shellcheck disable=SC2086
"$TCA" ca sign --root-cert "$R" --root-key "$URI;object=root" $P11 --csr "$T/line1.csr" \
	--out-cert "$T/line1.pem" > "$T/sign.out" 2>&1
is "$?" 0 "ca sign --root-key pkcs11: signs on the token"
I="$T/line1.pem"
is "$(openssl verify -x509_strict -CAfile "$R" "$I" 2>&1)" "$I: OK" "the token-root-signed issuing CA verifies"
is "$(ext "$I" basicConstraints)/$(ext "$I" keyUsage)" "CA:TRUE, pathlen:0/Certificate Sign, CRL Sign" "issuing CA profile: CA:TRUE pathLen 0, keyCertSign + cRLSign"
is "$(ext "$I" authorityKeyIdentifier)" "$(ext "$R" subjectKeyIdentifier)" "AKI = the token root's SKI"
like "$(openssl x509 -in "$I" -noout -text)" "Signature Algorithm: ecdsa-with-SHA384" "the P-384 token root signs with SHA-384"

# A root key in the token that does not match --root-cert is refused.
"$TCA" ca init --subject "/CN=file root" --out-cert "$T/fileroot.pem" --out-key "$T/fileroot.key" > /dev/null 2>&1
# shellcheck disable=SC2086
"$TCA" ca sign --root-cert "$T/fileroot.pem" --root-key "$URI;object=root" $P11 --csr "$T/line1.csr" \
	--out-cert "$T/mismatch.pem" > "$T/mismatch.out" 2>&1
is "$?/$([ -e "$T/mismatch.pem" ] && echo written)" "1/" "a token root key that does not match --root-cert: exit 1, nothing written"
like "$(cat "$T/mismatch.out")" "key in the token does not match" "... and says so"
grep -qF "$PIN" "$T/mismatch.out" "$T/sign.out" "$T/csr.out" && fail "the PIN is never printed" || pass "the PIN is never printed"

# --- an issuing CA from a file, signed by the token root ---
"$TCA" ca csr --key-type rsa:2048 --subject "/O=thingca test/CN=line 2 file CA" \
	--out-key "$T/line2.key" --out-csr "$T/line2.csr" > /dev/null 2>&1
is "$?" 0 "ca csr with a file key (RSA-2048)"
# shellcheck disable=SC2086
"$TCA" ca sign --root-cert "$R" --root-key "$URI;object=root" $P11 --csr "$T/line2.csr" \
	--out-cert "$T/line2.pem" > /dev/null 2>&1
is "$(openssl verify -CAfile "$R" "$T/line2.pem" 2>&1)" "$T/line2.pem: OK" "the file issuing CA verifies under the token root"

# --- thingcad with each issuing CA, the root in ca.chain ---
ST=$(tca_token line1 station)
conf() { # FILE CERT KEY [PKCS11]
	if [ -n "${4:-}" ]; then
		_k="\"key\": \"$3\", \"pkcs11_module\": \"$MODULE\", \"key_pin_file\": \"$T/pin\""
	else
		_k="\"key\": \"$3\""
	fi
	cat > "$1" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$T/ledger.db",
  "ca": {"certificate": "$2", $_k, "chain": "$R"},
  "clients": [$(paste -sd, "$T/clients.entries")]
}
JSON
}
conf "$T/t1.json" "$I" "$URI;object=line1" p11
conf "$T/t2.json" "$T/line2.pem" "$T/line2.key"
tca_start "$T/t1.json" || { fail "thingcad starts with the token issuing CA"; done_testing; }
pass "thingcad starts with the token issuing CA"
printf 'SN-1\nSN-2\n' > "$T/serials.txt"
"$TCA" -c "$T/t1.json" serials import "$T/serials.txt" > /dev/null
n=0
for cfg in t1 t2; do
	n=$((n + 1))
	if [ "$cfg" = t2 ]; then
		tca_stop
		tca_start "$T/t2.json" || { fail "thingcad starts with the file issuing CA"; break; }
		pass "thingcad starts with the file issuing CA"
		CA="$T/line2.pem"
	else
		CA="$I"
	fi
	tca_csr "d$n" ec:P-256
	st=$(tca_post /v1/certificates "$ST" "$(tca_json "SN-$n" "$T/d$n.csr")")
	is "$st" 201 "$cfg: a device certificate is issued"
	jbody .certificate > "$T/d$n.crt"
	jbody .chain > "$T/d$n.chain"
	is "$(grep -c 'BEGIN CERTIFICATE' "$T/d$n.chain")" 3 "$cfg: the chain is device, issuing CA, root"
	is "$(openssl verify -CAfile "$R" -untrusted "$CA" "$T/d$n.crt" 2>&1)" "$T/d$n.crt: OK" "$cfg: openssl verify -CAfile root -untrusted issuing accepts the device"
	is "$(ext "$T/d$n.crt" authorityKeyIdentifier)" "$(ext "$CA" subjectKeyIdentifier)" "$cfg: device AKI = the issuing CA's SKI"
done
tca_stop
is "$STOP_RC" 0 "thingcad stops"

# No file under $T holds the token root's or line 1's private key.
leak=
for f in $(grep -rl 'PRIVATE KEY' "$T" --exclude-dir=tokens 2>/dev/null); do
	pub=$(openssl pkey -in "$f" -pubout 2>/dev/null)
	for c in "$R" "$I"; do
		[ -n "$pub" ] && [ "$pub" = "$(openssl x509 -in "$c" -noout -pubkey)" ] && leak="$leak $f"
	done
done
is "$leak" "" "no file holds the token root's or the token issuing CA's private key"
done_testing
