#!/bin/sh
# Seed step 7, the first connect, against a real MQTT/TLS broker: mosquitto
# on a loopback port trusts the thingca CA, requires a client certificate and
# takes the certificate's CN (the ThingName) as the username; its ACL mirrors
# the seed IoT policy (each thing only on $aws/things/<its name>/shadow/#).
# Devices enrolled with `thingca enroll` connect with their chained bundle.
. "$THINGCA_SRC/tests/integration/lib.sh"

. "$THINGCA_SRC/tests/integration/mosquitto.sh"

TCA="$BIN/thingca"

# --- the CA, the daemon, two devices ---
tca_ca ec:P-256
ST=$(tca_token line1-station1 station)
tca_config
tca_start || { fail "thingcad starts"; done_testing; }
pass "thingcad starts on 127.0.0.1:$PORT"
tca_import THING-A THING-B
for s in THING-A THING-B; do
	"$TCA" enroll --url "$URL" --token "$ST" --serial "$s" --out "$T/$s" > "$T/enroll-$s.out" 2>&1
	is "$?" 0 "thingca enroll $s"
done
tca_stop
is "$STOP_RC" 0 "thingcad stops (the broker needs only the CA)"
A="$T/THING-A"
B="$T/THING-B"

# The seed registration config would provision both (seed step 4 check).
"$TCA" jitp simulate --template "$SRC/tests/data/jitp/seed-registration-config.json" \
	--cert "$A/device-bundle.pem" > "$T/sim.out" 2> "$T/sim.err"
is "$?/$(jq -r .thing.name "$T/sim.out" 2>/dev/null)" "0/THING-A" "jitp simulate: THING-A would be provisioned as thing THING-A"

# --- the broker's server certificate, from the same CA ---
"$TCA" ca server-cert --ip 127.0.0.1 --ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/server.pem" --out-key "$T/server.key" > "$T/srv.out" 2>&1
is "$?" 0 "thingca ca server-cert makes the broker's certificate"
is "$(openssl verify -CAfile "$T/ca.pem" -purpose sslserver "$T/server.pem" 2>&1)" "$T/server.pem: OK" "server certificate verifies for TLS server use"

# --- mosquitto: TLS, client certificate required, CN as username, ACL ---
# Under root mosquitto 2 drops to user "mosquitto", which cannot read the
# test's 0600 files: stay as whoever runs the test.
cat > "$T/acl" <<'ACL'
# mirrors the seed IoT policy: a thing publishes, receives and subscribes
# only on its own shadow topics
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
cafile $T/ca.pem
certfile $T/server.pem
keyfile $T/server.key
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
CONF
mq_start || { fail "mosquitto starts"; done_testing; }
pass "mosquitto starts on 127.0.0.1:$MQPORT (pid $MQPID)"

# mqtt_sub NAME DEVICE_DIR CLIENT_ID TOPIC WAIT_S: mosquitto_sub -d -C 1 in
# the background, output in $T/NAME.sub; waits (bounded) until the broker
# has sent its SUBACK (mosquitto_sub's own output is block-buffered into the
# file, the broker's log is not). Sets SUBPID.
SUBPID=
mqtt_sub() {
	_before=$(grep -cF "Sending SUBACK to $3" "$T/mosquitto.log")
	mosquitto_sub -h 127.0.0.1 -p "$MQPORT" --cafile "$T/ca.pem" \
		--cert "$2/device-bundle.pem" --key "$2/device.key" \
		-i "$3" -t "$4" -C 1 -W "$5" -q 1 -d > "$T/$1.sub" 2>&1 &
	SUBPID=$!
	_j=0
	while [ $_j -lt 100 ]; do
		[ "$(grep -cF "Sending SUBACK to $3" "$T/mosquitto.log")" -gt "$_before" ] && return 0
		alive "$SUBPID" || break
		sleep 0.1
		_j=$((_j + 1))
	done
	diag "mosquitto_sub $1 did not subscribe:"
	sed 's/^/#   /' "$T/$1.sub"
	return 1
}
# sub_wait: wait (bounded by -W) for the background mosquitto_sub; SUB_RC.
sub_wait() {
	wait "$SUBPID"
	SUB_RC=$?
	SUBPID=
}
# mqtt_pub DEVICE_DIR CLIENT_ID TOPIC MESSAGE [ARGS...]
mqtt_pub() {
	_d=$1 _c=$2 _t=$3 _m=$4
	shift 4
	timeout 20 mosquitto_pub -h 127.0.0.1 -p "$MQPORT" --cafile "$T/ca.pem" \
		--cert "$_d/device-bundle.pem" --key "$_d/device.key" \
		-i "$_c" -t "$_t" -m "$_m" -q 1 "$@"
}

TA='$aws/things/THING-A/shadow/update'
TB='$aws/things/THING-B/shadow/update'

# --- a device's first connect: subscribe and receive on its own shadow ---
MSG_A="{\"state\":{\"reported\":{\"hello\":\"$$-a\"}}}"
if mqtt_sub a "$A" THING-A "$TA" 10; then
	pass "THING-A connects over TLS with its thingca bundle and subscribes to its shadow"
	mqtt_pub "$A" THING-A-pub "$TA" "$MSG_A" > "$T/pub-a.out" 2>&1
	is "$?" 0 "THING-A publishes to its own shadow update topic"
	sub_wait
	is "$SUB_RC" 0 "mosquitto_sub -C 1 got a message and exited 0"
	is "$(grep -cxF "$MSG_A" "$T/a.sub")" 1 "THING-A received exactly what it published"
