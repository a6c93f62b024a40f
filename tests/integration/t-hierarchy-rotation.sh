#!/bin/sh
# Rotating the issuing CA while the old one still has valid devices: one
# root, issuing CA 1 then issuing CA 2 (ca csr + ca sign), thingcad
# switched from one to the other by a restart. GET /v1/crl serves the
# current CA's CRL, `thingca ca crl` keeps the old CA's available; a
# mosquitto broker that trusts only the root (and both CRLs) lets devices
# of both issuing CAs connect and refuses the revoked one. jitp simulate
# warns that this loopback test, unlike a device, sends no usable SNI.
. "$THINGCA_SRC/tests/integration/lib.sh"

. "$THINGCA_SRC/tests/integration/mosquitto.sh"

TCA="$BIN/thingca"
certid() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }

# --- one root, issuing CA 1 ---
"$TCA" ca init --subject "/C=JP/O=thingca test/CN=thingca test root" \
	--out-cert "$T/root.pem" --out-key "$T/root.key" > /dev/null 2>&1
R="$T/root.pem"
issuing() { # N SUBJECT [ca sign args...]
	_k=$1 _s=$2
	shift 2
	"$TCA" ca csr --subject "$_s" --out-key "$T/ca$_k.key" --out-csr "$T/ca$_k.csr" > /dev/null 2>&1 &&
		"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/ca$_k.csr" \
			--out-cert "$T/ca$_k.pem" "$@" > "$T/sign$_k.out" 2>&1
}
issuing 1 "/C=JP/O=thingca test/CN=line 1 CA 2027"
is "$?" 0 "issuing CA 1 made and signed by the root"
ST=$(tca_token line1-station1 station)
AD=$(tca_token ops admin)
conf() { # N: thingca.json with issuing CA N and the root in ca.chain
	tca_config
	sed -i "s|\"ca\": {[^}]*}|\"ca\": {\"certificate\": \"$T/ca$1.pem\", \"key\": \"$T/ca$1.key\", \"chain\": \"$R\"}|" "$T/thingca.json"
}
conf 1
tca_start || { fail "thingcad starts with issuing CA 1"; done_testing; }
pass "thingcad starts with issuing CA 1"
tca_import A-1 A-2 B-1 B-2
for s in A-1 A-2; do
	"$TCA" enroll --url "$URL" --token "$ST" --serial "$s" --out "$T/$s" > "$T/enroll-$s.out" 2>&1
	is "$?" 0 "enrol $s under issuing CA 1"
done
is "$(openssl verify -CAfile "$R" -untrusted "$T/A-1/device-bundle.pem" "$T/A-1/device.crt" 2>&1)" "$T/A-1/device.crt: OK" "A-1 chains to the root through issuing CA 1"
# A-2 is revoked while CA 1 is current.
A2ID=$(certid "$T/A-2/device.crt")
st=$(tca_post "/v1/certificates/$A2ID/revoke" "$AD" '{"reason": "keyCompromise"}')
is "$st" 200 "A-2 revoked"
is "$(tca_get /v1/crl)" 200 "GET /v1/crl under issuing CA 1"
openssl crl -inform DER -in "$T/body" -out "$T/crl-current-1.pem" 2>/dev/null
like "$(openssl crl -in "$T/crl-current-1.pem" -noout -verify -CAfile "$T/ca1.pem" 2>&1)" "verify OK" "the CRL is signed by issuing CA 1"
tca_stop

# --- issuing CA 2: a new key and a subject of its own ---
issuing 2 "/C=JP/O=thingca test/CN=line 1 CA 2028" --previous "$T/ca1.pem"
is "$?" 0 "issuing CA 2 made and signed by the root"
case "$(cat "$T/sign2.out")" in *warning*) fail "a new subject and key: no warning" "" "$(cat "$T/sign2.out")" ;; *) pass "a new subject and key: no warning" ;; esac
# Reusing CA 1's subject would count against AWS's 10 per subject.
"$TCA" ca sign --root-cert "$R" --root-key "$T/root.key" --csr "$T/ca2.csr" --subject "/C=JP/O=thingca test/CN=line 1 CA 2027" \
	--previous "$T/ca1.pem" --out-cert "$T/same.pem" > "$T/same.out" 2>&1
like "$(cat "$T/same.out")" "warning: .*already has this subject; AWS IoT registers at most 10" "rotation reusing the old subject: warned"

