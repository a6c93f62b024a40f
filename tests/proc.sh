# tests/proc.sh — process helpers for every shell test and bench (POSIX sh).
# Sourced by tests/integration/lib.sh and tests/bench/*.sh:
#   . "$SRC/tests/proc.sh"
#
# alive PID                    running and not a zombie
# stop_pid PID [SIG] [TENTHS]  signal, wait (bounded), then KILL
# wait_until TENTHS CMD [ARG]  run CMD every 0.1 s until it succeeds, at most
#                              TENTHS tries; its status is CMD's last one
#
# Every wait here is bounded: a test that waits for something that never
# happens fails after its bound instead of hanging make check.

# alive PID: running and not a zombie waiting to be reaped (kill -0 still
# succeeds on a zombie, so a loop on kill -0 alone waits for its bound).
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# stop_pid PID [SIGNAL] [TENTHS]: signals PID (default TERM), waits for it
# to end (bounded: TENTHS tenths of a second, default 300), then KILLs it.
# Does not reap it: the caller `wait`s for its status.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait_until "${3:-300}" _proc_gone "$1"
	kill -KILL "$1" 2>/dev/null
	return 0
}
_proc_gone() { ! alive "$1"; }

# wait_until TENTHS CMD [ARGS...]: runs CMD until it succeeds, sleeping 0.1 s
# between tries, TENTHS tries at the most. 0 when CMD succeeded, else 1.
wait_until() {
	_wu_n=$1
	shift
	while [ "$_wu_n" -gt 0 ]; do
		"$@" && return 0
		_wu_n=$((_wu_n - 1))
		[ "$_wu_n" -gt 0 ] && sleep 0.1
	done
	return 1
}

# thingcad_ready LOG PID: waits (bounded, 30 s) until thingcad, started as
# PID with its stderr in LOG, logs its ready line, then prints the loopback
# port it serves on. 1 (nothing printed) when it exits or the bound passes.
thingcad_ready() {
	wait_until 300 _thingcad_up "$1" "$2"
	grep -q 'ready: CA' "$1" || return 1
	sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -n 1
}
_thingcad_up() { grep -q 'ready: CA' "$1" || ! alive "$2"; }
