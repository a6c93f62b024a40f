#!/bin/sh
# systemd notification protocol, against a real daemon and a stand-in notify
# socket (tests/integration/notify-listen.pl): READY=1 only once the CA and the
# ledger are open, STATUS=, WATCHDOG=1 pings, SIGHUP reloads (RELOADING=1 then
# READY=1; a broken file is refused and the old clients stay; a new client
# works at once without dropping connections), SIGTERM (STOPPING=1, the
# request in flight completes, exit 0), and no READY=1 when the CA key is
# readable by others. See DESIGN.md "systemd".
. "$THINGCA_SRC/tests/integration/lib.sh"

LISTEN="$SRC/tests/integration/notify-listen.pl"
NPID=
trap 'stop_listener; _cleanup' EXIT

# A raw HTTP client for what curl cannot do here: keep one connection open
# across a reload, or send a body slowly. Arguments: PORT, then steps
# send:FILE, sleep:SECONDS, touch:FILE, waitfile:FILE (at most 10 s),
# read:FILE (one response: headers and Content-Length body). 30 s at most.
cat > "$T/raw.pl" <<'PERL'
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(sleep);
$SIG{ALRM} = sub { die "raw.pl: timed out\n" }; alarm 30;
my $port = shift;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
  or die "raw.pl: connect: $!\n";
binmode $s; $s->autoflush(1);
my $buf = '';
for (@ARGV) {
	my ($op, $arg) = split /:/, $_, 2;
	if ($op eq 'send') {
		open(my $f, '<', $arg) or die "$arg: $!\n"; binmode $f;
		local $/; my $d = <$f>; print $s $d or die "raw.pl: send: $!\n";
	} elsif ($op eq 'sleep') { sleep $arg;
	} elsif ($op eq 'touch') { open(my $f, '>', $arg) or die; close $f;
	} elsif ($op eq 'waitfile') {
		for (1..100) { last if -e $arg; sleep 0.1 }
	} elsif ($op eq 'read') {
		while ($buf !~ /\r\n\r\n/) {
			my $n = sysread($s, $buf, 65536, length $buf);
			die "raw.pl: connection closed before a response\n" unless $n;
		}
		my ($h) = $buf =~ /^(.*?\r\n\r\n)/s;
		my ($cl) = $h =~ /^content-length:\s*(\d+)/mi; $cl //= 0;
		while (length($buf) < length($h) + $cl) {
			my $n = sysread($s, $buf, 65536, length $buf);
			die "raw.pl: connection closed in the body\n" unless $n;
		}
		open(my $f, '>', $arg) or die; print $f substr($buf, 0, length($h) + $cl); close $f;
		$buf = substr($buf, length($h) + $cl);
	}
}
PERL

