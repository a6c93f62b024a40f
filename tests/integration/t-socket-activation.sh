#!/bin/sh
# Socket activation: systemd-socket-activate hands thingcad a TCP socket and a
# Unix socket (LISTEN_FDS/LISTEN_PID, as thingcad.socket would); thingcad
# serves both, issues a certificate over the Unix one, and binds none of the
# configuration's "listen" addresses. See DESIGN.md "systemd" and
# "Configuration" (listen).
. "$THINGCA_SRC/tests/integration/lib.sh"

command -v systemd-socket-activate >/dev/null 2>&1 ||
	skip_all "systemd-socket-activate not installed"

# For wait_until: both passed sockets announced, or thingcad gone; the
# first 'Listening on', or thingcad gone.
both_listening() { [ "$(grep -c 'Listening on' "$T/daemon.log")" -ge 2 ] || ! alive "$PID"; }
listening_or_gone() { grep -q 'Listening on' "$T/daemon.log" || ! alive "$PID"; }

SOCK="$T/thingcad.sock"
tca_ca ec:P-256
ST=$(tca_token line1-station1 station)
AD=$(tca_token ops admin)
tca_config
OTHER=$(free_port) || { fail "a free port for the configuration"; done_testing; }
# The configured "listen" names a port of its own and a Unix path; neither
# may be bound when systemd passes sockets.
sed -i "s|\"listen\": \[\"127.0.0.1:0\"\]|\"listen\": [\"127.0.0.1:$OTHER\", \"unix:$T/config.sock\"]|" "$T/thingca.json"
like "$(cat "$T/thingca.json")" "127\.0\.0\.1:$OTHER" "configuration listens on 127.0.0.1:$OTHER"

# Start systemd-socket-activate; retry on a port taken in the meantime. It
# binds, waits for the first connection, then execs thingcad (same PID).
started=
for try in 1 2 3 4 5; do
	PORT=$(free_port) || continue
	[ "$PORT" = "$OTHER" ] && continue
	: > "$T/daemon.log"
	rm -f "$SOCK"
	systemd-socket-activate -l "127.0.0.1:$PORT" -l "$SOCK" \
		"$BIN/thingcad" -c "$T/thingca.json" 2>> "$T/daemon.log" &
	PID=$!
	wait_until 50 both_listening
	if alive "$PID" && [ -S "$SOCK" ] && [ "$(grep -c 'Listening on' "$T/daemon.log")" -ge 2 ]; then
		started=1
		break
	fi
	diag "try $try: systemd-socket-activate did not listen: $(tr '\n' ' ' < "$T/daemon.log")"
	kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
done
[ -n "$started" ] || { fail "systemd-socket-activate listens"; done_testing; }
pass "systemd-socket-activate listens on 127.0.0.1:$PORT and $SOCK"
URL="http://127.0.0.1:$PORT"

# The first connection makes it exec thingcad; curl waits in the backlog.
is "$(tca_get /healthz)" 200 "GET /healthz over the inherited TCP socket"
wait_until 100 grep -q 'ready: CA' "$T/daemon.log"
like "$(cat "$T/daemon.log")" "thingcad\[$PID\]: .*ready: CA" "thingcad runs as the activator's PID (exec, so LISTEN_PID matched)"
like "$(cat "$T/daemon.log")" "serving on 127\.0\.0\.1:$PORT \(from systemd\)" "serves the passed TCP socket"
like "$(cat "$T/daemon.log")" "serving on unix:$SOCK \(from systemd\)" "serves the passed Unix socket"
is "$(grep -c 'serving on' "$T/daemon.log")" 2 "serves exactly the two passed sockets"

# Nothing from the configuration's "listen" is bound.
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$OTHER/healthz"
is "$?" 7 "configured listen 127.0.0.1:$OTHER is not bound (connection refused)"
[ -e "$T/config.sock" ] && fail "configured unix:$T/config.sock is not created" ||
	pass "configured unix:$T/config.sock is not created"
like "$(cat "$T/daemon.log")" "listen\[0\] 127\.0\.0\.1:$OTHER: not served: under socket activation" "the unserved listen entry is named in the log"
like "$(cat "$T/daemon.log")" "listen\[1\] unix:$T/config.sock: not served" "so is the unserved Unix one"

# Over the Unix socket: health, serial import (admin), issuance (station).
U="--unix-socket $SOCK"
URL=http://localhost
# shellcheck disable=SC2086
is "$(tca_get /healthz '' $U)" 200 "GET /healthz over the inherited Unix socket"
# shellcheck disable=SC2086
st=$(tca_post /v1/serials "$AD" '{"batch": "sockact", "serials": ["SN-UNIX-1"]}' $U)
is "$st/$(jbody .added)" 200/1 "POST /v1/serials over the Unix socket (admin)"
tca_csr dev ec:P-256
# shellcheck disable=SC2086
st=$(tca_post /v1/certificates "$ST" "$(tca_json SN-UNIX-1 "$T/dev.csr")" $U)
is "$st" 201 "certificate issued over the Unix socket"
jbody .chain > "$T/dev.chain"
is "$(openssl verify -CAfile "$T/ca.pem" "$T/dev.chain" 2>&1)" "$T/dev.chain: OK" "the issued chain verifies against the CA"
is "$(jbody .thing_name)" SN-UNIX-1 "thing_name is the serial"
like "$(cat "$T/daemon.log")" "POST /v1/certificates 201 client=line1-station1 serial=SN-UNIX-1 .*peer=unix" "issuance logged with the Unix peer"
is "$(tca_sql "SELECT client || '|' || serial FROM ledger WHERE event='issued'")" "line1-station1|SN-UNIX-1" "issuance recorded in the ledger"

# Both sockets still serve after that (the TCP one again).
URL="http://127.0.0.1:$PORT"
is "$(tca_get /v1/ca)" 200 "GET /v1/ca over TCP"

# Stop by PID; not tca_stop inside $(...): a subshell cannot wait for it.
kill -TERM "$PID"
wait_until 300 _proc_gone "$PID"
kill -KILL "$PID" 2>/dev/null
wait "$PID"
is "$?" 0 "SIGTERM stops thingcad with status 0"
PID=

# An inherited socket whose address matches an HTTPS "listen" entry gets
# that entry's TLS settings (thingcad.socket in front of an HTTPS listener).
"$BIN/thingca" -c "$T/thingca.json" ca server-cert --ip 127.0.0.1 \
	--ca-cert "$T/ca.pem" --ca-key "$T/ca.key" \
	--out-cert "$T/srv.pem" --out-key "$T/srv.key" >/dev/null 2>&1
TPORT=$(free_port) || { fail "a free port for TLS"; done_testing; }
sed -i "s|\"listen\": \[[^]]*\]|\"listen\": [{\"address\": \"127.0.0.1:$TPORT\", \"tls\": {\"certificate\": \"$T/srv.pem\", \"key\": \"$T/srv.key\"}}]|" "$T/thingca.json"
: > "$T/daemon.log"
systemd-socket-activate -l "127.0.0.1:$TPORT" "$BIN/thingcad" -c "$T/thingca.json" 2>> "$T/daemon.log" &
PID=$!
wait_until 50 listening_or_gone
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 --cacert "$T/ca.pem" "https://127.0.0.1:$TPORT/healthz")
is "$st" 200 "HTTPS over the inherited socket that matches a TLS listen entry"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$TPORT/healthz")
is "$st" 000 "plain HTTP is not served there"
tca_stop
is "$STOP_RC" 0 "stops with status 0"
done_testing
