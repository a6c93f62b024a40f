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
like "$(cat "$T/daemon.log")" "WARNING: .*thingca\.json has no profile\.subject: device certificates get the built-in DEMO subject C=JP, ST=Tokyo, L=Tokyo, O=MyOrg, OU=device" "no profile.subject: a start-up warning names the demo subject"
tca_stop

tca_config '"profile": {"subject": {"C": "DE", "O": "Example GmbH"}}'
tca_start || { fail "thingcad starts with profile.subject"; done_testing; }
if grep -q 'DEMO subject' "$T/daemon.log"; then
	fail "profile.subject given: no warning" "no DEMO line" "$(grep 'DEMO' "$T/daemon.log")"
else
	pass "profile.subject given: no warning"
fi
tca_stop
done_testing
