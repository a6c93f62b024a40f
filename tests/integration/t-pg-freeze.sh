#!/bin/sh
# A node that dies or hangs in the middle of a batch, holding the chain
# lock, blocks the other nodes for seconds only (DESIGN.md "Shared
# PostgreSQL ledger"): the server ends the frozen node's session after
# idle_in_transaction_session_timeout (5 s), and a killed node's socket
# closes at once. Each node names itself in application_name, so
# pg_locks shows which node holds the lock: the test freezes (SIGSTOP) or
# kills (SIGKILL) a node at a moment it holds it, then times the next
# issuance on another node. The frozen node, continued, recovers by
# itself: its batch was rolled back (503), its next one commits.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"
pg_ledger db

tca_ca ec:P-256
ST=$(tca_token station1 station)
tca_config
for n in n1 n2 n3; do
	pg_node $n "$U?application_name=$n" || { fail "node $n starts"; done_testing; }
done
seq -f 'F-%g' 1 2000 > "$T/serials.txt"
"$BIN/thingca" -c "$T/n1.json" serials import "$T/serials.txt" > /dev/null 2>&1 ||
	fail "serials import"
for k in 1 2 3; do tca_csr "i$k" ec:P-256; done

# load NODE FIRST: issues F-FIRST.. on NODE, 4 at a time, each with a
# fresh key, until $T/stop exists (or 400 requests), one status per line
# in $T/load.NODE.
load() {
	_s=$2
	while [ ! -e "$T/stop" ] && [ $_s -lt $(($2 + 400)) ]; do
		for _j in 0 1 2 3; do
			(tca_csr "f$((_s + _j))" ec:P-256 &&
				node_post "$1" "$ST" "F-$((_s + _j))" "$T/f$((_s + _j)).csr" \
					"$T/lb.$1.$((_s + _j))" >> "$T/load.$1") &
		done
		wait
		echo >> "$T/load.$1"
		_s=$((_s + 4))
	done
}

# holds NODE: does NODE's session hold the chain lock now?
holds() {
	[ "$(pg_super db "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.objid = 2 AND l.granted AND a.application_name = '$1'")" = 1 ]
}

# catch NODE SIGNAL: sends SIGNAL (STOP or KILL) to NODE at a moment its
# writer holds the chain lock (bounded: 200 tries); 0 when caught.
catch() {
	_p=$(node_pid "$1")
	_i=0
	while [ $_i -lt 200 ]; do
		kill -STOP "$_p"
		if holds "$1"; then
			[ "$2" = KILL ] && kill -KILL "$_p"
			return 0
		fi
		kill -CONT "$_p"
		sleep 0.02
		_i=$((_i + 1))
	done
	return 1
}

# issue_time NODE SERIAL CSR: ms until NODE answers 201 for SERIAL
# (retrying a 503, bounded: 30 s); prints the ms, or "never".
issue_time() {
	_t0=$(ms)
	_i=0
	while [ $_i -lt 300 ]; do
		_s=$(node_post "$1" "$ST" "$2" "$3" "$T/it.body")
		[ "$_s" = 201 ] && { echo $(($(ms) - _t0)); return; }
		sleep 0.1
		_i=$((_i + 1))
	done
	echo never
}

load n2 1 > /dev/null 2>&1 &
lp=$!
sleep 0.5
if catch n2 STOP; then
	pass "n2 frozen (SIGSTOP) while its batch holds the chain lock"
	t=$(issue_time n1 F-1901 "$T/i1.csr")
	if [ "$t" != never ] && within "$t" 10000; then
		pass "n1 issues within 10 s (${t} ms; the server ends n2's session after 5 s)"
	else
		fail "n1 issues within 10 s" "<= 10000 ms" "$t"
	fi
	kill -CONT "$(node_pid n2)"
else
	fail "n2 frozen while holding the chain lock (never caught holding it)"
fi
touch "$T/stop"
wait $lp
rm -f "$T/stop"
like "$(cat "$T/load.n2")" 503 "n2's frozen batch was answered 503"
t=$(issue_time n2 F-1902 "$T/i2.csr")
if [ "$t" != never ] && within "$t" 10000; then
	pass "n2, continued, issues again by itself (${t} ms)"
else
	fail "n2, continued, issues again by itself" "<= 10000 ms" "$t"
	diag "last answer: $(cat "$T/it.body")"
fi

load n3 501 > /dev/null 2>&1 &
lp=$!
sleep 0.5
if catch n3 KILL; then
	pass "n3 killed (SIGKILL) while its batch holds the chain lock"
	t=$(issue_time n1 F-1903 "$T/i3.csr")
	if [ "$t" != never ] && within "$t" 5000; then
		pass "n1 issues within 5 s (${t} ms)"
	else
		fail "n1 issues within 5 s" "<= 5000 ms" "$t"
	fi
else
	fail "n3 killed while holding the chain lock (never caught holding it)"
fi
touch "$T/stop"
wait $lp
node_stop n3

# every certificate answered 201 is in the ledger, and the chain holds
ok=1
for f in "$T"/lb.*; do
	[ -s "$f" ] || continue
	id=$(jq -r '.certificate_id // empty' "$f" 2>/dev/null)
	[ -n "$id" ] || continue
	[ "$(pg_sql db "SELECT count(*) FROM ledger WHERE certificate_id = '$id' AND event = 'issued'")" = 1 ] || ok=0
done
is $ok 1 "every certificate answered is in the ledger"
pg_ledger_ok db

for n in n1 n2; do
	node_stop $n
	is "$STOP_RC" 0 "node $n stops cleanly"
done
done_testing
