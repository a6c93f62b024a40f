#!/bin/sh
# profile.sh — `make bench-profile`: what one certificate costs thingcad,
# in figures that do not depend on what else the machine runs. wrk's
# throughput is noise on a busy machine; instructions and syscalls per
# certificate are not. docs/performance.md ("Pinned, issue 18") keeps the
# results.
#
#   sh tests/bench/profile.sh BUILD_DIR
#
# One CA (P-256), a ledger pre-filled with PROFILE_FILL issued entries (so
# its indexes have a factory's size; bench-ledger --fill), PROFILE_N fresh
# serials with fresh P-256 keys, imported first. Then, on the same daemon:
#   1. callgrind: thingcad under valgrind --tool=callgrind; a warm-up of
#      PROFILE_WARM issuances, the counters zeroed (callgrind_control -z),
#      PROFILE_N issuances by wrk at PROFILE_CONNS connections, the
#      counters dumped; instructions (Ir, user space only) per certificate
#      for each part of the issuance path (inclusive), and per batch;
#   2. native: the same daemon binary without valgrind on a fresh copy of
#      the ledger, the same load: syscalls per certificate (perf stat on
#      the tracepoints; kernel work counts where Ir cannot see) and user /
#      system CPU per certificate (from /proc, which a loaded machine
#      inflates less than wall time).
#
# Environment: PROFILE_N [2000], PROFILE_WARM [200], PROFILE_FILL [100000],
# PROFILE_CONNS [16], PROFILE_KEEP (keep the work directory),
# PROFILE_TMPDIR [/tmp], PROFILE_CALLGRIND (0: skip part 1), PROFILE_NATIVE
# (0: skip part 2).
set -u
B=${1:?usage: profile.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
N=${PROFILE_N:-2000}
WARM=${PROFILE_WARM:-200}
FILL=${PROFILE_FILL:-100000}
CONNS=${PROFILE_CONNS:-16}
W=$(mktemp -d "${PROFILE_TMPDIR:-/tmp}/thingca-profile.XXXXXX")
DPID=
. "$HERE/../proc.sh"
cleanup() {
	stop_pid "$DPID"
	if [ -n "${PROFILE_KEEP:-}" ]; then echo "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for t in valgrind callgrind_annotate callgrind_control perl perf sqlite3; do
	command -v $t >/dev/null 2>&1 || { echo "profile: $t is missing"; exit 1; }
done

"$B/thingca" ca init --key-type ec:P-256 --subject "/C=JP/O=thingca bench/CN=bench CA" \
	--out-cert "$W/ca.pem" --out-key "$W/ca.key" > /dev/null || exit 1
"$B/thingca" token new --name station1 --role station > "$W/token.out" || exit 1
TOKEN=$(sed -n 2p "$W/token.out")
CLIENT=$(tail -n 1 "$W/token.out")
cat > "$W/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$W/ledger.db",
  "ca": {"certificate": "$W/ca.pem", "key": "$W/ca.key"},
  "serials": {"require_allowlist": true},
  "clients": [$CLIENT]
}
JSON
"$B/tests/gencsr" ec:P-256 0 "$WARM" PW > "$W/warm.txt" || exit 1
"$B/tests/gencsr" ec:P-256 0 "$N" PM > "$W/bodies.txt" || exit 1
"$B/tests/gencsr" ec:P-256 0 "$WARM" NW > "$W/nwarm.txt" || exit 1
"$B/tests/gencsr" ec:P-256 0 "$N" NM > "$W/nbodies.txt" || exit 1
cat "$W/warm.txt" "$W/bodies.txt" "$W/nwarm.txt" "$W/nbodies.txt" |
	sed 's/^{"serial":"\([^"]*\)".*/\1/' > "$W/serials.txt"
if [ "$FILL" -gt 0 ]; then
	"$B/tests/bench-ledger" --fill "$W/ledger.db" "$FILL" || exit 1
fi
"$B/thingca" -c "$W/thingca.json" serials import --batch profile "$W/serials.txt" > /dev/null || exit 1
cp "$W/ledger.db" "$W/ledger.orig"
echo "profile: P-256 CA and devices, ledger of $FILL + 1 entries, $N issuances at $CONNS connections (warm-up $WARM)"

start() { # PREFIX... (the command line before thingcad)
	: > "$W/daemon.log"
	"$@" "$B/thingcad" -c "$W/thingca.json" 2>> "$W/daemon.log" &
	DPID=$!
	PORT=$(thingcad_ready "$W/daemon.log" "$DPID") && return 0
	echo "profile: thingcad did not start:"; cat "$W/daemon.log"; exit 1
}
# load BODIES: every body once, CONNS connections, until the last answer.
load() { perl "$HERE/post.pl" "$PORT" "$TOKEN" "$CONNS" "$1"; }
issued() { sqlite3 "$W/ledger.db" "SELECT count(*) FROM ledger WHERE event = 'issued'"; }

# ---- 1. callgrind --------------------------------------------------------
if [ "${PROFILE_CALLGRIND:-1}" != 0 ]; then
start valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" --dump-instr=no \
	--collect-systime=no --separate-threads=no
echo "warm-up: $(load "$W/warm.txt")"
i0=$(issued)
callgrind_control -z "$DPID" > /dev/null || exit 1
echo "measured: $(load "$W/bodies.txt")"
callgrind_control -d "$DPID" > /dev/null || exit 1
i1=$(issued)
stop_pid "$DPID" TERM 600
wait "$DPID" 2>/dev/null
DPID=
CERTS=$((i1 - i0))
DUMP=$(ls "$W"/cg.out.* 2>/dev/null | head -n 1)
[ -n "$DUMP" ] || { echo "profile: no callgrind dump"; exit 1; }
callgrind_annotate --inclusive=yes --threshold=100 "$DUMP" > "$W/incl.txt"
callgrind_annotate --inclusive=no --threshold=99 "$DUMP" > "$W/self.txt"
[ -n "${PROFILE_KEEP:-}" ] && echo "callgrind dump: $DUMP"
# write transactions in the window: the calls of run_batch in the dump
BATCHES=$(awk '
/^c?fn=\([0-9]+\) / { id = $1; sub(/^c?fn=/, "", id); name[id] = $2 }
/^cfn=/ { id = $1; sub(/^cfn=/, "", id); cur = name[id] }
/^calls=/ && cur == "run_batch" { split($1, c, "="); n += c[2] }
/^calls=/ { cur = "" }
END { print n + 0 }' "$DUMP")
echo ""
echo "callgrind: $CERTS certificates committed in the window, $BATCHES write transactions ($(awk -v c="$CERTS" -v b="$BATCHES" 'BEGIN { if (b) printf "%.1f", c / b }') per batch)"
# part LABEL FUNCTION-REGEX: inclusive Ir of the first matching function, per certificate
awk -v n="$CERTS" '
function num(s) { gsub(",", "", s); return s + 0 }
/PROGRAM TOTALS/ { total = num($1) }
/^ *[0-9,]+ / {
	ir = num($1); fn = $0; sub(/^ *[0-9,]+ +\([^)]*\) +/, "", fn); sub(/^ *[0-9,]+ +/, "", fn)
	sub(/ \[.*$/, "", fn); f = fn; sub(/^.*:/, "", f)
	if (!(f in seen)) { seen[f] = 1; incl[f] = ir }
}
END {
	printf "  %-44s %12.0f Ir/cert\n", "whole process", total / n
	split("handle_issue api_issue issue_pem csr_parse_pem issue_with_csr ledger_check_issue csr_check_key profile_issue_der ca_sign_data ledger_record_issue writer_main run_batch run_issue ledger_rules append ledger_entry_hash sq_insert sq_write_begin sq_write_commit sqlite3WalFrames sqlite3PagerCommitPhaseOne sqlite3WalCheckpoint ECDSA_do_verify ECDSA_do_sign ossl_ecdsa_verify ossl_ecdsa_sign_sig ecdsa_verify ecdsa_sign MHD_connection_handle_idle MHD_connection_handle_read MHD_connection_handle_write thread_main_handle_connection log_request json_loads json_quote issue_der_to_pem auth_check malloc free", want, " ")
	for (i = 1; i in want; i++) if (want[i] in incl)
		printf "  %-44s %12.0f Ir/cert %5.1f%%\n", want[i], incl[want[i]] / n, 100 * incl[want[i]] / total
}' "$W/incl.txt"
echo ""
echo "top functions by own (exclusive) Ir, per certificate:"
awk -v n="$CERTS" '
function num(s) { gsub(",", "", s); return s + 0 }
/PROGRAM TOTALS/ { total = num($1) }
/^ *[0-9,]+ / && k < 30 { ir = num($1); fn = $0; sub(/^ *[0-9,]+ +\([^)]*\) +/, "", fn); sub(/^ *[0-9,]+ +/, "", fn); sub(/ \[.*$/, "", fn)
	printf "  %10.0f %5.1f%%  %s\n", ir / n, 100 * ir / total, fn; k++ }' "$W/self.txt"
fi

[ "${PROFILE_NATIVE:-1}" = 0 ] && exit 0
# ---- 2. native: syscalls and CPU per certificate --------------------------
cp "$W/ledger.orig" "$W/ledger.db"
rm -f "$W/ledger.db-wal" "$W/ledger.db-shm"
start
echo ""
echo "native warm-up: $(load "$W/nwarm.txt")"
SC="read write pread64 pwrite64 fdatasync fsync futex poll sendto recvfrom sendmsg recvmsg writev openat close fcntl newfstatat statx lseek getrandom"
EV=
for s in $SC; do EV="$EV${EV:+,}syscalls:sys_enter_$s"; done
read_cpu() { awk '{print $14, $15}' "/proc/$DPID/stat"; }
perf stat -x, -e "$EV" -p "$DPID" -o "$W/sc.txt" > /dev/null 2>&1 &
PERF=$!
sleep 1
set -- $(read_cpu); u0=$1 s0=$2
i0=$(issued)
echo "native measured: $(load "$W/nbodies.txt")"
set -- $(read_cpu); u1=$1 s1=$2
i1=$(issued)
kill -INT "$PERF" 2>/dev/null
wait "$PERF" 2>/dev/null
HZ=$(getconf CLK_TCK)
CERTS=$((i1 - i0))
awk -F, -v n="$CERTS" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" '
/sys_enter_/ { name = $3; sub(/.*sys_enter_/, "", name); if ($1 + 0 > 0) printf "  %-12s %7.2f per cert\n", name, $1 / n; tot += $1 }
END {
	printf "  %-12s %7.2f per cert\n", "(these)", tot / n
	printf "native: %d certificates, user %.0f us/cert, system %.0f us/cert (CPU time from /proc; a loaded machine inflates it)\n", n, 1e6 * u / hz / n, 1e6 * s / hz / n
}' "$W/sc.txt"