# The daemon switches by restart; the ledger carries over.
conf 2
tca_start || { fail "thingcad restarts with issuing CA 2"; done_testing; }
pass "thingcad restarts with issuing CA 2"
"$TCA" enroll --url "$URL" --token "$ST" --serial B-1 --out "$T/B-1" > "$T/enroll-B-1.out" 2>&1
is "$?" 0 "enrol B-1 under issuing CA 2"
is "$(openssl x509 -in "$T/B-1/device.crt" -noout -issuer -nameopt RFC2253)" "issuer=CN=line 1 CA 2028,O=thingca test,C=JP" "B-1 is signed by issuing CA 2"
is "$(openssl verify -CAfile "$R" -untrusted "$T/B-1/device-bundle.pem" "$T/B-1/device.crt" 2>&1)" "$T/B-1/device.crt: OK" "B-1 chains to the same root"
is "$(grep -c 'BEGIN CERTIFICATE' "$T/B-1/device-bundle.pem")" 3 "B-1's bundle: device, issuing CA 2, root"
is "$(tca_get /v1/crl)" 200 "GET /v1/crl under issuing CA 2"
openssl crl -inform DER -in "$T/body" -out "$T/crl2.pem" 2>/dev/null
like "$(openssl crl -in "$T/crl2.pem" -noout -verify -CAfile "$T/ca2.pem" 2>&1)" "verify OK" "GET /v1/crl now serves issuing CA 2's CRL"
is "$(openssl crl -in "$T/crl2.pem" -noout -issuer -nameopt RFC2253)" "issuer=CN=line 1 CA 2028,O=thingca test,C=JP" "... with CA 2 as its issuer"

# --- the old CA's CRL, from the ledger, while the daemon runs ---
"$TCA" ca crl --ca-cert "$T/ca1.pem" --ca-key "$T/ca1.key" --ledger "$T/ledger.db" --out "$T/crl1.pem" > "$T/crl1.out" 2>&1
is "$?" 0 "thingca ca crl signs issuing CA 1's CRL"
like "$(openssl crl -in "$T/crl1.pem" -noout -verify -CAfile "$T/ca1.pem" 2>&1)" "verify OK" "the old CRL is signed by issuing CA 1"
is "$(openssl crl -in "$T/crl1.pem" -noout -issuer -nameopt RFC2253)" "issuer=CN=line 1 CA 2027,O=thingca test,C=JP" "... with CA 1 as its issuer"
like "$(openssl crl -in "$T/crl1.pem" -noout -text)" "Serial Number: $(serial_of "$T/A-2/device.crt")" "it lists A-2"
like "$(openssl crl -in "$T/crl1.pem" -noout -text)" "Key Compromise" "with its reason"
"$TCA" ca crl --ca-cert "$T/ca1.pem" --ca-key "$T/ca1.key" --ledger "$T/ledger.db" --der > "$T/crl1.der" 2>/dev/null
is "$(openssl crl -inform DER -in "$T/crl1.der" -noout -issuer -nameopt RFC2253 2>&1)" "issuer=CN=line 1 CA 2027,O=thingca test,C=JP" "ca crl --der writes DER to stdout"
"$TCA" ca crl --ca-cert "$T/ca1.pem" --ca-key "$T/ca2.key" --ledger "$T/ledger.db" --out "$T/bad.crl" > "$T/bad.out" 2>&1
is "$?/$([ -e "$T/bad.crl" ] && echo written)" "1/" "ca crl with a key that is not the CA's: exit 1, nothing written"
cat "$R" "$T/ca1.pem" "$T/ca2.pem" > "$T/all-cas.pem"
is "$(openssl verify -crl_check -CAfile "$R" -untrusted "$T/ca1.pem" -CRLfile "$T/crl1.pem" "$T/A-2/device.crt" 2>&1 | grep -o 'certificate revoked')" "certificate revoked" "openssl verify -crl_check: A-2 revoked by CA 1's CRL"
is "$(openssl verify -crl_check -CAfile "$R" -untrusted "$T/ca1.pem" -CRLfile "$T/crl1.pem" "$T/A-1/device.crt" 2>&1)" "$T/A-1/device.crt: OK" "A-1 still valid under CA 1's CRL"
is "$(openssl verify -crl_check -CAfile "$R" -untrusted "$T/ca2.pem" -CRLfile "$T/crl2.pem" "$T/B-1/device.crt" 2>&1)" "$T/B-1/device.crt: OK" "B-1 valid under CA 2's CRL"

# --- the ledger says which issuing CA signed each certificate ---
"$TCA" ledger export --ledger "$T/ledger.db" --format json > "$T/export.json" 2> "$T/export.err"
is "$?" 0 "ledger export"
for d in A-1 A-2 B-1; do
	want=$([ $d = B-1 ] && certid "$T/ca2.pem" || certid "$T/ca1.pem")
	got=$(jq -r --arg id "$(certid "$T/$d/device.crt")" '.. | objects | select(.event? == "issued" and .certificate_id == $id) | .ca_certificate_id' "$T/export.json")
	is "$got" "$want" "$d's issued entry names its issuing CA (ca_certificate_id)"
done
# What a revoked issuing CA covers: every certificate CA 1 signed.
"$TCA" ledger export --ledger "$T/ledger.db" --format csv > "$T/export.csv"
col=$(head -n 1 "$T/export.csv" | tr ',' '\n' | grep -nx ca_certificate_id | cut -d: -f1)
scol=$(head -n 1 "$T/export.csv" | tr ',' '\n' | grep -nx serial | cut -d: -f1)
is "$(awk -F, -v c="$col" -v s="$scol" -v id="$(certid "$T/ca1.pem")" '$c == id { print $s }' "$T/export.csv" | sort | paste -sd,)" "A-1,A-2" "the CSV export lists what issuing CA 1 covers: A-1, A-2"

