#!/bin/sh
# bench-pg.sh — `make bench-pg`: issuances per second and p99 latency of
# 1, 2 and 3 thingcad nodes sharing one local PostgreSQL 15 ledger, beside
# one node on SQLite in the same run, and certificates per commit (the
# group commit of each node's writer). docs/performance.md keeps the table.
#
#   sh tests/bench/bench-pg.sh BUILD_DIR GENCSR
#
# Environment (defaults in brackets):
#   BENCH_DURATION  seconds per run [10]
#   BENCH_CONNS     total wrk connections, split over the nodes [32]
#   BENCH_BODIES    request bodies (fresh serial and EC P-256 key) per run
#                   [20000]: more than a run can issue on two cores
#
# The server is a throwaway one (tests/integration/pg.sh) on 127.0.0.1,
# fsync on, synchronous_commit on, no standby. CA and devices ec:P-256,
# allowlist on, every serial imported before its run. Certificates per
# commit on PostgreSQL: the 201s over the growth of the database's
# xact_commit (writer batches; the pre-checks are read-only transactions
# that end in ROLLBACK). Exit 0 when every check passed, 1 otherwise.

set -u
B=${1:?usage: bench-pg.sh BUILD_DIR GENCSR}
GENCSR=${2:?usage: bench-pg.sh BUILD_DIR GENCSR}
HERE=$(cd "$(dirname "$0")" && pwd)
D=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-32}
NB=${BENCH_BODIES:-20000}
THINGCA_BIN=$B
THINGCA_SRC=$(cd "$HERE/../.." && pwd)
export THINGCA_BIN THINGCA_SRC
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
FAILED=0
say() { printf '%s\n' "$*"; }
bad() { say "FAIL: $*"; FAILED=1; }
for t in wrk openssl jq; do
	command -v $t >/dev/null 2>&1 || { say "bench-pg: $t is missing (make deps)"; exit 1; }
done
for t in initdb pg_ctl postgres; do
	[ -x "$PGBIN/$t" ] || { say "bench-pg: no PostgreSQL ($PGBIN/$t)"; exit 1; }
done
pg_need
NCPU=$(nproc)

say "thingca bench-pg: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine: $NCPU CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
say "PostgreSQL: $("$PGBIN/postgres" --version), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
say "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
say "runs of ${D}s, $CONNS connections in all, CA and devices ec:P-256"

pg_init db || { say "bench-pg: PostgreSQL did not start"; exit 1; }
U=$(pg_uri db)
tca_ca ec:P-256
TOKEN=$(tca_token station1 station)
tca_config

# bodies RUN: $T/bodies.RUN, NB fresh serials R<RUN>-n and keys
say "generating $NB request bodies per run ..."
bodies() {
	_per=$(( (NB + NCPU - 1) / NCPU ))
	_j=0 _pids=
	while [ $_j -lt "$NCPU" ]; do
		"$GENCSR" ec:P-256 $((_j * _per)) $_per "R$1" > "$T/bodies.$1.$_j" &
		_pids="$_pids $!"
		_j=$((_j + 1))
	done
	for _p in $_pids; do wait "$_p" || return 1; done
	cat "$T"/bodies.$1.* > "$T/bodies.$1" && rm -f "$T"/bodies.$1.*
	sed 's/^{"serial":"\([^"]*\)".*/\1/' "$T/bodies.$1" > "$T/serials.$1"
}

# wrk_node NAME CONNS BODIES: one wrk against node NAME; its BENCH line
# into $T/wrk.NAME
wrk_node() {
	_t=$NCPU
	[ "$2" -lt "$_t" ] && _t=$2
	wrk -t"$_t" -c"$2" -d"${D}s" --timeout 30s -s "$HERE/issue.lua" "$(node_url "$1")" \
		-- "$3" thingca "$TOKEN" "$_t" > "$T/wrk.$1.out" 2>&1
	grep '^BENCH ' "$T/wrk.$1.out" > "$T/wrk.$1" || echo "BENCH duration_us=1 issued=0 p99_us=0 failed=0 sock_errors=0 firsterr=wrk_failed" > "$T/wrk.$1"
}
kv() { tr ' ' '\n' < "$1" | awk -F= -v k="$2" '$1 == k {print $2; exit}'; }

