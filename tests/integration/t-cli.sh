#!/bin/sh
# t-cli: the rough edges a newcomer hit on the command line. Help that
# belongs to the command asked about, -c after the command, token new
# --out, ledger list --limit bounds and its DETAIL column, one head form
# (SEQ:HASH) that ledger verify --head takes back, and "permission denied"
# (not "no ledger") for a ledger the user may not read.
. "$THINGCA_SRC/tests/integration/lib.sh"
TCA=$BIN/thingca

# ---- help and usage ------------------------------------------------------
out=$($TCA ca --help 2>&1); rc=$?
is "$rc" 0 "ca --help exits 0"
like "$out" "^usage: thingca \[-c FILE\] ca SUBCOMMAND" "ca --help prints the ca usage, not 'unknown command'"
like "$out" "init .*verification-cert .*server-cert" "and lists the ca subcommands"
$TCA ca >/dev/null 2>&1
is "$?" 2 "ca alone is a usage error (exit 2)"
out=$($TCA ca nope 2>&1); rc=$?
is "$rc" 2 "ca with an unknown subcommand exits 2"
like "$out" "unknown subcommand 'nope'" "and names it"
out=$($TCA token --help 2>&1); rc=$?
is "$rc" 0 "token --help exits 0"
like "$out" "token new --name NAME --role" "token --help prints token's usage"
out=$($TCA ledger verify --help 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^usage\|^      thingca')" 1 "ledger verify --help prints verify's usage alone"
like "$($TCA --help)" "--token-file" "the top-level help names enroll --token-file"
like "$($TCA --help)" "-c, --config FILE .*may also follow COMMAND" "and says -c may follow the command"

# ---- -c after the command --------------------------------------------------
tca_ca ec:P-256
ST=$(tca_token line1-station1 station)
tca_config
printf 'CLI-0001\nCLI-0002\n' > "$T/serials.txt"
out=$($TCA serials import --batch first "$T/serials.txt" -c "$T/thingca.json" 2>&1)
is "$?" 0 "serials import ... -c FILE (after the command) works"
like "$out" "imported 2 serials" "and imports"
out=$($TCA ledger list --config="$T/thingca.json" 2>&1)
like "$out" "serials_imported .*batch=first added=2 present=0" "ledger list --config=FILE works; an import row shows its batch and counts"
out=$($TCA ledger head -c "$T/nonexistent.json" 2>&1)
like "$out" "nonexistent.json: No such file" "-c after the command is the file used"

# ---- token new --out --------------------------------------------------------
out=$($TCA token new --name st2 --role station --out "$T/st2.token" 2>/dev/null); rc=$?
is "$rc" 0 "token new --out FILE exits 0"
like "$out" '^\{"name": "st2", "role": "station", "token_sha256": "[0-9a-f]{64}"\}$' "stdout is only the clients entry"
is "$(stat -c %a "$T/st2.token")" 600 "the token file is mode 0600"
tok=$(cat "$T/st2.token")
is "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)" "$(printf '%s' "$out" | jq -r .token_sha256)" "the file holds the token whose SHA-256 is in the entry"
$TCA token new --name st3 --role station --out "$T/st2.token" >/dev/null 2>&1
is "$?" 1 "an existing token file is refused (exit 1)"
is "$(cat "$T/st2.token")" "$tok" "and left unchanged"

# ---- token new --name: the configuration's client-name rule ----------------
n64=$(printf 'n%.0s' $(seq 64))
out=$($TCA token new --name "$n64" --role auditor --out "$T/n64.token" 2>/dev/null); rc=$?
is "$rc" 0 "token new --name of 64 characters exits 0"
jq --argjson c "$out" '.clients += [$c]' "$T/thingca.json" > "$T/n64.json"
out=$($TCA ledger head -c "$T/n64.json" 2>&1)
is "$?" 0 "and the configuration loader takes its entry"
out=$($TCA token new --name "${n64}nnnnnnnnnnnnnnnn" --role auditor --out "$T/n80.token" 2>&1); rc=$?
is "$rc" 2 "token new --name of 80 characters is refused (exit 2), as the configuration refuses it"
like "$out" "1 to 64" "saying the limit"
[ -e "$T/n80.token" ] && fail "and writes no token" || pass "and writes no token"

# ---- --days: one parser for every command that takes it ---------------------
for cmd in "ca init --out-key $T/d.key --out-cert $T/d.pem" "ca verification-cert --code c0de" "ca server-cert --cn x --out-key $T/d.key --out-cert $T/d.pem"; do
	out=$($TCA $cmd --days 0 2>&1); rc=$?
	is "$rc" 2 "${cmd%% -*} --days 0 is refused (exit 2)"
	like "$out" "--days: expected 1 to [0-9]+, got '0'" "${cmd%% -*} --days says the range"
done

# ---- ledger list --limit ----------------------------------------------------
for l in -1 0 1001 5000; do
	out=$($TCA ledger list --ledger "$T/ledger.db" --limit "$l" 2>&1)
	is "$?" 2 "ledger list --limit $l is refused (exit 2)"
done
like "$out" "--limit is 1 to 1000" "saying the range"
out=$($TCA ledger list --ledger "$T/ledger.db" --limit 1000 2>&1)
is "$?" 0 "--limit 1000 is accepted"

# ---- one head form -----------------------------------------------------------
head=$($TCA ledger head --ledger "$T/ledger.db")
like "$head" '^1:[0-9a-f]{64}$' "ledger head prints SEQ:HASH"
out=$($TCA ledger verify --ledger "$T/ledger.db" --head "$head" 2>&1)
is "$?" 0 "ledger verify --head takes what ledger head prints"
is "$out" "ledger OK: 1 entry, head $head" "and reports the head in the same form (1 entry, singular)"
out=$($TCA ledger verify --ledger "$T/ledger.db" --head "1 ${head#1:}" 2>&1)
is "$?" 2 "--head in another form is a usage error"
like "$out" "--head is SEQ:HASH .*as .thingca ledger head. prints it" "whose message names the form ledger head prints"
tca_start || { fail "thingcad starts"; done_testing; }
logged=$(sed -n 's/.*ledger head at start: \([^ ]*\).*/\1/p' "$T/daemon.log")
is "$logged" "$head" "thingcad logs the head in the same form"

# ---- one reason, singular ------------------------------------------------------
(umask 077 && printf '%s' "$ST" > "$T/st.token")
$TCA enroll --url "$URL" --token-file "$T/st.token" --serial CLI-0001 --out "$T/dev" > "$T/enroll.out" 2>&1
is "$?" 0 "a device enrols"
tca_stop
$TCA -c "$T/thingca.json" jitp template --role-arn arn:aws:iam::123456789012:role/JITPRole > "$T/rc.json" 2>/dev/null
# one parameter the certificate lacks (the profile has no dnQualifier)
jq '.templateBody |= (fromjson | .Parameters["AWS::IoT::Certificate::DistinguishedNameQualifier"] = {"Type": "String"} | tojson)' \
	"$T/rc.json" > "$T/rc1.json"
out=$($TCA jitp simulate --template "$T/rc1.json" --cert "$T/dev/device-bundle.pem" 2>&1)
is "$?" 1 "jitp simulate: AWS would refuse (exit 1)"
like "$out" "\(1 reason\):" "one reason is '1 reason', not '1 reasons'"

# ---- permission denied --------------------------------------------------------
# As root, access(2) allows everything: check as nobody.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	as() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	# (nobody's group is nogroup: it stands for an auditors' group.)
	chmod 0755 "$T"
	rm -f "$T/ledger.db-wal" "$T/ledger.db-shm"
	chmod 0600 "$T/ledger.db"
	out=$(as "$TCA" ledger verify --ledger "$T/ledger.db" 2>&1)
	is "$?" 1 "a 0600 ledger of another user: exit 1"
	like "$out" "cannot read the ledger .*: permission denied \(owner root, mode 0600\)" "says permission denied, not 'no ledger'"
	like "$out" "sudo -u root thingca" "and what to do"
	chmod 0644 "$T/ledger.db"
	chmod 0555 "$T"
	out=$(as "$TCA" ledger verify --ledger "$T/ledger.db" 2>&1)
	is "$?" 1 "readable ledger, thingcad stopped, directory not writable: exit 1"
	like "$out" "while thingcad is stopped: permission denied creating .*ledger.db-shm" "says why (SQLite's -shm)"
	chmod 0700 "$T"
	out=$(as "$TCA" ledger head --ledger "$T/ledger.db" 2>&1)
	like "$out" "cannot reach the ledger .*: permission denied" "a directory not searchable: permission denied"
	out=$(as "$TCA" serials import --ledger "$T/ledger.db" -c "$T/thingca.json" "$T/serials.txt" 2>&1)
	like "$out" "cannot|denied" "serials import into a ledger it cannot write fails"
	# What docs/ledger.md promises a group with read access: it works
	# while thingcad runs (the -wal/-shm exist, SQLite reads a -shm it may
	# not write), and not once thingcad has stopped.
	chgrp nogroup "$T" "$T/ledger.db" && chmod 0750 "$T" && chmod 0640 "$T/ledger.db"
	tca_start || fail "thingcad starts on the group-readable ledger"
	ls -l "$T"/ledger.db-* | sed 's/^/# /'
	out=$(as "$TCA" ledger verify --ledger "$T/ledger.db" 2>&1)
	is "$?" 0 "group read access while thingcad runs: ledger verify works ($out)"
	tca_stop
	out=$(as "$TCA" ledger verify --ledger "$T/ledger.db" 2>&1)
	is "$?" 1 "group read access with thingcad stopped: refused"
	like "$out" "while thingcad is stopped: permission denied" "saying why"
	chgrp root "$T" && chmod 0700 "$T"
else
	diag "not root: permission checks skipped"
	pass "permission denied # SKIP not root"
fi
done_testing
