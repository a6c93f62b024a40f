#!/bin/sh
# Tamper evidence: the triggers refuse UPDATE and DELETE; with the triggers
# dropped (an attacker with the file), `thingca ledger verify` still names
# the first entry that no longer matches: a changed byte in any recorded
# field, a deleted entry, a reordered entry. thingcad refuses to start on a
# ledger whose newest entry was altered.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
tca_import T-1 T-2 T-3 T-4 T-5
tca_start || { fail "thingcad starts"; done_testing; }
for s in T-1 T-2 T-3 T-4 T-5; do
	tca_csr "$s" ec:P-256
	tca_post /v1/certificates "$ST" "$(tca_json "$s" "$T/$s.csr")" >/dev/null
done
tca_stop
DB=$T/ledger.db
is "$(tca_sql 'SELECT count(*) FROM ledger')" 6 "six entries (one import, five issuances)"
out=$("$BIN/thingca" ledger verify --ledger "$DB" 2>&1)
is "$?" 0 "an untouched ledger verifies"

out=$(sqlite3 "$DB" "UPDATE ledger SET serial='X' WHERE seq=3" 2>&1)
like "$out" "append-only" "the UPDATE trigger refuses changes"
out=$(sqlite3 "$DB" "DELETE FROM ledger WHERE seq=3" 2>&1)
like "$out" "append-only" "the DELETE trigger refuses deletions"

# tamper COPY SQL: a copy of the ledger with the triggers dropped and SQL run
# (which must change exactly one row: a tamper that did not happen is a
# broken test, not a pass).
tamper() {
	cp "$DB" "$T/$1.db"
	triggers=$(sqlite3 "$T/$1.db" "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='ledger'")
	for tr in $triggers; do sqlite3 "$T/$1.db" "DROP TRIGGER $tr"; done
	_ch=$(sqlite3 "$T/$1.db" "$2; SELECT total_changes();" 2>&1)
	[ "$_ch" -ge 1 ] 2>/dev/null || diag "tamper $1 did not apply: $_ch"
}
# flip F: SQL for F with its second character changed (keeps length and
# format, so the schema's CHECK constraints still pass).
flip() {
	echo "substr($1,1,1) || (CASE WHEN substr($1,2,1) = '0' THEN '1' ELSE '0' END) || substr($1,3)"
}
check() { # NAME DB SEQ
	out=$("$BIN/thingca" ledger verify --ledger "$2" 2>&1)
	rc=$?
	is "$rc" 1 "$1: ledger verify fails"
	like "$out" "entry $3" "$1: it names entry $3"
}

for field in client serial thing_name certificate_id certificate_serial spki_sha256 not_before not_after time; do
	tamper "f-$field" "UPDATE ledger SET $field = $(flip $field) WHERE seq = 4"
	check "changed $field" "$T/f-$field.db" 4
done
tamper der "UPDATE ledger SET der = CAST(zeroblob(length(der)) AS BLOB) WHERE seq = 2"
check "certificate DER replaced" "$T/der.db" 2
tamper event "UPDATE ledger SET event = 'revoked', reissue = 1 WHERE seq = 5"
check "changed event" "$T/event.db" 5
tamper del "DELETE FROM ledger WHERE seq = 3"
check "deleted entry" "$T/del.db" 4
# Swap the contents of entries 3 and 4 (seq stays, rows trade places).
tamper swap "CREATE TEMP TABLE a AS SELECT * FROM ledger WHERE seq IN (3,4);
UPDATE ledger SET (time, event, client, serial, thing_name, certificate_id, certificate_serial, spki_sha256, not_before, not_after, reason, reissue, der, prev_hash, hash) =
 (SELECT time, event, client, serial, thing_name, certificate_id, certificate_serial, spki_sha256, not_before, not_after, reason, reissue, der, prev_hash, hash FROM a WHERE a.seq = 7 - ledger.seq) WHERE seq IN (3,4);"
check "reordered entries" "$T/swap.db" 3
# A rewritten entry with its own hash recomputed breaks the next link.
tamper relink "UPDATE ledger SET hash = '$(printf '%064d' 1)' WHERE seq = 2"
check "hash replaced" "$T/relink.db" 2

# ledger verify reports the head it verified and covers exactly the
# stored bytes: text cut short by a NUL byte, a column of another storage
# type (both read back as the hashed text), a view in place of the table.
out=$("$BIN/thingca" ledger verify --ledger "$DB" 2>&1)
like "$out" "OK: 6 entries, head 6:$(tca_sql 'SELECT hash FROM ledger WHERE seq = 6')" \
	"verify prints the head it verified"
tamper nul "UPDATE ledger SET thing_name = thing_name || char(0) || 'x' WHERE seq = 3"
check "text with a NUL byte" "$T/nul.db" 3
tamper blob "UPDATE ledger SET spki_sha256 = CAST(spki_sha256 AS BLOB) WHERE seq = 4"
check "a column stored as a blob" "$T/blob.db" 4
cp "$DB" "$T/view.db"
sqlite3 "$T/view.db" "ALTER TABLE ledger RENAME TO l2; CREATE VIEW ledger AS SELECT * FROM l2"
out=$("$BIN/thingca" ledger verify --ledger "$T/view.db" 2>&1)
is "$?" 1 "a view in place of the ledger table: verify fails"
like "$out" "not a table" "... saying so"

# thingcad refuses a ledger whose newest entry was altered (triggers put
# back: a ledger without them is refused for that alone).
tamper newest "UPDATE ledger SET serial = 'T-9' WHERE seq = 6"
sqlite3 "$T/newest.db" "CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
sed "s|$T/ledger.db|$T/newest.db|" "$T/thingca.json" > "$T/newest.json"
tca_start_fails "$T/newest.json" "a ledger with a tampered newest entry" "does not match its hash.*ledger verify"
done_testing
