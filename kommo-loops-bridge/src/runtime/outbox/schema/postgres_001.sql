-- The bridge's PostgreSQL store, schema version 1 (recorded in store_schema_version).
-- Idempotent, so a half-applied run (impossible in one transaction, but cheap to allow) or a
-- hand-made table does not stop a connect.

-- Planned actions. `id` grows with enqueue order within a partition: enqueues of a partition
-- are serialized by an advisory lock, so ids there follow commit order.
CREATE TABLE IF NOT EXISTS outbox_items (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idem_key       TEXT   NOT NULL UNIQUE,
    partition_key  TEXT   NOT NULL,
    action         TEXT   NOT NULL, -- the Action as JSON
    source         TEXT   NOT NULL,
    state          TEXT   NOT NULL
        CHECK (state IN ('pending', 'leased', 'done', 'already_done', 'dead')),
    not_before_ms  BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    lease_worker   TEXT,
    lease_until_ms BIGINT,
    dead_reason    TEXT
);

-- Claims look for the oldest unfinished item of each partition: only unfinished items are
-- indexed, so the index stays as small as the backlog.
CREATE INDEX IF NOT EXISTS outbox_items_unfinished ON outbox_items (partition_key, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX IF NOT EXISTS outbox_items_by_state ON outbox_items (state, id);

-- Attempt history, oldest first by id.
CREATE TABLE IF NOT EXISTS outbox_attempts (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES outbox_items (id),
    at_ms   BIGINT NOT NULL,
    outcome TEXT   NOT NULL,
    detail  TEXT   NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_attempts_by_item ON outbox_attempts (item_id, id);

-- The runtime's memory (the StateStore trait).
CREATE TABLE IF NOT EXISTS seen_deliveries (
    scope       TEXT   NOT NULL,
    delivery_id TEXT   NOT NULL,
    seen_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (scope, delivery_id)
);

CREATE TABLE IF NOT EXISTS entity_versions (
    entity  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS synced_emails (
    contact TEXT PRIMARY KEY,
    email   TEXT NOT NULL
);