else
	fail "THING-A connects over TLS with its thingca bundle and subscribes to its shadow"
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null && wait "$SUBPID"
	SUBPID=
fi
like "$(cat "$T/mosquitto.log")" "New client connected from 127\.0\.0\.1:[0-9]+ as THING-A .*u'THING-A'" "the broker took the certificate CN as the username"

# --- ACL: THING-A cannot reach THING-B's shadow ---
MSG_EVIL="{\"state\":{\"desired\":{\"evil\":\"$$\"}}}"
MSG_B="{\"state\":{\"reported\":{\"hello\":\"$$-b\"}}}"
if mqtt_sub b "$B" THING-B "$TB" 10; then
	pass "THING-B subscribes to its own shadow"
	mqtt_pub "$A" THING-A "$TB" "$MSG_EVIL" > "$T/pub-evil.out" 2>&1
	diag "THING-A publishing to THING-B's shadow: mosquitto_pub exit $?"
	# Then THING-B itself: the first (and, -C 1, only) message THING-B
	# receives must be its own, never THING-A's.
	mqtt_pub "$B" THING-B-pub "$TB" "$MSG_B" > "$T/pub-b.out" 2>&1
	is "$?" 0 "THING-B publishes to its own shadow"
	sub_wait
	is "$SUB_RC" 0 "THING-B's subscriber got a message"
	is "$(grep -cF "$MSG_EVIL" "$T/b.sub")" 0 "THING-A's publish to THING-B's shadow was not delivered (ACL)"
	is "$(grep -cxF "$MSG_B" "$T/b.sub")" 1 "THING-B received its own message"
else
	fail "THING-B subscribes to its own shadow"
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null && wait "$SUBPID"
	SUBPID=
fi
like "$(cat "$T/mosquitto.log")" "Denied PUBLISH from THING-A .*'\\\$aws/things/THING-B/shadow/update'" "the broker logged the denied publish"

# Subscribing to another thing's shadow: mosquitto 2 grants the SUBSCRIBE
# (MQTT 3.1.1) but checks "read" on every delivery, so nothing THING-B
# publishes there reaches THING-A (iot:Receive of the seed policy).
MSG_B2="{\"state\":{\"reported\":{\"secret\":\"$$-b2\"}}}"
if mqtt_sub evil "$A" THING-A "$TB" 4; then
	mqtt_pub "$B" THING-B-pub "$TB" "$MSG_B2" > "$T/pub-b2.out" 2>&1
	is "$?" 0 "THING-B publishes to its own shadow while THING-A listens there"
	sub_wait
	is "$SUB_RC" 27 "THING-A's subscription to THING-B's shadow times out (mosquitto_sub exit 27)"
	is "$(grep -cF "$MSG_B2" "$T/evil.sub")" 0 "THING-B's message was not delivered to THING-A (ACL)"
else
	fail "THING-A's subscription to THING-B's shadow gets no message"
	[ -n "$SUBPID" ] && kill "$SUBPID" 2>/dev/null && wait "$SUBPID"
	SUBPID=
fi

# --- a certificate from another CA is refused at the handshake ---
mkdir -p "$T/rogue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/rogue/ca.key" -out "$T/rogue/ca.pem" -days 30 \
	-subj "/C=JP/O=Rogue/CN=Rogue CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/rogue/device.key" -out "$T/rogue/device.csr" \
	-subj "/C=JP/CN=THING-A" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > "$T/rogue/ext"
openssl x509 -req -in "$T/rogue/device.csr" -CA "$T/rogue/ca.pem" -CAkey "$T/rogue/ca.key" \
	-CAcreateserial -days 30 -sha256 -extfile "$T/rogue/ext" -out "$T/rogue/device.crt" 2>/dev/null
cat "$T/rogue/device.crt" "$T/rogue/ca.pem" > "$T/rogue/device-bundle.pem"
is "$(openssl x509 -in "$T/rogue/device.crt" -noout -subject -nameopt RFC2253 2>&1)" "subject=CN=THING-A,C=JP" "rogue certificate claims THING-A"
mqtt_pub "$T/rogue" THING-A "$TA" rogue > "$T/pub-rogue.out" 2>&1
rc=$?
[ $rc -ne 0 ] && pass "a certificate from another CA is refused (mosquitto_pub exit $rc)" ||
	fail "a certificate from another CA is refused" "exit != 0" "exit 0"
like "$(cat "$T/mosquitto.log")" "OpenSSL Error.*(certificate verify failed|unknown ca|unable to get (local )?issuer)" "the broker refused it at the TLS handshake"

# No client certificate at all: refused too (require_certificate).
timeout 20 mosquitto_pub -h 127.0.0.1 -p "$MQPORT" --cafile "$T/ca.pem" \
	-i THING-A -t "$TA" -m anon -q 1 > "$T/pub-anon.out" 2>&1
rc=$?
[ $rc -ne 0 ] && pass "a client without a certificate is refused (exit $rc)" ||
	fail "a client without a certificate is refused" "exit != 0" "exit 0"

# Still alive after all that, then stopped by PID.
alive "$MQPID" && pass "mosquitto still running" || fail "mosquitto still running"
mq_stop
is "$MQ_RC" 0 "mosquitto stops on SIGTERM with status 0"
done_testing
