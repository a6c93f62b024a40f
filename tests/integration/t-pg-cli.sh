#!/bin/sh
# thingca on a PostgreSQL ledger (DESIGN.md "Command line"): ledger list,
# show, export, head, verify, serials import, revoke and jitp simulate
# --ledger work with --ledger URI or the configuration's URI, the password
# from PGPASSFILE only; ledger backup says to use PostgreSQL's tools or
# ledger copy. A URI holding a password is refused without repeating it; a
# schema newer than the build is refused.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
pg_ledger db

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
jq --arg l "$U" '.ledger = $l' "$T/thingca.json" > "$T/pg.json"
printf '%s\n' C-1 C-2 > "$T/serials.txt"
"$BIN/thingca" -c "$T/pg.json" serials import --batch b1 "$T/serials.txt" > "$T/out" 2>&1
is "$?" 0 "serials import on the configuration's URI (the schema created on first use)"
pg_node n1 "$U" || { fail "thingcad starts"; done_testing; }
tca_csr c1
is "$(node_post n1 "$ST" C-1 "$T/c1.csr")" 201 "C-1 issued"
ID=$(jq -r .certificate_id "$T/body")

"$BIN/thingca" ledger list --ledger "$U" > "$T/list" 2>&1
is "$?" 0 "ledger list --ledger URI"
like "$(cat "$T/list")" "$ID" "... shows the certificate"
"$BIN/thingca" -c "$T/pg.json" ledger list --serial C-1 > "$T/list2" 2>&1
like "$(cat "$T/list2")" "$ID" "ledger list on the configuration's URI, filtered"
"$BIN/thingca" ledger show --ledger "$U" --pem "$ID" > "$T/c1.pem" 2>&1
is "$(openssl x509 -in "$T/c1.pem" -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')" \
	"$ID" "ledger show --pem prints the certificate (its SHA-256 is the ID)"
"$BIN/thingca" ledger export --ledger "$U" --format csv > "$T/export.csv" 2>&1
is "$(grep -c "$ID" "$T/export.csv")" 1 "ledger export --format csv"

cat > "$T/tmpl.json" <<'JSON'
{"templateBody": "{\"Parameters\":{\"AWS::IoT::Certificate::CommonName\":{\"Type\":\"String\"},\"AWS::IoT::Certificate::Id\":{\"Type\":\"String\"}},\"Resources\":{\"thing\":{\"Type\":\"AWS::IoT::Thing\",\"Properties\":{\"ThingName\":{\"Ref\":\"AWS::IoT::Certificate::CommonName\"}}},\"certificate\":{\"Type\":\"AWS::IoT::Certificate\",\"Properties\":{\"CertificateId\":{\"Ref\":\"AWS::IoT::Certificate::Id\"},\"Status\":\"ACTIVE\"}}}}", "roleArn": "arn:aws:iam::123456789012:role/JITP"}
JSON
"$BIN/thingca" -c "$T/pg.json" jitp simulate --template "$T/tmpl.json" --ledger "$U" > "$T/sim" 2>&1
is "$?" 0 "jitp simulate --ledger URI"
like "$(cat "$T/sim")" "^1 certificates? checked, 0 would fail" "... over the ledger's certificates"

"$BIN/thingca" -c "$T/pg.json" revoke "$ID" --reason keyCompromise > "$T/rev" 2>&1
is "$?" 0 "revoke on the configuration's URI"
is "$(pg_sql db "SELECT node IS NULL, client LIKE 'cli:%' FROM ledger WHERE event = 'revoked'")" "f|t" \
	"... recorded by the CLI, with a node name"
is "$(node_post n1 "$ST" C-1 "$T/c1.csr")" 409 "the daemon sees the revocation at once"

"$BIN/thingca" ledger verify --ledger "$U" > "$T/verify" 2>&1
is "$?" 0 "ledger verify --ledger URI"
"$BIN/thingca" ledger backup --ledger "$U" --to "$T/b.db" > "$T/backup" 2>&1
is "$?" 1 "ledger backup on PostgreSQL is refused"
like "$(cat "$T/backup")" "pg_dump|ledger copy" "... saying to use pg_dump / pg_basebackup or ledger copy"

"$BIN/thingca" ledger list --ledger "postgresql://thingca:hunter2@127.0.0.1:$(pg_port db)/thingca" > "$T/pw" 2>&1
is "$?" 1 "a URI with a password is refused"
like "$(cat "$T/pw")" "passfile" "... pointing to the passfile"
if grep -q hunter2 "$T/pw"; then fail "... and the password is not printed"
else pass "... and the password is not printed"; fi
PGPASSFILE=/dev/null "$BIN/thingca" ledger list --ledger "$U" > "$T/nopw" 2>&1
is "$?" 1 "without the passfile: refused"
like "$(cat "$T/nopw")" "$PG_ROLE@|127.0.0.1" "... naming the database, not a password"

node_stop n1
is "$STOP_RC" 0 "thingcad stops cleanly"

# a schema newer than this build: refused at start and by the CLI
pg_sql db "UPDATE schema_version SET version = 99"
tca_start_fails "$T/n1.json" "a schema newer than this build" "schema version 99 is newer than this build"
"$BIN/thingca" ledger list --ledger "$U" > "$T/new" 2>&1
is "$?" 1 "... ledger list refuses it too"
done_testing
