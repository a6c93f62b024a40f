#!/bin/sh
# Losing the database (DESIGN.md "Shared PostgreSQL ledger"): with the
# PostgreSQL server stopped, issuance answers 503 ledger_unavailable and
# /readyz 503 within seconds, and nothing is issued; once the server is
# back the same daemon, never restarted, issues again (201) by itself. A
# database replaced under it (dropped and made anew, empty) is refused,
# not filled with a fresh ledger.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"
pg_ledger db

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
pg_node n1 "$U" || { fail "thingcad starts on PostgreSQL"; done_testing; }
NPID=$(node_pid n1)
printf '%s\n' A B C > "$T/serials.txt"
"$BIN/thingca" -c "$T/n1.json" serials import "$T/serials.txt" > /dev/null 2>&1 ||
	fail "serials import"
tca_csr a; tca_csr b; tca_csr c
is "$(node_post n1 "$ST" A "$T/a.csr")" 201 "201 with the database up"
is "$(node_get n1 /readyz)" 200 "/readyz 200"

pg_stop db
t0=$(ms)
s=$(node_post n1 "$ST" B "$T/b.csr")
t1=$(ms)
is "$s" 503 "database stopped: 503"
is "$(jbody .error)" ledger_unavailable "... ledger_unavailable"
if within $((t1 - t0)) 5000; then pass "... within 5 s ($((t1 - t0)) ms)"
else fail "... within 5 s" "<= 5000 ms" "$((t1 - t0)) ms"; fi
is "$(node_get n1 /readyz)" 503 "/readyz 503 while the database is down"
alive "$NPID" && pass "thingcad keeps running" || fail "thingcad keeps running"

pg_start db || fail "PostgreSQL starts again"
# the reconnection backoff is at most 2 s: bounded by 15 s here
i=0
while [ $i -lt 150 ]; do
	s=$(node_post n1 "$ST" B "$T/b.csr")
	[ "$s" = 503 ] || break
	sleep 0.1
	i=$((i + 1))
done
is "$s" 201 "database back: 201 without restarting thingcad"
is "$(node_pid n1)" "$NPID" "... the same process"
is "$(node_get n1 /readyz)" 200 "/readyz 200 again"
is "$(pg_sql db "SELECT string_agg(serial, ',' ORDER BY seq) FROM ledger WHERE event = 'issued'")" \
	"A,B" "the ledger holds A and B, once each"
"$BIN/thingca" ledger verify --ledger "$U" > "$T/verify" 2>&1
is "$?" 0 "ledger verify passes"

# the database replaced under the node (dropped, an empty one made in its
# place): refused, never a fresh start
pg_super db "DROP DATABASE $PG_DB WITH (FORCE)" postgres > /dev/null &&
	pg_super db "CREATE DATABASE $PG_DB OWNER $PG_ROLE" postgres > /dev/null ||
	fail "database replaced"
i=0
while [ $i -lt 50 ]; do
	s=$(node_post n1 "$ST" C "$T/c.csr")
	[ "$s/$(jbody .error)" != 503/ledger_unavailable ] && break
	sleep 0.1
	i=$((i + 1))
done
like "$s" '^5' "a replaced database: issuance refused ($s $(jbody .error))"
like "$(cat "$T/n1.log")" "not the ledger this node opened|ledger_identity" "... the node says it is not the ledger it opened"
is "$(pg_sql db "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
	"... and created nothing in the new database"
is "$(node_get n1 /readyz)" 503 "... /readyz 503"

node_stop n1
is "$STOP_RC" 0 "thingcad stops cleanly"
done_testing
