#!/bin/sh
# bench-pkcs11.sh — issuance throughput with the CA key in a PKCS#11 token
# (SoftHSM2 through OpenSSL's pkcs11 engine, lib/p11.c) beside the same key
# type in a PEM file, same daemon, same load: what the token costs.
#
#   sh tests/bench/bench-pkcs11.sh BUILD_DIR GENCSR
#   (GENCSR: make build/tests/gencsr, from mk/bench.mk)
#
# Environment (defaults in brackets):
#   BENCH_DURATION  seconds per wrk run [5]
#   BENCH_CONNS     wrk concurrency levels [1 8 32]
#   BENCH_CAS       CA key types [ec:P-256 rsa:2048]
#   BENCH_KEEP      keep the work directory (its path is printed)
#   BENCH_PIN       1: thingcad on CPU 0, wrk on CPU 1 with one thread, as
#                   make bench's pinned table [1 with 2 or more CPUs]; 0:
#                   nothing pinned
#
# Devices are EC P-256 (a fresh key and serial per request, tests/bench/
# gencsr.c and issue.lua), the allowlist off: the figure is the signer, not
# the import. Prints one table row per CA type, backend and concurrency:
#   BENCHP11 ca=ec:P-256 backend=softhsm conns=8 issued_per_s=... p50_ms=... p99_ms=...
# POSIX sh; every process started here is stopped by PID; every wait is
# bounded. Exit 0 when every run issued and nothing failed, 1 otherwise.

set -u
B=${1:?usage: bench-pkcs11.sh BUILD_DIR GENCSR}
GENCSR=${2:?usage: bench-pkcs11.sh BUILD_DIR GENCSR}
HERE=$(cd "$(dirname "$0")" && pwd)
D=${BENCH_DURATION:-5}
CONNS=${BENCH_CONNS:-1 8 32}
CAS=${BENCH_CAS:-ec:P-256 rsa:2048}
MODULE=/usr/lib/softhsm/libsofthsm2.so
NCPU=$(nproc)
W=$(mktemp -d /tmp/thingca-bench-p11.XXXXXX)
DPID=
FAILED=0
PIN=${BENCH_PIN:-1}
[ "$NCPU" -lt 2 ] && PIN=0
if [ "$PIN" = 1 ]; then
	SRV_PIN="taskset -c 0" LOAD_PIN="taskset -c 1" LOAD_THREADS=1
else
	SRV_PIN= LOAD_PIN= LOAD_THREADS=$NCPU
fi

# alive, stop_pid (zombie-aware), wait_until: shared with the tests.
. "$HERE/../proc.sh"
cleanup() {
	stop_pid "$DPID"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { printf '%s\n' "$*"; }
for t in wrk softhsm2-util pkcs11-tool; do
	command -v $t >/dev/null 2>&1 || { say "bench-pkcs11: $t is missing (make deps)"; exit 1; }
done
[ -x "$GENCSR" ] || { say "bench-pkcs11: $GENCSR missing (make $B/tests/gencsr)"; exit 1; }

say "thingca PKCS#11 bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $NCPU CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
say "thingcad ${SRV_PIN:-unpinned}, wrk ${LOAD_PIN:-unpinned} -t$LOAD_THREADS"
say "runs of ${D}s; CA types: $CAS; concurrency: $CONNS; SoftHSM2 $(dpkg-query -W -f '${Version}' softhsm2 2>/dev/null), engine $(dpkg-query -W -f '${Version}' libengine-pkcs11-openssl 2>/dev/null)"

# ---- token and keys ------------------------------------------------------
mkdir -p "$W/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > "$W/softhsm2.conf"
SOFTHSM2_CONF=$W/softhsm2.conf
export SOFTHSM2_CONF
PIN=bench-pin-0000
printf '%s\n' "$PIN" > "$W/pin"
chmod 600 "$W/pin"
softhsm2-util --init-token --free --label bench --pin "$PIN" --so-pin 12345678 >/dev/null || exit 1
# Each key pair one CKA_ID: libp11 finds an EC key's public half by it.
idn=0
for ca in $CAS; do
	idn=$((idn + 1))
	tag=$(echo "$ca" | tr -c 'A-Za-z0-9\n' '_')
	case $ca in
	ec:P-256) kt=EC:prime256v1 ;;
	ec:P-384) kt=EC:secp384r1 ;;
	rsa:*) kt=$ca ;;
	*) say "bench-pkcs11: unknown CA type $ca"; exit 1 ;;
	esac
	pkcs11-tool --module "$MODULE" --token-label bench --login --pin "$PIN" \
		--keypairgen --key-type "$kt" --label "ca-$tag" --id "$(printf %02x "$idn")" >/dev/null 2>&1 || exit 1
	"$B/thingca" ca init --key "pkcs11:token=bench;object=ca-$tag" --pkcs11-module "$MODULE" \
		--pin-file "$W/pin" --subject "/CN=bench token CA $ca" --out-cert "$W/ca-$tag-softhsm.pem" >/dev/null || exit 1
	"$B/thingca" ca init --key-type "$ca" --subject "/CN=bench file CA $ca" \
		--out-cert "$W/ca-$tag-file.pem" --out-key "$W/ca-$tag-file.key" >/dev/null || exit 1
