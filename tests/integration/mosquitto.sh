# tests/integration/mosquitto.sh — a real mosquitto broker on loopback for
# the first-connect tests. Source after lib.sh:
#   . "$THINGCA_SRC/tests/integration/mosquitto.sh"
# Skips the test when mosquitto or its clients are missing. The caller
# writes $T/mosquitto.conf.in with @PORT@ where the listener port goes and
# its log at $T/mosquitto.log; mq_start runs it (MQPID, MQPORT), mq_stop
# stops it by PID (MQ_RC its status); the EXIT trap stops it too.

command -v mosquitto > /dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || skip_all "mosquitto not installed"
command -v mosquitto_sub > /dev/null 2>&1 || skip_all "mosquitto-clients not installed"
command -v mosquitto_pub > /dev/null 2>&1 || skip_all "mosquitto-clients not installed"
[ -x /usr/sbin/mosquitto ] && MOSQ=/usr/sbin/mosquitto || MOSQ=$(command -v mosquitto)
MQPID=
MQPORT=
MQ_RC=

# mq_stop: stop mosquitto by its PID, bounded.
mq_stop() {
	[ -n "$MQPID" ] || return 0
	stop_pid "$MQPID" TERM 100
	wait "$MQPID" 2>/dev/null
	MQ_RC=$?
	MQPID=
}
trap 'mq_stop; _cleanup' EXIT

_mq_running() { grep -q "mosquitto version .* running" "$T/mosquitto.log" || ! alive "$MQPID"; }

# mq_start: mosquitto -c $T/mosquitto.conf in the background on a free
# port; waits (bounded) until it is running. Retries with another port if
# the one picked was taken in between. Sets MQPID, MQPORT.
mq_start() {
	_try=0
	while [ $_try -lt 3 ]; do
		_try=$((_try + 1))
		MQPORT=$(free_port) || return 1
		sed "s/@PORT@/$MQPORT/" "$T/mosquitto.conf.in" > "$T/mosquitto.conf"
		: > "$T/mosquitto.log"
		"$MOSQ" -c "$T/mosquitto.conf" > "$T/mosquitto.out" 2>&1 &
		MQPID=$!
		wait_until 100 _mq_running
		grep -q "mosquitto version .* running" "$T/mosquitto.log" && return 0
		diag "mosquitto did not start on port $MQPORT:"
		sed 's/^/#   /' "$T/mosquitto.log" "$T/mosquitto.out"
		mq_stop
	done
	return 1
}
