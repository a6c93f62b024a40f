#!/bin/sh
# Never lose the ledger: an online backup taken while stations issue holds
# every entry committed before it began and verifies; a restored copy keeps
# refusing second certificates; the head logged at start, stop and every
# anchor interval exposes a truncated copy; a newer schema is refused.
. "$THINGCA_SRC/tests/integration/lib.sh"

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config '"ledger_anchor_interval_s": 1'
i=1
: > "$T/all.txt"
while [ $i -le 60 ]; do printf 'B-%03d\n' $i >> "$T/all.txt"; i=$((i + 1)); done
"$BIN/thingca" -c "$T/thingca.json" serials import --batch all "$T/all.txt" >/dev/null
i=1
while [ $i -le 60 ]; do
	s=$(printf 'B-%03d' $i)
	tca_csr "$s" ec:P-256
	tca_json "$s" "$T/$s.csr" > "$T/$s.json"
	i=$((i + 1))
done
tca_start || { fail "thingcad starts"; done_testing; }
like "$(cat "$T/daemon.log")" "ledger head at start: 1:[0-9a-f]{64}" "head logged at start"

# Background load: two stations' worth of sequential issuances B-001..B-040;
# each answer's certificate ID is appended once the 201 has arrived.
load() { # FIRST LAST
	j=$1
	while [ $j -le $2 ]; do
		s=$(printf 'B-%03d' $j)
		code=$(curl -s -o "$T/$s.out" -w '%{http_code}' --max-time 30 \
			-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
			--data-binary @"$T/$s.json" "$URL/v1/certificates")
		[ "$code" = 201 ] && echo "$s $(jq -r .certificate_id "$T/$s.out")" >> "$T/answers.$1"
		j=$((j + 1))
	done
}
load 1 20 & L1=$!
load 21 40 & L2=$!
ten_answers() { [ "$(cat "$T"/answers.* 2>/dev/null | wc -l)" -ge 10 ]; }
wait_until 100 ten_answers
cat "$T"/answers.* > "$T/before-backup.txt"
out=$("$BIN/thingca" ledger backup --ledger "$T/ledger.db" --to "$T/backup.db" 2>&1)
is "$?" 0 "online backup while stations issue"
like "$out" "OK: [0-9]+ entries, head [0-9]+:[0-9a-f]{64}" "backup reports the copy's head"
wait_until 600 _proc_gone "$L1"
wait_until 600 _proc_gone "$L2"
missing=0
while read -r s id; do
	[ "$(sqlite3 "$T/backup.db" "SELECT count(*) FROM ledger WHERE certificate_id='$id' AND serial='$s'")" = 1 ] || missing=$((missing + 1))
done < "$T/before-backup.txt"
is "$missing" 0 "the copy holds every certificate answered before the backup began ($(wc -l < "$T/before-backup.txt") of them)"
out=$("$BIN/thingca" ledger verify --ledger "$T/backup.db" 2>&1)
is "$?" 0 "the copy verifies on its own"
out=$("$BIN/thingca" ledger backup --ledger "$T/ledger.db" --to "$T/backup.db" 2>&1)
is "$?" 1 "backup refuses to overwrite without --force"
like "$out" "exists" "and says why"
out=$("$BIN/thingca" ledger backup --ledger "$T/ledger.db" --to "$T/backup2.db" --force 2>&1)
is "$?" 0 "a second backup (--force allowed)"
is "$(cat "$T"/answers.* | wc -l)" 40 "the load got its 40 certificates"

sleep 2.2
like "$(cat "$T/daemon.log")" "ledger head at anchor: [0-9]+:[0-9a-f]{64}" "head anchored in the log every ledger_anchor_interval_s"
tca_stop
is "$STOP_RC" 0 "daemon stops"
anchor=$(sed -n 's/.*ledger head at stop: \([0-9]*:[0-9a-f]*\).*/\1/p' "$T/daemon.log" | tail -n 1)
like "$anchor" "^[0-9]+:[0-9a-f]{64}$" "head logged at stop"
out=$("$BIN/thingca" ledger verify --ledger "$T/ledger.db" --head "$anchor" 2>&1)
is "$?" 0 "the ledger matches the logged head"

# A truncated copy passes its own chain check but not the logged head.
cp "$T/ledger.db" "$T/trunc.db"
sqlite3 "$T/trunc.db" "DROP TRIGGER ledger_no_delete; DELETE FROM ledger WHERE seq > (SELECT max(seq) - 3 FROM ledger);"
out=$("$BIN/thingca" ledger verify --ledger "$T/trunc.db" 2>&1)
is "$?" 0 "a truncated copy still chains"
out=$("$BIN/thingca" ledger verify --ledger "$T/trunc.db" --head "$anchor" 2>&1)
is "$?" 1 "but verify --head with the logged head fails"
like "$out" "anchor|removed|head" "saying entries were removed"

# Restore drill: replace the file with the backup, start, issue more.
rm -f "$T/ledger.db" "$T/ledger.db-wal" "$T/ledger.db-shm"
cp "$T/backup.db" "$T/ledger.db"
bseq=$(sqlite3 "$T/ledger.db" "SELECT max(seq) FROM ledger")
tca_start || { fail "thingcad starts on the restored ledger"; done_testing; }
pass "thingcad starts on the restored ledger"
st=$(tca_post /v1/certificates "$ST" "$(cat "$T/B-050.json")")
is "$st" 201 "issuance continues after the restore"
first=$(head -n 1 "$T/before-backup.txt" | cut -d' ' -f1)
tca_csr again ec:P-256
st=$(tca_post /v1/certificates "$ST" "$(tca_json "$first" "$T/again.csr")")
is "$st/$(jbody .error)" "409/serial_already_issued" "a serial issued before the backup is still refused a second certificate"
tca_stop
out=$("$BIN/thingca" ledger verify --ledger "$T/ledger.db" 2>&1)
is "$?" 0 "the restored ledger verifies after more issuance"
like "$(sqlite3 "$T/ledger.db" "SELECT min(seq) FROM ledger WHERE seq > $bseq")" "^$((bseq + 1))$" "new entries continue the restored chain"

# A schema newer than this build is refused at start.
sqlite3 "$T/ledger.db" "PRAGMA user_version = 999"
tca_start_fails "$T/thingca.json" "a ledger schema newer than this build" "newer|schema|version"
done_testing
