#!/bin/sh
# deb-ci.sh — `make deb-ci` (CI, as root): the package `make deb` built,
# installed with apt, its autopkgtest run with the null runner against the
# installed files, then removed and purged, checking what both must keep (an
# operator's ledger, CA key and configuration) and what purge must take (the
# programs, the units, thingcad.service's enablement, empty directories).
# TAP, for prove; the helpers are tests/integration/lib.sh's. Refuses to run
# where thingca is installed or its directories hold files: it would install
# over, and purge, a real CA.
#
#   DEB_OUT  where make deb left the .deb and its source copy (build/deb)
set -u
LC_ALL=C
export LC_ALL DEBIAN_FRONTEND=noninteractive
DEB_OUT=${DEB_OUT:-build/deb}

[ "$(id -u)" = 0 ] || { echo "Bail out! needs root (apt-get install, purge)"; exit 1; }
deb=$(ls "$DEB_OUT"/thingca_*.deb 2>/dev/null | head -n 1)
src=$(ls -d "$DEB_OUT"/src/thingca-*/ 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$src" ] || { echo "Bail out! no package in $DEB_OUT: run make deb first"; exit 1; }
! dpkg -s thingca >/dev/null 2>&1 || { echo "Bail out! thingca is installed here: not touching it"; exit 1; }
for d in /etc/thingca /var/lib/thingca /var/backups/thingca; do
	[ -z "$(ls -A "$d" 2>/dev/null)" ] || { echo "Bail out! $d holds files here: not touching it"; exit 1; }
done

THINGCA_BIN=/usr/bin THINGCA_SRC=$(pwd) . tests/integration/lib.sh
OPERATOR_FILES="/var/lib/thingca/ledger.db /etc/thingca/ca.key /etc/thingca/thingca.json"
cleanup() {
	dpkg -s thingca >/dev/null 2>&1 && apt-get purge -y -qq thingca >/dev/null 2>&1
	rm -f $OPERATOR_FILES
	rmdir /etc/thingca /var/lib/thingca /var/backups/thingca 2>/dev/null
	_cleanup
}
trap cleanup EXIT
log() { sed 's/^/#   /' "$1"; }
operator_files() { cat $OPERATOR_FILES 2>&1 | tr '\n' ' '; }

# ---- install ----------------------------------------------------------------------
case $deb in /*) ;; *) deb=./$deb ;; esac
apt-get install -y -q "$deb" >"$T/install.log" 2>&1
rc=$?
is "$rc" 0 "apt-get install $deb"
[ "$rc" = 0 ] || { log "$T/install.log"; done_testing; }
is "$([ -x /usr/sbin/thingcad ] && echo sbin) $(/usr/bin/thingca --version 2>&1)" \
	"sbin thingca $(dpkg-query -W -f '${Version}' thingca)" \
	"installed /usr/sbin/thingcad and /usr/bin/thingca at the package's version"
is "$(ls -A /etc/thingca 2>&1)" "" "no configuration installed: /etc/thingca is empty"

# ---- autopkgtest, null runner, on the installed package ----------------------------------
autopkgtest --no-built-binaries --output-dir "$T/autopkgtest" "$src" -- null \
	>"$T/autopkgtest.log" 2>&1
rc=$?
is "$rc" 0 "autopkgtest (null runner):$(sed -n '/@@@@ summary/,$p' "$T/autopkgtest.log" |
	sed 1d | tr -s ' ' | tr '\n' ';')"
[ "$rc" = 0 ] || log "$T/autopkgtest.log"
for f in "$T"/autopkgtest/*-stdout; do
	[ -f "$f" ] || continue
	diag "${f##*/}:"
	log "$f"
done

# ---- reinstall, remove and purge keep the operator's files ------------------------------------
# What an operator has after setting up: a ledger, a CA key, a configuration.
printf 'ledger\n' >/var/lib/thingca/ledger.db
printf 'key\n' >/etc/thingca/ca.key
printf '{}\n' >/etc/thingca/thingca.json
# A reinstall runs the upgrade path of the maintainer scripts (postinst
# configure OLD-VERSION). No systemd runs here, so the restart itself is not
# seen; the enablement and the operator's files are.
apt-get install -y -q --reinstall "$deb" >"$T/reinstall.log" 2>&1
is "$? $(systemctl is-enabled thingcad.service 2>&1) $(operator_files)" "0 enabled ledger key {} " \
	"reinstall (upgrade path): thingcad.service still enabled, operator's files untouched"
apt-get remove -y -q thingca >"$T/remove.log" 2>&1
is "$? $([ -e /usr/sbin/thingcad ] && echo left) $(operator_files)" "0  ledger key {} " \
	"apt-get remove: the programs go, ledger, CA key and configuration stay"
apt-get purge -y -q thingca >"$T/purge.log" 2>&1
is "$? $(dpkg -s thingca >/dev/null 2>&1 && echo still-installed)" "0 " "apt-get purge thingca"
is "$(operator_files)" "ledger key {} " "purge keeps the ledger, the CA key and the configuration"
left=
for f in /usr/sbin/thingcad /usr/bin/thingca /lib/systemd/system/thingcad.service \
	/usr/lib/sysusers.d/thingca.conf /usr/lib/tmpfiles.d/thingca.conf \
	/etc/systemd/system/multi-user.target.wants/thingcad.service /var/backups/thingca; do
	if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done
is "$left" "" "purge removes the package's files, the enablement and the empty backup directory"
done_testing
