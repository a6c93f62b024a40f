#!/bin/sh
# bench.sh — `make bench`: issuance throughput and latency of a running
# thingcad under wrk, against the crypto bound measured in the same run and
# against cfssl on the same CA key, CSRs and load. docs/performance.md
# explains the method and keeps the last table.
#
#   sh tests/bench/bench.sh BUILD_DIR GENCSR
#
# Environment (defaults in brackets):
#   BENCH_DURATION    seconds per wrk run [10]
#   BENCH_CONNS       wrk concurrency levels [1 8 32 64]
#   BENCH_PAIRS       CA/device key types [ec:P-256/ec:P-256
#                     rsa:2048/ec:P-256 rsa:2048/rsa:2048]
#   BENCH_CFSSL_CONNS concurrency of the cfssl runs [32]; 0: no cfssl
#   BENCH_KEEP        keep the work directory (its path is printed)
#   BENCH_TMPDIR      where the work directory (CA, ledgers) goes [/tmp];
#                     the ledger's fsync cost is that file system's
#   BENCH_TABLES      which tables [pinned shared]: "pinned" runs every
#                     server under test on CPU 0 and wrk on CPU 1 (taskset),
#                     against the one-core bound measured on CPU 0;
#                     "shared" is the old two-core run, nothing pinned
#
# Per run it prints issuances/s, p50/p99, the server's CPU per certificate
# and that CPU minus the two signatures at openssl speed's one-core rate
# (the overhead per certificate), certificates per fsync and peak RSS.
#
# Production settings: the ledger is SQLite WAL with synchronous=FULL (built
# in), the allowlist is on and every serial is imported first, each request
# a fresh serial (and, for EC devices, a fresh key). RSA device keys are a
# pool of 8 reused across serials (RSA key generation is too slow to make
# one per request), so that pair runs with "unique_public_keys": false.
#
# POSIX sh + awk; every process started here is stopped by PID; every wait
# is bounded. Exit 0 when every check passed, 1 otherwise.

set -u
B=${1:?usage: bench.sh BUILD_DIR GENCSR}
GENCSR=${2:?usage: bench.sh BUILD_DIR GENCSR}
HERE=$(cd "$(dirname "$0")" && pwd)
D=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-1 8 32 64}
PAIRS=${BENCH_PAIRS:-ec:P-256/ec:P-256 rsa:2048/ec:P-256 rsa:2048/rsa:2048}
CFSSL_CONNS=${BENCH_CFSSL_CONNS:-32}
TABLES=${BENCH_TABLES:-pinned shared}
[ "$CFSSL_CONNS" = 0 ] && CFSSL_CONNS=
NCPU=$(nproc)
W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/thingca-bench.XXXXXX")
DPID=
SPID=
FAILED=0
RESULTS=$W/results.txt
: > "$RESULTS"

