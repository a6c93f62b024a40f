# tests/integration/hostile.sh — extra helpers for the hostile-input and
# fault tests (t-bad-input, t-slow-clients, t-crash, t-full-disk). Source it
# after lib.sh. Needs $AD (an admin token) for allow().

RAW="perl $SRC/tests/integration/rawhttp.pl"

# allow SERIAL...: allowlists through POST /v1/serials with the admin token
# (batches of 1000). Returns 1 when the daemon refused.
allow() {
	printf '%s\n' "$@" > "$T/allow.txt"
	_rc=0
	split -l 1000 "$T/allow.txt" "$T/allow.part."
	for _f in "$T"/allow.part.*; do
		jq -R . "$_f" | jq -sc '{batch: "test", serials: .}' > "$T/allow.json"
		_st=$(curl -s -o "$T/allow.body" -w '%{http_code}' --max-time 30 \
			-H "Authorization: Bearer $AD" -H 'Content-Type: application/json' \
			--data-binary @"$T/allow.json" "$URL/v1/serials")
		if [ "$_st" != 200 ]; then
			diag "POST /v1/serials: $_st $(cat "$T/allow.body")"
			_rc=1
		fi
		rm -f "$_f"
	done
	return $_rc
}

# ms: milliseconds since the epoch.
ms() { date +%s%3N; }

# within GOT MAX: is the decimal GOT <= MAX?
within() { awk -v g="$1" -v m="$2" 'BEGIN { exit !(g + 0 <= m + 0) }'; }

# ledger_state [DB]: "rows|seq|hash" of the ledger, to compare before/after.
ledger_state() {
	sqlite3 "${1:-$T/ledger.db}" "SELECT count(*), coalesce(max(seq), 0), coalesce((SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1), '') FROM ledger" 2>&1
}
