#!/bin/sh
# SIGKILL in the middle of a concurrent load: 8 stations issue for their own
# serials with fresh keys; thingcad is killed mid-load and restarted on the
# same ledger. Every certificate a station received must be in the ledger
# with its serial (no certificate leaves without its entry committed), no
# serial has two certificates, the hash chain verifies, and retrying the
# unanswered requests with the same CSRs completes the run (201 for those
# never recorded, 200 with the same certificate for those committed whose
# answer was lost in the kill), never 409.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

N=240
W=8
tca_ca ec:P-256
ST=$(tca_token station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
tca_config
tca_start || { fail "thingcad starts"; done_testing; }

mkdir -p "$T/req"
i=1
while [ $i -le $N ]; do
	s=$(printf 'C-%04d' $i)
	echo "$s" >> "$T/serials.txt"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/req/$s.key" -subj "/CN=$s" -out "$T/req/$s.csr" 2>/dev/null ||
		{ fail "CSR $s generated"; done_testing; }
	i=$((i + 1))
done
export T
# All request bodies at once (PEM is base64 and newlines only).
perl -e 'for my $s (@ARGV) { open my $f, "<", "$ENV{T}/req/$s.csr" or die; local $/; my $p = <$f>; $p =~ s/\n/\\n/g; open my $o, ">", "$ENV{T}/req/$s.json" or die; print $o qq({"serial":"$s","csr":"$p"}); }' $(cat "$T/serials.txt")
allow $(cat "$T/serials.txt") || { fail "serials allowlisted"; done_testing; }
is "$(tca_sql "SELECT count(*) FROM serials")" $N "$N serials allowlisted"

# worker K: issues serials K, K+W, K+2W, ... one after the other; records
# "serial status certificate_id" for every 200/201 in got.K and every status
# in codes.K. Stops at $T/stop; every curl is bounded.
worker() {
	_k=$1
	_i=$_k
	while [ $_i -le $N ]; do
		[ -e "$T/stop" ] && break
		_s=$(printf 'C-%04d' $_i)
		_c=$(curl -s -o "$T/w$_k.body" -w '%{http_code}' --max-time 10 \
			-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
			--data-binary @"$T/req/$_s.json" "$URL/v1/certificates")
		echo "$_s $_c" >> "$T/codes.$_k"
		case $_c in 200|201)
			_id=$(jq -r '.certificate_id // empty' "$T/w$_k.body" 2>/dev/null)
			echo "$_s $_c $_id" >> "$T/got.$_k" ;;
		esac
		_i=$((_i + W))
	done
}
received() { cat "$T"/got.* 2>/dev/null | wc -l; }

wp=
k=1
while [ $k -le $W ]; do
	worker $k &
	wp="$wp $!"
	k=$((k + 1))
done
# Kill once a sixth of the serials are answered (bounded wait).
sixth_received() { [ "$(received)" -ge $((N / 6)) ]; }
wait_until 600 sixth_received
kill -KILL "$PID"
killed_at=$(received)
wait "$PID" 2>/dev/null
PID=
diag "SIGKILL after $killed_at answers"
touch "$T/stop"
# Stop the workers (bounded: each curl has --max-time 10).
for p in $wp; do
	wait_until 200 _proc_gone "$p"
	alive "$p" && kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
cat "$T"/got.* 2>/dev/null | sort > "$T/recv.all"
cat "$T"/codes.* 2>/dev/null | sort > "$T/allcodes.txt"
got=$(wc -l < "$T/recv.all")
if [ "$got" -gt 0 ] && [ "$got" -lt $N ]; then
	pass "the kill came mid-load ($got of $N answered with a certificate)"
else
	fail "the kill came mid-load" "0 < answered < $N" "$got"
fi
is "$(awk '$2 != "201" && $2 != "000"' "$T/allcodes.txt")" "" "before the kill every answer was 201 (or no answer at all)"
is "$(awk 'length($3) != 64' "$T/recv.all")" "" "every 201 carried a certificate_id"

# --- restart on the same ledger ----------------------------------------------
tca_start || { fail "thingcad restarts on the ledger it was killed over"; done_testing; }
pass "thingcad restarts on the ledger it was killed over"
is "$(tca_sql 'PRAGMA integrity_check')" ok "SQLite integrity_check: ok"

