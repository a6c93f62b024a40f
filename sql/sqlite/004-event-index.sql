-- 004-event-index: the index on event goes; two small partial indexes
-- take its useful part.
-- ledger_event (event) matched nearly every row for event = 'issued', yet
-- with no ANALYZE statistics the planner preferred it to the selective
-- serial / spki_sha256 / certificate_id index whenever a lookup also said
-- event = 'issued' (a walk over every issued entry per lookup: O(n) per
-- issuance). The lookups wrote +event to keep it out; without the index
-- there is nothing to keep out. "Every revocation" (the CRL, a revoked
-- count, GET /v1/ledger?event=revoked) and "every import" stay indexed by
-- partial indexes, which a query uses only when it names the event as a
-- literal and which hold only those few rows.
DROP INDEX ledger_event;
CREATE INDEX ledger_revoked ON ledger (seq) WHERE event = 'revoked';
CREATE INDEX ledger_imported ON ledger (seq) WHERE event = 'serials_imported';