# alive, stop_pid (zombie-aware), wait_until: shared with the tests.
. "$HERE/../proc.sh"
cleanup() {
	stop_pid "$DPID"
	stop_pid "$SPID"
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "work directory kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '%s\n' "$*"; }
fail() { say "FAIL: $*"; FAILED=1; }
for t in wrk openssl sqlite3 perf taskset; do
	command -v $t >/dev/null 2>&1 || { say "bench: $t is missing (make deps)"; exit 1; }
done

# CPU ticks (user+system) of a process, and its peak RSS in kB.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
# Busy jiffies of the whole machine (all CPUs): user+nice+system+irq+softirq+steal.
host_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# A free loopback port for cfssl (thingcad takes port 0 itself).
free_port() {
	perl -MIO::Socket::INET -e \
	    'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die; print $s->sockport, "\n"'
}

say "thingca bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine: $NCPU CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
say "tools: $(openssl version), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}'), cfssl $(cfssl version 2>/dev/null | awk '/^Version/ {print $2}')"
say "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
say "runs of ${D}s each; work directory $W"

# ---- the crypto bound ---------------------------------------------------
# openssl speed -mr prints, summed over the -multi processes,
# "+F2:i:2048:sign/s:verify/s" for RSA and "+F4:i:256:sign/s:verify/s" for
# ECDSA P-256.
say ""
say "crypto bound: openssl speed -multi $NCPU -seconds 3 ecdsap256 rsa2048 ..."
openssl speed -mr -multi "$NCPU" -seconds 3 ecdsap256 rsa2048 > "$W/speed.txt" 2>&1
speed_vars() { # PREFIX FILE
	awk -F: -v p="$1" '
	/^\+F2:/ && $3 == 2048 { printf "%sRSA_SIGN=%s %sRSA_VERIFY=%s\n", p, $4, p, $5 }
	/^\+F4:/ && $3 == 256 { printf "%sEC_SIGN=%s %sEC_VERIFY=%s\n", p, $4, p, $5 }
	' "$2"
}
eval "$(speed_vars "" "$W/speed.txt")"
if [ -z "${RSA_SIGN:-}" ] || [ -z "${EC_SIGN:-}" ]; then
	say "bench: cannot read openssl speed output:"; cat "$W/speed.txt"; exit 1
fi
say "  summed over $NCPU cores: ECDSA P-256 sign $EC_SIGN/s verify $EC_VERIFY/s; RSA-2048 sign $RSA_SIGN/s verify $RSA_VERIFY/s"
# The one-core bound: the same operations on CPU 0 alone, where the pinned
# servers run. It also prices the two signatures of one certificate in CPU
# time (1/sign + 1/verify), which the overhead column subtracts.
say "crypto bound, one core: taskset -c 0 openssl speed -seconds 3 ecdsap256 rsa2048 ..."
taskset -c 0 openssl speed -mr -seconds 3 ecdsap256 rsa2048 > "$W/speed1.txt" 2>&1
eval "$(speed_vars ONE_ "$W/speed1.txt")"
if [ -z "${ONE_RSA_SIGN:-}" ] || [ -z "${ONE_EC_SIGN:-}" ]; then
	say "bench: cannot read openssl speed output:"; cat "$W/speed1.txt"; exit 1
fi
say "  on CPU 0: ECDSA P-256 sign $ONE_EC_SIGN/s verify $ONE_EC_VERIFY/s; RSA-2048 sign $ONE_RSA_SIGN/s verify $ONE_RSA_VERIFY/s"
# rate TABLE sign|verify KEYTYPE: operations per second for that table's bound
rate() {
	case $1/$2/$3 in
	pinned/sign/ec:*) echo "$ONE_EC_SIGN" ;;
	pinned/sign/*) echo "$ONE_RSA_SIGN" ;;
	pinned/verify/ec:*) echo "$ONE_EC_VERIFY" ;;
	pinned/verify/*) echo "$ONE_RSA_VERIFY" ;;
	*/sign/ec:*) echo "$EC_SIGN" ;;
	*/sign/*) echo "$RSA_SIGN" ;;
	*/verify/ec:*) echo "$EC_VERIFY" ;;
	*) echo "$RSA_VERIFY" ;;
	esac
}
# bound TABLE CA DEVICE: 1 / (1/sign_CA + 1/verify_device) per second, one
# CA signature and one CSR verification per certificate (the cores shared
# between the two in the shared table).
bound() {
	awk -v s="$(rate "$1" sign "$2")" -v v="$(rate "$1" verify "$3")" \
	    'BEGIN { printf "%.0f\n", 1 / (1 / s + 1 / v) }'
}
# crypto_us CA DEVICE: CPU microseconds of the two signatures on one core.
crypto_us() {
	awk -v s="$(rate pinned sign "$1")" -v v="$(rate pinned verify "$2")" \
	    'BEGIN { printf "%.1f\n", 1e6 / s + 1e6 / v }'
}

