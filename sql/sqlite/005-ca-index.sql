-- 005-ca-index: the index on ca_certificate_id goes.
-- No query filters on ca_certificate_id (GET /v1/ledger and ledger list
-- filter on serial, thing_name, station, certificate_id, event and time;
-- "what did this CA sign" is an export piped through jq, docs/jitp.md),
-- yet every issuance inserted into it: one more B-tree insert per entry
-- and one more page written to the WAL (and again at checkpoint) per
-- batch (docs/performance.md "Pinned, issue 18"). The column and what it
-- stores are unchanged, so the hash chain and `ledger copy` are too.
DROP INDEX ledger_ca_certificate_id;
