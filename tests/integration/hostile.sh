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

# small_tmpfs SIZE: mounts a tmpfs of SIZE (e.g. 1m) on $SMALL=$T/small for
# a ledger that runs out of space; skips the test unless root may mount.
# The EXIT trap stops the daemon and unmounts it. Unmount with small_umount.
small_tmpfs() {
	[ "$(id -u)" = 0 ] || skip_all "needs root and mount"
	SMALL=$T/small
	mkdir -p "$SMALL"
	mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$SMALL" 2>/dev/null ||
		skip_all "needs root and mount (tmpfs mount failed)"
	MOUNTED=1
	trap _small_cleanup EXIT
}
_small_cleanup() {
	[ -n "$PID" ] && tca_stop KILL
	if [ -n "${MOUNTED:-}" ]; then
		umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null
	fi
	_cleanup
}
# small_start: writes the config (tca_config) with its ledger DB=$SMALL/ledger.db
# and starts thingcad on it; a failure ends the test.
small_start() {
	tca_config
	DB=$SMALL/ledger.db
	sed -i "s|\"$T/ledger.db\"|\"$DB\"|" "$T/thingca.json"
	grep -q "$DB" "$T/thingca.json" || { fail "config names the ledger on the tmpfs"; done_testing; }
	tca_start || { fail "thingcad starts with its ledger on a tmpfs"; done_testing; }
	pass "thingcad starts with its ledger on a tmpfs"
}
# small_umount: unmounts $SMALL (a test of its own: it must succeed).
small_umount() {
	umount "$SMALL" && MOUNTED=
	is "$MOUNTED" "" "tmpfs unmounted"
}