# ---- request bodies -----------------------------------------------------
# One file per device key type and run index, sized for the fastest pair
# that uses it: bound x duration x 1.25. Runs never share serials, so a
# pair's ledger sees every serial once; pairs have separate ledgers, so
# they may share the files. EC CSRs are made by NCPU gencsr processes.
say ""
say "generating request bodies ..."
run_index=0
for c in $CONNS; do run_index=$((run_index + 1)); done
NRUNS=$run_index
gen_bodies() { # DEVTYPE MAXBOUND
	_dev=$1
	_tag=$(echo "$_dev" | tr -c 'A-Za-z0-9\n' '_')
	_n=$(awk -v b="$2" -v d="$D" 'BEGIN { printf "%d\n", b * d * 1.25 + 500 }')
	_k=1
	while [ $_k -le $NRUNS ]; do
		_f=$W/bodies-$_tag-$_k.txt
		case $_dev in
		rsa:*)
			"$GENCSR" "$_dev" 0 "$_n" "R$_k" 8 > "$_f" || return 1 ;;
		*)
			_per=$(( (_n + NCPU - 1) / NCPU ))
			_j=0 _pids=
			while [ $_j -lt "$NCPU" ]; do
				"$GENCSR" "$_dev" $((_j * _per)) $_per "E$_k" > "$_f.$_j" &
				_pids="$_pids $!"
				_j=$((_j + 1))
			done
			for _p in $_pids; do wait "$_p" || return 1; done
			_j=0
			while [ $_j -lt "$NCPU" ]; do
				cat "$_f.$_j" >> "$_f" && rm -f "$_f.$_j"
				_j=$((_j + 1))
			done ;;
		esac
		_k=$((_k + 1))
	done
	say "  $_dev: $NRUNS files of $_n bodies ($((_n * NRUNS)) serials)"
}
DEVS=
for p in $PAIRS; do
	dev=${p#*/}
	case " $DEVS " in *" $dev "*) ;; *) DEVS="$DEVS $dev" ;; esac
done
for dev in $DEVS; do
	maxb=0
	for p in $PAIRS; do
		[ "${p#*/}" = "$dev" ] || continue
		b=$(bound shared "${p%/*}" "$dev")
		[ "$b" -gt "$maxb" ] && maxb=$b
	done
	gen_bodies "$dev" "$maxb" || { say "bench: gencsr failed"; exit 1; }
done
bodies_file() { echo "$W/bodies-$(echo "$1" | tr -c 'A-Za-z0-9\n' '_')-$2.txt"; }

# ---- one wrk run -----------------------------------------------------------
# run_wrk URL MODE TOKEN CONNS BODIES MAX PID -> "BENCH ..." line + cpu/rss/fsync
# wrk runs under $LOAD_PIN with $LOAD_THREADS threads (at most CONNS).
run_wrk() {
	_url=$1 _mode=$2 _tok=$3 _c=$4 _bodies=$5 _max=$6 _pid=$7
	_t=$LOAD_THREADS
	[ "$_c" -lt "$_t" ] && _t=$_c
	_fs=$W/fsync.$$.txt
	perf stat -x, -e syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync \
		-p "$_pid" -o "$_fs" -- sleep "$D" >/dev/null 2>&1 &
	_perf=$!
	_c0=$(ticks "$_pid") _h0=$(host_busy)
	# shellcheck disable=SC2086
	$LOAD_PIN wrk -t"$_t" -c"$_c" -d"${D}s" --timeout 30s -s "$HERE/issue.lua" "$_url" \
		-- "$_bodies" "$_mode" "$_tok" "$_t" "$_max" > "$W/wrk.out" 2>&1
	_c1=$(ticks "$_pid") _h1=$(host_busy)
	wait "$_perf" 2>/dev/null
	_line=$(grep '^BENCH ' "$W/wrk.out")
	if [ -z "$_line" ]; then
		sed 's/^/  wrk: /' "$W/wrk.out" >&2
		_line="BENCH duration_us=1 requests=0 issued=0 retried=0 failed=0 wrapped=0 sock_errors=0 p50_us=0 p90_us=0 p99_us=0 max_us=0 firsterr=wrk_failed"
	fi
	_fsyncs=$(awk -F, '/sys_enter_f/ {n += $1} END {print n + 0}' "$_fs" 2>/dev/null)
	echo "$_line cpu_ticks=$((_c1 - _c0)) host_ticks=$((_h1 - _h0)) hz=$HZ ncpu=$NCPU rss_kb=$(hwm "$_pid") fsyncs=${_fsyncs:-0}"
}
kv() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2; exit}'; }

# ---- thingcad -------------------------------------------------------------
start_thingcad() { # DIR
	: > "$1/daemon.log"
	# shellcheck disable=SC2086
	$SRV_PIN "$B/thingcad" -c "$1/thingca.json" 2>> "$1/daemon.log" &
	DPID=$!
	PORT=$(thingcad_ready "$1/daemon.log" "$DPID") && return 0
	say "bench: thingcad did not start:"; cat "$1/daemon.log"
	return 1
}

