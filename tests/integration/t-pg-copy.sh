#!/bin/sh
# thingca ledger copy (DESIGN.md "Command line"): a line's SQLite ledger
# into an empty PostgreSQL database when the site grows, and a PostgreSQL
# ledger into one new SQLite file an auditor takes away. Entries are copied
# exactly as stored, with the serial allowlist; both sides verify to the
# same head (the same entries hash the same on both backends). A copy
# into a database that holds a ledger, or onto an existing file, is
# refused and changes nothing.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
pg_ledger db

# a line ledger in SQLite: serials, issuances, a revocation
tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config
tca_start || { fail "thingcad starts on SQLite"; done_testing; }
tca_import L-1 L-2 L-3 L-4 L-5
for k in 1 2 3; do
	tca_csr "l$k"
	is "$(tca_post /v1/certificates "$ST" "$(tca_json "L-$k" "$T/l$k.csr")")" 201 "SQLite: L-$k issued"
done
id=$(jbody .certificate_id)
is "$(tca_post "/v1/certificates/$id/revoke" "$AD" '{"reason": "keyCompromise", "reissue": true}')" 200 \
	"SQLite: L-3 revoked"
tca_stop
head_sqlite=$("$BIN/thingca" ledger head --ledger "$T/ledger.db")

"$BIN/thingca" ledger copy --from "$T/ledger.db" --to "$U" > "$T/copy.out" 2>&1
is "$?" 0 "ledger copy SQLite -> PostgreSQL"
like "$(cat "$T/copy.out")" "head $head_sqlite " "... prints the head both verify to"
is "$("$BIN/thingca" ledger head --ledger "$U")" "$head_sqlite" "... the same head on PostgreSQL"
"$BIN/thingca" ledger verify --ledger "$U" > /dev/null 2>&1
is "$?" 0 "... which verifies"
is "$(pg_sql db "SELECT count(*) FROM serials")" 5 "... with the allowlist (5 serials)"
is "$(pg_sql db "SELECT batch FROM serials WHERE serial = 'L-5'")" "$(tca_sql "SELECT batch FROM serials WHERE serial = 'L-5'")" \
	"... batch as stored"
is "$(pg_sql db "SELECT encode(sha256(string_agg(hash, '' ORDER BY seq)::bytea), 'hex') FROM ledger")" \
	"$(tca_sql "SELECT group_concat(hash, '') FROM (SELECT hash FROM ledger ORDER BY seq)" | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
	"... every entry's hash as stored"

# the rules carry over: L-1 keeps its certificate, L-3 may be reissued
pg_node n1 "$U" || { fail "thingcad starts on the copied ledger"; done_testing; }
tca_csr x
is "$(node_post n1 "$ST" L-1 "$T/x.csr")" 409 "PostgreSQL: L-1 already has its certificate (409)"
is "$(node_post n1 "$ST" L-3 "$T/l3.csr")" 409 "PostgreSQL: the revoked key of L-3 is refused (409)"
is "$(jbody .error)" public_key_reused "... public_key_reused"
is "$(node_post n1 "$ST" L-3 "$T/x.csr")" 201 "PostgreSQL: L-3 reissued with a new key (201)"
node_stop n1

"$BIN/thingca" ledger copy --from "$T/ledger.db" --to "$U" > "$T/copy2.out" 2>&1
is "$?" 1 "a copy into a database that holds a ledger is refused"
like "$(cat "$T/copy2.out")" "not empty|already" "... saying why"
is "$(pg_sql db "SELECT count(*) FROM ledger WHERE node = 'n1'")" 1 "... and changes nothing"

head_pg=$("$BIN/thingca" ledger head --ledger "$U")
"$BIN/thingca" ledger copy --from "$U" --to "$T/audit.db" > "$T/copy3.out" 2>&1
is "$?" 0 "ledger copy PostgreSQL -> a new SQLite file"
is "$("$BIN/thingca" ledger head --ledger "$T/audit.db")" "$head_pg" "... the same head"
"$BIN/thingca" ledger verify --ledger "$T/audit.db" > /dev/null 2>&1
is "$?" 0 "... which verifies"
is "$(sqlite3 "$T/audit.db" "SELECT count(*) FROM serials")" 5 "... with the allowlist"
is "$(sqlite3 "$T/audit.db" "SELECT node FROM ledger ORDER BY seq DESC LIMIT 1")" n1 "... and the node of each entry"
is "$(stat -c %a "$T/audit.db")" 600 "... mode 0600"

"$BIN/thingca" ledger copy --from "$U" --to "$T/audit.db" > "$T/copy4.out" 2>&1
is "$?" 1 "a copy onto an existing file is refused"
is "$("$BIN/thingca" ledger head --ledger "$T/audit.db")" "$head_pg" "... and leaves it as it was"

"$BIN/thingca" ledger copy --from "postgresql://thingca:secret@127.0.0.1:1/x" --to "$T/x.db" > "$T/copy5.out" 2>&1
is "$?" 1 "a URI with a password in it is refused"
if grep -q secret "$T/copy5.out"; then fail "... and the password is not printed"
else pass "... and the password is not printed"; fi
done_testing