# req_post FILE TOKEN BODYFILE [Connection]: a raw POST /v1/certificates.
req_head() {
	printf 'POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: %s\r\n\r\n' \
		"$2" "$(wc -c < "$3" | tr -d ' ')" "${4:-close}" > "$1"
}
status_of() { sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' "$1" 2>/dev/null | tr -d '\r'; }

# waitgrep FILE REGEX [TENTHS]: bounded wait for a line matching REGEX.
waitgrep() {
	_w=0
	while [ $_w -lt "${3:-100}" ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_w=$((_w + 1))
	done
	return 1
}

# listener NAME: a fresh notify socket $T/NAME.sock logging to $T/NAME.log.
listener() {
	stop_listener
	: > "$T/$1.log"
	perl "$LISTEN" "$T/$1.sock" "$T/$1.log" 120 &
	NPID=$!
	wait_until 50 test -S "$T/$1.sock"
}
stop_listener() {
	[ -n "$NPID" ] || return 0
	kill -TERM "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	NPID=
}
# notes NAME: the messages received so far, without the timestamps.
notes() { sed 's/^[0-9]* //' "$T/$1.log"; }
# new_note REGEX: a notification of the main socket after the first $n0
# matches REGEX (for wait_until).
new_note() { notes main | sed -n "$((n0 + 1)),\$p" | grep -Eq "$1"; }

# start NAME WATCHDOG_PID_MODE: thingcad with NOTIFY_SOCKET=$T/NAME.sock and
# WATCHDOG_USEC=2000000; WATCHDOG_PID is the daemon's own pid ("self") or the
# given pid. Does not wait; sets PID.
start() {
	: > "$T/daemon.log"
	if [ "$2" = self ]; then
		NOTIFY_SOCKET="$T/$1.sock" WATCHDOG_USEC=2000000 \
			sh -c 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" -c "$1"' \
			"$BIN/thingcad" "$T/thingca.json" 2>> "$T/daemon.log" &
	else
		NOTIFY_SOCKET="$T/$1.sock" WATCHDOG_USEC=2000000 WATCHDOG_PID="$2" \
			"$BIN/thingcad" -c "$T/thingca.json" 2>> "$T/daemon.log" &
	fi
	PID=$!
}
# wait_exit: bounded wait for $PID to end by itself; its status in RC. Not in
# \$(...): a subshell cannot wait for the main shell's children.
wait_exit() {
	wait_until 300 _proc_gone "$PID"
	kill -KILL "$PID" 2>/dev/null
	wait "$PID"
	RC=$?
	PID=
}
port_of_log() { sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/daemon.log" | head -n 1; }

tca_ca ec:P-256
ST=$(tca_token line1-station1 station)
AD=$(tca_token ops admin)
tca_config
for n in 1 2 3 4 5 6; do tca_csr "d$n" ec:P-256; tca_json "SN-000$n" "$T/d$n.csr" > "$T/d$n.json"; done

# --- start: READY=1 then STATUS=, only after the "ready" log line ---
listener main || { fail "notify socket listener starts"; done_testing; }
start main self
if waitgrep "$T/main.log" '^[0-9]+ READY=1$' 100; then
	pass "READY=1 received"
else
	fail "READY=1 received" "READY=1" "$(notes main | tr '\n' '|') log: $(tr '\n' '|' < "$T/daemon.log")"
	done_testing
fi
like "$(cat "$T/daemon.log")" "thingcad .* ready: CA" "the ready log line was written before READY=1"
waitgrep "$T/main.log" '^[0-9]+ STATUS=' 30
is "$(notes main | grep -v '^WATCHDOG=1$' | sed -n 1p)" "READY=1" "READY=1 is the first message"
like "$(notes main | grep -v '^WATCHDOG=1$' | sed -n 2p)" "^STATUS=issued 0, refused 0 since start; ledger head seq [0-9]+$" "then STATUS= with counts"
PORT=$(port_of_log)
URL="http://127.0.0.1:$PORT"
is "$(tca_get /healthz)" 200 "serving on 127.0.0.1:$PORT"
st=$(tca_post /v1/serials "$AD" '{"batch": "notify", "serials": ["SN-0001", "SN-0002", "SN-0003", "SN-0004", "SN-0005", "SN-0006"]}')
is "$st/$(jbody .added)" 200/6 "six serials imported (POST /v1/serials)"

# --- watchdog: WATCHDOG_USEC=2 s, pings at least every second ---
w0=$(notes main | grep -c '^WATCHDOG=1$')
sleep 3
w1=$(notes main | grep -c '^WATCHDOG=1$')
like "$((w1 - w0))" "^([2-9]|[1-9][0-9])$" "WATCHDOG=1 pings arrive (got $((w1 - w0)) in 3 s, want >= 2)"
gaps=$(grep ' WATCHDOG=1$' "$T/main.log" | awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }')
like "$gaps" "^[0-9]+$" "watchdog gaps measured"
[ "$gaps" -lt 2000 ] && pass "no watchdog gap reaches WATCHDOG_USEC (longest ${gaps} ms)" ||
	fail "no watchdog gap reaches WATCHDOG_USEC" "< 2000 ms" "$gaps ms"

st=$(tca_post /v1/certificates "$ST" "$(cat "$T/d1.json")")
is "$st" 201 "station token issues before any reload"

# --- SIGHUP after adding a client: new token works, connection kept ---
NEW=$(tca_token line1-station2 station)
st=$(tca_post /v1/certificates "$NEW" "$(cat "$T/d2.json")")
is "$st/$(jbody .error)" "401/unauthorized" "the new token is unknown before the reload"
tca_config
# A keep-alive connection opened before the reload; its second request,
# with the new token, goes out after the reload on the same connection.
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' > "$T/ka1.req"
req_head "$T/ka2.req" "$NEW" "$T/d2.json" close
cat "$T/d2.json" >> "$T/ka2.req"
rm -f "$T/ka.opened" "$T/ka.go"
perl "$T/raw.pl" "$PORT" send:"$T/ka1.req" read:"$T/ka1.resp" touch:"$T/ka.opened" \
	waitfile:"$T/ka.go" send:"$T/ka2.req" read:"$T/ka2.resp" 2> "$T/ka.err" &
KPID=$!
waitgrep "$T/ka1.resp" '^HTTP' 50
is "$(status_of "$T/ka1.resp")" 200 "keep-alive connection open before the reload"
n0=$(notes main | wc -l)
kill -HUP "$PID"
waitgrep "$T/daemon.log" 'reloaded [0-9]+ clients' 50
wait_until 50 new_note '^READY=1$'
is "$(notes main | sed -n "$((n0 + 1)),\$p" | grep -E '^(RELOADING|READY)=1$' | tr '\n' ' ')" "RELOADING=1 READY=1 " "SIGHUP: RELOADING=1 then READY=1"
like "$(notes main | sed -n "$((n0 + 1)),\$p" | tr '\n' ' ')" "RELOADING=1 MONOTONIC_USEC=[0-9]+ " "RELOADING=1 carries MONOTONIC_USEC (Type=notify-reload)"
wait_until 30 new_note '^STATUS=issued'
like "$(notes main | sed -n "$((n0 + 1)),\$p" | grep '^STATUS=' | tail -n 1)" "^STATUS=issued 1, refused [0-9]+ since start; ledger head seq [0-9]+\$" "STATUS= after the reload counts the issuance"
like "$(cat "$T/daemon.log")" "reloaded 3 clients from $T/thingca.json" "reload logged with the client count"
touch "$T/ka.go"
wait_until 150 _proc_gone "$KPID"
kill -KILL "$KPID" 2>/dev/null
wait "$KPID"
is "$(status_of "$T/ka2.resp")" 201 "new token issues on the connection opened before the reload $(cat "$T/ka.err")"
kpeer=$(sed -n "s/.*POST \/v1\/certificates 201 .*serial=SN-0002 .*peer=\([^ ]*\).*/\1/p" "$T/daemon.log")
like "$(grep "GET /healthz 200 .*peer=$kpeer " "$T/daemon.log")" "." "both requests came over one connection (peer $kpeer)"
st=$(tca_post /v1/certificates "$ST" "$(cat "$T/d3.json")")
is "$st" 201 "the old token still works after the reload"

# --- SIGHUP with a broken file: refused, old clients stay ---
cp "$T/thingca.json" "$T/thingca.good"
printf '{"listen": ["127.0.0.1:0"], "clients": [' > "$T/thingca.json"
n0=$(notes main | wc -l)
kill -HUP "$PID"
if waitgrep "$T/daemon.log" 'reload refused' 50; then
	pass "broken configuration: reload refused"
else
	fail "broken configuration: reload refused" "reload refused" "$(tail -n 3 "$T/daemon.log")"
fi
like "$(grep 'reload refused' "$T/daemon.log")" "running configuration stays: .*thingca\.json" "the refusal names the file"
alive "$PID" && pass "daemon still running after the refused reload" || fail "daemon still running after the refused reload"
wait_until 50 new_note '^READY=1$'
is "$(notes main | sed -n "$((n0 + 1)),\$p" | grep -E '^(RELOADING|READY)=1$' | tr '\n' ' ')" "RELOADING=1 READY=1 " "refused reload still ends with READY=1 (service stays up)"
st=$(tca_post /v1/certificates "$ST" "$(cat "$T/d4.json")")
is "$st" 201 "the old token still works after the refused reload"
st=$(tca_post /v1/certificates "$NEW" "$(cat "$T/d5.json")")
is "$st" 201 "the token from the last good reload still works"
cp "$T/thingca.good" "$T/thingca.json"

# --- SIGTERM with a request in flight: STOPPING=1, 201, exit 0 ---
req_head "$T/slow.head" "$ST" "$T/d6.json" close
rm -f "$T/slow.sent"
perl "$T/raw.pl" "$PORT" send:"$T/slow.head" touch:"$T/slow.sent" sleep:1.5 \
	send:"$T/d6.json" read:"$T/slow.resp" 2> "$T/slow.err" &
SPID=$!
wait_until 50 test -e "$T/slow.sent"
sleep 0.4 # the daemon has read the headers: the request is in flight
kill -TERM "$PID"
waitgrep "$T/main.log" '^[0-9]+ STOPPING=1$' 30 && pass "SIGTERM: STOPPING=1" ||
	fail "SIGTERM: STOPPING=1" "STOPPING=1" "$(notes main | tail -n 3 | tr '\n' '|')"
alive "$PID" && pass "daemon waits for the request in flight" ||
	fail "daemon waits for the request in flight"
st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/healthz")
is "$st" 000 "no new connections accepted while stopping"
wait_until 150 _proc_gone "$SPID"
kill -KILL "$SPID" 2>/dev/null
wait "$SPID"
is "$(status_of "$T/slow.resp")" 201 "the request in flight during SIGTERM gets its 201 $(cat "$T/slow.err")"
wait_exit
is "$RC" 0 "exit status 0 after SIGTERM"
like "$(cat "$T/daemon.log")" "stopping: finishing 1 requests in flight" "stop logs the request in flight"
like "$(cat "$T/daemon.log")" "POST /v1/certificates 201 client=line1-station1 serial=SN-0006" "the in-flight issuance is logged"
is "$(tca_sql "SELECT count(*) FROM ledger WHERE serial='SN-0006' AND event='issued'")" 1 "the in-flight issuance is in the ledger"

# --- WATCHDOG_PID naming another process: no pings ---
listener other || fail "second listener starts"
start other 1
waitgrep "$T/other.log" '^[0-9]+ READY=1$' 100 && pass "READY=1 with a foreign WATCHDOG_PID" ||
	fail "READY=1 with a foreign WATCHDOG_PID"
sleep 2.5
is "$(notes other | grep -c '^WATCHDOG=1$')" 0 "no WATCHDOG=1 when WATCHDOG_PID is another process"
kill -TERM "$PID"
wait_exit
is "$RC" 0 "stopped"

# --- CA key readable by others: refused, no READY=1, exit 1 ---
listener badkey || fail "third listener starts"
chmod 644 "$T/ca.key"
start badkey self
wait_exit
is "$RC" 1 "CA key mode 0644: exit status 1"
sleep 0.2
is "$(notes badkey | grep -c '^READY=1$')" 0 "CA key mode 0644: no READY=1"
like "$(cat "$T/daemon.log")" "readable by group or others.*chmod 600 $T/ca\.key" "the log names the chmod fix"
chmod 600 "$T/ca.key"
stop_listener
done_testing
