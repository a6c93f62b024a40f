-- 002-probe: a scratch table outside the hash chain. ledger_ping writes a
-- row into it and deletes it again in one committed transaction, so
-- /readyz and the watchdog prove the ledger file can really take a write
-- (an empty transaction succeeds even on a full disk).
CREATE TABLE probe (x BLOB);
