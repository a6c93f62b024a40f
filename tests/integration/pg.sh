# tests/integration/pg.sh — throwaway PostgreSQL 15 servers for the tests of
# the shared ledger. Source it after lib.sh:
#   . "$THINGCA_SRC/tests/integration/lib.sh"
#   . "$THINGCA_SRC/tests/integration/pg.sh"
#
# Never the system cluster: every server is a fresh initdb under $PGT (a
# temporary directory owned by the user the server runs as: `postgres` when
# the tests run as root, since PostgreSQL refuses to run as root), listening
# on 127.0.0.1 at a free port and on a Unix socket in its own directory.
# Each is stopped by the PID in its postmaster.pid when the test exits.
#
# The ledger's role is an ordinary one (LOGIN, no SUPERUSER, CREATEDB or
# CREATEROLE) owning only its database, which starts empty (DESIGN.md
# "Shared PostgreSQL ledger"); it logs in over TCP with scram-sha-256 and
# a password that only ever sits in the libpq passfile $PGPASSFILE (0600),
# never on a command line. The superuser `postgres` is reached through the
# Unix socket only (trust, the socket directory is 0700): the tests use it
# to build standbys and to tamper as an attacker with full access would.
#
# Gives: pg_need (skips the test when the binaries are missing), pg_init NAME,
# pg_start NAME, pg_stop NAME, pg_kill NAME, pg_pid NAME, pg_port NAME,
# pg_uri NAME..., pg_super NAME SQL, pg_sql NAME SQL, pg_standby PRIMARY
# NAME, pg_promote NAME, pg_wait_sync PRIMARY NAME; and thingcad nodes on
# one ledger: pg_node NAME URI, node_url, node_pid, node_stop, node_post,
# node_get; pg_ledger NAME, pg_ledger_ok NAME.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGT=
PG_ROLE=thingca
PG_DB=thingca
PGPASSFILE=$T/pgpass
export PGPASSFILE
_pg_names=

# pg_need: the test needs PostgreSQL; without its binaries it is skipped,
# visibly (TAP "1..0 # SKIP").
pg_need() {
	for _b in initdb pg_ctl postgres pg_basebackup psql; do
		[ -x "$PGBIN/$_b" ] || skip_all "no PostgreSQL (no $PGBIN/$_b)"
	done
	PGT=$(mktemp -d /tmp/thingca-pg.XXXXXX) || return 1
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PGT" || return 1
	fi
	chmod 0700 "$PGT"
	# the ledger role's password: random, only in the passfile
	PG_PASSWORD=$(openssl rand -hex 24)
	: > "$PGPASSFILE"
	chmod 0600 "$PGPASSFILE"
}

# _pg_as CMD ARGS...: runs a PostgreSQL tool as the server's user.
_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# _pg_free_port: a TCP port free on 127.0.0.1 now.
_pg_free_port() {
	perl -MIO::Socket::INET -e \
		'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1, ReuseAddr => 1) or die; print $s->sockport, "\n"'
}

pg_dir() { echo "$PGT/$1"; }
pg_port() { cat "$PGT/$1.port"; }
pg_sock() { echo "$PGT/$1.sock"; }

# pg_pid NAME: the postmaster's PID (first line of postmaster.pid), or "".
pg_pid() { head -n 1 "$PGT/$1/postmaster.pid" 2>/dev/null; }

# _pg_conf NAME: the settings every test server shares.
_pg_conf() {
	_pg_as sh -c "cat >> '$PGT/$1/postgresql.conf'" <<CONF
listen_addresses = '127.0.0.1'
port = $(pg_port "$1")
unix_socket_directories = '$(pg_sock "$1")'
unix_socket_permissions = 0700
cluster_name = '$1'
max_connections = 120
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 4
wal_keep_size = 64MB
hot_standby = on
log_min_messages = warning
log_line_prefix = '%m [%p] %u '
logging_collector = off
CONF
}

# pg_init NAME: initdb, configure, start, create the ledger's role and its
# empty database, and add them to the passfile.
pg_init() {
	_d=$PGT/$1
	_pg_free_port > "$PGT/$1.port" || return 1
	_pg_as mkdir -m 0700 "$(pg_sock "$1")" || return 1
	# the bootstrap superuser is `postgres` whoever runs initdb
	_pg_as "$PGBIN/initdb" -D "$_d" -U postgres -A trust --no-instructions \
		> "$PGT/$1.initdb.log" 2>&1 || {
		diag "initdb failed:"; sed 's/^/#   /' "$PGT/$1.initdb.log"
		return 1
	}
	_pg_conf "$1"
	_pg_as sh -c "cat > '$_d/pg_hba.conf'" <<HBA
local all postgres trust
local replication postgres trust
host all $PG_ROLE 127.0.0.1/32 scram-sha-256
HBA
	pg_start "$1" || return 1
	# the password goes through psql's standard input, never argv
	printf "CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;\n" \
		"$PG_ROLE" "$PG_PASSWORD" "$PG_DB" "$PG_ROLE" |
		_pg_as "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sock "$1")" -p "$(pg_port "$1")" \
			-U postgres -d postgres >/dev/null || return 1
	printf '127.0.0.1:%s:*:%s:%s\n' "$(pg_port "$1")" "$PG_ROLE" "$PG_PASSWORD" >> "$PGPASSFILE"
}

