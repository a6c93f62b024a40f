# tests/integration/hostile.sh — extra helpers for the hostile-input and
# fault tests (t-bad-input, t-slow-clients, t-crash, t-full-disk). Source it
# after lib.sh. Needs $AD (an admin token) for allow().

RAW="perl $SRC/tests/integration/rawhttp.pl"

# alive PID: is the process running (a zombie waiting to be reaped is not)?
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}

# stop_daemon [SIGNAL]: signals $PID (default TERM), waits (bounded, 30 s),
# then KILL; sets STOP_RC to its exit status and clears PID. Runs in the
# calling shell (not in $(...), where `wait` cannot reap the daemon).
stop_daemon() {
	STOP_RC=
	[ -n "$PID" ] || return 0
	kill -"${1:-TERM}" "$PID" 2>/dev/null
	_i=0
	while alive "$PID" && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -KILL "$PID" 2>/dev/null
	wait "$PID"
	STOP_RC=$?
	PID=
}

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
