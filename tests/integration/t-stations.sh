#!/bin/sh
# Many stations at once: issuances waiting for their commit hold up no other
# station's connection. 96 stations keep a connection open (as a line's
# stations do between devices). Another process holds the ledger's write
# lock for 4 s (under the daemon's 5 s busy timeout); meanwhile 8 of the
# stations ask for a certificate, spread over the 96 connections, so their
# issuances wait in the commit, and the other 88 ask GET /healthz: every one
# of those must be answered at once, and the 8 get their 201 once the lock is
# gone. (With MHD's thread pool a connection belonged to one pool thread for
# its life, and the accepts bunched up: under make bench 32 connections
# landed on 8 of 32 threads, up to 10 on one, so a connection waited behind
# its thread-mates' commits. Now each connection has its own thread.)
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"
N=96
M=8

tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config '"limits": {"max_connections": 128}'
tca_start || { fail "thingcad starts"; done_testing; }
allow $(seq -f 'S-%g' 1 $M) || fail "allowlist S-1..S-$M"
posts=
for k in $(seq 1 $M); do
	tca_csr "c$k" ec:P-256
	tca_json "S-$k" "$T/c$k.csr" > "$T/body$k"
	printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n' \
		"$ST" "$(wc -c < "$T/body$k")" > "$T/post$k"
	cat "$T/body$k" >> "$T/post$k"
	posts="$posts $T/post$k"
done

$RAW keep "$PORT" $N "$T/go" 30 $posts > "$T/keep" &
kp=$!
wait_until 100 grep -q '^ready' "$T/keep"
is "$(head -n 1 "$T/keep")" "ready $N" "$N stations keep a connection open, each served once"

(echo 'BEGIN IMMEDIATE;'; sleep 4; echo 'ROLLBACK;') | sqlite3 "$T/ledger.db" &
lp=$!
# until the other sqlite3 holds the write lock
lock_taken() { ! sqlite3 -cmd '.timeout 0' "$T/ledger.db" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null; }
wait_until 50 lock_taken
touch "$T/go"
wait $kp
wait $lp
out=$(sed -n 2p "$T/keep")
like "$out" "^answered $((N - M)) of $((N - M)) " "while $M issuances waited for the ledger lock, the other $((N - M)) connections were answered"
slow=$(echo "$out" | awk '{print $NF}')
if within "$slow" 1; then pass "... each within 1 s (slowest ${slow}s)"
else fail "... each within 1 s" "<= 1 s" "${slow}s"; fi
out=$(sed -n 3p "$T/keep")
is "$(echo "$out" | awk '{$1 = ""; $NF = ""; $(NF - 1) = ""; print}' | tr -s ' ' | sed 's/^ //; s/ $//')" \
	"$(for k in $(seq 1 $M); do printf '201 '; done | sed 's/ $//')" \
	"the $M waiting issuances are answered 201 once the lock is released"
first=$(echo "$out" | awk '{print $NF}')
if within 2.5 "$first"; then pass "... not before (first after ${first}s; lock held 4 s)"
else fail "... not before" ">= 2.5 s" "${first}s"; fi
is "$(tca_sql "SELECT count(DISTINCT serial) FROM ledger WHERE event='issued'")" $M "... and their entries are in the ledger"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly (SIGTERM, status 0)"
done_testing