# pg_start NAME: starts the server (bounded: 30 s).
pg_start() {
	case " $_pg_names " in *" $1 "*) ;; *) _pg_names="$_pg_names $1" ;; esac
	_pg_as "$PGBIN/pg_ctl" -D "$PGT/$1" -l "$PGT/$1.log" -w -t 30 start >/dev/null || {
		diag "postgres $1 did not start:"; tail -n 20 "$PGT/$1.log" | sed 's/^/#   /'
		return 1
	}
}

# pg_stop NAME: fast shutdown (bounded: 30 s), then SIGKILL by PID.
pg_stop() {
	_p=$(pg_pid "$1")
	[ -n "$_p" ] || return 0
	_pg_as "$PGBIN/pg_ctl" -D "$PGT/$1" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		pg_kill "$1"
}

# pg_kill NAME: SIGKILL the postmaster (a crashed database host) and then
# the backends it leaves, each by PID; waits (bounded) until they are gone.
pg_kill() {
	_p=$(pg_pid "$1")
	[ -n "$_p" ] || return 0
	_kids=$(ps -o pid= --ppid "$_p" 2>/dev/null)
	kill -KILL "$_p" 2>/dev/null
	for _k in $_kids; do kill -KILL "$_k" 2>/dev/null; done
	_i=0
	while [ $_i -lt 100 ]; do
		_left=0
		for _k in $_p $_kids; do alive "$_k" && _left=1; done
		[ $_left = 0 ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	_pg_as rm -f "$PGT/$1/postmaster.pid"
}

# pg_uri NAME...: the ledger URI (the role and database; no password) for
# one server, or for several hosts in order with target_session_attrs.
pg_uri() {
	if [ $# = 1 ]; then
		echo "postgresql://$PG_ROLE@127.0.0.1:$(pg_port "$1")/$PG_DB"
		return
	fi
	_h=
	for _n in "$@"; do _h="$_h${_h:+,}127.0.0.1:$(pg_port "$_n")"; done
	echo "postgresql://$PG_ROLE@$_h/$PG_DB?target_session_attrs=read-write"
}

# pg_super NAME SQL: runs SQL as the superuser on NAME's ledger database
# (unaligned, tuples only).
pg_super() {
	printf '%s\n' "$2" | _pg_as "$PGBIN/psql" -X -w -q -A -t -v ON_ERROR_STOP=1 \
		-h "$(pg_sock "$1")" -p "$(pg_port "$1")" -U postgres -d "${3:-$PG_DB}"
}

# pg_sql NAME SQL: runs SQL as the ledger's role over TCP (passfile).
pg_sql() {
	printf '%s\n' "$2" | "$PGBIN/psql" -X -w -q -A -t -v ON_ERROR_STOP=1 \
		"$(pg_uri "$1")"
}

# pg_standby PRIMARY NAME: a streaming standby of PRIMARY from a base
# backup (pg_basebackup -R writes primary_conninfo and standby.signal),
# started, and made PRIMARY's synchronous standby: from then on a commit
# on PRIMARY returns only once NAME has its WAL.
pg_standby() {
	_pg_free_port > "$PGT/$2.port" || return 1
	_pg_as mkdir -m 0700 "$(pg_sock "$2")" || return 1
	_pg_as "$PGBIN/pg_basebackup" -h "$(pg_sock "$1")" -p "$(pg_port "$1")" -U postgres \
		-D "$PGT/$2" -R -X stream -c fast > "$PGT/$2.basebackup.log" 2>&1 || {
		diag "pg_basebackup failed:"; sed 's/^/#   /' "$PGT/$2.basebackup.log"
		return 1
	}
	_pg_conf "$2"
	pg_start "$2" || return 1
	pg_super "$1" "ALTER SYSTEM SET synchronous_standby_names = '\"$2\"'" postgres &&
		pg_super "$1" "SELECT pg_reload_conf()" postgres >/dev/null &&
		pg_wait_sync "$1" "$2"
	printf '127.0.0.1:%s:*:%s:%s\n' "$(pg_port "$2")" "$PG_ROLE" "$PG_PASSWORD" >> "$PGPASSFILE"
}

# pg_wait_sync PRIMARY NAME: waits (bounded: 30 s) until NAME streams from
# PRIMARY as its synchronous standby.
pg_wait_sync() {
	_i=0
	while [ $_i -lt 300 ]; do
		[ "$(pg_super "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2'" postgres 2>/dev/null)" = sync ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "standby $2 did not become synchronous"
	return 1
}

# pg_promote NAME: the standby becomes a primary (bounded: 30 s).
pg_promote() {
	_pg_as "$PGBIN/pg_ctl" -D "$PGT/$1" -w -t 30 promote >/dev/null
}

# pg_ledger NAME: the test's server NAME with the ledger's role and empty
# database, started (the test ends when it cannot be); U its URI.
pg_ledger() {
	pg_need
	pg_init "$1" || { fail "PostgreSQL $1 starts"; done_testing; }
	U=$(pg_uri "$1")
}

# pg_ledger_ok NAME [WHAT]: on NAME's ledger no serial has two
# certificates, and `thingca ledger verify` passes.
pg_ledger_ok() {
	is "$(pg_sql "$1" "SELECT count(*) FROM (SELECT serial FROM ledger WHERE event = 'issued' GROUP BY serial HAVING count(*) > 1) AS d")" \
		0 "no serial has two certificates${2:+ $2}"
	"$BIN/thingca" ledger verify --ledger "$(pg_uri "$1")" > "$T/verify.$1" 2>&1
	is "$?" 0 "ledger verify passes${2:+ $2}"
}

# ---- thingcad nodes on a shared ledger ---------------------------------

_pg_nodes=

# pg_node NAME URI [CONFIG]: thingcad named NAME (config "node") on ledger
# URI, with the CA, clients and profile of CONFIG (default $T/thingca.json
# from tca_config); its config is $T/NAME.json, its log $T/NAME.log. Waits
# (bounded: 30 s) for its ready line; sets $T/NAME.pid and $T/NAME.url.
pg_node() {
	jq --arg l "$2" --arg n "$1" '.ledger = $l | .node = $n' \
		"${3:-$T/thingca.json}" > "$T/$1.json" || return 1
	: > "$T/$1.log"
	$THINGCA_VALGRIND "$BIN/thingcad" -c "$T/$1.json" 2>> "$T/$1.log" &
	echo $! > "$T/$1.pid"
	case " $_pg_nodes " in *" $1 "*) ;; *) _pg_nodes="$_pg_nodes $1" ;; esac
	_i=0
	while [ $_i -lt 300 ]; do
		if grep -q 'ready: CA' "$T/$1.log"; then
			echo "http://127.0.0.1:$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$1.log" | head -n 1)" > "$T/$1.url"
			return 0
		fi
		alive "$(cat "$T/$1.pid")" || break
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "thingcad $1 did not start:"
	sed 's/^/#   /' "$T/$1.log"
	return 1
}

