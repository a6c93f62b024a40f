#!/bin/sh
# A configuration without profile.subject stamps the built-in demo subject
# (C=JP, ST=Tokyo, L=Tokyo, O=MyOrg, OU=device) into device certificates:
# thingcad says so loudly at start; with profile.subject it does not
# (docs/configuration.md "profile.subject").
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
tca_token line1-station1 station >/dev/null
tca_config
tca_start || { fail "thingcad starts without profile"; done_testing; }
like "$(cat "$T/daemon.log")" "warning: .*thingca\.json has no profile\.subject: device certificates get the built-in DEMO subject C=JP, ST=Tokyo, L=Tokyo, O=MyOrg, OU=device" "no profile.subject: a start-up warning names the demo subject"
tca_stop
out=$("$BIN/thingca" -c "$T/thingca.json" jitp template --role-arn arn:aws:iam::123456789012:role/JITPRole 2>&1 >/dev/null)
like "$out" "has no profile.subject: the built-in DEMO subject" "thingca jitp template says so too (its template declares that subject)"

tca_config '"profile": {"subject": {"C": "DE", "O": "Example GmbH"}}'
tca_start || { fail "thingcad starts with profile.subject"; done_testing; }
if grep -q 'DEMO subject' "$T/daemon.log"; then
	fail "profile.subject given: no warning" "no DEMO line" "$(grep 'DEMO' "$T/daemon.log")"
else
	pass "profile.subject given: no warning"
fi
out=$("$BIN/thingca" -c "$T/thingca.json" jitp template --role-arn arn:aws:iam::123456789012:role/JITPRole 2>&1 >/dev/null)
is "$(printf '%s' "$out" | grep -c DEMO)" 0 "nor from jitp template"
tca_stop
done_testing
