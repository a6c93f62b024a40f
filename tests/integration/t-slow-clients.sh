#!/bin/sh
# Slow and idle clients against limits {"connection_timeout_s": 2,
# "max_connections": 8}: MHD's timeout is an idle timeout, so a client that
# connects and says nothing, stalls or trickles is cut off after ~2 s; past
# the limit a new connection is refused at once, a station retrying (as
# `thingca enroll` does) gets its certificate once the idle ones are cut;
# fewer slow clients than the limit do not slow issuance.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/hostile.sh"
TMO=2

tca_ca ec:P-256
ST=$(tca_token station1 station)
AD=$(tca_token ops admin)
tca_config "\"limits\": {\"connection_timeout_s\": $TMO, \"max_connections\": 8}"
tca_start || { fail "thingcad starts"; done_testing; }

allow S-1 S-2 S-3 S-4 S-5
for i in 1 2 3 4 5; do tca_csr "c$i" ec:P-256; done

# --- (a) one slow client at a time -------------------------------------------
out=$($RAW idle "$PORT" $((TMO + 6)))
like "$out" "^closed" "a connection that sends nothing is closed by the server"
t=$(echo "$out" | cut -d' ' -f2)
if within "$t" $((TMO + 2)) && ! within "$t" $((TMO - 1)); then
	pass "... after the idle timeout (${t}s, limit ${TMO}s)"
else fail "... after the idle timeout" "$((TMO - 1))..$((TMO + 2))s" "${t}s"; fi