# report LABEL NODES NAMES... : one table row from the wrk lines
report() {
	_label=$1 _nodes=$2
	shift 2
	_sum=0 _p99=0 _fail=0 _dur=0
	for _n in "$@"; do
		_sum=$((_sum + $(kv "$T/wrk.$_n" issued)))
		_p=$(kv "$T/wrk.$_n" p99_us)
		[ "$_p" -gt "$_p99" ] && _p99=$_p
		_fail=$((_fail + $(kv "$T/wrk.$_n" failed) + $(kv "$T/wrk.$_n" sock_errors)))
		_d=$(kv "$T/wrk.$_n" duration_us)
		[ "$_d" -gt "$_dur" ] && _dur=$_d
	done
	awk -v l="$_label" -v n="$_nodes" -v s="$_sum" -v d="$_dur" -v p="$_p99" \
	    -v f="$_fail" -v cpc="${CPC:-}" 'BEGIN {
		printf "  %-10s %d node%s  %7.0f/s  p99 %7.1f ms", l, n, (n > 1 ? "s" : " "), s / (d / 1e6), p / 1000
		if (cpc != "") printf "  %5.1f certs/commit", cpc
		if (f > 0) printf "  FAILED %d", f
		printf "\n"
	}'
	[ "$_fail" -eq 0 ] || bad "$_label $_nodes nodes: $_fail requests failed ($(kv "$T/wrk.$1" firsterr))"
}

# ---- SQLite, one node ------------------------------------------------------
bodies 0 || { say "bench-pg: gencsr failed"; exit 1; }
say ""
say "issuances/s (sum over the nodes) and p99 (the slowest node's):"
"$BIN/thingca" -c "$T/thingca.json" serials import --batch bench "$T/serials.0" > /dev/null || exit 1
pg_node sq "$T/ledger.db" || exit 1
wrk_node sq "$CONNS" "$T/bodies.0"
CPC=
report sqlite 1 sq
node_stop sq

# ---- PostgreSQL, 1 to 3 nodes ------------------------------------------------
xacts() { pg_super db "SELECT xact_commit FROM pg_stat_database WHERE datname = 'thingca'"; }
for N in 1 2 3; do
	bodies $N || { say "bench-pg: gencsr failed"; exit 1; }
	names=
	for i in $(seq 1 $N); do
		pg_node "p$i" "$U" || exit 1
		names="$names p$i"
	done
	"$BIN/thingca" -c "$T/p1.json" serials import --batch "bench$N" "$T/serials.$N" > /dev/null || exit 1
	# the bodies split over the nodes, line i to node i mod N
	for i in $(seq 1 $N); do
		awk -v n=$N -v i=$i 'NR % n == i % n' "$T/bodies.$N" > "$T/bodies.$N.p$i"
	done
	c=$((CONNS / N))
	x0=$(xacts)
	pids=
	for i in $(seq 1 $N); do
		wrk_node "p$i" "$c" "$T/bodies.$N.p$i" &
		pids="$pids $!"
	done
	wait $pids
	x1=$(xacts)
	sum=0
	for n in $names; do sum=$((sum + $(kv "$T/wrk.$n" issued))); done
	CPC=$(awk -v s=$sum -v x=$((x1 - x0)) 'BEGIN { if (x > 0) printf "%.1f", s / x }')
	# shellcheck disable=SC2086
	report postgresql $N $names
	for n in $names; do node_stop "$n"; done
done

# ---- checks ------------------------------------------------------------------
dup=$(pg_sql db "SELECT count(*) FROM (SELECT serial FROM ledger WHERE event = 'issued' GROUP BY serial HAVING count(*) > 1) AS d")
[ "$dup" = 0 ] && say "check: no serial has two certificates" || bad "$dup serials have two certificates"
if "$BIN/thingca" ledger verify --ledger "$U" > "$T/verify.out" 2>&1; then
	say "check: thingca ledger verify: $(head -n 1 "$T/verify.out")"
else
	bad "thingca ledger verify: $(cat "$T/verify.out")"
fi
exit $FAILED
