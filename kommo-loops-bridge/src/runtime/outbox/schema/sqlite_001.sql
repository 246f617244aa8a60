-- The bridge's SQLite store, schema version 1 (kept in PRAGMA user_version).

-- Planned actions. `id` grows with enqueue order (AUTOINCREMENT: never reused, so an id in a
-- log always names the same item); the lease columns are set while the state is 'leased'.
CREATE TABLE outbox_items (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key       TEXT    NOT NULL UNIQUE,
    partition_key  TEXT    NOT NULL,
    action         TEXT    NOT NULL, -- the Action as JSON
    source         TEXT    NOT NULL,
    state          TEXT    NOT NULL
        CHECK (state IN ('pending', 'leased', 'done', 'already_done', 'dead')),
    not_before_ms  INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    lease_worker   TEXT,
    lease_until_ms INTEGER,
    dead_reason    TEXT
);

-- Claims look for the oldest unfinished item of each partition: only unfinished items are
-- indexed, so the index stays as small as the backlog.
CREATE INDEX outbox_items_unfinished ON outbox_items (partition_key, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_items_by_state ON outbox_items (state, id);

-- Attempt history, oldest first by id.
CREATE TABLE outbox_attempts (
    id      INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES outbox_items (id),
    at_ms   INTEGER NOT NULL,
    outcome TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX outbox_attempts_by_item ON outbox_attempts (item_id, id);

-- The runtime's memory (the StateStore trait).
CREATE TABLE seen_deliveries (
    scope       TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    seen_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (scope, delivery_id)
) WITHOUT ROWID;

CREATE TABLE entity_versions (
    entity  TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE synced_emails (
    contact TEXT PRIMARY KEY,
    email   TEXT NOT NULL
) WITHOUT ROWID;