{ echo "CREATE TEMP TABLE got (serial TEXT, id TEXT);"
  awk '{ printf "INSERT INTO got VALUES (\x27%s\x27, \x27%s\x27);\n", $1, $3 }' "$T/recv.all"
  echo "SELECT g.serial || ' ' || g.id FROM got g WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.event = 'issued' AND l.serial = g.serial AND l.certificate_id = g.id);"
} > "$T/check.sql"
missing=$(sqlite3 "$T/ledger.db" < "$T/check.sql" 2>&1)
is "$missing" "" "every certificate a station received is in the ledger with its serial ($got checked)"
dups=$(tca_sql "SELECT serial FROM ledger WHERE event = 'issued' GROUP BY serial HAVING count(*) > 1")
is "$dups" "" "no serial has two issued entries"
inledger=$(tca_sql "SELECT count(*) FROM ledger WHERE event = 'issued'")
diag "ledger holds $inledger issuances; stations received $got (the rest were in flight)"
if [ "$inledger" -ge "$got" ]; then pass "ledger holds at least what was answered ($inledger >= $got)"
else fail "ledger holds at least what was answered" ">= $got" "$inledger"; fi
"$BIN/thingca" ledger verify --ledger "$T/ledger.db" > "$T/verify.out" 2>&1
rc=$?
is "$rc" 0 "thingca ledger verify passes after the crash"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/verify.out"

# --- retry everything not received, same CSRs ----------------------------------
rm -f "$T/stop" "$T"/codes.* "$T"/got.*
cut -d' ' -f1 "$T/recv.all" > "$T/done.txt"
grep -vxF -f "$T/done.txt" "$T/serials.txt" > "$T/todo.txt"
r201=0 r200=0 rbad=0 lost_same=0
for s in $(cat "$T/todo.txt"); do
	c=$(curl -s -o "$T/r.body" -w '%{http_code}' --max-time 10 \
		-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
		--data-binary @"$T/req/$s.json" "$URL/v1/certificates")
	case $c in
	201) r201=$((r201 + 1)) ;;
	200) r200=$((r200 + 1))
		# a committed issuance whose answer was lost: the same certificate
		id=$(jq -r .certificate_id "$T/r.body")
		[ "$(tca_sql "SELECT count(*) FROM ledger WHERE event='issued' AND serial='$s' AND certificate_id='$id'")" = 1 ] &&
			lost_same=$((lost_same + 1)) ;;
	*) rbad=$((rbad + 1)); diag "retry $s: $c $(head -c 200 "$T/r.body")" ;;
	esac
done
todo=$(wc -l < "$T/todo.txt")
diag "retried $todo: $r201 new (201), $r200 committed before the kill (200)"
is "$rbad" 0 "retrying the $todo unanswered serials with their CSRs: only 201 or 200"
is "$r200" "$((inledger - got))" "200 exactly for those committed but unanswered ($r200)"
is "$lost_same" "$r200" "each 200 returns the certificate the ledger committed"
# one retry of an answered serial: the same certificate again
s=$(head -n 1 "$T/recv.all" | cut -d' ' -f1)
id=$(head -n 1 "$T/recv.all" | cut -d' ' -f3)
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $ST" \
	-H 'Content-Type: application/json' --data-binary @"$T/req/$s.json" "$URL/v1/certificates")
is "$st $(jbody .certificate_id)" "200 $id" "a serial answered before the kill: retry gives the same certificate"

is "$(tca_sql "SELECT count(*) FROM ledger WHERE event = 'issued'")" $N "all $N serials issued once in the end"
is "$(tca_sql "SELECT count(DISTINCT serial) FROM ledger WHERE event = 'issued'")" $N "... each serial exactly once"
is "$(tca_sql "SELECT count(DISTINCT spki_sha256) FROM ledger WHERE event = 'issued'")" $N "... each with its own key"
"$BIN/thingca" ledger verify --ledger "$T/ledger.db" > "$T/verify.out" 2>&1
rc=$?
is "$rc" 0 "thingca ledger verify passes after more issuance"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/verify.out"
st=$(tca_get /v1/ledger/head "$AU")
is "$st $(jbody .seq)" "200 $(tca_sql 'SELECT max(seq) FROM ledger')" "GET /v1/ledger/head names the newest entry"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
done_testing
