#!/bin/sh
# t-install: `make install DESTDIR=... PREFIX=/usr` writes exactly the tree
# docs/deployment.md documents ("Installed files"), with the right modes and
# paths filled into the units, never overwrites a configuration, and
# `make uninstall` takes back every file it wrote.
set -u

SRC=${THINGCA_SRC:?THINGCA_SRC not set}
BIN=${THINGCA_BIN:?THINGCA_BIN not set}
if [ ! -x "$BIN/thingcad" ] || [ ! -x "$BIN/thingca" ]; then
	echo "1..0 # SKIP binaries not built"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# A nested make must not inherit the jobserver or flags of `make check`.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

. "$SRC/tests/tap.sh"
diag_file() { sed 's/^/#   /' "$1"; }

# ---- install ----------------------------------------------------------------
if make -s -C "$SRC" install DESTDIR="$root" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	pass "make install DESTDIR PREFIX=/usr succeeds"
else
	nok "make install DESTDIR PREFIX=/usr succeeds" "expected exit 0, got $?"
	diag_file "$tmp/install.log"
fi

# The expected tree: the fixed files plus the source's examples and schema.
{
	cat <<'LIST'
/etc/thingca/thingca.json.example
/usr/bin/thingca
/usr/bin/thingcad
/usr/lib/systemd/system/thingca-backup.service
/usr/lib/systemd/system/thingca-backup.timer
/usr/lib/systemd/system/thingcad.service
/usr/lib/systemd/system/thingcad.socket
/usr/lib/sysusers.d/thingca.conf
/usr/lib/thingca/thingca-backup
/usr/lib/tmpfiles.d/thingca.conf
/usr/share/doc/thingca/configuration.md
/usr/share/doc/thingca/deployment.md
/usr/share/man/man1/thingca.1
/usr/share/man/man5/thingca.json.5
/usr/share/man/man8/thingcad.8
LIST
	for f in "$SRC"/etc/jitp-*.json; do
		[ -f "$f" ] && echo "/usr/share/doc/thingca/examples/${f##*/}"
	done
	for f in "$SRC"/sql/*.sql "$SRC"/sql/*/*.sql; do
		[ -f "$f" ] && echo "/usr/share/thingca/sql/${f#"$SRC"/sql/}"
	done
} | LC_ALL=C sort >"$tmp/expected"
(cd "$root" 2>/dev/null && find . ! -type d | sed 's|^\.||') | LC_ALL=C sort >"$tmp/got"

if cmp -s "$tmp/expected" "$tmp/got"; then
	pass "installed tree is exactly the expected $(wc -l <"$tmp/expected") files"
else
	nok "installed tree is exactly the expected files" "expected tree (-), got (+):"
	diff -u "$tmp/expected" "$tmp/got" | sed -n '3,$p' | sed 's/^/#   /'
fi

