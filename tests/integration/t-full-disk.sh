#!/bin/sh
# Disk full under the ledger (DESIGN.md issuance rule 7): with the ledger on
# a small tmpfs filled to the last byte, issuance answers 503
# ledger_unavailable, no certificate leaves the daemon and no ledger row
# exists for the refused serial; once space is freed, issuance works again
# without a restart and the hash chain verifies.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"

small_tmpfs 1m

tca_ca ec:P-256
ST=$(tca_token station1 station)
AU=$(tca_token audit auditor)
AD=$(tca_token ops admin)
small_start

M=60
i=1; SER=
while [ $i -le $M ]; do SER="$SER $(printf 'F-%03d' $i)"; i=$((i + 1)); done
# shellcheck disable=SC2086
allow $SER || { fail "serials allowlisted"; done_testing; }
# CSRs made before the disk fills (openssl writes into $T, not the tmpfs).
i=1
while [ $i -le $M ]; do
	s=$(printf 'F-%03d' $i)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$s.key" -subj "/CN=$s" -out "$T/$s.csr" 2>/dev/null
	i=$((i + 1))
done
issue() { # issue SERIAL: prints the status, body in $T/body
	curl -s -o "$T/body" -w '%{http_code}' --max-time 20 \
		-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
		--data-binary "$(tca_json "$1" "$T/$1.csr")" "$URL/v1/certificates"
}
is "$(issue F-001)" 201 "issuance works on the tmpfs"
is "$(issue F-002)" 201 "... twice"

# Fill the filesystem to the last byte: a big file until ENOSPC, then small
# ones so that not even a page is left.
dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null
dd if=/dev/zero of="$SMALL/filler2" bs=4k 2>/dev/null
dd if=/dev/zero of="$SMALL/filler3" bs=512 2>/dev/null
avail=$(df -k --output=avail "$SMALL" | tail -n 1 | tr -d ' ')
is "$avail" 0 "the tmpfs is full (0 KiB available)"

# Issue until the ledger cannot grow (a WAL that still has reusable frames
# may take a few more commits): bounded attempts, one new serial each.
i=3; st=201; refused=
while [ $i -le $M ] && [ "$st" = 201 ]; do
	s=$(printf 'F-%03d' $i)
	st=$(issue "$s")
	[ "$st" = 201 ] || refused=$s
	i=$((i + 1))
done
diag "first refusal at $refused ($((i - 3)) attempts with the disk full): $st $(head -c 300 "$T/body")"
is "$st $(jbody .error)" "503 ledger_unavailable" "with the disk full, issuance answers 503 ledger_unavailable"
is "$(jq -r 'keys | join(",")' "$T/body" 2>/dev/null)" "error,message" "... the answer is {error, message} only"
if grep -q 'BEGIN CERTIFICATE\|MII' "$T/body"; then fail "... and carries no certificate" "no PEM" "PEM in body"
else pass "... and carries no certificate"; fi
rows=$(sqlite3 -readonly "$DB" "SELECT count(*) FROM ledger WHERE serial = '$refused'" 2>&1)
is "$rows" 0 "no ledger row for the refused serial $refused"
st2=$(issue "$refused")
is "$st2 $(jbody .error)" "503 ledger_unavailable" "a retry while still full is refused the same way"
# DESIGN.md: /readyz is 200 "when the ledger is writable", else 503.
st=$(tca_get /readyz)
is "$st $(jbody .status)" "503 not_ready" "readyz reports not ready while the ledger cannot record"
diag "readyz with the disk full: $st $(cat "$T/body")"
is "$(tca_get /healthz)" 200 "the daemon keeps serving (healthz)"
alive "$PID" && pass "thingcad is still running" || fail "thingcad is still running" running dead

# Free the space: issuance resumes without a restart.
rm -f "$SMALL/filler" "$SMALL/filler2" "$SMALL/filler3"
ok=0 n=0
while [ $n -lt 10 ] && [ $ok = 0 ]; do
	st=$(issue "$refused")
	[ "$st" = 201 ] && ok=1 || sleep 0.2
	n=$((n + 1))
done
is "$st" 201 "space freed: the refused serial is issued, no restart"
cid=$(jbody .certificate_id)
is "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM ledger WHERE event='issued' AND serial='$refused' AND certificate_id='$cid'")" 1 "... and recorded in the ledger"
s=$(printf 'F-%03d' $M)
is "$(issue "$s")" 201 "... and a new serial too"
is "$(tca_get /readyz)" 200 "readyz answers 200 again"
dups=$(sqlite3 -readonly "$DB" "SELECT serial FROM ledger WHERE event='issued' GROUP BY serial HAVING count(*) > 1")
is "$dups" "" "no serial issued twice"
"$BIN/thingca" ledger verify --ledger "$DB" > "$T/verify.out" 2>&1
rc=$?
is "$rc" 0 "thingca ledger verify passes"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/verify.out"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly"
small_umount
done_testing
