-- The bridge's SQLite store, schema version 2: the changes seen by webhook or in Kommo's events
-- log, and how far the catch-up has read the log (docs/architecture.md, "Missed webhooks").

-- One row per change: its key, which occurrence of the key it is, the source that saw it first
-- (and planned it), and each source's sighting.
CREATE TABLE kommo_changes (
    change_key   TEXT    NOT NULL,
    occurrence   INTEGER NOT NULL,
    first_source TEXT    NOT NULL CHECK (first_source IN ('webhook', 'log')),
    webhook_at   INTEGER, -- the webhook's updated_at, Unix seconds
    log_at       INTEGER, -- the log's created_at, Unix seconds
    log_id       TEXT,
    PRIMARY KEY (change_key, occurrence)
) WITHOUT ROWID;

CREATE TABLE catch_up_watermarks (
    name TEXT    PRIMARY KEY,
    at   INTEGER NOT NULL -- Unix seconds of Kommo's events log
) WITHOUT ROWID;
