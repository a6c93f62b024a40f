#!/bin/sh
# CSV for spreadsheets (OWASP "CSV injection"): a field starting with = + -
# @ TAB or CR is prefixed with ' so that a spreadsheet shows it instead of
# running it as a formula, in GET /v1/ledger with Accept: text/csv and in
# `thingca ledger export --format csv` alike. The default serial_pattern and
# client names allow a leading '-'.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token -line1 station)
AU=$(tca_token audit auditor)
tca_config
tca_import -23 || fail "serial -23 imported"
tca_start || { fail "thingcad starts"; done_testing; }
tca_csr d ec:P-256
is "$(tca_post /v1/certificates "$ST" "$(tca_json -23 "$T/d.csr")")" 201 "serial -23 issued by client -line1"

want="'-line1,'-23,'-23"
is "$(tca_get "/v1/ledger?event=issued" "$AU" -H 'Accept: text/csv')" 200 "GET /v1/ledger as CSV"
# client, serial, thing_name by the header's names (columns may be added)
cols() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	NR == 2 { print $c["client"] "," $c["serial"] "," $c["thing_name"] }' "$1"; }
is "$(cols "$T/body")" "$want" "API CSV: client, serial and thing name prefixed with '"
"$BIN/thingca" -c "$T/thingca.json" ledger export --format csv --event issued > "$T/export.csv"
is "$?" 0 "thingca ledger export --format csv"
is "$(cols "$T/export.csv")" "$want" "export CSV: the same"
is "$(tca_get "/v1/ledger?event=issued" "$AU")" 200 "GET /v1/ledger as JSON"
is "$(jbody '.entries[0].serial')" "-23" "JSON keeps the value as it is"
tca_stop
done_testing
