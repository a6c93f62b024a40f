#!/bin/sh
# deb-ci.sh — `make deb-ci` (CI, as root): the package `make deb` built,
# installed with apt, its autopkgtest run with the null runner against the
# installed files, then purged, checking what the purge must keep (an
# operator's ledger, CA key and configuration) and what it must take (the
# programs, the units, thingcad.service's enablement, empty directories).
# TAP, for prove. Refuses to run on a host where thingca is installed or its
# directories exist: it would install over and purge a real CA.
#
#   DEB_OUT  where make deb left the .deb and the source copy (build/deb)
set -u
LC_ALL=C
export LC_ALL DEBIAN_FRONTEND=noninteractive

DEB_OUT=${DEB_OUT:-build/deb}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
log() { sed 's/^/#   /' "$1"; }
bail() { echo "Bail out! $*"; exit 1; }

[ "$(id -u)" = 0 ] || bail "needs root (apt-get install, purge)"
deb=$(ls "$DEB_OUT"/thingca_*.deb 2>/dev/null | head -n 1)
src=$(ls -d "$DEB_OUT"/src/thingca-*/ 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$src" ] || bail "no package in $DEB_OUT: run make deb first"
if dpkg -s thingca >/dev/null 2>&1; then
	bail "thingca is installed on this host: not touching it"
fi
for d in /etc/thingca /var/lib/thingca /var/backups/thingca; do
	[ ! -e "$d" ] || bail "$d exists on this host: not touching it"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/deb-ci.XXXXXX") || exit 1
planted=
cleanup() {
	dpkg -s thingca >/dev/null 2>&1 && apt-get purge -y -qq thingca >/dev/null 2>&1
	for f in $planted; do rm -f "$f"; done
	rmdir /etc/thingca /var/lib/thingca /var/backups/thingca 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- install ----------------------------------------------------------------------
case $deb in /*) ;; *) deb=./$deb ;; esac
if apt-get install -y -q "$deb" >"$tmp/install.log" 2>&1; then
	ok "apt-get install $deb"
else
	nok "apt-get install $deb" "expected exit 0, got:"; log "$tmp/install.log"
	echo "1..$n"; exit 1
fi
if [ -x /usr/sbin/thingcad ] && [ -x /usr/bin/thingca ] &&
	[ "$(/usr/bin/thingca --version 2>&1)" = "$(dpkg-query -W -f '${Version}' thingca 2>&1 | sed 's/^/thingca /')" ]; then
	ok "installed: /usr/sbin/thingcad, /usr/bin/thingca at the package's version"
else
	nok "installed: /usr/sbin/thingcad, /usr/bin/thingca at the package's version" \
		"expected thingca --version to say 'thingca $(dpkg-query -W -f '${Version}' thingca 2>&1)', got '$(/usr/bin/thingca --version 2>&1)'"
fi
if [ ! -e /etc/thingca/thingca.json ] && [ -z "$(ls -A /etc/thingca 2>/dev/null)" ]; then
	ok "no configuration installed: /etc/thingca is empty"
else
	nok "no configuration installed: /etc/thingca is empty" "expected nothing, got: $(ls -A /etc/thingca 2>&1)"
fi

# ---- autopkgtest, null runner, on the installed package ----------------------------------
if autopkgtest --no-built-binaries --output-dir "$tmp/autopkgtest" "$src" -- null \
	>"$tmp/autopkgtest.log" 2>&1; then
	ok "autopkgtest (null runner): $(sed -n '/@@@@ summary/,$p' "$tmp/autopkgtest.log" | sed 1d | tr -s ' ' | tr '\n' ';')"
else
	nok "autopkgtest (null runner) passes" "expected exit 0, got:"; log "$tmp/autopkgtest.log"
fi

# ---- remove keeps, purge keeps the operator's files ----------------------------------------
# What an operator has after setting up: a ledger, a CA key, a configuration.
printf 'ledger\n' >/var/lib/thingca/ledger.db
printf 'key\n' >/etc/thingca/ca.key
printf '{}\n' >/etc/thingca/thingca.json
planted="/var/lib/thingca/ledger.db /etc/thingca/ca.key /etc/thingca/thingca.json"
if apt-get remove -y -q thingca >"$tmp/remove.log" 2>&1 && [ ! -e /usr/sbin/thingcad ] &&
	[ "$(cat /var/lib/thingca/ledger.db /etc/thingca/ca.key /etc/thingca/thingca.json 2>&1 | tr '\n' ' ')" = "ledger key {} " ]; then
	ok "apt-get remove: programs gone, ledger, CA key and configuration kept"
else
	nok "apt-get remove: programs gone, ledger, CA key and configuration kept" "got:"; log "$tmp/remove.log"
fi
if apt-get purge -y -q thingca >"$tmp/purge.log" 2>&1 && ! dpkg -s thingca >/dev/null 2>&1; then
	ok "apt-get purge thingca"
else
	nok "apt-get purge thingca" "expected exit 0 and the package gone, got:"; log "$tmp/purge.log"
fi
got=$(cat /var/lib/thingca/ledger.db /etc/thingca/ca.key /etc/thingca/thingca.json 2>&1 | tr '\n' ' ')
if [ "$got" = "ledger key {} " ]; then
	ok "purge keeps the ledger, the CA key and the configuration"
else
	nok "purge keeps the ledger, the CA key and the configuration" "expected 'ledger key {} ', got '$got'"
fi
left=
for f in /usr/sbin/thingcad /usr/bin/thingca /lib/systemd/system/thingcad.service \
	/usr/lib/sysusers.d/thingca.conf /usr/lib/tmpfiles.d/thingca.conf \
	/etc/systemd/system/multi-user.target.wants/thingcad.service /var/backups/thingca; do
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
if [ -z "$left" ]; then
	ok "purge removes the package's files, the enablement and the empty backup directory"
else
	nok "purge removes the package's files, the enablement and the empty backup directory" "left:$left"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
