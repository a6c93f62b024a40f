#!/bin/sh
# The ledger the configuration names (DESIGN.md "Ledger"): an SQLite file
# replaced or deleted under a running thingcad is an error, not a fresh
# start. /readyz answers 503 and issuance 503 ledger_unavailable, with no
# certificate in the answer. At start thingcad refuses a ledger without its
# append-only triggers, and a ledger file or directory writable by group or
# others.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
tca_import L-1 L-2 L-3 L-4
tca_start || { fail "thingcad starts"; done_testing; }
tca_csr L-1
st=$(tca_post /v1/certificates "$ST" "$(tca_json L-1 "$T/L-1.csr")")
is "$st" 201 "issues while the ledger is in place"
is "$(tca_get /readyz)" 200 "ready"

# another file at the path (a restore over a running daemon, an attacker)
sqlite3 "$T/ledger.db" ".backup '$T/other.db'"
mv "$T/other.db" "$T/ledger.db"
st=$(tca_get /readyz)
is "$st" 503 "replaced file: /readyz 503"
like "$(cat "$T/body")" "replaced" "... saying the file was replaced"
tca_csr L-2
st=$(tca_post /v1/certificates "$ST" "$(tca_json L-2 "$T/L-2.csr")")
is "$st/$(jbody .error)" "503/ledger_unavailable" "replaced file: issuance 503 ledger_unavailable"
is "$(jbody .certificate)" "null" "... and no certificate in the answer"
tca_stop
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial = 'L-2'")" 0 "... nor an entry in the file at the path"

# deleted: a fresh ledger file, removed while the daemon runs
sed -i "s|\"$T/ledger.db\"|\"$T/gone.db\"|" "$T/thingca.json"
tca_import L-3
tca_start || { fail "thingcad starts on a second ledger"; done_testing; }
rm -f "$T/gone.db"
st=$(tca_get /readyz)
is "$st" 503 "deleted file: /readyz 503"
like "$(cat "$T/body")" "deleted" "... saying the file was deleted"
tca_csr L-3
st=$(tca_post /v1/certificates "$ST" "$(tca_json L-3 "$T/L-3.csr")")
is "$st/$(jbody .error)" "503/ledger_unavailable" "deleted file: issuance 503 ledger_unavailable"
tca_stop
sed -i "s|\"$T/gone.db\"|\"$T/ledger.db\"|" "$T/thingca.json"

# refusals at start
cp "$T/ledger.db" "$T/keep.db"
sqlite3 "$T/ledger.db" "DROP TRIGGER ledger_no_delete"
tca_start_fails "$T/thingca.json" "a ledger without its delete trigger" \
	"append-only trigger ledger_no_delete is missing"
cp "$T/keep.db" "$T/ledger.db"
chmod 0660 "$T/ledger.db"
tca_start_fails "$T/thingca.json" "a group-writable ledger file" \
	"writable by group or others"
chmod 0600 "$T/ledger.db"
chmod 0770 "$T"
tca_start_fails "$T/thingca.json" "a ledger in a group-writable directory" \
	"directory .* is writable by group or others"
chmod 0700 "$T"
tca_start || fail "thingcad starts again once all is in order"
tca_stop
done_testing
