#!/bin/sh
# t-units: the installed systemd units pass `systemd-analyze verify` (with the
# real programs and man pages they name), thingcad.service and
# thingca-backup.service rate <= 1.5 in `systemd-analyze security`, and the
# backup wrapper keeps the newest KEEP copies and nothing else.
set -u
LC_ALL=C
export LC_ALL

SRC=${THINGCA_SRC:?THINGCA_SRC not set}
BIN=${THINGCA_BIN:?THINGCA_BIN not set}
MAX_EXPOSURE=1.5

if [ ! -x "$BIN/thingcad" ] || [ ! -x "$BIN/thingca" ]; then
	echo "1..0 # SKIP binaries not built"
	exit 0
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze not installed"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

. "$SRC/tests/tap.sh"
diag_file() { sed 's/^/#   /' "$1"; }

# Installed under a temporary PREFIX rather than a DESTDIR, so that
# ExecStart= names the real built programs and verify can check them.
p=$tmp/usr
if make -s -C "$SRC" install PREFIX="$p" SYSCONFDIR="$tmp/etc" >"$tmp/install.log" 2>&1; then
	pass "make install PREFIX=<tmp> succeeds"
else
	nok "make install PREFIX=<tmp> succeeds" "expected exit 0, got $?"
	diag_file "$tmp/install.log"
fi
units=$p/lib/systemd/system

got=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$units/thingcad.service" 2>/dev/null)
if [ "$got" = "$p/bin/thingcad" ] && cmp -s "$got" "$BIN/thingcad"; then
	pass "thingcad.service runs the built thingcad"
else
	nok "thingcad.service runs the built thingcad" "expected ExecStart=$p/bin/thingcad (a copy of $BIN/thingcad), got $got"
fi

# verify also runs `man` for each Documentation=man: entry: MANPATH makes it
# find the installed pages.
for u in thingcad.service thingcad.socket thingca-backup.service thingca-backup.timer; do
	if (cd "$units" && MANPATH=$p/share/man SYSTEMD_LOG_COLOR=0 \
		systemd-analyze verify "$u") >"$tmp/verify.log" 2>&1 &&
		! [ -s "$tmp/verify.log" ]; then
		pass "systemd-analyze verify $u"
	else
		nok "systemd-analyze verify $u" "expected no findings, got:"
		diag_file "$tmp/verify.log"
	fi
done

# Exposure: "→ Overall exposure level for X: 0.9 SAFE".
for u in thingcad.service thingca-backup.service; do
	systemd-analyze security --offline=true --no-pager "$units/$u" >"$tmp/sec.log" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$tmp/sec.log")
	if [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
		pass "$u exposure $score <= $MAX_EXPOSURE"
	else
		nok "$u exposure <= $MAX_EXPOSURE" "expected <= $MAX_EXPOSURE, got ${score:-no score}"
		grep -v '✓' "$tmp/sec.log" | diag_file /dev/stdin
	fi
done

# ---- sysusers.d and tmpfiles.d, applied to a scratch root ---------------------
# (chown needs root; as another user only the syntax is checked.)
sr=$tmp/sysroot
mkdir -p "$sr/etc"
if systemd-sysusers --root="$sr" "$p/lib/sysusers.d/thingca.conf" >"$tmp/sysusers.log" 2>&1 &&
	line=$(grep '^thingca:' "$sr/etc/passwd") &&
	[ "$(echo "$line" | cut -d: -f6)" = /var/lib/thingca ]; then
	pass "sysusers.d creates user thingca with home /var/lib/thingca"
else
	nok "sysusers.d creates user thingca with home /var/lib/thingca" \
		"expected a thingca passwd line, got: $(grep '^thingca:' "$sr/etc/passwd" 2>/dev/null)"
	diag_file "$tmp/sysusers.log"
fi
if [ "$(id -u)" = 0 ]; then
	uid=$(grep '^thingca:' "$sr/etc/passwd" | cut -d: -f3)
	gid=$(grep '^thingca:' "$sr/etc/group" | cut -d: -f3)
	systemd-tmpfiles --root="$sr" --create "$p/lib/tmpfiles.d/thingca.conf" >"$tmp/tmpfiles.log" 2>&1
	got=$(stat -c '%n %a %u:%g' "$sr/var/lib/thingca" "$sr/var/backups/thingca" \
		"$sr/etc/thingca" 2>&1 | sed "s|$sr||" | tr '\n' ' ')
	want="/var/lib/thingca 700 $uid:$gid /var/backups/thingca 700 $uid:$gid /etc/thingca 750 0:$gid "
	if [ "$got" = "$want" ]; then
		pass "tmpfiles.d creates the state, backup and config directories"
	else
		nok "tmpfiles.d creates the state, backup and config directories" "expected $want" "got $got"
		diag_file "$tmp/tmpfiles.log"
	fi
else
	pass "tmpfiles.d # SKIP not root"
fi

# ---- the backup wrapper -------------------------------------------------------
# A stand-in thingca records its calls, writes the copy, and fails verify on
# demand; the wrapper's own logic (names, pruning, failure paths) is tested.
wrap=$p/lib/thingca/thingca-backup
fake=$tmp/fake-thingca
cat >"$fake" <<'FAKE'
#!/bin/sh
echo "$*" >>"$FAKE_LOG"
case "$*" in
*"ledger backup --to "*) to=${*##*--to }; [ -e "$to" ] && exit 1; echo copy >"$to" ;;
*"ledger verify"*) [ -z "${FAKE_VERIFY_FAIL:-}" ] || exit 1 ;;
*) exit 2 ;;
esac
FAKE
chmod 755 "$fake"
bk=$tmp/backups
mkdir -p "$bk"
for d in 20200101 20200102 20200103 20200104 20200105; do
	echo old >"$bk/ledger-${d}T000000.db"
