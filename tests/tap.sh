# tests/tap.sh — TAP helpers for the shell tests (POSIX sh). Source it:
#   . "$THINGCA_SRC/tests/tap.sh"
# tests/integration/lib.sh sources it for the daemon tests; tests that
# start no daemon (t-install, t-units, t-layering) source it alone.
#
# pass NAME; fail NAME [EXPECTED GOT]; nok NAME [LINE...] (not ok, each
# LINE as a diagnostic); is GOT WANT NAME; like GOT REGEX NAME (grep -E);
# diag TEXT; skip_all REASON; done_testing (the plan, exit 1 on a failure).

_tap_n=0
_tap_failed=0

pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
fail() {
	_tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	[ $# -ge 3 ] && echo "#   expected: $2" && echo "#   got:      $3"
	return 0
}
nok() {
	_tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	for _tap_l in "$@"; do echo "# $_tap_l"; done
	return 0
}
# is GOT WANT NAME
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "$2" "$1"; fi; }
# like GOT REGEX NAME (grep -E)
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"; else fail "$3" "/$2/" "$1"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() {
	echo "1..$_tap_n"
	[ $_tap_failed -eq 0 ]
	exit $?
}
diag() { echo "# $*"; }
