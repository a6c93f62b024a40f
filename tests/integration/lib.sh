# tests/integration/lib.sh — shared by the integration tests (POSIX sh + bash
# features avoided). Source it:  . "$THINGCA_SRC/tests/integration/lib.sh"
#
# Gives: the process helpers of tests/proc.sh (alive, stop_pid, wait_until),
# the TAP helpers of tests/tap.sh (pass, fail, is, like, skip_all,
# done_testing), a temp
# dir $T removed at exit, a demo CA (tca_ca), tokens (tca_token), a config
# (tca_config), the daemon on a free loopback port (tca_start/tca_stop, $URL,
# $PID), CSRs (tca_csr) and requests (tca_post, tca_get; body in $T/body,
# status printed). Every wait is bounded; every process is stopped by PID.

set -u
BIN=${THINGCA_BIN:?THINGCA_BIN must name the build directory}
SRC=${THINGCA_SRC:?THINGCA_SRC must name the repository}
T=$(mktemp -d /tmp/thingca-test.XXXXXX)
PID=
URL=
PORT=
: "${THINGCA_VALGRIND:=}"

. "$SRC/tests/tap.sh"
. "$SRC/tests/proc.sh"

_cleanup() {
	if [ -n "$PID" ] && alive "$PID"; then
		stop_pid "$PID" TERM 100
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap _cleanup EXIT

# free_port: prints a loopback TCP port nobody listens on right now.
free_port() {
	perl -MIO::Socket::INET -e '
		for (1..50) {
			my $p = 20000 + int(rand(40000));
			my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $p,
				Proto => "tcp", Listen => 1, ReuseAddr => 1) or next;
			close $s; print "$p\n"; exit 0;
		}
		exit 1;'
}

# tca_ca [KEYTYPE] [DIR]: demo CA into DIR (default $T): ca.pem, ca.key (0600).
tca_ca() {
	_d=${2:-$T}
	"$BIN/thingca" ca init --key-type "${1:-ec:P-256}" \
		--subject "/C=JP/O=thingca test/CN=thingca test CA" \
		--out-cert "$_d/ca.pem" --out-key "$_d/ca.key" >/dev/null
}

# tca_token NAME ROLE: prints the token; appends the clients entry to
# $T/clients.entries.
tca_token() {
	"$BIN/thingca" token new --name "$1" --role "$2" > "$T/token.out" || return 1
	tail -n 1 "$T/token.out" >> "$T/clients.entries"
	sed -n 2p "$T/token.out"
}

# tca_config [EXTRA_JSON_MEMBERS]: writes $T/thingca.json for port 0 (the
# daemon picks a free port), ledger $T/ledger.db, CA $T/ca.pem, the clients
# made with tca_token. EXTRA members are pasted at top level (", "-joined).
tca_config() {
	_clients=$(paste -sd, "$T/clients.entries" 2>/dev/null)
	cat > "$T/thingca.json" <<JSON
{
  "listen": ["127.0.0.1:0"],
  "ledger": "$T/ledger.db",
  "ca": {"certificate": "$T/ca.pem", "key": "$T/ca.key"},
  "clients": [${_clients}]${1:+,
  $1}
}
JSON
}

# tca_start [CONFIG]: starts thingcad, waits (bounded) for its ready line,
# sets PID, PORT, URL. Log in $T/daemon.log. Returns 1 if it did not start.
tca_start() {
	: > "$T/daemon.log"
	$THINGCA_VALGRIND "$BIN/thingcad" -c "${1:-$T/thingca.json}" 2>> "$T/daemon.log" &
	PID=$!
	if PORT=$(thingcad_ready "$T/daemon.log" "$PID"); then
		URL="http://127.0.0.1:$PORT"
		return 0
	fi
	diag "thingcad did not start:"
	sed 's/^/#   /' "$T/daemon.log"
	return 1
}

