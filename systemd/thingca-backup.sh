#!/bin/sh
# thingca-backup: an online copy of the thingca ledger, verified, keeping the
# newest $KEEP copies. Run daily by thingca-backup.service; safe while thingcad
# runs (SQLite's backup API through `thingca ledger backup`).
#
# Environment (defaults in thingca-backup.service, overrides in
# /etc/default/thingca-backup):
#   BACKUP_DIR      where copies go            (/var/backups/thingca)
#   KEEP            how many copies to keep    (14)
#   THINGCA_CONFIG  configuration naming the ledger (/etc/thingca/thingca.json)
#   THINGCA         the thingca program        (@BINDIR@/thingca)
#
# Copies are named ledger-YYYYmmddTHHMMSS.db, UTC, so names sort by age.
# Exit status: 0 done, 1 backup or verification failed (older copies are then
# left alone), 2 bad settings.
set -u
# Byte order for the globs below, whatever the caller's locale.
LC_ALL=C
export LC_ALL

BACKUP_DIR=${BACKUP_DIR:-/var/backups/thingca}
KEEP=${KEEP:-14}
THINGCA_CONFIG=${THINGCA_CONFIG:-/etc/thingca/thingca.json}
THINGCA=${THINGCA:-@BINDIR@/thingca}

die() {
	code=$1
	shift
	echo "thingca-backup: $*" >&2
	exit "$code"
}

case $KEEP in
'' | *[!0-9]*) die 2 "KEEP must be a positive integer, got '$KEEP'" ;;
esac
[ "$KEEP" -ge 1 ] || die 2 "KEEP must be at least 1, got $KEEP"
[ -d "$BACKUP_DIR" ] || die 2 "BACKUP_DIR $BACKUP_DIR is not a directory (systemd-tmpfiles --create thingca.conf makes the default)"

umask 077
stamp=$(date -u +%Y%m%dT%H%M%S)
out=$BACKUP_DIR/ledger-$stamp.db

"$THINGCA" -c "$THINGCA_CONFIG" ledger backup --to "$out" ||
	die 1 "backup to $out failed; older copies kept"
"$THINGCA" ledger verify --ledger "$out" >/dev/null ||
	die 1 "copy $out does not verify; kept for inspection, older copies kept"

# Prune: the names sort by time, newest last. Only our own names match (not
# the temporary name a backup in progress writes). A copy goes with its
# SQLite side files (-wal, -shm: a reader of a WAL database may leave
# them), and side files whose copy is gone go too.
pattern='ledger-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9].db'
n=0
for f in "$BACKUP_DIR"/$pattern; do
	[ -f "$f" ] && n=$((n + 1))
done
drop=$((n - KEEP))
removed=0
if [ "$drop" -gt 0 ]; then
	for f in "$BACKUP_DIR"/$pattern; do
		[ "$removed" -lt "$drop" ] || break
		[ -f "$f" ] || continue
		rm -f -- "$f" "$f-wal" "$f-shm" || die 1 "cannot remove old copy $f"
		removed=$((removed + 1))
	done
fi
for f in "$BACKUP_DIR"/$pattern-wal "$BACKUP_DIR"/$pattern-shm; do
	[ -f "$f" ] || continue
	[ -e "${f%-???}" ] || rm -f -- "$f" || die 1 "cannot remove $f"
done
echo "thingca-backup: wrote $out, kept $((n - removed)), removed $removed"
exit 0
