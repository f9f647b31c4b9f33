-- The tables of liveops_rules' PostgresStore, schema version 2.
--
-- `PostgresStore.create_schema(url, schema="liveops_rules")` runs this file with {schema}
-- replaced by the quoted schema name; every statement is idempotent, and tables of version 1
-- are upgraded in place. To create the tables by hand (a migration tool, a DBA), replace
-- {schema} yourself, e.g. with "liveops_rules".
-- Counter keys use the "C" collation so that a prefix (LIKE 'u|coupon:x|%') is an index range.

CREATE SCHEMA IF NOT EXISTS {schema};

-- One row: the version of these tables, for later migrations.
CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL);
INSERT INTO {schema}.schema_version (version)
    SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {schema}.schema_version);

-- A limit's counter: used and reserved amounts, the admin extra allowance, the last limit.
CREATE TABLE IF NOT EXISTS {schema}.counters (
    key text COLLATE "C" PRIMARY KEY,
    used bigint NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    extra bigint NOT NULL DEFAULT 0,
    lim bigint,
    epoch bigint NOT NULL DEFAULT 0
);
-- Version 2: a reset moves a counter's epoch on; what was counted before it no longer counts.
ALTER TABLE {schema}.counters ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 0;

-- Every counted request (redeem or reservation) and where it stands.
CREATE TABLE IF NOT EXISTS {schema}.operations (
    id text PRIMARY KEY,
    status text NOT NULL
        CHECK (status IN ('held', 'committed', 'released', 'expired', 'cancelled')),
    expires_at timestamptz,
    quantity integer NOT NULL,
    counters text[] NOT NULL,
    user_id text NOT NULL,
    promotion text NOT NULL,
    code text,
    idempotency_key text,
    nonce text,
    epochs bigint[]
);
-- Version 2: the call that counted an operation (a retry finds its own first try by it) and
-- the epoch of each counter it was counted in (NULL: all 0).
ALTER TABLE {schema}.operations ADD COLUMN IF NOT EXISTS nonce text;
ALTER TABLE {schema}.operations ADD COLUMN IF NOT EXISTS epochs bigint[];

-- Reservations still held, by counter and expiry, so a full counter finds the expired ones.
CREATE TABLE IF NOT EXISTS {schema}.holds (
    counter_key text COLLATE "C" NOT NULL,
    expires_at timestamptz NOT NULL,
    operation_id text NOT NULL,
    PRIMARY KEY (counter_key, expires_at, operation_id)
);
CREATE INDEX IF NOT EXISTS holds_by_operation ON {schema}.holds (operation_id);

-- The first result of each idempotency key, and the request it answered.
CREATE TABLE IF NOT EXISTS {schema}.idempotency (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    result text NOT NULL
);

-- The append-only ledger: every change to a counter, as [key, used, reserved, extra] deltas.
CREATE TABLE IF NOT EXISTS {schema}.ledger (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    event text NOT NULL,
    operation_id text,
    user_id text,
    promotion text,
    code text,
    quantity integer NOT NULL,
    idempotency_key text,
    deltas jsonb NOT NULL
);

-- Codes, unique across every promotion.
CREATE TABLE IF NOT EXISTS {schema}.codes (
    code text PRIMARY KEY,
    promotion text NOT NULL
);
CREATE INDEX IF NOT EXISTS codes_by_promotion ON {schema}.codes (promotion, code);

-- Promotion configuration as JSON documents, with the version a count checks it against.
CREATE TABLE IF NOT EXISTS {schema}.promotions (
    ref text PRIMARY KEY,
    document text NOT NULL,
    version text NOT NULL
);

-- Replies of admin operations by a one-use token, so that a retry after a lost reply does not
-- apply them twice; rows older than a day are deleted as new ones arrive.
CREATE TABLE IF NOT EXISTS {schema}.once (
    token text PRIMARY KEY,
    reply text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);

UPDATE {schema}.schema_version SET version = 2 WHERE version < 2;