# record PAIR SERVER CONNS BOUND BENCHLINE (the table is $TABLE)
record() {
	_cus=$(crypto_us "${1%/*}" "${1#*/}")
	echo "$TABLE $1 $2 $3 $4 $_cus $5" >> "$RESULTS"
	awk -v pair="$1" -v srv="$2" -v c="$3" -v bound="$4" -v cus="$_cus" -v line="$5" '
	BEGIN {
		n = split(line, f, " ")
		for (i = 2; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
		secs = v["duration_us"] / 1e6
		rate = v["issued"] / secs
		# server CPU per certificate, and what is left of it after the
		# two signatures at the one-core rate
		cpc = v["issued"] > 0 ? 1e6 * v["cpu_ticks"] / v["hz"] / v["issued"] : 0
		printf "  %-9s c=%-3d %8.0f/s  p50 %7.2f ms  p99 %7.2f ms  cpu %4.2f cores  %6.0f us/cert (overhead %5.0f us)  rss %5.1f MB  %5.1f%% of bound",
		    srv, c, rate, v["p50_us"] / 1000, v["p99_us"] / 1000,
		    v["cpu_ticks"] / v["hz"] / secs, cpc, cpc - cus, v["rss_kb"] / 1024, 100 * rate / bound
		if (v["fsyncs"] > 0 && srv == "thingca")
			printf "  %d fsyncs, %.1f certs/fsync", v["fsyncs"], v["issued"] / v["fsyncs"]
		if (v["failed"] + v["sock_errors"] > 0)
			printf "  FAILED %d, socket errors %d (%s)", v["failed"], v["sock_errors"], v["firsterr"]
		printf "  host %3.0f%% busy", 100 * v["host_ticks"] / v["hz"] / secs / v["ncpu"]
		if (v["wrapped"] > 0)
			printf "  (bodies ran out: %d wraps)", v["wrapped"]
		printf "\n"
	}'
}

# ---- the tables ---------------------------------------------------------------
# pinned: every server under test on CPU 0, wrk on CPU 1 with one thread, so
# the load generator's own CPU (~66 us a request) is not taken from the
# server; the bound is CPU 0's. shared: nothing pinned, wrk with a thread a
# core, the bound summed over the cores (the table of earlier rounds).
for TABLE in $TABLES; do
case $TABLE in
pinned)
	if [ "$NCPU" -lt 2 ]; then
		say ""; say "== pinned table skipped: needs 2 CPUs, this machine has $NCPU"
		continue
	fi
	SRV_PIN="taskset -c 0" LOAD_PIN="taskset -c 1" LOAD_THREADS=1 ;;
shared)
	SRV_PIN= LOAD_PIN= LOAD_THREADS=$NCPU ;;
*)
	say "bench: unknown table '$TABLE' in BENCH_TABLES (pinned, shared)"; exit 1 ;;
