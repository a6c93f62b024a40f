#!/bin/sh
# make run (mk/run.sh): the demo on embedded defaults. The first run creates
# state/ (CA, tokens, a configuration whose subject says "demo", 100
# serials) and serves 127.0.0.1:$PORT; a second run on the same state/ with
# another PORT serves that port, not the first one.
. "$THINGCA_SRC/tests/integration/lib.sh"

# run_demo PORT: mk/run.sh in the background on $T/state; waits (bounded)
# for thingcad's ready line. Sets PID.
run_demo() {
	: > "$T/run.log"
	PORT=$1 sh "$SRC/mk/run.sh" "$BIN" "$T/state" > "$T/run.out" 2> "$T/run.log" &
	PID=$!
	_i=0
	while [ $_i -lt 300 ]; do
		grep -q 'ready: CA' "$T/run.log" && return 0
		alive "$PID" || break
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "make run did not start:"
	sed 's/^/#   /' "$T/run.log" "$T/run.out"
	return 1
}

P1=$(free_port) || { fail "a free port"; done_testing; }
run_demo "$P1" && pass "make run starts on a fresh state/" || fail "make run starts on a fresh state/"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P1/healthz")" 200 "it serves 127.0.0.1:$P1"
like "$(cat "$T/run.out")" "http://127\.0\.0\.1:$P1" "and prints that URL"
is "$(jq -c .profile.subject "$T/state/thingca.json")" '{"C":"JP","O":"thingca demo","OU":"demo"}' "its configuration's subject says demo"
if grep -q 'DEMO subject' "$T/run.log"; then
	fail "no demo-subject warning: make run chose a subject"
else
	pass "no demo-subject warning: make run chose a subject"
fi
tca_stop
is "$STOP_RC" 0 "Ctrl-C (SIGTERM here) stops it with status 0"

P2=$(free_port) || { fail "a second free port"; done_testing; }
[ "$P2" != "$P1" ] || P2=$(free_port)
run_demo "$P2" && pass "make run starts again on the existing state/" || fail "make run starts again on the existing state/"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P2/healthz")" 200 "PORT=$P2 with an existing state/ serves :$P2"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P1/healthz")" 000 "and not the first run's :$P1"
like "$(cat "$T/run.out")" "http://127\.0\.0\.1:$P2" "the printed URL names :$P2"
is "$(grep -c DEMO "$T/state/demo-serials.txt")" 100 "the serials were imported once (100 in the file)"
tca_stop
done_testing
