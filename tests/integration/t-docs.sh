#!/bin/sh
# t-docs: the documentation runs as written. Every command block marked
# ```sh test in README.md and docs/*.md (and the few hidden set-up lines,
# <!-- doc-test ... -->) runs in an empty temporary directory per document,
# with build/ on PATH, commands in order in one shell; commands marked
# `# needs: aws` (or internet, root, ...) are skipped and counted. See
# tests/integration/docs-run.pl for the rules.
set -u
SRC=${THINGCA_SRC:?THINGCA_SRC not set}
BIN=${THINGCA_BIN:?THINGCA_BIN not set}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# The documents use the tools a reader has after `make deps`.
for t in openssl curl jq sqlite3 perl; do
	command -v "$t" >/dev/null 2>&1 || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
# hsm.md's blocks load SoftHSM2 through OpenSSL's pkcs11 engine: under
# SAN=1 the same leak suppressions as t-pkcs11 (the engine's one-time
# allocations at exit, not thingca's).
LSAN_OPTIONS="suppressions=$SRC/tests/integration/lsan-pkcs11.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS ASAN_OPTIONS
cd "$SRC" || exit 1
THINGCA_BIN=$BIN THINGCA_SRC=$SRC perl tests/integration/docs-run.pl "$tmp" README.md docs/*.md