done
"$B/thingca" token new --name station1 --role station > "$W/token.out" || exit 1
TOKEN=$(sed -n 2p "$W/token.out")
CLIENT=$(tail -n 1 "$W/token.out")

# ---- request bodies: one file per run, each config its own ledger ----------
# 4000/s x duration + slack covers a file-key EC CA on a few cores.
N=$((4000 * D + 1000))
say "generating $N request bodies per concurrency level ..."
k=0
for c in $CONNS; do
	k=$((k + 1))
	per=$(( (N + NCPU - 1) / NCPU ))
	j=0 pids=
	while [ $j -lt "$NCPU" ]; do
		"$GENCSR" ec:P-256 $((j * per)) $per "P$k" > "$W/bodies-$k.$j" &
		pids="$pids $!"
		j=$((j + 1))
	done
	for p in $pids; do wait "$p" || exit 1; done
	cat "$W"/bodies-$k.* > "$W/bodies-$k.txt" && rm -f "$W"/bodies-$k.[0-9]*
done

# ---- runs ---------------------------------------------------------------------
start_thingcad() { # CONFIG
	: > "$W/daemon.log"
	# shellcheck disable=SC2086
	$SRV_PIN "$B/thingcad" -c "$1" 2>> "$W/daemon.log" &
	DPID=$!
	PORT=$(thingcad_ready "$W/daemon.log" "$DPID") && return 0
	sed 's/^/  thingcad: /' "$W/daemon.log"
	return 1
}
kv() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2; exit}'; }

for ca in $CAS; do
	tag=$(echo "$ca" | tr -c 'A-Za-z0-9\n' '_')
	for backend in file softhsm; do
		if [ $backend = file ]; then
			key="\"key\": \"$W/ca-$tag-file.key\""
		else
			key="\"key\": \"pkcs11:token=bench;object=ca-$tag\", \"pkcs11_module\": \"$MODULE\", \"key_pin_file\": \"$W/pin\""
		fi
		rm -f "$W/ledger.db" "$W/ledger.db-wal" "$W/ledger.db-shm"
		cat > "$W/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$W/ledger.db",
  "ca": {"certificate": "$W/ca-$tag-$backend.pem", $key},
  "serials": {"require_allowlist": false},
  "clients": [$CLIENT]
}
JSON
		start_thingcad "$W/thingca.json" || { FAILED=1; continue; }
		k=0
		for c in $CONNS; do
			k=$((k + 1))
			t=$LOAD_THREADS
			[ "$c" -lt "$t" ] && t=$c
			# shellcheck disable=SC2086
			$LOAD_PIN wrk -t"$t" -c"$c" -d"${D}s" --timeout 30s -s "$HERE/issue.lua" \
				"http://127.0.0.1:$PORT" -- "$W/bodies-$k.txt" thingca "$TOKEN" "$t" > "$W/wrk.out" 2>&1
			line=$(grep '^BENCH ' "$W/wrk.out")
			if [ -z "$line" ]; then
				sed 's/^/  wrk: /' "$W/wrk.out"
				FAILED=1
				continue
			fi
			issued=$(kv "$line" issued)
			failed=$(kv "$line" failed)
			us=$(kv "$line" duration_us)
			[ "$issued" -gt 0 ] && [ "$failed" = 0 ] && [ "$(kv "$line" wrapped)" = 0 ] || FAILED=1
			awk -v ca="$ca" -v be="$backend" -v c="$c" -v n="$issued" -v us="$us" \
			    -v p50="$(kv "$line" p50_us)" -v p99="$(kv "$line" p99_us)" -v f="$failed" \
			    -v e="$(kv "$line" firsterr)" 'BEGIN {
				printf "BENCHP11 ca=%s backend=%s conns=%d issued_per_s=%.0f p50_ms=%.1f p99_ms=%.1f failed=%d%s\n",
				    ca, be, c, n / (us / 1e6), p50 / 1000, p99 / 1000, f, (f > 0 ? " firsterr=" e : "") }' | tee -a "$W/rows.txt"
		done
		stop_pid "$DPID"
		DPID=
	done
done

say ""
say "CA key         conns   file/s  softhsm/s  softhsm/file"
for ca in $CAS; do
	for c in $CONNS; do
		awk -v ca="$ca" -v c="$c" '
			{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } }
			v["ca"] == ca && v["conns"] == c { r[v["backend"]] = v["issued_per_s"] }
			END { printf "%-12s %6d %8d %10d  %s\n", ca, c, r["file"], r["softhsm"],
			      (r["file"] > 0 ? sprintf("%.2f", r["softhsm"] / r["file"]) : "-") }' "$W/rows.txt"
	done
done
[ $FAILED = 0 ] || say "bench-pkcs11: some runs failed (see above)"
exit $FAILED
