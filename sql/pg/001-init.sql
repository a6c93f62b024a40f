-- 001-init (PostgreSQL): the shared ledger of DESIGN.md "Ledger" for several
-- thingcad nodes. The same tables, columns and text formats as the SQLite
-- schema (sql/sqlite/), so an entry read from either hashes the same:
-- time, not_before, not_after are RFC 3339 text (never timestamptz, whose
-- text form would differ), reissue is 0/1, der the certificate's bytes.
-- Applied by lib/ledger_pg.c in one transaction under an advisory lock,
-- with the version in schema_version; see docs/deployment.md "Shared
-- ledger on PostgreSQL".

CREATE TABLE serials (
	serial text PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 64),
	batch text,
	imported_at text
);

CREATE TABLE ledger (
	seq bigint PRIMARY KEY CHECK (seq >= 1),
	time text NOT NULL CHECK (length(time) = 20),
	event text NOT NULL
		CHECK (event IN ('issued', 'revoked', 'serials_imported')),
	client text,
	node text,
	serial text,
	thing_name text,
	certificate_id text CHECK (certificate_id IS NULL OR length(certificate_id) = 64),
	ca_certificate_id text
		CHECK (ca_certificate_id IS NULL OR length(ca_certificate_id) = 64),
	certificate_serial text,
	spki_sha256 text CHECK (spki_sha256 IS NULL OR length(spki_sha256) = 64),
	not_before text,
	not_after text,
	reason text,
	reissue smallint CHECK (reissue IS NULL OR reissue IN (0, 1)),
	der bytea,
	prev_hash text NOT NULL CHECK (length(prev_hash) = 64),
	hash text NOT NULL CHECK (length(hash) = 64),
	CHECK (event <> 'issued' OR (serial IS NOT NULL AND certificate_id IS NOT NULL)),
	CHECK (event <> 'revoked' OR (certificate_id IS NOT NULL AND reissue IS NOT NULL))
);

-- The lookups of the issuance rules and of GET /v1/ledger. No index on
-- event: it matches most rows and only tempts the planner.
CREATE INDEX ledger_serial ON ledger (serial);
CREATE INDEX ledger_thing_name ON ledger (thing_name);
CREATE INDEX ledger_certificate_id ON ledger (certificate_id);
CREATE INDEX ledger_ca_certificate_id ON ledger (ca_certificate_id);
CREATE INDEX ledger_spki_sha256 ON ledger (spki_sha256);
CREATE INDEX ledger_client ON ledger (client);
CREATE INDEX ledger_time ON ledger (time);

-- Append-only for every role, the owner included (a REVOKE would not bind
-- the owner): the hash chain detects a rewrite, these refuse one.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'ledger is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
	FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- The rules across nodes, held by the database and not only by the C
-- checks (which run inside the chain lock and so already see every other
-- node's committed entries). `ledger` is append-only, so the state a
-- unique index must see lives in two tables kept by a trigger in the
-- inserting transaction:
-- current_cert: the unrevoked certificate of each serial. An `issued`
--   entry inserts its row, so a second certificate for a serial that has
--   one is a unique violation however the two transactions interleave;
--   a `revoked` entry removes it, and must find it (no revoking twice).
-- key_owner: each certified public key and its serial. With
--   profile.unique_public_keys (the default) a key is certified once ever:
--   for another serial it is a cloned device, for the same serial after a
--   revocation a reissue needs a new key (rules 5 and 6), and a second
--   certificate for the same key and serial while one is current is
--   already refused by current_cert. A site without the rule says so to
--   the database too (UPDATE ledger_settings SET unique_public_keys =
--   false): key_owner then records each key's first serial and refuses
--   nothing.
-- chain link: entry seq's prev_hash must be entry seq-1's hash (zeros for
--   seq 1); with seq the primary key, two nodes appending one position is
--   a unique violation, and no entry can point outside the chain.
CREATE TABLE ledger_settings (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	unique_public_keys boolean NOT NULL DEFAULT true
);
INSERT INTO ledger_settings DEFAULT VALUES;

CREATE TABLE current_cert (
	serial text PRIMARY KEY,
	certificate_id text NOT NULL UNIQUE
);

CREATE TABLE key_owner (
	spki_sha256 text PRIMARY KEY,
	serial text NOT NULL
);

CREATE FUNCTION ledger_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.seq = 1 THEN
		IF NEW.prev_hash <> repeat('0', 64) THEN
			RAISE EXCEPTION 'ledger entry 1: prev_hash must be 64 zeros'
				USING ERRCODE = 'integrity_constraint_violation';
		END IF;
	ELSIF NOT EXISTS (SELECT 1 FROM ledger
			  WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash) THEN
		RAISE EXCEPTION 'ledger entry %: prev_hash is not the hash of entry %',
			NEW.seq, NEW.seq - 1
			USING ERRCODE = 'integrity_constraint_violation';
	END IF;
	IF NEW.event = 'issued' THEN
		INSERT INTO current_cert (serial, certificate_id)
			VALUES (NEW.serial, NEW.certificate_id);
		IF NEW.spki_sha256 IS NULL THEN
			NULL;
		ELSIF NOT (SELECT unique_public_keys FROM ledger_settings) THEN
			INSERT INTO key_owner (spki_sha256, serial)
				VALUES (NEW.spki_sha256, NEW.serial)
				ON CONFLICT (spki_sha256) DO NOTHING;
		ELSE
			INSERT INTO key_owner (spki_sha256, serial)
				VALUES (NEW.spki_sha256, NEW.serial);
		END IF;
	ELSIF NEW.event = 'revoked' THEN
		DELETE FROM current_cert WHERE certificate_id = NEW.certificate_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'certificate % is not current: never issued or already revoked',
				NEW.certificate_id
				USING ERRCODE = 'integrity_constraint_violation';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER ledger_rules BEFORE INSERT ON ledger
	FOR EACH ROW EXECUTE FUNCTION ledger_rules();

-- ledger_ping's scratch table, outside the hash chain: a committed write
-- (and, with a synchronous standby, a replicated one) proves the database
-- takes writes now.
CREATE TABLE probe (x bytea);

-- Which database this is: a random ID made with the schema. A node keeps
-- the ID it opened and checks it after every reconnect, so a ledger
-- dropped and recreated (or a URI now reaching another, empty database)
-- is an error, not a fresh start.
CREATE TABLE ledger_identity (
	id text PRIMARY KEY,
	created text NOT NULL
);
INSERT INTO ledger_identity (id, created)
	VALUES (gen_random_uuid()::text,
		to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
