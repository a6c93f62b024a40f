-- 003-node: who wrote an entry and which CA signed it (DESIGN.md "Ledger").
-- node: the daemon (config "node", default the host name) that appended the
-- entry; several nodes may share one PostgreSQL ledger. ca_certificate_id:
-- for an issued entry, the lowercase hex SHA-256 of the DER of the issuing
-- CA certificate that signed it (a CA hierarchy has several); NULL for
-- other events. Both are NULL in entries written before this migration, and
-- the canonical encoding leaves a NULL one out, so those still verify.
ALTER TABLE ledger ADD COLUMN node TEXT;
ALTER TABLE ledger ADD COLUMN ca_certificate_id TEXT
	CHECK (ca_certificate_id IS NULL OR length(ca_certificate_id) = 64);
CREATE INDEX ledger_ca_certificate_id ON ledger (ca_certificate_id);
