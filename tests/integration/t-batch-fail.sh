#!/bin/sh
# A batch whose commit fails decides nothing (DESIGN.md "Ledger"): with the
# ledger on a small full tmpfs, so that group commits fail, stations send
# concurrent identical requests (one serial, one key: a station retrying),
# one serial with another key, and one key for another serial. Whatever the
# rules said inside a rolled-back transaction, no answer may rest on it:
# once space is freed, every certificate answered 2xx must be in the ledger,
# and every 409 must cite an entry the ledger holds. (Before the fix a retry
# batched behind its first request got 200 with a certificate in no ledger,
# and the conflicting ones 409 citing entries never saved.)
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

small_tmpfs 1m

R=40 # rounds (bounded); each sends 5 requests at once
W=40 # warm-up serials: issued one by one until the ledger cannot grow

tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
small_start

# shellcheck disable=SC2046
allow $(seq -f 'W-%03g' 1 $W) $(seq -f 'S-%03g' 1 $R) $(seq -f 'O-%03g' 1 $R) ||
	{ fail "serials allowlisted"; done_testing; }
# Keys and CSRs made before the disk fills (openssl writes into $T).
for i in $(seq 1 $R); do
	tca_csr "a$i" && tca_csr "b$i" || { fail "CSRs made"; done_testing; }
	openssl pkey -in "$T/a$i.key" -pubout -outform DER 2>/dev/null |
		sha256sum | cut -d' ' -f1 > "$T/a$i.spki"
done
for i in $(seq 1 $W); do tca_csr "w$i"; done

# post SERIAL CSRNAME OUT: the status into OUT.st, the body into OUT.body.
post() {
	curl -s -o "$3.body" -w '%{http_code}' --max-time 20 \
		-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
		--data-binary "$(tca_json "$1" "$T/$2.csr")" "$URL/v1/certificates" > "$3.st"
}

dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null
dd if=/dev/zero of="$SMALL/filler2" bs=4k 2>/dev/null
dd if=/dev/zero of="$SMALL/filler3" bs=512 2>/dev/null
is "$(df -k --output=avail "$SMALL" | tail -n 1 | tr -d ' ')" 0 "the tmpfs is full (0 KiB available)"
# A WAL with reusable frames may take a few more commits: issue one by one
# until the first 503.
i=1
st=201
while [ $i -le $W ] && [ "$st" != 503 ]; do
	post "W-$(printf %03d $i)" "w$i" "$T/w$i"
	st=$(cat "$T/w$i.st")
	i=$((i + 1))
done
is "$st" 503 "with the disk full, a commit fails (503 after $((i - 1)) single issuances)"

# The rounds: request k of round i goes to $T/r$i.$k.
for i in $(seq 1 $R); do
	s=S-$(printf %03d $i) o=O-$(printf %03d $i)
	post "$s" "a$i" "$T/r$i.1" & p1=$!
	post "$s" "a$i" "$T/r$i.2" & p2=$!
	post "$s" "a$i" "$T/r$i.3" & p3=$!
	post "$s" "b$i" "$T/r$i.4" & p4=$!
	post "$o" "a$i" "$T/r$i.5" & p5=$!
	wait $p1 $p2 $p3 $p4 $p5
done

# Free the space, then judge every answer against what the ledger holds.
rm -f "$SMALL/filler" "$SMALL/filler2" "$SMALL/filler3"
n2xx=0 n503=0 n409=0 lost= phantom= other=
for f in "$T"/r*.st "$T"/w*.st; do
	b=${f%.st}.body
	st=$(cat "$f")
	case $st in
	200 | 201)
		n2xx=$((n2xx + 1))
		id=$(jq -r .certificate "$b" | openssl x509 -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
		[ "$id" = "$(jq -r .certificate_id "$b")" ] || other="$other ${f##*/}:id-mismatch"
		n=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM ledger WHERE event='issued' AND certificate_id='$id'")
		[ "$n" = 1 ] || lost="$lost ${f##*/}:$st"
		;;
	409)
		n409=$((n409 + 1))
		code=$(jq -r .error "$b")
		msg=$(jq -r .message "$b")
		r=${f##*/r}
		r=${r%%.*}
		case $code in
		serial_already_issued)
			cid=$(printf '%s' "$msg" | grep -oE '[0-9a-f]{64}' | head -n 1)
			n=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM ledger WHERE event='issued' AND certificate_id='$cid'")
			;;
		public_key_reused)
			cs=$(printf '%s' "$msg" | sed -n 's/.*for serial \([A-Z]-[0-9]*\).*/\1/p')
			n=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM ledger WHERE event='issued' AND serial='$cs' AND spki_sha256='$(cat "$T/a$r.spki")'")
			;;
		*) n=x ;;
		esac
		[ "$n" = 1 ] || phantom="$phantom ${f##*/}:$code"
		;;
	503)
		n503=$((n503 + 1))
		[ "$(jq -r .error "$b")" = ledger_unavailable ] || other="$other ${f##*/}:503-$(jq -r .error "$b")"
		;;
	*) other="$other ${f##*/}:$st" ;;
	esac
done
diag "answers: $n2xx 2xx, $n409 409, $n503 503 ledger_unavailable"
if [ "$n503" -ge $R ]; then pass "commits failed during the rounds ($n503 answers 503)"
else fail "commits failed during the rounds" ">= $R answers 503" "$n503"; fi
is "$lost" "" "every certificate answered 2xx is in the ledger"
is "$phantom" "" "every 409 cites an entry the ledger holds"
is "$other" "" "no other answer (503 is ledger_unavailable, body IDs match)"
for f in $lost; do
	f=${f%%:*}
	diag "$f: $(head -c 200 "$T/${f%.st}.body")"
done

# Issuance resumes; the ledger verifies and no serial has two certificates.
ok=0 n=0
while [ $n -lt 10 ] && [ $ok = 0 ]; do
	post S-001 a1 "$T/after"
	case $(cat "$T/after.st") in 200 | 201) ok=1 ;; *) sleep 0.2 ;; esac
	n=$((n + 1))
done
is "$ok" 1 "space freed: S-001 is issued (or its certificate returned), no restart"
dups=$(sqlite3 -readonly "$DB" "SELECT serial FROM ledger WHERE event='issued' GROUP BY serial HAVING count(*) > 1")
is "$dups" "" "no serial issued twice"
dups=$(sqlite3 -readonly "$DB" "SELECT spki_sha256 FROM ledger WHERE event='issued' GROUP BY spki_sha256 HAVING count(*) > 1")
is "$dups" "" "no key certified for two serials"
"$BIN/thingca" ledger verify --ledger "$DB" > "$T/verify.out" 2>&1
is "$?" 0 "thingca ledger verify passes"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
small_umount
done_testing
