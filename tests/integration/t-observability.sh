#!/bin/sh
# What an operator watches: /healthz, /readyz (ledger writable, key signs,
# CA not within 30 days of expiry), /metrics in Prometheus text format, and
# --version / --help of both programs.
. "$THINGCA_SRC/tests/integration/lib.sh"

like "$("$BIN/thingcad" --version)" "^thingcad [0-9]+\.[0-9]+" "thingcad --version"
like "$("$BIN/thingca" --version)" "^thingca [0-9]+\.[0-9]+" "thingca --version"
like "$("$BIN/thingcad" --help)" "usage: thingcad" "thingcad --help"
like "$("$BIN/thingca" --help)" "usage: thingca" "thingca --help"
"$BIN/thingca" no-such-command 2>/dev/null
is "$?" 2 "an unknown command is a usage error (exit 2)"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
tca_import M-1 M-2 M-3 M-4
tca_start || { fail "thingcad starts"; done_testing; }

is "$(tca_get /healthz)" 200 "/healthz answers 200"
is "$(tca_get /readyz)/$(jbody .status)" "200/ready" "/readyz: ledger writable, key signs, CA valid for long"

tca_csr m1 ec:P-256
tca_post /v1/certificates "$ST" "$(tca_json M-1 "$T/m1.csr")" >/dev/null
tca_post /v1/certificates "$ST" "$(tca_json M-1 "$T/m1.csr")" >/dev/null
tca_post /v1/certificates "$ST" "$(tca_json M-9 "$T/m1.csr")" >/dev/null
tca_post /v1/certificates "bad-token" "$(tca_json M-2 "$T/m1.csr")" >/dev/null
st=$(tca_get /metrics "" -D "$T/hdr")
is "$st" 200 "/metrics answers without a token"
like "$(grep -i '^content-type' "$T/hdr")" "text/plain; version=0.0.4" "Prometheus text format"
m=$(cat "$T/body")
is "$(printf '%s\n' "$m" | grep '^thingca_issued_total ' | cut -d' ' -f2)" 1 "issued total counts the new certificate"
like "$m" "thingca_reissued_total 1" "a retry is counted apart"
like "$m" 'thingca_refused_total\{code="serial_unknown"\} 1' "refusals by error code (serial_unknown)"
like "$m" 'thingca_refused_total\{code="unauthorized"\} 1' "refusals by error code (unauthorized)"
like "$m" 'thingca_request_duration_seconds_bucket\{le="\+Inf"\} [0-9]+' "latency histogram"
like "$m" "thingca_request_duration_seconds_count [0-9]+" "histogram count"
like "$m" "thingca_ledger_entries 2" "ledger size: the import and the one issuance, nothing for refusals"
like "$m" "thingca_serials_unissued 3" "allowlisted serials not yet issued"
like "$m" "thingca_ca_days_to_expiry 36(49|50)" "CA days to expiry"
like "$m" "thingca_ready 1" "ready gauge"

# /metrics is unauthenticated: its expensive gauges (a count over the
# allowlist, the ledger probe, the CA self-test) are computed at most once
# per 30 s, in the background, never per scrape. Scrapes right after, with
# a new certificate in between, show the same computation.
gauge() { printf '%s\n' "$1" | sed -n "s/^$2 //p"; }
c1=$(gauge "$m" thingca_gauges_computations_total)
t1=$(gauge "$m" thingca_gauges_computed_timestamp_seconds)
is "$c1" 1 "the first scrape waited for the first computation of the gauges"
like "$t1" "^[0-9]{10}$" "... and says when it was made"
tca_csr m3 ec:P-256
is "$(tca_post /v1/certificates "$ST" "$(tca_json M-3 "$T/m3.csr")")" 201 "another certificate"
same=0
for i in 1 2 3 4 5 6 7 8; do
	tca_get /metrics >/dev/null
	m2=$(cat "$T/body")
	[ "$(gauge "$m2" thingca_gauges_computations_total)/$(gauge "$m2" thingca_gauges_computed_timestamp_seconds)" = "$c1/$t1" ] &&
		same=$((same + 1))
done
is "$same" 8 "8 more scrapes ran no computation (same count and timestamp)"
is "$(gauge "$m2" thingca_ledger_entries)" 2 "... and show the cached ledger count, not a fresh one"
is "$(gauge "$m2" thingca_issued_total)" 2 "counters stay live"
tca_stop
is "$STOP_RC" 0 "daemon stops"

# A CA within 30 days of its end: still serving, but not ready.
mkdir -p "$T/short"
"$BIN/thingca" ca init --days 20 --out-cert "$T/short/ca.pem" --out-key "$T/short/ca.key" >/dev/null
sed -e "s|$T/ca.pem|$T/short/ca.pem|" -e "s|$T/ca.key|$T/short/ca.key|" \
    -e "s|$T/ledger.db|$T/short/ledger.db|" "$T/thingca.json" > "$T/short.json"
tca_start "$T/short.json" || { fail "thingcad starts with a short-lived CA"; done_testing; }
is "$(tca_get /healthz)" 200 "/healthz still 200"
is "$(tca_get /readyz)/$(jbody .status)" "503/not_ready" "/readyz 503 when the CA expires within 30 days"
like "$(jbody .reason)" "expires in (19|20) days" "and says why"
tca_get /metrics >/dev/null
like "$(cat "$T/body")" "thingca_ready 0" "ready gauge 0"
tca_stop
done_testing