# tca_stop [SIGNAL]: signals $PID (default TERM), waits (bounded, 30 s),
# then KILL; sets STOP_RC to its exit status and clears PID. (Not for use
# inside $(...): a subshell cannot wait for our child.)
STOP_RC=
tca_stop() {
	STOP_RC=
	[ -n "$PID" ] || return 0
	stop_pid "$PID" "${1:-TERM}"
	wait "$PID"
	STOP_RC=$?
	PID=
	# make check SAN=1: an ASan/LSan/UBSan report in the daemon's log
	# (leaks are reported at exit) fails the test that stopped it.
	if [ "${SAN:-}" = 1 ] && grep -Eq 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$T/daemon.log"; then
		fail "thingcad: no sanitizer report in its log"
		grep -E -A30 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$T/daemon.log" | head -n 60 | sed 's/^/#   /'
	fi
}

# tca_start_fails CONFIG NAME REGEX [SECRET]: thingcad must refuse to start
# (exit 1, bounded by 30 s) with a message matching REGEX, and never print
# SECRET (a PIN, a passphrase). Log in $T/fail.log.
tca_start_fails() {
	timeout 30 $THINGCA_VALGRIND "$BIN/thingcad" -c "$1" </dev/null >/dev/null 2> "$T/fail.log"
	is "$?" 1 "$2: thingcad exits 1"
	like "$(cat "$T/fail.log")" "$3" "$2: the message says so"
	if [ -n "${4:-}" ] && grep -qF -- "$4" "$T/fail.log"; then
		fail "$2: the secret is not logged"
	fi
}

# tca_csr NAME [KEYTYPE] [SUBJECT]: $T/NAME.key and $T/NAME.csr.
tca_csr() {
	case "${2:-ec:P-256}" in
	ec:P-256) _alg="-algorithm EC -pkeyopt ec_paramgen_curve:P-256" ;;
	ec:P-384) _alg="-algorithm EC -pkeyopt ec_paramgen_curve:P-384" ;;
	rsa:*) _alg="-algorithm RSA -pkeyopt rsa_keygen_bits:${2#rsa:}" ;;
	ed25519) _alg="-algorithm ED25519" ;;
	*) echo "tca_csr: unknown key type $2" >&2; return 1 ;;
	esac
	# shellcheck disable=SC2086
	openssl genpkey $_alg -out "$T/$1.key" 2>/dev/null &&
	openssl req -new -key "$T/$1.key" -subj "${3:-/CN=$1}" -out "$T/$1.csr" 2>/dev/null
}

# tca_json SERIAL CSRFILE: the POST /v1/certificates body.
tca_json() {
	jq -n --arg s "$1" --rawfile c "$2" '{serial: $s, csr: $c}'
}

# tca_post PATH TOKEN BODY [CURL ARGS...]: prints the status; body in $T/body.
tca_post() {
	_p=$1 _t=$2 _b=$3
	shift 3
	printf '%s' "$_b" > "$T/req.json"
	curl -s -o "$T/body" -w '%{http_code}' --max-time 30 \
		-H "Authorization: Bearer $_t" -H 'Content-Type: application/json' \
		--data-binary @"$T/req.json" "$@" "$URL$_p"
}

# tca_get PATH [TOKEN] [CURL ARGS...]: prints the status; body in $T/body.
tca_get() {
	_p=$1
	_t=${2:-}
	[ $# -ge 2 ] && shift 2 || shift 1
	if [ -n "$_t" ]; then
		curl -s -o "$T/body" -w '%{http_code}' --max-time 30 \
			-H "Authorization: Bearer $_t" "$@" "$URL$_p"
	else
		curl -s -o "$T/body" -w '%{http_code}' --max-time 30 "$@" "$URL$_p"
	fi
}

# jbody FILTER: jq over the last body.
jbody() { jq -r "$1" "$T/body" 2>/dev/null; }

# tca_sql SQL: sqlite3 on the test ledger.
tca_sql() { sqlite3 "$T/ledger.db" "$1"; }

# tca_import SERIAL...: allowlist serials through the CLI.
tca_import() {
	printf '%s\n' "$@" > "$T/serials.txt"
	"$BIN/thingca" -c "$T/thingca.json" serials import --batch test "$T/serials.txt" >/dev/null
}