# Every installed file is in the documented tree of docs/deployment.md, and
# every documented line names something installed.
# (the first code block after the heading "## Installed files")
awk '/^## Installed files/ { sec = 1; next }
	sec && /^```/ { if (inblk) exit; inblk = 1; next }
	inblk && /^\// { print $1 }' "$SRC/docs/deployment.md" >"$tmp/documented"
undoc=
while read -r f; do
	hit=
	while read -r pat; do
		# shellcheck disable=SC2254
		case $f in $pat) hit=1; break ;; esac
	done <"$tmp/documented"
	[ -n "$hit" ] || undoc="$undoc $f"
done <"$tmp/got"
unused=
while read -r pat; do
	hit=
	while read -r f; do
		# shellcheck disable=SC2254
		case $f in $pat) hit=1; break ;; esac
	done <"$tmp/got"
	# A pattern (examples/jitp-*.json) stands for what the source tree has,
	# which may be nothing yet; a plain path must be installed.
	case $pat in *'*'*) hit=1 ;; esac
	[ -n "$hit" ] || unused="$unused $pat"
done <"$tmp/documented"
if [ -s "$tmp/documented" ] && [ -z "$undoc$unused" ]; then
	pass "docs/deployment.md documents the installed tree"
else
	nok "docs/deployment.md documents the installed tree" \
		"expected every file documented and every entry installed," \
		"got undocumented:${undoc:- none}; documented, not installed:${unused:- none}"
fi

# Modes: programs 0755, the rest 0644; /etc/thingca 0750.
badmode=
while read -r f; do
	[ -e "$root$f" ] || continue
	case $f in
	/usr/bin/* | /usr/lib/thingca/thingca-backup) want=755 ;;
	*) want=644 ;;
	esac
	got=$(stat -c %a "$root$f")
	[ "$got" = "$want" ] || badmode="$badmode $f:$got(want $want)"
done <"$tmp/got"
if [ -z "$badmode" ] && [ -n "$(cat "$tmp/got")" ]; then
	pass "modes: programs 0755, data 0644"
else
	nok "modes: programs 0755, data 0644" "expected none wrong, got:${badmode:- nothing installed}"
fi
got=$(stat -c %a "$root/etc/thingca" 2>/dev/null || echo missing)
if [ "$got" = 750 ]; then
	pass "/etc/thingca created 0750"
else
	nok "/etc/thingca created 0750" "expected 750, got $got"
fi

# Paths filled in: no @PLACEHOLDER@ left, ExecStart= at the installed files.
left=$(grep -l '@[A-Z]*@' "$root"/usr/lib/systemd/system/* \
	"$root/usr/lib/thingca/thingca-backup" 2>/dev/null)
exec_d=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/thingcad.service" 2>/dev/null)
exec_b=$(sed -n 's/^ExecStart=//p' "$root/usr/lib/systemd/system/thingca-backup.service" 2>/dev/null)
if [ -z "$left" ] && [ "$exec_d" = "/usr/bin/thingcad -c /etc/thingca/thingca.json" ] &&
	[ "$exec_b" = "/usr/lib/thingca/thingca-backup" ]; then
	pass "installed units name /usr/bin/thingcad and /usr/lib/thingca/thingca-backup"
else
	nok "installed units name the installed programs" \
		"expected no placeholders and ExecStart=/usr/bin/thingcad -c /etc/thingca/thingca.json, /usr/lib/thingca/thingca-backup" \
		"got placeholders in:${left:- none}; ExecStart=$exec_d; $exec_b"
fi
# shellcheck disable=SC2016
if grep -q '^THINGCA=${THINGCA:-/usr/bin/thingca}$' "$root/usr/lib/thingca/thingca-backup" 2>/dev/null; then
	pass "backup script calls /usr/bin/thingca"
else
	nok "backup script calls /usr/bin/thingca" "expected THINGCA=\${THINGCA:-/usr/bin/thingca}, got: $(grep '^THINGCA=' "$root/usr/lib/thingca/thingca-backup" 2>/dev/null)"
fi

# The example configuration is the source's and parses as JSON.
ex=$root/etc/thingca/thingca.json.example
if [ -s "$ex" ] && perl -MJSON::PP -e 'local $/; open my $f, "<", $ARGV[0] or die; JSON::PP->new->decode(<$f>)' "$ex" 2>"$tmp/json.err"; then
	pass "example configuration installed and valid JSON"
else
	nok "example configuration installed and valid JSON" "expected a JSON file at /etc/thingca/thingca.json.example, got: $(cat "$tmp/json.err" 2>/dev/null)"
fi

# A real configuration survives a second install and the uninstall.
printf '{"site": "mine"}\n' >"$root/etc/thingca/thingca.json"
make -s -C "$SRC" install DESTDIR="$root" PREFIX=/usr >"$tmp/install2.log" 2>&1
got=$(cat "$root/etc/thingca/thingca.json")
if [ "$got" = '{"site": "mine"}' ]; then
	pass "install again leaves /etc/thingca/thingca.json alone"
else
	nok "install again leaves /etc/thingca/thingca.json alone" "expected {\"site\": \"mine\"}, got $got"
fi

# ---- uninstall --------------------------------------------------------------
if make -s -C "$SRC" uninstall DESTDIR="$root" PREFIX=/usr >"$tmp/uninstall.log" 2>&1; then
	pass "make uninstall succeeds"
else
	nok "make uninstall succeeds" "expected exit 0, got $?"
	diag_file "$tmp/uninstall.log"
fi
left=$(cd "$root" && find . ! -type d | sed 's|^\.||' | grep -vx '/etc/thingca/thingca.json' | tr '\n' ' ')
if [ -z "$left" ]; then
	pass "uninstall removes every installed file"
else
	nok "uninstall removes every installed file" "expected no files, got: $left"
fi
if [ -f "$root/etc/thingca/thingca.json" ]; then
	pass "uninstall keeps the configuration"
else
	nok "uninstall keeps the configuration" "expected /etc/thingca/thingca.json, got it removed"
fi
dirs=$(cd "$root" && find ./usr/lib/thingca ./usr/share/thingca ./usr/share/doc/thingca -type d 2>/dev/null | tr '\n' ' ')
if [ -z "$dirs" ]; then
	pass "uninstall removes thingca's own directories"
else
	nok "uninstall removes thingca's own directories" "expected none, got: $dirs"
fi

done_testing
