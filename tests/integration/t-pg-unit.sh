#!/bin/sh
# The ledger's unit tests (tests/unit/t-ledger.c: one function per
# behaviour, run against every backend built in) against a throwaway
# PostgreSQL, through THINGCA_TEST_PG_URI: the same behaviours hold on
# both backends. The TAP stream is t-ledger's own.
. "$THINGCA_SRC/tests/integration/lib.sh"
. "$THINGCA_SRC/tests/integration/pg.sh"
[ -x "$BIN/tests/t-ledger" ] || skip_all "no $BIN/tests/t-ledger (make check builds it)"
pg_ledger db
THINGCA_TEST_PG_URI=$U
export THINGCA_TEST_PG_URI
# psql in t-ledger empties the schema: no NOTICE per dropped table
PGOPTIONS="-c client_min_messages=warning"
export PGOPTIONS
"$BIN/tests/t-ledger"
rc=$?
exit $rc
