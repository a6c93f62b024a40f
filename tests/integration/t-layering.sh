#!/bin/sh
# t-layering: the house rules of lib/ that a reader relies on to find things
# (STYLE.md "Shape", issue 16): the include graph of lib/'s modules has no
# cycle; no lib/ file prints (the library returns errors, the caller says
# them; log.c is the logger); each dependency enters through one door:
# only lib/ledger_sqlite.c includes sqlite3.h, only lib/ledger_pg.c
# libpq-fe.h, only lib/http.c microhttpd.h.
set -u
SRC=${THINGCA_SRC:?THINGCA_SRC must name the repository}
cd "$SRC/lib" || exit 1

. "$SRC/tests/tap.sh"

# Module of a file: its name without .c/.h; a private header, one with no
# .c of its own named X_something.h (config_int.h, ledger_backend.h), is
# module X's.
module() {
	m=$(basename "$1" | sed 's/\.[ch]$//')
	if [ ! -f "$m.c" ]; then
		p=$m
		while case $p in *_*) true ;; *) false ;; esac; do
			p=${p%_*}
			if [ -f "$p.c" ]; then
				m=$p
				break
			fi
		done
	fi
	echo "$m"
}

# One "from to" line per #include "x.h" of another lib/ module.
edges() {
	for f in *.c *.h; do
		from=$(module "$f")
		sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"/]*\.h\)".*/\1/p' "$f" |
		while read -r h; do
			[ -f "$h" ] || continue # generated (sql_sqlite.h)
			to=$(module "$h")
			[ "$from" = "$to" ] || echo "$from $to"
		done
	done | sort -u
}

e=$(edges)
if loop=$(printf '%s\n' "$e" | tsort 2>&1 >/dev/null) && [ -z "$loop" ]; then
	pass "lib/'s include graph has no cycle ($(printf '%s\n' "$e" | wc -l) edges)"
else
	nok "lib/'s include graph has no cycle" "tsort: $loop"
fi

# The check itself: a graph with a cycle is found.
if printf 'a b\nb a\n' | tsort >/dev/null 2>&1; then
	nok "tsort reports a cycle" "a b, b a passed"
else
	pass "tsort reports a cycle"
fi

# Printing: stdio output calls and the standard streams, outside log.c.
# Comments are left out (a comment may say "stderr").
prints=$(for f in *.c; do
	[ "$f" = log.c ] && continue
	sed 's://.*$::; s:/\*.*\*/::g' "$f" |
		grep -nE '(^|[^a-z_0-9])(v?printf|puts|putchar|perror|fputs|fputc|fprintf|vfprintf|fwrite)[[:space:]]*\(.*std(out|err)|(^|[^a-z_0-9.>])(v?printf|puts|putchar|perror)[[:space:]]*\(|[^a-z_]std(out|err)[^a-z_]' |
		sed "s|^|lib/$f:|"
done)
if [ -z "$prints" ]; then
	pass "no lib/ file but log.c prints"
else
	nok "no lib/ file but log.c prints" "$prints"
fi

# door HEADER FILE...: only FILE... include <HEADER>.
door() {
	h=$1
	shift
	got=$(grep -lE "^#[[:space:]]*include[[:space:]]*<$h>" *.c *.h | sort | tr '\n' ' ')
	want=$(for f in "$@"; do [ -f "$f" ] && echo "$f"; done | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		pass "${want:+only }${want:-no file }includes $h"
	else
		nok "${want:+only }${want:-no file }includes $h" "included by: $got"
	fi
}
door sqlite3.h ledger_sqlite.c
door libpq-fe.h ledger_pg.c
door microhttpd.h http.c

# docs/hacking.md names every module of lib/ (in `backquotes`), and every
# lib/ file it names exists: the page matches the tree.
doc=$SRC/docs/hacking.md
missing=$(for f in *.c; do
	m=${f%.c}
	grep -q "\`$m\`\|lib/$m\.c" "$doc" || echo "$m"
done | tr '\n' ' ')
if [ -z "$missing" ]; then
	pass "docs/hacking.md names every module of lib/"
else
	nok "docs/hacking.md names every module of lib/" "not named: $missing"
fi
gone=$(grep -o 'lib/[a-z_]*\.[ch]' "$doc" | sort -u | while read -r f; do
	[ -f "$SRC/$f" ] || echo "$f"
done | tr '\n' ' ')
if [ -z "$gone" ]; then
	pass "every lib/ file docs/hacking.md names exists"
else
	nok "every lib/ file docs/hacking.md names exists" "missing: $gone"
fi

done_testing
