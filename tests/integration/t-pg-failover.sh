#!/bin/sh
# Failover (DESIGN.md "Shared PostgreSQL ledger"): a primary with a
# synchronous standby, two thingcad nodes on a multi-host URI with
# target_session_attrs=read-write. Under a bounded load (two stations,
# each retrying a 503 with the same CSR, as a station does), the primary
# is SIGKILLed and the standby promoted. Then:
# - issuance resumes within 30 s of the kill, with the same daemons;
# - every certificate answered 2xx is on the new primary (synchronous
#   replication: an answer leaves only once the standby has the entry);
# - no serial has two certificates (a retry after a commit whose outcome
#   was unknown gets the committed certificate, 200, or a fresh one);
# - ledger verify passes on the new primary.
# Before that, the standby is stopped for one issuance: the primary's
# COMMIT waits for it until statement_timeout cancels the wait, and
# PostgreSQL reports success with the warning "canceling wait for
# synchronous replication". The node must answer 503, not 201; the
# station's retry with the same CSR, once the standby is back, gets the
# certificate that was committed on the primary (200), and there is one.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"
pg_need
pg_init p1 || { fail "primary starts"; done_testing; }
pg_standby p1 s1 || { fail "synchronous standby starts"; done_testing; }
pass "primary with a synchronous standby"
U=$(pg_uri p1 s1)

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
for n in n1 n2; do
	pg_node $n "$U" || { fail "node $n starts"; done_testing; }
done
P1=$(node_pid n1)
P2=$(node_pid n2)
N=60
{ seq -f 'V-%g' 1 $N; echo W-1; } > "$T/serials.txt"
"$BIN/thingca" -c "$T/n1.json" serials import "$T/serials.txt" > /dev/null 2>&1 ||
	fail "serials import"
for k in $(seq 1 $N); do tca_csr "v$k" ec:P-256; done

tca_csr w
pg_stop s1
t0=$(ms)
is "$(node_post n1 "$ST" W-1 "$T/w.csr")" 503 "standby down: the commit is not confirmed, 503"
diag "answered after $(($(ms) - t0)) ms"
like "$(grep -i 'synchronous replication' "$T/n1.log")" 'canceling' "... because PostgreSQL warned the wait for the standby was cancelled"
pg_start s1 && pg_wait_sync p1 s1 || fail "standby back"
is "$(node_post n1 "$ST" W-1 "$T/w.csr")" 200 "the station's retry gets the committed certificate (200)"
is "$(pg_sql p1 "SELECT count(*) FROM ledger WHERE serial = 'W-1' AND event = 'issued'")" 1 "... the only one for W-1"

# station NODE FIRST: serials V-FIRST, V-FIRST+2, ... on NODE; each POSTed
# with its own CSR until 2xx (bounded: 60 s per serial); one line per
# answer in $T/log.NODE: "ms status serial certificate_id".
station() {
	_k=$2
	while [ $_k -le $N ]; do
		_t0=$(ms)
		while :; do
			_s=$(node_post "$1" "$ST" "V-$_k" "$T/v$_k.csr" "$T/b.$1")
			echo "$(ms) $_s V-$_k $(jq -r '.certificate_id // "-"' "$T/b.$1" 2>/dev/null)" >> "$T/log.$1"
			case $_s in 2??) break ;; esac
			[ $(($(ms) - _t0)) -gt 60000 ] && break
			sleep 0.2
		done
		_k=$((_k + 2))
	done
}

station n1 1 &
s1p=$!
station n2 2 &
s2p=$!
# kill the primary once a third of the serials are issued
i=0
while [ $i -lt 300 ] && [ "$(cat "$T"/log.n* 2>/dev/null | grep -c ' 20[01] ')" -lt $((N / 3)) ]; do
	sleep 0.1
	i=$((i + 1))
done
tk=$(ms)
pg_kill p1
pass "primary SIGKILLed mid-load (after $(cat "$T"/log.n* | grep -c ' 20[01] ') issuances)"
sleep 1
pg_promote s1 || fail "standby promoted"
tp=$(ms)
wait $s1p
wait $s2p

# the first 201 answered after the promotion: a certificate committed on
# the new primary
first=$(cat "$T"/log.n* | awk -v t=$tk -v p=$tp '$1 > p && $2 == 201 {print $1 - t}' | sort -n | head -n 1)
if [ -n "$first" ] && within "$first" 30000; then
	pass "issuance resumes within 30 s of the kill (${first} ms; promoted after $((tp - tk)) ms), daemons not restarted"
else
	fail "issuance resumes within 30 s of the kill" "<= 30000 ms" "${first:-never}"
fi
alive "$P1" && alive "$P2" && [ "$(node_pid n1)" = "$P1" ] && pass "... the same two processes" ||
	fail "... the same two processes"
is "$(cat "$T"/log.n* | awk '$2 ~ /^20[01]$/ {print $3}' | sort -u | wc -l | tr -d ' ')" $N \
	"every serial got its certificate"

awk '$2 ~ /^20[01]$/ {print $4}' "$T"/log.n* | sort -u > "$T/answered"
ids=$(sed "s/.*/'&'/" "$T/answered" | paste -sd,)
is "$(pg_sql s1 "SELECT count(DISTINCT certificate_id) FROM ledger WHERE event = 'issued' AND certificate_id IN ($ids)")" \
	"$(wc -l < "$T/answered" | tr -d ' ')" "every certificate answered 2xx is on the new primary"
like "$(cat "$T"/log.n*)" ' 503 ' "some requests were answered 503 meanwhile (none lost)"
pg_ledger_ok s1 "on the new primary"

for n in n1 n2; do
	node_stop $n
	is "$STOP_RC" 0 "node $n stops cleanly"
done
done_testing
