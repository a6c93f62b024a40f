#!/bin/sh
# t-build-flags: a packager's CFLAGS, CPPFLAGS and LDFLAGS (dpkg-buildflags,
# on the command line or in the environment) are added to the flags the
# build needs, never put in their place, in every compile and link; and
# under SAN=1 ledger.o includes build/san's generated sql_migrations.h, not
# build/'s. Read from `make -n -B` (nothing is built).
. "$THINGCA_SRC/tests/integration/lib.sh"
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

# line FILE PATTERN: the first command line in FILE matching PATTERN.
line() { grep -m1 -e "$2" "$1"; }
# has LINE WORD: LINE contains WORD as a whole word.
has() { printf ' %s ' "$1" | grep -qF -- " $2 "; }
# all LINE WORD...: "ok" or the words LINE lacks.
all() {
	_l=$1
	shift
	_miss=
	for _w in "$@"; do has "$_l" "$_w" || _miss="$_miss $_w"; done
	echo "${_miss:-ok}"
}

make -s -n -B -C "$SRC" SAN= CFLAGS=-O0 CPPFLAGS=-DTC_PACKAGER LDFLAGS=-Wl,--as-needed \
	build/lib/ledger.o build/thingcad build/tests/t-err >"$T/n.log" 2>&1
cc=$(line "$T/n.log" ' -c -o build/lib/ledger.o ')
is "$(all "$cc" -std=c11 -Werror -Ilib -Ibuild -DOPENSSL_API_COMPAT=30000 -pthread -DTC_PACKAGER -O0)" ok \
	"make CFLAGS= CPPFLAGS=: an object keeps the required flags and gets the user's"
ld=$(line "$T/n.log" ' -o build/thingcad ')
is "$(all "$ld" -Wl,--as-needed -O0 -pthread -lsqlite3 -lssl -lm)" ok \
	"make LDFLAGS=: the program's link gets the user's LDFLAGS and keeps the libraries"
ut=$(line "$T/n.log" ' -o build/tests/t-err ')
is "$(all "$ut" -std=c11 -Ilib -DTC_PACKAGER -O0 -Wl,--as-needed -lsqlite3)" ok \
	"a unit test is compiled and linked with both"

CFLAGS=-O1 CPPFLAGS=-DTC_ENV make -s -n -B -C "$SRC" SAN= build/lib/ledger.o >"$T/env.log" 2>&1
cc=$(line "$T/env.log" ' -c -o build/lib/ledger.o ')
is "$(all "$cc" -std=c11 -Ilib -DTC_ENV -O1)" ok "CFLAGS and CPPFLAGS from the environment (as dh passes them) too"

make -s -n -B -C "$SRC" SAN=1 build/san/lib/ledger.o >"$T/san.log" 2>&1
cc=$(line "$T/san.log" ' -c -o build/san/lib/ledger.o ')
first=$(printf '%s\n' $cc | grep -m1 '^-Ibuild')
is "$first $(has "$cc" -Ibuild && echo also-build)" "-Ibuild/san " \
	"SAN=1: ledger.o searches build/san (its own sql_migrations.h), not build/"
done_testing
