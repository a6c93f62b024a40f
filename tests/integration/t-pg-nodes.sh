#!/bin/sh
# Three thingcad nodes on one PostgreSQL ledger (DESIGN.md "Shared
# PostgreSQL ledger"): one chain, and the rules hold across nodes.
# - 32 requests for one serial, each with its own key, raced over the three
#   nodes: exactly one 201, the other 31 are 409 serial_already_issued;
# - 12 requests for one serial with one CSR over the three nodes: one 201,
#   the rest 200 with that same certificate (the idempotent retry);
# - one key for two serials on two nodes at once: one 201, one 409
#   public_key_reused;
# - every entry names the node that wrote it; `thingca ledger verify` on
#   the URI passes with one head for all;
# - the database refuses a second current certificate or a reused key
#   inserted straight into the table (the rules without the C checks);
# - a row altered by the superuser (triggers disabled) is named by verify,
#   and /readyz reports the disabled triggers.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
pg_ledger db

tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config
for n in n1 n2 n3; do
	pg_node $n "$U" || { fail "node $n starts"; done_testing; }
done
pass "three nodes start on one empty database (the first creates the schema)"
is "$(pg_sql db 'SELECT version FROM schema_version')" 1 "schema version 1 recorded"

printf '%s\n' RACE SAME K1 K2 N1 N2 N3 > "$T/serials.txt"
"$BIN/thingca" -c "$T/n1.json" serials import --batch t "$T/serials.txt" > "$T/out" 2>&1
is "$?" 0 "serials import on the URI of the configuration"

# counts FILE...: "status x count" of the statuses in FILEs (curl -w
# prints no newline)
counts() {
	for _f in "$@"; do cat "$_f"; echo; done | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' '
}

# 32 keys, one serial, raced over the nodes
for k in $(seq 1 32); do tca_csr "r$k" ec:P-256; done
# (wait for the requests by PID: a bare `wait` would wait for the nodes)
pids=
for k in $(seq 1 32); do
	n=n$(( (k % 3) + 1 ))
	node_post $n "$ST" RACE "$T/r$k.csr" "$T/rb$k" > "$T/rs$k" &
	pids="$pids $!"
done
wait $pids
is "$(counts "$T"/rs*)" \
	"201x1 409x31" "32 racing requests for one serial on three nodes: one 201, 31 409"
is "$(for k in $(seq 1 32); do [ "$(cat "$T/rs$k")" = 409 ] && jq -r .error "$T/rb$k"; done | sort -u)" \
	serial_already_issued "... each 409 is serial_already_issued"
is "$(pg_sql db "SELECT count(*) FROM ledger WHERE serial = 'RACE' AND event = 'issued'")" 1 \
	"... and the ledger holds one certificate for it"

# the database holds the rules even without thingcad's checks: a second
# current certificate for RACE, or its key for another serial, inserted
# straight into the table (linked to the head, so only the rule refuses)
raw() {
	pg_sql db "INSERT INTO ledger (seq, time, event, serial, certificate_id, spki_sha256, prev_hash, hash) SELECT seq + 1, '2026-01-01T00:00:00Z', 'issued', '$1', repeat('e', 64), $2, hash, repeat('f', 64) FROM ledger ORDER BY seq DESC LIMIT 1" 2>&1
}
like "$(raw RACE NULL)" current_cert "a second current certificate for a serial: refused by the database"
like "$(raw K9 "(SELECT spki_sha256 FROM ledger WHERE serial = 'RACE')")" key_owner \
	"a certified key for another serial: refused by the database"

# one CSR, one serial: the retries get the same certificate
tca_csr same ec:P-256
pids=
for k in $(seq 1 12); do
	n=n$(( (k % 3) + 1 ))
	node_post $n "$ST" SAME "$T/same.csr" "$T/sb$k" > "$T/ss$k" &
	pids="$pids $!"
done
wait $pids
is "$(counts "$T"/ss*)" \
	"200x11 201x1" "12 racing requests with one CSR: one 201, 11 200"
is "$(for k in $(seq 1 12); do jq -r .certificate_id "$T/sb$k"; done | sort -u | wc -l)" 1 \
	"... all with the same certificate"

# one key, two serials, two nodes
tca_csr k ec:P-256
node_post n1 "$ST" K1 "$T/k.csr" "$T/kb1" > "$T/ks1" &
p1=$!
node_post n2 "$ST" K2 "$T/k.csr" "$T/kb2" > "$T/ks2" &
wait $p1 $!
is "$(counts "$T/ks1" "$T/ks2")" "201x1 409x1" \
	"one key for two serials on two nodes at once: one 201, one 409"
is "$(for k in 1 2; do [ "$(cat "$T/ks$k")" = 409 ] && jq -r .error "$T/kb$k"; done)" \
	public_key_reused "... the 409 is public_key_reused"

for n in 1 2 3; do
	tca_csr "n$n"
	is "$(node_post n$n "$ST" N$n "$T/n$n.csr")" 201 "node n$n issues N$n"
done
is "$(pg_sql db "SELECT count(*) FROM ledger WHERE node IS NULL")" 0 "every entry names its node"
is "$(pg_sql db "SELECT string_agg(serial || '=' || node, ',' ORDER BY serial) FROM ledger WHERE serial LIKE 'N_'")" \
	"N1=n1,N2=n2,N3=n3" "... the node that wrote it"
is "$(pg_sql db "SELECT count(*) = max(seq) FROM ledger")" t "one chain: seq has no gaps"

"$BIN/thingca" ledger verify --ledger "$U" > "$T/verify" 2>&1
is "$?" 0 "thingca ledger verify --ledger URI passes"
"$BIN/thingca" ledger head --ledger "$U" > "$T/head" 2>&1
is "$(cat "$T/head")" "$(pg_sql db "SELECT seq || ':' || hash FROM ledger ORDER BY seq DESC LIMIT 1")" \
	"ledger head prints the newest seq and hash"

is "$(node_get n2 /readyz)" 200 "/readyz 200 with the triggers in place"

# an attacker with the superuser's rights rewrites an entry
bad=$(pg_sql db "SELECT seq FROM ledger WHERE event = 'issued' ORDER BY seq LIMIT 1")
pg_super db "ALTER TABLE ledger DISABLE TRIGGER USER; UPDATE ledger SET thing_name = 'evil' WHERE seq = $bad" > /dev/null
"$BIN/thingca" ledger verify --ledger "$U" > "$T/verify" 2>&1
is "$?" 1 "verify fails on a rewritten entry"
like "$(cat "$T/verify")" "entry $bad\b" "... naming entry $bad"
is "$(node_get n3 /readyz)" 503 "/readyz 503 while the append-only triggers are disabled"
pg_super db "ALTER TABLE ledger ENABLE TRIGGER USER" > /dev/null

for n in n1 n2 n3; do
	node_stop $n
	is "$STOP_RC" 0 "node $n stops cleanly"
done
if grep -F "$PG_PASSWORD" "$T"/n*.log "$T/verify" "$T/out" > /dev/null; then
	fail "the database password is in no log"
else
	pass "the database password is in no log"
fi
done_testing