out=$($RAW idle "$PORT" $((TMO + 6)) 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x')
like "$out" "^closed" "a request stalled inside its headers is closed"
t=$(echo "$out" | cut -d' ' -f2)
if within "$t" $((TMO + 2)); then pass "... within the timeout + 2 s (${t}s)"
else fail "... within the timeout + 2 s" "<= $((TMO + 2))s" "${t}s"; fi

out=$($RAW idle "$PORT" $((TMO + 6)) "POST /v1/certificates HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Bearer $ST\\r\\nContent-Type: application/json\\r\\nContent-Length: 400\\r\\n\\r\\n{\"serial\": \"S-1\", \"cs")
like "$out" "^closed" "a request stalled inside its body is closed"
t=$(echo "$out" | cut -d' ' -f2)
if within "$t" $((TMO + 2)); then pass "... within the timeout + 2 s (${t}s)"
else fail "... within the timeout + 2 s" "<= $((TMO + 2))s" "${t}s"; fi

# One byte of the request line every TMO+1 s: the first gap is over the idle
# timeout, so the connection is cut after a byte or two.
out=$($RAW trickle "$PORT" $((TMO + 1)) $((TMO * 4 + 4)) 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
like "$out" "^closed" "a client trickling one byte per $((TMO + 1)) s is cut off"
sent=$(echo "$out" | cut -d' ' -f3)
like "$sent" "^[12]$" "... after its first byte or two (sent $sent)"
# One byte every 0.5 s is never idle long enough for MHD's idle timeout;
# thingcad's own deadline (lib/deadline.c) cuts the headers at the timeout.
out=$($RAW trickle "$PORT" 0.5 $((TMO * 4)) 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
like "$out" "^closed" "a client trickling its headers one byte per 0.5 s is cut off"
t=$(echo "$out" | cut -d' ' -f2)
if within "$t" $((TMO + 2)); then pass "... at connection_timeout_s (${t}s)"
else fail "... at connection_timeout_s" "<= $((TMO + 2))s" "${t}s"; fi

# --- (a)+(c) three slow clients attached, issuance unaffected ----------------
$RAW hold "$PORT" 3 $((TMO + 6)) 'GET /v1/ca HTTP/1.1\r\nHost: 127.0.0.1\r\n' > "$T/hold3" &
hp=$!
i=0
while ! grep -q '^opened' "$T/hold3" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(head -n 1 "$T/hold3")" "opened 3" "three stalled clients attached"
t0=$(ms)
ok=0
for n in 1 2 3; do
	st=$(tca_post /v1/certificates "$ST" "$(tca_json "S-$n" "$T/c$n.csr")")
	[ "$st" = 201 ] && ok=$((ok + 1))
done
t1=$(ms)
is "$ok" 3 "a station issues 3 certificates while 3 slow clients are attached"
if [ $((t1 - t0)) -lt $((TMO * 1000 - 200)) ]; then
	pass "... without waiting for the slow ones ($((t1 - t0)) ms)"
else fail "... without waiting for the slow ones" "< $((TMO * 1000 - 200)) ms" "$((t1 - t0)) ms"; fi
st=$(tca_get /healthz)
is "$st" 200 "health check answers meanwhile"
wait $hp
is "$(grep -c '^closed' "$T/hold3")" 3 "the three stalled clients were all cut off"

# --- (b) the connection limit full of idle clients ---------------------------
$RAW hold "$PORT" 8 $((TMO + 8)) > "$T/hold8" &
hp=$!
i=0
while ! grep -q '^opened' "$T/hold8" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(head -n 1 "$T/hold8")" "opened 8" "8 idle connections fill max_connections"
sleep 0.3
# A 9th connection while 8 are open is refused at once (closed before any
# answer), not left hanging in the backlog.
t0=$(ms)
st=$(curl -s -o "$T/body" -w '%{http_code}' --max-time $((TMO + 8)) \
	-H "Authorization: Bearer $ST" -H 'Content-Type: application/json' \
	--data-binary "$(tca_json S-4 "$T/c4.csr")" "$URL/v1/certificates")
t1=$(ms)
dt=$((t1 - t0))
is "$st" 000 "past max_connections a new connection is refused"
if [ $dt -le 1000 ]; then pass "... promptly ($dt ms)"
else fail "... promptly" "<= 1000 ms" "$dt ms"; fi
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='S-4'")" 0 "... and nothing was issued for it"
# A station that retries, as thingca enroll does, gets in once the idle
# connections are cut at the timeout.
t0=$(ms)
out=$("$BIN/thingca" enroll --url "$URL" --token "$ST" --serial S-4 --out "$T/enr4" 2>&1)
rc=$?
t1=$(ms)
is "$rc" 0 "thingca enroll, retrying, gets the certificate while the slots were full"
like "$out" "issued certificate for serial S-4" "... issued"
if [ $((t1 - t0)) -le $(((TMO + 6) * 1000)) ]; then pass "... within the idle timeout plus back-off ($((t1 - t0)) ms)"
else fail "... within the idle timeout plus back-off" "<= $(((TMO + 6) * 1000)) ms" "$((t1 - t0)) ms"; fi
wait $hp
is "$(grep -c '^closed' "$T/hold8")" 8 "all 8 idle connections were cut by the server"
late=$(awk '$1 == "closed" && $3 > '$((TMO + 2))' {print}' "$T/hold8")
is "$late" "" "... each within the timeout + 2 s"

# service fully back: fast answers again
t0=$(ms)
st=$(tca_post /v1/certificates "$ST" "$(tca_json S-5 "$T/c5.csr")")
t1=$(ms)
is "$st" 201 "after the idle connections are gone, issuance works"
if [ $((t1 - t0)) -lt 1500 ]; then pass "... promptly ($((t1 - t0)) ms)"
else fail "... promptly" "< 1500 ms" "$((t1 - t0)) ms"; fi
is "$(tca_sql "SELECT count(*) FROM ledger WHERE event='issued'")" 5 "ledger holds the 5 issuances"

# --- (d) a slow reader of a large answer -------------------------------------
# MHD's idle timeout only needs a write now and then: a reader taking ~80
# KB/s from a small receive window keeps one going, and held the connection
# and its thread for as long as the answer lasted. The answer now gets
# connection_timeout_s like the headers and the body. A ledger page of 1000
# entries (~600 KB, longer than the kernel buffers hold) is the answer.
B=$(printf 'b%.0s' $(seq 1 120))
: > "$T/fill.cfg"
for i in $(seq 1 1000); do
	[ "$i" -gt 1 ] && echo next >> "$T/fill.cfg"
	printf 'url = "%s/v1/serials"\nrequest = "POST"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"batch\\": \\"%s%04d\\", \\"serials\\": [\\"L-%d\\"]}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
		"$URL" "$AD" "$B" "$i" "$i" >> "$T/fill.cfg"
done
is "$(curl -s --max-time 120 -K "$T/fill.cfg" | sort | uniq -c | tr -s ' ' | sed 's/^ //')" "1000 200" "1000 imports make 1000 ledger entries"
is "$(tca_get "/v1/ledger?limit=1000" "$AD")" 200 "a page of 1000 entries"
full=$(wc -c < "$T/body" | tr -d ' ')
out=$($RAW slowread "$PORT" 4096 0.05 40 "GET /v1/ledger?limit=1000 HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Bearer $AD\\r\\n\\r\\n")
like "$out" "^closed" "a slow reader of a $full-byte answer is cut off"
got=$(echo "$out" | cut -d' ' -f3)
if [ "${got:-0}" -lt "$full" ]; then pass "... before it has read the answer ($got of $full bytes, cut at $(echo "$out" | cut -d' ' -f2)s)"
else fail "... before it has read the answer" "< $full bytes" "$got bytes"; fi
is "$(tca_get /healthz)" 200 "the daemon serves on"

tca_stop
is "$STOP_RC" 0 "thingcad stops cleanly (SIGTERM, status 0)"
done_testing
