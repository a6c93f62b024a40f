-- 001-init: the allowlist of device serials and the append-only,
-- hash-chained ledger of events (DESIGN.md "Ledger", docs/ledger.md).
-- Applied by lib/ledger_sqlite.c inside one transaction; PRAGMA user_version
-- counts the migrations applied.

CREATE TABLE serials (
	serial TEXT PRIMARY KEY NOT NULL CHECK (length(serial) BETWEEN 1 AND 64),
	batch TEXT,
	imported_at TEXT
);

CREATE TABLE ledger (
	seq INTEGER PRIMARY KEY CHECK (seq >= 1),
	time TEXT NOT NULL CHECK (length(time) = 20),
	event TEXT NOT NULL
		CHECK (event IN ('issued', 'revoked', 'serials_imported')),
	client TEXT,
	serial TEXT,
	thing_name TEXT,
	certificate_id TEXT CHECK (certificate_id IS NULL OR length(certificate_id) = 64),
	certificate_serial TEXT,
	spki_sha256 TEXT CHECK (spki_sha256 IS NULL OR length(spki_sha256) = 64),
	not_before TEXT,
	not_after TEXT,
	reason TEXT,
	reissue INTEGER CHECK (reissue IS NULL OR reissue IN (0, 1)),
	der BLOB,
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash TEXT NOT NULL CHECK (length(hash) = 64),
	CHECK (event <> 'issued' OR (serial IS NOT NULL AND certificate_id IS NOT NULL)),
	CHECK (event <> 'revoked' OR (certificate_id IS NOT NULL AND reissue IS NOT NULL))
);

CREATE INDEX ledger_serial ON ledger (serial);
CREATE INDEX ledger_thing_name ON ledger (thing_name);
CREATE INDEX ledger_certificate_id ON ledger (certificate_id);
CREATE INDEX ledger_spki_sha256 ON ledger (spki_sha256);
CREATE INDEX ledger_client ON ledger (client);
CREATE INDEX ledger_time ON ledger (time);
CREATE INDEX ledger_event ON ledger (event);

-- Append-only: the hash chain detects a rewrite, these refuse one.
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'ledger is append-only');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'ledger is append-only');
END;