# --- the broker's certificate from issuing CA 2 (with it in the file) ---
"$TCA" ca server-cert --ip 127.0.0.1 --ca-cert "$T/ca2.pem" --ca-key "$T/ca2.key" \
	--out-cert "$T/server.pem" --out-key "$T/server.key" > "$T/srv.out" 2>&1
is "$?" 0 "the broker's server certificate from issuing CA 2"
tca_stop
is "$STOP_RC" 0 "thingcad stops (the broker needs only the root and the CRLs)"

# --- mosquitto trusts only the root; both CRLs are checked ---
cat "$T/crl1.pem" "$T/crl2.pem" > "$T/crls.pem"
cat > "$T/acl" <<'ACL'
pattern readwrite $aws/things/%u/shadow/#
ACL
cat > "$T/mosquitto.conf.in" <<CONF
per_listener_settings false
persistence false
user $(id -un)
log_dest file $T/mosquitto.log
log_type all
connection_messages true
allow_anonymous false
acl_file $T/acl
listener @PORT@ 127.0.0.1
cafile $R
crlfile $T/crls.pem
certfile $T/server.pem
keyfile $T/server.key
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
CONF
mq_start || { fail "mosquitto starts"; done_testing; }
pass "mosquitto starts on 127.0.0.1:$MQPORT trusting only the root"
# The exact first-connect command this test runs, for jitp simulate too.
pub_cmd() { # DEVICE_DIR
	echo "mosquitto_pub -h 127.0.0.1 -p $MQPORT --cafile $R --cert $1/device-bundle.pem --key $1/device.key -i $(basename "$1") -t \$aws/things/$(basename "$1")/shadow/update -m {} -q 1"
}
for d in A-1 B-1; do
	# shellcheck disable=SC2046
	timeout 20 $(pub_cmd "$T/$d") > "$T/pub-$d.out" 2>&1
	is "$?" 0 "$d (issuing CA $([ $d = A-1 ] && echo 1 || echo 2)) connects and publishes to its shadow"
	like "$(cat "$T/mosquitto.log")" "New client connected from 127\.0\.0\.1:[0-9]+ as $d .*u'$d'" "the broker took $d's CN as its username"
done
# shellcheck disable=SC2046
timeout 20 $(pub_cmd "$T/A-2") > "$T/pub-A-2.out" 2>&1
rc=$?
[ $rc -ne 0 ] && pass "revoked A-2 is refused (mosquitto_pub exit $rc)" || fail "revoked A-2 is refused" "exit != 0" "exit 0"
like "$(cat "$T/mosquitto.log")" "OpenSSL Error.*certificate verify failed" "the broker refused A-2 at the TLS handshake"
is "$(openssl verify -CAfile "$R" -untrusted "$T/A-2/device-bundle.pem" "$T/A-2/device.crt" 2>&1)" "$T/A-2/device.crt: OK" "(A-2 chains fine without the CRL: its revocation is what the broker refused)"
alive "$MQPID" && pass "mosquitto still running" || fail "mosquitto still running"
mq_stop
is "$MQ_RC" 0 "mosquitto stops on SIGTERM"

# --- jitp simulate: this loopback test sends no SNI a device would ---
"$TCA" jitp simulate --template "$SRC/tests/data/jitp/seed-registration-config.json" \
	--cert "$T/B-1/device-bundle.pem" --connect "$(pub_cmd "$T/B-1")" > "$T/sim.out" 2> "$T/sim.err"
is "$?" 0 "jitp simulate --connect on the broker test's command"
like "$(cat "$T/sim.err")" "warning: 127\.0\.0\.1 is an IP address: a TLS client sends no SNI" "simulate warns that the mosquitto test sends no SNI"
is "$(jq -r .ca.id "$T/sim.out")" "$(certid "$T/ca2.pem")" "simulate: register issuing CA 2 for B-1"
"$TCA" jitp simulate --template "$SRC/tests/data/jitp/seed-registration-config.json" \
	--cert "$T/A-1/device-bundle.pem" --connect "mosquitto_pub --cafile AmazonRootCA1.pem --cert $T/A-1/device-bundle.pem --key $T/A-1/device.key -h a1b2c3d4e5f6g7-ats.iot.ap-northeast-1.amazonaws.com -p 8883 -i A-1 -t x -m {}" \
	> "$T/sim2.out" 2> "$T/sim2.err"
case "$(cat "$T/sim2.err")" in *warning*) fail "the real first-connect recipe: no warning" "" "$(cat "$T/sim2.err")" ;; *) pass "the real first-connect recipe: no warning" ;; esac
is "$(jq -r .ca.id "$T/sim2.out")" "$(certid "$T/ca1.pem")" "simulate: register issuing CA 1 for A-1 (both stay registered)"
done_testing