done
echo other >"$bk/notes.txt"
echo partial >"$bk/ledger-20200106T000000.db.tmp"
# SQLite side files: of a copy to prune, of a copy to keep, of none.
for f in ledger-20200101T000000.db ledger-20200105T000000.db ledger-20190101T000000.db; do
	: >"$bk/$f-wal"
	: >"$bk/$f-shm"
done

export FAKE_LOG="$tmp/fake.log"
BACKUP_DIR=$bk KEEP=3 THINGCA=$fake THINGCA_CONFIG=/x/thingca.json \
	"$wrap" >"$tmp/wrap.out" 2>&1
rc=$?
newest=$(cd "$bk" && ls ledger-*T*.db | tail -n 1)
kept=$(cd "$bk" && LC_ALL=C ls | tr '\n' ' ')
case $newest in
ledger-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9].db) named=1 ;;
*) named= ;;
esac
if [ "$rc" = 0 ] && [ -n "$named" ] &&
	[ "$kept" = "ledger-20200104T000000.db ledger-20200105T000000.db ledger-20200105T000000.db-shm ledger-20200105T000000.db-wal ledger-20200106T000000.db.tmp $newest notes.txt " ]; then
	pass "backup writes ledger-YYYYmmddTHHMMSS.db and keeps the newest 3, pruning their -wal/-shm with them"
else
	nok "backup writes ledger-YYYYmmddTHHMMSS.db and keeps the newest 3, pruning their -wal/-shm with them" \
		"expected exit 0 and ledger-20200104T000000.db ledger-20200105T000000.db ledger-20200105T000000.db-shm ledger-20200105T000000.db-wal ledger-20200106T000000.db.tmp <new> notes.txt," \
		"got exit $rc and $kept"
	diag_file "$tmp/wrap.out"
fi
if grep -qx -- "-c /x/thingca.json ledger backup --to $bk/$newest" "$FAKE_LOG" &&
	grep -qx -- "ledger verify --ledger $bk/$newest" "$FAKE_LOG"; then
	pass "backup runs thingca -c CONFIG ledger backup --to, then ledger verify on the copy"
else
	nok "backup runs thingca ledger backup then verify" "expected both calls, got:"
	diag_file "$FAKE_LOG"
fi

# A copy that does not verify: exit 1, nothing pruned.
before=$(ls "$bk" | wc -l)
sleep 1 # a new second, a new name
BACKUP_DIR=$bk KEEP=1 THINGCA=$fake FAKE_VERIFY_FAIL=1 "$wrap" >"$tmp/wrap.out" 2>&1
rc=$?
after=$(ls "$bk" | wc -l)
if [ "$rc" = 1 ] && [ "$after" = $((before + 1)) ]; then
	pass "backup that does not verify exits 1 and prunes nothing"
else
	nok "backup that does not verify exits 1 and prunes nothing" \
		"expected exit 1 and $((before + 1)) files, got exit $rc and $after files"
fi

BACKUP_DIR=$bk KEEP=abc THINGCA=$fake "$wrap" >"$tmp/wrap.out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q KEEP "$tmp/wrap.out"; then
	pass "backup refuses KEEP=abc with exit 2"
else
	nok "backup refuses KEEP=abc with exit 2" "expected exit 2 and a message naming KEEP, got exit $rc: $(cat "$tmp/wrap.out")"
fi

done_testing
