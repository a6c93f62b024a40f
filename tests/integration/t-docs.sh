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
cd "$SRC" || exit 1
THINGCA_BIN=$BIN THINGCA_SRC=$SRC perl tests/integration/docs-run.pl "$tmp" README.md docs/*.md
