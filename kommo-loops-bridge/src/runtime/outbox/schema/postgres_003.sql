-- The bridge's PostgreSQL store, schema version 3: the changes seen by webhook or in Kommo's
-- events log, and how far the catch-up has read the log (docs/architecture.md, "Missed
-- webhooks"). Resolving a change takes a transaction-scoped advisory lock on its key, so two
-- instances see each other's sightings.

-- One row per change: its key, which occurrence of the key it is, the source that saw it first
-- (and planned it), and each source's sighting.
CREATE TABLE IF NOT EXISTS kommo_changes (
    change_key   TEXT    NOT NULL,
    occurrence   INTEGER NOT NULL,
    first_source TEXT    NOT NULL CHECK (first_source IN ('webhook', 'log')),
    webhook_at   BIGINT, -- the webhook's updated_at, Unix seconds
    log_at       BIGINT, -- the log's created_at, Unix seconds
    log_id       TEXT,
    PRIMARY KEY (change_key, occurrence)
);

CREATE TABLE IF NOT EXISTS catch_up_watermarks (
    name TEXT   PRIMARY KEY,
    at   BIGINT NOT NULL -- Unix seconds of Kommo's events log
);