node_url() { cat "$T/$1.url"; }
node_pid() { cat "$T/$1.pid"; }

# node_stop NAME [SIGNAL] [TENTHS]: stops node NAME by PID (bounded, as
# stop_pid), sets STOP_RC.
node_stop() {
	STOP_RC=
	_p=$(cat "$T/$1.pid" 2>/dev/null)
	[ -n "$_p" ] || return 0
	kill -CONT "$_p" 2>/dev/null
	stop_pid "$_p" "${2:-TERM}" "${3:-300}"
	wait "$_p" 2>/dev/null
	STOP_RC=$?
	rm -f "$T/$1.pid"
	# make check SAN=1: a sanitizer report in the node's log fails the
	# test (as tca_stop does for $PID)
	if [ "${SAN:-}" = 1 ] && grep -Eq 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$T/$1.log"; then
		fail "thingcad $1: no sanitizer report in its log"
		grep -E -A30 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$T/$1.log" | head -n 60 | sed 's/^/#   /'
	fi
}

# node_post NAME TOKEN SERIAL CSRFILE [OUT]: POST /v1/certificates to node
# NAME; prints the status; body in OUT (default $T/body).
node_post() {
	_rq=$(mktemp "$T/req.XXXXXX")
	tca_json "$3" "$4" > "$_rq"
	curl -s -o "${5:-$T/body}" -w '%{http_code}' --max-time 30 \
		-H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary @"$_rq" "$(node_url "$1")/v1/certificates"
	rm -f "$_rq"
}

# node_get NAME PATH [TOKEN]: GET; prints the status; body in $T/body.
node_get() {
	if [ -n "${3:-}" ]; then
		curl -s -o "$T/body" -w '%{http_code}' --max-time 30 \
			-H "Authorization: Bearer $3" "$(node_url "$1")$2"
	else
		curl -s -o "$T/body" -w '%{http_code}' --max-time 30 "$(node_url "$1")$2"
	fi
}

_pg_cleanup() {
	for _n in $_pg_nodes; do node_stop "$_n" TERM 50; done
	for _n in $_pg_names; do
		[ -n "$(pg_pid "$_n")" ] && pg_stop "$_n"
	done
	[ -n "$PGT" ] && [ -z "${KEEP_TMP:-}" ] && rm -rf "$PGT"
}
trap '_pg_cleanup; _cleanup' EXIT