esac
say ""
say "######## table $TABLE: server ${SRV_PIN:-unpinned}, wrk ${LOAD_PIN:-unpinned} -t$LOAD_THREADS"
pair_index=0
for pair in $PAIRS; do
	pair_index=$((pair_index + 1))
	cak=${pair%/*}
	dev=${pair#*/}
	P=$W/$TABLE-pair$pair_index
	mkdir -p "$P"
	BOUND=$(bound "$TABLE" "$cak" "$dev")
	say ""
	say "== [$TABLE] CA $cak, devices $dev: crypto bound $BOUND/s, signatures $(crypto_us "$cak" "$dev") us of one core per certificate"
	"$B/thingca" ca init --key-type "$cak" --subject "/C=JP/O=thingca bench/CN=bench CA" \
		--out-cert "$P/ca.pem" --out-key "$P/ca.key" > /dev/null || exit 1
	"$B/thingca" token new --name station1 --role station > "$P/token.out" || exit 1
	TOKEN=$(sed -n 2p "$P/token.out")
	CLIENT=$(tail -n 1 "$P/token.out")
	UNIQUE=true
	case $dev in rsa:*) UNIQUE=false ;; esac
	cat > "$P/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$P/ledger.db",
  "ca": {"certificate": "$P/ca.pem", "key": "$P/ca.key"},
  "profile": {"unique_public_keys": $UNIQUE},
  "serials": {"require_allowlist": true},
  "clients": [$CLIENT]
}
JSON
	# Each run's serials (only the part this pair can consume), imported
	# before the daemon starts.
	MAXB=$(awk -v b="$BOUND" -v d="$D" 'BEGIN { printf "%d\n", b * d * 1.25 + 500 }')
	k=1
	: > "$P/serials.txt"
	while [ $k -le $NRUNS ]; do
		head -n "$MAXB" "$(bodies_file "$dev" $k)" |
			sed 's/^{"serial":"\([^"]*\)".*/\1/' >> "$P/serials.txt"
		k=$((k + 1))
	done
	"$B/thingca" -c "$P/thingca.json" serials import --batch bench "$P/serials.txt" > /dev/null || exit 1

	k=0
	wrk201=0
	for c in $CONNS; do
		k=$((k + 1))
		start_thingcad "$P" || exit 1
		if [ $pair_index -eq 1 ] && [ $k -eq 1 ] && [ -z "${IDLE_MS:-}" ]; then
			# An idle daemon: CPU time over 5 s.
			sleep 1
			i0=$(ticks "$DPID")
			sleep 5
			i1=$(ticks "$DPID")
			IDLE_MS=$(( (i1 - i0) * 1000 / HZ ))
			say "  idle thingcad: ${IDLE_MS} ms of CPU in 5 s"
			echo "idle $IDLE_MS" >> "$RESULTS"
		fi
		line=$(run_wrk "http://127.0.0.1:$PORT" thingca "$TOKEN" "$c" \
			"$(bodies_file "$dev" $k)" "$MAXB" "$DPID")
		record "$pair" thingca "$c" "$BOUND" "$line"
		wrk201=$((wrk201 + $(kv "$line" issued)))
		stop_pid "$DPID"
		DPID=
		cat "$P/daemon.log" >> "$P/daemon.log.all"
	done
	# Every certificate answered has its ledger entry, and no entry lacks
	# an answer: the ledger's issued count equals the 201 lines of the
	# daemon's log. wrk may miss the answers in flight when a run ends
	# (at most the concurrency of that run).
	ledger_n=$(sqlite3 "$P/ledger.db" "SELECT count(*) FROM ledger WHERE event = 'issued'")
	log_n=$(grep -c 'POST /v1/certificates 201 ' "$P/daemon.log.all")
	slack=0
	for c in $CONNS; do slack=$((slack + c)); done
	if [ "$ledger_n" -eq "$log_n" ] && [ "$wrk201" -le "$ledger_n" ] &&
	   [ $((ledger_n - wrk201)) -le $slack ]; then
		say "  check: ledger has $ledger_n issued entries = $log_n answers 201 sent by thingcad ($wrk201 received by wrk; $((ledger_n - wrk201)) cut off in flight at the end of a run)"
	else
		fail "ledger has $ledger_n issued entries, thingcad sent $log_n answers 201, wrk received $wrk201"
	fi
	if "$B/thingca" ledger verify --ledger "$P/ledger.db" > "$P/verify.out" 2>&1; then
		say "  check: thingca ledger verify: $(head -n 1 "$P/verify.out")"
	else
		fail "thingca ledger verify: $(cat "$P/verify.out")"
	fi

	# ---- cfssl on the same CA key, CSRs and load ----------------------
	[ -n "$CFSSL_CONNS" ] || continue
	command -v cfssl >/dev/null 2>&1 || { say "  cfssl not installed: no peer runs"; continue; }
	cat > "$P/cfssl.json" <<'JSON'
{"signing": {"default": {"usages": ["digital signature", "client auth"], "expiry": "87600h"}}}
JSON
	# cfssl's certdb schema (certdb/sqlite/migrations) in WAL mode; the
	# go-sqlite3 default synchronous is FULL, as thingca's.
	sqlite3 "$P/certdb.db" > /dev/null <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE certificates (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  ca_label blob, status blob NOT NULL, reason int, expiry timestamp,
  revoked_at timestamp, pem blob NOT NULL, issued_at timestamp,
  not_before timestamp, metadata text, sans text, common_name text,
  PRIMARY KEY (serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (
  serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  body blob NOT NULL, expiry timestamp,
  PRIMARY KEY (serial_number, authority_key_identifier),
  FOREIGN KEY (serial_number, authority_key_identifier)
    REFERENCES certificates (serial_number, authority_key_identifier));
SQL
	echo "{\"driver\": \"sqlite3\", \"data_source\": \"$P/certdb.db\"}" > "$P/cfssl-db.json"
	for variant in cfssl-db cfssl; do
		dbopt=
		[ $variant = cfssl-db ] && dbopt="-db-config $P/cfssl-db.json"
		cport=$(free_port)
		# -loglevel 2: warnings only (at the default, info, cfssl writes
		# three lines per request; thingcad writes one).
		# shellcheck disable=SC2086
		$SRV_PIN cfssl serve -address 127.0.0.1 -port "$cport" -ca "$P/ca.pem" \
			-ca-key "$P/ca.key" -config "$P/cfssl.json" $dbopt \
			-loglevel 2 > "$P/$variant.log" 2>&1 &
		SPID=$!
		i=0
		while [ $i -lt 100 ] && ! curl -s -o /dev/null "http://127.0.0.1:$cport/api/v1/cfssl/health" 2>/dev/null; do
			kill -0 $SPID 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		line=$(run_wrk "http://127.0.0.1:$cport" cfssl - "$CFSSL_CONNS" \
			"$(bodies_file "$dev" 1)" "$MAXB" "$SPID")
		record "$pair" "$variant" "$CFSSL_CONNS" "$BOUND" "$line"
		stop_pid "$SPID"
		SPID=
		if [ $variant = cfssl-db ]; then
			n=$(sqlite3 "$P/certdb.db" "SELECT count(*) FROM certificates")
			say "  check: cfssl certdb holds $n certificates (journal_mode $(sqlite3 "$P/certdb.db" 'PRAGMA journal_mode'))"
		fi
	done
done
done

# ---- summary ----------------------------------------------------------------
# Results lines: TABLE PAIR SERVER CONNS BOUND CRYPTO_US BENCH k=v...
for TABLE in $TABLES; do
	grep -q "^$TABLE " "$RESULTS" || continue
	say ""
	say "summary, table $TABLE (issuances/s; ratios at concurrency ${CFSSL_CONNS:-32}):"
	awk -v cc="${CFSSL_CONNS:-32}" -v tb="$TABLE" '
	$1 != tb { next }
	{
		delete v
		for (i = 8; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		rate = v["issued"] / (v["duration_us"] / 1e6)
		cpc = v["issued"] > 0 ? 1e6 * v["cpu_ticks"] / v["hz"] / v["issued"] : 0
		if ($4 == cc) { r[$2, $3] = rate; cpu[$2, $3] = cpc }
		if ($3 == "thingca" && $4 == cc) {
			bnd[$2] = $5; cus[$2] = $6; p99[$2] = v["p99_us"] / 1000
			per[$2] = v["fsyncs"] > 0 ? v["issued"] / v["fsyncs"] : 0
			rss[$2] = v["rss_kb"] / 1024
		}
		if (!($2 in seen)) { seen[$2] = 1; order[++np] = $2 }
	}
	END {
		printf "  %-18s %8s %7s %7s %7s %8s %9s %7s %6s %7s %8s %11s\n", "CA/device", "thingca", "bound", "% bound", "p99 ms", "us/cert", "overhead", "c/fsync", "MB", "cfssl", "cfssl+db", "x cfssl/+db"
		for (i = 1; i <= np; i++) {
			p = order[i]
			a = r[p, "thingca"]; c = r[p, "cfssl"]; d = r[p, "cfssl-db"]
			printf "  %-18s %8.0f %7d %6.1f%% %7.2f %8.0f %9.0f %7.1f %6.1f %7.0f %8.0f %5.1fx/%4.1fx\n", p, a, bnd[p], 100 * a / bnd[p], p99[p], cpu[p, "thingca"], cpu[p, "thingca"] - cus[p], per[p], rss[p], c, d, (c > 0 ? a / c : 0), (d > 0 ? a / d : 0)
		}
	}' "$RESULTS"
done
[ $FAILED -eq 0 ] && say "all checks passed" || say "SOME CHECKS FAILED"
exit $FAILED
